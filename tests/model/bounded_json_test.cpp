#include "model/bounded_json.hpp"

#include <gtest/gtest.h>

#include <string>

namespace {

using namespace um::model;
using ojson = nlohmann::ordered_json;

// `levels` objects, one inside the other: {"a":{"a":...1...}}.
std::string nested_objects(std::size_t levels) {
  std::string out;
  out.reserve(levels * 6 + 1);
  for (std::size_t i = 0; i < levels; ++i)
    out += R"({"a":)";
  out += '1';
  out.append(levels, '}');
  return out;
}

std::string nested_arrays(std::size_t levels) {
  return std::string(levels, '[') + std::string(levels, ']');
}

// An object of `n` members named k<n-1> ... k0: neither sorted nor in
// insertion order of a sorted map, so order is really kept.
std::string wide_object(std::size_t n) {
  std::string out = "{";
  for (std::size_t i = n; i-- > 0;) {
    out += "\"k" + std::to_string(i) + "\":" + std::to_string(i);
    if (i)
      out += ',';
  }
  return out + "}";
}

std::string wide_array(std::size_t n) {
  std::string out = "[";
  for (std::size_t i = 0; i < n; ++i)
    out += i ? ",0" : "0";
  return out + "]";
}

// -- depth --------------------------------------------------------------------

TEST(bounded_json, refuses_100000_levels_without_exhausting_the_stack) {
  for (const auto& text : {nested_objects(100'000), nested_arrays(100'000)}) {
    auto parsed = try_parse_json(text);
    ASSERT_FALSE(parsed);
    EXPECT_EQ(parsed.fault, json_fault::too_deep);
    EXPECT_EQ(parsed.error, "nests deeper than 64 levels");
    EXPECT_TRUE(parsed.field.empty());
    EXPECT_TRUE(parsed.value.is_null());
  }
  auto unordered = try_parse_json<nlohmann::json>(nested_objects(100'000));
  EXPECT_EQ(unordered.fault, json_fault::too_deep);
}

TEST(bounded_json, takes_64_levels_and_refuses_65) {
  for (auto text : {nested_objects(64), nested_arrays(64)}) {
    auto parsed = try_parse_json(text);
    ASSERT_TRUE(parsed) << parsed.error;
    EXPECT_EQ(parsed.value.dump(), text);
  }
  EXPECT_EQ(try_parse_json(nested_objects(65)).fault, json_fault::too_deep);
  EXPECT_EQ(try_parse_json(nested_arrays(65)).fault, json_fault::too_deep);
  // Scalars do not count as a level.
  EXPECT_TRUE(try_parse_json("1"));
  EXPECT_TRUE(try_parse_json(R"("text")"));
}

TEST(bounded_json, a_field_counts_its_depth_from_itself) {
  json_limits limits;
  limits.fields = {{"metadata"}, {"events", "*", "metadata"}};
  auto inside = [](const std::string& value) {
    return R"({"events":[{},{"metadata":)" + value + "}]}";
  };
  EXPECT_TRUE(try_parse_json(R"({"metadata":)" + nested_objects(64) + "}", limits));
  EXPECT_TRUE(try_parse_json(inside(nested_objects(64)), limits));

  auto top = try_parse_json(R"({"metadata":)" + nested_objects(65) + "}", limits);
  EXPECT_EQ(top.fault, json_fault::too_deep);
  EXPECT_EQ(top.field, (std::vector<std::string>{"metadata"}));

  auto batch = try_parse_json(inside(nested_arrays(100'000)), limits);
  EXPECT_EQ(batch.fault, json_fault::too_deep);
  EXPECT_EQ(batch.field, (std::vector<std::string>{"events", "1", "metadata"}));

  // Elsewhere the depth counts from the root, and no field is named.
  auto other = try_parse_json(R"({"other":)" + nested_objects(64) + "}", limits);
  EXPECT_EQ(other.fault, json_fault::too_deep);
  EXPECT_TRUE(other.field.empty());
  // "*" stands for an array element, never for a member name.
  auto named = try_parse_json(
      R"({"events":{"x":{"metadata":)" + nested_objects(62) + "}}}", limits);
  EXPECT_EQ(named.fault, json_fault::too_deep);
  EXPECT_TRUE(named.field.empty());
}

// -- width --------------------------------------------------------------------

TEST(bounded_json, takes_10000_members_and_refuses_10001) {
  EXPECT_TRUE(try_parse_json(wide_object(10'000)));
  EXPECT_TRUE(try_parse_json(wide_array(10'000)));

  auto object = try_parse_json(wide_object(10'001));
  EXPECT_EQ(object.fault, json_fault::too_wide);
  EXPECT_EQ(object.error, "has more than 10000 members in one object");
  auto array = try_parse_json(wide_array(10'001));
  EXPECT_EQ(array.fault, json_fault::too_wide);
  EXPECT_EQ(array.error, "has more than 10000 members in one array");
  EXPECT_EQ(try_parse_json<nlohmann::json>(wide_object(10'001)).fault,
            json_fault::too_wide);
}

TEST(bounded_json, counts_a_repeated_name_each_time) {
  std::string text = "{";
  for (int i = 0; i <= 10'000; ++i)
    text += i ? R"(,"a":1)" : R"("a":1)";
  EXPECT_EQ(try_parse_json(text + "}").fault, json_fault::too_wide);
}

TEST(bounded_json, names_the_field_an_oversized_container_is_in) {
  json_limits limits;
  limits.fields = {{"data"}, {"*", "data"}};
  auto parsed = try_parse_json(
      R"([{"data":{}},{"data":{"list":)" + wide_array(10'001) + "}}]", limits);
  EXPECT_EQ(parsed.fault, json_fault::too_wide);
  EXPECT_EQ(parsed.error, "has more than 10000 members in one array");
  EXPECT_EQ(parsed.field, (std::vector<std::string>{"1", "data"}));
  auto root = try_parse_json(R"({"data":)" + wide_object(10'001) + "}", limits);
  EXPECT_EQ(root.field, (std::vector<std::string>{"data"}));
}

TEST(bounded_json, stored_limits_read_wide_legacy_data) {
  auto parsed = try_parse_json(wide_object(100'000), stored_json_limits);
  ASSERT_TRUE(parsed) << parsed.error;
  EXPECT_EQ(parsed.value.size(), 100'000u);
  EXPECT_EQ(parsed.value.dump(), wide_object(100'000));
  EXPECT_EQ(try_parse_json(nested_arrays(100'000), stored_json_limits).fault,
            json_fault::too_deep);
}

// -- members in JavaScript's order -------------------------------------------

TEST(bounded_json, a_10000_member_object_keeps_its_order) {
  auto text = wide_object(10'000);
  auto parsed = try_parse_json(text);
  ASSERT_TRUE(parsed) << parsed.error;
  EXPECT_EQ(parsed.value.size(), 10'000u);
  EXPECT_EQ(parsed.value.begin().key(), "k9999");
  EXPECT_EQ(parsed.value.dump(), text);
}

// Each pair: what a client sent, and JSON.stringify(JSON.parse(it)) in Node 20
// (the earlier service's answer), byte for byte.
TEST(bounded_json, serializes_as_javascript_json_parse_does) {
  const std::pair<std::string, std::string> cases[] = {
      {R"({"b":1,"a":2,"b":3})", R"({"b":3,"a":2})"},
      {R"({"b":1,"2":"x","a":2,"1":"y","01":"z","4294967294":1,"4294967295":2,"-1":3,"1.5":4,"0":5})",
       R"({"0":5,"1":"y","2":"x","4294967294":1,"b":1,"a":2,"01":"z","4294967295":2,"-1":3,"1.5":4})"},
      {R"({"__proto__":{"p":1},"constructor":2,"c":{"k":1,"k":{"z":1},"j":[{"x":1,"x":2}]}})",
       R"({"__proto__":{"p":1},"constructor":2,"c":{"k":{"z":1},"j":[{"x":2}]}})"},
      {R"({"a":{"deep":1},"a":[1,2],"b":null,"a":"last"})", R"({"a":"last","b":null})"},
      // Past the linear scan: the names are hashed.
      {R"({"k0":0,"k1":1,"k2":2,"k3":3,"k4":4,"k5":5,"k6":6,"k7":7,"k8":8,"k9":9,"k10":10,)"
       R"("k11":11,"k12":12,"k13":13,"k14":14,"k15":15,"k16":16,"k17":17,"k18":18,"k19":19,)"
       R"("k20":20,"k21":21,"k22":22,"k23":23,"k24":24,"k0":25,"k1":26,"k2":27,"k3":28,"k4":29,)"
       R"("k5":30,"k6":31,"k7":32,"k8":33,"k9":34,"k10":35,"k11":36,"k12":37,"k13":38,"k14":39,)"
       R"("7":"seven","k3":"again"})",
       R"({"7":"seven","k0":25,"k1":26,"k2":27,"k3":"again","k4":29,"k5":30,"k6":31,"k7":32,)"
       R"("k8":33,"k9":34,"k10":35,"k11":36,"k12":37,"k13":38,"k14":39,"k15":15,"k16":16,)"
       R"("k17":17,"k18":18,"k19":19,"k20":20,"k21":21,"k22":22,"k23":23,"k24":24})"},
  };
  for (const auto& [sent, expected] : cases) {
    auto parsed = try_parse_json(sent);
    ASSERT_TRUE(parsed) << sent;
    EXPECT_EQ(parsed.value.dump(), expected) << sent;
  }
}

TEST(bounded_json, an_unordered_document_keeps_the_last_value) {
  auto parsed = try_parse_json<nlohmann::json>(R"({"b":1,"a":{"x":1},"b":3,"a":2})");
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed.value.dump(), R"({"a":2,"b":3})");
}

// -- syntax -------------------------------------------------------------------

TEST(bounded_json, reports_what_is_not_json) {
  for (const char* text : {"", "{", R"({"a":1,})", R"({'a':1})", R"({"a":1}{"b":2})",
                           "[1,2", "nul", "1e400", "\"\xC3\x28\"", "{\"a\":1} x"}) {
    auto parsed = try_parse_json(text);
    EXPECT_EQ(parsed.fault, json_fault::syntax) << text;
    EXPECT_EQ(parsed.error, "is not valid JSON") << text;
    EXPECT_TRUE(parsed.value.is_null()) << text;
  }
  auto scalar = try_parse_json(" 42 ");
  ASSERT_TRUE(scalar);
  EXPECT_EQ(scalar.value, 42);
}

} // namespace
