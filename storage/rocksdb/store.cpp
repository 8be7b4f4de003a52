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

#include <filesystem>
#include <map>
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
  auto seq = lock.next_seq();
  out.resize(batch.size());
  for (std::size_t i = 0; i < batch.size(); ++i) {
    const auto& e = batch[i];
    if (statuses[i].ok()) {
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
    check(wb.Put(d.cf(cf_dedup), keys[i], key), "append");
    check(
        wb.Put(d.cf(cf_by_subject), subject_time_seq_key(e.subject, e.time, seq), e.type),
        "append");
    check(wb.Put(d.cf(cf_by_time), time_seq_key(e.time, seq), e.type), "append");
    check(wb.Put(d.cf(cf_by_type), type_seq_key(e.type, seq), rocksdb::Slice()),
          "append");
    counts.add(e.subject, e.type, e.time, 1);
    if (!meters.empty())
      cells.add_event(meters, e, seq);
    out[i] = {model::append_status::stored, e};
    ++seq;
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
  if (seqs.empty())
    return 0;
  if (!oldest_left)
    view.scan(cf_by_time, time_key(cutoff), key_space_end(),
              [&](const rocksdb::Slice& k, const rocksdb::Slice&) {
                oldest_left = time_before_seq(k);
                return false;
              });
  rocksdb::WriteBatch wb;
  count_changes counts;
  auto events = view.events(seqs);
  for (std::size_t i = 0; i < seqs.size(); ++i) {
    const auto& e = events[i];
    auto seq = seqs[i];
    check(wb.Delete(d.cf(cf_events), seq_key(seq)), "purge");
    check(wb.Delete(d.cf(cf_dedup), dedup_key(e.source, e.id)), "purge");
    check(wb.Delete(d.cf(cf_by_subject), subject_time_seq_key(e.subject, e.time, seq)),
          "purge");
    check(wb.Delete(d.cf(cf_by_time), time_seq_key(e.time, seq)), "purge");
    check(wb.Delete(d.cf(cf_by_type), type_seq_key(e.type, seq)), "purge");
    counts.add(e.subject, e.type, e.time, -1);
  }
  counts.apply_into(view, wb);
  purge_meter_cells(view, wb, oldest_left ? std::min(cutoff, *oldest_left) : cutoff);
  lock.commit(wb);
  return seqs.size();
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
