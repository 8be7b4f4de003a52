#include "model/trace_id.hpp"

#include <gtest/gtest.h>

#include <regex>
#include <set>
#include <string>

namespace {

using um::model::new_uuid_v4;
using um::model::resolve_trace_id;

const std::regex uuid_v4{
    "^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"};

bool is_uuid_v4(const std::string& s) {
  return std::regex_match(s, uuid_v4);
}

constexpr const char* good_traceparent =
    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
constexpr const char* good_trace = "4bf92f3577b34da6a3ce929d0e0e4736";
constexpr const char* good_amzn = "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1";
constexpr const char* good_root = "1-5759e988-bd862e3fe1be46a994272793";

TEST(trace_id, new_uuid_v4_has_canonical_form) {
  for (int i = 0; i < 200; ++i) {
    auto id = new_uuid_v4();
    EXPECT_TRUE(is_uuid_v4(id)) << id;
  }
}

TEST(trace_id, new_uuid_v4_is_unique) {
  std::set<std::string> seen;
  for (int i = 0; i < 10'000; ++i)
    seen.insert(new_uuid_v4());
  EXPECT_EQ(seen.size(), 10'000u);
}

TEST(trace_id, x_trace_id_wins) {
  EXPECT_EQ(resolve_trace_id("client-trace-1", good_traceparent, good_amzn),
            "client-trace-1");
  EXPECT_EQ(resolve_trace_id("abc", "", ""), "abc");
}

TEST(trace_id, traceparent_comes_second) {
  EXPECT_EQ(resolve_trace_id("", good_traceparent, good_amzn), good_trace);
  EXPECT_EQ(resolve_trace_id("", good_traceparent, ""), good_trace);
}

TEST(trace_id, amzn_root_comes_third) {
  EXPECT_EQ(resolve_trace_id("", "", good_amzn), good_root);
  EXPECT_EQ(resolve_trace_id("", "", "Self=1-aaa;Root=1-bbb;Sampled=0"), "1-bbb");
  EXPECT_EQ(resolve_trace_id("", "", "Root=1-ccc"), "1-ccc");
  EXPECT_EQ(resolve_trace_id("", "garbage", good_amzn), good_root);
}

TEST(trace_id, falls_back_to_new_uuid) {
  EXPECT_TRUE(is_uuid_v4(resolve_trace_id("", "", "")));
  EXPECT_TRUE(is_uuid_v4(resolve_trace_id("", "", "Sampled=1")));
  EXPECT_TRUE(is_uuid_v4(resolve_trace_id("", "", "Root=")));
  EXPECT_NE(resolve_trace_id("", "", ""), resolve_trace_id("", "", ""));
}

TEST(trace_id, accepts_up_to_128_printable_characters) {
  std::string longest(128, 'a');
  EXPECT_EQ(resolve_trace_id(longest, "", ""), longest);
  std::string printable;
  for (char c = 0x20; c <= 0x7e; ++c)
    printable += c;
  EXPECT_EQ(resolve_trace_id(printable, "", ""), printable);
}

TEST(trace_id, replaces_unusable_x_trace_id) {
  for (std::string bad :
       {std::string(129, 'a'), std::string{"a\nb"}, std::string{"tab\there"},
        std::string{"del\x7f"}, std::string{"caf\xc3\xa9"}, std::string{"nul\0x", 5}}) {
    auto id = resolve_trace_id(bad, good_traceparent, good_amzn);
    EXPECT_NE(id, bad);
    EXPECT_TRUE(is_uuid_v4(id)) << id;
  }
}

TEST(trace_id, replaces_unusable_amzn_root) {
  std::string long_root = "Root=" + std::string(129, 'r');
  EXPECT_TRUE(is_uuid_v4(resolve_trace_id("", "", long_root)));
  EXPECT_TRUE(is_uuid_v4(resolve_trace_id("", "", "Root=1-\x01-x")));
}

TEST(trace_id, rejects_malformed_traceparent) {
  for (const char* bad : {
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",    // no flags
           "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",  // short trace
           "00-4bf92f3577b34da6a3ce929d0e0e4736x00f067aa0ba902b7-01", // bad separator
           "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01", // non-hex trace
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902bz-01", // non-hex parent
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g", // non-hex flags
           "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", // forbidden version
           "zz-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", // non-hex version
           "00-00000000000000000000000000000000-00f067aa0ba902b7-01", // all-zero trace
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
       }) {
    EXPECT_EQ(resolve_trace_id("", bad, good_amzn), good_root) << bad;
    EXPECT_TRUE(is_uuid_v4(resolve_trace_id("", bad, ""))) << bad;
  }
}

TEST(trace_id, traceparent_tolerates_surrounding_spaces) {
  std::string padded = std::string{"  "} + good_traceparent + " ";
  EXPECT_EQ(resolve_trace_id("", padded, ""), good_trace);
}

} // namespace
