#include "storage/postgres_store.hpp"

#include "storage/rollup_delta.hpp"

#include "model/rollup_plan.hpp"
#include "storage/meter_rollup.hpp"
#include "storage/postgres_subjects.hpp"

#include <pqxx/pqxx>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <limits>
#include <map>
#include <set>
#include <thread>
#include <tuple>

namespace um::storage {

namespace {

using model::millis;

// The advisory lock every instance takes while it migrates ("um_schem").
constexpr std::int64_t migration_lock_key = 0x756d5f736368656d;

// The advisory lock that orders appends and backfills (shared) against
// changes to the set of meters (exclusive) ("um_meter").
const std::string meter_lock = std::to_string(0x756d5f6d65746572);

// How often a transaction that lost a serialization or deadlock race runs again.
constexpr int max_attempts = 5;

failure_kind kind_of_sqlstate(const std::string& state) {
  auto is = [&](const char* prefix) { return state.rfind(prefix, 0) == 0; };
  if (is("XX001") || is("XX002"))
    return failure_kind::corrupt;
  // Connection lost, server going away, resources short, cancelled, lock or
  // serialization trouble, a read-only server after a failover: all may clear.
  if (is("08") || is("57P") || is("53") || is("57014") || is("40") || is("55P03") ||
      is("55006") || is("25006"))
    return failure_kind::unavailable;
  return failure_kind::internal;
}

// Runs `f`, turning every driver exception into `storage_error`.
template <class F>
auto guarded(const char* doing, F&& f) -> decltype(f()) {
  auto what = [doing](const std::exception& e) {
    std::string text = std::string{"postgres: "} + doing + ": " + e.what();
    while (!text.empty() && (text.back() == '\n' || text.back() == ' '))
      text.pop_back();
    return text;
  };
  try {
    return f();
  } catch (const storage_error&) {
    throw;
  } catch (const pqxx::broken_connection& e) {
    throw storage_error(failure_kind::unavailable, what(e));
  } catch (const pqxx::in_doubt_error& e) {
    // The connection broke while COMMIT was on its way: it may have landed.
    throw storage_error(failure_kind::in_doubt, what(e));
  } catch (const pqxx::transaction_rollback& e) {
    throw storage_error(failure_kind::unavailable, what(e));
  } catch (const pqxx::sql_error& e) {
    throw storage_error(kind_of_sqlstate(e.sqlstate()), what(e));
  } catch (const std::exception& e) {
    throw storage_error(failure_kind::internal, what(e));
  }
}

// Runs the transaction `f` again when it lost a race with another one.
template <class F>
auto with_retries(F&& f) -> decltype(f()) {
  for (int attempt = 1;; ++attempt) {
    try {
      return f();
    } catch (const pqxx::serialization_failure&) {
      if (attempt == max_attempts)
        throw;
    } catch (const pqxx::deadlock_detected&) {
      if (attempt == max_attempts)
        throw;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(attempt * 5));
  }
}

// Array literals in PostgreSQL's text form, bound as one parameter each so
// that a whole batch travels in one statement.
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

class int_array {
public:
  void add(std::int64_t v) {
    if (text_.size() > 1)
      text_ += ',';
    text_ += std::to_string(v);
  }
  std::string str() const { return text_ + '}'; }

private:
  std::string text_ = "{";
};

class float_array {
public:
  void add(double v) {
    if (text_.size() > 1)
      text_ += ',';
    char buffer[32];
    // The shortest text that reads back as the same double.
    auto end = std::to_chars(buffer, buffer + sizeof buffer, v).ptr;
    text_.append(buffer, end);
  }
  std::string str() const { return text_ + '}'; }

private:
  std::string text_ = "{";
};

constexpr int schema_version = 3;

constexpr const char* schema_v1 = R"sql(
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
CREATE TABLE rollup_minute (subject TEXT NOT NULL, bucket BIGINT NOT NULL,
  type TEXT NOT NULL, count BIGINT NOT NULL, PRIMARY KEY (subject, bucket, type));
CREATE TABLE rollup_hour (subject TEXT NOT NULL, bucket BIGINT NOT NULL,
  type TEXT NOT NULL, count BIGINT NOT NULL, PRIMARY KEY (subject, bucket, type));
CREATE TABLE rollup_day (subject TEXT NOT NULL, bucket BIGINT NOT NULL,
  type TEXT NOT NULL, count BIGINT NOT NULL, PRIMARY KEY (subject, bucket, type));
CREATE TABLE rollup_total (subject TEXT NOT NULL, type TEXT NOT NULL,
  count BIGINT NOT NULL, PRIMARY KEY (subject, type));
CREATE TABLE rollup_global_minute (bucket BIGINT PRIMARY KEY, count BIGINT NOT NULL);
)sql";

// Metering: meters, the version appends read to see meter changes, and
// rollup cells per meter, bucket, subject and group values. Cells are keyed
// by meter and bucket first, as queries read a range of buckets of one meter;
// subjects and group keys compare bytewise ("C"), as in the embedded backend.
// The (type, seq) index lets a backfill read the events of one type in
// storage order.
constexpr const char* schema_v2 = R"sql(
CREATE INDEX events_by_type_seq ON events (type, seq);
CREATE TABLE meters (id TEXT PRIMARY KEY, slug TEXT NOT NULL UNIQUE,
  definition TEXT NOT NULL, created_seq BIGINT NOT NULL,
  backfill_until BIGINT NOT NULL, backfill_cursor BIGINT NOT NULL);
CREATE TABLE meter_state (version BIGINT NOT NULL);
INSERT INTO meter_state (version) VALUES (0);
CREATE TABLE meter_minute (meter_id TEXT COLLATE "C" NOT NULL, bucket BIGINT NOT NULL,
  subject TEXT COLLATE "C" NOT NULL, group_key TEXT COLLATE "C" NOT NULL,
  sum DOUBLE PRECISION, count BIGINT NOT NULL, min DOUBLE PRECISION,
  max DOUBLE PRECISION, latest DOUBLE PRECISION, latest_time BIGINT NOT NULL,
  latest_seq BIGINT NOT NULL, PRIMARY KEY (meter_id, bucket, subject, group_key));
CREATE TABLE meter_hour (meter_id TEXT COLLATE "C" NOT NULL, bucket BIGINT NOT NULL,
  subject TEXT COLLATE "C" NOT NULL, group_key TEXT COLLATE "C" NOT NULL,
  sum DOUBLE PRECISION, count BIGINT NOT NULL, min DOUBLE PRECISION,
  max DOUBLE PRECISION, latest DOUBLE PRECISION, latest_time BIGINT NOT NULL,
  latest_seq BIGINT NOT NULL, PRIMARY KEY (meter_id, bucket, subject, group_key));
CREATE TABLE meter_unique_minute (meter_id TEXT COLLATE "C" NOT NULL,
  bucket BIGINT NOT NULL, subject TEXT COLLATE "C" NOT NULL,
  group_key TEXT COLLATE "C" NOT NULL, value TEXT COLLATE "C" NOT NULL,
  PRIMARY KEY (meter_id, bucket, subject, group_key, value));
CREATE TABLE meter_unique_hour (meter_id TEXT COLLATE "C" NOT NULL,
  bucket BIGINT NOT NULL, subject TEXT COLLATE "C" NOT NULL,
  group_key TEXT COLLATE "C" NOT NULL, value TEXT COLLATE "C" NOT NULL,
  PRIMARY KEY (meter_id, bucket, subject, group_key, value));
)sql";

