// The notifier on a real actor system (its senders are threads of their own
// and speak HTTP) against a RocksDB store and a receiver on a local socket.

#include "tests/actors/actor_fixture.hpp"
#include "tests/notify/local_receiver.hpp"

#include "model/webhook_signature.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <thread>

namespace {

using namespace um;
using namespace um::testing;
using namespace std::chrono_literals;
using json = nlohmann::ordered_json;

class notifier_test : public ::testing::Test {
protected:
  static caf::actor_system_config& quiet(caf::actor_system_config& cfg) {
    cfg.set("logger.file-verbosity", caf::atom("quiet"));
    cfg.set("logger.console-verbosity", caf::atom("quiet"));
    return cfg;
  }

  notifier_test() : sys(quiet(cfg)), self(sys) {
    auto store = open_store();
    auto m = model::parse_meter(
        json::parse(R"({"slug":"calls","aggregation":"COUNT","eventType":"call"})"),
        model::now_millis(), "m-calls");
    EXPECT_TRUE(m) << m.error;
    store->create_meter(m.value);
    store->backfill_meter(m.value.id, 1000);
  }

  ~notifier_test() override {
    if (notifier)
      caf::anon_send_exit(notifier, caf::exit_reason::user_shutdown);
    notifier = nullptr;
    ctx->directory->clear();
  }

  std::unique_ptr<storage::event_store> open_store() {
    return storage::open_event_store(dir.options());
  }

  void start(model::service_config config = {}) {
    config.alert_retry_schedule = "1s";
    ctx = make_context(config);
    auto options = dir.options();
    notifier = spawn_notifier(sys, ctx, [options](const std::string& ns) {
      return storage::open_event_store(storage::namespace_options(options, ns));
    });
  }

  template <class T, class... Ts>
  T ask(Ts&&... xs) {
    T result{};
    self->request(notifier, 10s, std::forward<Ts>(xs)...)
        .receive([&](T& x) { result = std::move(x); },
                 [&](caf::error& err) { ADD_FAILURE() << sys.render(err); });
    return result;
  }

  template <class T, class... Ts>
  model::api_error refusal(Ts&&... xs) {
    model::api_error result;
    self->request(notifier, 10s, std::forward<Ts>(xs)...)
        .receive([&](T&) { ADD_FAILURE() << "expected a refusal"; },
                 [&](caf::error& err) { result = to_api_error(err); });
    return result;
  }

  model::notification_channel add_channel(const std::string& url) {
    return ask<model::notification_channel>(
        nchan_add_atom_v, model::trace_ref{},
        json{{"type", "WEBHOOK"}, {"name", "hooks"}, {"url", url}});
  }

  model::notification_rule add_rule(const std::string& channel_id, double threshold) {
    auto c = ask<model::notification_catalog>(
        nrule_add_atom_v, model::trace_ref{},
        json{{"type", "meter.usage.threshold"},
             {"name", "calls over " + std::to_string(int(threshold))},
             {"meter", "calls"},
             {"thresholds", json::array({json{{"value", threshold}}})},
             {"window", "TOTAL"},
             {"channels", json::array({channel_id})}});
    EXPECT_EQ(c.rules.size(), 1u);
    return c.rules.empty() ? model::notification_rule{} : c.rules.front();
  }

  void append_calls(const std::string& subject, int count, const std::string& prefix) {
    std::vector<model::event> events;
    for (int i = 0; i < count; ++i) {
      auto e =
          make_event(prefix + std::to_string(i), subject, "call", model::now_millis());
      events.push_back(e);
    }
    open_store()->append(events);
  }

