#include "storage/rocksdb/encoding.hpp"

#include "storage/event_store.hpp"

#include <cstring>

namespace um::storage::rocks {

const char* const family_names[family_count] = {
    "default", "events", "dedup",   "by_subject", "by_time",  "by_type",
    "counts",  "cells",  "uniques", "meters",     "subjects", "revisions"};

namespace {

[[noreturn]] void bad_value(const char* what) {
  throw storage_error(failure_kind::corrupt,
                      std::string{"rocksdb: a stored value does not parse: "} + what);
}

std::string tagged(char tag, std::string_view subject) {
  std::string k(1, tag);
  put_string(k, subject);
  return k;
}

} // namespace

void value_reader::need(std::size_t n) const {
  if (static_cast<std::size_t>(end_ - p_) < n)
    throw storage_error(failure_kind::corrupt,
                        std::string{"rocksdb: a stored "} + what_ + " does not parse");
}

std::string value_reader::text() {
  auto n = fixed<std::uint32_t>();
  need(n);
  std::string out(p_, n);
  p_ += n;
  return out;
}

void put_text(std::string& out, std::string_view s) {
  put_fixed(out, static_cast<std::uint32_t>(s.size()));
  out.append(s.data(), s.size());
}

void put_string(std::string& out, std::string_view s) {
  for (char c : s) {
    out += c;
    if (c == '\0')
      out += '\xff';
  }
  out += '\0';
  out += '\x01';
}

std::string get_string(const char*& p, const char* end) {
  std::string out;
  while (p < end) {
    char c = *p++;
    if (c != '\0') {
      out += c;
      continue;
    }
    if (p == end)
      break;
    char next = *p++;
    if (next == '\x01')
      return out;
    out += '\0';
  }
  bad_value("unterminated key string");
}

void put_u64(std::string& out, std::uint64_t v) {
  for (int i = 7; i >= 0; --i)
    out += static_cast<char>((v >> (8 * i)) & 0xff);
}

std::uint64_t get_u64(const char* p) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i)
    v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

void put_time(std::string& out, model::millis t) {
  put_u64(out, static_cast<std::uint64_t>(t) ^ (1ULL << 63));
}

model::millis get_time(const char* p) {
  return static_cast<model::millis>(get_u64(p) ^ (1ULL << 63));
}

std::string seq_key(std::int64_t seq) {
  std::string k;
  put_u64(k, static_cast<std::uint64_t>(seq));
  return k;
}

std::string dedup_key(std::string_view source, std::string_view id) {
  std::string k;
  put_string(k, source);
  put_string(k, id);
  return k;
}

std::string subject_key(std::string_view subject) {
  std::string k;
  put_string(k, subject);
  return k;
}

std::string subject_time_key(std::string_view subject, model::millis time) {
  auto k = subject_key(subject);
  put_time(k, time);
  return k;
}

std::string subject_time_seq_key(std::string_view subject, model::millis time,
                                 std::int64_t seq) {
  auto k = subject_time_key(subject, time);
  put_u64(k, static_cast<std::uint64_t>(seq));
  return k;
}

std::string time_key(model::millis time) {
  std::string k;
  put_time(k, time);
  return k;
}

std::string time_seq_key(model::millis time, std::int64_t seq) {
  auto k = time_key(time);
  put_u64(k, static_cast<std::uint64_t>(seq));
  return k;
}

std::string type_seq_key(std::string_view type, std::int64_t seq) {
  std::string k;
  put_string(k, type);
  put_u64(k, static_cast<std::uint64_t>(seq));
  return k;
}

std::int64_t seq_at_end(const rocksdb::Slice& key) {
  if (key.size() < 8)
    bad_value("short listing key");
  return static_cast<std::int64_t>(get_u64(key.data() + key.size() - 8));
}

model::millis time_before_seq(const rocksdb::Slice& key) {
  if (key.size() < 16)
    bad_value("short listing key");
  return get_time(key.data() + key.size() - 16);
}

std::string count_hour_key(std::string_view subject, model::millis bucket) {
  auto k = tagged('h', subject);
  put_time(k, bucket);
  return k;
}

std::string count_day_key(std::string_view subject, model::millis bucket) {
  auto k = tagged('d', subject);
  put_time(k, bucket);
  return k;
}

std::string count_total_key(std::string_view subject) {
  return tagged(total_tag, subject);
}

std::string count_all_key() {
  return "a";
}

std::string global_minute_key(model::millis bucket) {
  std::string k(1, global_tag);
  put_time(k, bucket);
  return k;
}

std::string cell_meter_prefix(std::string_view meter) {
  std::string k;
  put_string(k, meter);
  return k;
}

std::string cell_subject_prefix(std::string_view meter, std::string_view subject) {
  auto k = cell_meter_prefix(meter);
  put_string(k, subject);
  return k;
}

std::string cell_key(std::string_view meter, std::string_view subject,
                     model::millis bucket) {
  auto k = cell_subject_prefix(meter, subject);
  put_time(k, bucket);
  return k;
}

std::string unique_key(std::string_view meter, std::string_view subject,
                       model::millis bucket, std::string_view group,
                       std::string_view value) {
  auto k = cell_key(meter, subject, bucket);
  put_string(k, group);
  put_string(k, value);
  return k;
}

