#include "model/errors.hpp"

namespace um::model {

namespace {

struct error_row {
  error_code code;
  int status;
  std::string_view name;
  std::string_view title;
};

constexpr error_row error_table[] = {
    {error_code::validation, 400, "VALIDATION_ERROR", "Bad Request"},
    {error_code::unauthorized, 401, "UNAUTHORIZED", "Unauthorized"},
    {error_code::not_found, 404, "NOT_FOUND", "Not Found"},
    {error_code::conflict, 409, "CONFLICT", "Conflict"},
    {error_code::payload_too_large, 413, "PAYLOAD_TOO_LARGE", "Payload Too Large"},
    {error_code::uri_too_long, 414, "URI_TOO_LONG", "URI Too Long"},
    {error_code::unsupported_media_type, 415, "UNSUPPORTED_MEDIA_TYPE",
     "Unsupported Media Type"},
    {error_code::rate_limited, 429, "RATE_LIMITED", "Too Many Requests"},
    {error_code::internal, 500, "INTERNAL_ERROR", "Internal Server Error"},
    {error_code::unavailable, 503, "SERVICE_UNAVAILABLE", "Service Unavailable"},
    {error_code::timeout, 504, "TIMEOUT", "Gateway Timeout"},
    {error_code::header_fields_too_large, 431, "HEADER_FIELDS_TOO_LARGE",
     "Request Header Fields Too Large"},
    {error_code::http_version_not_supported, 505, "HTTP_VERSION_NOT_SUPPORTED",
     "HTTP Version Not Supported"},
};

const error_row& row_of(error_code code) {
  for (const auto& row : error_table)
    if (row.code == code)
      return row;
  for (const auto& row : error_table)
    if (row.code == error_code::internal)
      return row;
  return error_table[0];
}

} // namespace

int http_status(error_code code) {
  return row_of(code).status;
}

std::string_view code_name(error_code code) {
  return row_of(code).name;
}

std::string_view status_title(error_code code) {
  return row_of(code).title;
}

} // namespace um::model
