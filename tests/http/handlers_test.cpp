// Handlers against a recording transport: each parses its request, asks the
// actor that owns the answer through a real bridge (a real aggregation actor
// on a temporary SQLite store where one is needed), and renders the answer.

#include "actors/actors.hpp"
#include "http/handlers.hpp"
#include "http/routes.hpp"
#include "model/v1_render.hpp"
#include "tests/http/recording_transport.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

namespace {

using namespace um;
using namespace um::http;
using um::testing::fake_request;
using um::testing::make_exchange;

constexpr model::millis started = 1'705'276'800'000; // 2024-01-15T00:00:00.000Z

caf::actor_system_config& quiet(caf::actor_system_config& cfg) {
  cfg.set("scheduler.max-threads", 2);
  cfg.set("logger.file-verbosity", caf::atom("quiet"));
  cfg.set("logger.console-verbosity", caf::atom("quiet"));
  return cfg;
}

context_ptr make_context() {
  auto ctx = std::make_shared<service_context>();
  ctx->started_at = started;
  ctx->logs = std::make_shared<log_sink>(model::log_level::info);
  ctx->directory = std::make_shared<actor_directory>();
  ctx->counters = std::make_shared<service_counters>();
  ctx->config.fault_injection = true;
  return ctx;
}

model::event v1_event(std::string id, std::string subject, std::string type,
                      model::millis time) {
  model::event e;
  e.id = std::move(id);
  e.source = std::string{model::v1_source};
  e.subject = std::move(subject);
  e.type = std::move(type);
  e.time = time;
  e.data = "{}";
  e.ingested_at = time;
  return e;
}

exchange_terms problem_terms() {
  exchange_terms t;
  t.errors = error_style::problem;
  return t;
}

class handlers : public ::testing::Test {
protected:
  ~handlers() override {
    if (aggr)
      caf::anon_send_exit(aggr, caf::exit_reason::user_shutdown);
    ctx->directory->clear();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }

  // A real aggregation actor over a store holding `events`.
  void with_aggregation(const std::vector<model::event>& events) {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "um-http-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir = pattern;
    storage::store_options options;
    options.data_dir = dir.string();
    options.synchronous_full = false;
    storage::open_event_store(options)->append(events);
    aggr = sys.spawn<caf::detached>(
        aggregation, ctx, store_factory{[options](const std::string& ns) {
          return storage::open_event_store(storage::namespace_options(options, ns));
        }});
    ctx->directory->set(aggr);
  }

