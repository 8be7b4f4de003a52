// Write-path spike, candidate (b): RocksDB (Debian's 7.8) for the event log,
// the dedup keys, the listing keys and the rollups.
//
// Per batch: one MultiGet of the batch's dedup keys (Bloom filters answer most
// of them from memory), then one WriteBatch written with sync=true holding,
// per new event, the event by sequence, its dedup key and two listing keys
// (subject, time, seq) and (time, seq). Rollups, two ways:
//   --rollups merge  the changes summed in memory and written as merge
//                    operands (counts added, meter cells merged) — blind
//                    writes; --flush-ms 0 writes them in every batch's
//                    WriteBatch (no high-water mark needed), N > 0 every N ms
//                    with a high-water mark;
//   --rollups rmw    summed in memory for --flush-ms, then read (MultiGet),
//                    combined and written back with a high-water mark.
//
//   rocksdb_spike load --dir DIR --events N [--times rising|scattered]
//       [--rollups merge|rmw] [--flush-ms 300] [--cache-mb 96]
//       [--memtable-mb 96] [--minute-rollups 1] [--crash-at-end]
//   rocksdb_spike read --dir DIR [--runs 200] [--big-runs 10]

#include "workload.hpp"

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/merge_operator.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>
#include <rocksdb/write_buffer_manager.h>

#include <memory>
#include <sstream>

namespace {

using namespace spike;
namespace rdb = rocksdb;

void check(const rdb::Status& s, const char* doing) {
  if (!s.ok()) {
    std::fprintf(stderr, "rocksdb: %s: %s\n", doing, s.ToString().c_str());
    std::exit(1);
  }
}

// -- encodings ----------------------------------------------------------------

void put_be64(std::string& out, std::uint64_t v) {
  for (int i = 7; i >= 0; --i)
    out += static_cast<char>((v >> (8 * i)) & 0xff);
}
std::uint64_t get_be64(const char* p) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i)
    v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}
/// Signed times in an order-preserving unsigned form.
void put_time(std::string& out, millis t) {
  put_be64(out, static_cast<std::uint64_t>(t) ^ (1ULL << 63));
}
millis get_time(const char* p) {
  return static_cast<millis>(get_be64(p) ^ (1ULL << 63));
}
void put_str(std::string& out, const std::string& s) {
  auto n = static_cast<std::uint32_t>(s.size());
  out.append(reinterpret_cast<const char*>(&n), 4);
  out += s;
}
std::string get_str(const char*& p) {
  std::uint32_t n;
  std::memcpy(&n, p, 4);
  std::string s(p + 4, n);
  p += 4 + n;
  return s;
}

std::string event_value(const event& e) {
  std::string v;
  put_str(v, e.source);
  put_str(v, e.id);
  put_str(v, e.type);
  put_str(v, e.subject);
  put_str(v, e.data);
  v.append(reinterpret_cast<const char*>(&e.time), 8);
  v.append(reinterpret_cast<const char*>(&e.ingested_at), 8);
  return v;
}
event read_event(const rdb::Slice& v) {
  event e;
  const char* p = v.data();
  e.source = get_str(p);
  e.id = get_str(p);
  e.type = get_str(p);
  e.subject = get_str(p);
  e.data = get_str(p);
  std::memcpy(&e.time, p, 8);
  std::memcpy(&e.ingested_at, p + 8, 8);
  read_meter_fields(e);
  return e;
}

std::string dedup_key(const event& e) {
  return e.source + '\0' + e.id;
}

std::string count_value(std::int64_t n) {
  return std::string(reinterpret_cast<const char*>(&n), 8);
}
std::int64_t read_count(const rdb::Slice& s) {
  std::int64_t n = 0;
  if (s.size() == 8)
    std::memcpy(&n, s.data(), 8);
  return n;
}
std::string cell_value(const cell& c) {
  return std::string(reinterpret_cast<const char*>(&c), sizeof c);
}
cell read_cell(const rdb::Slice& s) {
  cell c;
  if (s.size() == sizeof c)
    std::memcpy(&c, s.data(), sizeof c);
  return c;
}

