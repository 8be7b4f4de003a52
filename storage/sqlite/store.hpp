#pragma once

// The SQLite backend's store: one connection, its statements, and the
// meters its appends apply. Its methods live by responsibility in
// store.cpp (open, appends, retention), reads.cpp (events and usage),
// meters.cpp (meters, their rollups and queries), revisions.cpp (voids
// and corrections) and notifications.cpp (usage alerts); the rules both
// backends follow are in storage/usage_reads.* and storage/meter_rollup.*.

#include "storage/event_store.hpp"
#include "storage/meter_rollup.hpp"
#include "storage/rollup_delta.hpp"
#include "storage/sqlite/connection.hpp"
#include "storage/sqlite/statements.hpp"

#include <memory>
#include <optional>

namespace um::storage::sqlite {

/// The embedded backend (see `open_sqlite_store`).
class store final : public event_store {
public:
  explicit store(const store_options& options);
  ~store() override;

  model::append_outcomes append(const std::vector<model::event>& batch) override;
  model::event_page list_events(const model::event_filter& filter) override;
  model::usage_summary summarize(const std::string& subject,
                                 const model::time_range& range) override;
  model::usage_history history(const std::string& subject, model::interval width,
                               const model::time_range& range) override;
  model::usage_stats stats(model::millis now) override;
  std::size_t purge_before(model::millis cutoff, std::size_t max_events) override;
  void ping() override;
  model::change_outcome change_event(const model::event_change& change) override;
  std::vector<model::event_revision>
  event_revisions(const model::event_search& search) override;

  std::vector<model::stored_meter> meters() override;
  void create_meter(const model::meter& m) override;
  void update_meter(const model::meter& m) override;
  model::validated<model::meter> update_meter(const std::string& id_or_slug,
                                              const model::meter_update& update) override;
  bool delete_meter(const std::string& id_or_slug) override;
  bool backfill_meter(const std::string& id, std::size_t max_events) override;
  void each_meter_cell(const std::string& meter_id, meter_grain grain, model::millis from,
                       model::millis to, const std::vector<std::string>& subjects,
                       const meter_cell_visitor& visit) override;
  std::vector<sequenced_event>
  events_of_type(const std::string& type, model::millis from, model::millis to,
                 const std::vector<std::string>& subjects) override;
  std::vector<sequenced_event> search_events(const model::event_search& search) override;
  std::vector<model::subject> subjects() override;
  std::optional<model::subject> find_subject(const std::string& id_or_key) override;
  std::vector<model::subject>
  upsert_subjects(const std::vector<model::subject_upsert>& changes,
                  model::millis now) override;
  bool delete_subject(const std::string& id_or_key) override;
  void add_portal_token(const model::portal_token& token) override;
  std::optional<model::portal_token> find_portal_token(const std::string& id) override;
  std::vector<model::portal_token> portal_tokens(std::size_t limit) override;
  std::size_t invalidate_portal_tokens(const model::portal_invalidation& which,
                                       model::millis now) override;
  void restore_subjects(const std::vector<model::subject>& subjects) override;
  std::vector<std::string> meter_subjects(const std::string& meter_id) override;
  // Usage alerts (notifications.cpp).
  std::vector<model::notification_channel> notification_channels() override;
  void put_notification_channel(const model::notification_channel& c) override;
  bool delete_notification_channel(const std::string& id) override;
  std::vector<model::notification_rule> notification_rules() override;
  void put_notification_rule(const model::notification_rule& r) override;
  bool delete_notification_rule(const std::string& id) override;
  bool add_notification_event(const model::notification_event& e,
                              const std::string& key) override;
  std::optional<model::notification_event>
  find_notification_event(const std::string& id) override;
  std::pair<std::vector<model::notification_event>, std::size_t>
  notification_events(const model::notification_event_filter& filter) override;
  std::vector<model::notification_event>
  claim_due_notifications(model::millis now, model::millis lease_until,
                          std::size_t max) override;
  void update_notification_delivery(const std::string& event_id,
                                    const model::notification_delivery& d) override;
  std::size_t pending_notification_events() override;

private:
  transaction begin() { return transaction{db_, q_->begin, q_->commit}; }

  // Writes (store.cpp).
  void apply(const rollup_delta& delta);
  void apply(const meter_delta& delta);
  void refresh_meters();
  std::int64_t max_seq();

  // Corrections (revisions.cpp).
  /// What an append or a change must know of past corrections, read once
  /// per transaction.
  struct revision_state {
    bool voided = false;       ///< Some (source, id) is voided.
    std::int64_t next_seq = 1; ///< Above every seq held, by events or revisions.
    bool explicit_seq = false; ///< SQLite's own next rowid would be below it.
  };
  revision_state read_revision_state();
  void drop_zero_rows(const rollup_delta& delta);
  void rebuild_cells(const model::event& before, const model::event* after);
  void purge_revisions(model::millis cutoff);

  // Meters (meters.cpp).
  std::vector<meter_record> meter_records();
  std::optional<meter_record> find_meter(const std::string& id);
  std::optional<meter_record> find_meter_by_ref(const std::string& id_or_slug);
  void write_meter_update(const model::meter& before, const model::meter& m);
  void drop_meter_rollups(const std::string& id);
  void purge_meter_cells(model::millis cutoff);
  void bump_meter_version() { q_->meter_bump.run(); }

  // Usage alerts (notifications.cpp).
  /// Writes `e`'s record and next due time over the stored ones.
  void write_notification_event(const model::notification_event& e);

  sqlite3* db_ = nullptr;
  std::unique_ptr<statements> q_;
  active_meters active_;
};

/// The event a statement's row holds from column `first` on, in the order
/// of every event query: source, id, type, subject, time, data, ingested_at.
model::event read_event(statement& s, int first);

/// A JSON array of the subjects, for `json_each`; empty when there are none,
/// which the queries read as "all subjects".
std::string subjects_json(const std::vector<std::string>& subjects);

} // namespace um::storage::sqlite