  caf::actor_system_config cfg;
  caf::actor_system sys{quiet(cfg)};
  context_ptr ctx = make_context();
  request_books books{ctx};
  bridge actors{sys, std::chrono::seconds{10}};
  route_table routes = service_routes().serving(true);
  backend b{ctx, actors, books, routes};
  aggregation_actor aggr;
  std::filesystem::path dir;
};

TEST_F(handlers, root_renders_the_root_body) {
  auto [ex, answer] = make_exchange({"GET", "/"});
  operations::root(ex, b);
  auto a = answer->wait();
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(a.body, model::to_wire(model::root_body()));
}

TEST_F(handlers, health_answers_from_the_published_report) {
  model::health_report report;
  report.components = {{"ingest", model::component_state::up, 0, ""}};
  ctx->health_reports->publish(report);
  auto [ex, answer] = make_exchange({"GET", "/health"});
  operations::health(ex, b);
  auto a = answer->wait();
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(a.json()["status"], "healthy");
  EXPECT_EQ(a.json()["components"]["ingest"]["state"], "up");
}

TEST_F(handlers, a_preflight_allows_the_methods_of_the_rows_it_is_given) {
  auto noop = [](const exchange_ptr&, backend&) {};
  route_table custom{{{"PATCH", "/things/:id", access::api_key, error_style::v1,
                       tracking::tracked, on_timeout::failed, noop}}};
  backend with_custom{ctx, actors, books, custom};
  fake_request r{"OPTIONS", "/things/7"};
  r.headers["access-control-request-headers"] = "content-type,x-custom";
  auto [ex, answer] = make_exchange(r);
  operations::preflight(ex, with_custom);
  auto a = answer->wait();
  EXPECT_EQ(a.status, 204);
  EXPECT_EQ(a.header("Access-Control-Allow-Methods"), "GET,POST,PATCH,OPTIONS");
  EXPECT_EQ(a.header("Access-Control-Allow-Headers"), "content-type,x-custom");
  EXPECT_EQ(a.header("Access-Control-Max-Age"), "86400");
}

TEST_F(handlers, an_unknown_route_is_404_in_the_exchanges_style) {
  auto [ex, answer] = make_exchange({"GET", "/api/v1/nothing"}, problem_terms());
  operations::not_found(ex, b);
  auto a = answer->wait();
  EXPECT_EQ(a.status, 404);
  EXPECT_EQ(a.json()["detail"], "Route GET /api/v1/nothing not found");
}

TEST_F(handlers, a_v1_event_is_parsed_before_ingest_is_asked) {
  fake_request r{"POST", "/v1/events"};
  r.body = R"({"eventType":"login"})";
  auto [ex, answer] = make_exchange(r);
  v1::post_event(ex, b); // no ingest actor: had it asked, the answer would be 503
  auto a = answer->wait();
  EXPECT_EQ(a.status, 400);
  EXPECT_EQ(a.json()["error"]["message"], "entityId is required");
}

TEST_F(handlers, a_part_that_is_down_answers_503) {
  fake_request r{"GET", "/v1/usage/alice"};
  r.params["entityId"] = "alice";
  auto [ex, answer] = make_exchange(r);
  v1::usage_summary(ex, b); // no aggregation actor
  auto a = answer->wait();
  EXPECT_EQ(a.status, 503);
  EXPECT_EQ(a.header("Retry-After"), "1");
}

TEST_F(handlers, a_malformed_path_parameter_is_400) {
  fake_request r{"GET", "/v1/usage/%zz"};
  r.params["entityId"] = "%zz";
  auto [ex, answer] = make_exchange(r);
  v1::usage_summary(ex, b);
  EXPECT_EQ(answer->wait().json()["error"]["message"], "Malformed path");
}

TEST_F(handlers, usage_summary_reports_the_period_from_the_service_start) {
  with_aggregation({v1_event("1", "alice", "login", started + 1000),
                    v1_event("2", "alice", "click", started + 2000),
                    v1_event("3", "bob", "login", started + 3000)});
  fake_request r{"GET", "/v1/usage/alice"};
  r.params["entityId"] = "alice";
  r.query = "until=2024-02-01T00:00:00.000Z";
  auto [ex, answer] = make_exchange(r);
  v1::usage_summary(ex, b);
  auto a = answer->wait();
  ASSERT_EQ(a.status, 200) << a.body;
  auto data = a.json()["data"];
  EXPECT_EQ(data["entityId"], "alice");
  EXPECT_EQ(data["totalEvents"], 2);
  EXPECT_EQ(data["period"]["since"], "2024-01-15T00:00:00.000Z");
  EXPECT_EQ(data["period"]["until"], "2024-02-01T00:00:00.000Z");
}

TEST_F(handlers, a_meter_query_names_its_meter_and_the_actor_reads_it) {
  with_aggregation({});
  fake_request r{"POST", "/api/v1/meters/nope/query"};
  r.params["meter"] = "nope";
  r.body = "[]"; // not a query, but the meter is looked up first
  auto [ex, answer] = make_exchange(r, problem_terms());
  metering::query_meter_body(ex, b);
  auto a = answer->wait();
  EXPECT_EQ(a.status, 404);
  EXPECT_EQ(a.content_type, "application/problem+json");
}

TEST_F(handlers, group_by_values_checks_its_period_first) {
  fake_request r{"GET", "/api/v1/meters/m/group-by/model/values"};
  r.params = {{"meter", "m"}, {"key", "model"}};
  r.query = "from=yesterday";
  auto [ex, answer] = make_exchange(r, problem_terms());
  metering::group_by_values(ex, b);
  auto a = answer->wait();
  EXPECT_EQ(a.status, 400);
  EXPECT_EQ(a.json()["detail"], "from must be an RFC 3339 date-time");
}

TEST_F(handlers, fault_drills_are_read_from_the_route) {
  fake_request bad_ms{"POST", "/admin/faults/ingest/hang"};
  bad_ms.params = {{"actor", "ingest"}, {"fault", "hang"}};
  bad_ms.query = "ms=0";
  auto [ex, answer] = make_exchange(bad_ms);
  operations::inject_fault(ex, b);
  EXPECT_EQ(answer->wait().json()["error"]["message"], "ms must be between 1 and 600000");

  fake_request unknown{"POST", "/admin/faults/nobody/crash"};
  unknown.params = {{"actor", "nobody"}, {"fault", "crash"}};
  auto [ex2, answer2] = make_exchange(unknown);
  operations::inject_fault(ex2, b);
  auto a = answer2->wait();
  EXPECT_EQ(a.status, 404);
  EXPECT_EQ(a.json()["error"]["message"],
            "Route POST /admin/faults/nobody/crash not found");

  fake_request down{"POST", "/admin/faults/ingest/crash"};
  down.params = {{"actor", "ingest"}, {"fault", "crash"}};
  auto [ex3, answer3] = make_exchange(down);
  operations::inject_fault(ex3, b); // no ingest actor
  EXPECT_EQ(answer3->wait().status, 503);
}

} // namespace
