#include "model/rollup_plan.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <sstream>
#include <vector>

namespace {

using namespace um::model;

constexpr millis second = 1'000;
constexpr millis minute = 60'000;
constexpr millis hour = 3'600'000;
constexpr millis day = 86'400'000;

int rank(rollup_grain g) {
  switch (g) {
  case rollup_grain::raw:
    return 0;
  case rollup_grain::minute:
    return 1;
  case rollup_grain::hour:
    return 2;
  case rollup_grain::day:
    return 3;
  }
  return -1;
}

std::string describe(const std::vector<rollup_span>& spans) {
  std::ostringstream out;
  for (const auto& s : spans)
    out << "[" << rank(s.grain) << ": " << s.from << ", " << s.to << ") ";
  return out.str();
}

// Checks every structural promise of plan_range for [from, to).
void check_plan(millis from, millis to) {
  auto spans = plan_range(from, to);
  SCOPED_TRACE("plan_range(" + std::to_string(from) + ", " + std::to_string(to) +
               ") = " + describe(spans));
  if (from >= to) {
    EXPECT_TRUE(spans.empty());
    return;
  }
  ASSERT_FALSE(spans.empty());
  EXPECT_EQ(spans.front().from, from);
  EXPECT_EQ(spans.back().to, to);
  millis whole_days = 0;
  millis minute_total = 0, hour_total = 0;
  for (std::size_t i = 0; i < spans.size(); ++i) {
    const auto& s = spans[i];
    EXPECT_LT(s.from, s.to);
    if (i + 1 < spans.size()) {
      EXPECT_EQ(s.to, spans[i + 1].from);
    }
    if (s.grain == rollup_grain::raw) {
      EXPECT_TRUE(i == 0 || i + 1 == spans.size()) << "raw span in the middle";
      // A raw span holds no whole aligned minute: a rollup could answer that.
      millis first_boundary = bucket_floor(s.from - 1, minute) + minute;
      EXPECT_GT(first_boundary + minute, s.to);
      EXPECT_LT(s.to - s.from, 2 * minute);
      if (spans.size() > 1) {
        EXPECT_LT(s.to - s.from, minute);
      }
    } else {
      millis w = grain_millis(s.grain);
      EXPECT_EQ(bucket_floor(s.from, w), s.from);
      EXPECT_EQ(bucket_floor(s.to, w), s.to);
    }
    if (s.grain == rollup_grain::day)
      whole_days += (s.to - s.from) / day;
    if (s.grain == rollup_grain::minute)
      minute_total += s.to - s.from;
    if (s.grain == rollup_grain::hour)
      hour_total += s.to - s.from;
  }
  // Coarser grains only in the middle: ranks rise, then fall.
  auto peak =
      std::max_element(spans.begin(), spans.end(), [](const auto& a, const auto& b) {
        return rank(a.grain) < rank(b.grain);
      });
  for (auto it = spans.begin(); it != peak; ++it)
    EXPECT_LT(rank(it->grain), rank((it + 1)->grain));
  for (auto it = peak; it + 1 != spans.end(); ++it)
    EXPECT_GT(rank(it->grain), rank((it + 1)->grain));
  EXPECT_LE(spans.size(), 7u);
  EXPECT_LE(static_cast<millis>(spans.size()), 6 + whole_days);
  // Bounded reads: under an hour of minutes and a day of hours at each end.
  EXPECT_LT(minute_total, 2 * hour);
  EXPECT_LT(hour_total, 2 * day);
}

TEST(rollup_plan, grain_widths) {
  EXPECT_EQ(grain_millis(rollup_grain::raw), 0);
  EXPECT_EQ(grain_millis(rollup_grain::minute), minute);
  EXPECT_EQ(grain_millis(rollup_grain::hour), hour);
  EXPECT_EQ(grain_millis(rollup_grain::day), day);
}

TEST(rollup_plan, empty_and_inverted_ranges) {
  EXPECT_TRUE(plan_range(5, 5).empty());
  EXPECT_TRUE(plan_range(10, 5).empty());
}

TEST(rollup_plan, inside_one_minute_is_raw) {
  std::vector<rollup_span> expected{{rollup_grain::raw, 10 * second, 50 * second}};
  EXPECT_EQ(plan_range(10 * second, 50 * second), expected);
  // Straddling a minute boundary without a whole minute inside.
  expected = {{rollup_grain::raw, 30 * second, 90 * second}};
  EXPECT_EQ(plan_range(30 * second, 90 * second), expected);
}

TEST(rollup_plan, one_aligned_day_is_one_span) {
  std::vector<rollup_span> expected{{rollup_grain::day, 3 * day, 4 * day}};
  EXPECT_EQ(plan_range(3 * day, 4 * day), expected);
}

TEST(rollup_plan, aligned_hour_is_one_span) {
  std::vector<rollup_span> expected{{rollup_grain::hour, 5 * hour, 6 * hour}};
  EXPECT_EQ(plan_range(5 * hour, 6 * hour), expected);
}

TEST(rollup_plan, full_staircase) {
  millis from = 30 * second, to = 2 * day + hour + minute + 15 * second;
  std::vector<rollup_span> expected{
      {rollup_grain::raw, 30 * second, minute},
      {rollup_grain::minute, minute, hour},
      {rollup_grain::hour, hour, day},
      {rollup_grain::day, day, 2 * day},
      {rollup_grain::hour, 2 * day, 2 * day + hour},
      {rollup_grain::minute, 2 * day + hour, 2 * day + hour + minute},
      {rollup_grain::raw, 2 * day + hour + minute, to},
  };
  EXPECT_EQ(plan_range(from, to), expected);
  check_plan(from, to);
}

TEST(rollup_plan, negative_times_align_too) {
  std::vector<rollup_span> expected{
      {rollup_grain::raw, -90 * second, -minute},
      {rollup_grain::minute, -minute, 0},
      {rollup_grain::raw, 0, 10 * second},
  };
  EXPECT_EQ(plan_range(-90 * second, 10 * second), expected);
  check_plan(-3 * day - 17, 2 * day + 5);
}

TEST(rollup_plan, structure_holds_for_random_ranges) {
  std::mt19937_64 rng{7};
  std::uniform_int_distribution<millis> start(-10 * day, 10 * day);
  std::uniform_int_distribution<int> scale(0, 4);
  millis scales[] = {second, minute, hour, day, 20 * day};
  for (int i = 0; i < 5000; ++i) {
    millis from = start(rng);
    // Snap some starts to boundaries, where off-by-ones live.
    if (i % 3 == 0)
      from = bucket_floor(from, scales[scale(rng)]);
    std::uniform_int_distribution<millis> length(0, scales[scale(rng)] * 3);
    millis to = from + length(rng);
    if (i % 5 == 0)
      to = bucket_floor(to, scales[scale(rng)]);
    check_plan(from, to);
    if (HasFailure())
      return;
  }
}

// Counting events through the plan and rollups equals counting them directly.
TEST(rollup_plan, counts_match_brute_force) {
  std::mt19937_64 rng{11};
  const millis base = 1'704'067'200'000; // 2024-01-01T00:00:00Z
  std::uniform_int_distribution<millis> when(base - 2 * day, base + 5 * day);
  std::vector<millis> events(4000);
  for (auto& t : events)
    t = when(rng);
  std::map<millis, std::int64_t> by_grain[4];
  for (auto t : events)
    for (auto g : {rollup_grain::minute, rollup_grain::hour, rollup_grain::day})
      ++by_grain[rank(g)][bucket_floor(t, grain_millis(g))];
  auto direct = [&](millis from, millis to) {
    return std::count_if(events.begin(), events.end(),
                         [&](millis t) { return from <= t && t < to; });
  };
  auto planned = [&](millis from, millis to) {
    std::int64_t n = 0;
    for (const auto& s : plan_range(from, to)) {
      if (s.grain == rollup_grain::raw) {
        n += direct(s.from, s.to);
        continue;
      }
      const auto& buckets = by_grain[rank(s.grain)];
      for (auto it = buckets.lower_bound(s.from); it != buckets.end() && it->first < s.to;
           ++it)
        n += it->second;
    }
    return n;
  };
  std::uniform_int_distribution<millis> edge(base - 3 * day, base + 6 * day);
  for (int i = 0; i < 500; ++i) {
    millis a = edge(rng), b = edge(rng);
    if (i % 4 == 0)
      a = bucket_floor(a, hour);
    if (i % 7 == 0)
      b = bucket_floor(b, minute);
    millis from = std::min(a, b), to = std::max(a, b);
    ASSERT_EQ(planned(from, to), direct(from, to)) << "[" << from << ", " << to << ")";
  }
}

} // namespace

