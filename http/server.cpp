// The HTTP server's start and stop: RESTinio's settings, the request gate's
// policy (from the route table), the I/O threads, the request deadlines'
// ticker and the accept loop's watchdog. Routes are in routes.cpp, their
// registration in router.cpp, and every request's life in exchange.cpp.

#include "http/server.hpp"

#include "http/restinio_server.hpp"
#include "http/routes.hpp"
#include "http/translate.hpp"
#include "model/trace_id.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <atomic>
#include <future>
#include <thread>
#include <vector>

namespace um::http {

namespace {

using http_server_t = restinio::http_server_t<traits_t>;

// Raises the soft limit of open files to the hard one (as servers do) and
// returns it: every connection takes a descriptor.
std::size_t raise_open_file_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0)
    return 1024;
  if (limit.rlim_cur < limit.rlim_max) {
    auto wanted = limit;
    wanted.rlim_cur = std::min<rlim_t>(limit.rlim_max, 1'048'576);
    if (setrlimit(RLIMIT_NOFILE, &wanted) == 0)
      limit = wanted;
  }
  return static_cast<std::size_t>(limit.rlim_cur);
}

// An I/O context whose handlers can be destroyed before it is: asio's
// execution_context::shutdown, made callable.
struct io_context_t : restinio::asio_ns::io_context {
  using restinio::asio_ns::io_context::shutdown;
};

// Destroys the handlers still queued on `io` (and so the connections only
// they hold) when it goes. Declared between `http` and `core`, it goes after
// the bridges have queued their last answers and before RESTinio's acceptor:
// a connection's destructor tells the acceptor's connection limiter, which
// must still exist then.
struct pending_handlers_reaper {
  io_context_t& io;
  ~pending_handlers_reaper() { io.shutdown(); }
};

} // namespace

struct server::impl {
  connection_policy connections;
  io_context_t io{};
  std::unique_ptr<http_server_t> http;
  pending_handlers_reaper reaper{io};
  std::vector<std::thread> threads;
  std::unique_ptr<restinio::asio_ns::steady_timer> ticker;
  // The accept loop's watchdog (see watch_accepting).
  std::atomic<int> listen_fd{-1};
  std::atomic<bool> accepting{false};
  std::uint64_t accepted_at_last_tick = 0;
  int stalled_ticks = 0;
  bool told_stalled = false;
  std::size_t hard_connection_cap = 0;
  unsigned tick_count = 0;
  // Last, so that it goes first: its bridges stop, and answer (500) what
  // they held, while the I/O context those answers are written on is alive.
  server_core core;

  impl(caf::actor_system& system, context_ptr ctx, const route_table& routes)
      : core(system, std::move(ctx), routes) {}

  ~impl() {
    // No socket may consult the policy once it is gone; the bridges stop
    // (and answer what they held) as `core` goes.
    install_connection_policy(nullptr);
  }

  const context_ptr& ctx() const { return core.context(); }

  // RESTinio 0.6 stops accepting for good when accept() fails (EMFILE,
  // ENFILE): nothing is logged and the listen queue only grows. Connections
  // waiting in the queue while none is accepted, twice in a row and below
  // the connection cap, mean that: listen anew (backing off while it fails),
  // and say so once per episode.
  void watch_accepting() {
    int fd = listen_fd.load();
    if (fd < 0 || !http || !accepting.load())
      return;
    tcp_info info{};
    socklen_t size = sizeof info;
    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &size) != 0)
      return;
    auto accepted = connections.accepted.load();
    bool waiting = info.tcpi_unacked > 0; // a listening socket's accept queue
    bool stalled = waiting && accepted == accepted_at_last_tick &&
                   connections.open_connections.load() < hard_connection_cap;
    accepted_at_last_tick = accepted;
    if (!stalled) {
      if (stalled_ticks > 0 && told_stalled)
        ctx()->logs->log(model::log_level::info, "accepting connections again");
      stalled_ticks = 0;
      told_stalled = false;
      return;
    }
    if (++stalled_ticks < 2)
      return;
    if (!told_stalled) {
      told_stalled = true;
      ctx()->logs->log(model::log_level::error,
                       "accept loop stopped (out of file descriptors?): listening anew",
                       {{"queued", static_cast<std::int64_t>(info.tcpi_unacked)},
                        {"openConnections", static_cast<std::int64_t>(
                                                connections.open_connections.load())}});
    }
    try {
      http->close_sync();
      http->open_sync();
    } catch (const std::exception&) {
      // Still out of descriptors: the next tick tries again.
    }
  }

  void tick() {
    core.expire_deadlines();
    if (++tick_count % 5 == 0)
      watch_accepting();
    ticker->expires_after(std::chrono::milliseconds{100});
    ticker->async_wait([this](const restinio::asio_ns::error_code& ec) {
      if (!ec)
        tick();
    });
  }
};

server::server(caf::actor_system& system, context_ptr ctx)
    : server(system, std::move(ctx), service_routes()) {}

server::server(caf::actor_system& system, context_ptr ctx, const route_table& routes)
    : impl_(std::make_unique<impl>(system, std::move(ctx), routes)) {}

server::~server() {
  stop();
}

