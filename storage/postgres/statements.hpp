#pragma once

// Every statement the PostgreSQL backend runs, prepared by name on each
// connection when the store opens, so that SQL that does not compile fails
// the open instead of a request.

#include "model/rollup_plan.hpp"

#include <pqxx/pqxx>

namespace um::storage::postgres {

/// Prepares every statement on `conn`.
void prepare(pqxx::connection& conn);

/// The number the `range` statement reads a span's grain by.
int grain_number(model::rollup_grain g);

} // namespace um::storage::postgres
