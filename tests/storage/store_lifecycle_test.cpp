// Opening, reopening, sharing and failing: the store's life around its data.

#include "storage/event_store.hpp"
#include "storage/sqlite/schema.hpp"
#include "storage/sqlite_store.hpp"
#include "tests/storage/store_fixture.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <fstream>

namespace {

using namespace um;
using namespace um::testing;

class store_lifecycle : public store_test {};
using sqlite_lifecycle = sqlite_store_test;

// Runs one query that returns a single integer, straight on the file.
std::int64_t query_integer(const std::string& path, const char* sql) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  std::int64_t out = -1;
  if (sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr) == SQLITE_OK &&
      sqlite3_step(stmt) == SQLITE_ROW)
    out = sqlite3_column_int64(stmt, 0);
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return out;
}

void exec_on(const std::string& path, const char* sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  EXPECT_EQ(sqlite3_exec(db, sql, nullptr, nullptr, nullptr), SQLITE_OK)
      << sqlite3_errmsg(db);
  sqlite3_close(db);
}

TEST_P(store_lifecycle, creates_the_store_in_the_data_dir) {
  auto nested = options();
  nested.data_dir = (dir_ / "a" / "b").string();
  if (which() == backend::sqlite)
    nested.url = "sqlite:" + (dir_ / "a" / "b" / "usage-metrics.db").string();
  storage::open_event_store(nested)->append({make_event("x", "u", "t", base_day)});
  auto in =
      dir_ / "a" / "b" / (which() == backend::sqlite ? "usage-metrics.db" : "rocksdb");
  EXPECT_TRUE(std::filesystem::exists(in));
  EXPECT_EQ(storage::open_event_store(nested)->summarize("u", {}).total, 1);
}

TEST_F(sqlite_lifecycle, creates_the_database_in_the_data_dir) {
  auto nested = options();
  nested.data_dir = (dir_ / "a" / "b").string();
  nested.url.clear();
  auto store = storage::open_sqlite_store(nested);
  EXPECT_TRUE(std::filesystem::exists(dir_ / "a" / "b" / "usage-metrics.db"));
  EXPECT_EQ(storage::sqlite_path(nested),
            (dir_ / "a" / "b" / "usage-metrics.db").string());
}

TEST_F(sqlite_lifecycle, sqlite_url_names_the_file) {
  auto o = options();
  o.url = "sqlite:" + (dir_ / "custom.db").string();
  EXPECT_EQ(storage::sqlite_path(o), (dir_ / "custom.db").string());
  storage::open_event_store(o)->append({make_event("x", "u", "t", base_day)});
  EXPECT_TRUE(std::filesystem::exists(dir_ / "custom.db"));
  EXPECT_FALSE(std::filesystem::exists(database_file()));
  EXPECT_EQ(storage::open_event_store(o)->summarize("u", {}).total, 1);
}

TEST_P(store_lifecycle, reopen_keeps_everything) {
  {
    auto store = open();
    store->append({make_event("1", "u", "a", base_day + 1),
                   make_event("2", "u", "b", base_day + hour),
                   make_event("3", "v", "a", base_day + day)});
  }
  for (int round = 0; round < 3; ++round) {
    auto store = open();
    EXPECT_EQ(store->list_events({}).total, 3);
    EXPECT_EQ(store->summarize("u", {}).total, 2);
    EXPECT_EQ(store->summarize("u", {base_day, base_day + hour}).total, 2);
    EXPECT_EQ(store->history("u", model::interval::hour, {}).size(), 2u);
    EXPECT_EQ(store->stats(base_day + day).unique_entities, 2);
  }
}

TEST_F(sqlite_lifecycle, migration_is_idempotent) {
  for (int i = 0; i < 3; ++i)
    open();
  auto path = database_file().string();
  // One row per migration step, each applied once however often it opens.
  auto steps = query_integer(path, "SELECT COUNT(*) FROM schema_version");
  EXPECT_GE(steps, 1);
  EXPECT_EQ(query_integer(path, "SELECT COUNT(DISTINCT version) FROM schema_version"),
            steps);
  EXPECT_EQ(query_integer(path, "SELECT MAX(version) FROM schema_version"), steps);
}

