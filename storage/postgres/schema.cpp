#include "storage/postgres/schema.hpp"

#include "storage/postgres/subjects.hpp"

#include "storage/event_store.hpp"

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

} // namespace

void migrate(pqxx::connection& conn) {
  pqxx::work tx{conn};
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
  if (current < 4) {
    tx.exec0(portal_tokens_schema);
    tx.exec0("INSERT INTO schema_version (version) VALUES (4)");
  }
  tx.commit();
}

} // namespace um::storage::postgres
