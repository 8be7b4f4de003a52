#include "http/translate.hpp"

#include <gtest/gtest.h>

namespace {

using namespace um::http;

// Keys in the default namespace.
std::vector<um::model::api_key> keys_of(std::vector<std::string> secrets) {
  std::vector<um::model::api_key> out;
  for (auto& secret : secrets)
    out.push_back({"default", std::move(secret)});
  return out;
}

bool api_key_matches(std::string_view presented,
                     const std::vector<std::string>& secrets) {
  return matching_api_key(presented, keys_of(secrets)) != nullptr;
}

TEST(translate, api_key_matches_a_configured_key) {
  std::vector<std::string> keys{"key-one", "key-two"};
  EXPECT_TRUE(api_key_matches("key-one", keys));
  EXPECT_TRUE(api_key_matches("key-two", keys));
  EXPECT_FALSE(api_key_matches("key-three", keys));
  EXPECT_FALSE(api_key_matches("KEY-ONE", keys));
}

TEST(translate, a_matching_key_names_its_namespace) {
  std::vector<um::model::api_key> keys{
      {"acme", "k1"}, {"globex", "k2"}, {"default", "k3"}};
  ASSERT_NE(matching_api_key("k2", keys), nullptr);
  EXPECT_EQ(matching_api_key("k2", keys)->ns, "globex");
  EXPECT_EQ(matching_api_key("k1", keys)->ns, "acme");
  EXPECT_EQ(matching_api_key("k3", keys)->ns, "default");
  EXPECT_EQ(matching_api_key("acme:k1", keys), nullptr);
  EXPECT_EQ(matching_api_key("acme", keys), nullptr);
}

TEST(translate, api_key_prefixes_do_not_match) {
  std::vector<std::string> keys{"secret"};
  EXPECT_FALSE(api_key_matches("secre", keys));
  EXPECT_FALSE(api_key_matches("secrets", keys));
  EXPECT_FALSE(api_key_matches(std::string_view{"secret\0", 7}, keys));
  EXPECT_FALSE(api_key_matches("s", keys));
}

TEST(translate, empty_key_never_matches) {
  EXPECT_FALSE(api_key_matches("", {"secret"}));
  EXPECT_FALSE(api_key_matches("", {""}));
  EXPECT_FALSE(api_key_matches("", {}));
  EXPECT_FALSE(api_key_matches("secret", {}));
}

TEST(translate, presented_key_from_bearer) {
  EXPECT_EQ(presented_api_key("Bearer abc", ""), "abc");
  EXPECT_EQ(presented_api_key("bearer abc", "other"), "abc");
  EXPECT_EQ(presented_api_key("BEARER   abc  ", ""), "abc");
  EXPECT_EQ(presented_api_key("  Bearer abc", ""), "abc");
}

TEST(translate, presented_key_falls_back_to_x_api_key) {
  EXPECT_EQ(presented_api_key("", "xyz"), "xyz");
  EXPECT_EQ(presented_api_key("", "  xyz "), "xyz");
  EXPECT_EQ(presented_api_key("Basic dXNlcjpwYXNz", "xyz"), "xyz");
  EXPECT_EQ(presented_api_key("Bearer", "xyz"), "xyz");
  EXPECT_EQ(presented_api_key("Bearerabc", "xyz"), "xyz");
  EXPECT_EQ(presented_api_key("", ""), "");
}

TEST(translate, json_media_types) {
  for (const char* ok :
       {"application/json", "application/json; charset=utf-8",
        "application/json;charset=UTF-8", "Application/JSON", " application/json ",
        "application/vnd.api+json", "application/problem+json; charset=utf-8"})
    EXPECT_TRUE(is_json_media_type(ok)) << ok;
  for (const char* bad :
       {"", "text/plain", "text/plain; charset=utf-8", "text/json", "application/jsonx",
        "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
        "application/xml", "json", "text/plain+json"})
    EXPECT_FALSE(is_json_media_type(bad)) << bad;
}

TEST(translate, accepts_gzip) {
  for (const char* ok :
       {"gzip", "gzip, deflate, br", "br, GZIP", "deflate;q=0.5, gzip;q=0.8",
        "gzip;q=1.0", "gzip; q=0.001", "*", " * "})
    EXPECT_TRUE(accepts_gzip(ok)) << ok;
  for (const char* bad :
       {"", "deflate", "br, identity", "gzip;q=0", "gzip; q=0", "gzip;q=0.0",
        "gzip;q=0.000", "deflate, gzip;q=0", "*;q=0", "x-gzip-not"})
    EXPECT_FALSE(accepts_gzip(bad)) << bad;
}

TEST(translate, explicit_gzip_wins_over_a_refused_wildcard) {
  // RFC 7231 5.3.4: "*" stands for codings not listed; gzip listed is acceptable.
  EXPECT_TRUE(accepts_gzip("*;q=0, gzip"));
  EXPECT_FALSE(accepts_gzip("gzip;q=0, *"));
}

TEST(translate, client_ip_from_forwarded_for) {
  EXPECT_EQ(client_ip("203.0.113.5, 10.0.0.1", "10.0.0.9"), "203.0.113.5");
  EXPECT_EQ(client_ip("203.0.113.5", "10.0.0.9"), "203.0.113.5");
  EXPECT_EQ(client_ip(" 198.51.100.7 ,10.0.0.1", "10.0.0.9"), "198.51.100.7");
  EXPECT_EQ(client_ip("2001:db8::1", "10.0.0.9"), "2001:db8::1");
}

TEST(translate, client_ip_falls_back_to_peer) {
  EXPECT_EQ(client_ip("", "10.0.0.9"), "10.0.0.9");
  EXPECT_EQ(client_ip("   ", "10.0.0.9"), "10.0.0.9");
  EXPECT_EQ(client_ip(", 10.0.0.1", "10.0.0.9"), "10.0.0.9");
  EXPECT_EQ(client_ip(std::string(65, '1'), "10.0.0.9"), "10.0.0.9");
}

TEST(translate, limits) {
  EXPECT_EQ(max_body_bytes, 1024u * 1024u);
  EXPECT_GT(gzip_threshold, 0u);
}

} // namespace

TEST(translate, route_patterns_match_paths_by_segment) {
  using um::http::path_matches;
  EXPECT_TRUE(path_matches("/v1/events", "/v1/events"));
  EXPECT_TRUE(path_matches("/v1/events", "/v1/events?limit=5"));
  EXPECT_FALSE(path_matches("/v1/events", "/v1/events/"));
  EXPECT_FALSE(path_matches("/v1/events", "/v1/eventsx"));
  EXPECT_TRUE(path_matches("/v1/usage/:entityId", "/v1/usage/abc"));
  EXPECT_FALSE(path_matches("/v1/usage/:entityId", "/v1/usage/"));
  EXPECT_FALSE(path_matches("/v1/usage/:entityId", "/v1/usage/a/b"));
  EXPECT_TRUE(path_matches("/v1/usage/:entityId/history", "/v1/usage/a/history"));
  EXPECT_TRUE(path_matches("/", "/"));
  EXPECT_FALSE(path_matches("/", "/x"));
  EXPECT_TRUE(path_matches("/api/v1/meters/:meter/group-by/:key/values",
                           "/api/v1/meters/m1/group-by/model/values#x"));
}
