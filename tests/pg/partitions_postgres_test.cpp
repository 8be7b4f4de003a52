// Schema version 4 of the PostgreSQL store: events in day partitions with
// their dedup keys apart, the migration from version 3, retention that
// empties and drops whole days, and instances racing for the same new day
// and the same ids.

#include "storage/event_store.hpp"
#include "storage/meter_rollup.hpp"
#include "storage/postgres/schema.hpp"
#include "storage/postgres/subjects.hpp"
#include "tests/pg/pg_cluster.hpp"
#include "tests/storage/meter_cases.hpp"

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

namespace {

using namespace um;
using namespace um::testing::metering;
using storage::postgres::day_millis;

// One cluster for this file's tests, started on first use.
um::testing::pg_cluster& cluster() {
  static um::testing::pg_cluster c;
  return c;
}

std::string describe(const model::event& e) {
  std::ostringstream s;
  s << e.source << '|' << e.id << '|' << e.type << '|' << e.subject << '|' << e.time
    << '|' << e.data << '|' << e.ingested_at;
  return s.str();
}

std::string describe(const model::append_outcomes& outcomes) {
  std::string out;
  for (const auto& o : outcomes)
    out += (o.status == model::append_status::stored ? "stored " : "duplicate ") +
           describe(o.event) + '\n';
  return out;
}

std::string describe(const model::event_page& page) {
  std::string out = "total " + std::to_string(page.total) + '\n';
  for (const auto& e : page.events)
    out += describe(e) + '\n';
  return out;
}

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

// Every answer the store gives about its events, usage and meters, as text.
std::vector<std::string> answers(storage::event_store& store,
                                 const std::vector<model::meter>& meters,
                                 const std::vector<std::string>& subjects) {
  std::vector<std::string> out;
  out.push_back(describe(store.list_events({"", "", 1000, 0})));
  out.push_back(describe(store.list_events({"", "tokens", 7, 3})));
  for (const auto& subject : subjects) {
    out.push_back(describe(store.list_events({subject, "", 1000, 0})));
    auto summary = store.summarize(subject, {});
    std::string line = subject + " total " + std::to_string(summary.total);
    for (const auto& [type, n] : summary.by_type)
      line += ' ' + type + '=' + std::to_string(n);
    out.push_back(line);
    for (auto width :
         {model::interval::minute, model::interval::hour, model::interval::day}) {
      std::string points;
      for (const auto& p : store.history(subject, width, {}))
        points += std::to_string(p.bucket_start) + ':' + std::to_string(p.count) + ' ';
      out.push_back(points);
    }
  }
  auto stats = store.stats(t0 + 3 * day_millis);
  std::string line = "stats " + std::to_string(stats.total_events) + ' ' +
                     std::to_string(stats.events_last_hour) + ' ' +
                     std::to_string(stats.unique_entities);
  for (const auto& [type, n] : stats.event_types)
    line += ' ' + type + '=' + std::to_string(n);
  out.push_back(line);
  for (const auto& m : meters)
    for (auto grain : {storage::meter_grain::minute, storage::meter_grain::hour}) {
      for (const auto& r :
           store.meter_cells(m.id, grain, t0 - day_millis, t0 + 5 * day_millis, {}))
        out.push_back(m.slug + ' ' + describe(r));
      for (const auto& r :
           store.meter_cells(m.id, grain, t0 - day_millis, t0 + 5 * day_millis, {"s2"}))
        out.push_back(m.slug + " s2 " + describe(r));
      for (const auto& s : store.meter_subjects(m.id))
        out.push_back(m.slug + " subject " + s);
    }
  for (const auto& m : store.meters())
    out.push_back(model::meter_json(m.meter).dump() + (m.ready ? " ready" : " pending"));
  for (const auto& s : store.subjects())
    out.push_back("subject " + s.key + ' ' + s.id);
  return out;
}

// The first line where two lists of answers differ, or nothing.
std::string first_difference(const std::vector<std::string>& a,
                             const std::vector<std::string>& b) {
  for (std::size_t i = 0; i < std::max(a.size(), b.size()); ++i) {
    auto x = i < a.size() ? a[i] : "(none)", y = i < b.size() ? b[i] : "(none)";
    if (x != y)
      return "line " + std::to_string(i) + ":\n" + x + "\n--- against ---\n" + y;
  }
  return "";
}

// Events over three days (times of random_events moved by 0, 1 or 2 days),
// with ids unique.
std::vector<model::event> three_days_of_events(std::mt19937& rng, int n,
                                               const std::string& prefix) {
  auto events = random_events(rng, n, prefix);
  for (std::size_t i = 0; i < events.size(); ++i)
    events[i].time += static_cast<model::millis>(i % 3) * day_millis;
  return events;
}

class postgres_partition_test : public ::testing::Test {
protected:
  void SetUp() override {
    static int n = 0;
    try {
      url_ = cluster().create_database("part" + std::to_string(++n));
    } catch (const std::exception& e) {
      FAIL() << e.what();
    }
  }

