#include "actors/actors.hpp"
#include "storage/event_store.hpp"

namespace um {

caf::error unhandled_exception_reason(const std::string& trace_id) {
  auto reason = caf::make_error(caf::exit_reason::unhandled_exception);
  if (!trace_id.empty())
    reason.context() = caf::make_message(trace_id);
  return reason;
}

std::string trace_id_of(const caf::error& exit_reason) {
  if (!(exit_reason == caf::exit_reason::unhandled_exception))
    return {};
  if (const auto& ctx = exit_reason.context(); ctx.match_elements<std::string>())
    return ctx.get_as<std::string>(0);
  return {};
}

caf::error to_error(const std::exception& failure) {
  if (auto storage = dynamic_cast<const storage::storage_error*>(&failure)) {
    if (storage->kind() == storage::failure_kind::internal)
      return caf::make_error(model::error_code::internal, storage->what());
    if (storage->kind() == storage::failure_kind::conflict)
      return caf::make_error(model::error_code::conflict, storage->what());
    if (storage->kind() == storage::failure_kind::not_found)
      return caf::make_error(model::error_code::not_found, storage->what());
    // A commit whose outcome is unknown is no 503 ("not stored"): it is told
    // as a timeout, whose outcome clients know to be unknown.
    if (storage->kind() == storage::failure_kind::in_doubt)
      return caf::make_error(model::error_code::timeout, storage->what());
    return caf::make_error(model::error_code::unavailable, storage->what());
  }
  return caf::make_error(model::error_code::internal, failure.what());
}

namespace {

// What went wrong, for the log line: the context a failure of this service
// carries, else CAF's name of the error (`request_timeout`, ...).
std::string cause_of(const caf::error& err) {
  if (auto& ctx = err.context(); ctx.match_elements<std::string>())
    return ctx.get_as<std::string>(0);
  if (err.category() == caf::atom("system"))
    return caf::to_string(static_cast<caf::sec>(err.code()));
  if (err.category() == caf::atom("exit"))
    return caf::to_string(static_cast<caf::exit_reason>(err.code()));
  return caf::to_string(err);
}

} // namespace

model::api_error to_api_error(const caf::error& err) {
  if (!err)
    return {model::error_code::internal, "Internal server error", "no error given"};
  auto cause = cause_of(err);
  if (err.category() == caf::atom("usage")) {
    auto code = static_cast<model::error_code>(err.code());
    std::string message;
    // The context carries the detail for logs; clients get a plain message.
    switch (code) {
    case model::error_code::unavailable:
      message = "Service temporarily unavailable, retry later";
      break;
    case model::error_code::internal:
      message = "Internal server error";
      break;
    case model::error_code::timeout:
      message = "The request timed out";
      break;
    default:
      if (auto& ctx = err.context(); ctx.match_elements<std::string>())
        message = ctx.get_as<std::string>(0);
      break;
    }
    return {code, std::move(message), std::move(cause)};
  }
  if (err == caf::sec::request_timeout)
    return {model::error_code::timeout, "The request timed out", std::move(cause)};
  if (err == caf::sec::request_receiver_down || err == caf::sec::invalid_argument)
    return {model::error_code::unavailable,
            "Service temporarily unavailable, retry later", std::move(cause)};
  return {model::error_code::internal, "Internal server error", std::move(cause)};
}

} // namespace um
