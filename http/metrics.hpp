#pragma once

#include "model/clock.hpp"
#include "model/health.hpp"

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace um::http {

/// Request counts by route and status, and a latency histogram by route, for
/// `GET /metrics`. Recording is lock-free: a fixed slot per route and status.
class request_metrics {
public:
  /// Statuses counted separately; others count as `other`.
  static constexpr std::array<int, 15> statuses = {200, 201, 202, 204, 400, 401, 404, 409,
                                                   413, 414, 415, 429, 500, 503, 504};

  /// Upper bounds of the latency buckets, in seconds.
  static constexpr std::array<double, 12> bounds = {
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5};

  /// Registers a route (its pattern, e.g. `GET /v1/usage/:entityId`) and
  /// returns its slot; call before any `record`.
  std::size_t add_route(std::string name);

  /// Counts one answered request.
  void record(std::size_t route, int status, double seconds);

  /// The Prometheus text exposition of everything recorded.
  std::string render() const;

private:
  struct route_slot {
    std::string name;
    std::array<std::atomic<std::uint64_t>, statuses.size() + 1> by_status{};
    std::array<std::atomic<std::uint64_t>, bounds.size() + 1> by_bucket{};
    std::atomic<std::uint64_t> micros_total{0};
  };
  std::vector<std::unique_ptr<route_slot>> routes_;
};

/// Service-wide numbers `GET /metrics` reports beside the request metrics.
struct service_numbers {
  std::uint64_t events_stored = 0;
  std::uint64_t events_deduplicated = 0;
  std::uint64_t ingest_rejected = 0;
  std::uint64_t tracking_dropped = 0;
  std::int64_t ingest_queue_depth = 0;
  std::uint64_t log_lines_dropped = 0;
  std::uint64_t notifications_created = 0;          ///< Alert events made.
  std::uint64_t notification_deliveries = 0;        ///< Webhook attempts answered 2xx.
  std::uint64_t notification_failures = 0;          ///< Webhook attempts that failed.
  std::uint64_t notifications_given_up = 0;         ///< Deliveries given up (FAILED).
  std::uint64_t notification_channels_disabled = 0; ///< After too many failures in a row.
  std::int64_t notification_queue_depth = 0; ///< Alert events with a delivery to make.
  std::int64_t in_flight_requests = 0;
  model::millis uptime = 0;
};

/// The Prometheus text of `numbers` and of each part's state and restarts,
/// which follows `request_metrics::render()` on the page.
std::string service_metrics_text(const service_numbers& numbers,
                                 const model::health_report& health);

} // namespace um::http
