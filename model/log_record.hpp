#pragma once

#include "model/clock.hpp"
#include "model/config.hpp"

#include <cstdint>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace um::model {

/// A value of a structured log field: a string, a number, a flag, or a list
/// of strings (`traceIds`).
using log_value =
    std::variant<std::string, std::int64_t, double, bool, std::vector<std::string>>;

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

/// Trace ids one log line lists at most (`traceIds`): about 12 KB, below the
/// 16 KB past which the container's log driver splits a line in two.
constexpr std::size_t max_trace_ids_per_line = 300;

/// The fields that name the requests a line is about: `traceId` for one,
/// `traceIds` (each id once, in order) for several, nothing for none.
/// `trace_ids` must hold at most `max_trace_ids_per_line` distinct ids; see
/// `split_by_trace_ids` for more.
void add_trace_fields(log_record& record, const std::vector<std::string>& trace_ids);

/// `record` once per `max_trace_ids_per_line` distinct ids of `trace_ids`,
/// each with `traceIds` (or `traceId` for a single request), and `part` and
/// `parts` when it takes more than one line. No ids: `record` alone.
std::vector<log_record> split_by_trace_ids(const log_record& record,
                                           const std::vector<std::string>& trace_ids);

/// The record of a failure to start: `startup error: <what>` at level
/// error, with `detail` (when not empty) in `error`.
log_record make_startup_error_record(std::string what, std::string detail, millis now);

/// One JSON object on one line (no newline): `timestamp`, `level`, `message`,
/// the fields in order, then `service` and `version`.
std::string format_log_line(const log_record& record);

/// Appends `format_log_line(record)` to `out` (the log-shipper's buffer).
void append_log_line(std::string& out, const log_record& record);

} // namespace um::model