  /// Waits (at most `limit`) until `done` holds.
  static bool eventually(const std::function<bool()>& done,
                         std::chrono::milliseconds limit = 10s) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      if (done())
        return true;
      std::this_thread::sleep_for(20ms);
    }
    return done();
  }

  static std::string header(const received_request& r, const std::string& name) {
    auto values = header_values(r.headers, name);
    return values.empty() ? std::string{} : values.front();
  }

  static void expect_signed(const received_request& r, const std::string& secret) {
    EXPECT_TRUE(model::verify_webhook_signature(
        secret, header(r, "webhook-id"), std::stoll(header(r, "webhook-timestamp")),
        r.body, header(r, "webhook-signature")))
        << r.body;
  }

  caf::actor_system_config cfg;
  caf::actor_system sys;
  caf::scoped_actor self;
  temp_dir dir;
  context_ptr ctx = make_context();
  notifier_actor notifier;
  local_receiver receiver;
};

TEST_F(notifier_test, a_crossing_after_a_commit_delivers_one_signed_event_per_subject) {
  start();
  auto channel = add_channel(receiver.url("/usage"));
  EXPECT_TRUE(channel.signing_secret.rfind("whsec_", 0) == 0);
  append_calls("alice", 2, "a");
  auto rule = add_rule(channel.id, 3);
  // Below the threshold: nothing.
  std::this_thread::sleep_for(1500ms);
  EXPECT_TRUE(receiver.requests().empty());
  // A commit that reaches it, told as ingest tells it.
  append_calls("alice", 2, "b");
  append_calls("bob", 1, "c");
  caf::anon_send(notifier, usage_atom_v, std::string{"default"},
                 std::vector<model::usage_touch>{{"call", "alice"}, {"call", "bob"}});
  ASSERT_TRUE(eventually([&] { return receiver.requests().size() >= 1; }));
  // More usage of the same subject and window: no second event.
  append_calls("alice", 3, "d");
  caf::anon_send(notifier, usage_atom_v, std::string{"default"},
                 std::vector<model::usage_touch>{{"call", "alice"}});
  std::this_thread::sleep_for(1500ms);
  auto requests = receiver.requests();
  ASSERT_EQ(requests.size(), 1u);
  const auto& r = requests.front();
  EXPECT_EQ(r.target, "/usage");
  expect_signed(r, channel.signing_secret);
  auto body = json::parse(r.body);
  EXPECT_EQ(body["type"], "meter.usage.threshold");
  EXPECT_EQ(body["id"], header(r, "webhook-id"));
  EXPECT_EQ(body["data"]["subject"], "alice");
  EXPECT_EQ(body["data"]["meter"], "calls");
  EXPECT_EQ(body["data"]["threshold"], 3);
  EXPECT_EQ(body["data"]["value"], 4);
  EXPECT_EQ(body["data"]["rule"]["id"], rule.id);
  EXPECT_TRUE(eventually([&] { return ctx->counters->notification_deliveries == 1; }));
  auto page = ask<model::notification_event_page>(nevent_list_atom_v, model::trace_ref{},
                                                  model::notification_event_filter{});
  ASSERT_EQ(page.total, 1u);
  ASSERT_EQ(page.events[0].deliveries.size(), 1u);
  EXPECT_EQ(page.events[0].deliveries[0].state, model::delivery_state::success);
  EXPECT_EQ(page.events[0].deliveries[0].attempts, 1);
  EXPECT_EQ(page.events[0].deliveries[0].last_status_code, 200);
  EXPECT_EQ(ctx->counters->notifications_created, 1u);
}

TEST_F(notifier_test, a_failed_attempt_is_retried_with_the_same_webhook_id) {
  start();
  receiver.script({500, "", "busy"});
  receiver.script({503, "", "busy"});
  auto channel = add_channel(receiver.url());
  append_calls("alice", 1, "a");
  add_rule(channel.id, 1);
  ASSERT_TRUE(eventually([&] { return receiver.requests().size() >= 3; }, 15s));
  auto requests = receiver.requests();
  for (const auto& r : requests) {
    EXPECT_EQ(header(r, "webhook-id"), header(requests.front(), "webhook-id"));
    expect_signed(r, channel.signing_secret);
    EXPECT_EQ(r.body, requests.front().body);
  }
  ASSERT_TRUE(eventually([&] { return ctx->counters->notification_deliveries == 1; }));
  EXPECT_EQ(ctx->counters->notification_failures, 2u);
  auto page = ask<model::notification_event_page>(nevent_get_atom_v, model::trace_ref{},
                                                  header(requests.front(), "webhook-id"));
  ASSERT_EQ(page.events.size(), 1u);
  EXPECT_EQ(page.events[0].deliveries[0].attempts, 3);
  EXPECT_EQ(page.events[0].deliveries[0].state, model::delivery_state::success);
}

