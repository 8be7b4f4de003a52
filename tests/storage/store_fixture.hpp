#pragma once

// A temporary data dir per test and a brute-force model of what the store
// should answer, computed from the events a test put in.

#include "model/clock.hpp"
#include "model/event.hpp"
#include "model/usage.hpp"
#include "storage/event_store.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace um::testing {

using model::millis;

constexpr millis minute = 60'000;
constexpr millis hour = 3'600'000;
constexpr millis day = 86'400'000;

// 2024-01-15T00:00:00.000Z: a day boundary the tests build around.
constexpr millis base_day = 1'705'276'800'000;

/// An event of the v1 source with the given id, subject, type and time.
inline model::event make_event(std::string id, std::string subject, std::string type,
                               millis time, std::string data = "{}") {
  model::event e;
  e.id = std::move(id);
  e.source = std::string{model::v1_source};
  e.subject = std::move(subject);
  e.type = std::move(type);
  e.time = time;
  e.data = std::move(data);
  e.ingested_at = time + 5;
  return e;
}

/// The embedded backends the storage suites run on.
enum class backend { rocksdb, sqlite };

/// A test name suffix for `backend`.
inline std::string backend_name(const ::testing::TestParamInfo<backend>& info) {
  return info.param == backend::rocksdb ? "rocksdb" : "sqlite";
}

/// Gives each test a fresh data dir under /tmp and removes it afterwards;
/// stores open on the backend `which()` names: RocksDB as the default
/// (`<data_dir>/rocksdb`), SQLite by its URL.
class store_test_base : public ::testing::Test {
protected:
  void SetUp() override {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "um-storage-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }

  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  /// The backend this test runs on.
  virtual backend which() const = 0;

  storage::store_options options(bool read_only = false) const {
    storage::store_options o;
    o.data_dir = dir_.string();
    if (which() == backend::sqlite)
      o.url = "sqlite:" + database_file().string();
    // Fsync per commit buys nothing in a test and costs seconds.
    o.synchronous_full = false;
    o.read_only = read_only;
    return o;
  }

  std::unique_ptr<storage::event_store> open(bool read_only = false) const {
    return storage::open_event_store(options(read_only));
  }

  /// The SQLite store's file.
  std::filesystem::path database_file() const { return dir_ / "usage-metrics.db"; }

  /// The RocksDB store's directory.
  std::filesystem::path rocksdb_dir() const { return dir_ / "rocksdb"; }

  /// Where the backend keeps its data in the data dir.
  std::filesystem::path store_path() const {
    return which() == backend::sqlite ? database_file() : rocksdb_dir();
  }

  std::filesystem::path dir_;
};

/// A storage test run on every embedded backend (`UM_ON_EMBEDDED_BACKENDS`).
class store_test : public store_test_base, public ::testing::WithParamInterface<backend> {
protected:
  backend which() const override { return GetParam(); }
};

/// A test of the SQLite store only.
class sqlite_store_test : public store_test_base {
protected:
  backend which() const override { return backend::sqlite; }
};

/// A test of the RocksDB store only.
class rocksdb_store_test : public store_test_base {
protected:
  backend which() const override { return backend::rocksdb; }
};

// clang-format off
/// Runs the TEST_Ps of `fixture` (a `store_test`) on each embedded backend.
#define UM_ON_EMBEDDED_BACKENDS(fixture)                                                 \
  INSTANTIATE_TEST_SUITE_P(embedded, fixture,                                            \
                           ::testing::Values(um::testing::backend::rocksdb,              \
                                             um::testing::backend::sqlite),              \
                           um::testing::backend_name)
// clang-format on

/// What a store holding exactly `events` must answer, by counting.
struct brute_force {
  std::vector<model::event> events;

  bool in(millis t, const model::time_range& r) const {
    return (!r.since || *r.since <= t) && (!r.until || t <= *r.until);
  }

  model::usage_summary summarize(const std::string& subject,
                                 const model::time_range& range) const {
    model::usage_summary out;
    for (const auto& e : events)
      if (e.subject == subject && in(e.time, range)) {
        ++out.total;
        ++out.by_type[e.type];
      }
    return out;
  }

  model::usage_history history(const std::string& subject, model::interval width,
                               const model::time_range& range) const {
    std::map<millis, std::int64_t> buckets;
    for (const auto& e : events)
      if (e.subject == subject && in(e.time, range))
        ++buckets[model::bucket_floor(e.time, model::interval_millis(width))];
    model::usage_history out;
    for (auto [bucket, n] : buckets)
      out.push_back({bucket, n});
    return out;
  }

  model::usage_stats stats(millis now) const {
    model::usage_stats out;
    std::set<std::string> subjects;
    for (const auto& e : events) {
      ++out.total_events;
      ++out.event_types[e.type];
      subjects.insert(e.subject);
      if (e.time >= now - hour && e.time <= now)
        ++out.events_last_hour;
    }
    out.unique_entities = static_cast<std::int64_t>(subjects.size());
    return out;
  }
};

} // namespace um::testing

// Comparisons and printers where gtest finds them by argument-dependent lookup.
namespace um::model {

inline bool operator==(const usage_summary& a, const usage_summary& b) {
  return a.total == b.total && a.by_type == b.by_type;
}

inline bool operator==(const history_point& a, const history_point& b) {
  return a.bucket_start == b.bucket_start && a.count == b.count;
}

inline bool operator==(const usage_stats& a, const usage_stats& b) {
  return a.total_events == b.total_events && a.events_last_hour == b.events_last_hour &&
         a.unique_entities == b.unique_entities && a.event_types == b.event_types;
}

inline void PrintTo(const usage_summary& s, std::ostream* os) {
  *os << "{total " << s.total << ":";
  for (const auto& [type, n] : s.by_type)
    *os << " " << type << "=" << n;
  *os << "}";
}

inline void PrintTo(const history_point& p, std::ostream* os) {
  *os << "{" << format_iso8601(p.bucket_start) << " " << p.count << "}";
}

inline void PrintTo(const usage_stats& s, std::ostream* os) {
  *os << "{total " << s.total_events << ", last hour " << s.events_last_hour
      << ", entities " << s.unique_entities << ":";
  for (const auto& [type, n] : s.event_types)
    *os << " " << type << "=" << n;
  *os << "}";
}

} // namespace um::model
