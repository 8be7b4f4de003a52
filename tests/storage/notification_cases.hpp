#pragma once

// Usage-alert storage cases every backend must pass, written once: a fixture
// provides `open()` (a new handle on the same store: on the embedded backends
// a second connection to the same data dir, on PostgreSQL one to the same
// database), and `UM_NOTIFICATION_STORE_TESTS(fixture)` defines the tests for
// it. Channels, rules and events (with their deliveries) are compared field
// by field, so a store that loses a field fails here and not only in the
// model's round trips.

#include "model/notifications.hpp"
#include "storage/event_store.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace um::testing::notifications {

using model::millis;
using storage::event_store;

/// 2026-01-01T00:00:00Z: the times of these cases build around it.
constexpr millis t0 = 1'767'225'600'000;

/// A channel with every field set (custom headers too).
inline model::notification_channel channel(std::string id, std::string name = "hook") {
  model::notification_channel c;
  c.id = std::move(id);
  c.name = std::move(name);
  c.url = "https://example.com/hooks/" + c.id + "?q=1";
  c.custom_headers = {{"Authorization", "Bearer xyz"}, {"X-Tenant", "t-1"}};
  c.signing_secret = "whsec_S6g2HLnTwd9AhHwUIMFggVS9OfoPafN8";
  c.disabled = false;
  c.created_at = t0 + 1;
  c.updated_at = t0 + 2;
  return c;
}

/// A rule with every optional field set.
inline model::notification_rule rule(std::string id, std::string name = "over plan") {
  model::notification_rule r;
  r.id = std::move(id);
  r.name = std::move(name);
  r.meter_slug = "api_calls";
  r.thresholds = {0.5, 800, 1000.25};
  r.window = model::threshold_window::day;
  r.window_time_zone = "Europe/Berlin";
  r.subjects = {"customer-2", "customer-1"};
  r.group_by_filters = {{"region", "eu"}, {"tier", "gold"}};
  r.channel_ids = {"01CH-B", "01CH-A"};
  r.disabled = true;
  r.created_at = t0 + 3;
  r.updated_at = t0 + 4;
  return r;
}

/// A pending delivery to `channel_id`, due at `due` (none: nothing planned).
inline model::notification_delivery pending(std::string channel_id,
                                            std::optional<millis> due) {
  model::notification_delivery d;
  d.channel_id = std::move(channel_id);
  d.state = model::delivery_state::pending;
  d.next_attempt_at = due;
  d.updated_at = t0;
  return d;
}

/// An event of `rule_id` for `subject`, created at `created_at`, with a
/// pending delivery due at `due` to each of `channels`.
inline model::notification_event alert(std::string id, std::string rule_id,
                                       std::string subject, millis created_at,
                                       std::vector<std::string> channels,
                                       std::optional<millis> due) {
  model::notification_event e;
  e.id = std::move(id);
  e.rule_id = std::move(rule_id);
  e.rule_name = "rule " + e.rule_id;
  e.meter_slug = "api_calls";
  e.subject = std::move(subject);
  e.window = {t0 - 86'400'000, t0 + 86'400'000};
  e.threshold = 1000;
  e.value = 1000.5;
  e.created_at = created_at;
  for (auto& c : channels)
    e.deliveries.push_back(pending(std::move(c), due));
  return e;
}

/// The key `e` is stored under (as the evaluator makes it).
inline std::string key_of(const model::notification_event& e) {
  return model::event_key(e.rule_id, e.subject, e.window.from, e.threshold);
}

inline void expect_same(const model::notification_channel& a,
                        const model::notification_channel& b) {
  SCOPED_TRACE("channel " + b.id);
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.url, b.url);
  EXPECT_EQ(a.custom_headers, b.custom_headers);
  EXPECT_EQ(a.signing_secret, b.signing_secret);
  EXPECT_EQ(a.disabled, b.disabled);
  EXPECT_EQ(a.created_at, b.created_at);
  EXPECT_EQ(a.updated_at, b.updated_at);
}

