#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace um::model {

/// Every failure a client can see. `http_status` and `code_name` are the one
/// table that maps them to the wire.
// Starts at 1: CAF reads an error code of 0 as "no error".
enum class error_code {
  validation = 1,             ///< 400 VALIDATION_ERROR: a field or parameter is invalid.
  unauthorized,               ///< 401 UNAUTHORIZED: missing or wrong API key.
  not_found,                  ///< 404 NOT_FOUND: no such route or resource.
  conflict,                   ///< 409 CONFLICT: the resource exists already.
  payload_too_large,          ///< 413 PAYLOAD_TOO_LARGE: body over the limit.
  uri_too_long,               ///< 414 URI_TOO_LONG: request target over the limit.
  unsupported_media_type,     ///< 415 UNSUPPORTED_MEDIA_TYPE: body of the wrong type.
  rate_limited,               ///< 429 RATE_LIMITED.
  internal,                   ///< 500 INTERNAL_ERROR: anything unexpected.
  unavailable,                ///< 503 SERVICE_UNAVAILABLE: a part is down or saturated.
  timeout,                    ///< 504 TIMEOUT: the answer took longer than allowed.
  header_fields_too_large,    ///< 431 HEADER_FIELDS_TOO_LARGE: headers over the limits.
  http_version_not_supported, ///< 505 HTTP_VERSION_NOT_SUPPORTED: not HTTP/1.0 or 1.1.
  forbidden,                  ///< 403 FORBIDDEN: the credential may not do this.
};

/// A failure with the message the client reads.
struct api_error {
  error_code code = error_code::internal;
  std::string message;
  /// What actually went wrong (`database is locked`, `ingest stopped`), for
  /// the log line of a 5xx only: never sent to the client, whose message
  /// stays generic.
  std::string cause = {};
};

/// The HTTP status of `code`.
int http_status(error_code code);

/// The wire name of `code` (`VALIDATION_ERROR`, ...).
std::string_view code_name(error_code code);

/// The RFC 7807 title for `code` (`Bad Request`, ...): the reason phrase of
/// its status.
std::string_view status_title(error_code code);

/// The reason phrase of an HTTP status the service sends (`OK`, `Created`,
/// `Bad Request`, ...), from the same table as the error codes' titles;
/// `Unknown` for any other status.
std::string_view reason_phrase(int status);

/// A value, or the error a client is answered with instead.
template <class T>
struct checked {
  std::optional<T> value;
  api_error error; ///< Meaningful only without a value.

  explicit operator bool() const { return value.has_value(); }
};

} // namespace um::model
