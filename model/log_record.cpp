#include "model/log_record.hpp"

#include <nlohmann/json.hpp>

#include <charconv>
#include <string_view>
#include <unordered_set>

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

log_record make_startup_error_record(std::string what, std::string detail, millis now) {
  log_record rec;
  rec.level = log_level::error;
  rec.timestamp = now;
  rec.message = "startup error: " + std::move(what);
  if (!detail.empty())
    rec.fields.emplace_back("error", std::move(detail));
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
    if (auto list = std::get_if<std::vector<std::string>>(&value))
      for (const auto& item : *list)
        if (!plain_ascii(item))
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
  } else if (auto b = std::get_if<bool>(&value)) {
    out += *b ? "true" : "false";
  } else {
    out += '[';
    bool first = true;
    for (const auto& item : std::get<std::vector<std::string>>(value)) {
      if (!first)
        out += ',';
      first = false;
      append_quoted(out, item);
    }
    out += ']';
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

namespace {

std::vector<std::string> distinct(const std::vector<std::string>& ids) {
  std::vector<std::string> out;
  std::unordered_set<std::string_view> seen;
  out.reserve(ids.size());
  for (const auto& id : ids)
    if (!id.empty() && seen.insert(id).second)
      out.push_back(id);
  return out;
}

void add_distinct_trace_fields(log_record& record, std::vector<std::string> ids) {
  if (ids.size() == 1)
    record.fields.emplace_back("traceId", std::move(ids.front()));
  else if (!ids.empty())
    record.fields.emplace_back("traceIds", std::move(ids));
}

} // namespace

void add_trace_fields(log_record& record, const std::vector<std::string>& trace_ids) {
  add_distinct_trace_fields(record, distinct(trace_ids));
}

std::vector<log_record> split_by_trace_ids(const log_record& record,
                                           const std::vector<std::string>& trace_ids) {
  auto ids = distinct(trace_ids);
  std::vector<log_record> lines;
  if (ids.size() <= max_trace_ids_per_line) {
    lines.push_back(record);
    add_distinct_trace_fields(lines.back(), std::move(ids));
    return lines;
  }
  auto parts = (ids.size() + max_trace_ids_per_line - 1) / max_trace_ids_per_line;
  for (std::size_t part = 0; part < parts; ++part) {
    auto first = ids.begin() + static_cast<std::ptrdiff_t>(part * max_trace_ids_per_line);
    auto last = part + 1 == parts ? ids.end() : first + max_trace_ids_per_line;
    lines.push_back(record);
    auto& line = lines.back();
    // Always the array here, even for a last part of one, so that every part
    // of one failure has the same fields.
    line.fields.emplace_back("traceIds", std::vector<std::string>(first, last));
    line.fields.emplace_back("part", static_cast<std::int64_t>(part + 1));
    line.fields.emplace_back("parts", static_cast<std::int64_t>(parts));
  }
  return lines;
}

std::string format_log_line(const log_record& record) {
  std::string out;
  out.reserve(256);
  append_log_line(out, record);
  return out;
}

} // namespace um::model
