#pragma once

#include "actors/context.hpp"
#include "http/route_table.hpp"

#include <caf/fwd.hpp>

#include <chrono>
#include <cstdint>
#include <memory>

namespace um::http {

/// The HTTP front: RESTinio accepts requests on its own I/O threads, each
/// route translates its request into a message to the actor that owns the
/// answer, and the reply is written when that actor answers, exactly once.
class server {
public:
  /// A server of the service's routes (routes.cpp).
  server(caf::actor_system& system, context_ptr ctx);

  /// A server of `routes` (tests serve tables of their own).
  server(caf::actor_system& system, context_ptr ctx, const route_table& routes);
  ~server();

  /// Binds and starts serving; throws `std::runtime_error` when it cannot bind.
  void start();

  /// The port it listens on (the one the system chose when configured with 0).
  std::uint16_t port() const;

  /// Closes the listening socket; requests in flight go on.
  void stop_accepting();

  /// Waits until no request is in flight and every answer is written, at
  /// most `limit`; true if so.
  bool wait_idle(std::chrono::milliseconds limit);

  /// Stops the I/O threads. Open connections are closed. A kept-alive
  /// connection may have brought a request in after `wait_idle`: waits, at
  /// most `limit`, until those are answered too, so that every request is
  /// logged before the logs are flushed; true if none is left in flight.
  bool stop(std::chrono::milliseconds limit = std::chrono::milliseconds{0});

  struct impl; ///< The RESTinio side, kept out of this header.

private:
  std::unique_ptr<impl> impl_;
};

} // namespace um::http
