#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace um::model {

/// Milliseconds since the Unix epoch, UTC. The one time type of the service.
using millis = std::int64_t;

/// Wall-clock time now, in milliseconds since the epoch.
millis now_millis();

/// Formats `t` as ISO 8601 UTC with milliseconds: `2024-01-15T10:30:00.000Z`.
std::string format_iso8601(millis t);

/// Appends `format_iso8601(t)` to `out`.
void append_iso8601(std::string& out, millis t);

/// The first and last instants a timestamp may name: those written with a
/// four-digit year in UTC (`0000-01-01T00:00:00.000Z` to
/// `9999-12-31T23:59:59.999Z`).
inline constexpr millis earliest_timestamp = -62'167'219'200'000;
inline constexpr millis latest_timestamp = 253'402'300'799'999;

/// Parses an ISO 8601 / RFC 3339 date or date-time (`2024-01-15`,
/// `2024-01-15T10:30:00Z`, `...T10:30:00.123+02:00`). Fractions beyond
/// milliseconds are truncated. Returns nothing when the text is not a valid
/// date, or names an instant outside the four-digit years in UTC.
std::optional<millis> try_parse_iso8601(std::string_view text);

/// Bucket widths of the v1 history API.
enum class interval { minute, hour, day };

/// Width of one bucket of `i`, in milliseconds.
constexpr millis interval_millis(interval i) {
  switch (i) {
  case interval::minute:
    return 60'000;
  case interval::hour:
    return 3'600'000;
  case interval::day:
    return 86'400'000;
  }
  return 0;
}

/// The wire name of `i` (`minute`, `hour`, `day`).
std::string_view interval_name(interval i);

/// Parses a wire name of an interval.
std::optional<interval> try_parse_interval(std::string_view text);

/// Start of the UTC-aligned bucket of width `width` that contains `t`:
/// `floor(t / width) * width`, correct for times before the epoch too.
constexpr millis bucket_floor(millis t, millis width) {
  millis q = t / width;
  if (t % width != 0 && t < 0)
    --q;
  return q * width;
}

/// Human form of an uptime: `<d>d <h>h` from one day, `<h>h <m>m` from one
/// hour, `<m>m <s>s` from one minute, else `<s>s`.
std::string human_uptime(millis elapsed);

} // namespace um::model
