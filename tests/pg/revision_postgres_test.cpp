// Corrections in the PostgreSQL store: the shared cases, the migration of a
// version 5 database, and changes made while other instances append to the
// same meter cells or change the same event.

#include "storage/event_store.hpp"
#include "storage/postgres/schema.hpp"
#include "tests/pg/pg_cluster.hpp"
#include "tests/storage/meter_cases.hpp"
#include "tests/storage/revision_cases.hpp"

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <algorithm>
#include <atomic>
#include <map>
#include <thread>

namespace {

using namespace um;
using namespace um::testing::metering;
using um::testing::revisions::correction_of;
using um::testing::revisions::expect_answers;
using um::testing::revisions::void_of;

// One cluster for this file's tests, started on first use.
um::testing::pg_cluster& cluster() {
  static um::testing::pg_cluster c;
  return c;
}

class postgres_revision_test : public ::testing::Test {
public:
  std::unique_ptr<storage::event_store> open() const {
    storage::store_options options;
    options.url = url_;
    return storage::open_event_store(options);
  }

protected:
  void SetUp() override {
    static int n = 0;
    try {
      url_ = cluster().create_database("rev" + std::to_string(++n));
    } catch (const std::exception& e) {
      FAIL() << e.what();
    }
  }

  std::int64_t count(const std::string& sql) const {
    pqxx::connection c{url_};
    pqxx::nontransaction tx{c};
    return tx.exec1(sql)[0].as<std::int64_t>();
  }

