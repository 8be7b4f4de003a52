// The RocksDB store's reads of events and usage: the lookups of
// `usage_queries` (the rules that combine them are storage/usage_reads.*),
// event listings and searches. Each answer reads one snapshot.
//
// Whole hours and days come from the count documents; anything finer (the
// partial hours at a range's ends, minute histories) is counted from the
// (subject, time, seq) keys, whose values name the event's type.

#include "storage/rocksdb/store.hpp"
#include "storage/sql_bounds.hpp"
#include "storage/usage_reads.hpp"

#include <algorithm>
#include <limits>
#include <set>

namespace um::storage::rocks {

namespace {

using model::millis;
using visit_fn = std::function<bool(const rocksdb::Slice&, const rocksdb::Slice&)>;

std::vector<type_count> to_type_counts(const count_doc& doc) {
  std::vector<type_count> out;
  for (const auto& [type, n] : doc)
    out.push_back({type, n});
  return out;
}

std::int64_t doc_sum(const count_doc& doc) {
  std::int64_t n = 0;
  for (const auto& entry : doc)
    n += entry.second;
  return n;
}

class rocks_usage final : public usage_queries {
public:
  explicit rocks_usage(read_view& view) : v_(view) {}

  std::vector<type_count> totals(const std::string& subject) override {
    return to_type_counts(doc(count_total_key(subject)));
  }

  std::optional<std::pair<millis, millis>>
  time_span(const std::string& subject) override {
    auto from = subject_key(subject), to = prefix_end(from);
    std::optional<millis> first, last;
    v_.scan(cf_by_subject, from, to, [&](const rocksdb::Slice& k, const rocksdb::Slice&) {
      first = time_before_seq(k);
      return false;
    });
    v_.scan_back(cf_by_subject, from, to,
                 [&](const rocksdb::Slice& k, const rocksdb::Slice&) {
                   last = time_before_seq(k);
                   return false;
                 });
    if (!first || !last)
      return std::nullopt;
    return std::pair{*first, *last};
  }

  std::vector<type_count>
  span_counts(const std::string& subject,
              const std::vector<model::rollup_span>& spans) override {
    count_doc sum;
    for (const auto& span : spans) {
      switch (span.grain) {
      case model::rollup_grain::raw:
      case model::rollup_grain::minute:
        events(subject, span.from, span.to,
               [&](const rocksdb::Slice&, const rocksdb::Slice& type) {
                 ++sum[type.ToString()];
                 return true;
               });
        break;
      case model::rollup_grain::hour:
      case model::rollup_grain::day:
        documents(subject, span.grain, span.from, span.to,
                  [&](const rocksdb::Slice&, const rocksdb::Slice& value) {
                    for (const auto& [type, n] : read_count_doc(value))
                      sum[type] += n;
                    return true;
                  });
        break;
      }
    }
    return to_type_counts(sum);
  }

