#pragma once

// The RocksDB backend's store: a handle on the process's shared database
// (storage/rocksdb/database.hpp). Its methods live by responsibility in
// store.cpp (open, appends, retention), reads.cpp (events and usage),
// meters.cpp (meters, their rollups and queries), subjects.cpp and
// notifications.cpp (usage alerts); the rules every backend follows are in
// storage/usage_reads.* and storage/meter_rollup.*.

#include "storage/event_store.hpp"
#include "storage/meter_rollup.hpp"
#include "storage/rocksdb/database.hpp"

#include <memory>
#include <optional>

namespace um::storage::rocks {

/// The embedded backend (see `open_rocksdb_store`).
class store final : public event_store {
public:
  explicit store(const store_options& options);

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
  void restore_subjects(const std::vector<model::subject>& subjects) override;
  void add_portal_token(const model::portal_token& token) override;
  std::optional<model::portal_token> find_portal_token(const std::string& id) override;
  std::vector<model::portal_token> portal_tokens(std::size_t limit) override;
  std::size_t invalidate_portal_tokens(const model::portal_invalidation& which,
                                       model::millis now) override;
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
  /// Throws unless this store may write.
  void writable() const;

  /// Adds to `wb` the deletion of the revisions of events older than `cutoff`.
  void purge_revisions(read_view& view, rocksdb::WriteBatch& wb, model::millis cutoff);

  /// Adds to `wb` the rebuilt cells of each meter hour `before` and `after`
  /// touch (`touched_hours`), from the events `view` holds of that hour
  /// without `before_seq` and with `after` (when not null) under `after_seq`.
  void rebuild_cells(read_view& view, rocksdb::WriteBatch& wb, const model::event& before,
                     std::int64_t before_seq, const model::event* after,
                     std::int64_t after_seq);

  // Meters (meters.cpp).
  void write_meter_update(database::write_lock& lock, rocksdb::WriteBatch& batch,
                          const stored_record& before, const model::meter& m);
  void drop_meter_rollups(rocksdb::WriteBatch& batch, const std::string& id);
  void purge_meter_cells(read_view& view, rocksdb::WriteBatch& batch,
                         model::millis bound);

  std::shared_ptr<database> db_;
  bool read_only_ = false;
};

/// Adds the hour cells of `delta` to `batch`, as merge operands of the cell
/// documents, and their unique values.
void write_cells(database& d, rocksdb::WriteBatch& batch, const meter_delta& delta);

/// The stored events of `type` with `from <= time < to` of the given subjects
/// (empty: all), in seq order.
std::vector<sequenced_event> events_in(read_view& view, const std::string& type,
                                       model::millis from, model::millis to,
                                       const std::vector<std::string>& subjects);

/// The record of the meter with id or slug `ref` (`by_slug`), if any.
std::optional<stored_record> find_record(read_view& view, const std::string& ref,
                                         bool by_slug);

} // namespace um::storage::rocks
