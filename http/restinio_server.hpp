#pragma once

// RESTinio's side of the server: its traits, and the router built from the
// route table. Included by router.cpp and server.cpp only (each file that
// includes RESTinio costs about 35 s of compile time).

#include "http/guarded_socket.hpp"
#include "http/server_core.hpp"

#include <restinio/all.hpp>

#include <memory>

namespace um::http {

/// The express router every request goes through.
using router_t = restinio::router::express_router_t<>;

/// The socket frames requests through a gate before RESTinio sees them (see
/// guarded_socket.hpp); the connection count limiter keeps accepted
/// connections below the file descriptor limit.
struct traits_t
    : restinio::traits_t<restinio::asio_timer_manager_t, restinio::null_logger_t,
                         router_t, restinio::default_strand_t, guarded_socket> {
  static constexpr bool use_connection_count_limiter = true;
};

/// Registers every route of `core` (and the HEAD twin of each GET), and
/// answers the rest: a CORS preflight for OPTIONS, 404 otherwise.
std::unique_ptr<router_t> make_router(server_core& core);

} // namespace um::http