  std::string url_;
};

UM_REVISION_STORE_TESTS(postgres_revision_test)

// The stored "tokens" events in seq order (the order their cells count them
// in), for comparing cells with a recount when other instances appended
// concurrently.
std::vector<model::event> stored_in_order(storage::event_store& store) {
  std::vector<model::event> out;
  for (auto& e : store.events_of_type("tokens", t0 - 86'400'000, t0 + 86'400'000, {}))
    out.push_back(std::move(e.event));
  return out;
}

std::string id_and_data(const model::event& e) {
  return e.id + " " + e.subject + " " + std::to_string(e.time) + " " + e.data;
}

// A database written by the previous release (version 5): events over two
// days, meters with cells, ids known. Opening it adds the revisions table
// and nothing else changes: the same answers, the same duplicates; then it
// voids and corrects as a new one does.
TEST_F(postgres_revision_test, a_version_5_database_migrates_and_keeps_its_data) {
  std::mt19937 rng(55);
  auto events = random_events(rng, 300, "old-");
  for (std::size_t i = 0; i < events.size(); i += 3)
    events[i].time += 86'400'000; // a second day, a second partition
  auto meters = every_kind_of_meter();
  {
    pqxx::connection c{url_};
    storage::postgres::migrate(c, 5);
    pqxx::nontransaction tx{c};
    EXPECT_TRUE(tx.exec1("SELECT to_regclass('event_revisions') IS NULL")[0].as<bool>());
  }
  {
    // Versions 6 and 7 only add tables: a store of this build that wrote the
    // data and then loses them and their version rows is what version 5 wrote.
    auto store = open();
    for (const auto& m : meters) {
      store->create_meter(m);
      backfill(*store, m.id, 1000);
    }
    append_in_batches(*store, events, 70);
    pqxx::connection c{url_};
    pqxx::work tx{c};
    tx.exec0("DROP TABLE event_revisions");
    tx.exec0("DROP TABLE notification_channels, notification_rules, notification_events");
    tx.exec0("DELETE FROM schema_version WHERE version >= 6");
    tx.commit();
  }
  auto store = open();
  auto second = open(); // finds it migrated
  EXPECT_EQ(count("SELECT MAX(version) FROM schema_version"),
            storage::postgres::schema_version);
  EXPECT_EQ(count("SELECT COUNT(*) FROM event_revisions"), 0);
  EXPECT_EQ(count("SELECT COUNT(*) FROM event_keys"),
            static_cast<std::int64_t>(events.size()));
  // Every v1 rollup and cell on the day of t0 as before (expect_answers
  // reads the cells of t0's day only: the second day's events count there).
  std::vector<model::event> first_day;
  for (const auto& e : events)
    if (e.time < t0 + 14 * 3'600'000)
      first_day.push_back(e);
  for (const auto& m : meters)
    expect_cells(*store, m, first_day);
  auto dup = second->append({events[1], events[3]});
  EXPECT_EQ(dup[0].status, model::append_status::duplicate);
  EXPECT_EQ(dup[0].event.data, events[1].data);
  EXPECT_EQ(dup[1].event.time, events[3].time);

  // Corrections on the old data.
  auto live = events;
  auto voided = live[10];
  auto fixed = live[21]; // on the second day
  auto replacement = fixed;
  replacement.data = R"({"tokens":4242,"model":"gpt-4","user":"u-new"})";
  replacement.time = t0 + 5 * 60'000; // from the other day to this one
  ASSERT_EQ(store->change_event(void_of(voided, t0 + 30 * 3'600'000)).status,
            model::change_status::changed);
  auto out = second->change_event(correction_of(fixed, replacement, t0 + 31 * 3'600'000));
  ASSERT_EQ(out.status, model::change_status::changed);
  live.erase(std::remove_if(live.begin(), live.end(),
                            [&](const model::event& e) {
                              return e.id == voided.id || e.id == fixed.id;
                            }),
             live.end());
  live.push_back(*out.after);
  std::vector<model::event> first_day_live;
  for (const auto& e : live)
    if (e.time < t0 + 14 * 3'600'000)
      first_day_live.push_back(e);
  for (const auto& m : meters)
    expect_cells(*store, m, first_day_live);
  EXPECT_EQ(store->append({voided})[0].status, model::append_status::duplicate);
  EXPECT_EQ(store->list_events({"", "", 1000, 0}).total,
            static_cast<std::int64_t>(live.size()));
}

// Retention deleting rows of a partial day (not a whole partition) takes the
// revisions of versions before the cutoff with them, and frees voided ids;
// those after it stay.
TEST_F(postgres_revision_test, retention_of_part_of_a_day_takes_its_revisions) {
  auto store = open();
  auto early = usage_event("early", "s1", "tokens", t0, R"({"tokens":1})");
  auto late = usage_event("late", "s1", "tokens", t0 + 3'600'000, R"({"tokens":2})");
  auto fixed = usage_event("fixed", "s1", "tokens", t0 + 60'000, R"({"tokens":3})");
  store->append({early, late, fixed});
  ASSERT_EQ(store->change_event(void_of(early, t0 + 7'200'000)).status,
            model::change_status::changed);
  ASSERT_EQ(store->change_event(void_of(late, t0 + 7'200'000)).status,
            model::change_status::changed);
  auto moved = fixed;
  moved.time = t0 + 2 * 3'600'000; // after the cutoff: the replacement stays
  ASSERT_EQ(store->change_event(correction_of(fixed, moved, t0 + 7'300'000)).status,
            model::change_status::changed);
  EXPECT_EQ(count("SELECT COUNT(*) FROM event_revisions"), 3);
  while (store->purge_before(t0 + 1'800'000, 10) > 0) {
  }
  EXPECT_EQ(count("SELECT COUNT(*) FROM event_revisions"), 1); // late's
  EXPECT_EQ(store->append({early})[0].status, model::append_status::stored);
  EXPECT_EQ(store->append({late})[0].status, model::append_status::duplicate);
  auto again = store->append({fixed});
  EXPECT_EQ(again[0].status, model::append_status::duplicate);
  EXPECT_EQ(again[0].event.time, moved.time);
  EXPECT_EQ(store->summarize("s1", {}).total, 2); // early again, fixed's replacement
}

// Two instances append new events into the same subjects and hours, of every
// kind of meter, while a third voids and corrects stored ones: every meter's
// cells end as a recount of the events stored, and the v1 rollups as a
// recount of them too.
TEST_F(postgres_revision_test, changes_while_other_instances_append_to_the_same_cells) {
  auto meters = every_kind_of_meter();
  {
    auto admin = open();
    for (const auto& m : meters) {
      admin->create_meter(m);
      backfill(*admin, m.id, 1000);
    }
  }
  std::mt19937 rng(99);
  auto first = random_events(rng, 400, "first-");
  constexpr int writer_count = 3;
  std::vector<std::vector<model::event>> batches[writer_count];
  for (int w = 0; w < writer_count; ++w)
    for (int i = 0; i < 150; ++i)
      batches[w].push_back(
          random_events(rng, 8, "w" + std::to_string(w) + "b" + std::to_string(i) + "-"));
  auto changer = open();
  append_in_batches(*changer, first, 50);

  // Voids and corrections of the first events for as long as the writers
  // run (at least 40), so that they meet appends into the cells they rebuild.
  std::atomic<int> writing{writer_count};
  std::vector<std::thread> writers;
  for (int w = 0; w < writer_count; ++w)
    writers.emplace_back([this, w, &batches, &writing] {
      auto writer = open();
      for (const auto& batch : batches[w])
        writer->append(batch);
      --writing;
    });
  std::map<std::string, model::event> live;
  for (const auto& e : first)
    live[e.id] = e;
  millis at = t0 + 20 * 3'600'000;
  int changes = 0;
  for (; changes < static_cast<int>(first.size()) && (changes < 40 || writing > 0);
       ++changes) {
    const auto& target = first[static_cast<std::size_t>(changes)];
    if (changes % 2 == 0) {
      ASSERT_EQ(changer->change_event(void_of(target, ++at)).status,
                model::change_status::changed);
      live.erase(target.id);
    } else {
      auto fix = random_events(rng, 1, "fix").front();
      auto out = changer->change_event(correction_of(target, fix, ++at));
      ASSERT_EQ(out.status, model::change_status::changed);
      live[target.id] = *out.after;
    }
  }
  for (auto& t : writers)
    t.join();
  EXPECT_GE(changes, 40);
  for (const auto& writer_batches : batches)
    for (const auto& batch : writer_batches)
      for (const auto& e : batch)
        live[e.id] = e;

  auto reader = open();
  std::multiset<std::string> want, got;
  for (const auto& [id, e] : live)
    want.insert(id_and_data(e));
  model::event_filter all;
  all.limit = 100000;
  for (const auto& e : reader->list_events(all).events)
    got.insert(id_and_data(e));
  EXPECT_EQ(got, want);
  auto stored = stored_in_order(*reader);
  for (const auto& m : meters)
    expect_cells(*reader, m, stored);
  std::vector<model::event> every;
  for (const auto& [id, e] : live)
    every.push_back(e);
  um::testing::brute_force recount{every};
  for (std::string s : {"s0", "s1", "s2", "s3"}) {
    EXPECT_EQ(reader->summarize(s, {}), recount.summarize(s, {}));
    EXPECT_EQ(reader->history(s, model::interval::minute, {}),
              recount.history(s, model::interval::minute, {}));
  }
}

// Instances voiding and correcting the same event at once: each change sees
// the one before it (its dedup row is locked), one version counts at the
// end, and every other is in the audit trail once.
TEST_F(postgres_revision_test, instances_changing_one_event_at_once_take_turns) {
  auto meters = every_kind_of_meter();
  auto target = usage_event("one", "s1", "tokens", t0, R"({"tokens":1,"user":"u1"})");
  {
    auto admin = open();
    for (const auto& m : meters)
      admin->create_meter(m);
    admin->append({target});
  }
  constexpr int threads = 3, rounds = 15;
  std::atomic<int> changed{0}, already{0};
  std::vector<std::thread> running;
  for (int t = 0; t < threads; ++t)
    running.emplace_back([this, t, &target, &changed, &already] {
      auto store = open();
      for (int r = 0; r < rounds; ++r) {
        model::event_change change;
        if (r % 3 == 2) {
          change = void_of(target, t0 + 3'600'000 + r);
        } else {
          auto fix = target;
          fix.data = R"({"tokens":)" + std::to_string(100 * t + r) + R"(,"user":"u)" +
                     std::to_string(t) + R"("})";
          fix.time = t0 + (r % 4) * 60'000 + t * 1000;
          change = correction_of(target, fix, t0 + 3'600'000 + r);
        }
        auto out = store->change_event(change);
        if (out.status == model::change_status::changed)
          ++changed;
        else if (out.status == model::change_status::already_voided)
          ++already;
        else
          ADD_FAILURE() << "not found";
      }
    });
  for (auto& t : running)
    t.join();
  EXPECT_EQ(changed + already, threads * rounds);
  auto store = open();
  model::event_search all;
  all.time_from = t0 - 86'400'000;
  all.time_to = t0 + 86'400'000;
  all.limit = 1000;
  auto trail = store->event_revisions(all);
  // Every change made a revision, but a correction of a voided event (whose
  // voided version stays as it is).
  auto voided_corrected =
      count("SELECT COUNT(*) FROM event_revisions r WHERE kind = 'voided'") -
      (store->list_events({"", "", 10, 0}).total == 0 ? 1 : 0);
  EXPECT_EQ(static_cast<std::int64_t>(trail.size()), changed - voided_corrected);
  auto live = store->list_events({"", "", 10, 0});
  ASSERT_LE(live.total, 1);
  std::vector<model::event> now(live.events.begin(), live.events.end());
  for (const auto& m : meters)
    expect_cells(*store, m, now);
  EXPECT_EQ(count("SELECT COUNT(*) FROM event_keys"), 1);
}

} // namespace
