#pragma once

// Failure drills (`POST /admin/faults/:actor/:fault`, with --fault-injection):
// which part to fail and how, read from the request.

#include "model/errors.hpp"
#include "model/v1_api.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace um::model {

/// The parts a drill can fail: the supervised actors, and the HTTP layer's
/// own bridges (hang only: for drills of the request deadline).
enum class drill_target { ingest, aggregation, health, log_shipper, notifier, bridges };

/// How a part fails: as an uncaught exception in a handler would, or by
/// blocking for `ms`.
enum class fault_kind { crash, hang };

/// One drill.
struct fault_drill {
  drill_target target = drill_target::ingest;
  fault_kind kind = fault_kind::crash;
  std::int64_t ms = 0; ///< For `hang`: 1 to 600000.
};

/// The wire name of `target` (`ingest`, ..., `log-shipper`, `notifier`, `bridges`).
std::string_view drill_target_name(drill_target target);

/// Reads a drill from the route's `actor` and `fault` and its query: `hang`
/// needs `ms` between 1 and 600000 (`validation` error otherwise, checked
/// first); a fault or actor it does not know, or a crash of the bridges, is
/// `not_found`: no such drill, answered as an unknown route.
checked<fault_drill> parse_fault_drill(std::string_view actor, std::string_view fault,
                                       const query_params& query);

/// The answer to a drill (202): `{"success":true,"data":{"actor","fault",
/// "ms"?}}`, `ms` for a hang.
nlohmann::ordered_json fault_drill_json(const fault_drill& drill);

} // namespace um::model
