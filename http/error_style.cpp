#include "http/error_style.hpp"

#include "model/cloud_events.hpp"
#include "model/v1_render.hpp"

namespace um::http {

error_document render_error(error_style style, const model::api_error& error,
                            const std::string& trace_id, std::string_view path) {
  if (style == error_style::problem)
    return {"application/problem+json",
            model::to_wire(
                model::problem_json(error.code, error.message, std::string{path}))};
  return {"application/json; charset=utf-8",
          model::to_wire(model::error_body(error, trace_id))};
}

} // namespace um::http
