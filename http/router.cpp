// RESTinio's express router, built from the route table: each registration
// opens an exchange with its row's terms and runs the row's handler; what no
// row answers is a CORS preflight (OPTIONS) or a 404.

#include "http/restinio_server.hpp"
#include "http/restinio_transport.hpp"

namespace um::http {

namespace {

// Request bodies from this size on are parsed off the I/O threads.
constexpr std::size_t off_io_body_bytes = 16 * 1024;

restinio::http_method_id_t method_id(std::string_view method) {
  if (method == "GET")
    return restinio::http_method_get();
  if (method == "HEAD")
    return restinio::http_method_head();
  if (method == "POST")
    return restinio::http_method_post();
  if (method == "PUT")
    return restinio::http_method_put();
  if (method == "PATCH")
    return restinio::http_method_patch();
  if (method == "DELETE")
    return restinio::http_method_delete();
  throw std::invalid_argument("route with an unknown method: " + std::string{method});
}

} // namespace

std::unique_ptr<router_t> make_router(server_core& core) {
  auto router = std::make_unique<router_t>();
  using params_t = restinio::router::route_params_t;
  for (const auto& r : core.routes().registrations()) {
    const auto* row = r.row;
    bool head = r.method == "HEAD";
    router->add_handler(
        method_id(r.method), restinio::string_view_t{row->path.data(), row->path.size()},
        [&core, row, head](restinio::request_handle_t req, params_t params) {
          auto ex = core.open(
              std::make_unique<restinio_transport>(req, std::move(params)), row);
          if (!ex)
            return restinio::request_accepted();
          if (head || ex->body().size() < off_io_body_bytes) {
            row->handler(ex, core.handlers());
            return restinio::request_accepted();
          }
          // Parsing a large body here would hold up every request behind it
          // on this I/O thread, /health included: a bridge runs the route.
          core.actors().dispatch([row, ex, &core](caf::event_based_actor*) {
            row->handler(ex, core.handlers());
          });
          return restinio::request_accepted();
        });
  }
  router->non_matched_request_handler([&core](restinio::request_handle_t req) {
    bool preflight = req->header().method() == restinio::http_method_options();
    if (auto ex = core.open(std::make_unique<restinio_transport>(req), nullptr)) {
      if (preflight)
        operations::preflight(ex, core.handlers());
      else
        operations::not_found(ex, core.handlers());
    }
    return restinio::request_accepted();
  });
  return router;
}

} // namespace um::http
