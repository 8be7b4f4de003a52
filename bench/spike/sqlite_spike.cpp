// Write-path spike, candidate (a): SQLite kept, events appended by rowid
// with only the indexes reads need, rollups and meter cells summed in memory
// and written every --flush-ms together with a high-water mark (the last
// event sequence they cover). A start replays the events after the mark.
//
//   sqlite_spike load --dir DIR --events N [--times rising|scattered]
//       [--dedup hash|unique] [--index subject_time|subject_time,time|none]
//       [--flush-ms 300] [--cache-mb 64] [--page-size 4096]
//       [--checkpoint-pages 1000] [--batch 1000] [--crash-at-end]
//   sqlite_spike read --dir DIR [--runs 200] [--big-runs 10]
//
// `load` creates DIR/spike.db afresh and loads until N events are stored, in
// transactions of --batch events with a synced commit (WAL,
// synchronous=FULL). --crash-at-end leaves without writing the last rollup
// changes, as a kill -9 between a commit and the next flush would.
// `read` opens the store (timing the open and the replay of events after
// the high-water mark) and times the reads of issue 13's targets.

#include "workload.hpp"

#include <sqlite3.h>

#include <memory>

namespace {

using namespace spike;

[[noreturn]] void die(sqlite3* db, const char* doing) {
  std::fprintf(stderr, "sqlite: %s: %s\n", doing, db ? sqlite3_errmsg(db) : "?");
  std::exit(1);
}

class statement {
public:
  statement(sqlite3* db, const std::string& sql) : db_(db) {
    if (sqlite3_prepare_v3(db, sql.c_str(), -1, SQLITE_PREPARE_PERSISTENT, &s_,
                           nullptr) != SQLITE_OK)
      die(db, sql.c_str());
  }
  ~statement() { sqlite3_finalize(s_); }
  statement& bind(int i, const std::string& v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  statement& bind(int i, std::int64_t v) {
    sqlite3_bind_int64(s_, i, v);
    return *this;
  }
  statement& bind(int i, double v) {
    sqlite3_bind_double(s_, i, v);
    return *this;
  }
  bool step() {
    int rc = sqlite3_step(s_);
    if (rc == SQLITE_ROW)
      return true;
    if (rc != SQLITE_DONE)
      die(db_, "step");
    return false;
  }
  void run() {
    step();
    reset();
  }
  void reset() { sqlite3_reset(s_); }
  std::int64_t integer(int c) { return sqlite3_column_int64(s_, c); }
  double real(int c) { return sqlite3_column_double(s_, c); }
  std::string text(int c) {
    auto p = reinterpret_cast<const char*>(sqlite3_column_text(s_, c));
    return p ? std::string(p, sqlite3_column_bytes(s_, c)) : std::string{};
  }

private:
  sqlite3* db_;
  sqlite3_stmt* s_ = nullptr;
};

struct config {
  std::string dir;
  std::string dedup = "hash";
  bool subject_time_index = true;
  bool time_index = false;
  int flush_ms = 300;
  int cache_mb = 64;
  int page_size = 4096;
  int checkpoint_pages = 1000;
  bool minutes = true;
  std::string label;
};

class store {
public:
  store(const config& c, bool create) : c_(c) {
    delta_.minutes = c.minutes;
    auto path = c.dir + "/spike.db";
    if (sqlite3_open_v2(path.c_str(), &db_,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        nullptr) != SQLITE_OK)
      die(db_, "open");
    if (create)
      exec("PRAGMA page_size=" + std::to_string(c.page_size));
    exec("PRAGMA journal_mode=WAL");
    exec(std::getenv("SPIKE_SYNC_OFF") ? "PRAGMA synchronous=OFF"
                                       : "PRAGMA synchronous=FULL");
    exec("PRAGMA cache_size=-" + std::to_string(c.cache_mb * 1024));
    exec("PRAGMA wal_autocheckpoint=" + std::to_string(c.checkpoint_pages));
    exec("PRAGMA temp_store=MEMORY");
    if (create)
      create_schema();
    else
      read_config();
    prepare();
  }
  ~store() { sqlite3_close_v2(db_); }

