#include "model/notifications.hpp"
#include "model/webhook_signature.hpp"
#include "model/windows.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace {

using namespace um::model;
using json = nlohmann::ordered_json;

constexpr millis now = 1'767'225'600'000; // 2026-01-01T00:00:00Z

millis at(const char* text) {
  auto t = try_parse_iso8601(text);
  EXPECT_TRUE(t) << text;
  return t.value_or(0);
}

json channel_body() {
  return json::parse(R"({
    "type": "WEBHOOK",
    "name": "customer-webhook",
    "url": "https://example.com/webhook",
    "customHeaders": {"Authorization": "Bearer abc", "X-Tenant": "t1"},
    "signingSecret": "whsec_S6g2HLnTwd9AhHwUIMFggVS9OfoPafN8"
  })");
}

json rule_body() {
  return json::parse(R"({
    "type": "meter.usage.threshold",
    "name": "API calls over plan",
    "meter": "api_calls",
    "thresholds": [{"value": 1000}, {"value": 800, "type": "NUMBER"}],
    "window": "MONTH",
    "windowTimeZone": "Europe/Berlin",
    "subjects": ["customer-1", "customer-2", "customer-1"],
    "filterGroupBy": {"region": "eu"},
    "channels": ["01CHANNEL1", "01CHANNEL2", "01CHANNEL1"]
  })");
}

std::string channel_error(const json& body) {
  return parse_new_notification_channel(body, "01C", now).error;
}

std::string rule_error(const json& body) {
  return parse_new_notification_rule(body, "01R", now).error;
}

// ---------------------------------------------------------------------------
// Channels.

TEST(notifications_channel, parses_openmeter_create_request) {
  auto parsed = parse_new_notification_channel(channel_body(), "01CHANNEL1", now);
  ASSERT_TRUE(parsed) << parsed.error;
  const auto& c = parsed.value;
  EXPECT_EQ(c.id, "01CHANNEL1");
  EXPECT_EQ(c.name, "customer-webhook");
  EXPECT_EQ(c.url, "https://example.com/webhook");
  EXPECT_EQ(c.custom_headers.size(), 2u);
  EXPECT_EQ(c.custom_headers.at("Authorization"), "Bearer abc");
  EXPECT_EQ(c.signing_secret, "whsec_S6g2HLnTwd9AhHwUIMFggVS9OfoPafN8");
  EXPECT_FALSE(c.disabled);
  EXPECT_EQ(c.created_at, now);
  EXPECT_EQ(c.updated_at, now);
}

TEST(notifications_channel, generates_a_secret_when_none_is_given) {
  auto body = channel_body();
  body.erase("signingSecret");
  body["disabled"] = true;
  auto a = parse_new_notification_channel(body, "01A", now);
  auto b = parse_new_notification_channel(body, "01B", now);
  ASSERT_TRUE(a) << a.error;
  ASSERT_TRUE(b) << b.error;
  EXPECT_EQ(a.value.signing_secret.rfind("whsec_", 0), 0u);
  EXPECT_EQ(webhook_secret_problem(a.value.signing_secret), "");
  EXPECT_NE(a.value.signing_secret, b.value.signing_secret);
  EXPECT_TRUE(a.value.disabled);
  // null counts as absent.
  body["signingSecret"] = nullptr;
  auto c = parse_new_notification_channel(body, "01C", now);
  ASSERT_TRUE(c) << c.error;
  EXPECT_EQ(c.value.signing_secret.size(), 50u);
}

TEST(notifications_channel, requires_webhook_type) {
  auto body = channel_body();
  body.erase("type");
  EXPECT_EQ(channel_error(body), "type is required and must be WEBHOOK");
  body["type"] = "EMAIL";
  EXPECT_EQ(channel_error(body), "type must be WEBHOOK, the only channel type");
  body["type"] = "webhook";
  EXPECT_EQ(channel_error(body), "type must be WEBHOOK, the only channel type");
}

TEST(notifications_channel, name_is_1_to_256_characters) {
  auto body = channel_body();
  body["name"] = "";
  EXPECT_EQ(channel_error(body), "name is required and must be 1 to 256 characters");
  body["name"] = std::string(257, 'n');
  EXPECT_EQ(channel_error(body), "name is required and must be 1 to 256 characters");
  body["name"] = 5;
  EXPECT_EQ(channel_error(body), "name is required and must be 1 to 256 characters");
  body.erase("name");
  EXPECT_EQ(channel_error(body), "name is required and must be 1 to 256 characters");
  body["name"] = std::string(256, 'n');
  EXPECT_EQ(channel_error(body), "");
  // Characters, not bytes: 256 two-byte letters are fine.
  std::string umlauts;
  for (int i = 0; i < 256; ++i)
    umlauts += "\xc3\xbc";
  body["name"] = umlauts;
  EXPECT_EQ(channel_error(body), "");
}

TEST(notifications_channel, accepts_http_and_https_urls_with_a_host) {
  auto body = channel_body();
  for (const char* url :
       {"http://localhost:8080/hook", "https://example.com",
        "HTTPS://Example.com/a?b=c#d", "http://127.0.0.1:1/x", "http://[::1]:9000/hook",
        "https://hooks.example.co.uk/a/b", "http://my_host.internal/x"}) {
    body["url"] = url;
    auto parsed = parse_new_notification_channel(body, "01C", now);
    EXPECT_TRUE(parsed) << url << ": " << parsed.error;
    EXPECT_EQ(parsed.value.url, url);
  }
}

TEST(notifications_channel, rejects_other_urls) {
  auto body = channel_body();
  const std::string expected = "url must be an http or https URL with a host, such as "
                               "https://example.com/webhook, got ";
  for (const char* url :
       {"ftp://example.com/x", "example.com/webhook", "https://", "https:///path",
        "javascript://x", "http://[::1/x", "http://[zz]/x", "http://exa$mple.com/"}) {
    body["url"] = url;
    EXPECT_EQ(channel_error(body), expected + "'" + url + "'") << url;
  }
  body["url"] = "https://user:pw@example.com/";
  EXPECT_EQ(channel_error(body), "url must not contain credentials; send them in "
                                 "customHeaders (e.g. Authorization)");
  body["url"] = "https://example.com/a b";
  EXPECT_EQ(channel_error(body),
            "url must not contain spaces or control characters (percent-encode them)");
  body["url"] = "https://example.com/a\nb";
  EXPECT_EQ(channel_error(body),
            "url must not contain spaces or control characters (percent-encode them)");
  for (const char* url : {"https://example.com:0/", "https://example.com:65536/",
                          "https://example.com:/", "https://example.com:8o/"}) {
    body["url"] = url;
    EXPECT_EQ(channel_error(body),
              "url has an invalid port: it must be a number from 1 to 65535")
        << url;
  }
  body["url"] = "https://example.com/" + std::string(2048, 'a');
  EXPECT_EQ(
      channel_error(body),
      "url is required and must be an http or https URL of at most 2048 characters");
  body["url"] = 42;
  EXPECT_EQ(channel_error(body), "url is required and must be an http or https URL");
  body.erase("url");
  EXPECT_EQ(channel_error(body), "url is required and must be an http or https URL");
}

TEST(notifications_channel, long_urls_are_cut_in_messages) {
  auto body = channel_body();
  body["url"] = "ftp://" + std::string(500, 'a');
  auto error = channel_error(body);
  EXPECT_LT(error.size(), 250u);
  EXPECT_NE(error.find("...'"), std::string::npos);
}

