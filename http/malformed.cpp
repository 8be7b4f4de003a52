#include "http/malformed.hpp"

#include "http/render.hpp"
#include "model/cloud_events.hpp"

namespace um::http {

namespace {

// The first line of `received`, without its line ending; nothing when no
// line ending has arrived yet.
std::optional<std::string_view> first_line(std::string_view received) {
  auto end = received.find('\n');
  if (end == std::string_view::npos)
    return std::nullopt;
  auto line = received.substr(0, end);
  if (!line.empty() && line.back() == '\r')
    line.remove_suffix(1);
  return line;
}

std::vector<std::string_view> split_spaces(std::string_view line) {
  std::vector<std::string_view> parts;
  while (!line.empty()) {
    auto space = line.find(' ');
    auto part = line.substr(0, space);
    if (!part.empty())
      parts.push_back(part);
    if (space == std::string_view::npos)
      break;
    line.remove_prefix(space + 1);
  }
  return parts;
}

std::string printable(std::string_view text, std::size_t limit) {
  std::string out;
  for (char c : text.substr(0, limit))
    out += (c > 0x20 && c < 0x7f) ? c : '?';
  return out.empty() ? "-" : out;
}

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

} // namespace

const std::vector<header_field>& security_headers() {
  static const std::vector<header_field> headers{
      {"Content-Security-Policy", "default-src 'self'"},
      {"Cross-Origin-Opener-Policy", "same-origin"},
      {"Cross-Origin-Resource-Policy", "same-origin"},
      {"Origin-Agent-Cluster", "?1"},
      {"Referrer-Policy", "no-referrer"},
      {"Strict-Transport-Security", "max-age=15552000; includeSubDomains"},
      {"X-Content-Type-Options", "nosniff"},
      {"X-DNS-Prefetch-Control", "off"},
      {"X-Download-Options", "noopen"},
      {"X-Frame-Options", "SAMEORIGIN"},
      {"X-Permitted-Cross-Domain-Policies", "none"},
      {"X-XSS-Protection", "0"},
  };
  return headers;
}

std::optional<model::api_error> check_request_line(std::string_view received) {
  auto line = first_line(received);
  if (!line)
    return std::nullopt;
  auto parts = split_spaces(*line);
  if (parts.size() < 3)
    return model::api_error{
        model::error_code::validation,
        "Malformed HTTP request line: expected METHOD target HTTP/1.1"};
  const auto version = parts.back();
  if (version == "HTTP/1.1" || version == "HTTP/1.0")
    return std::nullopt;
  if (starts_with(version, "HTTP/"))
    return model::api_error{model::error_code::http_version_not_supported,
                            "Only HTTP/1.0 and HTTP/1.1 are supported"};
  return model::api_error{model::error_code::validation,
                          "Malformed HTTP request line: expected METHOD target HTTP/1.1"};
}

model::api_error rejection_for_parser_error(std::string_view errno_name) {
  if (errno_name == "HPE_CB_url")
    return {model::error_code::uri_too_long, "Request URL is too long"};
  if (errno_name == "HPE_CB_header_field" || errno_name == "HPE_CB_header_value" ||
      errno_name == "HPE_HEADER_OVERFLOW")
    return {model::error_code::header_fields_too_large,
            "Request header fields are too large or too many"};
  if (errno_name == "HPE_CB_headers_complete" || errno_name == "HPE_CB_body")
    return {model::error_code::payload_too_large, "Request body exceeds 1mb limit"};
  return {model::error_code::validation, "Malformed HTTP request"};
}

request_line_summary summarize_request_line(std::string_view received) {
  auto line = received.substr(0, received.find_first_of("\r\n"));
  auto parts = split_spaces(line);
  request_line_summary summary;
  if (!parts.empty())
    summary.method = printable(parts[0], 16);
  if (parts.size() > 1) {
    auto target = parts[1];
    summary.path = printable(target.substr(0, target.find('?')), 256);
  }
  return summary;
}

bool speaks_problem_json(std::string_view path) {
  return path.substr(0, 7) == "/api/v1";
}

std::string raw_error_response(const model::api_error& error, const std::string& trace_id,
                               std::string_view cors_origin, std::string_view path) {
  const auto status = model::http_status(error.code);
  const bool problem = speaks_problem_json(path);
  const auto body =
      problem ? to_wire(model::problem_json(error.code, error.message, std::string{path}))
              : to_wire(error_body(error, trace_id));
  std::string out;
  out.reserve(1024 + body.size());
  out += "HTTP/1.1 ";
  out += std::to_string(status);
  out += ' ';
  out += model::status_title(error.code);
  out += "\r\nConnection: close\r\nContent-Type: ";
  out += problem ? "application/problem+json" : "application/json; charset=utf-8";
  out += "\r\n";
  out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  out += "x-trace-id: " + trace_id + "\r\n";
  if (status == 503)
    out += "Retry-After: 1\r\n";
  out += "Access-Control-Allow-Origin: ";
  out += cors_origin;
  out += "\r\nAccess-Control-Expose-Headers: x-trace-id, Retry-After\r\n";
  for (const auto& [name, value] : security_headers()) {
    out += name;
    out += ": ";
    out += value;
    out += "\r\n";
  }
  out += "\r\n";
  out += body;
  return out;
}

} // namespace um::http