inline void expect_same(const model::notification_rule& a,
                        const model::notification_rule& b) {
  SCOPED_TRACE("rule " + b.id);
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.meter_slug, b.meter_slug);
  EXPECT_EQ(a.thresholds, b.thresholds);
  EXPECT_EQ(a.window, b.window);
  EXPECT_EQ(a.window_time_zone, b.window_time_zone);
  EXPECT_EQ(a.subjects, b.subjects);
  EXPECT_EQ(a.group_by_filters, b.group_by_filters);
  EXPECT_EQ(a.channel_ids, b.channel_ids);
  EXPECT_EQ(a.disabled, b.disabled);
  EXPECT_EQ(a.created_at, b.created_at);
  EXPECT_EQ(a.updated_at, b.updated_at);
}

inline void expect_same(const model::notification_delivery& a,
                        const model::notification_delivery& b) {
  SCOPED_TRACE("delivery to " + b.channel_id);
  EXPECT_EQ(a.channel_id, b.channel_id);
  EXPECT_EQ(a.state, b.state);
  EXPECT_EQ(a.attempts, b.attempts);
  EXPECT_EQ(a.last_status_code, b.last_status_code);
  EXPECT_EQ(a.last_error, b.last_error);
  EXPECT_EQ(a.next_attempt_at, b.next_attempt_at);
  EXPECT_EQ(a.last_attempt_at, b.last_attempt_at);
  EXPECT_EQ(a.last_duration_ms, b.last_duration_ms);
  EXPECT_EQ(a.updated_at, b.updated_at);
}

inline void expect_same(const model::notification_event& a,
                        const model::notification_event& b) {
  SCOPED_TRACE("event " + b.id);
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
    expect_same(a.deliveries[i], b.deliveries[i]);
}

template <class T>
std::vector<std::string> ids_of(const std::vector<T>& items) {
  std::vector<std::string> out;
  for (const auto& i : items)
    out.push_back(i.id);
  return out;
}

/// The ids of the events `filter` lists, and the total it reports.
inline std::pair<std::vector<std::string>, std::size_t>
listed(event_store& store, const model::notification_event_filter& filter) {
  auto page = store.notification_events(filter);
  return {ids_of(page.first), page.second};
}

/// Channels and rules: stored, replaced by id, deleted, listed by id.
template <class Fixture>
void channels_and_rules(Fixture& f) {
  auto store = f.open();
  EXPECT_TRUE(store->notification_channels().empty());
  EXPECT_TRUE(store->notification_rules().empty());

  auto b = channel("01CH-B", "second");
  auto a = channel("01CH-A", "first");
  auto plain = channel("01CH-C", "no headers");
  plain.custom_headers.clear();
  plain.disabled = true;
  store->put_notification_channel(b);
  store->put_notification_channel(a);
  store->put_notification_channel(plain);
  auto channels = store->notification_channels();
  ASSERT_EQ(ids_of(channels), (std::vector<std::string>{"01CH-A", "01CH-B", "01CH-C"}));
  expect_same(channels[0], a);
  expect_same(channels[1], b);
  expect_same(channels[2], plain);

  // Put replaces the channel with its id.
  b.name = "renamed";
  b.url = "http://other.example/x";
  b.custom_headers = {{"X-Only", "one"}};
  b.signing_secret = "whsec_c2Vjb25kIHNlY3JldCBmb3IgdGVzdHM=";
  b.disabled = true;
  b.updated_at = t0 + 100;
  store->put_notification_channel(b);
  channels = store->notification_channels();
  ASSERT_EQ(channels.size(), 3u);
  expect_same(channels[1], b);

  EXPECT_TRUE(store->delete_notification_channel("01CH-A"));
  EXPECT_FALSE(store->delete_notification_channel("01CH-A"));
  EXPECT_FALSE(store->delete_notification_channel("01CH-NONE"));
  EXPECT_EQ(ids_of(store->notification_channels()),
            (std::vector<std::string>{"01CH-B", "01CH-C"}));

  auto r2 = rule("01RU-2", "two");
  auto r1 = rule("01RU-1", "one");
  // The fewest fields a rule has: no subjects, filters, month, UTC.
  auto bare = rule("01RU-3", "bare");
  bare.thresholds = {1};
  bare.window = model::threshold_window::total;
  bare.window_time_zone = "UTC";
  bare.subjects.clear();
  bare.group_by_filters.clear();
  bare.channel_ids = {"01CH-B"};
  bare.disabled = false;
  store->put_notification_rule(r2);
  store->put_notification_rule(r1);
  store->put_notification_rule(bare);
  auto rules = store->notification_rules();
  ASSERT_EQ(ids_of(rules), (std::vector<std::string>{"01RU-1", "01RU-2", "01RU-3"}));
  expect_same(rules[0], r1);
  expect_same(rules[1], r2);
  expect_same(rules[2], bare);

  r1.thresholds = {5};
  r1.window = model::threshold_window::month;
  r1.subjects = {"only-one"};
  r1.group_by_filters.clear();
  r1.channel_ids = {"01CH-C"};
  r1.disabled = false;
  r1.updated_at = t0 + 200;
  store->put_notification_rule(r1);
  rules = store->notification_rules();
  ASSERT_EQ(rules.size(), 3u);
  expect_same(rules[0], r1);

  EXPECT_TRUE(store->delete_notification_rule("01RU-2"));
  EXPECT_FALSE(store->delete_notification_rule("01RU-2"));
  EXPECT_EQ(ids_of(store->notification_rules()),
            (std::vector<std::string>{"01RU-1", "01RU-3"}));
  // Channels and rules are apart: deleting one kind leaves the other.
  EXPECT_EQ(store->notification_channels().size(), 2u);
}

