#pragma once

// Corrections cases every backend must pass, written once: a fixture provides
// `open()` (a new handle on the same store), and `UM_REVISION_STORE_TESTS(fixture)`
// defines the tests for it. After events are voided and corrected, every
// answer is compared with a recount from the events that still count: v1
// summary, history and stats by `brute_force` (tests/storage/store_fixture.hpp),
// each meter's cells of all seven aggregations by `expect_cells`
// (tests/storage/meter_cases.hpp).

#include "model/event_revision.hpp"
#include "model/meter_query.hpp"
#include "storage/event_store.hpp"
#include "tests/storage/meter_cases.hpp"
#include "tests/storage/store_fixture.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace um::testing::revisions {

using metering::t0;
using model::millis;
using storage::event_store;

/// A void of (source, id) by `who`.
inline model::event_change void_of(const model::event& e, millis at,
                                   std::string who = "key:test") {
  model::event_change c;
  c.source = e.source;
  c.id = e.id;
  c.at = at;
  c.by = std::move(who);
  c.trace_id = "trace-void-" + e.id;
  return c;
}

/// A correction of `e` to `replacement` (its source and id are e's).
inline model::event_change correction_of(const model::event& e, model::event replacement,
                                         millis at) {
  auto c = void_of(e, at);
  c.trace_id = "trace-fix-" + e.id;
  replacement.source = e.source;
  replacement.id = e.id;
  c.replacement = std::move(replacement);
  return c;
}

/// Expects every v1 answer and every meter's cells of `store` to be those of
/// a store holding exactly `live`, in this order.
inline void expect_answers(event_store& store, const std::vector<model::meter>& meters,
                           const std::vector<model::event>& live) {
  brute_force want{live};
  std::set<std::string> subjects;
  for (const auto& e : live)
    subjects.insert(e.subject);
  subjects.insert("s-nobody");
  for (const auto& s : subjects) {
    SCOPED_TRACE("subject " + s);
    EXPECT_EQ(store.summarize(s, {}), want.summarize(s, {}));
    for (auto width :
         {model::interval::minute, model::interval::hour, model::interval::day})
      EXPECT_EQ(store.history(s, width, {}), want.history(s, width, {}));
  }
  // After the last event: the store counts a later one into "the last hour".
  EXPECT_EQ(store.stats(t0 + 4 * hour + 30 * minute),
            want.stats(t0 + 4 * hour + 30 * minute));
  model::event_filter all;
  all.limit = 1000;
  auto page = store.list_events(all);
  EXPECT_EQ(page.total, static_cast<std::int64_t>(live.size()));
  for (const auto& m : meters)
    metering::expect_cells(store, m, live);
}

/// Stores random events under every kind of meter, voids a tenth and
/// corrects another tenth (value, subject, time and group values change),
/// and checks every answer against a recount, also after reopening and for
/// a meter created afterwards.
template <class Fixture>
void every_answer_follows(Fixture& f) {
  auto store = f.open();
  auto meters = metering::every_kind_of_meter();
  for (const auto& m : meters) {
    store->create_meter(m);
    metering::backfill(*store, m.id, 1000);
  }
  std::mt19937 rng{20261201};
  auto live = metering::random_events(rng, 400, "e");
  metering::append_in_batches(*store, live, 97);
  auto pick = [&](std::size_t n) { return static_cast<std::size_t>(rng() % n); };
  millis at = t0 + 10 * hour;
  for (int round = 0; round < 80; ++round) {
    auto i = pick(live.size());
    auto target = live[i];
    live.erase(live.begin() + static_cast<std::ptrdiff_t>(i));
    if (round % 2 == 0) {
      auto out = store->change_event(void_of(target, ++at));
      ASSERT_EQ(out.status, model::change_status::changed);
      ASSERT_TRUE(out.before);
      EXPECT_EQ(out.before->data, target.data);
      EXPECT_FALSE(out.after);
      continue;
    }
    auto fixed = metering::random_events(rng, 1, "x").front();
    auto out = store->change_event(correction_of(target, fixed, ++at));
    ASSERT_EQ(out.status, model::change_status::changed);
    ASSERT_TRUE(out.after);
    EXPECT_EQ(out.after->id, target.id);
    EXPECT_EQ(out.after->data, fixed.data);
    EXPECT_EQ(out.after->ingested_at, at);
    live.push_back(*out.after);
  }
  expect_answers(*store, meters, live);
  store.reset();
  store = f.open();
  expect_answers(*store, meters, live);
  auto late = metering::make_meter("id_late", R"({"slug":"m_late","aggregation":"MAX",
      "eventType":"tokens","valueProperty":"$.tokens","groupBy":{"model":"$.model"}})");
  store->create_meter(late);
  metering::backfill(*store, late.id, 50);
  metering::expect_cells(*store, late, live);
}

