#pragma once

// One request and its one answer, as every handler sees them. Whoever answers
// first wins and later answers are ignored; an exchange dropped unanswered
// (a job lost with a dead actor, an exception) answers 500 from its
// destructor, and a request nothing answers in time gets 504 from the
// deadline registry: a client is never left without a response.
//
// RESTinio stays behind `transport` (restinio_transport.hpp, included by the
// router only), so handlers and this file compile without it, and tests
// drive exchanges with a recording transport.

#include "http/error_style.hpp"
#include "model/errors.hpp"
#include "model/trace_id.hpp"
#include "model/v1_api.hpp"

#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace um::http {

/// Response headers, in the order they are written.
using header_list = std::vector<std::pair<std::string, std::string>>;

/// What carries one request in and its answer out.
class transport {
public:
  virtual ~transport() = default;

  virtual std::string_view method() const = 0; ///< `GET`, `POST`, ...
  virtual std::string_view path() const = 0;   ///< Without the query.
  virtual std::string_view query() const = 0;  ///< After `?`, still encoded.
  /// A request header's value, when the request has it (any case of name).
  virtual std::optional<std::string_view> header(std::string_view name) const = 0;
  virtual const std::string& body() const = 0;
  /// A path parameter of the route, percent-decoded; nothing when the route
  /// has none of that name or its value does not decode.
  virtual std::optional<std::string> path_param(std::string_view name) const = 0;
  /// The address of the connection's peer.
  virtual std::string peer_address() const = 0;

  /// Writes the one answer: `headers`, then `Content-Type: content_type`
  /// and `body` (no content type: no body, as for 204), gzip-compressed
  /// when large and the client accepts it. A HEAD request gets the headers
  /// a GET would get, the body's length announced, and no body.
  virtual void write(int status, std::string body, std::string_view content_type,
                     header_list headers) = 0;
};

/// How an exchange answers, from its route's row (route_table.hpp).
struct exchange_terms {
  std::string trace_id;
  error_style errors = error_style::v1;
  bool tracked = true; ///< Self-tracked once answered.
  bool write = false;  ///< A 504 tells the client the write may still be stored.
  std::size_t metric_slot = 0;
  std::string cors_origin = "*";
  /// The namespace of the request's key (model/namespaces.hpp).
  std::string ns{model::default_namespace};
};

class exchange;

/// Where an exchange reports what it answered (the server's request books).
class exchange_observer {
public:
  virtual ~exchange_observer() = default;

  /// An error answer of status 500 or more is about to be sent.
  virtual void server_error(const exchange& ex, int status,
                            const model::api_error& error) = 0;

  /// The answer has been handed to the transport.
  virtual void answered(const exchange& ex, int status) = 0;
};

/// One request and its one reply.
class exchange {
public:
  using clock = std::chrono::steady_clock;

  exchange(std::unique_ptr<transport> io, exchange_terms terms,
           exchange_observer* observer);
  ~exchange();

  exchange(const exchange&) = delete;
  exchange& operator=(const exchange&) = delete;

  // -- the request -----------------------------------------------------

  std::string_view method() const { return io_->method(); }
  std::string_view path() const { return io_->path(); }
  const std::string& body() const { return io_->body(); }
  std::optional<std::string_view> header(std::string_view name) const {
    return io_->header(name);
  }
  /// A header's value, empty when absent.
  std::string_view header_or_empty(std::string_view name) const {
    return io_->header(name).value_or(std::string_view{});
  }
  std::string peer_address() const { return io_->peer_address(); }
  const std::string& trace_id() const { return terms_.trace_id; }
  /// The request's trace id and namespace, as the messages it causes carry them.
  model::trace_ref trace() const { return {terms_.trace_id, terms_.ns}; }
  const exchange_terms& terms() const { return terms_; }
  clock::time_point started() const { return started_; }

  /// The query by name, the last value of a repeated name winning.
  model::query_params query() const;

  /// The query's pairs in order, repeated names kept.
  std::vector<std::pair<std::string, std::string>> query_pairs() const;

  /// A path parameter, or nothing once answered 400 `Malformed path`.
  std::optional<std::string> path_param(std::string_view name);

  /// The JSON body of a request, or nothing once answered: 413 over the
  /// size limit, 415 for a declared type that is not JSON, 400 when it does
  /// not parse within the JSON limits.
  std::optional<nlohmann::ordered_json> json_body();

  // -- the answer ------------------------------------------------------

  /// Sends a JSON body with `status`.
  void respond(int status, const nlohmann::ordered_json& body, header_list headers = {});

  /// Sends `error` in the route's error style; 503 adds `Retry-After: 1`,
  /// and a write's 504 says that its outcome is unknown.
  void fail(const model::api_error& error);

  /// Sends a body that is not JSON, or is JSON already serialized.
  void text(int status, std::string body, std::string_view content_type,
            header_list headers = {});

  /// Sends a 204 with `headers` and no body.
  void no_content(header_list headers);

  /// Whether an answer has been sent.
  bool answered() const { return answered_.load(); }

private:
  void send(int status, std::string body, std::string_view content_type,
            header_list headers);

  std::unique_ptr<transport> io_;
  exchange_terms terms_;
  exchange_observer* observer_;
  clock::time_point started_;
  std::atomic<bool> answered_{false};
};

using exchange_ptr = std::shared_ptr<exchange>;

/// Every request's deadline, in arrival order (every request has the same
/// timeout, so that is deadline order too): the backstop that answers 504
/// when nothing else has, even if a bridge or an actor never does.
class deadline_registry {
public:
  /// Watches `ex` until `deadline`.
  void watch(exchange::clock::time_point deadline, const exchange_ptr& ex);

  /// Answers 504 to every watched exchange past its deadline and unanswered.
  void expire(exchange::clock::time_point now);

private:
  std::mutex mutex_;
  std::deque<std::pair<exchange::clock::time_point, std::weak_ptr<exchange>>> queue_;
};

} // namespace um::http
