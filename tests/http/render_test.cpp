#include "http/render.hpp"

#include <gtest/gtest.h>

namespace {

using namespace um;
using http::to_wire;
using model::millis;

constexpr millis jan15_1030 = 1'705'314'600'000; // 2024-01-15T10:30:00.000Z
constexpr millis hour = 3'600'000;
constexpr millis day = 86'400'000;

model::event sample_event(std::string id, millis time) {
  model::event e;
  e.id = std::move(id);
  e.source = std::string{model::v1_source};
  e.subject = "user-1";
  e.type = "login";
  e.data = R"({"k":"v"})";
  e.time = time;
  e.ingested_at = time + 1;
  return e;
}

TEST(render, error_body_exact) {
  EXPECT_EQ(to_wire(http::error_body(
                {model::error_code::validation, "entityId is required"}, "trace-1")),
            R"({"error":{"code":"VALIDATION_ERROR","message":"entityId is required",)"
            R"("traceId":"trace-1"}})");
  EXPECT_EQ(to_wire(http::error_body(
                {model::error_code::not_found, "Route GET /nope not found"}, "t")),
            R"({"error":{"code":"NOT_FOUND","message":"Route GET /nope not found",)"
            R"("traceId":"t"}})");
  EXPECT_EQ(http::error_body({model::error_code::internal, "Internal server error"},
                             "t")["error"]["code"],
            "INTERNAL_ERROR");
}

TEST(render, health_body_starts_with_the_contract_keys) {
  EXPECT_EQ(to_wire(http::health_body({}, jan15_1030)),
            R"({"status":"healthy","timestamp":"2024-01-15T10:30:00.000Z",)"
            R"("service":"ioanyt-delivery-standard","version":")" UM_PROBE_VERSION
            R"(","components":{}})");
}

TEST(render, health_wire_parts_splice_to_the_same_body) {
  model::health_report report;
  report.healthy = false;
  report.components = {{"ingest", model::component_state::restarting, 2, "timestamp"}};
  auto [first, second] = http::health_wire_parts(report);
  for (model::millis now : {jan15_1030, jan15_1030 + 123, model::millis{0}})
    EXPECT_EQ(first + model::format_iso8601(now) + second,
              to_wire(http::health_body(report, now)));
}

TEST(render, health_body_lists_components) {
  model::health_report report;
  report.healthy = false;
  report.components = {
      {"ingest", model::component_state::up, 0, ""},
      {"aggregation", model::component_state::failed, 3, "budget spent"}};
  auto body = http::health_body(report, jan15_1030);
  std::vector<std::string> keys;
  for (auto it = body.begin(); it != body.end(); ++it)
    keys.push_back(it.key());
  EXPECT_EQ(keys, (std::vector<std::string>{"status", "timestamp", "service", "version",
                                            "components"}));
  EXPECT_EQ(body["status"], "unhealthy");
  EXPECT_EQ(to_wire(body["components"]),
            R"({"ingest":{"state":"up","restarts":0},)"
            R"("aggregation":{"state":"failed","restarts":3,"detail":"budget spent"}})");
}

TEST(render, ready_body) {
  model::readiness_report ok{true, {{"service", "ok"}, {"storage", "ok"}}};
  EXPECT_EQ(to_wire(http::ready_body(ok, jan15_1030)),
            R"({"status":"ready","timestamp":"2024-01-15T10:30:00.000Z",)"
            R"("checks":{"service":"ok","storage":"ok"}})");
  model::readiness_report bad{false, {{"service", "ok"}, {"storage", "timeout"}}};
  EXPECT_EQ(to_wire(http::ready_body(bad, jan15_1030)),
            R"({"status":"not_ready","timestamp":"2024-01-15T10:30:00.000Z",)"
            R"("checks":{"service":"ok","storage":"timeout"}})");
}

TEST(render, root_body_exact) {
  EXPECT_EQ(to_wire(http::root_body()),
            R"({"service":"ioanyt-delivery-standard","version":")" UM_PROBE_VERSION
            R"(","documentation":"/docs",)"
            R"("health":"/health","api":{"events":"/v1/events","usage":"/v1/usage"}})");
}

