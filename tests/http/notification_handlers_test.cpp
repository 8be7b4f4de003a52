// The notification handlers against a recording transport and a stand-in
// notifier (canned answers, the requests it got kept for the test): each
// handler reads its query or body, asks through a real bridge, and renders
// the answer in OpenMeter's shapes with the status the API promises.

#include "http/handlers.hpp"
#include "http/routes.hpp"
#include "model/notification_lists.hpp"
#include "tests/http/recording_transport.hpp"

#include <gtest/gtest.h>

#include <mutex>

namespace {

using namespace um;
using namespace um::http;
using um::testing::fake_request;
using um::testing::make_exchange;

constexpr model::millis now = 1'767'225'600'000; // 2026-01-01T00:00:00Z
const std::string secret = "whsec_S6g2HLnTwd9AhHwUIMFggVS9OfoPafN8";

caf::actor_system_config& quiet(caf::actor_system_config& cfg) {
  cfg.set("scheduler.max-threads", 2);
  cfg.set("logger.file-verbosity", caf::atom("quiet"));
  cfg.set("logger.console-verbosity", caf::atom("quiet"));
  return cfg;
}

model::notification_channel channel(std::string id, bool disabled = false) {
  model::notification_channel c;
  c.id = std::move(id);
  c.name = "hook " + c.id;
  c.url = "https://example.com/hook";
  c.signing_secret = secret;
  c.disabled = disabled;
  c.created_at = c.updated_at = now;
  return c;
}

model::notification_rule rule(std::string id, std::vector<std::string> channels) {
  model::notification_rule r;
  r.id = std::move(id);
  r.name = "rule " + r.id;
  r.meter_slug = "api_calls";
  r.thresholds = {100, 1000};
  r.channel_ids = std::move(channels);
  r.created_at = r.updated_at = now;
  return r;
}

model::notification_event event(std::string id, std::string rule_id) {
  model::notification_event e;
  e.id = std::move(id);
  e.rule_id = std::move(rule_id);
  e.rule_name = "rule";
  e.meter_slug = "api_calls";
  e.subject = "customer-1";
  e.window = {now, now + 86'400'000};
  e.threshold = 100;
  e.value = 120;
  e.created_at = now;
  model::notification_delivery d;
  d.channel_id = "01C1";
  e.deliveries.push_back(d);
  return e;
}

// What the stand-in notifier was asked.
struct notifier_log {
  std::mutex mutex;
  model::notification_event_filter filter;
  std::vector<std::string> resent_to;
  std::string resent_event;
  int asked = 0;
};

caf::error not_found(const std::string& what) {
  return caf::make_error(model::error_code::not_found, what + " not found");
}

notifier_actor::behavior_type stand_in_notifier(std::shared_ptr<notifier_log> log) {
  auto count = [log] {
    std::lock_guard<std::mutex> guard{log->mutex};
    ++log->asked;
  };
  return {
      [](crash_atom, const model::trace_ref&) {},
      [](hang_atom, std::int64_t) {},
      [](ping_atom) { return true; },
      [](usage_atom, const std::string&, const std::vector<model::usage_touch>&) {},
      [](tick_atom) {},
      [count](nchan_add_atom, const model::trace_ref&, const nlohmann::ordered_json& body)
          -> caf::result<model::notification_channel> {
        count();
        auto parsed = model::parse_new_notification_channel(body, "01NEW", now);
        if (!parsed)
          return caf::make_error(model::error_code::validation, parsed.error);
        return parsed.value;
      },
      [count](nchan_list_atom, const model::trace_ref&) {
        count();
        return std::vector<model::notification_channel>{channel("01C2", true),
                                                        channel("01C1"), channel("01C3")};
      },
      [](nchan_get_atom, const model::trace_ref&,
         const std::string& id) -> caf::result<model::notification_channel> {
        if (id != "01C1")
          return not_found("channel");
        return channel(id);
      },
      [](nchan_set_atom, const model::trace_ref&, const std::string& id,
         const nlohmann::ordered_json& body) -> caf::result<model::notification_channel> {
        auto parsed =
            model::parse_notification_channel_update(body, channel(id), now + 1);
        if (!parsed)
          return caf::make_error(model::error_code::validation, parsed.error);
        return parsed.value;
      },
      [](nchan_del_atom, const model::trace_ref&,
         const std::string& id) -> caf::result<bool> {
        if (id == "01USED")
          return caf::make_error(model::error_code::validation,
                                 "channel 01USED is used by rule 01R1");
        if (id != "01C1")
          return not_found("channel");
        return true;
      },
      [](nrule_add_atom, const model::trace_ref&,
         const nlohmann::ordered_json& body) -> caf::result<model::notification_catalog> {
        auto parsed = model::parse_new_notification_rule(body, "01RNEW", now);
        if (!parsed)
          return caf::make_error(model::error_code::validation, parsed.error);
        return model::notification_catalog{{channel("01C1")}, {parsed.value}};
      },
      [](nrule_list_atom, const model::trace_ref&) {
        return model::notification_catalog{{channel("01C1"), channel("01C2")},
                                           {rule("01R2", {"01C2"}),
                                            rule("01R1", {"01C1"}),
                                            rule("01R3", {"01C1", "01C2"})}};
      },
      [](nrule_get_atom, const model::trace_ref&,
         const std::string& id) -> caf::result<model::notification_catalog> {
        if (id != "01R1")
          return not_found("rule");
        return model::notification_catalog{{channel("01C1")}, {rule(id, {"01C1"})}};
      },
      [](nrule_set_atom, const model::trace_ref&, const std::string& id,
         const nlohmann::ordered_json& body) -> caf::result<model::notification_catalog> {
        auto parsed = model::parse_notification_rule_update(body, rule(id, {}), now + 1);
        if (!parsed)
          return caf::make_error(model::error_code::validation, parsed.error);
        return model::notification_catalog{{channel("01C1")}, {parsed.value}};
      },
      [](nrule_del_atom, const model::trace_ref&, const std::string&) { return true; },
      [log](nevent_list_atom, const model::trace_ref&,
            const model::notification_event_filter& f) {
        std::lock_guard<std::mutex> guard{log->mutex};
        log->filter = f;
        model::notification_event_page page;
        page.events = {event("01E2", "01R1"), event("01E1", "01GONE")};
        page.total = 12;
        page.rules = {rule("01R1", {"01C1"})};
        page.channels = {channel("01C1")};
        return page;
      },
      [](nevent_get_atom, const model::trace_ref&,
         const std::string& id) -> caf::result<model::notification_event_page> {
        if (id != "01E1")
          return not_found("event");
        model::notification_event_page page;
        page.events = {event(id, "01R1")};
        page.total = 1;
        page.rules = {rule("01R1", {"01C1"})};
        page.channels = {channel("01C1")};
        return page;
      },
      [log](nresend_atom, const model::trace_ref&, const std::string& id,
            const std::vector<std::string>& channels) {
        std::lock_guard<std::mutex> guard{log->mutex};
        log->resent_event = id;
        log->resent_to = channels;
        return true;
      },
  };
}

context_ptr make_context() {
  auto ctx = std::make_shared<service_context>();
  ctx->logs = std::make_shared<log_sink>(model::log_level::info);
  ctx->directory = std::make_shared<actor_directory>();
  ctx->counters = std::make_shared<service_counters>();
  return ctx;
}

exchange_terms problem_terms() {
  exchange_terms t;
  t.errors = error_style::problem;
  return t;
}

class notification_handlers : public ::testing::Test {
protected:
  ~notification_handlers() override {
    if (notifier)
      caf::anon_send_exit(notifier, caf::exit_reason::user_shutdown);
    ctx->directory->clear();
  }

