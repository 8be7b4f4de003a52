// Metering in the PostgreSQL store: the shared cases, meters created and
// backfilled while another instance appends, and the same results as the
// SQLite store for the same inputs.

#include "storage/event_store.hpp"
#include "tests/pg/pg_cluster.hpp"
#include "tests/storage/meter_cases.hpp"

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <thread>

namespace {

using namespace um;
using namespace um::testing::metering;

// One cluster for this file's tests, started on first use.
um::testing::pg_cluster& cluster() {
  static um::testing::pg_cluster c;
  return c;
}

class postgres_meter_test : public ::testing::Test {
public:
  /// Minute cells are stored, as hour cells are.
  static bool minute_cells_from_events() { return false; }

  std::unique_ptr<storage::event_store> open() const {
    storage::store_options options;
    options.url = url_;
    return storage::open_event_store(options);
  }

  /// Overwrites a meter's stored definition, as another release would have
  /// written it.
  void store_definition(const std::string& id, const std::string& text) const {
    pqxx::connection c{url_};
    pqxx::work tx{c};
    EXPECT_EQ(tx.exec_params("UPDATE meters SET definition = $1 WHERE id = $2", text, id)
                  .affected_rows(),
              1u);
    tx.commit();
  }

protected:
  void SetUp() override {
    static int n = 0;
    try {
      url_ = cluster().create_database("meter" + std::to_string(++n));
    } catch (const std::exception& e) {
      FAIL() << e.what();
    }
  }

