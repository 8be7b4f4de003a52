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

/// A history bucket that `[lo, hi)` covers only in part: its count is the
/// count of `[from, to)`, reported at `bucket`.
struct partial_bucket {
  millis bucket = 0;
  millis from = 0;
  millis to = 0;

  friend bool operator==(const partial_bucket& a, const partial_bucket& b) {
    return a.bucket == b.bucket && a.from == b.from && a.to == b.to;
  }
};

/// How to answer a history of `[lo, hi)` in buckets of `width`: the partial
/// buckets before, the whole buckets `[whole_from, whole_to)` read from the
/// rollup of that width (none when they are equal), then the partial buckets
/// after. Reading them in this order lists the buckets oldest first.
struct history_plan {
  std::vector<partial_bucket> before;
  millis whole_from = 0;
  millis whole_to = 0;
  std::vector<partial_bucket> after;
};

/// Plans a history of `[lo, hi)` (lo < hi) in UTC-aligned buckets of `width`.
history_plan plan_history(millis lo, millis hi, millis width);

} // namespace um::model
