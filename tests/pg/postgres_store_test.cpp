#include "storage/event_store.hpp"
#include "storage/postgres/schema.hpp"
#include "storage/postgres_store.hpp"
#include "tests/pg/pg_cluster.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <thread>

namespace {

using namespace um;
using model::millis;
using storage::event_store;
using storage::failure_kind;
using storage::storage_error;
using storage::store_options;

constexpr millis t0 = 1'705'314'600'000; // 2024-01-15T10:30:00Z

// One cluster for the whole binary; each test gets a database of its own.
class pg_environment : public ::testing::Environment {
public:
  void SetUp() override {
    try {
      cluster_ = std::make_unique<um::testing::pg_cluster>();
    } catch (const std::exception& e) {
      failure_ = e.what();
    }
  }
  void TearDown() override { cluster_.reset(); }

  /// The cluster, or nothing when it could not start (`failure()` says why).
  static um::testing::pg_cluster* cluster() { return cluster_.get(); }
  static const std::string& failure() { return failure_; }

private:
  static inline std::unique_ptr<um::testing::pg_cluster> cluster_;
  static inline std::string failure_;
};

[[maybe_unused]] auto* const environment =
    ::testing::AddGlobalTestEnvironment(new pg_environment);

class postgres_store_test : public ::testing::Test {
protected:
  void SetUp() override {
    static int n = 0;
    ASSERT_TRUE(pg_environment::cluster()) << pg_environment::failure();
    url_ = pg_environment::cluster()->create_database("t" + std::to_string(++n));
  }

  std::unique_ptr<event_store> open() {
    store_options options;
    options.url = url_;
    return storage::open_event_store(options);
  }