// Keys of the rollup column families; a grain tag first, then the subject, so
// one subject's buckets are one contiguous range.
std::string count_row(char tag, const std::string& subject, millis bucket,
                      const std::string& type) {
  std::string k(1, tag);
  k += subject;
  k += '\0';
  put_time(k, bucket);
  k += type;
  return k;
}
std::string total_row(const std::string& subject, const std::string& type) {
  return std::string(1, 't') + subject + '\0' + type;
}
std::string global_row(millis bucket) {
  std::string k(1, 'g');
  put_time(k, bucket);
  return k;
}
std::string cell_row(char grain, int meter, const std::string& subject, millis bucket,
                     const std::string& group) {
  std::string k(1, grain);
  k += static_cast<char>('0' + meter);
  k += subject;
  k += '\0';
  put_time(k, bucket);
  k += group;
  return k;
}

class add_counts : public rdb::AssociativeMergeOperator {
public:
  bool Merge(const rdb::Slice&, const rdb::Slice* existing, const rdb::Slice& value,
             std::string* out, rdb::Logger*) const override {
    *out = count_value((existing ? read_count(*existing) : 0) + read_count(value));
    return true;
  }
  const char* Name() const override { return "spike.add_counts"; }
};

class merge_cells : public rdb::AssociativeMergeOperator {
public:
  bool Merge(const rdb::Slice&, const rdb::Slice* existing, const rdb::Slice& value,
             std::string* out, rdb::Logger*) const override {
    cell c = existing ? read_cell(*existing) : cell{};
    c.merge(read_cell(value));
    *out = cell_value(c);
    return true;
  }
  const char* Name() const override { return "spike.merge_cells"; }
};

// The lean layout's rows: one value per (subject, bucket) holding a count per
// type, and one per (meter, subject, bucket) holding a cell per group; a
// value is a list of [u8 length][name][payload], sorted by name.
template <class Payload>
std::vector<std::pair<std::string, Payload>> read_doc(const rdb::Slice& s) {
  std::vector<std::pair<std::string, Payload>> out;
  const char* p = s.data();
  const char* end = p + s.size();
  while (p < end) {
    auto n = static_cast<unsigned char>(*p++);
    std::string name(p, n);
    p += n;
    Payload v;
    std::memcpy(&v, p, sizeof v);
    p += sizeof v;
    out.emplace_back(std::move(name), v);
  }
  return out;
}
template <class Payload>
std::string doc_value(const std::vector<std::pair<std::string, Payload>>& entries) {
  std::string out;
  for (const auto& [name, v] : entries) {
    out += static_cast<char>(name.size());
    out += name;
    out.append(reinterpret_cast<const char*>(&v), sizeof v);
  }
  return out;
}
void combine(std::int64_t& a, const std::int64_t& b) {
  a += b;
}
void combine(cell& a, const cell& b) {
  a.merge(b);
}

template <class Payload>
class merge_docs : public rdb::AssociativeMergeOperator {
public:
  bool Merge(const rdb::Slice&, const rdb::Slice* existing, const rdb::Slice& value,
             std::string* out, rdb::Logger*) const override {
    if (!existing) {
      out->assign(value.data(), value.size());
      return true;
    }
    auto a = read_doc<Payload>(*existing);
    for (auto& [name, v] : read_doc<Payload>(value)) {
      auto it = std::lower_bound(
          a.begin(), a.end(), name,
          [](const auto& e, const std::string& n) { return e.first < n; });
      if (it != a.end() && it->first == name)
        combine(it->second, v);
      else
        a.insert(it, {name, v});
    }
    *out = doc_value(a);
    return true;
  }
  const char* Name() const override { return "spike.merge_docs"; }
};

enum cf_index {
  cf_default,
  cf_events,
  cf_dedup,
  cf_subject_time,
  cf_time,
  cf_counts,
  cf_cells,
  cf_uniques,
  cf_count_docs,
  cf_cell_docs,
  cf_count
};
const char* const cf_names[] = {"default",    "events",   "dedup", "by_subject_time",
                                "by_time",    "counts",   "cells", "uniques",
                                "count_docs", "cell_docs"};

struct config {
  std::string dir;
  std::string rollups = "merge";
  std::string layout = "classic";
  int flush_ms = 0;
  int cache_mb = 96;
  int memtable_mb = 96;
  bool minutes = true;
  std::string label;
};

