// Starts a private PostgreSQL cluster for tests written in other languages:
// prints its URL as the first line on stdout, then stops the cluster and
// removes it on SIGTERM, SIGINT, SIGHUP or when stdin reaches its end.
// Usage: pg_cluster [DBNAME]

#include "tests/pg/pg_cluster.hpp"

#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <exception>
#include <iostream>
#include <thread>

int main(int argc, char** argv) {
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  try {
    um::testing::pg_cluster cluster{argc > 1 ? argv[1] : "usage_metrics_test"};
    std::cout << cluster.url() << std::endl;
    std::thread{[] {
      char buf[256];
      while (::read(0, buf, sizeof buf) > 0) {
      }
      ::kill(::getpid(), SIGTERM);
    }}.detach();
    int sig = 0;
    sigwait(&stop_signals, &sig);
  } catch (const std::exception& e) {
    std::cerr << e.what() << '\n';
    return 1;
  }
  return 0;
}
