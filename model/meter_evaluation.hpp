#pragma once

// How a meter query is answered from rollups: which stretches of time to read
// at which grain, and how cells and samples fold into result rows. Pure, so
// both backends and every instance compute the same numbers.

#include "model/meter_query.hpp"
#include "model/metering.hpp"
#include "model/rollup_plan.hpp"
#include "model/windows.hpp"

#include <map>
#include <optional>
#include <string>
#include <tuple>
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

  /// The rows, ordered by window, subject and group values; groups without
  /// samples yield no row.
  std::vector<meter_row> rows() const;

  /// How many rows there are so far.
  std::size_t size() const { return groups_.size(); }

private:
  using key = std::tuple<millis, std::optional<std::string>,
                         std::vector<std::optional<std::string>>>;
  struct group {
    meter_cell cell;
    millis first = 0; ///< Earliest bucket start folded in.
    millis last = 0;  ///< Latest bucket end folded in.
  };

  const meter& meter_;
  const meter_query& query_;
  const date::time_zone* zone_;
  bool by_subject_ = false;
  std::vector<std::size_t>
      group_indexes_; ///< Requested keys, as indexes into meter_.group_by.
  std::map<key, group> groups_;
};

} // namespace um::model
