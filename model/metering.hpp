#pragma once

#include "model/clock.hpp"
#include "model/event.hpp"
#include "model/json_path.hpp"
#include "model/v1_api.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace um::model {

/// How a meter folds the values of its events into one number.
enum class meter_aggregation { sum, count, unique_count, avg, min, max, latest };

/// The wire name of `a` (`SUM`, `COUNT`, `UNIQUE_COUNT`, `AVG`, `MIN`, `MAX`,
/// `LATEST`).
std::string_view meter_aggregation_name(meter_aggregation a);

/// Parses a wire name of an aggregation (exact, upper case).
std::optional<meter_aggregation> try_parse_meter_aggregation(std::string_view text);

/// One named group-by of a meter: `"model": "$.model"`.
struct meter_group_by {
  std::string key;
  json_path path;
};

/// A meter: turns the events of one type into a number (OpenMeter's Meter).
struct meter {
  std::string id;
  std::string slug;        ///< 1–64 of `[a-z0-9]`, words joined by single `_`.
  std::string name;        ///< Display name; the slug unless given.
  std::string description; ///< Empty when none; then not rendered.
  meter_aggregation aggregation = meter_aggregation::count;
  std::string event_type;                  ///< The CloudEvents `type` it counts.
  std::optional<millis> event_from;        ///< Events before it are not counted.
  std::optional<json_path> value_property; ///< Absent exactly for COUNT.
  std::vector<meter_group_by> group_by;    ///< In the order the client gave.
  millis created_at = 0;
  millis updated_at = 0;
};

/// A meter as the store holds it, with whether its rollups have caught up
/// with the events stored before it was created or redefined.
struct stored_meter {
  model::meter meter;
  bool ready = false; ///< Its rollups cover every stored event: queries may run.
};

/// Whether `text` is a valid slug: 1–64 characters matching
/// `^[a-z0-9]+(?:_[a-z0-9]+)*$`.
bool is_valid_meter_slug(std::string_view text);

/// Reads the body of `POST /api/v1/meters` (OpenMeter's MeterCreate):
/// `slug`, `aggregation`, `eventType` required; `name` (1–256 characters,
/// default: the slug), `description` (at most 1024), `eventFrom` (RFC 3339),
/// `valueProperty` (a JSON path, required for all but COUNT; for COUNT it is
/// ignored, as the SDK documents), `groupBy` (an object of key → JSON path;
/// keys `^[A-Za-z_][A-Za-z0-9_]*$` of at most 64 characters, `subject`
/// reserved; no path may equal `valueProperty`). `windowSize`, `metadata` and
/// unknown fields are ignored. `id` and both timestamps come from the caller.
/// Every problem is reported, joined with "; ".
validated<meter> parse_meter(const nlohmann::ordered_json& body, millis now,
                             std::string id);

/// The body of `PUT /api/v1/meters/{idOrSlug}` (OpenMeter's MeterUpdate),
/// read without knowing the meter: the HTTP layer reads it
/// (`read_meter_update`), the store's writer applies it to the meter it names
/// in one transaction (`apply_meter_update`).
struct meter_update {
  /// One entry of `groupBy`, in the order given: its key and path, or why it
  /// cannot be read.
  struct group_by_entry {
    std::string key;
    json_path path;
    std::string problem; ///< Empty when `path` was read.
  };
  std::optional<std::string> name; ///< Absent: the meter's slug.
  std::string description;         ///< Empty: none.
  std::vector<group_by_entry> group_by;
  std::vector<std::string> problems; ///< Of the body, `name`, `description`, `groupBy`.
  millis at = 0;                     ///< When it was asked for: the new `updated_at`.
};

/// Reads the body of `PUT /api/v1/meters/{idOrSlug}` with replace semantics,
/// as PUT means: `name` (absent: the slug), `description` (absent: none) and
/// `groupBy` (absent: none). Other fields (slug, aggregation, ...) are
/// ignored, so a client may send back a whole Meter it read.
meter_update read_meter_update(const nlohmann::ordered_json& body, millis now);

/// `m` with `update` applied and `updated_at = update.at`, or every problem
/// (those `read_meter_update` found, and group-by paths equal to the meter's
/// `valueProperty`), joined with "; " in the order of the body.
validated<meter> apply_meter_update(const meter& m, const meter_update& update);

/// Reads and applies a `PUT` body in one step; on error `m` is unchanged and
/// the error is returned.
std::string apply_meter_update(meter& m, const nlohmann::ordered_json& body, millis now);

