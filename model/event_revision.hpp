#pragma once

// Voiding and correcting stored events (docs/API.md, "Corrections"): what a
// change asks for, what it did, and the versions that stopped counting, kept
// for the audit trail. A voided (source, id) stays taken: appending it again
// is a duplicate and does not bring it back; only a correction (a
// replacement) makes it count again.

#include "model/clock.hpp"
#include "model/errors.hpp"
#include "model/event.hpp"
#include "model/v1_api.hpp"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace um::model {

/// How a stored version of an event stopped counting.
enum class revision_kind {
  voided,     ///< Removed by a void.
  superseded, ///< Replaced by a correction.
};

/// `"voided"` or `"superseded"`.
std::string_view revision_kind_name(revision_kind k);

/// How and when a version stopped counting, and by whom: what the audit
/// trail shows beside the version.
struct revision_mark {
  revision_kind kind = revision_kind::voided;
  millis at = 0;
  std::string by;
  std::string trace_id;
};

/// A version of an event that no longer counts, kept for the audit trail.
struct event_revision {
  event version; ///< As it was stored.
  revision_kind kind = revision_kind::voided;
  millis at = 0;        ///< When it was voided or superseded.
  std::string by;       ///< Who: the label of the API key (`api_key_label`).
  std::string trace_id; ///< The request that did it.

  revision_mark mark() const { return {kind, at, by, trace_id}; }
};

/// A request to void the event (source, id), or to replace it.
struct event_change {
  std::string source;
  std::string id;
  std::optional<event> replacement; ///< Absent: void. Its source and id are these.
  /// The replacement keeps the time of the version it replaces (a v1
  /// correction whose body has no `timestamp`).
  bool keep_time = false;
  millis at = 0;        ///< When the change is made.
  std::string by;       ///< As `event_revision::by`.
  std::string trace_id; ///< As `event_revision::trace_id`.
};

/// What an `event_change` found.
enum class change_status {
  changed,        ///< Voided or replaced now.
  already_voided, ///< A void of an event voided before: nothing changed.
  not_found,      ///< No event (source, id) was ever stored, or retention removed it.
};

/// What an `event_change` did.
struct change_outcome {
  change_status status = change_status::not_found;
  /// The version that stopped counting (for `already_voided`, the voided one).
  std::optional<event> before;
  /// The replacement as stored (a correction only).
  std::optional<event> after;
};

/// The event a correction stores in place of `before`: `change.replacement`
/// with the change's source and id, `ingested_at = change.at`, and
/// `before.time` when `change.keep_time`.
event replacement_event(const event_change& change, const event& before);

/// Reads `PUT /v1/events/:id` (`path_id` decoded): a v1 event body as
/// `POST /v1/events` takes it (`parse_v1_event`); an `id` in the body must be
/// `path_id` (`id must match the event id in the path`); without `timestamp`
/// the correction keeps the stored event's time.
validated<event_change> parse_v1_correction(const nlohmann::ordered_json& body,
                                            std::string_view path_id, millis now);

/// Reads `DELETE /api/v1/events?source=S&id=I`: both required and non-empty
/// (`source is required; id is required`).
validated<event_change> parse_void_query(const query_params& query, millis now);

/// Reads `PUT /api/v1/events`: one CloudEvent, as `POST /api/v1/events`
/// reads it (`parse_cloud_events`: its 400 and 415 errors), whose source and
/// id name the event it replaces; an array of several is refused (`a
/// correction replaces one event`).
validated<event_change> parse_cloud_event_correction(std::string_view body,
                                                     std::string_view content_type,
                                                     millis now, api_error& error);

/// The label that names an API key in the audit trail and logs without
/// revealing it: `key:` and the first 12 hex digits of its SHA-256, or
/// `anonymous` when the service has no keys.
std::string api_key_label(std::string_view key);

} // namespace um::model
