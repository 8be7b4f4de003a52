// Write-path spike for PostgreSQL 15: today's write path against a
// time-partitioned one.
//
//   --schema today  the service's schema and statements now
//                   (storage/postgres_store.cpp): events with UNIQUE(source,
//                   id) and three secondary indexes, one INSERT … SELECT
//                   unnest(arrays) … ON CONFLICT per batch, then the five v1
//                   rollup upserts and the meter cell upserts (sorted,
//                   unnest arrays) in the same transaction;
//   --schema new    events partitioned by day on `time` (retention drops a
//                   partition), one index (subject, time); dedup in a table
//                   of its own keyed by (source, id) (a unique key on a
//                   partitioned table must contain the partition key, so
//                   ON CONFLICT (source, id) cannot be on `events` itself);
//                   the batch sent by COPY into a temporary table (--insert
//                   copy) or as unnest arrays (--insert unnest); rollups summed
//                   in memory and upserted sorted every batch (--flush-ms 0, in
//                   the same transaction) or every N ms with a high-water mark.
//
//   postgres_spike load --url URL --events N [--schema today|new]
//       [--times rising|scattered] [--insert copy|unnest] [--flush-ms 0]
//       [--minute-rollups 1] [--crash-at-end]
//   postgres_spike read --url URL [--runs 200] [--big-runs 10]

#include "workload.hpp"

#include <libpq-fe.h>

#include <memory>

namespace {

using namespace spike;

class connection {
public:
  explicit connection(const std::string& url) : c_(PQconnectdb(url.c_str())) {
    if (PQstatus(c_) != CONNECTION_OK)
      fail("connect");
  }
  ~connection() { PQfinish(c_); }

  [[noreturn]] void fail(const char* doing) {
    std::fprintf(stderr, "postgres: %s: %s\n", doing, PQerrorMessage(c_));
    std::exit(1);
  }

  void exec(const std::string& sql) {
    PGresult* r = PQexec(c_, sql.c_str());
    auto s = PQresultStatus(r);
    if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK) {
      std::fprintf(stderr, "postgres: %s\n%s\n", PQresultErrorMessage(r), sql.c_str());
      std::exit(1);
    }
    PQclear(r);
  }

  void prepare(const std::string& name, const std::string& sql) {
    PGresult* r = PQprepare(c_, name.c_str(), sql.c_str(), 0, nullptr);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
      std::fprintf(stderr, "postgres: prepare %s: %s\n%s\n", name.c_str(),
                   PQresultErrorMessage(r), sql.c_str());
      std::exit(1);
    }
    PQclear(r);
  }

  /// Runs a prepared statement with text parameters; the result is the
  /// caller's to PQclear.
  PGresult* run(const std::string& name, const std::vector<std::string>& params) {
    std::vector<const char*> values;
    for (const auto& p : params)
      values.push_back(p.c_str());
    PGresult* r = PQexecPrepared(c_, name.c_str(), static_cast<int>(values.size()),
                                 values.data(), nullptr, nullptr, 0);
    auto s = PQresultStatus(r);
    if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK) {
      std::fprintf(stderr, "postgres: %s: %s\n", name.c_str(), PQresultErrorMessage(r));
      std::exit(1);
    }
    return r;
  }
  void run0(const std::string& name, const std::vector<std::string>& params) {
    PQclear(run(name, params));
  }

  /// COPY `table` FROM STDIN with `rows` in text format.
  void copy(const std::string& table, const std::string& rows) {
    PGresult* r = PQexec(c_, ("COPY " + table + " FROM STDIN").c_str());
    if (PQresultStatus(r) != PGRES_COPY_IN)
      fail("copy");
    PQclear(r);
    if (PQputCopyData(c_, rows.data(), static_cast<int>(rows.size())) != 1 ||
        PQputCopyEnd(c_, nullptr) != 1)
      fail("copy data");
    r = PQgetResult(c_);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
      fail("copy end");
    PQclear(r);
    while ((r = PQgetResult(c_)))
      PQclear(r);
  }

  std::int64_t scalar(const std::string& sql) {
    PGresult* r = PQexec(c_, sql.c_str());
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
      fail(sql.c_str());
    std::int64_t v =
        PQntuples(r) && !PQgetisnull(r, 0, 0) ? std::stoll(PQgetvalue(r, 0, 0)) : 0;
    PQclear(r);
    return v;
  }

  PGconn* raw() { return c_; }

