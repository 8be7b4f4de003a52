#pragma once

// Bounds and limits both backends bind the same way, so that an open or
// out-of-range value means the same on each.

#include "model/clock.hpp"
#include "model/meter_query.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>

namespace um::storage {

/// `n` as an SQL `LIMIT` (a signed 64-bit integer), saturated.
inline std::int64_t sql_limit(std::size_t n) {
  constexpr auto most = std::numeric_limits<std::int64_t>::max();
  return n > static_cast<std::size_t>(most) ? most : static_cast<std::int64_t>(n);
}

/// A listing's `limit` as an SQL `LIMIT`: a negative one means none.
inline std::int64_t page_limit(int limit) {
  return limit < 0 ? std::numeric_limits<std::int64_t>::max() : limit;
}

/// A listing's `offset` as an SQL `OFFSET`: a negative one means none.
inline std::int64_t page_offset(int offset) {
  return std::max(0, offset);
}

/// An event search's `limit` as an SQL `LIMIT`: never negative.
inline std::int64_t search_limit(int limit) {
  return std::max(0, limit);
}

/// The ingestion times an event search admits, `[from, to)`, open bounds
/// widened to every time.
struct ingested_range {
  model::millis from = std::numeric_limits<model::millis>::min();
  model::millis to = std::numeric_limits<model::millis>::max();
};

/// The ingestion range of `search`.
inline ingested_range ingested_range_of(const model::event_search& search) {
  return {search.ingested_from.value_or(std::numeric_limits<model::millis>::min()),
          search.ingested_to.value_or(std::numeric_limits<model::millis>::max())};
}

} // namespace um::storage
