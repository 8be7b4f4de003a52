#pragma once

// Every statement the PostgreSQL backend runs, prepared by name on each
// connection when the store opens, so that SQL that does not compile fails
// the open instead of a request.

#include "model/rollup_plan.hpp"

#include <pqxx/pqxx>

namespace um::storage::postgres {

/// Prepares every statement on `conn`; the append's only when it `writes`
/// (it reads the session's `batch_in` table, which a read-only connection
/// cannot create).
void prepare(pqxx::connection& conn, bool writes);

/// The number the `range` statement reads a span's grain by.
int grain_number(model::rollup_grain g);

} // namespace um::storage::postgres