class store {
public:
  explicit store(config c) : c_(std::move(c)) {
    delta_.minutes = c_.minutes;
    cache_ = rdb::NewLRUCache(static_cast<std::size_t>(c_.cache_mb) << 20, 6, false, 0.5);
    rdb::DBOptions db;
    db.create_if_missing = true;
    db.create_missing_column_families = true;
    db.max_background_jobs = 2;
    db.bytes_per_sync = 1 << 20;
    db.max_total_wal_size = 256ULL << 20;
    db.write_buffer_manager = std::make_shared<rdb::WriteBufferManager>(
        static_cast<std::size_t>(c_.memtable_mb) << 20);
    db.max_open_files = -1;
    // A start after a crash replays the WAL into memtables and goes on;
    // flushing them first would make the start wait for the disk.
    db.avoid_flush_during_recovery = true;
    std::vector<rdb::ColumnFamilyDescriptor> cfs;
    for (int i = 0; i < cf_count; ++i)
      cfs.emplace_back(cf_names[i], family_options(static_cast<cf_index>(i)));
    rdb::DB* raw = nullptr;
    check(rdb::DB::Open(db, c_.dir, cfs, &handles_, &raw), "open");
    db_.reset(raw);
    std::string v;
    if (db_->Get({}, handles_[cf_default], "config", &v).ok()) {
      std::istringstream in(v);
      int minutes = 1;
      in >> c_.rollups >> c_.flush_ms >> minutes >> c_.layout;
      c_.minutes = minutes != 0;
    } else {
      check(db_->Put({}, handles_[cf_default], "config",
                     c_.rollups + ' ' + std::to_string(c_.flush_ms) + ' ' +
                         (c_.minutes ? '1' : '0') + ' ' + c_.layout),
            "config");
    }
    if (c_.layout == "lean")
      c_.minutes = false;
    delta_.minutes = c_.minutes;
    std::unique_ptr<rdb::Iterator> it(db_->NewIterator({}, handles_[cf_events]));
    it->SeekToLast();
    next_seq_ =
        it->Valid() ? static_cast<std::int64_t>(get_be64(it->key().data())) + 1 : 1;
  }

  ~store() {
    for (auto* h : handles_)
      db_->DestroyColumnFamilyHandle(h);
    db_->Close();
  }

  /// Stores a batch durably; returns how many events were new.
  std::size_t append(const std::vector<event>& batch) {
    std::vector<std::string> keys;
    keys.reserve(batch.size());
    for (const auto& e : batch)
      keys.push_back(dedup_key(e));
    std::vector<rdb::Slice> slices(keys.begin(), keys.end());
    std::vector<rdb::PinnableSlice> found(keys.size());
    std::vector<rdb::Status> statuses(keys.size());
    db_->MultiGet({}, handles_[cf_dedup], slices.size(), slices.data(), found.data(),
                  statuses.data());
    rdb::WriteBatch wb;
    rollup_delta batch_delta;
    batch_delta.minutes = c_.minutes;
    bool per_batch = c_.rollups == "merge" && c_.flush_ms == 0;
    auto& delta = per_batch ? batch_delta : delta_;
    std::size_t stored = 0;
    for (std::size_t i = 0; i < batch.size(); ++i) {
      const auto& e = batch[i];
      if (statuses[i].ok()) { // a duplicate: the service answers with the stored one
        std::string v;
        std::string k;
        put_be64(k, get_be64(found[i].data()));
        db_->Get({}, handles_[cf_events], k, &v);
        continue;
      }
      if (!statuses[i].IsNotFound())
        check(statuses[i], "multiget");
      std::int64_t seq = next_seq_++;
      std::string seq_key, by_subject, by_time;
      put_be64(seq_key, seq);
      wb.Put(handles_[cf_events], seq_key, event_value(e));
      wb.Put(handles_[cf_dedup], keys[i], seq_key);
      by_subject = e.subject;
      by_subject += '\0';
      put_time(by_subject, e.time);
      put_be64(by_subject, seq);
      wb.Put(handles_[cf_subject_time], by_subject, rdb::Slice());
      put_time(by_time, e.time);
      put_be64(by_time, seq);
      wb.Put(handles_[cf_time], by_time, rdb::Slice());
      delta.add(e, seq);
      ++stored;
    }
    if (per_batch)
      write_rollups(wb, batch_delta);
    else if (seconds_since(last_flush_) * 1000 >= c_.flush_ms)
      flush(wb);
    rdb::WriteOptions sync;
    sync.sync = true;
    check(db_->Write(sync, &wb), "write");
    return stored;
  }

  /// Adds the summed rollup changes and the high-water mark to `wb`.
  void flush(rdb::WriteBatch& wb) {
    write_rollups(wb, delta_);
    std::string mark;
    put_be64(mark, next_seq_ - 1);
    wb.Put(handles_[cf_default], "hwm", mark);
    delta_.clear();
    last_flush_ = clock_type::now();
  }