/// One event per key: a second add with the same key (another id, other
/// values) answers false and changes nothing; find answers the stored event.
template <class Fixture>
void events_once_per_key(Fixture& f) {
  auto store = f.open();
  auto e = alert("01EV-1", "01RU-1", "customer-1", t0, {"01CH-A", "01CH-B"}, t0);
  // Every delivery field set, to see them all read back.
  e.deliveries[1].state = model::delivery_state::failed;
  e.deliveries[1].attempts = 7;
  e.deliveries[1].last_status_code = 503;
  e.deliveries[1].last_error = "HTTP 503";
  e.deliveries[1].next_attempt_at.reset();
  e.deliveries[1].last_attempt_at = t0 - 5;
  e.deliveries[1].last_duration_ms = 1234;
  e.deliveries[1].updated_at = t0 + 9;
  EXPECT_TRUE(store->add_notification_event(e, key_of(e)));

  auto twin = alert("01EV-2", "01RU-1", "customer-1", t0 + 50, {"01CH-C"}, t0 + 50);
  twin.value = 2000;
  ASSERT_EQ(key_of(twin), key_of(e));
  EXPECT_FALSE(store->add_notification_event(twin, key_of(twin)));
  EXPECT_FALSE(store->find_notification_event("01EV-2"));
  auto found = store->find_notification_event("01EV-1");
  ASSERT_TRUE(found);
  expect_same(*found, e);
  EXPECT_EQ(listed(*store, {}),
            (std::pair<std::vector<std::string>, std::size_t>{{"01EV-1"}, 1}));

  // Another threshold, subject or window is another key.
  auto next = e;
  next.id = "01EV-3";
  next.threshold = 2000;
  EXPECT_TRUE(store->add_notification_event(next, key_of(next)));
  next.id = "01EV-4";
  next.subject = "customer-2";
  EXPECT_TRUE(store->add_notification_event(next, key_of(next)));
  next.id = "01EV-5";
  next.window = {t0, t0 + 86'400'000};
  EXPECT_TRUE(store->add_notification_event(next, key_of(next)));
  // ... and the total window (no end) is stored as such.
  next.id = "01EV-6";
  next.window = {model::earliest_timestamp, std::nullopt};
  EXPECT_TRUE(store->add_notification_event(next, key_of(next)));
  found = store->find_notification_event("01EV-6");
  ASSERT_TRUE(found);
  expect_same(*found, next);
  EXPECT_FALSE(store->find_notification_event("01EV-NONE"));
  EXPECT_EQ(store->notification_events({}).second, 5u);
}