  std::string url_;
};

UM_METER_STORE_TESTS(postgres_meter_test)

TEST_F(postgres_meter_test,
       meters_created_and_backfilled_while_another_instance_appends) {
  auto writer = open();
  auto admin = open();
  std::mt19937 rng(3);
  std::vector<std::vector<model::event>> batches;
  for (int i = 0; i < 120; ++i)
    batches.push_back(random_events(rng, 40, "b" + std::to_string(i) + "-"));
  std::atomic<int> appended{0};
  std::thread appending{[&] {
    for (const auto& batch : batches) {
      writer->append(batch);
      ++appended;
    }
  }};
  auto meters = every_kind_of_meter();
  for (const auto& m : meters) {
    while (appended < 5 + static_cast<int>(&m - meters.data()) * 10)
      std::this_thread::yield();
    admin->create_meter(m);
    // Backfill in small chunks while appends go on.
    while (!admin->backfill_meter(m.id, 25))
      ;
  }
  appending.join();
  std::vector<model::event> all;
  for (const auto& batch : batches)
    all.insert(all.end(), batch.begin(), batch.end());
  for (const auto& m : meters)
    expect_cells(*admin, m, all);
}

TEST_F(postgres_meter_test, two_instances_creating_one_slug_get_one_meter) {
  auto a = open();
  auto b = open();
  int conflicts = 0;
  for (int round = 0; round < 10; ++round) {
    auto slug = "s" + std::to_string(round);
    auto body = R"({"slug":")" + slug + R"(","aggregation":"COUNT","eventType":"t"})";
    std::atomic<int> failed{0};
    auto create = [&](storage::event_store& store, const std::string& id) {
      try {
        store.create_meter(make_meter(id, body));
      } catch (const storage::storage_error& e) {
        EXPECT_EQ(e.kind(), storage::failure_kind::conflict) << e.what();
        ++failed;
      }
    };
    std::thread ta{[&] { create(*a, "a" + slug); }};
    std::thread tb{[&] { create(*b, "b" + slug); }};
    ta.join();
    tb.join();
    EXPECT_EQ(failed.load(), 1);
    conflicts += failed;
  }
  EXPECT_EQ(a->meters().size(), 10u);
  EXPECT_EQ(conflicts, 10);
}

// Sequence numbers are left out: PostgreSQL's sequence also advances for
// duplicates, so the backends number events differently (in the same order).
std::string describe(const storage::meter_cell_row& r) {
  std::ostringstream s;
  s << r.bucket << ' ' << r.subject << " [";
  for (const auto& v : r.group_values)
    s << (v ? *v : "null") << ',';
  const auto& c = r.cell;
  s << "] sum=" << c.sum << " count=" << c.count << " min=" << c.min << " max=" << c.max
    << " latest=" << c.latest << '@' << c.latest_time << " u={";
  for (const auto& u : c.uniques)
    s << u << ',';
  return s.str() + "}";
}

std::vector<std::string> describe_all(storage::event_store& store,
                                      const std::string& id) {
  std::vector<std::string> out;
  for (auto grain : {meter_grain::minute, meter_grain::hour})
    for (const auto& r :
         store.meter_cells(id, grain, t0 - 86'400'000, t0 + 86'400'000, {"s0", "s2"}))
      out.push_back(describe(r));
  for (const auto& s : store.meter_subjects(id))
    out.push_back("subject " + s);
  for (std::size_t g = 0; g < 3; ++g)
    for (const auto& v : group_values(store, id, g))
      out.push_back("group " + std::to_string(g) + " " + v);
  for (const auto& e : store.events_of_type("tokens", t0 + 600'000, t0 + 660'000, {"s1"}))
    out.push_back("event " + e.event.id + " " + e.event.data);
  model::event_search search;
  search.time_from = t0;
  search.time_to = t0 + 7'200'000;
  search.id_contains = "1";
  search.subject_contains = "s";
  search.limit = 40;
  for (const auto& e : store.search_events(search))
    out.push_back("search " + e.event.id);
  return out;
}

TEST_F(postgres_meter_test, answers_exactly_like_the_sqlite_backend) {
  auto dir = std::filesystem::temp_directory_path() / "um-meter-compare";
  std::filesystem::remove_all(dir);
  storage::store_options lite_options;
  lite_options.data_dir = dir.string();
  lite_options.url = "sqlite:" + (dir / "usage-metrics.db").string();
  lite_options.synchronous_full = false;
  auto lite = storage::open_event_store(lite_options);
  auto pg = open();
  std::mt19937 rng(2024);
  auto meters = every_kind_of_meter();
  std::size_t created = 0;
  for (int round = 0; round < 12; ++round) {
    auto batch = random_events(rng, 1 + static_cast<int>(rng() % 150),
                               "r" + std::to_string(round) + "-");
    // Some events again, as retries would send them.
    if (round > 0)
      batch.push_back(usage_event("r0-1", "s0", "tokens", t0, "{}"));
    lite->append(batch);
    pg->append(batch);
    if (round % 2 == 0 && created < meters.size()) {
      lite->create_meter(meters[created]);
      pg->create_meter(meters[created]);
      ++created;
    }
    for (std::size_t i = 0; i < created; ++i) {
      auto chunk = 1 + rng() % 60;
      EXPECT_EQ(lite->backfill_meter(meters[i].id, chunk),
                pg->backfill_meter(meters[i].id, chunk));
    }
    if (round == 7) {
      auto regrouped = meters[0];
      regrouped.group_by.pop_back();
      lite->update_meter(regrouped);
      pg->update_meter(regrouped);
    }
    if (round == 9) {
      lite->purge_before(t0 + 5'400'000, 80);
      pg->purge_before(t0 + 5'400'000, 80);
    }
  }
  for (std::size_t i = 0; i < created; ++i) {
    while (!lite->backfill_meter(meters[i].id, 30))
      ;
    while (!pg->backfill_meter(meters[i].id, 30))
      ;
    EXPECT_EQ(describe_all(*lite, meters[i].id), describe_all(*pg, meters[i].id))
        << meters[i].slug;
  }
  auto lm = lite->meters(), pm = pg->meters();
  ASSERT_EQ(lm.size(), pm.size());
  for (std::size_t i = 0; i < lm.size(); ++i) {
    EXPECT_EQ(model::meter_json(lm[i].meter), model::meter_json(pm[i].meter));
    EXPECT_EQ(lm[i].ready, pm[i].ready);
  }
  lite.reset();
  std::filesystem::remove_all(dir);
}

// Timings (append cost of the type index, a 100k-event back-fill) are measured by
// bench/storage.cpp --postgres, not here.

} // namespace
