#pragma once

// The PostgreSQL schema and its migrations, one version at a time.

#include <pqxx/pqxx>

namespace um::storage::postgres {

/// The schema version this build writes and reads.
inline constexpr int schema_version = 4;

/// Version 4: the portal tokens table (defined in portal_tokens.cpp).
extern const char* const portal_tokens_schema;

/// Brings the database to `schema_version` in one transaction, under an
/// advisory lock so that instances starting together do not race; refuses a
/// database newer than this build.
void migrate(pqxx::connection& conn);

} // namespace um::storage::postgres