  /// Rolls up the events after the high-water mark and writes them; returns
  /// how many events it replayed.
  std::uint64_t replay() {
    if (c_.rollups == "merge" && c_.flush_ms == 0)
      return 0; // rollups commit with their events
    std::string v;
    std::int64_t mark = 0;
    if (db_->Get({}, handles_[cf_default], "hwm", &v).ok())
      mark = static_cast<std::int64_t>(get_be64(v.data()));
    std::string from;
    put_be64(from, mark + 1);
    std::unique_ptr<rdb::Iterator> it(db_->NewIterator({}, handles_[cf_events]));
    std::uint64_t n = 0;
    for (it->Seek(from); it->Valid(); it->Next(), ++n)
      delta_.add(read_event(it->value()),
                 static_cast<std::int64_t>(get_be64(it->key().data())));
    rdb::WriteBatch wb;
    flush(wb);
    rdb::WriteOptions sync;
    sync.sync = true;
    check(db_->Write(sync, &wb), "replay write");
    return n;
  }

  rdb::DB* db() { return db_.get(); }
  rdb::ColumnFamilyHandle* cf(cf_index i) { return handles_[i]; }
  std::int64_t next_seq() const { return next_seq_; }
  const config& settings() const { return c_; }

  void print_sizes() {
    for (int i = 1; i < cf_count; ++i) {
      std::uint64_t sst = 0, keys = 0;
      db_->GetIntProperty(handles_[i], "rocksdb.total-sst-files-size", &sst);
      db_->GetIntProperty(handles_[i], "rocksdb.estimate-num-keys", &keys);
      std::printf("CF %s %s sst_mb=%.0f keys=%llu\n", c_.label.c_str(), cf_names[i],
                  sst / 1e6, static_cast<unsigned long long>(keys));
    }
    std::uint64_t mem = 0;
    db_->GetAggregatedIntProperty("rocksdb.cur-size-all-mem-tables", &mem);
    std::printf("CF %s memtables_mb=%.0f block_cache_mb=%.0f\n", c_.label.c_str(),
                mem / 1e6, cache_->GetUsage() / 1e6);
  }

private:
  rdb::ColumnFamilyOptions family_options(cf_index i) {
    rdb::ColumnFamilyOptions o;
    rdb::BlockBasedTableOptions t;
    t.block_cache = cache_;
    t.cache_index_and_filter_blocks = true;
    t.cache_index_and_filter_blocks_with_high_priority = true;
    t.pin_l0_filter_and_index_blocks_in_cache = true;
    t.format_version = 5;
    std::size_t memtable = 16 << 20;
    switch (i) {
    case cf_events:
      t.block_size = 16 << 10;
      memtable = 32 << 20;
      break;
    case cf_dedup:
      t.filter_policy.reset(rdb::NewBloomFilterPolicy(10));
      memtable = 32 << 20;
      break;
    case cf_counts:
      t.filter_policy.reset(rdb::NewBloomFilterPolicy(10));
      o.merge_operator = std::make_shared<add_counts>();
      break;
    case cf_cells:
      t.filter_policy.reset(rdb::NewBloomFilterPolicy(10));
      o.merge_operator = std::make_shared<merge_cells>();
      break;
    case cf_count_docs:
      o.merge_operator = std::make_shared<merge_docs<std::int64_t>>();
      break;
    case cf_cell_docs:
      o.merge_operator = std::make_shared<merge_docs<cell>>();
      break;
    default:
      break;
    }
    o.table_factory.reset(rdb::NewBlockBasedTableFactory(t));
    o.write_buffer_size = memtable;
    o.max_write_buffer_number = 3;
    o.level_compaction_dynamic_level_bytes = true;
    o.target_file_size_base = 32 << 20;
    o.max_bytes_for_level_base = 128 << 20;
    o.compression = rdb::kLZ4Compression;
    return o;
  }

