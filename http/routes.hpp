#pragma once

#include "http/route_table.hpp"

namespace um::http {

/// The service's routes, every one of them, drills included (a server serves
/// `service_routes().serving(fault_injection)`).
const route_table& service_routes();

} // namespace um::http
