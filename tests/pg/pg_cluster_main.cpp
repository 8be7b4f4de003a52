// Starts a private PostgreSQL cluster for tests written in other languages:
// prints its URL as the first line on stdout, then takes commands, one per
// line on stdin, and answers each with one line (`ok [result]` or
// `error <why>`):
//   createdb NAME   creates a database and answers its URL
//   stop            stops the server (for outage tests)
//   start           starts it again on the same port
// It stops the cluster and removes it on SIGTERM, SIGINT, SIGHUP or when
// stdin reaches its end.
// Usage: pg_cluster [DBNAME]

#include "tests/pg/pg_cluster.hpp"

#include <csignal>
#include <iostream>
#include <memory>
#include <mutex>
#include <pthread.h>
#include <string>
#include <thread>

namespace {

std::mutex cluster_mutex;
std::unique_ptr<um::testing::pg_cluster> cluster;

[[noreturn]] void shut_down(int code) {
  {
    std::lock_guard<std::mutex> guard{cluster_mutex};
    cluster.reset();
  }
  std::cout.flush();
  std::_Exit(code);
}

std::string execute(const std::string& line) {
  std::lock_guard<std::mutex> guard{cluster_mutex};
  if (line.rfind("createdb ", 0) == 0)
    return "ok " + cluster->create_database(line.substr(9));
  if (line == "stop") {
    cluster->stop();
    return "ok";
  }
  if (line == "start") {
    cluster->start();
    return "ok";
  }
  return "error unknown command: " + line;
}

} // namespace

int main(int argc, char** argv) {
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  try {
    cluster = std::make_unique<um::testing::pg_cluster>(argc > 1 ? argv[1]
                                                                 : "usage_metrics_test");
    std::cout << cluster->url() << std::endl;
  } catch (const std::exception& e) {
    std::cerr << e.what() << '\n';
    return 1;
  }
  std::thread{[stop_signals] {
    int sig = 0;
    sigwait(&stop_signals, &sig);
    shut_down(0);
  }}.detach();
  std::string line;
  while (std::getline(std::cin, line)) {
    if (line.empty())
      continue;
    std::string answer;
    try {
      answer = execute(line);
    } catch (const std::exception& e) {
      answer = std::string{"error "} + e.what();
    }
    for (auto& c : answer)
      if (c == '\n')
        c = ' ';
    std::cout << answer << std::endl;
  }
  shut_down(0);
}