  void exec(const std::string& sql) {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
      std::fprintf(stderr, "sqlite: %s: %s\n", sql.c_str(), err ? err : "?");
      std::exit(1);
    }
  }

  std::int64_t scalar(const std::string& sql) {
    statement s(db_, sql);
    return s.step() ? s.integer(0) : 0;
  }

  /// Stores a batch in one synced transaction; writes the rollup changes
  /// summed since the last flush when --flush-ms has passed (0: every batch).
  /// Returns how many events were new.
  std::size_t append(const std::vector<event>& batch) {
    exec("BEGIN IMMEDIATE");
    std::size_t stored = 0;
    for (const auto& e : batch) {
      std::int64_t seq = next_seq_;
      if (c_.dedup == "hash") {
        auto h = static_cast<std::int64_t>(hash64(e.source, e.id));
        insert_key_->bind(1, h).bind(2, seq);
        insert_key_->run();
        if (sqlite3_changes(db_) == 0 && !hash_collision(h, e))
          continue; // a duplicate
        insert_event_->bind(1, seq);
      } else {
        insert_event_->bind(1, seq);
      }
      insert_event_->bind(2, e.source)
          .bind(3, e.id)
          .bind(4, e.type)
          .bind(5, e.subject)
          .bind(6, e.time)
          .bind(7, e.data)
          .bind(8, e.ingested_at);
      insert_event_->run();
      if (sqlite3_changes(db_) == 0) { // unique: a duplicate
        find_event_->bind(1, e.source).bind(2, e.id);
        find_event_->step(); // the service answers with the stored event
        find_event_->reset();
        continue;
      }
      ++next_seq_;
      ++stored;
      delta_.add(e, seq);
    }
    if (c_.flush_ms == 0 || seconds_since(last_flush_) * 1000 >= c_.flush_ms)
      flush();
    exec("COMMIT");
    return stored;
  }

  /// Writes the summed rollup changes and the high-water mark (inside the
  /// caller's transaction).
  void flush() {
    for (int g = 0; g < 3; ++g)
      for (const auto& [k, n] : rollup_delta::sorted(delta_.counts[g])) {
        upsert_count_[g]->bind(1, k.subject).bind(2, k.bucket).bind(3, k.type).bind(4, n);
        upsert_count_[g]->run();
      }
    for (const auto& [k, n] : rollup_delta::sorted(delta_.totals)) {
      upsert_total_->bind(1, k.subject).bind(2, k.type).bind(3, n);
      upsert_total_->run();
    }
    for (const auto& [bucket, n] : rollup_delta::sorted(delta_.global_minute)) {
      upsert_global_->bind(1, bucket).bind(2, n);
      upsert_global_->run();
    }
    for (const auto& [k, n] : rollup_delta::sorted(delta_.subject_hour)) {
      upsert_subject_hour_->bind(1, k.subject).bind(2, k.bucket).bind(3, n);
      upsert_subject_hour_->run();
    }
    for (int g = 0; g < 2; ++g) {
      for (const auto& [k, c] : rollup_delta::sorted(delta_.cells[g])) {
        upsert_cell_[g]
            ->bind(1, std::string{meter_ids[k.meter]})
            .bind(2, k.subject)
            .bind(3, k.bucket)
            .bind(4, k.group)
            .bind(5, c.sum)
            .bind(6, c.count)
            .bind(7, c.min)
            .bind(8, c.max)
            .bind(9, c.latest)
            .bind(10, c.latest_time)
            .bind(11, c.latest_seq);
        upsert_cell_[g]->run();
      }
      for (const auto& u : rollup_delta::sorted_set(delta_.uniques[g])) {
        insert_unique_[g]
            ->bind(1, std::string{meter_ids[u.cell.meter]})
            .bind(2, u.cell.subject)
            .bind(3, u.cell.bucket)
            .bind(4, u.cell.group)
            .bind(5, u.value);
        insert_unique_[g]->run();
      }
    }
    set_mark_->bind(1, next_seq_ - 1);
    set_mark_->run();
    delta_.clear();
    last_flush_ = clock_type::now();
  }

