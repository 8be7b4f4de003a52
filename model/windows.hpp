#pragma once

#include "model/clock.hpp"

#include <date/tz.h>

#include <optional>
#include <string_view>
#include <vector>

namespace um::model {

/// Tumbling window sizes of a meter query.
enum class window_size { minute, hour, day, month };

/// The wire name of `size` (`MINUTE`, `HOUR`, `DAY`, `MONTH`).
std::string_view window_size_name(window_size size);

/// Parses a wire name of a window size (exact, upper case).
std::optional<window_size> try_parse_window_size(std::string_view text);

/// The IANA time zone named `name` from the system's tzdata
/// (/usr/share/zoneinfo), or nullptr when there is none by that name.
/// Never throws.
const date::time_zone* try_locate_zone(std::string_view name);

/// A half-open interval of time, `[start, end)`.
struct window {
  millis start = 0;
  millis end = 0;

  friend bool operator==(const window& a, const window& b) {
    return a.start == b.start && a.end == b.end;
  }
};

/// The tumbling window of `size` in `zone` that contains `t`.
///
/// - MINUTE and HOUR align to whole local minutes and hours, so in a +05:30
///   zone hours start at :30 UTC. A window never spans a change of UTC offset:
///   where the offset changes within a local hour (30-minute DST shifts, or
///   the repeated hour when clocks go back), the window ends or starts at the
///   change, so windows always tile time without overlap.
/// - DAY starts at local midnight and lasts until the next one (23 or 25 hours
///   across DST changes); MONTH starts at local midnight on the 1st.
/// - A local midnight that does not exist (clocks skip it) is replaced by the
///   first instant of that day; a repeated one by its earlier occurrence.
///
/// `zone` must not be null (see `try_locate_zone`).
window window_of(millis t, window_size size, const date::time_zone* zone);

/// The consecutive windows from the one containing `from` up to the one
/// containing the last instant before `to`; empty when `from >= to`. The
/// caller bounds the count (a year of minutes is half a million windows).
std::vector<window> windows_between(millis from, millis to, window_size size,
                                    const date::time_zone* zone);

} // namespace um::model
