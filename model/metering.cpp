#include "model/metering.hpp"

#include "model/bounded_json.hpp"
#include "model/cloud_events.hpp"
#include "model/windows.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>
#include <tuple>
#include <utility>

namespace um::model {

namespace {

using json = nlohmann::ordered_json;

constexpr std::size_t max_slug_length = 64;
constexpr std::size_t max_name_length = 256;
constexpr std::size_t max_description_length = 1024;
constexpr std::size_t max_group_by_key_length = 64;

void append_error(std::string& errors, std::string_view message) {
  if (!errors.empty())
    errors += "; ";
  errors += message;
}

bool is_lower_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

bool is_valid_group_by_key(std::string_view key) {
  if (key.empty() || key.size() > max_group_by_key_length)
    return false;
  auto letter = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
  if (!letter(key[0]) && key[0] != '_')
    return false;
  return std::all_of(key.begin(), key.end(), [&](char c) {
    return letter(c) || (c >= '0' && c <= '9') || c == '_';
  });
}

// A string field that may be absent or null; false (with an error) when it is
// of another type.
const std::string* optional_string(const json& body, const char* field,
                                   std::string& errors) {
  auto it = body.find(field);
  if (it == body.end() || it->is_null())
    return nullptr;
  if (!it->is_string()) {
    append_error(errors, std::string{field} + " must be a string");
    return nullptr;
  }
  return &it->get_ref<const std::string&>();
}

void read_name_and_description(const json& body, meter& m, std::string& errors) {
  m.name = m.slug;
  if (auto name = optional_string(body, "name", errors)) {
    if (name->empty() || js_length(*name) > max_name_length)
      append_error(errors, "name must be 1 to 256 characters");
    else
      m.name = *name;
  }
  m.description.clear();
  if (auto description = optional_string(body, "description", errors)) {
    if (js_length(*description) > max_description_length)
      append_error(errors, "description must be 1024 characters or less");
    else
      m.description = *description;
  }
}

// Reads the entries of `groupBy` in the order given, each with its problem
// if it has one; a `groupBy` that is no object is a problem of the body.
std::vector<meter_update::group_by_entry> read_group_by_entries(const json& body,
                                                                std::string& errors) {
  std::vector<meter_update::group_by_entry> result;
  auto it = body.find("groupBy");
  if (it == body.end() || it->is_null())
    return result;
  if (!it->is_object()) {
    append_error(errors, "groupBy must be an object of key to JSONPath");
    return result;
  }
  for (auto& [key, value] : it->items()) {
    auto& entry = result.emplace_back();
    entry.key = key;
    std::string where = "groupBy \"" + key + "\"";
    if (!is_valid_group_by_key(key)) {
      entry.problem = where + ": keys must start with a letter or _ and consist of "
                              "letters, digits and _ (at most 64 characters)";
      continue;
    }
    if (key == "subject") {
      entry.problem = where + ": subject is reserved for grouping by the subject";
      continue;
    }
    if (!value.is_string()) {
      entry.problem = where + ": the value must be a JSONPath string";
      continue;
    }
    auto path = parse_json_path(value.get_ref<const std::string&>());
    if (!path) {
      entry.problem = where + ": " + path.error;
      continue;
    }
    entry.path = std::move(path.value);
  }
  return result;
}

// The group-bys of `entries`, their paths checked against `value_property`;
// problems are appended to `errors` in the order of the entries.
std::vector<meter_group_by>
checked_group_by(const std::vector<meter_update::group_by_entry>& entries,
                 const std::optional<json_path>& value_property, std::string& errors) {
  std::vector<meter_group_by> result;
  for (const auto& entry : entries) {
    if (!entry.problem.empty()) {
      append_error(errors, entry.problem);
      continue;
    }
    if (value_property && entry.path == *value_property) {
      append_error(errors,
                   "groupBy \"" + entry.key + "\": must differ from valueProperty");
      continue;
    }
    result.push_back({entry.key, entry.path});
  }
  return result;
}

// Reads `groupBy`; checks its paths against `value_property`.
std::vector<meter_group_by> read_group_by(const json& body,
                                          const std::optional<json_path>& value_property,
                                          std::string& errors) {
  auto entries = read_group_by_entries(body, errors);
  return checked_group_by(entries, value_property, errors);
}

// The create/config fields shared by `parse_meter` and `meter_from_config`.
meter read_meter_definition(const json& body, std::string& errors) {
  meter m;
  if (auto it = body.find("slug"); it == body.end() || it->is_null())
    append_error(errors, "slug is required");
  else if (!it->is_string() || !is_valid_meter_slug(it->get_ref<const std::string&>()))
    append_error(errors, "slug must be 1 to 64 characters of a-z and 0-9, words joined "
                         "by single underscores (^[a-z0-9]+(?:_[a-z0-9]+)*$)");
  else
    m.slug = it->get<std::string>();
  read_name_and_description(body, m, errors);

  std::optional<meter_aggregation> aggregation;
  if (auto it = body.find("aggregation"); it == body.end() || it->is_null())
    append_error(errors, "aggregation is required");
  else if (it->is_string())
    aggregation = try_parse_meter_aggregation(it->get_ref<const std::string&>());
  if (aggregation)
    m.aggregation = *aggregation;
  else if (body.contains("aggregation") && !body["aggregation"].is_null())
    append_error(errors, "aggregation must be one of SUM, COUNT, UNIQUE_COUNT, AVG, "
                         "MIN, MAX, LATEST");

  if (auto it = body.find("eventType"); it == body.end() || it->is_null())
    append_error(errors, "eventType is required");
  else if (!it->is_string() || it->get_ref<const std::string&>().empty())
    append_error(errors, "eventType must be a non-empty string");
  else
    m.event_type = it->get<std::string>();

  if (auto text = optional_string(body, "eventFrom", errors)) {
    if (auto t = try_parse_rfc3339(*text))
      m.event_from = *t;
    else
      append_error(errors, "eventFrom must be an RFC 3339 date-time");
  }

  // For COUNT the value property is ignored, as the SDK documents.
  if (aggregation && *aggregation != meter_aggregation::count) {
    auto it = body.find("valueProperty");
    if (it == body.end() || it->is_null())
      append_error(errors, "valueProperty is required for " +
                               std::string{meter_aggregation_name(*aggregation)});
    else if (!it->is_string())
      append_error(errors, "valueProperty must be a JSONPath string");
    else if (auto path = parse_json_path(it->get_ref<const std::string&>()); !path)
      append_error(errors, "valueProperty: " + path.error);
    else
      m.value_property = std::move(path.value);
  }
  m.group_by = read_group_by(body, m.value_property, errors);
  return m;
}

// JSON's text of a number: integers without a fraction, others shortest.
std::string number_text(const nlohmann::json& v) {
  if (v.is_number_float()) {
    double d = v.get<double>();
    if (std::nearbyint(d) == d && std::fabs(d) < 9.007199254740992e15)
      return std::to_string(static_cast<long long>(d));
  }
  return v.dump();
}

std::optional<std::string> group_value_text(const nlohmann::json* v) {
  if (!v || v->is_null())
    return std::nullopt;
  if (v->is_string())
    return v->get<std::string>();
  if (v->is_number())
    return number_text(*v);
  if (v->is_boolean())
    return v->get<bool>() ? "true" : "false";
  return v->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::optional<double> parse_float(std::string_view text) {
  if (!text.empty() && text[0] == '+')
    text.remove_prefix(1);
  if (text.empty() || text[0] == '+')
    return std::nullopt;
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || !std::isfinite(value))
    return std::nullopt;
  return value;
}

std::string json_quoted(std::string_view text) {
  return nlohmann::json(text).dump(-1, ' ', false,
                                   nlohmann::json::error_handler_t::replace);
}

// The Go type name OpenMeter prints (`%T`) for a JSON value it cannot count.
const char* go_type_name(const nlohmann::json& v) {
  if (v.is_boolean())
    return "bool";
  if (v.is_object())
    return "map[string]interface {}";
  if (v.is_array())
    return "[]interface {}";
  return "string";
}

// `NaN` or `infinity` when Go's strconv.ParseFloat reads `text` as one
// (case-insensitive `nan`, `inf`, `infinity`, with a sign for the latter two).
const char* non_finite_word(std::string_view text) {
  std::string lower;
  for (char c : text)
    lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower == "nan")
    return "NaN";
  if (!lower.empty() && (lower[0] == '+' || lower[0] == '-'))
    lower.erase(0, 1);
  if (lower == "inf" || lower == "infinity")
    return "infinity";
  return nullptr;
}

} // namespace