  void with_notifier() {
    notifier = sys.spawn(stand_in_notifier, log);
    ctx->directory->set(notifier);
  }

  // Runs `handler` on `r` and returns its answer.
  um::testing::recorded_answer run(route_handler handler, fake_request r) {
    auto [ex, answer] = make_exchange(std::move(r), problem_terms());
    handler(ex, b);
    return answer->wait();
  }

  caf::actor_system_config cfg;
  caf::actor_system sys{quiet(cfg)};
  context_ptr ctx = make_context();
  request_books books{ctx};
  bridge actors{sys, std::chrono::seconds{10}};
  route_table routes = service_routes().serving(true);
  backend b{ctx, actors, books, routes};
  std::shared_ptr<notifier_log> log = std::make_shared<notifier_log>();
  notifier_actor notifier;
};

TEST_F(notification_handlers, without_a_notifier_every_route_answers_503) {
  fake_request r{"GET", "/api/v1/notification/channels"};
  auto a = run(notification::list_channels, r);
  EXPECT_EQ(a.status, 503);
  EXPECT_EQ(a.content_type, "application/problem+json");
  EXPECT_EQ(a.header("Retry-After"), "1");
}

TEST_F(notification_handlers, a_bad_list_query_is_400_before_the_notifier_is_asked) {
  with_notifier();
  fake_request r{"GET", "/api/v1/notification/channels"};
  r.query = "includeDisabled=maybe&pageSize=0";
  auto a = run(notification::list_channels, r);
  EXPECT_EQ(a.status, 400);
  EXPECT_EQ(a.content_type, "application/problem+json");
  EXPECT_EQ(a.json()["detail"], "includeDisabled must be true or false; pageSize must be "
                                "an integer from 1 to 1000");

  fake_request events{"GET", "/api/v1/notification/events"};
  events.query = "order=ASC";
  EXPECT_EQ(run(notification::list_events, events).json()["detail"],
            "order must be DESC: events are listed newest first");
  std::lock_guard<std::mutex> guard{log->mutex};
  EXPECT_EQ(log->asked, 0);
}

TEST_F(notification_handlers, a_channel_is_created_with_201_and_its_secret) {
  with_notifier();
  fake_request r{"POST", "/api/v1/notification/channels"};
  r.headers["content-type"] = "application/json";
  r.body =
      R"({"type":"WEBHOOK","name":"ops","url":"https://example.com/hook","signingSecret":")" +
      secret + R"("})";
  auto a = run(notification::create_channel, r);
  ASSERT_EQ(a.status, 201) << a.body;
  EXPECT_EQ(a.json()["id"], "01NEW");
  EXPECT_EQ(a.json()["type"], "WEBHOOK");
  EXPECT_EQ(a.json()["signingSecret"], secret);

  r.body = R"({"type":"EMAIL"})";
  auto bad = run(notification::create_channel, r);
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.content_type, "application/problem+json");

  r.body = "{";
  EXPECT_EQ(run(notification::create_channel, r).status, 400);
}