/// The wire form of a meter (OpenMeter's Meter): `id`, `slug`, `name`,
/// `description` (when set), `aggregation`, `eventType`, `eventFrom` (when
/// set), `valueProperty` (unless COUNT), `groupBy`, `createdAt`, `updatedAt`.
nlohmann::ordered_json meter_json(const meter& m);

/// The answer of `GET /api/v1/meters`: an array of `meter_json`.
nlohmann::ordered_json meter_list_json(const std::vector<meter>& meters);

/// Reads back what `meter_json` wrote, `id` and timestamps included (for
/// storing meters as JSON).
validated<meter> meter_from_json(const nlohmann::ordered_json& stored);

/// Reads one entry of OpenMeter's config-file `meters:` list (as JSON):
/// `slug`, `eventType`, `aggregation`, `valueProperty`, `groupBy`, and
/// optionally `name`, `description`, `eventFrom`; `windowSize` (deprecated) is
/// checked to be a window size and otherwise ignored. The meter's `id` is its
/// slug, and both timestamps are `loaded_at`.
validated<meter> meter_from_config(const nlohmann::ordered_json& entry,
                                   millis loaded_at = 0);

/// What one event contributes to one meter.
struct meter_sample {
  std::string subject;
  std::vector<std::optional<std::string>> group_values; ///< In `meter.group_by` order.
  double value = 0;                                     ///< 0 for COUNT and UNIQUE_COUNT.
  std::optional<std::string> unique_value;              ///< Set for UNIQUE_COUNT only.
  millis time = 0;
};

/// Whether an event counts for a meter.
enum class sample_status {
  counted,        ///< `sample` holds what it contributes.
  not_applicable, ///< Another type, or before `eventFrom`: silently not counted.
  invalid,        ///< Of the meter's type, but its data cannot be counted; see `error`.
};

/// The outcome of reading one event for one meter.
struct extracted_sample {
  sample_status status = sample_status::not_applicable;
  meter_sample sample;
  std::string error; ///< For `invalid`: the `validationError` text.
};

/// Reads what `e` contributes to `m`.
///
/// The value at `valueProperty` must be a number or a numeric string for SUM,
/// AVG, MIN, MAX and LATEST (finite; `"1e3"`, `"-2.5"` parse); for
/// UNIQUE_COUNT a string, number or boolean, numbers and booleans stringified
/// as JSON writes them (`1`, `1.5`, `true`). Group-by values: strings as they
/// are, numbers and booleans stringified, objects and arrays as compact JSON,
/// missing or null as no value. Data that is null or absent counts for COUNT
/// (group values null) and is invalid for the others. Messages are
/// OpenMeter's, word for word (`invalid event: null and missing value
/// property`, `invalid event: missing value property: "$.tokens"`, `invalid
/// event: value cannot be null`, `invalid event: value cannot be parsed as
/// float64: abc`, `invalid event: value cannot be NaN`, `invalid event: value
/// cannot be infinity`, `invalid event: unsupported value property type: bool`).
extracted_sample extract_sample(const meter& m, const event& e);

/// The data of `e` parsed: its JSON object, or null when it was sent null or
/// without data.
nlohmann::json event_data(const event& e);

/// As above with `e.data` already parsed (`event_data`), so several meters
/// share one parse.
extracted_sample extract_sample(const meter& m, const event& e,
                                const nlohmann::json& data);

/// The running aggregate of the samples in one window and group: all the
/// aggregations at once, so cells merge whichever a meter uses.
struct meter_cell {
  double sum = 0;
  std::int64_t count = 0;
  double min = 0; ///< Meaningful once `count > 0`.
  double max = 0; ///< Meaningful once `count > 0`.
  double latest = 0;
  millis latest_time = 0;
  std::int64_t latest_seq = 0; ///< Breaks ties of `latest_time`: the larger wins.
  std::set<std::string> uniques;

  /// Adds one sample; `seq` orders samples of equal time (storage order).
  void add(const meter_sample& s, std::int64_t seq);

  /// Folds `other` in; associative and commutative.
  void merge(const meter_cell& other);

  /// The aggregate: AVG is sum/count, COUNT the count, UNIQUE_COUNT the number
  /// of distinct values, LATEST the value with the greatest (time, seq); 0 for
  /// an empty cell.
  double value(meter_aggregation a) const;
};

} // namespace um::model
