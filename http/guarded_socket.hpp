#pragma once

// The TCP socket of RESTinio's traits. It reads from the client itself and
// passes bytes on to RESTinio through a `request_gate` (request_gate.hpp):
// one request at a time, the next only while few answers are owed, and only
// after its head has been checked. What the gate refuses (not HTTP/1.x, a
// head or body over the limits, a body without a valid key, a connection over
// the cap) the socket answers itself with the contract's error body, once
// every earlier answer on the connection has been written, and then closes.
// RESTinio therefore never sees a request it would close on without an
// answer, never holds more pipelined requests than its response table, and
// never buffers a body the service would refuse. Include it only from the
// file that runs the server (it pulls in Asio).

#include "http/malformed.hpp"
#include "http/request_gate.hpp"

#include <restinio/asio_include.hpp>
#include <restinio/tls_fwd.hpp>

#include <array>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

namespace um::http {

/// What every guarded socket shares: where refusals are reported, what their
/// answers carry and in which error style, who may send a body, and the
/// connection cap. Set once by the server, from its route table, before it
/// accepts connections.
struct connection_policy {
  std::string cors_origin = "*";
  std::function<void(const rejected_request&)> report;
  std::function<std::string()> new_trace_id;
  body_admission admission;
  /// The error style of a refused request (v1 when unset).
  std::function<error_style(std::string_view method, std::string_view path)> style_of;
  gate_limits limits;
  /// Connections served at once; one more is answered 503 and closed.
  std::size_t max_connections = 10'000;
  /// Open connections now (those being refused included).
  std::atomic<std::size_t> open_connections{0};
  /// Connections accepted since start.
  std::atomic<std::uint64_t> accepted{0};
};

/// Requests a connection handed to the router, and responses it finished
/// writing: their difference is how many answers the connection owes.
struct response_tally {
  std::atomic<std::uint64_t> dispatched{0};
  std::atomic<std::uint64_t> written{0};
};

class guarded_socket;

namespace detail {

/// The socket whose completion handler runs on this thread, if any: the
/// router runs inside it, so a route can find its connection's tally.
inline guarded_socket*& active_socket() {
  thread_local guarded_socket* socket = nullptr;
  return socket;
}

inline connection_policy*& current_policy() {
  static connection_policy* policy = nullptr;
  return policy;
}

/// The sockets RESTinio serves now, so that the server can free their
/// connections once its I/O threads have stopped (guarded_socket::release_all).
struct live_sockets {
  std::mutex mutex;
  std::unordered_set<guarded_socket*> sockets;
};

inline live_sockets& live() {
  static live_sockets registry;
  return registry;
}

} // namespace detail

/// Installs `policy` for every guarded socket (nullptr to remove).
inline void install_connection_policy(connection_policy* policy) {
  detail::current_policy() = policy;
}

/// `Traits::stream_socket_t`: a TCP socket that frames requests through a
/// gate and answers what the gate refuses.
class guarded_socket {
public:
  using socket_type = restinio::asio_ns::ip::tcp::socket;
  using executor_type = socket_type::executor_type;
  using error_code = restinio::asio_ns::error_code;

  explicit guarded_socket(restinio::asio_ns::io_context& io)
      : socket_(io), tally_(std::make_shared<response_tally>()) {}
  // RESTinio's acceptor moves each accepted socket into its connection and
  // accepts the next one into the moved-from object: leave that one fresh.
  guarded_socket(guarded_socket&& other) noexcept
      : socket_(std::move(other.socket_)),
        tally_(std::exchange(other.tally_, std::make_shared<response_tally>())) {}
  guarded_socket& operator=(guarded_socket&&) = delete;
  guarded_socket(const guarded_socket&) = delete;
  guarded_socket& operator=(const guarded_socket&) = delete;

  ~guarded_socket() {
    if (registered_) {
      std::lock_guard lock{detail::live().mutex};
      detail::live().sockets.erase(this);
    }
    if (counted_)
      if (auto* policy = detail::current_policy())
        policy->open_connections.fetch_sub(1);
  }

  /// Frees the connections still open once every I/O thread has stopped.
  /// RESTinio's pending read handler holds its connection, which owns this
  /// socket, and this socket holds the handler: with no I/O thread left to
  /// complete it, that cycle would keep each connection open at shutdown
  /// alive for ever (a leak LeakSanitizer reports). Dropping the handlers
  /// ends the cycles; the connections (and these sockets) go as the last
  /// handler holding each goes.
  static void release_all() {
    std::vector<pending_read> dropped;
    {
      std::lock_guard lock{detail::live().mutex};
      for (auto* socket : detail::live().sockets)
        if (socket->reader_)
          dropped.push_back(std::exchange(socket->reader_, {}));
    }
    // Outside the lock: a connection freed here deregisters its socket.
    dropped.clear();
  }

  /// Answers every served connection owes: requests handed to the router
  /// whose responses are not written yet.
  static std::size_t owed_everywhere() {
    std::lock_guard lock{detail::live().mutex};
    std::size_t owed = 0;
    for (auto* socket : detail::live().sockets)
      owed += socket->owed();
    return owed;
  }

