#pragma once

// The lists of the notification API (`GET /api/v1/notification/channels`,
// `.../rules`, `.../events`): their query strings, and the filtering,
// ordering and paging of what the notifier answers. The notifier keeps
// channels and rules by id and pages events itself (newest first); what a
// client asks beyond that is done here, so the HTTP handlers only translate.

#include "model/notifications.hpp"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

namespace um::model {

/// A query string as (name, value) pairs in order, repeated names kept
/// (`?channel=a&channel=b`).
using query_pair_list = std::vector<std::pair<std::string, std::string>>;

/// What a list of channels or rules is sorted by (OpenMeter's `orderBy`).
enum class notification_order_by {
  id,         ///< `id`: ULIDs, so creation order to the millisecond.
  type,       ///< `type`: every channel (rule) has the same one; then by id.
  created_at, ///< `createdAt`, then by id.
  updated_at, ///< `updatedAt`, then by id.
};

/// How a list of channels or rules is ordered: `orderBy` and `order`.
struct notification_list_order {
  notification_order_by by = notification_order_by::id; ///< Default `id`.
  bool descending = false;                              ///< Default `ASC`.
};

/// The query of `GET /api/v1/notification/channels`.
struct channel_list_query {
  bool include_disabled = false; ///< `includeDisabled`: also disabled channels.
  notification_list_order order;
  page_request page;
};

/// The query of `GET /api/v1/notification/rules`.
struct rule_list_query {
  bool include_disabled = false; ///< `includeDisabled`: also disabled rules.
  /// `channel` (repeatable): only rules delivering to any of these; empty: all.
  std::vector<std::string> channel_ids;
  notification_list_order order;
  page_request page;
};

/// The query of `GET /api/v1/notification/events`: what the notifier is
/// asked (its offset and limit from the page) and the page as answered.
struct event_list_query {
  notification_event_filter filter;
  page_request page;
};

/// Reads the query of the channel list: `includeDisabled` (`true` or
/// `false`, default false), `order` (`ASC` or `DESC`, default ASC), `orderBy`
/// (`id`, `type`, `createdAt` or `updatedAt`, default id), `page` and
/// `pageSize` (`parse_page_request`). The last value of a repeated name
/// counts; other names (OpenMeter's `includeDeleted`: deleted channels are
/// gone) are ignored. Problems name the parameter, joined with "; ".
validated<channel_list_query> parse_channel_list_query(const query_pair_list& params);

/// Reads the query of the rule list: as the channel list's, and `channel`
/// (repeatable, each a non-empty id). OpenMeter's `feature` (rules here are
/// about meters, not features) and `includeDeleted` are ignored.
validated<rule_list_query> parse_rule_list_query(const query_pair_list& params);

/// Reads the query of the event list: `from` and `to` (RFC 3339, both
/// inclusive, `from` not after `to`), `subject`, `rule` and `channel` (each
/// repeatable, non-empty), `page` and `pageSize`, `order` (`DESC` only:
/// events are listed newest first, and an ascending order could not be paged
/// consistently while events arrive) and `orderBy` (`createdAt` or `id`,
/// the same order since ids are ULIDs made at creation). `feature` is
/// ignored.
validated<event_list_query> parse_event_list_query(const query_pair_list& params);

/// A page of a list and how many items passed its filters in all.
template <class T>
struct list_slice {
  std::vector<T> items; ///< The page's items, in the list's order.
  std::size_t total = 0;
};

/// The page of `channels` that `q` asks for: disabled ones left out unless
/// asked for, sorted by `q.order`, then sliced.
list_slice<notification_channel>
select_channels(std::vector<notification_channel> channels, const channel_list_query& q);

/// The page of `rules` that `q` asks for: disabled ones left out unless asked
/// for, only those delivering to one of `q.channel_ids` when any are given,
/// sorted by `q.order`, then sliced.
list_slice<notification_rule> select_rules(std::vector<notification_rule> rules,
                                           const rule_list_query& q);

/// The answer of the channel list: `notification_page_json` of the page
/// `select_channels` picks, each as `notification_channel_json`.
nlohmann::ordered_json
notification_channel_list_json(std::vector<notification_channel> channels,
                               const channel_list_query& q);

/// The answer of the rule list: `notification_page_json` of the page
/// `select_rules` picks from `catalog.rules`, each as
/// `notification_rule_json` naming its channels from `catalog.channels`.
nlohmann::ordered_json notification_rule_list_json(notification_catalog catalog,
                                                   const rule_list_query& q);

/// An event of `page` as `notification_event_json`, with its rule looked up
/// among `page.rules` (none when the rule is gone) and its channels among
/// `page.channels`.
nlohmann::ordered_json notification_event_json(const notification_event& e,
                                               const notification_event_page& page);

/// The answer of the event list: `notification_page_json` of `page.events`
/// (already the page `p` asked for) with `page.total` as the total count.
nlohmann::ordered_json notification_event_list_json(const notification_event_page& page,
                                                    const page_request& p);

} // namespace um::model
