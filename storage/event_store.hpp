#pragma once

#include "model/clock.hpp"
#include "model/event.hpp"
#include "model/event_revision.hpp"
#include "model/meter_query.hpp"
#include "model/metering.hpp"
#include "model/namespaces.hpp"
#include "model/notifications.hpp"
#include "model/portal_tokens.hpp"
#include "model/subjects.hpp"
#include "model/usage.hpp"

#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace um::storage {

/// Why a storage call failed, as far as a caller needs to know.
enum class failure_kind {
  unavailable, ///< Busy, locked, full, read-only or unreachable: may clear by itself.
  conflict,    ///< A unique key is taken (a meter's id or slug).
  not_found,   ///< The object named does not exist (a meter).
  corrupt,     ///< The database file is damaged: needs an operator.
  in_doubt,    ///< The connection broke during COMMIT: it may have landed.
  internal,    ///< A bug or an unexpected driver state.
};

/// The one exception the storage layer throws: drivers' errors are caught at
/// this edge and turned into it, so callers deal with one type.
class storage_error : public std::runtime_error {
public:
  storage_error(failure_kind kind, const std::string& what)
      : std::runtime_error(what), kind_(kind) {}

  /// What kind of failure this is.
  failure_kind kind() const noexcept { return kind_; }

private:
  failure_kind kind_;
};

/// Rollup granularities of meters.
enum class meter_grain { minute, hour };

/// One rollup cell of a meter: the aggregate of the samples of one subject and
/// one combination of group-by values within one bucket.
struct meter_cell_row {
  std::string subject;
  std::vector<std::optional<std::string>>
      group_values;         ///< In the meter's group_by order.
  model::millis bucket = 0; ///< Start of the minute or hour.
  model::meter_cell cell;
};

/// A stored event with its storage sequence number (insertion order).
struct sequenced_event {
  std::int64_t seq = 0;
  model::event event;
};

/// Where and how to open the store.
struct store_options {
  std::string data_dir = "./data"; ///< Holds the embedded database file.
  std::string url;              ///< Empty or `sqlite:PATH`: embedded; else a server URL.
  bool synchronous_full = true; ///< Fsync every commit (power-cut safe).
  bool read_only = false;       ///< A connection that only reads.
  /// PostgreSQL: the schema the store's tables live in (created when
  /// missing); empty: the URL's own search path.
  std::string schema;
};

/// Where the store of namespace `ns` is (model/namespaces.hpp): the default
/// namespace is `base` itself, so a store written before namespaces existed
/// is the default namespace's. Another namespace is a store of its own: in
/// `<data-dir>/namespaces/<ns>/` (embedded, default layout), beside the
/// store a URL names (`rocksdb:P` → `P.namespaces/<ns>`, `sqlite:P` →
/// `P.namespaces/<ns>.db`), or in the schema `ns_<ns>` of the PostgreSQL
/// database. `ns` must be a namespace name.
store_options namespace_options(const store_options& base, const std::string& ns);

/// The durable event store with its rollups. One instance is one connection:
/// not thread-safe; each actor that touches storage owns its own instance.
/// Rollups (per subject, type and minute/hour/day bucket, and totals) are
/// updated in the same transaction as the events, so they never drift from
/// them, survive any crash with them, and need no rebuild at start.
class event_store {
public:
  virtual ~event_store() = default;

  /// Stores `batch` in one transaction, all or nothing, deduplicating on
  /// (source, id); the outcomes follow the order of `batch`.
  virtual model::append_outcomes append(const std::vector<model::event>& batch) = 0;

  /// One page of events matching `filter`, newest first, with the total.
  virtual model::event_page list_events(const model::event_filter& filter) = 0;

  /// Counts of `subject`'s events by type with `since <= time <= until`
  /// (absent bounds are open).
  virtual model::usage_summary summarize(const std::string& subject,
                                         const model::time_range& range) = 0;

  /// The non-empty UTC buckets of `subject`'s events within `range`.
  virtual model::usage_history history(const std::string& subject, model::interval width,
                                       const model::time_range& range) = 0;

  /// Service-wide counts; "last hour" is relative to `now`.
  virtual model::usage_stats stats(model::millis now) = 0;

  /// Removes up to `max_events` of the oldest events with `time < cutoff`
  /// and their rollup counts, in one transaction, and the revisions of
  /// events with `time < cutoff` (a voided id is free again once retention
  /// would have removed it); returns how many events it removed.
  virtual std::size_t purge_before(model::millis cutoff, std::size_t max_events) = 0;

  /// Cheap round trip that throws when the store cannot serve.
  virtual void ping() = 0;

  // -- corrections (docs/API.md, "Corrections") -----------------------------