private:
  PGconn* c_;
};

// Array literals in PostgreSQL's text form, as the service builds them.
class text_array {
public:
  void add(const std::string& v) {
    text_ += text_.size() == 1 ? "\"" : ",\"";
    for (char c : v) {
      if (c == '"' || c == '\\')
        text_ += '\\';
      text_ += c;
    }
    text_ += '"';
  }
  std::string str() const { return text_ + '}'; }

private:
  std::string text_ = "{";
};

class num_array {
public:
  void add(std::int64_t v) { sep(), text_ += std::to_string(v); }
  void add(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.17g", v);
    sep(), text_ += buf;
  }
  std::string str() const { return text_ + '}'; }

private:
  void sep() {
    if (text_.size() > 1)
      text_ += ',';
  }
  std::string text_ = "{";
};

// COPY text format escaping.
void copy_field(std::string& out, const std::string& v) {
  for (char c : v) {
    switch (c) {
    case '\\':
      out += "\\\\";
      break;
    case '\t':
      out += "\\t";
      break;
    case '\n':
      out += "\\n";
      break;
    case '\r':
      out += "\\r";
      break;
    default:
      out += c;
    }
  }
}

// -- schemas ----------------------------------------------------------------------

const char* const rollup_tables = R"sql(
CREATE TABLE rollup_minute (subject TEXT NOT NULL, bucket BIGINT NOT NULL,
  type TEXT NOT NULL, count BIGINT NOT NULL, PRIMARY KEY (subject, bucket, type));
CREATE TABLE rollup_hour (subject TEXT NOT NULL, bucket BIGINT NOT NULL,
  type TEXT NOT NULL, count BIGINT NOT NULL, PRIMARY KEY (subject, bucket, type));
CREATE TABLE rollup_day (subject TEXT NOT NULL, bucket BIGINT NOT NULL,
  type TEXT NOT NULL, count BIGINT NOT NULL, PRIMARY KEY (subject, bucket, type));
CREATE TABLE rollup_total (subject TEXT NOT NULL, type TEXT NOT NULL,
  count BIGINT NOT NULL, PRIMARY KEY (subject, type));
CREATE TABLE rollup_global_minute (bucket BIGINT PRIMARY KEY, count BIGINT NOT NULL);
CREATE TABLE rollup_subject_hour (subject TEXT NOT NULL, bucket BIGINT NOT NULL,
  count BIGINT NOT NULL, PRIMARY KEY (subject, bucket));
)sql";

// Meter cells; `key` is the primary key's column order.
std::string meter_tables(const std::string& key) {
  std::string sql;
  for (std::string grain : {"minute", "hour"}) {
    sql +=
        "CREATE TABLE meter_" + grain +
        " (meter_id TEXT COLLATE \"C\" NOT NULL, bucket BIGINT NOT NULL, subject TEXT "
        "COLLATE \"C\" NOT NULL, group_key TEXT COLLATE \"C\" NOT NULL, sum DOUBLE "
        "PRECISION, count BIGINT NOT NULL, min DOUBLE PRECISION, max DOUBLE PRECISION, "
        "latest DOUBLE PRECISION, latest_time BIGINT NOT NULL, latest_seq BIGINT NOT "
        "NULL, PRIMARY KEY (" +
        key + "));\n";
    sql += "CREATE TABLE meter_unique_" + grain +
           " (meter_id TEXT COLLATE \"C\" NOT NULL, bucket BIGINT NOT NULL, subject TEXT "
           "COLLATE \"C\" NOT NULL, group_key TEXT COLLATE \"C\" NOT NULL, value TEXT "
           "COLLATE \"C\" NOT NULL, PRIMARY KEY (" +
           key + ", value));\n";
  }
  return sql;
}