// A data dir of the previous version (no subjects table) gains it on open,
// its events kept.
TEST_F(sqlite_lifecycle, a_version_2_data_dir_gains_the_subjects_table) {
  {
    auto store = open();
    model::event e;
    e.id = "1";
    e.source = "s";
    e.type = "x";
    e.subject = "alice";
    e.time = 1'700'000'000'000;
    e.data = "{}";
    e.ingested_at = e.time;
    store->append({e});
  }
  auto path = database_file().string();
  exec_on(path, "DROP TABLE subjects");
  exec_on(path, "DROP TABLE portal_tokens");
  exec_on(path, "DROP TABLE event_revisions");
  exec_on(path, "DROP TABLE voided_ids");
  exec_on(path, "DROP TABLE notification_channels");
  exec_on(path, "DROP TABLE notification_rules");
  exec_on(path, "DROP TABLE notification_events");
  exec_on(path, "DELETE FROM schema_version WHERE version >= 3");
  auto store = open();
  EXPECT_EQ(store->summarize("alice", {}).total, 1);
  model::subject_upsert u;
  u.key = "alice";
  ASSERT_EQ(store->upsert_subjects({u}, 1).size(), 1u);
  EXPECT_EQ(store->subjects().size(), 1u);
  EXPECT_EQ(query_integer(path, "SELECT MAX(version) FROM schema_version"),
            storage::sqlite::schema_version);
}

model::portal_token portal_token_of(std::string id, std::string subject,
                                    model::millis created) {
  model::portal_token t;
  t.id = std::move(id);
  t.subject = std::move(subject);
  t.created_at = created;
  return t;
}

// A data dir of version 3 gains the portal tokens table on open.
TEST_F(sqlite_lifecycle, a_version_3_data_dir_gains_the_portal_tokens_table) {
  open();
  auto path = database_file().string();
  exec_on(path, "DROP TABLE portal_tokens");
  exec_on(path, "DROP TABLE event_revisions");
  exec_on(path, "DROP TABLE voided_ids");
  exec_on(path, "DROP TABLE notification_channels");
  exec_on(path, "DROP TABLE notification_rules");
  exec_on(path, "DROP TABLE notification_events");
  exec_on(path, "DELETE FROM schema_version WHERE version >= 4");
  auto store = open();
  store->add_portal_token(portal_token_of("01A", "alice", 1));
  EXPECT_EQ(store->portal_tokens(10).size(), 1u);
  EXPECT_EQ(query_integer(path, "SELECT MAX(version) FROM schema_version"),
            storage::sqlite::schema_version);
}

// What listing and invalidation need, and nothing of the token's text.
TEST_P(store_lifecycle,
       portal_tokens_are_listed_newest_first_and_invalidated_by_id_or_subject) {
  auto store = open();
  auto a = portal_token_of("01A", "alice", 1000);
  a.allowed_meter_slugs = {"tokens", "calls"};
  a.expires_at = 9000;
  store->add_portal_token(a);
  store->add_portal_token(portal_token_of("01B", "bob", 2000));
  store->add_portal_token(portal_token_of("01C", "alice", 3000));
  store->add_portal_token(portal_token_of("01D", "alice", 3000));

  auto found = store->find_portal_token("01A");
  ASSERT_TRUE(found);
  EXPECT_EQ(found->subject, "alice");
  EXPECT_EQ(found->allowed_meter_slugs, a.allowed_meter_slugs);
  EXPECT_EQ(found->expires_at, 9000);
  EXPECT_EQ(found->created_at, 1000);
  EXPECT_FALSE(found->invalidated);
  EXPECT_FALSE(store->find_portal_token("01Z"));
  EXPECT_FALSE(store->find_portal_token("01B")->expires_at);

  auto ids = [](const std::vector<model::portal_token>& v) {
    std::vector<std::string> out;
    for (const auto& t : v)
      out.push_back(t.id);
    return out;
  };
  EXPECT_EQ(ids(store->portal_tokens(10)),
            (std::vector<std::string>{"01D", "01C", "01B", "01A"}));
  EXPECT_EQ(ids(store->portal_tokens(2)), (std::vector<std::string>{"01D", "01C"}));

  // An id of another subject invalidates nothing.
  EXPECT_EQ(
      store->invalidate_portal_tokens({std::string{"01B"}, std::string{"alice"}}, 5000),
      0u);
  EXPECT_EQ(store->invalidate_portal_tokens({std::string{"01C"}, std::nullopt}, 5000),
            1u);
  EXPECT_TRUE(store->find_portal_token("01C")->invalidated);
  EXPECT_EQ(store->invalidate_portal_tokens({std::string{"01C"}, std::nullopt}, 6000),
            0u);
  EXPECT_EQ(store->invalidate_portal_tokens({std::nullopt, std::string{"alice"}}, 6000),
            2u);
  EXPECT_EQ(ids(store->portal_tokens(10)), (std::vector<std::string>{"01B"}));
  EXPECT_TRUE(store->find_portal_token("01A")->invalidated);
  EXPECT_FALSE(store->find_portal_token("01B")->invalidated);
  EXPECT_THROW(store->add_portal_token(portal_token_of("01B", "bob", 7000)),
               storage::storage_error);
}

