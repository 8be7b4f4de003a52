#pragma once

// The v1 contract's JSON bodies (docs/API.md; the health, readiness, info and
// root routes included), as pure functions of model values: what old clients
// parse is decided here, and tested without sockets. The metering API's
// bodies are beside their types (metering.hpp, meter_query.hpp,
// cloud_events.hpp).

#include "model/bounded_json.hpp"
#include "model/config.hpp"
#include "model/errors.hpp"
#include "model/event.hpp"
#include "model/health.hpp"
#include "model/usage.hpp"

#include <nlohmann/json.hpp>

#include <string>

namespace um::model {

/// `{"error":{"code","message","traceId"}}`.
nlohmann::ordered_json error_body(const api_error& error, const std::string& trace_id);

/// `GET /health`: the four contract keys first, then `components`.
nlohmann::ordered_json health_body(const health_report& report, millis now);

/// `to_wire(health_body(report, now))` split around the timestamp, so that a
/// report is serialized once and each `GET /health` only formats the time:
/// the wire body is `first + format_iso8601(now) + second`.
std::pair<std::string, std::string> health_wire_parts(const health_report& report);

/// `GET /ready`.
nlohmann::ordered_json ready_body(const readiness_report& report, millis now);

/// `GET /info`.
nlohmann::ordered_json info_body(const usage_stats& stats, const std::string& environment,
                                 millis uptime, std::uint64_t log_lines_dropped);

/// `GET /`.
nlohmann::ordered_json root_body();

/// `POST /v1/events`: `{"success":true,"data":<event>}`.
nlohmann::ordered_json event_created_body(const event& e);

/// `POST /v1/events/batch`: `{"success":true,"data":{"events":[...]}}`.
nlohmann::ordered_json batch_created_body(const append_outcomes& outcomes);

/// `GET /v1/events`.
nlohmann::ordered_json events_page_body(const event_page& page,
                                        const event_filter& filter);

/// `GET /v1/usage/stats`.
nlohmann::ordered_json stats_body(const usage_stats& stats, millis uptime,
                                  millis started_at);

/// `GET /v1/usage/:entityId`; `since`/`until` are the reported period.
nlohmann::ordered_json summary_body(const std::string& entity,
                                    const usage_summary& summary, millis since,
                                    millis until);

/// `GET /v1/usage/:entityId/history`.
nlohmann::ordered_json history_body(const std::string& entity, interval width,
                                    const usage_history& history, millis since,
                                    millis until);

} // namespace um::model