// storage/postgres_store.cpp's statement, unchanged.
const char* const insert_events_today = R"sql(
WITH input AS (
  SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[],
                       $6::text[], $7::bigint[])
    WITH ORDINALITY AS t(source, id, type, subject, time, data, ingested_at, ord)),
numbered AS (
  SELECT nextval('events_seq_seq') AS seq, source, id, type, subject, time, data,
         ingested_at
  FROM input ORDER BY ord)
INSERT INTO events (seq, source, id, type, subject, time, data, ingested_at)
SELECT seq, source, id, type, subject, time, data, ingested_at
FROM numbered ORDER BY source, id
ON CONFLICT (source, id) DO NOTHING
RETURNING source, id, seq
)sql";

// The new path: dedup keys first (sorted, so concurrent writers lock in one
// order), then the events whose key was new, into their day partitions.
std::string insert_events_new(bool copied) {
  std::string input =
      copied ? "input AS (SELECT * FROM batch_in)"
             : "input AS (SELECT * FROM unnest($1::text[], $2::text[], $3::text[], "
               "$4::text[], $5::bigint[], $6::text[], $7::bigint[]) WITH ORDINALITY AS "
               "t(source, id, type, subject, time, data, ingested_at, ord))";
  return "WITH " + input + R"sql(,
numbered AS (
  SELECT nextval('event_seq') AS seq, source, id, time FROM input ORDER BY ord),
k AS (
  INSERT INTO event_keys (source, id, seq, time)
  SELECT source, id, seq, time FROM numbered ORDER BY source, id
  ON CONFLICT (source, id) DO NOTHING
  RETURNING source, id, seq)
INSERT INTO events (seq, source, id, type, subject, time, data, ingested_at)
SELECT k.seq, i.source, i.id, i.type, i.subject, i.time, i.data, i.ingested_at
FROM input i JOIN k ON k.source = i.source AND k.id = i.id
RETURNING source, id, seq
)sql";
}

const char* const upsert_rollups = R"sql(
WITH m AS (
  INSERT INTO rollup_minute (subject, bucket, type, count)
  SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::bigint[])
  ON CONFLICT (subject, bucket, type)
  DO UPDATE SET count = rollup_minute.count + EXCLUDED.count),
h AS (
  INSERT INTO rollup_hour (subject, bucket, type, count)
  SELECT * FROM unnest($5::text[], $6::bigint[], $7::text[], $8::bigint[])
  ON CONFLICT (subject, bucket, type)
  DO UPDATE SET count = rollup_hour.count + EXCLUDED.count),
d AS (
  INSERT INTO rollup_day (subject, bucket, type, count)
  SELECT * FROM unnest($9::text[], $10::bigint[], $11::text[], $12::bigint[])
  ON CONFLICT (subject, bucket, type)
  DO UPDATE SET count = rollup_day.count + EXCLUDED.count),
t AS (
  INSERT INTO rollup_total (subject, type, count)
  SELECT * FROM unnest($13::text[], $14::text[], $15::bigint[])
  ON CONFLICT (subject, type)
  DO UPDATE SET count = rollup_total.count + EXCLUDED.count),
g AS (
  INSERT INTO rollup_global_minute (bucket, count)
  SELECT * FROM unnest($16::bigint[], $17::bigint[])
  ON CONFLICT (bucket)
  DO UPDATE SET count = rollup_global_minute.count + EXCLUDED.count),
s AS (
  INSERT INTO rollup_subject_hour (subject, bucket, count)
  SELECT * FROM unnest($18::text[], $19::bigint[], $20::bigint[])
  ON CONFLICT (subject, bucket)
  DO UPDATE SET count = rollup_subject_hour.count + EXCLUDED.count)
SELECT 1
)sql";