  void write_rollups(rdb::WriteBatch& wb, const rollup_delta& d) {
    const char tags[] = {'m', 'h', 'd'};
    if (c_.layout == "lean") {
      write_lean(wb, d);
      return;
    }
    if (c_.rollups == "merge") {
      for (int g = 0; g < 3; ++g)
        for (const auto& [k, n] : d.counts[g])
          wb.Merge(handles_[cf_counts], count_row(tags[g], k.subject, k.bucket, k.type),
                   count_value(n));
      for (const auto& [k, n] : d.totals)
        wb.Merge(handles_[cf_counts], total_row(k.subject, k.type), count_value(n));
      for (const auto& [b, n] : d.global_minute)
        wb.Merge(handles_[cf_counts], global_row(b), count_value(n));
      for (const auto& [k, n] : d.subject_hour)
        wb.Merge(handles_[cf_counts], count_row('s', k.subject, k.bucket, ""),
                 count_value(n));
      for (int g = 0; g < 2; ++g)
        for (const auto& [k, c] : d.cells[g])
          wb.Merge(handles_[cf_cells],
                   cell_row(tags[g], k.meter, k.subject, k.bucket, k.group),
                   cell_value(c));
    } else {
      // Read what is stored, combine, write back whole values.
      std::vector<std::string> keys;
      std::vector<std::int64_t> adds;
      for (int g = 0; g < 3; ++g)
        for (const auto& [k, n] : d.counts[g]) {
          keys.push_back(count_row(tags[g], k.subject, k.bucket, k.type));
          adds.push_back(n);
        }
      for (const auto& [k, n] : d.totals) {
        keys.push_back(total_row(k.subject, k.type));
        adds.push_back(n);
      }
      for (const auto& [b, n] : d.global_minute) {
        keys.push_back(global_row(b));
        adds.push_back(n);
      }
      for (const auto& [k, n] : d.subject_hour) {
        keys.push_back(count_row('s', k.subject, k.bucket, ""));
        adds.push_back(n);
      }
      read_modify_write(wb, cf_counts, keys, [&](std::size_t i, const rdb::Slice* old) {
        return count_value((old ? read_count(*old) : 0) + adds[i]);
      });
      keys.clear();
      std::vector<const cell*> cells;
      for (int g = 0; g < 2; ++g)
        for (const auto& [k, c] : d.cells[g]) {
          keys.push_back(cell_row(tags[g], k.meter, k.subject, k.bucket, k.group));
          cells.push_back(&c);
        }
      read_modify_write(wb, cf_cells, keys, [&](std::size_t i, const rdb::Slice* old) {
        cell c = old ? read_cell(*old) : cell{};
        c.merge(*cells[i]);
        return cell_value(c);
      });
    }
    for (int g = 0; g < 2; ++g)
      for (const auto& u : d.uniques[g])
        wb.Put(
            handles_[cf_uniques],
            cell_row(tags[g], u.cell.meter, u.cell.subject, u.cell.bucket, u.cell.group) +
                '\0' + u.value,
            rdb::Slice());
  }

  // Lean: hour and day rows per subject (a count per type: the hourly history
  // and its per-type split read the same row; totals are the sum of the day
  // rows), meter hour rows per (meter, subject) with a cell per group, the
  // distinct values per hour, and the service-wide minute counts. No
  // per-subject minute rows: a read takes a range's partial hours from the
  // events by (subject, time).
  void write_lean(rdb::WriteBatch& wb, const rollup_delta& d) {
    const char tags[] = {'m', 'h', 'd'};
    for (int g = 1; g < 3; ++g) {
      std::map<std::pair<std::string, millis>,
               std::vector<std::pair<std::string, std::int64_t>>>
          docs;
      for (const auto& [k, n] : d.counts[g])
        docs[{k.subject, k.bucket}].emplace_back(k.type, n);
      for (auto& [k, entries] : docs) {
        std::sort(entries.begin(), entries.end());
        wb.Merge(handles_[cf_count_docs], count_row(tags[g], k.first, k.second, ""),
                 doc_value(entries));
      }
    }
    for (const auto& [b, n] : d.global_minute)
      wb.Merge(handles_[cf_counts], global_row(b), count_value(n));
    std::map<std::tuple<int, std::string, millis>,
             std::vector<std::pair<std::string, cell>>>
        cells;
    for (const auto& [k, c] : d.cells[1])
      cells[{k.meter, k.subject, k.bucket}].emplace_back(k.group, c);
    for (auto& [k, entries] : cells) {
      std::sort(entries.begin(), entries.end(),
                [](const auto& a, const auto& b) { return a.first < b.first; });
      wb.Merge(handles_[cf_cell_docs],
               cell_row('h', std::get<0>(k), std::get<1>(k), std::get<2>(k), ""),
               doc_value(entries));
    }
    for (const auto& u : d.uniques[1])
      wb.Put(handles_[cf_uniques],
             cell_row('h', u.cell.meter, u.cell.subject, u.cell.bucket, u.cell.group) +
                 '\0' + u.value,
             rdb::Slice());
  }

