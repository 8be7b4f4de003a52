#pragma once

// OpenMeter's subjects (`/api/v1/subjects`): the entities usage is metered
// for, with a display name and metadata, created and changed by upsert.

#include "model/clock.hpp"
#include "model/v1_api.hpp"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

namespace um::model {

/// The longest subject key accepted (OpenMeter's key limit).
inline constexpr std::size_t max_subject_key_length = 256;

/// The most subjects one upsert may carry.
inline constexpr std::size_t max_subjects_per_upsert = 1000;

/// A stored subject.
struct subject {
  std::string id;  ///< Given at creation, never changes.
  std::string key; ///< Unique; usually the `subject` of its events.
  std::optional<std::string> display_name;
  std::optional<std::string> metadata; ///< A JSON object, serialized compactly.
  std::optional<millis> current_period_start;
  std::optional<millis> current_period_end;
  std::optional<std::string> stripe_customer_id;
  millis created_at = 0;
  millis updated_at = 0;
};

/// One item of an upsert: the key, and for each field whether it was given
/// (outer optional) and its value (inner: null clears it).
struct subject_upsert {
  std::string key;
  std::optional<std::optional<std::string>> display_name;
  std::optional<std::optional<std::string>> metadata;
  std::optional<std::optional<millis>> current_period_start;
  std::optional<std::optional<millis>> current_period_end;
  std::optional<std::optional<std::string>> stripe_customer_id;
};

/// Reads the body of `POST /api/v1/subjects`: an array of SubjectUpsert (or
/// one object): `key` (required, 1-256 characters), `displayName` (string or
/// null), `metadata` (object or null), `currentPeriodStart`/`End` (RFC 3339
/// or null), `stripeCustomerId` (string or null); other fields are ignored.
/// 1 to 1000 items. Every problem is named by its item, joined with "; ".
validated<std::vector<subject_upsert>>
parse_subject_upserts(const nlohmann::ordered_json& body);

/// `existing` changed by `change` at `now` (or, without one, a new subject
/// with `new_id`): fields the change gives are set (null clears), the others
/// kept; `updated_at = now`.
subject apply_subject_upsert(const std::optional<subject>& existing,
                             const subject_upsert& change, millis now,
                             const std::string& new_id);

/// The subject as OpenMeter answers it: `id`, `key`, `displayName`,
/// `metadata`, `currentPeriodStart`/`End` (only when set),
/// `stripeCustomerId`, `createdAt`, `updatedAt`.
nlohmann::ordered_json subject_json(const subject& s);

/// An array of `subject_json`.
nlohmann::ordered_json subjects_json(const std::vector<subject>& list);

/// The stored form of a subject's fields other than id, key and times (a
/// compact JSON object), and back.
std::string subject_fields_text(const subject& s);
void read_subject_fields(const std::string& text, subject& s);

} // namespace um::model
