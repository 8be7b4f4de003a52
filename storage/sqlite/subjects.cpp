#include "storage/sqlite/subjects.hpp"

#include "model/trace_id.hpp"
#include "storage/event_store.hpp"
#include "storage/sqlite/connection.hpp"

namespace um::storage::sqlite_subjects {

// Keyed by key (the lookups by key and the listing order); the id is unique
// too. `fields` holds the rest (model::subject_fields_text).
const char* const schema = R"sql(
CREATE TABLE subjects (key TEXT PRIMARY KEY, id TEXT NOT NULL UNIQUE,
  fields TEXT NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL)
  WITHOUT ROWID;
)sql";

namespace {

using sqlite::exec;
using sqlite::fail;

// A one-off statement, finalized when the scope ends. Unlike the store's
// prepared `sqlite::statement`, it copies what it binds (SQLITE_TRANSIENT):
// its callers bind temporaries, and subjects are rare enough that the copy
// costs nothing.
class query {
public:
  query(sqlite3* db, const char* sql) : db_(db) {
    if (int rc = sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr); rc != SQLITE_OK)
      fail(db, rc, "prepare");
  }
  query(const query&) = delete;
  query& operator=(const query&) = delete;
  ~query() { sqlite3_finalize(stmt_); }

  query& bind(int i, const std::string& v) {
    check(sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()),
                            SQLITE_TRANSIENT));
    return *this;
  }
  query& bind(int i, std::int64_t v) {
    check(sqlite3_bind_int64(stmt_, i, v));
    return *this;
  }
  // True while there is a row.
  bool step() {
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW)
      return true;
    if (rc != SQLITE_DONE)
      fail(db_, rc, "step");
    return false;
  }
  std::string text(int col) const {
    auto p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
    return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col)))
             : std::string{};
  }
  std::int64_t integer(int col) const { return sqlite3_column_int64(stmt_, col); }

private:
  void check(int rc) {
    if (rc != SQLITE_OK)
      fail(db_, rc, "bind");
  }
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

constexpr const char* columns =
    "SELECT key, id, fields, created_at, updated_at FROM subjects ";

model::subject read(const query& q) {
  model::subject s;
  s.key = q.text(0);
  s.id = q.text(1);
  model::read_subject_fields(q.text(2), s);
  s.created_at = q.integer(3);
  s.updated_at = q.integer(4);
  return s;
}

std::optional<model::subject> find_by_key(sqlite3* db, const std::string& key) {
  query q{db, (std::string{columns} + "WHERE key = ?").c_str()};
  q.bind(1, key);
  if (!q.step())
    return std::nullopt;
  return read(q);
}

} // namespace

std::vector<model::subject> list(sqlite3* db) {
  query q{db, (std::string{columns} + "ORDER BY key").c_str()};
  std::vector<model::subject> out;
  while (q.step())
    out.push_back(read(q));
  return out;
}

std::optional<model::subject> find(sqlite3* db, const std::string& id_or_key) {
  if (auto by_key = find_by_key(db, id_or_key))
    return by_key;
  query q{db, (std::string{columns} + "WHERE id = ?").c_str()};
  q.bind(1, id_or_key);
  if (!q.step())
    return std::nullopt;
  return read(q);
}

std::vector<model::subject> upsert(sqlite3* db,
                                   const std::vector<model::subject_upsert>& changes,
                                   model::millis now) {
  std::vector<model::subject> out;
  exec(db, "BEGIN IMMEDIATE");
  try {
    for (const auto& change : changes) {
      auto stored = model::apply_subject_upsert(find_by_key(db, change.key), change, now,
                                                model::new_uuid_v4());
      query q{db, "INSERT INTO subjects (key, id, fields, created_at, updated_at) "
                  "VALUES (?, ?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET "
                  "fields = excluded.fields, updated_at = excluded.updated_at"};
      q.bind(1, stored.key)
          .bind(2, stored.id)
          .bind(3, model::subject_fields_text(stored))
          .bind(4, stored.created_at)
          .bind(5, stored.updated_at);
      q.step();
      out.push_back(std::move(stored));
    }
    exec(db, "COMMIT");
  } catch (...) {
    sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
  // A key given twice is answered as it stood after its last change.
  for (auto& s : out)
    for (const auto& later : out)
      if (later.key == s.key)
        s = later;
  return out;
}

void restore(sqlite3* db, const std::vector<model::subject>& subjects) {
  exec(db, "BEGIN IMMEDIATE");
  try {
    for (const auto& subject : subjects) {
      // A subject restored under a key replaces it whole, id included.
      query q{db, "INSERT OR REPLACE INTO subjects (key, id, fields, created_at, "
                  "updated_at) VALUES (?, ?, ?, ?, ?)"};
      q.bind(1, subject.key)
          .bind(2, subject.id)
          .bind(3, model::subject_fields_text(subject))
          .bind(4, subject.created_at)
          .bind(5, subject.updated_at);
      q.step();
    }
    exec(db, "COMMIT");
  } catch (...) {
    sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

bool remove(sqlite3* db, const std::string& id_or_key) {
  auto existing = find(db, id_or_key);
  if (!existing)
    return false;
  query q{db, "DELETE FROM subjects WHERE key = ?"};
  q.bind(1, existing->key);
  q.step();
  return sqlite3_changes(db) > 0;
}

} // namespace um::storage::sqlite_subjects