  /// Rolls up the events after the high-water mark (what a crash between a
  /// commit and the next flush left unrolled) and writes them; returns how
  /// many events it replayed.
  std::uint64_t replay() {
    auto mark = scalar("SELECT hwm FROM flush_state");
    statement tail(db_, "SELECT seq, type, subject, time, data FROM events WHERE seq > ? "
                        "ORDER BY seq");
    tail.bind(1, mark);
    std::uint64_t n = 0;
    exec("BEGIN IMMEDIATE");
    while (tail.step()) {
      event e;
      auto seq = tail.integer(0);
      e.type = tail.text(1);
      e.subject = tail.text(2);
      e.time = tail.integer(3);
      e.data = tail.text(4);
      read_meter_fields(e);
      delta_.add(e, seq);
      ++n;
    }
    tail.reset();
    flush();
    exec("COMMIT");
    return n;
  }

  sqlite3* db() { return db_; }
  std::int64_t next_seq() const { return next_seq_; }

private:
  bool hash_collision(std::int64_t h, const event& e) {
    find_by_key_->bind(1, h);
    find_by_key_->step();
    bool same = find_by_key_->text(0) == e.source && find_by_key_->text(1) == e.id;
    find_by_key_->reset();
    if (same)
      return false;
    // Two different (source, id) with one hash: the rare pair is kept by name.
    insert_collision_->bind(1, e.source).bind(2, e.id).bind(3, next_seq_);
    insert_collision_->run();
    return sqlite3_changes(db_) > 0;
  }

  void create_schema() {
    std::string events =
        "CREATE TABLE events (seq INTEGER PRIMARY KEY, source TEXT NOT NULL, id TEXT NOT "
        "NULL, type TEXT NOT NULL, subject TEXT NOT NULL, time INTEGER NOT NULL, data "
        "TEXT NOT NULL, ingested_at INTEGER NOT NULL";
    events += c_.dedup == "unique" ? ", UNIQUE (source, id));" : ");";
    exec("BEGIN");
    exec(events);
    exec("CREATE TABLE event_keys (h INTEGER PRIMARY KEY, seq INTEGER NOT NULL);"
         "CREATE TABLE event_key_collisions (source TEXT NOT NULL, id TEXT NOT NULL, "
         "seq INTEGER NOT NULL, PRIMARY KEY (source, id)) WITHOUT ROWID;");
    if (c_.subject_time_index)
      exec("CREATE INDEX events_by_subject_time ON events (subject, time)");
    if (c_.time_index)
      exec("CREATE INDEX events_by_time ON events (time)");
    for (const char* grain : {"minute", "hour", "day"})
      exec(std::string{"CREATE TABLE rollup_"} + grain +
           " (subject TEXT NOT NULL, bucket INTEGER NOT NULL, type TEXT NOT NULL, count "
           "INTEGER NOT NULL, PRIMARY KEY (subject, bucket, type)) WITHOUT ROWID");
    exec("CREATE TABLE rollup_total (subject TEXT NOT NULL, type TEXT NOT NULL, count "
         "INTEGER NOT NULL, PRIMARY KEY (subject, type)) WITHOUT ROWID;"
         "CREATE TABLE rollup_global_minute (bucket INTEGER PRIMARY KEY, count INTEGER "
         "NOT NULL);"
         "CREATE TABLE rollup_subject_hour (subject TEXT NOT NULL, bucket INTEGER NOT "
         "NULL, count INTEGER NOT NULL, PRIMARY KEY (subject, bucket)) WITHOUT ROWID;");
    // Meter cells keyed by (meter, subject, bucket): one subject's range is
    // one contiguous read; all subjects read the meter's whole key range.
    for (const char* grain : {"minute", "hour"}) {
      exec(std::string{"CREATE TABLE meter_"} + grain +
           " (meter_id TEXT NOT NULL, subject TEXT NOT NULL, bucket INTEGER NOT NULL, "
           "group_key TEXT NOT NULL, sum REAL, count INTEGER NOT NULL, min REAL, max "
           "REAL, latest REAL, latest_time INTEGER NOT NULL, latest_seq INTEGER NOT "
           "NULL, PRIMARY KEY (meter_id, subject, bucket, group_key)) WITHOUT ROWID");
      exec(std::string{"CREATE TABLE meter_unique_"} + grain +
           " (meter_id TEXT NOT NULL, subject TEXT NOT NULL, bucket INTEGER NOT NULL, "
           "group_key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (meter_id, "
           "subject, bucket, group_key, value)) WITHOUT ROWID");
    }
    exec("CREATE TABLE flush_state (hwm INTEGER NOT NULL); INSERT INTO flush_state "
         "VALUES (0);");
    exec("CREATE TABLE spike_config (dedup TEXT NOT NULL, minutes INTEGER NOT NULL); "
         "INSERT INTO spike_config VALUES ('" +
         c_.dedup + "', " + (c_.minutes ? "1" : "0") + ")");
    exec("COMMIT");
  }

