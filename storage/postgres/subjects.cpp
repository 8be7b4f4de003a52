#include "storage/postgres/subjects.hpp"

#include "model/trace_id.hpp"

namespace um::storage::postgres_subjects {

const char* const schema = R"sql(
CREATE TABLE subjects (key TEXT PRIMARY KEY, id TEXT NOT NULL UNIQUE,
  fields TEXT NOT NULL, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL);
)sql";

namespace {

constexpr const char* columns =
    "SELECT key, id, fields, created_at, updated_at FROM subjects ";

model::subject read(const pqxx::row& r) {
  model::subject s;
  s.key = r[0].c_str();
  s.id = r[1].c_str();
  model::read_subject_fields(std::string(r[2].c_str(), r[2].size()), s);
  s.created_at = r[3].as<std::int64_t>();
  s.updated_at = r[4].as<std::int64_t>();
  return s;
}

std::optional<model::subject> first(const pqxx::result& rows) {
  if (rows.empty())
    return std::nullopt;
  return read(rows[0]);
}

} // namespace

std::vector<model::subject> list(pqxx::connection& c) {
  pqxx::nontransaction tx{c};
  std::vector<model::subject> out;
  for (const auto& r : tx.exec(std::string{columns} + "ORDER BY key"))
    out.push_back(read(r));
  return out;
}

std::optional<model::subject> find(pqxx::connection& c, const std::string& id_or_key) {
  pqxx::nontransaction tx{c};
  if (auto by_key =
          first(tx.exec_params(std::string{columns} + "WHERE key = $1", id_or_key)))
    return by_key;
  return first(tx.exec_params(std::string{columns} + "WHERE id = $1", id_or_key));
}

std::vector<model::subject> upsert(pqxx::connection& c,
                                   const std::vector<model::subject_upsert>& changes,
                                   model::millis now) {
  std::vector<model::subject> out;
  pqxx::work tx{c};
  for (const auto& change : changes) {
    // Make the row exist, then lock it: a concurrent upsert of the same key
    // waits here and then reads this one's change.
    tx.exec_params("INSERT INTO subjects (key, id, fields, created_at, updated_at) "
                   "VALUES ($1, $2, '{}', $3, $3) ON CONFLICT (key) DO NOTHING",
                   change.key, model::new_uuid_v4(), now);
    auto existing = first(
        tx.exec_params(std::string{columns} + "WHERE key = $1 FOR UPDATE", change.key));
    auto stored = model::apply_subject_upsert(existing, change, now, existing->id);
    tx.exec_params("UPDATE subjects SET fields = $2, updated_at = $3 WHERE key = $1",
                   stored.key, model::subject_fields_text(stored), stored.updated_at);
    out.push_back(std::move(stored));
  }
  tx.commit();
  // A key given twice is answered as it stood after its last change.
  for (auto& s : out)
    for (const auto& later : out)
      if (later.key == s.key)
        s = later;
  return out;
}

bool remove(pqxx::connection& c, const std::string& id_or_key) {
  pqxx::work tx{c};
  auto rows = tx.exec_params("DELETE FROM subjects WHERE key = $1 OR (id = $1 AND NOT "
                             "EXISTS (SELECT 1 FROM subjects WHERE key = $1))",
                             id_or_key);
  tx.commit();
  return rows.affected_rows() > 0;
}

} // namespace um::storage::postgres_subjects
