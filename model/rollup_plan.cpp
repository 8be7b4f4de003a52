#include "model/rollup_plan.hpp"

#include <algorithm>

namespace um::model {

namespace {

millis ceil_to(millis t, millis width) {
  millis floor = bucket_floor(t, width);
  return floor == t ? t : floor + width;
}

void push(std::vector<rollup_span>& out, rollup_grain grain, millis from, millis to) {
  if (from < to)
    out.push_back({grain, from, to});
}

// Covers the aligned range [from, to) of `grain` with that grain at the ends
// and coarser grains in the middle.
void cover(std::vector<rollup_span>& out, rollup_grain grain, millis from, millis to) {
  if (from >= to)
    return;
  if (grain == rollup_grain::day) {
    push(out, grain, from, to);
    return;
  }
  auto coarser = grain == rollup_grain::minute ? rollup_grain::hour : rollup_grain::day;
  millis width = grain_millis(coarser);
  millis inner_from = ceil_to(from, width), inner_to = bucket_floor(to, width);
  if (inner_from >= inner_to) {
    push(out, grain, from, to);
    return;
  }
  push(out, grain, from, inner_from);
  cover(out, coarser, inner_from, inner_to);
  push(out, grain, inner_to, to);
}

} // namespace

millis grain_millis(rollup_grain grain) {
  switch (grain) {
  case rollup_grain::raw:
    return 0;
  case rollup_grain::minute:
    return interval_millis(interval::minute);
  case rollup_grain::hour:
    return interval_millis(interval::hour);
  case rollup_grain::day:
    return interval_millis(interval::day);
  }
  return 0;
}

std::vector<rollup_span> plan_range(millis from, millis to) {
  std::vector<rollup_span> out;
  if (from >= to)
    return out;
  millis minute = grain_millis(rollup_grain::minute);
  millis m0 = ceil_to(from, minute), m1 = bucket_floor(to, minute);
  if (m0 >= m1) {
    push(out, rollup_grain::raw, from, to);
    return out;
  }
  push(out, rollup_grain::raw, from, m0);
  cover(out, rollup_grain::minute, m0, m1);
  push(out, rollup_grain::raw, m1, to);
  return out;
}

history_plan plan_history(millis lo, millis hi, millis width) {
  history_plan plan;
  const millis first_full =
      bucket_floor(lo, width) == lo ? lo : bucket_floor(lo, width) + width;
  const millis last_full = bucket_floor(hi, width);
  if (first_full >= last_full) {
    // No whole bucket: one partial bucket, or two around a boundary.
    const millis b0 = bucket_floor(lo, width), b1 = bucket_floor(hi - 1, width);
    plan.before.push_back({b0, lo, std::min(hi, b0 + width)});
    if (b1 != b0)
      plan.after.push_back({b1, b1, hi});
    plan.whole_from = plan.whole_to = first_full;
    return plan;
  }
  if (lo < first_full)
    plan.before.push_back({first_full - width, lo, first_full});
  plan.whole_from = first_full;
  plan.whole_to = last_full;
  if (last_full < hi)
    plan.after.push_back({last_full, last_full, hi});
  return plan;
}

} // namespace um::model
