#pragma once

// The SQLite connection's plumbing: driver errors as `storage_error`,
// prepared statements checked when they are prepared, transactions.

#include "storage/event_store.hpp"

#include <sqlite3.h>

#include <cstdint>
#include <string>

namespace um::storage::sqlite {

/// What a result code means for a caller.
failure_kind kind_of(int code);

/// Throws the `storage_error` of `code`, with SQLite's message.
[[noreturn]] void fail(sqlite3* db, int code, const char* doing);

/// Runs SQL that returns no rows (one or more statements).
void exec(sqlite3* db, const char* sql);

/// A prepared statement, reset after each use so it can be reused. It is
/// prepared when the store opens, and checked then: SQL that does not
/// compile, or takes another number of parameters than the code binds,
/// fails the open instead of a request.
class statement {
public:
  /// Prepares `sql`, which must take `parameters` parameters (the largest
  /// `?N`); `name` says which statement a failed check is about.
  statement(sqlite3* db, const char* name, int parameters, const char* sql);
  statement(const statement&) = delete;
  statement& operator=(const statement&) = delete;
  ~statement() { sqlite3_finalize(stmt_); }

  statement& bind(int i, const std::string& v) {
    check(
        sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC));
    return *this;
  }
  statement& bind(int i, std::int64_t v) {
    check(sqlite3_bind_int64(stmt_, i, v));
    return *this;
  }
  statement& bind(int i, int v) { return bind(i, static_cast<std::int64_t>(v)); }
  statement& bind(int i, double v) {
    check(sqlite3_bind_double(stmt_, i, v));
    return *this;
  }

  /// Steps once: true while a row is available.
  bool step() {
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW)
      return true;
    if (rc == SQLITE_DONE)
      return false;
    sqlite3_reset(stmt_);
    fail(db_, rc, "step");
  }

  /// Runs a statement that returns no rows.
  void run() {
    step();
    reset();
  }

  void reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }

  std::int64_t integer(int col) const { return sqlite3_column_int64(stmt_, col); }
  double real(int col) const { return sqlite3_column_double(stmt_, col); }
  bool is_null(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  std::string text(int col) const {
    auto p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
    return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col)))
             : std::string{};
  }

private:
  void check(int rc) {
    if (rc != SQLITE_OK)
      fail(db_, rc, "bind");
  }

  sqlite3* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
};

/// Resets a statement when a scope ends, also when a step throws.
struct reset_guard {
  statement& s;
  ~reset_guard() { s.reset(); }
};

/// A transaction: begun on construction, committed explicitly, rolled back
/// when left by an exception (or without a commit).
class transaction {
public:
  transaction(sqlite3* db, statement& begin, statement& commit)
      : db_(db), commit_(commit) {
    begin.run();
  }
  transaction(const transaction&) = delete;
  transaction& operator=(const transaction&) = delete;
  void commit() {
    commit_.run();
    done_ = true;
  }
  ~transaction() {
    if (!done_)
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }

private:
  sqlite3* db_;
  statement& commit_;
  bool done_ = false;
};

} // namespace um::storage::sqlite
