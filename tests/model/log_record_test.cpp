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
                                   false};
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

} // namespace