std::string_view meter_aggregation_name(meter_aggregation a) {
  switch (a) {
  case meter_aggregation::sum:
    return "SUM";
  case meter_aggregation::count:
    return "COUNT";
  case meter_aggregation::unique_count:
    return "UNIQUE_COUNT";
  case meter_aggregation::avg:
    return "AVG";
  case meter_aggregation::min:
    return "MIN";
  case meter_aggregation::max:
    return "MAX";
  case meter_aggregation::latest:
    return "LATEST";
  }
  return "COUNT";
}

std::optional<meter_aggregation> try_parse_meter_aggregation(std::string_view text) {
  for (auto a :
       {meter_aggregation::sum, meter_aggregation::count, meter_aggregation::unique_count,
        meter_aggregation::avg, meter_aggregation::min, meter_aggregation::max,
        meter_aggregation::latest})
    if (meter_aggregation_name(a) == text)
      return a;
  return std::nullopt;
}

bool is_valid_meter_slug(std::string_view text) {
  if (text.empty() || text.size() > max_slug_length)
    return false;
  bool after_underscore = true; // no leading underscore
  for (char c : text) {
    if (c == '_') {
      if (after_underscore)
        return false;
      after_underscore = true;
    } else if (is_lower_alnum(c)) {
      after_underscore = false;
    } else {
      return false;
    }
  }
  return !after_underscore;
}

