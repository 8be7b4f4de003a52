#include "tests/pg/pg_cluster.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <stdexcept>

namespace um::testing {

namespace {

namespace fs = std::filesystem;

std::string find_bin_dir() {
  if (const char* env = std::getenv("UM_PG_BIN"); env && *env)
    return env;
  for (const char* dir : {"/usr/lib/postgresql/15/bin", "/usr/local/pgsql/bin"})
    if (fs::exists(fs::path(dir) / "initdb") && fs::exists(fs::path(dir) / "pg_ctl"))
      return dir;
  throw std::runtime_error(
      "pg_cluster: PostgreSQL 15 binaries not found in /usr/lib/postgresql/15/bin "
      "(set UM_PG_BIN)");
}

// A port the kernel just handed out on loopback; free unless another process
// takes it between now and the server's bind, which start() retries.
int free_loopback_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0)
    throw std::runtime_error("pg_cluster: socket failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    throw std::runtime_error("pg_cluster: cannot find a free port");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

} // namespace

pg_cluster::pg_cluster(std::string dbname)
    : bin_(find_bin_dir()), dbname_(std::move(dbname)) {
  std::string pattern = (fs::temp_directory_path() / "um-pg-XXXXXX").string();
  if (!::mkdtemp(pattern.data()))
    throw std::runtime_error("pg_cluster: mkdtemp failed");
  dir_ = pattern;
  try {
    as_postgres_user_ = ::geteuid() == 0;
    if (as_postgres_user_) {
      const passwd* pw = ::getpwnam("postgres");
      if (!pw)
        throw std::runtime_error("pg_cluster: running as root but no postgres user");
      if (::chown(dir_.c_str(), pw->pw_uid, pw->pw_gid) != 0)
        throw std::runtime_error("pg_cluster: chown " + dir_ + " failed");
    }
    run({bin_ + "/initdb", "-D", dir_ + "/data", "-A", "trust", "-U", "postgres", "-E",
         "UTF8", "--locale=C", "--no-sync"},
        "initdb");
    for (int attempt = 1;; ++attempt) {
      port_ = free_loopback_port();
      try {
        start();
        break;
      } catch (const std::runtime_error&) {
        if (attempt == 3)
          throw;
      }
    }
    run({bin_ + "/createdb", "-h", "127.0.0.1", "-p", std::to_string(port_), "-U",
         "postgres", dbname_},
        "createdb");
    url_ = "postgresql://postgres@127.0.0.1:" + std::to_string(port_) + "/" + dbname_;
  } catch (...) {
    if (running_)
      stop();
    std::error_code ec;
    fs::remove_all(dir_, ec);
    throw;
  }
}

pg_cluster::~pg_cluster() {
  try {
    if (running_)
      stop();
  } catch (...) {
  }
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

void pg_cluster::start() {
  if (running_)
    return;
  std::string options = "-p " + std::to_string(port_) + " -k " + dir_ +
                        " -c listen_addresses=127.0.0.1 -c fsync=on";
  run({bin_ + "/pg_ctl", "-D", dir_ + "/data", "-o", options, "-l", dir_ + "/server.log",
       "-w", "-t", "60", "start"},
      "pg_ctl start");
  running_ = true;
}

void pg_cluster::stop() {
  if (!running_)
    return;
  run({bin_ + "/pg_ctl", "-D", dir_ + "/data", "-m", "fast", "-w", "-t", "60", "stop"},
      "pg_ctl stop");
  running_ = false;
}

std::string pg_cluster::create_database(const std::string& name) {
  run({bin_ + "/createdb", "-h", "127.0.0.1", "-p", std::to_string(port_), "-U",
       "postgres", name},
      "createdb");
  return "postgresql://postgres@127.0.0.1:" + std::to_string(port_) + "/" + name;
}

// Runs a command to completion with its output in `<dir>/commands.log`,
// never on this process's stdout (the CLI's first line there is the URL).
void pg_cluster::run(const std::vector<std::string>& argv, const char* doing) {
  std::vector<std::string> full;
  if (as_postgres_user_)
    full = {"/usr/sbin/runuser", "-u", "postgres", "--"};
  full.insert(full.end(), argv.begin(), argv.end());
  std::vector<char*> args;
  for (auto& a : full)
    args.push_back(a.data());
  args.push_back(nullptr);
  std::string log = dir_ + "/commands.log";
  int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (out < 0)
    throw std::runtime_error("pg_cluster: cannot open " + log);
  pid_t pid = ::fork();
  if (pid == 0) {
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    int in = ::open("/dev/null", O_RDONLY);
    ::dup2(in, 0);
    ::dup2(out, 1);
    ::dup2(out, 2);
    if (::chdir(dir_.c_str()) != 0)
      ::_exit(126);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  ::close(out);
  if (pid < 0)
    throw std::runtime_error(std::string{"pg_cluster: fork for "} + doing + " failed");
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw std::runtime_error(std::string{"pg_cluster: "} + doing + " failed; see " + log +
                             " and " + dir_ + "/server.log");
}

} // namespace um::testing
