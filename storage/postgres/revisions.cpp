// The PostgreSQL store's corrections: voiding and replacing stored events,
// the versions that stopped counting kept as revisions (the audit trail),
// and the meter hours a change touches rebuilt from the events that count.

#include "storage/postgres/connection.hpp"
#include "storage/postgres/schema.hpp"
#include "storage/postgres/store.hpp"
#include "storage/sql_bounds.hpp"

#include <map>
#include <tuple>

namespace um::storage::postgres {

using model::millis;

namespace {

constexpr millis hour_millis = 3'600'000;

std::string kind_text(model::revision_kind k) {
  return std::string{model::revision_kind_name(k)};
}

model::revision_kind kind_of(const std::string& text) {
  if (text == kind_text(model::revision_kind::voided))
    return model::revision_kind::voided;
  if (text == kind_text(model::revision_kind::superseded))
    return model::revision_kind::superseded;
  throw storage_error(failure_kind::internal, "postgres: unknown revision kind " + text);
}

} // namespace

model::change_outcome store::change_event(const model::event_change& change) {
  return guarded("change event", [&] {
    // Whether to hold off appends (rebuilding cells needs it) is guessed
    // from the meters this connection knows of; a transaction that guessed
    // wrong finds out under the lock and runs again with it.
    bool cells_locked = !active_.list().empty();
    for (;;) {
      std::optional<model::change_outcome> out;
      try {
        out = with_retries([&] { return change_once(change, cells_locked); });
      } catch (const pqxx::check_violation&) {
        // A replacement on a day whose partition retention dropped after
        // this connection knew it: learn again, once (as `append`).
        known_days_.clear();
        out = with_retries([&] { return change_once(change, cells_locked); });
      }
      if (out)
        return *out;
      cells_locked = true;
    }
  });
}

// One attempt, in one transaction. Locks, in the order appends take them:
// the meter lock (shared, or exclusive when cells are rebuilt), the partition
// lock when the replacement's day is new, then the dedup row of the id.
// Nothing when cells must be rebuilt but `cells_locked` is false.
std::optional<model::change_outcome> store::change_once(const model::event_change& change,
                                                        bool cells_locked) {
  pqxx::work tx{*conn_};
  if (cells_locked)
    lock_meter_cells(tx);
  else
    lock_meters(tx, false);
  std::optional<model::event> replacement = change.replacement;
  std::set<std::int64_t> days;
  if (replacement) {
    replacement->source = change.source;
    replacement->id = change.id;
    replacement->ingested_at = change.at;
    days.insert(day_of(replacement->time));
  }
  ensure_partitions(tx, days);

  model::change_outcome out;
  auto key = tx.exec_prepared("change_key", change.source, change.id);
  if (key.empty())
    return out; // never stored, or removed by retention
  auto key_seq = key[0][0].as<std::int64_t>();
  auto key_time = key[0][1].as<millis>();
  auto kind =
      replacement ? model::revision_kind::superseded : model::revision_kind::voided;
  auto retired = tx.exec_prepared("change_retire", key_time, key_seq, kind_text(kind),
                                  change.at, change.by, change.trace_id);
  bool was_live = !retired.empty();
  if (was_live) {
    out.before = read_event(retired[0], 0);
  } else {
    auto voided = tx.exec_prepared("change_voided", change.source, change.id, key_seq);
    if (voided.empty())
      return out; // a dedup row an older release kept after retention
    out.before = read_event(voided[0], 0);
    if (!replacement) {
      out.status = model::change_status::already_voided;
      return out;
    }
  }

  // Its time known now (a v1 correction without a timestamp keeps the stored
  // one, whose day's partition exists).
  if (replacement)
    replacement = model::replacement_event(change, *out.before);

  std::vector<meter_record> meters;
  for (const auto& r : tx.exec_prepared("meters_all"))
    meters.push_back({text_of(r[0]),
                      parse_stored_meter(text_of(r[1])),
                      {r[2].as<std::int64_t>(), r[3].as<std::int64_t>()}});
  auto touched =
      touched_hours(meters, *out.before, replacement ? &*replacement : nullptr);
  if (!touched.empty() && !cells_locked)
    return std::nullopt;

  rollup_delta delta;
  if (was_live)
    delta.add(out.before->subject, out.before->type, out.before->time, -1);
  if (replacement) {
    const auto& e = *replacement;
    tx.exec_prepared1("change_insert", e.source, e.id, e.type, e.subject, e.time, e.data,
                      e.ingested_at);
    delta.add(e.subject, e.type, e.time, 1);
  }
  // A void of a live event leaves its dedup row as it is: it names the
  // version just kept as voided.
  if (!delta.empty()) {
    apply(tx, delta);
    drop_empty(tx, delta);
  }
  if (!touched.empty())
    rebuild_cells(tx, meters, touched);
  tx.commit();
  known_days_.insert(creating_days_.begin(), creating_days_.end());
  out.status = model::change_status::changed;
  out.after = std::move(replacement);
  return out;
}

// Replaces the cells of each touched hour with those rebuilt from the events
// that count now: read in this transaction, after its delete and insert, so
// without the old version and with the replacement under its new seq.
void store::rebuild_cells(pqxx::transaction_base& tx,
                          const std::vector<meter_record>& meters,
                          const std::set<touched_hour>& touched) {
  // Meters of one type share the events of an hour: read once.
  std::map<std::tuple<std::string, std::string, millis>, std::vector<sequenced_event>>
      read;
  text_array meter_ids, subjects;
  int_array hours;
  meter_delta rebuilt;
  for (const auto& t : touched) {
    const meter_record* meter = nullptr;
    for (const auto& m : meters)
      if (m.id == t.meter_id)
        meter = &m;
    const auto& type = meter->definition.event_type;
    auto found = read.find({type, t.subject, t.hour});
    if (found == read.end()) {
      text_array one;
      one.add(t.subject);
      std::vector<sequenced_event> events;
      for (const auto& r : tx.exec_prepared("events_of_type_subjects", type, t.hour,
                                            t.hour + hour_millis, one.str()))
        events.push_back({r[0].as<std::int64_t>(), read_event(r, 1)});
      found =
          read.emplace(std::make_tuple(type, t.subject, t.hour), std::move(events)).first;
    }
    auto cells = rebuild_hour(*meter, t, found->second);
    for (int g = 0; g < 2; ++g)
      rebuilt.cells[g].merge(cells.cells[g]);
    meter_ids.add(t.meter_id);
    subjects.add(t.subject);
    hours.add(t.hour);
  }
  tx.exec_prepared("drop_hour_cells", meter_ids.str(), subjects.str(), hours.str());
  if (!rebuilt.empty())
    apply(tx, rebuilt);
}

std::vector<model::event_revision>
store::event_revisions(const model::event_search& search) {
  return guarded("event revisions", [&] {
    std::vector<model::event_revision> out;
    auto ingested = ingested_range_of(search);
    pqxx::nontransaction tx{*conn_};
    for (const auto& r : tx.exec_prepared(
             "revisions", search.time_from, search.time_to, ingested.from, ingested.to,
             search.id_contains, search.subject_contains, search_limit(search.limit)))
      out.push_back({read_event(r, 0), kind_of(text_of(r[7])), r[8].as<millis>(),
                     text_of(r[9]), text_of(r[10])});
    return out;
  });
}

} // namespace um::storage::postgres
