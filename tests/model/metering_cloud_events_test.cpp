#include "model/cloud_events.hpp"

#include <gtest/gtest.h>

namespace {

using namespace um::model;
using json = nlohmann::ordered_json;

constexpr millis now = 1'705'314'600'123; // 2024-01-15T10:30:00.123Z

json valid_event(std::string id = "e1") {
  return json{{"specversion", "1.0"},
              {"id", id},
              {"source", "@openmeter/sdk"},
              {"type", "prompt"},
              {"subject", "customer-1"},
              {"time", "2024-01-15T10:00:00.500Z"},
              {"data", {{"tokens", 12}, {"model", "gpt-4"}}}};
}

cloud_event_batch parse(const json& body, std::string_view type) {
  return parse_cloud_events(body.dump(), type, now);
}

std::string error_of(const json& body,
                     std::string_view type = "application/cloudevents-batch+json") {
  auto result = parse(body, type);
  EXPECT_FALSE(result);
  if (!result.error)
    return {};
  EXPECT_EQ(result.error->code, error_code::validation);
  return result.error->message;
}

std::string one_error(json ce) {
  return error_of(json::array({valid_event("e0"), std::move(ce)}));
}

TEST(cloud_events, the_v1_source_is_reserved) {
  auto ce = valid_event("e1");
  ce["source"] = "usage-metrics/v1";
  EXPECT_EQ(one_error(ce),
            "event[1]: source usage-metrics/v1 is reserved for events of the v1 API");
}

TEST(cloud_events, parses_a_batch_as_the_sdk_sends_it) {
  auto result = parse(json::array({valid_event("e1"), valid_event("e2")}),
                      "application/cloudevents-batch+json");
  ASSERT_TRUE(result) << result.error->message;
  ASSERT_EQ(result.events.size(), 2u);
  const auto& e = result.events[0];
  EXPECT_EQ(e.id, "e1");
  EXPECT_EQ(e.source, "@openmeter/sdk");
  EXPECT_EQ(e.type, "prompt");
  EXPECT_EQ(e.subject, "customer-1");
  EXPECT_EQ(e.time, *try_parse_iso8601("2024-01-15T10:00:00.500Z"));
  EXPECT_EQ(e.data, R"({"tokens":12,"model":"gpt-4"})");
  EXPECT_EQ(e.ingested_at, now);
  EXPECT_EQ(result.events[1].id, "e2");
}

TEST(cloud_events, content_types_decide_the_shape) {
  auto one = valid_event();
  auto many = json::array({valid_event()});
  EXPECT_TRUE(parse(one, "application/cloudevents+json"));
  EXPECT_TRUE(parse(one, "application/json"));
  EXPECT_TRUE(parse(many, "application/json"));
  EXPECT_TRUE(parse(many, "application/cloudevents-batch+json; charset=utf-8"));
  EXPECT_TRUE(parse(one, "Application/CloudEvents+JSON;charset=UTF-8"));
  EXPECT_TRUE(parse(one, "application/json; charset=\"utf-8\""));
  EXPECT_NE(error_of(many, "application/cloudevents+json").find("one event"),
            std::string::npos);
  EXPECT_NE(error_of(one, "application/cloudevents-batch+json").find("array"),
            std::string::npos);
  for (auto type : {"text/plain", "", "application/xml",
                    "application/json; charset=latin1", "application/cloudevents"}) {
    auto result = parse(one, type);
    ASSERT_FALSE(result) << type;
    EXPECT_EQ(result.error->code, error_code::unsupported_media_type) << type;
    EXPECT_EQ(http_status(result.error->code), 415);
  }
}

TEST(cloud_events, rejects_bodies_that_are_not_events) {
  EXPECT_EQ(parse_cloud_events("{not json", "application/json", now).error->message,
            "request body is not valid JSON");
  EXPECT_EQ(error_of(json::array(), "application/json"), "the batch holds no events");
  EXPECT_NE(error_of(json("text"), "application/json").find("CloudEvent object"),
            std::string::npos);
  EXPECT_EQ(error_of(json::array({1})), "event[0]: must be a JSON object");
}

TEST(cloud_events, required_attributes_are_named) {
  for (auto field : {"id", "source", "specversion", "type", "subject"}) {
    auto ce = valid_event();
    ce.erase(field);
    EXPECT_EQ(one_error(ce), "event[1]: " + std::string{field} + " is required");
    ce[field] = nullptr;
    EXPECT_EQ(one_error(ce), "event[1]: " + std::string{field} + " is required");
    ce[field] = "";
    EXPECT_EQ(one_error(ce), "event[1]: " + std::string{field} + " must not be empty");
    ce[field] = 7;
    EXPECT_EQ(one_error(ce), "event[1]: " + std::string{field} + " must be a string");
  }
  auto ce = valid_event();
  ce["specversion"] = "0.3";
  EXPECT_EQ(one_error(ce), "event[1]: specversion must be \"1.0\"");
  EXPECT_EQ(error_of(json{{"id", "x"}}, "application/cloudevents+json"),
            "event: source is required");
}

TEST(cloud_events, time_is_rfc3339_and_defaults_to_now) {
  auto ce = valid_event();
  ce.erase("time");
  auto result = parse(ce, "application/cloudevents+json");
  ASSERT_TRUE(result);
  EXPECT_EQ(result.events[0].time, now);
  ce["time"] = nullptr;
  EXPECT_EQ(parse(ce, "application/json").events.at(0).time, now);
  ce["time"] = "2024-01-15T12:00:00+02:00";
  EXPECT_EQ(parse(ce, "application/json").events.at(0).time,
            *try_parse_iso8601("2024-01-15T10:00:00Z"));
  ce["time"] = "2024-01-15T10:00:00.123456789Z";
  EXPECT_EQ(parse(ce, "application/json").events.at(0).time,
            *try_parse_iso8601("2024-01-15T10:00:00.123Z"));
  for (json bad :
       {json("2024-01-15"), json("2024-01-15T10:00Z"), json("2024-01-15T10:00:00"),
        json("yesterday"), json(1705314600), json("2024-02-30T10:00:00Z")}) {
    ce["time"] = bad;
    EXPECT_NE(one_error(ce).find("time must be an RFC 3339 date-time"), std::string::npos)
        << bad;
  }
}

TEST(cloud_events, optional_attributes) {
  auto ce = valid_event();
  ce["datacontenttype"] = "application/json";
  ce["dataschema"] = "https://example.com/schema";
  ce["myextension"] = "kept out";
  ce["traceparent"] = "00-abc";
  EXPECT_TRUE(parse(ce, "application/json"));
  ce["datacontenttype"] = nullptr;
  ce["dataschema"] = nullptr;
  EXPECT_TRUE(parse(ce, "application/json"));
  ce["datacontenttype"] = "text/plain";
  EXPECT_EQ(one_error(ce), "event[1]: datacontenttype must be application/json");
  ce["datacontenttype"] = "application/json";
  ce["dataschema"] = 5;
  EXPECT_EQ(one_error(ce), "event[1]: dataschema must be a string");
}

TEST(cloud_events, data_is_an_object_or_absent) {
  auto ce = valid_event();
  ce.erase("data");
  EXPECT_EQ(parse(ce, "application/json").events.at(0).data, "");
  ce["data"] = nullptr;
  EXPECT_EQ(parse(ce, "application/json").events.at(0).data, "null");
  ce["data"] = json::object();
  EXPECT_EQ(parse(ce, "application/json").events.at(0).data, "{}");
  for (json bad : {json("{\"tokens\":1}"), json(5), json::array({1})}) {
    ce["data"] = bad;
    EXPECT_EQ(one_error(ce), "event[1]: data must be a JSON object") << bad;
  }
  ce.erase("data");
  ce["data_base64"] = "eyJ9";
  EXPECT_NE(one_error(ce).find("data_base64"), std::string::npos);
}

TEST(cloud_events, a_batch_fails_whole_at_its_first_bad_event) {
  auto bad = valid_event("e3");
  bad.erase("subject");
  auto result =
      parse(json::array({valid_event("e1"), valid_event("e2"), bad, json::object()}),
            "application/cloudevents-batch+json");
  ASSERT_FALSE(result);
  EXPECT_TRUE(result.events.empty());
  EXPECT_EQ(result.error->message, "event[2]: subject is required");
}

TEST(cloud_events, rfc3339_needs_date_time_and_offset) {
  EXPECT_EQ(try_parse_rfc3339("2024-01-15T10:30:00Z"), 1'705'314'600'000);
  EXPECT_EQ(try_parse_rfc3339("2024-01-15t10:30:00z"), 1'705'314'600'000);
  EXPECT_EQ(try_parse_rfc3339("2024-01-15 10:30:00Z"), 1'705'314'600'000);
  EXPECT_EQ(try_parse_rfc3339("2024-01-15T11:30:00.5+01:00"), 1'705'314'600'500);
  EXPECT_FALSE(try_parse_rfc3339("2024-01-15"));
  EXPECT_FALSE(try_parse_rfc3339("2024-01-15T10:30Z"));
  EXPECT_FALSE(try_parse_rfc3339("2024-01-15T10:30:00"));
  EXPECT_FALSE(try_parse_rfc3339("2024-01-15T10:30:00ZZ"));
  EXPECT_FALSE(try_parse_rfc3339(""));
}

TEST(cloud_events, renders_stored_events_as_cloud_events) {
  event e{"e1", "src", "prompt", "c1", 1'705'314'600'000, R"({"tokens":3})", now};
  auto ce = cloud_event_json(e);
  EXPECT_EQ(ce.dump(), R"({"specversion":"1.0","id":"e1","source":"src","type":"prompt",)"
                       R"("subject":"c1","time":"2024-01-15T10:30:00.000Z",)"
                       R"("data":{"tokens":3}})");
  auto item = ingested_event_json(e, std::nullopt);
  EXPECT_EQ(item["event"], ce);
  EXPECT_EQ(item["ingestedAt"], "2024-01-15T10:30:00.123Z");
  EXPECT_EQ(item["storedAt"], "2024-01-15T10:30:00.123Z");
  EXPECT_FALSE(item.contains("validationError"));
  auto flagged = ingested_event_json(e, std::string{"event data is missing value"});
  EXPECT_EQ(flagged["validationError"], "event data is missing value");
  e.data = "garbage";
  EXPECT_EQ(cloud_event_json(e)["data"], json::object());
}

TEST(cloud_events, data_is_listed_as_sent) {
  auto ce = valid_event();
  ce.erase("data");
  auto absent = cloud_event_json(parse(ce, "application/json").events.at(0));
  EXPECT_FALSE(absent.contains("data")) << absent.dump();
  ce["data"] = nullptr;
  auto null = cloud_event_json(parse(ce, "application/json").events.at(0));
  ASSERT_TRUE(null.contains("data")) << null.dump();
  EXPECT_TRUE(null["data"].is_null());
  ce["data"] = json::object();
  EXPECT_EQ(cloud_event_json(parse(ce, "application/json").events.at(0))["data"],
            json::object());
}

TEST(cloud_events, parsed_events_render_back_to_the_same_cloud_event) {
  auto ce = valid_event();
  auto result = parse(ce, "application/cloudevents+json");
  ASSERT_TRUE(result);
  auto back = cloud_event_json(result.events[0]);
  EXPECT_EQ(back["id"], ce["id"]);
  EXPECT_EQ(back["time"], ce["time"]);
  EXPECT_EQ(back["data"], ce["data"]);
  EXPECT_EQ(back["subject"], ce["subject"]);
}

// -- JSON limits --------------------------------------------------------------

std::string deep_object(std::size_t levels) {
  std::string out;
  for (std::size_t i = 0; i < levels; ++i)
    out += R"({"a":)";
  return out + "1" + std::string(levels, '}');
}

// valid_event() with `data` spliced in as text.
std::string event_with_data(const std::string& data) {
  auto text = valid_event().dump();
  auto at = text.find(R"("data":)");
  return text.substr(0, at) + R"("data":)" + data + "}";
}

std::string text_error(const std::string& body, std::string_view type) {
  auto result = parse_cloud_events(body, type, now);
  EXPECT_FALSE(result);
  if (!result.error)
    return {};
  EXPECT_EQ(result.error->code, error_code::validation);
  return result.error->message;
}

TEST(cloud_events, deep_data_is_refused_not_a_crash) {
  auto deep = event_with_data(deep_object(100'000));
  EXPECT_EQ(text_error(deep, "application/cloudevents+json"),
            "event: data nests deeper than 64 levels");
  EXPECT_EQ(text_error("[" + valid_event().dump() + "," + deep + "]",
                       "application/cloudevents-batch+json"),
            "event[1]: data nests deeper than 64 levels");
  EXPECT_EQ(text_error(std::string(100'000, '[') + std::string(100'000, ']'),
                       "application/json"),
            "request body nests deeper than 64 levels");
  auto at_limit =
      parse_cloud_events(event_with_data(deep_object(64)), "application/json", now);
  ASSERT_TRUE(at_limit) << at_limit.error->message;
  EXPECT_EQ(at_limit.events.at(0).data, deep_object(64));
}

TEST(cloud_events, wide_data_is_refused) {
  std::string members;
  for (int i = 0; i <= 10'000; ++i)
    members += (i ? ",\"k" : "\"k") + std::to_string(i) + "\":1";
  EXPECT_EQ(text_error("[" + event_with_data("{" + members + "}") + "]",
                       "application/cloudevents-batch+json"),
            "event[0]: data has more than 10000 members in one object");
}

TEST(cloud_events, data_over_256_kib_is_refused) {
  auto ce = valid_event();
  ce["data"] = {{"s", std::string(262'144 - 8, 'x')}};
  auto at_limit = parse(ce, "application/cloudevents+json");
  ASSERT_TRUE(at_limit);
  EXPECT_EQ(at_limit.events.at(0).data.size(), 262'144u);
  ce["data"]["s"] = std::string(262'144 - 7, 'x');
  EXPECT_EQ(error_of(ce, "application/cloudevents+json"),
            "event: data must be 262144 bytes or less");
  EXPECT_EQ(one_error(ce), "event[1]: data must be 262144 bytes or less");
}

TEST(cloud_events, data_keeps_members_as_javascript_does) {
  auto result = parse_cloud_events(event_with_data(R"({"b":1,"2":0,"a":2,"b":3})"),
                                   "application/json", now);
  ASSERT_TRUE(result);
  EXPECT_EQ(result.events.at(0).data, R"({"2":0,"b":3,"a":2})");
}

TEST(cloud_events, hostile_stored_data_renders_as_an_empty_object) {
  event e{"e1", "src", "prompt", "c1", 0, deep_object(100'000), now};
  EXPECT_EQ(cloud_event_json(e)["data"], json::object());
}

TEST(cloud_events, problem_details) {
  auto p =
      problem_json(error_code::validation, "event[0]: id is required", "urn:request:abc");
  EXPECT_EQ(p.dump(),
            R"({"type":"about:blank","title":"Bad Request","status":400,)"
            R"("detail":"event[0]: id is required","instance":"urn:request:abc"})");
  auto q = problem_json(error_code::unsupported_media_type, "x", "/api/v1/events");
  EXPECT_EQ(q["status"], 415);
  EXPECT_EQ(q["title"], "Unsupported Media Type");
  EXPECT_EQ(problem_json(error_code::not_found, "", "")["status"], 404);
}

} // namespace
