#pragma once

// The PostgreSQL backend's store: one connection and the meters its appends
// apply. Its methods live by responsibility in store.cpp (open, appends,
// retention), reads.cpp (events and usage) and meters.cpp (meters, their
// rollups and queries), revisions.cpp (corrections), notifications.cpp
// (usage alerts); the rules both backends follow are in storage/usage_reads.*
// and storage/meter_rollup.*.

#include "storage/event_store.hpp"
#include "storage/meter_rollup.hpp"
#include "storage/rollup_delta.hpp"

#include <pqxx/pqxx>

#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <set>

namespace um::storage::postgres {

/// The server backend (see `open_postgres_store`).
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
  // Writes (store.cpp).
  model::append_outcomes append_once(const std::vector<model::event>& batch);
  void ensure_partitions(pqxx::transaction_base& tx, const std::set<std::int64_t>& days);
  void ensure_batch_table(pqxx::transaction_base& tx);
  std::optional<std::size_t> purge_partition(model::millis cutoff);
  std::size_t purge_rows(model::millis cutoff, std::size_t max_events);
  void subtract(pqxx::transaction_base& tx, const rollup_delta& delta,
                model::millis cutoff);
  void apply(pqxx::transaction_base& tx, const rollup_delta& delta);
  void drop_empty(pqxx::transaction_base& tx, const rollup_delta& delta);
  void apply(pqxx::transaction_base& tx, const meter_delta& delta);
  void lock_meters(pqxx::transaction_base& tx, bool exclusive);
  void lock_meter_cells(pqxx::transaction_base& tx);

  // Corrections (revisions.cpp).
  std::optional<model::change_outcome> change_once(const model::event_change& change,
                                                   bool cells_locked);
  void rebuild_cells(pqxx::transaction_base& tx, const std::vector<meter_record>& meters,
                     const std::set<touched_hour>& touched);

  // Meters (meters.cpp).
  std::optional<meter_record> find_meter(pqxx::transaction_base& tx,
                                         const std::string& id, bool for_update);
  std::optional<meter_record> find_meter_by_ref(pqxx::transaction_base& tx,
                                                const std::string& id_or_slug);
  void write_meter_update(pqxx::transaction_base& tx, const model::meter& before,
                          const model::meter& m);

  std::unique_ptr<pqxx::connection> conn_;
  std::string meter_lock_; ///< The key of this schema's meter advisory lock.
  active_meters active_;
  // Days whose partition is known to exist, and those the open transaction
  // creates (known once it commits).
  std::set<std::int64_t> known_days_;
  std::set<std::int64_t> creating_days_;
  // The server process whose session holds `batch_in` (0: none yet).
  int batch_table_pid_ = 0;
  // When a claim next looks for deliveries leased by an instance that is
  // gone (notifications.cpp).
  static constexpr model::millis orphan_check_interval_ms = 5'000;
  model::millis next_orphan_check_ = std::numeric_limits<model::millis>::min();
  bool creating_batch_table_ = false;
};

} // namespace um::storage::postgres
