#include "model/metering.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>
#include <tuple>

namespace {

using namespace um::model;

constexpr meter_aggregation all_aggregations[] = {
    meter_aggregation::sum,   meter_aggregation::count, meter_aggregation::unique_count,
    meter_aggregation::avg,   meter_aggregation::min,   meter_aggregation::max,
    meter_aggregation::latest};

struct numbered_sample {
  meter_sample sample;
  std::int64_t seq;
};

// Integral values and quarter steps keep sums exact in any order, so merges
// compare with ==; times collide often to exercise the LATEST tie-break.
std::vector<numbered_sample> random_samples(std::mt19937_64& rng, std::size_t n,
                                            bool with_unique) {
  std::uniform_int_distribution<int> value{-400, 400};
  std::uniform_int_distribution<millis> time{1'000, 1'020};
  std::uniform_int_distribution<int> user{0, 15};
  std::vector<numbered_sample> out;
  for (std::size_t i = 0; i < n; ++i) {
    meter_sample s;
    s.subject = "c";
    s.value = value(rng) / 4.0;
    s.time = time(rng);
    if (with_unique)
      s.unique_value = "user-" + std::to_string(user(rng));
    out.push_back({s, static_cast<std::int64_t>(i)});
  }
  std::shuffle(out.begin(), out.end(), rng);
  return out;
}

double brute_force(meter_aggregation a, const std::vector<numbered_sample>& samples) {
  if (samples.empty())
    return 0;
  double sum = 0, min = samples[0].sample.value, max = min;
  std::set<std::string> uniques;
  const numbered_sample* latest = &samples[0];
  for (const auto& s : samples) {
    sum += s.sample.value;
    min = std::min(min, s.sample.value);
    max = std::max(max, s.sample.value);
    if (s.sample.unique_value)
      uniques.insert(*s.sample.unique_value);
    if (std::tie(s.sample.time, s.seq) > std::tie(latest->sample.time, latest->seq))
      latest = &s;
  }
  switch (a) {
  case meter_aggregation::sum:
    return sum;
  case meter_aggregation::count:
    return static_cast<double>(samples.size());
  case meter_aggregation::unique_count:
    return static_cast<double>(uniques.size());
  case meter_aggregation::avg:
    return sum / static_cast<double>(samples.size());
  case meter_aggregation::min:
    return min;
  case meter_aggregation::max:
    return max;
  case meter_aggregation::latest:
    return latest->sample.value;
  }
  return 0;
}

meter_cell cell_of(const std::vector<numbered_sample>& samples, std::size_t from,
                   std::size_t to) {
  meter_cell c;
  for (std::size_t i = from; i < to; ++i)
    c.add(samples[i].sample, samples[i].seq);
  return c;
}

void expect_same(const meter_cell& a, const meter_cell& b) {
  for (auto agg : all_aggregations)
    EXPECT_EQ(a.value(agg), b.value(agg)) << meter_aggregation_name(agg);
  EXPECT_EQ(a.count, b.count);
  EXPECT_EQ(a.latest_time, b.latest_time);
  EXPECT_EQ(a.latest_seq, b.latest_seq);
  EXPECT_EQ(a.uniques, b.uniques);
}

TEST(meter_cell, empty_cell_is_zero) {
  meter_cell c;
  for (auto agg : all_aggregations)
    EXPECT_EQ(c.value(agg), 0) << meter_aggregation_name(agg);
}

TEST(meter_cell, each_aggregation_matches_brute_force) {
  std::mt19937_64 rng{7};
  for (int round = 0; round < 200; ++round) {
    auto samples = random_samples(rng, 1 + round % 40, round % 2 == 0);
    auto c = cell_of(samples, 0, samples.size());
    for (auto agg : all_aggregations)
      EXPECT_DOUBLE_EQ(c.value(agg), brute_force(agg, samples))
          << meter_aggregation_name(agg) << " round " << round;
  }
}

TEST(meter_cell, latest_breaks_time_ties_by_sequence) {
  meter_cell c;
  meter_sample s;
  s.time = 100;
  s.value = 1;
  c.add(s, 5);
  s.value = 2;
  c.add(s, 3); // same time, stored earlier: loses
  EXPECT_EQ(c.value(meter_aggregation::latest), 1);
  s.value = 3;
  c.add(s, 9); // same time, stored later: wins
  EXPECT_EQ(c.value(meter_aggregation::latest), 3);
  s.time = 99;
  s.value = 4;
  c.add(s, 100); // older time: loses whatever its sequence
  EXPECT_EQ(c.value(meter_aggregation::latest), 3);
  s.time = -5; // before the epoch, into an empty cell
  meter_cell d;
  d.add(s, 0);
  EXPECT_EQ(d.value(meter_aggregation::latest), 4);
  EXPECT_EQ(d.latest_time, -5);
}

TEST(meter_cell, negative_values_set_min_and_max) {
  meter_cell c;
  meter_sample s;
  s.value = -3;
  c.add(s, 0);
  s.value = -1;
  c.add(s, 1);
  EXPECT_EQ(c.value(meter_aggregation::min), -3);
  EXPECT_EQ(c.value(meter_aggregation::max), -1);
  EXPECT_EQ(c.value(meter_aggregation::avg), -2);
}

TEST(meter_cell, merge_equals_adding_everything) {
  std::mt19937_64 rng{11};
  for (int round = 0; round < 200; ++round) {
    auto samples = random_samples(rng, 30, true);
    std::uniform_int_distribution<std::size_t> cut{0, samples.size()};
    auto i = cut(rng), j = cut(rng);
    if (i > j)
      std::swap(i, j);
    auto whole = cell_of(samples, 0, samples.size());
    auto left = cell_of(samples, 0, i);
    left.merge(cell_of(samples, i, j));
    left.merge(cell_of(samples, j, samples.size()));
    expect_same(left, whole);
  }
}

TEST(meter_cell, merge_is_associative_and_commutative) {
  std::mt19937_64 rng{13};
  for (int round = 0; round < 200; ++round) {
    auto samples = random_samples(rng, 24, round % 3 != 0);
    std::uniform_int_distribution<std::size_t> size{0, 8};
    std::size_t i = size(rng), j = i + size(rng);
    auto a = cell_of(samples, 0, i), b = cell_of(samples, i, j),
         c = cell_of(samples, j, samples.size());
    auto ab_c = a;
    ab_c.merge(b);
    ab_c.merge(c);
    auto bc = b;
    bc.merge(c);
    auto a_bc = a;
    a_bc.merge(bc);
    expect_same(ab_c, a_bc);
    auto ca = c;
    ca.merge(a);
    auto cab = ca;
    cab.merge(b);
    expect_same(cab, ab_c);
    auto ba = b;
    ba.merge(a);
    auto ab = a;
    ab.merge(b);
    expect_same(ab, ba);
  }
}

TEST(meter_cell, merging_empty_cells_changes_nothing) {
  std::mt19937_64 rng{17};
  auto samples = random_samples(rng, 10, true);
  auto c = cell_of(samples, 0, samples.size());
  auto before = c;
  c.merge(meter_cell{});
  expect_same(c, before);
  meter_cell empty;
  empty.merge(before);
  expect_same(empty, before);
}

} // namespace
