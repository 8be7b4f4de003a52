// Corrections on the SQLite store where the shared cases do not reach: a
// store of schema version 4 gains the revisions on open, and a seq freed by
// a void is never handed out again.

#include "storage/sqlite/schema.hpp"
#include "tests/storage/revision_cases.hpp"
#include "tests/storage/store_fixture.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>

namespace {

using namespace um;
using namespace um::testing;
using metering::t0;
using revisions::correction_of;
using revisions::void_of;

class sqlite_revisions : public sqlite_store_test {
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

// A version 4 store (events, a ready meter) gains the revisions on open: its
// events keep counting, and can be voided and corrected.
TEST_F(sqlite_revisions, a_version_4_store_gains_corrections_on_open) {
  auto a = metering::usage_event("a", "s1", "tokens", t0, R"({"tokens":5,"model":"m"})");
  auto b = metering::usage_event("b", "s1", "tokens", t0 + minute,
                                 R"({"tokens":7,"model":"m"})");
  auto c = metering::usage_event("c", "s2", "tokens", t0 + 2 * minute,
                                 R"({"tokens":9,"model":"m"})");
  auto meter = metering::make_meter("id_sum", R"({"slug":"m_sum","aggregation":"SUM",
      "eventType":"tokens","valueProperty":"$.tokens","groupBy":{"model":"$.model"}})");
  {
    auto store = open();
    store->create_meter(meter);
    metering::backfill(*store, meter.id, 10);
    store->append({a, b, c});
  }
  exec_on_file("DROP TABLE event_revisions; DROP TABLE voided_ids; "
               "DROP TABLE notification_channels; DROP TABLE notification_rules; "
               "DROP TABLE notification_events; "
               "DELETE FROM schema_version WHERE version >= 5");
  ASSERT_EQ(integer_on_file("SELECT MAX(version) FROM schema_version"), 4);

  auto store = open();
  EXPECT_EQ(integer_on_file("SELECT MAX(version) FROM schema_version"),
            storage::sqlite::schema_version);
  EXPECT_EQ(store->summarize("s1", {}).total, 2);
  metering::expect_cells(*store, meter, {a, b, c});

  ASSERT_EQ(store->change_event(void_of(a, t0 + hour)).status,
            model::change_status::changed);
  auto b2 = b;
  b2.data = R"({"tokens":70,"model":"n"})";
  auto fixed = store->change_event(correction_of(b, b2, t0 + hour));
  ASSERT_EQ(fixed.status, model::change_status::changed);
  EXPECT_EQ(store->append({a})[0].status, model::append_status::duplicate);
  EXPECT_EQ(store->summarize("s1", {}).total, 1);
  metering::expect_cells(*store, meter, {c, *fixed.after});

  model::event_search all;
  all.time_from = t0 - day;
  all.time_to = t0 + day;
  EXPECT_EQ(store->event_revisions(all).size(), 2u);
}

// Voiding the newest event deletes the greatest rowid, which SQLite would
// hand out again: a meter created before it, not back-filled that far, would
// then count the next append twice (once as appended, once by its backfill).
TEST_F(sqlite_revisions, a_seq_freed_by_a_void_is_not_given_again) {
  auto store = open();
  std::vector<model::event> live;
  for (int i = 0; i < 6; ++i)
    live.push_back(metering::usage_event("e" + std::to_string(i), "s1", "tokens",
                                         t0 + i * minute, R"({"tokens":3})"));
  store->append(live);
  auto meters = metering::every_kind_of_meter();
  for (const auto& m : meters) {
    store->create_meter(m);
    EXPECT_FALSE(store->backfill_meter(m.id, 2));
  }
  auto newest = live.back();
  live.pop_back();
  ASSERT_EQ(store->change_event(void_of(newest, t0 + hour)).status,
            model::change_status::changed);

  auto later =
      metering::usage_event("later", "s1", "tokens", t0 + 7 * minute, R"({"tokens":11})");
  ASSERT_EQ(store->append({later})[0].status, model::append_status::stored);
  live.push_back(later);
  model::event_search all;
  all.time_from = t0 - day;
  all.time_to = t0 + day;
  auto seq_of = [&store, &all](const std::string& id) {
    for (const auto& e : store->search_events(all))
      if (e.event.id == id)
        return e.seq;
    return std::int64_t{0};
  };
  EXPECT_EQ(seq_of("later"), 7); // e0..e5 took 1..6; e5's stays with its revision.
  for (const auto& m : meters)
    metering::backfill(*store, m.id, 2);
  revisions::expect_answers(*store, meters, live);

  // A replacement, too, goes above every seq held.
  auto replaced = live.front();
  live.erase(live.begin());
  auto fixed = replaced;
  fixed.data = R"({"tokens":4})";
  auto out = store->change_event(correction_of(replaced, fixed, t0 + hour + 1));
  ASSERT_EQ(out.status, model::change_status::changed);
  live.push_back(*out.after);
  EXPECT_EQ(seq_of(replaced.id), 8);
  revisions::expect_answers(*store, meters, live);
}

} // namespace
