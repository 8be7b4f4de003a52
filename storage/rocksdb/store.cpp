// The RocksDB store: opening, appends with their rollups, retention.
//
// An append is one WriteBatch, synced when the store is durable: per new
// event the event by seq, its dedup key, its three listing keys, and merge
// operands for the count documents and meter cell documents it changes
// (summed per document first). Events and rollups commit together, so an
// answer never disagrees with the events and a start replays nothing beyond
// RocksDB's own WAL.

#include "storage/rocksdb/store.hpp"

#include "storage/rocksdb_store.hpp"

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <unordered_map>

namespace um::storage::rocks {

using model::millis;

namespace {

constexpr millis minute_ms = 60'000;
constexpr millis hour_ms = 3'600'000;
constexpr millis day_ms = 86'400'000;

/// Count changes of a batch, per count document key.
class count_changes {
public:
  /// Counts `n` events (negative when removing) of `subject` and `type` at `time`.
  void add(const std::string& subject, const std::string& type, millis time,
           std::int64_t n) {
    docs_[count_hour_key(subject, model::bucket_floor(time, hour_ms))][type] += n;
    docs_[count_day_key(subject, model::bucket_floor(time, day_ms))][type] += n;
    docs_[count_total_key(subject)][type] += n;
    docs_[count_all_key()][type] += n;
    docs_[global_minute_key(model::bucket_floor(time, minute_ms))][""] += n;
  }

  /// Adds them to `batch` as merge operands (appends).
  void merge_into(database& d, rocksdb::WriteBatch& batch) const {
    for (const auto& [key, doc] : docs_)
      check(batch.Merge(d.cf(cf_counts), key, count_doc_value(doc)), "write");
  }

