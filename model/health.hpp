#pragma once

#include "model/clock.hpp"

#include <string>
#include <vector>

namespace um::model {

/// The lifecycle of a supervised part of the service.
enum class component_state {
  starting,   ///< Spawned, not yet confirmed.
  up,         ///< Serving.
  restarting, ///< Died; a restart is scheduled.
  failed,     ///< Exhausted its restart budget: the task should be replaced.
};

/// The wire name of a state (`starting`, `up`, `restarting`, `failed`).
std::string_view component_state_name(component_state state);

/// One part's state as `/health` and `/ready` report it.
struct component_status {
  std::string name;
  component_state state = component_state::starting;
  int restarts = 0;
  std::string detail; ///< Why it is not up, for operators.
};

/// What `GET /health` answers.
struct health_report {
  bool healthy = true;
  std::vector<component_status> components;
};

/// One named readiness check: `"ok"` or a short reason.
struct readiness_check {
  std::string name;
  std::string result;
};

/// What `GET /ready` answers.
struct readiness_report {
  bool ready = true;
  std::vector<readiness_check> checks;
};

} // namespace um::model
