#include "model/webhook_signature.hpp"

#include <gtest/gtest.h>

#include <set>

namespace {

using namespace um::model;

// Expected values below were computed independently with Node: the npm
// `standardwebhooks` 1.1.1 library's `new Webhook(secret).sign(id, date,
// body)`, cross-checked with `crypto.createHmac` and `Buffer.toString("base64")`.

TEST(webhook_signature, base64_rfc4648_vectors) {
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_encode("foob"), "Zm9vYg==");
  EXPECT_EQ(base64_encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
  // High bytes and the two characters where base64 and base64url differ.
  EXPECT_EQ(base64_encode(std::string{"\x00\xff\xfe\xfd\x80\x7f\x01", 7}),
            "AP/+/YB/AQ==");
}

TEST(webhook_signature, base64_round_trips_every_length) {
  std::string data;
  for (int i = 0; i < 70; ++i) {
    auto decoded = base64_decode(base64_encode(data));
    ASSERT_TRUE(decoded) << i;
    EXPECT_EQ(*decoded, data);
    data += static_cast<char>(i * 37 + 11);
  }
}

TEST(webhook_signature, base64_decode_accepts_padded_standard_text) {
  EXPECT_EQ(base64_decode(""), std::string{});
  EXPECT_EQ(base64_decode("Zg=="), "f");
  EXPECT_EQ(base64_decode("Zm8="), "fo");
  EXPECT_EQ(base64_decode("Zm9vYmFy"), "foobar");
  EXPECT_EQ(base64_decode("AP/+/YB/AQ=="),
            (std::string{"\x00\xff\xfe\xfd\x80\x7f\x01", 7}));
}

TEST(webhook_signature, base64_decode_rejects_other_text) {
  EXPECT_FALSE(base64_decode("Zg"));           // no padding
  EXPECT_FALSE(base64_decode("Zg="));          // length not a multiple of 4
  EXPECT_FALSE(base64_decode("Z==="));         // three pad characters
  EXPECT_FALSE(base64_decode("Zg==Zg=="));     // padding in the middle
  EXPECT_FALSE(base64_decode("AP_-_YB_AQ==")); // base64url alphabet
  EXPECT_FALSE(base64_decode("Zm9v YmE="));    // space
  EXPECT_FALSE(base64_decode("Zh=="));         // non-zero unused bits
  EXPECT_FALSE(base64_decode("Zm9="));         // non-zero unused bits
}

TEST(webhook_signature, standard_webhooks_reference_vector) {
  // The example of the Standard Webhooks specification and its libraries.
  EXPECT_EQ(webhook_signature("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                              "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330,
                              R"({"test": 2432232314})"),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
}

TEST(webhook_signature, signs_an_alert_body_as_the_npm_library_does) {
  const std::string body =
      R"({"id":"01JABCDEF0123456789ABCDEFG","type":"meter.usage.threshold",)"
      R"("timestamp":"2026-01-15T10:30:00.000Z","data":{"rule":{"id":"01JRULE",)"
      R"("name":"API calls over 100"},"meter":"api_calls","subject":"customer-1",)"
      R"("window":{"from":"2026-01-01T00:00:00.000Z","to":"2026-02-01T00:00:00.000Z"},)"
      R"("threshold":100,"value":120.5}})";
  auto headers = sign_webhook("whsec_S6g2HLnTwd9AhHwUIMFggVS9OfoPafN8",
                              "01JABCDEF0123456789ABCDEFG", 1768473000, body);
  EXPECT_EQ(headers.id, "01JABCDEF0123456789ABCDEFG");
  EXPECT_EQ(headers.timestamp, "1768473000");
  EXPECT_EQ(headers.signature, "v1,TEqBorV7Qn2jRPTIg0o7i7BtYm0djzbjqo095YMGw5Y=");
}

TEST(webhook_signature, secret_without_prefix_and_utf8_body) {
  // The library takes the secret with or without `whsec_`; the body is signed
  // as its UTF-8 bytes.
  EXPECT_EQ(webhook_signature("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_1", 0,
                              "{\"subject\":\"kunde-\xc3\xbc\"}"),
            "v1,kvyXbBI3LOHuqUP41CpQ9rGr4fRXboINvt8DMwXolYk=");
}

TEST(webhook_signature, every_part_is_signed) {
  const std::string secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
  auto base = webhook_signature(secret, "msg_1", 1000, "{}");
  EXPECT_NE(webhook_signature(secret, "msg_2", 1000, "{}"), base);
  EXPECT_NE(webhook_signature(secret, "msg_1", 1001, "{}"), base);
  EXPECT_NE(webhook_signature(secret, "msg_1", 1000, "{ }"), base);
  EXPECT_NE(
      webhook_signature("whsec_S6g2HLnTwd9AhHwUIMFggVS9OfoPafN8", "msg_1", 1000, "{}"),
      base);
}

TEST(webhook_signature, no_signature_without_a_key) {
  EXPECT_EQ(webhook_signature("whsec_", "msg_1", 1, "{}"), "");
  EXPECT_EQ(webhook_signature("whsec_not base64!", "msg_1", 1, "{}"), "");
  EXPECT_EQ(sign_webhook("", "msg_1", 1, "{}").signature, "");
}

TEST(webhook_signature, secret_key_is_the_decoded_base64) {
  EXPECT_EQ(webhook_secret_key("whsec_Zm9vYmFy"), "foobar");
  EXPECT_EQ(webhook_secret_key("Zm9vYmFy"), "foobar");
  EXPECT_FALSE(webhook_secret_key("whsec_"));
  EXPECT_FALSE(webhook_secret_key("whsec_Zm9vYmF"));
}

TEST(webhook_signature, new_secrets_are_32_random_bytes_in_whsec_form) {
  std::set<std::string> seen;
  for (int i = 0; i < 50; ++i) {
    auto secret = new_webhook_secret();
    ASSERT_EQ(secret.rfind("whsec_", 0), 0u) << secret;
    EXPECT_EQ(secret.size(), 6u + 44u); // 32 bytes: 44 characters of base64
    auto key = webhook_secret_key(secret);
    ASSERT_TRUE(key);
    EXPECT_EQ(key->size(), 32u);
    EXPECT_EQ(webhook_secret_problem(secret), "");
    seen.insert(secret);
  }
  EXPECT_EQ(seen.size(), 50u);
}

TEST(webhook_signature, secret_validation_follows_openmeter) {
  // 32 characters (24 bytes), OpenMeter's example; with and without prefix.
  EXPECT_EQ(webhook_secret_problem("whsec_S6g2HLnTwd9AhHwUIMFggVS9OfoPafN8"), "");
  EXPECT_EQ(webhook_secret_problem("S6g2HLnTwd9AhHwUIMFggVS9OfoPafN8"), "");
  // 100 characters is the most.
  EXPECT_EQ(webhook_secret_problem("whsec_" + std::string(100, 'A')), "");

  const std::string length_message =
      "signingSecret must be whsec_ followed by 32 to 100 characters of base64 (24 to 75 "
      "random bytes); leave it out to have one generated";
  EXPECT_EQ(webhook_secret_problem(""), length_message);
  EXPECT_EQ(webhook_secret_problem("whsec_"), length_message);
  EXPECT_EQ(webhook_secret_problem("whsec_Zm9vYmFy"), length_message);
  EXPECT_EQ(webhook_secret_problem("whsec_" + std::string(28, 'A')), length_message);
  EXPECT_EQ(webhook_secret_problem("whsec_" + std::string(104, 'A')), length_message);

  const std::string base64_message = "signingSecret must be whsec_ followed by standard "
                                     "base64 with padding (A-Z, a-z, 0-9, + and /)";
  EXPECT_EQ(webhook_secret_problem("whsec_S6g2HLnTwd9AhHwUIMFggVS9OfoPafN_"),
            base64_message);
  EXPECT_EQ(webhook_secret_problem("whsec_S6g2HLnTwd9AhHwUIMFggVS9OfoPafN"
                                   "8xyz12"),
            base64_message); // 37 characters: not a multiple of 4
  EXPECT_EQ(webhook_secret_problem("whsec_S6g2HLnTwd9AhHwUIMF ggVS9OfoPafN8"),
            base64_message);
}

TEST(webhook_signature, verifies_signature_headers) {
  const std::string secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
  const std::string body = R"({"test": 2432232314})";
  const std::string good = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
  EXPECT_TRUE(verify_webhook_signature(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330,
                                       body, good));
  // Several signatures (key rotation): any v1 one may match.
  EXPECT_TRUE(verify_webhook_signature(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330,
                                       body, "v1,bm90IGl0 v2,xyz " + good));
  EXPECT_FALSE(verify_webhook_signature(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek",
                                        1614265331, body, good));
  EXPECT_FALSE(verify_webhook_signature(secret, "msg_other", 1614265330, body, good));
  EXPECT_FALSE(verify_webhook_signature(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek",
                                        1614265330, body + " ", good));
  // The same digest under another version tag is not a v1 signature.
  EXPECT_FALSE(verify_webhook_signature(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek",
                                        1614265330, body, "v2," + good.substr(3)));
  EXPECT_FALSE(verify_webhook_signature(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek",
                                        1614265330, body, ""));
  EXPECT_FALSE(verify_webhook_signature("whsec_", "m", 1, "{}", "v1,"));
}

} // namespace