/// Listing: newest first by (created_at, id), every filter, pages and the
/// total that passes.
template <class Fixture>
void events_listing(Fixture& f) {
  auto store = f.open();
  // created_at, rule, subject, channels; two share a time (then by id).
  std::vector<model::notification_event> events = {
      alert("01EV-01", "r1", "alice", t0 + 1000, {"c1"}, std::nullopt),
      alert("01EV-02", "r1", "bob", t0 + 2000, {"c1", "c2"}, std::nullopt),
      alert("01EV-03", "r2", "alice", t0 + 3000, {"c2"}, std::nullopt),
      alert("01EV-04", "r2", "carol", t0 + 3000, {"c3"}, std::nullopt),
      alert("01EV-05", "r3", "bob", t0 + 4000, {}, std::nullopt),
      alert("01EV-06", "r1", "carol", t0 + 5000, {"c1", "c3"}, std::nullopt),
  };
  // Stored out of order: the order is the store's.
  for (std::size_t i : {3u, 0u, 5u, 1u, 4u, 2u}) {
    auto& e = events[i];
    e.threshold = static_cast<double>(i + 1); // a key of its own
    ASSERT_TRUE(store->add_notification_event(e, key_of(e)));
  }
  using ids = std::vector<std::string>;
  using answer = std::pair<ids, std::size_t>;
  model::notification_event_filter all;
  EXPECT_EQ(
      listed(*store, all),
      (answer{{"01EV-06", "01EV-05", "01EV-04", "01EV-03", "01EV-02", "01EV-01"}, 6}));
  auto page = store->notification_events(all);
  ASSERT_EQ(page.first.size(), 6u);
  expect_same(page.first[0], events[5]);
  expect_same(page.first[4], events[1]);

  // Times: both ends included.
  auto f_time = all;
  f_time.from = t0 + 2000;
  f_time.to = t0 + 3000;
  EXPECT_EQ(listed(*store, f_time), (answer{{"01EV-04", "01EV-03", "01EV-02"}, 3}));
  f_time.from = t0 + 5001;
  f_time.to = model::latest_timestamp;
  EXPECT_EQ(listed(*store, f_time), (answer{{}, 0}));

  auto f_subject = all;
  f_subject.subjects = {"alice", "carol"};
  EXPECT_EQ(listed(*store, f_subject),
            (answer{{"01EV-06", "01EV-04", "01EV-03", "01EV-01"}, 4}));
  auto f_rule = all;
  f_rule.rule_ids = {"r2", "r3"};
  EXPECT_EQ(listed(*store, f_rule), (answer{{"01EV-05", "01EV-04", "01EV-03"}, 3}));
  auto f_channel = all;
  f_channel.channel_ids = {"c3", "nope"};
  EXPECT_EQ(listed(*store, f_channel), (answer{{"01EV-06", "01EV-04"}, 2}));
  f_channel.channel_ids = {"c2"};
  EXPECT_EQ(listed(*store, f_channel), (answer{{"01EV-03", "01EV-02"}, 2}));

  // All the filters at once.
  auto every = all;
  every.from = t0 + 1000;
  every.to = t0 + 4500;
  every.subjects = {"alice", "bob"};
  every.rule_ids = {"r1", "r2"};
  every.channel_ids = {"c1", "c2"};
  EXPECT_EQ(listed(*store, every), (answer{{"01EV-03", "01EV-02", "01EV-01"}, 3}));

  // Pages: the total counts every match, not the page.
  auto paged = all;
  paged.limit = 2;
  EXPECT_EQ(listed(*store, paged), (answer{{"01EV-06", "01EV-05"}, 6}));
  paged.offset = 2;
  EXPECT_EQ(listed(*store, paged), (answer{{"01EV-04", "01EV-03"}, 6}));
  paged.offset = 5;
  EXPECT_EQ(listed(*store, paged), (answer{{"01EV-01"}, 6}));
  paged.offset = 6;
  EXPECT_EQ(listed(*store, paged), (answer{{}, 6}));
  paged.offset = 1;
  paged.limit = 2;
  paged.subjects = {"bob", "carol"};
  EXPECT_EQ(listed(*store, paged), (answer{{"01EV-05", "01EV-04"}, 4}));
}

