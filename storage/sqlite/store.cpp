// The SQLite store: opening the file, appends with their rollups, retention.

#include "storage/sqlite/store.hpp"

#include "storage/sql_bounds.hpp"
#include "storage/sqlite/schema.hpp"
#include "storage/sqlite_store.hpp"

#include <nlohmann/json.hpp>

#include <filesystem>

namespace um::storage::sqlite {

using model::millis;

store::store(const store_options& options) {
  auto path = sqlite_path(options);
  if (!options.read_only) {
    std::error_code ec;
    std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  }
  int flags = options.read_only
                  ? SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX
                  : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  int rc = sqlite3_open_v2(path.c_str(), &db_, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string what =
        "sqlite: open " + path + ": " + (db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc));
    sqlite3_close(db_);
    db_ = nullptr;
    throw storage_error(kind_of(rc), what);
  }
  try {
    sqlite3_busy_timeout(db_, 2000);
    sqlite3_extended_result_codes(db_, 1);
    if (!options.read_only) {
      exec(db_, "PRAGMA journal_mode=WAL");
      exec(db_, options.synchronous_full ? "PRAGMA synchronous=FULL"
                                         : "PRAGMA synchronous=NORMAL");
    }
    exec(db_, "PRAGMA foreign_keys=OFF");
    exec(db_, "PRAGMA cache_size=-65536");
    exec(db_, "PRAGMA temp_store=MEMORY");
    if (options.read_only) {
      if (stored_schema_version(db_) != schema_version)
        throw storage_error(failure_kind::unavailable,
                            "sqlite: the database is not at schema version " +
                                std::to_string(schema_version));
    } else {
      migrate(db_);
    }
    q_ = std::make_unique<statements>(db_);
  } catch (...) {
    q_.reset();
    sqlite3_close_v2(db_);
    db_ = nullptr;
    throw;
  }
}

store::~store() {
  q_.reset();
  sqlite3_close_v2(db_);
}

model::append_outcomes store::append(const std::vector<model::event>& batch) {
  model::append_outcomes out;
  out.reserve(batch.size());
  rollup_delta delta;
  meter_delta meter_changes;
  auto tx = begin();
  refresh_meters();
  // Corrections are rare: until one voids an id, or leaves a seq above the
  // greatest stored one, each event costs the plain insert and nothing more.
  auto revised = read_revision_state();
  bool checked = revised.voided || revised.explicit_seq;
  auto next_seq = revised.next_seq;
  auto& insert = checked ? q_->insert_event_checked : q_->insert_event;
  auto& find = q_->find_event;
  for (const auto& e : batch) {
    {
      reset_guard guard{insert};
      insert.bind(1, e.source)
          .bind(2, e.id)
          .bind(3, e.type)
          .bind(4, e.subject)
          .bind(5, e.time)
          .bind(6, e.data)
          .bind(7, e.ingested_at);
      if (checked)
        insert.bind(8, next_seq);
      insert.step();
    }
    if (sqlite3_changes(db_) > 0) {
      ++next_seq;
      out.push_back({model::append_status::stored, e});
      delta.add(e.subject, e.type, e.time, 1);
      if (!active_.list().empty())
        meter_changes.add_event(active_.list(), e, sqlite3_last_insert_rowid(db_));
      continue;
    }
    {
      reset_guard guard{find};
      find.bind(1, e.source).bind(2, e.id);
      if (find.step()) {
        out.push_back({model::append_status::duplicate, read_event(find, 0)});
        continue;
      }
    }
    // Not stored and not live: voided, which keeps its id taken.
    auto& voided = q_->find_voided;
    reset_guard guard{voided};
    voided.bind(1, e.source).bind(2, e.id);
    if (!revised.voided || !voided.step())
      throw storage_error(failure_kind::internal, "sqlite: conflicting event not found");
    out.push_back({model::append_status::duplicate, read_event(voided, 0)});
  }
  apply(delta);
  apply(meter_changes);
  tx.commit();
  return out;
}

