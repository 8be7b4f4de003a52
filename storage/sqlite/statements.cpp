#include "storage/sqlite/statements.hpp"

#include <string>

namespace um::storage::sqlite {

namespace {

#define UM_EVENT_COLUMNS "source, id, type, subject, time, data, ingested_at"

// Adds a batch's change to one meter cell; `latest` follows the greatest
// (time, seq).
std::string meter_upsert_sql(const char* table) {
  const std::string newer =
      "(excluded.latest_time, excluded.latest_seq) > (latest_time, latest_seq)";
  return std::string{"INSERT INTO "} + table +
         " (meter_id, bucket, subject, group_key, sum, count, min, max, latest, "
         "latest_time, latest_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
         "ON CONFLICT DO UPDATE SET sum = sum + excluded.sum, count = count + "
         "excluded.count, min = MIN(min, excluded.min), max = MAX(max, excluded.max), "
         "latest = CASE WHEN " +
         newer + " THEN excluded.latest ELSE latest END, latest_time = CASE WHEN " +
         newer +
         " THEN excluded.latest_time ELSE latest_time END, latest_seq = CASE WHEN " +
         newer + " THEN excluded.latest_seq ELSE latest_seq END";
}

const std::string meter_upsert_minute_sql = meter_upsert_sql("meter_minute");
const std::string meter_upsert_hour_sql = meter_upsert_sql("meter_hour");

// Removes a v1 rollup row a change brought to zero: by its key, not by a
// scan of the whole table as retention does.
std::string drop_zero_sql(const char* table) {
  return std::string{"DELETE FROM "} + table +
         " WHERE subject = ? AND bucket = ? AND type = ? AND count <= 0";
}

const std::string drop_zero_minute_sql = drop_zero_sql("rollup_minute");
const std::string drop_zero_hour_sql = drop_zero_sql("rollup_hour");
const std::string drop_zero_day_sql = drop_zero_sql("rollup_day");

// One subject's cells (or their unique values) of a meter within [from, to).
std::string meter_clear_sql(const char* table) {
  return std::string{"DELETE FROM "} + table +
         " WHERE meter_id = ?1 AND bucket >= ?2 AND bucket < ?3 AND subject = ?4";
}

const std::string meter_clear_minute_sql = meter_clear_sql("meter_minute");
const std::string meter_clear_hour_sql = meter_clear_sql("meter_hour");
const std::string meter_clear_unique_minute_sql = meter_clear_sql("meter_unique_minute");
const std::string meter_clear_unique_hour_sql = meter_clear_sql("meter_unique_hour");

} // namespace

statements::statements(sqlite3* db)
    : begin{db, "begin", 0, "BEGIN IMMEDIATE"}, commit{db, "commit", 0, "COMMIT"},
      ping{db, "ping", 0, "SELECT 1"},
      insert_event{db, "insert_event", 7,
                   "INSERT INTO events (" UM_EVENT_COLUMNS
                   ") VALUES (?, ?, ?, ?, ?, ?, ?) "
                   "ON CONFLICT (source, id) DO NOTHING"},
      find_event{db, "find_event", 2,
                 "SELECT " UM_EVENT_COLUMNS " FROM events WHERE source = ? AND id = ?"},
      list_any{db, "list_any", 2,
               "SELECT " UM_EVENT_COLUMNS " FROM events "
               "ORDER BY time DESC, seq DESC LIMIT ? OFFSET ?"},
      list_subject{db, "list_subject", 3,
                   "SELECT " UM_EVENT_COLUMNS " FROM events "
                   "WHERE subject = ? ORDER BY time DESC, seq DESC LIMIT ? OFFSET ?"},
      list_type{db, "list_type", 3,
                "SELECT " UM_EVENT_COLUMNS " FROM events "
                "WHERE +type = ? ORDER BY time DESC, seq DESC LIMIT ? OFFSET ?"},
      list_both{db, "list_both", 4,
                "SELECT " UM_EVENT_COLUMNS " FROM events "
                "WHERE subject = ? AND +type = ? ORDER BY time DESC, seq DESC LIMIT ? "
                "OFFSET ?"},
      total_all{db, "total_all", 0, "SELECT COALESCE(SUM(count), 0) FROM rollup_total"},
      total_subject{db, "total_subject", 1,
                    "SELECT COALESCE(SUM(count), 0) FROM rollup_total WHERE subject = ?"},
      total_type{db, "total_type", 1,
                 "SELECT COALESCE(SUM(count), 0) FROM rollup_total WHERE type = ?"},
      total_both{db, "total_both", 2,
                 "SELECT COALESCE(SUM(count), 0) FROM rollup_total WHERE subject = ? AND "
                 "type = ?"},
      time_bounds{db, "time_bounds", 1,
                  "SELECT MIN(time), MAX(time) FROM events WHERE subject = ?"},
      count_time_range{db, "count_time_range", 2,
                       "SELECT COUNT(*) FROM events WHERE time >= ? AND time < ?"},
      purge_select{db, "purge_select", 2,
                   "SELECT seq, subject, type, time FROM events WHERE time < ? ORDER BY "
                   "time LIMIT ?"},
      purge_delete{db, "purge_delete", 1, "DELETE FROM events WHERE seq = ?"},
      oldest_time{db, "oldest_time", 0, "SELECT MIN(time) FROM events"},
      max_seq{db, "max_seq", 0, "SELECT COALESCE(MAX(seq), 0) FROM events"},
      totals_of{db, "totals_of", 1,
                "SELECT type, count FROM rollup_total WHERE subject = ? AND count > 0"},
      raw_range{db, "raw_range", 3,
                "SELECT type, COUNT(*) FROM events WHERE subject = ? AND time >= ? AND "
                "time < ? GROUP BY type"},
      range_minute{db, "range_minute", 3,
                   "SELECT type, SUM(count) FROM rollup_minute WHERE subject = ? AND "
                   "bucket >= ? AND bucket < ? GROUP BY type"},
      range_hour{
          db, "range_hour", 3,
          "SELECT type, SUM(count) FROM rollup_hour WHERE subject = ? AND bucket >= "
          "? AND bucket < ? GROUP BY type"},
      range_day{
          db, "range_day", 3,
          "SELECT type, SUM(count) FROM rollup_day WHERE subject = ? AND bucket >= ? "
          "AND bucket < ? GROUP BY type"},
      history_minute{db, "history_minute", 3,
                     "SELECT bucket, SUM(count) FROM rollup_minute WHERE subject = ? AND "
                     "bucket >= ? AND bucket < ? GROUP BY bucket ORDER BY bucket"},
      history_hour{db, "history_hour", 3,
                   "SELECT bucket, SUM(count) FROM rollup_hour WHERE subject = ? AND "
                   "bucket >= ? AND bucket < ? GROUP BY bucket ORDER BY bucket"},
      history_day{db, "history_day", 3,
                  "SELECT bucket, SUM(count) FROM rollup_day WHERE subject = ? AND "
                  "bucket >= ? AND bucket < ? GROUP BY bucket ORDER BY bucket"},
      upsert_minute{db, "upsert_minute", 4,
                    "INSERT INTO rollup_minute (subject, bucket, type, count) VALUES (?, "
                    "?, ?, ?) ON CONFLICT DO UPDATE SET count = count + excluded.count"},
      upsert_hour{db, "upsert_hour", 4,
                  "INSERT INTO rollup_hour (subject, bucket, type, count) VALUES (?, ?, "
                  "?, ?) ON CONFLICT DO UPDATE SET count = count + excluded.count"},
      upsert_day{db, "upsert_day", 4,
                 "INSERT INTO rollup_day (subject, bucket, type, count) VALUES (?, ?, ?, "
                 "?) ON CONFLICT DO UPDATE SET count = count + excluded.count"},
      upsert_total{db, "upsert_total", 3,
                   "INSERT INTO rollup_total (subject, type, count) VALUES (?, ?, ?) "
                   "ON CONFLICT DO UPDATE SET count = count + excluded.count"},
      upsert_global{db, "upsert_global", 2,
                    "INSERT INTO rollup_global_minute (bucket, count) VALUES (?, ?) "
                    "ON CONFLICT DO UPDATE SET count = count + excluded.count"},
      drop_empty_minute{db, "drop_empty_minute", 0,
                        "DELETE FROM rollup_minute WHERE count <= 0"},
      drop_empty_hour{db, "drop_empty_hour", 0,
                      "DELETE FROM rollup_hour WHERE count <= 0"},
      drop_empty_day{db, "drop_empty_day", 0, "DELETE FROM rollup_day WHERE count <= 0"},
      drop_empty_total{db, "drop_empty_total", 0,
                       "DELETE FROM rollup_total WHERE count <= 0"},
      drop_empty_global{db, "drop_empty_global", 0,
                        "DELETE FROM rollup_global_minute WHERE count <= 0"},
      stats_types{db, "stats_types", 0,
                  "SELECT type, SUM(count) FROM rollup_total GROUP BY type"},
      stats_entities{db, "stats_entities", 0,
                     "SELECT COUNT(DISTINCT subject) FROM rollup_total WHERE count > 0"},
      stats_recent_minutes{db, "stats_recent_minutes", 1,
                           "SELECT COALESCE(SUM(count), 0) FROM rollup_global_minute "
                           "WHERE bucket >= ?"},
      meters_all{db, "meters_all", 0,
                 "SELECT id, definition, backfill_until, backfill_cursor FROM meters "
                 "ORDER BY created_seq"},
      meter_taken{db, "meter_taken", 3,
                  "SELECT id FROM meters WHERE id = ?1 OR (slug = ?2 AND id <> ?3)"},
      meter_insert{
          db, "meter_insert", 4,
          "INSERT INTO meters (id, slug, definition, created_seq, backfill_until, "
          "backfill_cursor) VALUES (?1, ?2, ?3, (SELECT COALESCE(MAX(created_seq), "
          "0) + 1 FROM meters), ?4, 0)"},
      meter_find{
          db, "meter_find", 1,
          "SELECT definition, backfill_until, backfill_cursor FROM meters WHERE id "
          "= ?"},
      meter_find_ref{db, "meter_find_ref", 1,
                     "SELECT id, definition, backfill_until, backfill_cursor FROM meters "
                     "WHERE id = ?1 OR slug = ?1 ORDER BY created_seq LIMIT 1"},
      meter_update{db, "meter_update", 3,
                   "UPDATE meters SET slug = ?, definition = ? WHERE id = ?"},
      meter_reset{
          db, "meter_reset", 2,
          "UPDATE meters SET backfill_until = ?, backfill_cursor = 0 WHERE id = ?"},
      meter_delete{db, "meter_delete", 1, "DELETE FROM meters WHERE id = ?"},
      meter_bump{db, "meter_bump", 0, "UPDATE meter_state SET version = version + 1"},
      meter_version{db, "meter_version", 0, "SELECT version FROM meter_state"},
      meter_advance{db, "meter_advance", 2,
                    "UPDATE meters SET backfill_cursor = ? WHERE id = ?"},
      backfill_events{db, "backfill_events", 4,
                      "SELECT seq, " UM_EVENT_COLUMNS " FROM events WHERE type = ? AND "
                      "seq > ? AND seq <= ? ORDER BY seq LIMIT ?"},
      meter_drop_minute{db, "meter_drop_minute", 1,
                        "DELETE FROM meter_minute WHERE meter_id = ?"},
      meter_drop_hour{db, "meter_drop_hour", 1,
                      "DELETE FROM meter_hour WHERE meter_id = ?"},
      meter_drop_unique_minute{db, "meter_drop_unique_minute", 1,
                               "DELETE FROM meter_unique_minute WHERE meter_id = ?"},
      meter_drop_unique_hour{db, "meter_drop_unique_hour", 1,
                             "DELETE FROM meter_unique_hour WHERE meter_id = ?"},
      meter_upsert_minute{db, "meter_upsert_minute", 11, meter_upsert_minute_sql.c_str()},
      meter_upsert_hour{db, "meter_upsert_hour", 11, meter_upsert_hour_sql.c_str()},
      meter_unique_minute{
          db, "meter_unique_minute", 5,
          "INSERT INTO meter_unique_minute (meter_id, bucket, subject, "
          "group_key, value) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"},
      meter_unique_hour{
          db, "meter_unique_hour", 5,
          "INSERT INTO meter_unique_hour (meter_id, bucket, subject, "
          "group_key, value) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"},
      meter_cells_minute{
          db, "meter_cells_minute", 4,
          "SELECT bucket, subject, group_key, sum, count, min, max, latest, "
          "latest_time, latest_seq FROM meter_minute WHERE meter_id = ?1 AND "
          "bucket >= ?2 AND bucket < ?3 AND (?4 = '' OR subject IN (SELECT "
          "value FROM json_each(?4))) ORDER BY bucket, subject, group_key"},
      meter_cells_hour{db, "meter_cells_hour", 4,
                       "SELECT bucket, subject, group_key, sum, count, min, max, latest, "
                       "latest_time, latest_seq FROM meter_hour WHERE meter_id = ?1 AND "
                       "bucket >= ?2 AND bucket < ?3 AND (?4 = '' OR subject IN (SELECT "
                       "value FROM json_each(?4))) ORDER BY bucket, subject, group_key"},
      meter_uniques_minute{db, "meter_uniques_minute", 4,
                           "SELECT bucket, subject, group_key, value FROM "
                           "meter_unique_minute WHERE meter_id = ?1 AND bucket >= ?2 AND "
                           "bucket < ?3 AND (?4 = '' OR subject IN (SELECT value FROM "
                           "json_each(?4)))"},
      meter_uniques_hour{
          db, "meter_uniques_hour", 4,
          "SELECT bucket, subject, group_key, value FROM meter_unique_hour "
          "WHERE meter_id = ?1 AND bucket >= ?2 AND bucket < ?3 AND (?4 = "
          "'' OR subject IN (SELECT value FROM json_each(?4)))"},
      meter_purge_minute{db, "meter_purge_minute", 1,
                         "DELETE FROM meter_minute WHERE meter_id IN (SELECT id FROM "
                         "meters) AND bucket <= ?"},
      meter_purge_hour{db, "meter_purge_hour", 1,
                       "DELETE FROM meter_hour WHERE meter_id IN (SELECT id FROM meters) "
                       "AND bucket <= ?"},
      meter_purge_unique_minute{
          db, "meter_purge_unique_minute", 1,
          "DELETE FROM meter_unique_minute WHERE meter_id IN (SELECT "
          "id FROM meters) AND bucket <= ?"},
      meter_purge_unique_hour{
          db, "meter_purge_unique_hour", 1,
          "DELETE FROM meter_unique_hour WHERE meter_id IN (SELECT id "
          "FROM meters) AND bucket <= ?"},
      // The (time) index serves the short ranges these read; `+type` keeps
      // the planner off the (type) index, which would scan a whole type.
      events_of_type{db, "events_of_type", 3,
                     "SELECT seq, " UM_EVENT_COLUMNS " FROM events WHERE +type = ?1 AND "
                     "time >= ?2 AND time < ?3 ORDER BY seq"},
      events_of_type_subjects{db, "events_of_type_subjects", 4,
                              "SELECT seq, " UM_EVENT_COLUMNS
                              " FROM events WHERE +type = "
                              "?1 AND time >= ?2 AND time < ?3 AND subject IN (SELECT "
                              "value FROM json_each(?4)) ORDER BY seq"},
      search_events{
          db, "search_events", 9,
          "SELECT seq, " UM_EVENT_COLUMNS " FROM events WHERE time >= ?1 AND "
          "time < ?2 AND ingested_at >= ?3 AND ingested_at < ?4 AND (?5 = '' OR "
          "instr(id, ?5) > 0) AND (?6 = '' OR instr(subject, ?6) > 0) AND "
          "time <= ?8 AND (time < ?8 OR seq < ?9) ORDER BY time DESC, seq DESC "
          "LIMIT ?7"},
      meter_subjects{
          db, "meter_subjects", 1,
          "SELECT DISTINCT subject FROM meter_hour WHERE meter_id = ? ORDER BY "
          "subject"},
      revision_state{db, "revision_state", 0,
                     "SELECT EXISTS (SELECT 1 FROM voided_ids), COALESCE((SELECT "
                     "MAX(seq) FROM event_revisions), 0), COALESCE((SELECT MAX(seq) "
                     "FROM events), 0)"},
      // The WHERE also settles the parsing ambiguity of an upsert after a SELECT.
      insert_event_checked{db, "insert_event_checked", 8,
                           "INSERT INTO events (seq, " UM_EVENT_COLUMNS
                           ") SELECT ?8, ?1, ?2, ?3, ?4, ?5, ?6, ?7 WHERE NOT EXISTS "
                           "(SELECT 1 FROM voided_ids WHERE source = ?1 AND id = ?2) "
                           "ON CONFLICT (source, id) DO NOTHING"},
      find_live{db, "find_live", 2,
                "SELECT seq, " UM_EVENT_COLUMNS
                " FROM events WHERE source = ? AND id = ?"},
      find_voided{db, "find_voided", 2,
                  "SELECT " UM_EVENT_COLUMNS " FROM event_revisions WHERE rev = "
                  "(SELECT rev FROM voided_ids WHERE source = ? AND id = ?)"},
      insert_revision{db, "insert_revision", 12,
                      "INSERT INTO event_revisions (seq, " UM_EVENT_COLUMNS
                      ", kind, at, by, trace_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                      "?, ?)"},
      void_id{db, "void_id", 3,
              "INSERT INTO voided_ids (source, id, rev) VALUES (?, ?, ?)"},
      unvoid_id{db, "unvoid_id", 2, "DELETE FROM voided_ids WHERE source = ? AND id = ?"},
      revisions_in{db, "revisions_in", 2,
                   "SELECT " UM_EVENT_COLUMNS ", kind, at, by, trace_id FROM "
                   "event_revisions WHERE time >= ? AND time < ? ORDER BY at DESC, "
                   "rev DESC"},
      purge_voided_ids{db, "purge_voided_ids", 1,
                       "DELETE FROM voided_ids WHERE rev IN (SELECT rev FROM "
                       "event_revisions WHERE time < ?)"},
      purge_revisions{db, "purge_revisions", 1,
                      "DELETE FROM event_revisions WHERE time < ?"},
      drop_zero_minute{db, "drop_zero_minute", 3, drop_zero_minute_sql.c_str()},
      drop_zero_hour{db, "drop_zero_hour", 3, drop_zero_hour_sql.c_str()},
      drop_zero_day{db, "drop_zero_day", 3, drop_zero_day_sql.c_str()},
      drop_zero_total{db, "drop_zero_total", 2,
                      "DELETE FROM rollup_total WHERE subject = ? AND type = ? AND "
                      "count <= 0"},
      drop_zero_global{db, "drop_zero_global", 1,
                       "DELETE FROM rollup_global_minute WHERE bucket = ? AND count <= "
                       "0"},
      meter_clear_minute{db, "meter_clear_minute", 4, meter_clear_minute_sql.c_str()},
      meter_clear_hour{db, "meter_clear_hour", 4, meter_clear_hour_sql.c_str()},
      meter_clear_unique_minute{db, "meter_clear_unique_minute", 4,
                                meter_clear_unique_minute_sql.c_str()},
      meter_clear_unique_hour{db, "meter_clear_unique_hour", 4,
                              meter_clear_unique_hour_sql.c_str()},
      notification_channels_all{db, "notification_channels_all", 0,
                                "SELECT record FROM notification_channels ORDER BY id"},
      notification_channel_put{db, "notification_channel_put", 2,
                               "INSERT INTO notification_channels (id, record) VALUES "
                               "(?1, ?2) ON CONFLICT (id) DO UPDATE SET record = "
                               "excluded.record"},
      notification_channel_delete{db, "notification_channel_delete", 1,
                                  "DELETE FROM notification_channels WHERE id = ?1"},
      notification_rules_all{db, "notification_rules_all", 0,
                             "SELECT record FROM notification_rules ORDER BY id"},
      notification_rule_put{db, "notification_rule_put", 2,
                            "INSERT INTO notification_rules (id, record) VALUES (?1, "
                            "?2) ON CONFLICT (id) DO UPDATE SET record = "
                            "excluded.record"},
      notification_rule_delete{db, "notification_rule_delete", 1,
                               "DELETE FROM notification_rules WHERE id = ?1"},
      // No conflict target: a clash on the key or on the id stores nothing.
      notification_event_add{db, "notification_event_add", 5,
                             "INSERT INTO notification_events (id, event_key, "
                             "created_at, next_due, record) VALUES (?1, ?2, ?3, ?4, "
                             "?5) ON CONFLICT DO NOTHING"},
      notification_event_find{db, "notification_event_find", 1,
                              "SELECT record FROM notification_events WHERE id = ?1"},
      notification_events_in{db, "notification_events_in", 2,
                             "SELECT record FROM notification_events WHERE created_at "
                             ">= ?1 AND created_at <= ?2 ORDER BY created_at DESC, id "
                             "DESC"},
      // `next_due IS NOT NULL` lets the planner use the partial index.
      notification_events_due{db, "notification_events_due", 2,
                              "SELECT record FROM notification_events WHERE next_due "
                              "IS NOT NULL AND next_due <= ?1 ORDER BY next_due, id "
                              "LIMIT ?2"},
      notification_event_update{db, "notification_event_update", 3,
                                "UPDATE notification_events SET next_due = ?2, record "
                                "= ?3 WHERE id = ?1"},
      // Counted from the partial index of the due rows.
      notification_events_pending{db, "notification_events_pending", 0,
                                  "SELECT count(*) FROM notification_events WHERE "
                                  "next_due IS NOT NULL"} {}

#undef UM_EVENT_COLUMNS

statement& statements::list(bool subject, bool type) {
  return subject ? (type ? list_both : list_subject) : (type ? list_type : list_any);
}

statement& statements::total(bool subject, bool type) {
  return subject ? (type ? total_both : total_subject) : (type ? total_type : total_all);
}

statement& statements::range(model::rollup_grain grain) {
  switch (grain) {
  case model::rollup_grain::minute:
    return range_minute;
  case model::rollup_grain::hour:
    return range_hour;
  case model::rollup_grain::day:
    return range_day;
  case model::rollup_grain::raw:
    break;
  }
  return raw_range;
}

statement& statements::history(model::rollup_grain grain) {
  return grain == model::rollup_grain::minute ? history_minute
         : grain == model::rollup_grain::hour ? history_hour
                                              : history_day;
}

statement& statements::upsert(model::rollup_grain grain) {
  return grain == model::rollup_grain::minute ? upsert_minute
         : grain == model::rollup_grain::hour ? upsert_hour
                                              : upsert_day;
}

statement& statements::drop_empty(model::rollup_grain grain) {
  return grain == model::rollup_grain::minute ? drop_empty_minute
         : grain == model::rollup_grain::hour ? drop_empty_hour
                                              : drop_empty_day;
}

statement& statements::meter_upsert(meter_grain grain) {
  return grain == meter_grain::minute ? meter_upsert_minute : meter_upsert_hour;
}

statement& statements::meter_unique(meter_grain grain) {
  return grain == meter_grain::minute ? meter_unique_minute : meter_unique_hour;
}

statement& statements::meter_cells(meter_grain grain) {
  return grain == meter_grain::minute ? meter_cells_minute : meter_cells_hour;
}

statement& statements::meter_uniques(meter_grain grain) {
  return grain == meter_grain::minute ? meter_uniques_minute : meter_uniques_hour;
}

statement& statements::meter_purge(meter_grain grain) {
  return grain == meter_grain::minute ? meter_purge_minute : meter_purge_hour;
}

statement& statements::drop_zero(model::rollup_grain grain) {
  return grain == model::rollup_grain::minute ? drop_zero_minute
         : grain == model::rollup_grain::hour ? drop_zero_hour
                                              : drop_zero_day;
}

statement& statements::meter_purge_unique(meter_grain grain) {
  return grain == meter_grain::minute ? meter_purge_unique_minute
                                      : meter_purge_unique_hour;
}

} // namespace um::storage::sqlite
