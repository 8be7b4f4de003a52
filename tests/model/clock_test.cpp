#include "model/clock.hpp"

#include <gtest/gtest.h>

#include <random>

namespace {

using um::model::bucket_floor;
using um::model::format_iso8601;
using um::model::human_uptime;
using um::model::millis;
using um::model::try_parse_iso8601;

constexpr millis minute = 60'000;
constexpr millis hour = 3'600'000;
constexpr millis day = 86'400'000;

// 2024-01-15T10:30:00.000Z
constexpr millis jan15_1030 = 1'705'314'600'000;

TEST(clock, formats_epoch_and_known_instants) {
  EXPECT_EQ(format_iso8601(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(format_iso8601(jan15_1030), "2024-01-15T10:30:00.000Z");
  EXPECT_EQ(format_iso8601(jan15_1030 + 7), "2024-01-15T10:30:00.007Z");
  EXPECT_EQ(format_iso8601(1'735'689'599'999), "2024-12-31T23:59:59.999Z");
}

TEST(clock, formats_negative_times) {
  EXPECT_EQ(format_iso8601(-1), "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(format_iso8601(-day), "1969-12-31T00:00:00.000Z");
  EXPECT_EQ(format_iso8601(-14'182'940'000), "1969-07-20T20:17:40.000Z");
  EXPECT_EQ(format_iso8601(-2'203'891'200'000), "1900-03-01T00:00:00.000Z");
}

TEST(clock, formats_leap_days) {
  EXPECT_EQ(format_iso8601(1'709'164'800'000), "2024-02-29T00:00:00.000Z");
  EXPECT_EQ(format_iso8601(1'709'164'800'000 + day), "2024-03-01T00:00:00.000Z");
  EXPECT_EQ(format_iso8601(951'825'600'000), "2000-02-29T12:00:00.000Z");
  // 2100 is not a leap year: the day after Feb 28 is Mar 1.
  EXPECT_EQ(format_iso8601(4'107'542'400'000 - day), "2100-02-28T00:00:00.000Z");
}

TEST(clock, parses_date_only_as_utc_midnight) {
  EXPECT_EQ(try_parse_iso8601("2024-01-15"), jan15_1030 - 10 * hour - 30 * minute);
  EXPECT_EQ(try_parse_iso8601("1970-01-01"), 0);
  EXPECT_EQ(try_parse_iso8601("2024-02-29"), 1'709'164'800'000);
}

TEST(clock, parses_iso) {
  EXPECT_EQ(try_parse_iso8601("2024-01-15T10:30:00Z"), jan15_1030);
  EXPECT_EQ(try_parse_iso8601("2024-01-15T10:30:00.000Z"), jan15_1030);
  EXPECT_EQ(try_parse_iso8601("2024-01-15t10:30:00z"), jan15_1030);
  EXPECT_EQ(try_parse_iso8601("2024-01-15 10:30:00Z"), jan15_1030);
  EXPECT_EQ(try_parse_iso8601("2024-01-15T10:30Z"), jan15_1030);
  EXPECT_EQ(try_parse_iso8601("1969-07-20T20:17:40Z"), -14'182'940'000);
}

TEST(clock, truncates_fractions_to_milliseconds) {
  EXPECT_EQ(try_parse_iso8601("2024-01-15T10:30:00.5Z"), jan15_1030 + 500);
  EXPECT_EQ(try_parse_iso8601("2024-01-15T10:30:00.12Z"), jan15_1030 + 120);
  EXPECT_EQ(try_parse_iso8601("2024-01-15T10:30:00.123Z"), jan15_1030 + 123);
  EXPECT_EQ(try_parse_iso8601("2024-01-15T10:30:00.123999999Z"), jan15_1030 + 123);
  EXPECT_EQ(try_parse_iso8601("2024-01-15T10:30:00,250Z"), jan15_1030 + 250);
}

TEST(clock, applies_offsets) {
  EXPECT_EQ(try_parse_iso8601("2024-01-15T12:30:00+02:00"), jan15_1030);
  EXPECT_EQ(try_parse_iso8601("2024-01-15T12:30:00+0200"), jan15_1030);
  EXPECT_EQ(try_parse_iso8601("2024-01-15T05:00:00-0530"), jan15_1030);
  EXPECT_EQ(try_parse_iso8601("2024-01-15T05:00:00-05:30"), jan15_1030);
  EXPECT_EQ(try_parse_iso8601("2024-01-15T10:30:00+00:00"), jan15_1030);
  EXPECT_EQ(try_parse_iso8601("2024-01-15T12:30:00.042+02:00"), jan15_1030 + 42);
  // An offset can move the instant across a date line.
  EXPECT_EQ(try_parse_iso8601("2024-01-01T01:00:00+02:00"),
            try_parse_iso8601("2023-12-31T23:00:00Z"));
}

TEST(clock, rejects_impossible_dates) {
  EXPECT_FALSE(try_parse_iso8601("2024-02-30"));
  EXPECT_FALSE(try_parse_iso8601("2023-02-29"));
  EXPECT_FALSE(try_parse_iso8601("2100-02-29"));
  EXPECT_FALSE(try_parse_iso8601("2024-04-31"));
  EXPECT_FALSE(try_parse_iso8601("2024-13-01"));
  EXPECT_FALSE(try_parse_iso8601("2024-00-10"));
  EXPECT_FALSE(try_parse_iso8601("2024-01-00"));
  EXPECT_FALSE(try_parse_iso8601("2024-01-15T24:00:00Z"));
  EXPECT_FALSE(try_parse_iso8601("2024-01-15T10:60:00Z"));
  EXPECT_FALSE(try_parse_iso8601("2024-01-15T10:30:61Z"));
  EXPECT_TRUE(try_parse_iso8601("2000-02-29"));
}

TEST(clock, rejects_garbage_and_trailing_junk) {
  for (const char* text :
       {"", "garbage", "2024", "2024-1-15", "2024-01-5", "24-01-15", "2024/01/15",
        "2024-01-15x", "2024-01-15T", "2024-01-15T10", "2024-01-15T10:30:00Zjunk",
        "2024-01-15T10:30:00Z ", "2024-01-15T10:30:00.Z", "2024-01-15T10:30:00+2",
        "2024-01-15T10:30:00+02:00x", "2024-01-15T10:30:00+24:00",
        "2024-01-15T10:30:00+02:60", "2024-01-15T10:30:00 Z", "not-a-date"}) {
    EXPECT_FALSE(try_parse_iso8601(text)) << text;
  }
}

TEST(clock, format_and_parse_round_trip) {
  std::mt19937_64 rng{42};
  std::uniform_int_distribution<millis> any(-2'000'000'000'000, 4'000'000'000'000);
  for (int i = 0; i < 2000; ++i) {
    millis t = any(rng);
    auto text = format_iso8601(t);
    auto back = try_parse_iso8601(text);
    ASSERT_TRUE(back) << text;
    EXPECT_EQ(*back, t) << text;
  }
}

TEST(clock, bucket_floor_aligns_to_utc) {
  EXPECT_EQ(bucket_floor(0, minute), 0);
  EXPECT_EQ(bucket_floor(59'999, minute), 0);
  EXPECT_EQ(bucket_floor(60'000, minute), 60'000);
  EXPECT_EQ(bucket_floor(jan15_1030 + 59 * minute + 1, hour), jan15_1030 + 30 * minute);
  EXPECT_EQ(bucket_floor(jan15_1030, day), jan15_1030 - 10 * hour - 30 * minute);
  EXPECT_EQ(format_iso8601(bucket_floor(jan15_1030 + 123, day)),
            "2024-01-15T00:00:00.000Z");
}

TEST(clock, bucket_floor_handles_negative_times) {
  EXPECT_EQ(bucket_floor(-1, minute), -minute);
  EXPECT_EQ(bucket_floor(-minute, minute), -minute);
  EXPECT_EQ(bucket_floor(-minute - 1, minute), -2 * minute);
  EXPECT_EQ(bucket_floor(-1, day), -day);
  EXPECT_EQ(format_iso8601(bucket_floor(-14'182'940'000, hour)),
            "1969-07-20T20:00:00.000Z");
}

TEST(clock, human_uptime_per_contract) {
  EXPECT_EQ(human_uptime(0), "0s");
  EXPECT_EQ(human_uptime(999), "0s");
  EXPECT_EQ(human_uptime(59'999), "59s");
  EXPECT_EQ(human_uptime(60'000), "1m 0s");
  EXPECT_EQ(human_uptime(61'000), "1m 1s");
  EXPECT_EQ(human_uptime(hour - 1), "59m 59s");
  EXPECT_EQ(human_uptime(hour), "1h 0m");
  EXPECT_EQ(human_uptime(hour + 61'000), "1h 1m");
  EXPECT_EQ(human_uptime(day - 1), "23h 59m");
  EXPECT_EQ(human_uptime(day), "1d 0h");
  EXPECT_EQ(human_uptime(day + hour + minute + 1000), "1d 1h");
  EXPECT_EQ(human_uptime(30 * day + 5 * hour), "30d 5h");
  EXPECT_EQ(human_uptime(-5000), "0s");
}

TEST(clock, intervals_have_wire_names_and_widths) {
  using um::model::interval;
  EXPECT_EQ(um::model::interval_millis(interval::minute), minute);
  EXPECT_EQ(um::model::interval_millis(interval::hour), hour);
  EXPECT_EQ(um::model::interval_millis(interval::day), day);
  for (auto i : {interval::minute, interval::hour, interval::day})
    EXPECT_EQ(um::model::try_parse_interval(um::model::interval_name(i)), i);
  EXPECT_FALSE(um::model::try_parse_interval("week"));
  EXPECT_FALSE(um::model::try_parse_interval("Hour"));
  EXPECT_FALSE(um::model::try_parse_interval(""));
}

} // namespace

TEST(clock, offsets_cannot_leave_the_four_digit_years) {
  using um::model::try_parse_iso8601;
  EXPECT_FALSE(try_parse_iso8601("0000-01-01T00:00:00+23:59"));
  EXPECT_FALSE(try_parse_iso8601("9999-12-31T23:59:59-00:01"));
  EXPECT_TRUE(try_parse_iso8601("0000-01-01T00:00:00Z"));
  EXPECT_TRUE(try_parse_iso8601("0000-01-01T23:59:00+23:59"));
  EXPECT_TRUE(try_parse_iso8601("9999-12-31T23:59:59.999Z"));
  EXPECT_TRUE(try_parse_iso8601("9999-12-31T23:59:59+01:00"));
}
