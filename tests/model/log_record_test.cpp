#include "model/log_record.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace {

using namespace um::model;

constexpr millis jan15_1030 = 1'705'314'600'000;

TEST(log_record, formats_one_json_line_in_order) {
  log_record r;
  r.level = log_level::warn;
  r.timestamp = jan15_1030 + 5;
  r.message = "hello";
  r.fields = {{"a", std::string{"x"}}, {"n", std::int64_t{5}}, {"d", 1.5}, {"b", true}};
  EXPECT_EQ(format_log_line(r),
            R"({"timestamp":"2024-01-15T10:30:00.005Z","level":"warn","message":"hello",)"
            R"("a":"x","n":5,"d":1.5,"b":true,)"
            R"("service":"ioanyt-delivery-standard","version":")" UM_PROBE_VERSION
            R"("})");
}

TEST(log_record, names_every_level) {
  log_record r;
  for (auto [level, name] :
       {std::pair{log_level::debug, "debug"}, std::pair{log_level::info, "info"},
        std::pair{log_level::warn, "warn"}, std::pair{log_level::error, "error"}}) {
    r.level = level;
    EXPECT_EQ(nlohmann::json::parse(format_log_line(r))["level"], name);
  }
}

TEST(log_record, stays_on_one_line) {
  log_record r;
  r.message = "two\nlines";
  r.fields = {{"header", std::string{"a\r\nb"}}};
  auto line = format_log_line(r);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_EQ(line.find('\r'), std::string::npos);
  EXPECT_EQ(nlohmann::json::parse(line)["message"], "two\nlines");
}

TEST(log_record, invalid_utf8_does_not_throw) {
  log_record r;
  r.message = "bad \xff\xfe byte";
  r.fields = {{"userAgent", std::string{"\xc3\x28"}}};
  std::string line;
  ASSERT_NO_THROW(line = format_log_line(r));
  auto parsed = nlohmann::json::parse(line); // the output is valid JSON
  EXPECT_EQ(parsed["message"], "bad \xEF\xBF\xBD\xEF\xBF\xBD byte");
  EXPECT_EQ(parsed["service"], "ioanyt-delivery-standard");
}

TEST(log_record, request_record_fields_in_order) {
  request_log req{"POST", "/v1/events", 201, 2.5, "trace-1", "curl/8", "10.0.0.1"};
  auto rec = make_request_record(req, jan15_1030);
  EXPECT_EQ(rec.message, "HTTP Request");
  EXPECT_EQ(rec.timestamp, jan15_1030);
  EXPECT_EQ(
      format_log_line(rec),
      R"({"timestamp":"2024-01-15T10:30:00.000Z","level":"info","message":"HTTP Request",)"
      R"("method":"POST","path":"/v1/events","statusCode":201,"duration":2.5,)"
      R"("traceId":"trace-1","userAgent":"curl/8","ip":"10.0.0.1",)"
      R"("service":"ioanyt-delivery-standard","version":")" UM_PROBE_VERSION R"("})");
}

TEST(log_record, request_level_by_status) {
  auto level_of = [](int status) {
    request_log req;
    req.status = status;
    return make_request_record(req, 0).level;
  };
  EXPECT_EQ(level_of(200), log_level::info);
  EXPECT_EQ(level_of(201), log_level::info);
  EXPECT_EQ(level_of(304), log_level::info);
  EXPECT_EQ(level_of(399), log_level::info);
  EXPECT_EQ(level_of(400), log_level::warn);
  EXPECT_EQ(level_of(404), log_level::warn);
  EXPECT_EQ(level_of(499), log_level::warn);
  EXPECT_EQ(level_of(500), log_level::error);
  EXPECT_EQ(level_of(503), log_level::error);
}

} // namespace

