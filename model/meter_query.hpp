#pragma once

#include "model/clock.hpp"
#include "model/metering.hpp"
#include "model/v1_api.hpp"
#include "model/windows.hpp"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace um::model {

/// The most rows one meter query answers (about 150 MB of JSON). A query
/// that would answer more is refused with a hint to narrow it, so that no
/// query can take the service's memory.
inline constexpr std::size_t max_query_rows = 1'000'000;

/// Stands for an absent `from`: 0000-01-01T00:00:00Z, before any storable time.
inline constexpr millis earliest_query_time = -62'167'219'200'000;

/// Stands for an absent `to`: 9999-12-31T23:59:59.999Z. OpenMeter puts no
/// upper bound on a query without `to`, so an event stamped this very second
/// still counts.
inline constexpr millis latest_query_time = 253'402'300'799'999;

/// A meter query (`GET`/`POST /api/v1/meters/{idOrSlug}/query`).
struct meter_query {
  millis from = earliest_query_time; ///< Inclusive; see `in_query_range`.
  millis to = latest_query_time;     ///< Exclusive; see `in_query_range`.
  std::optional<window_size> window; ///< Absent: one row per group for the period.
  std::string time_zone = "UTC";     ///< A zone `try_locate_zone` finds.
  std::vector<std::string> subjects; ///< Only these subjects; empty: all.
  /// `subject` and/or keys of the meter's groupBy, without repeats, in the
  /// order given. A `subject` filter adds `subject` here (first), so rows
  /// name it, as OpenMeter does.
  std::vector<std::string> group_by;
  /// Exact matches on group-by values. Pairs with the same key are
  /// alternatives (any may match); different keys must all match.
  std::vector<std::pair<std::string, std::string>> filter_group_by;
  bool from_given = false;
  bool to_given = false;
};

/// A meter query as the client wrote it, read without knowing the meter: its
/// fields in the order given, and in place of each one that could not be
/// read the message why. The HTTP layer reads it (`read_meter_query_params`,
/// `read_meter_query_body`); `validate_meter_query` checks it against the
/// meter it names.
struct meter_query_input {
  enum class field {
    from,            ///< `value`: the text of `from`.
    to,              ///< `value`: the text of `to`.
    window_size,     ///< `value`: the text of `windowSize`.
    time_zone,       ///< `value`: the text of `windowTimeZone`.
    subject,         ///< `value`: one subject.
    group_by,        ///< `value`: one key.
    filter_group_by, ///< `key` and one `value`.
    problem,         ///< `value`: what was wrong with a field, as the client reads it.
  };
  struct item {
    field name = field::problem;
    std::string key;
    std::string value;
  };
  std::vector<item> items;
};

/// Reads the query string of `GET .../query`, repeated names kept in order:
/// `from`, `to`, `windowSize`, `windowTimeZone`, `subject` (repeatable),
/// `groupBy` (repeatable), `filterGroupBy[<key>]=<value>` (the SDK's
/// deepObject form). `clientId` and unknown names are ignored; a malformed
/// `filterGroupBy`, `filterCustomerId` and `advancedMeterGroupByFilters` are
/// problems.
meter_query_input
read_meter_query_params(const std::vector<std::pair<std::string, std::string>>& params);

/// Reads the JSON body of `POST .../query` (OpenMeter's MeterQueryRequest):
/// the same fields, `subject` and `groupBy` as arrays of strings, and
/// `filterGroupBy` as an object of key → string or array of strings; a body
/// that is not an object is one problem.
meter_query_input read_meter_query_body(const nlohmann::ordered_json& body);

/// Checks a query against the meter `m` it names: `from`, `to` (RFC 3339;
/// `from` strictly before `to`), `windowSize` (`MINUTE`, `HOUR`, `DAY`,
/// `MONTH`), `windowTimeZone` (an IANA zone, default UTC), `subject` (any
/// number; as OpenMeter, it also groups by subject), `groupBy` (`subject` or a key of
/// `m.group_by`), `filterGroupBy` keys (keys of `m.group_by`). Every problem
/// is reported in the order of the fields, joined with "; ".
validated<meter_query> validate_meter_query(const meter_query_input& input,
                                            const meter& m);

/// `validate_meter_query(read_meter_query_params(params), m)`.
validated<meter_query>
parse_meter_query(const std::vector<std::pair<std::string, std::string>>& params,
                  const meter& m);

