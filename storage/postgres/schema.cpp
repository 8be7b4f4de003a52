#include "storage/postgres/schema.hpp"

#include "storage/postgres/subjects.hpp"

#include "storage/event_store.hpp"

#include <cstdio>
#include <string>

namespace um::storage::postgres {

namespace {

// The advisory lock every instance takes while it migrates ("um_schem").
constexpr std::int64_t migration_lock_key = 0x756d5f736368656d;

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

// Version 4: the event log partitioned by day of event time (retention
// drops whole days), with its dedup keys in a table of their own (a unique
// key on a partitioned table must contain the partition key, so (source, id)
// cannot be unique on `events` itself) and sequence numbers from a sequence
// of their own. Each partition holds the indexes the reads need: listing and
// retention by (time, seq), one subject's events by (subject, time), a
// backfill's events of one type by (type, seq); within a day they grow at
// their right edge, so an append writes few random pages besides the dedup
// key. Hour cells are ordered (meter, subject, bucket): a one-subject query
// reads only that subject's cells. Minute cells keep (meter, bucket,
// subject): they are most of the cells, and new ones land at the right edge
// of that order as time rises instead of on a random page; a query reads
// them only for the partial hours at its ends.
//
// The migration rewrites the events: partitions for the days they span, the
// rows copied with their seq, the dedup keys and indexes built afterwards
// (faster than row by row), the old table dropped.
constexpr const char* schema_v4_tables = R"sql(
DROP INDEX events_by_subject_time, events_by_time, events_by_type_seq;
ALTER TABLE events RENAME TO events_v3;
CREATE SEQUENCE event_seq;
CREATE TABLE event_keys (source TEXT COLLATE "C" NOT NULL,
  id TEXT COLLATE "C" NOT NULL, seq BIGINT NOT NULL, time BIGINT NOT NULL);
CREATE TABLE events (
  seq         BIGINT NOT NULL,
  source      TEXT   NOT NULL,
  id          TEXT   NOT NULL,
  type        TEXT   NOT NULL,
  subject     TEXT   NOT NULL,
  time        BIGINT NOT NULL,
  data        TEXT   NOT NULL,
  ingested_at BIGINT NOT NULL
) PARTITION BY RANGE (time);
)sql";

constexpr const char* schema_v4_copy = R"sql(
INSERT INTO events (seq, source, id, type, subject, time, data, ingested_at)
SELECT seq, source, id, type, subject, time, data, ingested_at FROM events_v3;
INSERT INTO event_keys (source, id, seq, time) SELECT source, id, seq, time FROM events_v3;
SELECT setval('event_seq', GREATEST((SELECT COALESCE(MAX(seq), 0) FROM events_v3),
  (SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM events_seq_seq), 1),
  (SELECT COALESCE(MAX(seq), 0) FROM events_v3) > 0
    OR (SELECT is_called FROM events_seq_seq));
DROP TABLE events_v3;
ALTER TABLE event_keys ADD PRIMARY KEY (source, id);
CREATE INDEX events_by_time ON events (time, seq);
CREATE INDEX events_by_subject_time ON events (subject, time);
CREATE INDEX events_by_type_seq ON events (type, seq);
ALTER TABLE meter_hour DROP CONSTRAINT meter_hour_pkey,
  ADD PRIMARY KEY (meter_id, subject, bucket, group_key);
ALTER TABLE meter_unique_hour DROP CONSTRAINT meter_unique_hour_pkey,
  ADD PRIMARY KEY (meter_id, subject, bucket, group_key, value);
)sql";

void migrate_to_v4(pqxx::work& tx) {
  // A large event log takes minutes to rewrite: longer than the statement
  // timeout every connection sets.
  tx.exec0("SET LOCAL statement_timeout = 0");
  tx.exec0(schema_v4_tables);
  for (const auto& r : tx.exec("SELECT DISTINCT div(time - (CASE WHEN time < 0 THEN " +
                               std::to_string(day_millis - 1) + " ELSE 0 END), " +
                               std::to_string(day_millis) + ") FROM events_v3"))
    create_day_partition(tx, r[0].as<std::int64_t>());
  tx.exec0(schema_v4_copy);
}

// Version 6: corrections. A version of an event that stopped counting (voided
// or superseded) moves from `events` to `event_revisions`, with the seq it
// had; `rev` orders revisions of one instant. A voided (source, id) keeps its
// dedup row, which still names the voided version's (seq, time): no event is
// there any more, and its revision has that seq, which is how appends and
// changes tell a voided id (a correction points the row at the replacement).
// So the dedup state of a store that never voided anything is what it was,
// and appends of new ids never read this table. Corrections are rare: one
// plain table, read whole by time and deleted by retention by `time` (the
// version's time, as its event's day would be dropped); no partitions. The
// migration only adds it: existing events and dedup rows stay as they are.
constexpr const char* schema_v6 = R"sql(
CREATE TABLE event_revisions (
  rev         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  seq         BIGINT NOT NULL,
  source      TEXT COLLATE "C" NOT NULL,
  id          TEXT COLLATE "C" NOT NULL,
  type        TEXT   NOT NULL,
  subject     TEXT   NOT NULL,
  time        BIGINT NOT NULL,
  data        TEXT   NOT NULL,
  ingested_at BIGINT NOT NULL,
  kind        TEXT   NOT NULL CHECK (kind IN ('voided', 'superseded')),
  at          BIGINT NOT NULL,
  changed_by  TEXT   NOT NULL,
  trace_id    TEXT   NOT NULL
);
CREATE INDEX event_revisions_by_key ON event_revisions (source, id, seq);
CREATE INDEX event_revisions_by_time ON event_revisions (time);
)sql";

} // namespace