validated<meter> parse_meter(const json& body, millis now, std::string id) {
  validated<meter> result;
  if (!body.is_object()) {
    result.error = "request body must be a JSON object";
    return result;
  }
  std::string errors;
  result.value = read_meter_definition(body, errors);
  if (!errors.empty()) {
    result.value = {};
    result.error = std::move(errors);
    return result;
  }
  result.value.id = std::move(id);
  result.value.created_at = now;
  result.value.updated_at = now;
  return result;
}

meter_update read_meter_update(const json& body, millis now) {
  meter_update out;
  out.at = now;
  std::string errors;
  if (!body.is_object()) {
    out.problems.push_back("request body must be a JSON object");
    return out;
  }
  auto note = [&] {
    if (!errors.empty())
      out.problems.push_back(std::exchange(errors, {}));
  };
  if (auto name = optional_string(body, "name", errors)) {
    if (name->empty() || js_length(*name) > max_name_length)
      append_error(errors, "name must be 1 to 256 characters");
    else
      out.name = *name;
  }
  note();
  if (auto description = optional_string(body, "description", errors)) {
    if (js_length(*description) > max_description_length)
      append_error(errors, "description must be 1024 characters or less");
    else
      out.description = *description;
  }
  note();
  out.group_by = read_group_by_entries(body, errors);
  note();
  return out;
}

validated<meter> apply_meter_update(const meter& m, const meter_update& update) {
  validated<meter> out;
  std::string errors;
  for (const auto& problem : update.problems)
    append_error(errors, problem);
  auto group_by = checked_group_by(update.group_by, m.value_property, errors);
  if (!errors.empty()) {
    out.error = std::move(errors);
    return out;
  }
  out.value = m;
  out.value.name = update.name.value_or(m.slug);
  out.value.description = update.description;
  out.value.group_by = std::move(group_by);
  out.value.updated_at = update.at;
  return out;
}

std::string apply_meter_update(meter& m, const json& body, millis now) {
  auto updated = apply_meter_update(m, read_meter_update(body, now));
  if (!updated)
    return updated.error;
  m = std::move(updated.value);
  return {};
}

json meter_json(const meter& m) {
  json out{{"id", m.id}, {"slug", m.slug}, {"name", m.name}};
  if (!m.description.empty())
    out["description"] = m.description;
  out["aggregation"] = meter_aggregation_name(m.aggregation);
  out["eventType"] = m.event_type;
  if (m.event_from)
    out["eventFrom"] = format_iso8601(*m.event_from);
  if (m.value_property)
    out["valueProperty"] = m.value_property->text;
  json group_by = json::object();
  for (const auto& g : m.group_by)
    group_by[g.key] = g.path.text;
  out["groupBy"] = std::move(group_by);
  out["createdAt"] = format_iso8601(m.created_at);
  out["updatedAt"] = format_iso8601(m.updated_at);
  return out;
}

json meter_list_json(const std::vector<meter>& meters) {
  json out = json::array();
  for (const auto& m : meters)
    out.push_back(meter_json(m));
  return out;
}

validated<meter> meter_from_json(const json& stored) {
  validated<meter> result;
  if (!stored.is_object()) {
    result.error = "a stored meter must be a JSON object";
    return result;
  }
  std::string errors;
  result.value = read_meter_definition(stored, errors);
  auto& m = result.value;
  if (auto id = optional_string(stored, "id", errors); id && !id->empty())
    m.id = *id;
  else
    append_error(errors, "id is required");
  for (auto [field, target] :
       {std::pair{"createdAt", &m.created_at}, std::pair{"updatedAt", &m.updated_at}}) {
    auto text = optional_string(stored, field, errors);
    auto t = text ? try_parse_rfc3339(*text) : std::nullopt;
    if (!t)
      append_error(errors, std::string{field} + " must be an RFC 3339 date-time");
    else
      *target = *t;
  }
  if (!errors.empty()) {
    result.value = {};
    result.error = std::move(errors);
  }
  return result;
}

