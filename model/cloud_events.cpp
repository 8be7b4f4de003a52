#include "model/cloud_events.hpp"

#include "model/bounded_json.hpp"

#include <cctype>

namespace um::model {

namespace {

using json = nlohmann::ordered_json;

enum class body_shape { one, many, either };

std::string lower(std::string_view text) {
  std::string out{text};
  for (auto& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t'))
    text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t'))
    text.remove_suffix(1);
  return text;
}

// The media type without parameters, lower case; empty when a charset other
// than UTF-8 is named.
std::string media_type(std::string_view content_type) {
  auto semicolon = content_type.find(';');
  std::string type = lower(trim(content_type.substr(0, semicolon)));
  while (semicolon != std::string_view::npos) {
    content_type.remove_prefix(semicolon + 1);
    semicolon = content_type.find(';');
    auto param = trim(content_type.substr(0, semicolon));
    auto eq = param.find('=');
    if (eq == std::string_view::npos)
      continue;
    if (lower(trim(param.substr(0, eq))) != "charset")
      continue;
    auto value = lower(trim(param.substr(eq + 1)));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
      value = value.substr(1, value.size() - 2);
    if (value != "utf-8" && value != "utf8")
      return {};
  }
  return type;
}

std::optional<body_shape> shape_of(std::string_view content_type) {
  auto type = media_type(content_type);
  if (type == "application/cloudevents+json")
    return body_shape::one;
  if (type == "application/cloudevents-batch+json")
    return body_shape::many;
  if (type == "application/json")
    return body_shape::either;
  return std::nullopt;
}

// A required attribute: present, a string, not empty.
std::string required_string(const json& ce, const char* name, std::string& error) {
  auto it = ce.find(name);
  if (it == ce.end() || it->is_null()) {
    error = std::string{name} + " is required";
    return {};
  }
  if (!it->is_string()) {
    error = std::string{name} + " must be a string";
    return {};
  }
  if (it->get_ref<const std::string&>().empty()) {
    error = std::string{name} + " must not be empty";
    return {};
  }
  return it->get<std::string>();
}

// Checks the attributes in the order the CloudEvents spec lists them, so the
// message names the first problem.
std::string parse_one(const json& ce, millis now, event& e) {
  if (!ce.is_object())
    return "must be a JSON object";
  std::string error;
  e.id = required_string(ce, "id", error);
  if (!error.empty())
    return error;
  e.source = required_string(ce, "source", error);
  if (!error.empty())
    return error;
  // The v1 API's events live under this source: a CloudEvent using it could
  // take a v1 event's id, and the v1 client's event would never be counted.
  if (e.source == v1_source)
    return "source " + std::string{v1_source} + " is reserved for events of the v1 API";
  auto specversion = required_string(ce, "specversion", error);
  if (!error.empty())
    return error;
  if (specversion != "1.0")
    return "specversion must be \"1.0\"";
  e.type = required_string(ce, "type", error);
  if (!error.empty())
    return error;
  e.subject = required_string(ce, "subject", error);
  if (!error.empty())
    return error;
  e.time = now;
  if (auto it = ce.find("time"); it != ce.end() && !it->is_null()) {
    std::optional<millis> t;
    if (it->is_string())
      t = try_parse_rfc3339(it->get_ref<const std::string&>());
    if (!t)
      return "time must be an RFC 3339 date-time, such as 2024-01-15T10:30:00Z";
    e.time = *t;
  }
  if (auto it = ce.find("datacontenttype"); it != ce.end() && !it->is_null()) {
    if (!it->is_string() ||
        media_type(it->get_ref<const std::string&>()) != "application/json")
      return "datacontenttype must be application/json";
  }
  if (auto it = ce.find("dataschema"); it != ce.end() && !it->is_null()) {
    if (!it->is_string())
      return "dataschema must be a string";
  }
  if (ce.contains("data_base64"))
    return "data_base64 is not supported; send data as a JSON object";
  // Kept as sent: no data is stored empty, `null` as `null`.
  e.data.clear();
  if (auto it = ce.find("data"); it != ce.end() && it->is_null()) {
    e.data = "null";
  } else if (it != ce.end()) {
    if (!it->is_object())
      return "data must be a JSON object";
    e.data = it->dump(-1, ' ', false, json::error_handler_t::replace);
    if (e.data.size() > max_event_data_bytes)
      return "data must be " + std::to_string(max_event_data_bytes) + " bytes or less";
  }
  e.ingested_at = now;
  return {};
}

cloud_event_batch fail(error_code code, std::string detail) {
  cloud_event_batch result;
  result.error = api_error{code, std::move(detail)};
  return result;
}

} // namespace

std::optional<millis> try_parse_rfc3339(std::string_view text) {
  // try_parse_iso8601 also takes a bare date and a time without seconds, which
  // RFC 3339 does not; it already demands an offset once there is a time.
  if (text.size() < 20 || text[13] != ':' || text[16] != ':')
    return std::nullopt;
  char sep = text[10];
  if (sep != 'T' && sep != 't' && sep != ' ')
    return std::nullopt;
  return try_parse_iso8601(text);
}

cloud_event_batch parse_cloud_events(std::string_view body, std::string_view content_type,
                                     millis now) {
  auto shape = shape_of(content_type);
  if (!shape)
    return fail(error_code::unsupported_media_type,
                "Content-Type must be application/cloudevents+json, "
                "application/cloudevents-batch+json or application/json, not \"" +
                    std::string{content_type} + "\"");
  // An event's data is measured from itself, in one event or in a batch.
  static const json_limits limits{
      max_json_depth, max_json_members, {{"data"}, {"*", "data"}}};
  auto parsed = try_parse_json(body, limits);
  if (!parsed) {
    if (parsed.fault == json_fault::syntax)
      return fail(error_code::validation, "request body is not valid JSON");
    if (parsed.field.size() == 1)
      return fail(error_code::validation, "event: data " + parsed.error);
    if (parsed.field.size() == 2)
      return fail(error_code::validation,
                  "event[" + parsed.field[0] + "]: data " + parsed.error);
    return fail(error_code::validation, "request body " + parsed.error);
  }
  const json& doc = parsed.value;
  cloud_event_batch result;
  if (doc.is_array()) {
    if (*shape == body_shape::one)
      return fail(error_code::validation,
                  "application/cloudevents+json carries one event, not an array; "
                  "use application/cloudevents-batch+json for a batch");
    if (doc.empty())
      return fail(error_code::validation, "the batch holds no events");
    result.events.resize(doc.size());
    for (std::size_t i = 0; i < doc.size(); ++i)
      if (auto error = parse_one(doc[i], now, result.events[i]); !error.empty())
        return fail(error_code::validation, "event[" + std::to_string(i) + "]: " + error);
    return result;
  }
  if (*shape == body_shape::many)
    return fail(error_code::validation,
                "application/cloudevents-batch+json carries an array of events");
  if (!doc.is_object())
    return fail(error_code::validation, "request body must be a CloudEvent object");
  result.events.resize(1);
  if (auto error = parse_one(doc, now, result.events[0]); !error.empty())
    return fail(error_code::validation, "event: " + error);
  return result;
}

json cloud_event_json(const event& e) {
  json out{{"specversion", "1.0"}, {"id", e.id},
           {"source", e.source},   {"type", e.type},
           {"subject", e.subject}, {"time", format_iso8601(e.time)}};
  // As sent: no `data` when it had none, `null` when it was null.
  if (!e.data.empty()) {
    auto stored = try_parse_json(e.data, stored_json_limits);
    // Unreadable stored data (never written by this service) shows as {}.
    out["data"] = stored ? std::move(stored.value) : json::object();
  }
  return out;
}

json ingested_event_json(const event& e,
                         const std::optional<std::string>& validation_error,
                         const std::optional<revision_mark>& revision) {
  json item{{"event", cloud_event_json(e)}};
  if (validation_error)
    item["validationError"] = *validation_error;
  item["ingestedAt"] = format_iso8601(e.ingested_at);
  item["storedAt"] = format_iso8601(e.ingested_at);
  if (revision)
    item["revision"] = {{"kind", revision_kind_name(revision->kind)},
                        {"at", format_iso8601(revision->at)},
                        {"by", revision->by},
                        {"traceId", revision->trace_id}};
  return item;
}

json searched_events_json(const std::vector<searched_event>& events) {
  json out = json::array();
  for (const auto& e : events)
    out.push_back(ingested_event_json(e.stored, e.validation_error, e.revision));
  return out;
}

json problem_json(error_code code, std::string detail, std::string instance) {
  return json{{"type", "about:blank"},
              {"title", status_title(code)},
              {"status", http_status(code)},
              {"detail", std::move(detail)},
              {"instance", std::move(instance)}};
}

} // namespace um::model
