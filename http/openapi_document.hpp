#pragma once

#include <string_view>

namespace um::http {

/// The OpenAPI 3.1 description of every route (docs/openapi.yaml, compiled in).
std::string_view openapi_document();

} // namespace um::http