TEST(notifications_channel, custom_headers_are_checked) {
  auto body = channel_body();
  body["customHeaders"] = json::array();
  EXPECT_EQ(channel_error(body),
            "customHeaders must be an object of header name to value");

  body["customHeaders"] = {{"X-Ok", "fine"}, {"Bad Name", "v"}};
  EXPECT_EQ(channel_error(body),
            "customHeaders 'Bad Name': the name must be an HTTP header name (letters, "
            "digits and !#$%&'*+-.^_`|~, at most 256)");

  body["customHeaders"] = {{"X-Split", "a\r\nX-Injected: 1"}};
  EXPECT_EQ(channel_error(body),
            "customHeaders 'X-Split': the value must be at most 4096 "
            "bytes, without line breaks or NUL");
  body["customHeaders"] = {{"X-Nul", std::string{"a\0b", 3}}};
  EXPECT_EQ(channel_error(body), "customHeaders 'X-Nul': the value must be at most 4096 "
                                 "bytes, without line breaks or NUL");
  body["customHeaders"] = {{"X-Long", std::string(4097, 'v')}};
  EXPECT_EQ(channel_error(body), "customHeaders 'X-Long': the value must be at most 4096 "
                                 "bytes, without line breaks or NUL");
  body["customHeaders"] = {{"X-Number", 5}};
  EXPECT_EQ(channel_error(body), "customHeaders 'X-Number': the value must be a string");

  const std::string reserved = ": the service sets this header itself (Content-Type, "
                               "Content-Length, Host, Transfer-Encoding, Connection and "
                               "webhook-*)";
  for (const char* name :
       {"Content-Type", "content-length", "HOST", "Transfer-Encoding", "Connection",
        "webhook-signature", "Webhook-Id", "webhook-x"}) {
    body["customHeaders"] = {{name, "v"}};
    EXPECT_EQ(channel_error(body),
              std::string{"customHeaders '"} + name + "'" + reserved);
  }

  json many = json::object();
  for (int i = 0; i < 33; ++i)
    many["X-H" + std::to_string(i)] = "v";
  body["customHeaders"] = many;
  EXPECT_EQ(channel_error(body), "customHeaders may hold at most 32 headers");
  many.erase("X-H0");
  body["customHeaders"] = many;
  EXPECT_EQ(channel_error(body), "");
  body["customHeaders"] = nullptr;
  auto parsed = parse_new_notification_channel(body, "01C", now);
  ASSERT_TRUE(parsed);
  EXPECT_TRUE(parsed.value.custom_headers.empty());
}

TEST(notifications_channel, signing_secret_is_validated_when_given) {
  auto body = channel_body();
  body["signingSecret"] = "whsec_short";
  EXPECT_EQ(channel_error(body),
            "signingSecret must be whsec_ followed by 32 to 100 characters of base64 (24 "
            "to 75 random bytes); leave it out to have one generated");
  body["signingSecret"] = 12;
  EXPECT_EQ(channel_error(body), "signingSecret must be a string (whsec_ and base64)");
  body["signingSecret"] = "S6g2HLnTwd9AhHwUIMFggVS9OfoPafN8";
  auto parsed = parse_new_notification_channel(body, "01C", now);
  ASSERT_TRUE(parsed) << parsed.error;
  EXPECT_EQ(parsed.value.signing_secret, "S6g2HLnTwd9AhHwUIMFggVS9OfoPafN8");
}

TEST(notifications_channel, reports_every_problem) {
  json body = {{"type", "SLACK"}, {"url", "mailto:x"}, {"disabled", "yes"}};
  EXPECT_EQ(
      channel_error(body),
      "type must be WEBHOOK, the only channel type; name is required and must be 1 "
      "to 256 characters; url must be an http or https URL with a host, such as "
      "https://example.com/webhook, got 'mailto:x'; disabled must be true or false");
  EXPECT_EQ(channel_error(json::array()), "request body must be a JSON object");
  auto failed = parse_new_notification_channel(body, "01C", now);
  EXPECT_FALSE(failed);
  EXPECT_TRUE(failed.value.id.empty()); // no half-read value
}

