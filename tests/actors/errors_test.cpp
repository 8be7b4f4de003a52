#include "actors/actors.hpp"
#include "actors/interfaces.hpp"
#include "storage/event_store.hpp"

#include <gtest/gtest.h>

namespace {

using namespace um;
using model::error_code;

TEST(actor_errors, own_codes_keep_their_code) {
  auto api =
      to_api_error(caf::make_error(error_code::not_found, "Route GET /x not found"));
  EXPECT_EQ(api.code, error_code::not_found);
  EXPECT_EQ(api.message, "Route GET /x not found");
  api = to_api_error(caf::make_error(error_code::payload_too_large, "body too large"));
  EXPECT_EQ(api.code, error_code::payload_too_large);
  EXPECT_EQ(api.message, "body too large");
  EXPECT_EQ(to_api_error(caf::make_error(error_code::rate_limited)).code,
            error_code::rate_limited);
  EXPECT_EQ(to_api_error(caf::make_error(error_code::conflict, "exists")).code,
            error_code::conflict);
}

// CAF 0.17 reads an error code of 0 as "no error", and error_code::validation
// is the enum's first value: a validation error cannot travel as caf::error.
TEST(actor_errors, validation_code_makes_a_real_error) {
  auto err = caf::make_error(error_code::validation, "limit must be between 1 and 1000");
  ASSERT_TRUE(static_cast<bool>(err))
      << "caf::make_error(error_code::validation, ...) is none";
  auto api = to_api_error(err);
  EXPECT_EQ(api.code, error_code::validation);
  EXPECT_EQ(api.message, "limit must be between 1 and 1000");
}

TEST(actor_errors, no_error_maps_to_internal) {
  EXPECT_EQ(to_api_error(caf::error{}).code, error_code::internal);
}

TEST(actor_errors, internal_details_do_not_leak) {
  auto api = to_api_error(
      caf::make_error(error_code::internal, "sqlite: disk I/O error at /data"));
  EXPECT_EQ(api.code, error_code::internal);
  EXPECT_EQ(api.message.find("sqlite"), std::string::npos);
  api = to_api_error(
      caf::make_error(error_code::unavailable, "sqlite: database is locked"));
  EXPECT_EQ(api.code, error_code::unavailable);
  EXPECT_EQ(api.message.find("sqlite"), std::string::npos);
  EXPECT_EQ(to_api_error(caf::make_error(error_code::timeout, "x")).code,
            error_code::timeout);
}

TEST(actor_errors, caf_errors_map_to_codes) {
  EXPECT_EQ(to_api_error(caf::make_error(caf::sec::request_timeout)).code,
            error_code::timeout);
  EXPECT_EQ(to_api_error(caf::make_error(caf::sec::request_receiver_down)).code,
            error_code::unavailable);
  EXPECT_EQ(to_api_error(caf::make_error(caf::sec::runtime_error)).code,
            error_code::internal);
  EXPECT_EQ(to_api_error(caf::make_error(caf::sec::unexpected_message)).code,
            error_code::internal);
  EXPECT_EQ(to_api_error(caf::make_error(caf::sec::runtime_error)).message,
            "Internal server error");
}

TEST(actor_errors, storage_failures_become_error_values) {
  using storage::failure_kind;
  using storage::storage_error;
  EXPECT_EQ(to_api_error(to_error(storage_error(failure_kind::unavailable, "busy"))).code,
            error_code::unavailable);
  EXPECT_EQ(to_api_error(to_error(storage_error(failure_kind::internal, "bug"))).code,
            error_code::internal);
  EXPECT_EQ(to_api_error(to_error(std::runtime_error("other"))).code,
            error_code::internal);
  // A commit that may have landed is never told as "not stored" (503).
  EXPECT_EQ(
      to_api_error(to_error(storage_error(failure_kind::in_doubt, "commit lost"))).code,
      error_code::timeout);
  auto corrupt = to_error(storage_error(failure_kind::corrupt, "damaged"));
  EXPECT_EQ(corrupt.category(), caf::atom("usage"));
}

// The client reads a generic message; the log line of the request gets what
// actually failed.
TEST(actor_errors, the_cause_is_kept_for_the_log_line) {
  auto api =
      to_api_error(caf::make_error(error_code::unavailable, "database or disk is full"));
  EXPECT_EQ(api.message, "Service temporarily unavailable, retry later");
  EXPECT_EQ(api.cause, "database or disk is full");
  api = to_api_error(caf::make_error(error_code::internal, "sqlite: disk I/O error"));
  EXPECT_EQ(api.message, "Internal server error");
  EXPECT_EQ(api.cause, "sqlite: disk I/O error");
  EXPECT_EQ(to_api_error(caf::make_error(caf::sec::request_timeout)).cause,
            "request_timeout");
  EXPECT_EQ(to_api_error(caf::make_error(caf::sec::request_receiver_down)).cause,
            "request_receiver_down");
}

// A part ended by a request's message says so in its exit reason, which
// still compares equal to the plain reason.
TEST(actor_errors, an_exit_reason_names_the_request_that_caused_it) {
  auto reason = unhandled_exception_reason("req-9");
  EXPECT_EQ(reason, caf::exit_reason::unhandled_exception);
  EXPECT_EQ(trace_id_of(reason), "req-9");
  EXPECT_EQ(trace_id_of(unhandled_exception_reason("")), "");
  EXPECT_EQ(trace_id_of(caf::make_error(caf::exit_reason::kill)), "");
  EXPECT_EQ(trace_id_of(caf::make_error(error_code::unavailable, "req-9")), "");
}

} // namespace
