// GET /api/v2/events: reading its query, the filter semantics, the cursor.

#include "model/event_listing.hpp"

#include <gtest/gtest.h>

namespace {

using namespace um::model;

event ev(std::string id, std::string source, std::string type, std::string subject) {
  event e;
  e.id = std::move(id);
  e.source = std::move(source);
  e.type = std::move(type);
  e.subject = std::move(subject);
  return e;
}

event_listing listing_of(const std::string& filter) {
  auto l = parse_event_listing({{"filter", filter}});
  EXPECT_TRUE(l) << l.error;
  return l.value;
}

TEST(event_listing, defaults_to_a_first_page_of_100) {
  auto l = parse_event_listing({});
  ASSERT_TRUE(l) << l.error;
  EXPECT_EQ(l.value.limit, 100);
  EXPECT_FALSE(l.value.cursor);
  EXPECT_TRUE(listing_matches(l.value, ev("a", "b", "c", "d")));
  auto scan = listing_scan(l.value, 500);
  EXPECT_EQ(scan.limit, 500);
  EXPECT_FALSE(scan.before);
  EXPECT_FALSE(scan.ingested_from);
}

TEST(event_listing, limit_and_cursor_problems_are_openmeters) {
  EXPECT_EQ(parse_event_listing({{"limit", "0"}}).error, "limit must be greater than 0");
  EXPECT_EQ(parse_event_listing({{"limit", "101"}}).error,
            "limit must be less than or equal to 100");
  EXPECT_EQ(parse_event_listing({{"limit", "x"}, {"cursor", "nope"}}).error,
            "cursor: invalid cursor; limit must be an integer");
  EXPECT_EQ(parse_event_listing({{"filter", "{"}}).error, "filter must be a JSON object");
  EXPECT_EQ(
      parse_event_listing({{"filter", R"({"time":{"$gt":"2024-01-01T00:00:00Z"},)"
                                      R"("ingestedAt":{"$lt":"2024-01-01T00:00:00Z"}})"}})
          .error,
      "time and ingested_at cannot both be set");
  auto e =
      parse_event_listing(
          {{"filter",
            R"({"subject":{"$or":[]},"customerId":{"$eq":"c"},"x":1,"id":{"$eq":1}})"}})
          .error;
  EXPECT_NE(e.find("filter.subject.$or is not supported"), std::string::npos) << e;
  EXPECT_NE(e.find("filter.customerId is not supported"), std::string::npos) << e;
  EXPECT_NE(e.find("filter has an unknown field x"), std::string::npos) << e;
  EXPECT_NE(e.find("filter.id.$eq must be a string"), std::string::npos) << e;
}

TEST(event_listing, a_cursor_round_trips) {
  event_position p{-1'000, 42};
  auto back = parse_listing_cursor(listing_cursor_text(p));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->time, -1'000);
  EXPECT_EQ(back->seq, 42);
  auto l = parse_event_listing({{"cursor", listing_cursor_text({1'700'000'000'000, 7})}});
  ASSERT_TRUE(l) << l.error;
  auto scan = listing_scan(l.value, 10);
  ASSERT_TRUE(scan.before);
  EXPECT_EQ(scan.before->seq, 7);
  for (auto bad : {"", "12", "_", "1_", "_1", "a_1", "1_b", "1_2_3"})
    EXPECT_FALSE(parse_listing_cursor(bad)) << bad;
}

TEST(event_listing, string_filters_all_must_hold) {
  auto l = listing_of(R"({"subject":{"$like":"cust%-_"},"type":{"$in":["a","b"]},)"
                      R"("source":{"$ne":"x"},"id":{"$gte":"m"}})");
  EXPECT_TRUE(listing_matches(l, ev("n", "s", "a", "customer-1")));
  EXPECT_FALSE(listing_matches(l, ev("n", "s", "a", "customer-12")));
  EXPECT_FALSE(listing_matches(l, ev("n", "s", "c", "customer-1")));
  EXPECT_FALSE(listing_matches(l, ev("n", "x", "a", "customer-1")));
  EXPECT_FALSE(listing_matches(l, ev("a", "s", "a", "customer-1")));
  auto i = listing_of(R"({"subject":{"$ilike":"%ACME%","$nin":["acme-2"]}})");
  EXPECT_TRUE(listing_matches(i, ev("1", "s", "t", "big-acme-1")));
  EXPECT_FALSE(listing_matches(i, ev("1", "s", "t", "acme-2")));
  EXPECT_FALSE(listing_matches(i, ev("1", "s", "t", "other")));
  auto eq = listing_of(R"({"id":{"$eq":"e1"},"subject":null})");
  EXPECT_TRUE(listing_matches(eq, ev("e1", "s", "t", "u")));
  EXPECT_FALSE(listing_matches(eq, ev("e10", "s", "t", "u")));
}

TEST(event_listing, time_filters_bound_the_scan) {
  auto l = listing_of(
      R"({"time":{"$gt":"2024-01-01T00:00:00Z","$lte":"2024-01-02T00:00:00Z"}})");
  auto scan = listing_scan(l, 100);
  EXPECT_EQ(scan.time_from, 1'704'067'200'000 + 1);
  EXPECT_EQ(scan.time_to, 1'704'153'600'000 + 1);
  EXPECT_FALSE(scan.ingested_from);
  auto ing = listing_of(
      R"({"ingestedAt":{"$gte":"2024-01-01T00:00:00Z","$lt":"2024-01-02T00:00:00Z"}})");
  auto s2 = listing_scan(ing, 100);
  EXPECT_EQ(s2.ingested_from, std::optional<millis>{1'704'067'200'000});
  EXPECT_EQ(s2.ingested_to, std::optional<millis>{1'704'153'600'000});
  EXPECT_EQ(parse_event_listing({{"filter", R"({"time":{"$gt":"yesterday"}})"}}).error,
            "filter.time.$gt must be an RFC 3339 date-time");
}

TEST(event_listing, like_patterns) {
  EXPECT_TRUE(like_matches("", "", false));
  EXPECT_TRUE(like_matches("", "%", false));
  EXPECT_FALSE(like_matches("", "_", false));
  EXPECT_TRUE(like_matches("abc", "a%c", false));
  EXPECT_TRUE(like_matches("abc", "%%c", false));
  EXPECT_TRUE(like_matches("abcbc", "%bc", false));
  EXPECT_FALSE(like_matches("abcb", "%bc", false));
  EXPECT_TRUE(like_matches("a.c", "a_c", false));
  EXPECT_FALSE(like_matches("ABC", "abc", false));
  EXPECT_TRUE(like_matches("ABC", "a%", true));
}

TEST(event_listing, renders_items_and_the_next_cursor) {
  event_listing_page page;
  EXPECT_EQ(event_listing_json(page).dump(), R"({"items":[]})");
  page.next = event_position{5, 6};
  EXPECT_EQ(event_listing_json(page)["nextCursor"], "5_6");
}

} // namespace