TEST_F(notifier_test, a_start_attempts_what_the_process_before_had_claimed) {
  // A delivery leased by a process that died during its attempt.
  auto now = model::now_millis();
  model::notification_channel c;
  c.id = "01CHANNEL";
  c.name = "hooks";
  c.url = receiver.url();
  c.signing_secret = model::new_webhook_secret();
  model::notification_rule rule;
  rule.id = "01RULE";
  rule.name = "r";
  rule.meter_slug = "calls";
  rule.thresholds = {1000};
  rule.window = model::threshold_window::total;
  rule.channel_ids = {c.id};
  auto e = model::new_notification_event(rule, "alice", {model::earliest_timestamp, {}},
                                         1000, 1000, {c.id}, now - 5'000);
  {
    auto store = open_store();
    store->put_notification_channel(c);
    ASSERT_TRUE(store->add_notification_event(
        e, model::event_key(rule.id, "alice", model::earliest_timestamp, 1000)));
    ASSERT_EQ(store->claim_due_notifications(now, now + 20'000, 10).size(), 1u);
  }
  start();
  ASSERT_TRUE(eventually([&] { return receiver.requests().size() == 1; }, 5s));
  EXPECT_EQ(header(receiver.requests().front(), "webhook-id"), e.id);
}

TEST_F(notifier_test, a_channel_failing_too_often_is_disabled) {
  model::service_config config;
  config.alert_channel_failure_limit = 2;
  start(config);
  for (int i = 0; i < 10; ++i)
    receiver.script({500, "", "down"});
  auto channel = add_channel(receiver.url());
  append_calls("alice", 1, "a");
  add_rule(channel.id, 1);
  ASSERT_TRUE(eventually(
      [&] { return ctx->counters->notification_channels_disabled == 1; }, 15s));
  auto now =
      ask<model::notification_channel>(nchan_get_atom_v, model::trace_ref{}, channel.id);
  EXPECT_TRUE(now.disabled);
  // Its pending delivery is given up, not tried again.
  ASSERT_TRUE(eventually([&] { return ctx->counters->notifications_given_up == 1; }, 5s));
  EXPECT_EQ(receiver.requests().size(), 2u);
}

TEST_F(notifier_test, refuses_what_does_not_exist_or_is_in_use) {
  start();
  auto unknown_meter = refusal<model::notification_catalog>(
      nrule_add_atom_v, model::trace_ref{},
      json{{"type", "meter.usage.threshold"},
           {"name", "r"},
           {"meter", "nope"},
           {"thresholds", json::array({json{{"value", 1}}})},
           {"window", "DAY"},
           {"channels", json::array({"01UNKNOWN"})}});
  EXPECT_EQ(unknown_meter.code, model::error_code::validation);
  EXPECT_NE(unknown_meter.message.find("nope"), std::string::npos)
      << unknown_meter.message;
  EXPECT_NE(unknown_meter.message.find("01UNKNOWN"), std::string::npos);
  auto channel = add_channel(receiver.url());
  add_rule(channel.id, 5);
  auto in_use = refusal<bool>(nchan_del_atom_v, model::trace_ref{}, channel.id);
  EXPECT_EQ(in_use.code, model::error_code::validation);
  auto missing = refusal<model::notification_channel>(
      nchan_get_atom_v, model::trace_ref{}, std::string{"01NOPE"});
  EXPECT_EQ(missing.code, model::error_code::not_found);
  auto no_event = refusal<bool>(nresend_atom_v, model::trace_ref{}, std::string{"01NOPE"},
                                std::vector<std::string>{});
  EXPECT_EQ(no_event.code, model::error_code::not_found);
}

} // namespace