std::string revision_key(std::string_view source, std::string_view id, std::int64_t n) {
  auto k = dedup_key(source, id);
  put_u64(k, static_cast<std::uint64_t>(n));
  return k;
}

std::string prefix_end(std::string prefix) {
  while (!prefix.empty()) {
    auto& last = prefix.back();
    if (static_cast<unsigned char>(last) != 0xff) {
      last = static_cast<char>(static_cast<unsigned char>(last) + 1);
      return prefix;
    }
    prefix.pop_back();
  }
  return key_space_end();
}

std::string event_value(const model::event& e) {
  std::string v;
  v.reserve(e.source.size() + e.id.size() + e.type.size() + e.subject.size() +
            e.data.size() + 36);
  put_text(v, e.source);
  put_text(v, e.id);
  put_text(v, e.type);
  put_text(v, e.subject);
  put_text(v, e.data);
  put_fixed(v, e.time);
  put_fixed(v, e.ingested_at);
  return v;
}

model::event read_event(const rocksdb::Slice& v) {
  value_reader r{v};
  model::event e;
  e.source = r.text();
  e.id = r.text();
  e.type = r.text();
  e.subject = r.text();
  e.data = r.text();
  e.time = r.fixed<model::millis>();
  e.ingested_at = r.fixed<model::millis>();
  return e;
}

std::string revision_value(const model::event_revision& r) {
  std::string v;
  put_fixed(v, static_cast<std::uint8_t>(r.kind));
  put_fixed(v, r.at);
  put_text(v, r.by);
  put_text(v, r.trace_id);
  put_text(v, event_value(r.version));
  return v;
}

model::event_revision read_revision(const rocksdb::Slice& v) {
  value_reader r{v, "revision"};
  model::event_revision out;
  auto kind = r.fixed<std::uint8_t>();
  if (kind > static_cast<std::uint8_t>(model::revision_kind::superseded))
    bad_value("revision kind");
  out.kind = static_cast<model::revision_kind>(kind);
  out.at = r.fixed<model::millis>();
  out.by = r.text();
  out.trace_id = r.text();
  out.version = read_event(r.text());
  return out;
}

std::string count_doc_value(const count_doc& doc) {
  std::string out;
  for (const auto& [name, n] : doc) {
    put_text(out, name);
    put_fixed(out, n);
  }
  return out;
}

count_doc read_count_doc(const rocksdb::Slice& v) {
  value_reader r{v};
  count_doc out;
  while (!r.done()) {
    auto name = r.text();
    out[std::move(name)] += r.fixed<std::int64_t>();
  }
  return out;
}

std::string cell_doc_value(const cell_doc& doc) {
  std::string out;
  for (const auto& [group, c] : doc) {
    put_text(out, group);
    put_fixed(out, c.sum);
    put_fixed(out, c.count);
    put_fixed(out, c.min);
    put_fixed(out, c.max);
    put_fixed(out, c.latest);
    put_fixed(out, c.latest_time);
    put_fixed(out, c.latest_seq);
  }
  return out;
}

cell_doc read_cell_doc(const rocksdb::Slice& v) {
  value_reader r{v};
  cell_doc out;
  while (!r.done()) {
    auto group = r.text();
    model::meter_cell c;
    c.sum = r.fixed<double>();
    c.count = r.fixed<std::int64_t>();
    c.min = r.fixed<double>();
    c.max = r.fixed<double>();
    c.latest = r.fixed<double>();
    c.latest_time = r.fixed<model::millis>();
    c.latest_seq = r.fixed<std::int64_t>();
    out[std::move(group)].merge(c);
  }
  return out;
}

namespace {

// A value that does not parse fails the merge, which RocksDB reports as
// corruption of the key: the read (or the compaction) fails, never guesses.
class add_counts final : public rocksdb::AssociativeMergeOperator {
public:
  bool Merge(const rocksdb::Slice&, const rocksdb::Slice* existing,
             const rocksdb::Slice& value, std::string* out,
             rocksdb::Logger*) const override {
    try {
      auto doc = existing ? read_count_doc(*existing) : count_doc{};
      for (const auto& [name, n] : read_count_doc(value))
        if ((doc[name] += n) == 0)
          doc.erase(name);
      *out = count_doc_value(doc);
      return true;
    } catch (const storage_error&) {
      return false;
    }
  }
  const char* Name() const override { return "usage-metrics.add_counts"; }
};

class merge_cells final : public rocksdb::AssociativeMergeOperator {
public:
  bool Merge(const rocksdb::Slice&, const rocksdb::Slice* existing,
             const rocksdb::Slice& value, std::string* out,
             rocksdb::Logger*) const override {
    try {
      if (!existing) {
        out->assign(value.data(), value.size());
        return true;
      }
      auto doc = read_cell_doc(*existing);
      for (const auto& [group, c] : read_cell_doc(value))
        doc[group].merge(c);
      *out = cell_doc_value(doc);
      return true;
    } catch (const storage_error&) {
      return false;
    }
  }
  const char* Name() const override { return "usage-metrics.merge_cells"; }
};

} // namespace

std::shared_ptr<rocksdb::MergeOperator> add_counts_operator() {
  return std::make_shared<add_counts>();
}

std::shared_ptr<rocksdb::MergeOperator> merge_cells_operator() {
  return std::make_shared<merge_cells>();
}

} // namespace um::storage::rocks
