#pragma once

#include <string>
#include <vector>

namespace um::testing {

/// A private PostgreSQL 15 server for tests: its own data directory in a
/// fresh temporary directory, its own loopback port and socket directory,
/// trust authentication, one database. Never touches the system cluster.
/// Runs the server as the `postgres` user when the tests run as root, since
/// PostgreSQL refuses to run as root. Throws `std::runtime_error` when a
/// step fails; the message names the log to read.
class pg_cluster {
public:
  /// Creates and starts the cluster and creates the database `dbname`.
  explicit pg_cluster(std::string dbname = "usage_metrics_test");

  /// Stops the server (fast shutdown) and removes the directory.
  ~pg_cluster();

  pg_cluster(const pg_cluster&) = delete;
  pg_cluster& operator=(const pg_cluster&) = delete;

  /// `postgresql://postgres@127.0.0.1:PORT/DBNAME`.
  const std::string& url() const { return url_; }

  /// The loopback TCP port the server listens on.
  int port() const { return port_; }

  /// The temporary directory holding the data directory and the logs.
  const std::string& dir() const { return dir_; }

  /// Stops the server (fast shutdown: open connections are terminated).
  void stop();

  /// Starts the stopped server again on the same port.
  void start();

  /// True while the server runs.
  bool running() const { return running_; }

  /// Creates another database on this server and returns its URL.
  std::string create_database(const std::string& name);

private:
  void run(const std::vector<std::string>& argv, const char* doing);

  std::string bin_;
  std::string dir_;
  std::string dbname_;
  std::string url_;
  int port_ = 0;
  bool as_postgres_user_ = false;
  bool running_ = false;
};

} // namespace um::testing