// As storage/postgres_store.cpp's upsert_meter_cells_sql.
std::string upsert_cells(const std::string& key) {
  int p = 1;
  auto unnest = [&](std::initializer_list<const char*> types) {
    std::string out = "SELECT * FROM unnest(";
    for (const char* type : types) {
      out += out.back() == '(' ? "$" : ", $";
      out += std::to_string(p++) + "::" + type + "[]";
    }
    return out + ")";
  };
  std::string sql = "WITH ";
  for (std::string grain : {"minute", "hour"}) {
    std::string t = "meter_" + grain, u = "meter_unique_" + grain;
    auto newer = "(EXCLUDED.latest_time, EXCLUDED.latest_seq) > (" + t +
                 ".latest_time, " + t + ".latest_seq)";
    sql += "c_" + grain + " AS (INSERT INTO " + t +
           " (meter_id, bucket, subject, group_key, sum, count, min, max, latest, "
           "latest_time, latest_seq) " +
           unnest({"text", "bigint", "text", "text", "float8", "bigint", "float8",
                   "float8", "float8", "bigint", "bigint"}) +
           " ON CONFLICT (" + key + ") DO UPDATE SET sum = " + t +
           ".sum + EXCLUDED.sum, count = " + t + ".count + EXCLUDED.count, min = LEAST(" +
           t + ".min, EXCLUDED.min), max = GREATEST(" + t +
           ".max, EXCLUDED.max), latest = CASE WHEN " + newer +
           " THEN EXCLUDED.latest ELSE " + t + ".latest END, latest_time = CASE WHEN " +
           newer + " THEN EXCLUDED.latest_time ELSE " + t +
           ".latest_time END, latest_seq = CASE WHEN " + newer +
           " THEN EXCLUDED.latest_seq ELSE " + t + ".latest_seq END), ";
    sql += "u_" + grain + " AS (INSERT INTO " + u +
           " (meter_id, bucket, subject, group_key, value) " +
           unnest({"text", "bigint", "text", "text", "text"}) +
           " ON CONFLICT DO NOTHING), ";
  }
  return sql.substr(0, sql.size() - 2) + " SELECT 1";
}

struct config {
  std::string url;
  std::string schema = "new";
  std::string insert = "copy";
  int flush_ms = 0;
  bool minutes = true;
  std::string label;
};

class store {
public:
  store(config c, bool create) : c_(std::move(c)), db_(c_.url) {
    db_.exec("SET synchronous_commit TO on");
    if (create)
      create_schema();
    else
      read_config();
    delta_.minutes = c_.minutes;
    prepare();
  }

  std::size_t append(const std::vector<event>& batch) {
    db_.exec("BEGIN");
    PGresult* r;
    if (c_.schema == "new" && c_.insert == "copy") {
      std::string rows;
      for (std::size_t i = 0; i < batch.size(); ++i) {
        const auto& e = batch[i];
        rows += std::to_string(i + 1);
        for (const auto* f : {&e.source, &e.id, &e.type, &e.subject}) {
          rows += '\t';
          copy_field(rows, *f);
        }
        rows += '\t' + std::to_string(e.time) + '\t';
        copy_field(rows, e.data);
        rows += '\t' + std::to_string(e.ingested_at) + '\n';
      }
      db_.copy("batch_in (ord, source, id, type, subject, time, data, ingested_at)",
               rows);
      r = db_.run("insert_events", {});
    } else {
      text_array sources, ids, types, subjects, data;
      num_array times, ingested;
      for (const auto& e : batch) {
        sources.add(e.source);
        ids.add(e.id);
        types.add(e.type);
        subjects.add(e.subject);
        times.add(e.time);
        data.add(e.data);
        ingested.add(e.ingested_at);
      }
      r = db_.run("insert_events", {sources.str(), ids.str(), types.str(), subjects.str(),
                                    times.str(), data.str(), ingested.str()});
    }
    std::unordered_map<std::string, std::int64_t> inserted;
    for (int i = 0; i < PQntuples(r); ++i)
      inserted.emplace(std::string{PQgetvalue(r, i, 0)} + '\0' + PQgetvalue(r, i, 1),
                       std::stoll(PQgetvalue(r, i, 2)));
    PQclear(r);
    text_array dup_sources, dup_ids;
    bool dups = false;
    for (const auto& e : batch) {
      auto it = inserted.find(e.source + '\0' + e.id);
      if (it == inserted.end()) {
        dup_sources.add(e.source);
        dup_ids.add(e.id);
        dups = true;
        continue;
      }
      delta_.add(e, it->second);
      max_seq_ = std::max(max_seq_, it->second);
    }
    if (dups) // the service answers a duplicate with the stored event
      db_.run0("find_events", {dup_sources.str(), dup_ids.str()});
    if (c_.flush_ms == 0 || seconds_since(last_flush_) * 1000 >= c_.flush_ms)
      flush();
    db_.exec("COMMIT");
    return inserted.size();
  }