  std::unique_ptr<storage::event_store> open() const {
    storage::store_options options;
    options.url = url_;
    return storage::open_event_store(options);
  }

  // The partitions of `events`, by name.
  std::vector<std::string> partitions() const {
    pqxx::connection c{url_};
    pqxx::nontransaction tx{c};
    std::vector<std::string> out;
    for (const auto& r :
         tx.exec("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = "
                 "i.inhrelid WHERE i.inhparent = 'events'::regclass ORDER BY 1"))
      out.push_back(r[0].as<std::string>());
    return out;
  }

  // Every v1 rollup table against a recount from the events: the same rows.
  void expect_rollups_equal_a_recount() const {
    pqxx::connection c{url_};
    pqxx::nontransaction tx{c};
    auto floor = [](const char* width) {
      return std::string{"time - ((time % "} + width + ") + " + width + ") % " + width;
    };
    const std::pair<std::string, std::string> tables[] = {
        {"SELECT subject, bucket, type, count FROM rollup_minute",
         "SELECT subject, " + floor("60000") +
             ", type, COUNT(*) FROM events GROUP BY 1, 2, 3"},
        {"SELECT subject, bucket, type, count FROM rollup_hour",
         "SELECT subject, " + floor("3600000") +
             ", type, COUNT(*) FROM events GROUP BY 1, 2, 3"},
        {"SELECT subject, bucket, type, count FROM rollup_day",
         "SELECT subject, " + floor("86400000") +
             ", type, COUNT(*) FROM events GROUP BY 1, 2, 3"},
        {"SELECT subject, type, count FROM rollup_total",
         "SELECT subject, type, COUNT(*) FROM events GROUP BY 1, 2"},
        {"SELECT bucket, count FROM rollup_global_minute",
         "SELECT " + floor("60000") + ", COUNT(*) FROM events GROUP BY 1"},
    };
    for (const auto& [stored, recount] : tables) {
      auto differ = tx.exec1("SELECT COUNT(*) FROM ((" + stored + " EXCEPT " + recount +
                             ") UNION ALL (" + recount + " EXCEPT " + stored + ")) d")[0]
                        .as<std::int64_t>();
      EXPECT_EQ(differ, 0) << stored;
    }
  }

