#include "http/malformed.hpp"

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

namespace {

using namespace um;
using model::error_code;

TEST(malformed, request_lines_of_http_1_pass) {
  EXPECT_FALSE(http::check_request_line("GET /health HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_FALSE(http::check_request_line("POST /v1/events HTTP/1.0\r\n"));
  EXPECT_FALSE(http::check_request_line("GET /health HTTP/1.1\n"));
}

TEST(malformed, an_incomplete_line_is_left_to_the_parser) {
  EXPECT_FALSE(http::check_request_line("GET /he"));
  EXPECT_FALSE(http::check_request_line(""));
}

TEST(malformed, a_line_without_version_is_400) {
  auto error = http::check_request_line("GET /health\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(error);
  EXPECT_EQ(error->code, error_code::validation);
  ASSERT_TRUE(http::check_request_line("GARBAGE\r\n\r\n"));
  EXPECT_EQ(http::check_request_line("GET / junk\r\n")->code, error_code::validation);
}

TEST(malformed, other_http_versions_are_505) {
  for (auto line : {"GET /health HTTP/7.3\r\n", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
                    "GET / HTTP/0.9\r\n"}) {
    auto error = http::check_request_line(line);
    ASSERT_TRUE(error) << line;
    EXPECT_EQ(error->code, error_code::http_version_not_supported) << line;
    EXPECT_EQ(model::http_status(error->code), 505);
  }
}

TEST(malformed, parser_errors_map_to_statuses) {
  EXPECT_EQ(http::rejection_for_parser_error("HPE_CB_url").code,
            error_code::uri_too_long);
  EXPECT_EQ(http::rejection_for_parser_error("HPE_CB_header_value").code,
            error_code::header_fields_too_large);
  EXPECT_EQ(http::rejection_for_parser_error("HPE_CB_header_field").code,
            error_code::header_fields_too_large);
  EXPECT_EQ(http::rejection_for_parser_error("HPE_CB_headers_complete").code,
            error_code::payload_too_large);
  EXPECT_EQ(http::rejection_for_parser_error("HPE_CB_body").code,
            error_code::payload_too_large);
  EXPECT_EQ(http::rejection_for_parser_error("HPE_INVALID_HEADER_TOKEN").code,
            error_code::validation);
  EXPECT_EQ(http::rejection_for_parser_error("").code, error_code::validation);
}

TEST(malformed, request_line_summary_is_bounded_and_printable) {
  auto s = http::summarize_request_line("GET /v1/events?x=1 HTTP/1.1\r\n");
  EXPECT_EQ(s.method, "GET");
  EXPECT_EQ(s.path, "/v1/events");
  auto noise = http::summarize_request_line(std::string_view{"\x00\x01\xff", 3});
  EXPECT_EQ(noise.method, "???");
  EXPECT_EQ(noise.path, "-");
  auto long_line = http::summarize_request_line("GET /" + std::string(5000, 'a'));
  EXPECT_LE(long_line.path.size(), 256u);
}

TEST(malformed, raw_response_is_complete_http_with_the_contract_body) {
  auto text = http::raw_error_response({error_code::validation, "Malformed HTTP request"},
                                       "trace-1", "*");
  EXPECT_EQ(text.rfind("HTTP/1.1 400 Bad Request\r\n", 0), 0u);
  EXPECT_NE(text.find("\r\nConnection: close\r\n"), std::string::npos);
  EXPECT_NE(text.find("\r\nx-trace-id: trace-1\r\n"), std::string::npos);
  EXPECT_NE(text.find("\r\nX-Content-Type-Options: nosniff\r\n"), std::string::npos);
  auto split = text.find("\r\n\r\n");
  ASSERT_NE(split, std::string::npos);
  auto body = nlohmann::json::parse(text.substr(split + 4));
  EXPECT_EQ(body["error"]["code"], "VALIDATION_ERROR");
  EXPECT_EQ(body["error"]["message"], "Malformed HTTP request");
  EXPECT_EQ(body["error"]["traceId"], "trace-1");
  auto length = text.find("Content-Length: ");
  EXPECT_EQ(std::stoul(text.substr(length + 16)), text.size() - split - 4);
}

} // namespace

TEST(malformed, the_metering_api_gets_its_refusals_as_problem_details) {
  auto text = um::http::raw_error_response(
      {um::model::error_code::unauthorized, "A valid API key is required"}, "trace-9",
      "*", "/api/v1/events");
  EXPECT_NE(text.find("\r\nContent-Type: application/problem+json\r\n"),
            std::string::npos);
  auto body = nlohmann::json::parse(text.substr(text.find("\r\n\r\n") + 4));
  EXPECT_EQ(body["status"], 401);
  EXPECT_EQ(body["instance"], "/api/v1/events");
  auto v1 = um::http::raw_error_response({um::model::error_code::unavailable, "Too many"},
                                         "trace-9", "*", "/v1/events");
  EXPECT_NE(v1.find("\r\nRetry-After: 1\r\n"), std::string::npos);
  EXPECT_NE(v1.find("\"SERVICE_UNAVAILABLE\""), std::string::npos);
}