// Adds a batch's cell changes of both grains, and their unique values, in one
// statement; rows come in sorted key order.
std::string upsert_meter_cells_sql() {
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
    sql +=
        "c_" + grain + " AS (INSERT INTO " + t +
        " (meter_id, bucket, subject, group_key, sum, count, min, max, latest, "
        "latest_time, latest_seq) " +
        unnest({"text", "bigint", "text", "text", "float8", "bigint", "float8", "float8",
                "float8", "bigint", "bigint"}) +
        " ON CONFLICT (meter_id, bucket, subject, group_key) DO UPDATE SET sum = " + t +
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

// The columns of an event, in the order every event query selects them.
constexpr const char* event_columns =
    "source, id, type, subject, time, data, ingested_at";

std::string with_columns(const char* before, const char* after) {
  return std::string{before} + event_columns + after;
}

// A page of events (`inner`, newest first) cut after the event whose data
// reaches model::max_page_data_bytes, in the database: libpq holds a whole
// result in memory, so the cut cannot wait for the rows to arrive.
std::string sized_page(const std::string& inner, const char* leading_columns = "") {
  return with_columns((std::string{"SELECT "} + leading_columns).c_str(), "") +
         " FROM (SELECT *, SUM(octet_length(data)) OVER (ORDER BY time DESC, seq DESC "
         "ROWS "
         "UNBOUNDED PRECEDING) - octet_length(data) AS bytes_before FROM (" +
         inner + ") AS page) AS sized WHERE bytes_before < " +
         std::to_string(model::max_page_data_bytes) + " ORDER BY time DESC, seq DESC";
}

// Rollup upserts of a batch, one statement for all five tables.
constexpr const char* upsert_rollups_sql = R"sql(
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
  DO UPDATE SET count = rollup_global_minute.count + EXCLUDED.count)
SELECT 1
)sql";

// Removes the rollup rows a purge brought to zero; only the rows it touched.
constexpr const char* drop_empty_rollups_sql = R"sql(
WITH m AS (
  DELETE FROM rollup_minute r
  USING unnest($1::text[], $2::bigint[], $3::text[]) AS k(subject, bucket, type)
  WHERE r.subject = k.subject AND r.bucket = k.bucket AND r.type = k.type
    AND r.count <= 0),
h AS (
  DELETE FROM rollup_hour r
  USING unnest($4::text[], $5::bigint[], $6::text[]) AS k(subject, bucket, type)
  WHERE r.subject = k.subject AND r.bucket = k.bucket AND r.type = k.type
    AND r.count <= 0),
d AS (
  DELETE FROM rollup_day r
  USING unnest($7::text[], $8::bigint[], $9::text[]) AS k(subject, bucket, type)
  WHERE r.subject = k.subject AND r.bucket = k.bucket AND r.type = k.type
    AND r.count <= 0),
t AS (
  DELETE FROM rollup_total r
  USING unnest($10::text[], $11::text[]) AS k(subject, type)
  WHERE r.subject = k.subject AND r.type = k.type AND r.count <= 0),
g AS (
  DELETE FROM rollup_global_minute r
  USING unnest($12::bigint[]) AS k(bucket)
  WHERE r.bucket = k.bucket AND r.count <= 0)
SELECT 1
)sql";

// Stores the new events of a batch. Sequence numbers are drawn in batch
// order (so ties in time list in arrival order, as in the embedded backend),
// rows are inserted in key order (so concurrent writers with overlapping ids
// wait on each other instead of deadlocking).
constexpr const char* insert_events_sql = R"sql(
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

// Sums of every span of a planned range in one round trip: each span is
// read on its own (LATERAL), from the events or the rollup of its grain.
constexpr const char* range_sql = R"sql(
WITH s AS (
  SELECT * FROM unnest($2::int[], $3::bigint[], $4::bigint[])
    WITH ORDINALITY AS s(grain, lo, hi, i))
SELECT s.i, x.type, x.n FROM s CROSS JOIN LATERAL (
  SELECT type, COUNT(*)::bigint AS n FROM events
  WHERE subject = $1 AND time >= s.lo AND time < s.hi GROUP BY type) x
WHERE s.grain = 0
UNION ALL
SELECT s.i, x.type, x.n FROM s CROSS JOIN LATERAL (
  SELECT type, SUM(count)::bigint AS n FROM rollup_minute
  WHERE subject = $1 AND bucket >= s.lo AND bucket < s.hi GROUP BY type) x
WHERE s.grain = 1
UNION ALL
SELECT s.i, x.type, x.n FROM s CROSS JOIN LATERAL (
  SELECT type, SUM(count)::bigint AS n FROM rollup_hour
  WHERE subject = $1 AND bucket >= s.lo AND bucket < s.hi GROUP BY type) x
