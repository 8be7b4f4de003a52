#pragma once

// One open RocksDB database, shared by every store of the process that names
// its directory: RocksDB lets one process open a directory once, and the
// service opens several stores on it (the writer, the aggregation actor's
// reader, read-only ones). The database object holds what they share: the
// column families, the next sequence number, the meters appends apply, and
// the mutex that orders the writes that must not interleave (appends against
// meter changes, backfills, retention and subject changes).

#include "storage/event_store.hpp"
#include "storage/meter_rollup.hpp"
#include "storage/rocksdb/encoding.hpp"

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace um::storage::rocks {

/// Throws the `storage_error` that `s` means, unless it is OK: out of space
/// and I/O errors are `unavailable`, damage is `corrupt`.
void check(const rocksdb::Status& s, const char* doing);

/// What a status means for a caller.
failure_kind kind_of(const rocksdb::Status& s);

/// An open database and what its stores share.
class database {
public:
  /// Opens (creating when `create`) the database in `path`.
  database(const std::string& path, bool create);
  ~database();
  database(const database&) = delete;
  database& operator=(const database&) = delete;

  /// The database for `path`, opened on first use and closed when the last
  /// store using it goes, unless its last write failed: then it stays open
  /// for the next store, because an open writes (a new manifest) and would
  /// fail while the disk is full, where the open database still reads and
  /// resumes writing once space returns. `create`: create the directory and
  /// the database when missing (else a missing one is `unavailable`).
  static std::shared_ptr<database> acquire(const std::string& path, bool create);

  rocksdb::DB& db() { return *db_; }
  rocksdb::ColumnFamilyHandle* cf(family f) { return handles_[f]; }

  /// Holds the write mutex: taken by every write of the store. Taking it
  /// after a failed write first resumes writes (see `recover`).
  class write_lock {
  public:
    explicit write_lock(database& d);

    /// The next sequence number to give.
    std::int64_t next_seq() const { return d_.next_seq_; }

    /// Writes `batch` (synced when the database's commits are); advances
    /// the next sequence number to `next_seq` once it is written.
    void commit(rocksdb::WriteBatch& batch, std::int64_t next_seq = 0);

    /// The meters appends apply, loaded on first use.
    const std::vector<active_meter>& meters();

    /// Forgets the meters appends apply: a meter changed in this batch.
    void meters_changed() { d_.meters_loaded_ = false; }

    database& owner() const { return d_; }

  private:
    database& d_;
    std::unique_lock<std::mutex> lock_;
  };

  /// Whether the last write failed (and the next one resumes writes first).
  bool failed() const { return failed_; }

  /// Whether commits are synced (`store_options::synchronous_full`); every
  /// store of a database asks the same, and the last open decides.
  void set_sync(bool sync) { sync_ = sync; }

private:
  void close();
  void recover();

  std::string path_;
  std::unique_ptr<rocksdb::Env> env_;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  std::mutex write_mutex_;
  std::int64_t next_seq_ = 1;
  std::atomic<bool> sync_{true};
  /// The last write failed: resume before the next one.
  std::atomic<bool> failed_{false};
  bool meters_loaded_ = false;
  std::vector<active_meter> meters_;
};

/// A consistent view for a read that makes several lookups: a snapshot,
/// released when the view goes.
class read_view {
public:
  explicit read_view(database& d);
  /// A view within a write.
  explicit read_view(database::write_lock& held) : read_view(held.owner()) {}
  ~read_view();
  read_view(const read_view&) = delete;
  read_view& operator=(const read_view&) = delete;

  /// Options reading at the snapshot.
  rocksdb::ReadOptions options() const;

  /// The value of `key`, if any.
  bool get(family f, const rocksdb::Slice& key, std::string& value);

  /// Calls `visit(key, value)` for each key in `[from, to)` of `f` in order
  /// until it returns false.
  void
  scan(family f, const std::string& from, const std::string& to,
       const std::function<bool(const rocksdb::Slice&, const rocksdb::Slice&)>& visit);

  /// Same, newest (greatest key) first.
  void scan_back(
      family f, const std::string& from, const std::string& to,
      const std::function<bool(const rocksdb::Slice&, const rocksdb::Slice&)>& visit);

  /// The events stored under `seqs`, in that order; a seq without one is
  /// an error (the listing keys and the events commit together).
  std::vector<model::event> events(const std::vector<std::int64_t>& seqs);

  database& d;

private:
  const rocksdb::Snapshot* snapshot_ = nullptr;
};

/// The meter record stored in `cf_meters`.
struct stored_record {
  meter_record record;
  std::string definition;   ///< As stored (`stored_meter_text`, or an older form).
  std::int64_t created = 0; ///< Creation order.
};

/// A meter record's stored value, and back.
std::string record_value(const std::string& slug, const std::string& definition,
                         std::int64_t created, const backfill_position& position);
stored_record read_record(const std::string& id, const rocksdb::Slice& v);

/// Every stored meter, in creation order.
std::vector<stored_record> all_meters(read_view& view);

} // namespace um::storage::rocks
