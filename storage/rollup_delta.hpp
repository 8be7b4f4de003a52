#pragma once

// What both backends share about the v1 usage rollups: the count changes a
// batch makes, summed per rollup row before they are written, so that a batch
// touches each row once, and in sorted key order (std::map), so that
// concurrent writers lock shared rows in the same order.

#include "model/clock.hpp"
#include "model/rollup_plan.hpp"

#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <utility>

namespace um::storage {

/// The grains of the stored v1 rollups, in the order of `rollup_delta::by_grain`.
inline constexpr model::rollup_grain stored_grains[] = {
    model::rollup_grain::minute, model::rollup_grain::hour, model::rollup_grain::day};

/// Count changes to the v1 rollups: per (subject, bucket, type) for each
/// stored grain, per (subject, type) in all, and per minute service-wide.
struct rollup_delta {
  std::map<std::tuple<std::string, model::millis, std::string>, std::int64_t> by_grain[3];
  std::map<std::pair<std::string, std::string>, std::int64_t> totals;
  std::map<model::millis, std::int64_t> global_minutes;

  /// Counts `n` events (negative when removing) of `subject` and `type` at `time`.
  void add(const std::string& subject, const std::string& type, model::millis time,
           std::int64_t n) {
    for (int g = 0; g < 3; ++g) {
      auto width = model::grain_millis(stored_grains[g]);
      by_grain[g][{subject, model::bucket_floor(time, width), type}] += n;
    }
    totals[{subject, type}] += n;
    global_minutes[model::bucket_floor(time, 60'000)] += n;
  }

  /// Whether it changes nothing.
  bool empty() const { return totals.empty(); }
};

} // namespace um::storage
