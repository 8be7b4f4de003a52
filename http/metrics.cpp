#include "http/metrics.hpp"

#include <cstdio>

namespace um::http {

namespace {

std::string escape_label(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"')
      out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

std::string format_double(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%g", v);
  return buf;
}

} // namespace

std::size_t request_metrics::add_route(std::string name) {
  auto slot = std::make_unique<route_slot>();
  slot->name = std::move(name);
  routes_.push_back(std::move(slot));
  return routes_.size() - 1;
}

void request_metrics::record(std::size_t route, int status, double seconds) {
  if (route >= routes_.size())
    return;
  auto& slot = *routes_[route];
  std::size_t s = 0;
  while (s < statuses.size() && statuses[s] != status)
    ++s;
  slot.by_status[s].fetch_add(1, std::memory_order_relaxed);
  std::size_t b = 0;
  while (b < bounds.size() && seconds > bounds[b])
    ++b;
  slot.by_bucket[b].fetch_add(1, std::memory_order_relaxed);
  slot.micros_total.fetch_add(static_cast<std::uint64_t>(seconds * 1e6),
                              std::memory_order_relaxed);
}

std::string request_metrics::render() const {
  std::string out;
  out += "# HELP http_requests_total HTTP requests answered, by route and status.\n";
  out += "# TYPE http_requests_total counter\n";
  for (const auto& r : routes_) {
    auto route = escape_label(r->name);
    for (std::size_t s = 0; s <= statuses.size(); ++s) {
      auto n = r->by_status[s].load(std::memory_order_relaxed);
      if (n == 0)
        continue;
      auto status =
          s < statuses.size() ? std::to_string(statuses[s]) : std::string{"other"};
      out += "http_requests_total{route=\"" + route + "\",status=\"" + status + "\"} " +
             std::to_string(n) + "\n";
    }
  }
  out +=
      "# HELP http_request_duration_seconds Time from request to response, by route.\n";
  out += "# TYPE http_request_duration_seconds histogram\n";
  for (const auto& r : routes_) {
    auto route = escape_label(r->name);
    std::uint64_t cumulative = 0;
    for (std::size_t b = 0; b <= bounds.size(); ++b) {
      cumulative += r->by_bucket[b].load(std::memory_order_relaxed);
      auto le = b < bounds.size() ? format_double(bounds[b]) : std::string{"+Inf"};
      out += "http_request_duration_seconds_bucket{route=\"" + route + "\",le=\"" + le +
             "\"} " + std::to_string(cumulative) + "\n";
    }
    out += "http_request_duration_seconds_sum{route=\"" + route + "\"} " +
           format_double(static_cast<double>(r->micros_total.load()) / 1e6) + "\n";
    out += "http_request_duration_seconds_count{route=\"" + route + "\"} " +
           std::to_string(cumulative) + "\n";
  }
  return out;
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
  metric("usage_notifications_created_total", "counter",
         "Usage alert events made (one per rule, subject, window and threshold).",
         n.notifications_created);
  metric("usage_notification_deliveries_total", "counter",
         "Webhook delivery attempts answered with a 2xx status.",
         n.notification_deliveries);
  metric("usage_notification_failures_total", "counter",
         "Webhook delivery attempts that failed (error status, timeout, refused target).",
         n.notification_failures);
  metric("usage_notifications_given_up_total", "counter",
         "Webhook deliveries given up after their last retry.", n.notifications_given_up);
  metric("usage_notification_channels_disabled_total", "counter",
         "Notification channels disabled after too many failed attempts in a row.",
         n.notification_channels_disabled);
  metric("usage_notification_queue_depth", "gauge",
         "Usage alert events with a webhook delivery still to make.",
         n.notification_queue_depth);
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

} // namespace um::http
