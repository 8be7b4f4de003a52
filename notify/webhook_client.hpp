#pragma once

// The outgoing HTTP client of webhook deliveries (issue 18), over libcurl.
//
// A plain blocking API with no actor framework in it: the notifier calls it
// from an actor detached onto a thread of its own, so that a slow receiver
// holds that thread only, never ingest or `/health`. One `webhook_client` owns
// one libcurl easy handle, whose connection cache keeps connections to
// receivers alive between deliveries. A client is not thread-safe: use one per
// thread.

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace um::notify {

/// One delivery attempt: where to, the headers to add, and the exact bytes
/// signed.
struct webhook_request {
  std::string url; ///< `http://` or `https://`; any other scheme is refused.
  /// Sent in this order after `Content-Type: application/json`: the signature
  /// headers and the channel's custom headers.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body; ///< Sent as is (the bytes the signature covers).
};

/// Bounds on one attempt.
struct webhook_limits {
  /// Until the TCP (and TLS) connection is up.
  std::chrono::milliseconds connect_timeout{5000};
  /// The whole attempt, connecting included.
  std::chrono::milliseconds total_timeout{10000};
  /// Refuse targets that resolve to loopback, private, link-local,
  /// unique-local or unspecified addresses (see `is_private_address`): the
  /// production setting, so that a channel URL cannot reach the service's own
  /// network.
  bool block_private_targets = false;
  /// Bytes of the answer's body kept; the rest is read and dropped, so that
  /// the connection stays reusable and a huge answer costs no memory.
  std::size_t max_response_bytes = 64 * 1024;
};

/// What came of one attempt.
struct webhook_response {
  /// Delivered: the receiver answered 2xx (Standard Webhooks receivers do;
  /// anything else, a 3xx included, is a failed attempt to retry).
  bool sent = false;
  int status = 0; ///< The answer's HTTP status; 0 when no answer came.
  /// Why the attempt failed: `HTTP <status>` for an answer that is not 2xx,
  /// libcurl's reason when no answer came, or `blocked: private address
  /// <ip>`; empty when sent.
  std::string error;
  std::chrono::milliseconds took{0}; ///< From the start of the attempt to its end.
  std::string body; ///< The first `max_response_bytes` of the answer's body.
};

/// Whether connecting to `ip` (an IPv4 or IPv6 address in text form) would
/// reach the local host or a private network: IPv4 0/8, 127/8, 10/8,
/// 100.64/10 (shared address space, where some clouds serve instance
/// metadata), 172.16/12, 192.168/16 and 169.254/16 (link-local, the usual
/// metadata address); IPv6 `::` and `::1` (and the rest of the deprecated
/// IPv4-compatible `::/96`), fe80::/10 (link-local), fec0::/10 (the
/// deprecated site-local), fc00::/7 (unique-local), and IPv4-mapped
/// `::ffff:a.b.c.d` when the IPv4 address is one of the above. Text that is
/// not an address counts as private, so a check built on it fails closed.
bool is_private_address(const std::string& ip);

/// Posts webhook deliveries, one at a time, over reused connections.
class webhook_client {
public:
  /// Makes the easy handle (and initializes libcurl once per process).
  webhook_client();
  ~webhook_client();

  webhook_client(const webhook_client&) = delete;
  webhook_client& operator=(const webhook_client&) = delete;

  /// POSTs `request.body` to `request.url` with `Content-Type:
  /// application/json` and `request.headers`, within `limits`. Follows no
  /// redirect, speaks only http and https, uses no proxy from the environment
  /// (so that `block_private_targets` judges the receiver's own address), and
  /// blocks for at most about `limits.total_timeout`. Never throws for a
  /// failed attempt: the reason is in the response.
  webhook_response post(const webhook_request& request, const webhook_limits& limits);

private:
  struct state;
  std::unique_ptr<state> state_;
};

} // namespace um::notify
