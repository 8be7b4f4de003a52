#pragma once

// `GET /api/v2/events` (OpenMeter's listEventsV2): a filter given as one JSON
// document, and cursor pagination through every stored event, newest first.

#include "model/cloud_events.hpp"
#include "model/event.hpp"
#include "model/meter_query.hpp"
#include "model/v1_api.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace um::model {

/// The most events one page of `GET /api/v2/events` holds (OpenMeter's).
inline constexpr int max_listing_limit = 100;

/// The most stored events one page request examines. A page that a selective
/// filter leaves short after this many is answered short, with a cursor to go
/// on from, so no request scans without bound.
inline constexpr std::size_t max_listing_scan = 10'000;

/// OpenMeter's FilterString on one text field of an event: every operator
/// given must hold. `$like`/`$ilike` patterns take `%` (any run) and `_` (one
/// character); `$ilike`/`$nilike` ignore ASCII case.
struct string_filter {
  std::optional<std::string> eq, ne, like, nlike, ilike, nilike, gt, gte, lt, lte;
  std::optional<std::vector<std::string>> in, nin;
};

/// OpenMeter's FilterTime on a time field: every bound given must hold.
struct time_filter {
  std::optional<millis> gt, gte, lt, lte;
};

/// A `GET /api/v2/events` request, read and checked.
struct event_listing {
  std::optional<event_position> cursor; ///< Continue after this event.
  int limit = max_listing_limit;        ///< Events per page, 1-100.
  std::optional<string_filter> id, source, subject, type;
  std::optional<time_filter> time, ingested_at;
};

/// Reads the query of `GET /api/v2/events`: `cursor` (from a `nextCursor`),
/// `limit` (1-100, default 100), `clientId` (ignored) and `filter`, a JSON
/// object with any of `id`, `source`, `subject`, `type` (FilterString:
/// `$eq`, `$ne`, `$in`, `$nin`, `$like`, `$nlike`, `$ilike`, `$nilike`, `$gt`,
/// `$gte`, `$lt`, `$lte`) and `time`, `ingestedAt` (FilterTime: `$gt`, `$gte`,
/// `$lt`, `$lte`, RFC 3339), not both `time` and `ingestedAt` (as OpenMeter).
/// `customerId` and the `$and`/`$or` combinators are refused. Problems are
/// joined with "; ".
validated<event_listing> parse_event_listing(const query_params& query);

/// What to read from storage for a page of `listing`: its time and
/// ingestion bounds (the text filters are applied by `listing_matches`),
/// after its cursor, `chunk` events at a time.
event_search listing_scan(const event_listing& listing, int chunk);

/// Whether `e` passes the text filters of `listing`.
bool listing_matches(const event_listing& listing, const event& e);

/// The opaque `nextCursor` text of a position, and back (nothing when it is
/// not one this service wrote).
std::string listing_cursor_text(const event_position& p);
std::optional<event_position> parse_listing_cursor(std::string_view text);

/// One page of `GET /api/v2/events`.
struct event_listing_page {
  std::vector<searched_event> items;
  /// Where the next page starts; absent once the listing is exhausted.
  std::optional<event_position> next;
};

/// The answer (OpenMeter's IngestedEventCursorPaginatedResponse): `items`
/// (as `GET /api/v1/events` lists them) and `nextCursor` when there is one.
nlohmann::ordered_json event_listing_json(const event_listing_page& page);

/// Whether `text` matches the SQL LIKE `pattern` (`%`, `_`; no escape).
bool like_matches(std::string_view text, std::string_view pattern, bool ignore_case);

} // namespace um::model
