#pragma once

// Routes as data. Every fact about a route is written once, in its row:
// method, path, whether it needs an API key, how it writes errors, whether
// its requests are self-tracked, whether a timeout leaves a write's outcome
// unknown, and its handler. Everything else is derived from the rows, never
// from a path's prefix: the router's registrations (with the HEAD twin of
// every GET), the CORS preflight's methods, the 404 of unknown routes and its
// error style, the request gate's admission of a body, the /metrics labels,
// and `usage-metrics --print-routes`, which the docs check reads. The
// service's rows are in routes.cpp.

#include "http/error_style.hpp"
#include "http/request_gate.hpp"
#include "model/errors.hpp"
#include "model/namespaces.hpp"

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace um::http {

class exchange;
struct backend;

/// A route's work: parse the request, ask the actor that owns the answer,
/// render it (handlers.hpp).
using route_handler = void (*)(const std::shared_ptr<exchange>& ex, backend& services);

/// Who may call a route.
enum class access {
  open,    ///< Anyone.
  api_key, ///< A configured key (`Authorization: Bearer` or `x-api-key`), when any is;
           ///< never a portal token, even when no key is configured.
  portal_token, ///< A portal token (`Authorization: Bearer om_portal_…`) and nothing
                ///< else; its handler checks the signature and the store.
};

/// Whether a route's requests are stored as `api-self` usage events. A GET
/// row's HEAD twin is always tracked: the contract exempts only `GET /health`
/// and `GET /ready`.
enum class tracking { tracked, untracked };

/// What a 504 means for a route's client.
enum class on_timeout {
  failed,         ///< Nothing happened that matters: retry.
  write_may_land, ///< The write may still be stored: retry with the same id.
};

/// When a route is served.
enum class availability {
  always,
  with_fault_injection, ///< Only with --fault-injection (failure drills).
};

/// One route.
struct route_spec {
  std::string_view method; ///< `GET`, `POST`, `PUT` or `DELETE`.
  std::string_view path;   ///< RESTinio express pattern: `:name` is a parameter.
  access auth = access::api_key;
  error_style errors = error_style::v1;
  tracking tracked = tracking::tracked;
  on_timeout timeout = on_timeout::failed;
  route_handler handler = nullptr;
  availability served = availability::always;
};

/// Where a request that matches no route takes its error style from: the
/// API mounted at a path prefix (`/api/v1` speaks RFC 7807).
struct api_mount {
  std::string_view prefix;
  error_style errors = error_style::v1;
};

/// One handler the router registers: `method` on the row's path.
struct route_registration {
  std::string_view method;
  const route_spec* row = nullptr;
  std::size_t index = 0; ///< The row's position in the table.
};

/// The routes of a server, and everything derived from them.
class route_table {
public:
  route_table(std::vector<route_spec> rows, std::vector<api_mount> mounts = {});

  /// The rows, in the order they are registered and listed in /metrics.
  const std::vector<route_spec>& rows() const { return rows_; }

  /// The table a server serves: without the drill rows unless `fault_injection`.
  route_table serving(bool fault_injection) const;

  /// The row that answers `method` on `target` (its query ignored), the first
  /// that matches; a HEAD request finds its GET's row.
  const route_spec* find(std::string_view method, std::string_view target) const;

  /// The router's registrations: every row, and after each GET row its HEAD
  /// twin, answered by the same row without a body.
  std::vector<route_registration> registrations() const;

  /// The methods a CORS preflight for `target` allows: the contract's
  /// `GET,POST,OPTIONS` and those of every row on that path, in the order
  /// GET, POST, PUT, PATCH, DELETE, OPTIONS.
  std::string preflight_methods(std::string_view target) const;

  /// How an error to `method` on `target` is written: its row's style; for a
  /// path with rows under other methods only, the first such row's; else the
  /// style of the API mounted at the path's prefix; else v1.
  error_style errors_for(std::string_view method, std::string_view target) const;

  /// Whether `method` on `target` is self-tracked: as its row says (tracked
  /// without a row; HEAD always).
  bool tracks(std::string_view method, std::string_view target) const;

  /// The request gate's decision on a head announcing a body: allowed on a
  /// route (with a valid key where it needs one: else 401) and for a
  /// preflight; refused with 404 for no route.
  std::optional<model::api_error>
  admit_body(const request_head& head, const std::vector<model::api_key>& api_keys) const;

  /// The label /metrics counts a row's requests under: `GET /v1/usage/:entityId`.
  static std::string metric_label(const route_spec& row);

  /// The table as JSON, for `usage-metrics --print-routes`: `{"routes":[{
  /// "method", "path", "auth" ("none"|"api-key"|"portal-token"), "errors"
  /// ("v1"|"problem"), "tracked", "writeOutcomeUnknownOnTimeout", "head" (a HEAD twin),
  /// "served" ("always"|"with --fault-injection")}], "mounts":[{"prefix",
  /// "errors"}]}`.
  std::string listing() const;

private:
  std::vector<route_spec> rows_;
  std::vector<api_mount> mounts_;
};

/// The namespace a request may use on a route with `auth`, presenting these
/// headers, or none when it is refused: open routes always (`default`);
/// API-key routes with a configured key (its namespace), or while none is
/// configured (`default`), but never with a portal token (it opens the
/// portal routes and nothing else); portal routes with a credential that is
/// a portal token (`default` here: its signature and namespace are checked
/// by the handler, which has the secret and the store).
std::optional<std::string>
admitted_namespace(access auth, std::string_view authorization,
                   std::string_view x_api_key,
                   const std::vector<model::api_key>& api_keys);

/// Whether `admitted_namespace` admits the request.
bool key_accepted(access auth, std::string_view authorization, std::string_view x_api_key,
                  const std::vector<model::api_key>& api_keys);

/// The message of a request no route answers: `Route GET /x not found`.
std::string route_not_found(std::string_view method, std::string_view path);

/// What a request without a valid key on a route that needs one is told.
inline constexpr const char* unauthorized_message =
    "A valid API key is required: send Authorization: Bearer <key>";

/// What a request without a valid portal token on a portal route is told.
inline constexpr const char* portal_unauthorized_message =
    "A valid portal token is required: send Authorization: Bearer <portal token>";

/// What a refused request on a route with `auth` is told.
inline const char* unauthorized_message_for(access auth) {
  return auth == access::portal_token ? portal_unauthorized_message
                                      : unauthorized_message;
}

} // namespace um::http
