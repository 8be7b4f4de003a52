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

std::pair<std::string, std::string>
health_wire_parts(const model::health_report& report) {
  const model::millis epoch = 0;
  auto wire = to_wire(health_body(report, epoch));
  const auto stamp = model::format_iso8601(epoch);
  const auto at = wire.find("\"timestamp\":\"" + stamp + '"');
  const auto split = at + 13;
  return {wire.substr(0, split), wire.substr(split + stamp.size())};
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
  // As the contract says; and true too when the page stopped early at its
  // size bound with events left after it.
  auto offset = static_cast<std::int64_t>(filter.offset);
  auto listed = static_cast<std::int64_t>(page.events.size());
  std::size_t bytes = 0;
  for (const auto& e : page.events)
    bytes += e.data.size();
  bool cut_short = !model::page_has_room(bytes) && listed < filter.limit;
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

std::string service_metrics_text(const service_numbers& n,
                                 const model::health_report& health) {
  std::string out;
  auto metric = [&out](const char* name, const char* type, const char* help, auto value) {
    out += std::string{"# HELP "} + name + " " + help + "\n# TYPE " + name + " " + type +
           "\n" + name + " " + std::to_string(value) + "\n";
  };
  metric("usage_events_ingested_total", "counter", "Events newly stored.",
         n.events_stored);
  metric("usage_events_deduplicated_total", "counter",
         "Events answered from an earlier copy (same source and id).",
         n.events_deduplicated);
  metric("usage_ingest_rejected_total", "counter",
         "Write requests refused with 503 because the ingest queue was full.",
         n.ingest_rejected);
  metric("usage_self_tracking_dropped_total", "counter",
         "Self-tracking events dropped because the ingest queue was full.",
         n.tracking_dropped);
  metric("usage_ingest_queue_depth", "gauge", "Events queued for the next commit.",
         n.ingest_queue_depth);
  metric("usage_log_lines_dropped_total", "counter",
         "Log lines dropped because the log queue was full.", n.log_lines_dropped);
  metric("http_requests_in_flight", "gauge", "Requests received and not yet answered.",
         n.in_flight_requests);
  metric("process_uptime_seconds", "gauge", "Seconds since the service started.",
         n.uptime / 1000);
  out += "# HELP actor_restarts_total Restarts of each supervised part.\n"
         "# TYPE actor_restarts_total counter\n";
  for (const auto& c : health.components)
    out += "actor_restarts_total{actor=\"" + c.name + "\"} " +
           std::to_string(c.restarts) + "\n";
  out += "# HELP actor_up Whether each supervised part is up (1) or not (0).\n"
         "# TYPE actor_up gauge\n";
  for (const auto& c : health.components)
    out += "actor_up{actor=\"" + c.name + "\",state=\"" +
           std::string{model::component_state_name(c.state)} + "\"} " +
           (c.state == model::component_state::up ? "1" : "0") + "\n";
  return out;
}

std::string to_wire(const json& body) {
  return body.dump(-1, ' ', false, json::error_handler_t::replace);
}

} // namespace um::http
