#include "model/clock.hpp"

#include <chrono>
#include <cstdio>

namespace um::model {

namespace {

// Howard Hinnant's days_from_civil: exact for the proleptic Gregorian calendar.
constexpr std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

struct civil {
  std::int64_t year;
  unsigned month;
  unsigned day;
};

constexpr civil civil_from_days(std::int64_t z) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp + (mp < 10 ? 3 : -9);
  return {y + (m <= 2), m, d};
}

constexpr bool is_leap(std::int64_t y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

constexpr unsigned days_in_month(std::int64_t y, unsigned m) {
  constexpr unsigned days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

// A cursor over the text with the few primitives ISO 8601 needs.
struct scanner {
  std::string_view text;
  std::size_t pos = 0;

  bool done() const { return pos == text.size(); }
  char peek() const { return done() ? '\0' : text[pos]; }
  bool eat(char c) {
    if (peek() != c)
      return false;
    ++pos;
    return true;
  }
  bool digits(std::size_t n, unsigned& out) {
    if (text.size() - pos < n)
      return false;
    unsigned v = 0;
    for (std::size_t i = 0; i < n; ++i) {
      char c = text[pos + i];
      if (c < '0' || c > '9')
        return false;
      v = v * 10 + static_cast<unsigned>(c - '0');
    }
    pos += n;
    out = v;
    return true;
  }
};

} // namespace

millis now_millis() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

void append_iso8601(std::string& out, millis t) {
  const millis day_ms = 86'400'000;
  std::int64_t days = bucket_floor(t, day_ms) / day_ms;
  millis in_day = t - days * day_ms;
  auto date = civil_from_days(days);
  unsigned ms = static_cast<unsigned>(in_day % 1000);
  unsigned secs = static_cast<unsigned>(in_day / 1000);
  if (date.year < 0 || date.year > 9999) {
    char buf[48];
    std::snprintf(buf, sizeof(buf), "%04lld-%02u-%02uT%02u:%02u:%02u.%03uZ",
                  static_cast<long long>(date.year), date.month, date.day, secs / 3600,
                  (secs / 60) % 60, secs % 60, ms);
    out += buf;
    return;
  }
  // Timestamps are formatted for every log line and every returned bucket:
  // digits by hand, not through printf.
  char buf[] = "0000-00-00T00:00:00.000Z";
  auto put = [&buf](int at, unsigned value, int width) {
    for (int i = width - 1; i >= 0; --i, value /= 10)
      buf[at + i] = static_cast<char>('0' + value % 10);
  };
  put(0, static_cast<unsigned>(date.year), 4);
  put(5, date.month, 2);
  put(8, date.day, 2);
  put(11, secs / 3600, 2);
  put(14, (secs / 60) % 60, 2);
  put(17, secs % 60, 2);
  put(20, ms, 3);
  out.append(buf, sizeof(buf) - 1);
}

std::string format_iso8601(millis t) {
  std::string out;
  out.reserve(24);
  append_iso8601(out, t);
  return out;
}

std::optional<millis> try_parse_iso8601(std::string_view text) {
  scanner s{text};
  unsigned year = 0, month = 0, day = 0;
  if (!s.digits(4, year) || !s.eat('-') || !s.digits(2, month) || !s.eat('-') ||
      !s.digits(2, day))
    return std::nullopt;
  if (month < 1 || month > 12 || day < 1 || day > days_in_month(year, month))
    return std::nullopt;
  millis result = days_from_civil(year, month, day) * 86'400'000;
  if (s.done())
    return result;
  if (!s.eat('T') && !s.eat('t') && !s.eat(' '))
    return std::nullopt;
  unsigned hour = 0, minute = 0, second = 0, fraction_ms = 0;
  if (!s.digits(2, hour) || !s.eat(':') || !s.digits(2, minute))
    return std::nullopt;
  if (s.eat(':') && !s.digits(2, second))
    return std::nullopt;
  if (hour > 23 || minute > 59 || second > 60)
    return std::nullopt;
  if (s.eat('.') || s.eat(',')) {
    std::size_t count = 0;
    unsigned digit = 0;
    while (s.digits(1, digit)) {
      if (count < 3)
        fraction_ms = fraction_ms * 10 + digit;
      ++count;
    }
    if (count == 0)
      return std::nullopt;
    for (; count < 3; ++count)
      fraction_ms *= 10;
  }
  result += ((hour * 60 + minute) * 60 + second) * 1000LL + fraction_ms;
  if (s.eat('Z') || s.eat('z'))
    return s.done() ? std::optional<millis>{result} : std::nullopt;
  char sign = s.peek();
  // A `+` sent unescaped in a query string arrives form-decoded as a space.
  if (sign == ' ')
    sign = '+';
  if (sign != '+' && sign != '-')
    return std::nullopt;
  ++s.pos;
  unsigned off_h = 0, off_m = 0;
  if (!s.digits(2, off_h))
    return std::nullopt;
  s.eat(':');
  if (!s.digits(2, off_m) || off_h > 23 || off_m > 59 || !s.done())
    return std::nullopt;
  millis offset = (off_h * 60 + off_m) * 60'000LL;
  result = sign == '+' ? result - offset : result + offset;
  // An offset can carry a four-digit local date out of the years a
  // timestamp is written in (`0000-01-01T00:00:00+23:59` is in year -1):
  // such an instant could not be given back as it came, so it is invalid.
  if (result < earliest_timestamp || result > latest_timestamp)
    return std::nullopt;
  return result;
}

std::string_view interval_name(interval i) {
  switch (i) {
  case interval::minute:
    return "minute";
  case interval::hour:
    return "hour";
  case interval::day:
    return "day";
  }
  return "hour";
}

std::optional<interval> try_parse_interval(std::string_view text) {
  if (text == "minute")
    return interval::minute;
  if (text == "hour")
    return interval::hour;
  if (text == "day")
    return interval::day;
  return std::nullopt;
}

std::string human_uptime(millis elapsed) {
  std::int64_t secs = elapsed < 0 ? 0 : elapsed / 1000;
  std::int64_t d = secs / 86400, h = (secs / 3600) % 24, m = (secs / 60) % 60,
               s = secs % 60;
  if (d > 0)
    return std::to_string(d) + "d " + std::to_string(h) + "h";
  if (secs >= 3600)
    return std::to_string(secs / 3600) + "h " + std::to_string(m) + "m";
  if (secs >= 60)
    return std::to_string(secs / 60) + "m " + std::to_string(s) + "s";
  return std::to_string(s) + "s";
}

} // namespace um::model
