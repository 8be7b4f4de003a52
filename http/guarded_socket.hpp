#pragma once

// A TCP socket for RESTinio's traits that answers what RESTinio 0.6 would
// only close. When its HTTP parser gives up on a request (garbage, a bad
// header, a URL or header over the limits) RESTinio logs the parser error and
// closes the connection without a response, so a client sees an empty reply.
// This socket notices that close (it happens inside the read that delivered
// the bad bytes, right after the parser error is logged) and first writes a
// complete 400/413/414/431 response in the contract's error shape. It also
// checks the first request line of a connection for the HTTP version, which
// RESTinio 0.6 does not expose: HTTP/0.9-style lines get 400, other versions
// 505. Include it only from server.cpp (it pulls in Asio).

#include "http/malformed.hpp"

#include <restinio/asio_include.hpp>
#include <restinio/tls_fwd.hpp>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace um::http {

/// A request rejected before routing, for the request log.
struct rejected_request {
  model::api_error error;
  std::string trace_id;
  request_line_summary line;
  std::string ip;
};

/// Where rejected requests are reported, and the CORS origin their answers
/// carry. Set once by the server before it accepts connections.
struct rejection_reporting {
  std::string cors_origin = "*";
  std::function<void(const rejected_request&)> report;
  std::function<std::string()> new_trace_id;
};

/// Requests a connection handed to the router, and responses it finished
/// writing. A rejection is answered only when the two are equal: with a
/// response still owed, an error written now would be read as that answer.
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

inline rejection_reporting*& current_reporting() {
  static rejection_reporting* reporting = nullptr;
  return reporting;
}

/// The last http_parser error RESTinio logged on this thread. RESTinio logs
/// it and closes the connection in the same call, on the same thread.
inline std::string& last_parser_error() {
  thread_local std::string name;
  return name;
}

} // namespace detail

/// Installs `reporting` for every guarded socket (nullptr to remove).
inline void install_rejection_reporting(rejection_reporting* reporting) {
  detail::current_reporting() = reporting;
}

/// RESTinio's logger trait: silent, except that it remembers parser errors
/// for the socket that is about to be closed.
struct parser_error_logger {
  template <typename Builder>
  void trace(Builder&&) const noexcept {}
  template <typename Builder>
  void info(Builder&&) const noexcept {}
  template <typename Builder>
  void warn(Builder&&) const noexcept {}
  template <typename Builder>
  void error(Builder&& builder) const noexcept {
    try {
      std::string message = builder();
      if (auto name = parser_error_name(message); !name.empty())
        detail::last_parser_error().assign(name);
    } catch (...) {
    }
  }
};

/// `Traits::stream_socket_t`: a TCP socket that answers unparseable requests.
class guarded_socket {
public:
  using socket_type = restinio::asio_ns::ip::tcp::socket;
  using executor_type = socket_type::executor_type;

  explicit guarded_socket(restinio::asio_ns::io_context& io)
      : socket_(io), tally_(std::make_shared<response_tally>()) {}
  // RESTinio's acceptor moves each accepted socket into its connection and
  // accepts the next one into the moved-from object: leave that one fresh.
  guarded_socket(guarded_socket&& other) noexcept
      : socket_(std::move(other.socket_)),
        tally_(std::exchange(other.tally_, std::make_shared<response_tally>())),
        rejection_(std::exchange(other.rejection_, std::nullopt)),
        request_line_(std::exchange(other.request_line_, {})),
        first_read_(std::exchange(other.first_read_, true)),
        answered_(std::exchange(other.answered_, false)) {}
  guarded_socket& operator=(guarded_socket&&) = delete;
  guarded_socket(const guarded_socket&) = delete;
  guarded_socket& operator=(const guarded_socket&) = delete;

  socket_type& lowest_layer() { return socket_; }
  const socket_type& lowest_layer() const { return socket_; }
  executor_type get_executor() { return socket_.get_executor(); }
  auto remote_endpoint() const { return socket_.remote_endpoint(); }
  bool is_open() const { return socket_.is_open(); }

  template <typename... Args>
  void cancel(Args&&... args) {
    socket_.cancel(std::forward<Args>(args)...);
  }

  template <typename Buffers, typename Handler>
  auto async_write_some(const Buffers& buffers, Handler&& handler) {
    namespace asio = restinio::asio_ns;
    auto executor = asio::get_associated_executor(handler, socket_.get_executor());
    return socket_.async_write_some(
        buffers,
        asio::bind_executor(executor,
                            [this, inner = std::forward<Handler>(handler)](
                                const asio::error_code& ec, std::size_t length) mutable {
                              // After a write RESTinio may parse a pipelined request it
                              // already holds, and route it from here.
                              active_scope scope{this};
                              inner(ec, length);
                            }));
  }

  /// The tally of the connection whose handler runs on this thread.
  static std::shared_ptr<response_tally> active_tally() {
    auto* socket = detail::active_socket();
    return socket ? socket->tally_ : nullptr;
  }

  template <typename Buffers, typename Handler>
  auto async_read_some(const Buffers& buffers, Handler&& handler) {
    namespace asio = restinio::asio_ns;
    const auto first = *asio::buffer_sequence_begin(buffers);
    const char* data = static_cast<const char*>(first.data());
    // RESTinio binds its handler to the connection's strand: keep that.
    auto executor = asio::get_associated_executor(handler, socket_.get_executor());
    return socket_.async_read_some(
        buffers,
        asio::bind_executor(executor,
                            [this, data, inner = std::forward<Handler>(handler)](
                                const asio::error_code& ec, std::size_t length) mutable {
                              after_read(ec, data, length, inner);
                            }));
  }

