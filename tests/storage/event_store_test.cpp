#include "storage/event_store.hpp"
#include "tests/storage/store_fixture.hpp"

#include <gtest/gtest.h>

namespace {

using namespace um;
using namespace um::testing;
using model::append_status;
using model::interval;

class event_store : public store_test {};

std::vector<std::string> ids_of(const model::event_page& page) {
  std::vector<std::string> out;
  for (const auto& e : page.events)
    out.push_back(e.id);
  return out;
}

std::vector<model::history_point>
points(std::initializer_list<std::pair<millis, std::int64_t>> xs) {
  std::vector<model::history_point> out;
  for (auto [b, n] : xs)
    out.push_back({b, n});
  return out;
}

// -- append -------------------------------------------------------------------

TEST_P(event_store, append_stores_in_order) {
  auto store = open();
  std::vector<model::event> batch{
      make_event("a", "u1", "login", base_day + 1, R"({"k":1})"),
      make_event("b", "u2", "click", base_day + 2),
      make_event("c", "u1", "click", base_day + 3)};
  auto out = store->append(batch);
  ASSERT_EQ(out.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(out[i].status, append_status::stored);
    EXPECT_EQ(out[i].event.id, batch[i].id);
  }
  auto page = store->list_events({});
  EXPECT_EQ(page.total, 3);
  ASSERT_EQ(page.events.size(), 3u);
  const auto& a = page.events.back();
  EXPECT_EQ(a.id, "a");
  EXPECT_EQ(a.source, model::v1_source);
  EXPECT_EQ(a.subject, "u1");
  EXPECT_EQ(a.type, "login");
  EXPECT_EQ(a.time, base_day + 1);
  EXPECT_EQ(a.data, R"({"k":1})");
  EXPECT_EQ(a.ingested_at, base_day + 6);
}

TEST_P(event_store, empty_batch_is_a_no_op) {
  auto store = open();
  EXPECT_TRUE(store->append({}).empty());
  EXPECT_EQ(store->list_events({}).total, 0);
}

TEST_P(event_store, dedupes_on_source_and_id) {
  auto store = open();
  store->append({make_event("x", "u1", "login", base_day, R"({"v":1})")});
  auto again = make_event("x", "u1-changed", "other", base_day + hour, R"({"v":2})");
  auto out = store->append({again, make_event("y", "u1", "login", base_day)});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].status, append_status::duplicate);
  // The duplicate's outcome is the stored copy, not the one sent again.
  EXPECT_EQ(out[0].event.subject, "u1");
  EXPECT_EQ(out[0].event.type, "login");
  EXPECT_EQ(out[0].event.time, base_day);
  EXPECT_EQ(out[0].event.data, R"({"v":1})");
  EXPECT_EQ(out[1].status, append_status::stored);
  EXPECT_EQ(store->list_events({}).total, 2);
  EXPECT_EQ(store->summarize("u1", {}).total, 2);
  EXPECT_EQ(store->summarize("u1-changed", {}).total, 0);
  EXPECT_EQ(store->stats(base_day).total_events, 2);
}

TEST_P(event_store, same_id_from_another_source_is_another_event) {
  auto store = open();
  auto a = make_event("x", "u1", "t", base_day);
  auto b = a;
  b.source = "billing";
  auto out = store->append({a, b});
  EXPECT_EQ(out[0].status, append_status::stored);
  EXPECT_EQ(out[1].status, append_status::stored);
  EXPECT_EQ(store->summarize("u1", {}).total, 2);
}

TEST_P(event_store, dedupes_within_one_batch) {
  auto store = open();
  auto out = store->append({make_event("x", "u1", "t", base_day),
                            make_event("y", "u1", "t", base_day + 1),
                            make_event("x", "u1", "t2", base_day + 2)});
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].status, append_status::stored);
  EXPECT_EQ(out[1].status, append_status::stored);
  EXPECT_EQ(out[2].status, append_status::duplicate);
  EXPECT_EQ(out[2].event.type, "t");
  auto summary = store->summarize("u1", {});
  EXPECT_EQ(summary.total, 2);
  EXPECT_EQ(summary.by_type, (std::map<std::string, std::int64_t>{{"t", 2}}));
  auto history = store->history("u1", interval::minute, {});
  EXPECT_EQ(history, points({{base_day, 2}}));
}

