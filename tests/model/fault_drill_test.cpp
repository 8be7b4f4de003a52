#include "model/fault_drill.hpp"

#include <gtest/gtest.h>

namespace {

using namespace um::model;

TEST(fault_drill, crash_of_each_supervised_part) {
  for (auto [name, target] : {std::pair{"ingest", drill_target::ingest},
                              std::pair{"aggregation", drill_target::aggregation},
                              std::pair{"health", drill_target::health},
                              std::pair{"log-shipper", drill_target::log_shipper},
                              std::pair{"notifier", drill_target::notifier}}) {
    auto d = parse_fault_drill(name, "crash", {});
    ASSERT_TRUE(d) << name;
    EXPECT_EQ(d.value->target, target);
    EXPECT_EQ(d.value->kind, fault_kind::crash);
    EXPECT_EQ(drill_target_name(target), name);
  }
}

TEST(fault_drill, hang_needs_ms_from_1_to_600000) {
  auto d = parse_fault_drill("aggregation", "hang", {{"ms", "250"}});
  ASSERT_TRUE(d);
  EXPECT_EQ(d.value->kind, fault_kind::hang);
  EXPECT_EQ(d.value->ms, 250);
  EXPECT_TRUE(parse_fault_drill("ingest", "hang", {{"ms", "600000"}}));
  EXPECT_TRUE(parse_fault_drill("ingest", "hang", {{"ms", "1"}}));
  for (const char* bad : {"0", "600001", "-5", "abc", ""}) {
    auto refused = parse_fault_drill("ingest", "hang", {{"ms", bad}});
    ASSERT_FALSE(refused) << bad;
    EXPECT_EQ(refused.error.code, error_code::validation);
    EXPECT_EQ(refused.error.message, "ms must be between 1 and 600000");
  }
  auto missing = parse_fault_drill("ingest", "hang", {});
  EXPECT_EQ(missing.error.code, error_code::validation);
  // ms is checked before the actor's name.
  EXPECT_EQ(parse_fault_drill("nobody", "hang", {}).error.code, error_code::validation);
}

TEST(fault_drill, unknown_names_are_no_drill) {
  EXPECT_EQ(parse_fault_drill("ingest", "explode", {}).error.code, error_code::not_found);
  EXPECT_EQ(parse_fault_drill("nobody", "crash", {}).error.code, error_code::not_found);
  EXPECT_EQ(parse_fault_drill("Ingest", "crash", {}).error.code, error_code::not_found);
}

TEST(fault_drill, the_bridges_only_hang) {
  auto hang = parse_fault_drill("bridges", "hang", {{"ms", "100"}});
  ASSERT_TRUE(hang);
  EXPECT_EQ(hang.value->target, drill_target::bridges);
  EXPECT_EQ(parse_fault_drill("bridges", "crash", {}).error.code, error_code::not_found);
}

TEST(fault_drill, answer_names_the_drill) {
  EXPECT_EQ(fault_drill_json({drill_target::log_shipper, fault_kind::crash, 0}).dump(),
            R"({"success":true,"data":{"actor":"log-shipper","fault":"crash"}})");
  EXPECT_EQ(fault_drill_json({drill_target::bridges, fault_kind::hang, 300}).dump(),
            R"({"success":true,"data":{"actor":"bridges","fault":"hang","ms":300}})");
}

} // namespace