  template <class Combine>
  void read_modify_write(rdb::WriteBatch& wb, cf_index cf,
                         const std::vector<std::string>& keys, Combine&& combine) {
    if (keys.empty())
      return;
    std::vector<rdb::Slice> slices(keys.begin(), keys.end());
    std::vector<rdb::PinnableSlice> values(keys.size());
    std::vector<rdb::Status> statuses(keys.size());
    db_->MultiGet({}, handles_[cf], slices.size(), slices.data(), values.data(),
                  statuses.data());
    for (std::size_t i = 0; i < keys.size(); ++i) {
      rdb::Slice old = values[i];
      wb.Put(handles_[cf], keys[i], combine(i, statuses[i].ok() ? &old : nullptr));
    }
  }

  config c_;
  std::shared_ptr<rdb::Cache> cache_;
  std::unique_ptr<rdb::DB> db_;
  std::vector<rdb::ColumnFamilyHandle*> handles_;
  std::int64_t next_seq_ = 1;
  rollup_delta delta_;
  clock_type::time_point last_flush_ = clock_type::now();
};

config read_config(const args& a) {
  config c;
  c.dir = a.text("dir", "/var/tmp/spike/rocksdb");
  c.rollups = a.text("rollups", "merge");
  c.layout = a.text("layout", "classic");
  c.flush_ms = static_cast<int>(a.integer("flush-ms", 0));
  c.cache_mb = static_cast<int>(a.integer("cache-mb", 96));
  c.memtable_mb = static_cast<int>(a.integer("memtable-mb", 96));
  c.minutes = a.integer("minute-rollups", 1) != 0;
  c.label = a.text("label", "rocksdb");
  return c;
}

int load(const args& a) {
  auto c = read_config(a);
  auto total = static_cast<std::uint64_t>(a.integer("events", 10'000'000));
  auto times = a.text("times", "rising");
  auto batch_size = static_cast<std::size_t>(a.integer("batch", 1000));
  std::filesystem::remove_all(c.dir);
  std::printf("CONFIG %s backend=rocksdb rollups=%s layout=%s flush_ms=%d cache_mb=%d "
              "memtable_mb=%d minute_rollups=%d times=%s events=%llu batch=%zu\n",
              c.label.c_str(), c.rollups.c_str(), c.layout.c_str(), c.flush_ms,
              c.cache_mb, c.memtable_mb, c.minutes ? 1 : 0, times.c_str(),
              static_cast<unsigned long long>(total), batch_size);
  store s(c);
  event_generator gen(total, times == "scattered", 0.005, 42);
  progress p(c.label, 0);
  std::vector<event> batch;
  std::uint64_t stored = 0, sent = 0;
  // --max-minutes bounds a load on a busy machine; the reads then run on
  // what is stored.
  double max_seconds = static_cast<double>(a.integer("max-minutes", 0)) * 60;
  while (stored < total && (max_seconds == 0 || p.elapsed() < max_seconds)) {
    gen.next_batch(batch, std::min<std::size_t>(batch_size, total - stored));
    sent += batch.size();
    stored += s.append(batch);
    p.stored(stored);
  }
  double secs = p.elapsed();
  auto [rss, hwm] = rss_mb();
  std::printf("RESULT %s load events=%llu sent=%llu seconds=%.1f mean_rate=%.0f "
              "cpu_us_per_event=%.1f "
              "rss_mb=%.0f hwm_mb=%.0f disk_mb=%.0f written_gb=%.1f\n",
              c.label.c_str(), static_cast<unsigned long long>(stored),
              static_cast<unsigned long long>(sent), secs, stored / secs,
              cpu_seconds() * 1e6 / static_cast<double>(stored), rss, hwm, disk_mb(c.dir),
              written_bytes() / 1e9);
  s.print_sizes();
  std::fflush(stdout);
  if (a.flag("crash-at-end"))
    std::_Exit(0); // WAL synced; memtables and the last rollup changes not written
  rdb::WriteBatch wb;
  s.flush(wb);
  rdb::WriteOptions sync;
  sync.sync = true;
  check(s.db()->Write(sync, &wb), "final flush");
  return 0;
}