  /// Adds them to `batch` as the documents they make of what `view` holds,
  /// deleting those that come to nothing (retention: under the write lock,
  /// so nothing changes the documents meanwhile).
  void apply_into(read_view& view, rocksdb::WriteBatch& batch) const {
    auto& d = view.d;
    for (const auto& [key, change] : docs_) {
      std::string value;
      count_doc doc;
      if (view.get(cf_counts, key, value))
        doc = read_count_doc(value);
      for (const auto& [name, n] : change)
        if ((doc[name] += n) == 0)
          doc.erase(name);
      if (doc.empty())
        check(batch.Delete(d.cf(cf_counts), key), "write");
      else
        check(batch.Put(d.cf(cf_counts), key, count_doc_value(doc)), "write");
    }
  }

private:
  std::map<std::string, count_doc> docs_;
};

/// Deletes the stored event `e` under `seq` and its listing keys (not its
/// dedup key, nor its counts).
void delete_event_keys(database& d, rocksdb::WriteBatch& wb, const model::event& e,
                       std::int64_t seq) {
  check(wb.Delete(d.cf(cf_events), seq_key(seq)), "write");
  check(wb.Delete(d.cf(cf_by_subject), subject_time_seq_key(e.subject, e.time, seq)),
        "write");
  check(wb.Delete(d.cf(cf_by_time), time_seq_key(e.time, seq)), "write");
  check(wb.Delete(d.cf(cf_by_type), type_seq_key(e.type, seq)), "write");
}

/// The newest revision of (source, id), if any.
std::optional<model::event_revision>
last_revision(read_view& view, const std::string& source, const std::string& id) {
  std::optional<model::event_revision> out;
  auto prefix = dedup_key(source, id);
  view.scan_back(cf_revisions, prefix, prefix_end(prefix),
                 [&](const rocksdb::Slice&, const rocksdb::Slice& v) {
                   out = read_revision(v);
                   return false;
                 });
  return out;
}

std::string rocksdb_dir(const store_options& options) {
  return (std::filesystem::path(options.data_dir) / "rocksdb").string();
}

} // namespace

store::store(const store_options& options) : read_only_(options.read_only) {
  db_ = database::acquire(rocksdb_path(options), !options.read_only);
  if (!options.read_only)
    db_->set_sync(options.synchronous_full);
}

void store::writable() const {
  if (read_only_)
    throw storage_error(failure_kind::unavailable, "rocksdb: a read-only store");
}

model::append_outcomes store::append(const std::vector<model::event>& batch) {
  model::append_outcomes out;
  if (batch.empty())
    return out;
  writable();
  database::write_lock lock{*db_};
  auto& d = *db_;
  std::vector<std::string> keys;
  keys.reserve(batch.size());
  for (const auto& e : batch)
    keys.push_back(dedup_key(e.source, e.id));
  std::vector<rocksdb::Slice> slices(keys.begin(), keys.end());
  std::vector<rocksdb::PinnableSlice> found(keys.size());
  std::vector<rocksdb::Status> statuses(keys.size());
  d.db().MultiGet({}, d.cf(cf_dedup), slices.size(), slices.data(), found.data(),
                  statuses.data());

  rocksdb::WriteBatch wb;
  count_changes counts;
  meter_delta cells;
  const auto& meters = lock.meters();
  std::unordered_map<std::string_view, std::size_t> stored_here;
  std::vector<std::pair<std::size_t, std::int64_t>> duplicates; // (index, stored seq)
  std::vector<std::size_t> voided;                              // indexes
  auto seq = lock.next_seq();
  out.resize(batch.size());
  // Keys of each family are put in key order: a memtable inserts a key after
  // the one it inserted last from where that one went, and recomputes its
  // path from the top only where they differ. Random ids put in arrival
  // order made that recomputation a quarter of the process's CPU during
  // batch ingest (perf).
  std::vector<std::pair<std::string, std::string>> dedup_puts, subject_puts, time_puts,
      type_puts;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    const auto& e = batch[i];
    if (statuses[i].ok()) {
      if (found[i] == voided_dedup_value) {
        voided.push_back(i);
        continue;
      }
      if (found[i].size() != 8)
        check(rocksdb::Status::Corruption("bad dedup value"), "append");
      duplicates.emplace_back(i, static_cast<std::int64_t>(get_u64(found[i].data())));
      continue;
    }
    if (!statuses[i].IsNotFound())
      check(statuses[i], "append");
    if (auto it = stored_here.find(keys[i]); it != stored_here.end()) {
      out[i] = {model::append_status::duplicate, batch[it->second]};
      continue;
    }
    stored_here.emplace(keys[i], i);
    auto key = seq_key(seq);
    check(wb.Put(d.cf(cf_events), key, event_value(e)), "append");
    dedup_puts.emplace_back(keys[i], key);
    subject_puts.emplace_back(subject_time_seq_key(e.subject, e.time, seq), e.type);
    time_puts.emplace_back(time_seq_key(e.time, seq), e.type);
    type_puts.emplace_back(type_seq_key(e.type, seq), std::string{});
    counts.add(e.subject, e.type, e.time, 1);
    if (!meters.empty())
      cells.add_event(meters, e, seq);
    out[i] = {model::append_status::stored, e};
    ++seq;
  }
  for (auto i : voided) {
    read_view view{lock};
    auto revision = last_revision(view, batch[i].source, batch[i].id);
    if (!revision)
      check(rocksdb::Status::Corruption("a voided event has no revision"), "append");
    out[i] = {model::append_status::duplicate, std::move(revision->version)};
  }
  if (!duplicates.empty()) {
    read_view view{lock};
    std::vector<std::int64_t> seqs;
    for (const auto& dup : duplicates)
      seqs.push_back(dup.second);
    auto events = view.events(seqs);
    for (std::size_t k = 0; k < duplicates.size(); ++k)
      out[duplicates[k].first] = {model::append_status::duplicate, std::move(events[k])};
  }
  if (stored_here.empty())
    return out;
  for (auto [family, puts] : {std::pair{cf_dedup, &dedup_puts},
                              {cf_by_subject, &subject_puts},
                              {cf_by_time, &time_puts},
                              {cf_by_type, &type_puts}}) {
    std::sort(puts->begin(), puts->end());
    for (const auto& [k, v] : *puts)
      check(wb.Put(d.cf(family), k, v), "append");
  }
  counts.merge_into(d, wb);
  write_cells(d, wb, cells);
  lock.commit(wb, seq);
  return out;
}