WHERE s.grain = 2
UNION ALL
SELECT s.i, x.type, x.n FROM s CROSS JOIN LATERAL (
  SELECT type, SUM(count)::bigint AS n FROM rollup_day
  WHERE subject = $1 AND bucket >= s.lo AND bucket < s.hi GROUP BY type) x
WHERE s.grain = 3
)sql";

int grain_number(model::rollup_grain g) {
  switch (g) {
  case model::rollup_grain::raw:
    return 0;
  case model::rollup_grain::minute:
    return 1;
  case model::rollup_grain::hour:
    return 2;
  case model::rollup_grain::day:
    return 3;
  }
  return 0;
}

std::string text_of(const pqxx::field& f) {
  return std::string(f.c_str(), f.size());
}

model::event read_event(const pqxx::row& r, int first) {
  model::event e;
  e.source = text_of(r[first]);
  e.id = text_of(r[first + 1]);
  e.type = text_of(r[first + 2]);
  e.subject = text_of(r[first + 3]);
  e.time = r[first + 4].as<std::int64_t>();
  e.data = text_of(r[first + 5]);
  e.ingested_at = r[first + 6].as<std::int64_t>();
  return e;
}

// SQLite reads a negative LIMIT as none and a negative OFFSET as zero.
std::int64_t limit_of(std::int64_t n) {
  return n < 0 ? std::numeric_limits<std::int64_t>::max() : n;
}

class postgres_store final : public event_store {
public:
  explicit postgres_store(const store_options& options)
      : conn_(guarded("connect", [&] {
          return std::make_unique<pqxx::connection>(
              postgres_connection_string(options.url));
        })) {
    guarded("open", [&] {
      if (options.synchronous_full)
        pqxx::nontransaction{*conn_}.exec0("SET synchronous_commit TO on");
      migrate();
      prepare();
      if (options.read_only)
        pqxx::nontransaction{*conn_}.exec0("SET default_transaction_read_only TO on");
    });
  }

  model::append_outcomes append(const std::vector<model::event>& batch) override {
    return guarded("append",
                   [&] { return with_retries([&] { return append_once(batch); }); });
  }

  model::event_page list_events(const model::event_filter& f) override {
    return guarded("list events", [&] {
      model::event_page page;
      pqxx::nontransaction tx{*conn_};
      std::int64_t limit = limit_of(f.limit), offset = std::max(0, f.offset);
      pqxx::result rows;
      if (f.subject.empty() && f.type.empty())
        rows = tx.exec_prepared("list_any", limit, offset);
      else if (f.type.empty())
        rows = tx.exec_prepared("list_subject", f.subject, limit, offset);
      else if (f.subject.empty())
        rows = tx.exec_prepared("list_type", f.type, limit, offset);
      else
        rows = tx.exec_prepared("list_both", f.subject, f.type, limit, offset);
      for (const auto& r : rows)
        page.events.push_back(read_event(r, 0));
      page.total = count_matching(tx, f);
      return page;
    });
  }

  model::usage_summary summarize(const std::string& subject,
                                 const model::time_range& range) override {
    return guarded("summarize", [&] {
      pqxx::nontransaction tx{*conn_};
      if (!range.since && !range.until)
        return totals_of(tx, subject);
      auto bounds = bounds_of(tx, subject, range);
      model::usage_summary out;
      if (!bounds)
        return out;
      add_range(tx, subject, bounds->first, bounds->second, out);
      return out;
    });
  }

  model::usage_history history(const std::string& subject, model::interval width_kind,
                               const model::time_range& range) override {
    return guarded("history", [&] {
      pqxx::nontransaction tx{*conn_};
      model::usage_history out;
      auto bounds = bounds_of(tx, subject, range);
      if (!bounds)
        return out;
      auto [lo, hi] = *bounds;
      auto plan = model::plan_history(lo, hi, model::interval_millis(width_kind));
      auto partials = [&](const std::vector<model::partial_bucket>& buckets) {
        for (const auto& p : buckets) {
          model::usage_summary s;
          add_range(tx, subject, p.from, p.to, s);
          if (s.total > 0)
            out.push_back({p.bucket, s.total});
        }
      };
      partials(plan.before);
      if (plan.whole_from == plan.whole_to) {
        partials(plan.after);
        return out;
      }
      const char* buckets = width_kind == model::interval::minute ? "history_minute"
                            : width_kind == model::interval::hour ? "history_hour"
                                                                  : "history_day";
      for (const auto& r :
           tx.exec_prepared(buckets, subject, plan.whole_from, plan.whole_to))
        if (auto n = r[1].as<std::int64_t>(); n > 0)
          out.push_back({r[0].as<std::int64_t>(), n});
      partials(plan.after);
      return out;
    });
  }

