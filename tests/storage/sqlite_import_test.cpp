// The import of an embedded SQLite data dir into the store that replaces
// it: everything moves, the answers stay, a stopped import resumes, and a
// copy that does not match keeps the file where it was.

#include "storage/sqlite_import.hpp"
#include "storage/sqlite_store.hpp"
#include "tests/storage/meter_cases.hpp"
#include "tests/storage/store_fixture.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <random>

namespace {

using namespace um;
using namespace um::testing;
using namespace um::testing::metering;
namespace fs = std::filesystem;

class sqlite_import : public rocksdb_store_test {
protected:
  void SetUp() override {
    rocksdb_store_test::SetUp();
    fs::create_directories(dir_ / "old");
    std::mt19937 rng{7};
    events_ = random_events(rng, 2500, "e");
    // Events of both APIs' sources and of several types.
    for (int i = 0; i < 300; ++i)
      events_.push_back(make_event("v" + std::to_string(i), "s" + std::to_string(i % 5),
                                   i % 3 ? "api_call" : "storage", t0 + i * 1000));
    meters_ = every_kind_of_meter();

    auto sqlite = old_options();
    sqlite.url = "sqlite:" + old_file();
    auto old = storage::open_event_store(sqlite);
    for (const auto& m : meters_)
      old->create_meter(m);
    for (const auto& m : meters_)
      while (!old->backfill_meter(m.id, 1000)) {
      }
    for (std::size_t i = 0; i < events_.size(); i += 700)
      old->append(
          {events_.begin() + static_cast<long>(i),
           events_.begin() + static_cast<long>(std::min(i + 700, events_.size()))});
    model::subject_upsert acme;
    acme.key = "s1";
    acme.display_name = std::optional<std::string>{"Acme"};
    acme.metadata = std::optional<std::string>{R"({"plan":"pro"})"};
    subjects_ = old->upsert_subjects({acme}, t0);
  }

  // The data dir of an earlier release, as the default embedded store sees it.
  storage::store_options old_options() const {
    auto o = options();
    o.url.clear();
    o.data_dir = (dir_ / "old").string();
    return o;
  }
  std::string old_file() const { return (dir_ / "old" / "usage-metrics.db").string(); }

  // The store that replaces it: the default (RocksDB), in its own data dir.
  std::unique_ptr<storage::event_store> open_target() const {
    auto o = options();
    o.data_dir = (dir_ / "new").string();
    return storage::open_event_store(o);
  }

  void expect_same_answers(storage::event_store& target) {
    brute_force truth{events_};
    // After every event: "the last hour" has no upper bound in the store.
    EXPECT_EQ(target.stats(t0 + 5 * hour), truth.stats(t0 + 5 * hour));
    EXPECT_EQ(target.list_events({}).total, static_cast<std::int64_t>(events_.size()));
    for (const char* subject : {"s0", "s1", "s2", "s3", "s4"}) {
      EXPECT_EQ(target.summarize(subject, {}), truth.summarize(subject, {})) << subject;
      EXPECT_EQ(target.history(subject, model::interval::hour, {}),
                truth.history(subject, model::interval::hour, {}))
          << subject;
    }
    auto stored = target.meters();
    ASSERT_EQ(stored.size(), meters_.size());
    for (std::size_t i = 0; i < meters_.size(); ++i) {
      EXPECT_EQ(stored[i].meter.id, meters_[i].id);
      EXPECT_EQ(stored[i].meter.slug, meters_[i].slug);
      EXPECT_TRUE(stored[i].ready) << meters_[i].slug;
      expect_cells(target, meters_[i], events_);
    }
    auto subjects = target.subjects();
    ASSERT_EQ(subjects.size(), 1u);
    EXPECT_EQ(subjects[0].id, subjects_[0].id);
    EXPECT_EQ(subjects[0].display_name, subjects_[0].display_name);
    EXPECT_EQ(subjects[0].metadata, subjects_[0].metadata);
    EXPECT_EQ(subjects[0].created_at, subjects_[0].created_at);
    // Exactly-once carries over: an id stored before the import stays taken.
    auto again = target.append({events_.front()});
    EXPECT_EQ(again[0].status, model::append_status::duplicate);
  }

  std::vector<model::event> events_;
  std::vector<model::meter> meters_;
  std::vector<model::subject> subjects_;
};

TEST_F(sqlite_import, finds_the_file_of_the_embedded_default_only) {
  auto o = old_options();
  if (storage::sqlite_is_embedded_default()) {
    EXPECT_FALSE(storage::sqlite_file_to_import(o)) << "SQLite is the store itself";
  } else {
    EXPECT_EQ(storage::sqlite_file_to_import(o), old_file());
  }
  o.url = "sqlite:" + old_file();
  EXPECT_FALSE(storage::sqlite_file_to_import(o));
  o = options();
  EXPECT_FALSE(storage::sqlite_file_to_import(o)) << "no file in this data dir";
}

TEST_F(sqlite_import, moves_everything_and_keeps_the_file_aside) {
  auto target = open_target();
  std::int64_t reported = 0;
  auto result = storage::import_sqlite_store(
      old_file(), *target, [&](std::int64_t read, std::int64_t) { reported = read; },
      1000);
  EXPECT_EQ(result.events_read, static_cast<std::int64_t>(events_.size()));
  EXPECT_EQ(result.events_stored, result.events_read);
  EXPECT_EQ(reported, result.events_read);
  EXPECT_EQ(result.meters, meters_.size());
  EXPECT_EQ(result.subjects, 1u);
  EXPECT_EQ(result.kept_as, old_file() + ".imported");
  EXPECT_FALSE(fs::exists(old_file()));
  EXPECT_TRUE(fs::exists(result.kept_as));
  EXPECT_FALSE(fs::exists(old_file())) << "imported once";
  expect_same_answers(*target);
  target.reset();
  expect_same_answers(*open_target());
}

TEST_F(sqlite_import, an_import_stopped_half_way_resumes) {
  auto target = open_target();
  // What a first run had done before it stopped: the meters, and the first
  // events.
  for (const auto& m : meters_)
    target->create_meter(m);
  target->append({events_.begin(), events_.begin() + 1200});
  auto result = storage::import_sqlite_store(old_file(), *target, {}, 1000);
  EXPECT_EQ(result.events_read, static_cast<std::int64_t>(events_.size()));
  EXPECT_EQ(result.events_stored, result.events_read - 1200);
  EXPECT_EQ(result.meters, 0u);
  expect_same_answers(*target);
}

TEST_F(sqlite_import, a_copy_that_does_not_match_keeps_the_file) {
  auto target = open_target();
  target->append({make_event("stranger", "nobody", "api_call", t0)});
  try {
    storage::import_sqlite_store(old_file(), *target, {}, 1000);
    FAIL() << "the extra event must fail the check";
  } catch (const storage::storage_error& e) {
    EXPECT_NE(std::string{e.what()}.find("does not match"), std::string::npos)
        << e.what();
  }
  EXPECT_TRUE(fs::exists(old_file()));
  if (!storage::sqlite_is_embedded_default()) {
    EXPECT_TRUE(storage::sqlite_file_to_import(old_options()));
  }
}

} // namespace
