// The PostgreSQL store's meters: their definitions, back-fills, rollup
// cells and the reads of meter queries and the event search.

#include "storage/postgres/connection.hpp"
#include "storage/postgres/store.hpp"
#include "storage/postgres/subjects.hpp"
#include "storage/sql_bounds.hpp"

#include <limits>

namespace um::storage::postgres {

using model::millis;

namespace {

meter_record read_record(const pqxx::row& r) {
  return {text_of(r[0]),
          parse_stored_meter(text_of(r[1])),
          {r[2].as<std::int64_t>(), r[3].as<std::int64_t>()}};
}

} // namespace

std::vector<model::stored_meter> store::meters() {
  return guarded("meters", [&] {
    std::vector<model::stored_meter> out;
    pqxx::nontransaction tx{*conn_};
    for (const auto& r : tx.exec_prepared("meters_all")) {
      auto record = read_record(r);
      out.push_back({std::move(record.definition), record.position.ready()});
    }
    return out;
  });
}

void store::create_meter(const model::meter& m) {
  guarded("create meter", [&] {
    with_retries([&] {
      pqxx::work tx{*conn_};
      lock_meters(tx, true);
      try {
        tx.exec_prepared("meter_insert", m.id, m.slug, stored_meter_text(m));
      } catch (const pqxx::unique_violation&) {
        throw storage_error(failure_kind::conflict,
                            "meter \"" + m.slug + "\" or id \"" + m.id + "\" exists");
      }
      tx.commit();
    });
  });
}

void store::update_meter(const model::meter& m) {
  guarded("update meter", [&] {
    with_retries([&] {
      pqxx::work tx{*conn_};
      lock_meters(tx, true);
      auto before = find_meter(tx, m.id, false);
      if (!before)
        throw storage_error(failure_kind::not_found, "meter \"" + m.id + "\" not found");
      write_meter_update(tx, before->definition, m);
      tx.commit();
    });
  });
}

model::validated<model::meter> store::update_meter(const std::string& id_or_slug,
                                                   const model::meter_update& update) {
  return guarded("update meter", [&] {
    return with_retries([&] {
      pqxx::work tx{*conn_};
      lock_meters(tx, true);
      auto before = find_meter_by_ref(tx, id_or_slug);
      if (!before)
        throw storage_error(failure_kind::not_found, "meter not found: " + id_or_slug);
      auto after = model::apply_meter_update(before->definition, update);
      if (!after)
        return after;
      write_meter_update(tx, before->definition, after.value);
      tx.commit();
      return after;
    });
  });
}

bool store::delete_meter(const std::string& id_or_slug) {
  return guarded("delete meter", [&] {
    return with_retries([&] {
      pqxx::work tx{*conn_};
      lock_meters(tx, true);
      auto found = find_meter_by_ref(tx, id_or_slug);
      if (!found)
        return false;
      tx.exec_prepared("meter_delete", found->id);
      tx.exec_prepared("meter_drop_rollups", found->id);
      tx.commit();
      return true;
    });
  });
}

bool store::backfill_meter(const std::string& id, std::size_t max_events) {
  return guarded("backfill meter", [&] {
    return with_retries([&] {
      pqxx::work tx{*conn_};
      lock_meters(tx, false);
      // The row lock keeps two instances from backfilling the same events.
      auto found = find_meter(tx, id, true);
      if (!found)
        throw storage_error(failure_kind::not_found, "meter \"" + id + "\" not found");
      backfill_chunk chunk{std::move(*found), max_events};
      if (chunk.done())
        return true;
      const auto& position = chunk.meter().position;
      for (const auto& r :
           tx.exec_prepared("backfill_events", chunk.meter().definition.event_type,
                            position.cursor, position.until, chunk.limit()))
        chunk.add(r[0].as<std::int64_t>(), read_event(r, 1));
      auto cursor = chunk.next_cursor();
      if (!chunk.delta().empty())
        apply(tx, chunk.delta());
      tx.exec_prepared("meter_advance", cursor, id);
      tx.commit();
      return cursor >= position.until;
    });
  });
}

void store::each_meter_cell(const std::string& meter_id, meter_grain grain, millis from,
                            millis to, const std::vector<std::string>& subjects,
                            const meter_cell_visitor& visit) {
  // Both reads in one snapshot; the cells reach `visit` outside `guarded`,
  // whose translation of driver errors must not catch what the visitor
  // throws (a query over its row limit is the client's error).
  auto [uniques, rows] = guarded("meter cells", [&] {
    std::string suffix = grain == meter_grain::minute ? "_minute" : "_hour";
    text_array subject_list;
    for (const auto& s : subjects)
      subject_list.add(s);
    auto run = [&](pqxx::transaction_base& tx, const std::string& name) {
      return subjects.empty() ? tx.exec_prepared(name + suffix, meter_id, from, to)
                              : tx.exec_prepared(name + suffix + "_subjects", meter_id,
                                                 from, to, subject_list.str());
    };
    pqxx::read_transaction tx{*conn_};
    auto values = run(tx, "meter_uniques");
    auto cells = run(tx, "meter_cells");
    tx.commit();
    return std::pair{std::move(values), std::move(cells)};
  });
  meter_cell_stream cells{visit};
  for (const auto& r : uniques)
    cells.add_unique(r[0].as<std::int64_t>(), text_of(r[1]), text_of(r[2]),
                     text_of(r[3]));
  for (const auto& r : rows) {
    model::meter_cell cell;
    cell.sum = real_of(r[3]);
    cell.count = r[4].as<std::int64_t>();
    cell.min = real_of(r[5]);
    cell.max = real_of(r[6]);
    cell.latest = real_of(r[7]);
    cell.latest_time = r[8].as<std::int64_t>();
    cell.latest_seq = r[9].as<std::int64_t>();
    cells.add_cell(r[0].as<std::int64_t>(), text_of(r[1]), text_of(r[2]),
                   std::move(cell));
  }
}

std::vector<sequenced_event>
store::events_of_type(const std::string& type, millis from, millis to,
                      const std::vector<std::string>& subjects) {
  return guarded("events of type", [&] {
    std::vector<sequenced_event> out;
    pqxx::nontransaction tx{*conn_};
    pqxx::result rows;
    if (subjects.empty()) {
      rows = tx.exec_prepared("events_of_type", type, from, to);
    } else {
      text_array subject_list;
      for (const auto& s : subjects)
        subject_list.add(s);
      rows =
          tx.exec_prepared("events_of_type_subjects", type, from, to, subject_list.str());
    }
    for (const auto& r : rows)
      out.push_back({r[0].as<std::int64_t>(), read_event(r, 1)});
    return out;
  });
}

std::vector<sequenced_event> store::search_events(const model::event_search& search) {
  return guarded("search events", [&] {
    std::vector<sequenced_event> out;
    auto ingested = ingested_range_of(search);
    pqxx::nontransaction tx{*conn_};
    for (const auto& r :
         tx.exec_prepared("search_events", search.time_from, search.time_to,
                          ingested.from, ingested.to, search.id_contains,
                          search.subject_contains, search_limit(search.limit),
                          search.before ? search.before->time
                                        : std::numeric_limits<model::millis>::max(),
                          search.before ? search.before->seq
                                        : std::numeric_limits<std::int64_t>::max()))
      out.push_back({r[0].as<std::int64_t>(), read_event(r, 1)});
    return out;
  });
}

std::vector<std::string> store::meter_subjects(const std::string& meter_id) {
  return guarded("meter subjects", [&] {
    std::vector<std::string> out;
    pqxx::nontransaction tx{*conn_};
    for (const auto& r : tx.exec_prepared("meter_subjects", meter_id))
      out.push_back(text_of(r[0]));
    return out;
  });
}

std::optional<meter_record> store::find_meter(pqxx::transaction_base& tx,
                                              const std::string& id, bool for_update) {
  auto rows = tx.exec_prepared(for_update ? "meter_find_for_update" : "meter_find", id);
  if (rows.empty())
    return std::nullopt;
  return meter_record{id,
                      parse_stored_meter(text_of(rows[0][0])),
                      {rows[0][1].as<std::int64_t>(), rows[0][2].as<std::int64_t>()}};
}

// The meter with this id or slug, the first created if several match.
std::optional<meter_record> store::find_meter_by_ref(pqxx::transaction_base& tx,
                                                     const std::string& id_or_slug) {
  auto rows = tx.exec_prepared("meter_find_ref", id_or_slug);
  if (rows.empty())
    return std::nullopt;
  return read_record(rows[0]);
}

// Writes `m` over `before` (same id), inside `tx`.
void store::write_meter_update(pqxx::transaction_base& tx, const model::meter& before,
                               const model::meter& m) {
  if (!same_meter_counting(before, m)) {
    tx.exec_prepared("meter_drop_rollups", m.id);
    tx.exec_prepared("meter_reset", m.id);
  }
  try {
    tx.exec_prepared("meter_update", m.slug, stored_meter_text(m), m.id);
  } catch (const pqxx::unique_violation&) {
    throw storage_error(failure_kind::conflict, "meter \"" + m.slug + "\" exists");
  }
}

// Subjects: their own table, on this connection (storage/postgres/subjects.cpp).

std::vector<model::subject> store::subjects() {
  return guarded("list subjects", [&] { return postgres_subjects::list(*conn_); });
}

std::optional<model::subject> store::find_subject(const std::string& id_or_key) {
  return guarded("find subject",
                 [&] { return postgres_subjects::find(*conn_, id_or_key); });
}

std::vector<model::subject>
store::upsert_subjects(const std::vector<model::subject_upsert>& changes,
                       model::millis now) {
  return guarded("upsert subjects", [&] {
    return with_retries([&] { return postgres_subjects::upsert(*conn_, changes, now); });
  });
}

bool store::delete_subject(const std::string& id_or_key) {
  return guarded("delete subject",
                 [&] { return postgres_subjects::remove(*conn_, id_or_key); });
}

} // namespace um::storage::postgres
