#pragma once

#include "model/clock.hpp"
#include "model/namespaces.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace um::model {

/// The service's whole configuration, built once at start from flags and
/// environment and handed to each part as it is spawned.
struct service_config {
  std::string host = "0.0.0.0";
  int port = 3000;
  std::string data_dir = "./data";
  std::string database_url; ///< Empty: the embedded database in `data_dir`.
  /// The keys clients present, each with its namespace (`NAMESPACE:KEY`);
  /// empty: no authentication, and the default namespace only.
  std::vector<api_key> api_keys;
  std::string log_level = "info";
  std::string environment = "development";
  int request_timeout_ms = 5000;
  bool fault_injection = false;
  std::string retention;            ///< E.g. `30d`; empty keeps everything.
  std::string synchronous = "full"; ///< SQLite durability: `full` or `normal`.
  std::string cors_origin = "*";
  int io_threads = 2;
  int max_connections = 10'000; ///< Served at once; more are answered 503.
  std::string meters_file; ///< OpenMeter-style YAML with a `meters:` list; empty: none.
  /// The key portal tokens are signed with (HMAC-SHA256), the same on every
  /// instance of a deployment; empty: portal tokens are off.
  std::string portal_secret;
  /// Usage alerts: waits between failed webhook attempts (the last repeats),
  /// see `model::parse_retry_schedule`.
  std::string alert_retry_schedule = "1s,5s,30s,2m,10m,30m,1h";
  std::string alert_retry_max_age = "24h"; ///< No attempt starts later than this.
  int alert_timeout_ms = 10'000;           ///< Longest one webhook attempt may take.
  /// A channel is disabled after this many failed attempts in a row (0: never).
  int alert_channel_failure_limit = 50;
  /// Refuse webhook targets on loopback or private networks (production).
  bool alert_block_private_targets = false;
};

/// Parses a duration such as `30d`, `12h`, `90m`, `45s` into milliseconds.
std::optional<millis> try_parse_duration(std::string_view text);

/// Log levels by rank, lowest first.
enum class log_level { debug, info, warn, error };

/// Parses a log level name (`debug`, `info`, `warn`/`warning`, `error`).
std::optional<log_level> try_parse_log_level(std::string_view text);

/// The wire name of a level.
std::string_view log_level_name(log_level level);

/// Checks every value; returns one line naming the first bad one, or nothing.
std::string validate(const service_config& config);

/// The service name that `/health`, `/info` and every log line carry.
inline constexpr std::string_view service_name = "ioanyt-delivery-standard";

/// The release version that `/health`, `/info` and every log line carry. It
/// comes from the build: the CMake cache variable `USAGE_METRICS_VERSION`
/// (default `1.0.0`; the image's build argument of the same name, which the
/// deploy workflow sets from the release tag). Defined in `model/version.cpp`,
/// the only file compiled with that value, so another version relinks the
/// service instead of rebuilding it.
extern const std::string_view service_version;

} // namespace um::model
