#pragma once

// What both backends share about meter rollups: how group values are keyed,
// and how a batch of events becomes the cell changes it makes, summed per
// cell and sorted, so that each cell is written once per transaction and
// concurrent writers lock cells in the same order.

#include "model/event.hpp"
#include "model/metering.hpp"
#include "storage/event_store.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

namespace um::storage {

/// Width of a meter rollup bucket, in milliseconds.
model::millis meter_grain_millis(meter_grain g);

/// `n` events as an SQL `LIMIT` (a signed 64-bit integer), saturated.
std::int64_t backfill_limit(std::size_t n);

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

/// Reads a stored meter definition; throws `storage_error` (internal) when
/// it does not parse.
model::meter parse_stored_meter(const std::string& definition);

/// The stored form of a meter definition.
std::string stored_meter_text(const model::meter& m);

} // namespace um::storage