void server::start() {
  auto& cfg = impl_->ctx()->config;
  auto timeout = std::chrono::milliseconds{cfg.request_timeout_ms};
  // Descriptors the service needs besides connections (database files and
  // connections, stdout, the listener, eventfds): connections never take
  // them, so accept() never runs out.
  constexpr std::size_t reserved_descriptors = 64;
  auto open_files = raise_open_file_limit();
  impl_->hard_connection_cap = open_files > 2 * reserved_descriptors
                                   ? open_files - reserved_descriptors
                                   : open_files / 2;
  auto& policy = impl_->connections;
  // Between the cap and the hard cap, connections are accepted only to be
  // told 503.
  auto room_to_refuse = std::min<std::size_t>(64, impl_->hard_connection_cap / 4);
  policy.max_connections =
      std::min<std::size_t>(static_cast<std::size_t>(cfg.max_connections),
                            impl_->hard_connection_cap - room_to_refuse);
  if (policy.max_connections < static_cast<std::size_t>(cfg.max_connections))
    impl_->ctx()->logs->log(
        model::log_level::warn, "connection cap lowered by the open file limit",
        {{"maxConnections", static_cast<std::int64_t>(policy.max_connections)},
         {"openFileLimit", static_cast<std::int64_t>(open_files)}});
  auto& core = impl_->core;
  policy.cors_origin = cfg.cors_origin;
  policy.new_trace_id = [] { return model::new_uuid_v4(); };
  policy.report = [&core](const rejected_request& r) { core.rejected(r); };
  policy.admission = [&core](const request_head& head) { return core.admit_body(head); };
  policy.style_of = [&core](std::string_view method, std::string_view path) {
    return core.refusal_style(method, path);
  };
  policy.limits.max_target = max_target_bytes;
  policy.limits.max_body = max_body_bytes;
  install_connection_policy(&policy);
  // RESTinio's own limits stay above the gate's, which decides first.
  auto settings = restinio::server_settings_t<traits_t>{}
                      .address(cfg.host)
                      .port(static_cast<std::uint16_t>(cfg.port))
                      .request_handler(make_router(core))
                      // Idle keep-alive connections stay open longer than the load
                      // balancer's 60 s idle timeout, so it never reuses one we closed.
                      .read_next_http_message_timelimit(std::chrono::seconds{75})
                      .write_http_response_timelimit(std::chrono::seconds{30})
                      .handle_request_timeout(timeout + std::chrono::seconds{30})
                      .max_pipelined_requests(4 * policy.limits.max_in_flight)
                      .max_parallel_connections(impl_->hard_connection_cap)
                      .acceptor_post_bind_hook(
                          [this](restinio::asio_ns::ip::tcp::acceptor& acceptor) {
                            impl_->listen_fd.store(acceptor.native_handle());
                          })
                      .incoming_http_msg_limits(restinio::incoming_http_msg_limits_t{}
                                                    .max_url_size(64 * 1024)
                                                    .max_field_name_size(2 * 1024)
                                                    .max_field_value_size(32 * 1024)
                                                    .max_field_count(200)
                                                    .max_body_size(2 * max_body_bytes));
  impl_->http = std::make_unique<http_server_t>(restinio::external_io_context(impl_->io),
                                                std::move(settings));
  try {
    impl_->http->open_sync();
  } catch (const std::exception& e) {
    throw std::runtime_error("cannot listen on " + cfg.host + ":" +
                             std::to_string(cfg.port) + ": " + e.what());
  }
  impl_->accepting = true;
  impl_->ticker = std::make_unique<restinio::asio_ns::steady_timer>(impl_->io);
  restinio::asio_ns::post(impl_->io, [this] { impl_->tick(); });
  for (int i = 0; i < cfg.io_threads; ++i)
    impl_->threads.emplace_back([this] { impl_->io.run(); });
}

std::uint16_t server::port() const {
  sockaddr_in6 address{};
  socklen_t size = sizeof address;
  int fd = impl_->listen_fd.load();
  if (fd < 0 || getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size) != 0)
    return 0;
  // sin_port and sin6_port sit at the same offset.
  return ntohs(address.sin6_port);
}

void server::stop_accepting() {
  if (!impl_->http)
    return;
  std::promise<void> closed;
  impl_->accepting = false;
  restinio::asio_ns::post(impl_->io, [&] {
    try {
      impl_->http->close_sync();
    } catch (...) {
    }
    closed.set_value();
  });
  closed.get_future().wait_for(std::chrono::seconds{2});
}

bool server::wait_idle(std::chrono::milliseconds limit) {
  auto until = std::chrono::steady_clock::now() + limit;
  if (!impl_->core.books().wait_idle(limit))
    return false;
  // Answered is not yet written: the I/O threads write what the actors
  // answered, and stopping them first would drop those answers.
  while (guarded_socket::owed_everywhere() > 0) {
    if (std::chrono::steady_clock::now() >= until)
      return false;
    std::this_thread::sleep_for(std::chrono::milliseconds{1});
  }
  return true;
}

bool server::stop(std::chrono::milliseconds limit) {
  if (impl_->threads.empty())
    return true;
  impl_->io.stop();
  for (auto& t : impl_->threads)
    t.join();
  impl_->threads.clear();
  // No request comes in any more; one that came in after the last wait is
  // answered (its response is not written) and logged.
  bool idle = impl_->core.books().wait_idle(limit);
  guarded_socket::release_all();
  return idle;
}

} // namespace um::http