TEST_F(sqlite_lifecycle, refuses_a_newer_schema) {
  open();
  exec_on(database_file().string(), "INSERT INTO schema_version (version) VALUES (99)");
  try {
    open();
    FAIL() << "opened a database of a newer schema";
  } catch (const storage::storage_error& e) {
    EXPECT_EQ(e.kind(), storage::failure_kind::internal);
    EXPECT_NE(std::string{e.what()}.find("newer"), std::string::npos) << e.what();
  }
}

TEST_P(store_lifecycle, second_instance_sees_committed_data) {
  auto writer = open();
  auto reader = open();
  writer->append({make_event("1", "u", "t", base_day)});
  EXPECT_EQ(reader->list_events({}).total, 1);
  EXPECT_EQ(reader->summarize("u", {}).total, 1);
  writer->append({make_event("2", "u", "t", base_day + 1)});
  EXPECT_EQ(reader->summarize("u", {base_day, base_day + 1}).total, 2);
  EXPECT_EQ(reader->stats(base_day).total_events, 2);
}

TEST_P(store_lifecycle, read_only_instance_sees_committed_data) {
  auto writer = open();
  writer->append({make_event("1", "u", "t", base_day)});
  auto reader = open(true);
  EXPECT_EQ(reader->summarize("u", {}).total, 1);
  writer->append({make_event("2", "u", "t", base_day + 1)});
  EXPECT_EQ(reader->list_events({}).total, 2);
  EXPECT_NO_THROW(reader->ping());
}

TEST_P(store_lifecycle, read_only_instance_does_not_write) {
  open()->append({make_event("1", "u", "t", base_day)});
  auto reader = open(true);
  // store_options::read_only promises "a connection that only reads".
  EXPECT_THROW(reader->append({make_event("2", "u", "t", base_day)}),
               storage::storage_error);
  EXPECT_THROW(reader->purge_before(base_day + 1, 10), storage::storage_error);
  EXPECT_EQ(open()->list_events({}).total, 1);
}

TEST_P(store_lifecycle, read_only_open_of_a_missing_database_creates_nothing) {
  EXPECT_THROW(open(true), storage::storage_error);
  EXPECT_FALSE(std::filesystem::exists(store_path()));
}

TEST_F(sqlite_lifecycle, a_failed_batch_stores_nothing) {
  auto store = open();
  store->append({make_event("1", "u", "t", base_day)});
  // A second writer holds the write lock past the busy timeout.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(database_file().c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
  try {
    store->append(
        {make_event("2", "u", "t", base_day), make_event("3", "u", "t", base_day)});
    ADD_FAILURE() << "append succeeded while another connection held the write lock";
  } catch (const storage::storage_error& e) {
    EXPECT_EQ(e.kind(), storage::failure_kind::unavailable) << e.what();
  }
  sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(db);
  EXPECT_EQ(store->list_events({}).total, 1);
  EXPECT_EQ(store->summarize("u", {}).total, 1);
  // The connection works again once the lock is gone.
  EXPECT_EQ(store->append({make_event("2", "u", "t", base_day)}).at(0).status,
            model::append_status::stored);
}

TEST_P(store_lifecycle, data_dir_that_is_a_file_fails_as_storage_error) {
  auto file = dir_ / "not-a-dir";
  std::ofstream{file} << "x";
  auto o = options();
  o.data_dir = file.string();
  if (which() == backend::sqlite)
    o.url = "sqlite:" + (file / "usage-metrics.db").string();
  try {
    storage::open_event_store(o);
    FAIL() << "opened a store under a regular file";
  } catch (const storage::storage_error& e) {
    EXPECT_EQ(e.kind(), storage::failure_kind::unavailable) << e.what();
  }
}

TEST_F(sqlite_lifecycle, garbage_database_file_is_corrupt) {
  {
    std::ofstream out{database_file(), std::ios::binary};
    for (int i = 0; i < 4096; ++i)
      out.put(static_cast<char>((i * 37 + 11) & 0xff));
  }
  try {
    open();
    FAIL() << "opened a garbage database file";
  } catch (const storage::storage_error& e) {
    EXPECT_EQ(e.kind(), storage::failure_kind::corrupt) << e.what();
  }
}

TEST_P(store_lifecycle, unknown_url_scheme_is_an_internal_error) {
  auto o = options();
  o.url = "mysql://localhost/db";
  try {
    storage::open_event_store(o);
    FAIL() << "opened an unsupported url";
  } catch (const storage::storage_error& e) {
    EXPECT_EQ(e.kind(), storage::failure_kind::internal);
  }
}

UM_ON_EMBEDDED_BACKENDS(store_lifecycle);

} // namespace