TEST_F(notification_handlers, channels_are_listed_as_a_page_without_disabled_ones) {
  with_notifier();
  fake_request r{"GET", "/api/v1/notification/channels"};
  auto a = run(notification::list_channels, r);
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_EQ(a.json()["totalCount"], 2);
  EXPECT_EQ(a.json()["items"][0]["id"], "01C1");
  EXPECT_EQ(a.json()["items"][1]["id"], "01C3");

  r.query = "includeDisabled=true&order=DESC&pageSize=2&page=1";
  a = run(notification::list_channels, r);
  EXPECT_EQ(a.json()["totalCount"], 3);
  EXPECT_EQ(a.json()["pageSize"], 2);
  ASSERT_EQ(a.json()["items"].size(), 2u);
  EXPECT_EQ(a.json()["items"][0]["id"], "01C3");
  EXPECT_EQ(a.json()["items"][1]["id"], "01C2");
}

TEST_F(notification_handlers, one_channel_is_read_replaced_and_deleted) {
  with_notifier();
  fake_request get{"GET", "/api/v1/notification/channels/01C1"};
  get.params["channelId"] = "01C1";
  EXPECT_EQ(run(notification::get_channel, get).json()["name"], "hook 01C1");
  get.params["channelId"] = "01NONE";
  auto missing = run(notification::get_channel, get);
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.content_type, "application/problem+json");

  fake_request put{"PUT", "/api/v1/notification/channels/01C1"};
  put.params["channelId"] = "01C1";
  put.body = R"({"type":"WEBHOOK","name":"renamed","url":"https://example.com/new"})";
  auto updated = run(notification::update_channel, put);
  ASSERT_EQ(updated.status, 200) << updated.body;
  EXPECT_EQ(updated.json()["name"], "renamed");
  EXPECT_EQ(updated.json()["signingSecret"], secret);

  fake_request del{"DELETE", "/api/v1/notification/channels/01C1"};
  del.params["channelId"] = "01C1";
  auto deleted = run(notification::delete_channel, del);
  EXPECT_EQ(deleted.status, 204);
  EXPECT_EQ(deleted.body, "");
  del.params["channelId"] = "01USED";
  EXPECT_EQ(run(notification::delete_channel, del).status, 400);
  del.params["channelId"] = "%zz";
  EXPECT_EQ(run(notification::delete_channel, del).json()["detail"], "Malformed path");
}