  model::usage_stats stats(millis now) override {
    return guarded("stats", [&] {
      pqxx::nontransaction tx{*conn_};
      model::usage_stats out;
      for (const auto& r : tx.exec_prepared("stats_types")) {
        auto n = r[1].as<std::int64_t>();
        if (n <= 0)
          continue;
        out.event_types[text_of(r[0])] = n;
        out.total_events += n;
      }
      out.unique_entities = tx.exec_prepared1("stats_entities")[0].as<std::int64_t>();
      millis hour_ago = now - 3'600'000;
      millis first_minute = model::bucket_floor(hour_ago, 60'000);
      if (first_minute < hour_ago)
        first_minute += 60'000;
      out.events_last_hour =
          tx.exec_prepared1("stats_recent_minutes", first_minute)[0].as<std::int64_t>();
      if (hour_ago < first_minute)
        out.events_last_hour +=
            tx.exec_prepared1("count_time_range", hour_ago, first_minute)[0]
                .as<std::int64_t>();
      return out;
    });
  }

  std::size_t purge_before(millis cutoff, std::size_t max_events) override {
    return guarded("purge", [&] {
      return with_retries([&] {
        auto limit = max_events > static_cast<std::size_t>(
                                      std::numeric_limits<std::int64_t>::max())
                         ? std::numeric_limits<std::int64_t>::max()
                         : static_cast<std::int64_t>(max_events);
        pqxx::work tx{*conn_};
        rollup_delta delta;
        auto removed = tx.exec_prepared("purge", cutoff, limit);
        for (const auto& r : removed)
          delta.add(text_of(r[0]), text_of(r[1]), r[2].as<std::int64_t>(), -1);
        if (!delta.empty()) {
          apply(tx, delta);
          drop_empty(tx, delta);
          tx.exec_prepared("purge_meter_cells", cutoff);
        }
        tx.commit();
        return static_cast<std::size_t>(removed.size());
      });
    });
  }

  void ping() override {
    guarded("ping", [&] { pqxx::nontransaction{*conn_}.exec_prepared1("ping"); });
  }

  std::vector<stored_meter> meters() override {
    return guarded("meters", [&] {
      std::vector<stored_meter> out;
      pqxx::nontransaction tx{*conn_};
      for (const auto& r : tx.exec_prepared("meters_all"))
        out.push_back({parse_stored_meter(text_of(r[1])),
                       r[3].as<std::int64_t>() >= r[2].as<std::int64_t>()});
      return out;
    });
  }

  void create_meter(const model::meter& m) override {
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

  void update_meter(const model::meter& m) override {
    guarded("update meter", [&] {
      with_retries([&] {
        pqxx::work tx{*conn_};
        lock_meters(tx, true);
        auto before = find_meter(tx, m.id, false);
        if (!same_meter_counting(before.definition, m)) {
          tx.exec_prepared("meter_drop_rollups", m.id);
          tx.exec_prepared("meter_reset", m.id);
        }
        try {
          tx.exec_prepared("meter_update", m.slug, stored_meter_text(m), m.id);
        } catch (const pqxx::unique_violation&) {
          throw storage_error(failure_kind::conflict, "meter \"" + m.slug + "\" exists");
        }
        tx.commit();
      });
    });
  }

  bool delete_meter(const std::string& id) override {
    return guarded("delete meter", [&] {
      return with_retries([&] {
        pqxx::work tx{*conn_};
        lock_meters(tx, true);
        if (tx.exec_prepared("meter_delete", id).affected_rows() == 0)
          return false;
        tx.exec_prepared("meter_drop_rollups", id);
        tx.commit();
        return true;
      });
    });
  }

  bool backfill_meter(const std::string& id, std::size_t max_events) override {
    return guarded("backfill meter", [&] {
      return with_retries([&] {
        pqxx::work tx{*conn_};
        lock_meters(tx, false);
        // The row lock keeps two instances from backfilling the same events.
        auto m = find_meter(tx, id, true);
        if (m.cursor >= m.until)
          return true;
        std::vector<active_meter> one{{id, std::move(m.definition)}};
        meter_delta delta;
        std::size_t n = 0;
        std::int64_t last = m.cursor;
        for (const auto& r :
             tx.exec_prepared("backfill_events", one[0].definition.event_type, m.cursor,
                              m.until, backfill_limit(max_events))) {
          ++n;
          last = r[0].as<std::int64_t>();
          delta.add_event(one, read_event(r, 1), last);
        }
        auto cursor = n < max_events ? m.until : last;
        if (!delta.empty())
          apply(tx, delta);
        tx.exec_prepared("meter_advance", cursor, id);
        tx.commit();
        return cursor >= m.until;
      });
    });
  }

  std::vector<meter_cell_row>
  meter_cells(const std::string& meter_id, meter_grain grain, millis from, millis to,
              const std::vector<std::string>& subjects) override {
    return guarded("meter cells", [&] {
      std::vector<meter_cell_row> out;
      std::map<std::tuple<millis, std::string, std::string>, std::size_t> index;
      std::map<std::string, std::vector<std::optional<std::string>>> groups;
      std::string suffix = grain == meter_grain::minute ? "_minute" : "_hour";
      text_array subject_list;
      for (const auto& s : subjects)
        subject_list.add(s);
      auto run = [&](pqxx::transaction_base& tx, const std::string& name) {
        return subjects.empty() ? tx.exec_prepared(name + suffix, meter_id, from, to)
                                : tx.exec_prepared(name + suffix + "_subjects", meter_id,
                                                   from, to, subject_list.str());
      };
      // One snapshot for the cells and their unique values.
      pqxx::read_transaction tx{*conn_};
      for (const auto& r : run(tx, "meter_cells")) {
        meter_cell_row row;
        row.bucket = r[0].as<std::int64_t>();
        row.subject = text_of(r[1]);
        auto key = text_of(r[2]);
        auto g = groups.find(key);
        if (g == groups.end())
          g = groups.emplace(key, parse_meter_group_key(key)).first;
        row.group_values = g->second;
        row.cell.sum = real_of(r[3]);
        row.cell.count = r[4].as<std::int64_t>();
        row.cell.min = real_of(r[5]);
        row.cell.max = real_of(r[6]);
        row.cell.latest = real_of(r[7]);
        row.cell.latest_time = r[8].as<std::int64_t>();
        row.cell.latest_seq = r[9].as<std::int64_t>();
        index.emplace(std::tuple{row.bucket, row.subject, std::move(key)}, out.size());
        out.push_back(std::move(row));
      }
      for (const auto& r : run(tx, "meter_uniques")) {
        auto it = index.find({r[0].as<std::int64_t>(), text_of(r[1]), text_of(r[2])});
        if (it != index.end())
          out[it->second].cell.uniques.insert(text_of(r[3]));
      }
      tx.commit();
      return out;
    });
  }

  std::vector<sequenced_event>
  events_of_type(const std::string& type, millis from, millis to,
                 const std::vector<std::string>& subjects) override {
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
        rows = tx.exec_prepared("events_of_type_subjects", type, from, to,
                                subject_list.str());
      }
      for (const auto& r : rows)
        out.push_back({r[0].as<std::int64_t>(), read_event(r, 1)});
      return out;
    });
  }

  std::vector<sequenced_event> search_events(const event_search& search) override {
    return guarded("search events", [&] {
      std::vector<sequenced_event> out;
      pqxx::nontransaction tx{*conn_};
      for (const auto& r : tx.exec_prepared(
               "search_events", search.time_from, search.time_to,
               search.ingested_from.value_or(std::numeric_limits<millis>::min()),
               search.ingested_to.value_or(std::numeric_limits<millis>::max()),
               search.id_contains, search.subject_contains,
               static_cast<std::int64_t>(std::max(0, search.limit)),
               search.before ? search.before->time : std::numeric_limits<millis>::max(),
               search.before ? search.before->seq
                             : std::numeric_limits<std::int64_t>::max()))
        out.push_back({r[0].as<std::int64_t>(), read_event(r, 1)});
      return out;
    });
  }

  std::vector<std::string> meter_subjects(const std::string& meter_id) override {
    return guarded("meter subjects", [&] {
      std::vector<std::string> out;
      pqxx::nontransaction tx{*conn_};
      for (const auto& r : tx.exec_prepared("meter_subjects", meter_id))
        out.push_back(text_of(r[0]));
      return out;
    });
  }

  std::vector<std::string> meter_group_values(const std::string& meter_id,
                                              std::size_t group_index) override {
    return guarded("meter group values", [&] {
      std::set<std::string> values;
      pqxx::nontransaction tx{*conn_};
      for (const auto& r : tx.exec_prepared("meter_group_keys", meter_id)) {
        auto group = parse_meter_group_key(text_of(r[0]));
        if (group_index < group.size() && group[group_index])
          values.insert(std::move(*group[group_index]));
      }
      return std::vector<std::string>(values.begin(), values.end());
    });
  }

  std::vector<model::subject> subjects() override {
    return guarded("list subjects", [&] { return postgres_subjects::list(*conn_); });
  }

  std::optional<model::subject> find_subject(const std::string& id_or_key) override {
    return guarded("find subject",
                   [&] { return postgres_subjects::find(*conn_, id_or_key); });
  }

  std::vector<model::subject>
  upsert_subjects(const std::vector<model::subject_upsert>& changes,
                  millis now) override {
    return guarded("upsert subjects", [&] {
      return with_retries(
          [&] { return postgres_subjects::upsert(*conn_, changes, now); });
    });
  }

  bool delete_subject(const std::string& id_or_key) override {
    return guarded("delete subject",
                   [&] { return postgres_subjects::remove(*conn_, id_or_key); });
  }

