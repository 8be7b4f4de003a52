#include "model/meter_evaluation.hpp"

#include <algorithm>
#include <functional>

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
    : meter_(m), query_(q), zone_(zone), merge_at_(max_query_rows) {
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
  std::uint32_t subject_key = by_subject_ ? subject_id(subject) : 0;
  std::uint32_t values_key = 0;
  if (!group_indexes_.empty()) {
    std::vector<std::optional<std::string>> values;
    values.reserve(group_indexes_.size());
    for (auto i : group_indexes_)
      values.push_back(i < group_values.size() ? group_values[i] : std::nullopt);
    values_key = values_id(std::move(values));
  }
  // Cells of one subject come in bucket order, so cells of one window
  // usually follow each other: fold them into the last entry.
  if (entries_.empty() || entries_.back().window != window_start ||
      entries_.back().subject != subject_key || entries_.back().values != values_key) {
    entries_.push_back({window_start, subject_key, values_key, {}});
    entries_.back().g.first = bucket_start;
    entries_.back().g.last = bucket_end;
  }
  auto& g = entries_.back().g;
  g.first = std::min(g.first, bucket_start);
  g.last = std::max(g.last, bucket_end);
  g.cell.merge(cell);
  if (entries_.size() > merge_at_) {
    merge_entries();
    merge_at_ = std::max(max_query_rows, 2 * entries_.size());
  }
}

std::uint32_t meter_folder::subject_id(const std::string& subject) {
  if (!subjects_.empty() && subjects_.back() == subject)
    return static_cast<std::uint32_t>(subjects_.size() - 1);
  auto [it, fresh] =
      subject_ids_.try_emplace(subject, static_cast<std::uint32_t>(subjects_.size()));
  if (fresh)
    subjects_.push_back(subject);
  return it->second;
}

std::uint32_t meter_folder::values_id(std::vector<std::optional<std::string>> values) {
  auto [it, fresh] =
      value_ids_.try_emplace(values, static_cast<std::uint32_t>(value_lists_.size()));
  if (fresh)
    value_lists_.push_back(std::move(values));
  return it->second;
}

void meter_folder::entry_blocks::push_back(entry e) {
  if (size_ % block == 0) {
    blocks_.emplace_back();
    blocks_.back().reserve(block);
  }
  blocks_.back().push_back(std::move(e));
  ++size_;
}

void meter_folder::entry_blocks::clear() {
  blocks_.clear();
  blocks_.shrink_to_fit();
  size_ = 0;
}

bool meter_folder::sort_key::operator<(const sort_key& o) const {
  return std::tie(window, subject, values, index) <
         std::tie(o.window, o.subject, o.values, o.index);
}

std::vector<meter_folder::sort_key> meter_folder::sorted_keys() {
  // Ranks of the interned subjects and value lists in their own order.
  std::vector<std::uint32_t> subject_rank(subjects_.size());
  {
    std::vector<std::uint32_t> order(subjects_.size());
    for (std::uint32_t i = 0; i < order.size(); ++i)
      order[i] = i;
    std::sort(order.begin(), order.end(),
              [&](auto a, auto b) { return subjects_[a] < subjects_[b]; });
    for (std::uint32_t r = 0; r < order.size(); ++r)
      subject_rank[order[r]] = r;
  }
  std::vector<std::uint32_t> values_rank(value_lists_.size());
  std::uint32_t rank = 0;
  for (const auto& [values, id] : value_ids_)
    values_rank[id] = rank++;
  std::vector<sort_key> keys;
  keys.reserve(entries_.size());
  for (std::uint32_t i = 0; i < entries_.size(); ++i) {
    const auto& e = entries_[i];
    keys.push_back({e.window, by_subject_ ? subject_rank[e.subject] : 0,
                    group_indexes_.empty() ? 0 : values_rank[e.values], i});
  }
  std::sort(keys.begin(), keys.end());
  return keys;
}

void meter_folder::merge_entries() {
  auto keys = sorted_keys();
  entry_blocks merged;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    auto& e = entries_[keys[i].index];
    if (i > 0 && keys[i].same_row(keys[i - 1])) {
      auto& into = merged.back().g;
      into.first = std::min(into.first, e.g.first);
      into.last = std::max(into.last, e.g.last);
      into.cell.merge(e.g.cell);
      continue;
    }
    merged.push_back(std::move(e));
  }
  entries_ = std::move(merged);
}

void meter_folder::add_sample(const meter_sample& s, std::int64_t seq) {
  if (!in_query_range(query_, s.time))
    return;
  meter_cell one;
  one.add(s, seq);
  millis minute = bucket_floor(s.time, 60'000);
  add_cell(s.subject, s.group_values, minute, minute + 60'000, one);
}

std::vector<meter_row> meter_folder::take_rows() {
  auto keys = sorted_keys();
  std::vector<meter_row> out;
  out.reserve(keys.size());
  for (std::size_t i = 0; i < keys.size();) {
    // The entries of one row follow each other in key order: fold them into
    // the first.
    auto& g = entries_[keys[i].index].g;
    const auto& first = keys[i];
    for (++i; i < keys.size() && keys[i].same_row(first); ++i) {
      const auto& more = entries_[keys[i].index].g;
      g.first = std::min(g.first, more.first);
      g.last = std::max(g.last, more.last);
      g.cell.merge(more.cell);
    }
    const auto& e = entries_[first.index];
    meter_row row;
    row.value = g.cell.value(meter_.aggregation);
    if (query_.window) {
      auto w = window_of(e.window, *query_.window, zone_);
      row.window_start = w.start;
      row.window_end = w.end;
    } else {
      row.window_start = query_.from_given ? query_.from : g.first;
      row.window_end = query_.to_given ? query_.to : g.last;
    }
    if (by_subject_)
      row.subject = subjects_[e.subject];
    if (!group_indexes_.empty()) {
      const auto& values = value_lists_[e.values];
      for (std::size_t v = 0; v < group_indexes_.size(); ++v)
        row.group_by.emplace_back(meter_.group_by[group_indexes_[v]].key, values[v]);
    }
    out.push_back(std::move(row));
  }
  entries_.clear();
  return out;
}

} // namespace um::model
