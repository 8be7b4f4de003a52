#include "model/notification_lists.hpp"

#include <gtest/gtest.h>

namespace {

using namespace um::model;

notification_channel channel(std::string id, millis created, millis updated,
                             bool disabled = false) {
  notification_channel c;
  c.id = std::move(id);
  c.name = "hook " + c.id;
  c.url = "https://example.com/" + c.id;
  c.signing_secret = "whsec_S6g2HLnTwd9AhHwUIMFggVS9OfoPafN8";
  c.created_at = created;
  c.updated_at = updated;
  c.disabled = disabled;
  return c;
}

notification_rule rule(std::string id, std::vector<std::string> channels,
                       bool disabled = false, millis created = 0) {
  notification_rule r;
  r.id = std::move(id);
  r.name = "rule " + r.id;
  r.meter_slug = "api_calls";
  r.thresholds = {100};
  r.channel_ids = std::move(channels);
  r.disabled = disabled;
  r.created_at = r.updated_at = created;
  return r;
}

template <class T>
std::vector<std::string> ids(const std::vector<T>& items) {
  std::vector<std::string> out;
  for (const auto& x : items)
    out.push_back(x.id);
  return out;
}

using strings = std::vector<std::string>;

// ---------------------------------------------------------------------------
// Queries.

TEST(notification_list_query, channel_list_defaults) {
  auto q = parse_channel_list_query({});
  ASSERT_TRUE(q) << q.error;
  EXPECT_FALSE(q.value.include_disabled);
  EXPECT_EQ(q.value.order.by, notification_order_by::id);
  EXPECT_FALSE(q.value.order.descending);
  EXPECT_EQ(q.value.page.page, 1u);
  EXPECT_EQ(q.value.page.page_size, 100u);
}

TEST(notification_list_query, channel_list_reads_every_parameter) {
  auto q = parse_channel_list_query({{"includeDisabled", "true"},
                                     {"order", "DESC"},
                                     {"orderBy", "updatedAt"},
                                     {"page", "3"},
                                     {"pageSize", "20"},
                                     {"includeDeleted", "true"},
                                     {"whatever", "x"}});
  ASSERT_TRUE(q) << q.error;
  EXPECT_TRUE(q.value.include_disabled);
  EXPECT_TRUE(q.value.order.descending);
  EXPECT_EQ(q.value.order.by, notification_order_by::updated_at);
  EXPECT_EQ(q.value.page.page, 3u);
  EXPECT_EQ(q.value.page.page_size, 20u);
}

TEST(notification_list_query, bad_values_name_their_parameter) {
  auto q = parse_channel_list_query({{"includeDisabled", "yes"},
                                     {"order", "asc"},
                                     {"orderBy", "name"},
                                     {"page", "0"},
                                     {"pageSize", "1001"}});
  EXPECT_EQ(q.error, "includeDisabled must be true or false; order must be ASC or DESC; "
                     "orderBy must be id, type, createdAt or updatedAt; page must be an "
                     "integer from 1; pageSize must be an integer from 1 to 1000");
}

TEST(notification_list_query, the_last_value_of_a_single_parameter_counts) {
  auto q = parse_channel_list_query({{"order", "nonsense"}, {"order", "DESC"}});
  ASSERT_TRUE(q) << q.error;
  EXPECT_TRUE(q.value.order.descending);
}

TEST(notification_list_query, rule_list_keeps_every_channel) {
  auto q = parse_rule_list_query({{"channel", "01A"},
                                  {"feature", "ignored"},
                                  {"channel", "01B"},
                                  {"channel", "01A"},
                                  {"orderBy", "createdAt"}});
  ASSERT_TRUE(q) << q.error;
  EXPECT_EQ(q.value.channel_ids, (strings{"01A", "01B"}));
  EXPECT_EQ(q.value.order.by, notification_order_by::created_at);
  EXPECT_EQ(parse_rule_list_query({{"channel", ""}}).error, "channel must not be empty");
}

TEST(notification_list_query, event_list_builds_the_notifier_filter) {
  auto q = parse_event_list_query({{"from", "2026-01-01T00:00:00Z"},
                                   {"to", "2026-01-31T23:59:59.999Z"},
                                   {"subject", "customer-1"},
                                   {"subject", "customer-2"},
                                   {"rule", "01R"},
                                   {"channel", "01C"},
                                   {"channel", "01D"},
                                   {"feature", "ignored"},
                                   {"order", "DESC"},
                                   {"orderBy", "createdAt"},
                                   {"page", "2"},
                                   {"pageSize", "25"}});
  ASSERT_TRUE(q) << q.error;
  const auto& f = q.value.filter;
  EXPECT_EQ(f.from, 1'767'225'600'000);
  EXPECT_EQ(f.to, 1'769'903'999'999);
  EXPECT_EQ(f.subjects, (strings{"customer-1", "customer-2"}));
  EXPECT_EQ(f.rule_ids, (strings{"01R"}));
  EXPECT_EQ(f.channel_ids, (strings{"01C", "01D"}));
  EXPECT_EQ(f.offset, 25u);
  EXPECT_EQ(f.limit, 25u);
  EXPECT_EQ(q.value.page.page, 2u);
}

TEST(notification_list_query, event_list_defaults_to_everything_newest_first) {
  auto q = parse_event_list_query({});
  ASSERT_TRUE(q) << q.error;
  notification_event_filter all;
  EXPECT_EQ(q.value.filter.from, all.from);
  EXPECT_EQ(q.value.filter.to, all.to);
  EXPECT_TRUE(q.value.filter.subjects.empty());
  EXPECT_EQ(q.value.filter.offset, 0u);
  EXPECT_EQ(q.value.filter.limit, 100u);
  EXPECT_TRUE(parse_event_list_query({{"orderBy", "id"}}));
}

TEST(notification_list_query, event_list_problems) {
  EXPECT_EQ(parse_event_list_query({{"from", "yesterday"}, {"to", "2026-01-01"}}).error,
            "from must be an RFC 3339 date-time; to must be an RFC 3339 date-time");
  EXPECT_EQ(parse_event_list_query(
                {{"from", "2026-02-01T00:00:00Z"}, {"to", "2026-01-01T00:00:00Z"}})
                .error,
            "from must not be after to");
  EXPECT_EQ(parse_event_list_query({{"order", "ASC"}}).error,
            "order must be DESC: events are listed newest first");
  EXPECT_EQ(parse_event_list_query({{"order", "up"}}).error, "order must be ASC or DESC");
  EXPECT_EQ(parse_event_list_query({{"orderBy", "updatedAt"}}).error,
            "orderBy must be createdAt or id");
  EXPECT_EQ(parse_event_list_query({{"subject", ""}, {"pageSize", "0"}}).error,
            "subject must not be empty; pageSize must be an integer from 1 to 1000");
}

// ---------------------------------------------------------------------------
// Selection.

TEST(notification_list_select, channels_leave_out_disabled_unless_asked) {
  std::vector<notification_channel> all{channel("01B", 2, 2), channel("01A", 1, 1, true),
                                        channel("01C", 3, 3)};
  channel_list_query q;
  auto page = select_channels(all, q);
  EXPECT_EQ(ids(page.items), (strings{"01B", "01C"}));
  EXPECT_EQ(page.total, 2u);
  q.include_disabled = true;
  EXPECT_EQ(ids(select_channels(all, q).items), (strings{"01A", "01B", "01C"}));
}

TEST(notification_list_select, channels_sort_by_each_field_then_by_id) {
  std::vector<notification_channel> all{channel("01A", 30, 10), channel("01B", 10, 30),
                                        channel("01C", 10, 20)};
  channel_list_query q;
  q.order.by = notification_order_by::created_at;
  EXPECT_EQ(ids(select_channels(all, q).items), (strings{"01B", "01C", "01A"}));
  q.order.descending = true;
  EXPECT_EQ(ids(select_channels(all, q).items), (strings{"01A", "01C", "01B"}));
  q.order.by = notification_order_by::updated_at;
  EXPECT_EQ(ids(select_channels(all, q).items), (strings{"01B", "01C", "01A"}));
  q.order = {notification_order_by::type, true};
  EXPECT_EQ(ids(select_channels(all, q).items), (strings{"01C", "01B", "01A"}));
  q.order = {};
  EXPECT_EQ(ids(select_channels(all, q).items), (strings{"01A", "01B", "01C"}));
}

TEST(notification_list_select, pages_slice_after_filtering) {
  std::vector<notification_channel> all;
  for (char c = 'A'; c <= 'E'; ++c)
    all.push_back(channel(std::string{"01"} + c, 0, 0));
  channel_list_query q;
  q.page = {2, 2};
  auto page = select_channels(all, q);
  EXPECT_EQ(ids(page.items), (strings{"01C", "01D"}));
  EXPECT_EQ(page.total, 5u);
  q.page = {3, 2};
  EXPECT_EQ(ids(select_channels(all, q).items), (strings{"01E"}));
  q.page = {9, 2};
  page = select_channels(all, q);
  EXPECT_TRUE(page.items.empty());
  EXPECT_EQ(page.total, 5u);
}

TEST(notification_list_select, rules_by_channel_and_disabled) {
  std::vector<notification_rule> all{
      rule("01R3", {"01C2"}), rule("01R1", {"01C1", "01C2"}),
      rule("01R2", {"01C3"}, true), rule("01R4", {"01C3"})};
  rule_list_query q;
  EXPECT_EQ(ids(select_rules(all, q).items), (strings{"01R1", "01R3", "01R4"}));
  q.channel_ids = {"01C1", "01C3"};
  auto page = select_rules(all, q);
  EXPECT_EQ(ids(page.items), (strings{"01R1", "01R4"}));
  EXPECT_EQ(page.total, 2u);
  q.include_disabled = true;
  EXPECT_EQ(ids(select_rules(all, q).items), (strings{"01R1", "01R2", "01R4"}));
}

// ---------------------------------------------------------------------------
// Answers.

TEST(notification_list_json, channel_list_is_an_openmeter_page) {
  channel_list_query q;
  q.page = {1, 1};
  auto body =
      notification_channel_list_json({channel("01B", 0, 0), channel("01A", 0, 0)}, q);
  EXPECT_EQ(body["totalCount"], 2);
  EXPECT_EQ(body["page"], 1);
  EXPECT_EQ(body["pageSize"], 1);
  ASSERT_EQ(body["items"].size(), 1u);
  EXPECT_EQ(body["items"][0], notification_channel_json(channel("01A", 0, 0)));
}

TEST(notification_list_json, rule_list_names_channels_from_the_catalog) {
  notification_catalog catalog;
  catalog.channels = {channel("01C1", 0, 0)};
  catalog.rules = {rule("01R1", {"01C1"})};
  auto body = notification_rule_list_json(catalog, {});
  EXPECT_EQ(body["totalCount"], 1);
  EXPECT_EQ(body["items"][0], notification_rule_json(catalog.rules[0], catalog.channels));
  EXPECT_EQ(body["items"][0]["channels"][0]["name"], "hook 01C1");
}

TEST(notification_list_json, events_find_their_rule_in_the_page) {
  notification_event_page page;
  page.channels = {channel("01C1", 0, 0)};
  page.rules = {rule("01R1", {"01C1"})};
  notification_event kept;
  kept.id = "01E2";
  kept.rule_id = "01R1";
  kept.rule_name = "old name";
  kept.meter_slug = "api_calls";
  kept.subject = "customer-1";
  notification_event orphan = kept;
  orphan.id = "01E1";
  orphan.rule_id = "01GONE";
  page.events = {kept, orphan};
  page.total = 7;
  auto body = notification_event_list_json(page, {2, 2});
  EXPECT_EQ(body["totalCount"], 7);
  EXPECT_EQ(body["page"], 2);
  ASSERT_EQ(body["items"].size(), 2u);
  EXPECT_EQ(body["items"][0],
            notification_event_json(kept, &page.rules[0], page.channels));
  EXPECT_EQ(body["items"][1], notification_event_json(orphan, nullptr, page.channels));
  EXPECT_EQ(notification_event_json(kept, page), body["items"][0]);
}

} // namespace