std::int64_t day_of(model::millis time) {
  return time >= 0 ? time / day_millis : -((-time + day_millis - 1) / day_millis);
}

std::string day_partition_name(std::int64_t day) {
  // Howard Hinnant's civil_from_days.
  std::int64_t z = day + 719468;
  std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  std::int64_t doe = z - era * 146097;
  std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  std::int64_t mp = (5 * doy + 2) / 153;
  std::int64_t d = doy - (153 * mp + 2) / 5 + 1;
  std::int64_t m = mp < 10 ? mp + 3 : mp - 9;
  std::int64_t y = yoe + era * 400 + (m <= 2);
  char name[64];
  std::snprintf(name, sizeof name, "events_%04lld%02lld%02lld", static_cast<long long>(y),
                static_cast<long long>(m), static_cast<long long>(d));
  return name;
}

std::optional<std::int64_t> day_of_partition_name(const std::string& name) {
  int y = 0, m = 0, d = 0;
  char rest = 0;
  if (name.size() != 15 || name.rfind("events_", 0) != 0 ||
      std::sscanf(name.c_str() + 7, "%4d%2d%2d%c", &y, &m, &d, &rest) != 3)
    return std::nullopt;
  // Howard Hinnant's days_from_civil.
  std::int64_t yy = y - (m <= 2);
  std::int64_t era = (yy >= 0 ? yy : yy - 399) / 400;
  std::int64_t yoe = yy - era * 400;
  std::int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  std::int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  std::int64_t day = era * 146097 + doe - 719468;
  if (day_partition_name(day) != name)
    return std::nullopt;
  return day;
}

void create_day_partition(pqxx::transaction_base& tx, std::int64_t day) {
  // Created apart and attached, which locks `events` only against other
  // attaches (SHARE UPDATE EXCLUSIVE), not against appends and reads as
  // CREATE TABLE … PARTITION OF (ACCESS EXCLUSIVE) would. The partitioned
  // indexes are created on it by the attach.
  auto name = day_partition_name(day);
  tx.exec0("CREATE TABLE " + name + " (LIKE events)");
  tx.exec0("ALTER TABLE events ATTACH PARTITION " + name + " FOR VALUES FROM (" +
           std::to_string(day * day_millis) + ") TO (" +
           std::to_string((day + 1) * day_millis) + ")");
}

void create_schema(pqxx::connection& conn, const std::string& schema) {
  // Under the migration lock: two instances creating one schema at once
  // would otherwise race to a unique violation.
  pqxx::work tx{conn};
  tx.exec_params1("SELECT pg_advisory_xact_lock($1)", migration_lock_key);
  tx.exec0("CREATE SCHEMA IF NOT EXISTS " + tx.quote_name(schema));
  tx.commit();
}

void migrate(pqxx::connection& conn, int target) {
  pqxx::work tx{conn};
  tx.exec_params1("SELECT pg_advisory_xact_lock($1)", migration_lock_key);
  tx.exec0("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
  auto current =
      tx.exec1("SELECT COALESCE(MAX(version), 0) FROM schema_version")[0].as<int>();
  if (current > schema_version)
    throw storage_error(failure_kind::internal,
                        "postgres: database schema version " + std::to_string(current) +
                            " is newer than this build understands");
  if (current < 1 && target >= 1) {
    tx.exec0(schema_v1);
    tx.exec0("INSERT INTO schema_version (version) VALUES (1)");
  }
  if (current < 2 && target >= 2) {
    tx.exec0(schema_v2);
    tx.exec0("INSERT INTO schema_version (version) VALUES (2)");
  }
  if (current < 3 && target >= 3) {
    tx.exec0(postgres_subjects::schema);
    tx.exec0("INSERT INTO schema_version (version) VALUES (3)");
  }
  if (current < 4 && target >= 4) {
    migrate_to_v4(tx);
    tx.exec0("INSERT INTO schema_version (version) VALUES (4)");
  }
  if (current < 5 && target >= 5) {
    tx.exec0(portal_tokens_schema);
    tx.exec0("INSERT INTO schema_version (version) VALUES (5)");
  }
  if (current < 6 && target >= 6) {
    tx.exec0(schema_v6);
    tx.exec0("INSERT INTO schema_version (version) VALUES (6)");
  }
  if (current < 7 && target >= 7) {
    tx.exec0(notifications_schema);
    tx.exec0("INSERT INTO schema_version (version) VALUES (7)");
  }
  tx.commit();
}

} // namespace um::storage::postgres
