// The SQLite store's meters: their definitions, back-fills, rollup cells
// and the reads of meter queries and the event search; subjects.

#include "storage/sql_bounds.hpp"
#include "storage/sqlite/store.hpp"
#include "storage/sqlite/subjects.hpp"

#include <algorithm>
#include <limits>

namespace um::storage::sqlite {

using model::millis;

namespace {

meter_record read_record(statement& q) {
  return {q.text(0), parse_stored_meter(q.text(1)), {q.integer(2), q.integer(3)}};
}

std::string not_found_message(const std::string& id) {
  return "meter \"" + id + "\" not found";
}

} // namespace

std::vector<model::stored_meter> store::meters() {
  std::vector<model::stored_meter> out;
  for (auto& record : meter_records())
    out.push_back({std::move(record.definition), record.position.ready()});
  return out;
}

// Every meter with its backfill position, in creation order.
std::vector<meter_record> store::meter_records() {
  std::vector<meter_record> out;
  auto& all = q_->meters_all;
  reset_guard guard{all};
  while (all.step())
    out.push_back(read_record(all));
  return out;
}

void store::create_meter(const model::meter& m) {
  const std::string none, definition = stored_meter_text(m);
  auto tx = begin();
  {
    auto& taken = q_->meter_taken;
    reset_guard guard{taken};
    taken.bind(1, m.id).bind(2, m.slug).bind(3, none);
    if (taken.step())
      throw storage_error(failure_kind::conflict,
                          "meter \"" + (taken.text(0) == m.id ? m.id : m.slug) +
                              "\" exists");
  }
  bump_meter_version();
  auto& insert = q_->meter_insert;
  reset_guard guard{insert};
  auto until = max_seq();
  insert.bind(1, m.id).bind(2, m.slug).bind(3, definition).bind(4, until);
  insert.step();
  tx.commit();
}

void store::update_meter(const model::meter& m) {
  auto tx = begin();
  auto before = find_meter(m.id);
  if (!before)
    throw storage_error(failure_kind::not_found, not_found_message(m.id));
  write_meter_update(before->definition, m);
  tx.commit();
}

model::validated<model::meter> store::update_meter(const std::string& id_or_slug,
                                                   const model::meter_update& update) {
  auto tx = begin();
  auto before = find_meter_by_ref(id_or_slug);
  if (!before)
    throw storage_error(failure_kind::not_found, "meter not found: " + id_or_slug);
  auto after = model::apply_meter_update(before->definition, update);
  if (!after)
    return after;
  write_meter_update(before->definition, after.value);
  tx.commit();
  return after;
}

bool store::delete_meter(const std::string& id_or_slug) {
  auto tx = begin();
  auto found = find_meter_by_ref(id_or_slug);
  if (!found)
    return false;
  {
    auto& erase = q_->meter_delete;
    reset_guard guard{erase};
    erase.bind(1, found->id);
    erase.step();
  }
  bump_meter_version();
  drop_meter_rollups(found->id);
  tx.commit();
  return true;
}

bool store::backfill_meter(const std::string& id, std::size_t max_events) {
  auto tx = begin();
  auto found = find_meter(id);
  if (!found)
    throw storage_error(failure_kind::not_found, not_found_message(id));
  backfill_chunk chunk{std::move(*found), max_events};
  if (chunk.done())
    return true;
  const auto& position = chunk.meter().position;
  {
    auto& events = q_->backfill_events;
    reset_guard guard{events};
    events.bind(1, chunk.meter().definition.event_type)
        .bind(2, position.cursor)
        .bind(3, position.until)
        .bind(4, chunk.limit());
    while (events.step())
      chunk.add(events.integer(0), read_event(events, 1));
  }
  auto cursor = chunk.next_cursor();
  apply(chunk.delta());
  auto& advance = q_->meter_advance;
  reset_guard guard{advance};
  advance.bind(1, cursor).bind(2, id);
  advance.step();
  tx.commit();
  return cursor >= position.until;
}

void store::each_meter_cell(const std::string& meter_id, meter_grain grain, millis from,
                            millis to, const std::vector<std::string>& subjects,
                            const meter_cell_visitor& visit) {
  meter_cell_stream cells{visit};
  auto subject_list = subjects_json(subjects);
  {
    auto& uniques = q_->meter_uniques(grain);
    reset_guard guard{uniques};
    uniques.bind(1, meter_id).bind(2, from).bind(3, to).bind(4, subject_list);
    while (uniques.step())
      cells.add_unique(uniques.integer(0), uniques.text(1), uniques.text(2),
                       uniques.text(3));
  }
  auto& q = q_->meter_cells(grain);
  reset_guard guard{q};
  q.bind(1, meter_id).bind(2, from).bind(3, to).bind(4, subject_list);
  while (q.step()) {
    model::meter_cell cell;
    cell.sum = q.real(3);
    cell.count = q.integer(4);
    cell.min = q.real(5);
    cell.max = q.real(6);
    cell.latest = q.real(7);
    cell.latest_time = q.integer(8);
    cell.latest_seq = q.integer(9);
    cells.add_cell(q.integer(0), q.text(1), q.text(2), std::move(cell));
  }
}

std::vector<sequenced_event>
store::events_of_type(const std::string& type, millis from, millis to,
                      const std::vector<std::string>& subjects) {
  std::vector<sequenced_event> out;
  auto subject_list = subjects_json(subjects);
  auto& events = subjects.empty() ? q_->events_of_type : q_->events_of_type_subjects;
  reset_guard guard{events};
  events.bind(1, type).bind(2, from).bind(3, to);
  if (!subjects.empty())
    events.bind(4, subject_list);
  while (events.step())
    out.push_back({events.integer(0), read_event(events, 1)});
  return out;
}

std::vector<sequenced_event> store::search_events(const model::event_search& search) {
  std::vector<sequenced_event> out;
  auto ingested = ingested_range_of(search);
  auto& events = q_->search_events;
  reset_guard guard{events};
  events.bind(1, search.time_from)
      .bind(2, search.time_to)
      .bind(3, ingested.from)
      .bind(4, ingested.to)
      .bind(5, search.id_contains)
      .bind(6, search.subject_contains)
      .bind(7, search_limit(search.limit))
      .bind(8, search.before ? search.before->time : std::numeric_limits<millis>::max())
      .bind(9, search.before ? search.before->seq
                             : std::numeric_limits<std::int64_t>::max());
  std::size_t bytes = 0;
  while (model::page_has_room(bytes) && events.step()) {
    out.push_back({events.integer(0), read_event(events, 1)});
    bytes += out.back().event.data.size();
  }
  return out;
}

std::vector<std::string> store::meter_subjects(const std::string& meter_id) {
  std::vector<std::string> out;
  auto& subjects = q_->meter_subjects;
  reset_guard guard{subjects};
  subjects.bind(1, meter_id);
  while (subjects.step())
    out.push_back(subjects.text(0));
  return out;
}

std::optional<meter_record> store::find_meter(const std::string& id) {
  auto& q = q_->meter_find;
  reset_guard guard{q};
  q.bind(1, id);
  if (!q.step())
    return std::nullopt;
  return meter_record{id, parse_stored_meter(q.text(0)), {q.integer(1), q.integer(2)}};
}

std::optional<meter_record> store::find_meter_by_ref(const std::string& id_or_slug) {
  auto& q = q_->meter_find_ref;
  reset_guard guard{q};
  q.bind(1, id_or_slug);
  if (!q.step())
    return std::nullopt;
  return read_record(q);
}

// Writes `m` over `before` (same id), inside the caller's transaction.
void store::write_meter_update(const model::meter& before, const model::meter& m) {
  const std::string none, definition = stored_meter_text(m);
  {
    auto& taken = q_->meter_taken;
    reset_guard guard{taken};
    taken.bind(1, none).bind(2, m.slug).bind(3, m.id);
    if (taken.step())
      throw storage_error(failure_kind::conflict, "meter \"" + m.slug + "\" exists");
  }
  bump_meter_version();
  if (!same_meter_counting(before, m)) {
    drop_meter_rollups(m.id);
    auto& reset = q_->meter_reset;
    reset_guard guard{reset};
    auto until = max_seq();
    reset.bind(1, until).bind(2, m.id);
    reset.step();
  }
  auto& update = q_->meter_update;
  reset_guard guard{update};
  update.bind(1, m.slug).bind(2, definition).bind(3, m.id);
  update.step();
}

void store::drop_meter_rollups(const std::string& id) {
  for (auto* q : {&q_->meter_drop_minute, &q_->meter_drop_hour,
                  &q_->meter_drop_unique_minute, &q_->meter_drop_unique_hour}) {
    reset_guard guard{*q};
    q->bind(1, id);
    q->step();
  }
}

// Drops the meter cells whose buckets lie wholly before every event that
// is left, once a purge removed events up to `cutoff`.
// A cell straddling that point is kept whole, so it may still hold samples
// of purged events (sums and counts could be subtracted, but not min, max,
// latest or unique values); queries of retained time read it whole.
void store::purge_meter_cells(millis cutoff) {
  millis bound = cutoff;
  {
    auto& oldest = q_->oldest_time;
    reset_guard guard{oldest};
    if (oldest.step() && !oldest.is_null(0))
      bound = std::min(bound, oldest.integer(0));
  }
  for (auto grain : {meter_grain::minute, meter_grain::hour}) {
    auto last = bound - meter_grain_millis(grain);
    for (auto* q : {&q_->meter_purge(grain), &q_->meter_purge_unique(grain)}) {
      reset_guard guard{*q};
      q->bind(1, last);
      q->step();
    }
  }
}

// Subjects: their own table, on this connection (storage/sqlite/subjects.cpp).

std::vector<model::subject> store::subjects() {
  return sqlite_subjects::list(db_);
}

std::optional<model::subject> store::find_subject(const std::string& id_or_key) {
  return sqlite_subjects::find(db_, id_or_key);
}

std::vector<model::subject>
store::upsert_subjects(const std::vector<model::subject_upsert>& changes, millis now) {
  return sqlite_subjects::upsert(db_, changes, now);
}

bool store::delete_subject(const std::string& id_or_key) {
  return sqlite_subjects::remove(db_, id_or_key);
}

void store::restore_subjects(const std::vector<model::subject>& subjects) {
  sqlite_subjects::restore(db_, subjects);
}

} // namespace um::storage::sqlite
