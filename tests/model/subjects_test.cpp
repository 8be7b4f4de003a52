// OpenMeter's subjects: reading an upsert, applying it, rendering a subject.

#include "model/subjects.hpp"

#include <gtest/gtest.h>

namespace {

using namespace um::model;
using ojson = nlohmann::ordered_json;

TEST(subjects, reads_one_or_many_upserts) {
  auto one = parse_subject_upserts(ojson::parse(R"({"key":"c1","displayName":"C"})"));
  ASSERT_TRUE(one) << one.error;
  ASSERT_EQ(one.value.size(), 1u);
  EXPECT_EQ(one.value[0].key, "c1");
  EXPECT_EQ(one.value[0].display_name, std::optional<std::optional<std::string>>{"C"});
  EXPECT_FALSE(one.value[0].metadata);
  auto many = parse_subject_upserts(ojson::parse(
      R"([{"key":"a","metadata":{"x":[1]},"currentPeriodStart":"2024-01-01T00:00:00Z",)"
      R"("stripeCustomerId":null,"unknown":1},{"key":"b","displayName":null}])"));
  ASSERT_TRUE(many) << many.error;
  ASSERT_EQ(many.value.size(), 2u);
  EXPECT_EQ(many.value[0].metadata,
            std::optional<std::optional<std::string>>{R"({"x":[1]})"});
  EXPECT_EQ(many.value[0].current_period_start,
            std::optional<std::optional<millis>>{1'704'067'200'000});
  ASSERT_TRUE(many.value[0].stripe_customer_id);
  EXPECT_FALSE(*many.value[0].stripe_customer_id);
  ASSERT_TRUE(many.value[1].display_name);
  EXPECT_FALSE(*many.value[1].display_name);
}

TEST(subjects, every_problem_is_named_by_its_item) {
  EXPECT_EQ(parse_subject_upserts(ojson::array()).error,
            "request body must hold at least one subject");
  EXPECT_EQ(parse_subject_upserts(ojson("x")).error,
            "request body must be an array of subjects");
  auto e = parse_subject_upserts(
               ojson::parse(R"([{"key":""},{"key":"k","metadata":"m"},5,)"
                            R"({"key":"k","currentPeriodEnd":"soon","displayName":1}])"))
               .error;
  EXPECT_EQ(e, "subject[0]: key is required and must be a non-empty string; subject[1]: "
               "metadata must be an object or null; subject[2] must be an object; "
               "subject[3]: displayName must be a string or null; subject[3]: "
               "currentPeriodEnd must be an RFC 3339 date-time");
  EXPECT_EQ(
      parse_subject_upserts(ojson::parse(R"({"key":")" + std::string(257, 'k') + "\"}"))
          .error,
      "subject: key must be at most 256 characters");
  ojson big = ojson::array();
  for (int i = 0; i < 1001; ++i)
    big.push_back({{"key", "k"}});
  EXPECT_EQ(parse_subject_upserts(big).error,
            "request body must hold at most 1000 subjects");
}

TEST(subjects, an_upsert_sets_what_it_gives_and_keeps_the_rest) {
  subject_upsert create;
  create.key = "c1";
  create.display_name.emplace("C");
  create.metadata.emplace(R"({"a":1})");
  auto s = apply_subject_upsert(std::nullopt, create, 100, "id-1");
  EXPECT_EQ(s.id, "id-1");
  EXPECT_EQ(s.created_at, 100);
  EXPECT_EQ(s.updated_at, 100);
  subject_upsert change;
  change.key = "c1";
  change.display_name.emplace(std::nullopt);
  change.stripe_customer_id.emplace("cus");
  auto t = apply_subject_upsert(s, change, 200, "ignored");
  EXPECT_EQ(t.id, "id-1");
  EXPECT_EQ(t.created_at, 100);
  EXPECT_EQ(t.updated_at, 200);
  EXPECT_FALSE(t.display_name);
  EXPECT_EQ(t.metadata, std::optional<std::string>{R"({"a":1})"});
  EXPECT_EQ(t.stripe_customer_id, std::optional<std::string>{"cus"});
  subject back;
  read_subject_fields(subject_fields_text(t), back);
  EXPECT_EQ(back.metadata, t.metadata);
  EXPECT_EQ(back.stripe_customer_id, t.stripe_customer_id);
  EXPECT_FALSE(back.display_name);
}

TEST(subjects, render_as_openmeter_answers_them) {
  subject s;
  s.id = "id-1";
  s.key = "c1";
  s.created_at = 0;
  s.updated_at = 1000;
  EXPECT_EQ(subject_json(s).dump(),
            R"({"id":"id-1","key":"c1","displayName":null,"metadata":null,)"
            R"("stripeCustomerId":null,"createdAt":"1970-01-01T00:00:00.000Z",)"
            R"("updatedAt":"1970-01-01T00:00:01.000Z"})");
  s.metadata = R"({"h":"1"})";
  s.current_period_start = 0;
  auto j = subject_json(s);
  EXPECT_EQ(j["metadata"], ojson::parse(R"({"h":"1"})"));
  EXPECT_EQ(j["currentPeriodStart"], "1970-01-01T00:00:00.000Z");
  EXPECT_FALSE(j.contains("currentPeriodEnd"));
}

} // namespace
