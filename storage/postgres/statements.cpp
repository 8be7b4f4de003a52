#include "storage/postgres/statements.hpp"

#include "model/event.hpp"
#include "model/usage.hpp"

#include <string>

namespace um::storage::postgres {

namespace {

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

// Stores the new events of a batch, copied into `batch_in` first. Sequence
// numbers are drawn in batch order (so ties in time list in arrival order,
// as in the embedded backend); dedup keys are inserted in key order (so
// concurrent writers with overlapping ids wait on each other instead of
// deadlocking), and only the events whose key was new go into the log.
constexpr const char* insert_events_sql = R"sql(
WITH numbered AS (
  SELECT nextval('event_seq') AS seq, source, id, time FROM batch_in ORDER BY ord),
k AS (
  INSERT INTO event_keys (source, id, seq, time)
  SELECT source, id, seq, time FROM numbered ORDER BY source, id
  ON CONFLICT (source, id) DO NOTHING
  RETURNING source, id, seq)
INSERT INTO events (seq, source, id, type, subject, time, data, ingested_at)
SELECT k.seq, b.source, b.id, b.type, b.subject, b.time, b.data, b.ingested_at
FROM batch_in b JOIN k ON k.source = b.source AND k.id = b.id
RETURNING source, id, seq
)sql";

// The stored events of keys that were already there, found through their
// dedup rows' (time, seq): one partition, one index probe each; for a voided
// key, its voided version (the revision with the row's seq: a superseded
// version's seq is never a dedup row's). Only duplicates are looked up, so
// new ids never read the revisions. A key whose event retention removed has
// no row here.
constexpr const char* find_events_sql = R"sql(
SELECT e.source, e.id, e.type, e.subject, e.time, e.data, e.ingested_at
FROM unnest($1::text[], $2::text[]) AS x(source, id)
JOIN event_keys k ON k.source = x.source AND k.id = x.id
JOIN events e ON e.time = k.time AND e.seq = k.seq
UNION ALL
SELECT r.source, r.id, r.type, r.subject, r.time, r.data, r.ingested_at
FROM unnest($1::text[], $2::text[]) AS x(source, id)
JOIN event_keys k ON k.source = x.source AND k.id = x.id
JOIN event_revisions r ON r.source = k.source AND r.id = k.id AND r.seq = k.seq
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

} // namespace

static void prepare_metering(pqxx::connection& c);
static void prepare_corrections(pqxx::connection& c);
static void prepare_notifications(pqxx::connection& c);

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

