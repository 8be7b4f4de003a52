#include "model/meter_storage_form.hpp"

#include "model/bounded_json.hpp"

#include <array>
#include <utility>

namespace um::model {

namespace {

using json = nlohmann::ordered_json;

// The stored names of the aggregations, independent of their wire names.
constexpr std::array<std::pair<meter_aggregation, std::string_view>, 7> aggregation_names{
    {
        {meter_aggregation::sum, "sum"},
        {meter_aggregation::count, "count"},
        {meter_aggregation::unique_count, "unique_count"},
        {meter_aggregation::avg, "avg"},
        {meter_aggregation::min, "min"},
        {meter_aggregation::max, "max"},
        {meter_aggregation::latest, "latest"},
    }};

std::string_view stored_name(meter_aggregation a) {
  for (const auto& [value, name] : aggregation_names)
    if (value == a)
      return name;
  return "count";
}

// Reads the fields of a versioned document; the first problem is reported.
class reader {
public:
  explicit reader(const json& doc) : doc_(doc) {}

  std::string text(const char* field) {
    auto it = doc_.find(field);
    if (it == doc_.end() || !it->is_string()) {
      fail(std::string{field} + " must be a string");
      return {};
    }
    return it->get<std::string>();
  }

  std::optional<std::string> optional_text(const char* field) {
    auto it = doc_.find(field);
    if (it == doc_.end() || it->is_null())
      return std::nullopt;
    return text(field);
  }

  millis time(const json& value, const std::string& field) {
    if (!value.is_number_integer()) {
      fail(field + " must be an integer of milliseconds");
      return 0;
    }
    return value.get<millis>();
  }

  millis time(const char* field) {
    auto it = doc_.find(field);
    return time(it == doc_.end() ? json{} : *it, field);
  }

  std::optional<millis> optional_time(const char* field) {
    auto it = doc_.find(field);
    if (it == doc_.end() || it->is_null())
      return std::nullopt;
    return time(*it, field);
  }

  json_path path(const std::string& text, const std::string& field) {
    auto parsed = parse_json_path(text);
    if (!parsed)
      fail(field + ": " + parsed.error);
    return std::move(parsed.value);
  }

  void fail(std::string problem) {
    if (error.empty())
      error = std::move(problem);
  }

  std::string error;

private:
  const json& doc_;
};

validated<meter> read_version_1(const json& doc) {
  reader r{doc};
  meter m;
  m.id = r.text("id");
  m.slug = r.text("slug");
  m.name = r.text("name");
  m.description = r.text("description");
  auto aggregation = r.text("aggregation");
  bool known = false;
  for (const auto& [value, name] : aggregation_names)
    if (name == aggregation) {
      m.aggregation = value;
      known = true;
    }
  if (!known)
    r.fail("aggregation \"" + aggregation + "\" is unknown");
  m.event_type = r.text("event_type");
  m.event_from = r.optional_time("event_from");
  if (auto value_property = r.optional_text("value_property"))
    m.value_property = r.path(*value_property, "value_property");
  auto group_by = doc.find("group_by");
  if (group_by == doc.end() || !group_by->is_array()) {
    r.fail("group_by must be an array");
  } else {
    for (const auto& g : *group_by) {
      auto key = g.find("key"), path = g.find("path");
      if (!g.is_object() || key == g.end() || !key->is_string() || path == g.end() ||
          !path->is_string()) {
        r.fail("group_by entries must be {\"key\": string, \"path\": string}");
        break;
      }
      m.group_by.push_back({key->get<std::string>(),
                            r.path(path->get<std::string>(), "group_by " + key->dump())});
    }
  }
  m.created_at = r.time("created_at");
  m.updated_at = r.time("updated_at");
  validated<meter> out;
  if (r.error.empty())
    out.value = std::move(m);
  else
    out.error = "stored meter: " + r.error;
  return out;
}

} // namespace

std::string to_storage_form(const meter& m) {
  json doc{{"version", meter_storage_version},
           {"id", m.id},
           {"slug", m.slug},
           {"name", m.name},
           {"description", m.description},
           {"aggregation", stored_name(m.aggregation)},
           {"event_type", m.event_type},
           {"event_from", m.event_from ? json(*m.event_from) : json(nullptr)},
           {"value_property",
            m.value_property ? json(m.value_property->text) : json(nullptr)}};
  json group_by = json::array();
  for (const auto& g : m.group_by)
    group_by.push_back(json{{"key", g.key}, {"path", g.path.text}});
  doc["group_by"] = std::move(group_by);
  doc["created_at"] = m.created_at;
  doc["updated_at"] = m.updated_at;
  return doc.dump(-1, ' ', false, json::error_handler_t::replace);
}

validated<meter> from_storage_form(std::string_view text) {
  validated<meter> out;
  auto parsed = try_parse_json(text, stored_json_limits);
  if (!parsed || !parsed.value.is_object()) {
    out.error = "stored meter: not a JSON object";
    return out;
  }
  const auto& doc = parsed.value;
  auto version = doc.find("version");
  // Releases before the versioned form stored the API's Meter JSON.
  if (version == doc.end()) {
    out = meter_from_json(doc);
    if (!out)
      out.error = "stored meter: " + out.error;
    return out;
  }
  if (!version->is_number_integer() || version->get<std::int64_t>() < 1) {
    out.error = "stored meter: version must be a positive integer";
    return out;
  }
  if (version->get<std::int64_t>() > meter_storage_version) {
    out.error = "stored meter: version " + version->dump() +
                " is newer than this build understands (" +
                std::to_string(meter_storage_version) + ")";
    return out;
  }
  return read_version_1(doc);
}

} // namespace um::model