  template <typename... Args>
  void shutdown(Args&&... args) {
    answer_rejection();
    socket_.shutdown(std::forward<Args>(args)...);
  }

  template <typename... Args>
  void close(Args&&... args) {
    answer_rejection();
    socket_.close(std::forward<Args>(args)...);
  }

private:
  // Marks this socket as the one whose completion handler runs.
  struct active_scope {
    explicit active_scope(guarded_socket* socket) : previous(detail::active_socket()) {
      detail::active_socket() = socket;
      detail::last_parser_error().clear();
    }
    ~active_scope() { detail::active_socket() = previous; }
    active_scope(const active_scope&) = delete;
    active_scope& operator=(const active_scope&) = delete;
    guarded_socket* previous;
  };

  template <typename Handler>
  void after_read(const restinio::asio_ns::error_code& ec, const char* data,
                  std::size_t length, Handler& inner) {
    if (ec || length == 0) {
      inner(ec, length);
      return;
    }
    received_ = std::string_view{data, length};
    remember_request_line(received_);
    if (first_read_) {
      first_read_ = false;
      if (auto error = check_request_line(received_)) {
        // Fail the read: RESTinio closes, and the close answers.
        rejection_ = std::move(error);
        inner(restinio::asio_ns::error::invalid_argument, 0);
        return;
      }
    }
    active_scope scope{this};
    in_read_ = true;
    inner(ec, length);
    // `this` outlives `inner`: the connection that owns it holds itself
    // alive through the handler.
    in_read_ = false;
    received_ = {};
  }

  // Keeps the start of the latest read that begins like a request line
  // (`GET /...`), for the log line of a rejection found in a later read.
  // The string keeps its capacity, so this does not allocate per request.
  void remember_request_line(std::string_view bytes) {
    std::size_t i = 0;
    while (i < bytes.size() && i < 16 && bytes[i] >= 'A' && bytes[i] <= 'Z')
      ++i;
    if (i == 0 || i >= bytes.size() || bytes[i] != ' ')
      return;
    auto end = bytes.find_first_of("\r\n");
    request_line_.assign(bytes.substr(0, std::min<std::size_t>(end, 512)));
  }

  // Writes the answer to a rejected request, once, if this close is one.
  void answer_rejection() noexcept {
    if (answered_)
      return;
    // Inside a read RESTinio closes only on bad input; inside a write, only
    // a parser error on a pipelined request is one (other closes there end
    // a `Connection: close` exchange).
    const auto& parser_error = detail::last_parser_error();
    if (!rejection_ && detail::active_socket() == this &&
        (in_read_ || !parser_error.empty()))
      rejection_ = rejection_for_parser_error(parser_error);
    if (!rejection_ || !socket_.is_open())
      return;
    if (tally_->dispatched.load() != tally_->written.load())
      return;
    answered_ = true;
    auto* reporting = detail::current_reporting();
    try {
      rejected_request rejected;
      rejected.error = *rejection_;
      rejected.trace_id = reporting && reporting->new_trace_id ? reporting->new_trace_id()
                                                               : std::string{};
      rejected.line =
          summarize_request_line(request_line_.empty() ? received_ : request_line_);
      restinio::asio_ns::error_code ec;
      auto peer = socket_.remote_endpoint(ec);
      if (!ec)
        rejected.ip = peer.address().to_string();
      auto response = raw_error_response(rejected.error, rejected.trace_id,
                                         reporting ? reporting->cors_origin : "*");
      write_without_blocking(response);
      if (reporting && reporting->report)
        reporting->report(rejected);
    } catch (...) {
      // Closing without an answer is all that is left.
    }
  }

  // One best-effort write of a short response, then a bounded drain of what
  // the client sent after it, so that the close does not turn into a reset
  // that discards the response on the client's side.
  void write_without_blocking(const std::string& response) {
    namespace asio = restinio::asio_ns;
    asio::error_code ec;
    socket_.non_blocking(true, ec);
    std::size_t written = 0;
    while (!ec && written < response.size())
      written += socket_.write_some(
          asio::buffer(response.data() + written, response.size() - written), ec);
    char sink[4096];
    for (int i = 0; i < 16; ++i) {
      socket_.read_some(asio::buffer(sink), ec);
      if (ec)
        break;
    }
  }

  socket_type socket_;
  std::shared_ptr<response_tally> tally_;
  std::optional<model::api_error> rejection_;
  std::string_view received_;
  std::string request_line_;
  bool first_read_ = true;
  bool in_read_ = false;
  bool answered_ = false;
};

// What RESTinio's connection asks of a socket type before its first read,
// found by argument-dependent lookup: a plain TCP socket needs no preparation
// and has no TLS state to show to a connection-state listener.
template <typename Connection, typename StartRead, typename Failed>
void prepare_connection_and_start_read(guarded_socket&, Connection&, StartRead start_read,
                                       Failed) {
  start_read();
}

inline restinio::impl::tls_socket_t*
make_tls_socket_pointer_for_state_listener(guarded_socket&) noexcept {
  return nullptr;
}

} // namespace um::http
