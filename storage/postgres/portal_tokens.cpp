// Portal tokens in the PostgreSQL backend: one table beside the events, on
// the store's own connection. Only what listing and invalidation need is
// kept; the token text never is (model/portal_tokens.hpp). Every instance
// on the database sees a token invalidated by any of them on its next use.

#include "storage/postgres/connection.hpp"
#include "storage/postgres/schema.hpp"
#include "storage/postgres/store.hpp"

namespace um::storage::postgres {

const char* const portal_tokens_schema = R"sql(
CREATE TABLE portal_tokens (id TEXT PRIMARY KEY, subject TEXT COLLATE "C" NOT NULL,
  allowed_meter_slugs TEXT NOT NULL, expires_at BIGINT, created_at BIGINT NOT NULL,
  invalidated_at BIGINT);
CREATE INDEX portal_tokens_by_subject ON portal_tokens (subject);
)sql";

namespace {

constexpr const char* columns = "SELECT id, subject, allowed_meter_slugs, expires_at, "
                                "created_at, invalidated_at FROM portal_tokens ";

model::portal_token read(const pqxx::row& r) {
  model::portal_token t;
  t.id = r[0].c_str();
  t.subject = r[1].c_str();
  t.allowed_meter_slugs =
      model::read_portal_slugs(std::string(r[2].c_str(), r[2].size()));
  if (!r[3].is_null())
    t.expires_at = r[3].as<std::int64_t>();
  t.created_at = r[4].as<std::int64_t>();
  t.invalidated = !r[5].is_null();
  return t;
}

} // namespace

void store::add_portal_token(const model::portal_token& t) {
  guarded("add portal token", [&] {
    pqxx::work tx{*conn_};
    tx.exec_params(
        "INSERT INTO portal_tokens (id, subject, allowed_meter_slugs, expires_at, "
        "created_at, invalidated_at) VALUES ($1, $2, $3, $4, $5, $6)",
        t.id, t.subject, model::portal_slugs_text(t.allowed_meter_slugs), t.expires_at,
        t.created_at,
        t.invalidated ? std::optional<model::millis>{t.created_at} : std::nullopt);
    tx.commit();
  });
}

std::optional<model::portal_token> store::find_portal_token(const std::string& id) {
  return guarded("find portal token", [&]() -> std::optional<model::portal_token> {
    pqxx::nontransaction tx{*conn_};
    auto rows = tx.exec_params(std::string{columns} + "WHERE id = $1", id);
    if (rows.empty())
      return std::nullopt;
    return read(rows[0]);
  });
}

std::vector<model::portal_token> store::portal_tokens(std::size_t limit) {
  return guarded("list portal tokens", [&] {
    pqxx::nontransaction tx{*conn_};
    std::vector<model::portal_token> out;
    for (const auto& r : tx.exec_params(std::string{columns} +
                                            "WHERE invalidated_at IS NULL "
                                            "ORDER BY created_at DESC, id DESC LIMIT $1",
                                        static_cast<std::int64_t>(limit)))
      out.push_back(read(r));
    return out;
  });
}

std::size_t store::invalidate_portal_tokens(const model::portal_invalidation& which,
                                            model::millis now) {
  return guarded("invalidate portal tokens", [&] {
    pqxx::work tx{*conn_};
    auto rows = tx.exec_params(
        "UPDATE portal_tokens SET invalidated_at = $1 WHERE invalidated_at IS NULL "
        "AND ($2::text IS NULL OR id = $2) AND ($3::text IS NULL OR subject = $3)",
        now, which.id, which.subject);
    tx.commit();
    return static_cast<std::size_t>(rows.affected_rows());
  });
}

} // namespace um::storage::postgres
