// The RocksDB store's meters: their records, back-fills, cell documents and
// the reads of meter queries.
//
// Hour cells are stored: one document per (meter, subject, hour) holding a
// cell per group, written as merge operands in the appends' own batches, and
// the UNIQUE_COUNT values beside them. Minute cells are not stored: they are
// folded from the events when asked (a query reads them only for the partial
// hours at its ends, or for MINUTE windows), so they are exact from the
// events themselves.

#include "storage/rocksdb/store.hpp"

#include "model/metering.hpp"

#include <algorithm>
#include <limits>
#include <map>
#include <set>

namespace um::storage::rocks {

using model::millis;

namespace {

constexpr millis hour_ms = 3'600'000;

std::string not_found_message(const std::string& id) {
  return "meter \"" + id + "\" not found";
}

// The meter, subject and bucket at the start of a cell or unique key; `p`
// moves past them.
struct cell_position {
  std::string subject;
  millis bucket = 0;
};

cell_position read_cell_position(const char*& p, const char* end) {
  cell_position out;
  get_string(p, end); // the meter
  out.subject = get_string(p, end);
  if (end - p < 8)
    throw storage_error(failure_kind::corrupt, "rocksdb: short cell key");
  out.bucket = get_time(p);
  p += 8;
  return out;
}

// Visits the keys of `f` under `meter` with `from <= bucket < to`, of every
// subject, seeking past the buckets outside the range of each subject.
template <class Visit>
void each_subject_range(read_view& view, family f, const std::string& meter, millis from,
                        millis to, Visit&& visit) {
  auto prefix = cell_meter_prefix(meter), end = prefix_end(prefix);
  auto o = view.options();
  rocksdb::Slice upper(end);
  o.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(view.d.db().NewIterator(o, view.d.cf(f)));
  it->Seek(prefix);
  while (it->Valid()) {
    auto k = it->key();
    const char* p = k.data();
    auto at = read_cell_position(p, k.data() + k.size());
    if (at.bucket < from) {
      it->Seek(cell_key(meter, at.subject, from));
      continue;
    }
    if (at.bucket >= to) {
      it->Seek(prefix_end(cell_subject_prefix(meter, at.subject)));
      continue;
    }
    visit(at, p, k.data() + k.size(), it->value());
    it->Next();
  }
  check(it->status(), "read cells");
}

// Visits the keys of `f` of the given subjects with `from <= bucket < to`.
template <class Visit>
void each_listed_subject(read_view& view, family f, const std::string& meter,
                         const std::vector<std::string>& subjects, millis from, millis to,
                         Visit&& visit) {
  for (const auto& s : std::set<std::string>(subjects.begin(), subjects.end()))
    view.scan(f, cell_key(meter, s, from), cell_key(meter, s, to),
              [&](const rocksdb::Slice& k, const rocksdb::Slice& v) {
                const char* p = k.data();
                auto at = read_cell_position(p, k.data() + k.size());
                visit(at, p, k.data() + k.size(), v);
                return true;
              });
}

// Minute cells are not stored: they are folded from the events, whole, then
// handed over in (bucket, subject, group key) order.
void minute_cells(read_view& view, const meter_record& meter, millis from, millis to,
                  const std::vector<std::string>& subjects, meter_cell_stream& out) {
  std::map<std::tuple<millis, std::string, std::string>, model::meter_cell> cells;
  for (const auto& e : events_in(view, meter.definition.event_type, from, to, subjects)) {
    auto x = model::extract_sample(meter.definition, e.event);
    if (x.status != model::sample_status::counted)
      continue;
    cells[{model::bucket_floor(x.sample.time, 60'000), x.sample.subject,
           meter_group_key(x.sample.group_values)}]
        .add(x.sample, e.seq);
  }
  for (auto& [key, cell] : cells)
    out.add_cell(std::get<0>(key), std::get<1>(key), std::get<2>(key), std::move(cell));
}

} // namespace

void write_cells(database& d, rocksdb::WriteBatch& batch, const meter_delta& delta) {
  std::map<std::string, cell_doc> docs;
  for (const auto& [key, cell] : delta.cells[static_cast<int>(meter_grain::hour)]) {
    const auto& [meter, bucket, subject, group] = key;
    docs[cell_key(meter, subject, bucket)][group].merge(cell);
    for (const auto& value : cell.uniques)
      check(batch.Put(d.cf(cf_uniques), unique_key(meter, subject, bucket, group, value),
                      rocksdb::Slice()),
            "write");
  }
  for (const auto& [key, doc] : docs)
    check(batch.Merge(d.cf(cf_cells), key, cell_doc_value(doc)), "write");
}

std::optional<stored_record> find_record(read_view& view, const std::string& ref,
                                         bool by_slug) {
  if (!by_slug) {
    std::string value;
    if (!view.get(cf_meters, ref, value))
      return std::nullopt;
    return read_record(ref, value);
  }
  for (auto& m : all_meters(view))
    if (m.record.id == ref || m.record.definition.slug == ref)
      return std::move(m);
  return std::nullopt;
}

std::vector<model::stored_meter> store::meters() {
  read_view view{*db_};
  std::vector<model::stored_meter> out;
  for (auto& m : all_meters(view))
    out.push_back({std::move(m.record.definition), m.record.position.ready()});
  return out;
}

void store::create_meter(const model::meter& m) {
  writable();
  database::write_lock lock{*db_};
  read_view view{lock};
  std::int64_t created = 0;
  for (const auto& other : all_meters(view)) {
    if (other.record.id == m.id || other.record.definition.slug == m.slug)
      throw storage_error(failure_kind::conflict,
                          "meter \"" + (other.record.id == m.id ? m.id : m.slug) +
                              "\" exists");
    created = std::max(created, other.created);
  }
  // Events stored before it (seq < next) are the backfill's; later ones the
  // appends', which see it from this commit on (both under the write lock).
  backfill_position position{lock.next_seq() - 1, 0};
  rocksdb::WriteBatch wb;
  check(wb.Put(db_->cf(cf_meters), m.id,
               record_value(m.slug, stored_meter_text(m), created + 1, position)),
        "create meter");
  // A meter of this id deleted earlier left nothing: its rollups went with it.
  lock.meters_changed();
  lock.commit(wb);
}

void store::update_meter(const model::meter& m) {
  writable();
  database::write_lock lock{*db_};
  read_view view{lock};
  auto before = find_record(view, m.id, false);
  if (!before)
    throw storage_error(failure_kind::not_found, not_found_message(m.id));
  rocksdb::WriteBatch wb;
  write_meter_update(lock, wb, *before, m);
  lock.commit(wb);
}

model::validated<model::meter> store::update_meter(const std::string& id_or_slug,
                                                   const model::meter_update& update) {
  writable();
  database::write_lock lock{*db_};
  read_view view{lock};
  auto before = find_record(view, id_or_slug, true);
  if (!before)
    throw storage_error(failure_kind::not_found, "meter not found: " + id_or_slug);
  auto after = model::apply_meter_update(before->record.definition, update);
  if (!after)
    return after;
  rocksdb::WriteBatch wb;
  write_meter_update(lock, wb, *before, after.value);
  lock.commit(wb);
  return after;
}

bool store::delete_meter(const std::string& id_or_slug) {
  writable();
  database::write_lock lock{*db_};
  read_view view{lock};
  auto found = find_record(view, id_or_slug, true);
  if (!found)
    return false;
  rocksdb::WriteBatch wb;
  check(wb.Delete(db_->cf(cf_meters), found->record.id), "delete meter");
  drop_meter_rollups(wb, found->record.id);
  lock.meters_changed();
  lock.commit(wb);
  return true;
}

bool store::backfill_meter(const std::string& id, std::size_t max_events) {
  writable();
  database::write_lock lock{*db_};
  read_view view{lock};
  auto found = find_record(view, id, false);
  if (!found)
    throw storage_error(failure_kind::not_found, not_found_message(id));
  auto definition = found->definition;
  auto created = found->created;
  backfill_chunk chunk{found->record, max_events};
  if (chunk.done())
    return true;
  const auto& meter = chunk.meter();
  const auto& position = meter.position;
  std::vector<std::int64_t> seqs;
  auto limit = static_cast<std::size_t>(chunk.limit());
  if (limit > 0)
    view.scan(cf_by_type, type_seq_key(meter.definition.event_type, position.cursor + 1),
              type_seq_key(meter.definition.event_type, position.until + 1),
              [&](const rocksdb::Slice& k, const rocksdb::Slice&) {
                seqs.push_back(seq_at_end(k));
                return seqs.size() < limit;
              });
  auto events = view.events(seqs);
  for (std::size_t i = 0; i < seqs.size(); ++i)
    chunk.add(seqs[i], events[i]);
  auto cursor = chunk.next_cursor();
  rocksdb::WriteBatch wb;
  meter_delta cells = chunk.delta();
  write_cells(*db_, wb, cells);
  check(wb.Put(db_->cf(cf_meters), id,
               record_value(meter.definition.slug, definition, created,
                            {position.until, cursor})),
        "backfill");
  lock.commit(wb);
  return cursor >= position.until;
}

void store::each_meter_cell(const std::string& meter_id, meter_grain grain, millis from,
                            millis to, const std::vector<std::string>& subjects,
                            const meter_cell_visitor& visit) {
  read_view view{*db_};
  if (from >= to)
    return;
  auto found = find_record(view, meter_id, false);
  if (!found)
    return;
  meter_cell_stream cells{visit};
  if (grain == meter_grain::minute)
    return minute_cells(view, found->record, from, to, subjects, cells);
  // Hour cells straight from their documents, after the unique values
  // (UNIQUE_COUNT meters only) that complete them.
  auto add_doc = [&](const cell_position& at, const char*, const char*,
                     const rocksdb::Slice& value) {
    for (auto& [group, cell] : read_cell_doc(value))
      cells.add_cell(at.bucket, at.subject, group, std::move(cell));
  };
  auto add_unique = [&](const cell_position& at, const char* p, const char* end,
                        const rocksdb::Slice&) {
    auto group = get_string(p, end);
    cells.add_unique(at.bucket, at.subject, group, get_string(p, end));
  };
  if (subjects.empty()) {
    each_subject_range(view, cf_uniques, meter_id, from, to, add_unique);
    each_subject_range(view, cf_cells, meter_id, from, to, add_doc);
  } else {
    each_listed_subject(view, cf_uniques, meter_id, subjects, from, to, add_unique);
    each_listed_subject(view, cf_cells, meter_id, subjects, from, to, add_doc);
  }
}

std::vector<std::string> store::meter_subjects(const std::string& meter_id) {
  read_view view{*db_};
  std::vector<std::string> out;
  each_subject_range(
      view, cf_cells, meter_id, std::numeric_limits<millis>::min(),
      std::numeric_limits<millis>::max(),
      [&](const cell_position& at, const char*, const char*, const rocksdb::Slice&) {
        if (out.empty() || out.back() != at.subject)
          out.push_back(at.subject);
      });
  return out;
}

// Writes `m` over `before` (same id) into `batch`.
void store::write_meter_update(database::write_lock& lock, rocksdb::WriteBatch& batch,
                               const stored_record& before, const model::meter& m) {
  read_view view{lock};
  for (const auto& other : all_meters(view))
    if (other.record.id != m.id && other.record.definition.slug == m.slug)
      throw storage_error(failure_kind::conflict, "meter \"" + m.slug + "\" exists");
  auto position = before.record.position;
  if (!same_meter_counting(before.record.definition, m)) {
    drop_meter_rollups(batch, m.id);
    position = {lock.next_seq() - 1, 0};
  }
  check(batch.Put(db_->cf(cf_meters), m.id,
                  record_value(m.slug, stored_meter_text(m), before.created, position)),
        "update meter");
  lock.meters_changed();
}

void store::drop_meter_rollups(rocksdb::WriteBatch& batch, const std::string& id) {
  auto prefix = cell_meter_prefix(id), end = prefix_end(prefix);
  check(batch.DeleteRange(db_->cf(cf_cells), prefix, end), "drop cells");
  check(batch.DeleteRange(db_->cf(cf_uniques), prefix, end), "drop cells");
}

// Drops the hour cells that lie wholly before every event that is left, once
// a purge removed events up to `bound`. A cell straddling that point is kept
// whole, as the SQLite store keeps it: it may still hold samples of purged
// events (sums and counts could be subtracted, not min, max, latest or
// unique values). Subjects with nothing to drop get no range tombstone.
void store::purge_meter_cells(read_view& view, rocksdb::WriteBatch& batch, millis bound) {
  auto last = bound - hour_ms;
  for (const auto& m : all_meters(view)) {
    const auto& id = m.record.id;
    std::optional<std::string> done;
    each_subject_range(
        view, cf_cells, id, std::numeric_limits<millis>::min(), last + 1,
        [&](const cell_position& at, const char*, const char*, const rocksdb::Slice&) {
          if (done == at.subject)
            return;
          done = at.subject;
          auto from = cell_subject_prefix(id, at.subject);
          auto to = cell_key(id, at.subject, last + 1);
          check(batch.DeleteRange(db_->cf(cf_cells), from, to), "purge");
          check(batch.DeleteRange(db_->cf(cf_uniques), from, to), "purge");
        });
  }
}

} // namespace um::storage::rocks