std::size_t store::purge_before(millis cutoff, std::size_t max_events) {
  auto tx = begin();
  purge_revisions(cutoff);
  auto& oldest = q_->purge_select;
  auto& erase = q_->purge_delete;
  rollup_delta delta;
  std::vector<std::int64_t> seqs;
  {
    reset_guard guard{oldest};
    oldest.bind(1, cutoff).bind(2, sql_limit(max_events));
    while (oldest.step()) {
      seqs.push_back(oldest.integer(0));
      delta.add(oldest.text(1), oldest.text(2), oldest.integer(3), -1);
    }
  }
  for (auto seq : seqs) {
    reset_guard guard{erase};
    erase.bind(1, seq);
    erase.step();
  }
  apply(delta);
  for (auto grain : stored_grains)
    q_->drop_empty(grain).run();
  q_->drop_empty_total.run();
  q_->drop_empty_global.run();
  if (!seqs.empty())
    purge_meter_cells(cutoff);
  tx.commit();
  return seqs.size();
}

void store::ping() {
  reset_guard guard{q_->ping};
  q_->ping.step();
}

std::int64_t store::max_seq() {
  reset_guard guard{q_->max_seq};
  return q_->max_seq.step() ? q_->max_seq.integer(0) : 0;
}

void store::apply(const rollup_delta& delta) {
  for (int g = 0; g < 3; ++g) {
    auto& upsert = q_->upsert(stored_grains[g]);
    for (const auto& [key, n] : delta.by_grain[g]) {
      reset_guard guard{upsert};
      upsert.bind(1, std::get<0>(key))
          .bind(2, std::get<1>(key))
          .bind(3, std::get<2>(key))
          .bind(4, n);
      upsert.step();
    }
  }
  auto& total = q_->upsert_total;
  for (const auto& [key, n] : delta.totals) {
    reset_guard guard{total};
    total.bind(1, key.first).bind(2, key.second).bind(3, n);
    total.step();
  }
  auto& global = q_->upsert_global;
  for (const auto& [bucket, n] : delta.global_minutes) {
    reset_guard guard{global};
    global.bind(1, bucket).bind(2, n);
    global.step();
  }
}

void store::apply(const meter_delta& delta) {
  for (auto grain : {meter_grain::minute, meter_grain::hour}) {
    auto& upsert = q_->meter_upsert(grain);
    auto& unique = q_->meter_unique(grain);
    for (const auto& [key, cell] : delta.cells[static_cast<int>(grain)]) {
      const auto& [meter_id, bucket, subject, group] = key;
      {
        reset_guard guard{upsert};
        upsert.bind(1, meter_id)
            .bind(2, bucket)
            .bind(3, subject)
            .bind(4, group)
            .bind(5, cell.sum)
            .bind(6, cell.count)
            .bind(7, cell.min)
            .bind(8, cell.max)
            .bind(9, cell.latest)
            .bind(10, cell.latest_time)
            .bind(11, cell.latest_seq);
        upsert.step();
      }
      for (const auto& value : cell.uniques) {
        reset_guard guard{unique};
        unique.bind(1, meter_id)
            .bind(2, bucket)
            .bind(3, subject)
            .bind(4, group)
            .bind(5, value);
        unique.step();
      }
    }
  }
}

// Brings the meters appends apply up to date: one indexed read per
// transaction, a reload only when another connection changed them.
void store::refresh_meters() {
  std::int64_t version = 0;
  {
    auto& q = q_->meter_version;
    reset_guard guard{q};
    if (q.step())
      version = q.integer(0);
  }
  if (active_.current(version))
    return;
  std::vector<active_meter> loaded;
  auto& all = q_->meters_all;
  reset_guard guard{all};
  while (all.step())
    loaded.push_back({all.text(0), parse_stored_meter(all.text(1))});
  active_.load(version, std::move(loaded));
}

model::event read_event(statement& s, int first) {
  model::event e;
  e.source = s.text(first);
  e.id = s.text(first + 1);
  e.type = s.text(first + 2);
  e.subject = s.text(first + 3);
  e.time = s.integer(first + 4);
  e.data = s.text(first + 5);
  e.ingested_at = s.integer(first + 6);
  return e;
}

std::string subjects_json(const std::vector<std::string>& subjects) {
  if (subjects.empty())
    return {};
  return nlohmann::json(subjects).dump(-1, ' ', false,
                                       nlohmann::json::error_handler_t::replace);
}

} // namespace um::storage::sqlite

namespace um::storage {

std::string sqlite_path(const store_options& options) {
  if (options.url.rfind("sqlite:", 0) == 0)
    return options.url.substr(7);
  return (std::filesystem::path(options.data_dir) / "usage-metrics.db").string();
}

std::unique_ptr<event_store> open_sqlite_store(const store_options& options) {
  return std::make_unique<sqlite::store>(options);
}

} // namespace um::storage
