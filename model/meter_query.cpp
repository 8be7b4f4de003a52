#include "model/meter_query.hpp"

#include "model/cloud_events.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

namespace um::model {

namespace {

using json = nlohmann::ordered_json;

void append_error(std::string& errors, std::string_view message) {
  if (!errors.empty())
    errors += "; ";
  errors += message;
}

bool has_group_key(const meter& m, std::string_view key) {
  return std::any_of(m.group_by.begin(), m.group_by.end(),
                     [&](const meter_group_by& g) { return g.key == key; });
}

std::string group_keys_text(const meter& m) {
  std::string keys = "subject";
  for (const auto& g : m.group_by)
    keys += ", " + g.key;
  return keys;
}

template <class T>
void push_unique(std::vector<T>& items, T item) {
  if (std::find(items.begin(), items.end(), item) == items.end())
    items.push_back(std::move(item));
}

// Collects fields one by one; `finish` runs the checks across fields.
struct query_reader {
  const meter& m;
  meter_query q;
  std::string errors;

  void time(const char* name, std::string_view text, millis& target, bool& given) {
    if (auto t = try_parse_rfc3339(text)) {
      target = *t;
      given = true;
    } else {
      append_error(errors, std::string{name} + " must be an RFC 3339 date-time, such as "
                                               "2024-01-15T10:30:00Z");
    }
  }

  void window(std::string_view text) {
    if (auto size = try_parse_window_size(text))
      q.window = size;
    else
      append_error(errors, "windowSize must be one of MINUTE, HOUR, DAY, MONTH");
  }

  void time_zone(std::string_view text) {
    if (try_locate_zone(text))
      q.time_zone = std::string{text};
    else
      append_error(errors, "windowTimeZone \"" + std::string{text} +
                               "\" is not a known IANA time zone");
  }

  void subject(std::string_view text) {
    if (text.empty())
      append_error(errors, "subject must not be empty");
    else
      push_unique(q.subjects, std::string{text});
  }

  void group_by(std::string_view key) {
    if (key == "subject" || has_group_key(m, key))
      push_unique(q.group_by, std::string{key});
    else
      append_error(errors, "groupBy \"" + std::string{key} +
                               "\" is not a group-by of meter \"" + m.slug +
                               "\"; use one of: " + group_keys_text(m));
  }

  void filter(std::string_view key, std::string_view value) {
    if (has_group_key(m, key))
      push_unique(q.filter_group_by, std::pair{std::string{key}, std::string{value}});
    else
      append_error(errors, "filterGroupBy \"" + std::string{key} +
                               "\" is not a group-by of meter \"" + m.slug + "\"");
  }

