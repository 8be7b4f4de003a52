#pragma once

#include "model/clock.hpp"
#include "model/event.hpp"
#include "model/usage.hpp"

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace um::storage {

/// Why a storage call failed, as far as a caller needs to know.
enum class failure_kind {
  unavailable, ///< Busy, locked, full, read-only or unreachable: may clear by itself.
  corrupt,     ///< The database file is damaged: needs an operator.
  internal,    ///< A bug or an unexpected driver state.
};

/// The one exception the storage layer throws: drivers' errors are caught at
/// this edge and turned into it, so callers deal with one type.
class storage_error : public std::runtime_error {
public:
  storage_error(failure_kind kind, const std::string& what)
      : std::runtime_error(what), kind_(kind) {}

  /// What kind of failure this is.
  failure_kind kind() const noexcept { return kind_; }

private:
  failure_kind kind_;
};

/// Where and how to open the store.
struct store_options {
  std::string data_dir = "./data"; ///< Holds the embedded database file.
  std::string url;              ///< Empty or `sqlite:PATH`: embedded; else a server URL.
  bool synchronous_full = true; ///< Fsync every commit (power-cut safe).
  bool read_only = false;       ///< A connection that only reads.
};

/// The durable event store with its rollups. One instance is one connection:
/// not thread-safe; each actor that touches storage owns its own instance.
/// Rollups (per subject, type and minute/hour/day bucket, and totals) are
/// updated in the same transaction as the events, so they never drift from
/// them, survive any crash with them, and need no rebuild at start.
class event_store {
public:
  virtual ~event_store() = default;

  /// Stores `batch` in one transaction, all or nothing, deduplicating on
  /// (source, id); the outcomes follow the order of `batch`.
  virtual model::append_outcomes append(const std::vector<model::event>& batch) = 0;

  /// One page of events matching `filter`, newest first, with the total.
  virtual model::event_page list_events(const model::event_filter& filter) = 0;

  /// Counts of `subject`'s events by type with `since <= time <= until`
  /// (absent bounds are open).
  virtual model::usage_summary summarize(const std::string& subject,
                                         const model::time_range& range) = 0;

  /// The non-empty UTC buckets of `subject`'s events within `range`.
  virtual model::usage_history history(const std::string& subject, model::interval width,
                                       const model::time_range& range) = 0;

  /// Service-wide counts; "last hour" is relative to `now`.
  virtual model::usage_stats stats(model::millis now) = 0;

  /// Removes up to `max_events` of the oldest events with `time < cutoff`
  /// and their rollup counts, in one transaction; returns how many it removed.
  virtual std::size_t purge_before(model::millis cutoff, std::size_t max_events) = 0;

  /// Cheap round trip that throws when the store cannot serve.
  virtual void ping() = 0;
};

/// Opens (creating and migrating as needed) the store `options` names.
/// Throws `storage_error`.
std::unique_ptr<event_store> open_event_store(const store_options& options);

} // namespace um::storage
