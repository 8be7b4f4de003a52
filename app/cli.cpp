#include "app/cli.hpp"

#include "app/meters_file.hpp"

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
                 "Database URL (postgresql://... or sqlite:PATH); default: the embedded "
                 "database in the data dir")
      ->envname("DATABASE_URL");
  cli.add_option("--api-key", c.api_keys,
                 "API key clients must present (repeatable; env: comma-separated)")
      ->envname("API_KEYS")
      ->delimiter(',');
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
  cli.add_option("--meters", c.meters_file,
                 "YAML file with OpenMeter's `meters:` list, created or updated at start")
      ->envname("METERS_FILE");
  cli.add_flag("--healthcheck", cmd.healthcheck,
               "Check GET /health of the service on this host's --port and exit 0 or 1");
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
    out.output = "usage-metrics: " + what;
    return out;
  }
  if (auto problem = model::validate(c); !problem.empty()) {
    out.exit_code = 2;
    out.output = "usage-metrics: " + problem;
    return out;
  }
  if (!c.meters_file.empty()) {
    auto meters = load_meters_file(c.meters_file, model::now_millis());
    if (!meters) {
      out.exit_code = 2;
      out.output = "usage-metrics: " + meters.error;
      return out;
    }
    cmd.meters = std::move(meters.value);
  }
  out.cmd = std::move(cmd);
  return out;
}

} // namespace um::app
