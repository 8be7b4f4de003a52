// What only the RocksDB store shows: its directory, one database shared by
// every handle of the process, exactly-once across many commits and reopens.

#include "storage/rocksdb_store.hpp"
#include "tests/storage/store_fixture.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <thread>

namespace {

using namespace um;
using namespace um::testing;

using rocksdb_store = rocksdb_store_test;

std::vector<model::event> numbered(int from, int to, const std::string& prefix) {
  std::vector<model::event> out;
  for (int i = from; i < to; ++i)
    out.push_back(make_event(prefix + std::to_string(i), "s" + std::to_string(i % 7),
                             i % 3 ? "a" : "b", base_day + i * 1000));
  return out;
}

TEST_F(rocksdb_store, the_default_is_a_directory_in_the_data_dir) {
  EXPECT_EQ(storage::rocksdb_path(options()), rocksdb_dir().string());
  open()->append({make_event("x", "u", "t", base_day)});
  EXPECT_TRUE(std::filesystem::exists(rocksdb_dir() / "CURRENT"));
  EXPECT_FALSE(std::filesystem::exists(database_file()));
}

TEST_F(rocksdb_store, rocksdb_url_names_the_directory) {
  auto o = options();
  o.url = "rocksdb:" + (dir_ / "elsewhere").string();
  EXPECT_EQ(storage::rocksdb_path(o), (dir_ / "elsewhere").string());
  storage::open_event_store(o)->append({make_event("x", "u", "t", base_day)});
  EXPECT_TRUE(std::filesystem::exists(dir_ / "elsewhere" / "CURRENT"));
  EXPECT_FALSE(std::filesystem::exists(rocksdb_dir()));
  EXPECT_EQ(storage::open_event_store(o)->summarize("u", {}).total, 1);
}

// Exactly-once is kept by the dedup keys, not by anything in memory: every
// id sent again after many commits and reopens is a duplicate.
TEST_F(rocksdb_store, dedup_holds_across_many_commits_and_reopens) {
  constexpr int per_round = 3000, rounds = 4;
  for (int round = 0; round < rounds; ++round) {
    auto store = open();
    auto events = numbered(round * per_round, (round + 1) * per_round, "e");
    for (std::size_t i = 0; i < events.size(); i += 250)
      store->append({events.begin() + static_cast<std::ptrdiff_t>(i),
                     events.begin() + static_cast<std::ptrdiff_t>(i + 250)});
  }
  auto store = open();
  auto all = numbered(0, per_round * rounds, "e");
  for (std::size_t i = 0; i < all.size(); i += 1000) {
    std::vector<model::event> again(all.begin() + static_cast<std::ptrdiff_t>(i),
                                    all.begin() + static_cast<std::ptrdiff_t>(i + 1000));
    for (const auto& outcome : store->append(again))
      ASSERT_EQ(outcome.status, model::append_status::duplicate) << outcome.event.id;
  }
  EXPECT_EQ(store->list_events({}).total, per_round * rounds);
  EXPECT_EQ(store->stats(base_day).total_events, per_round * rounds);
  // A new event after them all gets a sequence number of its own.
  ASSERT_EQ(store->append({make_event("new", "s0", "a", base_day)}).at(0).status,
            model::append_status::stored);
  model::event_search s;
  s.time_from = base_day;
  s.time_to = base_day + 1;
  auto found = store->search_events(s);
  ASSERT_EQ(found.size(), 2u);
  EXPECT_GT(found[0].seq, found[1].seq);
  EXPECT_EQ(found[0].event.id, "new");
}

// RocksDB opens a directory once per process: the writer, the readers and
// read-only stores share that one database, and see each other's commits.
TEST_F(rocksdb_store, handles_in_one_process_share_the_database) {
  auto writer = open();
  auto other = open();
  auto reader = open(true);
  writer->append({make_event("1", "u", "t", base_day)});
  EXPECT_EQ(reader->summarize("u", {}).total, 1);
  other->append({make_event("2", "u", "t", base_day)});
  EXPECT_EQ(writer->list_events({}).total, 2);
  writer.reset();
  other.reset();
  EXPECT_EQ(reader->list_events({}).total, 2);
  reader.reset();
  // The last handle closed it: it opens again.
  EXPECT_EQ(open()->list_events({}).total, 2);
}

// Two handles appending the same ids at once store each event once.
TEST_F(rocksdb_store, concurrent_appends_of_the_same_ids_store_each_once) {
  auto a = open();
  auto b = open();
  auto events = numbered(0, 2000, "c");
  auto run = [&](storage::event_store& s) {
    for (std::size_t i = 0; i < events.size(); i += 100)
      s.append({events.begin() + static_cast<std::ptrdiff_t>(i),
                events.begin() + static_cast<std::ptrdiff_t>(i + 100)});
  };
  std::thread first{[&] { run(*a); }};
  run(*b);
  first.join();
  EXPECT_EQ(a->list_events({}).total, 2000);
  EXPECT_EQ(b->stats(base_day).total_events, 2000);
  model::event_search s;
  s.time_from = base_day;
  s.time_to = base_day + 3'000'000;
  s.limit = 3000;
  EXPECT_EQ(a->search_events(s).size(), 2000u);
}

TEST_F(rocksdb_store, a_damaged_database_is_corrupt) {
  open()->append({make_event("1", "u", "t", base_day)});
  for (const auto& entry : std::filesystem::directory_iterator(rocksdb_dir()))
    if (entry.path().filename().string().rfind("MANIFEST", 0) == 0) {
      std::ofstream out{entry.path(), std::ios::binary | std::ios::trunc};
      for (int i = 0; i < 4096; ++i)
        out.put(static_cast<char>((i * 37 + 11) & 0xff));
    }
  try {
    open();
    FAIL() << "opened a damaged database";
  } catch (const storage::storage_error& e) {
    EXPECT_EQ(e.kind(), storage::failure_kind::corrupt) << e.what();
  }
}

} // namespace
