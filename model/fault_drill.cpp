#include "model/fault_drill.hpp"

#include <stdexcept>

namespace um::model {

std::string_view drill_target_name(drill_target target) {
  switch (target) {
  case drill_target::ingest:
    return "ingest";
  case drill_target::aggregation:
    return "aggregation";
  case drill_target::health:
    return "health";
  case drill_target::log_shipper:
    return "log-shipper";
  case drill_target::notifier:
    return "notifier";
  case drill_target::bridges:
    return "bridges";
  }
  return "ingest";
}

checked<fault_drill> parse_fault_drill(std::string_view actor, std::string_view fault,
                                       const query_params& query) {
  checked<fault_drill> result;
  const api_error no_such_drill{error_code::not_found, "no such fault drill"};
  fault_drill drill;
  if (fault == "hang") {
    drill.kind = fault_kind::hang;
    auto it = query.find("ms");
    try {
      // As std::stoll reads it: leading blanks and trailing text allowed.
      drill.ms = it == query.end() ? -1 : std::stoll(it->second);
    } catch (const std::exception&) {
      drill.ms = -1;
    }
    if (drill.ms < 1 || drill.ms > 600'000) {
      result.error = {error_code::validation, "ms must be between 1 and 600000"};
      return result;
    }
  } else if (fault != "crash") {
    result.error = no_such_drill;
    return result;
  }
  bool known = false;
  for (auto target :
       {drill_target::ingest, drill_target::aggregation, drill_target::health,
        drill_target::log_shipper, drill_target::notifier, drill_target::bridges})
    if (actor == drill_target_name(target)) {
      drill.target = target;
      known = true;
    }
  if (!known ||
      (drill.target == drill_target::bridges && drill.kind != fault_kind::hang)) {
    result.error = no_such_drill;
    return result;
  }
  result.value = drill;
  return result;
}

nlohmann::ordered_json fault_drill_json(const fault_drill& drill) {
  nlohmann::ordered_json data{
      {"actor", drill_target_name(drill.target)},
      {"fault", drill.kind == fault_kind::hang ? "hang" : "crash"}};
  if (drill.kind == fault_kind::hang)
    data["ms"] = drill.ms;
  return nlohmann::ordered_json{{"success", true}, {"data", std::move(data)}};
}

} // namespace um::model
