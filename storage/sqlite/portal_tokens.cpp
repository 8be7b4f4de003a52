// Portal tokens in the SQLite backend: one table beside the events, on the
// store's own connection. Only what listing and invalidation need is kept;
// the token text never is (model/portal_tokens.hpp).

#include "storage/sqlite/connection.hpp"
#include "storage/sqlite/schema.hpp"
#include "storage/sqlite/store.hpp"

namespace um::storage::sqlite {

const char* const portal_tokens_schema = R"sql(
CREATE TABLE portal_tokens (id TEXT PRIMARY KEY, subject TEXT NOT NULL,
  allowed_meter_slugs TEXT NOT NULL, expires_at INTEGER, created_at INTEGER NOT NULL,
  invalidated_at INTEGER) WITHOUT ROWID;
CREATE INDEX portal_tokens_by_subject ON portal_tokens (subject);
)sql";

namespace {

constexpr const char* columns = "SELECT id, subject, allowed_meter_slugs, expires_at, "
                                "created_at, invalidated_at FROM portal_tokens ";

model::portal_token read(const statement& s) {
  model::portal_token t;
  t.id = s.text(0);
  t.subject = s.text(1);
  t.allowed_meter_slugs = model::read_portal_slugs(s.text(2));
  if (!s.is_null(3))
    t.expires_at = s.integer(3);
  t.created_at = s.integer(4);
  t.invalidated = !s.is_null(5);
  return t;
}

} // namespace

void store::add_portal_token(const model::portal_token& t) {
  statement s{db_, "portal_token_add", 6,
              "INSERT INTO portal_tokens (id, subject, allowed_meter_slugs, expires_at, "
              "created_at, invalidated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"};
  auto slugs = model::portal_slugs_text(t.allowed_meter_slugs);
  s.bind(1, t.id).bind(2, t.subject).bind(3, slugs).bind(5, t.created_at);
  if (t.expires_at)
    s.bind(4, *t.expires_at);
  if (t.invalidated)
    s.bind(6, t.created_at);
  s.run();
}

std::optional<model::portal_token> store::find_portal_token(const std::string& id) {
  statement s{db_, "portal_token_find", 1,
              (std::string{columns} + "WHERE id = ?1").c_str()};
  s.bind(1, id);
  if (!s.step())
    return std::nullopt;
  return read(s);
}

std::vector<model::portal_token> store::portal_tokens(std::size_t limit) {
  statement s{db_, "portal_tokens_list", 1,
              (std::string{columns} +
               "WHERE invalidated_at IS NULL ORDER BY created_at DESC, id DESC LIMIT ?1")
                  .c_str()};
  s.bind(1, static_cast<std::int64_t>(limit));
  std::vector<model::portal_token> out;
  while (s.step())
    out.push_back(read(s));
  return out;
}

std::size_t store::invalidate_portal_tokens(const model::portal_invalidation& which,
                                            model::millis now) {
  // A missing id or subject matches every row: ?2 IS NULL, ?3 IS NULL.
  statement s{db_, "portal_tokens_invalidate", 3,
              "UPDATE portal_tokens SET invalidated_at = ?1 WHERE invalidated_at IS NULL "
              "AND (?2 IS NULL OR id = ?2) AND (?3 IS NULL OR subject = ?3)"};
  s.bind(1, now);
  if (which.id)
    s.bind(2, *which.id);
  if (which.subject)
    s.bind(3, *which.subject);
  s.run();
  return static_cast<std::size_t>(sqlite3_changes(db_));
}

} // namespace um::storage::sqlite