  /// Upserts the summed rollup changes (sorted) and, when flushing on a
  /// timer, the high-water mark; inside the caller's transaction.
  void flush() {
    std::vector<std::string> p;
    for (int g = 0; g < 3; ++g) {
      text_array subjects, types;
      num_array buckets, counts;
      for (const auto& [k, n] : rollup_delta::sorted(delta_.counts[g])) {
        subjects.add(k.subject);
        buckets.add(k.bucket);
        types.add(k.type);
        counts.add(n);
      }
      p.insert(p.end(), {subjects.str(), buckets.str(), types.str(), counts.str()});
    }
    {
      text_array subjects, types;
      num_array counts;
      for (const auto& [k, n] : rollup_delta::sorted(delta_.totals)) {
        subjects.add(k.subject);
        types.add(k.type);
        counts.add(n);
      }
      p.insert(p.end(), {subjects.str(), types.str(), counts.str()});
    }
    {
      num_array buckets, counts;
      for (const auto& [b, n] : rollup_delta::sorted(delta_.global_minute)) {
        buckets.add(b);
        counts.add(n);
      }
      p.insert(p.end(), {buckets.str(), counts.str()});
    }
    {
      text_array subjects;
      num_array buckets, counts;
      // Today's schema has no per-subject hourly total: its arrays stay empty.
      for (const auto& [k, n] : rollup_delta::sorted(delta_.subject_hour)) {
        if (c_.schema == "today")
          break;
        subjects.add(k.subject);
        buckets.add(k.bucket);
        counts.add(n);
      }
      p.insert(p.end(), {subjects.str(), buckets.str(), counts.str()});
    }
    db_.run0("upsert_rollups", p);
    p.clear();
    for (int g = 0; g < 2; ++g) {
      text_array meters, subjects, groups;
      num_array buckets, sums, counts, mins, maxs, latests, latest_times, latest_seqs;
      for (const auto& [k, c] : rollup_delta::sorted(delta_.cells[g])) {
        meters.add(meter_ids[k.meter]);
        buckets.add(k.bucket);
        subjects.add(k.subject);
        groups.add(k.group);
        sums.add(c.sum);
        counts.add(c.count);
        mins.add(c.min);
        maxs.add(c.max);
        latests.add(c.latest);
        latest_times.add(c.latest_time);
        latest_seqs.add(c.latest_seq);
      }
      p.insert(p.end(), {meters.str(), buckets.str(), subjects.str(), groups.str(),
                         sums.str(), counts.str(), mins.str(), maxs.str(), latests.str(),
                         latest_times.str(), latest_seqs.str()});
      text_array u_meters, u_subjects, u_groups, u_values;
      num_array u_buckets;
      for (const auto& u : rollup_delta::sorted_set(delta_.uniques[g])) {
        u_meters.add(meter_ids[u.cell.meter]);
        u_buckets.add(u.cell.bucket);
        u_subjects.add(u.cell.subject);
        u_groups.add(u.cell.group);
        u_values.add(u.value);
      }
      p.insert(p.end(), {u_meters.str(), u_buckets.str(), u_subjects.str(),
                         u_groups.str(), u_values.str()});
    }
    db_.run0("upsert_cells", p);
    if (c_.flush_ms > 0)
      db_.run0("set_mark", {std::to_string(max_seq_)});
    delta_.clear();
    last_flush_ = clock_type::now();
  }

