#pragma once

#include "model/clock.hpp"
#include "model/config.hpp"

#include <cstdint>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace um::model {

/// A value of a structured log field.
using log_value = std::variant<std::string, std::int64_t, double, bool>;

/// One structured log line before it is formatted.
struct log_record {
  log_level level = log_level::info;
  millis timestamp = 0;
  std::string message;
  std::vector<std::pair<std::string, log_value>> fields;
};

/// The fields of the line every HTTP request gets (`message: "HTTP Request"`).
struct request_log {
  std::string method;
  std::string path;
  int status = 0;
  double duration_ms = 0;
  std::string trace_id;
  std::string user_agent;
  std::string ip;
};

/// The log record of a request: level by status (5xx error, 4xx warn, else info).
log_record make_request_record(request_log r, millis now);

/// One JSON object on one line (no newline): `timestamp`, `level`, `message`,
/// the fields in order, then `service` and `version`.
std::string format_log_line(const log_record& record);

/// Appends `format_log_line(record)` to `out` (the log-shipper's buffer).
void append_log_line(std::string& out, const log_record& record);

} // namespace um::model