private:
  // A stored meter with its backfill position.
  struct meter_record {
    model::meter definition;
    std::int64_t until = 0;
    std::int64_t cursor = 0;
  };

  static double real_of(const pqxx::field& f) { return f.is_null() ? 0 : f.as<double>(); }

  meter_record find_meter(pqxx::transaction_base& tx, const std::string& id,
                          bool for_update) {
    auto rows = tx.exec_prepared(for_update ? "meter_find_for_update" : "meter_find", id);
    if (rows.empty())
      throw storage_error(failure_kind::not_found, "meter \"" + id + "\" not found");
    return {parse_stored_meter(text_of(rows[0][0])), rows[0][1].as<std::int64_t>(),
            rows[0][2].as<std::int64_t>()};
  }

  // Takes the meter lock for the rest of the transaction: shared for appends
  // and backfills, which apply meters; exclusive, with a version bump, for
  // changes to the set of meters. So a change waits for the appends in
  // flight, and every later append sees it; a new meter's backfill_until,
  // the largest seq once the lock is held, covers exactly the events of the
  // appends that committed before. Then brings the cached meters up to date.
  void lock_meters(pqxx::transaction_base& tx, bool exclusive) {
    // Two statements in one round trip: the second one's snapshot is taken
    // once the lock is held, so it sees every change committed before.
    auto version =
        tx.exec(exclusive ? "SELECT pg_advisory_xact_lock(" + meter_lock +
                                "); UPDATE "
                                "meter_state SET version = version + 1 RETURNING version"
                          : "SELECT pg_advisory_xact_lock_shared(" + meter_lock +
                                "); SELECT version FROM meter_state")[0][0]
            .as<std::int64_t>();
    if (exclusive || (meters_loaded_ && version == meter_version_))
      return;
    std::vector<active_meter> loaded;
    for (const auto& r : tx.exec_prepared("meters_all"))
      loaded.push_back({text_of(r[0]), parse_stored_meter(text_of(r[1]))});
    active_meters_ = std::move(loaded);
    meter_version_ = version;
    meters_loaded_ = true;
  }

  void apply(pqxx::transaction_base& tx, const meter_delta& delta) {
    std::vector<std::string> params;
    params.reserve(32);
    for (const auto& cells : delta.cells) {
      text_array meter_ids, subjects, groups, u_meter_ids, u_subjects, u_groups, u_values;
      int_array buckets, counts, latest_times, latest_seqs, u_buckets;
      float_array sums, mins, maxs, latests;
      for (const auto& [key, cell] : cells) {
        const auto& [meter_id, bucket, subject, group] = key;
        meter_ids.add(meter_id);
        buckets.add(bucket);
        subjects.add(subject);
        groups.add(group);
        sums.add(cell.sum);
        counts.add(cell.count);
        mins.add(cell.min);
        maxs.add(cell.max);
        latests.add(cell.latest);
        latest_times.add(cell.latest_time);
        latest_seqs.add(cell.latest_seq);
        for (const auto& value : cell.uniques) {
          u_meter_ids.add(meter_id);
          u_buckets.add(bucket);
          u_subjects.add(subject);
          u_groups.add(group);
          u_values.add(value);
        }
      }
      params.push_back(meter_ids.str());
      params.push_back(buckets.str());
      params.push_back(subjects.str());
      params.push_back(groups.str());
      params.push_back(sums.str());
      params.push_back(counts.str());
      params.push_back(mins.str());
      params.push_back(maxs.str());
      params.push_back(latests.str());
      params.push_back(latest_times.str());
      params.push_back(latest_seqs.str());
      params.push_back(u_meter_ids.str());
      params.push_back(u_buckets.str());
      params.push_back(u_subjects.str());
      params.push_back(u_groups.str());
      params.push_back(u_values.str());
    }
    tx.exec_prepared("upsert_meter_cells", pqxx::prepare::make_dynamic_params(params));
  }

  void migrate() {
    pqxx::work tx{*conn_};
    tx.exec_params1("SELECT pg_advisory_xact_lock($1)", migration_lock_key);
    tx.exec0("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
    auto current =
        tx.exec1("SELECT COALESCE(MAX(version), 0) FROM schema_version")[0].as<int>();
    if (current > schema_version)
      throw storage_error(failure_kind::internal,
                          "postgres: database schema version " + std::to_string(current) +
                              " is newer than this build understands");
    if (current < 1) {
      tx.exec0(schema_v1);
      tx.exec0("INSERT INTO schema_version (version) VALUES (1)");
    }
    if (current < 2) {
      tx.exec0(schema_v2);
      tx.exec0("INSERT INTO schema_version (version) VALUES (2)");
    }
    if (current < 3) {
      tx.exec0(postgres_subjects::schema);
      tx.exec0("INSERT INTO schema_version (version) VALUES (3)");
    }
    tx.commit();
  }

  void prepare() {
    auto& c = *conn_;
    c.prepare("insert_events", insert_events_sql);
    c.prepare("find_events",
              with_columns("SELECT ", " FROM events WHERE (source, id) IN "
                                      "(SELECT * FROM unnest($1::text[], $2::text[]))"));
    c.prepare("list_any", sized_page("SELECT * FROM events ORDER BY time DESC, seq DESC "
                                     "LIMIT $1 OFFSET $2"));
    c.prepare(
        "list_subject",
        sized_page("SELECT * FROM events WHERE subject = $1 ORDER BY time DESC, seq "
                   "DESC LIMIT $2 OFFSET $3"));
    c.prepare("list_type",
              sized_page("SELECT * FROM events WHERE type = $1 ORDER BY time "
                         "DESC, seq DESC LIMIT $2 OFFSET $3"));
    c.prepare("list_both",
              sized_page("SELECT * FROM events WHERE subject = $1 AND type = $2 ORDER BY "
                         "time DESC, seq DESC LIMIT $3 OFFSET $4"));
    c.prepare("total_all", "SELECT COALESCE(SUM(count), 0)::bigint FROM rollup_total");
    c.prepare("total_subject", "SELECT COALESCE(SUM(count), 0)::bigint FROM "
                               "rollup_total WHERE subject = $1");
    c.prepare("total_type",
              "SELECT COALESCE(SUM(count), 0)::bigint FROM rollup_total WHERE type = $1");
    c.prepare("total_both", "SELECT COALESCE(SUM(count), 0)::bigint FROM rollup_total "
                            "WHERE subject = $1 AND type = $2");
    c.prepare("totals_of",
              "SELECT type, count FROM rollup_total WHERE subject = $1 AND count > 0");
    c.prepare("range", range_sql);
    c.prepare("history_minute",
              "SELECT bucket, SUM(count)::bigint FROM rollup_minute WHERE subject = $1 "
              "AND bucket >= $2 AND bucket < $3 GROUP BY bucket ORDER BY bucket");
    c.prepare("history_hour",
              "SELECT bucket, SUM(count)::bigint FROM rollup_hour WHERE subject = $1 "
              "AND bucket >= $2 AND bucket < $3 GROUP BY bucket ORDER BY bucket");
    c.prepare("history_day",
              "SELECT bucket, SUM(count)::bigint FROM rollup_day WHERE subject = $1 "
              "AND bucket >= $2 AND bucket < $3 GROUP BY bucket ORDER BY bucket");
    c.prepare("upsert_rollups", upsert_rollups_sql);
    c.prepare("drop_empty_rollups", drop_empty_rollups_sql);
    c.prepare("time_bounds",
              "SELECT MIN(time), MAX(time) FROM events WHERE subject = $1");
    c.prepare("stats_types",
              "SELECT type, SUM(count)::bigint FROM rollup_total GROUP BY type");
    c.prepare("stats_entities",
              "SELECT COUNT(DISTINCT subject) FROM rollup_total WHERE count > 0");
    c.prepare("stats_recent_minutes", "SELECT COALESCE(SUM(count), 0)::bigint FROM "
                                      "rollup_global_minute WHERE bucket >= $1");
    c.prepare("count_time_range",
              "SELECT COUNT(*) FROM events WHERE time >= $1 AND time < $2");
    // Oldest first, ties in arrival order: the order the embedded backend's
    // (time) index yields. Deleting with RETURNING subtracts exactly the rows
    // this transaction removed, also when another instance purges at once.
    c.prepare("purge", "DELETE FROM events WHERE seq IN (SELECT seq FROM events "
                       "WHERE time < $1 ORDER BY time, seq LIMIT $2) "
                       "RETURNING subject, type, time");
    c.prepare("ping", "SELECT 1");
    prepare_metering();
  }

  void prepare_metering() {
    auto& c = *conn_;
    c.prepare("meters_all", "SELECT id, definition, backfill_until, backfill_cursor "
                            "FROM meters ORDER BY created_seq");
    c.prepare(
        "meter_insert",
        "INSERT INTO meters (id, slug, definition, created_seq, backfill_until, "
        "backfill_cursor) VALUES ($1, $2, $3, (SELECT COALESCE(MAX(created_seq), 0) "
        "+ 1 FROM meters), (SELECT COALESCE(MAX(seq), 0) FROM events), 0)");
    c.prepare("meter_find", "SELECT definition, backfill_until, backfill_cursor FROM "
                            "meters WHERE id = $1");
    c.prepare("meter_find_for_update", "SELECT definition, backfill_until, "
                                       "backfill_cursor FROM meters WHERE id = $1 FOR "
                                       "UPDATE");
    c.prepare("meter_update",
              "UPDATE meters SET slug = $1, definition = $2 WHERE id = $3");
    c.prepare("meter_reset", "UPDATE meters SET backfill_until = (SELECT "
                             "COALESCE(MAX(seq), 0) FROM events), backfill_cursor = 0 "
                             "WHERE id = $1");
    c.prepare("meter_delete", "DELETE FROM meters WHERE id = $1");
    c.prepare("meter_drop_rollups",
              "WITH a AS (DELETE FROM meter_minute WHERE meter_id = $1), "
              "b AS (DELETE FROM meter_hour WHERE meter_id = $1), "
              "c AS (DELETE FROM meter_unique_minute WHERE meter_id = $1), "
              "d AS (DELETE FROM meter_unique_hour WHERE meter_id = $1) SELECT 1");
    c.prepare("meter_advance", "UPDATE meters SET backfill_cursor = $1 WHERE id = $2");
    c.prepare("backfill_events",
              with_columns("SELECT seq, ", " FROM events WHERE type = $1 AND seq > $2 "
                                           "AND seq <= $3 ORDER BY seq LIMIT $4"));
    c.prepare("upsert_meter_cells", upsert_meter_cells_sql());
    for (std::string grain : {"minute", "hour"}) {
      auto cells = "SELECT bucket, subject, group_key, sum, count, min, max, latest, "
                   "latest_time, latest_seq FROM meter_" +
                   grain + " WHERE meter_id = $1 AND bucket >= $2 AND bucket < $3";
      auto uniques = "SELECT bucket, subject, group_key, value FROM meter_unique_" +
                     grain + " WHERE meter_id = $1 AND bucket >= $2 AND bucket < $3";
      auto order = " ORDER BY bucket, subject, group_key";
      c.prepare("meter_cells_" + grain, cells + order);
      c.prepare("meter_cells_" + grain + "_subjects",
                cells + " AND subject = ANY($4::text[])" + order);
      c.prepare("meter_uniques_" + grain, uniques);
      c.prepare("meter_uniques_" + grain + "_subjects",
                uniques + " AND subject = ANY($4::text[])");
    }
    c.prepare("events_of_type",
              with_columns("SELECT seq, ", " FROM events WHERE type = $1 AND time >= $2 "
                                           "AND time < $3 ORDER BY seq"));
    c.prepare("events_of_type_subjects",
              with_columns("SELECT seq, ", " FROM events WHERE type = $1 AND time >= $2 "
                                           "AND time < $3 AND subject = ANY($4::text[]) "
                                           "ORDER BY seq"));
    c.prepare("search_events",
              sized_page("SELECT * FROM events WHERE time >= $1 AND time < $2 AND "
                         "ingested_at >= $3 AND ingested_at < $4 AND ($5 = '' OR "
                         "strpos(id, $5) > 0) AND ($6 = '' OR strpos(subject, $6) > 0) "
                         "AND time <= $8 AND (time, seq) < ($8, $9) "
                         "ORDER BY time DESC, seq DESC LIMIT $7",
                         "seq, "));
    c.prepare(
        "meter_subjects",
        "SELECT DISTINCT subject FROM meter_hour WHERE meter_id = $1 ORDER BY subject");
    c.prepare("meter_group_keys",
              "SELECT DISTINCT group_key FROM meter_hour WHERE meter_id = $1");
    // Cells whose buckets end before every event left (and the cutoff) hold
    // only purged events.
    // A cell straddling that point is kept whole, so it may still hold samples
    // of purged events (sums and counts could be subtracted, but not min, max,
    // latest or unique values); queries of retained time read it whole.
    c.prepare(
        "purge_meter_cells",
        "WITH b AS (SELECT LEAST($1::bigint, COALESCE((SELECT MIN(time) FROM "
        "events), $1::bigint)) AS t), "
        "m AS (SELECT id FROM meters), "
        "a AS (DELETE FROM meter_minute WHERE meter_id IN (SELECT id FROM m) AND "
        "bucket <= (SELECT t FROM b) - 60000), "
        "h AS (DELETE FROM meter_hour WHERE meter_id IN (SELECT id FROM m) AND "
        "bucket <= (SELECT t FROM b) - 3600000), "
        "ua AS (DELETE FROM meter_unique_minute WHERE meter_id IN (SELECT id FROM m) "
        "AND bucket <= (SELECT t FROM b) - 60000), "
        "uh AS (DELETE FROM meter_unique_hour WHERE meter_id IN (SELECT id FROM m) "
        "AND bucket <= (SELECT t FROM b) - 3600000) SELECT 1");
  }

  model::append_outcomes append_once(const std::vector<model::event>& batch) {
    using key = std::pair<std::string, std::string>;
    // The first occurrence of each key in the batch is the one to insert;
    // later ones are duplicates of whatever ends up stored under the key.
    std::map<key, std::size_t> first;
    text_array sources, ids, types, subjects, data;
    int_array times, ingested;
    for (std::size_t i = 0; i < batch.size(); ++i) {
      const auto& e = batch[i];
      if (!first.emplace(key{e.source, e.id}, i).second)
        continue;
      sources.add(e.source);
      ids.add(e.id);
      types.add(e.type);
      subjects.add(e.subject);
      times.add(e.time);
      data.add(e.data);
      ingested.add(e.ingested_at);
    }
    model::append_outcomes out;
    out.reserve(batch.size());
    if (batch.empty())
      return out;
    pqxx::work tx{*conn_};
    lock_meters(tx, false);
    std::map<key, std::int64_t> inserted;
    for (const auto& r :
         tx.exec_prepared("insert_events", sources.str(), ids.str(), types.str(),
                          subjects.str(), times.str(), data.str(), ingested.str()))
      inserted.emplace(key{text_of(r[0]), text_of(r[1])}, r[2].as<std::int64_t>());
    std::map<key, model::event> stored_before;
    if (inserted.size() < first.size()) {
      text_array find_sources, find_ids;
      for (const auto& [k, i] : first)
        if (!inserted.count(k)) {
          find_sources.add(k.first);
          find_ids.add(k.second);
        }
      for (const auto& r :
           tx.exec_prepared("find_events", find_sources.str(), find_ids.str())) {
        auto e = read_event(r, 0);
        key k{e.source, e.id};
        stored_before.emplace(std::move(k), std::move(e));
      }
    }
    rollup_delta delta;
    meter_delta meter_changes;
    for (std::size_t i = 0; i < batch.size(); ++i) {
      const auto& e = batch[i];
      key k{e.source, e.id};
      if (auto stored = inserted.find(k); stored != inserted.end()) {
        if (first[k] == i) {
          out.push_back({model::append_status::stored, e});
          delta.add(e.subject, e.type, e.time, 1);
          if (!active_meters_.empty())
            meter_changes.add_event(active_meters_, e, stored->second);
        } else {
          out.push_back({model::append_status::duplicate, batch[first[k]]});
        }
        continue;
      }
      auto found = stored_before.find(k);
      if (found == stored_before.end())
        throw storage_error(failure_kind::internal,
                            "postgres: conflicting event not found");
      out.push_back({model::append_status::duplicate, found->second});
    }
    if (!delta.empty())
      apply(tx, delta);
    if (!meter_changes.empty())
      apply(tx, meter_changes);
    tx.commit();
    return out;
  }

  std::int64_t count_matching(pqxx::transaction_base& tx, const model::event_filter& f) {
    pqxx::row r;
    if (f.subject.empty() && f.type.empty())
      r = tx.exec_prepared1("total_all");
    else if (f.type.empty())
      r = tx.exec_prepared1("total_subject", f.subject);
    else if (f.subject.empty())
      r = tx.exec_prepared1("total_type", f.type);
    else
      r = tx.exec_prepared1("total_both", f.subject, f.type);
    return r[0].as<std::int64_t>();
  }

  model::usage_summary totals_of(pqxx::transaction_base& tx, const std::string& subject) {
    model::usage_summary out;
    for (const auto& r : tx.exec_prepared("totals_of", subject)) {
      auto n = r[1].as<std::int64_t>();
      out.by_type[text_of(r[0])] = n;
      out.total += n;
    }
    return out;
  }

  // The half-open [lo, hi) that `range` (inclusive bounds) selects, with open
  // bounds closed at the subject's first and last event; nothing when empty.
  std::optional<std::pair<millis, millis>> bounds_of(pqxx::transaction_base& tx,
                                                     const std::string& subject,
                                                     const model::time_range& range) {
    millis lo = 0, hi = 0;
    if (!range.since || !range.until) {
      auto r = tx.exec_prepared1("time_bounds", subject);
      if (r[0].is_null())
        return std::nullopt;
      lo = r[0].as<std::int64_t>();
      hi = r[1].as<std::int64_t>() + 1;
    }
    if (range.since)
      lo = *range.since;
    if (range.until)
      hi = *range.until + 1;
    if (lo >= hi)
      return std::nullopt;
    return std::pair{lo, hi};
  }

  void add_range(pqxx::transaction_base& tx, const std::string& subject, millis from,
                 millis to, model::usage_summary& out) {
    int_array grains, los, his;
    for (const auto& span : model::plan_range(from, to)) {
      grains.add(grain_number(span.grain));
      los.add(span.from);
      his.add(span.to);
    }
    for (const auto& r :
         tx.exec_prepared("range", subject, grains.str(), los.str(), his.str())) {
      auto n = r[2].as<std::int64_t>();
      if (n <= 0)
        continue;
      out.by_type[text_of(r[1])] += n;
      out.total += n;
    }
  }

  void apply(pqxx::transaction_base& tx, const rollup_delta& delta) {
    text_array subjects[3], types[3];
    int_array buckets[3], counts[3];
    for (int g = 0; g < 3; ++g)
      for (const auto& [k, n] : delta.by_grain[g]) {
        subjects[g].add(std::get<0>(k));
        buckets[g].add(std::get<1>(k));
        types[g].add(std::get<2>(k));
        counts[g].add(n);
      }
    text_array total_subjects, total_types;
    int_array total_counts;
    for (const auto& [k, n] : delta.totals) {
      total_subjects.add(k.first);
      total_types.add(k.second);
      total_counts.add(n);
    }
    int_array minutes, minute_counts;
    for (const auto& [bucket, n] : delta.global_minutes) {
      minutes.add(bucket);
      minute_counts.add(n);
    }
    tx.exec_prepared("upsert_rollups", subjects[0].str(), buckets[0].str(),
                     types[0].str(), counts[0].str(), subjects[1].str(), buckets[1].str(),
                     types[1].str(), counts[1].str(), subjects[2].str(), buckets[2].str(),
                     types[2].str(), counts[2].str(), total_subjects.str(),
                     total_types.str(), total_counts.str(), minutes.str(),
                     minute_counts.str());
  }

  void drop_empty(pqxx::transaction_base& tx, const rollup_delta& delta) {
    text_array subjects[3], types[3];
    int_array buckets[3];
    for (int g = 0; g < 3; ++g)
      for (const auto& [k, n] : delta.by_grain[g]) {
        subjects[g].add(std::get<0>(k));
        buckets[g].add(std::get<1>(k));
        types[g].add(std::get<2>(k));
      }
    text_array total_subjects, total_types;
    for (const auto& [k, n] : delta.totals) {
      total_subjects.add(k.first);
      total_types.add(k.second);
    }
    int_array minutes;
    for (const auto& [bucket, n] : delta.global_minutes)
      minutes.add(bucket);
    tx.exec_prepared("drop_empty_rollups", subjects[0].str(), buckets[0].str(),
                     types[0].str(), subjects[1].str(), buckets[1].str(), types[1].str(),
                     subjects[2].str(), buckets[2].str(), types[2].str(),
                     total_subjects.str(), total_types.str(), minutes.str());
  }

  std::unique_ptr<pqxx::connection> conn_;
  std::vector<active_meter> active_meters_; ///< As of `meter_version_`.
  std::int64_t meter_version_ = 0;
  bool meters_loaded_ = false;
};

} // namespace

