#include "storage/sqlite/schema.hpp"

#include "storage/sqlite/subjects.hpp"

#include "storage/sqlite/connection.hpp"

namespace um::storage::sqlite {

namespace {

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

// Corrections: the versions of events that stopped counting (voided or
// superseded), and the (source, id) of voided events, which stay taken.
// `rev` orders revisions of the same `at`; `seq` is the seq the version had,
// indexed so that a replacement or a later append can be given a seq above
// every seq ever handed out (SQLite would reuse the greatest rowid once a
// void deleted its row). `time` is indexed for retention. An append checks
// `voided_ids` only when it holds rows, so a store that never voided
// anything pays nothing per event.
constexpr const char* schema_v5 = R"sql(
CREATE TABLE event_revisions (
  rev         INTEGER PRIMARY KEY,
  seq         INTEGER NOT NULL,
  source      TEXT    NOT NULL,
  id          TEXT    NOT NULL,
  type        TEXT    NOT NULL,
  subject     TEXT    NOT NULL,
  time        INTEGER NOT NULL,
  data        TEXT    NOT NULL,
  ingested_at INTEGER NOT NULL,
  kind        TEXT    NOT NULL,
  at          INTEGER NOT NULL,
  by          TEXT    NOT NULL,
  trace_id    TEXT    NOT NULL
);
CREATE INDEX event_revisions_by_time ON event_revisions (time);
CREATE INDEX event_revisions_by_seq ON event_revisions (seq);
CREATE TABLE voided_ids (source TEXT NOT NULL, id TEXT NOT NULL,
  rev INTEGER NOT NULL, PRIMARY KEY (source, id)) WITHOUT ROWID;
)sql";

// Usage alerts: channels and rules as their stored forms by id, and events
// as theirs (deliveries inside) with what the queries need beside them: the
// key, unique, so that an event is stored once per rule, subject, window
// and threshold; `created_at` for listing newest first; `next_due`
// (`model::next_due`, NULL when nothing is planned), indexed where set, so
// that a claim reads only due rows.
constexpr const char* schema_v6 = R"sql(
CREATE TABLE notification_channels (id TEXT PRIMARY KEY, record TEXT NOT NULL)
  WITHOUT ROWID;
CREATE TABLE notification_rules (id TEXT PRIMARY KEY, record TEXT NOT NULL)
  WITHOUT ROWID;
CREATE TABLE notification_events (id TEXT PRIMARY KEY, event_key TEXT NOT NULL UNIQUE,
  created_at INTEGER NOT NULL, next_due INTEGER, record TEXT NOT NULL) WITHOUT ROWID;
CREATE INDEX notification_events_by_created ON notification_events (created_at, id);
CREATE INDEX notification_events_by_due ON notification_events (next_due, id)
  WHERE next_due IS NOT NULL;
)sql";

} // namespace

int stored_schema_version(sqlite3* db) {
  statement exists{db, "schema_exists", 0,
                   "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' "
                   "AND name = 'schema_version'"};
  if (!exists.step() || exists.integer(0) == 0)
    return 0;
  statement v{db, "schema_version", 0,
              "SELECT COALESCE(MAX(version), 0) FROM schema_version"};
  return v.step() ? static_cast<int>(v.integer(0)) : 0;
}

void migrate(sqlite3* db) {
  // Up to date already (every open after the first): no write lock needed,
  // so a connection can open while another process holds the write lock.
  if (stored_schema_version(db) == schema_version)
    return;
  exec(db, "BEGIN IMMEDIATE");
  try {
    exec(db, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
    int current = 0;
    {
      statement v{db, "schema_version", 0,
                  "SELECT COALESCE(MAX(version), 0) FROM schema_version"};
      if (v.step())
        current = static_cast<int>(v.integer(0));
    }
    if (current > schema_version)
      throw storage_error(failure_kind::internal,
                          "sqlite: database schema version " + std::to_string(current) +
                              " is newer than this build understands");
    if (current < 1) {
      exec(db, schema_v1);
      exec(db, "INSERT INTO schema_version (version) VALUES (1)");
    }
    if (current < 2) {
      exec(db, schema_v2);
      exec(db, "INSERT INTO schema_version (version) VALUES (2)");
    }
    if (current < 3) {
      exec(db, sqlite_subjects::schema);
      exec(db, "INSERT INTO schema_version (version) VALUES (3)");
    }
    if (current < 4) {
      exec(db, portal_tokens_schema);
      exec(db, "INSERT INTO schema_version (version) VALUES (4)");
    }
    if (current < 5) {
      exec(db, schema_v5);
      exec(db, "INSERT INTO schema_version (version) VALUES (5)");
    }
    if (current < 6) {
      exec(db, schema_v6);
      exec(db, "INSERT INTO schema_version (version) VALUES (6)");
    }
    exec(db, "COMMIT");
  } catch (...) {
    sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

} // namespace um::storage::sqlite
