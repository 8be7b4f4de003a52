// The SQLite store's corrections: voiding and replacing stored events, the
// revisions kept of the versions that stopped counting, and their retention.

#include "storage/sqlite/store.hpp"

#include "model/meter_query.hpp"

#include <algorithm>
#include <string>

namespace um::storage::sqlite {

using model::millis;

namespace {

constexpr millis hour_ms = 3'600'000;

model::revision_kind parse_kind(const std::string& kind) {
  if (kind == model::revision_kind_name(model::revision_kind::superseded))
    return model::revision_kind::superseded;
  if (kind == model::revision_kind_name(model::revision_kind::voided))
    return model::revision_kind::voided;
  throw storage_error(failure_kind::internal, "sqlite: unknown revision kind " + kind);
}

// Binds the event columns in the order of every event query, from `first` on.
statement& bind_event(statement& s, int first, const model::event& e) {
  return s.bind(first, e.source)
      .bind(first + 1, e.id)
      .bind(first + 2, e.type)
      .bind(first + 3, e.subject)
      .bind(first + 4, e.time)
      .bind(first + 5, e.data)
      .bind(first + 6, e.ingested_at);
}

} // namespace

model::change_outcome store::change_event(const model::event_change& change) {
  model::change_outcome out;
  auto tx = begin();
  std::optional<sequenced_event> live;
  {
    auto& find = q_->find_live;
    reset_guard guard{find};
    find.bind(1, change.source).bind(2, change.id);
    if (find.step())
      live = sequenced_event{find.integer(0), read_event(find, 1)};
  }
  if (!live) {
    auto& voided = q_->find_voided;
    reset_guard guard{voided};
    voided.bind(1, change.source).bind(2, change.id);
    if (!voided.step())
      return out; // Never stored, or removed by retention.
    out.before = read_event(voided, 0);
    if (!change.replacement) {
      out.status = model::change_status::already_voided;
      return out;
    }
  }
  rollup_delta delta;
  if (live) {
    {
      auto& erase = q_->purge_delete;
      reset_guard guard{erase};
      erase.bind(1, live->seq);
      erase.step();
    }
    const auto& e = live->event;
    delta.add(e.subject, e.type, e.time, -1);
    const std::string kind{
        model::revision_kind_name(change.replacement ? model::revision_kind::superseded
                                                     : model::revision_kind::voided)};
    {
      auto& keep = q_->insert_revision;
      reset_guard guard{keep};
      keep.bind(1, live->seq);
      bind_event(keep, 2, e)
          .bind(9, kind)
          .bind(10, change.at)
          .bind(11, change.by)
          .bind(12, change.trace_id);
      keep.step();
    }
    if (!change.replacement) {
      auto& taken = q_->void_id;
      reset_guard guard{taken};
      taken.bind(1, change.source)
          .bind(2, change.id)
          .bind(3, static_cast<std::int64_t>(sqlite3_last_insert_rowid(db_)));
      taken.step();
    }
    out.before = std::move(live->event);
  } else {
    // A correction of a voided event: the voided revision stays as it is.
    auto& free = q_->unvoid_id;
    reset_guard guard{free};
    free.bind(1, change.source).bind(2, change.id);
    free.step();
  }
  if (change.replacement) {
    auto e = model::replacement_event(change, *out.before);
    // Above every seq held (the revision just kept included), so that
    // a meter's backfill, which reads seqs up to where it was created, never
    // reads it: the cells rebuilt below count it already.
    auto seq = read_revision_state().next_seq;
    auto& insert = q_->insert_event_checked;
    reset_guard guard{insert};
    bind_event(insert, 1, e).bind(8, seq);
    insert.step();
    if (sqlite3_changes(db_) != 1)
      throw storage_error(failure_kind::internal,
                          "sqlite: the replacement was not stored");
    delta.add(e.subject, e.type, e.time, 1);
    out.after = std::move(e);
  }
  apply(delta);
  drop_zero_rows(delta);
  rebuild_cells(*out.before, out.after ? &*out.after : nullptr);
  tx.commit();
  out.status = model::change_status::changed;
  return out;
}

std::vector<model::event_revision>
store::event_revisions(const model::event_search& search) {
  std::vector<model::event_revision> out;
  auto limit = static_cast<std::size_t>(std::max(search.limit, 0));
  // Corrections are rare: the time range narrows in SQL, the other filters
  // apply here.
  auto& q = q_->revisions_in;
  reset_guard guard{q};
  q.bind(1, search.time_from).bind(2, search.time_to);
  while (out.size() < limit && q.step()) {
    auto version = read_event(q, 0);
    if (!model::search_matches(search, version))
      continue;
    model::event_revision r;
    r.version = std::move(version);
    r.kind = parse_kind(q.text(7));
    r.at = q.integer(8);
    r.by = q.text(9);
    r.trace_id = q.text(10);
    out.push_back(std::move(r));
  }
  return out;
}

store::revision_state store::read_revision_state() {
  revision_state out;
  auto& q = q_->revision_state;
  reset_guard guard{q};
  if (!q.step())
    return out;
  out.voided = q.integer(0) != 0;
  auto revised = q.integer(1), stored = q.integer(2);
  out.next_seq = std::max(revised, stored) + 1;
  // SQLite gives a new row the greatest rowid + 1: once a void deleted the
  // greatest, that seq would be handed out again.
  out.explicit_seq = revised > stored;
  return out;
}

// Removes the v1 rollup rows `delta` (applied) brought to zero, by key:
// a change touches a handful, and retention's scans of whole tables would
// cost more than the change.
void store::drop_zero_rows(const rollup_delta& delta) {
  for (int g = 0; g < 3; ++g) {
    auto& drop = q_->drop_zero(stored_grains[g]);
    for (const auto& entry : delta.by_grain[g]) {
      if (entry.second >= 0)
        continue;
      reset_guard guard{drop};
      drop.bind(1, std::get<0>(entry.first))
          .bind(2, std::get<1>(entry.first))
          .bind(3, std::get<2>(entry.first));
      drop.step();
    }
  }
  for (const auto& entry : delta.totals) {
    if (entry.second >= 0)
      continue;
    auto& drop = q_->drop_zero_total;
    reset_guard guard{drop};
    drop.bind(1, entry.first.first).bind(2, entry.first.second);
    drop.step();
  }
  for (const auto& entry : delta.global_minutes) {
    if (entry.second >= 0)
      continue;
    auto& drop = q_->drop_zero_global;
    reset_guard guard{drop};
    drop.bind(1, entry.first);
    drop.step();
  }
}

// Replaces the cells of every meter hour the change touches by those rebuilt
// from the events that count now (the change is already written in this
// transaction): MIN, MAX, LATEST and UNIQUE_COUNT cannot subtract a sample.
void store::rebuild_cells(const model::event& before, const model::event* after) {
  auto meters = meter_records();
  if (meters.empty())
    return;
  for (const auto& touched : touched_hours(meters, before, after)) {
    const auto& meter =
        *std::find_if(meters.begin(), meters.end(),
                      [&touched](const auto& m) { return m.id == touched.meter_id; });
    auto events = events_of_type(meter.definition.event_type, touched.hour,
                                 touched.hour + hour_ms, {touched.subject});
    for (auto* clear : {&q_->meter_clear_minute, &q_->meter_clear_hour,
                        &q_->meter_clear_unique_minute, &q_->meter_clear_unique_hour}) {
      reset_guard guard{*clear};
      clear->bind(1, meter.id)
          .bind(2, touched.hour)
          .bind(3, touched.hour + hour_ms)
          .bind(4, touched.subject);
      clear->step();
    }
    apply(rebuild_hour(meter, touched, events));
  }
}

// The revisions of events retention removes go with them, and a voided id
// among them is free again, as a purged event's is.
void store::purge_revisions(millis cutoff) {
  for (auto* q : {&q_->purge_voided_ids, &q_->purge_revisions}) {
    reset_guard guard{*q};
    q->bind(1, cutoff);
    q->step();
  }
}

} // namespace um::storage::sqlite