  socket_type& lowest_layer() { return socket_; }
  const socket_type& lowest_layer() const { return socket_; }
  executor_type get_executor() { return socket_.get_executor(); }
  auto remote_endpoint() const { return socket_.remote_endpoint(); }
  bool is_open() const { return socket_.is_open(); }

  /// The tally of the connection whose handler runs on this thread.
  static std::shared_ptr<response_tally> active_tally() {
    auto* socket = detail::active_socket();
    return socket ? socket->tally_ : nullptr;
  }

  /// Called once when RESTinio starts serving the connection: counts it,
  /// and makes its gate refuse it when the connection cap is reached.
  void start_serving() {
    {
      std::lock_guard lock{detail::live().mutex};
      detail::live().sockets.insert(this);
      registered_ = true;
    }
    auto* policy = detail::current_policy();
    gate_ = policy ? request_gate{policy->limits, policy->admission} : request_gate{};
    if (!policy)
      return;
    counted_ = true;
    policy->accepted.fetch_add(1);
    if (policy->open_connections.fetch_add(1) >= policy->max_connections)
      gate_.refuse_all(
          {model::error_code::unavailable, "Too many open connections, retry later"});
  }

  template <typename... Args>
  void cancel(Args&&... args) {
    abort_parked_read();
    socket_.cancel(std::forward<Args>(args)...);
  }

  template <typename... Args>
  void shutdown(Args&&... args) {
    socket_.shutdown(std::forward<Args>(args)...);
  }

  template <typename... Args>
  void close(Args&&... args) {
    abort_parked_read();
    socket_.close(std::forward<Args>(args)...);
  }

  template <typename Buffers, typename Handler>
  void async_read_some(const Buffers& buffers, Handler&& handler) {
    namespace asio = restinio::asio_ns;
    const auto first = *asio::buffer_sequence_begin(buffers);
    reader_.data = static_cast<char*>(first.data());
    reader_.size = first.size();
    // RESTinio binds its handler to the connection's strand: complete it
    // there, never inline.
    auto executor = asio::get_associated_executor(handler, socket_.get_executor());
    reader_.complete = [this, executor, inner = std::forward<Handler>(handler)](
                           const error_code& ec, std::size_t length) mutable {
      asio::post(executor, [this, inner = std::move(inner), ec, length]() mutable {
        active_scope scope{this};
        inner(ec, length);
      });
    };
    strand_ = executor;
    pump();
  }

  template <typename Buffers, typename Handler>
  auto async_write_some(const Buffers& buffers, Handler&& handler) {
    namespace asio = restinio::asio_ns;
    auto executor = asio::get_associated_executor(handler, socket_.get_executor());
    return socket_.async_write_some(
        buffers, asio::bind_executor(
                     executor, [this, inner = std::forward<Handler>(handler)](
                                   const error_code& ec, std::size_t length) mutable {
                       {
                         active_scope scope{this};
                         inner(ec, length);
                       }
                       // The write may have finished an answer: a request or a refusal
                       // that waited for it may go now. `inner` keeps the connection
                       // alive.
                       if (parked_)
                         pump();
                     }));
  }

private:
  // Marks this socket as the one whose completion handler runs.
  struct active_scope {
    explicit active_scope(guarded_socket* socket) : previous(detail::active_socket()) {
      detail::active_socket() = socket;
    }
    ~active_scope() { detail::active_socket() = previous; }
    active_scope(const active_scope&) = delete;
    active_scope& operator=(const active_scope&) = delete;
    guarded_socket* previous;
  };

  // RESTinio's outstanding read: where it wants the bytes and what to call.
  struct pending_read {
    char* data = nullptr;
    std::size_t size = 0;
    std::function<void(const error_code&, std::size_t)> complete;
    explicit operator bool() const { return static_cast<bool>(complete); }
  };

  std::size_t owed() const {
    return static_cast<std::size_t>(tally_->dispatched.load() - tally_->written.load());
  }

  // Moves the connection on as far as the gate allows for RESTinio's read.
  void pump() {
    parked_ = false;
    if (!reader_ || reading_)
      return;
    auto step = gate_.next(owed());
    switch (step.what) {
    case gate_step::action::deliver: {
      if (step.send_continue)
        write_now("HTTP/1.1 100 Continue\r\n\r\n");
      auto n = std::min(step.bytes, reader_.size);
      std::memcpy(reader_.data, gate_.held().data(), n);
      gate_.delivered(n);
      finish_read({}, n);
      return;
    }
    case gate_step::action::refuse:
      refuse(step);
      linger();
      return;
    case gate_step::action::wait:
      parked_ = true;
      return;
    case gate_step::action::read:
      if (!client_done_) {
        read_from_client();
        return;
      }
      // The client sent all it will (it half-closed): the end of input goes
      // to RESTinio, which closes, only once every answer owed is written.
      if (owed() > 0) {
        parked_ = true;
        return;
      }
      finish_read(restinio::asio_ns::error::eof, 0);
      return;
    }
  }

