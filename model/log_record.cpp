#include "model/log_record.hpp"

#include <nlohmann/json.hpp>

namespace um::model {

log_record make_request_record(const request_log& r, millis now) {
  log_record rec;
  rec.level = r.status >= 500   ? log_level::error
              : r.status >= 400 ? log_level::warn
                                : log_level::info;
  rec.timestamp = now;
  rec.message = "HTTP Request";
  rec.fields = {{"method", r.method},
                {"path", r.path},
                {"statusCode", std::int64_t{r.status}},
                {"duration", r.duration_ms},
                {"traceId", r.trace_id},
                {"userAgent", r.user_agent},
                {"ip", r.ip}};
  return rec;
}

std::string format_log_line(const log_record& record) {
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

} // namespace um::model