  std::vector<model::history_point> bucket_counts(const std::string& subject,
                                                  model::rollup_grain grain, millis from,
                                                  millis to) override {
    std::vector<model::history_point> out;
    auto add = [&](millis bucket, std::int64_t n) {
      if (!out.empty() && out.back().bucket_start == bucket)
        out.back().count += n;
      else
        out.push_back({bucket, n});
    };
    if (grain == model::rollup_grain::minute || grain == model::rollup_grain::raw) {
      events(subject, from, to, [&](const rocksdb::Slice& k, const rocksdb::Slice&) {
        add(model::bucket_floor(time_before_seq(k), 60'000), 1);
        return true;
      });
      return out;
    }
    documents(subject, grain, from, to,
              [&](const rocksdb::Slice& k, const rocksdb::Slice& value) {
                add(get_time(k.data() + k.size() - 8), doc_sum(read_count_doc(value)));
                return true;
              });
    return out;
  }

  std::vector<type_count> type_totals() override {
    return to_type_counts(doc(count_all_key()));
  }

  std::int64_t subject_count() override {
    std::int64_t n = 0;
    std::string from(1, total_tag);
    v_.scan(cf_counts, from, prefix_end(from),
            [&](const rocksdb::Slice&, const rocksdb::Slice& value) {
              if (doc_sum(read_count_doc(value)) > 0)
                ++n;
              return true;
            });
    return n;
  }

  std::int64_t count_since_minute(millis first_minute) override {
    std::int64_t n = 0;
    v_.scan(cf_counts, global_minute_key(first_minute),
            prefix_end(std::string(1, global_tag)),
            [&](const rocksdb::Slice&, const rocksdb::Slice& value) {
              n += doc_sum(read_count_doc(value));
              return true;
            });
    return n;
  }

  std::int64_t count_events(millis from, millis to) override {
    std::int64_t n = 0;
    if (from < to)
      v_.scan(cf_by_time, time_key(from), time_key(to),
              [&](const rocksdb::Slice&, const rocksdb::Slice&) {
                ++n;
                return true;
              });
    return n;
  }

private:
  count_doc doc(const std::string& key) {
    std::string value;
    return v_.get(cf_counts, key, value) ? read_count_doc(value) : count_doc{};
  }

  // The (subject, time, seq) keys of `subject` with `from <= time < to`.
  void events(const std::string& subject, millis from, millis to, const visit_fn& visit) {
    if (from < to)
      v_.scan(cf_by_subject, subject_time_key(subject, from),
              subject_time_key(subject, to), visit);
  }

  // The count documents of `subject` and `grain` with `from <= bucket < to`.
  void documents(const std::string& subject, model::rollup_grain grain, millis from,
                 millis to, const visit_fn& visit) {
    if (from >= to)
      return;
    bool hour = grain == model::rollup_grain::hour;
    auto key = [&](millis t) {
      return hour ? count_hour_key(subject, t) : count_day_key(subject, t);
    };
    v_.scan(cf_counts, key(from), key(to), visit);
  }

  read_view& v_;
};

// Reads the events of listing keys in chunks, so that a page stops at its
// size bound without reading what it will not hold.
class event_reader {
public:
  event_reader(read_view& view, std::size_t chunk) : view_(view), chunk_(chunk) {}

  /// Queues `seq`; false once the page is full.
  bool add(std::int64_t seq) {
    seqs_.push_back(seq);
    if (seqs_.size() >= chunk_)
      flush();
    return model::page_has_room(bytes_);
  }

  /// The events read, in the order queued, up to the page's bound.
  std::vector<sequenced_event> take() {
    flush();
    return std::move(out_);
  }

  /// Called on each event read: false drops it (a filter).
  std::function<bool(const model::event&)> keep = [](const model::event&) {
    return true;
  };

private:
  void flush() {
    auto events = view_.events(seqs_);
    for (std::size_t i = 0; i < events.size() && model::page_has_room(bytes_); ++i) {
      if (!keep(events[i]))
        continue;
      bytes_ += events[i].data.size();
      out_.push_back({seqs_[i], std::move(events[i])});
    }
    seqs_.clear();
  }

  read_view& view_;
  std::size_t chunk_;
  std::vector<std::int64_t> seqs_;
  std::vector<sequenced_event> out_;
  std::size_t bytes_ = 0;
};

} // namespace

model::event_page store::list_events(const model::event_filter& f) {
  read_view view{*db_};
  model::event_page page;
  auto skip = page_offset(f.offset);
  auto limit = page_limit(f.limit);
  bool by_subject = !f.subject.empty(), by_type = !f.type.empty();
  if (limit > 0) {
    event_reader reader{view,
                        static_cast<std::size_t>(std::min<std::int64_t>(limit, 256))};
    std::int64_t taken = 0;
    auto visit = [&](const rocksdb::Slice& k, const rocksdb::Slice& type) {
      if (by_type && type != f.type)
        return true;
      if (skip > 0) {
        --skip;
        return true;
      }
      ++taken;
      return reader.add(seq_at_end(k)) && taken < limit;
    };
    if (by_subject) {
      auto from = subject_key(f.subject);
      view.scan_back(cf_by_subject, from, prefix_end(from), visit);
    } else {
      view.scan_back(cf_by_time, std::string{}, key_space_end(), visit);
    }
    for (auto& e : reader.take())
      page.events.push_back(std::move(e.event));
  }
  std::string value;
  count_doc doc;
  if (view.get(cf_counts, by_subject ? count_total_key(f.subject) : count_all_key(),
               value))
    doc = read_count_doc(value);
  if (by_type) {
    auto it = doc.find(f.type);
    page.total = it == doc.end() ? 0 : it->second;
  } else {
    page.total = doc_sum(doc);
  }
  return page;
}

model::usage_summary store::summarize(const std::string& subject,
                                      const model::time_range& range) {
  read_view view{*db_};
  rocks_usage q{view};
  return storage::summarize(q, subject, range);
}

model::usage_history store::history(const std::string& subject, model::interval width,
                                    const model::time_range& range) {
  read_view view{*db_};
  rocks_usage q{view};
  return storage::history(q, subject, width, range);
}

model::usage_stats store::stats(millis now) {
  read_view view{*db_};
  rocks_usage q{view};
  return storage::stats(q, now);
}

std::vector<sequenced_event> events_in(read_view& view, const std::string& type,
                                       millis from, millis to,
                                       const std::vector<std::string>& subjects) {
  std::vector<std::int64_t> seqs;
  if (from >= to)
    return {};
  auto collect = [&](const rocksdb::Slice& k, const rocksdb::Slice& t) {
    if (t == type)
      seqs.push_back(seq_at_end(k));
    return true;
  };
  if (subjects.empty()) {
    view.scan(cf_by_time, time_key(from), time_key(to), collect);
  } else {
    for (const auto& s : std::set<std::string>(subjects.begin(), subjects.end()))
      view.scan(cf_by_subject, subject_time_key(s, from), subject_time_key(s, to),
                collect);
    std::sort(seqs.begin(), seqs.end());
  }
  std::vector<sequenced_event> out;
  out.reserve(seqs.size());
  constexpr std::size_t chunk = 1024;
  for (std::size_t i = 0; i < seqs.size(); i += chunk) {
    std::vector<std::int64_t> part(
        seqs.begin() + static_cast<std::ptrdiff_t>(i),
        seqs.begin() + static_cast<std::ptrdiff_t>(std::min(seqs.size(), i + chunk)));
    auto events = view.events(part);
    for (std::size_t j = 0; j < part.size(); ++j)
      out.push_back({part[j], std::move(events[j])});
  }
  return out;
}

std::vector<sequenced_event>
store::events_of_type(const std::string& type, millis from, millis to,
                      const std::vector<std::string>& subjects) {
  read_view view{*db_};
  auto out = events_in(view, type, from, to, subjects);
  if (subjects.empty())
    std::sort(out.begin(), out.end(),
              [](const auto& a, const auto& b) { return a.seq < b.seq; });
  return out;
}

std::vector<sequenced_event> store::search_events(const model::event_search& search) {
  read_view view{*db_};
  auto limit = search_limit(search.limit);
  if (limit == 0 || search.time_from >= search.time_to)
    return {};
  auto ingested = ingested_range_of(search);
  auto upper = time_key(search.time_to);
  if (search.before) {
    auto cursor = time_seq_key(search.before->time, search.before->seq);
    upper = std::min(upper, cursor);
  }
  event_reader reader{view, 64};
  reader.keep = [&](const model::event& e) {
    return e.ingested_at >= ingested.from && e.ingested_at < ingested.to &&
           e.id.find(search.id_contains) != std::string::npos &&
           e.subject.find(search.subject_contains) != std::string::npos;
  };
  std::vector<sequenced_event> out;
  // Filters drop events after they are read: read until `limit` are kept.
  std::string resume = upper;
  while (static_cast<std::int64_t>(out.size()) < limit) {
    std::size_t batch = 0;
    bool more = false;
    view.scan_back(cf_by_time, time_key(search.time_from), resume,
                   [&](const rocksdb::Slice& k, const rocksdb::Slice&) {
                     if (batch == 256) {
                       more = true;
                       return false;
                     }
                     ++batch;
                     resume = k.ToString();
                     reader.add(seq_at_end(k));
                     return true;
                   });
    for (auto& e : reader.take()) {
      if (static_cast<std::int64_t>(out.size()) < limit)
        out.push_back(std::move(e));
    }
    if (!more)
      break;
  }
  std::size_t bytes = 0, keep = 0;
  while (keep < out.size() && model::page_has_room(bytes))
    bytes += out[keep++].event.data.size();
  out.resize(keep);
  return out;
}

} // namespace um::storage::rocks
