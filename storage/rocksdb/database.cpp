#include "storage/rocksdb/database.hpp"

#include <rocksdb/env.h>
#include <rocksdb/file_system.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/write_buffer_manager.h>

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <limits>
#include <map>

namespace um::storage::rocks {

failure_kind kind_of(const rocksdb::Status& s) {
  if (s.IsCorruption())
    return failure_kind::corrupt;
  if (s.IsIOError() || s.IsBusy() || s.IsTimedOut() || s.IsTryAgain() ||
      s.IsIncomplete() || s.IsAborted() || s.IsShutdownInProgress() ||
      s.IsMemoryLimit() || s.IsNoSpace())
    return failure_kind::unavailable;
  if (s.IsNotFound())
    return failure_kind::not_found;
  return failure_kind::internal;
}

void check(const rocksdb::Status& s, const char* doing) {
  if (s.ok())
    return;
  std::string what = std::string{"rocksdb: "} + doing + ": " + s.ToString();
  if (s.IsNoSpace())
    what += " (the disk is full)";
  throw storage_error(kind_of(s), what);
}

namespace {

// One memory budget for RocksDB: memtables are charged to the block cache,
// so the two together never hold more than the cache's capacity. With a
// cache and memtables of their own (96 MiB each, the write-path spike's
// row R5) the service passed 300 MB after loading 10M events and reading
// them back (docs/PERFORMANCE.md).
constexpr std::size_t block_cache_bytes = 128u << 20;
constexpr std::size_t write_buffers_bytes = 64u << 20;

rocksdb::ColumnFamilyOptions
family_options(family f, const std::shared_ptr<rocksdb::Cache>& cache) {
  rocksdb::ColumnFamilyOptions o;
  rocksdb::BlockBasedTableOptions t;
  t.block_cache = cache;
  t.cache_index_and_filter_blocks = true;
  t.cache_index_and_filter_blocks_with_high_priority = true;
  t.pin_l0_filter_and_index_blocks_in_cache = true;
  t.format_version = 5;
  std::size_t memtable = 16u << 20;
  switch (f) {
  case cf_events:
    t.block_size = 16u << 10;
    memtable = 32u << 20;
    break;
  case cf_dedup:
    // Most dedup lookups are for new ids: the filter answers them in memory.
    t.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
    memtable = 32u << 20;
    break;
  case cf_counts:
    o.merge_operator = add_counts_operator();
    break;
  case cf_cells:
    o.merge_operator = merge_cells_operator();
    break;
  default:
    break;
  }
  o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(t));
  o.write_buffer_size = memtable;
  o.max_write_buffer_number = 3;
  o.level_compaction_dynamic_level_bytes = true;
  o.target_file_size_base = 32u << 20;
  o.max_bytes_for_level_base = 128u << 20;
  o.compression = rocksdb::kLZ4Compression;
  return o;
}

const std::string next_seq_key = "next_seq";

// RocksDB's own information log (`<dir>/LOG`), written with stdio. RocksDB's
// file logger stops the process (an assertion, in Debian's build) when it
// writes again after a write failed, which a full disk makes it do; this one
// drops what it cannot write, and the service reports the failure itself.
class info_log final : public rocksdb::Logger {
public:
  explicit info_log(const std::string& dir)
      : rocksdb::Logger(rocksdb::InfoLogLevel::INFO_LEVEL) {
    auto path = dir + "/LOG";
    std::rename(path.c_str(), (path + ".old").c_str());
    file_ = std::fopen(path.c_str(), "w");
  }
  ~info_log() override {
    if (file_)
      std::fclose(file_);
  }

  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override {
    std::lock_guard<std::mutex> guard{mutex_};
    if (!file_ || written_ > max_bytes)
      return;
    char line[4096];
    std::time_t now = std::time(nullptr);
    std::tm utc{};
    gmtime_r(&now, &utc);
    auto n = std::strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%SZ ", &utc);
    int m = std::vsnprintf(line + n, sizeof line - n - 1, format, ap);
    if (m < 0)
      return;
    n = std::min(sizeof line - 2, n + static_cast<std::size_t>(m));
    line[n++] = '\n';
    written_ += std::fwrite(line, 1, n, file_);
    if (std::fflush(file_) != 0)
      std::clearerr(file_);
  }

private:
  static constexpr std::size_t max_bytes = 64u << 20;
  std::mutex mutex_;
  std::FILE* file_ = nullptr;
  std::size_t written_ = 0;
};

} // namespace

