#include "model/errors.hpp"

namespace um::model {

namespace {

// Every status the service sends, with its reason phrase: the status lines
// and the RFC 7807 titles both read it.
struct status_row {
  int status;
  std::string_view phrase;
};

constexpr status_row status_table[] = {
    {200, "OK"},
    {201, "Created"},
    {202, "Accepted"},
    {204, "No Content"},
    {304, "Not Modified"},
    {400, "Bad Request"},
    {401, "Unauthorized"},
    {403, "Forbidden"},
    {404, "Not Found"},
    {409, "Conflict"},
    {413, "Payload Too Large"},
    {414, "URI Too Long"},
    {415, "Unsupported Media Type"},
    {429, "Too Many Requests"},
    {431, "Request Header Fields Too Large"},
    {500, "Internal Server Error"},
    {503, "Service Unavailable"},
    {504, "Gateway Timeout"},
    {505, "HTTP Version Not Supported"},
};

struct error_row {
  error_code code;
  int status;
  std::string_view name;
};

constexpr error_row error_table[] = {
    {error_code::validation, 400, "VALIDATION_ERROR"},
    {error_code::unauthorized, 401, "UNAUTHORIZED"},
    {error_code::not_found, 404, "NOT_FOUND"},
    {error_code::conflict, 409, "CONFLICT"},
    {error_code::payload_too_large, 413, "PAYLOAD_TOO_LARGE"},
    {error_code::uri_too_long, 414, "URI_TOO_LONG"},
    {error_code::unsupported_media_type, 415, "UNSUPPORTED_MEDIA_TYPE"},
    {error_code::rate_limited, 429, "RATE_LIMITED"},
    {error_code::internal, 500, "INTERNAL_ERROR"},
    {error_code::unavailable, 503, "SERVICE_UNAVAILABLE"},
    {error_code::timeout, 504, "TIMEOUT"},
    {error_code::header_fields_too_large, 431, "HEADER_FIELDS_TOO_LARGE"},
    {error_code::http_version_not_supported, 505, "HTTP_VERSION_NOT_SUPPORTED"},
    {error_code::forbidden, 403, "FORBIDDEN"},
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
  return reason_phrase(row_of(code).status);
}

std::string_view reason_phrase(int status) {
  for (const auto& row : status_table)
    if (row.status == status)
      return row.phrase;
  return "Unknown";
}

} // namespace um::model
