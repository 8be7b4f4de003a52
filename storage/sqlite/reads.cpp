// The SQLite store's reads of events and usage: the SQL of `usage_queries`;
// the rules that combine its answers are storage/usage_reads.*.

#include "storage/sql_bounds.hpp"
#include "storage/sqlite/store.hpp"
#include "storage/usage_reads.hpp"

namespace um::storage::sqlite {

namespace {

using model::millis;

std::vector<type_count> type_counts(statement& q) {
  std::vector<type_count> out;
  while (q.step())
    out.push_back({q.text(0), q.integer(1)});
  return out;
}

class sqlite_usage final : public usage_queries {
public:
  explicit sqlite_usage(statements& q) : q_(q) {}

  std::vector<type_count> totals(const std::string& subject) override {
    reset_guard guard{q_.totals_of};
    q_.totals_of.bind(1, subject);
    return type_counts(q_.totals_of);
  }

  std::optional<std::pair<millis, millis>>
  time_span(const std::string& subject) override {
    auto& b = q_.time_bounds;
    reset_guard guard{b};
    b.bind(1, subject);
    if (!b.step() || b.is_null(0))
      return std::nullopt;
    return std::pair{b.integer(0), b.integer(1)};
  }

  std::vector<type_count>
  span_counts(const std::string& subject,
              const std::vector<model::rollup_span>& spans) override {
    std::vector<type_count> out;
    for (const auto& span : spans) {
      auto& q = q_.range(span.grain);
      reset_guard guard{q};
      q.bind(1, subject).bind(2, span.from).bind(3, span.to);
      for (auto& c : type_counts(q))
        out.push_back(std::move(c));
    }
    return out;
  }

  std::vector<model::history_point> bucket_counts(const std::string& subject,
                                                  model::rollup_grain grain, millis from,
                                                  millis to) override {
    std::vector<model::history_point> out;
    auto& q = q_.history(grain);
    reset_guard guard{q};
    q.bind(1, subject).bind(2, from).bind(3, to);
    while (q.step())
      out.push_back({q.integer(0), q.integer(1)});
    return out;
  }

  std::vector<type_count> type_totals() override {
    reset_guard guard{q_.stats_types};
    return type_counts(q_.stats_types);
  }

  std::int64_t subject_count() override { return single(q_.stats_entities); }

  std::int64_t count_since_minute(millis first_minute) override {
    q_.stats_recent_minutes.bind(1, first_minute);
    return single(q_.stats_recent_minutes);
  }

  std::int64_t count_events(millis from, millis to) override {
    q_.count_time_range.bind(1, from).bind(2, to);
    return single(q_.count_time_range);
  }

private:
  static std::int64_t single(statement& q) {
    reset_guard guard{q};
    return q.step() ? q.integer(0) : 0;
  }

  statements& q_;
};

} // namespace

model::event_page store::list_events(const model::event_filter& f) {
  model::event_page page;
  bool by_subject = !f.subject.empty(), by_type = !f.type.empty();
  {
    auto& list = q_->list(by_subject, by_type);
    reset_guard guard{list};
    int i = 1;
    if (by_subject)
      list.bind(i++, f.subject);
    if (by_type)
      list.bind(i++, f.type);
    list.bind(i, page_limit(f.limit));
    list.bind(i + 1, page_offset(f.offset));
    std::size_t bytes = 0;
    while (model::page_has_room(bytes) && list.step()) {
      page.events.push_back(read_event(list, 0));
      bytes += page.events.back().data.size();
    }
  }
  auto& total = q_->total(by_subject, by_type);
  reset_guard guard{total};
  int i = 1;
  if (by_subject)
    total.bind(i++, f.subject);
  if (by_type)
    total.bind(i++, f.type);
  page.total = total.step() ? total.integer(0) : 0;
  return page;
}

model::usage_summary store::summarize(const std::string& subject,
                                      const model::time_range& range) {
  sqlite_usage q{*q_};
  return storage::summarize(q, subject, range);
}

model::usage_history store::history(const std::string& subject, model::interval width,
                                    const model::time_range& range) {
  sqlite_usage q{*q_};
  return storage::history(q, subject, width, range);
}

model::usage_stats store::stats(millis now) {
  sqlite_usage q{*q_};
  return storage::stats(q, now);
}

} // namespace um::storage::sqlite
