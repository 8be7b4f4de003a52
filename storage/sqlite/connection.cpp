#include "storage/sqlite/connection.hpp"

namespace um::storage::sqlite {

failure_kind kind_of(int code) {
  switch (code & 0xff) {
  case SQLITE_CORRUPT:
  case SQLITE_NOTADB:
    return failure_kind::corrupt;
  case SQLITE_BUSY:
  case SQLITE_LOCKED:
  case SQLITE_FULL:
  case SQLITE_READONLY:
  case SQLITE_CANTOPEN:
  case SQLITE_IOERR:
  case SQLITE_PERM:
  case SQLITE_NOMEM:
  case SQLITE_PROTOCOL:
    return failure_kind::unavailable;
  default:
    return failure_kind::internal;
  }
}

void fail(sqlite3* db, int code, const char* doing) {
  std::string what = std::string{"sqlite: "} + doing + ": " +
                     (db ? sqlite3_errmsg(db) : sqlite3_errstr(code));
  throw storage_error(kind_of(code), what);
}

void exec(sqlite3* db, const char* sql) {
  char* message = nullptr;
  int rc = sqlite3_exec(db, sql, nullptr, nullptr, &message);
  if (rc != SQLITE_OK) {
    std::string what = std::string{"sqlite: "} + (message ? message : sqlite3_errstr(rc));
    sqlite3_free(message);
    throw storage_error(kind_of(rc), what);
  }
}

statement::statement(sqlite3* db, const char* name, int parameters, const char* sql)
    : db_(db) {
  int rc = sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt_, nullptr);
  if (rc != SQLITE_OK)
    fail(db, rc, "prepare");
  if (int takes = sqlite3_bind_parameter_count(stmt_); takes != parameters) {
    sqlite3_finalize(stmt_);
    stmt_ = nullptr;
    throw storage_error(failure_kind::internal, std::string{"sqlite: statement "} + name +
                                                    " takes " + std::to_string(takes) +
                                                    " parameters, the code binds " +
                                                    std::to_string(parameters));
  }
}

} // namespace um::storage::sqlite
