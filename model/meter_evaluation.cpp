#include "model/meter_evaluation.hpp"

#include <algorithm>

namespace um::model {

namespace {

constexpr millis hour_ms = 3'600'000;
constexpr std::size_t max_checked_windows = 200'000;

millis floor_second(millis t) {
  return bucket_floor(t, 1000);
}

// Whether every boundary of the query's windows is a whole UTC hour.
bool windows_on_utc_hours(const meter_query& q, millis lo, millis hi,
                          const date::time_zone* zone) {
  // Without windows, an open bound reports the first or last event's minute,
  // which hour cells cannot tell.
  if (!q.window)
    return q.from_given && q.to_given;
  if (*q.window == window_size::minute)
    return false;
  // Windows of an hour or more; bounded, so an unbounded query checks the
  // zone's rules over the stretch that has data in practice.
  millis from = std::max<millis>(lo, now_millis() - 20 * 366 * 86400000LL);
  millis to = std::min<millis>(hi, now_millis() + 2 * 366 * 86400000LL);
  if (from >= to)
    return true;
  auto windows = windows_between(from, to, *q.window, zone);
  if (windows.size() > max_checked_windows)
    return false;
  return std::all_of(windows.begin(), windows.end(), [](const window& w) {
    return w.start % hour_ms == 0 && w.end % hour_ms == 0;
  });
}

} // namespace

std::vector<rollup_span> plan_meter_read(const meter_query& q,
                                         const date::time_zone* zone) {
  millis lo = floor_second(q.from), hi = floor_second(q.to);
  std::vector<rollup_span> out;
  bool hours = windows_on_utc_hours(q, lo, hi, zone);
  for (auto span : plan_range(lo, hi)) {
    if (span.grain == rollup_grain::day)
      span.grain = rollup_grain::hour;
    if (!hours && span.grain == rollup_grain::hour)
      span.grain = rollup_grain::minute;
    if (!out.empty() && out.back().grain == span.grain && out.back().to == span.from)
      out.back().to = span.to;
    else
      out.push_back(span);
  }
  return out;
}

meter_folder::meter_folder(const meter& m, const meter_query& q,
                           const date::time_zone* zone)
    : meter_(m), query_(q), zone_(zone) {
  for (const auto& key : q.group_by) {
    if (key == "subject") {
      by_subject_ = true;
      continue;
    }
    for (std::size_t i = 0; i < m.group_by.size(); ++i)
      if (m.group_by[i].key == key)
        group_indexes_.push_back(i);
  }
}

void meter_folder::add_cell(const std::string& subject,
                            const std::vector<std::optional<std::string>>& group_values,
                            millis bucket_start, millis bucket_end,
                            const meter_cell& cell) {
  if (cell.count == 0)
    return;
  if (!query_.subjects.empty() || !query_.filter_group_by.empty()) {
    meter_sample probe;
    probe.subject = subject;
    probe.group_values = group_values;
    probe.time = bucket_start;
    if (!matches_query_filters(query_, meter_, probe))
      return;
  }
  millis window_start =
      query_.window ? window_of(bucket_start, *query_.window, zone_).start : 0;
  std::vector<std::optional<std::string>> values;
  values.reserve(group_indexes_.size());
  for (auto i : group_indexes_)
    values.push_back(i < group_values.size() ? group_values[i] : std::nullopt);
  key k{window_start, by_subject_ ? std::optional<std::string>{subject} : std::nullopt,
        std::move(values)};
  // Cells come ordered by bucket and subject, so with windows of the cells'
  // own size each key is a new last one: append at the end instead of
  // searching a map of hundreds of thousands of groups.
  decltype(groups_)::iterator it;
  bool fresh = true;
  if (groups_.empty() || groups_.rbegin()->first < k)
    it = groups_.emplace_hint(groups_.end(), std::move(k), group{});
  else
    std::tie(it, fresh) = groups_.try_emplace(std::move(k));
  auto& g = it->second;
  if (fresh) {
    g.first = bucket_start;
    g.last = bucket_end;
  } else {
    g.first = std::min(g.first, bucket_start);
    g.last = std::max(g.last, bucket_end);
  }
  g.cell.merge(cell);
}

void meter_folder::add_sample(const meter_sample& s, std::int64_t seq) {
  if (!in_query_range(query_, s.time))
    return;
  meter_cell one;
  one.add(s, seq);
  millis minute = bucket_floor(s.time, 60'000);
  add_cell(s.subject, s.group_values, minute, minute + 60'000, one);
}

std::vector<meter_row> meter_folder::rows() const {
  std::vector<meter_row> out;
  out.reserve(groups_.size());
  for (const auto& [k, g] : groups_) {
    meter_row row;
    row.value = g.cell.value(meter_.aggregation);
    if (query_.window) {
      auto w = window_of(std::get<0>(k), *query_.window, zone_);
      row.window_start = w.start;
      row.window_end = w.end;
    } else {
      row.window_start = query_.from_given ? query_.from : g.first;
      row.window_end = query_.to_given ? query_.to : g.last;
    }
    row.subject = std::get<1>(k);
    const auto& values = std::get<2>(k);
    for (std::size_t i = 0; i < group_indexes_.size(); ++i)
      row.group_by.emplace_back(meter_.group_by[group_indexes_[i]].key, values[i]);
    out.push_back(std::move(row));
  }
  return out;
}

} // namespace um::model
