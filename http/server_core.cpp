#include "http/server_core.hpp"

#include "model/trace_id.hpp"

namespace um::http {

namespace {

// How long after its timeout a request that nothing answered gets its 504.
constexpr auto deadline_margin = std::chrono::milliseconds{500};

} // namespace

server_core::server_core(caf::actor_system& system, context_ptr ctx,
                         const route_table& routes)
    : ctx_(std::move(ctx)), routes_(routes.serving(ctx_->config.fault_injection)),
      deadline_after_(std::chrono::milliseconds{ctx_->config.request_timeout_ms} +
                      deadline_margin),
      books_(ctx_),
      actors_(system, std::chrono::milliseconds{ctx_->config.request_timeout_ms}),
      handlers_{ctx_, actors_, books_, routes_} {
  for (const auto& row : routes_.rows())
    row_slots_.push_back(books_.metrics().add_route(route_table::metric_label(row)));
  unmatched_slot_ = books_.metrics().add_route("unmatched");
  preflight_slot_ = books_.metrics().add_route("OPTIONS *");
}

exchange_ptr server_core::open(std::unique_ptr<transport> io, const route_spec* row) {
  books_.opened();
  exchange_terms terms;
  terms.trace_id = model::resolve_trace_id(io->header("x-trace-id").value_or(""),
                                           io->header("traceparent").value_or(""),
                                           io->header("x-amzn-trace-id").value_or(""));
  terms.cors_origin = ctx_->config.cors_origin;
  bool needs_key = false;
  if (row) {
    terms.errors = row->errors;
    // The HEAD twin of a GET row is self-tracked whatever the row says.
    terms.tracked = io->method() == "HEAD" || row->tracked == tracking::tracked;
    terms.write = row->timeout == on_timeout::write_may_land;
    terms.metric_slot =
        row_slots_.at(static_cast<std::size_t>(row - routes_.rows().data()));
    needs_key = row->auth != access::open;
  } else {
    // No route, key or not: 404 for everyone, as the contract says.
    terms.errors = routes_.errors_for(io->method(), io->path());
    terms.tracked = routes_.tracks(io->method(), io->path());
    terms.metric_slot = io->method() == "OPTIONS" ? preflight_slot_ : unmatched_slot_;
  }
  std::string authorization, x_api_key;
  // Read even without configured keys: a portal token is refused on every
  // route but the portal's.
  if (needs_key) {
    authorization = std::string{io->header("authorization").value_or("")};
    x_api_key = std::string{io->header("x-api-key").value_or("")};
  }
  std::optional<std::string> ns{terms.ns};
  if (needs_key)
    ns = admitted_namespace(row->auth, authorization, x_api_key, ctx_->config.api_keys);
  if (ns)
    terms.ns = std::move(*ns);
  auto ex = std::make_shared<exchange>(std::move(io), std::move(terms), &books_);
  deadlines_.watch(exchange::clock::now() + deadline_after_, ex);
  if (!ns) {
    ex->fail({model::error_code::unauthorized, unauthorized_message_for(row->auth)});
    return nullptr;
  }
  return ex;
}

std::optional<model::api_error> server_core::admit_body(const request_head& head) const {
  return routes_.admit_body(head, ctx_->config.api_keys);
}

error_style server_core::refusal_style(std::string_view method,
                                       std::string_view path) const {
  return routes_.errors_for(method, path);
}

void server_core::rejected(const rejected_request& r) {
  bool parsed = r.line.method != "-";
  bool tracked = parsed && routes_.tracks(r.line.method, r.line.path);
  // Counted under the route its line names, as the same refusal after
  // routing would be (a 401 is a 401 of its route, body or not); a line that
  // names no route counts as `unmatched`.
  const route_spec* row = parsed ? routes_.find(r.line.method, r.line.path) : nullptr;
  auto slot = row ? row_slots_.at(static_cast<std::size_t>(row - routes_.rows().data()))
                  : unmatched_slot_;
  books_.rejected(r, tracked, slot);
}

} // namespace um::http
