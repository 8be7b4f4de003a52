#include "model/notification_lists.hpp"

#include "model/cloud_events.hpp"

#include <algorithm>
#include <optional>
#include <string_view>

namespace um::model {

namespace {

using ojson = nlohmann::ordered_json;

void append_error(std::string& errors, std::string_view message) {
  if (!errors.empty())
    errors += "; ";
  errors += message;
}

// The last value of each name, as the rest of the service reads a query.
query_params last_values(const query_pair_list& params) {
  query_params out;
  for (const auto& p : params)
    out[p.first] = p.second;
  return out;
}

const std::string* find(const query_params& query, std::string_view name) {
  auto it = query.find(name);
  return it == query.end() ? nullptr : &it->second;
}

void read_bool(const query_params& query, std::string_view name, bool& out,
               std::string& errors) {
  const auto* text = find(query, name);
  if (!text)
    return;
  if (*text == "true" || *text == "false")
    out = *text == "true";
  else
    append_error(errors, std::string{name} + " must be true or false");
}

// Every value of a repeatable name; an empty one is a problem.
std::vector<std::string> read_all(const query_pair_list& params, std::string_view name,
                                  std::string& errors) {
  std::vector<std::string> out;
  bool empty_seen = false;
  for (const auto& p : params) {
    if (p.first != name)
      continue;
    if (p.second.empty())
      empty_seen = true;
    else if (std::find(out.begin(), out.end(), p.second) == out.end())
      out.push_back(p.second);
  }
  if (empty_seen)
    append_error(errors, std::string{name} + " must not be empty");
  return out;
}

notification_list_order read_order(const query_params& query, std::string& errors) {
  notification_list_order order;
  if (const auto* text = find(query, "order")) {
    if (*text == "ASC" || *text == "DESC")
      order.descending = *text == "DESC";
    else
      append_error(errors, "order must be ASC or DESC");
  }
  if (const auto* text = find(query, "orderBy")) {
    if (*text == "id")
      order.by = notification_order_by::id;
    else if (*text == "type")
      order.by = notification_order_by::type;
    else if (*text == "createdAt")
      order.by = notification_order_by::created_at;
    else if (*text == "updatedAt")
      order.by = notification_order_by::updated_at;
    else
      append_error(errors, "orderBy must be id, type, createdAt or updatedAt");
  }
  return order;
}

page_request read_page(const query_params& query, std::string& errors) {
  auto page = parse_page_request(query);
  if (!page)
    append_error(errors, page.error);
  return page.value;
}

// Channels and rules: every one has the same type, so `type` orders by id.
template <class T>
void sort_items(std::vector<T>& items, const notification_list_order& order) {
  auto key = [&](const T& x) {
    switch (order.by) {
    case notification_order_by::created_at:
      return x.created_at;
    case notification_order_by::updated_at:
      return x.updated_at;
    case notification_order_by::id:
    case notification_order_by::type:
      break;
    }
    return millis{0};
  };
  std::stable_sort(items.begin(), items.end(), [&](const T& a, const T& b) {
    const auto ka = key(a);
    const auto kb = key(b);
    if (ka != kb)
      return order.descending ? kb < ka : ka < kb;
    return order.descending ? b.id < a.id : a.id < b.id;
  });
}

template <class T>
list_slice<T> slice(std::vector<T> items, const page_request& page) {
  list_slice<T> out;
  out.total = items.size();
  const auto first = std::min(page.offset(), items.size());
  const auto last = first + std::min(page.page_size, items.size() - first);
  out.items.assign(std::make_move_iterator(items.begin() + first),
                   std::make_move_iterator(items.begin() + last));
  return out;
}

template <class T>
validated<T> result_of(T value, std::string errors) {
  validated<T> out;
  out.value = std::move(value);
  out.error = std::move(errors);
  return out;
}

} // namespace

validated<channel_list_query> parse_channel_list_query(const query_pair_list& params) {
  auto query = last_values(params);
  std::string errors;
  channel_list_query q;
  read_bool(query, "includeDisabled", q.include_disabled, errors);
  q.order = read_order(query, errors);
  q.page = read_page(query, errors);
  return result_of(std::move(q), std::move(errors));
}

validated<rule_list_query> parse_rule_list_query(const query_pair_list& params) {
  auto query = last_values(params);
  std::string errors;
  rule_list_query q;
  read_bool(query, "includeDisabled", q.include_disabled, errors);
  q.channel_ids = read_all(params, "channel", errors);
  q.order = read_order(query, errors);
  q.page = read_page(query, errors);
  return result_of(std::move(q), std::move(errors));
}

validated<event_list_query> parse_event_list_query(const query_pair_list& params) {
  auto query = last_values(params);
  std::string errors;
  event_list_query q;
  auto& f = q.filter;
  auto read_time = [&](std::string_view name, millis& out) {
    const auto* text = find(query, name);
    if (!text)
      return false;
    if (auto t = try_parse_rfc3339(*text)) {
      out = *t;
      return true;
    }
    append_error(errors, std::string{name} + " must be an RFC 3339 date-time");
    return false;
  };
  const bool from_given = read_time("from", f.from);
  const bool to_given = read_time("to", f.to);
  if (from_given && to_given && f.from > f.to)
    append_error(errors, "from must not be after to");
  f.subjects = read_all(params, "subject", errors);
  f.rule_ids = read_all(params, "rule", errors);
  f.channel_ids = read_all(params, "channel", errors);
  if (const auto* text = find(query, "order"); text && *text != "DESC")
    append_error(errors, *text == "ASC"
                             ? "order must be DESC: events are listed newest first"
                             : "order must be ASC or DESC");
  if (const auto* text = find(query, "orderBy");
      text && *text != "createdAt" && *text != "id")
    append_error(errors, "orderBy must be createdAt or id");
  q.page = read_page(query, errors);
  f.offset = q.page.offset();
  f.limit = q.page.page_size;
  return result_of(std::move(q), std::move(errors));
}

list_slice<notification_channel>
select_channels(std::vector<notification_channel> channels, const channel_list_query& q) {
  if (!q.include_disabled)
    channels.erase(
        std::remove_if(channels.begin(), channels.end(),
                       [](const notification_channel& c) { return c.disabled; }),
        channels.end());
  sort_items(channels, q.order);
  return slice(std::move(channels), q.page);
}

list_slice<notification_rule> select_rules(std::vector<notification_rule> rules,
                                           const rule_list_query& q) {
  auto left_out = [&q](const notification_rule& r) {
    if (r.disabled && !q.include_disabled)
      return true;
    if (q.channel_ids.empty())
      return false;
    return std::none_of(r.channel_ids.begin(), r.channel_ids.end(),
                        [&q](const std::string& id) {
                          return std::find(q.channel_ids.begin(), q.channel_ids.end(),
                                           id) != q.channel_ids.end();
                        });
  };
  rules.erase(std::remove_if(rules.begin(), rules.end(), left_out), rules.end());
  sort_items(rules, q.order);
  return slice(std::move(rules), q.page);
}

ojson notification_channel_list_json(std::vector<notification_channel> channels,
                                     const channel_list_query& q) {
  auto page = select_channels(std::move(channels), q);
  auto items = ojson::array();
  for (const auto& c : page.items)
    items.push_back(notification_channel_json(c));
  return notification_page_json(std::move(items), q.page, page.total);
}

ojson notification_rule_list_json(notification_catalog catalog,
                                  const rule_list_query& q) {
  auto page = select_rules(std::move(catalog.rules), q);
  auto items = ojson::array();
  for (const auto& r : page.items)
    items.push_back(notification_rule_json(r, catalog.channels));
  return notification_page_json(std::move(items), q.page, page.total);
}

ojson notification_event_json(const notification_event& e,
                              const notification_event_page& page) {
  auto rule =
      std::find_if(page.rules.begin(), page.rules.end(),
                   [&e](const notification_rule& r) { return r.id == e.rule_id; });
  return notification_event_json(e, rule == page.rules.end() ? nullptr : &*rule,
                                 page.channels);
}

ojson notification_event_list_json(const notification_event_page& page,
                                   const page_request& p) {
  auto items = ojson::array();
  for (const auto& e : page.events)
    items.push_back(notification_event_json(e, page));
  return notification_page_json(std::move(items), p, page.total);
}

} // namespace um::model
