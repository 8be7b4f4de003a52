#include "storage/sqlite_store.hpp"

#include "storage/rollup_delta.hpp"

#include "model/rollup_plan.hpp"
#include "storage/meter_rollup.hpp"
#include "storage/sqlite_subjects.hpp"

#include <nlohmann/json.hpp>

#include <sqlite3.h>

#include <algorithm>
#include <filesystem>
#include <limits>
#include <map>
#include <set>
#include <tuple>
#include <unordered_map>

namespace um::storage {

namespace {

using model::millis;

failure_kind kind_of(int code) {
  switch (code & 0xff) {
  case SQLITE_CORRUPT:
  case SQLITE_NOTADB:
    return failure_kind::corrupt;
  case SQLITE_BUSY:
  case SQLITE_LOCKED:
  case SQLITE_FULL:
  case SQLITE_READONLY:
  case SQLITE_CANTOPEN:
  case SQLITE_IOERR:
  case SQLITE_PERM:
  case SQLITE_NOMEM:
  case SQLITE_PROTOCOL:
    return failure_kind::unavailable;
  default:
    return failure_kind::internal;
  }
}

[[noreturn]] void fail(sqlite3* db, int code, const char* doing) {
  std::string what = std::string{"sqlite: "} + doing + ": " +
                     (db ? sqlite3_errmsg(db) : sqlite3_errstr(code));
  throw storage_error(kind_of(code), what);
}

// A prepared statement, reset after each use so it can be reused.
class statement {
public:
  statement() = default;
  statement(sqlite3* db, const char* sql) : db_(db) {
    int rc = sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt_, nullptr);
    if (rc != SQLITE_OK)
      fail(db, rc, "prepare");
  }
  statement(const statement&) = delete;
  statement& operator=(const statement&) = delete;
  statement(statement&& other) noexcept { *this = std::move(other); }
  statement& operator=(statement&& other) noexcept {
    std::swap(db_, other.db_);
    std::swap(stmt_, other.stmt_);
    return *this;
  }
  ~statement() { sqlite3_finalize(stmt_); }

  statement& bind(int i, const std::string& v) {
    check(
        sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC));
    return *this;
  }
  statement& bind(int i, std::int64_t v) {
    check(sqlite3_bind_int64(stmt_, i, v));
    return *this;
  }
  statement& bind(int i, int v) { return bind(i, static_cast<std::int64_t>(v)); }
  statement& bind(int i, double v) {
    check(sqlite3_bind_double(stmt_, i, v));
    return *this;
  }

  /// Steps once: true while a row is available.
  bool step() {
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW)
      return true;
    if (rc == SQLITE_DONE)
      return false;
    sqlite3_reset(stmt_);
    fail(db_, rc, "step");
  }

  /// Runs a statement that returns no rows.
  void run() {
    step();
    reset();
  }

  void reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }

  std::int64_t integer(int col) const { return sqlite3_column_int64(stmt_, col); }
  double real(int col) const { return sqlite3_column_double(stmt_, col); }
  bool is_null(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  std::string text(int col) const {
    auto p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
    return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col)))
             : std::string{};
  }

private:
  void check(int rc) {
    if (rc != SQLITE_OK)
      fail(db_, rc, "bind");
  }

  sqlite3* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
};

// Resets a statement when a scope ends, also when a step throws.
struct reset_guard {
  statement& s;
  ~reset_guard() { s.reset(); }
};

constexpr int schema_version = 3;

constexpr const char* schema_v1 = R"sql(
CREATE TABLE events (
  seq         INTEGER PRIMARY KEY,
  source      TEXT    NOT NULL,
  id          TEXT    NOT NULL,
  type        TEXT    NOT NULL,
  subject     TEXT    NOT NULL,
  time        INTEGER NOT NULL,
  data        TEXT    NOT NULL,
  ingested_at INTEGER NOT NULL,
  UNIQUE (source, id)
);
CREATE INDEX events_by_subject_time ON events (subject, time);
CREATE INDEX events_by_time ON events (time);
CREATE TABLE rollup_minute (subject TEXT NOT NULL, bucket INTEGER NOT NULL,
  type TEXT NOT NULL, count INTEGER NOT NULL,
  PRIMARY KEY (subject, bucket, type)) WITHOUT ROWID;
CREATE TABLE rollup_hour (subject TEXT NOT NULL, bucket INTEGER NOT NULL,
  type TEXT NOT NULL, count INTEGER NOT NULL,
  PRIMARY KEY (subject, bucket, type)) WITHOUT ROWID;
CREATE TABLE rollup_day (subject TEXT NOT NULL, bucket INTEGER NOT NULL,
  type TEXT NOT NULL, count INTEGER NOT NULL,
  PRIMARY KEY (subject, bucket, type)) WITHOUT ROWID;
CREATE TABLE rollup_total (subject TEXT NOT NULL, type TEXT NOT NULL,
  count INTEGER NOT NULL, PRIMARY KEY (subject, type)) WITHOUT ROWID;
CREATE TABLE rollup_global_minute (bucket INTEGER PRIMARY KEY, count INTEGER NOT NULL);
)sql";

