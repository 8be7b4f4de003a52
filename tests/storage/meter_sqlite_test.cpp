// Metering in the SQLite store: the shared cases, plus what only a file-based
// store shows (another connection to the same file).

#include "tests/storage/meter_cases.hpp"
#include "tests/storage/store_fixture.hpp"

#include <sqlite3.h>

namespace {

using namespace um;
using namespace um::testing::metering;

class sqlite_meter_test : public um::testing::sqlite_store_test {
public:
  /// Minute cells are stored, as hour cells are.
  static bool minute_cells_from_events() { return false; }

  std::unique_ptr<storage::event_store> open() const { return sqlite_store_test::open(); }

  /// Overwrites a meter's stored definition, as another release would have
  /// written it.
  void store_definition(const std::string& id, const std::string& text) const {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(database_file().c_str(), &db), SQLITE_OK);
    sqlite3_stmt* stmt = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db, "UPDATE meters SET definition = ?1 WHERE id = ?2",
                                 -1, &stmt, nullptr),
              SQLITE_OK);
    sqlite3_bind_text(stmt, 1, text.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(stmt, 2, id.c_str(), -1, SQLITE_TRANSIENT);
    EXPECT_EQ(sqlite3_step(stmt), SQLITE_DONE);
    EXPECT_EQ(sqlite3_changes(db), 1);
    sqlite3_finalize(stmt);
    sqlite3_close(db);
  }
};

UM_METER_STORE_TESTS(sqlite_meter_test)

TEST_F(sqlite_meter_test, a_meter_created_by_another_connection_applies_to_appends) {
  auto writer = open();
  auto admin = open();
  std::vector<model::event> events = {usage_event("1", "s", "t", t0, R"({"v":2})")};
  writer->append(events);
  auto m = make_meter("m", R"({"slug":"m","aggregation":"SUM","eventType":"t",
      "valueProperty":"$.v"})");
  admin->create_meter(m);
  events.push_back(usage_event("2", "s", "t", t0 + 1, R"({"v":3})"));
  writer->append({events.back()});
  EXPECT_TRUE(admin->backfill_meter("m", 100));
  expect_cells(*writer, m, events);
  auto regrouped = m;
  regrouped.group_by.push_back({"k", model::parse_json_path("$.k").value});
  admin->update_meter(regrouped);
  events.push_back(usage_event("3", "s", "t", t0 + 2, R"({"v":4,"k":"x"})"));
  writer->append({events.back()});
  EXPECT_TRUE(writer->backfill_meter("m", 100));
  expect_cells(*admin, regrouped, events);
}

// Timings (append cost of the type index, a 100k-event back-fill) are measured by
// bench/storage.cpp, not here.

} // namespace
