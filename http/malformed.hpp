#pragma once

// Requests that never reach a route because they are not valid HTTP/1.x: the
// rules that decide their answer, and the raw bytes of that answer. The
// request gate (http/request_gate.hpp) applies them; they are pure so they
// are tested without sockets.

#include "model/errors.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace um::http {

/// A header every response carries, whatever produced it.
using header_field = std::pair<std::string_view, std::string_view>;

/// The security headers of every response (helmet's defaults, as the earlier
/// service sent them). CORS headers depend on configuration and are added
/// beside these.
const std::vector<header_field>& security_headers();

/// The answer to the first request line of a connection when it is not
/// `METHOD SP target SP HTTP/1.0|HTTP/1.1`: 505 for another HTTP version, 400
/// for a line without a version (HTTP/0.9 style) or with too few parts.
/// Nothing when the line is acceptable or not complete yet (the HTTP parser
/// then has the last word).
std::optional<model::api_error> check_request_line(std::string_view received);

/// The answer to a request the HTTP parser stopped at `errno_name`: 414 for a
/// long URL, 431 for long or many header fields, 413 for a body over the
/// limit, 400 for everything else.
model::api_error rejection_for_parser_error(std::string_view errno_name);

/// Method and path of a request line as far as they can be read, for the log
/// line of a rejected request: printable ASCII only, bounded, `-` when absent.
struct request_line_summary {
  std::string method = "-";
  std::string path = "-";
};
request_line_summary summarize_request_line(std::string_view received);

/// Whether errors on `path` are RFC 7807 problem details (the metering API
/// under `/api/v1`, as OpenMeter's clients expect) rather than the v1
/// contract's error body.
bool speaks_problem_json(std::string_view path);

/// A complete HTTP/1.1 response closing the connection: `error` in the body
/// shape `path` speaks, the trace id, CORS and security headers.
std::string raw_error_response(const model::api_error& error, const std::string& trace_id,
                               std::string_view cors_origin, std::string_view path = {});

} // namespace um::http