  void read_config() {
    statement s(db_, "SELECT dedup, minutes FROM spike_config");
    s.step();
    c_.dedup = s.text(0);
    c_.minutes = s.integer(1) != 0;
    delta_.minutes = c_.minutes;
  }

  void prepare() {
    next_seq_ = scalar("SELECT COALESCE(MAX(seq), 0) + 1 FROM events");
    insert_key_ = std::make_unique<statement>(
        db_, "INSERT INTO event_keys (h, seq) VALUES (?, ?) ON CONFLICT DO NOTHING");
    find_by_key_ = std::make_unique<statement>(
        db_, "SELECT source, id FROM events WHERE seq = (SELECT seq FROM event_keys "
             "WHERE h = ?)");
    insert_collision_ = std::make_unique<statement>(
        db_, "INSERT INTO event_key_collisions VALUES (?, ?, ?) ON CONFLICT DO NOTHING");
    insert_event_ = std::make_unique<statement>(
        db_,
        std::string{"INSERT INTO events (seq, source, id, type, subject, time, data, "
                    "ingested_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"} +
            (c_.dedup == "unique" ? " ON CONFLICT (source, id) DO NOTHING" : ""));
    find_event_ = std::make_unique<statement>(
        db_, c_.dedup == "unique" ? "SELECT * FROM events WHERE source = ? AND id = ?"
                                  : "SELECT ?, ?");
    const char* grains[] = {"minute", "hour", "day"};
    for (int g = 0; g < 3; ++g)
      upsert_count_[g] = std::make_unique<statement>(
          db_, std::string{"INSERT INTO rollup_"} + grains[g] +
                   " (subject, bucket, type, count) VALUES (?, ?, ?, ?) ON CONFLICT DO "
                   "UPDATE SET count = count + excluded.count");
    upsert_total_ = std::make_unique<statement>(
        db_, "INSERT INTO rollup_total (subject, type, count) VALUES (?, ?, ?) ON "
             "CONFLICT DO UPDATE SET count = count + excluded.count");
    upsert_global_ = std::make_unique<statement>(
        db_, "INSERT INTO rollup_global_minute (bucket, count) VALUES (?, ?) ON CONFLICT "
             "DO UPDATE SET count = count + excluded.count");
    upsert_subject_hour_ = std::make_unique<statement>(
        db_, "INSERT INTO rollup_subject_hour (subject, bucket, count) VALUES (?, ?, ?) "
             "ON CONFLICT DO UPDATE SET count = count + excluded.count");
    for (int g = 0; g < 2; ++g) {
      std::string t = std::string{"meter_"} + grains[g];
      // SET expressions all read the row as it was before the update.
      std::string newer =
          "(excluded.latest_time, excluded.latest_seq) > (latest_time, latest_seq)";
      upsert_cell_[g] = std::make_unique<statement>(
          db_,
          "INSERT INTO " + t +
              " (meter_id, subject, bucket, group_key, sum, count, min, max, latest, "
              "latest_time, latest_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON "
              "CONFLICT DO UPDATE SET sum = sum + excluded.sum, count = count + "
              "excluded.count, min = min(min, excluded.min), max = max(max, "
              "excluded.max), latest = CASE WHEN " +
              newer +
              " THEN excluded.latest ELSE "
              "latest END, latest_time = CASE WHEN " +
              newer +
              " THEN "
              "excluded.latest_time ELSE latest_time END, latest_seq = CASE WHEN " +
              newer + " THEN excluded.latest_seq ELSE latest_seq END");
      insert_unique_[g] = std::make_unique<statement>(
          db_,
          "INSERT INTO meter_unique_" + std::string{grains[g]} +
              " (meter_id, subject, bucket, group_key, value) VALUES (?, ?, ?, ?, ?) "
              "ON CONFLICT DO NOTHING");
    }
    set_mark_ = std::make_unique<statement>(db_, "UPDATE flush_state SET hwm = ?");
  }