// RocksDB recovers by itself from a failed write on a full disk (a
// background error that stops writes), retrying every 5 s, but not before
// the free space it asks the file system for would hold a whole memtable
// (32 MiB here), however little a retry needs. The store reports unlimited
// free space to that check, so that writes resume within seconds of space
// returning; a retry that still finds no room fails and waits again.
class recovering_file_system final : public rocksdb::FileSystemWrapper {
public:
  explicit recovering_file_system(const std::shared_ptr<rocksdb::FileSystem>& target)
      : rocksdb::FileSystemWrapper(target) {}

  const char* Name() const override { return "usage-metrics.recovering_file_system"; }

  rocksdb::IOStatus GetFreeSpace(const std::string&, const rocksdb::IOOptions&,
                                 std::uint64_t* free, rocksdb::IODebugContext*) override {
    *free = std::numeric_limits<std::uint64_t>::max();
    return rocksdb::IOStatus::OK();
  }
};

database::database(const std::string& path, bool create)
    : path_(path), env_(rocksdb::NewCompositeEnv(std::make_shared<recovering_file_system>(
                       rocksdb::FileSystem::Default()))) {
  // One block cache and one memtable budget for every database of the
  // process (one per namespace): more tenants do not mean more memory.
  static const auto cache = rocksdb::NewLRUCache(block_cache_bytes, 6, false, 0.5);
  static const auto write_buffers =
      std::make_shared<rocksdb::WriteBufferManager>(write_buffers_bytes, cache);
  rocksdb::DBOptions o;
  o.env = env_.get();
  o.create_if_missing = create;
  o.create_missing_column_families = true;
  o.max_background_jobs = 2;
  o.bytes_per_sync = 1u << 20;
  // A start replays the WAL files that hold what no flush has written yet.
  // Families written rarely (meters, subjects, counts of few subjects) would
  // keep old WAL files alive for long: past 64 MiB of WAL, RocksDB flushes
  // the families that hold the oldest, which bounds the replay after a
  // crash (measured: 300 MB of WAL took 13 s to replay at 10M events).
  o.max_total_wal_size = 64u << 20;
  o.write_buffer_manager = write_buffers;
  o.max_open_files = 512;
  if (create) {
    std::error_code ec;
    std::filesystem::create_directories(path_, ec);
  }
  if (std::filesystem::exists(path_))
    o.info_log = std::make_shared<info_log>(path_);
  // A start after a crash replays the WAL into memtables and goes on;
  // flushing them first would make the start wait for the disk.
  o.avoid_flush_during_recovery = true;
  std::vector<rocksdb::ColumnFamilyDescriptor> families;
  for (int i = 0; i < family_count; ++i)
    families.emplace_back(family_names[i], family_options(static_cast<family>(i), cache));
  rocksdb::DB* raw = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  check(rocksdb::DB::Open(o, path_, families, &handles, &raw), "open");
  db_.reset(raw);
  handles_ = std::move(handles);
  meters_loaded_ = false;
  try {
    std::string v;
    auto s = db_->Get({}, handles_[cf_default], next_seq_key, &v);
    if (s.ok() && v.size() == 8)
      next_seq_ = static_cast<std::int64_t>(get_u64(v.data()));
    else if (!s.IsNotFound())
      check(s.ok() ? rocksdb::Status::Corruption("next_seq") : s, "open");
  } catch (...) {
    close();
    throw;
  }
}

