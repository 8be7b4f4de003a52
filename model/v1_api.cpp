#include "model/v1_api.hpp"

#include "model/bounded_json.hpp"
#include "model/trace_id.hpp"

#include <algorithm>
#include <charconv>

namespace um::model {

namespace {

using json = nlohmann::ordered_json;

void append_error(std::string& errors, std::string_view message) {
  if (!errors.empty())
    errors += ", ";
  errors += message;
}

// The contract's three checks of a required, trimmed string field.
std::string required_string(const json& body, const char* field, std::size_t max_length,
                            std::string& errors) {
  auto it = body.find(field);
  std::string name{field};
  if (it == body.end() || it->is_null()) {
    append_error(errors, name + " is required");
    return {};
  }
  if (!it->is_string()) {
    append_error(errors, name + " must be a string");
    return {};
  }
  auto trimmed = js_trim(it->get_ref<const std::string&>());
  if (trimmed.empty()) {
    append_error(errors, name + " is required");
    return {};
  }
  if (js_length(trimmed) > max_length) {
    append_error(errors,
                 name + " must be " + std::to_string(max_length) + " characters or less");
    return {};
  }
  return std::string{trimmed};
}

std::optional<long long> parse_integer(std::string_view text) {
  long long value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || text.empty())
    return std::nullopt;
  return value;
}

const std::string* find_param(const query_params& query, std::string_view name) {
  auto it = query.find(name);
  return it == query.end() ? nullptr : &it->second;
}

} // namespace

std::size_t js_length(std::string_view utf8) {
  std::size_t units = 0;
  for (unsigned char c : utf8) {
    if ((c & 0xC0) == 0x80)
      continue; // continuation byte
    units += (c >= 0xF0) ? 2 : 1;
  }
  return units;
}

std::string_view js_trim(std::string_view text) {
  auto leading = [](std::string_view s) -> std::size_t {
    if (s.empty())
      return 0;
    unsigned char c = s[0];
    if (c == ' ' || (c >= '\t' && c <= '\r'))
      return 1;
    if (s.substr(0, 2) == "\xC2\xA0")
      return 2;
    if (s.substr(0, 3) == "\xEF\xBB\xBF")
      return 3;
    return 0;
  };
  auto trailing = [](std::string_view s) -> std::size_t {
    if (s.empty())
      return 0;
    unsigned char c = s.back();
    if (c == ' ' || (c >= '\t' && c <= '\r'))
      return 1;
    if (s.size() >= 2 && s.substr(s.size() - 2) == "\xC2\xA0")
      return 2;
    if (s.size() >= 3 && s.substr(s.size() - 3) == "\xEF\xBB\xBF")
      return 3;
    return 0;
  };
  while (auto n = leading(text))
    text.remove_prefix(n);
  while (auto n = trailing(text))
    text.remove_suffix(n);
  return text;
}

validated<json> try_parse_request_json(std::string_view body) {
  // An event's metadata is measured from itself, wherever the body puts it.
  static const json_limits limits{
      max_json_depth, max_json_members, {{"metadata"}, {"events", "*", "metadata"}}};
  validated<json> result;
  auto parsed = try_parse_json(body, limits);
  if (parsed) {
    result.value = std::move(parsed.value);
    return result;
  }
  if (parsed.fault == json_fault::syntax)
    result.error = "Malformed JSON in request body";
  else if (parsed.field.size() == 1)
    result.error = "metadata " + parsed.error;
  else if (parsed.field.size() == 3)
    result.error = "events[" + parsed.field[1] + "]: metadata " + parsed.error;
  else
    result.error = "request body " + parsed.error;
  return result;
}

validated<event> parse_v1_event(const json& body, millis now) {
  validated<event> result;
  if (!body.is_object()) {
    result.error = "request body must be a JSON object";
    return result;
  }
  std::string errors;
  auto& e = result.value;
  e.subject = required_string(body, "entityId", 255, errors);
  e.type = required_string(body, "eventType", 100, errors);
  if (auto it = body.find("metadata"); it == body.end()) {
    e.data = "{}";
  } else if (!it->is_object()) {
    append_error(errors, "metadata must be an object");
  } else {
    e.data = it->dump();
    if (e.data.size() > max_event_data_bytes)
      append_error(errors, "metadata must be " + std::to_string(max_event_data_bytes) +
                               " bytes or less");
  }
  if (auto it = body.find("id"); it != body.end()) {
    if (!it->is_string() || it->get_ref<const std::string&>().empty() ||
        js_length(it->get_ref<const std::string&>()) > 255)
      append_error(errors, "id must be a string of 1 to 255 characters");
    else
      e.id = it->get<std::string>();
  }
  e.time = now;
  if (auto it = body.find("timestamp"); it != body.end()) {
    std::optional<millis> t;
    if (it->is_string())
      t = try_parse_iso8601(it->get_ref<const std::string&>());
    if (!t)
      append_error(errors, "timestamp must be a valid ISO8601 date");
    else
      e.time = *t;
  }
  if (!errors.empty()) {
    result.error = std::move(errors);
    return result;
  }
  if (e.id.empty())
    e.id = new_uuid_v4();
  e.source = std::string{v1_source};
  e.ingested_at = now;
  return result;
}