  std::string url_;
};

TEST(postgres_day_partitions, are_named_by_utc_day_and_read_back) {
  using namespace storage::postgres;
  EXPECT_EQ(day_of(0), 0);
  EXPECT_EQ(day_of(day_millis - 1), 0);
  EXPECT_EQ(day_of(-1), -1);
  EXPECT_EQ(day_of(-day_millis), -1);
  EXPECT_EQ(day_of(-day_millis - 1), -2);
  EXPECT_EQ(day_partition_name(0), "events_19700101");
  EXPECT_EQ(day_partition_name(-1), "events_19691231");
  EXPECT_EQ(day_partition_name(day_of(t0)), "events_20240115");
  EXPECT_EQ(day_partition_name(day_of(1'709'208'000'000)), "events_20240229");
  EXPECT_EQ(day_partition_name(day_of(-62'167'219'200'000)), "events_00000101");
  EXPECT_EQ(day_partition_name(day_of(253'402'300'799'999)), "events_99991231");
  for (std::int64_t day : {-719'528LL, -1LL, 0LL, 19'737LL, 19'782LL, 2'932'896LL})
    EXPECT_EQ(day_of_partition_name(day_partition_name(day)), day) << day;
  for (const char* other :
       {"events", "events_2024011", "events_20240230", "events_2024011x", "events_v3",
        "event_keys", "events_202401150"})
    EXPECT_FALSE(day_of_partition_name(other)) << other;
}

// A batch over several days (one before 1970) creates their partitions, each
// holding exactly its day's events; the rollups count them all.
TEST_F(postgres_partition_test, a_batch_over_several_days_creates_their_partitions) {
  auto store = open();
  EXPECT_TRUE(partitions().empty());
  std::vector<model::event> batch;
  const model::millis times[] = {t0,
                                 t0 + day_millis,
                                 t0 + day_millis + 5,
                                 t0 + 3 * day_millis - 1,
                                 t0 + 40 * day_millis,
                                 -1,
                                 -day_millis - 1};
  int i = 0;
  for (auto time : times) {
    batch.push_back(usage_event("d" + std::to_string(i), "s" + std::to_string(i % 2),
                                "tokens", time, R"({"tokens":1})"));
    ++i;
  }
  auto outcomes = store->append(batch);
  for (const auto& o : outcomes)
    EXPECT_EQ(o.status, model::append_status::stored);
  EXPECT_EQ(partitions(), (std::vector<std::string>{
                              "events_19691230", "events_19691231", "events_20240115",
                              "events_20240116", "events_20240118", "events_20240224"}));
  pqxx::connection c{url_};
  pqxx::nontransaction tx{c};
  const std::pair<const char*, int> per_day[] = {
      {"events_19691230", 1}, {"events_19691231", 1}, {"events_20240115", 1},
      {"events_20240116", 2}, {"events_20240118", 1}, {"events_20240224", 1}};
  for (const auto& [name, n] : per_day)
    EXPECT_EQ(tx.exec1(std::string{"SELECT COUNT(*) FROM "} + name)[0].as<int>(), n)
        << name;
  EXPECT_EQ(tx.exec1("SELECT COUNT(*) FROM event_keys")[0].as<int>(), 7);
  // Every event again: duplicates, answered with the stored copy.
  auto again = store->append(batch);
  for (std::size_t k = 0; k < batch.size(); ++k) {
    EXPECT_EQ(again[k].status, model::append_status::duplicate);
    EXPECT_EQ(describe(again[k].event), describe(batch[k]));
  }
  EXPECT_EQ(store->list_events({}).total, 7);
  expect_rollups_equal_a_recount();
}

// Retention empties every whole day before the cutoff (one a call, more than
// the chunk), drops it once empty, deletes the partial day in chunks; the
// rollups equal a recount afterwards; the dedup keys of removed events go
// with them, so an event sent again afterwards is stored again.
TEST_F(postgres_partition_test, retention_drops_whole_days_and_keeps_rollups_exact) {
  auto store = open();
  std::mt19937 rng(11);
  auto meters = every_kind_of_meter();
  store->create_meter(meters[0]);
  std::vector<model::event> all;
  for (int day = 0; day < 5; ++day) {
    auto batch = random_events(rng, 120, "day" + std::to_string(day) + "-");
    for (auto& e : batch)
      e.time += day * day_millis;
    store->append(batch);
    all.insert(all.end(), batch.begin(), batch.end());
  }
  ASSERT_EQ(partitions().size(), 5u);
  // Day 3 is cut two hours into its events (which span four hours).
  const model::millis cutoff = t0 + 3 * day_millis + 2 * 3'600'000;
  std::size_t expected = 0, partial = 0;
  for (const auto& e : all)
    if (e.time < cutoff) {
      ++expected;
      partial += e.time >= t0 + 3 * day_millis;
    }
  ASSERT_GT(partial, 10u);
  std::vector<std::size_t> removed;
  while (auto n = store->purge_before(cutoff, 10))
    removed.push_back(n);
  // Three whole days at once (120 events each), then the partial day by tens.
  ASSERT_GE(removed.size(), 4u);
  EXPECT_EQ(removed[0], 120u);
  EXPECT_EQ(removed[1], 120u);
  EXPECT_EQ(removed[2], 120u);
  std::size_t total = 0;
  for (std::size_t k = 3; k < removed.size(); ++k) {
    EXPECT_LE(removed[k], 10u);
    total += removed[k];
  }
  EXPECT_EQ(total, partial);
  EXPECT_EQ(partitions(),
            (std::vector<std::string>{"events_20240118", "events_20240119"}));
  EXPECT_EQ(store->list_events({}).total,
            static_cast<std::int64_t>(all.size() - expected));
  // The meter's cells of the removed days went with them.
  for (auto grain : {storage::meter_grain::minute, storage::meter_grain::hour})
    EXPECT_TRUE(store
                    ->meter_cells(meters[0].id, grain, t0 - day_millis,
                                  t0 + 3 * day_millis - 3'600'000, {})
                    .empty());
  EXPECT_FALSE(store
                   ->meter_cells(meters[0].id, storage::meter_grain::hour, cutoff,
                                 cutoff + day_millis, {})
                   .empty());
  EXPECT_EQ(store->stats(cutoff).total_events,
            static_cast<std::int64_t>(all.size() - expected));
  expect_rollups_equal_a_recount();
  {
    pqxx::connection c{url_};
    pqxx::nontransaction tx{c};
    EXPECT_EQ(
        tx.exec1("SELECT COUNT(*) FROM rollup_minute WHERE count <= 0")[0].as<int>(), 0);
    EXPECT_EQ(tx.exec1("SELECT COUNT(*) FROM event_keys")[0].as<std::size_t>(),
              all.size() - expected);
  }
  // A removed event sent again is stored again (an id is known while its
  // event is stored), in a partition of its dropped day made again, and
  // counts; a second resend is a duplicate.
  auto resent = store->append({all.front()});
  EXPECT_EQ(resent[0].status, model::append_status::stored);
  EXPECT_EQ(store->append({all.front()})[0].status, model::append_status::duplicate);
  EXPECT_EQ(store->list_events({}).total,
            static_cast<std::int64_t>(all.size() - expected + 1));
  EXPECT_EQ(partitions().front(), "events_20240115");
  // A late event of a dropped day counts too.
  auto late = usage_event("late", "s1", "tokens", t0 + 10, R"({"tokens":5})");
  EXPECT_EQ(store->append({late})[0].status, model::append_status::stored);
  expect_rollups_equal_a_recount();
  EXPECT_EQ(store->purge_before(cutoff, 10), 2u) << "the day of both, at once";
  expect_rollups_equal_a_recount();
}

// A cutoff on a day's edge: whole days only, and their meter cells go with
// the last of them.
TEST_F(postgres_partition_test, retention_on_a_day_edge_removes_the_days_cells) {
  auto store = open();
  auto meters = every_kind_of_meter();
  store->create_meter(meters[0]);
  store->append({usage_event("a", "s0", "tokens", t0, R"({"tokens":1})"),
                 usage_event("b", "s0", "tokens", t0 + day_millis, R"({"tokens":2})")});
  const auto edge = (t0 / day_millis + 1) * day_millis;
  EXPECT_EQ(store->purge_before(edge, 100), 1u);
  EXPECT_TRUE(store
                  ->meter_cells(meters[0].id, storage::meter_grain::hour, t0 - day_millis,
                                edge, {})
                  .empty());
  EXPECT_EQ(store
                ->meter_cells(meters[0].id, storage::meter_grain::hour, edge,
                              edge + day_millis, {})
                .size(),
            1u);
  EXPECT_EQ(store->purge_before(edge, 100), 0u);
  EXPECT_EQ(partitions(), std::vector<std::string>{"events_20240116"});
  expect_rollups_equal_a_recount();
}

// Another instance that still believes a dropped day exists appends to it.
TEST_F(postgres_partition_test, an_instance_appending_to_a_day_another_dropped_recovers) {
  auto writer = open();
  auto purger = open();
  writer->append({usage_event("a", "s0", "tokens", t0, "{}")});
  EXPECT_EQ(purger->purge_before(t0 + day_millis, 100), 1u);
  EXPECT_EQ(purger->purge_before(t0 + day_millis, 100), 0u); // drops the empty day
  EXPECT_TRUE(partitions().empty());
  auto outcomes = writer->append({usage_event("b", "s0", "tokens", t0 + 1, "{}")});
  EXPECT_EQ(outcomes[0].status, model::append_status::stored);
  EXPECT_EQ(partitions(), std::vector<std::string>{"events_20240115"});
  expect_rollups_equal_a_recount();
}

// Two instances append the same events at once, each batch reaching a day no
// partition holds yet: every batch succeeds, each day is created once, each
// event stored once, the rollups equal a recount.
TEST_F(postgres_partition_test, two_instances_race_for_new_days_and_the_same_ids) {
  auto first = open();
  auto second = open();
  constexpr int batches = 30;
  std::vector<std::vector<model::event>> work;
  for (int b = 0; b < batches; ++b) {
    std::vector<model::event> batch;
    for (int i = 0; i < 50; ++i)
      batch.push_back(usage_event("r" + std::to_string(b) + "-" + std::to_string(i),
                                  "s" + std::to_string(i % 5), i % 2 ? "tokens" : "other",
                                  t0 + b * day_millis + i * 1000, R"({"tokens":2})"));
    work.push_back(std::move(batch));
  }
  std::mutex m;
  std::condition_variable cv;
  int arrived = 0;
  // Both threads start each batch together.
  auto meet = [&](int round) {
    std::unique_lock<std::mutex> lock{m};
    ++arrived;
    cv.notify_all();
    cv.wait(lock, [&] { return arrived >= 2 * (round + 1); });
  };
  std::atomic<int> stored{0};
  std::vector<std::string> errors(2);
  auto run = [&](storage::event_store& store, int who) {
    try {
      for (int b = 0; b < batches; ++b) {
        meet(b);
        auto batch = work[b];
        if (who)
          std::reverse(batch.begin(), batch.end());
        for (const auto& o : store.append(batch))
          stored += o.status == model::append_status::stored;
      }
    } catch (const std::exception& e) {
      errors[who] = e.what();
      std::lock_guard<std::mutex> lock{m};
      arrived += 2 * batches; // let the other one finish
      cv.notify_all();
    }
  };
  std::thread a{[&] { run(*first, 0); }};
  std::thread b{[&] { run(*second, 1); }};
  a.join();
  b.join();
  EXPECT_EQ(errors[0], "");
  EXPECT_EQ(errors[1], "");
  EXPECT_EQ(stored.load(), batches * 50);
  EXPECT_EQ(partitions().size(), static_cast<std::size_t>(batches));
  EXPECT_EQ(first->list_events({}).total, batches * 50);
  expect_rollups_equal_a_recount();
}

// Inserts events into a version-3 database as that version stored them:
// seq in the order given, the v1 rollups counted from them.
void insert_version_3_events(pqxx::work& tx, const std::vector<model::event>& events) {
  for (const auto& e : events)
    tx.exec_params("INSERT INTO events (source, id, type, subject, time, data, "
                   "ingested_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                   e.source, e.id, e.type, e.subject, e.time, e.data, e.ingested_at);
  tx.exec0(R"sql(
INSERT INTO rollup_minute SELECT subject, time - time % 60000, type, COUNT(*)
  FROM events GROUP BY 1, 2, 3;
INSERT INTO rollup_hour SELECT subject, time - time % 3600000, type, COUNT(*)
  FROM events GROUP BY 1, 2, 3;
INSERT INTO rollup_day SELECT subject, time - time % 86400000, type, COUNT(*)
  FROM events GROUP BY 1, 2, 3;
INSERT INTO rollup_total SELECT subject, type, COUNT(*) FROM events GROUP BY 1, 2;
INSERT INTO rollup_global_minute SELECT time - time % 60000, COUNT(*)
  FROM events GROUP BY 1;
)sql");
}

// Copies a meter's cells, as the embedded backend computed them, into a
// version-3 database (keyed by bucket first, as that version was).
void insert_version_3_cells(pqxx::work& tx, storage::event_store& from,
                            const model::meter& m) {
  for (auto grain : {storage::meter_grain::minute, storage::meter_grain::hour}) {
    std::string suffix = grain == storage::meter_grain::minute ? "minute" : "hour";
    for (const auto& r :
         from.meter_cells(m.id, grain, t0 - day_millis, t0 + 5 * day_millis, {})) {
      auto group = storage::meter_group_key(r.group_values);
      const auto& c = r.cell;
      tx.exec_params("INSERT INTO meter_" + suffix +
                         " (meter_id, bucket, subject, group_key, sum, count, min, max, "
                         "latest, latest_time, latest_seq) VALUES ($1, $2, $3, $4, $5, "
                         "$6, $7, $8, $9, $10, $11)",
                     m.id, r.bucket, r.subject, group, c.sum, c.count, c.min, c.max,
                     c.latest, c.latest_time, c.latest_seq);
      for (const auto& u : c.uniques)
        tx.exec_params("INSERT INTO meter_unique_" + suffix +
                           " (meter_id, bucket, subject, group_key, value) VALUES ($1, "
                           "$2, $3, $4, $5)",
                       m.id, r.bucket, r.subject, group, u);
    }
  }
}

// A database of version 3 with events over three days, rollups, meters (two
// with their cells, one still to back-fill) and subjects, opened by this
// version: migrated once, it answers exactly as the embedded backend fed the
// same, deduplicates the old ids and goes on numbering after them.
TEST_F(postgres_partition_test, a_version_3_database_migrates_with_nothing_lost) {
  auto dir = std::filesystem::temp_directory_path() /
             ("um-pg-migrate-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  storage::store_options lite_options;
  lite_options.data_dir = dir.string();
  // The SQLite store, whose cells come in the order PostgreSQL's do.
  lite_options.url = "sqlite:" + (dir / "usage-metrics.db").string();
  lite_options.synchronous_full = false;
  auto lite = storage::open_event_store(lite_options);

  std::mt19937 rng(33);
  auto events = three_days_of_events(rng, 400, "old-");
  events[5].subject = "ünï \"q\"";
  events[6].source = "other";
  auto meters = every_kind_of_meter();
  std::vector<model::meter> used = {meters[0], meters[2], meters[6]};
  lite->append(events);
  for (const auto& m : used) {
    lite->create_meter(m);
    while (!lite->backfill_meter(m.id, 1000))
      ;
  }
  std::vector<model::subject_upsert> subjects(2);
  subjects[0].key = "s1";
  subjects[1].key = "s2";
  lite->upsert_subjects(subjects, t0);

  {
    pqxx::connection c{url_};
    storage::postgres::migrate(c, 3);
    pqxx::work tx{c};
    insert_version_3_events(tx, events);
    auto n = static_cast<std::int64_t>(events.size());
    for (std::size_t i = 0; i < used.size(); ++i) {
      bool backfilled = i < 2;
      tx.exec_params("INSERT INTO meters (id, slug, definition, created_seq, "
                     "backfill_until, backfill_cursor) VALUES ($1, $2, $3, $4, $5, $6)",
                     used[i].id, used[i].slug, storage::stored_meter_text(used[i]),
                     static_cast<std::int64_t>(i + 1), n, backfilled ? n : 0);
      if (backfilled)
        insert_version_3_cells(tx, *lite, used[i]);
    }
    tx.exec0("UPDATE meter_state SET version = version + 1");
    tx.commit();
    storage::postgres_subjects::upsert(c, subjects, t0);
  }
  // The subjects' generated ids differ between the two stores: read them back.
  std::vector<std::string> subject_keys = {"s0", "s1", "s2", "s3", "ünï \"q\""};

  auto pg = open();
  auto second = open(); // finds it migrated
  while (!pg->backfill_meter(used[2].id, 100))
    ;
  auto lite_answers = answers(*lite, used, subject_keys);
  auto pg_answers = answers(*pg, used, subject_keys);
  // Subject ids are made per store: compare the keys only.
  auto without_ids = [](std::vector<std::string> lines) {
    for (auto& line : lines)
      if (line.rfind("subject s", 0) == 0 && line.find(' ', 8) != std::string::npos)
        line = line.substr(0, line.find(' ', 8));
    return lines;
  };
  EXPECT_EQ(first_difference(without_ids(pg_answers), without_ids(lite_answers)), "");
  EXPECT_EQ(pg->subjects().size(), 2u);
  EXPECT_EQ(partitions(), (std::vector<std::string>{"events_20240115", "events_20240116",
                                                    "events_20240117"}));
  {
    pqxx::connection c{url_};
    pqxx::nontransaction tx{c};
    EXPECT_EQ(tx.exec1("SELECT MAX(version) FROM schema_version")[0].as<int>(),
              storage::postgres::schema_version);
    EXPECT_EQ(tx.exec1("SELECT COUNT(*) FROM event_keys")[0].as<std::size_t>(),
              events.size());
    EXPECT_EQ(tx.exec1("SELECT to_regclass('events_v3') IS NULL")[0].as<bool>(), true);
  }

  // Old ids are duplicates with their stored copies; new events are numbered
  // after the old ones (ties in time list the later arrival first).
  std::vector<model::event> next = {events[0], events[5], events[6]};
  auto tie = usage_event("new-1", events[0].subject, "tokens", events[0].time,
                         R"({"tokens":3,"model":"gpt-4"})");
  next.push_back(tie);
  next.push_back(events[0]);
  EXPECT_EQ(describe(second->append(next)), describe(lite->append(next)));
  lite_answers = answers(*lite, used, subject_keys);
  pg_answers = answers(*pg, used, subject_keys);
  EXPECT_EQ(first_difference(without_ids(pg_answers), without_ids(lite_answers)), "");
  expect_rollups_equal_a_recount();
  lite.reset();
  std::filesystem::remove_all(dir);
}

} // namespace
