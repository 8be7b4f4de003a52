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

} // namespace um::http