/// Claims: only due deliveries, oldest due first (by `next_due`, then id),
/// at most `max` events, leased so that a second claim before the lease ends
/// gets nothing; after it they are due again.
template <class Fixture>
void claims_and_leases(Fixture& f) {
  auto store = f.open();
  // Due at t0 + 30, + 10, + 20; one due later; one with nothing planned.
  auto c = alert("01EV-C", "r", "s3", t0, {"ch1"}, t0 + 30);
  auto a = alert("01EV-A", "r", "s1", t0, {"ch1", "ch2"}, t0 + 10);
  auto b = alert("01EV-B", "r", "s2", t0, {"ch1"}, t0 + 20);
  auto later = alert("01EV-L", "r", "s4", t0, {"ch1"}, t0 + 10'000);
  auto none = alert("01EV-N", "r", "s5", t0, {"ch1"}, std::nullopt);
  // Only PENDING deliveries are due, whatever their next_attempt_at says.
  auto done = alert("01EV-D", "r", "s6", t0, {"ch1", "ch2", "ch3"}, t0);
  done.deliveries[0].state = model::delivery_state::success;
  done.deliveries[1].state = model::delivery_state::failed;
  done.deliveries[2].state = model::delivery_state::sending;
  // Of event A only ch1 is due: ch2 waits for later.
  a.deliveries[1].next_attempt_at = t0 + 5000;
  for (auto* e : {&c, &a, &b, &later, &none, &done})
    ASSERT_TRUE(store->add_notification_event(*e, key_of(*e)));

  const millis now = t0 + 100;
  const millis lease = now + 60'000;
  EXPECT_TRUE(store->claim_due_notifications(t0 + 5, t0 + 5 + 60'000, 10).empty());

  auto first = store->claim_due_notifications(now, lease, 2);
  ASSERT_EQ(ids_of(first), (std::vector<std::string>{"01EV-A", "01EV-B"}));
  // Answered as they were before the lease.
  expect_same(first[0], a);
  expect_same(first[1], b);
  // The store holds the lease on the due delivery only.
  auto stored = store->find_notification_event("01EV-A");
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->deliveries[0].next_attempt_at, lease);
  EXPECT_EQ(stored->deliveries[1].next_attempt_at, t0 + 5000);
  EXPECT_EQ(stored->deliveries[0].state, model::delivery_state::pending);
  EXPECT_EQ(model::next_due(*stored), t0 + 5000);

  // The rest of what is due, and then nothing.
  auto second = store->claim_due_notifications(now, lease, 10);
  ASSERT_EQ(ids_of(second), (std::vector<std::string>{"01EV-C"}));
  expect_same(second[0], c);
  EXPECT_TRUE(store->claim_due_notifications(now, lease, 10).empty());
  EXPECT_TRUE(store->claim_due_notifications(now + 1000, lease, 10).empty());
  EXPECT_TRUE(store->claim_due_notifications(now, lease, 0).empty());

  // A's ch2 comes due before the leases end, and is leased alone.
  auto ch2 = store->claim_due_notifications(t0 + 5000, t0 + 5000 + 60'000, 10);
  ASSERT_EQ(ids_of(ch2), (std::vector<std::string>{"01EV-A"}));
  EXPECT_EQ(ch2[0].deliveries[1].next_attempt_at, t0 + 5000);
  EXPECT_EQ(ch2[0].deliveries[0].next_attempt_at, lease);

  // When the first lease ends, what it took is due again: after "later"
  // (due earlier), ties by id; of A its ch1 only (ch2 is leased longer).
  auto again = store->claim_due_notifications(lease, lease + 60'000, 10);
  ASSERT_EQ(ids_of(again),
            (std::vector<std::string>{"01EV-L", "01EV-A", "01EV-B", "01EV-C"}));
  EXPECT_EQ(again[0].deliveries[0].next_attempt_at, t0 + 10'000);
  EXPECT_EQ(again[1].deliveries[0].next_attempt_at, lease);
  stored = store->find_notification_event("01EV-A");
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->deliveries[0].next_attempt_at, lease + 60'000);
  EXPECT_EQ(stored->deliveries[1].next_attempt_at, t0 + 5000 + 60'000);
  // Nothing planned and no longer pending: never claimed.
  auto last = store->claim_due_notifications(model::latest_timestamp - 1,
                                             model::latest_timestamp, 10);
  EXPECT_EQ(ids_of(last),
            (std::vector<std::string>{"01EV-A", "01EV-B", "01EV-C", "01EV-L"}));
}

/// Deliveries updated by the sender; `next_due` follows the update: a
/// delivery that succeeded or failed for good is never claimed again, one
/// retried later comes due then.
template <class Fixture>
void delivery_updates(Fixture& f) {
  auto store = f.open();
  auto e = alert("01EV-U", "r", "s", t0, {"ch1", "ch2"}, t0);
  ASSERT_TRUE(store->add_notification_event(e, key_of(e)));
  const millis lease = t0 + 60'000;
  ASSERT_EQ(store->claim_due_notifications(t0, lease, 10).size(), 1u);

  auto ok = e.deliveries[0];
  ok.state = model::delivery_state::success;
  ok.attempts = 1;
  ok.last_status_code = 204;
  ok.last_error.clear();
  ok.next_attempt_at.reset();
  ok.last_attempt_at = t0 + 1;
  ok.last_duration_ms = 42;
  ok.updated_at = t0 + 43;
  store->update_notification_delivery("01EV-U", ok);

  auto retry = e.deliveries[1];
  retry.state = model::delivery_state::pending;
  retry.attempts = 1;
  retry.last_status_code = 500;
  retry.last_error = "HTTP 500";
  retry.next_attempt_at = t0 + 5000;
  retry.last_attempt_at = t0 + 2;
  retry.last_duration_ms = 17;
  retry.updated_at = t0 + 19;
  store->update_notification_delivery("01EV-U", retry);

  auto stored = store->find_notification_event("01EV-U");
  ASSERT_TRUE(stored);
  ASSERT_EQ(stored->deliveries.size(), 2u);
  expect_same(stored->deliveries[0], ok);
  expect_same(stored->deliveries[1], retry);
  EXPECT_EQ(model::next_due(*stored), t0 + 5000);

  // Due at the retry's time, not the lease's.
  EXPECT_TRUE(store->claim_due_notifications(t0 + 4999, t0 + 70'000, 10).empty());
  auto claimed = store->claim_due_notifications(t0 + 5000, t0 + 70'000, 10);
  ASSERT_EQ(claimed.size(), 1u);
  expect_same(claimed[0].deliveries[1], retry);

  // Failed for good: nothing of the event is ever due again.
  auto failed = retry;
  failed.state = model::delivery_state::failed;
  failed.attempts = 2;
  failed.next_attempt_at.reset();
  failed.updated_at = t0 + 6000;
  store->update_notification_delivery("01EV-U", failed);
  EXPECT_TRUE(
      store->claim_due_notifications(model::latest_timestamp, model::latest_timestamp, 10)
          .empty());
  stored = store->find_notification_event("01EV-U");
  ASSERT_TRUE(stored);
  EXPECT_FALSE(model::next_due(*stored));
  expect_same(stored->deliveries[0], ok);
  expect_same(stored->deliveries[1], failed);

  // A resend makes a delivery pending again.
  auto resend = failed;
  resend.state = model::delivery_state::pending;
  resend.next_attempt_at = t0 + 7000;
  store->update_notification_delivery("01EV-U", resend);
  auto resent = store->claim_due_notifications(t0 + 7000, t0 + 80'000, 10);
  ASSERT_EQ(ids_of(resent), (std::vector<std::string>{"01EV-U"}));

  // No-ops: an unknown event, an unknown channel.
  store->update_notification_delivery("01EV-NONE", ok);
  auto stranger = ok;
  stranger.channel_id = "ch-none";
  store->update_notification_delivery("01EV-U", stranger);
  stored = store->find_notification_event("01EV-U");
  ASSERT_TRUE(stored);
  EXPECT_EQ(ids_of(store->notification_events({}).first),
            (std::vector<std::string>{"01EV-U"}));
  ASSERT_EQ(stored->deliveries.size(), 2u);
  EXPECT_EQ(stored->deliveries[0].channel_id, "ch1");
  EXPECT_EQ(stored->deliveries[1].channel_id, "ch2");
  EXPECT_EQ(stored->deliveries[1].next_attempt_at, t0 + 80'000);
}

/// The delivery queue's depth: the events with a delivery planned, leased
/// ones included; an event leaves it once every delivery succeeded or failed
/// for good, and comes back with a resend.
template <class Fixture>
void pending_events_count(Fixture& f) {
  auto store = f.open();
  EXPECT_EQ(store->pending_notification_events(), 0u);

  auto a = alert("01EV-A", "r", "s1", t0, {"ch1", "ch2"}, t0 + 10);
  auto b = alert("01EV-B", "r", "s2", t0, {"ch1"}, t0 + 20);
  auto later = alert("01EV-L", "r", "s3", t0, {"ch1"}, t0 + 10'000);
  // No deliveries; pending with nothing planned; only done or in flight.
  auto empty = alert("01EV-E", "r", "s4", t0, {}, std::nullopt);
  auto unplanned = alert("01EV-N", "r", "s5", t0, {"ch1"}, std::nullopt);
  auto done = alert("01EV-D", "r", "s6", t0, {"ch1", "ch2", "ch3"}, t0);
  done.deliveries[0].state = model::delivery_state::success;
  done.deliveries[1].state = model::delivery_state::failed;
  done.deliveries[2].state = model::delivery_state::sending;
  for (auto* e : {&a, &b, &later, &empty, &unplanned, &done})
    ASSERT_TRUE(store->add_notification_event(*e, key_of(*e)));
  EXPECT_EQ(store->pending_notification_events(), 3u);
  // A second handle counts the same.
  EXPECT_EQ(f.open()->pending_notification_events(), 3u);

  // Claimed (leased) events are still queued.
  const millis lease = t0 + 60'000;
  ASSERT_EQ(ids_of(store->claim_due_notifications(t0 + 100, lease, 10)),
            (std::vector<std::string>{"01EV-A", "01EV-B"}));
  EXPECT_EQ(store->pending_notification_events(), 3u);

  // A leaves once both its deliveries are done: one succeeded, one failed.
  auto ok = a.deliveries[0];
  ok.state = model::delivery_state::success;
  ok.attempts = 1;
  ok.next_attempt_at.reset();
  store->update_notification_delivery("01EV-A", ok);
  EXPECT_EQ(store->pending_notification_events(), 3u);
  auto failed = a.deliveries[1];
  failed.state = model::delivery_state::failed;
  failed.attempts = 8;
  failed.next_attempt_at.reset();
  store->update_notification_delivery("01EV-A", failed);
  EXPECT_EQ(store->pending_notification_events(), 2u);

  // A retry planned later keeps B queued; giving up takes it out.
  auto retry = b.deliveries[0];
  retry.attempts = 1;
  retry.next_attempt_at = t0 + 5000;
  store->update_notification_delivery("01EV-B", retry);
  EXPECT_EQ(store->pending_notification_events(), 2u);
  retry.state = model::delivery_state::failed;
  retry.next_attempt_at.reset();
  store->update_notification_delivery("01EV-B", retry);
  EXPECT_EQ(store->pending_notification_events(), 1u);

  // A resend queues A again.
  failed.state = model::delivery_state::pending;
  failed.next_attempt_at = t0 + 7000;
  store->update_notification_delivery("01EV-A", failed);
  EXPECT_EQ(store->pending_notification_events(), 2u);
  EXPECT_EQ(f.open()->pending_notification_events(), 2u);
}

/// Everything survives closing and reopening the store.
template <class Fixture>
void survives_reopening(Fixture& f) {
  auto ch = channel("01CH-A");
  auto ru = rule("01RU-1");
  auto e = alert("01EV-1", "01RU-1", "s", t0, {"01CH-A"}, t0 + 10);
  auto done = alert("01EV-2", "01RU-1", "s", t0 + 1, {"01CH-A"}, std::nullopt);
  done.threshold = 2000;
  done.deliveries[0].state = model::delivery_state::success;
  {
    auto store = f.open();
    store->put_notification_channel(ch);
    store->put_notification_rule(ru);
    ASSERT_TRUE(store->add_notification_event(e, key_of(e)));
    ASSERT_TRUE(store->add_notification_event(done, key_of(done)));
  }
  // The handle that claims stays open: on a shared store (PostgreSQL) the
  // claim of a handle that is gone is taken back at once.
  decltype(f.open()) claimer;
  {
    auto store = f.open();
    auto channels = store->notification_channels();
    ASSERT_EQ(channels.size(), 1u);
    expect_same(channels[0], ch);
    auto rules = store->notification_rules();
    ASSERT_EQ(rules.size(), 1u);
    expect_same(rules[0], ru);
    auto page = store->notification_events({});
    ASSERT_EQ(page.second, 2u);
    expect_same(page.first[0], done);
    expect_same(page.first[1], e);
    // The key and the due time survive as well.
    auto twin = e;
    twin.id = "01EV-3";
    EXPECT_FALSE(store->add_notification_event(twin, key_of(twin)));
    auto claimed = store->claim_due_notifications(t0 + 10, t0 + 1000, 10);
    ASSERT_EQ(ids_of(claimed), (std::vector<std::string>{"01EV-1"}));
    claimer = std::move(store);
  }
  auto store = f.open();
  // ... and so does the lease.
  EXPECT_TRUE(store->claim_due_notifications(t0 + 999, t0 + 2000, 10).empty());
  EXPECT_EQ(ids_of(store->claim_due_notifications(t0 + 1000, t0 + 2000, 10)),
            (std::vector<std::string>{"01EV-1"}));
}

/// Two handles on the same data (the writer's and the reader's connection,
/// or two instances on one database) see each other's writes, and what one
/// claims the other does not.
template <class Fixture>
void two_handles(Fixture& f) {
  auto writer = f.open();
  auto reader = f.open();
  writer->put_notification_channel(channel("01CH-A"));
  reader->put_notification_rule(rule("01RU-1"));
  EXPECT_EQ(ids_of(reader->notification_channels()),
            (std::vector<std::string>{"01CH-A"}));
  EXPECT_EQ(ids_of(writer->notification_rules()), (std::vector<std::string>{"01RU-1"}));

  auto e = alert("01EV-1", "01RU-1", "s", t0, {"01CH-A"}, t0);
  ASSERT_TRUE(writer->add_notification_event(e, key_of(e)));
  auto twin = e;
  twin.id = "01EV-2";
  EXPECT_FALSE(reader->add_notification_event(twin, key_of(twin)));
  auto seen = reader->find_notification_event("01EV-1");
  ASSERT_TRUE(seen);
  expect_same(*seen, e);

  ASSERT_EQ(reader->claim_due_notifications(t0, t0 + 1000, 10).size(), 1u);
  EXPECT_TRUE(writer->claim_due_notifications(t0, t0 + 1000, 10).empty());
  auto ok = e.deliveries[0];
  ok.state = model::delivery_state::success;
  ok.next_attempt_at.reset();
  reader->update_notification_delivery("01EV-1", ok);
  seen = writer->find_notification_event("01EV-1");
  ASSERT_TRUE(seen);
  EXPECT_EQ(seen->deliveries[0].state, model::delivery_state::success);
  EXPECT_TRUE(writer->claim_due_notifications(t0 + 1000, t0 + 2000, 10).empty());

  EXPECT_TRUE(reader->delete_notification_channel("01CH-A"));
  EXPECT_TRUE(writer->notification_channels().empty());
  EXPECT_FALSE(writer->delete_notification_channel("01CH-A"));
}

} // namespace um::testing::notifications

// clang-format off
/// Defines the usage-alert storage tests for `fixture`, a gtest fixture with
/// `std::unique_ptr<storage::event_store> open() const`.
#define UM_NOTIFICATION_STORE_TESTS(fixture)                                             \
  TEST_F(fixture, notification_channels_and_rules) {                                     \
    um::testing::notifications::channels_and_rules(*this);                               \
  }                                                                                      \
  TEST_F(fixture, notification_events_once_per_key) {                                    \
    um::testing::notifications::events_once_per_key(*this);                              \
  }                                                                                      \
  TEST_F(fixture, notification_events_listing) {                                         \
    um::testing::notifications::events_listing(*this);                                   \
  }                                                                                      \
  TEST_F(fixture, notification_claims_and_leases) {                                      \
    um::testing::notifications::claims_and_leases(*this);                                \
  }                                                                                      \
  TEST_F(fixture, notification_delivery_updates) {                                       \
    um::testing::notifications::delivery_updates(*this);                                 \
  }                                                                                      \
  TEST_F(fixture, notification_pending_events_count) {                                   \
    um::testing::notifications::pending_events_count(*this);                             \
  }                                                                                      \
  TEST_F(fixture, notification_storage_survives_reopening) {                             \
    um::testing::notifications::survives_reopening(*this);                               \
  }                                                                                      \
  TEST_F(fixture, notification_writes_seen_by_a_second_handle) {                         \
    um::testing::notifications::two_handles(*this);                                      \
  }
// clang-format on
