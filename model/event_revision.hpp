#pragma once

// Voiding and correcting stored events (docs/API.md, "Corrections"): what a
// change asks for, what it did, and the versions that stopped counting, kept
// for the audit trail. A voided (source, id) stays taken: appending it again
// is a duplicate and does not bring it back; only a correction (a
// replacement) makes it count again.

#include "model/clock.hpp"
#include "model/event.hpp"

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

/// A version of an event that no longer counts, kept for the audit trail.
struct event_revision {
  event version; ///< As it was stored.
  revision_kind kind = revision_kind::voided;
  millis at = 0;        ///< When it was voided or superseded.
  std::string by;       ///< Who: the label of the API key (`api_key_label`).
  std::string trace_id; ///< The request that did it.
};

/// A request to void the event (source, id), or to replace it.
struct event_change {
  std::string source;
  std::string id;
  std::optional<event> replacement; ///< Absent: void. Its source and id are these.
  millis at = 0;                    ///< When the change is made.
  std::string by;                   ///< As `event_revision::by`.
  std::string trace_id;             ///< As `event_revision::trace_id`.
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

/// The label that names an API key in the audit trail and logs without
/// revealing it: `key:` and the first 12 hex digits of its SHA-256, or
/// `anonymous` when the service has no keys.
std::string api_key_label(std::string_view key);

} // namespace um::model
