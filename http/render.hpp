#pragma once

// The JSON bodies of every route, as pure functions of model values: what
// old clients parse is decided here, and tested without sockets.

#include "model/config.hpp"
#include "model/errors.hpp"
#include "model/event.hpp"
#include "model/health.hpp"
#include "model/usage.hpp"

#include <nlohmann/json.hpp>

#include <string>

namespace um::http {

using json = nlohmann::ordered_json;

/// `{"error":{"code","message","traceId"}}`.
json error_body(const model::api_error& error, const std::string& trace_id);

/// `GET /health`: the four contract keys first, then `components`.
json health_body(const model::health_report& report, model::millis now);

/// `to_wire(health_body(report, now))` split around the timestamp, so that a
/// report is serialized once and each `GET /health` only formats the time:
/// the wire body is `first + format_iso8601(now) + second`.
std::pair<std::string, std::string> health_wire_parts(const model::health_report& report);

/// `GET /ready`.
json ready_body(const model::readiness_report& report, model::millis now);

/// `GET /info`.
json info_body(const model::usage_stats& stats, const std::string& environment,
               model::millis uptime, std::uint64_t log_lines_dropped);

/// `GET /`.
json root_body();

/// `POST /v1/events`: `{"success":true,"data":<event>}`.
json event_created_body(const model::event& e);

/// `POST /v1/events/batch`: `{"success":true,"data":{"events":[...]}}`.
json batch_created_body(const model::append_outcomes& outcomes);

/// `GET /v1/events`.
json events_page_body(const model::event_page& page, const model::event_filter& filter);

/// `GET /v1/usage/stats`.
json stats_body(const model::usage_stats& stats, model::millis uptime,
                model::millis started_at);

/// `GET /v1/usage/:entityId`; `since`/`until` are the reported period.
json summary_body(const std::string& entity, const model::usage_summary& summary,
                  model::millis since, model::millis until);

/// `GET /v1/usage/:entityId/history`.
json history_body(const std::string& entity, model::interval width,
                  const model::usage_history& history, model::millis since,
                  model::millis until);

/// Service-wide numbers `GET /metrics` reports beside the request metrics.
struct service_numbers {
  std::uint64_t events_stored = 0;
  std::uint64_t events_deduplicated = 0;
  std::uint64_t ingest_rejected = 0;
  std::uint64_t tracking_dropped = 0;
  std::int64_t ingest_queue_depth = 0;
  std::uint64_t log_lines_dropped = 0;
  std::int64_t in_flight_requests = 0;
  model::millis uptime = 0;
};

/// The Prometheus text of `numbers` and of each part's state and restarts.
std::string service_metrics_text(const service_numbers& numbers,
                                 const model::health_report& health);

/// The serialized form used on the wire: compact, invalid UTF-8 replaced.
std::string to_wire(const json& body);

} // namespace um::http
