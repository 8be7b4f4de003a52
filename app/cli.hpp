#pragma once

#include "app/meters_file.hpp"
#include "model/config.hpp"
#include "model/metering.hpp"

#include <vector>

#include <optional>
#include <string>

namespace um::app {

/// What the command line asks for.
struct command {
  model::service_config config;
  bool healthcheck = false;           ///< Probe a running service's /health and exit 0/1.
  bool print_routes = false;          ///< Print the route table as JSON and exit 0.
  std::vector<declared_meter> meters; ///< From `--meters`, validated.
};

/// The result of reading the command line: a command, or an exit code with
/// the text to print (help on stdout; for exit 2, what is wrong, which the
/// caller writes as one JSON `startup error` line on stderr).
struct parse_outcome {
  std::optional<command> cmd;
  int exit_code = 0;
  std::string output;
};

/// Reads flags, with environment variables as fallbacks, and validates them.
parse_outcome parse_command_line(int argc, const char* const* argv);

} // namespace um::app
