#pragma once

// Every statement the SQLite backend runs, by name, prepared and checked
// once per connection (`statement`).

#include "model/rollup_plan.hpp"
#include "storage/event_store.hpp"
#include "storage/sqlite/connection.hpp"

namespace um::storage::sqlite {

/// The prepared statements of one connection.
struct statements {
  explicit statements(sqlite3* db);

  // -- transactions and liveness
  statement begin, commit, ping;

  // -- events
  statement insert_event; ///< Deduplicated on (source, id).
  statement find_event;   ///< By (source, id).
  statement list_any, list_subject, list_type, list_both;     ///< A page, newest first.
  statement total_all, total_subject, total_type, total_both; ///< From the rollup totals.
  statement time_bounds;      ///< First and last event of a subject.
  statement count_time_range; ///< Events in [from, to).
  statement purge_select, purge_delete, oldest_time;
  statement max_seq;

  // -- v1 rollups
  statement totals_of; ///< A subject's totals by type.
  statement raw_range; ///< A subject's events in [from, to) by type.
  statement range_minute, range_hour, range_day;       ///< By type, [from, to).
  statement history_minute, history_hour, history_day; ///< By bucket, [from, to).
  statement upsert_minute, upsert_hour, upsert_day, upsert_total, upsert_global;
  statement drop_empty_minute, drop_empty_hour, drop_empty_day, drop_empty_total,
      drop_empty_global;
  statement stats_types, stats_entities, stats_recent_minutes;

  // -- meters
  statement meters_all, meter_taken, meter_insert, meter_find, meter_find_ref,
      meter_update, meter_reset, meter_delete, meter_bump, meter_version, meter_advance;
  statement backfill_events;
  statement meter_drop_minute, meter_drop_hour, meter_drop_unique_minute,
      meter_drop_unique_hour;
  statement meter_upsert_minute, meter_upsert_hour;
  statement meter_unique_minute, meter_unique_hour;
  statement meter_cells_minute, meter_cells_hour;
  statement meter_uniques_minute, meter_uniques_hour;
  statement meter_purge_minute, meter_purge_hour, meter_purge_unique_minute,
      meter_purge_unique_hour;
  statement events_of_type, events_of_type_subjects;
  statement search_events;
  statement meter_subjects;

  // -- corrections
  statement revision_state;       ///< Whether ids are voided; the greatest seqs.
  statement insert_event_checked; ///< With its seq, refused for a voided id.
  statement find_live;            ///< The event (source, id) with its seq.
  statement find_voided;          ///< The voided version of (source, id).
  statement insert_revision, void_id, unvoid_id;
  statement revisions_in; ///< Of events in [from, to), newest change first.
  statement purge_voided_ids, purge_revisions;
  statement drop_zero_minute, drop_zero_hour, drop_zero_day, drop_zero_total,
      drop_zero_global; ///< One v1 rollup row, when a change emptied it.
  statement meter_clear_minute, meter_clear_hour, meter_clear_unique_minute,
      meter_clear_unique_hour; ///< One subject's cells of a meter in [from, to).

  // -- usage alerts
  statement notification_channels_all, notification_channel_put,
      notification_channel_delete; ///< Stored forms by id.
  statement notification_rules_all, notification_rule_put, notification_rule_delete;
  statement notification_event_add; ///< Nothing when its key (or id) is stored.
  statement notification_event_find;
  statement notification_events_in;      ///< Created in [from, to], newest first.
  statement notification_events_due;     ///< Due by a time, oldest due first.
  statement notification_event_update;   ///< Its record and next due time.
  statement notification_events_pending; ///< How many have a delivery planned.

  /// The listing for a filter with or without subject and type.
  statement& list(bool subject, bool type);
  /// The total of the events a listing with or without subject and type matches.
  statement& total(bool subject, bool type);
  /// Counts by type over the rollup of `grain` (`raw`: the events).
  statement& range(model::rollup_grain grain);
  /// Counts by bucket over the rollup of `grain` (not `raw`).
  statement& history(model::rollup_grain grain);
  /// Adds to a rollup of `grain` (not `raw`).
  statement& upsert(model::rollup_grain grain);
  /// Removes the rows of a rollup of `grain` (not `raw`) a purge emptied.
  statement& drop_empty(model::rollup_grain grain);
  /// Adds to meter cells of `grain`.
  statement& meter_upsert(meter_grain grain);
  /// Adds unique values to meter cells of `grain`.
  statement& meter_unique(meter_grain grain);
  /// Reads meter cells of `grain`.
  statement& meter_cells(meter_grain grain);
  /// Reads the unique values of meter cells of `grain`.
  statement& meter_uniques(meter_grain grain);
  /// Drops wholly purged meter cells of `grain`.
  statement& meter_purge(meter_grain grain);
  /// Drops the unique values of wholly purged meter cells of `grain`.
  statement& meter_purge_unique(meter_grain grain);
  /// Removes one row of a v1 rollup of `grain` (not `raw`) if it counts nothing.
  statement& drop_zero(model::rollup_grain grain);
};

} // namespace um::storage::sqlite
