#pragma once

#include "model/namespaces.hpp"

#include <string>
#include <string_view>

namespace um::model {

/// The request a message to an actor is for, by its trace id, so that every
/// log line the work causes names that request (empty for work no request
/// asked for: start-up, retention, a resumed back-fill), and the namespace
/// whose data the work reads or writes (model/namespaces.hpp).
struct trace_ref {
  std::string id;
  std::string ns{default_namespace}; ///< The namespace of the request's key.
};

/// A fresh random UUID v4 in canonical lower-case form.
std::string new_uuid_v4();

/// The trace id of a request, from its headers (empty view when absent), in the
/// contract's order: `x-trace-id`, else the trace id of a W3C `traceparent`,
/// else the `Root=` of an ALB `X-Amzn-Trace-Id`, else a new UUID v4. A value
/// that is not printable ASCII of at most 128 characters is not used.
std::string resolve_trace_id(std::string_view x_trace_id, std::string_view traceparent,
                             std::string_view amzn_trace_id);

} // namespace um::model