  std::uint64_t replay() {
    if (c_.flush_ms == 0)
      return 0;
    auto mark = db_.scalar("SELECT hwm FROM flush_state");
    db_.exec("BEGIN");
    PGresult* r = db_.run("tail", {std::to_string(mark)});
    std::uint64_t n = PQntuples(r);
    for (int i = 0; i < PQntuples(r); ++i) {
      event e;
      std::int64_t seq = std::stoll(PQgetvalue(r, i, 0));
      e.type = PQgetvalue(r, i, 1);
      e.subject = PQgetvalue(r, i, 2);
      e.time = std::stoll(PQgetvalue(r, i, 3));
      e.data = PQgetvalue(r, i, 4);
      read_meter_fields(e);
      delta_.add(e, seq);
      max_seq_ = std::max(max_seq_, seq);
    }
    PQclear(r);
    flush();
    db_.exec("COMMIT");
    return n;
  }

  connection& db() { return db_; }
  const config& settings() const { return c_; }

private:
  void create_schema() {
    db_.exec("DROP SCHEMA public CASCADE; CREATE SCHEMA public;");
    if (c_.schema == "today") {
      db_.exec(R"sql(
CREATE TABLE events (
  seq         BIGSERIAL PRIMARY KEY,
  source      TEXT   NOT NULL,
  id          TEXT   NOT NULL,
  type        TEXT   NOT NULL,
  subject     TEXT   NOT NULL,
  time        BIGINT NOT NULL,
  data        TEXT   NOT NULL,
  ingested_at BIGINT NOT NULL,
  UNIQUE (source, id)
);
CREATE INDEX events_by_subject_time ON events (subject, time);
CREATE INDEX events_by_time ON events (time);
CREATE INDEX events_by_type_seq ON events (type, seq);
)sql");
      db_.exec(rollup_tables);
      db_.exec(meter_tables("meter_id, bucket, subject, group_key"));
    } else {
      db_.exec(R"sql(
CREATE SEQUENCE event_seq;
CREATE TABLE event_keys (source TEXT COLLATE "C" NOT NULL, id TEXT COLLATE "C" NOT NULL,
  seq BIGINT NOT NULL, time BIGINT NOT NULL, PRIMARY KEY (source, id));
CREATE TABLE events (
  seq BIGINT NOT NULL, source TEXT NOT NULL, id TEXT NOT NULL, type TEXT NOT NULL,
  subject TEXT NOT NULL, time BIGINT NOT NULL, data TEXT NOT NULL,
  ingested_at BIGINT NOT NULL) PARTITION BY RANGE (time);
CREATE TABLE events_default PARTITION OF events DEFAULT;
CREATE INDEX events_by_subject_time ON events (subject, time);
CREATE INDEX events_by_seq ON events (seq);
CREATE TABLE flush_state (hwm BIGINT NOT NULL);
INSERT INTO flush_state VALUES (0);
)sql");
      for (millis d = window_start; d < window_end; d += day_ms)
        db_.exec("CREATE TABLE events_" + std::to_string(d / day_ms) +
                 " PARTITION OF events FOR VALUES FROM (" + std::to_string(d) + ") TO (" +
                 std::to_string(d + day_ms) + ")");
      db_.exec(rollup_tables);
      db_.exec(meter_tables("meter_id, subject, bucket, group_key"));
    }
    db_.exec("CREATE TABLE spike_config (schema TEXT, insert TEXT, flush_ms INT, minutes "
             "INT); INSERT INTO spike_config VALUES ('" +
             c_.schema + "', '" + c_.insert + "', " + std::to_string(c_.flush_ms) + ", " +
             (c_.minutes ? "1" : "0") + ")");
  }

  void read_config() {
    PGresult* r = PQexec(db_.raw(), "SELECT * FROM spike_config");
    c_.schema = PQgetvalue(r, 0, 0);
    c_.insert = PQgetvalue(r, 0, 1);
    c_.flush_ms = std::stoi(PQgetvalue(r, 0, 2));
    c_.minutes = std::string{PQgetvalue(r, 0, 3)} == "1";
    PQclear(r);
  }

