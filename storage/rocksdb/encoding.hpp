#pragma once

// How the RocksDB store lays its data out: the keys of each column family,
// the stored forms of events and of the rollup documents, and the merge
// operators that add rollup changes to those documents. Keys are built so
// that RocksDB's bytewise order is the order reads need: strings are escaped
// and terminated (their order kept, no string a prefix of another's key),
// numbers are big-endian, signed times offset so that they sort as numbers.

#include "model/clock.hpp"
#include "model/event.hpp"
#include "model/event_revision.hpp"
#include "model/metering.hpp"

#include <rocksdb/merge_operator.h>
#include <rocksdb/slice.h>

#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <string_view>

namespace um::storage::rocks {

/// The column families, in the order they are opened.
enum family : int {
  cf_default,    ///< Store-wide values: the next sequence number.
  cf_events,     ///< seq -> event.
  cf_dedup,      ///< (source, id) -> seq; Bloom filters.
  cf_by_subject, ///< (subject, time, seq) -> type.
  cf_by_time,    ///< (time, seq) -> type.
  cf_by_type,    ///< (type, seq) -> nothing: what a meter's backfill reads.
  cf_counts,     ///< Count documents (merge operands of `add_counts`).
  cf_cells,      ///< Meter cell documents per (meter, subject, hour).
  cf_uniques,    ///< UNIQUE_COUNT values per (meter, subject, hour, group, value).
  cf_meters,     ///< Meter id -> its record.
  cf_subjects,   ///< Subjects by key, and their ids.
  cf_revisions,  ///< (source, id, n) -> a version voided or superseded (audit trail).
  family_count
};

/// The names of the column families, indexed by `family`.
extern const char* const family_names[family_count];

// -- values ----------------------------------------------------------------------

/// Reads a stored value front to back, checking every length against its
/// end: a value cut short is `failure_kind::corrupt`, naming `what` it is.
class value_reader {
public:
  explicit value_reader(const rocksdb::Slice& v, const char* what = "value")
      : p_(v.data()), end_(v.data() + v.size()), what_(what) {}

  /// Whether the whole value has been read.
  bool done() const { return p_ == end_; }

  /// A number or other trivially copyable value, in the host's byte order.
  template <class T>
  T fixed() {
    T out;
    need(sizeof out);
    std::memcpy(&out, p_, sizeof out);
    p_ += sizeof out;
    return out;
  }

  /// A string written by `put_text`.
  std::string text();

private:
  void need(std::size_t n) const;
  const char* p_;
  const char* end_;
  const char* what_;
};

/// Appends `v` as `value_reader::fixed` reads it.
template <class T>
void put_fixed(std::string& out, T v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof v);
}

/// Appends `s` with its length, as `value_reader::text` reads it.
void put_text(std::string& out, std::string_view s);

// -- key parts -----------------------------------------------------------------

/// Appends `s` escaped (0x00 as 0x00 0xff) and terminated (0x00 0x01): the
/// bytewise order of the results is that of the strings.
void put_string(std::string& out, std::string_view s);

/// Reads a string `put_string` wrote at `p` (in `[p, end)`), moving `p` past it.
std::string get_string(const char*& p, const char* end);

/// Appends `v` big-endian.
void put_u64(std::string& out, std::uint64_t v);
std::uint64_t get_u64(const char* p);

/// Appends a signed time in an order-keeping unsigned form.
void put_time(std::string& out, model::millis t);
model::millis get_time(const char* p);

/// The key of an event in `cf_events`.
std::string seq_key(std::int64_t seq);

/// The dedup key of (source, id).
std::string dedup_key(std::string_view source, std::string_view id);

/// `(subject, time, seq)` of `cf_by_subject`; without seq (or time), a prefix.
std::string subject_key(std::string_view subject);
std::string subject_time_key(std::string_view subject, model::millis time);
std::string subject_time_seq_key(std::string_view subject, model::millis time,
                                 std::int64_t seq);

/// `(time, seq)` of `cf_by_time`.
std::string time_key(model::millis time);
std::string time_seq_key(model::millis time, std::int64_t seq);

/// `(type, seq)` of `cf_by_type`.
std::string type_seq_key(std::string_view type, std::int64_t seq);

/// The seq at the end of a listing key.
std::int64_t seq_at_end(const rocksdb::Slice& key);
/// The time before the seq at the end of a listing key.
model::millis time_before_seq(const rocksdb::Slice& key);

// Count documents in `cf_counts`: per subject and hour ('h') or day ('d'), per
// subject in all ('t'), in all ('a'), and the service-wide count per minute
// ('g', one entry named "").
std::string count_hour_key(std::string_view subject, model::millis bucket);
std::string count_day_key(std::string_view subject, model::millis bucket);
std::string count_total_key(std::string_view subject);
std::string count_all_key();
std::string global_minute_key(model::millis bucket);
/// The prefix of the 't' keys, and of the 'g' keys.
inline constexpr char total_tag = 't';
inline constexpr char global_tag = 'g';

/// `(meter, subject, hour)` of `cf_cells`, and the prefixes reads seek to.
std::string cell_key(std::string_view meter, std::string_view subject,
                     model::millis bucket);
std::string cell_meter_prefix(std::string_view meter);
std::string cell_subject_prefix(std::string_view meter, std::string_view subject);

/// `(meter, subject, hour, group, value)` of `cf_uniques`.
std::string unique_key(std::string_view meter, std::string_view subject,
                       model::millis bucket, std::string_view group,
                       std::string_view value);

/// `(source, id, n)` of `cf_revisions`; without n, the prefix of an event's
/// revisions (`dedup_key`).
std::string revision_key(std::string_view source, std::string_view id, std::int64_t n);

/// The value of a dedup key whose event is voided (a live event's is its
/// `seq_key`, 8 bytes).
inline constexpr std::string_view voided_dedup_value = "v";

/// The exclusive end of the keys that start with `prefix`.
std::string prefix_end(std::string prefix);

/// A key after every key of the families (an upper bound for "to the end").
inline std::string key_space_end() {
  return std::string(64, '\xff');
}

// -- values ----------------------------------------------------------------------

/// An event as `cf_events` stores it.
std::string event_value(const model::event& e);
/// Reads it back; throws `storage_error` (corrupt) on a value that does not parse.
model::event read_event(const rocksdb::Slice& v);

/// A revision as `cf_revisions` stores it, and back.
std::string revision_value(const model::event_revision& r);
model::event_revision read_revision(const rocksdb::Slice& v);

/// A count document: a count per name, sorted by name.
using count_doc = std::map<std::string, std::int64_t>;
std::string count_doc_value(const count_doc& doc);
count_doc read_count_doc(const rocksdb::Slice& v);

/// A cell document: a cell per group key (as `meter_group_key` writes it),
/// without the unique values, which `cf_uniques` holds.
using cell_doc = std::map<std::string, model::meter_cell>;
std::string cell_doc_value(const cell_doc& doc);
cell_doc read_cell_doc(const rocksdb::Slice& v);

/// Adds count documents entry by entry; an entry that comes to zero goes.
std::shared_ptr<rocksdb::MergeOperator> add_counts_operator();
/// Merges cell documents group by group (`model::meter_cell::merge`).
std::shared_ptr<rocksdb::MergeOperator> merge_cells_operator();

} // namespace um::storage::rocks
