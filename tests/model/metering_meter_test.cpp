#include "model/metering.hpp"

#include <gtest/gtest.h>

namespace {

using namespace um::model;
using json = nlohmann::ordered_json;

constexpr millis now = 1'705'314'600'123; // 2024-01-15T10:30:00.123Z

json tokens_body() {
  return json{{"slug", "tokens_total"},
              {"name", "Tokens Total"},
              {"description", "AI Token Usage"},
              {"aggregation", "SUM"},
              {"eventType", "prompt"},
              {"valueProperty", "$.tokens"},
              {"groupBy", {{"model", "$.model"}, {"type", "$.type"}}}};
}

meter tokens_meter() {
  auto m = parse_meter(tokens_body(), now, "01HMETER");
  EXPECT_TRUE(m) << m.error;
  return m.value;
}

std::string error_of(const json& body) {
  auto m = parse_meter(body, now, "id");
  EXPECT_FALSE(m);
  return m.error;
}

bool has(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

event prompt_event(std::string data, millis time = now, std::string type = "prompt") {
  return event{"e1", "src", std::move(type), "customer-1", time, std::move(data), now};
}

TEST(meter, aggregation_names_round_trip) {
  for (auto a :
       {meter_aggregation::sum, meter_aggregation::count, meter_aggregation::unique_count,
        meter_aggregation::avg, meter_aggregation::min, meter_aggregation::max,
        meter_aggregation::latest})
    EXPECT_EQ(try_parse_meter_aggregation(meter_aggregation_name(a)), a);
  EXPECT_EQ(meter_aggregation_name(meter_aggregation::unique_count), "UNIQUE_COUNT");
  EXPECT_FALSE(try_parse_meter_aggregation("sum"));
  EXPECT_FALSE(try_parse_meter_aggregation("MEDIAN"));
}

TEST(meter, slugs) {
  for (auto ok : {"a", "tokens", "tokens_total", "a1_b2_c3", "0", "x_1"})
    EXPECT_TRUE(is_valid_meter_slug(ok)) << ok;
  for (auto bad : {"", "_a", "a_", "a__b", "Tokens", "a-b", "a b", "a.b", "é"})
    EXPECT_FALSE(is_valid_meter_slug(bad)) << bad;
  EXPECT_TRUE(is_valid_meter_slug(std::string(64, 'a')));
  EXPECT_FALSE(is_valid_meter_slug(std::string(65, 'a')));
}

TEST(meter, parses_the_sdk_example) {
  auto m = tokens_meter();
  EXPECT_EQ(m.id, "01HMETER");
  EXPECT_EQ(m.slug, "tokens_total");
  EXPECT_EQ(m.name, "Tokens Total");
  EXPECT_EQ(m.description, "AI Token Usage");
  EXPECT_EQ(m.aggregation, meter_aggregation::sum);
  EXPECT_EQ(m.event_type, "prompt");
  ASSERT_TRUE(m.value_property);
  EXPECT_EQ(m.value_property->text, "$.tokens");
  ASSERT_EQ(m.group_by.size(), 2u);
  EXPECT_EQ(m.group_by[0].key, "model");
  EXPECT_EQ(m.group_by[1].path.text, "$.type");
  EXPECT_FALSE(m.event_from);
  EXPECT_EQ(m.created_at, now);
  EXPECT_EQ(m.updated_at, now);
}

TEST(meter, renders_the_sdk_meter_shape) {
  auto m = tokens_meter();
  EXPECT_EQ(
      meter_json(m).dump(),
      R"({"id":"01HMETER","slug":"tokens_total","name":"Tokens Total",)"
      R"("description":"AI Token Usage","aggregation":"SUM","eventType":"prompt",)"
      R"("valueProperty":"$.tokens","groupBy":{"model":"$.model","type":"$.type"},)"
      R"("createdAt":"2024-01-15T10:30:00.123Z","updatedAt":"2024-01-15T10:30:00.123Z"})");
  auto body = json{{"slug", "calls"},
                   {"aggregation", "COUNT"},
                   {"eventType", "api_call"},
                   {"eventFrom", "2024-01-01T00:00:00Z"}};
  auto count = parse_meter(body, now, "m2");
  ASSERT_TRUE(count) << count.error;
  auto j = meter_json(count.value);
  EXPECT_EQ(j["name"], "calls");
  EXPECT_FALSE(j.contains("description"));
  EXPECT_FALSE(j.contains("valueProperty"));
  EXPECT_EQ(j["eventFrom"], "2024-01-01T00:00:00.000Z");
  EXPECT_EQ(j["groupBy"], json::object());
}

TEST(meter, count_ignores_value_property) {
  auto body = json{{"slug", "calls"},
                   {"aggregation", "COUNT"},
                   {"eventType", "api_call"},
                   {"valueProperty", "$.whatever"}};
  auto m = parse_meter(body, now, "m");
  ASSERT_TRUE(m) << m.error;
  EXPECT_FALSE(m.value.value_property);
  body["valueProperty"] = "not a path";
  EXPECT_TRUE(parse_meter(body, now, "m"));
}

TEST(meter, value_property_is_required_except_for_count) {
  for (auto a : {"SUM", "AVG", "MIN", "MAX", "LATEST", "UNIQUE_COUNT"}) {
    auto body = tokens_body();
    body["aggregation"] = a;
    body.erase("valueProperty");
    EXPECT_EQ(error_of(body), "valueProperty is required for " + std::string{a});
  }
  auto body = tokens_body();
  body["valueProperty"] = "$.tokens[*]";
  EXPECT_TRUE(has(error_of(body), "valueProperty: invalid JSONPath"));
  body["valueProperty"] = 3;
  EXPECT_EQ(error_of(body), "valueProperty must be a JSONPath string");
}

TEST(meter, reports_every_problem) {
  auto e = error_of(json::object());
  EXPECT_TRUE(has(e, "slug is required")) << e;
  EXPECT_TRUE(has(e, "aggregation is required")) << e;
  EXPECT_TRUE(has(e, "eventType is required")) << e;
  EXPECT_EQ(error_of(json::array()), "request body must be a JSON object");

  auto body = tokens_body();
  body["slug"] = "Tokens-Total";
  body["aggregation"] = "MEDIAN";
  body["eventType"] = "";
  body["eventFrom"] = "last week";
  body["name"] = "";
  body["description"] = std::string(1025, 'd');
  e = error_of(body);
  EXPECT_TRUE(has(e, "slug must be 1 to 64 characters")) << e;
  EXPECT_TRUE(has(e, "aggregation must be one of SUM, COUNT")) << e;
  EXPECT_TRUE(has(e, "eventType must be a non-empty string")) << e;
  EXPECT_TRUE(has(e, "eventFrom must be an RFC 3339 date-time")) << e;
  EXPECT_TRUE(has(e, "name must be 1 to 256 characters")) << e;
  EXPECT_TRUE(has(e, "description must be 1024 characters or less")) << e;
  EXPECT_TRUE(has(e, "; ")) << e;

  body = tokens_body();
  body["slug"] = std::string(65, 'a');
  EXPECT_TRUE(has(error_of(body), "slug must be 1 to 64"));
  body = tokens_body();
  body["name"] = std::string(257, 'n');
  EXPECT_TRUE(has(error_of(body), "name must be 1 to 256"));
  body["name"] = std::string(256, 'n');
  EXPECT_TRUE(parse_meter(body, now, "x"));
}

TEST(meter, group_by_rules) {
  auto with_group_by = [](json group_by) {
    auto body = tokens_body();
    body["groupBy"] = std::move(group_by);
    return body;
  };
  EXPECT_EQ(error_of(with_group_by(json::array())),
            "groupBy must be an object of key to JSONPath");
  EXPECT_TRUE(has(error_of(with_group_by({{"bad-key", "$.a"}})), "groupBy \"bad-key\""));
  EXPECT_TRUE(has(error_of(with_group_by({{"1st", "$.a"}})), "keys must start"));
  EXPECT_TRUE(
      has(error_of(with_group_by({{std::string(65, 'k'), "$.a"}})), "at most 64"));
  EXPECT_TRUE(has(error_of(with_group_by({{"subject", "$.a"}})), "reserved"));
  EXPECT_TRUE(has(error_of(with_group_by({{"model", 5}})), "must be a JSONPath string"));
  EXPECT_TRUE(has(error_of(with_group_by({{"model", "model"}})), "start with $"));
  EXPECT_TRUE(has(error_of(with_group_by({{"t", "$['tokens']"}})),
                  "must differ from valueProperty"));
  auto ok = parse_meter(with_group_by({{"Model_2", "$.a.b[0]"}, {"_x", "$['c d']"}}), now,
                        "id");
  ASSERT_TRUE(ok) << ok.error;
  EXPECT_EQ(ok.value.group_by[1].key, "_x");
  EXPECT_TRUE(parse_meter(with_group_by(nullptr), now, "id"));
}

TEST(meter, ignores_window_size_metadata_and_unknown_fields) {
  auto body = tokens_body();
  body["windowSize"] = "WEEK";
  body["metadata"] = {{"team", "ai"}};
  body["id"] = "client-chosen";
  body["createdAt"] = "2020-01-01T00:00:00Z";
  body["somethingElse"] = true;
  auto m = parse_meter(body, now, "server-id");
  ASSERT_TRUE(m) << m.error;
  EXPECT_EQ(m.value.id, "server-id");
  EXPECT_EQ(m.value.created_at, now);
}

TEST(meter, update_replaces_name_description_and_group_by) {
  auto m = tokens_meter();
  auto error = apply_meter_update(
      m, json{{"name", "Tokens"}, {"groupBy", {{"region", "$.region"}}}}, now + 1000);
  ASSERT_EQ(error, "");
  EXPECT_EQ(m.name, "Tokens");
  EXPECT_EQ(m.description, "");
  ASSERT_EQ(m.group_by.size(), 1u);
  EXPECT_EQ(m.group_by[0].key, "region");
  EXPECT_EQ(m.updated_at, now + 1000);
  EXPECT_EQ(m.created_at, now);
  EXPECT_EQ(m.slug, "tokens_total");

  EXPECT_EQ(apply_meter_update(m, json::object(), now + 2000), "");
  EXPECT_EQ(m.name, "tokens_total");
  EXPECT_TRUE(m.group_by.empty());

  // A Meter read back and sent whole: fixed fields are ignored.
  auto whole = meter_json(tokens_meter());
  whole["slug"] = "other";
  whole["aggregation"] = "COUNT";
  whole["eventType"] = "other";
  EXPECT_EQ(apply_meter_update(m, whole, now + 3000), "");
  EXPECT_EQ(m.slug, "tokens_total");
  EXPECT_EQ(m.aggregation, meter_aggregation::sum);
  EXPECT_EQ(m.event_type, "prompt");
  EXPECT_EQ(m.group_by.size(), 2u);
  EXPECT_EQ(m.description, "AI Token Usage");
}

TEST(meter, failed_update_leaves_the_meter_unchanged) {
  auto m = tokens_meter();
  auto error = apply_meter_update(
      m, json{{"name", "New"}, {"groupBy", {{"t", "$.tokens"}}}}, now + 1000);
  EXPECT_TRUE(has(error, "must differ from valueProperty")) << error;
  EXPECT_EQ(m.name, "Tokens Total");
  EXPECT_EQ(m.group_by.size(), 2u);
  EXPECT_EQ(m.updated_at, now);
  EXPECT_EQ(apply_meter_update(m, json::array(), now),
            "request body must be a JSON object");
}

TEST(meter, an_update_is_read_without_the_meter_and_checked_against_it) {
  // Read once, without knowing which meter it is for...
  auto update = read_meter_update(json{{"name", ""},
                                       {"groupBy",
                                        {{"model", "$.model"},
                                         {"bad key", "$.x"},
                                         {"t", "$.tokens"},
                                         {"subject", "$.s"}}}},
                                  now + 7);
  ASSERT_EQ(update.group_by.size(), 4u);
  EXPECT_EQ(update.problems,
            std::vector<std::string>{"name must be 1 to 256 characters"});
  // ...then every problem in the order of the body, the valueProperty check
  // against the meter in its place among the group-bys.
  auto m = tokens_meter();
  auto applied = apply_meter_update(m, update);
  ASSERT_FALSE(applied);
  EXPECT_EQ(
      applied.error,
      "name must be 1 to 256 characters; groupBy \"bad key\": keys must start with "
      "a letter or _ and consist of letters, digits and _ (at most 64 characters); "
      "groupBy \"t\": must differ from valueProperty; groupBy \"subject\": subject is "
      "reserved for grouping by the subject");
  // The same paths are fine for a meter that counts another property.
  auto ok = read_meter_update(json{{"groupBy", {{"t", "$.tokens"}}}}, now + 9);
  auto other = m;
  other.value_property = parse_json_path("$.cost").value;
  auto done = apply_meter_update(other, ok);
  ASSERT_TRUE(done) << done.error;
  EXPECT_EQ(done.value.updated_at, now + 9);
  EXPECT_EQ(done.value.name, "tokens_total");
  ASSERT_EQ(done.value.group_by.size(), 1u);
  EXPECT_FALSE(apply_meter_update(m, ok));
}

TEST(meter, stored_json_round_trips) {
  auto m = tokens_meter();
  m.event_from = 1'700'000'000'000;
  m.updated_at = now + 5;
  auto back = meter_from_json(meter_json(m));
  ASSERT_TRUE(back) << back.error;
  EXPECT_EQ(meter_json(back.value), meter_json(m));
  EXPECT_EQ(back.value.id, m.id);
  EXPECT_EQ(back.value.updated_at, now + 5);
  auto broken = meter_json(m);
  broken.erase("id");
  broken.erase("createdAt");
  auto e = meter_from_json(broken);
  EXPECT_TRUE(has(e.error, "id is required")) << e.error;
  EXPECT_TRUE(has(e.error, "createdAt must be")) << e.error;
}

TEST(meter, config_file_meters) {
  auto entry = json{{"slug", "m1"},
                    {"description", "Meter 1"},
                    {"eventType", "event"},
                    {"aggregation", "SUM"},
                    {"valueProperty", "$.value"},
                    {"groupBy", {{"group1", "$.group1"}, {"group2", "$.group2"}}},
                    {"windowSize", "MINUTE"}};
  auto m = meter_from_config(entry, now);
  ASSERT_TRUE(m) << m.error;
  EXPECT_EQ(m.value.id, "m1");
  EXPECT_EQ(m.value.name, "m1");
  EXPECT_EQ(m.value.description, "Meter 1");
  EXPECT_EQ(m.value.group_by.size(), 2u);
  EXPECT_EQ(m.value.created_at, now);
  entry["windowSize"] = "WEEK";
  auto bad = meter_from_config(entry);
  EXPECT_EQ(bad.error,
            "meter \"m1\": windowSize must be one of MINUTE, HOUR, DAY, MONTH");
  entry.erase("windowSize");
  entry.erase("slug");
  EXPECT_EQ(meter_from_config(entry).error, "slug is required");
  EXPECT_EQ(meter_from_config(json("x")).error, "a meter must be a mapping");
}

// -- extract_sample -----------------------------------------------------------

TEST(meter, extracts_values_and_group_values) {
  auto m = tokens_meter();
  auto s = extract_sample(m, prompt_event(R"({"tokens": 12.5, "model": "gpt-4"})"));
  ASSERT_EQ(s.status, sample_status::counted) << s.error;
  EXPECT_EQ(s.sample.subject, "customer-1");
  EXPECT_EQ(s.sample.time, now);
  EXPECT_DOUBLE_EQ(s.sample.value, 12.5);
  EXPECT_FALSE(s.sample.unique_value);
  ASSERT_EQ(s.sample.group_values.size(), 2u);
  EXPECT_EQ(s.sample.group_values[0], std::optional<std::string>{"gpt-4"});
  EXPECT_EQ(s.sample.group_values[1], std::nullopt);

  for (auto [text, expected] :
       {std::pair{R"("3")", 3.0}, std::pair{R"("-2.5")", -2.5},
        std::pair{R"("1e3")", 1e3}, std::pair{R"("+4")", 4.0}, std::pair{"0", 0.0},
        std::pair{"-7", -7.0},
        std::pair{"18446744073709551615", 18446744073709551615.0}}) {
    auto r = extract_sample(m, prompt_event(std::string{R"({"tokens": )"} + text + "}"));
    ASSERT_EQ(r.status, sample_status::counted) << text << ": " << r.error;
    EXPECT_DOUBLE_EQ(r.sample.value, expected) << text;
  }
}

TEST(meter, hostile_stored_data_is_invalid_not_a_crash) {
  auto m = tokens_meter();
  std::string deep;
  for (int i = 0; i < 100'000; ++i)
    deep += R"({"a":)";
  deep += "1" + std::string(100'000, '}');
  auto s = extract_sample(m, prompt_event(deep));
  EXPECT_EQ(s.status, sample_status::invalid);
  EXPECT_EQ(s.error, "invalid event: null and missing value property");
}

TEST(meter, wide_stored_data_is_read) {
  auto m = tokens_meter();
  std::string data = "{";
  for (int i = 0; i < 100'000; ++i)
    data += "\"k" + std::to_string(i) + "\":1,";
  auto s = extract_sample(m, prompt_event(data + R"("tokens":7})"));
  ASSERT_EQ(s.status, sample_status::counted) << s.error;
  EXPECT_DOUBLE_EQ(s.sample.value, 7);
}

TEST(meter, group_values_are_stringified) {
  auto body = tokens_body();
  body["groupBy"] = {{"s", "$.s"},   {"i", "$.i"},    {"f", "$.f"},
                     {"fi", "$.fi"}, {"b", "$.b"},    {"n", "$.n"},
                     {"o", "$.o"},   {"a", "$.a[1]"}, {"deep", "$.x.y"}};
  auto m = parse_meter(body, now, "id");
  ASSERT_TRUE(m) << m.error;
  auto s = extract_sample(
      m.value, prompt_event(R"({"tokens":1,"s":"text","i":42,"f":1.5,"fi":2.0,"b":true,)"
                            R"("n":null,"o":{"k":[1]},"a":["x","y"],"x":{"y":"z"}})"));
  ASSERT_EQ(s.status, sample_status::counted) << s.error;
  std::vector<std::optional<std::string>> expected{
      "text", "42", "1.5", "2", "true", std::nullopt, R"({"k":[1]})", "y", "z"};
  EXPECT_EQ(s.sample.group_values, expected);
}

TEST(meter, invalid_values_explain_themselves) {
  auto m = tokens_meter();
  auto error = [&](std::string data) {
    auto s = extract_sample(m, prompt_event(std::move(data)));
    EXPECT_EQ(s.status, sample_status::invalid);
    return s.error;
  };
  // OpenMeter's texts, word for word (meter.ParseEvent).
  EXPECT_EQ(error(R"({"model":"x"})"),
            R"(invalid event: missing value property: "$.tokens")");
  EXPECT_EQ(error(R"({"tokens":null})"), "invalid event: value cannot be null");
  EXPECT_EQ(error(R"({"tokens":"abc"})"),
            "invalid event: value cannot be parsed as float64: abc");
  for (auto bad :
       {R"("")", R"(" 1")", R"("1 ")", R"("1e400")", R"("0x10")", R"("++1")", R"("1,5")"})
    EXPECT_TRUE(has(error(std::string{R"({"tokens":)"} + bad + "}"),
                    "invalid event: value cannot be parsed as float64: "))
        << bad;
  for (auto nan : {R"("NaN")", R"("nan")", R"("NAN")"})
    EXPECT_EQ(error(std::string{R"({"tokens":)"} + nan + "}"),
              "invalid event: value cannot be NaN");
  for (auto inf : {R"("inf")", R"("-Inf")", R"("+infinity")", R"("Infinity")"})
    EXPECT_EQ(error(std::string{R"({"tokens":)"} + inf + "}"),
              "invalid event: value cannot be infinity");
  EXPECT_EQ(error(R"({"tokens":true})"),
            "invalid event: unsupported value property type: bool");
  EXPECT_EQ(error(R"({"tokens":{"a":1}})"),
            "invalid event: unsupported value property type: map[string]interface {}");
  EXPECT_EQ(error(R"({"tokens":[1]})"),
            "invalid event: unsupported value property type: []interface {}");
  // Data sent null or without data.
  EXPECT_EQ(error("null"), "invalid event: null and missing value property");
  EXPECT_EQ(error(""), "invalid event: null and missing value property");
  EXPECT_EQ(error("not json"), "invalid event: null and missing value property");
}

TEST(meter, other_types_and_early_events_are_not_applicable) {
  auto m = tokens_meter();
  m.event_from = now;
  auto other = extract_sample(m, prompt_event("not even json", now, "login"));
  EXPECT_EQ(other.status, sample_status::not_applicable);
  EXPECT_EQ(other.error, "");
  auto early = extract_sample(m, prompt_event(R"({"tokens":1})", now - 1));
  EXPECT_EQ(early.status, sample_status::not_applicable);
  auto on_time = extract_sample(m, prompt_event(R"({"tokens":1})", now));
  EXPECT_EQ(on_time.status, sample_status::counted);
  auto parsed = nlohmann::json::parse(R"({"tokens":1})");
  EXPECT_EQ(extract_sample(m, prompt_event("", now, "login"), parsed).status,
            sample_status::not_applicable);
  EXPECT_EQ(extract_sample(m, prompt_event("", now), parsed).status,
            sample_status::counted);
}

TEST(meter, count_needs_no_value) {
  auto m = parse_meter(json{{"slug", "calls"},
                            {"aggregation", "COUNT"},
                            {"eventType", "prompt"},
                            {"groupBy", {{"model", "$.model"}}}},
                       now, "id");
  ASSERT_TRUE(m);
  auto s = extract_sample(m.value, prompt_event("{}"));
  EXPECT_EQ(s.status, sample_status::counted);
  EXPECT_EQ(s.sample.group_values, std::vector<std::optional<std::string>>{std::nullopt});
  // Sent with null data or none: counted too, as OpenMeter counts it.
  for (auto data : {"null", ""}) {
    auto none = extract_sample(m.value, prompt_event(data));
    EXPECT_EQ(none.status, sample_status::counted) << data;
    EXPECT_EQ(none.sample.group_values,
              std::vector<std::optional<std::string>>{std::nullopt});
  }
}

TEST(meter, unique_count_takes_strings_numbers_and_booleans) {
  auto body = tokens_body();
  body["aggregation"] = "UNIQUE_COUNT";
  body["valueProperty"] = "$.user";
  auto m = parse_meter(body, now, "id");
  ASSERT_TRUE(m) << m.error;
  auto unique = [&](std::string value) {
    auto s = extract_sample(m.value, prompt_event(R"({"user":)" + value + "}"));
    EXPECT_EQ(s.status, sample_status::counted) << value << ": " << s.error;
    EXPECT_DOUBLE_EQ(s.sample.value, 0);
    return s.sample.unique_value.value_or("<none>");
  };
  EXPECT_EQ(unique(R"("alice")"), "alice");
  EXPECT_EQ(unique(R"("")"), "");
  EXPECT_EQ(unique("123"), "123");
  EXPECT_EQ(unique("123.0"), "123");
  EXPECT_EQ(unique("1.25"), "1.25");
  EXPECT_EQ(unique("false"), "false");
  auto s = extract_sample(m.value, prompt_event(R"({"user":{"id":1}})"));
  EXPECT_EQ(s.status, sample_status::invalid);
  EXPECT_EQ(s.error,
            "invalid event: unsupported value property type: map[string]interface {}");
  EXPECT_EQ(extract_sample(m.value, prompt_event("{}")).error,
            R"(invalid event: missing value property: "$.user")");
}

} // namespace
