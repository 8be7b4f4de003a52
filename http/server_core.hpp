#pragma once

// The server's parts that do not touch RESTinio, shared by the router (which
// opens an exchange for each request) and the server's start and stop
// (which give the request gate its policy): the routes as served, the books,
// the deadlines, the bridges and what handlers reach.

#include "actors/context.hpp"
#include "http/bridge.hpp"
#include "http/exchange.hpp"
#include "http/handlers.hpp"
#include "http/request_books.hpp"
#include "http/request_gate.hpp"
#include "http/route_table.hpp"

#include <caf/fwd.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <vector>

namespace um::http {

/// One server's RESTinio-free core.
class server_core {
public:
  /// Serves the rows of `routes` this configuration serves.
  server_core(caf::actor_system& system, context_ptr ctx, const route_table& routes);

  const context_ptr& context() const { return ctx_; }
  const route_table& routes() const { return routes_; }
  request_books& books() { return books_; }
  bridge& actors() { return actors_; }
  backend& handlers() { return handlers_; }

  /// Where every request starts, on an I/O thread: counts it in flight,
  /// resolves its trace id, takes its terms from `row` (none: a preflight
  /// or no route), watches its deadline, and checks its API key where the
  /// row needs one. Nothing when it has been answered already (401).
  exchange_ptr open(std::unique_ptr<transport> io, const route_spec* row);

  /// The metrics slot of the row at `index`.
  std::size_t metric_slot(std::size_t index) const { return row_slots_.at(index); }

  /// Answers 504 to every request past its deadline.
  void expire_deadlines() { deadlines_.expire(exchange::clock::now()); }

  // -- the request gate's policy, from the routes --------------------------

  /// Whether a request may send its body.
  std::optional<model::api_error> admit_body(const request_head& head) const;

  /// The error style of a request the gate refuses.
  error_style refusal_style(std::string_view method, std::string_view path) const;

  /// Books a request the gate refused: under the route its request line
  /// names, else as `unmatched`.
  void rejected(const rejected_request& r);

private:
  context_ptr ctx_;
  route_table routes_;
  std::chrono::steady_clock::duration deadline_after_;
  request_books books_;
  std::vector<std::size_t> row_slots_;
  std::size_t unmatched_slot_ = 0;
  std::size_t preflight_slot_ = 0;
  deadline_registry deadlines_;
  // After the books: a bridge's pending exchanges answer through them when
  // the bridges stop.
  bridge actors_;
  backend handlers_;
};

} // namespace um::http
