#pragma once

#include "model/clock.hpp"
#include "model/event.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace um::model {

/// Selects events for `GET /v1/events`: exact matches, empty means any.
struct event_filter {
  std::string subject;
  std::string type;
  int limit = 100;
  int offset = 0;
};

/// One page of events, newest first, and how many match in all.
struct event_page {
  std::vector<event> events;
  std::int64_t total = 0;
};

/// A listing of events (v1 `GET /v1/events`, metering `GET /api/v1/events`)
/// stops early, after the event whose `data` brings the page's `data` to this
/// many bytes (a page holds at least one event): its answer, and the memory
/// it takes to make it, stay bounded whatever the events hold.
inline constexpr std::size_t max_page_data_bytes = 8 * 1024 * 1024;

/// Whether a page whose events' `data` add up to `bytes_before` bytes may
/// take one more event.
constexpr bool page_has_room(std::size_t bytes_before) {
  return bytes_before < max_page_data_bytes;
}

/// An inclusive time range; an absent bound is open.
struct time_range {
  std::optional<millis> since;
  std::optional<millis> until;
};

/// Counts of an entity's events by type over a range.
struct usage_summary {
  std::int64_t total = 0;
  std::map<std::string, std::int64_t> by_type;
};

/// One non-empty bucket of a history.
struct history_point {
  millis bucket_start = 0;
  std::int64_t count = 0;
};

/// The non-empty buckets of an entity's history, oldest first.
using usage_history = std::vector<history_point>;

/// Service-wide counts for `/v1/usage/stats` and `/info`.
struct usage_stats {
  std::int64_t total_events = 0;
  std::int64_t events_last_hour = 0;
  std::int64_t unique_entities = 0;
  std::map<std::string, std::int64_t> event_types;
};

} // namespace um::model
