#pragma once

// The PostgreSQL schema and its migrations, one version at a time.

#include <pqxx/pqxx>

namespace um::storage::postgres {

/// The schema version this build writes and reads.
inline constexpr int schema_version = 3;

/// Brings the database to `schema_version` in one transaction, under an
/// advisory lock so that instances starting together do not race; refuses a
/// database newer than this build.
void migrate(pqxx::connection& conn);

} // namespace um::storage::postgres
