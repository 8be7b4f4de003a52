#include "storage/sqlite_store.hpp"

#include "model/rollup_plan.hpp"

#include <sqlite3.h>

#include <filesystem>
#include <map>
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

constexpr int schema_version = 1;

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

constexpr model::rollup_grain stored_grains[] = {
    model::rollup_grain::minute, model::rollup_grain::hour, model::rollup_grain::day};

// Count changes a batch makes to the rollups, summed before they are written
// so that a batch touches each rollup row once.
struct rollup_delta {
  std::map<std::tuple<std::string, millis, std::string>, std::int64_t> by_grain[3];
  std::map<std::pair<std::string, std::string>, std::int64_t> totals;
  std::map<millis, std::int64_t> global_minutes;

  void add(const std::string& subject, const std::string& type, millis time,
           std::int64_t n) {
    for (int g = 0; g < 3; ++g) {
      auto width = model::grain_millis(stored_grains[g]);
      by_grain[g][{subject, model::bucket_floor(time, width), type}] += n;
    }
    totals[{subject, type}] += n;
    global_minutes[model::bucket_floor(time, 60'000)] += n;
  }
};

class sqlite_store final : public event_store {
public:
  explicit sqlite_store(const store_options& options) {
    auto path = sqlite_path(options);
    if (!options.read_only) {
      std::error_code ec;
      std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
    }
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
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
      exec("PRAGMA journal_mode=WAL");
      exec(options.synchronous_full ? "PRAGMA synchronous=FULL"
                                    : "PRAGMA synchronous=NORMAL");
      exec("PRAGMA foreign_keys=OFF");
      exec("PRAGMA cache_size=-65536");
      exec("PRAGMA temp_store=MEMORY");
      migrate();
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
    transaction tx{*this};
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
    while (list.step())
      page.events.push_back(read_event(list, 0));
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
    millis w = model::interval_millis(width_kind);
    millis first_full =
        model::bucket_floor(lo, w) == lo ? lo : model::bucket_floor(lo, w) + w;
    millis last_full = model::bucket_floor(hi, w);
    auto partial = [&](millis bucket, millis from, millis to) {
      model::usage_summary s;
      add_range(subject, from, to, s);
      if (s.total > 0)
        out.push_back({bucket, s.total});
    };
    if (first_full >= last_full) {
      millis b0 = model::bucket_floor(lo, w), b1 = model::bucket_floor(hi - 1, w);
      partial(b0, lo, std::min(hi, b0 + w));
      if (b1 != b0)
        partial(b1, b1, hi);
      return out;
    }
    if (lo < first_full)
      partial(first_full - w, lo, first_full);
    auto grain = width_kind == model::interval::minute ? model::rollup_grain::minute
                 : width_kind == model::interval::hour ? model::rollup_grain::hour
                                                       : model::rollup_grain::day;
    auto& buckets = stmt(q_history_minute + grain_index(grain));
    {
      reset_guard guard{buckets};
      buckets.bind(1, subject).bind(2, first_full).bind(3, last_full);
      while (buckets.step())
        if (auto n = buckets.integer(1); n > 0)
          out.push_back({buckets.integer(0), n});
    }
    if (last_full < hi)
      partial(last_full, last_full, hi);
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
    tx.commit();
    return seqs.size();
  }

  void ping() override {
    auto& p = stmt(q_ping);
    reset_guard guard{p};
    p.step();
  }

  std::vector<stored_meter> meters() override { not_implemented(); }
  void create_meter(const model::meter&) override { not_implemented(); }
  void update_meter(const model::meter&) override { not_implemented(); }
  bool delete_meter(const std::string&) override { not_implemented(); }
  bool backfill_meter(const std::string&, std::size_t) override { not_implemented(); }
  std::vector<meter_cell_row> meter_cells(const std::string&, meter_grain, millis, millis,
                                          const std::vector<std::string>&) override {
    not_implemented();
  }
  std::vector<sequenced_event> events_of_type(const std::string&, millis, millis,
                                              const std::vector<std::string>&) override {
    not_implemented();
  }
  std::vector<model::event> search_events(const event_search&) override {
    not_implemented();
  }
  std::vector<std::string> meter_subjects(const std::string&) override {
    not_implemented();
  }
  std::vector<std::string> meter_group_values(const std::string&, std::size_t) override {
    not_implemented();
  }

private:
  [[noreturn]] static void not_implemented() {
    throw storage_error(failure_kind::internal, "metering: not implemented");
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

  void migrate() {
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
        "WHERE type = ? ORDER BY time DESC, seq DESC LIMIT ? OFFSET ?",
        "SELECT source, id, type, subject, time, data, ingested_at FROM events "
        "WHERE subject = ? AND type = ? ORDER BY time DESC, seq DESC LIMIT ? OFFSET ?",
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