validated<meter> meter_from_config(const json& entry, millis loaded_at) {
  validated<meter> result;
  if (!entry.is_object()) {
    result.error = "a meter must be a mapping";
    return result;
  }
  std::string errors;
  result.value = read_meter_definition(entry, errors);
  if (auto it = entry.find("windowSize"); it != entry.end() && !it->is_null()) {
    if (!it->is_string() || !try_parse_window_size(it->get_ref<const std::string&>()))
      append_error(errors, "windowSize must be one of MINUTE, HOUR, DAY, MONTH");
  }
  if (!errors.empty()) {
    std::string slug = result.value.slug;
    result.value = {};
    result.error = slug.empty() ? errors : "meter \"" + slug + "\": " + errors;
    return result;
  }
  result.value.id = result.value.slug;
  result.value.created_at = loaded_at;
  result.value.updated_at = loaded_at;
  return result;
}

nlohmann::json event_data(const event& e) {
  auto parsed = try_parse_json<nlohmann::json>(e.data, stored_json_limits);
  return parsed && parsed.value.is_object() ? std::move(parsed.value) : nlohmann::json{};
}

extracted_sample extract_sample(const meter& m, const event& e) {
  if (e.type != m.event_type || (m.event_from && e.time < *m.event_from))
    return {};
  return extract_sample(m, e, event_data(e));
}

extracted_sample extract_sample(const meter& m, const event& e,
                                const nlohmann::json& data) {
  extracted_sample result;
  if (e.type != m.event_type || (m.event_from && e.time < *m.event_from))
    return result;
  auto& s = result.sample;
  s.subject = e.subject;
  s.time = e.time;
  s.group_values.reserve(m.group_by.size());
  for (const auto& g : m.group_by)
    s.group_values.push_back(group_value_text(evaluate(g.path, data)));
  // The texts are OpenMeter's (meter.ParseEvent), word for word.
  auto invalid = [&](std::string message) {
    result.status = sample_status::invalid;
    result.error = "invalid event: " + std::move(message);
    result.sample = {};
    return result;
  };
  if (m.aggregation == meter_aggregation::count || !m.value_property) {
    result.status = sample_status::counted;
    return result;
  }
  if (!data.is_object())
    return invalid("null and missing value property");
  const auto& path = m.value_property->text;
  const auto* v = evaluate(*m.value_property, data);
  if (!v)
    return invalid("missing value property: " + json_quoted(path));
  if (v->is_null())
    return invalid("value cannot be null");
  if (m.aggregation == meter_aggregation::unique_count) {
    if (v->is_object() || v->is_array())
      return invalid(std::string{"unsupported value property type: "} + go_type_name(*v));
    s.unique_value = group_value_text(v);
    result.status = sample_status::counted;
    return result;
  }
  if (v->is_number()) {
    s.value = v->get<double>();
  } else if (v->is_string()) {
    const auto& text = v->get_ref<const std::string&>();
    auto parsed = parse_float(text);
    if (!parsed) {
      if (auto special = non_finite_word(text))
        return invalid(std::string{"value cannot be "} + special);
      return invalid("value cannot be parsed as float64: " + text);
    }
    s.value = *parsed;
  } else {
    return invalid(std::string{"unsupported value property type: "} + go_type_name(*v));
  }
  result.status = sample_status::counted;
  return result;
}

void meter_cell::add(const meter_sample& s, std::int64_t seq) {
  meter_cell one;
  one.sum = s.value;
  one.count = 1;
  one.min = s.value;
  one.max = s.value;
  one.latest = s.value;
  one.latest_time = s.time;
  one.latest_seq = seq;
  if (s.unique_value)
    one.uniques.insert(*s.unique_value);
  merge(one);
}

void meter_cell::merge(const meter_cell& other) {
  if (other.count == 0)
    return;
  if (count == 0) {
    *this = other;
    return;
  }
  sum += other.sum;
  count += other.count;
  min = std::min(min, other.min);
  max = std::max(max, other.max);
  if (std::tie(other.latest_time, other.latest_seq) > std::tie(latest_time, latest_seq)) {
    latest = other.latest;
    latest_time = other.latest_time;
    latest_seq = other.latest_seq;
  }
  uniques.insert(other.uniques.begin(), other.uniques.end());
}

double meter_cell::value(meter_aggregation a) const {
  if (count == 0)
    return 0;
  switch (a) {
  case meter_aggregation::sum:
    return sum;
  case meter_aggregation::count:
    return static_cast<double>(count);
  case meter_aggregation::unique_count:
    return static_cast<double>(uniques.size());
  case meter_aggregation::avg:
    return sum / static_cast<double>(count);
  case meter_aggregation::min:
    return min;
  case meter_aggregation::max:
    return max;
  case meter_aggregation::latest:
    return latest;
  }
  return 0;
}

} // namespace um::model