void database::close() {
  if (!db_)
    return;
  // After a stop, a start has nothing to replay: the memtables are written
  // out now (a second or so), not replayed from the WAL at the next start.
  // A database whose last write failed is closed as it is.
  if (!failed_) {
    rocksdb::FlushOptions flush;
    flush.wait = true;
    db_->Flush(flush, handles_).PermitUncheckedError();
  }
  for (auto* h : handles_)
    db_->DestroyColumnFamilyHandle(h);
  handles_.clear();
  db_->Close();
  db_.reset();
}

database::~database() {
  close();
}

namespace {

struct registry_entry {
  std::unique_ptr<database> db;
  int users = 0;
};

// Never destroyed: a database kept open after a failed write is left to the
// end of the process (its commits are in the WAL), not closed by a static
// destructor that may run after RocksDB's own statics are gone.
std::mutex& registry_mutex() {
  static auto* m = new std::mutex;
  return *m;
}

std::map<std::string, registry_entry>& registry() {
  static auto* r = new std::map<std::string, registry_entry>;
  return *r;
}

// Releases one user; the last one closes the database, under the registry's
// mutex, so that an open of the same directory waits for the close.
void release(const std::string& path) {
  std::lock_guard<std::mutex> guard{registry_mutex()};
  auto it = registry().find(path);
  if (it != registry().end() && --it->second.users == 0 && !it->second.db->failed())
    registry().erase(it);
}

} // namespace

std::shared_ptr<database> database::acquire(const std::string& path, bool create) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (create) {
    fs::create_directories(path, ec);
    if (ec)
      throw storage_error(failure_kind::unavailable,
                          "rocksdb: cannot create " + path + ": " + ec.message());
  }
  auto canonical = fs::weakly_canonical(path, ec);
  std::string key = ec ? path : canonical.string();
  std::lock_guard<std::mutex> guard{registry_mutex()};
  auto it = registry().find(key);
  if (it == registry().end()) {
    if (!create && !fs::exists(fs::path(key) / "CURRENT"))
      throw storage_error(failure_kind::unavailable, "rocksdb: no database in " + key);
    registry_entry entry;
    entry.db = std::make_unique<database>(key, create);
    it = registry().emplace(key, std::move(entry)).first;
  }
  ++it->second.users;
  return {it->second.db.get(), [key](database*) { release(key); }};
}

database::write_lock::write_lock(database& d) : d_(d), lock_(d.write_mutex_) {
  if (d.failed_)
    d.recover();
}

void database::write_lock::commit(rocksdb::WriteBatch& batch, std::int64_t next_seq) {
  if (next_seq > d_.next_seq_) {
    std::string v;
    put_u64(v, static_cast<std::uint64_t>(next_seq));
    check(batch.Put(d_.handles_[cf_default], next_seq_key, v), "write");
  }
  rocksdb::WriteOptions o;
  o.sync = d_.sync_;
  auto s = d_.db_->Write(o, &batch);
  if (!s.ok()) {
    d_.failed_ = true;
    check(s, "write");
  }
  if (next_seq > d_.next_seq_)
    d_.next_seq_ = next_seq;
}

// After a failed write RocksDB stops writes (a background error: the WAL
// could not be written). Resume() clears it once the cause is gone, or
// answers Busy while RocksDB's own recovery is at it (a full disk, see
// `recovering_file_system`); either way the write fails as unavailable
// until writes resume. Called with the write mutex held.
void database::recover() {
  auto s = db_->Resume();
  if (s.IsBusy())
    throw storage_error(
        failure_kind::unavailable,
        "rocksdb: writes stopped after a failed write (the disk is full?) "
        "and resume once it is written again");
  if (!s.ok() && !s.IsNotSupported())
    check(s, "resume after a failed write");
  failed_ = false;
}

const std::vector<active_meter>& database::write_lock::meters() {
  if (!d_.meters_loaded_) {
    read_view view{*this};
    std::vector<active_meter> loaded;
    for (auto& m : all_meters(view))
      loaded.push_back({m.record.id, std::move(m.record.definition)});
    d_.meters_ = std::move(loaded);
    d_.meters_loaded_ = true;
  }
  return d_.meters_;
}

