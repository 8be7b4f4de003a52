#pragma once

// What a connection lets through to RESTinio, and when. RESTinio 0.6 reads a
// request, routes it, and only then looks at the next; it closes a connection
// without an answer when its parser gives up, buffers a whole body before any
// handler can look at the headers, and mishandles more pipelined requests
// than its response table holds. The gate sits between the socket and
// RESTinio and frames the byte stream itself (with the same http_parser):
// - it hands RESTinio one request at a time, and the next one only while
//   fewer than `max_in_flight` answers are owed, so requests are answered in
//   order however many a client pipelines;
// - it decides on each request's head before any of its body is passed on:
//   a head that is not valid HTTP/1.x, too large, or that announces a body
//   over the limit, without a valid key or for no route is refused by the
//   socket itself,
//   after every earlier answer has been written, with the contract's error;
// - it holds at most `max_held` bytes a client sent ahead, so a flood of
//   pipelined bytes waits in the kernel, not in memory.
// Pure (no sockets, no Asio): the socket layer (guarded_socket.hpp) drives it
// and tests drive it with strings.

#include "http/malformed.hpp"
#include "model/errors.hpp"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace um::http {

/// Bounds a gate applies to each request.
struct gate_limits {
  std::size_t max_target = 8 * 1024;       ///< Request target: 414 past it.
  std::size_t max_field_name = 1024;       ///< Header name: 431 past it.
  std::size_t max_field_value = 16 * 1024; ///< Header value: 431 past it.
  std::size_t max_fields = 100;            ///< Header count: 431 past it.
  std::size_t max_body = 1024 * 1024;      ///< Body: 413 past it.
  std::size_t max_in_flight = 16;          ///< Requests passed on, not yet answered.
  std::size_t max_held = 64 * 1024;        ///< Bytes read ahead of RESTinio.
};

/// The head of a request as the gate saw it.
struct request_head {
  std::string method;
  std::string target;
  std::string authorization; ///< `Authorization` header, as sent.
  std::string api_key;       ///< `X-API-Key` header, as sent.
  bool has_body = false;     ///< A Content-Length over 0, or chunked.
};

/// Decides whether a request may send its body to a route: an error refuses
/// it before its body is read (401 without a valid key, 404 with no route).
using body_admission =
    std::function<std::optional<model::api_error>(const request_head&)>;

/// What the socket should do next.
struct gate_step {
  enum class action {
    read,    ///< Read more bytes from the client.
    deliver, ///< Pass `bytes` from the front of `held()` to RESTinio.
    wait,    ///< Wait until an owed answer has been written, then ask again.
    refuse,  ///< Write `refusal` and close: the request it names is not served.
  };
  action what = action::read;
  std::size_t bytes = 0;
  /// Deliver: write `HTTP/1.1 100 Continue` first (the client waits for it).
  bool send_continue = false;
  std::optional<model::api_error> refusal;
  request_line_summary line; ///< Refuse: the request, for the log line.
};

/// Frames one connection's requests. Not thread-safe: one per connection,
/// used on the connection's strand.
class request_gate {
public:
  explicit request_gate(gate_limits limits = {}, body_admission admission = {});
  ~request_gate();
  request_gate(request_gate&&) noexcept;
  request_gate& operator=(request_gate&&) noexcept;

  /// Refuses every request of this connection with `error` (e.g. over the
  /// connection cap), once its head has arrived.
  void refuse_all(model::api_error error);

  /// Appends bytes read from the client.
  void receive(std::string_view bytes);

  /// Bytes received and not delivered yet.
  std::string_view held() const;

  /// Whether there is room to read more: false once `max_held` bytes wait.
  bool has_room() const;

  /// What may happen now, with `owed` answers passed on and not yet written.
  gate_step next(std::size_t owed);

  /// The socket passed the first `n` bytes of `held()` to RESTinio.
  void delivered(std::size_t n);

private:
  struct state;
  std::unique_ptr<state> state_;
};

} // namespace um::http
