#include "model/windows.hpp"

#include <chrono>
#include <exception>
#include <string>

namespace um::model {

namespace {

using std::chrono::milliseconds;
using sys_ms = date::sys_time<milliseconds>;
using local_ms = date::local_time<milliseconds>;

sys_ms to_sys_ms(millis t) {
  return sys_ms{milliseconds{t}};
}

millis to_millis(sys_ms t) {
  return t.time_since_epoch().count();
}

// The earliest instant at or after the local time `lt`: for a time that
// exists twice, its first occurrence; for one that does not exist, the
// instant the clocks skipped over it.
millis local_to_millis(local_ms lt, const date::time_zone* zone) {
  return to_millis(zone->to_sys(lt, date::choose::earliest));
}

// Whole local minutes or hours, within the UTC offset in effect at `t`.
window fixed_window(millis t, millis width, const date::time_zone* zone) {
  auto info = zone->get_info(to_sys_ms(t));
  millis offset = std::chrono::duration_cast<milliseconds>(info.offset).count();
  millis start = bucket_floor(t + offset, width) - offset;
  millis end = start + width;
  millis offset_begin = to_millis(date::sys_time<milliseconds>{info.begin});
  millis offset_end = to_millis(date::sys_time<milliseconds>{info.end});
  if (start < offset_begin)
    start = offset_begin;
  if (end > offset_end)
    end = offset_end;
  return {start, end};
}

window calendar_window(millis t, window_size size, const date::time_zone* zone) {
  auto local = zone->to_local(to_sys_ms(t));
  date::year_month_day ymd{date::floor<date::days>(local)};
  date::local_days first, next;
  if (size == window_size::day) {
    first = date::local_days{ymd};
    next = first + date::days{1};
  } else {
    auto ym = ymd.year() / ymd.month();
    first = date::local_days{ym / 1};
    next = date::local_days{(ym + date::months{1}) / 1};
  }
  return {local_to_millis(local_ms{first}, zone), local_to_millis(local_ms{next}, zone)};
}

} // namespace

std::string_view window_size_name(window_size size) {
  switch (size) {
  case window_size::minute:
    return "MINUTE";
  case window_size::hour:
    return "HOUR";
  case window_size::day:
    return "DAY";
  case window_size::month:
    return "MONTH";
  }
  return "MINUTE";
}

std::optional<window_size> try_parse_window_size(std::string_view text) {
  for (auto size :
       {window_size::minute, window_size::hour, window_size::day, window_size::month})
    if (window_size_name(size) == text)
      return size;
  return std::nullopt;
}

const date::time_zone* try_locate_zone(std::string_view name) {
  if (name.empty())
    return nullptr;
  try {
    return date::locate_zone(std::string{name});
  } catch (const std::exception&) {
    return nullptr;
  }
}

window window_of(millis t, window_size size, const date::time_zone* zone) {
  switch (size) {
  case window_size::minute:
    return fixed_window(t, 60'000, zone);
  case window_size::hour:
    return fixed_window(t, 3'600'000, zone);
  case window_size::day:
  case window_size::month:
    return calendar_window(t, size, zone);
  }
  return {t, t};
}

std::vector<window> windows_between(millis from, millis to, window_size size,
                                    const date::time_zone* zone) {
  std::vector<window> result;
  if (from >= to)
    return result;
  for (auto w = window_of(from, size, zone);; w = window_of(w.end, size, zone)) {
    result.push_back(w);
    if (w.end >= to)
      break;
  }
  return result;
}

} // namespace um::model