  validated<meter_query> finish() {
    if (q.from_given && q.to_given && q.from >= q.to)
      append_error(errors, q.from == q.to ? "from and to must not be equal"
                                          : "from must be before to");
    bool by_subject =
        std::find(q.group_by.begin(), q.group_by.end(), "subject") != q.group_by.end();
    // As OpenMeter: `subject` filters and groups by subject, one row per
    // subject, however many are named.
    if (!q.subjects.empty() && !by_subject)
      q.group_by.insert(q.group_by.begin(), "subject");
    validated<meter_query> result;
    if (errors.empty())
      result.value = std::move(q);
    else
      result.error = std::move(errors);
    return result;
  }
};

// `filterGroupBy[key]` → `key`; nothing for other names.
std::optional<std::string_view> bracket_key(std::string_view name,
                                            std::string_view prefix) {
  if (name.size() < prefix.size() + 2 || name.substr(0, prefix.size()) != prefix ||
      name[prefix.size()] != '[' || name.back() != ']')
    return std::nullopt;
  return name.substr(prefix.size() + 1, name.size() - prefix.size() - 2);
}

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

bool is_empty_json(const json& v) {
  return v.is_null() || ((v.is_array() || v.is_object() || v.is_string()) && v.empty());
}

json value_json(double value) {
  if (std::nearbyint(value) == value && std::fabs(value) < 9.007199254740992e15)
    return static_cast<std::int64_t>(value);
  return value;
}

// A text cell (subject, group value) of a CSV answer. One that a spreadsheet
// would run as a formula (`=`, `+`, `-`, `@`, tab, carriage return first) is
// written with a leading `'`, as OWASP recommends; numbers are not text cells.
std::string csv_field(std::string_view text) {
  std::string escaped;
  if (!text.empty() &&
      std::string_view{"=+-@\t\r"}.find(text.front()) != std::string_view::npos) {
    escaped = "'";
    escaped += text;
    text = escaped;
  }
  // Go's encoding/csv (OpenMeter's writer) quotes a field that holds a comma,
  // quote or line break, or starts with white space.
  bool quote = !text.empty() && (std::string_view{" \t\v\f"}.find(text.front()) !=
                                     std::string_view::npos ||
                                 text.find_first_of(",\"\r\n") != std::string_view::npos);
  if (!quote)
    return std::string{text};
  std::string out = "\"";
  for (char c : text) {
    if (c == '"')
      out += '"';
    out += c;
  }
  out += '"';
  return out;
}

// A time as Go's time.RFC3339 writes it in UTC: whole seconds (the fraction
// dropped, not rounded), `Z`.
std::string rfc3339_seconds(millis t) {
  auto text = format_iso8601(t - ((t % 1000) + 1000) % 1000); // 2025-03-02T00:00:00.000Z
  if (auto dot = text.rfind('.'); dot != std::string::npos)
    text.erase(dot, 4);
  return text;
}

std::vector<std::string> non_subject_keys(const meter_query& q) {
  std::vector<std::string> keys;
  for (const auto& k : q.group_by)
    if (k != "subject")
      keys.push_back(k);
  return keys;
}

} // namespace

meter_query_input
read_meter_query_params(const std::vector<std::pair<std::string, std::string>>& params) {
  using field = meter_query_input::field;
  meter_query_input input;
  auto add = [&input](field name, std::string value, std::string key = {}) {
    input.items.push_back({name, std::move(key), std::move(value)});
  };
  for (const auto& [name, value] : params) {
    if (name == "from")
      add(field::from, value);
    else if (name == "to")
      add(field::to, value);
    else if (name == "windowSize")
      add(field::window_size, value);
    else if (name == "windowTimeZone")
      add(field::time_zone, value);
    else if (name == "subject")
      add(field::subject, value);
    else if (name == "groupBy")
      add(field::group_by, value);
    else if (auto key = bracket_key(name, "filterGroupBy"))
      add(field::filter_group_by, value, std::string{*key});
    else if (starts_with(name, "filterGroupBy"))
      // `filterGroupBy`, `filterGroupBy[g`, `filterGroupBy[]`: a filter the
      // client meant and that would otherwise be ignored, giving totals.
      add(field::problem, "filterGroupBy must be given as filterGroupBy[<key>]=<value>");
    else if (starts_with(name, "filterCustomerId"))
      add(field::problem, "filterCustomerId is not supported");
    else if (starts_with(name, "advancedMeterGroupByFilters"))
      add(field::problem, "advancedMeterGroupByFilters is not supported");
  }
  return input;
}

meter_query_input read_meter_query_body(const json& body) {
  using field = meter_query_input::field;
  meter_query_input input;
  auto add = [&input](field name, std::string value, std::string key = {}) {
    input.items.push_back({name, std::move(key), std::move(value)});
  };
  if (!body.is_object()) {
    add(field::problem, "request body must be a JSON object");
    return input;
  }
  auto string_field = [&](const char* name, field as) {
    auto it = body.find(name);
    if (it == body.end() || it->is_null())
      return;
    if (!it->is_string())
      add(field::problem, std::string{name} + " must be a string");
    else
      add(as, it->get_ref<const std::string&>());
  };
  auto string_list = [&](const char* name, field as) {
    auto it = body.find(name);
    if (it == body.end() || it->is_null())
      return;
    if (!it->is_array()) {
      add(field::problem, std::string{name} + " must be an array of strings");
      return;
    }
    for (const auto& item : *it) {
      if (!item.is_string()) {
        add(field::problem, std::string{name} + " must be an array of strings");
        return;
      }
      add(as, item.get_ref<const std::string&>());
    }
  };
  string_field("from", field::from);
  string_field("to", field::to);
  string_field("windowSize", field::window_size);
  string_field("windowTimeZone", field::time_zone);
  string_list("subject", field::subject);
  string_list("groupBy", field::group_by);
  if (auto it = body.find("filterGroupBy"); it != body.end() && !it->is_null()) {
    if (!it->is_object()) {
      add(field::problem, "filterGroupBy must be an object of key to values");
    } else {
      for (auto& [key, values] : it->items()) {
        if (values.is_string()) {
          add(field::filter_group_by, values.get_ref<const std::string&>(), key);
          continue;
        }
        bool strings =
            values.is_array() && std::all_of(values.begin(), values.end(),
                                             [](const json& v) { return v.is_string(); });
        if (!strings || values.empty()) {
          add(field::problem, "filterGroupBy \"" + key +
                                  "\" must be a string or a non-empty array of strings");
          continue;
        }
        for (const auto& v : values)
          add(field::filter_group_by, v.get_ref<const std::string&>(), key);
      }
    }
  }
  for (const char* name : {"filterCustomerId", "advancedMeterGroupByFilters"})
    if (auto it = body.find(name); it != body.end() && !is_empty_json(*it))
      add(field::problem, std::string{name} + " is not supported");
  return input;
}

validated<meter_query> validate_meter_query(const meter_query_input& input,
                                            const meter& m) {
  using field = meter_query_input::field;
  query_reader r{m, {}, {}};
  for (const auto& item : input.items) {
    switch (item.name) {
    case field::from:
      r.time("from", item.value, r.q.from, r.q.from_given);
      break;
    case field::to:
      r.time("to", item.value, r.q.to, r.q.to_given);
      break;
    case field::window_size:
      r.window(item.value);
      break;
    case field::time_zone:
      r.time_zone(item.value);
      break;
    case field::subject:
      r.subject(item.value);
      break;
    case field::group_by:
      r.group_by(item.value);
      break;
    case field::filter_group_by:
      r.filter(item.key, item.value);
      break;
    case field::problem:
      append_error(r.errors, item.value);
      break;
    }
  }
  return r.finish();
}

validated<meter_query>
parse_meter_query(const std::vector<std::pair<std::string, std::string>>& params,
                  const meter& m) {
  return validate_meter_query(read_meter_query_params(params), m);
}

validated<meter_query> parse_meter_query_json(const json& body, const meter& m) {
  return validate_meter_query(read_meter_query_body(body), m);
}

validated<group_values_period> parse_group_values_period(const query_params& query,
                                                         millis now) {
  validated<group_values_period> result;
  auto& period = result.value;
  period = {now - 24 * 3'600'000LL, now};
  for (auto [name, bound] :
       {std::pair{"from", &period.from}, std::pair{"to", &period.to}}) {
    auto it = query.find(std::string_view{name});
    if (it == query.end())
      continue;
    auto t = try_parse_rfc3339(it->second);
    if (!t) {
      result.error = std::string{name} + " must be an RFC 3339 date-time";
      return result;
    }
    *bound = *t;
  }
  if (period.from >= period.to)
    result.error = "from must be before to";
  return result;
}

bool in_query_range(const meter_query& q, millis t) {
  auto second = [](millis x) { return bucket_floor(x, 1000); };
  return second(t) >= second(q.from) && second(t) < second(q.to);
}

bool matches_query_filters(const meter_query& q, const meter& m, const meter_sample& s) {
  if (!q.subjects.empty() &&
      std::find(q.subjects.begin(), q.subjects.end(), s.subject) == q.subjects.end())
    return false;
  for (std::size_t i = 0; i < m.group_by.size(); ++i) {
    const auto& key = m.group_by[i].key;
    bool filtered = false;
    bool matched = false;
    for (const auto& [k, v] : q.filter_group_by) {
      if (k != key)
        continue;
      filtered = true;
      if (i < s.group_values.size() && s.group_values[i] && *s.group_values[i] == v)
        matched = true;
    }
    if (filtered && !matched)
      return false;
  }
  return true;
}

json query_result_json(const meter_query& q, const std::vector<meter_row>& rows) {
  json out = json::object();
  if (q.from_given)
    out["from"] = format_iso8601(q.from);
  if (q.to_given)
    out["to"] = format_iso8601(q.to);
  if (q.window)
    out["windowSize"] = window_size_name(*q.window);
  json data = json::array();
  for (const auto& row : rows) {
    json group_by = json::object();
    for (const auto& [key, value] : row.group_by)
      group_by[key] = value ? json(*value) : json(nullptr);
    data.push_back(json{{"value", value_json(row.value)},
                        {"windowStart", format_iso8601(row.window_start)},
                        {"windowEnd", format_iso8601(row.window_end)},
                        {"subject", row.subject ? json(*row.subject) : json(nullptr)},
                        {"groupBy", std::move(group_by)}});
  }
  out["data"] = std::move(data);
  return out;
}

namespace {

std::string dump_wire(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

// A JSON string: copied between quotes when it is printable ASCII without
// quotes or backslashes (subjects and group values nearly always are), else
// escaped by the JSON library so both writers print the same bytes.
void append_string(std::string& out, std::string_view text) {
  for (unsigned char c : text) {
    if (c < 0x20 || c > 0x7e || c == '"' || c == '\\') {
      out += dump_wire(json(std::string{text}));
      return;
    }
  }
  out += '"';
  out += text;
  out += '"';
}

void append_value(std::string& out, double value) {
  auto v = value_json(value);
  if (v.is_number_integer()) {
    char buf[24];
    auto end = std::to_chars(buf, buf + sizeof(buf), v.get<std::int64_t>()).ptr;
    out.append(buf, end);
  } else {
    out += dump_wire(v);
  }
}

} // namespace

std::string query_result_wire(const meter_query& q, const std::vector<meter_row>& rows) {
  json head = json::object();
  if (q.from_given)
    head["from"] = format_iso8601(q.from);
  if (q.to_given)
    head["to"] = format_iso8601(q.to);
  if (q.window)
    head["windowSize"] = window_size_name(*q.window);
  std::string out = dump_wire(head);
  out.pop_back(); // the closing brace: `data` follows
  if (!head.empty())
    out += ',';
  out += "\"data\":[";
  // About 124 bytes of keys and timestamps per row: reserving them spares
  // copying a string of tens of MB as it grows.
  std::size_t per_row = 136;
  if (!rows.empty())
    per_row += (rows.front().subject ? rows.front().subject->size() : 4) +
               40 * rows.front().group_by.size();
  out.reserve(out.size() + rows.size() * per_row + 2);
  bool first = true;
  for (const auto& row : rows) {
    out += first ? "{\"value\":" : ",{\"value\":";
    first = false;
    append_value(out, row.value);
    out += ",\"windowStart\":\"";
    append_iso8601(out, row.window_start);
    out += "\",\"windowEnd\":\"";
    append_iso8601(out, row.window_end);
    out += "\",\"subject\":";
    if (row.subject)
      append_string(out, *row.subject);
    else
      out += "null";
    out += ",\"groupBy\":{";
    bool first_key = true;
    for (const auto& [key, value] : row.group_by) {
      if (!first_key)
        out += ',';
      first_key = false;
      append_string(out, key);
      out += ':';
      if (value)
        append_string(out, *value);
      else
        out += "null";
    }
    out += "}}";
  }
  out += "]}";
  return out;
}

std::string query_result_csv(const meter_query& q, const std::vector<meter_row>& rows) {
  auto keys = non_subject_keys(q);
  std::string out = "window_start,window_end,subject";
  for (const auto& k : keys)
    out += "," + csv_field(k);
  out += ",value\n";
  for (const auto& row : rows) {
    out +=
        rfc3339_seconds(row.window_start) + "," + rfc3339_seconds(row.window_end) + ",";
    if (row.subject)
      out += csv_field(*row.subject);
    for (const auto& k : keys) {
      out += ",";
      for (const auto& [key, value] : row.group_by)
        if (key == k && value)
          out += csv_field(*value);
    }
    char value[64];
    std::snprintf(value, sizeof(value), "%f", row.value);
    out += ",";
    out += value;
    out += "\n";
  }
  return out;
}

validated<event_search> parse_event_search(const query_params& query, millis now) {
  validated<event_search> out;
  auto& s = out.value;
  s.time_from = now - 72 * 3'600'000LL;
  s.time_to = latest_query_time;
  std::string errors;
  auto time_param = [&](const char* name, auto assign) {
    auto it = query.find(std::string_view{name});
    if (it == query.end())
      return;
    if (auto t = try_parse_rfc3339(it->second))
      assign(*t);
    else
      errors += std::string{errors.empty() ? "" : "; "} + name +
                " must be an RFC 3339 date-time";
  };
  time_param("from", [&](millis t) { s.time_from = t; });
  // OpenMeter's `to` and `ingestedAtTo` are inclusive.
  time_param("to", [&](millis t) { s.time_to = t + 1; });
  time_param("ingestedAtFrom", [&](millis t) { s.ingested_from = t; });
  time_param("ingestedAtTo", [&](millis t) { s.ingested_to = t + 1; });
  if (auto it = query.find(std::string_view{"id"}); it != query.end())
    s.id_contains = it->second;
  if (auto it = query.find(std::string_view{"subject"}); it != query.end())
    s.subject_contains = it->second;
  if (auto it = query.find(std::string_view{"limit"}); it != query.end()) {
    int limit = 0;
    auto [end, ec] =
        std::from_chars(it->second.data(), it->second.data() + it->second.size(), limit);
    if (ec != std::errc{} || end != it->second.data() + it->second.size() || limit < 1 ||
        limit > 100)
      errors +=
          std::string{errors.empty() ? "" : "; "} + "limit must be between 1 and 100";
    else
      s.limit = limit;
  }
  if (auto it = query.find(std::string_view{"includeVoided"}); it != query.end()) {
    if (it->second == "true" || it->second == "false")
      s.include_voided = it->second == "true";
    else
      errors +=
          std::string{errors.empty() ? "" : "; "} + "includeVoided must be true or false";
  }
  if (errors.empty() && s.time_from >= s.time_to)
    errors = "from must be before to";
  out.error = std::move(errors);
  return out;
}

bool search_matches(const event_search& s, const event& e) {
  return e.time >= s.time_from && e.time < s.time_to &&
         (!s.ingested_from || e.ingested_at >= *s.ingested_from) &&
         (!s.ingested_to || e.ingested_at < *s.ingested_to) &&
         e.id.find(s.id_contains) != std::string::npos &&
         e.subject.find(s.subject_contains) != std::string::npos;
}

} // namespace um::model
