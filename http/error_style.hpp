#pragma once

// The two shapes an error answer takes. Which one a request gets is a fact of
// its route (route_table.hpp); every error answer, whether an exchange sends
// it or the request gate writes it raw, is rendered here.

#include "model/errors.hpp"

#include <string>
#include <string_view>

namespace um::http {

/// How a route writes its errors.
enum class error_style {
  v1,      ///< The v1 contract's `{"error":{"code","message","traceId"}}`.
  problem, ///< RFC 7807 problem details, as OpenMeter's clients expect.
};

/// The body of an error answer and its content type.
struct error_document {
  std::string_view content_type;
  std::string body;
};

/// `error` in `style`: a problem's `instance` is `path`, the v1 body carries
/// `trace_id`.
error_document render_error(error_style style, const model::api_error& error,
                            const std::string& trace_id, std::string_view path);

} // namespace um::http
