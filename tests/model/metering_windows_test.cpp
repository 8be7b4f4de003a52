#include "model/windows.hpp"

#include <gtest/gtest.h>

#include <random>

namespace {

using namespace um::model;

millis at(std::string_view text) {
  auto t = try_parse_iso8601(text);
  EXPECT_TRUE(t) << text;
  return t.value_or(0);
}

const date::time_zone* zone(std::string_view name) {
  auto z = try_locate_zone(name);
  EXPECT_NE(z, nullptr) << name;
  return z;
}

window w(std::string_view start, std::string_view end) {
  return {at(start), at(end)};
}

std::string show(const window& x) {
  return format_iso8601(x.start) + " .. " + format_iso8601(x.end);
}

#define EXPECT_WINDOW(actual, start, end)                                                \
  do {                                                                                   \
    auto a_ = (actual);                                                                  \
    auto e_ = w(start, end);                                                             \
    EXPECT_EQ(a_, e_) << show(a_) << " != " << show(e_);                                 \
  } while (false)

TEST(windows, names_round_trip) {
  for (auto size :
       {window_size::minute, window_size::hour, window_size::day, window_size::month})
    EXPECT_EQ(try_parse_window_size(window_size_name(size)), size);
  EXPECT_EQ(window_size_name(window_size::month), "MONTH");
  EXPECT_FALSE(try_parse_window_size("day"));
  EXPECT_FALSE(try_parse_window_size("WEEK"));
  EXPECT_FALSE(try_parse_window_size(""));
}

TEST(windows, locates_known_zones_only) {
  EXPECT_NE(try_locate_zone("UTC"), nullptr);
  EXPECT_NE(try_locate_zone("Europe/Berlin"), nullptr);
  EXPECT_EQ(try_locate_zone("Europe/Berlin")->name(), "Europe/Berlin");
  EXPECT_EQ(try_locate_zone("Mars/Olympus_Mons"), nullptr);
  EXPECT_EQ(try_locate_zone("europe/berlin"), nullptr);
  EXPECT_EQ(try_locate_zone(""), nullptr);
  EXPECT_EQ(try_locate_zone("../../etc/passwd"), nullptr);
}

TEST(windows, utc_windows) {
  auto utc = zone("UTC");
  millis t = at("2024-02-29T13:45:30.250Z");
  EXPECT_WINDOW(window_of(t, window_size::minute, utc), "2024-02-29T13:45:00Z",
                "2024-02-29T13:46:00Z");
  EXPECT_WINDOW(window_of(t, window_size::hour, utc), "2024-02-29T13:00:00Z",
                "2024-02-29T14:00:00Z");
  EXPECT_WINDOW(window_of(t, window_size::day, utc), "2024-02-29T00:00:00Z",
                "2024-03-01T00:00:00Z");
  EXPECT_WINDOW(window_of(t, window_size::month, utc), "2024-02-01T00:00:00Z",
                "2024-03-01T00:00:00Z");
  // A window's start belongs to it; its end does not.
  EXPECT_WINDOW(window_of(at("2024-03-01T00:00:00Z"), window_size::day, utc),
                "2024-03-01T00:00:00Z", "2024-03-02T00:00:00Z");
  EXPECT_WINDOW(window_of(at("2024-02-29T23:59:59.999Z"), window_size::day, utc),
                "2024-02-29T00:00:00Z", "2024-03-01T00:00:00Z");
  // Before the epoch.
  EXPECT_WINDOW(window_of(at("1969-12-31T23:59:59.500Z"), window_size::minute, utc),
                "1969-12-31T23:59:00Z", "1970-01-01T00:00:00Z");
}

TEST(windows, month_boundaries) {
  auto utc = zone("UTC");
  EXPECT_WINDOW(window_of(at("2023-02-15T00:00:00Z"), window_size::month, utc),
                "2023-02-01T00:00:00Z", "2023-03-01T00:00:00Z");
  EXPECT_WINDOW(window_of(at("2024-02-29T23:59:59Z"), window_size::month, utc),
                "2024-02-01T00:00:00Z", "2024-03-01T00:00:00Z");
  EXPECT_WINDOW(window_of(at("2024-12-31T23:00:00Z"), window_size::month, utc),
                "2024-12-01T00:00:00Z", "2025-01-01T00:00:00Z");
  EXPECT_WINDOW(window_of(at("2024-01-01T00:00:00Z"), window_size::month, utc),
                "2024-01-01T00:00:00Z", "2024-02-01T00:00:00Z");
  auto berlin = zone("Europe/Berlin");
  // Local March runs from CET midnight to CEST midnight: 31 days less an hour.
  EXPECT_WINDOW(window_of(at("2024-03-15T12:00:00Z"), window_size::month, berlin),
                "2024-02-29T23:00:00Z", "2024-03-31T22:00:00Z");
  // 2024-02-29T23:30Z is already March 1st in Berlin.
  EXPECT_WINDOW(window_of(at("2024-02-29T23:30:00Z"), window_size::month, berlin),
                "2024-02-29T23:00:00Z", "2024-03-31T22:00:00Z");
  EXPECT_WINDOW(window_of(at("2024-02-10T00:00:00Z"), window_size::month, berlin),
                "2024-01-31T23:00:00Z", "2024-02-29T23:00:00Z");
}

TEST(windows, berlin_spring_forward_day_has_23_hours) {
  auto berlin = zone("Europe/Berlin");
  auto day = window_of(at("2024-03-31T12:00:00Z"), window_size::day, berlin);
  EXPECT_WINDOW(day, "2024-03-30T23:00:00Z", "2024-03-31T22:00:00Z");
  EXPECT_EQ(day.end - day.start, 23 * 3'600'000);
  EXPECT_WINDOW(window_of(at("2024-03-30T23:00:00Z"), window_size::day, berlin),
                "2024-03-30T23:00:00Z", "2024-03-31T22:00:00Z");
  EXPECT_WINDOW(window_of(at("2024-03-30T22:59:59Z"), window_size::day, berlin),
                "2024-03-29T23:00:00Z", "2024-03-30T23:00:00Z");
  // Hours stay UTC hours: Berlin's offset is whole hours.
  EXPECT_WINDOW(window_of(at("2024-03-31T01:30:00Z"), window_size::hour, berlin),
                "2024-03-31T01:00:00Z", "2024-03-31T02:00:00Z");
  EXPECT_WINDOW(window_of(at("2024-03-31T00:59:00Z"), window_size::hour, berlin),
                "2024-03-31T00:00:00Z", "2024-03-31T01:00:00Z");
}

TEST(windows, berlin_fall_back_day_has_25_hours) {
  auto berlin = zone("Europe/Berlin");
  auto day = window_of(at("2024-10-27T12:00:00Z"), window_size::day, berlin);
  EXPECT_WINDOW(day, "2024-10-26T22:00:00Z", "2024-10-27T23:00:00Z");
  EXPECT_EQ(day.end - day.start, 25 * 3'600'000);
  // 02:30 local happens twice (00:30Z in CEST, 01:30Z in CET): two hours.
  EXPECT_WINDOW(window_of(at("2024-10-27T00:30:00Z"), window_size::hour, berlin),
                "2024-10-27T00:00:00Z", "2024-10-27T01:00:00Z");
  EXPECT_WINDOW(window_of(at("2024-10-27T01:30:00Z"), window_size::hour, berlin),
                "2024-10-27T01:00:00Z", "2024-10-27T02:00:00Z");
  EXPECT_WINDOW(window_of(at("2024-10-27T22:59:59.999Z"), window_size::day, berlin),
                "2024-10-26T22:00:00Z", "2024-10-27T23:00:00Z");
}

TEST(windows, new_york_days_and_months) {
  auto ny = zone("America/New_York");
  EXPECT_WINDOW(window_of(at("2024-03-10T12:00:00Z"), window_size::day, ny),
                "2024-03-10T05:00:00Z", "2024-03-11T04:00:00Z");
  EXPECT_WINDOW(window_of(at("2024-11-03T12:00:00Z"), window_size::day, ny),
                "2024-11-03T04:00:00Z", "2024-11-04T05:00:00Z");
  // 03:00Z on Jan 1st is still Dec 31st in New York.
  EXPECT_WINDOW(window_of(at("2024-01-01T03:00:00Z"), window_size::month, ny),
                "2023-12-01T05:00:00Z", "2024-01-01T05:00:00Z");
  EXPECT_WINDOW(window_of(at("2024-01-01T03:00:00Z"), window_size::day, ny),
                "2023-12-31T05:00:00Z", "2024-01-01T05:00:00Z");
}

TEST(windows, kolkata_hours_start_at_half_past_utc) {
  auto kolkata = zone("Asia/Kolkata");
  EXPECT_WINDOW(window_of(at("2024-05-01T10:15:00Z"), window_size::hour, kolkata),
                "2024-05-01T09:30:00Z", "2024-05-01T10:30:00Z");
  EXPECT_WINDOW(window_of(at("2024-05-01T10:30:00Z"), window_size::hour, kolkata),
                "2024-05-01T10:30:00Z", "2024-05-01T11:30:00Z");
  EXPECT_WINDOW(window_of(at("2024-05-01T10:15:42Z"), window_size::minute, kolkata),
                "2024-05-01T10:15:00Z", "2024-05-01T10:16:00Z");
  EXPECT_WINDOW(window_of(at("2024-05-01T20:00:00Z"), window_size::day, kolkata),
                "2024-05-01T18:30:00Z", "2024-05-02T18:30:00Z");
  auto nepal = zone("Asia/Kathmandu"); // +05:45
  EXPECT_WINDOW(window_of(at("2024-05-01T10:00:00Z"), window_size::hour, nepal),
                "2024-05-01T09:15:00Z", "2024-05-01T10:15:00Z");
}

TEST(windows, lord_howe_half_hour_dst) {
  auto lh = try_locate_zone("Australia/Lord_Howe");
  if (!lh)
    GTEST_SKIP() << "no Australia/Lord_Howe in tzdata";
  // Clocks go forward 30 minutes at 02:00 local (+10:30) on 2024-10-06, that
  // is 2024-10-05T15:30Z; the local hour 02:00-03:00 lasts 30 minutes.
  EXPECT_WINDOW(window_of(at("2024-10-05T15:00:00Z"), window_size::hour, lh),
                "2024-10-05T14:30:00Z", "2024-10-05T15:30:00Z");
  EXPECT_WINDOW(window_of(at("2024-10-05T15:40:00Z"), window_size::hour, lh),
                "2024-10-05T15:30:00Z", "2024-10-05T16:00:00Z");
  EXPECT_WINDOW(window_of(at("2024-10-05T16:10:00Z"), window_size::hour, lh),
                "2024-10-05T16:00:00Z", "2024-10-05T17:00:00Z");
  auto day = window_of(at("2024-10-06T01:00:00Z"), window_size::day, lh);
  EXPECT_WINDOW(day, "2024-10-05T13:30:00Z", "2024-10-06T13:00:00Z");
  EXPECT_EQ(day.end - day.start, 23 * 3'600'000 + 1'800'000);
  // Back 30 minutes at 02:00 local (+11) on 2024-04-07, 2024-04-06T15:00Z:
  // the local hour 01:00-02:00 gets 30 extra minutes, as its own window.
  EXPECT_WINDOW(window_of(at("2024-04-06T14:40:00Z"), window_size::hour, lh),
                "2024-04-06T14:00:00Z", "2024-04-06T15:00:00Z");
  EXPECT_WINDOW(window_of(at("2024-04-06T15:10:00Z"), window_size::hour, lh),
                "2024-04-06T15:00:00Z", "2024-04-06T15:30:00Z");
  EXPECT_WINDOW(window_of(at("2024-04-06T15:30:00Z"), window_size::hour, lh),
                "2024-04-06T15:30:00Z", "2024-04-06T16:30:00Z");
}

TEST(windows, missing_local_midnight_starts_the_day_at_the_skip) {
  // Santiago moved clocks from 00:00 to 01:00 on 2024-09-08 (-04 to -03).
  auto santiago = try_locate_zone("America/Santiago");
  if (!santiago)
    GTEST_SKIP() << "no America/Santiago in tzdata";
  EXPECT_WINDOW(window_of(at("2024-09-08T12:00:00Z"), window_size::day, santiago),
                "2024-09-08T04:00:00Z", "2024-09-09T03:00:00Z");
  EXPECT_WINDOW(window_of(at("2024-09-08T03:59:59Z"), window_size::day, santiago),
                "2024-09-07T04:00:00Z", "2024-09-08T04:00:00Z");
}

TEST(windows, windows_between_enumerates_consecutive_windows) {
  auto utc = zone("UTC");
  auto hours = windows_between(at("2024-01-01T10:30:00Z"), at("2024-01-01T13:00:00Z"),
                               window_size::hour, utc);
  ASSERT_EQ(hours.size(), 3u);
  EXPECT_WINDOW(hours[0], "2024-01-01T10:00:00Z", "2024-01-01T11:00:00Z");
  EXPECT_WINDOW(hours[2], "2024-01-01T12:00:00Z", "2024-01-01T13:00:00Z");
  EXPECT_EQ(windows_between(at("2024-01-01T10:30:00Z"), at("2024-01-01T13:00:01Z"),
                            window_size::hour, utc)
                .size(),
            4u);
  EXPECT_TRUE(windows_between(5, 5, window_size::minute, utc).empty());
  EXPECT_TRUE(windows_between(6, 5, window_size::minute, utc).empty());
  EXPECT_EQ(windows_between(5, 6, window_size::minute, utc).size(), 1u);

  auto months = windows_between(at("2024-01-15T00:00:00Z"), at("2025-01-01T00:00:00Z"),
                                window_size::month, utc);
  ASSERT_EQ(months.size(), 12u);
  EXPECT_EQ(months[1].end - months[1].start, 29 * 86'400'000LL);

  auto berlin = zone("Europe/Berlin");
  auto days = windows_between(at("2024-10-25T22:00:00Z"), at("2024-10-28T23:00:00Z"),
                              window_size::day, berlin);
  ASSERT_EQ(days.size(), 3u);
  EXPECT_EQ(days[0].end - days[0].start, 24 * 3'600'000);
  EXPECT_EQ(days[1].end - days[1].start, 25 * 3'600'000);
  EXPECT_EQ(days[2].end - days[2].start, 24 * 3'600'000);
}

// Windows of every size and zone tile time: consecutive, non-empty, each
// holding the instants that map to it.
TEST(windows, windows_tile_time_in_every_zone) {
  std::mt19937_64 rng{42};
  for (auto name : {"UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata",
                    "Australia/Lord_Howe", "America/Santiago", "Pacific/Chatham"}) {
    auto z = try_locate_zone(name);
    if (!z)
      continue;
    for (auto size :
         {window_size::minute, window_size::hour, window_size::day, window_size::month}) {
      millis from = at("2024-01-01T00:00:00Z");
      millis span = size == window_size::minute ? 86'400'000LL * 2
                    : size == window_size::hour ? 86'400'000LL * 400
                                                : 86'400'000LL * 800;
      auto all = windows_between(from, from + span, size, z);
      ASSERT_FALSE(all.empty());
      for (std::size_t i = 0; i < all.size(); ++i) {
        ASSERT_LT(all[i].start, all[i].end) << name;
        if (i > 0) {
          ASSERT_EQ(all[i - 1].end, all[i].start) << name << " " << show(all[i]);
        }
        ASSERT_EQ(window_of(all[i].start, size, z), all[i]) << name;
        ASSERT_EQ(window_of(all[i].end - 1, size, z), all[i]) << name;
      }
      std::uniform_int_distribution<millis> pick{from, from + span - 1};
      for (int k = 0; k < 200; ++k) {
        millis t = pick(rng);
        auto x = window_of(t, size, z);
        ASSERT_LE(x.start, t);
        ASSERT_LT(t, x.end);
      }
    }
  }
}

} // namespace
