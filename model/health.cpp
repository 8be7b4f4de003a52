#include "model/health.hpp"

namespace um::model {

std::string_view component_state_name(component_state state) {
  switch (state) {
  case component_state::starting:
    return "starting";
  case component_state::up:
    return "up";
  case component_state::restarting:
    return "restarting";
  case component_state::failed:
    return "failed";
  }
  return "unknown";
}

} // namespace um::model
