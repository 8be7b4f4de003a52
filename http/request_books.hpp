#pragma once

// What happens once a request is answered: its log line, its /metrics count,
// its self-tracking event, and the count of requests in flight that an
// orderly stop waits on. Requests the gate refused before routing go into
// the same books.

#include "actors/context.hpp"
#include "http/exchange.hpp"
#include "http/metrics.hpp"
#include "http/request_gate.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace um::http {

/// The server's books of answered requests.
class request_books final : public exchange_observer {
public:
  explicit request_books(context_ptr ctx);

  /// Request counts and latencies by route; routes are added at start.
  request_metrics& metrics() { return metrics_; }
  const request_metrics& metrics() const { return metrics_; }

  /// A request has begun; its answer ends it.
  void opened() { in_flight_.fetch_add(1); }

  /// Requests begun and not answered yet.
  std::int64_t in_flight() const { return in_flight_.load(); }

  /// Waits until no request is in flight, at most `limit`; true if none is.
  bool wait_idle(std::chrono::milliseconds limit);

  /// Logs `request error: ...` at level error.
  void server_error(const exchange& ex, int status,
                    const model::api_error& error) override;

  /// Counts, logs and self-tracks (if its row says so) an answered request.
  void answered(const exchange& ex, int status) override;

  /// A request the connection's gate answered before routing: counted
  /// under `metric_slot`, logged, and self-tracked if `tracked`.
  void rejected(const rejected_request& r, bool tracked, std::size_t metric_slot);

private:
  context_ptr ctx_;
  request_metrics metrics_;
  std::atomic<std::int64_t> in_flight_{0};
  std::mutex idle_mutex_;
  std::condition_variable idle_;
};

} // namespace um::http