  void prepare() {
    bool fresh = c_.schema == "new";
    if (fresh && c_.insert == "copy")
      db_.exec("CREATE TEMP TABLE batch_in (ord BIGINT, source TEXT, id TEXT, type TEXT, "
               "subject TEXT, time BIGINT, data TEXT, ingested_at BIGINT) ON COMMIT "
               "DELETE ROWS");
    db_.prepare("insert_events",
                fresh ? insert_events_new(c_.insert == "copy") : insert_events_today);
    // A duplicate is answered with the stored event: today through the
    // unique key, in the new schema through its dedup row's (seq, time).
    db_.prepare("find_events",
                fresh
                    ? "SELECT e.* FROM event_keys k JOIN unnest($1::text[], $2::text[]) "
                      "AS x(source, id) ON k.source = x.source AND k.id = x.id JOIN "
                      "events e ON e.seq = k.seq AND e.time = k.time"
                    : "SELECT e.* FROM events e JOIN unnest($1::text[], $2::text[]) AS "
                      "k(source, id) ON e.source = k.source AND e.id = k.id");
    db_.prepare("upsert_rollups", upsert_rollups);
    db_.prepare("upsert_cells",
                upsert_cells(fresh ? "meter_id, subject, bucket, group_key"
                                   : "meter_id, bucket, subject, group_key"));
    if (fresh) {
      db_.prepare("set_mark", "UPDATE flush_state SET hwm = GREATEST(hwm, $1::bigint)");
      db_.prepare("tail", "SELECT seq, type, subject, time, data FROM events WHERE seq > "
                          "$1::bigint ORDER BY seq");
    }
  }

  config c_;
  connection db_;
  rollup_delta delta_;
  std::int64_t max_seq_ = 0;
  clock_type::time_point last_flush_ = clock_type::now();
};

config read_args(const args& a) {
  config c;
  c.url = a.text("url", "");
  c.schema = a.text("schema", "new");
  c.insert = a.text("insert", "copy");
  c.flush_ms = static_cast<int>(a.integer("flush-ms", 0));
  c.minutes = a.integer("minute-rollups", 1) != 0;
  c.label = a.text("label", "postgres");
  return c;
}

int load(const args& a) {
  auto c = read_args(a);
  auto total = static_cast<std::uint64_t>(a.integer("events", 10'000'000));
  auto times = a.text("times", "rising");
  auto batch_size = static_cast<std::size_t>(a.integer("batch", 1000));
  std::printf(
      "CONFIG %s backend=postgres schema=%s insert=%s flush_ms=%d minute_rollups=%d "
      "times=%s events=%llu batch=%zu\n",
      c.label.c_str(), c.schema.c_str(), c.insert.c_str(), c.flush_ms, c.minutes ? 1 : 0,
      times.c_str(), static_cast<unsigned long long>(total), batch_size);
  store s(c, true);
  event_generator gen(total, times == "scattered", 0.005, 42);
  progress p(c.label, 0);
  std::vector<event> batch;
  std::uint64_t stored = 0, sent = 0;
  double max_seconds = static_cast<double>(a.integer("max-minutes", 0)) * 60;
  while (stored < total && (max_seconds == 0 || p.elapsed() < max_seconds)) {
    gen.next_batch(batch, std::min<std::size_t>(batch_size, total - stored));
    sent += batch.size();
    stored += s.append(batch);
    p.stored(stored);
  }
  double secs = p.elapsed();
  auto [rss, hwm] = rss_mb();
  auto size = s.db().scalar("SELECT pg_database_size(current_database())");
  std::printf("RESULT %s load events=%llu sent=%llu seconds=%.1f mean_rate=%.0f "
              "cpu_us_per_event=%.1f "
              "client_rss_mb=%.0f disk_mb=%.0f\n",
              c.label.c_str(), static_cast<unsigned long long>(stored),
              static_cast<unsigned long long>(sent), secs, stored / secs,
              cpu_seconds() * 1e6 / static_cast<double>(stored), rss, size / 1e6);
  std::fflush(stdout);
  if (a.flag("crash-at-end"))
    std::_Exit(0);
  s.db().exec("BEGIN");
  s.flush();
  s.db().exec("COMMIT");
  return 0;
}

