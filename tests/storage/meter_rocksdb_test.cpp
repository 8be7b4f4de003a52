// Metering in the RocksDB store: the shared cases, and a meter created by
// another handle on the same database applied by the appends of the first.

#include "storage/rocksdb/database.hpp"
#include "tests/storage/meter_cases.hpp"
#include "tests/storage/store_fixture.hpp"

namespace {

using namespace um;
using namespace um::testing::metering;

class rocksdb_meter_test : public um::testing::rocksdb_store_test {
public:
  std::unique_ptr<storage::event_store> open() const {
    return rocksdb_store_test::open();
  }

  /// Minute cells are folded from the events when read.
  static bool minute_cells_from_events() { return true; }

  /// Overwrites a meter's stored definition, as another release would have
  /// written it (its position and creation order kept).
  void store_definition(const std::string& id, const std::string& text) const {
    namespace rocks = storage::rocks;
    auto db = rocks::database::acquire(rocksdb_dir().string(), false);
    std::string value;
    ASSERT_TRUE(db->db().Get({}, db->cf(rocks::cf_meters), id, &value).ok());
    auto record = rocks::read_record(id, value);
    rocksdb::WriteBatch batch;
    ASSERT_TRUE(batch
                    .Put(db->cf(rocks::cf_meters), id,
                         rocks::record_value(record.record.definition.slug, text,
                                             record.created, record.record.position))
                    .ok());
    rocks::database::write_lock lock{*db};
    lock.meters_changed();
    lock.commit(batch);
  }
};

UM_METER_STORE_TESTS(rocksdb_meter_test)

TEST_F(rocksdb_meter_test, a_meter_created_through_another_handle_applies_to_appends) {
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

} // namespace