TEST(notifications_channel, update_keeps_id_creation_and_secret) {
  auto current = parse_new_notification_channel(channel_body(), "01CHANNEL1", now).value;
  json body = {{"type", "WEBHOOK"},
               {"name", "renamed"},
               {"url", "http://localhost:9000/new"},
               {"disabled", true}};
  auto updated = parse_notification_channel_update(body, current, now + 5000);
  ASSERT_TRUE(updated) << updated.error;
  EXPECT_EQ(updated.value.id, "01CHANNEL1");
  EXPECT_EQ(updated.value.name, "renamed");
  EXPECT_EQ(updated.value.url, "http://localhost:9000/new");
  EXPECT_TRUE(updated.value.custom_headers.empty()); // PUT replaces
  EXPECT_TRUE(updated.value.disabled);
  EXPECT_EQ(updated.value.signing_secret, current.signing_secret);
  EXPECT_EQ(updated.value.created_at, now);
  EXPECT_EQ(updated.value.updated_at, now + 5000);

  body["signingSecret"] = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
  updated = parse_notification_channel_update(body, current, now + 5000);
  ASSERT_TRUE(updated) << updated.error;
  EXPECT_EQ(updated.value.signing_secret, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");

  body["url"] = "nope";
  EXPECT_FALSE(parse_notification_channel_update(body, current, now));
}

TEST(notifications_channel, renders_openmeter_channel) {
  auto c = parse_new_notification_channel(channel_body(), "01CHANNEL1", now).value;
  c.updated_at = now + 1;
  EXPECT_EQ(notification_channel_json(c).dump(),
            R"({"id":"01CHANNEL1","type":"WEBHOOK","name":"customer-webhook",)"
            R"("disabled":false,"url":"https://example.com/webhook",)"
            R"("customHeaders":{"Authorization":"Bearer abc","X-Tenant":"t1"},)"
            R"("signingSecret":"whsec_S6g2HLnTwd9AhHwUIMFggVS9OfoPafN8",)"
            R"("createdAt":"2026-01-01T00:00:00.000Z",)"
            R"("updatedAt":"2026-01-01T00:00:00.001Z"})");
  c.custom_headers.clear();
  EXPECT_EQ(notification_channel_json(c)["customHeaders"], json::object());
}

TEST(notifications_channel, renders_channel_meta) {
  notification_channel c;
  c.id = "01C";
  c.name = "ops";
  EXPECT_EQ(notification_channel_meta_json("01C", &c).dump(),
            R"({"id":"01C","type":"WEBHOOK","name":"ops"})");
  EXPECT_EQ(notification_channel_meta_json("01GONE", nullptr).dump(),
            R"({"id":"01GONE","type":"WEBHOOK"})");
}

// ---------------------------------------------------------------------------
// Rules.

TEST(notifications_rule, parses_create_request) {
  auto parsed = parse_new_notification_rule(rule_body(), "01RULE", now);
  ASSERT_TRUE(parsed) << parsed.error;
  const auto& r = parsed.value;
  EXPECT_EQ(r.id, "01RULE");
  EXPECT_EQ(r.name, "API calls over plan");
  EXPECT_EQ(r.meter_slug, "api_calls");
  EXPECT_EQ(r.thresholds, (std::vector<double>{800, 1000})); // ascending
  EXPECT_EQ(r.window, threshold_window::month);
  EXPECT_EQ(r.window_time_zone, "Europe/Berlin");
  EXPECT_EQ(r.subjects, (std::vector<std::string>{"customer-1", "customer-2"}));
  EXPECT_EQ(r.group_by_filters, (std::map<std::string, std::string>{{"region", "eu"}}));
  EXPECT_EQ(r.channel_ids, (std::vector<std::string>{"01CHANNEL1", "01CHANNEL2"}));
  EXPECT_FALSE(r.disabled);
  EXPECT_EQ(r.created_at, now);
  EXPECT_EQ(r.updated_at, now);
}

TEST(notifications_rule, optional_fields_default) {
  json body = {{"type", "meter.usage.threshold"},
               {"name", "n"},
               {"meter", "tokens"},
               {"thresholds", {{{"value", 0.5}}, {{"value", 0.5}}}},
               {"window", "DAY"},
               {"channels", {"01C"}},
               {"subjects", nullptr},
               {"disabled", true}};
  auto parsed = parse_new_notification_rule(body, "01R", now);
  ASSERT_TRUE(parsed) << parsed.error;
  EXPECT_EQ(parsed.value.window_time_zone, "UTC");
  EXPECT_EQ(parsed.value.thresholds, std::vector<double>{0.5}); // repeats dropped
  EXPECT_TRUE(parsed.value.subjects.empty());
  EXPECT_TRUE(parsed.value.group_by_filters.empty());
  EXPECT_TRUE(parsed.value.disabled);
  EXPECT_EQ(parsed.value.window, threshold_window::day);
}

TEST(notifications_rule, type_must_be_ours) {
  auto body = rule_body();
  body["type"] = "entitlements.balance.threshold";
  EXPECT_EQ(rule_error(body), "type must be meter.usage.threshold, the only rule type");
  body.erase("type");
  EXPECT_EQ(rule_error(body), "type is required and must be meter.usage.threshold");
}

TEST(notifications_rule, meter_must_be_a_slug) {
  auto body = rule_body();
  for (json meter : {json("API Calls"), json(""), json(3), json(nullptr)}) {
    body["meter"] = meter;
    EXPECT_EQ(rule_error(body), "meter is required and must be the slug of a meter")
        << meter.dump();
  }
}

TEST(notifications_rule, thresholds_are_checked) {
  auto body = rule_body();
  const std::string shape =
      "thresholds must be an array of 1 to 10 thresholds such as [{\"value\": 100}]";
  body["thresholds"] = json::array();
  EXPECT_EQ(rule_error(body), shape);
  body["thresholds"] = {{"value", 5}};
  EXPECT_EQ(rule_error(body), shape);
  body.erase("thresholds");
  EXPECT_EQ(rule_error(body), shape);
  json eleven = json::array();
  for (int i = 1; i <= 11; ++i)
    eleven.push_back({{"value", i}});
  body["thresholds"] = eleven;
  EXPECT_EQ(rule_error(body), shape);
  eleven.erase(eleven.begin());
  body["thresholds"] = eleven;
  EXPECT_EQ(rule_error(body), "");

  body["thresholds"] = {100};
  EXPECT_EQ(rule_error(body), "thresholds[0] must be an object such as {\"value\": 100}");
  body["thresholds"] = {{{"value", 1}},
                        {{"value", 0}},
                        {{"value", -5}},
                        {{"value", "7"}},
                        {{"type", "NUMBER"}}};
  EXPECT_EQ(rule_error(body), "thresholds[1].value must be a number greater than 0; "
                              "thresholds[2].value must be a number greater than 0; "
                              "thresholds[3].value must be a number greater than 0; "
                              "thresholds[4].value must be a number greater than 0");
  body["thresholds"] = {{{"value", 1}, {"type", "PERCENT"}}};
  EXPECT_EQ(rule_error(body),
            "thresholds[0].type must be NUMBER (or absent): thresholds are usage values");
  body["thresholds"] = {{{"value", 1}, {"type", "usage_value"}}};
  EXPECT_EQ(rule_error(body), "");
  body["thresholds"] = {{{"value", 1e300}}, {{"value", 1e-9}}};
  EXPECT_EQ(rule_error(body), "");
}

TEST(notifications_rule, window_and_zone_are_checked) {
  auto body = rule_body();
  for (const char* w : {"DAY", "MONTH", "TOTAL"}) {
    body["window"] = w;
    auto parsed = parse_new_notification_rule(body, "01R", now);
    ASSERT_TRUE(parsed) << parsed.error;
    EXPECT_EQ(threshold_window_name(parsed.value.window), w);
  }
  for (json w : {json("WEEK"), json("month"), json(1)}) {
    body["window"] = w;
    EXPECT_EQ(rule_error(body), "window is required and must be DAY, MONTH or TOTAL");
  }
  body.erase("window");
  EXPECT_EQ(rule_error(body), "window is required and must be DAY, MONTH or TOTAL");
  body["window"] = "DAY";
  body["windowTimeZone"] = "Mars/Olympus_Mons";
  EXPECT_EQ(rule_error(body), "windowTimeZone must be an IANA time zone such as "
                              "Europe/Berlin, got 'Mars/Olympus_Mons'");
  body["windowTimeZone"] = 2;
  EXPECT_EQ(rule_error(body),
            "windowTimeZone must be an IANA time zone such as Europe/Berlin, got '2'");
  body["windowTimeZone"] = "America/New_York";
  EXPECT_EQ(rule_error(body), "");
}

TEST(notifications_rule, subjects_filters_and_channels_are_checked) {
  auto body = rule_body();
  body["subjects"] = "customer-1";
  EXPECT_EQ(rule_error(body), "subjects must be an array of at most 100 subjects");
  body["subjects"] = {"ok", "", 4};
  EXPECT_EQ(rule_error(body),
            "subjects[1] must be a non-empty string of at most 256 characters; "
            "subjects[2] must be a non-empty string of at most 256 characters");
  body["subjects"] = json::array({std::string(257, 's')});
  EXPECT_EQ(rule_error(body),
            "subjects[0] must be a non-empty string of at most 256 characters");
  json many = json::array();
  for (int i = 0; i < 101; ++i)
    many.push_back("s" + std::to_string(i));
  body["subjects"] = many;
  EXPECT_EQ(rule_error(body), "subjects must be an array of at most 100 subjects");
  body["subjects"] = json::array();
  EXPECT_EQ(rule_error(body), "");

  body["filterGroupBy"] = {"region"};
  EXPECT_EQ(rule_error(body), "filterGroupBy must be an object of group-by key to value");
  body["filterGroupBy"] = {{"1region", "eu"}, {"model", 4}};
  EXPECT_EQ(
      rule_error(body),
      "filterGroupBy '1region': keys must start with a letter or _ and consist of "
      "letters, digits and _ (at most 64); filterGroupBy 'model': the value must be "
      "a string of at most 256 characters");

  body["filterGroupBy"] = json::object();
  body["channels"] = json::array();
  EXPECT_EQ(rule_error(body), "channels must be an array of 1 to 50 channel ids");
  body.erase("channels");
  EXPECT_EQ(rule_error(body), "channels must be an array of 1 to 50 channel ids");
  body["channels"] = "01C";
  EXPECT_EQ(rule_error(body), "channels must be an array of 1 to 50 channel ids");
  body["channels"] = {"01C", ""};
  EXPECT_EQ(rule_error(body),
            "channels[1] must be a non-empty string of at most 256 characters");
  // OpenMeter's responses name channels as objects; requests take ids.
  body["channels"] = {{{"id", "01C"}}};
  EXPECT_EQ(rule_error(body),
            "channels[0] must be a non-empty string of at most 256 characters");
}

TEST(notifications_rule, reports_every_problem) {
  EXPECT_EQ(
      rule_error(json::object()),
      "type is required and must be meter.usage.threshold; name is required and must "
      "be 1 to 256 characters; meter is required and must be the slug of a meter; "
      "thresholds must be an array of 1 to 10 thresholds such as [{\"value\": 100}]; "
      "window is required and must be DAY, MONTH or TOTAL; channels must be an array "
      "of 1 to 50 channel ids");
  EXPECT_EQ(rule_error(json("text")), "request body must be a JSON object");
}

TEST(notifications_rule, update_keeps_id_and_creation) {
  auto current = parse_new_notification_rule(rule_body(), "01RULE", now).value;
  auto body = rule_body();
  body["name"] = "renamed";
  body["window"] = "TOTAL";
  body.erase("subjects");
  body.erase("windowTimeZone");
  auto updated = parse_notification_rule_update(body, current, now + 60'000);
  ASSERT_TRUE(updated) << updated.error;
  EXPECT_EQ(updated.value.id, "01RULE");
  EXPECT_EQ(updated.value.name, "renamed");
  EXPECT_EQ(updated.value.window, threshold_window::total);
  EXPECT_EQ(updated.value.window_time_zone, "UTC"); // PUT replaces
  EXPECT_TRUE(updated.value.subjects.empty());
  EXPECT_EQ(updated.value.created_at, now);
  EXPECT_EQ(updated.value.updated_at, now + 60'000);
  body["window"] = "YEAR";
  auto failed = parse_notification_rule_update(body, current, now);
  EXPECT_EQ(failed.error, "window is required and must be DAY, MONTH or TOTAL");
}

TEST(notifications_rule, renders_rule_with_channel_objects) {
  auto r = parse_new_notification_rule(rule_body(), "01RULE", now).value;
  notification_channel ops;
  ops.id = "01CHANNEL1";
  ops.name = "ops";
  EXPECT_EQ(
      notification_rule_json(r, {ops}).dump(),
      R"({"id":"01RULE","type":"meter.usage.threshold","name":"API calls over plan",)"
      R"("disabled":false,"meter":"api_calls",)"
      R"("thresholds":[{"value":800,"type":"NUMBER"},{"value":1000,"type":"NUMBER"}],)"
      R"("window":"MONTH","windowTimeZone":"Europe/Berlin",)"
      R"("subjects":["customer-1","customer-2"],"filterGroupBy":{"region":"eu"},)"
      R"("channels":[{"id":"01CHANNEL1","type":"WEBHOOK","name":"ops"},)"
      R"({"id":"01CHANNEL2","type":"WEBHOOK"}],"createdAt":"2026-01-01T00:00:00.000Z",)"
      R"("updatedAt":"2026-01-01T00:00:00.000Z"})");
  r.subjects.clear();
  r.group_by_filters.clear();
  r.thresholds = {0.25};
  auto j = notification_rule_json(r, {});
  EXPECT_FALSE(j.contains("subjects"));
  EXPECT_FALSE(j.contains("filterGroupBy"));
  EXPECT_EQ(j["thresholds"].dump(), R"([{"value":0.25,"type":"NUMBER"}])");
}

TEST(notifications_rule, window_names_round_trip) {
  for (auto w : {threshold_window::day, threshold_window::month, threshold_window::total})
    EXPECT_EQ(try_parse_threshold_window(threshold_window_name(w)), w);
  EXPECT_FALSE(try_parse_threshold_window("Day"));
  EXPECT_FALSE(try_parse_threshold_window(""));
}

// ---------------------------------------------------------------------------
// Events.

notification_event sample_event() {
  notification_event e;
  e.id = "01JABCDEF0123456789ABCDEFG";
  e.rule_id = "01JRULE";
  e.rule_name = "API calls over 100";
  e.meter_slug = "api_calls";
  e.subject = "customer-1";
  e.window = {at("2026-01-01T00:00:00Z"), at("2026-02-01T00:00:00Z")};
  e.threshold = 100;
  e.value = 120.5;
  e.created_at = at("2026-01-15T10:30:00Z");
  return e;
}

TEST(notifications_event, webhook_body_is_the_documented_payload) {
  // The same bytes as signed by the npm library in webhook_signature_test.
  const std::string expected =
      R"({"id":"01JABCDEF0123456789ABCDEFG","type":"meter.usage.threshold",)"
      R"("timestamp":"2026-01-15T10:30:00.000Z","data":{"rule":{"id":"01JRULE",)"
      R"("name":"API calls over 100"},"meter":"api_calls","subject":"customer-1",)"
      R"("window":{"from":"2026-01-01T00:00:00.000Z","to":"2026-02-01T00:00:00.000Z"},)"
      R"("threshold":100,"value":120.5}})";
  auto e = sample_event();
  EXPECT_EQ(webhook_body(e), expected);
  EXPECT_EQ(webhook_body(e), webhook_body(e));
  EXPECT_EQ(notification_payload_json(e).dump(), expected);
  EXPECT_EQ(webhook_signature("whsec_S6g2HLnTwd9AhHwUIMFggVS9OfoPafN8", e.id, 1768473000,
                              webhook_body(e)),
            "v1,TEqBorV7Qn2jRPTIg0o7i7BtYm0djzbjqo095YMGw5Y=");
}

TEST(notifications_event, total_window_has_no_end_and_bad_utf8_does_not_throw) {
  auto e = sample_event();
  e.window = {earliest_timestamp, std::nullopt};
  e.subject = "bad\xff";
  std::string body;
  ASSERT_NO_THROW(body = webhook_body(e));
  EXPECT_NE(body.find(R"("window":{"from":"0000-01-01T00:00:00.000Z","to":null})"),
            std::string::npos)
      << body;
  EXPECT_NE(body.find("\"subject\":\"bad\xef\xbf\xbd\""), std::string::npos) << body;
}

TEST(notifications_event, renders_openmeter_event) {
  auto e = sample_event();
  notification_delivery sent;
  sent.channel_id = "01CHANNEL1";
  sent.state = delivery_state::success;
  sent.attempts = 3;
  sent.last_status_code = 200;
  sent.last_attempt_at = e.created_at + 36'000;
  sent.last_duration_ms = 42;
  sent.updated_at = e.created_at + 36'042;
  notification_delivery waiting;
  waiting.channel_id = "01GONE";
  waiting.state = delivery_state::pending;
  waiting.attempts = 1;
  waiting.last_status_code = 500;
  waiting.last_error = "HTTP 500";
  waiting.last_attempt_at = e.created_at;
  waiting.last_duration_ms = 7;
  waiting.next_attempt_at = e.created_at + 1000;
  waiting.updated_at = e.created_at + 7;
  notification_delivery fresh;
  fresh.channel_id = "01CHANNEL1";
  fresh.updated_at = e.created_at;
  e.deliveries = {sent, waiting, fresh};

  notification_channel ops;
  ops.id = "01CHANNEL1";
  ops.name = "ops";
  ops.url = "https://example.com/hook";
  auto j = notification_event_json(e, nullptr, {ops});
  EXPECT_EQ(j["id"], e.id);
  EXPECT_EQ(j["type"], "meter.usage.threshold");
  EXPECT_EQ(j["createdAt"], "2026-01-15T10:30:00.000Z");
  EXPECT_EQ(
      j["rule"].dump(),
      R"({"id":"01JRULE","type":"meter.usage.threshold","name":"API calls over 100"})");
  EXPECT_EQ(j["payload"], notification_payload_json(e));
  ASSERT_EQ(j["deliveryStatus"].size(), 3u);
  EXPECT_EQ(j["deliveryStatus"][0].dump(),
            R"({"state":"SUCCESS","reason":"","updatedAt":"2026-01-15T10:30:36.042Z",)"
            R"("channel":{"id":"01CHANNEL1","type":"WEBHOOK","name":"ops"},)"
            R"("attempts":[{"state":"SUCCESS","response":{"statusCode":200,"body":"",)"
            R"("durationMs":42,"url":"https://example.com/hook"},)"
            R"("timestamp":"2026-01-15T10:30:36.000Z"}],)"
            R"("attemptCount":3,"lastStatusCode":200})");
  EXPECT_EQ(
      j["deliveryStatus"][1].dump(),
      R"({"state":"PENDING","reason":"HTTP 500","updatedAt":"2026-01-15T10:30:00.007Z",)"
      R"("channel":{"id":"01GONE","type":"WEBHOOK"},)"
      R"("nextAttempt":"2026-01-15T10:30:01.000Z",)"
      R"("attempts":[{"state":"FAILED","response":{"statusCode":500,"body":"HTTP 500",)"
      R"("durationMs":7},"timestamp":"2026-01-15T10:30:00.000Z"}],"attemptCount":1,)"
      R"("lastStatusCode":500})");
  EXPECT_EQ(j["deliveryStatus"][2].dump(),
            R"({"state":"PENDING","reason":"","updatedAt":"2026-01-15T10:30:00.000Z",)"
            R"("channel":{"id":"01CHANNEL1","type":"WEBHOOK","name":"ops"},)"
            R"("attempts":[],"attemptCount":0})");

  notification_rule rule;
  rule.id = "01JRULE";
  rule.name = "renamed since";
  rule.channel_ids = {"01CHANNEL1"};
  auto with_rule = notification_event_json(e, &rule, {ops});
  EXPECT_EQ(with_rule["rule"], notification_rule_json(rule, {ops}));
  // The payload keeps the name the rule had when the event was made.
  EXPECT_EQ(with_rule["payload"]["data"]["rule"]["name"], "API calls over 100");
}

TEST(notifications_event, state_names_are_openmeters) {
  EXPECT_EQ(delivery_state_name(delivery_state::pending), "PENDING");
  EXPECT_EQ(delivery_state_name(delivery_state::sending), "SENDING");
  EXPECT_EQ(delivery_state_name(delivery_state::success), "SUCCESS");
  EXPECT_EQ(delivery_state_name(delivery_state::failed), "FAILED");
}

TEST(notifications_event, new_event_has_pending_deliveries) {
  auto rule = parse_new_notification_rule(rule_body(), "01RULE", now).value;
  usage_span window{at("2025-12-31T23:00:00Z"), at("2026-01-31T23:00:00Z")};
  auto e =
      new_notification_event(rule, "customer-1", window, 800, 812, {"01CHANNEL1"}, now);
  EXPECT_EQ(e.id.size(), 26u);
  EXPECT_EQ(e.rule_id, "01RULE");
  EXPECT_EQ(e.rule_name, "API calls over plan");
  EXPECT_EQ(e.meter_slug, "api_calls");
  EXPECT_EQ(e.subject, "customer-1");
  EXPECT_EQ(e.window, window);
  EXPECT_EQ(e.threshold, 800);
  EXPECT_EQ(e.value, 812);
  EXPECT_EQ(e.created_at, now);
  ASSERT_EQ(e.deliveries.size(), 1u);
  EXPECT_EQ(e.deliveries[0].channel_id, "01CHANNEL1");
  EXPECT_EQ(e.deliveries[0].state, delivery_state::pending);
  EXPECT_EQ(e.deliveries[0].attempts, 0);
  EXPECT_EQ(e.deliveries[0].next_attempt_at, now);
  EXPECT_EQ(e.deliveries[0].updated_at, now);
  EXPECT_FALSE(e.deliveries[0].last_status_code);
  auto other = new_notification_event(rule, "customer-1", window, 800, 812, {}, now);
  EXPECT_NE(other.id, e.id);
  EXPECT_TRUE(other.deliveries.empty());
}

TEST(notifications_event, resend_request) {
  auto all = parse_notification_resend(json::object());
  ASSERT_TRUE(all);
  EXPECT_TRUE(all.value.empty());
  EXPECT_TRUE(parse_notification_resend(json(nullptr)));
  auto some = parse_notification_resend(json{{"channels", {"01A", "01B", "01A"}}});
  ASSERT_TRUE(some) << some.error;
  EXPECT_EQ(some.value, (std::vector<std::string>{"01A", "01B"}));
  EXPECT_EQ(parse_notification_resend(json{{"channels", "01A"}}).error,
            "channels must be an array of at most 50 channel ids");
  EXPECT_EQ(parse_notification_resend(json{{"channels", {1}}}).error,
            "channels[0] must be a non-empty string of at most 256 characters");
  EXPECT_EQ(parse_notification_resend(json::array()).error,
            "request body must be a JSON object, optionally with channels (an array of "
            "channel ids)");
}

// ---------------------------------------------------------------------------
// Lists.

TEST(notifications_page, parses_page_and_page_size) {
  auto defaults = parse_page_request({});
  ASSERT_TRUE(defaults);
  EXPECT_EQ(defaults.value.page, 1u);
  EXPECT_EQ(defaults.value.page_size, 100u);
  EXPECT_EQ(defaults.value.offset(), 0u);
  auto third = parse_page_request({{"page", "3"}, {"pageSize", "1000"}});
  ASSERT_TRUE(third) << third.error;
  EXPECT_EQ(third.value.page, 3u);
  EXPECT_EQ(third.value.page_size, 1000u);
  EXPECT_EQ(third.value.offset(), 2000u);
  EXPECT_EQ(parse_page_request({{"page", "0"}}).error, "page must be an integer from 1");
  EXPECT_EQ(parse_page_request({{"page", "-1"}}).error, "page must be an integer from 1");
  EXPECT_EQ(parse_page_request({{"page", "99999999999"}}).error,
            "page must be an integer from 1");
  EXPECT_EQ(parse_page_request({{"pageSize", "1001"}}).error,
            "pageSize must be an integer from 1 to 1000");
  EXPECT_EQ(parse_page_request({{"pageSize", ""}}).error,
            "pageSize must be an integer from 1 to 1000");
  EXPECT_EQ(parse_page_request({{"page", "x"}, {"pageSize", "0"}}).error,
            "page must be an integer from 1; pageSize must be an integer from 1 to 1000");
}

TEST(notifications_page, renders_openmeter_envelope) {
  EXPECT_EQ(notification_page_json(json::array({1, 2}), {2, 2}, 5).dump(),
            R"({"totalCount":5,"page":2,"pageSize":2,"items":[1,2]})");
  EXPECT_EQ(notification_page_json(json(), {}, 0).dump(),
            R"({"totalCount":0,"page":1,"pageSize":100,"items":[]})");
}

// ---------------------------------------------------------------------------
// Windows, keys and crossings.

TEST(notifications_window, day_in_utc) {
  auto utc = try_locate_zone("UTC");
  ASSERT_NE(utc, nullptr);
  auto span = usage_window(threshold_window::day, utc, at("2026-01-15T10:30:00Z"));
  EXPECT_EQ(span, (usage_span{at("2026-01-15T00:00:00Z"), at("2026-01-16T00:00:00Z")}));
  // The first instant of a day is in it; the last millisecond of the day before is not.
  span = usage_window(threshold_window::day, utc, at("2026-01-16T00:00:00Z"));
  EXPECT_EQ(span.from, at("2026-01-16T00:00:00Z"));
  span = usage_window(threshold_window::day, utc, at("2026-01-15T23:59:59.999Z"));
  EXPECT_EQ(span.from, at("2026-01-15T00:00:00Z"));
}

TEST(notifications_window, dst_days_in_berlin_have_23_and_25_hours) {
  auto berlin = try_locate_zone("Europe/Berlin");
  ASSERT_NE(berlin, nullptr);
  // 2026-03-29: clocks go from 02:00 CET to 03:00 CEST.
  auto spring = usage_window(threshold_window::day, berlin, at("2026-03-29T12:00:00Z"));
  EXPECT_EQ(spring.from, at("2026-03-28T23:00:00Z"));
  ASSERT_TRUE(spring.to);
  EXPECT_EQ(*spring.to, at("2026-03-29T22:00:00Z"));
  EXPECT_EQ(*spring.to - spring.from, 23 * 3'600'000);
  // 2026-10-25: clocks go back from 03:00 CEST to 02:00 CET.
  auto autumn = usage_window(threshold_window::day, berlin, at("2026-10-25T01:30:00Z"));
  EXPECT_EQ(autumn.from, at("2026-10-24T22:00:00Z"));
  EXPECT_EQ(*autumn.to - autumn.from, 25 * 3'600'000);
  // Local midnight, not UTC's: 23:30 UTC on the 15th is the 16th in Berlin.
  auto winter = usage_window(threshold_window::day, berlin, at("2026-01-15T23:30:00Z"));
  EXPECT_EQ(winter.from, at("2026-01-15T23:00:00Z"));
  EXPECT_EQ(*winter.to, at("2026-01-16T23:00:00Z"));
}

TEST(notifications_window, months_follow_the_local_calendar) {
  auto berlin = try_locate_zone("Europe/Berlin");
  auto utc = try_locate_zone("UTC");
  // March in Berlin starts in CET (+1) and ends in CEST (+2).
  auto march = usage_window(threshold_window::month, berlin, at("2026-03-15T00:00:00Z"));
  EXPECT_EQ(march, (usage_span{at("2026-02-28T23:00:00Z"), at("2026-03-31T22:00:00Z")}));
  // The boundary: the last millisecond of March, then April's first instant.
  EXPECT_EQ(usage_window(threshold_window::month, berlin, at("2026-03-31T21:59:59.999Z")),
            march);
  EXPECT_EQ(
      usage_window(threshold_window::month, berlin, at("2026-03-31T22:00:00Z")).from,
      at("2026-03-31T22:00:00Z"));
  // February of a common year and of a leap year; December into January.
  auto feb = usage_window(threshold_window::month, utc, at("2026-02-10T00:00:00Z"));
  EXPECT_EQ(*feb.to - feb.from, 28 * 86'400'000LL);
  auto leap = usage_window(threshold_window::month, utc, at("2028-02-29T12:00:00Z"));
  EXPECT_EQ(*leap.to - leap.from, 29 * 86'400'000LL);
  auto december = usage_window(threshold_window::month, utc, at("2026-12-31T23:59:59Z"));
  EXPECT_EQ(december,
            (usage_span{at("2026-12-01T00:00:00Z"), at("2027-01-01T00:00:00Z")}));
}

TEST(notifications_window, total_has_no_end) {
  auto span = usage_window(threshold_window::total, try_locate_zone("Asia/Kolkata"), now);
  EXPECT_EQ(span.from, earliest_timestamp);
  EXPECT_FALSE(span.to);
  EXPECT_EQ(usage_window(threshold_window::total, try_locate_zone("UTC"), 0), span);
}

TEST(notifications_key, one_key_per_rule_subject_window_threshold) {
  auto key = event_key("01RULE", "customer-1", 1'767'225'600'000, 100);
  EXPECT_EQ(key, R"(["01RULE","customer-1",1767225600000,"100"])");
  EXPECT_EQ(event_key("01RULE", "customer-1", 1'767'225'600'000, 100.0), key);
  EXPECT_NE(event_key("01RULE2", "customer-1", 1'767'225'600'000, 100), key);
  EXPECT_NE(event_key("01RULE", "customer-2", 1'767'225'600'000, 100), key);
  EXPECT_NE(event_key("01RULE", "customer-1", 1'767'225'600'001, 100), key);
  EXPECT_NE(event_key("01RULE", "customer-1", 1'767'225'600'000, 100.5), key);
  // Separators in a subject cannot make two keys alike.
  EXPECT_NE(event_key("a", "b\",\"c", 0, 1), event_key("a\",\"b", "c", 0, 1));
  EXPECT_EQ(event_key("r", "s", earliest_timestamp, 0.1),
            R"(["r","s",-62167219200000,"0.10000000000000001"])");
  EXPECT_NE(event_key("r", "s", 0, 0.1),
            event_key("r", "s", 0, std::nextafter(0.1, 1.0)));
  EXPECT_EQ(event_key("r", "s", 0, 1e20), R"(["r","s",0,"1e+20"])");
}

TEST(notifications_crossing, thresholds_reached_by_a_change) {
  const std::vector<double> thresholds{100, 80, 150};
  EXPECT_EQ(crossed_thresholds(thresholds, 0, 79), std::vector<double>{});
  EXPECT_EQ(crossed_thresholds(thresholds, 0, 80),
            std::vector<double>{80}); // reaching counts
  EXPECT_EQ(crossed_thresholds(thresholds, 79.5, 100), (std::vector<double>{80, 100}));
  EXPECT_EQ(crossed_thresholds(thresholds, 0, 1000), (std::vector<double>{80, 100, 150}));
  // Already at a threshold: it was reached before.
  EXPECT_EQ(crossed_thresholds(thresholds, 80, 99), std::vector<double>{});
  EXPECT_EQ(crossed_thresholds(thresholds, 80, 100), std::vector<double>{100});
  // No change, or going down (a void or a correction), crosses nothing.
  EXPECT_EQ(crossed_thresholds(thresholds, 100, 100), std::vector<double>{});
  EXPECT_EQ(crossed_thresholds(thresholds, 200, 0), std::vector<double>{});
  EXPECT_EQ(crossed_thresholds({}, 0, 1000), std::vector<double>{});
  EXPECT_EQ(crossed_thresholds({5, 5}, 0, 10), std::vector<double>{5});
  // Exact double comparison: 0.1 + 0.2 is just above 0.3, so it reaches it.
  EXPECT_EQ(crossed_thresholds({0.3}, 0.1, 0.1 + 0.2), std::vector<double>{0.3});
  EXPECT_EQ(crossed_thresholds({0.3}, 0.1, std::nextafter(0.3, 0.0)),
            std::vector<double>{});
}

// ---------------------------------------------------------------------------
// Retries.

TEST(notifications_retry, default_schedule) {
  auto s = default_retry_schedule();
  EXPECT_EQ(s.delays, (std::vector<millis>{1'000, 5'000, 30'000, 120'000, 600'000,
                                           1'800'000, 3'600'000}));
  EXPECT_EQ(s.max_age, 24 * 3'600'000);
  auto parsed = parse_retry_schedule("1s,5s,30s,2m,10m,30m,1h", "24h");
  ASSERT_TRUE(parsed) << parsed.error;
  EXPECT_EQ(parsed.value.delays, s.delays);
  EXPECT_EQ(parsed.value.max_age, s.max_age);
}

TEST(notifications_retry, delays_follow_the_schedule_then_repeat_the_last) {
  auto s = default_retry_schedule();
  EXPECT_EQ(next_attempt_delay(0, s, 0.5), 0); // the first attempt is now
  EXPECT_EQ(next_attempt_delay(-3, s, 0.5), 0);
  EXPECT_EQ(next_attempt_delay(1, s, 0.5), 1'000);
  EXPECT_EQ(next_attempt_delay(2, s, 0.5), 5'000);
  EXPECT_EQ(next_attempt_delay(3, s, 0.5), 30'000);
  EXPECT_EQ(next_attempt_delay(4, s, 0.5), 120'000);
  EXPECT_EQ(next_attempt_delay(5, s, 0.5), 600'000);
  EXPECT_EQ(next_attempt_delay(6, s, 0.5), 1'800'000);
  EXPECT_EQ(next_attempt_delay(7, s, 0.5), 3'600'000);
  EXPECT_EQ(next_attempt_delay(8, s, 0.5), 3'600'000);
  EXPECT_EQ(next_attempt_delay(1000, s, 0.5), 3'600'000);
  EXPECT_EQ(next_attempt_delay(3, retry_schedule{}, 0.5), 0);
}

TEST(notifications_retry, jitter_is_within_20_percent) {
  auto s = default_retry_schedule();
  EXPECT_EQ(next_attempt_delay(1, s, 0.0), 800);
  EXPECT_EQ(next_attempt_delay(1, s, 1.0), 1'200);
  EXPECT_EQ(next_attempt_delay(7, s, 0.0), 2'880'000);
  EXPECT_EQ(next_attempt_delay(7, s, 1.0), 4'320'000);
  EXPECT_EQ(next_attempt_delay(2, s, 0.25), 4'500);
  // Out-of-range randomness is clamped, never beyond the bounds.
  EXPECT_EQ(next_attempt_delay(1, s, -5.0), 800);
  EXPECT_EQ(next_attempt_delay(1, s, 7.0), 1'200);
  EXPECT_EQ(next_attempt_delay(1, s, std::numeric_limits<double>::quiet_NaN()), 1'000);
  for (int i = 0; i <= 100; ++i) {
    auto d = next_attempt_delay(3, s, i / 100.0);
    EXPECT_GE(d, 24'000);
    EXPECT_LE(d, 36'000);
  }
}

TEST(notifications_retry, gives_up_after_max_age) {
  auto s = default_retry_schedule();
  const millis first = now;
  EXPECT_FALSE(give_up(first, first, s));
  EXPECT_FALSE(give_up(first, first + 23 * 3'600'000, s));
  EXPECT_FALSE(give_up(first, first + 24 * 3'600'000, s)); // exactly 24 h: one more try
  EXPECT_TRUE(give_up(first, first + 24 * 3'600'000 + 1, s));
  // The default schedule makes 1 + 6 + 23 attempts within the day at least.
  millis t = first;
  int attempts = 1;
  while (true) {
    auto next = t + next_attempt_delay(attempts, s, 0.5);
    if (give_up(first, next, s))
      break;
    t = next;
    ++attempts;
  }
  EXPECT_EQ(attempts, 30);
}

TEST(notifications_retry, parses_configured_schedule) {
  auto parsed = parse_retry_schedule(" 2s , 1m,1h ", " 2d ");
  ASSERT_TRUE(parsed) << parsed.error;
  EXPECT_EQ(parsed.value.delays, (std::vector<millis>{2'000, 60'000, 3'600'000}));
  EXPECT_EQ(parsed.value.max_age, 2 * 86'400'000);
  auto one = parse_retry_schedule("10s", "10s");
  ASSERT_TRUE(one) << one.error;
  EXPECT_EQ(one.value.delays, std::vector<millis>{10'000});

  EXPECT_EQ(parse_retry_schedule("", "24h").error,
            "retry delay 1 ('') must be a duration such as 30s, 2m or 1h");
  EXPECT_EQ(parse_retry_schedule("1s,,5s", "24h").error,
            "retry delay 2 ('') must be a duration such as 30s, 2m or 1h");
  EXPECT_EQ(parse_retry_schedule("1s,5x", "24h").error,
            "retry delay 2 ('5x') must be a duration such as 30s, 2m or 1h");
  EXPECT_EQ(parse_retry_schedule("1s,0s", "24h").error,
            "retry delay 2 ('0s') must be a duration such as 30s, 2m or 1h");
  EXPECT_EQ(parse_retry_schedule("1s,", "24h").error,
            "retry delay 2 ('') must be a duration such as 30s, 2m or 1h");
  EXPECT_EQ(parse_retry_schedule("1s", "forever").error,
            "the retry max age must be a duration such as 24h, got 'forever'");
  EXPECT_EQ(parse_retry_schedule("1s,x", "").error,
            "retry delay 2 ('x') must be a duration such as 30s, 2m or 1h; the retry max "
            "age must be a duration such as 24h, got ''");
  EXPECT_EQ(parse_retry_schedule("1h", "30m").error,
            "the retry max age must be at least the first retry delay, or no delivery is "
            "ever retried");
  std::string many;
  for (int i = 0; i < 51; ++i)
    many += i ? ",1s" : "1s";
  EXPECT_EQ(parse_retry_schedule(many, "24h").error,
            "the retry schedule may list at most 50 delays");
}

// ---------------------------------------------------------------------------
// Filters, due times and stored forms.

notification_event stored_event() {
  notification_event e;
  e.id = "01EVENT";
  e.rule_id = "01RULE";
  e.rule_name = "API calls \"over\" plan ü";
  e.meter_slug = "api_calls";
  e.subject = "customer-1";
  e.window = {at("2026-01-01T00:00:00Z"), at("2026-02-01T00:00:00Z")};
  e.threshold = 0.1;
  e.value = 1e300;
  e.created_at = now + 17;
  notification_delivery full;
  full.channel_id = "01CH-A";
  full.state = delivery_state::failed;
  full.attempts = 12;
  full.last_status_code = 0;
  full.last_error = "timeout after 10 s";
  full.next_attempt_at = now + 1;
  full.last_attempt_at = now - 1;
  full.first_attempt_at = now - 86'400'000;
  full.last_duration_ms = 10'000;
  full.updated_at = now + 2;
  notification_delivery bare;
  bare.channel_id = "01CH-B";
  e.deliveries = {full, bare};
  for (auto s :
       {delivery_state::pending, delivery_state::sending, delivery_state::success}) {
    notification_delivery d;
    d.channel_id = "01CH-" + std::string{delivery_state_name(s)};
    d.state = s;
    d.next_attempt_at = -5; // before 1970 as well
    e.deliveries.push_back(d);
  }
  return e;
}

void expect_same_delivery(const notification_delivery& a,
                          const notification_delivery& b) {
  SCOPED_TRACE(b.channel_id);
  EXPECT_EQ(a.channel_id, b.channel_id);
  EXPECT_EQ(a.state, b.state);
  EXPECT_EQ(a.attempts, b.attempts);
  EXPECT_EQ(a.last_status_code, b.last_status_code);
  EXPECT_EQ(a.last_error, b.last_error);
  EXPECT_EQ(a.next_attempt_at, b.next_attempt_at);
  EXPECT_EQ(a.last_attempt_at, b.last_attempt_at);
  EXPECT_EQ(a.first_attempt_at, b.first_attempt_at);
  EXPECT_EQ(a.last_duration_ms, b.last_duration_ms);
  EXPECT_EQ(a.updated_at, b.updated_at);
}

void expect_same_event(const notification_event& a, const notification_event& b) {
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.rule_id, b.rule_id);
  EXPECT_EQ(a.rule_name, b.rule_name);
  EXPECT_EQ(a.meter_slug, b.meter_slug);
  EXPECT_EQ(a.subject, b.subject);
  EXPECT_EQ(a.window, b.window);
  EXPECT_EQ(a.threshold, b.threshold);
  EXPECT_EQ(a.value, b.value);
  EXPECT_EQ(a.created_at, b.created_at);
  ASSERT_EQ(a.deliveries.size(), b.deliveries.size());
  for (std::size_t i = 0; i < a.deliveries.size(); ++i)
    expect_same_delivery(a.deliveries[i], b.deliveries[i]);
}

TEST(notifications_events, match_every_filter) {
  auto e = stored_event(); // created now + 17, channels 01CH-A, 01CH-B, ...
  notification_event_filter f;
  EXPECT_TRUE(notification_event_matches(f, e));
  f.from = now + 17;
  f.to = now + 17;
  EXPECT_TRUE(notification_event_matches(f, e)); // both ends count
  f.from = now + 18;
  EXPECT_FALSE(notification_event_matches(f, e));
  f = {};
  f.to = now + 16;
  EXPECT_FALSE(notification_event_matches(f, e));

  f = {};
  f.subjects = {"other", "customer-1"};
  EXPECT_TRUE(notification_event_matches(f, e));
  f.subjects = {"customer-10"};
  EXPECT_FALSE(notification_event_matches(f, e));

  f = {};
  f.rule_ids = {"01RULE"};
  EXPECT_TRUE(notification_event_matches(f, e));
  f.rule_ids = {"01RULE2"};
  EXPECT_FALSE(notification_event_matches(f, e));

  f = {};
  f.channel_ids = {"01CH-X", "01CH-B"};
  EXPECT_TRUE(notification_event_matches(f, e));
  f.channel_ids = {"01CH-X"};
  EXPECT_FALSE(notification_event_matches(f, e));
  auto undelivered = e;
  undelivered.deliveries.clear();
  EXPECT_FALSE(notification_event_matches(f, undelivered));
  f.channel_ids.clear();
  EXPECT_TRUE(notification_event_matches(f, undelivered));

  // All at once: each must pass; offset and limit play no part.
  f = {};
  f.subjects = {"customer-1"};
  f.rule_ids = {"01RULE"};
  f.channel_ids = {"01CH-A"};
  f.offset = 1000;
  f.limit = 0;
  EXPECT_TRUE(notification_event_matches(f, e));
  f.rule_ids = {"nope"};
  EXPECT_FALSE(notification_event_matches(f, e));
}

TEST(notifications_events, next_due_is_the_earliest_pending_attempt) {
  notification_event e;
  EXPECT_FALSE(next_due(e));
  auto d = [](delivery_state s, std::optional<millis> next) {
    notification_delivery out;
    out.state = s;
    out.next_attempt_at = next;
    return out;
  };
  e.deliveries = {d(delivery_state::pending, std::nullopt)};
  EXPECT_FALSE(next_due(e));
  // Only PENDING deliveries count, whatever the others have planned.
  e.deliveries.push_back(d(delivery_state::success, now - 10));
  e.deliveries.push_back(d(delivery_state::failed, now - 9));
  e.deliveries.push_back(d(delivery_state::sending, now - 8));
  EXPECT_FALSE(next_due(e));
  e.deliveries.push_back(d(delivery_state::pending, now + 5));
  EXPECT_EQ(next_due(e), now + 5);
  e.deliveries.push_back(d(delivery_state::pending, now + 3));
  e.deliveries.push_back(d(delivery_state::pending, now + 4));
  EXPECT_EQ(next_due(e), now + 3);
  // A new event is due when it is made.
  auto rule = parse_new_notification_rule(rule_body(), "01R", now);
  ASSERT_TRUE(rule) << rule.error;
  auto fresh = new_notification_event(rule.value, "s", {now, std::nullopt}, 1000, 1001,
                                      {"c1", "c2"}, now + 7);
  EXPECT_EQ(next_due(fresh), now + 7);
}

TEST(notifications_stored_forms, channel_round_trip) {
  auto parsed = parse_new_notification_channel(channel_body(), "01CHANNEL1", now);
  ASSERT_TRUE(parsed) << parsed.error;
  auto c = parsed.value;
  c.custom_headers["X-Quote"] = "a \"b\" \\ ü";
  c.disabled = true;
  c.updated_at = now + 99;
  for (const auto& original : {c, notification_channel{}}) {
    auto back = read_notification_channel_record(notification_channel_record(original));
    EXPECT_EQ(back.id, original.id);
    EXPECT_EQ(back.name, original.name);
    EXPECT_EQ(back.url, original.url);
    EXPECT_EQ(back.custom_headers, original.custom_headers);
    EXPECT_EQ(back.signing_secret, original.signing_secret);
    EXPECT_EQ(back.disabled, original.disabled);
    EXPECT_EQ(back.created_at, original.created_at);
    EXPECT_EQ(back.updated_at, original.updated_at);
    // The same channel always gives the same text.
    EXPECT_EQ(notification_channel_record(back), notification_channel_record(original));
  }
}

TEST(notifications_stored_forms, rule_round_trip) {
  auto parsed = parse_new_notification_rule(rule_body(), "01RULE", now);
  ASSERT_TRUE(parsed) << parsed.error;
  auto full = parsed.value; // subjects, group-by filters, a zone: every optional field
  full.thresholds.push_back(0.1 + 0.2);
  full.disabled = true;
  full.updated_at = now + 1;
  notification_rule bare;
  bare.window = threshold_window::total;
  auto day = full;
  day.window = threshold_window::day;
  for (const auto& original : {full, bare, day}) {
    auto back = read_notification_rule_record(notification_rule_record(original));
    EXPECT_EQ(back.id, original.id);
    EXPECT_EQ(back.name, original.name);
    EXPECT_EQ(back.meter_slug, original.meter_slug);
    EXPECT_EQ(back.thresholds, original.thresholds); // exactly, 0.30000000000000004 too
    EXPECT_EQ(back.window, original.window);
    EXPECT_EQ(back.window_time_zone, original.window_time_zone);
    EXPECT_EQ(back.subjects, original.subjects);
    EXPECT_EQ(back.group_by_filters, original.group_by_filters);
    EXPECT_EQ(back.channel_ids, original.channel_ids);
    EXPECT_EQ(back.disabled, original.disabled);
    EXPECT_EQ(back.created_at, original.created_at);
    EXPECT_EQ(back.updated_at, original.updated_at);
  }
  EXPECT_EQ(full.subjects, (std::vector<std::string>{"customer-1", "customer-2"}));
  EXPECT_EQ(full.window_time_zone, "Europe/Berlin");
}

TEST(notifications_stored_forms, event_round_trip) {
  auto e = stored_event();
  expect_same_event(read_notification_event_record(notification_event_record(e)), e);
  // Absent stays absent: no window end, no deliveries.
  e.window = {earliest_timestamp, std::nullopt};
  e.deliveries.clear();
  e.threshold = 1000;
  e.value = -0.0;
  auto back = read_notification_event_record(notification_event_record(e));
  expect_same_event(back, e);
  EXPECT_FALSE(back.window.to);
  // A delivery's optional fields: present (even as 0) and absent.
  auto with = stored_event();
  with.deliveries[0].next_attempt_at = 0;
  with.deliveries[0].last_attempt_at = 0;
  auto read = read_notification_event_record(notification_event_record(with));
  EXPECT_EQ(read.deliveries[0].last_status_code, 0);
  EXPECT_EQ(read.deliveries[0].next_attempt_at, 0);
  EXPECT_EQ(read.deliveries[0].last_attempt_at, 0);
  EXPECT_FALSE(read.deliveries[1].last_status_code);
  EXPECT_FALSE(read.deliveries[1].next_attempt_at);
  EXPECT_FALSE(read.deliveries[1].last_attempt_at);
  // Delivery states by name, so a reordered enum cannot change them.
  auto text = notification_event_record(stored_event());
  for (auto name : {"\"FAILED\"", "\"PENDING\"", "\"SENDING\"", "\"SUCCESS\""})
    EXPECT_NE(text.find(name), std::string::npos) << name << " in " << text;
}

TEST(notifications_stored_forms, bad_texts_throw) {
  auto throws = [](auto read, std::string_view text) {
    EXPECT_THROW(read(text), std::runtime_error) << text;
  };
  auto channel = [](std::string_view t) { return read_notification_channel_record(t); };
  auto rule = [](std::string_view t) { return read_notification_rule_record(t); };
  auto event = [](std::string_view t) { return read_notification_event_record(t); };
  for (std::string_view text :
       {"", "{", "null", "[]", "\"x\"", "42", "{}", "{\"id\":1}"}) {
    throws(channel, text);
    throws(rule, text);
    throws(event, text);
  }

  // Each field missing or of the wrong type.
  auto broken = [&](auto read, const std::string& good) {
    auto j = nlohmann::json::parse(good);
    for (const auto& item : j.items()) {
      SCOPED_TRACE(item.key());
      auto missing = j;
      missing.erase(item.key());
      // Optional fields may be missing; the others may not.
      if (item.key() != "window_to")
        throws(read, missing.dump());
      auto wrong = j;
      wrong[item.key()] = nlohmann::json::object({{"x", nlohmann::json::array()}});
      throws(read, wrong.dump());
    }
    EXPECT_NO_THROW(read(good));
    throws(read, good.substr(0, good.size() - 1));
  };
  auto c = parse_new_notification_channel(channel_body(), "01C", now).value;
  broken(channel, notification_channel_record(c));
  auto r = parse_new_notification_rule(rule_body(), "01R", now).value;
  broken(rule, notification_rule_record(r));
  broken(event, notification_event_record(stored_event()));

  // Values of the right type that are not what they name.
  auto rule_json = nlohmann::json::parse(notification_rule_record(r));
  rule_json["window"] = "WEEK";
  throws(rule, rule_json.dump());
  rule_json["window"] = "month";
  throws(rule, rule_json.dump());
  rule_json = nlohmann::json::parse(notification_rule_record(r));
  rule_json["thresholds"] = {1, "2"};
  throws(rule, rule_json.dump());
  rule_json["thresholds"] = {1, 2};
  EXPECT_NO_THROW(rule(rule_json.dump()));
  auto channel_json = nlohmann::json::parse(notification_channel_record(c));
  channel_json["headers"] = {{"X-A", 1}};
  throws(channel, channel_json.dump());
  channel_json["created_at"] = 1.5;
  throws(channel, channel_json.dump());

  auto event_json = nlohmann::json::parse(notification_event_record(stored_event()));
  auto with_delivery = [&](const char* field, nlohmann::json value) {
    auto j = event_json;
    if (value.is_null())
      j["deliveries"][0].erase(field);
    else
      j["deliveries"][0][field] = value;
    return j.dump();
  };
  throws(event, with_delivery("state", "DONE"));
  throws(event, with_delivery("state", "pending"));
  throws(event, with_delivery("state", nullptr));
  throws(event, with_delivery("channel", nullptr));
  throws(event, with_delivery("attempts", -1));
  throws(event, with_delivery("attempts", 1LL << 40));
  throws(event, with_delivery("status", "200"));
  throws(event, with_delivery("next_attempt_at", "soon"));
  throws(event, with_delivery("updated_at", 18446744073709551615ULL));
  EXPECT_NO_THROW(event(with_delivery("status", 200)));
  auto no_array = event_json;
  no_array["deliveries"] = {{"channel", "x"}};
  throws(event, no_array.dump());
  no_array["deliveries"] = {1};
  throws(event, no_array.dump());
}

} // namespace
