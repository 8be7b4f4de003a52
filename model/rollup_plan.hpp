#pragma once

#include "model/clock.hpp"

#include <vector>

namespace um::model {

/// Granularities of the stored rollups; `raw` means counting events themselves.
enum class rollup_grain { raw, minute, hour, day };

/// A half-open time span `[from, to)` read at one grain. Spans of a rollup grain
/// are aligned to that grain's UTC buckets.
struct rollup_span {
  rollup_grain grain = rollup_grain::raw;
  millis from = 0;
  millis to = 0;

  friend bool operator==(const rollup_span& a, const rollup_span& b) {
    return a.grain == b.grain && a.from == b.from && a.to == b.to;
  }
};

/// Width of one bucket of a rollup grain in milliseconds (0 for `raw`).
millis grain_millis(rollup_grain grain);

/// Splits `[from, to)` into the fewest spans that rollups can answer: raw
/// partial minutes at the two ends, whole minutes up to the hour, whole hours
/// up to the day, whole days in between. The number of spans, and of buckets
/// read, depends on the length of the range, never on how many events it holds.
std::vector<rollup_span> plan_range(millis from, millis to);

} // namespace um::model