// Metering: meters, the version appends check to see meter changes, and
// rollup cells per meter, bucket, subject and group values. Cells are keyed
// by meter and bucket first, as queries read a range of buckets of one meter.
// The (type) index (with the rowid, that is (type, seq)) lets a backfill read
// the events of one type in storage order.
constexpr const char* schema_v2 = R"sql(
CREATE INDEX events_by_type ON events (type);
CREATE TABLE meters (id TEXT PRIMARY KEY, slug TEXT NOT NULL UNIQUE,
  definition TEXT NOT NULL, created_seq INTEGER NOT NULL,
  backfill_until INTEGER NOT NULL, backfill_cursor INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE meter_state (version INTEGER NOT NULL);
INSERT INTO meter_state (version) VALUES (0);
CREATE TABLE meter_minute (meter_id TEXT NOT NULL, bucket INTEGER NOT NULL,
  subject TEXT NOT NULL, group_key TEXT NOT NULL, sum REAL, count INTEGER NOT NULL,
  min REAL, max REAL, latest REAL, latest_time INTEGER NOT NULL,
  latest_seq INTEGER NOT NULL,
  PRIMARY KEY (meter_id, bucket, subject, group_key)) WITHOUT ROWID;
CREATE TABLE meter_hour (meter_id TEXT NOT NULL, bucket INTEGER NOT NULL,
  subject TEXT NOT NULL, group_key TEXT NOT NULL, sum REAL, count INTEGER NOT NULL,
  min REAL, max REAL, latest REAL, latest_time INTEGER NOT NULL,
  latest_seq INTEGER NOT NULL,
  PRIMARY KEY (meter_id, bucket, subject, group_key)) WITHOUT ROWID;
CREATE TABLE meter_unique_minute (meter_id TEXT NOT NULL, bucket INTEGER NOT NULL,
  subject TEXT NOT NULL, group_key TEXT NOT NULL, value TEXT NOT NULL,
  PRIMARY KEY (meter_id, bucket, subject, group_key, value)) WITHOUT ROWID;
CREATE TABLE meter_unique_hour (meter_id TEXT NOT NULL, bucket INTEGER NOT NULL,
  subject TEXT NOT NULL, group_key TEXT NOT NULL, value TEXT NOT NULL,
  PRIMARY KEY (meter_id, bucket, subject, group_key, value)) WITHOUT ROWID;
)sql";

const char* rollup_table(model::rollup_grain grain) {
  switch (grain) {
  case model::rollup_grain::minute:
    return "rollup_minute";
  case model::rollup_grain::hour:
    return "rollup_hour";
  case model::rollup_grain::day:
    return "rollup_day";
  case model::rollup_grain::raw:
    break;
  }
  return nullptr;
}