int read(const args& a) {
  auto c = read_args(a);
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
  bool fresh = s.settings().schema == "new";
  auto& db = s.db();
  db.exec("ANALYZE");
  db.prepare("history",
             "SELECT bucket, SUM(count) FROM rollup_hour WHERE subject = $1 AND "
             "bucket >= $2 AND bucket < $3 GROUP BY bucket ORDER BY bucket");
  db.prepare("history_total",
             "SELECT bucket, count FROM rollup_subject_hour WHERE subject "
             "= $1 AND bucket >= $2 AND bucket < $3 ORDER BY bucket");
  const std::string cols =
      "SELECT subject, bucket, sum, count, min, max, latest, latest_time, latest_seq "
      "FROM "
      "meter_hour WHERE meter_id = $1 AND bucket >= $2 AND bucket < $3";
  // Today the one-subject query filters the (meter, bucket, subject) order.
  db.prepare("one",
             cols + (fresh ? " AND subject = $4 ORDER BY subject, bucket"
                           : " AND subject IN (SELECT unnest($4::text[])) ORDER BY "
                             "bucket, subject"));
  db.prepare("all",
             cols + (fresh ? " ORDER BY subject, bucket" : " ORDER BY bucket, subject"));
  db.prepare("uniques",
             "SELECT bucket, group_key, COUNT(*) FROM meter_unique_hour WHERE "
             "meter_id = 'm_users' AND subject = $1 AND bucket >= $2 AND bucket "
             "< $3 GROUP BY bucket, group_key");
  rng r(7);
  auto from = std::to_string(window_start), to = std::to_string(window_end);
  auto subject = [&] { return subject_name(static_cast<int>(r.below(subject_count))); };
  auto rows_of = [&](const std::string& name, const std::vector<std::string>& params) {
    PGresult* res = db.run(name, params);
    std::size_t n = PQntuples(res);
    PQclear(res);
    return n;
  };
  time_reads(c.label, "history_hourly_by_type", runs, [&](int) {
    return rows_of("history", {subject(), from, to});
  });
  time_reads(c.label, "history_hourly_subject_total", runs, [&](int) {
    return rows_of("history_total", {subject(), from, to});
  });
  auto fold_cells = [&](const std::string& name, const std::vector<std::string>& params) {
    PGresult* res = db.run(name, params);
    hourly_fold fold(window_start, window_end);
    for (int i = 0; i < PQntuples(res); ++i)
      fold.add(PQgetvalue(res, i, 0), std::stoll(PQgetvalue(res, i, 1)),
               cell{std::strtod(PQgetvalue(res, i, 2), nullptr),
                    std::stoll(PQgetvalue(res, i, 3)),
                    std::strtod(PQgetvalue(res, i, 4), nullptr),
                    std::strtod(PQgetvalue(res, i, 5), nullptr),
                    std::strtod(PQgetvalue(res, i, 6), nullptr),
                    std::stoll(PQgetvalue(res, i, 7)),
                    std::stoll(PQgetvalue(res, i, 8))});
    PQclear(res);
    return fold.cells();
  };
  time_reads(c.label, "meter_hourly_one_subject", runs, [&](int) {
    auto s1 = subject();
    return fold_cells("one", {"m_tokens", from, to, fresh ? s1 : "{" + s1 + "}"});
  });
  time_reads(c.label, "meter_hourly_all_subjects", big_runs, [&](int) {
    return fold_cells("all", {"m_tokens", from, to});
  });
  time_reads(c.label, "unique_hourly_one_subject", runs, [&](int) {
    return rows_of("uniques", {subject(), from, to});
  });
  auto [rss, hwm] = rss_mb();
  std::printf("RESULT %s after_reads client_rss_mb=%.0f client_hwm_mb=%.0f disk_mb=%.0f "
              "events=%lld\n",
              c.label.c_str(), rss, hwm,
              db.scalar("SELECT pg_database_size(current_database())") / 1e6,
              static_cast<long long>(db.scalar("SELECT count(*) FROM events")));
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  args a(argc, argv);
  if (a.positional().empty()) {
    std::fprintf(stderr,
                 "usage: postgres_spike load|read --url URL ... (see the source)\n");
    return 2;
  }
  const auto& mode = a.positional()[0];
  if (mode == "load")
    return load(a);
  if (mode == "read")
    return read(a);
  std::fprintf(stderr, "postgres_spike: unknown mode %s\n", mode.c_str());
  return 2;
}