int read(const args& a) {
  auto c = read_config(a);
  int runs = static_cast<int>(a.integer("runs", 200));
  int big_runs = static_cast<int>(a.integer("big-runs", 10));
  auto t0 = clock_type::now();
  store s(c);
  double open_ms = seconds_since(t0) * 1000;
  auto t1 = clock_type::now();
  auto replayed = s.replay();
  double replay_ms = seconds_since(t1) * 1000;
  std::printf("RESULT %s start open_ms=%.1f replayed_events=%llu replay_ms=%.1f\n",
              c.label.c_str(), open_ms, static_cast<unsigned long long>(replayed),
              replay_ms);
  rng r(7);
  millis from = window_start, to = window_end;
  auto* db = s.db();
  bool lean = s.settings().layout == "lean";
  cf_index counts = lean ? cf_count_docs : cf_counts,
           cells = lean ? cf_cell_docs : cf_cells;
  // The SUM meter's cell in a stored value (lean: the "[]" group of a doc).
  auto tokens_cell = [&](const rdb::Slice& v) {
    if (!lean)
      return read_cell(v);
    for (const auto& [group, c] : read_doc<cell>(v))
      if (group == "[]")
        return c;
    return cell{};
  };
  // Scans [lo, hi) of one column family.
  auto scan = [&](cf_index cf, const std::string& lo, const std::string& hi,
                  auto&& visit) {
    rdb::ReadOptions ro;
    rdb::Slice upper(hi);
    ro.iterate_upper_bound = &upper;
    std::unique_ptr<rdb::Iterator> it(db->NewIterator(ro, s.cf(cf)));
    for (it->Seek(lo); it->Valid(); it->Next())
      visit(it->key(), it->value());
    check(it->status(), "scan");
  };
  auto subject_range = [&](char tag, const std::string& subject, std::string& lo,
                           std::string& hi) {
    lo = count_row(tag, subject, from, "");
    hi = count_row(tag, subject, to, "");
  };
  time_reads(c.label, "history_hourly_by_type", runs, [&](int) {
    std::string lo, hi;
    subject_range('h', subject_name(static_cast<int>(r.below(subject_count))), lo, hi);
    std::map<millis, std::int64_t> buckets;
    std::map<std::string, std::int64_t> by_type;
    scan(counts, lo, hi, [&](const rdb::Slice& k, const rdb::Slice& v) {
      if (!lean) {
        buckets[get_time(k.data() + lo.size() - 8)] += read_count(v);
        return;
      }
      for (const auto& [type, n] : read_doc<std::int64_t>(v)) {
        buckets[get_time(k.data() + lo.size() - 8)] += n;
        by_type[type] += n;
      }
    });
    return buckets.size();
  });
  time_reads(c.label, "history_hourly_subject_total", runs, [&](int) {
    std::string lo, hi;
    subject_range(lean ? 'h' : 's',
                  subject_name(static_cast<int>(r.below(subject_count))), lo, hi);
    std::vector<std::pair<millis, std::int64_t>> points;
    scan(counts, lo, hi, [&](const rdb::Slice& k, const rdb::Slice& v) {
      std::int64_t n = 0;
      if (lean)
        for (const auto& [type, count] : read_doc<std::int64_t>(v))
          n += count;
      else
        n = read_count(v);
      points.emplace_back(get_time(k.data() + lo.size() - 8), n);
    });
    return points.size();
  });
  // A usage summary over a range not on hour boundaries, planned as the
  // service plans it (model::plan_range): whole days from day rows, whole
  // hours up to them from hour rows, and the partial hours at the ends from
  // minute rows plus the raw partial minutes (classic) or from the events
  // by (subject, time) (lean, which keeps no minute rows).
  time_reads(c.label, "summary_odd_range", runs, [&](int) {
    auto subject = subject_name(static_cast<int>(r.below(subject_count)));
    std::map<std::string, std::int64_t> by_type;
    std::size_t rows = 0;
    auto rollup = [&](char tag, millis a, millis b) {
      if (a >= b)
        return;
      auto lo = count_row(tag, subject, a, ""), hi = count_row(tag, subject, b, "");
      scan(counts, lo, hi, [&](const rdb::Slice& k, const rdb::Slice& v) {
        ++rows;
        if (lean)
          for (const auto& [type, n] : read_doc<std::int64_t>(v))
            by_type[type] += n;
        else
          by_type[std::string(k.data() + lo.size(), k.size() - lo.size())] +=
              read_count(v);
      });
    };
    auto raw = [&](millis a, millis b) {
      if (a >= b)
        return;
      std::string lo = subject + '\0', hi = subject + '\0';
      put_time(lo, a);
      put_time(hi, b);
      std::vector<std::string> seqs;
      scan(cf_subject_time, lo, hi, [&](const rdb::Slice& k, const rdb::Slice&) {
        seqs.emplace_back(k.data() + k.size() - 8, 8);
      });
      std::vector<rdb::Slice> keys(seqs.begin(), seqs.end());
      std::vector<rdb::PinnableSlice> values(keys.size());
      std::vector<rdb::Status> statuses(keys.size());
      db->MultiGet({}, s.cf(cf_events), keys.size(), keys.data(), values.data(),
                   statuses.data());
      for (auto& v : values)
        by_type[read_event(v).type] += 1;
      rows += keys.size();
    };
    millis lo = from + 17 * minute_ms + 13'000, hi = to - 23 * minute_ms - 7'000;
    auto ceil_to = [](millis t, millis w) { return floor_to(t + w - 1, w); };
    millis lo_m = ceil_to(lo, minute_ms), lo_h = ceil_to(lo, hour_ms),
           lo_d = ceil_to(lo, day_ms);
    millis hi_m = floor_to(hi, minute_ms), hi_h = floor_to(hi, hour_ms),
           hi_d = floor_to(hi, day_ms);
    if (lean) {
      raw(lo, lo_h);
      raw(hi_h, hi);
    } else {
      raw(lo, lo_m);
      rollup('m', lo_m, lo_h);
      rollup('m', hi_h, hi_m);
      raw(hi_m, hi);
    }
    rollup('h', lo_h, lo_d);
    rollup('d', lo_d, hi_d);
    rollup('h', hi_d, hi_h);
    return rows;
  });
  time_reads(c.label, "meter_hourly_one_subject", runs, [&](int) {
    auto subject = subject_name(static_cast<int>(r.below(subject_count)));
    auto lo = cell_row('h', 0, subject, from, ""), hi = cell_row('h', 0, subject, to, "");
    hourly_fold fold(from, to);
    scan(cells, lo, hi, [&](const rdb::Slice& k, const rdb::Slice& v) {
      fold.add(subject, get_time(k.data() + lo.size() - 8), tokens_cell(v));
    });
    return fold.cells();
  });
  time_reads(c.label, "meter_hourly_all_subjects", big_runs, [&](int) {
    std::string lo = "h0", hi = "h1";
    hourly_fold fold(from, to);
    std::string subject;
    scan(cells, lo, hi, [&](const rdb::Slice& k, const rdb::Slice& v) {
      const char* p = k.data() + 2;
      std::size_t n = std::strlen(p);
      millis bucket = get_time(p + n + 1);
      if (bucket < from || bucket >= to)
        return;
      if (subject.size() != n || std::memcmp(subject.data(), p, n) != 0)
        subject.assign(p, n);
      fold.add(subject, bucket, tokens_cell(v));
    });
    return fold.cells();
  });
  time_reads(c.label, "unique_hourly_one_subject", runs, [&](int) {
    auto subject = subject_name(static_cast<int>(r.below(subject_count)));
    auto lo = cell_row('h', 1, subject, from, ""), hi = cell_row('h', 1, subject, to, "");
    std::map<std::string, std::size_t> per_cell;
    scan(cf_uniques, lo, hi, [&](const rdb::Slice& k, const rdb::Slice&) {
      std::string key = k.ToString();
      per_cell[key.substr(0, key.rfind('\0'))] += 1;
    });
    return per_cell.size();
  });
  // What a backfill of a new meter starts with: every stored event read
  // and its meter fields parsed, in storage order.
  time_reads(c.label, "scan_all_events", 1, [&](int) {
    std::size_t n = 0;
    double tokens = 0;
    rdb::ReadOptions ro;
    ro.fill_cache = false;
    std::unique_ptr<rdb::Iterator> it(db->NewIterator(ro, s.cf(cf_events)));
    for (it->SeekToFirst(); it->Valid(); it->Next(), ++n)
      tokens += read_event(it->value()).tokens;
    return n;
  });
  auto [rss, hwm] = rss_mb();
  std::printf("RESULT %s after_reads rss_mb=%.0f hwm_mb=%.0f disk_mb=%.0f events=%lld\n",
              c.label.c_str(), rss, hwm, disk_mb(c.dir),
              static_cast<long long>(s.next_seq() - 1));
  s.print_sizes();
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  args a(argc, argv);
  if (a.positional().empty()) {
    std::fprintf(stderr,
                 "usage: rocksdb_spike load|read --dir DIR ... (see the source)\n");
    return 2;
  }
  const auto& mode = a.positional()[0];
  if (mode == "load")
    return load(a);
  if (mode == "read")
    return read(a);
  std::fprintf(stderr, "rocksdb_spike: unknown mode %s\n", mode.c_str());
  return 2;
}
