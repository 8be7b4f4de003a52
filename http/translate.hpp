#pragma once

// Pure request-side rules of the HTTP layer, kept free of RESTinio so they are
// unit-tested without sockets.

#include "model/v1_api.hpp"

#include "model/namespaces.hpp"
#include <string>
#include <string_view>

#include <vector>

namespace um::http {

/// The configured key that `presented` is, if any, compared with every key
/// in time that does not depend on where they differ.
const model::api_key* matching_api_key(std::string_view presented,
                                       const std::vector<model::api_key>& keys);

/// The API key of a request: `Authorization: Bearer <key>`, else `x-api-key`.
std::string_view presented_api_key(std::string_view authorization,
                                   std::string_view x_api_key);

/// Whether a `Content-Type` names JSON (`application/json`, `+json` types), any
/// parameters (`; charset=utf-8`) allowed.
bool is_json_media_type(std::string_view content_type);

/// Whether an `Accept-Encoding` header accepts gzip (and does not refuse it with q=0).
bool accepts_gzip(std::string_view accept_encoding);

/// Bodies up to this size are sent uncompressed.
inline constexpr std::size_t gzip_threshold = 1024;

/// The largest request body accepted; larger ones get 413.
inline constexpr std::size_t max_body_bytes = 1024 * 1024;

/// Decodes a query component as forms encode it: `%XX` escapes, and `+` as a
/// space; a `%` not followed by two hex digits stays as it is.
std::string percent_decode(std::string_view text);

/// Reads a query string (`a=1&b=x:y`) leniently, as browsers and curl send
/// them: any byte may appear unescaped, `&` separates, a repeated name keeps
/// its last value, a name without `=` has an empty value.
model::query_params parse_query_string(std::string_view query);

/// Reads a query string keeping every pair in order (repeated names too), as
/// the metering API's `subject`, `groupBy` and `filterGroupBy[k]` need.
std::vector<std::pair<std::string, std::string>>
parse_query_pairs(std::string_view query);

/// Whether an `Accept` header asks for CSV (`text/csv`) before JSON.
bool wants_csv(std::string_view accept);

/// The longest request target (path and query) served; longer ones get 414.
inline constexpr std::size_t max_target_bytes = 8 * 1024;

/// Whether a request path (query and fragment ignored) matches an
/// express-style route pattern: literal segments, `:name` for any non-empty
/// segment (`/v1/usage/:entityId`).
bool path_matches(std::string_view pattern, std::string_view target);

/// The client address: the first `X-Forwarded-For` entry (set by the load
/// balancer) when present, else the peer address.
std::string client_ip(std::string_view forwarded_for, std::string_view peer);

} // namespace um::http
