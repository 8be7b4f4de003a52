#pragma once

// The subjects table of the PostgreSQL backend, on the store's own
// connection. Driver exceptions pass through: the store's caller turns them
// into storage errors.

#include "model/subjects.hpp"

#include <pqxx/pqxx>

#include <optional>
#include <string>
#include <vector>

namespace um::storage::postgres_subjects {

/// Creates the table (schema version 3 of the PostgreSQL store).
extern const char* const schema;

/// Every subject, by key.
std::vector<model::subject> list(pqxx::connection& c);

/// The subject with this id or key.
std::optional<model::subject> find(pqxx::connection& c, const std::string& id_or_key);

/// Applies `changes` in one transaction (rows locked, so instances changing
/// the same subject at once apply one change after the other); the subjects
/// as stored afterwards.
std::vector<model::subject> upsert(pqxx::connection& c,
                                   const std::vector<model::subject_upsert>& changes,
                                   model::millis now);

/// Removes the subject with this id or key; false when there was none.
bool remove(pqxx::connection& c, const std::string& id_or_key);

} // namespace um::storage::postgres_subjects
