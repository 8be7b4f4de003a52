#include "model/event_revision.hpp"

#include "model/cloud_events.hpp"
#include "model/sha256.hpp"

namespace um::model {

std::string_view revision_kind_name(revision_kind k) {
  return k == revision_kind::voided ? "voided" : "superseded";
}

event replacement_event(const event_change& change, const event& before) {
  auto e = change.replacement.value_or(event{});
  e.source = change.source;
  e.id = change.id;
  e.ingested_at = change.at;
  if (change.keep_time)
    e.time = before.time;
  return e;
}

validated<event_change> parse_v1_correction(const nlohmann::ordered_json& body,
                                            std::string_view path_id, millis now) {
  validated<event_change> out;
  auto parsed = parse_v1_event(body, now);
  std::string errors = parsed.error;
  // Without one in the body, `parse_v1_event` made up an id: not the client's.
  if (parsed && body.contains("id") && parsed.value.id != path_id)
    errors = "id must match the event id in the path";
  if (!errors.empty()) {
    out.error = std::move(errors);
    return out;
  }
  auto& c = out.value;
  c.source = std::string{v1_source};
  c.id = std::string{path_id};
  c.at = now;
  c.keep_time = body.find("timestamp") == body.end();
  c.replacement = std::move(parsed.value);
  return out;
}

validated<event_change> parse_void_query(const query_params& query, millis now) {
  validated<event_change> out;
  auto param = [&](const char* name, std::string& into) {
    auto it = query.find(std::string_view{name});
    if (it == query.end() || it->second.empty())
      out.error += std::string{out.error.empty() ? "" : "; "} + name + " is required";
    else
      into = it->second;
  };
  param("source", out.value.source);
  param("id", out.value.id);
  out.value.at = now;
  return out;
}

validated<event_change> parse_cloud_event_correction(std::string_view body,
                                                     std::string_view content_type,
                                                     millis now, api_error& error) {
  validated<event_change> out;
  auto batch = parse_cloud_events(body, content_type, now);
  if (batch.error) {
    error = *batch.error;
    out.error = error.message;
    return out;
  }
  if (batch.events.size() != 1) {
    error = {error_code::validation, "a correction replaces one event"};
    out.error = error.message;
    return out;
  }
  auto& c = out.value;
  c.source = batch.events.front().source;
  c.id = batch.events.front().id;
  c.at = now;
  c.replacement = std::move(batch.events.front());
  return out;
}

std::string api_key_label(std::string_view key) {
  if (key.empty())
    return "anonymous";
  static constexpr char hex[] = "0123456789abcdef";
  auto digest = sha256(key);
  std::string out = "key:";
  for (std::size_t i = 0; i < 6; ++i) {
    out += hex[digest[i] >> 4];
    out += hex[digest[i] & 0xf];
  }
  return out;
}

} // namespace um::model
