#pragma once

#include "model/clock.hpp"
#include "model/event.hpp"
#include "model/usage.hpp"

#include <nlohmann/json.hpp>

#include <map>
#include <string>
#include <vector>

namespace um::model {

/// A value, or the client-facing message that says why there is none.
template <class T>
struct validated {
  T value{};
  std::string error; ///< Empty when `value` is valid.

  explicit operator bool() const { return error.empty(); }
};

/// Query parameters of a request, by name (the last value of a repeated name).
using query_params = std::map<std::string, std::string, std::less<>>;

/// Most events one `POST /v1/events/batch` may carry.
inline constexpr std::size_t max_batch_events = 1000;

/// Reads a JSON request body (every route's but CloudEvents ingestion) within
/// the JSON limits (`model/bounded_json.hpp`). An event's `metadata`, at the
/// top or in a batch's `events`, counts its depth from itself. Messages:
/// `Malformed JSON in request body`, `metadata nests deeper than 64 levels`,
/// `events[3]: metadata has more than 10000 members in one object`, and
/// `request body ...` for a limit crossed elsewhere.
validated<nlohmann::ordered_json> try_parse_request_json(std::string_view body);

/// Reads the body of `POST /v1/events` into an event. `now` stamps `time`
/// (unless the client gave `timestamp`) and `ingested_at`; an absent `id` gets
/// a new UUID. Messages follow the contract word for word, joined with ", ";
/// `metadata` over `max_event_data_bytes` serialized is refused with
/// `metadata must be 262144 bytes or less`.
validated<event> parse_v1_event(const nlohmann::ordered_json& body, millis now);

/// Reads the body of `POST /v1/events/batch`; each message names the index of
/// the event it is about (`events[3]: entityId is required`).
validated<std::vector<event>> parse_v1_batch(const nlohmann::ordered_json& body,
                                             millis now);

/// Makes a client's `Idempotency-Key` header the id of the events of one
/// `POST /v1/events` (`batch` false) or `/v1/events/batch` request, so that a
/// retried request is stored once even when its body names no `id`: a single
/// event without an `id` takes the key; in a batch, event `i` without an `id`
/// takes `<key>:<i>`. An `id` in the body must equal the key of a single
/// event. Returns the validation message, or empty.
std::string apply_idempotency_key(const nlohmann::ordered_json& body,
                                  std::vector<event>& events, std::string_view key,
                                  bool batch);

/// Reads the query of `GET /v1/events`.
validated<event_filter> parse_event_filter(const query_params& query);

/// Reads `since` and `until` of the usage routes.
validated<time_range> parse_time_range(const query_params& query);

/// Reads `interval` of the history route (default `hour`).
validated<interval> parse_history_interval(const query_params& query);

/// The v1 wire form of a stored event.
nlohmann::ordered_json v1_event_json(const event& e);

/// Length of a UTF-8 string as JavaScript counts it (UTF-16 code units), so
/// limits match the earlier service's.
std::size_t js_length(std::string_view utf8);

/// Removes the whitespace JavaScript's `String.prototype.trim` removes that
/// clients send in practice (ASCII whitespace, NBSP, BOM).
std::string_view js_trim(std::string_view text);

} // namespace um::model

namespace um::model {

/// The `api-self` event that records one served request (self-tracking).
event make_self_tracking_event(std::string_view method, std::string_view path, int status,
                               double duration_ms, std::string_view trace_id, millis now);

} // namespace um::model