namespace {

using um::model::partial_bucket;
using um::model::plan_history;

constexpr um::model::millis h = 3'600'000;

TEST(plan_history, whole_buckets_between_partial_ends) {
  auto plan = plan_history(10 * h + 5, 14 * h + 7, h);
  EXPECT_EQ(plan.before, (std::vector<partial_bucket>{{10 * h, 10 * h + 5, 11 * h}}));
  EXPECT_EQ(plan.whole_from, 11 * h);
  EXPECT_EQ(plan.whole_to, 14 * h);
  EXPECT_EQ(plan.after, (std::vector<partial_bucket>{{14 * h, 14 * h, 14 * h + 7}}));
}

TEST(plan_history, aligned_range_is_all_whole) {
  auto plan = plan_history(10 * h, 12 * h, h);
  EXPECT_TRUE(plan.before.empty());
  EXPECT_EQ(plan.whole_from, 10 * h);
  EXPECT_EQ(plan.whole_to, 12 * h);
  EXPECT_TRUE(plan.after.empty());
}

TEST(plan_history, inside_one_bucket_or_across_one_boundary) {
  auto inside = plan_history(10 * h + 5, 10 * h + 9, h);
  EXPECT_EQ(inside.before,
            (std::vector<partial_bucket>{{10 * h, 10 * h + 5, 10 * h + 9}}));
  EXPECT_EQ(inside.whole_from, inside.whole_to);
  EXPECT_TRUE(inside.after.empty());
  auto across = plan_history(10 * h + 5, 11 * h + 9, h);
  EXPECT_EQ(across.before, (std::vector<partial_bucket>{{10 * h, 10 * h + 5, 11 * h}}));
  EXPECT_EQ(across.whole_from, across.whole_to);
  EXPECT_EQ(across.after, (std::vector<partial_bucket>{{11 * h, 11 * h, 11 * h + 9}}));
}

} // namespace
