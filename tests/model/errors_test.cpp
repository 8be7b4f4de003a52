#include "model/errors.hpp"
#include "model/health.hpp"

#include <gtest/gtest.h>

namespace {

using namespace um::model;

TEST(errors, one_table_maps_codes_to_the_wire) {
  struct row {
    error_code code;
    int status;
    const char* name;
  };
  for (auto [code, status, name] :
       {row{error_code::validation, 400, "VALIDATION_ERROR"},
        row{error_code::unauthorized, 401, "UNAUTHORIZED"},
        row{error_code::not_found, 404, "NOT_FOUND"},
        row{error_code::conflict, 409, "CONFLICT"},
        row{error_code::payload_too_large, 413, "PAYLOAD_TOO_LARGE"},
        row{error_code::unsupported_media_type, 415, "UNSUPPORTED_MEDIA_TYPE"},
        row{error_code::rate_limited, 429, "RATE_LIMITED"},
        row{error_code::forbidden, 403, "FORBIDDEN"},
        row{error_code::internal, 500, "INTERNAL_ERROR"},
        row{error_code::unavailable, 503, "SERVICE_UNAVAILABLE"},
        row{error_code::timeout, 504, "TIMEOUT"},
        row{error_code::header_fields_too_large, 431, "HEADER_FIELDS_TOO_LARGE"},
        row{error_code::http_version_not_supported, 505, "HTTP_VERSION_NOT_SUPPORTED"}}) {
    EXPECT_EQ(http_status(code), status) << name;
    EXPECT_EQ(code_name(code), name);
  }
  EXPECT_EQ(status_title(error_code::validation), "Bad Request");
  EXPECT_EQ(status_title(error_code::timeout), "Gateway Timeout");
}

TEST(errors, component_state_names) {
  EXPECT_EQ(component_state_name(component_state::starting), "starting");
  EXPECT_EQ(component_state_name(component_state::up), "up");
  EXPECT_EQ(component_state_name(component_state::restarting), "restarting");
  EXPECT_EQ(component_state_name(component_state::failed), "failed");
}

} // namespace

namespace {

using namespace um::model;

TEST(errors, one_table_of_reason_phrases_for_status_lines_and_titles) {
  EXPECT_EQ(reason_phrase(200), "OK");
  EXPECT_EQ(reason_phrase(201), "Created");
  EXPECT_EQ(reason_phrase(202), "Accepted");
  EXPECT_EQ(reason_phrase(204), "No Content");
  EXPECT_EQ(reason_phrase(414), "URI Too Long");
  EXPECT_EQ(reason_phrase(431), "Request Header Fields Too Large");
  EXPECT_EQ(reason_phrase(505), "HTTP Version Not Supported");
  EXPECT_EQ(reason_phrase(418), "Unknown");
  // Every error code's title is the phrase of its status.
  for (int c = static_cast<int>(error_code::validation);
       c <= static_cast<int>(error_code::http_version_not_supported); ++c) {
    auto code = static_cast<error_code>(c);
    EXPECT_EQ(status_title(code), reason_phrase(http_status(code))) << code_name(code);
    EXPECT_NE(status_title(code), "Unknown") << code_name(code);
  }
}

} // namespace