  void finish_read(const error_code& ec, std::size_t length) {
    auto reader = std::exchange(reader_, {});
    reader.complete(ec, length);
  }

  void abort_parked_read() {
    if (reader_ && !reading_)
      finish_read(restinio::asio_ns::error::operation_aborted, 0);
    parked_ = false;
  }

  void read_from_client() {
    namespace asio = restinio::asio_ns;
    reading_ = true;
    // RESTinio's handler, held in `reader_`, keeps the connection (and this
    // socket) alive until the read completes.
    socket_.async_read_some(
        asio::buffer(rx_),
        asio::bind_executor(strand_, [this](const error_code& ec, std::size_t length) {
          reading_ = false;
          if (!reader_)
            return;
          if (ec == restinio::asio_ns::error::eof) {
            client_done_ = true;
            pump();
            return;
          }
          if (ec) {
            finish_read(ec, 0);
            return;
          }
          gate_.receive({rx_.data(), length});
          pump();
        }));
  }

  // After a refusal: no more answers go out, and what the client still sends
  // (the body it had started) is read and dropped, for a short while, before
  // the connection closes. Closing with unread input would make the kernel
  // reset the connection, and a reset can discard the answer at the client.
  void linger() {
    namespace asio = restinio::asio_ns;
    error_code ignored;
    socket_.shutdown(socket_type::shutdown_send, ignored);
    lingering_ = true;
    lingered_ = 0;
    linger_timer_.emplace(socket_.get_executor());
    linger_timer_->expires_after(std::chrono::seconds{2});
    // The handler holds RESTinio's (and so keeps the connection alive).
    linger_timer_->async_wait(asio::bind_executor(
        strand_, [this, keep = reader_.complete](const error_code& ec) {
          if (!ec && lingering_) {
            error_code cancelled;
            socket_.cancel(cancelled);
          }
        }));
    discard_input();
  }

  void discard_input() {
    namespace asio = restinio::asio_ns;
    reading_ = true;
    socket_.async_read_some(
        asio::buffer(rx_),
        asio::bind_executor(strand_, [this](const error_code& ec, std::size_t length) {
          reading_ = false;
          if (!reader_)
            return;
          lingered_ += length;
          if (!ec && lingered_ < max_lingered_bytes) {
            discard_input();
            return;
          }
          lingering_ = false;
          linger_timer_->cancel();
          finish_read(restinio::asio_ns::error::eof, 0);
        }));
  }

  // Writes the answer to a refused request and reports it.
  void refuse(const gate_step& step) {
    auto* policy = detail::current_policy();
    try {
      rejected_request rejected;
      rejected.error = *step.refusal;
      rejected.trace_id =
          policy && policy->new_trace_id ? policy->new_trace_id() : std::string{};
      rejected.line = step.line;
      error_code ec;
      auto peer = socket_.remote_endpoint(ec);
      if (!ec)
        rejected.ip = peer.address().to_string();
      auto style = policy && policy->style_of
                       ? policy->style_of(rejected.line.method, rejected.line.path)
                       : error_style::v1;
      write_now(raw_error_response(rejected.error, rejected.trace_id,
                                   policy ? policy->cors_origin : "*", style,
                                   rejected.line.path));
      if (policy && policy->report)
        policy->report(rejected);
    } catch (...) {
      // Closing without an answer is all that is left.
    }
  }

  // One best-effort write of a short message while nothing else is being
  // written on this connection (no answer is owed).
  void write_now(const std::string& bytes) {
    namespace asio = restinio::asio_ns;
    error_code ec;
    socket_.non_blocking(true, ec);
    std::size_t written = 0;
    while (!ec && written < bytes.size())
      written += socket_.write_some(
          asio::buffer(bytes.data() + written, bytes.size() - written), ec);
  }

  socket_type socket_;
  std::shared_ptr<response_tally> tally_;
  request_gate gate_;
  pending_read reader_;
  // The connection's strand (RESTinio's handlers run on it); our own
  // completions run there too.
  restinio::asio_ns::any_io_executor strand_;
  std::optional<restinio::asio_ns::steady_timer> linger_timer_;
  static constexpr std::size_t max_lingered_bytes = 16 * 1024 * 1024;
  std::size_t lingered_ = 0;
  bool lingering_ = false;
  bool client_done_ = false;
  std::array<char, 16 * 1024> rx_{};
  bool reading_ = false;
  bool parked_ = false;
  bool counted_ = false;
  bool registered_ = false;
};

// What RESTinio's connection asks of a socket type before its first read,
// found by argument-dependent lookup: a plain TCP socket needs no TLS
// handshake; the guarded one starts counting the connection here.
template <typename Connection, typename StartRead, typename Failed>
void prepare_connection_and_start_read(guarded_socket& socket, Connection&,
                                       StartRead start_read, Failed) {
  socket.start_serving();
  start_read();
}

inline restinio::impl::tls_socket_t*
make_tls_socket_pointer_for_state_listener(guarded_socket&) noexcept {
  return nullptr;
}

} // namespace um::http
