#pragma once

// The SQLite schema and its migrations, one version at a time.

#include <sqlite3.h>

namespace um::storage::sqlite {

/// The schema version this build writes and reads.
inline constexpr int schema_version = 6;

/// Version 4: the portal tokens table (defined in portal_tokens.cpp). Version 5:
/// the revisions of voided and corrected events, and the voided ids. Version
/// 6: usage alerts (notification channels, rules and events).
extern const char* const portal_tokens_schema;

/// The schema version as stored, 0 for a database without one; a plain read,
/// so it needs no write lock.
int stored_schema_version(sqlite3* db);

/// Brings the database to `schema_version` in one transaction; refuses a
/// database newer than this build.
void migrate(sqlite3* db);

} // namespace um::storage::sqlite
