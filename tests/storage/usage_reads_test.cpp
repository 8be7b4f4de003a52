// The usage rules both backends share, against a backend that only records
// what it is asked and answers canned counts.

#include "storage/sqlite/connection.hpp"
#include "storage/usage_reads.hpp"
#include "tests/storage/store_fixture.hpp"

#include <gtest/gtest.h>

namespace {

using namespace um;
using namespace um::testing;
using storage::type_count;

class canned_queries final : public storage::usage_queries {
public:
  std::optional<std::pair<millis, millis>> span;
  std::vector<type_count> counts; ///< What every span read answers.
  std::vector<model::history_point> buckets;
  std::vector<std::string> asked;

  std::vector<type_count> totals(const std::string&) override {
    asked.push_back("totals");
    return {{"a", 2}, {"b", 3}};
  }
  std::optional<std::pair<millis, millis>> time_span(const std::string&) override {
    asked.push_back("span");
    return span;
  }
  std::vector<type_count> span_counts(const std::string&,
                                      const std::vector<model::rollup_span>&) override {
    asked.push_back("spans");
    return counts;
  }
  std::vector<model::history_point> bucket_counts(const std::string&, model::rollup_grain,
                                                  millis from, millis to) override {
    asked.push_back("buckets " + std::to_string(from) + " " + std::to_string(to));
    return buckets;
  }
  std::vector<type_count> type_totals() override { return {{"a", 4}, {"gone", 0}}; }
  std::int64_t subject_count() override { return 7; }
  std::int64_t count_since_minute(millis first_minute) override {
    asked.push_back("minutes " + std::to_string(first_minute));
    return 10;
  }
  std::int64_t count_events(millis from, millis to) override {
    asked.push_back("events " + std::to_string(from) + " " + std::to_string(to));
    return 1;
  }
};

TEST(usage_reads, open_bounds_close_at_the_first_and_last_event) {
  std::pair<millis, millis> span{base_day + 5, base_day + 9};
  EXPECT_EQ(storage::closed_range({}, span), (std::pair{base_day + 5, base_day + 10}));
  EXPECT_EQ(storage::closed_range({base_day + 7, std::nullopt}, span),
            (std::pair{base_day + 7, base_day + 10}));
  EXPECT_EQ(storage::closed_range({base_day, base_day + 1}, std::nullopt),
            (std::pair{base_day, base_day + 2}));
  EXPECT_FALSE(storage::closed_range({std::nullopt, base_day}, std::nullopt));
  EXPECT_FALSE(storage::closed_range({base_day + 10, std::nullopt}, span));
}

TEST(usage_reads, a_summary_without_bounds_reads_the_totals_only) {
  canned_queries q;
  auto s = storage::summarize(q, "u", {});
  EXPECT_EQ(s.total, 5);
  EXPECT_EQ(q.asked, std::vector<std::string>{"totals"});
  // With a bound, the span is asked for the open end, and counts <= 0 drop.
  q.asked.clear();
  q.span = std::pair{base_day, base_day + hour};
  q.counts = {{"a", 3}, {"b", 0}, {"a", -1}, {"c", 1}};
  s = storage::summarize(q, "u", {base_day, std::nullopt});
  EXPECT_EQ(q.asked, (std::vector<std::string>{"span", "spans"}));
  EXPECT_EQ(s.total, 4);
  EXPECT_EQ(s.by_type, (std::map<std::string, std::int64_t>{{"a", 3}, {"c", 1}}));
}

TEST(usage_reads, a_history_joins_partial_and_whole_buckets) {
  canned_queries q;
  q.counts = {{"a", 1}};
  q.buckets = {{base_day + hour, 4}, {base_day + 2 * hour, 0}};
  auto h = storage::history(q, "u", model::interval::hour,
                            {base_day + 30 * minute, base_day + 3 * hour + 5 * minute});
  // The half hour before, the whole hours (the empty one left out), the five
  // minutes after.
  ASSERT_EQ(h.size(), 3u);
  EXPECT_EQ(h[0].bucket_start, base_day);
  EXPECT_EQ(h[1].bucket_start, base_day + hour);
  EXPECT_EQ(h[1].count, 4);
  EXPECT_EQ(h[2].bucket_start, base_day + 3 * hour);
  EXPECT_EQ(q.asked[1], "buckets " + std::to_string(base_day + hour) + " " +
                            std::to_string(base_day + 3 * hour));
}

TEST(usage_reads, the_last_hour_is_whole_minutes_and_raw_events_before_them) {
  auto on_minute = storage::split_last_hour(base_day + hour);
  EXPECT_EQ(on_minute.hour_ago, base_day);
  EXPECT_EQ(on_minute.first_minute, base_day);
  auto off_minute = storage::split_last_hour(base_day + hour + 1'500);
  EXPECT_EQ(off_minute.hour_ago, base_day + 1'500);
  EXPECT_EQ(off_minute.first_minute, base_day + minute);

  canned_queries q;
  auto s = storage::stats(q, base_day + hour + 1'500);
  EXPECT_EQ(s.events_last_hour, 11);
  EXPECT_EQ(s.total_events, 4);
  EXPECT_EQ(s.event_types.count("gone"), 0u);
  EXPECT_EQ(s.unique_entities, 7);
  EXPECT_EQ(q.asked,
            (std::vector<std::string>{"minutes " + std::to_string(base_day + minute),
                                      "events " + std::to_string(base_day + 1'500) + " " +
                                          std::to_string(base_day + minute)}));
  q.asked.clear();
  EXPECT_EQ(storage::stats(q, base_day + hour).events_last_hour, 10);
  EXPECT_EQ(q.asked.size(), 1u); // on a minute: no raw events to count
}

TEST(sqlite_statements,
     a_statement_whose_parameters_the_code_does_not_bind_fails_to_open) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(":memory:", &db), SQLITE_OK);
  EXPECT_NO_THROW((storage::sqlite::statement{db, "fine", 2, "SELECT ?1 + ?2"}));
  try {
    storage::sqlite::statement wrong{db, "wrong", 1, "SELECT ? + ?"};
    ADD_FAILURE() << "prepared a statement with the wrong parameter count";
  } catch (const storage::storage_error& e) {
    EXPECT_EQ(e.kind(), storage::failure_kind::internal);
    EXPECT_EQ(std::string{e.what()},
              "sqlite: statement wrong takes 2 parameters, the code binds 1");
  }
  EXPECT_THROW((storage::sqlite::statement{db, "broken", 0, "SELEC 1"}),
               storage::storage_error);
  sqlite3_close(db);
}

} // namespace