std::size_t store::purge_before(millis cutoff, std::size_t max_events) {
  writable();
  database::write_lock lock{*db_};
  read_view view{lock};
  auto& d = *db_;
  rocksdb::WriteBatch wb;
  purge_revisions(view, wb, cutoff);
  std::vector<std::int64_t> seqs;
  std::optional<millis> oldest_left;
  view.scan(cf_by_time, std::string{}, time_key(cutoff),
            [&](const rocksdb::Slice& k, const rocksdb::Slice&) {
              if (seqs.size() == max_events) {
                oldest_left = time_before_seq(k);
                return false;
              }
              seqs.push_back(seq_at_end(k));
              return true;
            });
  if (seqs.empty()) {
    if (wb.Count() > 0)
      lock.commit(wb);
    return 0;
  }
  if (!oldest_left)
    view.scan(cf_by_time, time_key(cutoff), key_space_end(),
              [&](const rocksdb::Slice& k, const rocksdb::Slice&) {
                oldest_left = time_before_seq(k);
                return false;
              });
  count_changes counts;
  auto events = view.events(seqs);
  for (std::size_t i = 0; i < seqs.size(); ++i) {
    const auto& e = events[i];
    auto seq = seqs[i];
    delete_event_keys(d, wb, e, seq);
    check(wb.Delete(d.cf(cf_dedup), dedup_key(e.source, e.id)), "purge");
    counts.add(e.subject, e.type, e.time, -1);
  }
  counts.apply_into(view, wb);
  purge_meter_cells(view, wb, oldest_left ? std::min(cutoff, *oldest_left) : cutoff);
  lock.commit(wb);
  return seqs.size();
}

void store::purge_revisions(read_view& view, rocksdb::WriteBatch& wb, millis cutoff) {
  // Corrections are rare: their revisions are scanned whole, not indexed by
  // time. A voided id whose versions are all gone is free again, as a
  // purged event's is.
  auto& d = *db_;
  std::set<std::string> voided_ids;
  view.scan(cf_revisions, std::string{}, key_space_end(),
            [&](const rocksdb::Slice& k, const rocksdb::Slice& v) {
              auto r = read_revision(v);
              if (r.version.time < cutoff) {
                check(wb.Delete(d.cf(cf_revisions), k), "purge");
                if (r.kind == model::revision_kind::voided)
                  voided_ids.insert(dedup_key(r.version.source, r.version.id));
              }
              return true;
            });
  for (const auto& key : voided_ids) {
    std::string value;
    if (view.get(cf_dedup, key, value) && value == voided_dedup_value)
      check(wb.Delete(d.cf(cf_dedup), key), "purge");
  }
}

void store::ping() {
  read_view view{*db_};
  std::string value;
  view.get(cf_default, "next_seq", value);
}

} // namespace um::storage::rocks

namespace um::storage {

std::string rocksdb_path(const store_options& options) {
  if (options.url.rfind("rocksdb:", 0) == 0)
    return options.url.substr(8);
  return rocks::rocksdb_dir(options);
}

std::unique_ptr<event_store> open_rocksdb_store(const store_options& options) {
  return std::make_unique<rocks::store>(options);
}

} // namespace um::storage

