#pragma once

// What both backends share about meter rollups: how group values are keyed,
// how a batch of events becomes the cell changes it makes, summed per cell
// and sorted, so that each cell is written once per transaction and
// concurrent writers lock cells in the same order; how a backfill chunk
// moves its cursor; how cells read back reach a query; which meters appends
// apply. The backends differ only in the SQL around these.

#include "model/event.hpp"
#include "model/metering.hpp"
#include "storage/event_store.hpp"

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

namespace um::storage {

/// Width of a meter rollup bucket, in milliseconds.
model::millis meter_grain_millis(meter_grain g);

/// The stored key of a combination of group values: a compact JSON array,
/// `null` for a missing value (`["gpt-4",null]`, `[]` without group-by).
std::string meter_group_key(const std::vector<std::optional<std::string>>& values);

/// Reads back what `meter_group_key` wrote; throws `storage_error` (internal)
/// on anything else.
std::vector<std::optional<std::string>> parse_meter_group_key(const std::string& key);

/// Whether `before` and `after` count the same samples into the same cells,
/// so that a stored meter's rollups stay valid under `after`.
bool same_meter_counting(const model::meter& before, const model::meter& after);

/// A meter as an append applies it.
struct active_meter {
  std::string id;
  model::meter definition;
};

/// The cell changes of one transaction, keyed (meter id, bucket, subject,
/// group key) per grain, in sorted order.
struct meter_delta {
  using key = std::tuple<std::string, model::millis, std::string, std::string>;

  std::map<key, model::meter_cell> cells[2]; ///< Indexed by `meter_grain`.

  /// Adds what the stored event `e` with sequence number `seq` contributes to
  /// each of `meters` (its data parsed once).
  void add_event(const std::vector<active_meter>& meters, const model::event& e,
                 std::int64_t seq);

  /// Adds one sample of the meter `meter_id`.
  void add_sample(const std::string& meter_id, const model::meter_sample& s,
                  std::int64_t seq);

  bool empty() const { return cells[0].empty(); }
};

/// The position of a meter's backfill: events with `cursor < seq <= until`
/// are still to be rolled up.
struct backfill_position {
  std::int64_t until = 0;
  std::int64_t cursor = 0;

  /// Whether its rollups cover every event stored before it.
  bool ready() const { return cursor >= until; }
};

/// A stored meter with its backfill position.
struct meter_record {
  std::string id;
  model::meter definition;
  backfill_position position;
};

/// Whether the rollups of a meter at `p` count the event stored under `seq`:
/// those before its creation that the backfill has read, and every later one.
inline bool rollups_cover(const backfill_position& p, std::int64_t seq) {
  return !(p.cursor < seq && seq <= p.until);
}

/// One subject's hour of one meter: the unit in which an event change
/// rebuilds cells (its minute cells, its hour cell and their unique values).
struct touched_hour {
  std::string meter_id;
  std::string subject;
  model::millis hour = 0;

  bool operator<(const touched_hour& o) const {
    return std::tie(meter_id, subject, hour) < std::tie(o.meter_id, o.subject, o.hour);
  }
};

/// The hours whose cells change when `before` stops counting and `after`
/// (when not null) starts: for each meter of either event's type, the
/// subject and hour of each. MIN, MAX, LATEST and UNIQUE_COUNT cannot
/// subtract a sample, so every backend rebuilds these hours from the events
/// that count after the change (`rebuild_hour`), for all seven aggregations
/// alike.
std::set<touched_hour> touched_hours(const std::vector<meter_record>& meters,
                                     const model::event& before,
                                     const model::event* after);

/// The cells of one touched hour of `meter`, rebuilt from `events`: those of
/// the meter's type and the hour's subject within the hour that count after
/// the change (the replacement included), of which it adds those the
/// meter's rollups cover.
meter_delta rebuild_hour(const meter_record& meter, const touched_hour& hour,
                         const std::vector<sequenced_event>& events);

/// One chunk of a backfill: the events a backend reads for it (of the
/// meter's type, `cursor < seq <= until`, in seq order, at most `limit()`),
/// their cell changes, and where the cursor moves.
class backfill_chunk {
public:
  backfill_chunk(meter_record meter, std::size_t max_events);

  /// Whether there is nothing left to read: the meter is ready.
  bool done() const { return meter_.position.ready(); }

  /// The meter being back-filled.
  const meter_record& meter() const { return meter_; }

  /// The most events to read, as an SQL `LIMIT`.
  std::int64_t limit() const;

  /// Adds one event read, in seq order.
  void add(std::int64_t seq, const model::event& e);

  /// The cell changes of the events read.
  const meter_delta& delta() const { return delta_; }

  /// The cursor after this chunk: `until` once fewer events than asked for
  /// came back, else the last seq read.
  std::int64_t next_cursor() const;

private:
  meter_record meter_;
  std::vector<active_meter> one_;
  std::size_t max_events_;
  std::size_t read_ = 0;
  std::int64_t last_ = 0;
  meter_delta delta_;
};

/// Hands the cells every backend reads to an `each_meter_cell` visitor: the
/// unique values first (`add_unique`; only UNIQUE_COUNT meters have any),
/// then each cell (`add_cell`), completed with its values and its group
/// values parsed (once per group key), as it is read.
class meter_cell_stream {
public:
  explicit meter_cell_stream(const event_store::meter_cell_visitor& visit)
      : visit_(visit) {}

  /// Keeps a unique value for the cell it belongs to.
  void add_unique(model::millis bucket, const std::string& subject,
                  const std::string& group_key, std::string value);

  /// Hands one cell to the visitor; `group_key` as `meter_group_key` wrote it.
  void add_cell(model::millis bucket, const std::string& subject,
                const std::string& group_key, model::meter_cell cell);

private:
  const event_store::meter_cell_visitor& visit_;
  meter_cell_row row_;
  std::map<std::string, std::vector<std::optional<std::string>>> groups_;
  std::map<std::tuple<model::millis, std::string, std::string>, std::set<std::string>>
      uniques_;
};

/// The meters appends apply, as of a version of the set of meters that the
/// backends bump in the transaction of every change.
class active_meters {
public:
  /// Whether the cached list is of `version`.
  bool current(std::int64_t version) const { return loaded_ && version == version_; }

  /// Replaces the list with that of `version`.
  void load(std::int64_t version, std::vector<active_meter> meters);

  /// The cached meters.
  const std::vector<active_meter>& list() const { return meters_; }

private:
  std::vector<active_meter> meters_;
  std::int64_t version_ = 0;
  bool loaded_ = false;
};

/// Reads a stored meter definition (`model::from_storage_form`, either
/// version); throws `storage_error` (internal) when it does not parse.
model::meter parse_stored_meter(const std::string& definition);

/// The stored form of a meter definition (`model::to_storage_form`).
std::string stored_meter_text(const model::meter& m);

} // namespace um::storage
