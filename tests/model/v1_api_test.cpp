#include "model/v1_api.hpp"

#include <gtest/gtest.h>

#include <regex>
#include <string>

namespace {

using json = nlohmann::ordered_json;
using namespace um::model;

constexpr millis now = 1'705'314'600'123; // 2024-01-15T10:30:00.123Z

const std::regex uuid_v4{
    "^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"};

std::string repeat(const std::string& unit, std::size_t n) {
  std::string out;
  for (std::size_t i = 0; i < n; ++i)
    out += unit;
  return out;
}

std::string error_of(const json& body) {
  auto result = parse_v1_event(body, now);
  EXPECT_FALSE(result);
  return result.error;
}

// -- js_length and js_trim ----------------------------------------------------

TEST(v1_api, js_length_counts_utf16_units) {
  EXPECT_EQ(js_length(""), 0u);
  EXPECT_EQ(js_length("abc"), 3u);
  EXPECT_EQ(js_length("\xC3\xA9"), 1u);         // é: 2 bytes, 1 unit
  EXPECT_EQ(js_length("\xE2\x82\xAC"), 1u);     // €: 3 bytes, 1 unit
  EXPECT_EQ(js_length("\xF0\x9F\x98\x80"), 2u); // 😀: 4 bytes, a surrogate pair
  EXPECT_EQ(js_length("a\xF0\x9F\x98\x80"
                      "b"),
            4u);
}

TEST(v1_api, js_trim_removes_what_javascript_trims) {
  EXPECT_EQ(js_trim("  a b \t\n\r\v\f"), "a b");
  EXPECT_EQ(js_trim("\xC2\xA0x\xC2\xA0"), "x");         // NBSP
  EXPECT_EQ(js_trim("\xEF\xBB\xBFx\xEF\xBB\xBF"), "x"); // BOM
  EXPECT_EQ(js_trim(" \t "), "");
  EXPECT_EQ(js_trim("x"), "x");
}

// -- parse_v1_event -----------------------------------------------------------

TEST(v1_api, parses_a_minimal_event) {
  auto result = parse_v1_event(json{{"entityId", "user-1"}, {"eventType", "login"}}, now);
  ASSERT_TRUE(result) << result.error;
  const auto& e = result.value;
  EXPECT_EQ(e.subject, "user-1");
  EXPECT_EQ(e.type, "login");
  EXPECT_EQ(e.data, "{}");
  EXPECT_EQ(e.source, v1_source);
  EXPECT_EQ(e.time, now);
  EXPECT_EQ(e.ingested_at, now);
  EXPECT_TRUE(std::regex_match(e.id, uuid_v4)) << e.id;
}

TEST(v1_api, each_event_gets_its_own_id) {
  json body{{"entityId", "u"}, {"eventType", "t"}};
  EXPECT_NE(parse_v1_event(body, now).value.id, parse_v1_event(body, now).value.id);
}

TEST(v1_api, keeps_metadata_object) {
  auto result = parse_v1_event(
      json{{"entityId", "u"}, {"eventType", "t"}, {"metadata", {{"b", 1}, {"a", "x"}}}},
      now);
  ASSERT_TRUE(result) << result.error;
  EXPECT_EQ(result.value.data, R"({"b":1,"a":"x"})");
}

TEST(v1_api, trims_entity_id_and_event_type) {
  auto result =
      parse_v1_event(json{{"entityId", "  user-1 \t"}, {"eventType", "\nlogin "}}, now);
  ASSERT_TRUE(result) << result.error;
  EXPECT_EQ(result.value.subject, "user-1");
  EXPECT_EQ(result.value.type, "login");
}

TEST(v1_api, rejects_a_body_that_is_not_an_object) {
  EXPECT_EQ(error_of(json::array()), "request body must be a JSON object");
  EXPECT_EQ(error_of(json("text")), "request body must be a JSON object");
}

TEST(v1_api, required_messages_word_for_word) {
  EXPECT_EQ(error_of(json::object()), "entityId is required, eventType is required");
  EXPECT_EQ(error_of(json{{"eventType", "t"}}), "entityId is required");
  EXPECT_EQ(error_of(json{{"entityId", "u"}}), "eventType is required");
  EXPECT_EQ(error_of(json{{"entityId", nullptr}, {"eventType", "t"}}),
            "entityId is required");
  EXPECT_EQ(error_of(json{{"entityId", "   "}, {"eventType", "t"}}),
            "entityId is required");
  EXPECT_EQ(error_of(json{{"entityId", ""}, {"eventType", ""}}),
            "entityId is required, eventType is required");
}

TEST(v1_api, type_messages_word_for_word) {
  EXPECT_EQ(error_of(json{{"entityId", 5}, {"eventType", "t"}}),
            "entityId must be a string");
  EXPECT_EQ(error_of(json{{"entityId", "u"}, {"eventType", true}}),
            "eventType must be a string");
  EXPECT_EQ(error_of(json{{"entityId", json::array()}, {"eventType", json::object()}}),
            "entityId must be a string, eventType must be a string");
}

TEST(v1_api, entity_id_length_boundary) {
  json body{{"eventType", "t"}};
  body["entityId"] = std::string(255, 'e');
  EXPECT_TRUE(parse_v1_event(body, now));
  body["entityId"] = std::string(256, 'e');
  EXPECT_EQ(error_of(body), "entityId must be 255 characters or less");
  // Whitespace around does not count.
  body["entityId"] = "  " + std::string(255, 'e') + "  ";
  EXPECT_TRUE(parse_v1_event(body, now));
}

TEST(v1_api, event_type_length_boundary) {
  json body{{"entityId", "u"}};
  body["eventType"] = std::string(100, 't');
  EXPECT_TRUE(parse_v1_event(body, now));
  body["eventType"] = std::string(101, 't');
  EXPECT_EQ(error_of(body), "eventType must be 100 characters or less");
}

TEST(v1_api, lengths_count_utf16_units) {
  const std::string emoji = "\xF0\x9F\x98\x80";
  json body{{"entityId", "u"}};
  body["eventType"] = repeat(emoji, 50); // 100 units, 200 bytes
  EXPECT_TRUE(parse_v1_event(body, now));
  body["eventType"] = repeat(emoji, 50) + "x"; // 101 units
  EXPECT_EQ(error_of(body), "eventType must be 100 characters or less");
  body["eventType"] = repeat("\xC3\xA9", 100); // 100 units, 200 bytes
  EXPECT_TRUE(parse_v1_event(body, now));
  json entity{{"eventType", "t"}};
  entity["entityId"] = repeat(emoji, 127) + "x"; // 255 units
  EXPECT_TRUE(parse_v1_event(entity, now));
  entity["entityId"] = repeat(emoji, 128); // 256 units
  EXPECT_EQ(error_of(entity), "entityId must be 255 characters or less");
}

TEST(v1_api, metadata_must_be_an_object) {
  json body{{"entityId", "u"}, {"eventType", "t"}};
  body["metadata"] = json::array({1, 2});
  EXPECT_EQ(error_of(body), "metadata must be an object");
  body["metadata"] = nullptr;
  EXPECT_EQ(error_of(body), "metadata must be an object");
  body["metadata"] = "x";
  EXPECT_EQ(error_of(body), "metadata must be an object");
  body["metadata"] = json::object();
  EXPECT_TRUE(parse_v1_event(body, now));
}

TEST(v1_api, messages_are_joined_in_field_order) {
  json body{{"metadata", 1},
            {"eventType", std::string(101, 't')},
            {"timestamp", "never"},
            {"id", ""},
            {"entityId", 7}};
  EXPECT_EQ(error_of(body),
            "entityId must be a string, eventType must be 100 characters or "
            "less, metadata must be an object, id must be a string of 1 to "
            "255 characters, timestamp must be a valid ISO8601 date");
}

TEST(v1_api, client_id_extension) {
  json body{{"entityId", "u"}, {"eventType", "t"}, {"id", "order-42"}};
  auto result = parse_v1_event(body, now);
  ASSERT_TRUE(result) << result.error;
  EXPECT_EQ(result.value.id, "order-42");
  body["id"] = std::string(255, 'i');
  EXPECT_TRUE(parse_v1_event(body, now));
  for (json bad : {json(""), json(std::string(256, 'i')), json(42), json(nullptr)}) {
    body["id"] = bad;
    EXPECT_EQ(error_of(body), "id must be a string of 1 to 255 characters") << bad.dump();
  }
}

TEST(v1_api, timestamp_extension) {
  json body{
      {"entityId", "u"}, {"eventType", "t"}, {"timestamp", "2024-01-01T00:00:00+01:00"}};
  auto result = parse_v1_event(body, now);
  ASSERT_TRUE(result) << result.error;
  EXPECT_EQ(format_iso8601(result.value.time), "2023-12-31T23:00:00.000Z");
  EXPECT_EQ(result.value.ingested_at, now);
  for (json bad :
       {json("2024-02-30"), json("yesterday"), json(1'700'000'000'000), json(nullptr)}) {
    body["timestamp"] = bad;
    EXPECT_EQ(error_of(body), "timestamp must be a valid ISO8601 date") << bad.dump();
  }
}

// -- parse_v1_batch -----------------------------------------------------------

json valid_event(int i) {
  return json{{"entityId", "u" + std::to_string(i)}, {"eventType", "t"}};
}

TEST(v1_api, batch_keeps_order) {
  json body{{"events", {valid_event(0), valid_event(1), valid_event(2)}}};
  auto result = parse_v1_batch(body, now);
  ASSERT_TRUE(result) << result.error;
  ASSERT_EQ(result.value.size(), 3u);
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(result.value[i].subject, "u" + std::to_string(i));
}

TEST(v1_api, batch_must_be_an_array) {
  EXPECT_EQ(parse_v1_batch(json::object(), now).error, "events must be an array");
  EXPECT_EQ(parse_v1_batch(json{{"events", "x"}}, now).error, "events must be an array");
  EXPECT_EQ(parse_v1_batch(json::array({valid_event(0)}), now).error,
            "events must be an array");
}

TEST(v1_api, batch_size_is_bounded) {
  const std::string message = "events must contain between 1 and 1000 events";
  EXPECT_EQ(parse_v1_batch(json{{"events", json::array()}}, now).error, message);
  json events = json::array();
  for (int i = 0; i < 1000; ++i)
    events.push_back(valid_event(i));
  auto full = parse_v1_batch(json{{"events", events}}, now);
  EXPECT_TRUE(full) << full.error;
  EXPECT_EQ(full.value.size(), 1000u);
  events.push_back(valid_event(1000));
  EXPECT_EQ(parse_v1_batch(json{{"events", events}}, now).error, message);
}

TEST(v1_api, batch_names_each_invalid_index_and_keeps_none) {
  json body{{"events",
             {valid_event(0), json{{"eventType", "t"}}, valid_event(2),
              json{{"entityId", "u"}, {"eventType", std::string(101, 't')}}, json(5)}}};
  auto result = parse_v1_batch(body, now);
  EXPECT_FALSE(result);
  EXPECT_EQ(result.error,
            "events[1]: entityId is required, events[3]: eventType must be 100 "
            "characters or less, events[4]: request body must be a JSON object");
  EXPECT_TRUE(result.value.empty());
}

// -- query parameters ---------------------------------------------------------

TEST(v1_api, event_filter_defaults) {
  auto result = parse_event_filter({});
  ASSERT_TRUE(result);
  EXPECT_EQ(result.value.limit, 100);
  EXPECT_EQ(result.value.offset, 0);
  EXPECT_EQ(result.value.subject, "");
  EXPECT_EQ(result.value.type, "");
}

TEST(v1_api, event_filter_reads_values) {
  auto result = parse_event_filter(
      {{"entityId", "u1"}, {"eventType", "click"}, {"limit", "1000"}, {"offset", "25"}});
  ASSERT_TRUE(result) << result.error;
  EXPECT_EQ(result.value.subject, "u1");
  EXPECT_EQ(result.value.type, "click");
  EXPECT_EQ(result.value.limit, 1000);
  EXPECT_EQ(result.value.offset, 25);
  EXPECT_EQ(parse_event_filter({{"limit", "1"}}).value.limit, 1);
  EXPECT_TRUE(parse_event_filter({{"offset", "0"}}));
}

TEST(v1_api, event_filter_messages) {
  for (const char* bad : {"0", "1001", "-1", "abc", "", "1.5", "99999999999999999999"})
    EXPECT_EQ(parse_event_filter({{"limit", bad}}).error,
              "limit must be between 1 and 1000")
        << bad;
  for (const char* bad : {"-1", "x", "", "2.5"})
    EXPECT_EQ(parse_event_filter({{"offset", bad}}).error, "offset must be 0 or greater")
        << bad;
  EXPECT_EQ(parse_event_filter({{"limit", "0"}, {"offset", "-5"}}).error,
            "limit must be between 1 and 1000, offset must be 0 or greater");
}

TEST(v1_api, time_range_reads_bounds) {
  auto none = parse_time_range({});
  ASSERT_TRUE(none);
  EXPECT_FALSE(none.value.since);
  EXPECT_FALSE(none.value.until);
  auto both =
      parse_time_range({{"since", "2024-01-15"}, {"until", "2024-01-15T10:30:00.123Z"}});
  ASSERT_TRUE(both) << both.error;
  EXPECT_EQ(both.value.since, 1'705'276'800'000);
  EXPECT_EQ(both.value.until, now);
}

TEST(v1_api, time_range_messages) {
  EXPECT_EQ(parse_time_range({{"since", "bad"}}).error,
            "since must be a valid ISO8601 date");
  EXPECT_EQ(parse_time_range({{"until", "2024-13-01"}}).error,
            "until must be a valid ISO8601 date");
  EXPECT_EQ(parse_time_range({{"since", ""}, {"until", "x"}}).error,
            "since must be a valid ISO8601 date, until must be a valid ISO8601 date");
}

TEST(v1_api, history_interval) {
  auto absent = parse_history_interval({});
  ASSERT_TRUE(absent);
  EXPECT_EQ(absent.value, interval::hour);
  EXPECT_EQ(parse_history_interval({{"interval", "minute"}}).value, interval::minute);
  EXPECT_EQ(parse_history_interval({{"interval", "day"}}).value, interval::day);
  EXPECT_EQ(parse_history_interval({{"interval", "hour"}}).value, interval::hour);
  for (const char* bad : {"week", "", "HOUR", "hours"})
    EXPECT_EQ(parse_history_interval({{"interval", bad}}).error,
              "interval must be minute, hour, or day")
        << bad;
}

// -- wire form ----------------------------------------------------------------

TEST(v1_api, event_json_shape_and_key_order) {
  event e;
  e.id = "id-1";
  e.source = std::string{v1_source};
  e.subject = "user-1";
  e.type = "login";
  e.data = R"({"z":1,"a":[true,null]})";
  e.time = 1'705'314'600'000;
  e.ingested_at = now;
  EXPECT_EQ(
      v1_event_json(e).dump(),
      R"({"id":"id-1","entityId":"user-1","eventType":"login",)"
      R"("metadata":{"z":1,"a":[true,null]},"timestamp":"2024-01-15T10:30:00.000Z",)"
      R"("createdAt":1705314600123})");
}

TEST(v1_api, event_json_survives_bad_stored_metadata) {
  event e;
  e.data = "{not json";
  EXPECT_EQ(v1_event_json(e)["metadata"], json::object());
}

TEST(v1_api, parsed_event_renders_back) {
  json body{
      {"entityId", "u"}, {"eventType", "t"}, {"metadata", {{"k", "v"}}}, {"id", "x"}};
  auto result = parse_v1_event(body, now);
  ASSERT_TRUE(result);
  auto wire = v1_event_json(result.value);
  EXPECT_EQ(wire["id"], "x");
  EXPECT_EQ(wire["metadata"], (json{{"k", "v"}}));
  EXPECT_EQ(wire["timestamp"], "2024-01-15T10:30:00.123Z");
  EXPECT_EQ(wire["createdAt"], now);
}

TEST(v1_api, self_tracking_event) {
  auto e = make_self_tracking_event("GET", "/v1/events", 200, 1.5, "trace-1", now);
  EXPECT_EQ(e.subject, "api-self");
  EXPECT_EQ(e.type, "api_call");
  EXPECT_EQ(e.source, v1_source);
  EXPECT_EQ(e.time, now);
  EXPECT_TRUE(std::regex_match(e.id, uuid_v4));
  EXPECT_EQ(e.data, R"({"method":"GET","path":"/v1/events","statusCode":200,)"
                    R"("duration":1.5,"traceId":"trace-1"})");
}

// -- JSON limits of request bodies and of stored metadata -----------------------

std::string deep_object(std::size_t levels) {
  return repeat(R"({"a":)", levels) + "1" + std::string(levels, '}');
}

std::string request_error(const std::string& body) {
  auto result = try_parse_request_json(body);
  EXPECT_FALSE(result);
  return result.error;
}

TEST(v1_api, deep_metadata_is_refused_naming_the_field) {
  const std::string event = R"({"entityId":"e","eventType":"t","metadata":)";
  EXPECT_EQ(request_error(event + deep_object(100'000) + "}"),
            "metadata nests deeper than 64 levels");
  EXPECT_EQ(request_error(event + repeat("[", 60'000) + repeat("]", 60'000) + "}"),
            "metadata nests deeper than 64 levels");
  EXPECT_EQ(request_error(R"({"events":[{"entityId":"e","eventType":"t"},)" + event +
                          deep_object(100'000) + "}]}"),
            "events[1]: metadata nests deeper than 64 levels");
  EXPECT_EQ(request_error(R"({"entityId":)" + deep_object(100'000) + "}"),
            "request body nests deeper than 64 levels");
  EXPECT_EQ(request_error("{\"entityId\":"), "Malformed JSON in request body");
}

TEST(v1_api, metadata_of_64_levels_is_taken_in_an_event_and_in_a_batch) {
  const std::string event =
      R"({"entityId":"e","eventType":"t","metadata":)" + deep_object(64) + "}";
  auto one = try_parse_request_json(event);
  ASSERT_TRUE(one) << one.error;
  auto parsed = parse_v1_event(one.value, now);
  ASSERT_TRUE(parsed) << parsed.error;
  EXPECT_EQ(parsed.value.data, deep_object(64));
  EXPECT_EQ(v1_event_json(parsed.value)["metadata"].dump(), deep_object(64));
  auto batch = try_parse_request_json(R"({"events":[)" + event + "]}");
  ASSERT_TRUE(batch) << batch.error;
  EXPECT_TRUE(parse_v1_batch(batch.value, now));
}

TEST(v1_api, wide_metadata_is_refused_naming_the_field) {
  std::string members;
  for (int i = 0; i <= 10'000; ++i)
    members += (i ? ",\"k" : "\"k") + std::to_string(i) + "\":1";
  EXPECT_EQ(
      request_error(R"({"entityId":"e","eventType":"t","metadata":{)" + members + "}}"),
      "metadata has more than 10000 members in one object");
  EXPECT_EQ(request_error(R"({"events":[{"metadata":{"list":[)" + repeat("1,", 10'000) +
                          "1]}}]}"),
            "events[0]: metadata has more than 10000 members in one array");
}

TEST(v1_api, metadata_over_256_kib_is_refused) {
  // {"s":"…"} is 8 bytes around the string.
  auto metadata = [](std::size_t bytes) {
    return json{{"s", std::string(bytes - 8, 'x')}};
  };
  json body{{"entityId", "e"}, {"eventType", "t"}, {"metadata", metadata(262'144)}};
  auto at_limit = parse_v1_event(body, now);
  ASSERT_TRUE(at_limit) << at_limit.error;
  EXPECT_EQ(at_limit.value.data.size(), 262'144u);
  body["metadata"] = metadata(262'145);
  EXPECT_EQ(error_of(body), "metadata must be 262144 bytes or less");
  json batch{
      {"events", json::array({json{{"entityId", "e"}, {"eventType", "t"}}, body})}};
  EXPECT_EQ(parse_v1_batch(batch, now).error,
            "events[1]: metadata must be 262144 bytes or less");
}

TEST(v1_api, event_json_survives_hostile_stored_metadata) {
  event e;
  e.data = deep_object(100'000);
  EXPECT_EQ(v1_event_json(e)["metadata"], json::object());
  e.data = R"({"b":1,"1":2,"b":3})";
  EXPECT_EQ(v1_event_json(e)["metadata"].dump(), R"({"1":2,"b":3})");
}

} // namespace

namespace {

using json2 = nlohmann::ordered_json;
using namespace um::model;

TEST(v1_api, idempotency_key_names_an_event_without_an_id) {
  json2 body{{"entityId", "e"}, {"eventType", "t"}};
  auto parsed = parse_v1_event(body, 1'000);
  ASSERT_TRUE(parsed);
  std::vector<event> events{parsed.value};
  EXPECT_EQ(apply_idempotency_key(body, events, "retry-7", false), "");
  EXPECT_EQ(events[0].id, "retry-7");
}

TEST(v1_api, idempotency_key_must_agree_with_a_body_id) {
  json2 body{{"entityId", "e"}, {"eventType", "t"}, {"id", "a"}};
  std::vector<event> events{parse_v1_event(body, 1'000).value};
  EXPECT_EQ(apply_idempotency_key(body, events, "a", false), "");
  EXPECT_EQ(apply_idempotency_key(body, events, "b", false),
            "id and Idempotency-Key must be the same when both are given");
}

TEST(v1_api, idempotency_key_names_each_event_of_a_batch_by_index) {
  json2 body{
      {"events", json2::array({{{"entityId", "e"}, {"eventType", "t"}},
                               {{"entityId", "e"}, {"eventType", "t"}, {"id", "own"}},
                               {{"entityId", "e"}, {"eventType", "t"}}})}};
  auto parsed = parse_v1_batch(body, 1'000);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(apply_idempotency_key(body, parsed.value, "k", true), "");
  EXPECT_EQ(parsed.value[0].id, "k:0");
  EXPECT_EQ(parsed.value[1].id, "own");
  EXPECT_EQ(parsed.value[2].id, "k:2");
}

TEST(v1_api, idempotency_key_must_be_printable_and_bounded) {
  json2 body{{"entityId", "e"}, {"eventType", "t"}};
  std::vector<event> events{parse_v1_event(body, 1'000).value};
  EXPECT_NE(apply_idempotency_key(body, events, std::string(256, 'k'), false), "");
  EXPECT_NE(apply_idempotency_key(body, events, "a\tb", false), "");
}

} // namespace
