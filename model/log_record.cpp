#include "model/log_record.hpp"

#include <nlohmann/json.hpp>

#include <charconv>
#include <string_view>

namespace um::model {

log_record make_request_record(request_log r, millis now) {
  log_record rec;
  rec.level = r.status >= 500   ? log_level::error
              : r.status >= 400 ? log_level::warn
                                : log_level::info;
  rec.timestamp = now;
  rec.message = "HTTP Request";
  rec.fields.reserve(7);
  rec.fields.emplace_back("method", std::move(r.method));
  rec.fields.emplace_back("path", std::move(r.path));
  rec.fields.emplace_back("statusCode", std::int64_t{r.status});
  rec.fields.emplace_back("duration", r.duration_ms);
  rec.fields.emplace_back("traceId", std::move(r.trace_id));
  rec.fields.emplace_back("userAgent", std::move(r.user_agent));
  rec.fields.emplace_back("ip", std::move(r.ip));
  return rec;
}

namespace {

// Strings the fast writer copies verbatim: printable ASCII without `"` and
// `\\`. Anything else (escapes, non-ASCII that may need replacing) takes
// the JSON library's path, so both paths print the same line.
bool plain_ascii(std::string_view text) {
  for (unsigned char c : text)
    if (c < 0x20 || c > 0x7e || c == '"' || c == '\\')
      return false;
  return true;
}

bool reserved_key(std::string_view key) {
  return key == "timestamp" || key == "level" || key == "message" || key == "service" ||
         key == "version";
}

// Whether the fast writer prints exactly what the JSON library would:
// plain strings, finite doubles in fixed notation's range, no repeated keys.
bool fast_path_applies(const log_record& record) {
  if (!plain_ascii(record.message))
    return false;
  for (std::size_t i = 0; i < record.fields.size(); ++i) {
    const auto& [key, value] = record.fields[i];
    if (!plain_ascii(key) || reserved_key(key))
      return false;
    for (std::size_t j = 0; j < i; ++j)
      if (record.fields[j].first == key)
        return false;
    if (auto s = std::get_if<std::string>(&value); s && !plain_ascii(*s))
      return false;
    if (auto d = std::get_if<double>(&value)) {
      double magnitude = *d < 0 ? -*d : *d;
      if (!(magnitude == 0.0 || (magnitude >= 1e-3 && magnitude < 1e15)))
        return false;
    }
  }
  return true;
}

void append_quoted(std::string& out, std::string_view text) {
  out += '"';
  out += text;
  out += '"';
}

void append_value(std::string& out, const log_value& value) {
  if (auto s = std::get_if<std::string>(&value)) {
    append_quoted(out, *s);
  } else if (auto i = std::get_if<std::int64_t>(&value)) {
    char buf[24];
    auto end = std::to_chars(buf, buf + sizeof(buf), *i).ptr;
    out.append(buf, end);
  } else if (auto d = std::get_if<double>(&value)) {
    // Shortest round-trip digits in fixed notation, with `.0` on whole
    // numbers, as the JSON library prints doubles in this range.
    char buf[64];
    auto end = std::to_chars(buf, buf + sizeof(buf), *d, std::chars_format::fixed).ptr;
    out.append(buf, end);
    if (std::string_view{buf, static_cast<std::size_t>(end - buf)}.find('.') ==
        std::string_view::npos)
      out += ".0";
  } else {
    out += std::get<bool>(value) ? "true" : "false";
  }
}

std::string library_line(const log_record& record) {
  nlohmann::ordered_json line;
  line["timestamp"] = format_iso8601(record.timestamp);
  line["level"] = log_level_name(record.level);
  line["message"] = record.message;
  for (const auto& [key, value] : record.fields)
    std::visit([&line, &key = key](const auto& v) { line[key] = v; }, value);
  line["service"] = service_name;
  line["version"] = service_version;
  // Replace invalid UTF-8 rather than throw: a client's header must not
  // cost the log line.
  return line.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

} // namespace

void append_log_line(std::string& out, const log_record& record) {
  if (!fast_path_applies(record)) {
    out += library_line(record);
    return;
  }
  out += "{\"timestamp\":\"";
  append_iso8601(out, record.timestamp);
  out += "\",\"level\":";
  append_quoted(out, log_level_name(record.level));
  out += ",\"message\":";
  append_quoted(out, record.message);
  for (const auto& [key, value] : record.fields) {
    out += ',';
    append_quoted(out, key);
    out += ':';
    append_value(out, value);
  }
  out += ",\"service\":";
  append_quoted(out, service_name);
  out += ",\"version\":";
  append_quoted(out, service_version);
  out += '}';
}

std::string format_log_line(const log_record& record) {
  std::string out;
  out.reserve(256);
  append_log_line(out, record);
  return out;
}

} // namespace um::model
