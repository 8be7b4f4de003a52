#pragma once

namespace um::app {

/// The whole program: reads the command line and runs the service (or the
/// health probe) until SIGTERM or SIGINT. Returns the process exit code.
int run(int argc, char** argv);

} // namespace um::app
