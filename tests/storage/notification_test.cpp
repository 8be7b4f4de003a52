// Usage alerts on the embedded backends: the shared cases of
// tests/storage/notification_cases.hpp, and the stores an older build left.

#include "storage/sqlite/schema.hpp"
#include "tests/storage/notification_cases.hpp"
#include "tests/storage/store_fixture.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>

namespace {

using namespace um;
using namespace um::testing::notifications;

class rocksdb_notification_test : public um::testing::rocksdb_store_test {
public:
  std::unique_ptr<storage::event_store> open() const {
    return rocksdb_store_test::open();
  }
};

UM_NOTIFICATION_STORE_TESTS(rocksdb_notification_test)

class sqlite_notification_test : public um::testing::sqlite_store_test {
public:
  std::unique_ptr<storage::event_store> open() const { return sqlite_store_test::open(); }

protected:
  // Runs `sql` straight on the file, as an older build left it.
  void exec_on_file(const char* sql) const {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(database_file().c_str(), &db), SQLITE_OK);
    EXPECT_EQ(sqlite3_exec(db, sql, nullptr, nullptr, nullptr), SQLITE_OK)
        << sqlite3_errmsg(db);
    sqlite3_close(db);
  }

  std::int64_t integer_on_file(const char* sql) const {
    sqlite3* db = nullptr;
    EXPECT_EQ(
        sqlite3_open_v2(database_file().c_str(), &db, SQLITE_OPEN_READONLY, nullptr),
        SQLITE_OK);
    sqlite3_stmt* stmt = nullptr;
    std::int64_t out = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW)
      out = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return out;
  }
};

UM_NOTIFICATION_STORE_TESTS(sqlite_notification_test)

// A version 5 store (with events and a subject) gains the alert tables on
// open, keeps what it held, and stores alerts.
TEST_F(sqlite_notification_test, a_version_5_store_gains_usage_alerts_on_open) {
  {
    auto store = open();
    store->append({um::testing::make_event("e1", "s1", "tokens", t0)});
    model::subject_upsert s1;
    s1.key = "s1";
    store->upsert_subjects({s1}, t0);
  }
  exec_on_file("DROP TABLE notification_events; DROP TABLE notification_rules; "
               "DROP TABLE notification_channels; "
               "DELETE FROM schema_version WHERE version >= 6");
  ASSERT_EQ(integer_on_file("SELECT MAX(version) FROM schema_version"), 5);
  // A read-only store does not migrate: it refuses the older file.
  EXPECT_THROW(sqlite_store_test::open(true), storage::storage_error);

  auto store = open();
  EXPECT_EQ(integer_on_file("SELECT MAX(version) FROM schema_version"),
            storage::sqlite::schema_version);
  EXPECT_EQ(storage::sqlite::schema_version, 6);
  EXPECT_EQ(store->summarize("s1", {}).total, 1);
  EXPECT_TRUE(store->find_subject("s1"));
  EXPECT_TRUE(store->notification_channels().empty());
  store->put_notification_channel(channel("01CH-A"));
  auto e = alert("01EV-1", "01RU-1", "s1", t0, {"01CH-A"}, t0);
  EXPECT_TRUE(store->add_notification_event(e, key_of(e)));
  EXPECT_EQ(store->claim_due_notifications(t0, t0 + 1000, 10).size(), 1u);
  // Claims read the partial index of the due rows.
  EXPECT_EQ(integer_on_file("SELECT COUNT(*) FROM sqlite_master WHERE name = "
                            "'notification_events_by_due'"),
            1);
}

// A damaged record is the store's `corrupt`, not a crash or a bad request.
TEST_F(sqlite_notification_test, a_damaged_record_is_corrupt) {
  open()->put_notification_channel(channel("01CH-A"));
  exec_on_file("UPDATE notification_channels SET record = '{\"id\":1}'");
  try {
    open()->notification_channels();
    FAIL() << "no error";
  } catch (const storage::storage_error& e) {
    EXPECT_EQ(e.kind(), storage::failure_kind::corrupt) << e.what();
  }
}

// An existing RocksDB database (events, subjects, portal tokens in the same
// column family) gains alerts without a migration, and they stay apart.
TEST_F(rocksdb_notification_test, alerts_beside_subjects_and_tokens) {
  {
    auto store = open();
    store->append({um::testing::make_event("e1", "s1", "tokens", t0)});
    model::subject_upsert s1;
    s1.key = "s1";
    store->upsert_subjects({s1}, t0);
  }
  auto store = open();
  store->put_notification_channel(channel("01CH-A"));
  store->put_notification_rule(rule("01RU-1"));
  auto e = alert("01EV-1", "01RU-1", "s1", t0, {"01CH-A"}, t0);
  EXPECT_TRUE(store->add_notification_event(e, key_of(e)));
  EXPECT_EQ(store->subjects().size(), 1u);
  EXPECT_EQ(store->summarize("s1", {}).total, 1);
  EXPECT_EQ(store->notification_channels().size(), 1u);
  EXPECT_EQ(store->notification_rules().size(), 1u);
  EXPECT_EQ(store->notification_events({}).second, 1u);
}

} // namespace