read_view::read_view(database& db) : d(db), snapshot_(db.db().GetSnapshot()) {}

read_view::~read_view() {
  d.db().ReleaseSnapshot(snapshot_);
}

rocksdb::ReadOptions read_view::options() const {
  rocksdb::ReadOptions o;
  o.snapshot = snapshot_;
  return o;
}

bool read_view::get(family f, const rocksdb::Slice& key, std::string& value) {
  auto s = d.db().Get(options(), d.cf(f), key, &value);
  if (s.IsNotFound())
    return false;
  check(s, "read");
  return true;
}

void read_view::scan(
    family f, const std::string& from, const std::string& to,
    const std::function<bool(const rocksdb::Slice&, const rocksdb::Slice&)>& visit) {
  auto o = options();
  rocksdb::Slice upper(to);
  o.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(d.db().NewIterator(o, d.cf(f)));
  for (it->Seek(from); it->Valid(); it->Next())
    if (!visit(it->key(), it->value()))
      return;
  check(it->status(), "scan");
}

void read_view::scan_back(
    family f, const std::string& from, const std::string& to,
    const std::function<bool(const rocksdb::Slice&, const rocksdb::Slice&)>& visit) {
  auto o = options();
  rocksdb::Slice lower(from), upper(to);
  o.iterate_lower_bound = &lower;
  o.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(d.db().NewIterator(o, d.cf(f)));
  for (it->SeekToLast(); it->Valid(); it->Prev())
    if (!visit(it->key(), it->value()))
      return;
  check(it->status(), "scan");
}

std::vector<model::event> read_view::events(const std::vector<std::int64_t>& seqs) {
  std::vector<model::event> out;
  if (seqs.empty())
    return out;
  std::vector<std::string> keys;
  keys.reserve(seqs.size());
  for (auto seq : seqs)
    keys.push_back(seq_key(seq));
  std::vector<rocksdb::Slice> slices(keys.begin(), keys.end());
  std::vector<rocksdb::PinnableSlice> values(keys.size());
  std::vector<rocksdb::Status> statuses(keys.size());
  d.db().MultiGet(options(), d.cf(cf_events), slices.size(), slices.data(), values.data(),
                  statuses.data());
  out.reserve(seqs.size());
  for (std::size_t i = 0; i < keys.size(); ++i) {
    if (statuses[i].IsNotFound())
      check(rocksdb::Status::Corruption("a listed event is missing"), "read");
    check(statuses[i], "read");
    out.push_back(read_event(values[i]));
  }
  return out;
}

std::string record_value(const std::string& slug, const std::string& definition,
                         std::int64_t created, const backfill_position& position) {
  std::string v;
  put_text(v, slug);
  put_text(v, definition);
  put_fixed(v, created);
  put_fixed(v, position.until);
  put_fixed(v, position.cursor);
  return v;
}

stored_record read_record(const std::string& id, const rocksdb::Slice& v) {
  value_reader r{v, "meter record"};
  stored_record out;
  out.record.id = id;
  r.text(); // the slug: also in the definition
  out.definition = r.text();
  out.created = r.fixed<std::int64_t>();
  out.record.position.until = r.fixed<std::int64_t>();
  out.record.position.cursor = r.fixed<std::int64_t>();
  out.record.definition = parse_stored_meter(out.definition);
  return out;
}

std::vector<stored_record> all_meters(read_view& view) {
  std::vector<stored_record> out;
  std::unique_ptr<rocksdb::Iterator> it(
      view.d.db().NewIterator(view.options(), view.d.cf(cf_meters)));
  for (it->SeekToFirst(); it->Valid(); it->Next())
    out.push_back(read_record(it->key().ToString(), it->value()));
  check(it->status(), "read meters");
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.created < b.created; });
  return out;
}

} // namespace um::storage::rocks