TEST_F(notification_handlers, rules_name_their_channels) {
  with_notifier();
  fake_request r{"POST", "/api/v1/notification/rules"};
  r.body = R"({"type":"meter.usage.threshold","name":"over plan","meter":"api_calls",
               "thresholds":[{"value":100}],"window":"MONTH","channels":["01C1"]})";
  auto a = run(notification::create_rule, r);
  ASSERT_EQ(a.status, 201) << a.body;
  EXPECT_EQ(a.json()["id"], "01RNEW");
  EXPECT_EQ(a.json()["type"], "meter.usage.threshold");
  EXPECT_EQ(a.json()["channels"][0]["name"], "hook 01C1");

  fake_request get{"GET", "/api/v1/notification/rules/01R1"};
  get.params["ruleId"] = "01R1";
  EXPECT_EQ(run(notification::get_rule, get).json()["id"], "01R1");
  get.params["ruleId"] = "01R9";
  EXPECT_EQ(run(notification::get_rule, get).status, 404);

  fake_request del{"DELETE", "/api/v1/notification/rules/01R1"};
  del.params["ruleId"] = "01R1";
  EXPECT_EQ(run(notification::delete_rule, del).status, 204);
}

TEST_F(notification_handlers, rules_are_listed_by_any_of_the_channels_given) {
  with_notifier();
  fake_request r{"GET", "/api/v1/notification/rules"};
  r.query = "channel=01C2&feature=ignored&orderBy=id&order=DESC";
  auto a = run(notification::list_rules, r);
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_EQ(a.json()["totalCount"], 2);
  EXPECT_EQ(a.json()["items"][0]["id"], "01R3");
  EXPECT_EQ(a.json()["items"][1]["id"], "01R2");

  r.query = "channel=01C1&channel=01C2";
  EXPECT_EQ(run(notification::list_rules, r).json()["totalCount"], 3);
}

TEST_F(notification_handlers, the_event_list_query_becomes_the_notifier_filter) {
  with_notifier();
  fake_request r{"GET", "/api/v1/notification/events"};
  r.query = "from=2026-01-01T00:00:00Z&subject=customer-1&subject=customer-2&rule=01R1"
            "&channel=01C1&page=2&pageSize=5";
  auto a = run(notification::list_events, r);
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_EQ(a.json()["totalCount"], 12);
  EXPECT_EQ(a.json()["page"], 2);
  EXPECT_EQ(a.json()["pageSize"], 5);
  ASSERT_EQ(a.json()["items"].size(), 2u);
  EXPECT_EQ(a.json()["items"][0]["rule"]["name"], "rule 01R1");
  EXPECT_EQ(a.json()["items"][0]["deliveryStatus"][0]["state"], "PENDING");
  EXPECT_EQ(a.json()["items"][1]["rule"]["id"], "01GONE");
  std::lock_guard<std::mutex> guard{log->mutex};
  EXPECT_EQ(log->filter.from, now);
  EXPECT_EQ(log->filter.subjects, (std::vector<std::string>{"customer-1", "customer-2"}));
  EXPECT_EQ(log->filter.rule_ids, (std::vector<std::string>{"01R1"}));
  EXPECT_EQ(log->filter.channel_ids, (std::vector<std::string>{"01C1"}));
  EXPECT_EQ(log->filter.offset, 5u);
  EXPECT_EQ(log->filter.limit, 5u);
}

TEST_F(notification_handlers, one_event_is_read) {
  with_notifier();
  fake_request r{"GET", "/api/v1/notification/events/01E1"};
  r.params["eventId"] = "01E1";
  auto a = run(notification::get_event, r);
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_EQ(a.json()["id"], "01E1");
  EXPECT_EQ(a.json()["payload"]["type"], "meter.usage.threshold");
  r.params["eventId"] = "01E9";
  EXPECT_EQ(run(notification::get_event, r).status, 404);
}

TEST_F(notification_handlers, a_resend_is_202_without_a_body_to_the_channels_named) {
  with_notifier();
  fake_request r{"POST", "/api/v1/notification/events/01E1/resend"};
  r.params["eventId"] = "01E1";
  auto a = run(notification::resend_event, r); // no body: every channel
  EXPECT_EQ(a.status, 202);
  EXPECT_EQ(a.body, "");
  {
    std::lock_guard<std::mutex> guard{log->mutex};
    EXPECT_EQ(log->resent_event, "01E1");
    EXPECT_TRUE(log->resent_to.empty());
  }
  r.body = R"({"channels":["01C1","01C1"]})";
  EXPECT_EQ(run(notification::resend_event, r).status, 202);
  {
    std::lock_guard<std::mutex> guard{log->mutex};
    EXPECT_EQ(log->resent_to, (std::vector<std::string>{"01C1"}));
  }
  r.body = R"({"channels":"01C1"})";
  auto bad = run(notification::resend_event, r);
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.json()["detail"], "channels must be an array of at most 50 channel ids");
}

} // namespace
