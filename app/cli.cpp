#include "app/cli.hpp"

#include "app/meters_file.hpp"
#include "model/v1_api.hpp"

#include <CLI/CLI.hpp>

namespace um::app {

parse_outcome parse_command_line(int argc, const char* const* argv) {
  command cmd;
  auto& c = cmd.config;
  CLI::App cli{"usage-metrics: ingests usage events, stores them durably and answers "
               "usage questions over HTTP.",
               "usage-metrics"};
  cli.set_help_flag("-h,--help", "Print this help and exit");
  cli.add_option("--host", c.host, "Address to listen on")
      ->envname("HOST")
      ->capture_default_str();
  cli.add_option("--port", c.port, "TCP port to listen on")
      ->envname("PORT")
      ->capture_default_str();
  cli.add_option("--data-dir", c.data_dir, "Directory of the embedded database")
      ->envname("DATA_DIR")
      ->capture_default_str();
  cli.add_option("--database-url", c.database_url,
                 "Database URL (postgresql://..., rocksdb:DIR or sqlite:PATH); default: "
                 "the embedded RocksDB database in the data dir (<data-dir>/rocksdb)")
      ->envname("DATABASE_URL");
  // Split here, not by CLI11, which drops empty items: "k1,,k2" or "," is a
  // mistake to refuse, not a list to shorten.
  std::vector<std::string> api_key_lists;
  cli.add_option("--api-key", api_key_lists,
                 "API key clients must present, as NAMESPACE:KEY or KEY (namespace "
                 "`default`) (repeatable, or comma-separated; env: comma-separated, "
                 "spaces around keys ignored)")
      ->envname("API_KEYS");
  cli.add_option("--log-level", c.log_level, "debug, info, warn or error")
      ->envname("LOG_LEVEL")
      ->capture_default_str();
  cli.add_option("--environment", c.environment, "Environment name reported by /info")
      ->envname("ENVIRONMENT")
      ->capture_default_str();
  cli.add_option("--request-timeout-ms", c.request_timeout_ms,
                 "Longest time a request may take before it answers 504")
      ->envname("REQUEST_TIMEOUT_MS")
      ->capture_default_str();
  cli.add_flag("--fault-injection", c.fault_injection,
               "Enable /admin/faults/* for failure drills (never in production)")
      ->envname("FAULT_INJECTION");
  cli.add_option(
         "--retention", c.retention,
         "Remove events older than this (e.g. 30d, 12h); default: keep everything")
      ->envname("RETENTION");
  cli.add_option("--synchronous", c.synchronous,
                 "Embedded database durability: full (fsync every commit) or normal")
      ->envname("SYNCHRONOUS")
      ->capture_default_str();
  cli.add_option("--cors-origin", c.cors_origin, "Access-Control-Allow-Origin value")
      ->envname("CORS_ORIGIN")
      ->capture_default_str();
  cli.add_option("--io-threads", c.io_threads, "HTTP I/O threads")
      ->envname("IO_THREADS")
      ->capture_default_str();
  cli.add_option("--max-connections", c.max_connections,
                 "Connections served at once; one more is answered 503 and closed")
      ->envname("MAX_CONNECTIONS")
      ->capture_default_str();
  cli.add_option("--meters", c.meters_file,
                 "YAML file with OpenMeter's `meters:` list, created or updated at start")
      ->envname("METERS_FILE");
  cli.add_option("--portal-secret", c.portal_secret,
                 "Secret (32+ characters, the same on every instance) that signs portal "
                 "tokens; without it /api/v1/portal/* answers 403")
      ->envname("PORTAL_SECRET");
  cli.add_option("--alert-retry-schedule", c.alert_retry_schedule,
                 "Waits between failed usage-alert webhook attempts, the last repeating "
                 "(e.g. 1s,5s,30s,2m,10m,30m,1h; jittered by +-20%)")
      ->envname("ALERT_RETRY_SCHEDULE")
      ->capture_default_str();
  cli.add_option("--alert-retry-max-age", c.alert_retry_max_age,
                 "Give a webhook delivery up this long after its first attempt")
      ->envname("ALERT_RETRY_MAX_AGE")
      ->capture_default_str();
  cli.add_option("--alert-timeout-ms", c.alert_timeout_ms,
                 "Longest one webhook attempt may take, connecting included")
      ->envname("ALERT_TIMEOUT_MS")
      ->capture_default_str();
  cli.add_option("--alert-channel-failure-limit", c.alert_channel_failure_limit,
                 "Disable a notification channel after this many failed attempts in a "
                 "row (0: never)")
      ->envname("ALERT_CHANNEL_FAILURE_LIMIT")
      ->capture_default_str();
  cli.add_flag("--alert-block-private-targets", c.alert_block_private_targets,
               "Refuse webhook URLs that resolve to loopback, private or link-local "
               "addresses (set it in production)")
      ->envname("ALERT_BLOCK_PRIVATE_TARGETS");
  cli.add_flag("--healthcheck", cmd.healthcheck,
               "Check GET /health of the service on this host's --port and exit 0 or 1");
  cli.add_flag("--print-routes", cmd.print_routes,
               "Print the HTTP routes (method, path, auth, error style, self-tracking) "
               "as JSON and exit");
  parse_outcome out;
  try {
    cli.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    out.output = cli.help();
    return out;
  } catch (const CLI::ParseError& e) {
    out.exit_code = 2;
    std::string what = e.what();
    for (auto& ch : what)
      if (ch == '\n' || ch == '\r')
        ch = ' ';
    out.output = what;
    return out;
  }
  // "k1, k2" means two keys, and a list with an empty key in it ("," or
  // "k1,,k2") is a mistake, never a reason to start without authentication.
  for (const auto& list : api_key_lists) {
    // A blank value (an unset variable passed on as "") gives no key.
    if (model::js_trim(list).empty())
      continue;
    std::string_view rest = list;
    for (;;) {
      auto comma = rest.find(',');
      c.api_keys.push_back(model::parse_api_key(model::js_trim(rest.substr(0, comma))));
      if (comma == std::string_view::npos)
        break;
      rest.remove_prefix(comma + 1);
    }
  }
  if (auto problem = model::validate(c); !problem.empty()) {
    out.exit_code = 2;
    out.output = problem;
    return out;
  }
  if (!c.meters_file.empty()) {
    auto meters = load_meters_file(c.meters_file, model::now_millis());
    if (!meters) {
      out.exit_code = 2;
      out.output = meters.error;
      return out;
    }
    for (std::size_t i = 0; i < meters.value.size(); ++i)
      if (!model::serves_namespace(c.api_keys, meters.value[i].ns)) {
        out.exit_code = 2;
        out.output = "--meters " + c.meters_file + ": meters[" + std::to_string(i) +
                     "]: namespace '" + meters.value[i].ns +
                     "' is not served: no --api-key belongs to it";
        return out;
      }
    cmd.meters = std::move(meters.value);
  }
  out.cmd = std::move(cmd);
  return out;
}

} // namespace um::app