bool is_postgres_url(const std::string& url) {
  return url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0;
}

std::string postgres_connection_string(const std::string& url) {
  // A silent network partition must fail a call in seconds, not when TCP
  // gives up minutes later: keepalive probes find a dead peer while waiting
  // for an answer, tcp_user_timeout while sending; and no statement runs
  // away with a connection (or the server) for long. A URL that sets one of
  // these keeps its own value.
  static constexpr std::pair<const char*, const char*> defaults[] = {
      {"connect_timeout", "2"},
      {"keepalives", "1"},
      {"keepalives_idle", "5"},
      {"keepalives_interval", "2"},
      {"keepalives_count", "3"},
      {"tcp_user_timeout", "5000"},
      {"options", "-c%20statement_timeout%3D30s"},
  };
  auto out = url;
  for (const auto& [name, value] : defaults) {
    if (out.find(std::string{name} + "=") != std::string::npos)
      continue;
    auto query = out.find('?');
    if (query == std::string::npos)
      out += '?';
    else if (query != out.size() - 1 && out.back() != '&')
      out += '&';
    out += name;
    out += '=';
    out += value;
  }
  return out;
}

std::unique_ptr<event_store> open_postgres_store(const store_options& options) {
  return std::make_unique<postgres_store>(options);
}

} // namespace um::storage
