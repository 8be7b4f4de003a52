#pragma once

// How a meter query is answered from rollups: which stretches of time to read
// at which grain, and how cells and samples fold into result rows. Pure, so
// both backends and every instance compute the same numbers.

#include "model/meter_query.hpp"
#include "model/metering.hpp"
#include "model/rollup_plan.hpp"
#include "model/windows.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

namespace um::model {

/// The stretches of the query's period to read: `raw` spans (partial minutes
/// at the ends, read as events), `minute` spans and `hour` spans (read as
/// rollup cells). Hour cells are used only where every window boundary falls
/// on a whole UTC hour (not for MINUTE windows, nor zones with :30 or :45
/// offsets), so that each cell lies inside one window, and not for an
/// unwindowed query with an open bound, whose row reports the first or last
/// event's minute. The period is the
/// query's, in whole seconds: `[floor(from), floor(to))`.
std::vector<rollup_span> plan_meter_read(const meter_query& q,
                                         const date::time_zone* zone);

/// Folds rollup cells and raw samples into the rows of a query result.
class meter_folder {
public:
  /// `zone` must be the query's zone (not null).
  meter_folder(const meter& m, const meter_query& q, const date::time_zone* zone);

  /// Adds a rollup cell covering `[bucket_start, bucket_end)`.
  void add_cell(const std::string& subject,
                const std::vector<std::optional<std::string>>& group_values,
                millis bucket_start, millis bucket_end, const meter_cell& cell);

  /// Adds one sample of a raw event; it counts only inside the query's period.
  void add_sample(const meter_sample& s, std::int64_t seq);

  /// Takes the rows out, ordered by window, subject and group values; groups
  /// without samples yield no row. The folder is empty afterwards: each group
  /// is freed as its row is made, so the two are never both held whole.
  std::vector<meter_row> take_rows();

  /// An upper bound of the rows so far, exact once it exceeds
  /// `max_query_rows`: cells are appended and merged in passes, and a pass
  /// runs before the count could pass that limit.
  std::size_t size() const { return entries_.size(); }

private:
  struct group {
    meter_cell cell;
    millis first = 0; ///< Earliest bucket start folded in.
    millis last = 0;  ///< Latest bucket end folded in.
  };
  /// A row in the making. Subjects and group values are interned: sorting
  /// and merging compare numbers, not strings scattered over the heap.
  struct entry {
    millis window = 0;
    std::uint32_t subject = 0; ///< Index into `subjects_` (0 when not by subject).
    std::uint32_t values = 0;  ///< Index into `value_lists_`.
    group g;
  };

  /// Entries in blocks of fixed size: appending never moves the stored ones
  /// (a vector of hundreds of thousands would be copied as it grows).
  class entry_blocks {
  public:
    std::size_t size() const { return size_; }
    bool empty() const { return size_ == 0; }
    entry& operator[](std::size_t i) { return blocks_[i / block][i % block]; }
    entry& back() { return blocks_.back().back(); }
    void push_back(entry e);
    void clear();

  private:
    static constexpr std::size_t block = 4096;
    std::vector<std::vector<entry>> blocks_;
    std::size_t size_ = 0;
  };
  /// Where an entry goes among the rows: its window, the ranks of its subject
  /// and group values in their own order, and its place in `entries_`.
  struct sort_key {
    millis window;
    std::uint32_t subject, values, index;
    bool same_row(const sort_key& o) const {
      return window == o.window && subject == o.subject && values == o.values;
    }
    bool operator<(const sort_key& o) const;
  };

  std::uint32_t subject_id(const std::string& subject);
  std::uint32_t values_id(std::vector<std::optional<std::string>> values);
  /// The entries' keys in row order.
  std::vector<sort_key> sorted_keys();
  /// Merges the entries of one row into one.
  void merge_entries();

  const meter& meter_;
  const meter_query& query_;
  const date::time_zone* zone_;
  bool by_subject_ = false;
  std::vector<std::size_t>
      group_indexes_; ///< Requested keys, as indexes into meter_.group_by.
  entry_blocks entries_;
  std::size_t merge_at_; ///< Entry count that triggers the next merge pass.
  std::vector<std::string> subjects_;
  std::unordered_map<std::string, std::uint32_t> subject_ids_;
  std::vector<std::vector<std::optional<std::string>>> value_lists_;
  std::map<std::vector<std::optional<std::string>>, std::uint32_t> value_ids_;
};

} // namespace um::model
