#include "model/config.hpp"
#include "model/notifications.hpp"

#include <charconv>

namespace um::model {

std::optional<millis> try_parse_duration(std::string_view text) {
  if (text.size() < 2)
    return std::nullopt;
  long long amount = 0;
  auto number = text.substr(0, text.size() - 1);
  auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), amount);
  if (ec != std::errc{} || end != number.data() + number.size() || amount <= 0)
    return std::nullopt;
  millis unit = 0;
  switch (text.back()) {
  case 's':
    unit = 1000;
    break;
  case 'm':
    unit = 60'000;
    break;
  case 'h':
    unit = 3'600'000;
    break;
  case 'd':
    unit = 86'400'000;
    break;
  case 'w':
    unit = 7 * 86'400'000LL;
    break;
  default:
    return std::nullopt;
  }
  if (amount > 100LL * 365 * 86'400'000 / unit)
    return std::nullopt;
  return amount * unit;
}

std::optional<log_level> try_parse_log_level(std::string_view text) {
  if (text == "debug" || text == "trace")
    return log_level::debug;
  if (text == "info")
    return log_level::info;
  if (text == "warn" || text == "warning")
    return log_level::warn;
  if (text == "error")
    return log_level::error;
  return std::nullopt;
}

std::string_view log_level_name(log_level level) {
  switch (level) {
  case log_level::debug:
    return "debug";
  case log_level::info:
    return "info";
  case log_level::warn:
    return "warn";
  case log_level::error:
    return "error";
  }
  return "info";
}

std::string validate(const service_config& c) {
  if (c.host.empty())
    return "--host must not be empty";
  if (c.port < 1 || c.port > 65535)
    return "--port must be between 1 and 65535, got " + std::to_string(c.port);
  if (c.data_dir.empty())
    return "--data-dir must not be empty";
  if (!c.database_url.empty() && c.database_url.rfind("rocksdb:", 0) != 0 &&
      c.database_url.rfind("sqlite:", 0) != 0 &&
      c.database_url.rfind("postgres://", 0) != 0 &&
      c.database_url.rfind("postgresql://", 0) != 0)
    return "--database-url must start with rocksdb:, sqlite:, postgres:// or "
           "postgresql://";
  for (std::size_t i = 0; i < c.api_keys.size(); ++i) {
    const auto& key = c.api_keys[i];
    if (key.secret.empty())
      return "--api-key must not be empty";
    if (!is_namespace_name(key.ns))
      return "--api-key namespace '" + key.ns +
             "' must be 1 to 40 of a-z, 0-9, '-' and '_', starting with a letter or "
             "digit (NAMESPACE:KEY)";
    for (std::size_t j = 0; j < i; ++j)
      if (c.api_keys[j].secret == key.secret && c.api_keys[j].ns != key.ns)
        return "--api-key: one key is given for namespaces '" + c.api_keys[j].ns +
               "' and '" + key.ns + "'; a key opens one namespace";
  }
  if (!try_parse_log_level(c.log_level))
    return "--log-level must be one of debug, info, warn, error, got '" + c.log_level +
           "'";
  if (c.request_timeout_ms < 1 || c.request_timeout_ms > 600'000)
    return "--request-timeout-ms must be between 1 and 600000";
  if (!c.retention.empty() && !try_parse_duration(c.retention))
    return "--retention must be a duration such as 30d, 12h or 90m, got '" + c.retention +
           "'";
  if (c.synchronous != "full" && c.synchronous != "normal")
    return "--synchronous must be full or normal";
  if (c.io_threads < 1 || c.io_threads > 64)
    return "--io-threads must be between 1 and 64";
  if (c.max_connections < 1 || c.max_connections > 1'000'000)
    return "--max-connections must be between 1 and 1000000";
  if (!c.portal_secret.empty() && c.portal_secret.size() < 32)
    return "--portal-secret must be at least 32 characters";
  if (auto schedule = parse_retry_schedule(c.alert_retry_schedule, c.alert_retry_max_age);
      !schedule)
    return "--alert-retry-schedule/--alert-retry-max-age: " + schedule.error;
  if (c.alert_timeout_ms < 100 || c.alert_timeout_ms > 300'000)
    return "--alert-timeout-ms must be between 100 and 300000";
  if (c.alert_channel_failure_limit < 0)
    return "--alert-channel-failure-limit must be 0 (never) or more";
  return {};
}

} // namespace um::model