/// `validate_meter_query(read_meter_query_body(body), m)`.
validated<meter_query> parse_meter_query_json(const nlohmann::ordered_json& body,
                                              const meter& m);

/// Whether an event at `t` falls in the query's period: `from <= t < to`
/// compared in whole seconds, as OpenMeter compares.
bool in_query_range(const meter_query& q, millis t);

/// Whether `s` (a sample of the meter `m`) passes the query's subject and
/// filterGroupBy filters.
bool matches_query_filters(const meter_query& q, const meter& m, const meter_sample& s);

/// One row of a query result.
struct meter_row {
  double value = 0;
  millis window_start = 0;
  millis window_end = 0;
  std::optional<std::string> subject; ///< Set when grouped by subject.
  /// The query's group-by keys other than `subject`, in its order.
  std::vector<std::pair<std::string, std::optional<std::string>>> group_by;
};

/// The JSON result (OpenMeter's MeterQueryResult): `from` and `to` only when
/// the query gave them, `windowSize` only when windowed, and `data` rows of
/// `value`, `windowStart`, `windowEnd`, `subject` (string or null) and
/// `groupBy` (key → string or null). Integral values render as integers.
nlohmann::ordered_json query_result_json(const meter_query& q,
                                         const std::vector<meter_row>& rows);

/// `query_result_json(q, rows)` serialized as on the wire (compact, invalid
/// UTF-8 replaced), written row by row without building the JSON tree: the
/// same bytes at a fraction of the time and memory for large answers.
std::string query_result_wire(const meter_query& q, const std::vector<meter_row>& rows);

/// The CSV result, as OpenMeter writes it (Go's encoding/csv): a header line
/// `window_start,window_end,subject,<each group-by key but subject>,value`
/// (the `subject` column always, empty when not grouped by subject), then
/// one line per row; times RFC 3339 in UTC without a fraction
/// (`2025-03-02T00:00:00Z`), absent values empty, value with six decimals
/// (`%f`), fields quoted where Go quotes them, lines ending in `\n`. Unlike
/// OpenMeter, a text cell that a spreadsheet would run as a formula (first
/// character `=`, `+`, `-`, `@`, tab or carriage return) gets a leading `'`.
std::string query_result_csv(const meter_query& q, const std::vector<meter_row>& rows);

/// The period of `GET /api/v1/meters/{meter}/group-by/{key}/values`.
struct group_values_period {
  millis from = 0; ///< Inclusive.
  millis to = 0;   ///< Exclusive.
};

/// Reads `from` and `to` (RFC 3339) of the group-by values route: as
/// OpenMeter, the 24 hours before `now` unless they say otherwise; `from`
/// must be before `to`. The first problem is reported.
validated<group_values_period> parse_group_values_period(const query_params& query,
                                                         millis now);

/// Where a listing of events stands: the last event a page held, by event
/// time and storage sequence (the listing's order, newest first).
struct event_position {
  millis time = 0;
  std::int64_t seq = 0;
};

/// Selects events for the metering API's `GET /api/v1/events` and
/// `GET /api/v2/events`.
struct event_search {
  millis time_from = 0;                ///< Inclusive.
  millis time_to = 0;                  ///< Exclusive.
  std::optional<millis> ingested_from; ///< Inclusive.
  std::optional<millis> ingested_to;   ///< Exclusive.
  std::string id_contains;             ///< Substring; empty: any.
  std::string subject_contains;        ///< Substring; empty: any.
  int limit = 100;
  /// Only events after this one in the listing's order (older, or as old and
  /// stored earlier): the keyset of cursor pagination.
  std::optional<event_position> before;
  /// Also list the versions voided or superseded (`includeVoided=true`): the
  /// audit trail of corrections.
  bool include_voided = false;
};

/// Whether `e` passes the time, ingestion time, id and subject filters of `s`
/// (not its `before` or `limit`).
bool search_matches(const event_search& s, const event& e);

/// The query of `GET /api/v1/events`: `from`/`to` on event time (default: the
/// last 72 hours before `now`), `ingestedAtFrom`/`ingestedAtTo` (`to` and
/// `ingestedAtTo` inclusive, as OpenMeter), `id` and `subject` (substrings),
/// `limit` 1-100 (default 100), `includeVoided` (`true` or `false`);
/// `clientId` is ignored. Errors are joined
/// with `"; "`.
validated<event_search> parse_event_search(const query_params& query, millis now);

} // namespace um::model