/// Changes made while a meter is half back-filled: the backfill neither
/// misses a replacement nor counts a voided version.
template <class Fixture>
void changes_during_backfill(Fixture& f) {
  auto store = f.open();
  std::mt19937 rng{7};
  auto live = metering::random_events(rng, 300, "b");
  metering::append_in_batches(*store, live, 100);
  auto meters = metering::every_kind_of_meter();
  for (const auto& m : meters) {
    store->create_meter(m);
    EXPECT_FALSE(store->backfill_meter(m.id, 120));
  }
  millis at = t0 + 10 * hour;
  // Early ones (read by the backfill already) and late ones (not yet).
  for (std::size_t i : {250u, 200u, 100u, 5u}) {
    auto target = live[i];
    live.erase(live.begin() + static_cast<std::ptrdiff_t>(i));
    if (i % 2 == 0) {
      ASSERT_EQ(store->change_event(void_of(target, ++at)).status,
                model::change_status::changed);
    } else {
      auto fixed = target;
      fixed.data = R"({"tokens":12345,"model":"fixed","user":"u-fixed"})";
      auto out = store->change_event(correction_of(target, fixed, ++at));
      live.push_back(*out.after);
    }
  }
  for (const auto& m : meters)
    metering::backfill(*store, m.id, 120);
  expect_answers(*store, meters, live);
}

