#include "model/v1_render.hpp"

#include "model/v1_api.hpp"

namespace um::model {

using json = nlohmann::ordered_json;

namespace {

json uptime_json(millis uptime) {
  return json{{"ms", uptime}, {"human", human_uptime(uptime)}};
}

json counts_json(const std::map<std::string, std::int64_t>& counts) {
  json out = json::object();
  for (const auto& [key, n] : counts)
    out[key] = n;
  return out;
}

} // namespace

json error_body(const api_error& error, const std::string& trace_id) {
  return json{{"error",
               {{"code", code_name(error.code)},
                {"message", error.message},
                {"traceId", trace_id}}}};
}

json health_body(const health_report& report, millis now) {
  json body{{"status", report.healthy ? "healthy" : "unhealthy"},
            {"timestamp", format_iso8601(now)},
            {"service", service_name},
            {"version", service_version}};
  json components = json::object();
  for (const auto& c : report.components) {
    json entry{{"state", component_state_name(c.state)}, {"restarts", c.restarts}};
    if (!c.detail.empty())
      entry["detail"] = c.detail;
    components[c.name] = std::move(entry);
  }
  body["components"] = std::move(components);
  return body;
}

std::pair<std::string, std::string> health_wire_parts(const health_report& report) {
  const millis epoch = 0;
  auto wire = to_wire(health_body(report, epoch));
  const auto stamp = format_iso8601(epoch);
  const auto at = wire.find("\"timestamp\":\"" + stamp + '"');
  const auto split = at + 13;
  return {wire.substr(0, split), wire.substr(split + stamp.size())};
}

json ready_body(const readiness_report& report, millis now) {
  json checks = json::object();
  for (const auto& c : report.checks)
    checks[c.name] = c.result;
  return json{{"status", report.ready ? "ready" : "not_ready"},
              {"timestamp", format_iso8601(now)},
              {"checks", std::move(checks)}};
}

json info_body(const usage_stats& stats, const std::string& environment, millis uptime,
               std::uint64_t log_lines_dropped) {
  return json{{"service", service_name},
              {"version", service_version},
              {"environment", environment},
              {"uptime", uptime_json(uptime)},
              {"stats",
               {{"totalEvents", stats.total_events},
                {"eventsLastHour", stats.events_last_hour},
                {"uniqueEntities", stats.unique_entities}}},
              {"logs", {{"dropped", log_lines_dropped}}}};
}

json root_body() {
  return json{{"service", service_name},
              {"version", service_version},
              {"documentation", "/docs"},
              {"health", "/health"},
              {"api", {{"events", "/v1/events"}, {"usage", "/v1/usage"}}}};
}

json event_created_body(const event& e) {
  return json{{"success", true}, {"data", v1_event_json(e)}};
}

json batch_created_body(const append_outcomes& outcomes) {
  json events = json::array();
  for (const auto& o : outcomes)
    events.push_back(v1_event_json(o.event));
  return json{{"success", true}, {"data", {{"events", std::move(events)}}}};
}

json events_page_body(const event_page& page, const event_filter& filter) {
  json events = json::array();
  for (const auto& e : page.events)
    events.push_back(v1_event_json(e));
  // As the contract says; and true too when the page stopped early at its
  // size bound with events left after it.
  auto offset = static_cast<std::int64_t>(filter.offset);
  auto listed = static_cast<std::int64_t>(page.events.size());
  std::size_t bytes = 0;
  for (const auto& e : page.events)
    bytes += e.data.size();
  bool cut_short = !page_has_room(bytes) && listed < filter.limit;
  bool has_more =
      offset + filter.limit < page.total || (cut_short && offset + listed < page.total);
  return json{{"success", true},
              {"data",
               {{"events", std::move(events)},
                {"pagination",
                 {{"total", page.total},
                  {"limit", filter.limit},
                  {"offset", filter.offset},
                  {"hasMore", has_more}}}}}};
}

json stats_body(const usage_stats& stats, millis uptime, millis started_at) {
  return json{{"success", true},
              {"data",
               {{"totalEvents", stats.total_events},
                {"eventsLastHour", stats.events_last_hour},
                {"uniqueEntities", stats.unique_entities},
                {"eventTypes", counts_json(stats.event_types)},
                {"uptime", uptime_json(uptime)},
                {"startTime", format_iso8601(started_at)}}}};
}

json summary_body(const std::string& entity, const usage_summary& summary, millis since,
                  millis until) {
  return json{{"success", true},
              {"data",
               {{"entityId", entity},
                {"totalEvents", summary.total},
                {"byEventType", counts_json(summary.by_type)},
                {"period",
                 {{"since", format_iso8601(since)}, {"until", format_iso8601(until)}}}}}};
}

json history_body(const std::string& entity, interval width, const usage_history& history,
                  millis since, millis until) {
  json points = json::array();
  for (const auto& p : history)
    points.push_back(
        json{{"timestamp", format_iso8601(p.bucket_start)}, {"count", p.count}});
  return json{{"success", true},
              {"data",
               {{"entityId", entity},
                {"interval", interval_name(width)},
                {"dataPoints", std::move(points)},
                {"period",
                 {{"since", format_iso8601(since)}, {"until", format_iso8601(until)}}}}}};
}

} // namespace um::model