  config c_;
  sqlite3* db_ = nullptr;
  std::int64_t next_seq_ = 1;
  rollup_delta delta_;
  clock_type::time_point last_flush_ = clock_type::now();
  std::unique_ptr<statement> insert_key_, find_by_key_, insert_collision_, insert_event_,
      find_event_, upsert_count_[3], upsert_total_, upsert_global_, upsert_subject_hour_,
      upsert_cell_[2], insert_unique_[2], set_mark_;
};

int load(const args& a) {
  config c;
  c.dir = a.text("dir", "/var/tmp/spike/sqlite");
  c.dedup = a.text("dedup", "hash");
  auto index = a.text("index", "subject_time");
  c.subject_time_index = index.find("subject_time") != std::string::npos;
  c.time_index = index.find("subject_time,time") != std::string::npos || index == "time";
  c.flush_ms = static_cast<int>(a.integer("flush-ms", 300));
  c.cache_mb = static_cast<int>(a.integer("cache-mb", 64));
  c.page_size = static_cast<int>(a.integer("page-size", 4096));
  c.checkpoint_pages = static_cast<int>(a.integer("checkpoint-pages", 1000));
  c.minutes = a.integer("minute-rollups", 1) != 0;
  auto total = static_cast<std::uint64_t>(a.integer("events", 10'000'000));
  auto times = a.text("times", "rising");
  auto batch_size = static_cast<std::size_t>(a.integer("batch", 1000));
  c.label = a.text("label", "sqlite");
  std::filesystem::remove_all(c.dir);
  std::filesystem::create_directories(c.dir);
  std::printf("CONFIG %s backend=sqlite dedup=%s index=%s flush_ms=%d cache_mb=%d "
              "page_size=%d checkpoint_pages=%d minute_rollups=%d times=%s events=%llu "
              "batch=%zu\n",
              c.label.c_str(), c.dedup.c_str(), index.c_str(), c.flush_ms, c.cache_mb,
              c.page_size, c.checkpoint_pages, c.minutes ? 1 : 0, times.c_str(),
              static_cast<unsigned long long>(total), batch_size);
  store s(c, true);
  event_generator gen(total, times == "scattered", 0.005, 42);
  progress p(c.label, 0);
  std::vector<event> batch;
  std::uint64_t stored = 0, sent = 0;
  // --max-minutes bounds a load on a busy machine; the reads then run on
  // what is stored.
  double max_seconds = static_cast<double>(a.integer("max-minutes", 0)) * 60;
  while (stored < total && (max_seconds == 0 || p.elapsed() < max_seconds)) {
    gen.next_batch(batch, std::min<std::size_t>(batch_size, total - stored));
    sent += batch.size();
    stored += s.append(batch);
    p.stored(stored);
  }
  double secs = p.elapsed();
  auto [rss, hwm] = rss_mb();
  std::printf("RESULT %s load events=%llu sent=%llu seconds=%.1f mean_rate=%.0f "
              "cpu_us_per_event=%.1f "
              "rss_mb=%.0f hwm_mb=%.0f disk_mb=%.0f written_gb=%.1f\n",
              c.label.c_str(), static_cast<unsigned long long>(stored),
              static_cast<unsigned long long>(sent), secs, stored / secs,
              cpu_seconds() * 1e6 / static_cast<double>(stored), rss, hwm, disk_mb(c.dir),
              written_bytes() / 1e9);
  std::fflush(stdout);
  if (a.flag("crash-at-end"))
    std::_Exit(0); // events committed, their last rollup changes not written
  s.exec("BEGIN IMMEDIATE");
  s.flush();
  s.exec("COMMIT");
  return 0;
}

int read(const args& a) {
  config c;
  c.dir = a.text("dir", "/var/tmp/spike/sqlite");
  c.label = a.text("label", "sqlite");
  c.cache_mb = static_cast<int>(a.integer("cache-mb", 64));
  int runs = static_cast<int>(a.integer("runs", 200));
  int big_runs = static_cast<int>(a.integer("big-runs", 10));
  auto t0 = clock_type::now();
  store s(c, false);
  double open_ms = seconds_since(t0) * 1000;
  auto t1 = clock_type::now();
  auto replayed = s.replay();
  double replay_ms = seconds_since(t1) * 1000;
  std::printf("RESULT %s start open_ms=%.1f replayed_events=%llu replay_ms=%.1f\n",
              c.label.c_str(), open_ms, static_cast<unsigned long long>(replayed),
              replay_ms);
  rng r(7);
  millis from = window_start, to = window_end;

  statement history(s.db(),
                    "SELECT bucket, SUM(count) FROM rollup_hour WHERE subject = ? "
                    "AND bucket >= ? AND bucket < ? GROUP BY bucket");
  time_reads(c.label, "history_hourly_by_type", runs, [&](int) {
    history.bind(1, subject_name(static_cast<int>(r.below(subject_count))))
        .bind(2, from)
        .bind(3, to);
    std::size_t n = 0;
    std::int64_t sum = 0;
    while (history.step()) {
      sum += history.integer(1);
      ++n;
    }
    history.reset();
    return n;
  });
  statement totals(s.db(),
                   "SELECT bucket, count FROM rollup_subject_hour WHERE subject = "
                   "? AND bucket >= ? AND bucket < ?");
  time_reads(c.label, "history_hourly_subject_total", runs, [&](int) {
    totals.bind(1, subject_name(static_cast<int>(r.below(subject_count))))
        .bind(2, from)
        .bind(3, to);
    std::size_t n = 0;
    while (totals.step())
      ++n;
    totals.reset();
    return n;
  });
  // A usage summary over a range not on hour boundaries, planned as
  // model::plan_range does: days, hours, then minute rows and the raw partial
  // minutes at the ends (or, without minute rows, the raw partial hours).
  if (s.scalar("SELECT COUNT(*) FROM sqlite_master WHERE name = "
               "'events_by_subject_time'") > 0) {
    bool minutes = s.scalar("SELECT minutes FROM spike_config") != 0;
    statement raw(s.db(),
                  "SELECT type, COUNT(*) FROM events WHERE subject = ? AND time >= "
                  "? AND time < ? GROUP BY type");
    statement by_grain[3] = {
        {s.db(),
         "SELECT type, SUM(count) FROM rollup_minute WHERE subject = ? AND bucket "
         ">= ? AND bucket < ? GROUP BY type"},
        {s.db(),
         "SELECT type, SUM(count) FROM rollup_hour WHERE subject = ? AND bucket >= "
         "? AND bucket < ? GROUP BY type"},
        {s.db(),
         "SELECT type, SUM(count) FROM rollup_day WHERE subject = ? AND bucket >= "
         "? AND bucket < ? GROUP BY type"}};
    time_reads(c.label, "summary_odd_range", runs, [&](int) {
      auto subject = subject_name(static_cast<int>(r.below(subject_count)));
      std::map<std::string, std::int64_t> by_type;
      std::size_t rows = 0;
      auto read = [&](statement& q, millis a, millis b) {
        if (a >= b)
          return;
        q.bind(1, subject).bind(2, a).bind(3, b);
        while (q.step()) {
          by_type[q.text(0)] += q.integer(1);
          ++rows;
        }
        q.reset();
      };
      millis lo = from + 17 * minute_ms + 13'000, hi = to - 23 * minute_ms - 7'000;
      auto ceil_to = [](millis t, millis w) { return floor_to(t + w - 1, w); };
      millis lo_m = ceil_to(lo, minute_ms), lo_h = ceil_to(lo, hour_ms),
             lo_d = ceil_to(lo, day_ms);
      millis hi_m = floor_to(hi, minute_ms), hi_h = floor_to(hi, hour_ms),
             hi_d = floor_to(hi, day_ms);
      if (minutes) {
        read(raw, lo, lo_m);
        read(by_grain[0], lo_m, lo_h);
        read(by_grain[0], hi_h, hi_m);
        read(raw, hi_m, hi);
      } else {
        read(raw, lo, lo_h);
        read(raw, hi_h, hi);
      }
      read(by_grain[1], lo_h, lo_d);
      read(by_grain[2], lo_d, hi_d);
      read(by_grain[1], hi_d, hi_h);
      return rows;
    });
  }
  const char* cell_columns =
      "subject, bucket, sum, count, min, max, latest, latest_time, latest_seq";
  statement one(s.db(),
                std::string{"SELECT "} + cell_columns +
                    " FROM meter_hour WHERE meter_id = 'm_tokens' AND subject = ? "
                    "AND bucket >= ? AND bucket < ?");
  auto read_cell = [](statement& q) {
    return cell{q.real(2), q.integer(3), q.real(4),   q.real(5),
                q.real(6), q.integer(7), q.integer(8)};
  };
  time_reads(c.label, "meter_hourly_one_subject", runs, [&](int) {
    one.bind(1, subject_name(static_cast<int>(r.below(subject_count))))
        .bind(2, from)
        .bind(3, to);
    hourly_fold fold(from, to);
    while (one.step())
      fold.add(one.text(0), one.integer(1), read_cell(one));
    one.reset();
    return fold.cells();
  });
  statement all(s.db(),
                std::string{"SELECT "} + cell_columns +
                    " FROM meter_hour WHERE meter_id = 'm_tokens' AND bucket >= ? "
                    "AND bucket < ?");
  time_reads(c.label, "meter_hourly_all_subjects", big_runs, [&](int) {
    all.bind(1, from).bind(2, to);
    hourly_fold fold(from, to);
    while (all.step())
      fold.add(all.text(0), all.integer(1), read_cell(all));
    all.reset();
    return fold.cells();
  });
  statement uniques(s.db(), "SELECT bucket, group_key, COUNT(*) FROM meter_unique_hour "
                            "WHERE meter_id = 'm_users' AND subject = ? AND bucket >= ? "
                            "AND bucket < ? GROUP BY bucket, group_key");
  time_reads(c.label, "unique_hourly_one_subject", runs, [&](int) {
    uniques.bind(1, subject_name(static_cast<int>(r.below(subject_count))))
        .bind(2, from)
        .bind(3, to);
    std::size_t n = 0;
    while (uniques.step())
      ++n;
    uniques.reset();
    return n;
  });
  time_reads(c.label, "scan_all_events", 1, [&](int) {
    statement all_events(s.db(), "SELECT seq, type, subject, time, data FROM events");
    std::size_t n = 0;
    double tokens = 0;
    while (all_events.step()) {
      event e;
      e.type = all_events.text(1);
      e.subject = all_events.text(2);
      e.time = all_events.integer(3);
      e.data = all_events.text(4);
      read_meter_fields(e);
      tokens += e.tokens;
      ++n;
    }
    return n;
  });
  auto [rss, hwm] = rss_mb();
  std::printf("RESULT %s after_reads rss_mb=%.0f hwm_mb=%.0f disk_mb=%.0f events=%lld\n",
              c.label.c_str(), rss, hwm, disk_mb(c.dir),
              static_cast<long long>(s.next_seq() - 1));
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  args a(argc, argv);
  if (a.positional().empty()) {
    std::fprintf(stderr,
                 "usage: sqlite_spike load|read --dir DIR ... (see the source)\n");
    return 2;
  }
  const auto& mode = a.positional()[0];
  if (mode == "load")
    return load(a);
  if (mode == "read")
    return read(a);
  std::fprintf(stderr, "sqlite_spike: unknown mode %s\n", mode.c_str());
  return 2;
}