  /// Voids the stored event (`change.source`, `change.id`), or replaces it
  /// with `change.replacement`, in one transaction: the version that counted
  /// stops counting in every answer (v1 rollups, each meter's cells, the
  /// listings) and is kept as an `event_revision`; a replacement is stored
  /// as a new event (a new seq, `ingested_at` = `change.at`). A voided
  /// (source, id) stays taken: `append` answers it as a duplicate with the
  /// voided version and stores nothing; a replacement makes it count again.
  virtual model::change_outcome change_event(const model::event_change& change) = 0;

  /// The versions voided or superseded whose event passes the filters of
  /// `search` (`model::search_matches`), newest change first, at most
  /// `search.limit`.
  virtual std::vector<model::event_revision>
  event_revisions(const model::event_search& search) = 0;

  // -- metering ------------------------------------------------------------
  // Meters are stored with the events; from the moment a meter is created (in
  // the same transaction as an `append` would see it), every append also
  // updates the meter's rollups (minute and hour cells per subject and group
  // values, unique values for UNIQUE_COUNT). Events stored before that are
  // covered by `backfill_meter`, in chunks, until the meter is ready. Across
  // instances sharing one database, a meter created by one is applied by the
  // appends of all others from its creation on (no event is missed or counted
  // twice).

  /// Every meter, in creation order.
  virtual std::vector<model::stored_meter> meters() = 0;

  /// Stores a new meter (not ready until backfilled). Throws `conflict` when
  /// its id or slug is taken.
  virtual void create_meter(const model::meter& m) = 0;

  /// Replaces a meter's definition (same id). When what it counts changes
  /// (group-by), its rollups are dropped and it is backfilled again. Throws
  /// `not_found`.
  virtual void update_meter(const model::meter& m) = 0;

  /// Applies `update` to the meter with id or slug `id_or_slug` in one
  /// transaction (read, `model::apply_meter_update`, write as `update_meter`
  /// does). Answers the meter as stored, or the update's problems with
  /// nothing written. Throws `not_found`.
  virtual model::validated<model::meter>
  update_meter(const std::string& id_or_slug, const model::meter_update& update) = 0;

  /// Removes the meter with id or slug `id_or_slug` and its rollups; false
  /// when there was none.
  virtual bool delete_meter(const std::string& id_or_slug) = 0;

  /// Rolls up, in one transaction, at most `max_events` of the events the
  /// meter has not covered yet; true once the meter is ready.
  virtual bool backfill_meter(const std::string& id, std::size_t max_events) = 0;

  /// Receives the rows of `each_meter_cell` one at a time; it may move from them.
  using meter_cell_visitor = std::function<void(meter_cell_row&)>;

  /// The rollup cells of a meter with `from <= bucket < to` (aligned to the
  /// grain), of the given subjects (empty: all), each complete with its
  /// unique values, handed to `visit` as they are read (ordered by subject,
  /// then bucket, then group key on RocksDB; by bucket, subject and group key
  /// on SQLite and PostgreSQL), so that a query folding hundreds of
  /// thousands of cells never holds them all.
  virtual void each_meter_cell(const std::string& meter_id, meter_grain grain,
                               model::millis from, model::millis to,
                               const std::vector<std::string>& subjects,
                               const meter_cell_visitor& visit) = 0;

  /// The cells of `each_meter_cell`, collected.
  std::vector<meter_cell_row> meter_cells(const std::string& meter_id, meter_grain grain,
                                          model::millis from, model::millis to,
                                          const std::vector<std::string>& subjects) {
    std::vector<meter_cell_row> out;
    each_meter_cell(meter_id, grain, from, to, subjects,
                    [&out](meter_cell_row& row) { out.push_back(std::move(row)); });
    return out;
  }

  /// The stored events of `type` with `from <= time < to` and one of the
  /// given subjects (empty: all), for the partial minutes at a query's edges.
  virtual std::vector<sequenced_event>
  events_of_type(const std::string& type, model::millis from, model::millis to,
                 const std::vector<std::string>& subjects) = 0;

  /// Events for `GET /api/v1/events` and `/api/v2/events`, newest first (by
  /// time, then seq), after `search.before` when it is set.
  virtual std::vector<sequenced_event>
  search_events(const model::event_search& search) = 0;

  /// The distinct subjects with cells of a meter, sorted.
  virtual std::vector<std::string> meter_subjects(const std::string& meter_id) = 0;

  // -- subjects (`/api/v1/subjects`) ---------------------------------------
  // Stored in their own table beside the events; what they hold does not
  // change what meters count.

  /// Every subject, by key.
  virtual std::vector<model::subject> subjects() = 0;

  /// The subject with this id or key, if any.
  virtual std::optional<model::subject> find_subject(const std::string& id_or_key) = 0;

