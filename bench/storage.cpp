// Storage timings: what the unit suites used to measure inside a 120 s ctest
// timeout, now measured here (bench/run --storage runs it, and docs/PERFORMANCE.md
// has the numbers). The correctness of the same operations is tested in
// tests/storage and tests/pg.
//
//   build/bench/um_storage_bench [--postgres] [--events N]
//
// SQLite (a temp dir, synchronous=NORMAL as the unit tests use) always; PostgreSQL
// (a private cluster, tests/pg's pg_cluster) with --postgres. Prints a Markdown table;
// exits 1 when an operation answers wrongly (the cell counts of the back-filled meter).

#include "storage/event_store.hpp"
#include "tests/pg/pg_cluster.hpp"
#include "tests/storage/meter_cases.hpp"

#include <sqlite3.h>

#include <pqxx/pqxx>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace {

using namespace um;
using namespace um::testing::metering;
using model::millis;

double seconds_of(const std::function<void()>& f) {
  auto start = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::string fixed(double x, int digits) {
  std::ostringstream s;
  s.setf(std::ios::fixed);
  s.precision(digits);
  s << x;
  return s.str();
}

struct report {
  std::vector<std::string> rows;
  int wrong = 0;
  void row(const std::string& what, const std::string& value) {
    rows.push_back("| " + what + " | " + value + " |");
    std::cerr << "[bench storage] " << what << ": " << value << "\n";
  }
  void check(bool ok, const std::string& what) {
    if (!ok) {
      ++wrong;
      std::cerr << "[bench storage] WRONG: " << what << "\n";
    }
  }
};

/// One backend: how to open a store, and how to drop and recreate the index
/// that append maintains for meters (to see what it costs).
struct backend {
  std::string name;
  std::function<std::unique_ptr<storage::event_store>()> open;
  std::function<void()> drop_type_index;
  std::function<void()> create_type_index;
};

/// Median of five appends of 1000 random events, in ms.
double append_1000_ms(storage::event_store& store, std::mt19937& rng,
                      const std::string& prefix) {
  std::vector<double> runs;
  for (int i = 0; i < 5; ++i) {
    auto batch = random_events(rng, 1000, prefix + std::to_string(i) + "-");
    runs.push_back(seconds_of([&] { store.append(batch); }) * 1000);
  }
  std::sort(runs.begin(), runs.end());
  return runs[2];
}

void measure(const backend& b, int big_events, report& out) {
  std::mt19937 rng(1);
  auto store = b.open();
  store->append(random_events(rng, 1000, "warm"));
  double with_index = 0, without_index = 0;
  for (int round = 0; round < 3; ++round) {
    with_index += append_1000_ms(*store, rng, "i" + std::to_string(round)) / 3;
    store.reset();
    b.drop_type_index();
    store = b.open();
    without_index += append_1000_ms(*store, rng, "n" + std::to_string(round)) / 3;
    store.reset();
    b.create_type_index();
    store = b.open();
  }
  auto meters = every_kind_of_meter();
  for (std::size_t i = 0; i < 3; ++i)
    store->create_meter(meters[i]);
  double three = append_1000_ms(*store, rng, "t");
  out.row(b.name + ": append of 1000 events, ms (median of 5, mean of 3 rounds)",
          fixed(without_index, 1) + " without the type index, " + fixed(with_index, 1) +
              " with it, " + fixed(three, 1) + " with 3 meters");

  // A large back-fill: 100 subjects over 30 days, one event every 25.92 s.
  const millis spacing = 30 * 86'400'000LL / big_events;
  std::vector<model::event> big;
  for (int i = 0; i < big_events; ++i)
    big.push_back(usage_event("big" + std::to_string(i), "c" + std::to_string(i % 100),
                              "bulk", t0 + static_cast<millis>(i) * spacing,
                              R"({"v":)" + std::to_string(i % 13) + R"(,"g":"x"})"));
  append_in_batches(*store, big, 5000);
  auto m = make_meter("bulk", R"({"slug":"bulk","aggregation":"SUM","eventType":"bulk",
      "valueProperty":"$.v","groupBy":{"g":"$.g"}})");
  store->create_meter(m);
  int calls = 0;
  double backfill_s = seconds_of([&] { calls = backfill(*store, "bulk", 5000); });
  std::size_t cells = 0, one = 0;
  const millis until = t0 + 30 * 86'400'000LL;
  double read_s = seconds_of([&] {
    cells = store->meter_cells("bulk", storage::meter_grain::hour, t0, until, {}).size();
  });
  double read_one_s = seconds_of([&] {
    one =
        store->meter_cells("bulk", storage::meter_grain::hour, t0, until, {"c7"}).size();
  });
  out.row(b.name + ": back-fill of " + std::to_string(big_events) + " events, s",
          fixed(backfill_s, 2) + " in " + std::to_string(calls) + " chunks of 5000");
  out.row(b.name + ": meter_cells, 30 days × 100 subjects, hour grain, ms",
          fixed(read_s * 1000, 1) + " (" + std::to_string(cells) +
              " cells); one subject " + fixed(read_one_s * 1000, 1) + " (" +
              std::to_string(one) + " cells)");
  if (big_events == 100'000) {
    // Every (subject, hour) holds events: 720 hours × 100 subjects.
    out.check(cells == 72'000u, b.name + ": 72000 cells, got " + std::to_string(cells));
    out.check(one == 720u,
              b.name + ": 720 cells of one subject, got " + std::to_string(one));
  }

  // Large batches of new events, a batch of duplicates, a bounded summary.
  double append_s = 1e9;
  std::vector<model::event> batch;
  const millis base = t0 + 40 * 86'400'000LL;
  for (int round = 0; round < 20; ++round) {
    batch.clear();
    for (int i = 0; i < 1000; ++i)
      batch.push_back(usage_event("r" + std::to_string(round) + "-" + std::to_string(i),
                                  "s" + std::to_string(i % 50),
                                  "t" + std::to_string(i % 5),
                                  base + (round * 1000 + i) * 600LL, "{}"));
    append_s = std::min(append_s, seconds_of([&] { store->append(batch); }));
  }
  double dup_s = seconds_of([&] { store->append(batch); });
  model::time_range range{base + 12'345, base + 20'000 * 600LL - 777};
  store->summarize("s7", range);
  double summary_s = 1e9;
  for (int i = 0; i < 20; ++i)
    summary_s = std::min(summary_s, seconds_of([&] { store->summarize("s7", range); }));
  out.check(store->summarize("s7", range).total > 0,
            b.name + ": the summary counts events");
  out.row(b.name + ": append of 1000 new events (best of 20) / of 1000 duplicates, ms",
          fixed(append_s * 1000, 1) + " / " + fixed(dup_s * 1000, 1));
  out.row(b.name +
              ": bounded summarize over 20000 events of 50 subjects, ms (best of 20)",
          fixed(summary_s * 1000, 2));
}

std::string temp_dir() {
  std::string pattern =
      (std::filesystem::temp_directory_path() / "um-storage-bench-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr)
    throw std::runtime_error("mkdtemp failed");
  return pattern;
}

void sqlite_exec(const std::string& file, const char* sql) {
  sqlite3* db = nullptr;
  if (sqlite3_open(file.c_str(), &db) != SQLITE_OK)
    throw std::runtime_error("sqlite3_open " + file);
  sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
  sqlite3_close(db);
}

} // namespace

int main(int argc, char** argv) {
  bool postgres = false;
  int events = 100'000;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--postgres")
      postgres = true;
    else if (a == "--events" && i + 1 < argc)
      events = std::atoi(argv[++i]);
    else {
      std::cerr << "usage: um_storage_bench [--postgres] [--events N]\n";
      return 2;
    }
  }
  report out;
  try {
    auto dir = temp_dir();
    storage::store_options options;
    options.data_dir = dir;
    options.synchronous_full = false;
    auto file = (std::filesystem::path(dir) / "usage-metrics.db").string();
    measure(
        {"SQLite", [options] { return storage::open_event_store(options); },
         [file] { sqlite_exec(file, "DROP INDEX events_by_type"); },
         [file] { sqlite_exec(file, "CREATE INDEX events_by_type ON events (type)"); }},
        events, out);
    std::filesystem::remove_all(dir);

    if (postgres) {
      um::testing::pg_cluster cluster{"storage_bench"};
      storage::store_options pg;
      pg.url = cluster.url();
      auto url = cluster.url();
      measure({"PostgreSQL", [pg] { return storage::open_event_store(pg); },
               [url] {
                 pqxx::connection c{url};
                 pqxx::nontransaction{c}.exec0("DROP INDEX events_by_type_seq");
               },
               [url] {
                 pqxx::connection c{url};
                 pqxx::nontransaction{c}.exec0(
                     "CREATE INDEX events_by_type_seq ON events (type, seq)");
               }},
              events, out);
    }
  } catch (const std::exception& e) {
    std::cerr << "[bench storage] error: " << e.what() << "\n";
    return 1;
  }
  std::cout << "Storage (`um_storage_bench" << (postgres ? " --postgres" : "")
            << "`):\n\n"
            << "| measurement | result |\n|---|---|\n";
  for (const auto& r : out.rows)
    std::cout << r << "\n";
  return out.wrong == 0 ? 0 : 1;
}