  std::string url_;
};

model::event make_event(std::string id, std::string subject, std::string type,
                        millis time, std::string data = R"({"k":1})") {
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

std::string describe(const model::event& e) {
  std::ostringstream s;
  s << e.source << '|' << e.id << '|' << e.type << '|' << e.subject << '|' << e.time
    << '|' << e.data << '|' << e.ingested_at;
  return s.str();
}

std::string describe(const model::append_outcomes& outcomes) {
  std::ostringstream s;
  for (const auto& o : outcomes)
    s << (o.status == model::append_status::stored ? "stored " : "duplicate ")
      << describe(o.event) << '\n';
  return s.str();
}

std::string describe(const model::event_page& page) {
  std::ostringstream s;
  s << "total " << page.total << '\n';
  for (const auto& e : page.events)
    s << describe(e) << '\n';
  return s.str();
}

std::string describe(const model::usage_summary& summary) {
  std::ostringstream s;
  s << "total " << summary.total;
  for (const auto& [type, n] : summary.by_type)
    s << ' ' << type << '=' << n;
  return s.str();
}

std::string describe(const model::usage_history& history) {
  std::ostringstream s;
  for (const auto& p : history)
    s << p.bucket_start << ':' << p.count << ' ';
  return s.str();
}

std::string describe(const model::usage_stats& stats) {
  std::ostringstream s;
  s << "total " << stats.total_events << " last_hour " << stats.events_last_hour
    << " entities " << stats.unique_entities;
  for (const auto& [type, n] : stats.event_types)
    s << ' ' << type << '=' << n;
  return s.str();
}

TEST(postgres_url, adds_timeouts_and_keepalives_only_when_absent) {
  using storage::postgres_connection_string;
  const std::string added =
      "connect_timeout=2&keepalives=1&keepalives_idle=5&"
      "keepalives_interval=2&keepalives_count=3&tcp_user_timeout=5000&"
      "options=-c%20statement_timeout%3D30s";
  EXPECT_EQ(postgres_connection_string("postgresql://u@h:5/db"),
            "postgresql://u@h:5/db?" + added);
  EXPECT_EQ(postgres_connection_string("postgres://u@h/db?sslmode=require"),
            "postgres://u@h/db?sslmode=require&" + added);
  EXPECT_EQ(
      postgres_connection_string("postgres://h/db?connect_timeout=9&keepalives_idle=60"),
      "postgres://h/db?connect_timeout=9&keepalives_idle=60&keepalives=1&"
      "keepalives_interval=2&keepalives_count=3&tcp_user_timeout=5000&"
      "options=-c%20statement_timeout%3D30s");
  EXPECT_TRUE(storage::is_postgres_url("postgres://h/db"));
  EXPECT_TRUE(storage::is_postgres_url("postgresql://h/db"));
  EXPECT_FALSE(storage::is_postgres_url("sqlite:/tmp/x.db"));
}

// What the connection string asks for is what the socket gets: a peer that
// goes silent is noticed in seconds.
TEST_F(postgres_store_test, connections_probe_a_silent_peer_within_seconds) {
  pqxx::connection conn{storage::postgres_connection_string(url_)};
  int fd = conn.sock();
  ASSERT_GE(fd, 0);
  auto option = [fd](int level, int name) {
    int value = -1;
    socklen_t size = sizeof value;
    EXPECT_EQ(getsockopt(fd, level, name, &value, &size), 0);
    return value;
  };
  EXPECT_EQ(option(SOL_SOCKET, SO_KEEPALIVE), 1);
  EXPECT_EQ(option(IPPROTO_TCP, TCP_KEEPIDLE), 5);
  EXPECT_EQ(option(IPPROTO_TCP, TCP_KEEPINTVL), 2);
  EXPECT_EQ(option(IPPROTO_TCP, TCP_KEEPCNT), 3);
  EXPECT_EQ(option(IPPROTO_TCP, TCP_USER_TIMEOUT), 5000);
  EXPECT_EQ(
      pqxx::nontransaction{conn}.exec1("SHOW statement_timeout")[0].as<std::string>(),
      "30s");
}

TEST_F(postgres_store_test, append_stores_and_deduplicates) {
  auto store = open();
  auto a = make_event("a", "alice", "api_call", t0, R"({"n":1,"s":"x\"y"})");
  auto b = make_event("b", "alice", "login", t0 + 1);
  auto a_again = make_event("a", "bob", "other", t0 + 99, R"({"n":2})");
  auto outcomes = store->append({a, b, a_again});
  ASSERT_EQ(outcomes.size(), 3u);
  EXPECT_EQ(outcomes[0].status, model::append_status::stored);
  EXPECT_EQ(outcomes[1].status, model::append_status::stored);
  EXPECT_EQ(outcomes[2].status, model::append_status::duplicate);
  EXPECT_EQ(describe(outcomes[2].event), describe(a));

  auto c = make_event("c", "carol", "api_call", t0 + 2);
  auto b_other_source = b;
  b_other_source.source = "billing";
  outcomes = store->append({a_again, c, b_other_source, c});
  ASSERT_EQ(outcomes.size(), 4u);
  EXPECT_EQ(outcomes[0].status, model::append_status::duplicate);
  EXPECT_EQ(describe(outcomes[0].event), describe(a)); // the stored copy, byte for byte
  EXPECT_EQ(outcomes[1].status, model::append_status::stored);
  EXPECT_EQ(outcomes[2].status, model::append_status::stored);
  EXPECT_EQ(outcomes[3].status, model::append_status::duplicate);
  EXPECT_EQ(describe(outcomes[3].event), describe(c));

  EXPECT_EQ(store->list_events({}).total, 4);
  EXPECT_EQ(describe(store->summarize("alice", {})), "total 3 api_call=1 login=2");
  EXPECT_TRUE(store->append({}).empty());
}

TEST_F(postgres_store_test, two_instances_store_each_id_once_when_racing) {
  auto first = open();
  auto second = open();
  constexpr int ids = 2000;
  std::vector<model::event> all;
  for (int i = 0; i < ids; ++i)
    all.push_back(make_event("id-" + std::to_string(i), "s" + std::to_string(i % 7),
                             "t" + std::to_string(i % 3), t0 + i * 1000));
  std::atomic<long> stored{0};
  auto writer = [&](event_store& store, bool reverse, unsigned seed) {
    std::vector<model::event> mine = all;
    if (reverse)
      std::reverse(mine.begin(), mine.end());
    std::mt19937 rng{seed};
    for (std::size_t i = 0; i < mine.size(); i += 100) {
      std::vector<model::event> batch(mine.begin() + i,
                                      mine.begin() + std::min(mine.size(), i + 100));
      std::shuffle(batch.begin(), batch.end(), rng);
      for (const auto& o : store.append(batch))
        if (o.status == model::append_status::stored)
          ++stored;
    }
  };
  std::thread a{[&] { writer(*first, false, 1); }};
  std::thread b{[&] { writer(*second, true, 2); }};
  a.join();
  b.join();
  EXPECT_EQ(stored.load(), ids);
  auto check = open();
  EXPECT_EQ(check->list_events({"", "", 1, 0}).total, ids);
  EXPECT_EQ(check->stats(t0).total_events, ids);
  std::int64_t sum = 0;
  for (int s = 0; s < 7; ++s)
    sum += check->summarize("s" + std::to_string(s), {t0, t0 + ids * 1000}).total;
  EXPECT_EQ(sum, ids);
}

TEST_F(postgres_store_test, rollups_stay_exact_while_two_instances_append_and_purge) {
  auto writer = open();
  auto purger = open();
  std::atomic<bool> done{false};
  std::thread purging{[&] {
    while (!done)
      purger->purge_before(t0 + 1'000'000, 37);
  }};
  for (int round = 0; round < 20; ++round) {
    std::vector<model::event> batch;
    for (int i = 0; i < 100; ++i)
      batch.push_back(make_event("p" + std::to_string(round * 100 + i),
                                 "s" + std::to_string(i % 4), "t" + std::to_string(i % 3),
                                 t0 + (i % 20) * 100'000));
    writer->append(batch);
  }
  done = true;
  purging.join();
  pqxx::connection conn{url_};
  pqxx::nontransaction tx{conn};
  auto events = tx.exec1("SELECT COUNT(*) FROM events")[0].as<std::int64_t>();
  for (const char* table : {"rollup_minute", "rollup_hour", "rollup_day", "rollup_total",
                            "rollup_global_minute"})
    EXPECT_EQ(
        tx.exec1(std::string{"SELECT COALESCE(SUM(count), 0)::bigint FROM "} + table)[0]
            .as<std::int64_t>(),
        events)
        << table;
  EXPECT_EQ(tx.exec1("SELECT COUNT(*) FROM rollup_minute WHERE count <= 0")[0].as<int>(),
            0);
  EXPECT_EQ(writer->stats(t0).total_events, events);
}

TEST_F(postgres_store_test, lists_newest_first_with_filters_and_pages) {
  auto store = open();
  store->append(
      {make_event("1", "alice", "x", t0), make_event("2", "alice", "y", t0 + 10),
       make_event("3", "bob", "x", t0 + 10), make_event("4", "alice", "x", t0 + 5)});
  auto page = store->list_events({});
  ASSERT_EQ(page.events.size(), 4u);
  EXPECT_EQ(page.total, 4);
  // Ties in time: the later arrival first.
  EXPECT_EQ(page.events[0].id, "3");
  EXPECT_EQ(page.events[1].id, "2");
  EXPECT_EQ(page.events[2].id, "4");
  EXPECT_EQ(page.events[3].id, "1");
  page = store->list_events({"alice", "x", 1, 1});
  EXPECT_EQ(page.total, 2);
  ASSERT_EQ(page.events.size(), 1u);
  EXPECT_EQ(page.events[0].id, "1");
  page = store->list_events({"", "x", 100, 0});
  EXPECT_EQ(page.total, 3);
  EXPECT_EQ(page.events.size(), 3u);
  page = store->list_events({"nobody", "", 100, 0});
  EXPECT_EQ(page.total, 0);
  EXPECT_TRUE(page.events.empty());
}

TEST_F(postgres_store_test, summarize_bounds_are_inclusive) {
  auto store = open();
  millis day = 86'400'000;
  store->append({make_event("1", "alice", "x", t0),
                 make_event("2", "alice", "y", t0 + day),
                 make_event("3", "alice", "x", t0 + 3 * day + 17)});
  EXPECT_EQ(describe(store->summarize("alice", {t0, t0 + day})), "total 2 x=1 y=1");
  EXPECT_EQ(describe(store->summarize("alice", {t0 + 1, t0 + day - 1})), "total 0");
  EXPECT_EQ(describe(store->summarize("alice", {t0 + day, std::nullopt})),
            "total 2 x=1 y=1");
  EXPECT_EQ(describe(store->summarize("alice", {std::nullopt, t0 + 3 * day + 16})),
            "total 2 x=1 y=1");
  EXPECT_EQ(describe(store->summarize("alice", {})), "total 3 x=2 y=1");
  EXPECT_EQ(describe(store->summarize("nobody", {t0, t0 + day})), "total 0");
}

TEST_F(postgres_store_test, history_has_partial_edge_buckets) {
  auto store = open();
  millis hour = 3'600'000;
  millis h0 = model::bucket_floor(t0, hour);
  store->append({make_event("1", "alice", "x", h0 + 10),
                 make_event("2", "alice", "x", h0 + 20),
                 make_event("3", "alice", "y", h0 + hour + 5),
                 make_event("4", "alice", "x", h0 + 3 * hour + 59)});
  EXPECT_EQ(describe(store->history("alice", model::interval::hour, {})),
            std::to_string(h0) + ":2 " + std::to_string(h0 + hour) + ":1 " +
                std::to_string(h0 + 3 * hour) + ":1 ");
  EXPECT_EQ(
      describe(store->history("alice", model::interval::hour, {h0 + 15, h0 + 3 * hour})),
      std::to_string(h0) + ":1 " + std::to_string(h0 + hour) + ":1 ");
  EXPECT_EQ(describe(store->history("alice", model::interval::day, {})),
            std::to_string(model::bucket_floor(h0, 86'400'000)) + ":4 ");
  EXPECT_TRUE(store->history("nobody", model::interval::minute, {}).empty());
}

TEST_F(postgres_store_test, stats_count_types_entities_and_the_last_hour) {
  auto store = open();
  millis now = t0 + 10 * 3'600'000 + 30'123;
  store->append({make_event("1", "alice", "x", now - 3'600'000 - 1),
                 make_event("2", "alice", "y", now - 3'600'000),
                 make_event("3", "bob", "x", now - 60'000),
                 make_event("4", "carol", "x", now)});
  EXPECT_EQ(describe(store->stats(now)), "total 4 last_hour 3 entities 3 x=3 y=1");
}

TEST_F(postgres_store_test, purge_removes_oldest_and_subtracts_rollups) {
  auto store = open();
  store->append({make_event("1", "alice", "x", t0), make_event("2", "alice", "y", t0 + 1),
                 make_event("3", "bob", "x", t0 + 2),
                 make_event("4", "alice", "x", t0 + 90'000)});
  EXPECT_EQ(store->purge_before(t0 + 2, 1), 1u);
  EXPECT_EQ(describe(store->summarize("alice", {})), "total 2 x=1 y=1");
  EXPECT_EQ(store->purge_before(t0 + 60'000, 100), 2u);
  EXPECT_EQ(describe(store->summarize("alice", {})), "total 1 x=1");
  EXPECT_EQ(describe(store->summarize("bob", {})), "total 0");
  EXPECT_EQ(describe(store->summarize("alice", {t0, t0 + 100'000})), "total 1 x=1");
  EXPECT_EQ(describe(store->stats(t0 + 100'000)), "total 1 last_hour 1 entities 1 x=1");
  EXPECT_EQ(store->purge_before(t0, 100), 0u);
  EXPECT_EQ(store->list_events({}).total, 1);
}

// Both backends, fed the same batches, answer every query the same.
TEST_F(postgres_store_test, answers_exactly_like_the_sqlite_backend) {
  auto pg = open();
  auto dir = std::filesystem::temp_directory_path() /
             ("um-pg-compare-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  store_options sqlite_options;
  sqlite_options.url = "sqlite:" + (dir / "events.db").string();
  std::filesystem::create_directories(dir);
  auto lite = storage::open_event_store(sqlite_options);

  std::mt19937_64 rng{20240115};
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
  const std::vector<std::string> subjects = {"alice", "bob", "carol", "dave", "ünï"};
  const std::vector<std::string> types = {"api_call", "login", "x", "y\"q", "z\\w"};
  const millis span = 9 * 86'400'000LL;
  const millis start = t0 - 2 * 86'400'000LL;
  auto random_time = [&]() -> millis {
    // Clumps on bucket edges and exact ties as well as anywhere.
    switch (pick(4)) {
    case 0:
      return model::bucket_floor(start + static_cast<millis>(rng() % span), 3'600'000) +
             pick(3) - 1;
    case 1:
      return start + 60'000 * pick(20);
    default:
      return start + static_cast<millis>(rng() % span);
    }
  };
  int next_id = 0;
  // The earliest time sent under each id number, and the ids retention may
  // have removed: both stores forget them with their events, and a resend
  // would be stored again in one and not the other (purges run at different
  // moments), so they are not resent.
  std::map<int, millis> earliest;
  std::set<int> retired;
  for (int round = 0; round < 30; ++round) {
    std::vector<model::event> batch;
    int n = 1 + pick(120);
    for (int i = 0; i < n; ++i) {
      int number = next_id > 0 && pick(8) == 0 ? pick(next_id) : next_id;
      if (number == next_id || retired.count(number))
        number = next_id++;
      auto time = random_time();
      auto [at, fresh] = earliest.emplace(number, time);
      if (!fresh)
        at->second = std::min(at->second, time);
      auto e = make_event("e" + std::to_string(number), subjects[pick(5)], types[pick(5)],
                          time, R"({"i":)" + std::to_string(i) + R"(,"t":"a\u00e9\"b"})");
      if (pick(10) == 0)
        e.source = "other-source";
      batch.push_back(e);
    }
    ASSERT_EQ(describe(pg->append(batch)), describe(lite->append(batch)))
        << "round " << round;
    if (round % 10 == 9) {
      // Everything before the cutoff, in chunks: PostgreSQL empties whole
      // days at once, so the chunks differ but not the sum.
      millis cutoff = random_time();
      std::size_t max = static_cast<std::size_t>(1 + pick(50));
      std::size_t pg_removed = 0, lite_removed = 0;
      while (auto n = pg->purge_before(cutoff, max))
        pg_removed += n;
      while (auto n = lite->purge_before(cutoff, max))
        lite_removed += n;
      ASSERT_EQ(pg_removed, lite_removed);
      for (const auto& [number, time] : earliest)
        if (time < cutoff)
          retired.insert(number);
    }
  }
  auto random_bound = [&]() -> std::optional<millis> {
    if (pick(4) == 0)
      return std::nullopt;
    return random_time() + (pick(2) ? 0 : pick(200'000'000));
  };
  for (int q = 0; q < 300; ++q) {
    model::event_filter f;
    f.subject = pick(3) ? subjects[pick(5)] : "";
    f.type = pick(2) ? types[pick(5)] : "";
    f.limit = pick(20) == 0 ? -1 : pick(60);
    f.offset = pick(20) == 0 ? -3 : pick(40);
    ASSERT_EQ(describe(pg->list_events(f)), describe(lite->list_events(f)));
    std::string subject = subjects[pick(5)];
    model::time_range range{random_bound(), random_bound()};
    ASSERT_EQ(describe(pg->summarize(subject, range)),
              describe(lite->summarize(subject, range)))
        << subject << ' ' << range.since.value_or(-1) << ' ' << range.until.value_or(-1);
    for (auto width :
         {model::interval::minute, model::interval::hour, model::interval::day})
      ASSERT_EQ(describe(pg->history(subject, width, range)),
                describe(lite->history(subject, width, range)))
          << subject << ' ' << range.since.value_or(-1) << ' '
          << range.until.value_or(-1);
    millis now = random_time();
    ASSERT_EQ(describe(pg->stats(now)), describe(lite->stats(now)));
  }
  lite.reset();
  std::filesystem::remove_all(dir);
}

TEST_F(postgres_store_test, reopening_keeps_data_and_migrates_once) {
  {
    auto store = open();
    store->append({make_event("1", "alice", "x", t0)});
  }
  auto again = open();
  auto third = open();
  EXPECT_EQ(describe(again->summarize("alice", {})), "total 1 x=1");
  auto outcomes = third->append({make_event("1", "alice", "x", t0)});
  EXPECT_EQ(outcomes[0].status, model::append_status::duplicate);

  pqxx::connection conn{url_};
  pqxx::work tx{conn};
  EXPECT_EQ(tx.exec1("SELECT COUNT(*) FROM schema_version")[0].as<int>(),
            storage::postgres::schema_version);
  tx.exec0("INSERT INTO schema_version (version) VALUES (99)");
  tx.commit();
  try {
    open();
    ADD_FAILURE() << "opened a database with a newer schema";
  } catch (const storage_error& e) {
    EXPECT_EQ(e.kind(), failure_kind::internal) << e.what();
  }
}

// A database of the previous version (no subjects table) gains it on open,
// its events kept.
TEST_F(postgres_store_test, a_version_2_database_gains_the_subjects_table) {
  {
    pqxx::connection conn{url_};
    storage::postgres::migrate(conn, 2);
    pqxx::work tx{conn};
    EXPECT_TRUE(tx.exec1("SELECT to_regclass('subjects') IS NULL")[0].as<bool>());
    tx.exec_params("INSERT INTO events (source, id, type, subject, time, data, "
                   "ingested_at) VALUES ($1, '1', 'x', 'alice', $2, '{}', $2)",
                   std::string{model::v1_source}, t0);
    tx.exec0("INSERT INTO rollup_total VALUES ('alice', 'x', 1)");
    tx.commit();
  }
  auto store = open();
  EXPECT_EQ(describe(store->summarize("alice", {})), "total 1 x=1");
  model::subject_upsert u;
  u.key = "alice";
  ASSERT_EQ(store->upsert_subjects({u}, t0).size(), 1u);
  EXPECT_EQ(store->subjects().size(), 1u);
}

model::portal_token portal_token_of(std::string id, std::string subject,
                                    model::millis created) {
  model::portal_token t;
  t.id = std::move(id);
  t.subject = std::move(subject);
  t.created_at = created;
  return t;
}

// A database of version 4 gains the portal tokens table on open.
TEST_F(postgres_store_test, a_version_4_database_gains_the_portal_tokens_table) {
  {
    pqxx::connection conn{url_};
    storage::postgres::migrate(conn, 4);
    pqxx::work tx{conn};
    EXPECT_TRUE(tx.exec1("SELECT to_regclass('portal_tokens') IS NULL")[0].as<bool>());
  }
  auto store = open();
  store->add_portal_token(portal_token_of("01A", "alice", 1));
  EXPECT_EQ(store->portal_tokens(10).size(), 1u);
}

// As the SQLite suite's test of the same name: both backends answer alike.
TEST_F(postgres_store_test,
       portal_tokens_are_listed_newest_first_and_invalidated_by_id_or_subject) {
  auto store = open();
  auto other = open(); // another instance on the same database
  auto a = portal_token_of("01A", "alice", 1000);
  a.allowed_meter_slugs = {"tokens", "calls"};
  a.expires_at = 9000;
  store->add_portal_token(a);
  store->add_portal_token(portal_token_of("01B", "bob", 2000));
  store->add_portal_token(portal_token_of("01C", "alice", 3000));
  store->add_portal_token(portal_token_of("01D", "alice", 3000));

  auto found = other->find_portal_token("01A");
  ASSERT_TRUE(found);
  EXPECT_EQ(found->subject, "alice");
  EXPECT_EQ(found->allowed_meter_slugs, a.allowed_meter_slugs);
  EXPECT_EQ(found->expires_at, 9000);
  EXPECT_EQ(found->created_at, 1000);
  EXPECT_FALSE(found->invalidated);
  EXPECT_FALSE(store->find_portal_token("01Z"));
  EXPECT_FALSE(store->find_portal_token("01B")->expires_at);

  auto ids = [](const std::vector<model::portal_token>& v) {
    std::vector<std::string> out;
    for (const auto& t : v)
      out.push_back(t.id);
    return out;
  };
  EXPECT_EQ(ids(store->portal_tokens(10)),
            (std::vector<std::string>{"01D", "01C", "01B", "01A"}));
  EXPECT_EQ(ids(store->portal_tokens(2)), (std::vector<std::string>{"01D", "01C"}));

  EXPECT_EQ(
      store->invalidate_portal_tokens({std::string{"01B"}, std::string{"alice"}}, 5000),
      0u);
  EXPECT_EQ(store->invalidate_portal_tokens({std::string{"01C"}, std::nullopt}, 5000),
            1u);
  EXPECT_TRUE(other->find_portal_token("01C")->invalidated);
  EXPECT_EQ(store->invalidate_portal_tokens({std::string{"01C"}, std::nullopt}, 6000),
            0u);
  EXPECT_EQ(other->invalidate_portal_tokens({std::nullopt, std::string{"alice"}}, 6000),
            2u);
  EXPECT_EQ(ids(store->portal_tokens(10)), (std::vector<std::string>{"01B"}));
  EXPECT_TRUE(store->find_portal_token("01A")->invalidated);
  EXPECT_FALSE(store->find_portal_token("01B")->invalidated);
  EXPECT_THROW(store->add_portal_token(portal_token_of("01B", "bob", 7000)),
               storage_error);
}

TEST_F(postgres_store_test, instances_opening_together_all_succeed) {
  constexpr int n = 6;
  std::vector<std::thread> threads;
  std::atomic<int> opened{0};
  std::vector<std::string> errors(n);
  for (int i = 0; i < n; ++i)
    threads.emplace_back([&, i] {
      try {
        auto store = open();
        store->ping();
        ++opened;
      } catch (const std::exception& e) {
        errors[i] = e.what();
      }
    });
  for (auto& t : threads)
    t.join();
  EXPECT_EQ(opened.load(), n);
  for (const auto& e : errors)
    EXPECT_EQ(e, "");
}

TEST_F(postgres_store_test, an_outage_is_unavailable_and_a_new_instance_recovers) {
  auto store = open();
  store->append({make_event("1", "alice", "x", t0)});
  auto& cluster = *pg_environment::cluster();
  cluster.stop();
  struct restart {
    um::testing::pg_cluster& c;
    ~restart() { c.start(); }
  } restart_on_exit{cluster};

  auto timed = [](const char* what, const std::function<void()>& call) {
    auto start = std::chrono::steady_clock::now();
    try {
      call();
      ADD_FAILURE() << what << " did not throw";
    } catch (const storage_error& e) {
      EXPECT_EQ(e.kind(), failure_kind::unavailable) << what << ": " << e.what();
    }
    EXPECT_LT(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(),
        5.0)
        << what;
  };
  timed("ping", [&] { store->ping(); });
  timed("append", [&] { store->append({make_event("2", "alice", "x", t0)}); });
  timed("summarize", [&] { store->summarize("alice", {}); });
  timed("open", [&] { open(); });

  cluster.start();
  auto fresh = open();
  fresh->ping();
  EXPECT_EQ(describe(fresh->summarize("alice", {})), "total 1 x=1");
  fresh->append({make_event("2", "alice", "x", t0 + 1)});
  EXPECT_EQ(fresh->list_events({}).total, 2);
}

// Timings of large batches and summaries: bench/storage.cpp --postgres.

} // namespace