TEST_P(event_store, dedupes_across_reopen) {
  open()->append({make_event("x", "u1", "t", base_day)});
  auto store = open();
  auto out = store->append({make_event("x", "u1", "t", base_day)});
  EXPECT_EQ(out[0].status, append_status::duplicate);
  EXPECT_EQ(store->summarize("u1", {}).total, 1);
}

// -- list_events --------------------------------------------------------------

class listed_store : public store_test {
protected:
  void SetUp() override {
    store_test::SetUp();
    store = open();
    // Times out of insertion order; e3 and e4 share a time.
    store->append({make_event("e1", "alice", "login", base_day + 10),
                   make_event("e2", "bob", "login", base_day + 30),
                   make_event("e3", "alice", "click", base_day + 20),
                   make_event("e4", "alice", "login", base_day + 20),
                   make_event("e5", "bob", "click", base_day + 5)});
  }
  std::unique_ptr<storage::event_store> store;
};

TEST_P(listed_store, newest_first) {
  auto page = store->list_events({});
  EXPECT_EQ(page.total, 5);
  // Equal times: the later stored comes first.
  EXPECT_EQ(ids_of(page), (std::vector<std::string>{"e2", "e4", "e3", "e1", "e5"}));
}

TEST_P(listed_store, filters_by_subject_and_type) {
  model::event_filter f;
  f.subject = "alice";
  auto page = store->list_events(f);
  EXPECT_EQ(page.total, 3);
  EXPECT_EQ(ids_of(page), (std::vector<std::string>{"e4", "e3", "e1"}));
  f.type = "login";
  page = store->list_events(f);
  EXPECT_EQ(page.total, 2);
  EXPECT_EQ(ids_of(page), (std::vector<std::string>{"e4", "e1"}));
  f.subject.clear();
  page = store->list_events(f);
  EXPECT_EQ(page.total, 3);
  EXPECT_EQ(ids_of(page), (std::vector<std::string>{"e2", "e4", "e1"}));
  f.type = "nothing";
  page = store->list_events(f);
  EXPECT_EQ(page.total, 0);
  EXPECT_TRUE(page.events.empty());
}

TEST_P(listed_store, limit_and_offset) {
  model::event_filter f;
  f.limit = 2;
  f.offset = 1;
  auto page = store->list_events(f);
  EXPECT_EQ(page.total, 5);
  EXPECT_EQ(ids_of(page), (std::vector<std::string>{"e4", "e3"}));
  f.offset = 4;
  EXPECT_EQ(ids_of(store->list_events(f)), (std::vector<std::string>{"e5"}));
  f.offset = 10;
  page = store->list_events(f);
  EXPECT_TRUE(page.events.empty());
  EXPECT_EQ(page.total, 5);
  f = {};
  f.subject = "bob";
  f.limit = 1;
  page = store->list_events(f);
  EXPECT_EQ(ids_of(page), (std::vector<std::string>{"e2"}));
  EXPECT_EQ(page.total, 2);
}

// -- summarize ----------------------------------------------------------------

TEST_P(listed_store, summarize_without_bounds) {
  auto s = store->summarize("alice", {});
  EXPECT_EQ(s.total, 3);
  EXPECT_EQ(s.by_type, (std::map<std::string, std::int64_t>{{"click", 1}, {"login", 2}}));
  EXPECT_EQ(store->summarize("nobody", {}).total, 0);
  EXPECT_TRUE(store->summarize("nobody", {}).by_type.empty());
}

TEST_P(event_store, summarize_bounds_are_inclusive_to_the_millisecond) {
  auto store = open();
  millis since = base_day + 3 * hour + 17 * minute + 12'345;
  millis until = base_day + 2 * day + 5 * hour + 59'999;
  store->append({make_event("before", "u", "t", since - 1),
                 make_event("at-since", "u", "t", since),
                 make_event("inside", "u", "t", base_day + day + 7),
                 make_event("at-until", "u", "t", until),
                 make_event("after", "u", "t", until + 1)});
  EXPECT_EQ(store->summarize("u", {since, until}).total, 3);
  EXPECT_EQ(store->summarize("u", {since, std::nullopt}).total, 4);
  EXPECT_EQ(store->summarize("u", {std::nullopt, until}).total, 4);
  EXPECT_EQ(store->summarize("u", {since + 1, until - 1}).total, 1);
  EXPECT_EQ(store->summarize("u", {since, since}).total, 1);
  EXPECT_EQ(store->summarize("u", {until + 2, std::nullopt}).total, 0);
  EXPECT_EQ(store->summarize("u", {until, since}).total, 0);
  EXPECT_EQ(store->summarize("u", {}).total, 5);
}