TEST(render, info_body_shape) {
  model::usage_stats stats;
  stats.total_events = 12;
  stats.events_last_hour = 3;
  stats.unique_entities = 2;
  auto body = http::info_body(stats, "staging", hour + 60'000, 7);
  EXPECT_EQ(body["service"], "ioanyt-delivery-standard");
  EXPECT_EQ(body["version"], UM_PROBE_VERSION);
  EXPECT_EQ(body["environment"], "staging");
  EXPECT_EQ(to_wire(body["uptime"]), R"({"ms":3660000,"human":"1h 1m"})");
  EXPECT_EQ(to_wire(body["stats"]),
            R"({"totalEvents":12,"eventsLastHour":3,"uniqueEntities":2})");
}

TEST(render, event_created_body) {
  EXPECT_EQ(
      to_wire(http::event_created_body(sample_event("e1", jan15_1030))),
      R"({"success":true,"data":{"id":"e1","entityId":"user-1","eventType":"login",)"
      R"("metadata":{"k":"v"},"timestamp":"2024-01-15T10:30:00.000Z",)"
      R"("createdAt":1705314600001}})");
}

TEST(render, batch_created_body_keeps_order) {
  model::append_outcomes outcomes{
      {model::append_status::stored, sample_event("a", 1)},
      {model::append_status::duplicate, sample_event("b", 2)}};
  auto body = http::batch_created_body(outcomes);
  EXPECT_EQ(body["success"], true);
  ASSERT_EQ(body["data"]["events"].size(), 2u);
  EXPECT_EQ(body["data"]["events"][0]["id"], "a");
  EXPECT_EQ(body["data"]["events"][1]["id"], "b");
}

TEST(render, events_page_body_exact) {
  model::event_page page;
  page.events = {sample_event("e2", jan15_1030 + 1000), sample_event("e1", jan15_1030)};
  page.total = 3;
  model::event_filter filter;
  filter.limit = 2;
  filter.offset = 0;
  auto body = http::events_page_body(page, filter);
  EXPECT_EQ(to_wire(body["data"]["pagination"]),
            R"({"total":3,"limit":2,"offset":0,"hasMore":true})");
  EXPECT_EQ(body["data"]["events"][0]["id"], "e2");
  EXPECT_EQ(body["data"]["events"][1]["timestamp"], "2024-01-15T10:30:00.000Z");
  std::vector<std::string> keys;
  for (auto it = body.begin(); it != body.end(); ++it)
    keys.push_back(it.key());
  EXPECT_EQ(keys, (std::vector<std::string>{"success", "data"}));
}

TEST(render, has_more_is_offset_plus_limit_below_total) {
  auto has_more = [](int offset, int limit, std::int64_t total) {
    model::event_page page;
    page.total = total;
    model::event_filter f;
    f.offset = offset;
    f.limit = limit;
    return http::events_page_body(page, f)["data"]["pagination"]["hasMore"].get<bool>();
  };
  EXPECT_TRUE(has_more(0, 2, 3));
  EXPECT_FALSE(has_more(1, 2, 3));
  EXPECT_FALSE(has_more(0, 100, 0));
  EXPECT_FALSE(has_more(0, 100, 100));
  EXPECT_TRUE(has_more(0, 100, 101));
  EXPECT_FALSE(has_more(500, 100, 3));
  // No overflow near the limits.
  EXPECT_FALSE(has_more(2'000'000'000, 1000, 5));
  EXPECT_TRUE(has_more(2'000'000'000, 1000, 3'000'000'000));
}

TEST(render, a_page_cut_at_its_size_bound_has_more) {
  model::event_page page;
  page.total = 40;
  for (int i = 0; i < 33; ++i) {
    model::event e;
    e.data = std::string(256 * 1024, 'x');
    page.events.push_back(e);
  }
  model::event_filter f;
  f.limit = 100;
  EXPECT_TRUE(
      http::events_page_body(page, f)["data"]["pagination"]["hasMore"].get<bool>());
  page.total = 33;
  EXPECT_FALSE(
      http::events_page_body(page, f)["data"]["pagination"]["hasMore"].get<bool>());
}

TEST(render, stats_body_exact) {
  model::usage_stats stats;
  stats.total_events = 5;
  stats.events_last_hour = 2;
  stats.unique_entities = 3;
  stats.event_types = {{"login", 4}, {"click", 1}};
  EXPECT_EQ(
      to_wire(http::stats_body(stats, 61'000, jan15_1030)),
      R"({"success":true,"data":{"totalEvents":5,"eventsLastHour":2,"uniqueEntities":3,)"
      R"("eventTypes":{"click":1,"login":4},"uptime":{"ms":61000,"human":"1m 1s"},)"
      R"("startTime":"2024-01-15T10:30:00.000Z"}})");
  EXPECT_EQ(to_wire(http::stats_body({}, 0, 0)["data"]["eventTypes"]), "{}");
}

TEST(render, summary_body_exact) {
  model::usage_summary s{3, {{"login", 2}, {"click", 1}}};
  EXPECT_EQ(
      to_wire(http::summary_body("user-1", s, jan15_1030, jan15_1030 + day)),
      R"({"success":true,"data":{"entityId":"user-1","totalEvents":3,)"
      R"("byEventType":{"click":1,"login":2},)"
      R"("period":{"since":"2024-01-15T10:30:00.000Z","until":"2024-01-16T10:30:00.000Z"}}})");
  EXPECT_EQ(to_wire(http::summary_body("nobody", {}, 0, 1)["data"]["byEventType"]), "{}");
}

TEST(render, history_body_exact) {
  model::usage_history h{{jan15_1030 - 30 * 60'000, 4}, {jan15_1030 + 30 * 60'000, 1}};
  EXPECT_EQ(
      to_wire(http::history_body("user-1", model::interval::hour, h, jan15_1030,
                                 jan15_1030 + hour)),
      R"({"success":true,"data":{"entityId":"user-1","interval":"hour",)"
      R"("dataPoints":[{"timestamp":"2024-01-15T10:00:00.000Z","count":4},)"
      R"({"timestamp":"2024-01-15T11:00:00.000Z","count":1}],)"
      R"("period":{"since":"2024-01-15T10:30:00.000Z","until":"2024-01-15T11:30:00.000Z"}}})");
  auto empty = http::history_body("u", model::interval::minute, {}, 0, 0);
  EXPECT_EQ(empty["data"]["interval"], "minute");
  EXPECT_TRUE(empty["data"]["dataPoints"].is_array());
  EXPECT_TRUE(empty["data"]["dataPoints"].empty());
}

TEST(render, to_wire_replaces_invalid_utf8) {
  http::json body{{"message", std::string{"bad \xff byte"}}};
  std::string wire;
  ASSERT_NO_THROW(wire = to_wire(body));
  EXPECT_EQ(wire, "{\"message\":\"bad \xEF\xBF\xBD byte\"}");
}

} // namespace
