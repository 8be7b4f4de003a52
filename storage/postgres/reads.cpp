// The PostgreSQL store's reads of events and usage: the SQL of
// `usage_queries`; the rules that combine its answers are storage/usage_reads.*.

#include "storage/postgres/connection.hpp"
#include "storage/postgres/statements.hpp"
#include "storage/postgres/store.hpp"
#include "storage/sql_bounds.hpp"
#include "storage/usage_reads.hpp"

namespace um::storage::postgres {

namespace {

using model::millis;

std::vector<type_count> type_counts(const pqxx::result& rows) {
  std::vector<type_count> out;
  for (const auto& r : rows)
    out.push_back({text_of(r[0]), r[1].as<std::int64_t>()});
  return out;
}

class postgres_usage final : public usage_queries {
public:
  explicit postgres_usage(pqxx::transaction_base& tx) : tx_(tx) {}

  std::vector<type_count> totals(const std::string& subject) override {
    return type_counts(tx_.exec_prepared("totals_of", subject));
  }

  std::optional<std::pair<millis, millis>>
  time_span(const std::string& subject) override {
    auto r = tx_.exec_prepared1("time_bounds", subject);
    if (r[0].is_null())
      return std::nullopt;
    return std::pair{r[0].as<std::int64_t>(), r[1].as<std::int64_t>()};
  }

  // Every span in one round trip.
  std::vector<type_count>
  span_counts(const std::string& subject,
              const std::vector<model::rollup_span>& spans) override {
    int_array grains, los, his;
    for (const auto& span : spans) {
      grains.add(grain_number(span.grain));
      los.add(span.from);
      his.add(span.to);
    }
    std::vector<type_count> out;
    for (const auto& r :
         tx_.exec_prepared("range", subject, grains.str(), los.str(), his.str()))
      out.push_back({text_of(r[1]), r[2].as<std::int64_t>()});
    return out;
  }

  std::vector<model::history_point> bucket_counts(const std::string& subject,
                                                  model::rollup_grain grain, millis from,
                                                  millis to) override {
    const char* buckets = grain == model::rollup_grain::minute ? "history_minute"
                          : grain == model::rollup_grain::hour ? "history_hour"
                                                               : "history_day";
    std::vector<model::history_point> out;
    for (const auto& r : tx_.exec_prepared(buckets, subject, from, to))
      out.push_back({r[0].as<std::int64_t>(), r[1].as<std::int64_t>()});
    return out;
  }

  std::vector<type_count> type_totals() override {
    return type_counts(tx_.exec_prepared("stats_types"));
  }

  std::int64_t subject_count() override {
    return tx_.exec_prepared1("stats_entities")[0].as<std::int64_t>();
  }

  std::int64_t count_since_minute(millis first_minute) override {
    return tx_.exec_prepared1("stats_recent_minutes", first_minute)[0].as<std::int64_t>();
  }

  std::int64_t count_events(millis from, millis to) override {
    return tx_.exec_prepared1("count_time_range", from, to)[0].as<std::int64_t>();
  }

private:
  pqxx::transaction_base& tx_;
};

} // namespace

model::event_page store::list_events(const model::event_filter& f) {
  return guarded("list events", [&] {
    model::event_page page;
    pqxx::nontransaction tx{*conn_};
    auto limit = page_limit(f.limit), offset = page_offset(f.offset);
    pqxx::result rows;
    pqxx::row total;
    if (f.subject.empty() && f.type.empty()) {
      rows = tx.exec_prepared("list_any", limit, offset);
      total = tx.exec_prepared1("total_all");
    } else if (f.type.empty()) {
      rows = tx.exec_prepared("list_subject", f.subject, limit, offset);
      total = tx.exec_prepared1("total_subject", f.subject);
    } else if (f.subject.empty()) {
      rows = tx.exec_prepared("list_type", f.type, limit, offset);
      total = tx.exec_prepared1("total_type", f.type);
    } else {
      rows = tx.exec_prepared("list_both", f.subject, f.type, limit, offset);
      total = tx.exec_prepared1("total_both", f.subject, f.type);
    }
    for (const auto& r : rows)
      page.events.push_back(read_event(r, 0));
    page.total = total[0].as<std::int64_t>();
    return page;
  });
}

model::usage_summary store::summarize(const std::string& subject,
                                      const model::time_range& range) {
  return guarded("summarize", [&] {
    pqxx::nontransaction tx{*conn_};
    postgres_usage q{tx};
    return storage::summarize(q, subject, range);
  });
}

model::usage_history store::history(const std::string& subject, model::interval width,
                                    const model::time_range& range) {
  return guarded("history", [&] {
    pqxx::nontransaction tx{*conn_};
    postgres_usage q{tx};
    return storage::history(q, subject, width, range);
  });
}

model::usage_stats store::stats(millis now) {
  return guarded("stats", [&] {
    pqxx::nontransaction tx{*conn_};
    postgres_usage q{tx};
    return storage::stats(q, now);
  });
}

} // namespace um::storage::postgres
