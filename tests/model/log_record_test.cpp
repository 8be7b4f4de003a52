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
            R"("service":"ioanyt-delivery-standard","version":"1.0.0"})");
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
      R"("service":"ioanyt-delivery-standard","version":"1.0.0"})");
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
