#pragma once

#include "model/clock.hpp"
#include "model/errors.hpp"
#include "model/event.hpp"
#include "model/event_revision.hpp"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace um::model {

/// The events of one `POST /api/v1/events`, or why there are none: a
/// `validation` error (400) or an `unsupported_media_type` one (415).
struct cloud_event_batch {
  std::vector<event> events;
  std::optional<api_error> error;

  explicit operator bool() const { return !error; }
};

/// Parses a CloudEvents 1.0 JSON body by its `Content-Type`:
/// `application/cloudevents+json` holds one event,
/// `application/cloudevents-batch+json` an array of them (what the SDK sends),
/// `application/json` either. Media types compare case-insensitively; a
/// `charset` parameter must be UTF-8, other parameters are ignored.
///
/// Per event: `id`, `source`, `type` and `subject` are required non-empty
/// strings; `specversion` must be `"1.0"`; `time` is an RFC 3339 date-time
/// (absent or null: `now`); `datacontenttype` is absent, null or
/// `application/json`; `dataschema` is absent, null or a string; `data` is
/// absent, null or a JSON object (`data_base64` is rejected). Extension
/// attributes are accepted and not kept, and so are `datacontenttype` and
/// `dataschema`.
///
/// All or nothing: the first invalid event fails the batch, its index named
/// (`event[2]: id is required`). An empty array is an error. Each event gets
/// `data` as sent: compactly serialized, `null` when null, empty when absent
/// (the listing shows it so); and `ingested_at = now`.
///
/// The body is read within the JSON limits (`model/bounded_json.hpp`), each
/// event's `data` counting its depth from itself: `event: data nests deeper
/// than 64 levels`, `event[2]: data has more than 10000 members in one
/// object`, `request body ...` for a limit crossed elsewhere; `data` over
/// `max_event_data_bytes` serialized: `event: data must be 262144 bytes or
/// less`.
cloud_event_batch parse_cloud_events(std::string_view body, std::string_view content_type,
                                     millis now);

/// Parses an RFC 3339 date-time (`2024-01-15T10:30:00Z`,
/// `2024-01-15T10:30:00.123+02:00`): date, time with seconds, and offset all
/// required. Digits beyond milliseconds are truncated.
std::optional<millis> try_parse_rfc3339(std::string_view text);

/// The CloudEvent a stored event came from: `specversion`, `id`, `source`,
/// `type`, `subject`, `time` (RFC 3339 UTC, milliseconds) and `data` as it
/// was sent (absent when there was none, null when it was null).
nlohmann::ordered_json cloud_event_json(const event& e);

/// One item of `GET /api/v1/events`: `{"event", "ingestedAt", "storedAt",
/// "validationError"?}`; an event is stored as it is ingested, so `storedAt`
/// equals `ingestedAt`. A version voided or superseded also has
/// `"revision": {"kind": "voided"|"superseded", "at", "by", "traceId"}`.
nlohmann::ordered_json
ingested_event_json(const event& e, const std::optional<std::string>& validation_error,
                    const std::optional<revision_mark>& revision = std::nullopt);

/// An event for `GET /api/v1/events`, with why a meter could not count it.
struct searched_event {
  event stored;
  std::optional<std::string> validation_error;
  /// Set for a version voided or superseded (`includeVoided=true`).
  std::optional<revision_mark> revision;
};

/// The answer of `GET /api/v1/events`: an array of `ingested_event_json`.
nlohmann::ordered_json searched_events_json(const std::vector<searched_event>& events);

/// An RFC 7807 problem: `{"type":"about:blank", "title", "status", "detail",
/// "instance"}`, title and status from the one table in errors.hpp.
nlohmann::ordered_json problem_json(error_code code, std::string detail,
                                    std::string instance);

} // namespace um::model