/// Not found, a repeated void, re-ingesting a voided id, correcting a voided
/// event, the audit trail and its filters, and retention of revisions.
template <class Fixture>
void voids_and_the_audit_trail(Fixture& f) {
  auto store = f.open();
  auto a = metering::usage_event("a", "s1", "tokens", t0, R"({"tokens":5})");
  auto b = metering::usage_event("b", "s2", "tokens", t0 + minute, R"({"tokens":7})");
  store->append({a, b});

  auto unknown = a;
  unknown.id = "nope";
  EXPECT_EQ(store->change_event(void_of(unknown, t0 + hour)).status,
            model::change_status::not_found);
  auto other_source = a;
  other_source.source = "elsewhere";
  EXPECT_EQ(store->change_event(correction_of(other_source, a, t0 + hour)).status,
            model::change_status::not_found);

  auto voided = store->change_event(void_of(a, t0 + hour, "key:alice"));
  ASSERT_EQ(voided.status, model::change_status::changed);
  auto again = store->change_event(void_of(a, t0 + 2 * hour, "key:bob"));
  EXPECT_EQ(again.status, model::change_status::already_voided);
  ASSERT_TRUE(again.before);
  EXPECT_EQ(again.before->data, a.data);

  // Re-ingesting a voided id is a duplicate: it does not come back.
  auto resent = a;
  resent.data = R"({"tokens":500})";
  auto outcome = store->append({resent});
  ASSERT_EQ(outcome.size(), 1u);
  EXPECT_EQ(outcome[0].status, model::append_status::duplicate);
  EXPECT_EQ(outcome[0].event.data, a.data);
  EXPECT_EQ(store->summarize("s1", {}).total, 0);

  // A correction of b, then of b again.
  auto b2 = b;
  b2.data = R"({"tokens":8})";
  ASSERT_EQ(store->change_event(correction_of(b, b2, t0 + 3 * hour)).status,
            model::change_status::changed);
  auto b3 = b;
  b3.subject = "s3";
  b3.data = R"({"tokens":9})";
  auto fixed = store->change_event(correction_of(b, b3, t0 + 4 * hour));
  ASSERT_EQ(fixed.status, model::change_status::changed);
  EXPECT_EQ(fixed.before->data, b2.data);
  EXPECT_EQ(store->summarize("s2", {}).total, 0);
  EXPECT_EQ(store->summarize("s3", {}).total, 1);

  // A correction that keeps the stored time (a v1 body without timestamp).
  auto b4 = b3;
  b4.time = t0 + 3 * hour;
  auto keep = correction_of(b, b4, t0 + 4 * hour + 1);
  keep.keep_time = true;
  auto kept = store->change_event(keep);
  ASSERT_EQ(kept.status, model::change_status::changed);
  EXPECT_EQ(kept.after->time, b.time);
  EXPECT_EQ(store->history("s3", model::interval::minute, {}).front().bucket_start,
            b.time);

  // A correction brings a voided event back, explicitly.
  auto a2 = a;
  a2.data = R"({"tokens":6})";
  auto back = store->change_event(correction_of(a, a2, t0 + 5 * hour));
  EXPECT_EQ(back.status, model::change_status::changed);
  EXPECT_EQ(back.before->data, a.data);
  EXPECT_EQ(store->summarize("s1", {}).total, 1);

  model::event_search all;
  all.time_from = t0 - day;
  all.time_to = t0 + day;
  all.limit = 100;
  auto trail = store->event_revisions(all);
  ASSERT_EQ(trail.size(), 4u); // a voided, b superseded three times
  EXPECT_EQ(trail[0].version.data, b3.data);
  EXPECT_EQ(trail[0].at, t0 + 4 * hour + 1);
  EXPECT_EQ(trail[1].version.data, b2.data);
  EXPECT_EQ(trail[1].kind, model::revision_kind::superseded);
  EXPECT_EQ(trail[1].at, t0 + 4 * hour);
  EXPECT_EQ(trail[2].version.data, b.data);
  EXPECT_EQ(trail[3].version.data, a.data);
  EXPECT_EQ(trail[3].kind, model::revision_kind::voided);
  EXPECT_EQ(trail[3].by, "key:alice");
  EXPECT_EQ(trail[3].trace_id, "trace-void-a");
  EXPECT_EQ(trail[3].at, t0 + hour);
  EXPECT_EQ(trail[3].version.ingested_at, a.ingested_at);
  auto filtered = all;
  filtered.subject_contains = "s1";
  EXPECT_EQ(store->event_revisions(filtered).size(), 1u);
  filtered = all;
  filtered.limit = 1;
  EXPECT_EQ(store->event_revisions(filtered).size(), 1u);
  filtered = all;
  filtered.time_from = t0 + minute;
  EXPECT_EQ(store->event_revisions(filtered).size(), 3u);

  // The live events list the corrected versions only.
  model::event_search live_search = all;
  auto listed = store->search_events(live_search);
  ASSERT_EQ(listed.size(), 2u);
  std::set<std::string> datas;
  for (const auto& e : listed)
    datas.insert(e.event.data);
  EXPECT_EQ(datas, (std::set<std::string>{a2.data, b4.data}));

  // The changes survive a reopening.
  store.reset();
  store = f.open();
  EXPECT_EQ(store->event_revisions(all).size(), 4u);
  EXPECT_EQ(store->summarize("s3", {}).total, 1);

  // Voiding c, then retention past everything: revisions go, and the voided
  // id is free again.
  auto c = metering::usage_event("c", "s4", "tokens", t0 + 2 * minute, "{}");
  store->append({c});
  ASSERT_EQ(store->change_event(void_of(c, t0 + 6 * hour)).status,
            model::change_status::changed);
  while (store->purge_before(t0 + day, 10) > 0) {
  }
  EXPECT_TRUE(store->event_revisions(all).empty());
  EXPECT_EQ(store->append({c})[0].status, model::append_status::stored);
}

} // namespace um::testing::revisions

// clang-format off
/// The corrections cases for `fixture`, which has `open()`.
#define UM_REVISION_STORE_TESTS(fixture)                                                 \
  TEST_F(fixture, void_and_correct_every_answer_follows) {                               \
    um::testing::revisions::every_answer_follows(*this);                                 \
  }                                                                                      \
  TEST_F(fixture, changes_while_a_meter_is_back_filled) {                                \
    um::testing::revisions::changes_during_backfill(*this);                              \
  }                                                                                      \
  TEST_F(fixture, voids_re_ingest_and_the_audit_trail) {                                 \
    um::testing::revisions::voids_and_the_audit_trail(*this);                            \
  }
// clang-format on
