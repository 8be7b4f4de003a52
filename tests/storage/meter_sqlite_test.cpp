// Metering in the SQLite store: the shared cases, plus what only a file-based
// store shows (another connection to the same file).

#include "tests/storage/meter_cases.hpp"
#include "tests/storage/store_fixture.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <iostream>

namespace {

using namespace um;
using namespace um::testing::metering;

class sqlite_meter_test : public um::testing::store_test {
public:
  std::unique_ptr<storage::event_store> open() const { return store_test::open(); }
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

// Prints timings for the report; fails only when far too slow.
TEST_F(sqlite_meter_test, timing) {
  auto seconds = [](auto&& f) {
    auto start = std::chrono::steady_clock::now();
    f();
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
        .count();
  };
  std::mt19937 rng(1);
  auto store = open();
  store->append(random_events(rng, 1000, "warm"));
  auto time_append = [&](const std::string& prefix) {
    std::vector<double> runs;
    for (int i = 0; i < 5; ++i) {
      auto batch = random_events(rng, 1000, prefix + std::to_string(i) + "-");
      runs.push_back(seconds([&] { store->append(batch); }) * 1000);
    }
    std::sort(runs.begin(), runs.end());
    return runs[2];
  };
  double with_index = 0, without_index = 0;
  for (int round = 0; round < 3; ++round) {
    with_index += time_append("i" + std::to_string(round)) / 3;
    {
      store.reset();
      sqlite3* db = nullptr;
      ASSERT_EQ(sqlite3_open(database_file().c_str(), &db), SQLITE_OK);
      sqlite3_exec(db, "DROP INDEX events_by_type", nullptr, nullptr, nullptr);
      sqlite3_close(db);
      store = open();
    }
    without_index += time_append("n" + std::to_string(round)) / 3;
    store.reset();
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(database_file().c_str(), &db), SQLITE_OK);
    sqlite3_exec(db, "CREATE INDEX events_by_type ON events (type)", nullptr, nullptr,
                 nullptr);
    sqlite3_close(db);
    store = open();
  }
  auto meters = every_kind_of_meter();
  for (std::size_t i = 0; i < 3; ++i)
    store->create_meter(meters[i]);
  auto three = time_append("t");
  std::cout << "[ timing ] sqlite append 1000 events (median of 5, mean of 3 rounds): "
            << without_index << " ms without the (type) index, " << with_index
            << " ms with it, " << three << " ms with 3 meters\n";

  std::vector<model::event> big;
  for (int i = 0; i < 100'000; ++i)
    big.push_back(usage_event("big" + std::to_string(i), "c" + std::to_string(i % 100),
                              "bulk", t0 + static_cast<millis>(i) * 25'920,
                              R"({"v":)" + std::to_string(i % 13) + R"(,"g":"x"})"));
  append_in_batches(*store, big, 5000);
  auto m = make_meter("bulk", R"({"slug":"bulk","aggregation":"SUM","eventType":"bulk",
      "valueProperty":"$.v","groupBy":{"g":"$.g"}})");
  store->create_meter(m);
  int calls = 0;
  auto backfill_s = seconds([&] { calls = backfill(*store, "bulk", 5000); });
  std::size_t cells = 0;
  auto read_s = seconds([&] {
    cells = store->meter_cells("bulk", meter_grain::hour, t0, t0 + 30 * 86'400'000LL, {})
                .size();
  });
  std::size_t one = 0;
  auto read_one_s = seconds([&] {
    one =
        store->meter_cells("bulk", meter_grain::hour, t0, t0 + 30 * 86'400'000LL, {"c7"})
            .size();
  });
  std::cout << "[ timing ] sqlite backfill of 100k events: " << backfill_s << " s in "
            << calls
            << " chunks of 5000; meter_cells 30 days x 100 subjects, hour grain: "
            << cells << " cells in " << read_s * 1000 << " ms; one subject: " << one
            << " cells in " << read_one_s * 1000 << " ms\n";
  EXPECT_EQ(cells, 72'000u);
  EXPECT_EQ(one, 720u);
  EXPECT_LT(backfill_s, 120.0);
}

} // namespace
