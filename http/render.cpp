#include "http/render.hpp"

#include "model/v1_api.hpp"

namespace um::http {

namespace {

json uptime_json(model::millis uptime) {
  return json{{"ms", uptime}, {"human", model::human_uptime(uptime)}};
}

json counts_json(const std::map<std::string, std::int64_t>& counts) {
  json out = json::object();
  for (const auto& [key, n] : counts)
    out[key] = n;
  return out;
}

} // namespace

json error_body(const model::api_error& error, const std::string& trace_id) {
  return json{{"error",
               {{"code", model::code_name(error.code)},
                {"message", error.message},
                {"traceId", trace_id}}}};
}

json health_body(const model::health_report& report, model::millis now) {
  json body{{"status", report.healthy ? "healthy" : "unhealthy"},
            {"timestamp", model::format_iso8601(now)},
            {"service", model::service_name},
            {"version", model::service_version}};
  json components = json::object();
  for (const auto& c : report.components) {
    json entry{{"state", model::component_state_name(c.state)}, {"restarts", c.restarts}};
    if (!c.detail.empty())
      entry["detail"] = c.detail;
    components[c.name] = std::move(entry);
  }
  body["components"] = std::move(components);
  return body;
}

json ready_body(const model::readiness_report& report, model::millis now) {
  json checks = json::object();
  for (const auto& c : report.checks)
    checks[c.name] = c.result;
  return json{{"status", report.ready ? "ready" : "not_ready"},
              {"timestamp", model::format_iso8601(now)},
              {"checks", std::move(checks)}};
}

json info_body(const model::usage_stats& stats, const std::string& environment,
               model::millis uptime, std::uint64_t log_lines_dropped) {
  return json{{"service", model::service_name},
              {"version", model::service_version},
              {"environment", environment},
              {"uptime", uptime_json(uptime)},
              {"stats",
               {{"totalEvents", stats.total_events},
                {"eventsLastHour", stats.events_last_hour},
                {"uniqueEntities", stats.unique_entities}}},
              {"logs", {{"dropped", log_lines_dropped}}}};
}

json root_body() {
  return json{{"service", model::service_name},
              {"version", model::service_version},
              {"documentation", "/docs"},
              {"health", "/health"},
              {"api", {{"events", "/v1/events"}, {"usage", "/v1/usage"}}}};
}

json event_created_body(const model::event& e) {
  return json{{"success", true}, {"data", model::v1_event_json(e)}};
}

json batch_created_body(const model::append_outcomes& outcomes) {
  json events = json::array();
  for (const auto& o : outcomes)
    events.push_back(model::v1_event_json(o.event));
  return json{{"success", true}, {"data", {{"events", std::move(events)}}}};
}

json events_page_body(const model::event_page& page, const model::event_filter& filter) {
  json events = json::array();
  for (const auto& e : page.events)
    events.push_back(model::v1_event_json(e));
  bool has_more = static_cast<std::int64_t>(filter.offset) + filter.limit < page.total;
  return json{{"success", true},
              {"data",
               {{"events", std::move(events)},
                {"pagination",
                 {{"total", page.total},
                  {"limit", filter.limit},
                  {"offset", filter.offset},
                  {"hasMore", has_more}}}}}};
}

json stats_body(const model::usage_stats& stats, model::millis uptime,
                model::millis started_at) {
  return json{{"success", true},
              {"data",
               {{"totalEvents", stats.total_events},
                {"eventsLastHour", stats.events_last_hour},
                {"uniqueEntities", stats.unique_entities},
                {"eventTypes", counts_json(stats.event_types)},
                {"uptime", uptime_json(uptime)},
                {"startTime", model::format_iso8601(started_at)}}}};
}

json summary_body(const std::string& entity, const model::usage_summary& summary,
                  model::millis since, model::millis until) {
  return json{{"success", true},
              {"data",
               {{"entityId", entity},
                {"totalEvents", summary.total},
                {"byEventType", counts_json(summary.by_type)},
                {"period",
                 {{"since", model::format_iso8601(since)},
                  {"until", model::format_iso8601(until)}}}}}};
}

json history_body(const std::string& entity, model::interval width,
                  const model::usage_history& history, model::millis since,
                  model::millis until) {
  json points = json::array();
  for (const auto& p : history)
    points.push_back(
      json{{"timestamp", model::format_iso8601(p.bucket_start)}, {"count", p.count}});
  return json{{"success", true},
              {"data",
               {{"entityId", entity},
                {"interval", model::interval_name(width)},
                {"dataPoints", std::move(points)},
                {"period",
                 {{"since", model::format_iso8601(since)},
                  {"until", model::format_iso8601(until)}}}}}};
}

std::string to_wire(const json& body) {
  return body.dump(-1, ' ', false, json::error_handler_t::replace);
}

} // namespace um::http
