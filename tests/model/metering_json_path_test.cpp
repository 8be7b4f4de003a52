#include "model/json_path.hpp"

#include <gtest/gtest.h>

namespace {

using namespace um::model;
using json = nlohmann::json;

json_path path_of(std::string_view text) {
  auto p = parse_json_path(text);
  EXPECT_TRUE(p) << text << ": " << p.error;
  return p.value;
}

std::string error_of(std::string_view text) {
  auto p = parse_json_path(text);
  EXPECT_FALSE(p) << text << " parsed";
  return p.error;
}

TEST(json_path, parses_dotted_names) {
  auto p = path_of("$.usage.input_tokens");
  ASSERT_EQ(p.steps.size(), 2u);
  EXPECT_EQ(p.steps[0].name, "usage");
  EXPECT_EQ(p.steps[1].name, "input_tokens");
  EXPECT_FALSE(p.steps[1].index);
  EXPECT_EQ(p.text, "$.usage.input_tokens");
  EXPECT_EQ(path_of("$.a-b").steps[0].name, "a-b");
  EXPECT_EQ(path_of("$.0").steps[0].name, "0");
  EXPECT_EQ(path_of("$.caf\xC3\xA9").steps[0].name, "caf\xC3\xA9");
}

TEST(json_path, parses_quoted_names_and_indices) {
  auto p = path_of("$.a['b c'][2].d");
  ASSERT_EQ(p.steps.size(), 4u);
  EXPECT_EQ(p.steps[0].name, "a");
  EXPECT_EQ(p.steps[1].name, "b c");
  EXPECT_EQ(p.steps[2].index, std::optional<std::size_t>{2});
  EXPECT_EQ(p.steps[3].name, "d");
  EXPECT_EQ(path_of("$[\"a.b\"]").steps[0].name, "a.b");
  EXPECT_EQ(path_of("$['it\\'s']").steps[0].name, "it's");
  EXPECT_EQ(path_of("$['back\\\\slash']").steps[0].name, "back\\slash");
  EXPECT_EQ(path_of("$['[x]']").steps[0].name, "[x]");
  EXPECT_EQ(path_of("$[0]").steps[0].index, std::optional<std::size_t>{0});
  EXPECT_EQ(path_of("$.a[10][3]").steps[2].index, std::optional<std::size_t>{3});
}

TEST(json_path, equal_paths_select_the_same_value) {
  EXPECT_EQ(path_of("$.a.b"), path_of("$['a'][\"b\"]"));
  EXPECT_NE(path_of("$.a"), path_of("$.b"));
  EXPECT_NE(path_of("$.a[0]"), path_of("$.a['0']"));
}

TEST(json_path, rejects_everything_else_with_a_reason) {
  EXPECT_NE(error_of("").find("required"), std::string::npos);
  EXPECT_NE(error_of("tokens").find("start with $"), std::string::npos);
  EXPECT_NE(error_of("$").find("$ alone"), std::string::npos);
  EXPECT_NE(error_of("$..a").find("recursive descent"), std::string::npos);
  EXPECT_NE(error_of("$.*").find("wildcards"), std::string::npos);
  EXPECT_NE(error_of("$[*]").find("wildcards"), std::string::npos);
  EXPECT_NE(error_of("$.a[?(@.b > 1)]").find("filters"), std::string::npos);
  EXPECT_NE(error_of("$.a[1:2]").find("slices"), std::string::npos);
  EXPECT_NE(error_of("$.a[:2]").find("slices"), std::string::npos);
  EXPECT_NE(error_of("$.a[0,1]").find("unions"), std::string::npos);
  EXPECT_NE(error_of("$['a','b']").find("unions"), std::string::npos);
  EXPECT_NE(error_of("$.a[-1]").find("negative"), std::string::npos);
  EXPECT_NE(error_of("$.").find("empty name"), std::string::npos);
  EXPECT_NE(error_of("$.a.").find("empty name"), std::string::npos);
  EXPECT_NE(error_of("$.a.[0]").find("empty name"), std::string::npos);
  EXPECT_NE(error_of("$['']").find("empty name"), std::string::npos);
  EXPECT_NE(error_of("$[]").find("empty brackets"), std::string::npos);
  EXPECT_NE(error_of("$.a[").find("unterminated"), std::string::npos);
  EXPECT_NE(error_of("$['a").find("unterminated"), std::string::npos);
  EXPECT_NE(error_of("$['a'").find("expected ]"), std::string::npos);
  EXPECT_NE(error_of("$[1").find("expected ]"), std::string::npos);
  EXPECT_NE(error_of("$[01]").find("leading zero"), std::string::npos);
  EXPECT_NE(error_of("$['a\\n']").find("escape"), std::string::npos);
  EXPECT_NE(error_of("$.a b").find("unexpected character ' '"), std::string::npos);
  EXPECT_NE(error_of(" $.a").find("start with $"), std::string::npos);
  EXPECT_NE(error_of("$a").find("unexpected character 'a'"), std::string::npos);
  EXPECT_NE(error_of("$[a]").find("quoted name or an index"), std::string::npos);
  EXPECT_NE(error_of("$[99999999999999999999]").find("too large"), std::string::npos);
  EXPECT_EQ(error_of("$.*"), "invalid JSONPath \"$.*\": wildcards are not supported");
}

TEST(json_path, evaluates_to_the_value_or_nullptr) {
  auto data = json::parse(R"({"tokens": 12, "usage": {"input": 3, "by model": {"x": "y"}},
                              "items": [{"n": 1}, {"n": 2}], "nothing": null,
                              "s": "text"})");
  const json* v = evaluate(path_of("$.tokens"), data);
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(*v, 12);
  EXPECT_EQ(*evaluate(path_of("$.usage.input"), data), 3);
  EXPECT_EQ(*evaluate(path_of("$.usage['by model'].x"), data), "y");
  EXPECT_EQ(*evaluate(path_of("$.items[1].n"), data), 2);
  EXPECT_EQ(*evaluate(path_of("$['items'][0]"), data), json::parse(R"({"n":1})"));
  ASSERT_NE(evaluate(path_of("$.nothing"), data), nullptr);
  EXPECT_TRUE(evaluate(path_of("$.nothing"), data)->is_null());
  EXPECT_EQ(evaluate(path_of("$.missing"), data), nullptr);
  EXPECT_EQ(evaluate(path_of("$.items[2]"), data), nullptr);
  EXPECT_EQ(evaluate(path_of("$.items.n"), data), nullptr);
  EXPECT_EQ(evaluate(path_of("$.usage[0]"), data), nullptr);
  EXPECT_EQ(evaluate(path_of("$.s.length"), data), nullptr);
  EXPECT_EQ(evaluate(path_of("$.s[0]"), data), nullptr);
  EXPECT_EQ(evaluate(path_of("$.tokens.x"), data), nullptr);
  EXPECT_EQ(evaluate(path_of("$.nothing.x"), data), nullptr);
}

TEST(json_path, evaluates_ordered_documents_too) {
  auto data = nlohmann::ordered_json::parse(R"({"b": 1, "a": {"c": [5, 6]}})");
  const nlohmann::ordered_json* v = evaluate(path_of("$.a.c[1]"), data);
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(*v, 6);
  EXPECT_EQ(evaluate(path_of("$.c"), data), nullptr);
}

} // namespace
