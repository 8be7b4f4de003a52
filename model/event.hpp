#pragma once

#include "model/clock.hpp"

#include <string>
#include <vector>

namespace um::model {

/// The one stored form of a usage event, shared by the v1 API and the metering
/// API. A v1 event is one with `source == v1_source`, `subject = entityId`,
/// `type = eventType` and `data = metadata`.
struct event {
  std::string id;         ///< Unique within `source`; the idempotency key.
  std::string source;     ///< Who emitted it (CloudEvents `source`).
  std::string type;       ///< What happened (v1 `eventType`, CloudEvents `type`).
  std::string subject;    ///< Whose usage it is (v1 `entityId`).
  millis time = 0;        ///< When the usage happened.
  std::string data;       ///< A JSON object, serialized compactly.
  millis ingested_at = 0; ///< When the service stored it (v1 `createdAt`).
};

/// The `source` of every event that came in through the v1 API.
inline constexpr std::string_view v1_source = "usage-metrics/v1";

/// What storing one event did.
enum class append_status {
  stored,    ///< New: committed by this request.
  duplicate, ///< Its (source, id) was stored before; `event` is that stored copy.
};

/// The outcome of storing one event: its status and the event as stored.
struct append_outcome {
  append_status status = append_status::stored;
  model::event event;
};

/// The outcomes of one batch, in the order of its events.
using append_outcomes = std::vector<append_outcome>;

} // namespace um::model
