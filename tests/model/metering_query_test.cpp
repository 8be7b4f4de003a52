#include "model/meter_query.hpp"

#include <gtest/gtest.h>

namespace {

using namespace um::model;
using json = nlohmann::ordered_json;
using params = std::vector<std::pair<std::string, std::string>>;

constexpr millis now = 1'705'314'600'123;

meter tokens_meter() {
  auto m = parse_meter(json{{"slug", "tokens_total"},
                            {"aggregation", "SUM"},
                            {"eventType", "prompt"},
                            {"valueProperty", "$.tokens"},
                            {"groupBy", {{"model", "$.model"}, {"type", "$.type"}}}},
                       now, "id");
  EXPECT_TRUE(m) << m.error;
  return m.value;
}

millis at(std::string_view text) {
  return try_parse_iso8601(text).value();
}

meter_query query_of(const params& p) {
  auto q = parse_meter_query(p, tokens_meter());
  EXPECT_TRUE(q) << q.error;
  return q.value;
}

std::string error_of(const params& p) {
  auto q = parse_meter_query(p, tokens_meter());
  EXPECT_FALSE(q);
  return q.error;
}

bool has(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

TEST(meter_query, defaults) {
  auto q = query_of({});
  EXPECT_FALSE(q.from_given);
  EXPECT_FALSE(q.to_given);
  EXPECT_EQ(q.from, earliest_query_time);
  EXPECT_EQ(q.to, latest_query_time);
  EXPECT_EQ(format_iso8601(earliest_query_time), "0000-01-01T00:00:00.000Z");
  EXPECT_EQ(format_iso8601(latest_query_time), "9999-12-31T23:59:59.999Z");
  EXPECT_FALSE(q.window);
  EXPECT_EQ(q.time_zone, "UTC");
  EXPECT_TRUE(q.subjects.empty());
  EXPECT_TRUE(q.group_by.empty());
  EXPECT_TRUE(q.filter_group_by.empty());
}

TEST(meter_query, reads_what_the_sdk_sends) {
  // openapi-fetch with explode form arrays and deepObject objects; Dates as
  // toISOString().
  auto q = query_of({{"from", "2024-01-01T00:00:00.000Z"},
                     {"to", "2024-02-01T00:00:00.000Z"},
                     {"windowSize", "DAY"},
                     {"windowTimeZone", "Europe/Berlin"},
                     {"subject", "customer-1"},
                     {"subject", "customer-2"},
                     {"groupBy", "subject"},
                     {"groupBy", "model"},
                     {"filterGroupBy[model]", "gpt-4"},
                     {"filterGroupBy[type]", "input"},
                     {"clientId", "abc"},
                     {"somethingElse", "x"}});
  EXPECT_TRUE(q.from_given);
  EXPECT_EQ(q.from, at("2024-01-01T00:00:00Z"));
  EXPECT_EQ(q.to, at("2024-02-01T00:00:00Z"));
  EXPECT_EQ(q.window, window_size::day);
  EXPECT_EQ(q.time_zone, "Europe/Berlin");
  EXPECT_EQ(q.subjects, (std::vector<std::string>{"customer-1", "customer-2"}));
  EXPECT_EQ(q.group_by, (std::vector<std::string>{"subject", "model"}));
  ASSERT_EQ(q.filter_group_by.size(), 2u);
  EXPECT_EQ(q.filter_group_by[0],
            (std::pair<std::string, std::string>{"model", "gpt-4"}));
  EXPECT_EQ(q.filter_group_by[1], (std::pair<std::string, std::string>{"type", "input"}));
}

TEST(meter_query, from_must_be_before_to) {
  EXPECT_EQ(error_of({{"from", "2024-01-02T00:00:00Z"}, {"to", "2024-01-02T00:00:00Z"}}),
            "from and to must not be equal");
  EXPECT_EQ(error_of({{"from", "2024-01-03T00:00:00Z"}, {"to", "2024-01-02T00:00:00Z"}}),
            "from must be before to");
  // Equal instants in different offsets are equal.
  EXPECT_EQ(
      error_of({{"from", "2024-01-02T01:00:00+01:00"}, {"to", "2024-01-02T00:00:00Z"}}),
      "from and to must not be equal");
  auto q = query_of({{"from", "2024-01-02T00:00:00Z"}});
  EXPECT_TRUE(q.from_given);
  EXPECT_FALSE(q.to_given);
  // A '+' that arrived form-decoded as a space still reads as an offset.
  EXPECT_EQ(query_of({{"to", "2024-01-02T01:00:00 01:00"}}).to,
            at("2024-01-02T00:00:00Z"));
}

TEST(meter_query, rejects_bad_values_all_at_once) {
  auto e = error_of({{"from", "yesterday"},
                     {"to", "2024-01-02"},
                     {"windowSize", "WEEK"},
                     {"windowTimeZone", "Mars/Base"},
                     {"subject", ""},
                     {"groupBy", "region"},
                     {"filterGroupBy[region]", "eu"},
                     {"filterGroupBy", "x"},
                     {"filterCustomerId", "c1"},
                     {"advancedMeterGroupByFilters[model][$eq]", "x"}});
  EXPECT_TRUE(has(e, "from must be an RFC 3339 date-time")) << e;
  EXPECT_TRUE(has(e, "to must be an RFC 3339 date-time")) << e;
  EXPECT_TRUE(has(e, "windowSize must be one of MINUTE, HOUR, DAY, MONTH")) << e;
  EXPECT_TRUE(has(e, "windowTimeZone \"Mars/Base\" is not a known IANA time zone")) << e;
  EXPECT_TRUE(has(e, "subject must not be empty")) << e;
  EXPECT_TRUE(has(e,
                  "groupBy \"region\" is not a group-by of meter \"tokens_total\"; use "
                  "one of: subject, model, type"))
      << e;
  EXPECT_TRUE(has(e, "filterGroupBy \"region\" is not a group-by")) << e;
  EXPECT_TRUE(has(e, "filterGroupBy must be given as filterGroupBy[<key>]=<value>")) << e;
  EXPECT_TRUE(has(e, "filterCustomerId is not supported")) << e;
  EXPECT_TRUE(has(e, "advancedMeterGroupByFilters is not supported")) << e;
  EXPECT_TRUE(has(error_of({{"windowSize", "day"}}), "windowSize"));
  EXPECT_TRUE(
      has(error_of({{"filterGroupBy[subject]", "c1"}}), "filterGroupBy \"subject\""));
}

TEST(meter_query, subjects_and_group_by) {
  // Several subjects: each filters and the rows are grouped by subject, as
  // OpenMeter answers `?subject=a&subject=b`.
  auto two = query_of({{"subject", "a"}, {"subject", "b"}});
  EXPECT_EQ(two.subjects, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(two.group_by, (std::vector<std::string>{"subject"}));
  auto two_by_model =
      query_of({{"subject", "a"}, {"subject", "b"}, {"groupBy", "model"}});
  EXPECT_EQ(two_by_model.group_by, (std::vector<std::string>{"subject", "model"}));
  // One subject: rows name it, as OpenMeter's do.
  auto one = query_of({{"subject", "a"}, {"groupBy", "model"}});
  EXPECT_EQ(one.group_by, (std::vector<std::string>{"subject", "model"}));
  // Repeats collapse.
  auto q = query_of({{"subject", "a"},
                     {"subject", "a"},
                     {"groupBy", "model"},
                     {"groupBy", "model"},
                     {"filterGroupBy[model]", "x"},
                     {"filterGroupBy[model]", "x"},
                     {"filterGroupBy[model]", "y"}});
  EXPECT_EQ(q.subjects, std::vector<std::string>{"a"});
  EXPECT_EQ(q.group_by, (std::vector<std::string>{"subject", "model"}));
  EXPECT_EQ(q.filter_group_by.size(), 2u);
  // Later values of single-valued names win.
  auto last = query_of({{"windowSize", "DAY"}, {"windowSize", "HOUR"}});
  EXPECT_EQ(last.window, window_size::hour);
}

TEST(meter_query, reads_the_post_body) {
  auto m = tokens_meter();
  auto q = parse_meter_query_json(
      json{{"from", "2024-01-01T00:00:00.000Z"},
           {"to", "2024-01-02T00:00:00.000Z"},
           {"windowSize", "HOUR"},
           {"windowTimeZone", "Asia/Kolkata"},
           {"subject", {"a", "b"}},
           {"groupBy", {"subject", "type"}},
           {"filterGroupBy", {{"model", {"gpt-4", "gpt-4o"}}, {"type", "input"}}},
           {"clientId", "abc"},
           {"filterCustomerId", json::array()},
           {"advancedMeterGroupByFilters", json::object()}},
      m);
  ASSERT_TRUE(q) << q.error;
  EXPECT_EQ(q.value.window, window_size::hour);
  EXPECT_EQ(q.value.time_zone, "Asia/Kolkata");
  EXPECT_EQ(q.value.subjects.size(), 2u);
  EXPECT_EQ(q.value.group_by, (std::vector<std::string>{"subject", "type"}));
  EXPECT_EQ(q.value.filter_group_by,
            (std::vector<std::pair<std::string, std::string>>{
                {"model", "gpt-4"}, {"model", "gpt-4o"}, {"type", "input"}}));
  auto empty = parse_meter_query_json(json::object(), m);
  ASSERT_TRUE(empty);
  EXPECT_FALSE(empty.value.from_given);
  auto nulls = parse_meter_query_json(json{{"from", nullptr}, {"subject", nullptr}}, m);
  EXPECT_TRUE(nulls) << nulls.error;

  auto bad = parse_meter_query_json(json{{"from", 5},
                                         {"subject", "a"},
                                         {"groupBy", {1}},
                                         {"filterGroupBy", {{"model", json::array()}}},
                                         {"filterCustomerId", {"c"}}},
                                    m);
  ASSERT_FALSE(bad);
  EXPECT_TRUE(has(bad.error, "from must be a string")) << bad.error;
  EXPECT_TRUE(has(bad.error, "subject must be an array of strings")) << bad.error;
  EXPECT_TRUE(has(bad.error, "groupBy must be an array of strings")) << bad.error;
  EXPECT_TRUE(has(bad.error, "filterGroupBy \"model\" must be a string or a non-empty "
                             "array"))
      << bad.error;
  EXPECT_TRUE(has(bad.error, "filterCustomerId is not supported")) << bad.error;
  EXPECT_EQ(parse_meter_query_json(json::array(), m).error,
            "request body must be a JSON object");
  EXPECT_EQ(parse_meter_query_json(
                json{{"from", "2024-01-02T00:00:00Z"}, {"to", "2024-01-01T00:00:00Z"}}, m)
                .error,
            "from must be before to");
}

TEST(meter_query, range_compares_whole_seconds) {
  meter_query q;
  q.from = at("2024-01-01T10:00:00.500Z");
  q.to = at("2024-01-01T11:00:00.500Z");
  EXPECT_TRUE(in_query_range(q, at("2024-01-01T10:00:00.000Z")));
  EXPECT_TRUE(in_query_range(q, at("2024-01-01T10:30:00Z")));
  EXPECT_TRUE(in_query_range(q, at("2024-01-01T10:59:59.999Z")));
  EXPECT_FALSE(in_query_range(q, at("2024-01-01T11:00:00.000Z")));
  EXPECT_FALSE(in_query_range(q, at("2024-01-01T11:00:00.400Z")));
  EXPECT_FALSE(in_query_range(q, at("2024-01-01T09:59:59.999Z")));
  meter_query open;
  EXPECT_TRUE(in_query_range(open, 0));
  EXPECT_TRUE(in_query_range(open, at("1900-01-01T00:00:00Z")));
  EXPECT_TRUE(in_query_range(open, at("9000-01-01T00:00:00Z")));
  EXPECT_TRUE(in_query_range(open, now));
}

TEST(meter_query, filters_by_subject_and_group_values) {
  auto m = tokens_meter();
  meter_sample s;
  s.subject = "a";
  s.group_values = {std::string{"gpt-4"}, std::nullopt};
  meter_query q;
  EXPECT_TRUE(matches_query_filters(q, m, s));
  q.subjects = {"b"};
  EXPECT_FALSE(matches_query_filters(q, m, s));
  q.subjects = {"b", "a"};
  EXPECT_TRUE(matches_query_filters(q, m, s));
  q.filter_group_by = {{"model", "gpt-3"}};
  EXPECT_FALSE(matches_query_filters(q, m, s));
  q.filter_group_by = {{"model", "gpt-3"}, {"model", "gpt-4"}};
  EXPECT_TRUE(matches_query_filters(q, m, s));
  q.filter_group_by.push_back({"type", "input"});
  EXPECT_FALSE(matches_query_filters(q, m, s)); // type is missing
  s.group_values[1] = "input";
  EXPECT_TRUE(matches_query_filters(q, m, s));
  q.filter_group_by = {{"type", ""}};
  s.group_values[1] = std::nullopt;
  EXPECT_FALSE(matches_query_filters(q, m, s)); // missing is not ""
}

TEST(meter_query, renders_the_sdk_result_shape) {
  auto q = query_of({{"from", "2023-01-01T00:00:00Z"},
                     {"to", "2023-01-02T00:00:00Z"},
                     {"windowSize", "DAY"},
                     {"groupBy", "subject"},
                     {"groupBy", "model"},
                     {"groupBy", "type"}});
  std::vector<meter_row> rows{{12,
                               at("2023-01-01T00:00:00Z"),
                               at("2023-01-02T00:00:00Z"),
                               "customer-1",
                               {{"model", "gpt-4-turbo"}, {"type", std::nullopt}}},
                              {2.5,
                               at("2023-01-01T00:00:00Z"),
                               at("2023-01-02T00:00:00Z"),
                               std::nullopt,
                               {{"model", std::nullopt}, {"type", "prompt"}}}};
  EXPECT_EQ(query_result_json(q, rows).dump(),
            R"({"from":"2023-01-01T00:00:00.000Z","to":"2023-01-02T00:00:00.000Z",)"
            R"("windowSize":"DAY","data":[)"
            R"({"value":12,"windowStart":"2023-01-01T00:00:00.000Z",)"
            R"("windowEnd":"2023-01-02T00:00:00.000Z","subject":"customer-1",)"
            R"("groupBy":{"model":"gpt-4-turbo","type":null}},)"
            R"({"value":2.5,"windowStart":"2023-01-01T00:00:00.000Z",)"
            R"("windowEnd":"2023-01-02T00:00:00.000Z","subject":null,)"
            R"("groupBy":{"model":null,"type":"prompt"}}]})");
  auto bare = query_result_json(meter_query{}, {});
  EXPECT_EQ(bare.dump(), R"({"data":[]})");
  auto big = query_result_json(meter_query{}, {{1e20, 0, 60'000, std::nullopt, {}}});
  EXPECT_EQ(big["data"][0]["value"].get<double>(), 1e20);
  EXPECT_EQ(big["data"][0]["groupBy"], json::object());
  auto negative = query_result_json(meter_query{}, {{-3, 0, 60'000, std::nullopt, {}}});
  EXPECT_EQ(negative["data"][0]["value"].dump(), "-3");
}

TEST(meter_query, wire_writer_prints_what_the_json_tree_prints) {
  auto wire_of = [](const meter_query& q, const std::vector<meter_row>& rows) {
    return query_result_json(q, rows).dump(-1, ' ', false,
                                           json::error_handler_t::replace);
  };
  auto q = query_of({{"from", "2023-01-01T00:00:00Z"},
                     {"windowSize", "HOUR"},
                     {"groupBy", "model"},
                     {"groupBy", "subject"}});
  std::vector<meter_row> rows;
  const std::vector<double> values{0, 12, -3, 2.5, 1e20, 0.1, 9.007199254740992e15, 1e-7};
  const std::vector<std::optional<std::string>> texts{std::nullopt,  "",
                                                      "customer-1",  "quote\"d",
                                                      "back\\slash", "tab\tnew\nline",
                                                      "caf\xc3\xa9", "bad\xff\xfe",
                                                      "ctl\x01\x7f"};
  for (std::size_t i = 0; i < values.size() * texts.size(); ++i) {
    const auto& text = texts[i % texts.size()];
    rows.push_back({values[i % values.size()],
                    at("2023-01-01T00:00:00Z") + 3'600'000 * static_cast<millis>(i),
                    at("2023-01-01T01:00:00Z") + 3'600'000 * static_cast<millis>(i),
                    text,
                    {{"model", texts[(i + 3) % texts.size()]}, {"ty\"pe", text}}});
  }
  EXPECT_EQ(query_result_wire(q, rows), wire_of(q, rows));
  EXPECT_EQ(query_result_wire(meter_query{}, {}), wire_of(meter_query{}, {}));
  EXPECT_EQ(query_result_wire(meter_query{}, {rows[1]}),
            wire_of(meter_query{}, {rows[1]}));
}

TEST(meter_query, renders_csv) {
  auto q = query_of({{"groupBy", "model"}, {"groupBy", "subject"}, {"groupBy", "type"}});
  std::vector<meter_row> rows{{12,
                               at("2023-01-01T00:00:00Z"),
                               at("2023-01-02T00:00:00Z"),
                               "customer-1",
                               {{"model", "gpt-4"}, {"type", std::nullopt}}},
                              {0.125,
                               at("2023-01-02T00:00:00Z"),
                               at("2023-01-03T00:00:00Z"),
                               "a,b",
                               {{"model", "say \"hi\""}, {"type", "line\nbreak"}}},
                              {-1,
                               at("2023-01-02T00:00:00Z"),
                               at("2023-01-03T00:00:00Z"),
                               std::nullopt,
                               {{"model", " padded"}, {"type", ""}}}};
  EXPECT_EQ(query_result_csv(q, rows),
            "window_start,window_end,subject,model,type,value\n"
            "2023-01-01T00:00:00Z,2023-01-02T00:00:00Z,customer-1,gpt-4,,12.000000\n"
            "2023-01-02T00:00:00Z,2023-01-03T00:00:00Z,\"a,b\",\"say \"\"hi\"\"\","
            "\"line\nbreak\",0.125000\n"
            "2023-01-02T00:00:00Z,2023-01-03T00:00:00Z,,\" padded\",,-1.000000\n");
  EXPECT_EQ(query_result_csv(meter_query{}, {}),
            "window_start,window_end,subject,value\n");
}

TEST(meter_query, csv_times_are_whole_seconds_in_utc) {
  // A window that starts mid-second (an unwindowed query's `from`): the
  // fraction is dropped, as Go's time.RFC3339 does, never rounded up.
  std::vector<meter_row> rows{
      {3, at("2023-01-01T10:00:00.999Z"), at("2023-01-01T11:30:00.5Z"), "s", {}}};
  auto q = query_of({{"groupBy", "subject"}});
  EXPECT_EQ(query_result_csv(q, rows),
            "window_start,window_end,subject,value\n"
            "2023-01-01T10:00:00Z,2023-01-01T11:30:00Z,s,3.000000\n");
  // Before 1970 too.
  rows[0].window_start = at("1969-12-31T23:59:59.5Z");
  EXPECT_TRUE(has(query_result_csv(q, rows), "\n1969-12-31T23:59:59Z,"));
}

TEST(meter_query, csv_quotes_what_go_quotes) {
  auto q = query_of({{"groupBy", "subject"}});
  std::vector<meter_row> rows{
      {1, at("2023-01-01T00:00:00Z"), at("2023-01-02T00:00:00Z"), "\vtab", {}}};
  EXPECT_TRUE(has(query_result_csv(q, rows), ",\"\vtab\",")) << query_result_csv(q, rows);
}

TEST(meter_query, csv_text_cells_never_start_a_formula) {
  auto q = query_of({{"groupBy", "model"}, {"groupBy", "subject"}});
  std::vector<meter_row> rows{{-2,
                               at("2023-01-01T00:00:00Z"),
                               at("2023-01-02T00:00:00Z"),
                               "=HYPERLINK(\"x\")",
                               {{"model", "+1"}}},
                              {1,
                               at("2023-01-01T00:00:00Z"),
                               at("2023-01-02T00:00:00Z"),
                               "@sum",
                               {{"model", "-x"}}}};
  auto csv = query_result_csv(q, rows);
  EXPECT_TRUE(has(csv, ",\"'=HYPERLINK(\"\"x\"\")\",'+1,")) << csv;
  EXPECT_TRUE(has(csv, ",'@sum,'-x,")) << csv;
  // Numbers are not text: a negative value stays a number.
  EXPECT_TRUE(has(csv, ",-2.000000\n")) << csv;
}

TEST(meter_query, a_malformed_group_filter_is_an_error) {
  EXPECT_TRUE(has(error_of({{"filterGroupBy[model", "gpt-4"}}),
                  "filterGroupBy must be given as filterGroupBy[<key>]=<value>"));
  EXPECT_TRUE(has(error_of({{"filterGroupBy[]", "gpt-4"}}), "filterGroupBy"));
}

} // namespace

namespace {

TEST(event_search, defaults_to_the_last_72_hours_and_100_events) {
  const um::model::millis now = 1'700'000'000'000;
  auto s = um::model::parse_event_search({}, now);
  ASSERT_TRUE(s.error.empty());
  EXPECT_EQ(s.value.time_from, now - 72 * 3'600'000LL);
  EXPECT_EQ(s.value.time_to, um::model::latest_query_time);
  EXPECT_EQ(s.value.limit, 100);
}

TEST(event_search, reads_every_parameter_and_joins_errors) {
  auto s = um::model::parse_event_search({{"from", "2024-01-01T00:00:00Z"},
                                          {"to", "2024-01-02T00:00:00Z"},
                                          {"ingestedAtFrom", "2024-01-01T00:00:00Z"},
                                          {"id", "abc"},
                                          {"subject", "cust"},
                                          {"limit", "5"}},
                                         0);
  ASSERT_TRUE(s.error.empty()) << s.error;
  EXPECT_EQ(s.value.id_contains, "abc");
  EXPECT_EQ(s.value.subject_contains, "cust");
  EXPECT_EQ(s.value.limit, 5);
  EXPECT_TRUE(s.value.ingested_from);
  EXPECT_FALSE(s.value.ingested_to);
  auto bad = um::model::parse_event_search({{"to", "yesterday"}, {"limit", "101"}}, 0);
  EXPECT_EQ(bad.error,
            "to must be an RFC 3339 date-time; limit must be between 1 and 100");
  auto reversed = um::model::parse_event_search(
      {{"from", "2024-01-02T00:00:00Z"}, {"to", "2024-01-01T00:00:00Z"}}, 0);
  EXPECT_EQ(reversed.error, "from must be before to");
}

} // namespace

namespace {

using namespace um::model;
using json = nlohmann::ordered_json;
using field = meter_query_input::field;

constexpr millis day_ms = 24 * 3'600'000LL;

TEST(meter_query_input, is_read_without_the_meter_and_keeps_the_clients_order) {
  auto input = read_meter_query_params({{"groupBy", "nope"},
                                        {"from", "bad"},
                                        {"filterGroupBy[model]", "gpt-4"},
                                        {"filterCustomerId", "c"},
                                        {"clientId", "x"}});
  ASSERT_EQ(input.items.size(), 4u);
  EXPECT_EQ(input.items[0].name, field::group_by);
  EXPECT_EQ(input.items[0].value, "nope");
  EXPECT_EQ(input.items[1].name, field::from);
  EXPECT_EQ(input.items[2].name, field::filter_group_by);
  EXPECT_EQ(input.items[2].key, "model");
  EXPECT_EQ(input.items[2].value, "gpt-4");
  EXPECT_EQ(input.items[3].name, field::problem);
  EXPECT_EQ(input.items[3].value, "filterCustomerId is not supported");
}

TEST(meter_query_input, the_meter_decides_its_group_by_keys) {
  auto m = parse_meter(json{{"slug", "tokens_total"},
                            {"aggregation", "SUM"},
                            {"eventType", "prompt"},
                            {"valueProperty", "$.tokens"},
                            {"groupBy", {{"model", "$.model"}}}},
                       0, "id");
  ASSERT_TRUE(m) << m.error;
  auto other = m.value;
  other.group_by.clear();
  auto input = read_meter_query_body(json{{"groupBy", {"model"}}, {"from", 5}});
  auto for_m = validate_meter_query(input, m.value);
  EXPECT_EQ(for_m.error, "from must be a string");
  auto for_other = validate_meter_query(input, other);
  // A body's fields are read in a fixed order: from first.
  EXPECT_EQ(for_other.error,
            "from must be a string; groupBy \"model\" is not a group-by of meter "
            "\"tokens_total\"; use one of: subject");
}

TEST(meter_query_input, a_body_that_is_not_an_object_is_one_problem) {
  auto input = read_meter_query_body(json::array());
  ASSERT_EQ(input.items.size(), 1u);
  EXPECT_EQ(input.items[0].name, field::problem);
  EXPECT_EQ(input.items[0].value, "request body must be a JSON object");
}

TEST(group_values_period, defaults_to_the_last_24_hours) {
  auto p = parse_group_values_period({}, 1'705'314'600'123);
  ASSERT_TRUE(p) << p.error;
  EXPECT_EQ(p.value.from, 1'705'314'600'123 - day_ms);
  EXPECT_EQ(p.value.to, 1'705'314'600'123);
}

TEST(group_values_period, reads_rfc3339_bounds) {
  auto p = parse_group_values_period(
      {{"from", "2024-01-01T00:00:00Z"}, {"to", "2024-01-02T00:00:00+01:00"}}, 0);
  ASSERT_TRUE(p) << p.error;
  EXPECT_EQ(p.value.from, try_parse_iso8601("2024-01-01T00:00:00Z").value());
  EXPECT_EQ(p.value.to, try_parse_iso8601("2024-01-01T23:00:00Z").value());
  // Only `from`: up to now.
  auto open =
      parse_group_values_period({{"from", "2024-01-01T00:00:00Z"}}, 1'705'314'600'123);
  ASSERT_TRUE(open) << open.error;
  EXPECT_EQ(open.value.to, 1'705'314'600'123);
}

TEST(group_values_period, reports_the_first_bad_bound_then_the_order) {
  EXPECT_EQ(parse_group_values_period({{"from", "yesterday"}, {"to", "x"}}, 0).error,
            "from must be an RFC 3339 date-time");
  EXPECT_EQ(parse_group_values_period({{"to", "2024-01-01"}}, 0).error,
            "to must be an RFC 3339 date-time");
  EXPECT_EQ(parse_group_values_period(
                {{"from", "2024-01-02T00:00:00Z"}, {"to", "2024-01-01T00:00:00Z"}}, 0)
                .error,
            "from must be before to");
  EXPECT_EQ(parse_group_values_period(
                {{"from", "2024-01-01T00:00:00Z"}, {"to", "2024-01-01T00:00:00Z"}}, 0)
                .error,
            "from must be before to");
  // A `from` later than now, without `to`: after the default end.
  EXPECT_EQ(parse_group_values_period({{"from", "2024-01-01T00:00:00Z"}}, 0).error,
            "from must be before to");
}

} // namespace