void prepare(pqxx::connection& c, bool writes) {
  if (writes)
    c.prepare("insert_events", insert_events_sql);
  c.prepare("find_events", find_events_sql);
  c.prepare("list_any", sized_page("SELECT * FROM events ORDER BY time DESC, seq DESC "
                                   "LIMIT $1 OFFSET $2"));
  c.prepare("list_subject",
            sized_page("SELECT * FROM events WHERE subject = $1 ORDER BY time DESC, seq "
                       "DESC LIMIT $2 OFFSET $3"));
  c.prepare("list_type", sized_page("SELECT * FROM events WHERE type = $1 ORDER BY time "
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
  c.prepare("time_bounds", "SELECT MIN(time), MAX(time) FROM events WHERE subject = $1");
  c.prepare("stats_types",
            "SELECT type, SUM(count)::bigint FROM rollup_total GROUP BY type");
  c.prepare("stats_entities",
            "SELECT COUNT(DISTINCT subject) FROM rollup_total WHERE count > 0");
  c.prepare("stats_recent_minutes", "SELECT COALESCE(SUM(count), 0)::bigint FROM "
                                    "rollup_global_minute WHERE bucket >= $1");
  c.prepare("count_time_range",
            "SELECT COUNT(*) FROM events WHERE time >= $1 AND time < $2");
  // Oldest first, ties in arrival order: the order the embedded backend's
  // (time) index yields; rows found by (time, seq), so in their partition.
  // Deleting with RETURNING subtracts exactly the rows this transaction
  // removed, also when another instance purges at once.
  // Their dedup keys go with them: an id is known while its event is stored,
  // as on the embedded stores.
  c.prepare("purge",
            "WITH gone AS (DELETE FROM events e USING (SELECT time, seq FROM events "
            "WHERE time < $1 ORDER BY time, seq LIMIT $2) AS old "
            "WHERE e.time = old.time AND e.seq = old.seq "
            "RETURNING e.source, e.id, e.subject, e.type, e.time), "
            "keys AS (DELETE FROM event_keys k USING gone g "
            "WHERE k.source = g.source AND k.id = g.id) "
            "SELECT subject, type, time FROM gone");
  // The partitions of the event log, by name.
  c.prepare("partitions", "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON "
                          "c.oid = i.inhrelid WHERE i.inhparent = 'events'::regclass");
  c.prepare("ping", "SELECT 1");
  prepare_metering(c);
  prepare_corrections(c);
  prepare_notifications(c);
}

static void prepare_metering(pqxx::connection& c) {
  // The last sequence number drawn. Meter changes read it under the
  // exclusive meter lock, when no append is in flight: every event stored
  // has a seq up to it, every later one a greater seq (numbers of appends
  // that rolled back are gaps).
  constexpr const char* last_seq =
      "(SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM event_seq)";
  c.prepare("meters_all", "SELECT id, definition, backfill_until, backfill_cursor "
                          "FROM meters ORDER BY created_seq");
  c.prepare("meter_insert",
            "INSERT INTO meters (id, slug, definition, created_seq, backfill_until, "
            "backfill_cursor) VALUES ($1, $2, $3, (SELECT COALESCE(MAX(created_seq), 0) "
            "+ 1 FROM meters), " +
                std::string{last_seq} + ", 0)");
  c.prepare("meter_find", "SELECT definition, backfill_until, backfill_cursor FROM "
                          "meters WHERE id = $1");
  c.prepare("meter_find_for_update", "SELECT definition, backfill_until, "
                                     "backfill_cursor FROM meters WHERE id = $1 FOR "
                                     "UPDATE");
  c.prepare("meter_find_ref",
            "SELECT id, definition, backfill_until, backfill_cursor FROM meters "
            "WHERE id = $1 OR slug = $1 ORDER BY created_seq LIMIT 1");
  c.prepare("meter_update", "UPDATE meters SET slug = $1, definition = $2 WHERE id = $3");
  c.prepare("meter_reset", "UPDATE meters SET backfill_until = " + std::string{last_seq} +
                               ", backfill_cursor = 0 WHERE id = $1");
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
    auto uniques = "SELECT bucket, subject, group_key, value FROM meter_unique_" + grain +
                   " WHERE meter_id = $1 AND bucket >= $2 AND bucket < $3";
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
  // Cells whose buckets end before every event left (and the cutoff) hold
  // only purged events.
  // A cell straddling that point is kept whole, so it may still hold samples
  // of purged events (sums and counts could be subtracted, but not min, max,
  // latest or unique values); queries of retained time read it whole.
  c.prepare("purge_meter_cells",
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

// Corrections (storage/postgres/revisions.cpp).
static void prepare_corrections(pqxx::connection& c) {
  // The dedup row of (source, id), locked: changes of one id wait on each
  // other, and on retention removing it.
  c.prepare("change_key",
            "SELECT seq, time FROM event_keys WHERE source = $1 AND id = $2 FOR UPDATE");
  // Moves the live version at (time, seq), if there is one, from the events
  // to the revisions, and answers it.
  c.prepare(
      "change_retire",
      with_columns("WITH gone AS (DELETE FROM events WHERE time = $1 AND seq = $2 "
                   "RETURNING seq, ",
                   "), kept AS (INSERT INTO event_revisions (seq, source, id, type, "
                   "subject, time, data, ingested_at, kind, at, changed_by, "
                   "trace_id) SELECT seq, source, id, type, subject, time, data, "
                   "ingested_at, $3, $4, $5, $6 FROM gone) ") +
          with_columns("SELECT ", " FROM gone"));
  // The voided version a dedup row names.
  c.prepare("change_voided",
            with_columns("SELECT ", " FROM event_revisions WHERE source = $1 AND id = $2 "
                                    "AND seq = $3 AND kind = 'voided'"));
  // Stores a replacement under a new seq and points its dedup row at it.
  c.prepare("change_insert",
            "WITH e AS (INSERT INTO events (seq, source, id, type, subject, time, data, "
            "ingested_at) VALUES (nextval('event_seq'), $1, $2, $3, $4, $5, $6, $7) "
            "RETURNING seq, time), k AS (UPDATE event_keys k SET seq = e.seq, time = "
            "e.time FROM e WHERE k.source = $1 AND k.id = $2) SELECT seq FROM e");
  // Removes the cells of whole hours of (meter, subject) (minute and hour
  // cells and their unique values), before they are rebuilt.
  c.prepare(
      "drop_hour_cells",
      "WITH k AS (SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[]) AS "
      "k(meter_id, subject, hour)), "
      "a AS (DELETE FROM meter_minute c USING k WHERE c.meter_id = k.meter_id AND "
      "c.bucket >= k.hour AND c.bucket < k.hour + 3600000 AND c.subject = k.subject), "
      "b AS (DELETE FROM meter_hour c USING k WHERE c.meter_id = k.meter_id AND "
      "c.subject = k.subject AND c.bucket = k.hour), "
      "ua AS (DELETE FROM meter_unique_minute c USING k WHERE c.meter_id = k.meter_id "
      "AND c.bucket >= k.hour AND c.bucket < k.hour + 3600000 AND c.subject = "
      "k.subject), "
      "ub AS (DELETE FROM meter_unique_hour c USING k WHERE c.meter_id = k.meter_id AND "
      "c.subject = k.subject AND c.bucket = k.hour) SELECT 1");
  // The audit trail, with the filters of the event search; newest change
  // first, ties newest stored first.
  c.prepare("revisions",
            with_columns("SELECT ", ", kind, at, changed_by, trace_id FROM "
                                    "event_revisions WHERE time >= $1 AND time < $2 AND "
                                    "ingested_at >= $3 AND ingested_at < $4 AND ($5 = '' "
                                    "OR strpos(id, $5) > 0) AND ($6 = '' OR "
                                    "strpos(subject, $6) > 0) ORDER BY at DESC, rev DESC "
                                    "LIMIT $7"));
  // Retention of revisions, by their version's time; a voided id whose
  // voided version goes is free again (its dedup row names that version).
  c.prepare("purge_revisions",
            "WITH r AS (DELETE FROM event_revisions WHERE time < $1 RETURNING source, "
            "id, seq) DELETE FROM event_keys k USING r WHERE k.source = r.source AND "
            "k.id = r.id AND k.seq = r.seq");
}

// Usage alerts (storage/postgres/notifications.cpp): each row holds its
// stored form (model/notifications.hpp) and the columns the queries need.
static void prepare_notifications(pqxx::connection& c) {
  for (std::string kind : {"channel", "rule"}) {
    auto table = "notification_" + kind + "s";
    c.prepare("notification_" + kind + "s",
              "SELECT record FROM " + table + " ORDER BY id");
    c.prepare("notification_" + kind + "_put",
              "INSERT INTO " + table +
                  " (id, record) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET "
                  "record = EXCLUDED.record");
    c.prepare("notification_" + kind + "_delete",
              "DELETE FROM " + table + " WHERE id = $1");
  }
  // An instance that finds the key taken (also while the other instance's
  // insert is not committed yet: it waits for it) stores nothing.
  c.prepare("notification_event_add",
            "INSERT INTO notification_events (id, record, created_at, key, next_due) "
            "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (key) DO NOTHING");
  c.prepare("notification_event_find",
            "SELECT record FROM notification_events WHERE id = $1");
  c.prepare("notification_event_lock",
            "SELECT record FROM notification_events WHERE id = $1 FOR UPDATE");
  c.prepare("notification_events_created",
            "SELECT record FROM notification_events WHERE created_at >= $1 AND "
            "created_at <= $2 ORDER BY created_at DESC, id DESC");
  // Rows another instance is claiming (or updating) are skipped rather than
  // waited for: they are that instance's. A row it claimed and committed
  // meanwhile is read again as it is now, and no longer due.
  c.prepare("notification_events_due",
            "SELECT record FROM notification_events WHERE next_due <= $1 "
            "ORDER BY next_due, id LIMIT $2 FOR UPDATE SKIP LOCKED");
  // Leased rows of an owner whose server process is gone (a claim does not
  // take its own: another connection of a live instance has another pid,
  // and a pid the server gave again only delays the take until the lease
  // ends). Those due now are the other statement's.
  c.prepare("notification_events_orphaned",
            "SELECT e.record, e.leased_until FROM notification_events e WHERE "
            "e.next_due > $1 AND e.leased_until > $1 AND e.lease_owner <> "
            "pg_backend_pid() AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a "
            "WHERE a.pid = e.lease_owner) ORDER BY e.next_due, e.id LIMIT $2 "
            "FOR UPDATE OF e SKIP LOCKED");
  c.prepare("notification_events_lease",
            "UPDATE notification_events e SET record = n.record, next_due = n.next_due, "
            "lease_owner = pg_backend_pid(), leased_until = $4 "
            "FROM unnest($1::text[], $2::text[], $3::bigint[]) AS n(id, record, "
            "next_due) WHERE e.id = n.id");
  c.prepare("notification_events_rewrite",
            "UPDATE notification_events e SET record = n.record, next_due = n.next_due "
            "FROM unnest($1::text[], $2::text[], $3::bigint[]) AS n(id, record, "
            "next_due) WHERE e.id = n.id");
  // The queue's depth, from the partial index of the due rows.
  c.prepare("notification_events_pending",
            "SELECT count(*) FROM notification_events WHERE next_due IS NOT NULL");
}

} // namespace um::storage::postgres