// -- history ------------------------------------------------------------------

TEST_P(event_store, history_buckets_per_interval) {
  auto store = open();
  store->append({make_event("1", "u", "a", base_day + 10 * hour + 5 * minute + 1),
                 make_event("2", "u", "b", base_day + 10 * hour + 5 * minute + 59'999),
                 make_event("3", "u", "a", base_day + 10 * hour + 7 * minute),
                 make_event("4", "u", "a", base_day + 12 * hour),
                 make_event("5", "u", "a", base_day + day + 1),
                 make_event("6", "other", "a", base_day + 10 * hour + 5 * minute)});
  EXPECT_EQ(store->history("u", interval::minute, {}),
            points({{base_day + 10 * hour + 5 * minute, 2},
                    {base_day + 10 * hour + 7 * minute, 1},
                    {base_day + 12 * hour, 1},
                    {base_day + day, 1}}));
  EXPECT_EQ(store->history("u", interval::hour, {}), points({{base_day + 10 * hour, 3},
                                                             {base_day + 12 * hour, 1},
                                                             {base_day + day, 1}}));
  EXPECT_EQ(store->history("u", interval::day, {}),
            points({{base_day, 4}, {base_day + day, 1}}));
  EXPECT_TRUE(store->history("nobody", interval::hour, {}).empty());
}

TEST_P(event_store, history_edge_buckets_count_only_the_range) {
  auto store = open();
  std::vector<model::event> batch;
  // Two events in each hour from 08:00 to 14:00, at :10 and :50.
  for (int h = 8; h <= 14; ++h) {
    batch.push_back(
        make_event("a" + std::to_string(h), "u", "t", base_day + h * hour + 10 * minute));
    batch.push_back(
        make_event("b" + std::to_string(h), "u", "t", base_day + h * hour + 50 * minute));
  }
  store->append(batch);
  // 09:30 to 13:30: the 09 and 13 buckets are partial (one event each).
  model::time_range range{base_day + 9 * hour + 30 * minute,
                          base_day + 13 * hour + 30 * minute};
  EXPECT_EQ(store->history("u", interval::hour, range),
            points({{base_day + 9 * hour, 1},
                    {base_day + 10 * hour, 2},
                    {base_day + 11 * hour, 2},
                    {base_day + 12 * hour, 2},
                    {base_day + 13 * hour, 1}}));
  // Inside one bucket.
  model::time_range inner{base_day + 9 * hour + 5 * minute,
                          base_day + 9 * hour + 20 * minute};
  EXPECT_EQ(store->history("u", interval::hour, inner),
            points({{base_day + 9 * hour, 1}}));
  // Straddling one boundary, no whole bucket inside.
  model::time_range straddle{base_day + 9 * hour + 45 * minute,
                             base_day + 10 * hour + 15 * minute};
  EXPECT_EQ(store->history("u", interval::hour, straddle),
            points({{base_day + 9 * hour, 1}, {base_day + 10 * hour, 1}}));
  // Until is inclusive: an event exactly at until is counted.
  model::time_range to_event{base_day + 11 * hour, base_day + 11 * hour + 50 * minute};
  EXPECT_EQ(store->history("u", interval::hour, to_event),
            points({{base_day + 11 * hour, 2}}));
  to_event.until = *to_event.until - 1;
  EXPECT_EQ(store->history("u", interval::hour, to_event),
            points({{base_day + 11 * hour, 1}}));
  // The day bucket over a partial range holds only the range's events.
  EXPECT_EQ(store->history("u", interval::day, range), points({{base_day, 8}}));
}

TEST_P(event_store, history_lists_only_non_empty_buckets) {
  auto store = open();
  store->append({make_event("1", "u", "t", base_day + 5 * minute),
                 make_event("2", "u", "t", base_day + 3 * hour)});
  auto h = store->history("u", interval::minute, {base_day, base_day + day - 1});
  EXPECT_EQ(h, points({{base_day + 5 * minute, 1}, {base_day + 3 * hour, 1}}));
}

// -- stats --------------------------------------------------------------------

TEST_P(event_store, stats_counts_everything) {
  auto store = open();
  millis now = base_day + 12 * hour + 30 * minute + 30'000;
  store->append({make_event("1", "alice", "login", now - 2 * hour),
                 make_event("2", "alice", "click", now - hour - 1),
                 make_event("3", "bob", "click", now - hour),
                 make_event("4", "carol", "click", now - 30 * minute - 7),
                 make_event("5", "bob", "login", now)});
  auto s = store->stats(now);
  EXPECT_EQ(s.total_events, 5);
  EXPECT_EQ(s.unique_entities, 3);
  EXPECT_EQ(s.event_types,
            (std::map<std::string, std::int64_t>{{"click", 3}, {"login", 2}}));
  EXPECT_EQ(s.events_last_hour, 3);
  // Relative to the given now, not the wall clock.
  EXPECT_EQ(store->stats(now + hour).events_last_hour, 1);
  EXPECT_EQ(store->stats(now + 30 * minute - 7).events_last_hour, 2);
  EXPECT_EQ(store->stats(now + 30 * minute - 6).events_last_hour, 1);
}

TEST_P(event_store, stats_of_an_empty_store) {
  auto store = open();
  auto s = store->stats(base_day);
  EXPECT_EQ(s.total_events, 0);
  EXPECT_EQ(s.unique_entities, 0);
  EXPECT_EQ(s.events_last_hour, 0);
  EXPECT_TRUE(s.event_types.empty());
}

// -- purge --------------------------------------------------------------------

TEST_P(event_store, purge_removes_old_events_and_their_counts) {
  auto store = open();
  millis cutoff = base_day + day + 90'001;
  store->append({make_event("old1", "u", "a", base_day + 10),
                 make_event("old2", "u", "b", cutoff - 1),
                 make_event("keep1", "u", "a", cutoff),
                 make_event("keep2", "v", "a", cutoff + 2 * day)});
  EXPECT_EQ(store->purge_before(cutoff, 100), 2u);
  EXPECT_EQ(store->purge_before(cutoff, 100), 0u);
  auto page = store->list_events({});
  EXPECT_EQ(page.total, 2);
  EXPECT_EQ(ids_of(page), (std::vector<std::string>{"keep2", "keep1"}));
  auto s = store->summarize("u", {});
  EXPECT_EQ(s.total, 1);
  EXPECT_EQ(s.by_type, (std::map<std::string, std::int64_t>{{"a", 1}}));
  EXPECT_EQ(store->summarize("u", {base_day, cutoff}).total, 1);
  EXPECT_EQ(store->history("u", interval::day, {base_day, cutoff}),
            points({{base_day + day, 1}}));
  EXPECT_EQ(store->stats(cutoff).event_types,
            (std::map<std::string, std::int64_t>{{"a", 2}}));
}

TEST_P(event_store, purge_takes_the_oldest_first_up_to_the_limit) {
  auto store = open();
  store->append({make_event("3", "u", "t", base_day + 3 * minute),
                 make_event("1", "u", "t", base_day + 1 * minute),
                 make_event("2", "w", "t", base_day + 2 * minute)});
  EXPECT_EQ(store->purge_before(base_day + hour, 2), 2u);
  EXPECT_EQ(ids_of(store->list_events({})), (std::vector<std::string>{"3"}));
  // The subject whose last event went is no longer an entity.
  auto stats = store->stats(base_day);
  EXPECT_EQ(stats.unique_entities, 1);
  EXPECT_EQ(stats.total_events, 1);
  EXPECT_EQ(store->summarize("w", {}).total, 0);
}

TEST_P(event_store, a_purged_id_can_be_stored_again) {
  auto store = open();
  store->append({make_event("x", "u", "t", base_day)});
  store->purge_before(base_day + 1, 10);
  auto out = store->append({make_event("x", "u", "t", base_day + day)});
  EXPECT_EQ(out[0].status, append_status::stored);
  EXPECT_EQ(store->summarize("u", {}).total, 1);
}

TEST_P(event_store, ping_answers) {
  auto store = open();
  EXPECT_NO_THROW(store->ping());
}

UM_ON_EMBEDDED_BACKENDS(event_store);
UM_ON_EMBEDDED_BACKENDS(listed_store);

} // namespace
