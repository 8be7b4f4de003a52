#pragma once

// The rules of the v1 usage answers, written once for both backends: which
// range an open bound means, how a range splits into rollup spans, how a
// history joins partial and whole buckets, how "the last hour" splits into
// whole minutes and raw events, which counts are left out. A backend answers
// the few questions of `usage_queries` in its SQL; these functions do the rest.

#include "model/clock.hpp"
#include "model/rollup_plan.hpp"
#include "model/usage.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace um::storage {

/// A count by event type, as a rollup or the events answer it.
struct type_count {
  std::string type;
  std::int64_t count = 0;
};

/// What a backend answers in SQL for the usage routes. Counts are returned as
/// stored (zero and negative ones included); the rules here drop them.
class usage_queries {
public:
  virtual ~usage_queries() = default;

  /// The rollup totals of `subject` by type.
  virtual std::vector<type_count> totals(const std::string& subject) = 0;

  /// The times of `subject`'s first and last event; nothing when it has none.
  virtual std::optional<std::pair<model::millis, model::millis>>
  time_span(const std::string& subject) = 0;

  /// The counts by type of `subject` in each span (raw events or a rollup).
  virtual std::vector<type_count>
  span_counts(const std::string& subject,
              const std::vector<model::rollup_span>& spans) = 0;

  /// The counts of `subject` per bucket of the rollup of `grain` with
  /// `from <= bucket < to`, oldest first.
  virtual std::vector<model::history_point> bucket_counts(const std::string& subject,
                                                          model::rollup_grain grain,
                                                          model::millis from,
                                                          model::millis to) = 0;

  /// The rollup totals of every subject by type.
  virtual std::vector<type_count> type_totals() = 0;

  /// How many subjects have a positive total.
  virtual std::int64_t subject_count() = 0;

  /// The service-wide count of the minutes from `first_minute` on.
  virtual std::int64_t count_since_minute(model::millis first_minute) = 0;

  /// The number of events with `from <= time < to`.
  virtual std::int64_t count_events(model::millis from, model::millis to) = 0;
};

/// The half-open `[lo, hi)` that `range` (inclusive bounds) selects, an open
/// bound closed at the subject's first or last event (`span`, asked only when
/// needed); nothing when it is empty.
std::optional<std::pair<model::millis, model::millis>>
closed_range(const model::time_range& range,
             const std::optional<std::pair<model::millis, model::millis>>& span);

/// The answer of `event_store::summarize`.
model::usage_summary summarize(usage_queries& q, const std::string& subject,
                               const model::time_range& range);

/// The answer of `event_store::history`.
model::usage_history history(usage_queries& q, const std::string& subject,
                             model::interval width, const model::time_range& range);

/// The last hour before `now`, split: raw events in `[hour_ago, first_minute)`
/// (empty when `hour_ago` is on a minute), whole minutes from `first_minute`.
struct last_hour {
  model::millis hour_ago = 0;
  model::millis first_minute = 0;
};

/// Splits the hour before `now` as `stats` reads it.
last_hour split_last_hour(model::millis now);

/// The answer of `event_store::stats`.
model::usage_stats stats(usage_queries& q, model::millis now);

} // namespace um::storage
