#include "storage/usage_reads.hpp"

namespace um::storage {

namespace {

using model::millis;

void add_counts(const std::vector<type_count>& counts, model::usage_summary& out) {
  for (const auto& c : counts) {
    if (c.count <= 0)
      continue;
    out.by_type[c.type] += c.count;
    out.total += c.count;
  }
}

model::usage_summary range_summary(usage_queries& q, const std::string& subject,
                                   millis from, millis to) {
  model::usage_summary out;
  add_counts(q.span_counts(subject, model::plan_range(from, to)), out);
  return out;
}

model::rollup_grain grain_of(model::interval width) {
  switch (width) {
  case model::interval::minute:
    return model::rollup_grain::minute;
  case model::interval::hour:
    return model::rollup_grain::hour;
  default:
    return model::rollup_grain::day;
  }
}

} // namespace

std::optional<std::pair<millis, millis>>
closed_range(const model::time_range& range,
             const std::optional<std::pair<millis, millis>>& span) {
  millis lo = 0, hi = 0;
  if (!range.since || !range.until) {
    if (!span)
      return std::nullopt;
    lo = span->first;
    hi = span->second + 1;
  }
  if (range.since)
    lo = *range.since;
  if (range.until)
    hi = *range.until + 1;
  if (lo >= hi)
    return std::nullopt;
  return std::pair{lo, hi};
}

namespace {

std::optional<std::pair<millis, millis>>
bounds_of(usage_queries& q, const std::string& subject, const model::time_range& range) {
  std::optional<std::pair<millis, millis>> span;
  if (!range.since || !range.until) {
    span = q.time_span(subject);
    if (!span)
      return std::nullopt;
  }
  return closed_range(range, span);
}

} // namespace

model::usage_summary summarize(usage_queries& q, const std::string& subject,
                               const model::time_range& range) {
  model::usage_summary out;
  if (!range.since && !range.until) {
    // Totals are kept per type, and stored counts above zero.
    for (const auto& c : q.totals(subject)) {
      out.by_type[c.type] = c.count;
      out.total += c.count;
    }
    return out;
  }
  auto bounds = bounds_of(q, subject, range);
  if (!bounds)
    return out;
  return range_summary(q, subject, bounds->first, bounds->second);
}

model::usage_history history(usage_queries& q, const std::string& subject,
                             model::interval width, const model::time_range& range) {
  model::usage_history out;
  auto bounds = bounds_of(q, subject, range);
  if (!bounds)
    return out;
  auto [lo, hi] = *bounds;
  auto plan = model::plan_history(lo, hi, model::interval_millis(width));
  auto partials = [&](const std::vector<model::partial_bucket>& buckets) {
    for (const auto& p : buckets) {
      auto s = range_summary(q, subject, p.from, p.to);
      if (s.total > 0)
        out.push_back({p.bucket, s.total});
    }
  };
  partials(plan.before);
  if (plan.whole_from != plan.whole_to)
    for (const auto& point :
         q.bucket_counts(subject, grain_of(width), plan.whole_from, plan.whole_to))
      if (point.count > 0)
        out.push_back(point);
  partials(plan.after);
  return out;
}

last_hour split_last_hour(millis now) {
  last_hour out;
  out.hour_ago = now - 3'600'000;
  out.first_minute = model::bucket_floor(out.hour_ago, 60'000);
  if (out.first_minute < out.hour_ago)
    out.first_minute += 60'000;
  return out;
}

model::usage_stats stats(usage_queries& q, millis now) {
  model::usage_stats out;
  for (const auto& c : q.type_totals()) {
    if (c.count <= 0)
      continue;
    out.event_types[c.type] = c.count;
    out.total_events += c.count;
  }
  out.unique_entities = q.subject_count();
  auto hour = split_last_hour(now);
  out.events_last_hour = q.count_since_minute(hour.first_minute);
  if (hour.hour_ago < hour.first_minute)
    out.events_last_hour += q.count_events(hour.hour_ago, hour.first_minute);
  return out;
}

} // namespace um::storage
