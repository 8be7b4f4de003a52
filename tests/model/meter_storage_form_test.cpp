// The stored form of meter definitions: versioned, its own format, and the
// unversioned form of earlier releases still read.

#include "model/meter_storage_form.hpp"

#include <gtest/gtest.h>

namespace {

using namespace um::model;

constexpr millis created = 1'705'276'800'000; // 2024-01-15T00:00:00Z

meter path_meter() {
  meter m;
  m.id = "01234567-89ab-4cde-8f01-23456789abcd";
  m.slug = "llm_tokens";
  m.name = "LLM tokens";
  m.description = "tokens by model";
  m.aggregation = meter_aggregation::unique_count;
  m.event_type = "prompt";
  m.event_from = created - 1;
  m.value_property = parse_json_path("$.usage['total tokens']").value;
  m.group_by = {{"model", parse_json_path("$.model").value},
                {"region", parse_json_path("$.where[0].region").value}};
  m.created_at = created;
  m.updated_at = created + 5;
  return m;
}

void expect_same(const meter& a, const meter& b) {
  EXPECT_EQ(meter_json(a), meter_json(b));
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.created_at, b.created_at);
  EXPECT_EQ(a.updated_at, b.updated_at);
  EXPECT_EQ(a.event_from, b.event_from);
  ASSERT_EQ(a.group_by.size(), b.group_by.size());
  for (std::size_t i = 0; i < a.group_by.size(); ++i) {
    EXPECT_EQ(a.group_by[i].key, b.group_by[i].key);
    EXPECT_EQ(a.group_by[i].path.text, b.group_by[i].path.text);
  }
}

TEST(meter_storage_form, is_versioned_and_its_own_format) {
  auto m = path_meter();
  m.group_by.resize(1);
  m.event_from.reset();
  // The exact bytes: a change to the API's Meter JSON must not change them.
  EXPECT_EQ(to_storage_form(m),
            R"({"version":1,"id":"01234567-89ab-4cde-8f01-23456789abcd",)"
            R"("slug":"llm_tokens","name":"LLM tokens","description":"tokens by model",)"
            R"("aggregation":"unique_count","event_type":"prompt","event_from":null,)"
            R"("value_property":"$.usage['total tokens']",)"
            R"("group_by":[{"key":"model","path":"$.model"}],)"
            R"("created_at":1705276800000,"updated_at":1705276800005})");
}

TEST(meter_storage_form, round_trips) {
  auto m = path_meter();
  auto back = from_storage_form(to_storage_form(m));
  ASSERT_TRUE(back) << back.error;
  expect_same(back.value, m);

  meter count;
  count.id = "c";
  count.slug = "calls";
  count.name = "calls";
  count.event_type = "call";
  count.created_at = count.updated_at = created;
  auto count_back = from_storage_form(to_storage_form(count));
  ASSERT_TRUE(count_back) << count_back.error;
  expect_same(count_back.value, count);
  EXPECT_FALSE(count_back.value.value_property);
}

TEST(meter_storage_form, reads_the_unversioned_form_of_earlier_releases) {
  auto m = path_meter();
  auto legacy = meter_json(m).dump();
  auto back = from_storage_form(legacy);
  ASSERT_TRUE(back) << back.error;
  expect_same(back.value, m);
}

TEST(meter_storage_form, refuses_what_it_cannot_read) {
  auto newer = from_storage_form(R"({"version":2,"id":"x"})");
  EXPECT_NE(newer.error.find("version 2 is newer than this build understands"),
            std::string::npos)
      << newer.error;
  EXPECT_FALSE(from_storage_form("not json"));
  EXPECT_FALSE(from_storage_form("[1]"));
  EXPECT_FALSE(from_storage_form(R"({"version":"1"})"));
  auto text = to_storage_form(path_meter());
  auto bad_aggregation = text;
  bad_aggregation.replace(bad_aggregation.find("unique_count"), 12, "UNIQUE_COUNT");
  auto e = from_storage_form(bad_aggregation);
  EXPECT_NE(e.error.find("aggregation \"UNIQUE_COUNT\" is unknown"), std::string::npos)
      << e.error;
  auto bad_path = text;
  bad_path.replace(bad_path.find("$.model"), 7, "$.*");
  EXPECT_FALSE(from_storage_form(bad_path));
  auto bad_time = text;
  bad_time.replace(bad_time.find("1705276800005"), 13, "\"2024-01-15\"");
  e = from_storage_form(bad_time);
  EXPECT_NE(e.error.find("updated_at must be an integer"), std::string::npos) << e.error;
  // An unversioned document is read as the API's form, with its checks.
  auto legacy = meter_json(path_meter());
  legacy.erase("id");
  EXPECT_NE(from_storage_form(legacy.dump()).error.find("id is required"),
            std::string::npos);
}

} // namespace