  /// Applies `changes` in order, in one transaction (`model::apply_subject_upsert`,
  /// new subjects get a fresh id); returns each subject as stored afterwards,
  /// in the order of `changes`.
  virtual std::vector<model::subject>
  upsert_subjects(const std::vector<model::subject_upsert>& changes,
                  model::millis now) = 0;

  /// Removes the subject with this id or key (its events stay); false when
  /// there was none.
  virtual bool delete_subject(const std::string& id_or_key) = 0;

  // -- portal tokens (`/api/v1/portal/tokens`) -----------------------------
  // Tokens are signed (model/portal_tokens.hpp); the store keeps only what
  // listing and invalidation need, never a token's text.

  /// Stores a new token's record.
  virtual void add_portal_token(const model::portal_token& token) = 0;

  /// The record of the token with this id, invalidated or not.
  virtual std::optional<model::portal_token> find_portal_token(const std::string& id) = 0;

  /// The tokens not invalidated, newest first, at most `limit`.
  virtual std::vector<model::portal_token> portal_tokens(std::size_t limit) = 0;

  /// Marks invalidated, at `now`, the tokens `which` names (by id, by
  /// subject, or that id only if it is that subject's); returns how many
  /// were still valid.
  virtual std::size_t invalidate_portal_tokens(const model::portal_invalidation& which,
                                               model::millis now) = 0;
  // -- usage alerts (`/api/v1/notification/...`, model/notifications.hpp) ---
  // Channels, rules and the events (with their deliveries) stored beside the
  // usage of the namespace, in their stored forms. Several instances share
  // them on PostgreSQL: an event is stored once per key, and a due delivery
  // is claimed by one instance at a time.

  /// Every channel, by id.
  virtual std::vector<model::notification_channel> notification_channels() = 0;

  /// Stores `c`, replacing the channel with its id if there is one.
  virtual void put_notification_channel(const model::notification_channel& c) = 0;

  /// Removes the channel with this id; false when there was none.
  virtual bool delete_notification_channel(const std::string& id) = 0;

  /// Every rule, by id.
  virtual std::vector<model::notification_rule> notification_rules() = 0;

  /// Stores `r`, replacing the rule with its id if there is one.
  virtual void put_notification_rule(const model::notification_rule& r) = 0;

  /// Removes the rule with this id; false when there was none.
  virtual bool delete_notification_rule(const std::string& id) = 0;

  /// Stores `e` with its deliveries, unless an event with `key`
  /// (`model::event_key`) is stored already (by this or another instance):
  /// one event per rule, subject, window and threshold. True when stored.
  virtual bool add_notification_event(const model::notification_event& e,
                                      const std::string& key) = 0;

  /// The event with this id, if any.
  virtual std::optional<model::notification_event>
  find_notification_event(const std::string& id) = 0;

  /// The events passing `filter` (`model::notification_event_matches`),
  /// newest first (by `created_at`, then id), the page `filter.offset` and
  /// `filter.limit` name, and how many pass in all.
  virtual std::pair<std::vector<model::notification_event>, std::size_t>
  notification_events(const model::notification_event_filter& filter) = 0;

  /// Takes, in one transaction, up to `max` events with a delivery due at
  /// `now` (`model::next_due(e) <= now`), oldest due first, and moves every
  /// due delivery's `next_attempt_at` to `lease_until`, so that no instance
  /// takes them again before then (an attempt cut short by a crash is
  /// retried once the lease ends; a shared store may take the leases of an
  /// instance it knows is gone sooner). Answers the events as they were
  /// before the lease (their due deliveries still show when they were due; a
  /// delivery taken from an instance that is gone shows as due at `now`).
  virtual std::vector<model::notification_event>
  claim_due_notifications(model::millis now, model::millis lease_until,
                          std::size_t max) = 0;

  /// Replaces the delivery to `d.channel_id` of event `event_id` (a no-op
  /// when the event or the delivery is gone).
  virtual void update_notification_delivery(const std::string& event_id,
                                            const model::notification_delivery& d) = 0;

  /// How many events have a delivery planned (`model::next_due(e)` set):
  /// the alert delivery queue's depth, for `/metrics`. Counted from the
  /// index of due events, without reading the events.
  virtual std::size_t pending_notification_events() = 0;

  /// Stores `subjects` exactly as given (ids and times kept), replacing any
  /// with the same key, in one transaction: how a store's contents move into
  /// another (the import of an embedded SQLite data dir). Backends that are
  /// never an import's target throw `internal`.
  virtual void restore_subjects(const std::vector<model::subject>& subjects);
};

/// Opens (creating and migrating as needed) the store `options` names.
/// Throws `storage_error`.
std::unique_ptr<event_store> open_event_store(const store_options& options);

} // namespace um::storage
