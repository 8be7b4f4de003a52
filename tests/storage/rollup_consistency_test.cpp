// The rollups must answer exactly what counting the events would: checked
// against a brute-force count for random events and random ranges.

#include "storage/event_store.hpp"
#include "tests/storage/store_fixture.hpp"

#include <gtest/gtest.h>

#include <random>

namespace {

using namespace um;
using namespace um::testing;
using model::interval;

class rollup_consistency : public store_test {
protected:
  void SetUp() override {
    store_test::SetUp();
    store = open();
    fill(3000);
  }

  // Inserts `n` events over about three days in batches, re-sending some ids
  // so that duplicates are in play; `expected` keeps the first copy of each.
  void fill(int n) {
    std::uniform_int_distribution<int> subject(0, subjects.size() - 1);
    std::uniform_int_distribution<int> type(0, types.size() - 1);
    std::uniform_int_distribution<millis> time(base_day - 6 * hour, base_day + 3 * day);
    std::uniform_int_distribution<int> percent(0, 99);
    std::vector<model::event> batch;
    for (int i = 0; i < n; ++i) {
      millis t = time(rng);
      // A good share of events sit exactly on bucket boundaries.
      if (percent(rng) < 10)
        t = model::bucket_floor(t, percent(rng) < 50 ? minute : hour);
      auto e = make_event("e" + std::to_string(i), subjects[subject(rng)],
                          types[type(rng)], t);
      expected.events.push_back(e);
      batch.push_back(e);
      if (percent(rng) < 3 && !expected.events.empty()) {
        std::uniform_int_distribution<std::size_t> pick(0, expected.events.size() - 1);
        auto again = expected.events[pick(rng)];
        again.time += 1; // a resend must not count, even with other fields
        batch.push_back(again);
      }
      if (batch.size() >= 250) {
        store->append(batch);
        batch.clear();
      }
    }
    store->append(batch);
  }

  millis random_bound() {
    std::uniform_int_distribution<millis> t(base_day - 8 * hour,
                                            base_day + 3 * day + 2 * hour);
    std::uniform_int_distribution<int> shape(0, 5);
    millis x = t(rng);
    switch (shape(rng)) {
    case 0:
      return model::bucket_floor(x, minute);
    case 1:
      return model::bucket_floor(x, hour);
    case 2:
      return model::bucket_floor(x, day);
    case 3:
      return model::bucket_floor(x, hour) - 1;
    default:
      return x;
    }
  }

  model::time_range random_range() {
    std::uniform_int_distribution<int> open_ends(0, 7);
    millis a = random_bound(), b = random_bound();
    model::time_range r{std::min(a, b), std::max(a, b)};
    switch (open_ends(rng)) {
    case 0:
      r.since.reset();
      break;
    case 1:
      r.until.reset();
      break;
    case 2:
      r = {};
      break;
    default:
      break;
    }
    return r;
  }

  static std::string describe(const model::time_range& r) {
    return "[" + (r.since ? model::format_iso8601(*r.since) : std::string{"open"}) +
           ", " + (r.until ? model::format_iso8601(*r.until) : std::string{"open"}) + "]";
  }

  void compare_ranges(int rounds) {
    for (int i = 0; i < rounds; ++i) {
      auto range = random_range();
      for (const auto& subject : subjects) {
        SCOPED_TRACE(subject + " " + describe(range));
        ASSERT_EQ(store->summarize(subject, range), expected.summarize(subject, range));
        for (auto width : {interval::minute, interval::hour, interval::day})
          ASSERT_EQ(store->history(subject, width, range),
                    expected.history(subject, width, range))
              << model::interval_name(width);
      }
    }
  }

  void compare_stats() {
    millis last = base_day;
    for (const auto& e : expected.events)
      last = std::max(last, e.time);
    std::uniform_int_distribution<millis> after(0, 2 * hour);
    for (int i = 0; i < 20; ++i) {
      millis now = last + (i == 0 ? 0 : after(rng));
      if (i % 4 == 1)
        now = model::bucket_floor(now, minute);
      SCOPED_TRACE("now " + model::format_iso8601(now));
      ASSERT_EQ(store->stats(now), expected.stats(now));
    }
  }

  std::mt19937_64 rng{20240115};
  std::vector<std::string> subjects{"alice", "bob", "carol", "dave", "erin", "frank"};
  std::vector<std::string> types{"login", "click", "view", "api_call"};
  brute_force expected;
  std::unique_ptr<storage::event_store> store;
};

TEST_P(rollup_consistency, summaries_and_histories_match_brute_force) {
  compare_ranges(40);
}

TEST_P(rollup_consistency, stats_match_brute_force) {
  compare_stats();
}

TEST_P(rollup_consistency, list_totals_match_brute_force) {
  for (const auto& subject : subjects)
    for (const auto& type : types) {
      model::event_filter f;
      f.subject = subject;
      f.type = type;
      f.limit = 1000;
      auto page = store->list_events(f);
      auto n = std::count_if(
          expected.events.begin(), expected.events.end(),
          [&](const auto& e) { return e.subject == subject && e.type == type; });
      ASSERT_EQ(page.total, n);
      ASSERT_EQ(static_cast<std::int64_t>(page.events.size()),
                std::min<std::int64_t>(n, 1000));
      for (std::size_t i = 1; i < page.events.size(); ++i)
        ASSERT_GE(page.events[i - 1].time, page.events[i].time);
    }
}

TEST_P(rollup_consistency, purge_leaves_exact_counts) {
  std::uniform_int_distribution<millis> when(base_day, base_day + 2 * day);
  millis cutoff = when(rng);
  // In chunks, as the retention pass does.
  std::size_t removed = 0;
  while (auto n = store->purge_before(cutoff, 97))
    removed += n;
  auto old = std::count_if(expected.events.begin(), expected.events.end(),
                           [&](const auto& e) { return e.time < cutoff; });
  EXPECT_EQ(removed, static_cast<std::size_t>(old));
  expected.events.erase(std::remove_if(expected.events.begin(), expected.events.end(),
                                       [&](const auto& e) { return e.time < cutoff; }),
                        expected.events.end());
  EXPECT_EQ(store->list_events({}).total,
            static_cast<std::int64_t>(expected.events.size()));
  compare_ranges(25);
  compare_stats();
}

TEST_P(rollup_consistency, counts_survive_reopen) {
  store.reset();
  store = open();
  compare_ranges(10);
  compare_stats();
}

UM_ON_EMBEDDED_BACKENDS(rollup_consistency);

} // namespace
