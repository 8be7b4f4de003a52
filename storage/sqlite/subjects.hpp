#pragma once

// The subjects table of the SQLite backend, on the store's own connection.

#include "model/subjects.hpp"

#include <sqlite3.h>

#include <optional>
#include <string>
#include <vector>

namespace um::storage::sqlite_subjects {

/// Creates the table (schema version 3 of the SQLite store).
extern const char* const schema;

/// Every subject, by key.
std::vector<model::subject> list(sqlite3* db);

/// The subject with this id or key.
std::optional<model::subject> find(sqlite3* db, const std::string& id_or_key);

/// Applies `changes` in one transaction; the subjects as stored afterwards.
std::vector<model::subject>
upsert(sqlite3* db, const std::vector<model::subject_upsert>& changes, model::millis now);

/// Stores `subjects` as given (ids and times kept), replacing those with the
/// same key, in one transaction.
void restore(sqlite3* db, const std::vector<model::subject>& subjects);

/// Removes the subject with this id or key; false when there was none.
bool remove(sqlite3* db, const std::string& id_or_key);

} // namespace um::storage::sqlite_subjects