namespace um::storage::rocks {

model::change_outcome store::change_event(const model::event_change& change) {
  writable();
  database::write_lock lock{*db_};
  read_view view{lock};
  auto& d = *db_;
  model::change_outcome out;
  auto key = dedup_key(change.source, change.id);
  std::string stored;
  if (!view.get(cf_dedup, key, stored))
    return out;
  rocksdb::WriteBatch wb;
  count_changes counts;
  auto seq = lock.next_seq();
  std::int64_t before_seq = 0;
  if (stored == voided_dedup_value) {
    auto revision = last_revision(view, change.source, change.id);
    if (!revision)
      check(rocksdb::Status::Corruption("a voided event has no revision"), "change");
    out.before = std::move(revision->version);
    if (!change.replacement) {
      out.status = model::change_status::already_voided;
      return out;
    }
  } else {
    if (stored.size() != 8)
      check(rocksdb::Status::Corruption("bad dedup value"), "change");
    before_seq = static_cast<std::int64_t>(get_u64(stored.data()));
    auto live = std::move(view.events({before_seq}).front());
    delete_event_keys(d, wb, live, before_seq);
    counts.add(live.subject, live.type, live.time, -1);
    model::event_revision revision{live,
                                   change.replacement ? model::revision_kind::superseded
                                                      : model::revision_kind::voided,
                                   change.at, change.by, change.trace_id};
    check(wb.Put(d.cf(cf_revisions), revision_key(change.source, change.id, seq++),
                 revision_value(revision)),
          "change");
    out.before = std::move(live);
  }
  std::int64_t after_seq = 0;
  if (change.replacement) {
    auto e = model::replacement_event(change, *out.before);
    after_seq = seq++;
    check(wb.Put(d.cf(cf_events), seq_key(after_seq), event_value(e)), "change");
    check(wb.Put(d.cf(cf_dedup), key, seq_key(after_seq)), "change");
    check(wb.Put(d.cf(cf_by_subject), subject_time_seq_key(e.subject, e.time, after_seq),
                 e.type),
          "change");
    check(wb.Put(d.cf(cf_by_time), time_seq_key(e.time, after_seq), e.type), "change");
    check(wb.Put(d.cf(cf_by_type), type_seq_key(e.type, after_seq), rocksdb::Slice()),
          "change");
    counts.add(e.subject, e.type, e.time, 1);
    out.after = std::move(e);
  } else {
    check(wb.Put(d.cf(cf_dedup), key, voided_dedup_value), "change");
  }
  counts.merge_into(d, wb);
  rebuild_cells(view, wb, *out.before, before_seq, out.after ? &*out.after : nullptr,
                after_seq);
  lock.commit(wb, seq);
  out.status = model::change_status::changed;
  return out;
}

void store::rebuild_cells(read_view& view, rocksdb::WriteBatch& wb,
                          const model::event& before, std::int64_t before_seq,
                          const model::event* after, std::int64_t after_seq) {
  auto& d = *db_;
  std::vector<meter_record> meters;
  for (auto& m : all_meters(view))
    meters.push_back(std::move(m.record));
  for (const auto& touched : touched_hours(meters, before, after)) {
    const auto& m = *std::find_if(meters.begin(), meters.end(), [&](const auto& r) {
      return r.id == touched.meter_id;
    });
    auto events = events_in(view, m.definition.event_type, touched.hour,
                            touched.hour + hour_ms, {touched.subject});
    events.erase(std::remove_if(events.begin(), events.end(),
                                [&](const auto& e) { return e.seq == before_seq; }),
                 events.end());
    if (after)
      events.push_back({after_seq, *after});
    auto delta = rebuild_hour(m, touched, events);
    cell_doc doc;
    auto cell = cell_key(m.id, touched.subject, touched.hour);
    // The unique values of the hour go with its cell document (their keys
    // extend its key), and come back from the rebuilt cells.
    view.scan(cf_uniques, cell, prefix_end(cell),
              [&](const rocksdb::Slice& k, const rocksdb::Slice&) {
                check(wb.Delete(d.cf(cf_uniques), k), "change");
                return true;
              });
    for (const auto& entry : delta.cells[static_cast<int>(meter_grain::hour)]) {
      const auto& group = std::get<3>(entry.first);
      doc[group].merge(entry.second);
      for (const auto& value : entry.second.uniques)
        check(wb.Put(d.cf(cf_uniques),
                     unique_key(m.id, touched.subject, touched.hour, group, value),
                     rocksdb::Slice()),
              "change");
    }
    if (doc.empty())
      check(wb.Delete(d.cf(cf_cells), cell), "change");
    else
      check(wb.Put(d.cf(cf_cells), cell, cell_doc_value(doc)), "change");
  }
}

std::vector<model::event_revision>
store::event_revisions(const model::event_search& search) {
  read_view view{*db_};
  // (revision number, revision): the number orders changes of one time.
  std::vector<std::pair<std::int64_t, model::event_revision>> found;
  view.scan(cf_revisions, std::string{}, key_space_end(),
            [&](const rocksdb::Slice& k, const rocksdb::Slice& v) {
              auto r = read_revision(v);
              if (model::search_matches(search, r.version))
                found.emplace_back(seq_at_end(k), std::move(r));
              return true;
            });
  std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) {
    return std::tie(a.second.at, a.first) > std::tie(b.second.at, b.first);
  });
  std::vector<model::event_revision> out;
  for (auto& f : found) {
    if (out.size() >= static_cast<std::size_t>(std::max(search.limit, 0)))
      break;
    out.push_back(std::move(f.second));
  }
  return out;
}

} // namespace um::storage::rocks