namespace {

// What the JSON library prints for `r`: the reference the hand-written
// writer must match byte for byte.
std::string reference_line(const um::model::log_record& r) {
  nlohmann::ordered_json line;
  line["timestamp"] = format_iso8601(r.timestamp);
  line["level"] = log_level_name(r.level);
  line["message"] = r.message;
  for (const auto& [key, value] : r.fields)
    std::visit([&line, &key = key](const auto& v) { line[key] = v; }, value);
  line["service"] = service_name;
  line["version"] = service_version;
  return line.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

TEST(log_record, matches_the_json_library_byte_for_byte) {
  std::vector<log_value> values = {std::string{},
                                   std::string{"plain"},
                                   std::string{"quote\"back\\slash"},
                                   std::string{"tab\tcontrol\x01"},
                                   std::string{"caf\xc3\xa9"},
                                   std::string{"bad\xff"},
                                   std::int64_t{0},
                                   std::int64_t{-42},
                                   std::int64_t{9'223'372'036'854'775'807LL},
                                   0.0,
                                   -0.0,
                                   0.001,
                                   0.073,
                                   1.5,
                                   2.25,
                                   12345.678,
                                   1'000'000.0,
                                   999'999'999.999,
                                   1e15,
                                   1e-5,
                                   123456789012.345,
                                   true,
                                   false,
                                   std::vector<std::string>{},
                                   std::vector<std::string>{"one"},
                                   std::vector<std::string>{"a", "b-2", ""},
                                   std::vector<std::string>{"plain", "quote\"d"}};
  log_record r;
  r.timestamp = jan15_1030 + 999;
  for (const auto& v : values) {
    r.message = "m";
    r.fields = {{"k", v}, {"duration", 3.125}};
    EXPECT_EQ(format_log_line(r), reference_line(r));
  }
  // A repeated or reserved key keeps the library's meaning (last value wins,
  // first position kept).
  r.fields = {
      {"k", std::string{"a"}}, {"k", std::string{"b"}}, {"level", std::string{"x"}}};
  EXPECT_EQ(format_log_line(r), reference_line(r));
  for (millis t : {millis{0}, millis{-1}, jan15_1030, millis{253'402'300'799'999}})
    EXPECT_EQ(format_iso8601(t), nlohmann::json::parse('"' + format_iso8601(t) + '"'));
  EXPECT_EQ(format_iso8601(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(format_iso8601(-1), "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(format_iso8601(253'402'300'799'999), "9999-12-31T23:59:59.999Z");
}

// The trace fields name the requests a line is about: one id as `traceId`,
// several as `traceIds`, each once, empty ids (work no request asked for)
// left out.
TEST(log_record, trace_fields_name_one_or_several_requests) {
  log_record none;
  add_trace_fields(none, {"", ""});
  EXPECT_TRUE(none.fields.empty());
  log_record one;
  add_trace_fields(one, {"t-1", "", "t-1"});
  ASSERT_EQ(one.fields.size(), 1u);
  EXPECT_EQ(one.fields[0].first, "traceId");
  EXPECT_EQ(std::get<std::string>(one.fields[0].second), "t-1");
  log_record many;
  many.message = "storage error: commit failed";
  add_trace_fields(many, {"t-1", "t-2", "t-1", "", "t-3"});
  ASSERT_EQ(many.fields.size(), 1u);
  EXPECT_EQ(many.fields[0].first, "traceIds");
  EXPECT_EQ(std::get<std::vector<std::string>>(many.fields[0].second),
            (std::vector<std::string>{"t-1", "t-2", "t-3"}));
  auto line = nlohmann::json::parse(format_log_line(many));
  EXPECT_EQ(line["traceIds"], nlohmann::json::parse(R"(["t-1","t-2","t-3"])"));
}

// A failure of very many requests is logged as several lines, each short
// enough for the container's log driver, that together name every request.
TEST(log_record, very_many_trace_ids_split_into_numbered_lines) {
  log_record r;
  r.level = log_level::error;
  r.message = "storage error: commit failed";
  r.fields = {{"error", std::string{"database or disk is full"}}};
  std::vector<std::string> ids;
  for (int i = 0; i < 2 * static_cast<int>(max_trace_ids_per_line) + 5; ++i)
    ids.push_back("0af7651916cd43dd8448eb211c80319c-" + std::to_string(i));
  ids.push_back(ids.front()); // named once
  auto lines = split_by_trace_ids(r, ids);
  ASSERT_EQ(lines.size(), 3u);
  std::vector<std::string> seen;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    auto text = format_log_line(lines[i]);
    EXPECT_LT(text.size(), 16u * 1024) << "line " << i;
    auto json = nlohmann::json::parse(text);
    EXPECT_EQ(json["message"], "storage error: commit failed");
    EXPECT_EQ(json["error"], "database or disk is full");
    EXPECT_EQ(json["part"], i + 1);
    EXPECT_EQ(json["parts"], 3);
    for (const auto& id : json["traceIds"])
      seen.push_back(id.get<std::string>());
  }
  EXPECT_EQ(seen, std::vector<std::string>(ids.begin(), ids.end() - 1));
  // Few ids: the record as it is, with its trace field.
  auto single = split_by_trace_ids(r, {"t-1"});
  ASSERT_EQ(single.size(), 1u);
  EXPECT_EQ(single[0].fields.back().first, "traceId");
  EXPECT_EQ(split_by_trace_ids(r, {}).front().fields.size(), 1u);
}

TEST(log_record, a_startup_error_is_an_error_line_with_its_detail) {
  auto line = nlohmann::json::parse(format_log_line(make_startup_error_record(
      "invalid configuration", "--port: Value abc not in range", jan15_1030)));
  EXPECT_EQ(line["level"], "error");
  EXPECT_EQ(line["message"], "startup error: invalid configuration");
  EXPECT_EQ(line["error"], "--port: Value abc not in range");
  EXPECT_EQ(line["timestamp"], "2024-01-15T10:30:00.000Z");
  EXPECT_EQ(line["service"], "ioanyt-delivery-standard");
  EXPECT_EQ(line["version"], UM_PROBE_VERSION);
  EXPECT_FALSE(line.contains("traceId"));
}

} // namespace
