#include "actors/interfaces.hpp"
#include "storage/event_store.hpp"

namespace um {

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

model::api_error to_api_error(const caf::error& err) {
  if (!err)
    return {model::error_code::internal, "Internal server error"};
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
    return {code, std::move(message)};
  }
  if (err == caf::sec::request_timeout)
    return {model::error_code::timeout, "The request timed out"};
  if (err == caf::sec::request_receiver_down || err == caf::sec::invalid_argument)
    return {model::error_code::unavailable,
            "Service temporarily unavailable, retry later"};
  return {model::error_code::internal, "Internal server error"};
}

} // namespace um
