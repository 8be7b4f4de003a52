#include "model/portal_tokens.hpp"
#include "model/sha256.hpp"

#include <gtest/gtest.h>

#include <set>

namespace {

using namespace um::model;
using json = nlohmann::ordered_json;

std::string hex(const sha256_digest& d) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (auto b : d) {
    out += digits[b >> 4];
    out += digits[b & 15];
  }
  return out;
}

constexpr millis now = 1'767'225'600'000; // 2026-01-01T00:00:00Z
const std::string secret = "0123456789abcdef0123456789abcdef";

TEST(sha256, fips_vectors) {
  EXPECT_EQ(hex(sha256("")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(hex(sha256("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(hex(sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(hex(sha256(std::string(1'000'000, 'a'))),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  // 55, 56 and 64 bytes: the padding's edge cases.
  EXPECT_EQ(hex(sha256(std::string(55, 'a'))),
            "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318");
  EXPECT_EQ(hex(sha256(std::string(56, 'a'))),
            "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a");
  EXPECT_EQ(hex(sha256(std::string(64, 'a'))),
            "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb");
}

TEST(sha256, hmac_rfc4231_vectors) {
  EXPECT_EQ(hex(hmac_sha256(std::string(20, '\x0b'), "Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  EXPECT_EQ(hex(hmac_sha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(hex(hmac_sha256(std::string(131, '\xaa'),
                            "Test Using Larger Than Block-Size Key - Hash Key First")),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

TEST(sha256, base64url_round_trips_and_refuses_other_text) {
  EXPECT_EQ(base64url(""), "");
  EXPECT_EQ(base64url("f"), "Zg");
  EXPECT_EQ(base64url("fo"), "Zm8");
  EXPECT_EQ(base64url("foo"), "Zm9v");
  EXPECT_EQ(base64url("\xfb\xff"), "-_8");
  for (const std::string& s : std::vector<std::string>{"", "a", "ab", "abc", "abcd",
                                                       std::string("\0\xff\x10", 3)})
    EXPECT_EQ(base64url_decode(base64url(s)), s);
  EXPECT_FALSE(base64url_decode("Zm9v="));
  EXPECT_FALSE(base64url_decode("Z"));
  EXPECT_FALSE(base64url_decode("Zm+v"));
  EXPECT_FALSE(
      base64url_decode("Zh")); // non-zero bits left over: not the encoding of "f"
  EXPECT_TRUE(equal_in_constant_time("abc", "abc"));
  EXPECT_FALSE(equal_in_constant_time("abc", "abd"));
  EXPECT_FALSE(equal_in_constant_time("abc", "ab"));
}

TEST(portal_tokens, requests_are_read_as_openmeter_sends_them) {
  auto ok = parse_portal_token_request(
      json::parse(
          R"({"subject":"customer-1","allowedMeterSlugs":["tokens","tokens","calls"],
                      "expiresAt":"2026-02-01T00:00:00Z","id":"ignored"})"),
      now);
  ASSERT_TRUE(ok) << ok.error;
  EXPECT_EQ(ok.value.subject, "customer-1");
  EXPECT_EQ(ok.value.allowed_meter_slugs, (std::vector<std::string>{"tokens", "calls"}));
  EXPECT_EQ(ok.value.expires_at, try_parse_iso8601("2026-02-01T00:00:00Z"));
  EXPECT_TRUE(parse_portal_token_request(json::parse(R"({"subject":"c"})"), now));
  for (auto [body, message] : std::vector<std::pair<const char*, const char*>>{
           {"[]", "The body must be an object with a subject"},
           {"{}", "subject is required and must be a non-empty string"},
           {R"({"subject":""})", "subject is required and must be a non-empty string"},
           {R"({"subject":7})", "subject is required and must be a non-empty string"},
           {R"({"subject":"c","allowedMeterSlugs":"tokens"})",
            "allowedMeterSlugs must be an array of at most 100 meter slugs"},
           {R"({"subject":"c","allowedMeterSlugs":[""]})",
            "allowedMeterSlugs must hold non-empty strings"},
           {R"({"subject":"c","expiresAt":"tomorrow"})",
            "expiresAt must be an RFC 3339 date-time"},
           {R"({"subject":"c","expiresAt":"2025-01-01T00:00:00Z"})",
            "expiresAt must be in the future"},
       })
    EXPECT_EQ(parse_portal_token_request(json::parse(body), now).error, message) << body;
  EXPECT_EQ(
      parse_portal_token_request(json{{"subject", std::string(257, 'x')}}, now).error,
      "subject must be at most 256 characters");
}

TEST(portal_tokens, invalidation_names_a_token_or_a_subject) {
  auto by_id = parse_portal_invalidation(json::parse(R"({"id":"01J"})"));
  ASSERT_TRUE(by_id);
  EXPECT_EQ(by_id.value.id, "01J");
  EXPECT_FALSE(by_id.value.subject);
  EXPECT_EQ(parse_portal_invalidation(json::parse(R"({"subject":"c"})")).value.subject,
            "c");
  EXPECT_EQ(parse_portal_invalidation(json::parse("{}")).error,
            "Give the id of a token or a subject whose tokens to invalidate");
  EXPECT_EQ(parse_portal_invalidation(json::parse(R"({"id":""})")).error,
            "id must be a non-empty string");
  EXPECT_EQ(parse_portal_token_limit({}).value, 25u);
  EXPECT_EQ(parse_portal_token_limit({{"limit", "100"}}).value, 100u);
  for (auto bad : {"0", "101", "-1", "1.5", "", "x", "0100"})
    EXPECT_FALSE(parse_portal_token_limit({{"limit", bad}})) << bad;
}

// A token carries the namespace of the key that made it, signed with the
// rest; a token of the default namespace looks as it did before namespaces.
TEST(portal_tokens, a_token_carries_its_namespace) {
  auto t = new_portal_token({"customer-1", {}, std::nullopt}, now);
  auto plain = verify_portal_token(sign_portal_token(t, secret), secret, now);
  ASSERT_TRUE(plain) << plain.error;
  EXPECT_EQ(plain.value.ns, "default");
  t.ns = "acme";
  auto text = sign_portal_token(t, secret);
  auto back = verify_portal_token(text, secret, now);
  ASSERT_TRUE(back) << back.error;
  EXPECT_EQ(back.value.ns, "acme");
  EXPECT_NE(text, sign_portal_token(
                      new_portal_token({"customer-1", {}, std::nullopt}, now), secret));
}

TEST(portal_tokens, a_signed_token_verifies_under_its_secret_only) {
  auto t = new_portal_token({"customer-1", {"tokens"}, now + 3'600'000}, now);
  auto text = sign_portal_token(t, secret);
  EXPECT_TRUE(is_portal_token(text));
  EXPECT_EQ(text.rfind("om_portal_", 0), 0u);
  auto back = verify_portal_token(text, secret, now + 1);
  ASSERT_TRUE(back) << back.error;
  EXPECT_EQ(back.value.id, t.id);
  EXPECT_EQ(back.value.subject, "customer-1");
  EXPECT_EQ(back.value.allowed_meter_slugs, t.allowed_meter_slugs);
  EXPECT_EQ(back.value.expires_at, t.expires_at);

  EXPECT_EQ(verify_portal_token(text, "another secret of thirty-two bytes", now).error,
            "signature does not match");
  EXPECT_EQ(verify_portal_token(text, secret, now + 3'600'000).error, "expired");
  EXPECT_FALSE(verify_portal_token(text, "", now));
  // Any change to the claims or the signature is refused.
  for (std::size_t i = 10; i < text.size(); ++i) {
    auto changed = text;
    changed[i] = changed[i] == 'A' ? 'B' : 'A';
    EXPECT_FALSE(verify_portal_token(changed, secret, now)) << i;
  }
  // Claims signed without the prefix, or another subject's claims under the
  // same signature, do not verify.
  auto other = sign_portal_token(new_portal_token({"customer-2", {}, {}}, now), secret);
  auto spliced = other.substr(0, other.rfind('.')) + text.substr(text.rfind('.'));
  EXPECT_FALSE(verify_portal_token(spliced, secret, now));
  EXPECT_FALSE(verify_portal_token("om_portal_", secret, now));
  EXPECT_FALSE(verify_portal_token("Bearer x", secret, now));
}

TEST(portal_tokens, allowed_meters_and_json) {
  auto any = new_portal_token({"c", {}, {}}, now);
  EXPECT_TRUE(portal_meter_allowed(any, "whatever"));
  auto some = new_portal_token({"c", {"a", "b"}, now + 1000}, now);
  EXPECT_TRUE(portal_meter_allowed(some, "b"));
  EXPECT_FALSE(portal_meter_allowed(some, "c"));
  std::string text = "om_portal_x.y";
  EXPECT_EQ(portal_token_json(some, now, &text),
            json::parse(R"({"id":")" + some.id + R"(","subject":"c",
              "expiresAt":"2026-01-01T00:00:01.000Z","expired":false,
              "createdAt":"2026-01-01T00:00:00.000Z","allowedMeterSlugs":["a","b"],
              "token":"om_portal_x.y"})"));
  EXPECT_EQ(portal_token_json(some, now + 1000)["expired"], true);
  EXPECT_FALSE(portal_token_json(any, now).contains("expiresAt"));
  EXPECT_FALSE(portal_token_json(any, now).contains("token"));
  EXPECT_EQ(read_portal_slugs(portal_slugs_text({"a", "b"})),
            (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(read_portal_slugs("not json").empty());
}

TEST(portal_tokens, a_portal_query_reads_the_tokens_subject_only) {
  auto input = read_meter_query_params({{"subject", "other"},
                                        {"groupBy", "subject"},
                                        {"subject", "another"},
                                        {"windowSize", "HOUR"}});
  auto mine = for_portal_subject(input, "customer-1");
  std::vector<std::string> subjects;
  std::size_t others = 0;
  for (const auto& item : mine.items) {
    if (item.name == meter_query_input::field::subject)
      subjects.push_back(item.value);
    else
      ++others;
  }
  EXPECT_EQ(subjects, std::vector<std::string>{"customer-1"});
  EXPECT_EQ(others, 2u); // groupBy and windowSize kept
}

TEST(portal_tokens, ids_are_ulids_ordered_by_time) {
  std::set<std::string> ids;
  for (int i = 0; i < 1000; ++i)
    ids.insert(new_ulid(now));
  EXPECT_EQ(ids.size(), 1000u);
  auto id = new_ulid(now);
  EXPECT_EQ(id.size(), 26u);
  EXPECT_EQ(id.find_first_not_of("0123456789ABCDEFGHJKMNPQRSTVWXYZ"), std::string::npos);
  EXPECT_LT(new_ulid(now).substr(0, 10), new_ulid(now + 1).substr(0, 10));
  EXPECT_EQ(new_ulid(0).substr(0, 10), "0000000000");
}

} // namespace
