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
#include <string_view>
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

/// Gathers the cells a backend reads for a meter query, then attaches the
/// values of UNIQUE_COUNT meters to them. Rows of one group key share its
/// parsed values; the lookup from (bucket, subject, group key) to a row is
/// built only when the first unique value arrives, so the common meters,
/// which have none, never pay for it.
class meter_cell_collector {
public:
  /// Adds a cell and returns its row, for the caller to fill in `cell`.
  meter_cell_row& add(model::millis bucket, std::string subject,
                      const std::string& group_key);

  /// Adds `value` to the unique values of the row read for (bucket, subject,
  /// group key), if there is one. Call after every `add`.
  void add_unique(model::millis bucket, const std::string& subject,
                  const std::string& group_key, std::string value);

  /// The rows, in the order they were added.
  std::vector<meter_cell_row> take() { return std::move(rows_); }

private:
  std::uint32_t key_id(const std::string& group_key);

  std::vector<meter_cell_row> rows_;
  std::vector<std::uint32_t> row_keys_; ///< Group key id of each row.
  std::map<std::string, std::uint32_t> key_ids_;
  std::vector<std::vector<std::optional<std::string>>> key_values_;
  std::map<std::tuple<model::millis, std::string_view, std::uint32_t>, std::size_t>
      index_;
  bool indexed_ = false;
};

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