validated<std::vector<event>> parse_v1_batch(const json& body, millis now) {
  validated<std::vector<event>> result;
  auto it = body.is_object() ? body.find("events") : body.end();
  if (!body.is_object() || it == body.end() || !it->is_array()) {
    result.error = "events must be an array";
    return result;
  }
  if (it->empty() || it->size() > max_batch_events) {
    result.error = "events must contain between 1 and " +
                   std::to_string(max_batch_events) + " events";
    return result;
  }
  std::string errors;
  result.value.reserve(it->size());
  for (std::size_t i = 0; i < it->size(); ++i) {
    auto one = parse_v1_event((*it)[i], now);
    if (!one)
      append_error(errors, "events[" + std::to_string(i) + "]: " + one.error);
    else
      result.value.push_back(std::move(one.value));
  }
  if (!errors.empty()) {
    result.value.clear();
    result.error = std::move(errors);
  }
  return result;
}

validated<event_filter> parse_event_filter(const query_params& query) {
  validated<event_filter> result;
  auto& f = result.value;
  std::string errors;
  if (auto p = find_param(query, "entityId"))
    f.subject = *p;
  if (auto p = find_param(query, "eventType"))
    f.type = *p;
  if (auto p = find_param(query, "limit")) {
    auto v = parse_integer(*p);
    if (!v || *v < 1 || *v > 1000)
      append_error(errors, "limit must be between 1 and 1000");
    else
      f.limit = static_cast<int>(*v);
  }
  if (auto p = find_param(query, "offset")) {
    auto v = parse_integer(*p);
    if (!v || *v < 0 || *v > 2'000'000'000)
      append_error(errors, "offset must be 0 or greater");
    else
      f.offset = static_cast<int>(*v);
  }
  result.error = std::move(errors);
  return result;
}

validated<time_range> parse_time_range(const query_params& query) {
  validated<time_range> result;
  std::string errors;
  for (auto [name, bound] : {std::pair{"since", &result.value.since},
                             std::pair{"until", &result.value.until}}) {
    if (auto p = find_param(query, name)) {
      auto t = try_parse_iso8601(*p);
      if (!t)
        append_error(errors, std::string{name} + " must be a valid ISO8601 date");
      else
        *bound = *t;
    }
  }
  result.error = std::move(errors);
  return result;
}

validated<interval> parse_history_interval(const query_params& query) {
  validated<interval> result;
  result.value = interval::hour;
  if (auto p = find_param(query, "interval")) {
    if (auto i = try_parse_interval(*p))
      result.value = *i;
    else
      result.error = "interval must be minute, hour, or day";
  }
  return result;
}

validated<history_query> parse_history_query(const query_params& query) {
  auto range = parse_time_range(query);
  auto width = parse_history_interval(query);
  validated<history_query> result;
  result.value = {range.value, width.value};
  result.error = range.error;
  if (!width.error.empty())
    append_error(result.error, width.error);
  return result;
}

reported_period period_of(const time_range& range, millis started_at, millis now) {
  return {range.since.value_or(started_at), range.until.value_or(now)};
}

json v1_event_json(const event& e) {
  // A metering event sent without data (or with null data) has no metadata.
  auto stored = try_parse_json(e.data, stored_json_limits);
  auto metadata =
      stored && stored.value.is_object() ? std::move(stored.value) : json::object();
  return json{{"id", e.id},
              {"entityId", e.subject},
              {"eventType", e.type},
              {"metadata", std::move(metadata)},
              {"timestamp", format_iso8601(e.time)},
              {"createdAt", e.ingested_at}};
}

} // namespace um::model

namespace um::model {

event make_self_tracking_event(std::string_view method, std::string_view path, int status,
                               double duration_ms, std::string_view trace_id,
                               millis now) {
  nlohmann::ordered_json metadata{{"method", method},
                                  {"path", path},
                                  {"statusCode", status},
                                  {"duration", duration_ms},
                                  {"traceId", trace_id}};
  event e;
  e.id = new_uuid_v4();
  e.source = std::string{v1_source};
  e.type = "api_call";
  e.subject = "api-self";
  e.time = now;
  e.ingested_at = now;
  e.data =
      metadata.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  return e;
}

std::string apply_idempotency_key(const json& body, std::vector<event>& events,
                                  std::string_view key, bool batch) {
  if (key.empty() || js_length(key) > 255 ||
      std::any_of(key.begin(), key.end(), [](char c) {
        return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
      }))
    return "Idempotency-Key must be 1 to 255 printable characters";
  auto has_id = [](const json& item) { return item.is_object() && item.contains("id"); };
  if (!batch) {
    if (events.size() != 1)
      return {};
    if (has_id(body)) {
      if (events[0].id != key)
        return "id and Idempotency-Key must be the same when both are given";
      return {};
    }
    events[0].id = std::string{key};
    return {};
  }
  const auto& items = body.at("events");
  for (std::size_t i = 0; i < events.size() && i < items.size(); ++i)
    if (!has_id(items[i]))
      events[i].id = std::string{key} + ":" + std::to_string(i);
  return {};
}

} // namespace um::model
