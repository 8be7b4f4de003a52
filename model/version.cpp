// The one file that knows the release version (see model/config.hpp).
#include "model/config.hpp"

#ifndef USAGE_METRICS_VERSION
#error "USAGE_METRICS_VERSION must be defined by the build (model/CMakeLists.txt)"
#endif

namespace um::model {

// A string_view of a literal is a constant expression, so this is constant-
// initialized: safe to read from any other file's static initializers.
extern const std::string_view service_version = USAGE_METRICS_VERSION;

} // namespace um::model