class sqlite_store final : public event_store {
public:
  explicit sqlite_store(const store_options& options) {
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
      std::string what = "sqlite: open " + path + ": " +
                         (db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc));
      sqlite3_close(db_);
      db_ = nullptr;
      throw storage_error(kind_of(rc), what);
    }
    try {
      sqlite3_busy_timeout(db_, 2000);
      sqlite3_extended_result_codes(db_, 1);
      if (!options.read_only) {
        exec("PRAGMA journal_mode=WAL");
        exec(options.synchronous_full ? "PRAGMA synchronous=FULL"
                                      : "PRAGMA synchronous=NORMAL");
      }
      exec("PRAGMA foreign_keys=OFF");
      exec("PRAGMA cache_size=-65536");
      exec("PRAGMA temp_store=MEMORY");
      if (options.read_only) {
        if (stored_schema_version() != schema_version)
          throw storage_error(failure_kind::unavailable,
                              "sqlite: the database is not at schema version " +
                                  std::to_string(schema_version));
      } else {
        migrate();
      }
      prepare();
    } catch (...) {
      statements_.clear();
      sqlite3_close_v2(db_);
      db_ = nullptr;
      throw;
    }
  }

  ~sqlite_store() override {
    statements_.clear();
    sqlite3_close_v2(db_);
  }

  model::append_outcomes append(const std::vector<model::event>& batch) override {
    model::append_outcomes out;
    out.reserve(batch.size());
    rollup_delta delta;
    meter_delta meter_changes;
    transaction tx{*this};
    refresh_meters();
    auto& insert = stmt(q_insert);
    auto& find = stmt(q_find);
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
        insert.step();
      }
      if (sqlite3_changes(db_) > 0) {
        out.push_back({model::append_status::stored, e});
        delta.add(e.subject, e.type, e.time, 1);
        if (!active_meters_.empty())
          meter_changes.add_event(active_meters_, e, sqlite3_last_insert_rowid(db_));
        continue;
      }
      reset_guard guard{find};
      find.bind(1, e.source).bind(2, e.id);
      if (!find.step())
        throw storage_error(failure_kind::internal,
                            "sqlite: conflicting event not found");
      out.push_back({model::append_status::duplicate, read_event(find, 0)});
    }
    apply(delta);
    apply(meter_changes);
    tx.commit();
    return out;
  }

  model::event_page list_events(const model::event_filter& f) override {
    model::event_page page;
    int which = (f.subject.empty() ? 0 : 1) | (f.type.empty() ? 0 : 2);
    auto& list = stmt(q_list_any + which);
    reset_guard guard{list};
    int i = 1;
    if (!f.subject.empty())
      list.bind(i++, f.subject);
    if (!f.type.empty())
      list.bind(i++, f.type);
    list.bind(i++, f.limit).bind(i++, f.offset);
    std::size_t bytes = 0;
    while (model::page_has_room(bytes) && list.step()) {
      page.events.push_back(read_event(list, 0));
      bytes += page.events.back().data.size();
    }
    page.total = count_matching(f);
    return page;
  }

  model::usage_summary summarize(const std::string& subject,
                                 const model::time_range& range) override {
    if (!range.since && !range.until)
      return totals_of(subject);
    auto bounds = bounds_of(subject, range);
    model::usage_summary out;
    if (!bounds)
      return out;
    add_range(subject, bounds->first, bounds->second, out);
    return out;
  }

  model::usage_history history(const std::string& subject, model::interval width_kind,
                               const model::time_range& range) override {
    model::usage_history out;
    auto bounds = bounds_of(subject, range);
    if (!bounds)
      return out;
    auto [lo, hi] = *bounds;
    auto plan = model::plan_history(lo, hi, model::interval_millis(width_kind));
    auto partials = [&](const std::vector<model::partial_bucket>& buckets) {
      for (const auto& p : buckets) {
        model::usage_summary s;
        add_range(subject, p.from, p.to, s);
        if (s.total > 0)
          out.push_back({p.bucket, s.total});
      }
    };
    partials(plan.before);
    if (plan.whole_from == plan.whole_to) {
      partials(plan.after);
      return out;
    }
    auto grain = width_kind == model::interval::minute ? model::rollup_grain::minute
                 : width_kind == model::interval::hour ? model::rollup_grain::hour
                                                       : model::rollup_grain::day;
    auto& buckets = stmt(q_history_minute + grain_index(grain));
    {
      reset_guard guard{buckets};
      buckets.bind(1, subject).bind(2, plan.whole_from).bind(3, plan.whole_to);
      while (buckets.step())
        if (auto n = buckets.integer(1); n > 0)
          out.push_back({buckets.integer(0), n});
    }
    partials(plan.after);
    return out;
  }

  model::usage_stats stats(millis now) override {
    model::usage_stats out;
    std::map<std::string, bool> subjects;
    auto& types = stmt(q_stats_types);
    {
      reset_guard guard{types};
      while (types.step()) {
        auto n = types.integer(1);
        if (n <= 0)
          continue;
        out.event_types[types.text(0)] = n;
        out.total_events += n;
      }
    }
    auto& entities = stmt(q_stats_entities);
    {
      reset_guard guard{entities};
      if (entities.step())
        out.unique_entities = entities.integer(0);
    }
    millis hour_ago = now - 3'600'000;
    millis first_minute = model::bucket_floor(hour_ago, 60'000);
    if (first_minute < hour_ago)
      first_minute += 60'000;
    auto& recent = stmt(q_stats_recent_minutes);
    {
      reset_guard guard{recent};
      recent.bind(1, first_minute);
      if (recent.step())
        out.events_last_hour = recent.integer(0);
    }
    if (hour_ago < first_minute) {
      auto& raw = stmt(q_count_time_range);
      reset_guard guard{raw};
      raw.bind(1, hour_ago).bind(2, first_minute);
      if (raw.step())
        out.events_last_hour += raw.integer(0);
    }
    return out;
  }

  std::size_t purge_before(millis cutoff, std::size_t max_events) override {
    transaction tx{*this};
    auto& oldest = stmt(q_purge_select);
    auto& erase = stmt(q_purge_delete);
    rollup_delta delta;
    std::vector<std::int64_t> seqs;
    {
      reset_guard guard{oldest};
      oldest.bind(1, cutoff).bind(2, static_cast<std::int64_t>(max_events));
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
    exec("DELETE FROM rollup_minute WHERE count <= 0");
    exec("DELETE FROM rollup_hour WHERE count <= 0");
    exec("DELETE FROM rollup_day WHERE count <= 0");
    exec("DELETE FROM rollup_total WHERE count <= 0");
    exec("DELETE FROM rollup_global_minute WHERE count <= 0");
    if (!seqs.empty())
      purge_meter_cells(cutoff);
    tx.commit();
    return seqs.size();
  }

  void ping() override {
    auto& p = stmt(q_ping);
    reset_guard guard{p};
    p.step();
  }

  std::vector<stored_meter> meters() override {
    std::vector<stored_meter> out;
    auto& all = stmt(q_meters_all);
    reset_guard guard{all};
    while (all.step())
      out.push_back({parse_stored_meter(all.text(1)), all.integer(3) >= all.integer(2)});
    return out;
  }

  void create_meter(const model::meter& m) override {
    const std::string none, definition = stored_meter_text(m);
    transaction tx{*this};
    {
      auto& taken = stmt(q_meter_taken);
      reset_guard guard{taken};
      taken.bind(1, m.id).bind(2, m.slug).bind(3, none);
      if (taken.step())
        throw storage_error(failure_kind::conflict,
                            "meter \"" + (taken.text(0) == m.id ? m.id : m.slug) +
                                "\" exists");
    }
    bump_meter_version();
    auto& insert = stmt(q_meter_insert);
    reset_guard guard{insert};
    auto until = max_seq();
    insert.bind(1, m.id).bind(2, m.slug).bind(3, definition).bind(4, until);
    insert.step();
    tx.commit();
  }

  void update_meter(const model::meter& m) override {
    const std::string none, definition = stored_meter_text(m);
    transaction tx{*this};
    auto before = find_meter(m.id);
    {
      auto& taken = stmt(q_meter_taken);
      reset_guard guard{taken};
      taken.bind(1, none).bind(2, m.slug).bind(3, m.id);
      if (taken.step())
        throw storage_error(failure_kind::conflict, "meter \"" + m.slug + "\" exists");
    }
    bump_meter_version();
    if (!same_meter_counting(before.definition, m)) {
      drop_meter_rollups(m.id);
      auto& reset = stmt(q_meter_reset);
      reset_guard guard{reset};
      auto until = max_seq();
      reset.bind(1, until).bind(2, m.id);
      reset.step();
    }
    auto& update = stmt(q_meter_update);
    reset_guard guard{update};
    update.bind(1, m.slug).bind(2, definition).bind(3, m.id);
    update.step();
    tx.commit();
  }

  bool delete_meter(const std::string& id) override {
    transaction tx{*this};
    auto& erase = stmt(q_meter_delete);
    {
      reset_guard guard{erase};
      erase.bind(1, id);
      erase.step();
    }
    if (sqlite3_changes(db_) == 0)
      return false;
    bump_meter_version();
    drop_meter_rollups(id);
    tx.commit();
    return true;
  }

  bool backfill_meter(const std::string& id, std::size_t max_events) override {
    transaction tx{*this};
    auto m = find_meter(id);
    if (m.cursor >= m.until)
      return true;
    std::vector<active_meter> one{{id, std::move(m.definition)}};
    meter_delta delta;
    std::size_t n = 0;
    std::int64_t last = m.cursor;
    {
      auto& events = stmt(q_backfill_events);
      reset_guard guard{events};
      events.bind(1, one[0].definition.event_type)
          .bind(2, m.cursor)
          .bind(3, m.until)
          .bind(4, backfill_limit(max_events));
      while (events.step()) {
        ++n;
        last = events.integer(0);
        delta.add_event(one, read_event(events, 1), last);
      }
    }
    auto cursor = n < max_events ? m.until : last;
    apply(delta);
    auto& advance = stmt(q_meter_advance);
    reset_guard guard{advance};
    advance.bind(1, cursor).bind(2, id);
    advance.step();
    tx.commit();
    return cursor >= m.until;
  }

  std::vector<meter_cell_row>
  meter_cells(const std::string& meter_id, meter_grain grain, millis from, millis to,
              const std::vector<std::string>& subjects) override {
    std::vector<meter_cell_row> out;
    std::map<std::tuple<millis, std::string, std::string>, std::size_t> index;
    std::map<std::string, std::vector<std::optional<std::string>>> groups;
    auto group_values = [&](const std::string& key) {
      auto it = groups.find(key);
      if (it == groups.end())
        it = groups.emplace(key, parse_meter_group_key(key)).first;
      return it->second;
    };
    auto g = static_cast<std::size_t>(grain);
    auto subject_list = subjects_json(subjects);
    {
      auto& cells = stmt(q_meter_cells_minute + g);
      reset_guard guard{cells};
      cells.bind(1, meter_id).bind(2, from).bind(3, to).bind(4, subject_list);
      while (cells.step()) {
        meter_cell_row row;
        row.bucket = cells.integer(0);
        row.subject = cells.text(1);
        auto key = cells.text(2);
        row.group_values = group_values(key);
        row.cell.sum = cells.real(3);
        row.cell.count = cells.integer(4);
        row.cell.min = cells.real(5);
        row.cell.max = cells.real(6);
        row.cell.latest = cells.real(7);
        row.cell.latest_time = cells.integer(8);
        row.cell.latest_seq = cells.integer(9);
        index.emplace(std::tuple{row.bucket, row.subject, std::move(key)}, out.size());
        out.push_back(std::move(row));
      }
    }
    auto& uniques = stmt(q_meter_uniques_minute + g);
    reset_guard guard{uniques};
    uniques.bind(1, meter_id).bind(2, from).bind(3, to).bind(4, subject_list);
    while (uniques.step()) {
      auto it = index.find({uniques.integer(0), uniques.text(1), uniques.text(2)});
      if (it != index.end())
        out[it->second].cell.uniques.insert(uniques.text(3));
    }
    return out;
  }

  std::vector<sequenced_event>
  events_of_type(const std::string& type, millis from, millis to,
                 const std::vector<std::string>& subjects) override {
    std::vector<sequenced_event> out;
    auto subject_list = subjects_json(subjects);
    auto& events = stmt(subjects.empty() ? q_events_of_type : q_events_of_type_subjects);
    reset_guard guard{events};
    events.bind(1, type).bind(2, from).bind(3, to);
    if (!subjects.empty())
      events.bind(4, subject_list);
    while (events.step())
      out.push_back({events.integer(0), read_event(events, 1)});
    return out;
  }

  std::vector<sequenced_event> search_events(const event_search& search) override {
    std::vector<sequenced_event> out;
    auto& events = stmt(q_search_events);
    reset_guard guard{events};
    events.bind(1, search.time_from)
        .bind(2, search.time_to)
        .bind(3, search.ingested_from.value_or(std::numeric_limits<millis>::min()))
        .bind(4, search.ingested_to.value_or(std::numeric_limits<millis>::max()))
        .bind(5, search.id_contains)
        .bind(6, search.subject_contains)
        .bind(7, static_cast<std::int64_t>(std::max(0, search.limit)))
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

  std::vector<std::string> meter_subjects(const std::string& meter_id) override {
    std::vector<std::string> out;
    auto& subjects = stmt(q_meter_subjects);
    reset_guard guard{subjects};
    subjects.bind(1, meter_id);
    while (subjects.step())
      out.push_back(subjects.text(0));
    return out;
  }

  std::vector<std::string> meter_group_values(const std::string& meter_id,
                                              std::size_t group_index) override {
    std::set<std::string> values;
    auto& keys = stmt(q_meter_group_keys);
    reset_guard guard{keys};
    keys.bind(1, meter_id);
    while (keys.step()) {
      auto group = parse_meter_group_key(keys.text(0));
      if (group_index < group.size() && group[group_index])
        values.insert(std::move(*group[group_index]));
    }
    return {values.begin(), values.end()};
  }

  std::vector<model::subject> subjects() override { return sqlite_subjects::list(db_); }

  std::optional<model::subject> find_subject(const std::string& id_or_key) override {
    return sqlite_subjects::find(db_, id_or_key);
  }

  std::vector<model::subject>
  upsert_subjects(const std::vector<model::subject_upsert>& changes,
                  millis now) override {
    return sqlite_subjects::upsert(db_, changes, now);
  }

  bool delete_subject(const std::string& id_or_key) override {
    return sqlite_subjects::remove(db_, id_or_key);
  }

private:
  // A stored meter with its backfill position.
  struct meter_record {
    model::meter definition;
    std::int64_t until = 0;
    std::int64_t cursor = 0;
  };

  // A JSON array of the subjects, for `json_each`; empty when there are none,
  // which the queries read as "all subjects".
  static std::string subjects_json(const std::vector<std::string>& subjects) {
    if (subjects.empty())
      return {};
    return nlohmann::json(subjects).dump(-1, ' ', false,
                                         nlohmann::json::error_handler_t::replace);
  }

  std::int64_t max_seq() {
    auto& q = stmt(q_max_seq);
    reset_guard guard{q};
    return q.step() ? q.integer(0) : 0;
  }

  void bump_meter_version() { stmt(q_meter_bump).run(); }

  meter_record find_meter(const std::string& id) {
    auto& q = stmt(q_meter_find);
    reset_guard guard{q};
    q.bind(1, id);
    if (!q.step())
      throw storage_error(failure_kind::not_found, "meter \"" + id + "\" not found");
    return {parse_stored_meter(q.text(0)), q.integer(1), q.integer(2)};
  }

  void drop_meter_rollups(const std::string& id) {
    for (auto slot : {q_meter_drop_minute, q_meter_drop_hour, q_meter_drop_unique_minute,
                      q_meter_drop_unique_hour}) {
      auto& q = stmt(slot);
      reset_guard guard{q};
      q.bind(1, id);
      q.step();
    }
  }

  // Brings the meters appends apply up to date: one indexed read per
  // transaction, a reload only when another connection changed them.
  void refresh_meters() {
    std::int64_t version = 0;
    {
      auto& q = stmt(q_meter_version);
      reset_guard guard{q};
      if (q.step())
        version = q.integer(0);
    }
    if (meters_loaded_ && version == meter_version_)
      return;
    std::vector<active_meter> loaded;
    auto& all = stmt(q_meters_all);
    reset_guard guard{all};
    while (all.step())
      loaded.push_back({all.text(0), parse_stored_meter(all.text(1))});
    active_meters_ = std::move(loaded);
    meter_version_ = version;
    meters_loaded_ = true;
  }

  void apply(const meter_delta& delta) {
    for (std::size_t g = 0; g < 2; ++g) {
      auto& upsert = stmt(q_meter_upsert_minute + g);
      auto& unique = stmt(q_meter_unique_minute + g);
      for (const auto& [key, cell] : delta.cells[g]) {
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

  // Drops the meter cells whose buckets lie wholly before every event that
  // is left, once a purge removed events up to `cutoff`.
  // A cell straddling that point is kept whole, so it may still hold samples
  // of purged events (sums and counts could be subtracted, but not min, max,
  // latest or unique values); queries of retained time read it whole.
  void purge_meter_cells(millis cutoff) {
    millis bound = cutoff;
    {
      auto& oldest = stmt(q_oldest_time);
      reset_guard guard{oldest};
      if (oldest.step() && !oldest.is_null(0))
        bound = std::min(bound, oldest.integer(0));
    }
    for (std::size_t g = 0; g < 2; ++g) {
      auto last = bound - meter_grain_millis(static_cast<meter_grain>(g));
      for (auto slot : {q_meter_purge_minute + g, q_meter_purge_unique_minute + g}) {
        auto& q = stmt(slot);
        reset_guard guard{q};
        q.bind(1, last);
        q.step();
      }
    }
  }

  // Statement slots; the order matters where an offset selects a variant.
  enum slot : std::size_t {
    q_insert,
    q_find,
    q_list_any,
    q_list_subject,
    q_list_type,
    q_list_both,
    q_total_all,
    q_total_subject,
    q_total_type,
    q_total_both,
    q_totals_of,
    q_raw_range,
    q_range_minute,
    q_range_hour,
    q_range_day,
    q_history_minute,
    q_history_hour,
    q_history_day,
    q_upsert_minute,
    q_upsert_hour,
    q_upsert_day,
    q_upsert_total,
    q_upsert_global,
    q_time_bounds,
    q_stats_types,
    q_stats_entities,
    q_stats_recent_minutes,
    q_count_time_range,
    q_purge_select,
    q_purge_delete,
    q_ping,
    q_begin,
    q_commit,
    q_rollback,
    q_meters_all,
    q_meter_taken,
    q_meter_insert,
    q_meter_find,
    q_meter_update,
    q_meter_reset,
    q_meter_delete,
    q_meter_bump,
    q_meter_version,
    q_max_seq,
    q_meter_advance,
    q_backfill_events,
    q_meter_drop_minute,
    q_meter_drop_hour,
    q_meter_drop_unique_minute,
    q_meter_drop_unique_hour,
    q_meter_upsert_minute,
    q_meter_upsert_hour,
    q_meter_unique_minute,
    q_meter_unique_hour,
    q_meter_cells_minute,
    q_meter_cells_hour,
    q_meter_uniques_minute,
    q_meter_uniques_hour,
    q_events_of_type,
    q_events_of_type_subjects,
    q_search_events,
    q_meter_subjects,
    q_meter_group_keys,
    q_oldest_time,
    q_meter_purge_minute,
    q_meter_purge_hour,
    q_meter_purge_unique_minute,
    q_meter_purge_unique_hour,
    slot_count
  };

  // Commits explicitly; rolls back when left by an exception.
  class transaction {
  public:
    explicit transaction(sqlite_store& s) : s_(s) { s_.stmt(q_begin).run(); }
    void commit() {
      s_.stmt(q_commit).run();
      done_ = true;
    }
    ~transaction() {
      if (!done_)
        sqlite3_exec(s_.db_, "ROLLBACK", nullptr, nullptr, nullptr);
    }

  private:
    sqlite_store& s_;
    bool done_ = false;
  };

  static std::size_t grain_index(model::rollup_grain g) {
    return g == model::rollup_grain::minute ? 0 : g == model::rollup_grain::hour ? 1 : 2;
  }

  void exec(const char* sql) {
    char* message = nullptr;
    int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &message);
    if (rc != SQLITE_OK) {
      std::string what =
          std::string{"sqlite: "} + (message ? message : sqlite3_errstr(rc));
      sqlite3_free(message);
      throw storage_error(kind_of(rc), what);
    }
  }

  // The schema version as stored, 0 for a database without one; a plain read,
  // so it needs no write lock.
  int stored_schema_version() {
    statement exists{db_, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' "
                          "AND name = 'schema_version'"};
    if (!exists.step() || exists.integer(0) == 0)
      return 0;
    statement v{db_, "SELECT COALESCE(MAX(version), 0) FROM schema_version"};
    return v.step() ? static_cast<int>(v.integer(0)) : 0;
  }

  void migrate() {
    // Up to date already (every open after the first): no write lock needed,
    // so a connection can open while another process holds the write lock.
    if (stored_schema_version() == schema_version)
      return;
    exec("BEGIN IMMEDIATE");
    try {
      exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
      int current = 0;
      {
        statement v{db_, "SELECT COALESCE(MAX(version), 0) FROM schema_version"};
        if (v.step())
          current = static_cast<int>(v.integer(0));
      }
      if (current > schema_version)
        throw storage_error(failure_kind::internal,
                            "sqlite: database schema version " + std::to_string(current) +
                                " is newer than this build understands");
      if (current < 1) {
        exec(schema_v1);
        exec("INSERT INTO schema_version (version) VALUES (1)");
      }
      if (current < 2) {
        exec(schema_v2);
        exec("INSERT INTO schema_version (version) VALUES (2)");
      }
      if (current < 3) {
        exec(sqlite_subjects::schema);
        exec("INSERT INTO schema_version (version) VALUES (3)");
      }
      exec("COMMIT");
    } catch (...) {
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      throw;
    }
  }

  void prepare() {
    static const char* const sql[slot_count] = {
        "INSERT INTO events (source, id, type, subject, time, data, ingested_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (source, id) DO NOTHING",
        "SELECT source, id, type, subject, time, data, ingested_at FROM events "
        "WHERE source = ? AND id = ?",
        "SELECT source, id, type, subject, time, data, ingested_at FROM events "
        "ORDER BY time DESC, seq DESC LIMIT ? OFFSET ?",
        "SELECT source, id, type, subject, time, data, ingested_at FROM events "
        "WHERE subject = ? ORDER BY time DESC, seq DESC LIMIT ? OFFSET ?",
        "SELECT source, id, type, subject, time, data, ingested_at FROM events "
        "WHERE +type = ? ORDER BY time DESC, seq DESC LIMIT ? OFFSET ?",
        "SELECT source, id, type, subject, time, data, ingested_at FROM events "
        "WHERE subject = ? AND +type = ? ORDER BY time DESC, seq DESC LIMIT ? OFFSET ?",
        "SELECT COALESCE(SUM(count), 0) FROM rollup_total",
        "SELECT COALESCE(SUM(count), 0) FROM rollup_total WHERE subject = ?",
        "SELECT COALESCE(SUM(count), 0) FROM rollup_total WHERE type = ?",
        "SELECT COALESCE(SUM(count), 0) FROM rollup_total WHERE subject = ? AND type = ?",
        "SELECT type, count FROM rollup_total WHERE subject = ? AND count > 0",
        "SELECT type, COUNT(*) FROM events WHERE subject = ? AND time >= ? AND time < ? "
        "GROUP BY type",
        "SELECT type, SUM(count) FROM rollup_minute WHERE subject = ? AND bucket >= ? "
        "AND bucket < ? GROUP BY type",
        "SELECT type, SUM(count) FROM rollup_hour WHERE subject = ? AND bucket >= ? "
        "AND bucket < ? GROUP BY type",
        "SELECT type, SUM(count) FROM rollup_day WHERE subject = ? AND bucket >= ? "
        "AND bucket < ? GROUP BY type",
        "SELECT bucket, SUM(count) FROM rollup_minute WHERE subject = ? AND bucket >= ? "
        "AND bucket < ? GROUP BY bucket ORDER BY bucket",
        "SELECT bucket, SUM(count) FROM rollup_hour WHERE subject = ? AND bucket >= ? "
        "AND bucket < ? GROUP BY bucket ORDER BY bucket",
        "SELECT bucket, SUM(count) FROM rollup_day WHERE subject = ? AND bucket >= ? "
        "AND bucket < ? GROUP BY bucket ORDER BY bucket",
        "INSERT INTO rollup_minute (subject, bucket, type, count) VALUES (?, ?, ?, ?) "
        "ON CONFLICT DO UPDATE SET count = count + excluded.count",
        "INSERT INTO rollup_hour (subject, bucket, type, count) VALUES (?, ?, ?, ?) "
        "ON CONFLICT DO UPDATE SET count = count + excluded.count",
        "INSERT INTO rollup_day (subject, bucket, type, count) VALUES (?, ?, ?, ?) "
        "ON CONFLICT DO UPDATE SET count = count + excluded.count",
        "INSERT INTO rollup_total (subject, type, count) VALUES (?, ?, ?) "
        "ON CONFLICT DO UPDATE SET count = count + excluded.count",
        "INSERT INTO rollup_global_minute (bucket, count) VALUES (?, ?) "
        "ON CONFLICT DO UPDATE SET count = count + excluded.count",
        "SELECT MIN(time), MAX(time) FROM events WHERE subject = ?",
        "SELECT type, SUM(count) FROM rollup_total GROUP BY type",
        "SELECT COUNT(DISTINCT subject) FROM rollup_total WHERE count > 0",
        "SELECT COALESCE(SUM(count), 0) FROM rollup_global_minute WHERE bucket >= ?",
        "SELECT COUNT(*) FROM events WHERE time >= ? AND time < ?",
        "SELECT seq, subject, type, time FROM events WHERE time < ? ORDER BY time LIMIT "
        "?",
        "DELETE FROM events WHERE seq = ?",
        "SELECT 1",
        "BEGIN IMMEDIATE",
        "COMMIT",
        "ROLLBACK",
        "SELECT id, definition, backfill_until, backfill_cursor FROM meters "
        "ORDER BY created_seq",
        "SELECT id FROM meters WHERE id = ?1 OR (slug = ?2 AND id <> ?3)",
        "INSERT INTO meters (id, slug, definition, created_seq, backfill_until, "
        "backfill_cursor) VALUES (?1, ?2, ?3, (SELECT COALESCE(MAX(created_seq), 0) + 1 "
        "FROM meters), ?4, 0)",
        "SELECT definition, backfill_until, backfill_cursor FROM meters WHERE id = ?",
        "UPDATE meters SET slug = ?, definition = ? WHERE id = ?",
        "UPDATE meters SET backfill_until = ?, backfill_cursor = 0 WHERE id = ?",
        "DELETE FROM meters WHERE id = ?",
        "UPDATE meter_state SET version = version + 1",
        "SELECT version FROM meter_state",
        "SELECT COALESCE(MAX(seq), 0) FROM events",
        "UPDATE meters SET backfill_cursor = ? WHERE id = ?",
        "SELECT seq, source, id, type, subject, time, data, ingested_at FROM events "
        "WHERE type = ? AND seq > ? AND seq <= ? ORDER BY seq LIMIT ?",
        "DELETE FROM meter_minute WHERE meter_id = ?",
        "DELETE FROM meter_hour WHERE meter_id = ?",
        "DELETE FROM meter_unique_minute WHERE meter_id = ?",
        "DELETE FROM meter_unique_hour WHERE meter_id = ?",
        "INSERT INTO meter_minute (meter_id, bucket, subject, group_key, sum, count, "
        "min, max, "
        "latest, latest_time, latest_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT DO UPDATE SET sum = sum + excluded.sum, count = count + "
        "excluded.count, min = MIN(min, excluded.min), max = MAX(max, excluded.max), "
        "latest = CASE WHEN (excluded.latest_time, excluded.latest_seq) > (latest_time, "
        "latest_seq) THEN excluded.latest ELSE latest END, latest_time = CASE WHEN "
        "(excluded.latest_time, excluded.latest_seq) > (latest_time, latest_seq) THEN "
        "excluded.latest_time ELSE latest_time END, latest_seq = CASE WHEN "
        "(excluded.latest_time, excluded.latest_seq) > (latest_time, latest_seq) THEN "
        "excluded.latest_seq ELSE latest_seq END",
        "INSERT INTO meter_hour (meter_id, bucket, subject, group_key, sum, count, min, "
        "max, "
        "latest, latest_time, latest_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT DO UPDATE SET sum = sum + excluded.sum, count = count + "
        "excluded.count, min = MIN(min, excluded.min), max = MAX(max, excluded.max), "
        "latest = CASE WHEN (excluded.latest_time, excluded.latest_seq) > (latest_time, "
        "latest_seq) THEN excluded.latest ELSE latest END, latest_time = CASE WHEN "
        "(excluded.latest_time, excluded.latest_seq) > (latest_time, latest_seq) THEN "
        "excluded.latest_time ELSE latest_time END, latest_seq = CASE WHEN "
        "(excluded.latest_time, excluded.latest_seq) > (latest_time, latest_seq) THEN "
        "excluded.latest_seq ELSE latest_seq END",
        "INSERT INTO meter_unique_minute (meter_id, bucket, subject, group_key, value) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        "INSERT INTO meter_unique_hour (meter_id, bucket, subject, group_key, value) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        "SELECT bucket, subject, group_key, sum, count, min, max, latest, latest_time, "
        "latest_seq FROM meter_minute WHERE meter_id = ?1 AND bucket >= ?2 AND bucket < "
        "?3 AND "
        "(?4 = '' OR subject IN (SELECT value FROM json_each(?4))) "
        "ORDER BY bucket, subject, group_key",
        "SELECT bucket, subject, group_key, sum, count, min, max, latest, latest_time, "
        "latest_seq FROM meter_hour WHERE meter_id = ?1 AND bucket >= ?2 AND bucket < ?3 "
        "AND "
        "(?4 = '' OR subject IN (SELECT value FROM json_each(?4))) "
        "ORDER BY bucket, subject, group_key",
        "SELECT bucket, subject, group_key, value FROM meter_unique_minute WHERE "
        "meter_id = ?1 AND "
        "bucket >= ?2 AND bucket < ?3 AND "
        "(?4 = '' OR subject IN (SELECT value FROM json_each(?4)))",
        "SELECT bucket, subject, group_key, value FROM meter_unique_hour WHERE meter_id "
        "= ?1 AND "
        "bucket >= ?2 AND bucket < ?3 AND "
        "(?4 = '' OR subject IN (SELECT value FROM json_each(?4)))",
        // The (time) index serves the short ranges these read; `+type` keeps
        // the planner off the (type) index, which would scan a whole type.
        "SELECT seq, source, id, type, subject, time, data, ingested_at FROM events "
        "WHERE +type = ?1 AND time >= ?2 AND time < ?3 ORDER BY seq",
        "SELECT seq, source, id, type, subject, time, data, ingested_at FROM events "
        "WHERE +type = ?1 AND time >= ?2 AND time < ?3 AND subject IN "
        "(SELECT value FROM json_each(?4)) ORDER BY seq",
        "SELECT seq, source, id, type, subject, time, data, ingested_at FROM events "
        "WHERE time >= ?1 AND time < ?2 AND ingested_at >= ?3 AND ingested_at < ?4 "
        "AND (?5 = '' OR instr(id, ?5) > 0) AND (?6 = '' OR instr(subject, ?6) > 0) "
        "AND time <= ?8 AND (time < ?8 OR seq < ?9) "
        "ORDER BY time DESC, seq DESC LIMIT ?7",
        "SELECT DISTINCT subject FROM meter_hour WHERE meter_id = ? ORDER BY subject",
        "SELECT DISTINCT group_key FROM meter_hour WHERE meter_id = ?",
        "SELECT MIN(time) FROM events",
        "DELETE FROM meter_minute WHERE meter_id IN (SELECT id FROM meters) AND bucket "
        "<= ?",
        "DELETE FROM meter_hour WHERE meter_id IN (SELECT id FROM meters) AND bucket <= "
        "?",
        "DELETE FROM meter_unique_minute WHERE meter_id IN (SELECT id FROM meters) AND "
        "bucket <= ?",
        "DELETE FROM meter_unique_hour WHERE meter_id IN (SELECT id FROM meters) AND "
        "bucket <= ?",
    };
    statements_.reserve(slot_count);
    for (auto text : sql)
      statements_.emplace_back(db_, text);
  }

  statement& stmt(std::size_t slot) { return statements_[slot]; }

  static model::event read_event(statement& s, int first) {
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

  std::int64_t count_matching(const model::event_filter& f) {
    int which = (f.subject.empty() ? 0 : 1) | (f.type.empty() ? 0 : 2);
    auto& total = stmt(q_total_all + which);
    reset_guard guard{total};
    int i = 1;
    if (!f.subject.empty())
      total.bind(i++, f.subject);
    if (!f.type.empty())
      total.bind(i++, f.type);
    return total.step() ? total.integer(0) : 0;
  }

  model::usage_summary totals_of(const std::string& subject) {
    model::usage_summary out;
    auto& totals = stmt(q_totals_of);
    reset_guard guard{totals};
    totals.bind(1, subject);
    while (totals.step()) {
      auto n = totals.integer(1);
      out.by_type[totals.text(0)] = n;
      out.total += n;
    }
    return out;
  }

  // The half-open [lo, hi) that `range` (inclusive bounds) selects, with open
  // bounds closed at the subject's first and last event; nothing when empty.
  std::optional<std::pair<millis, millis>> bounds_of(const std::string& subject,
                                                     const model::time_range& range) {
    millis lo = 0, hi = 0;
    if (!range.since || !range.until) {
      auto& b = stmt(q_time_bounds);
      reset_guard guard{b};
      b.bind(1, subject);
      if (!b.step() || b.is_null(0))
        return std::nullopt;
      lo = b.integer(0);
      hi = b.integer(1) + 1;
    }
    if (range.since)
      lo = *range.since;
    if (range.until)
      hi = *range.until + 1;
    if (lo >= hi)
      return std::nullopt;
    return std::pair{lo, hi};
  }

  void add_range(const std::string& subject, millis from, millis to,
                 model::usage_summary& out) {
    for (const auto& span : model::plan_range(from, to)) {
      auto& q = span.grain == model::rollup_grain::raw
                    ? stmt(q_raw_range)
                    : stmt(q_range_minute + grain_index(span.grain));
      reset_guard guard{q};
      q.bind(1, subject).bind(2, span.from).bind(3, span.to);
      while (q.step()) {
        auto n = q.integer(1);
        if (n <= 0)
          continue;
        out.by_type[q.text(0)] += n;
        out.total += n;
      }
    }
  }

  void apply(const rollup_delta& delta) {
    for (int g = 0; g < 3; ++g) {
      auto& upsert = stmt(q_upsert_minute + g);
      for (const auto& [key, n] : delta.by_grain[g]) {
        reset_guard guard{upsert};
        upsert.bind(1, std::get<0>(key))
            .bind(2, std::get<1>(key))
            .bind(3, std::get<2>(key))
            .bind(4, n);
        upsert.step();
      }
    }
    auto& total = stmt(q_upsert_total);
    for (const auto& [key, n] : delta.totals) {
      reset_guard guard{total};
      total.bind(1, key.first).bind(2, key.second).bind(3, n);
      total.step();
    }
    auto& global = stmt(q_upsert_global);
    for (const auto& [bucket, n] : delta.global_minutes) {
      reset_guard guard{global};
      global.bind(1, bucket).bind(2, n);
      global.step();
    }
  }

  sqlite3* db_ = nullptr;
  std::vector<statement> statements_;
  std::vector<active_meter> active_meters_; ///< As of `meter_version_`.
  std::int64_t meter_version_ = 0;
  bool meters_loaded_ = false;
};

} // namespace

std::string sqlite_path(const store_options& options) {
  if (options.url.rfind("sqlite:", 0) == 0)
    return options.url.substr(7);
  return (std::filesystem::path(options.data_dir) / "usage-metrics.db").string();
}

std::unique_ptr<event_store> open_sqlite_store(const store_options& options) {
  return std::make_unique<sqlite_store>(options);
}

} // namespace um::storage
