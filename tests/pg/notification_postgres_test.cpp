// Usage alerts in the PostgreSQL store: the shared cases, the migration of a
// version 6 database, and instances racing to store one event and to claim
// the same due deliveries.

#include "storage/event_store.hpp"
#include "storage/postgres/schema.hpp"
#include "tests/pg/pg_cluster.hpp"
#include "tests/storage/notification_cases.hpp"

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <thread>

namespace {

using namespace um;
using model::millis;
using um::testing::notifications::alert;
using um::testing::notifications::channel;
using um::testing::notifications::ids_of;
using um::testing::notifications::key_of;
using um::testing::notifications::rule;
using um::testing::notifications::t0;

// One cluster for this file's tests, started on first use.
um::testing::pg_cluster& cluster() {
  static um::testing::pg_cluster c;
  return c;
}

class postgres_notification_test : public ::testing::Test {
public:
  std::unique_ptr<storage::event_store> open() const {
    storage::store_options options;
    options.url = url_;
    return storage::open_event_store(options);
  }

protected:
  void SetUp() override {
    static int n = 0;
    try {
      url_ = cluster().create_database("alerts" + std::to_string(++n));
    } catch (const std::exception& e) {
      FAIL() << e.what();
    }
  }

  std::int64_t count(const std::string& sql) const {
    pqxx::connection c{url_};
    pqxx::nontransaction tx{c};
    return tx.exec1(sql)[0].as<std::int64_t>();
  }

  std::string url_;
};

UM_NOTIFICATION_STORE_TESTS(postgres_notification_test)

// Threads that wait for each other before each round, so that their calls
// of one round meet in the database rather than one after the other.
class spin_barrier {
public:
  explicit spin_barrier(int parties) : parties_(parties) {}

  void wait() {
    int generation = generation_.load();
    if (++waiting_ == parties_) {
      waiting_ = 0;
      ++generation_;
      return;
    }
    while (generation_.load() == generation)
      std::this_thread::yield();
  }

private:
  const int parties_;
  std::atomic<int> waiting_{0};
  std::atomic<int> generation_{0};
};

// A database written by the previous release (version 6): usage events and a
// portal token. Opening it adds the alert tables and nothing else changes;
// then alerts are stored, found and claimed as in a new one.
TEST_F(postgres_notification_test, a_version_6_database_migrates_and_keeps_its_data) {
  {
    pqxx::connection c{url_};
    storage::postgres::migrate(c, 6);
    pqxx::nontransaction tx{c};
    EXPECT_TRUE(
        tx.exec1("SELECT to_regclass('notification_events') IS NULL")[0].as<bool>());
    EXPECT_EQ(tx.exec1("SELECT MAX(version) FROM schema_version")[0].as<int>(), 6);
  }
  std::vector<model::event> events;
  for (int i = 0; i < 20; ++i) {
    model::event e;
    e.source = std::string{model::v1_source};
    e.id = "old-" + std::to_string(i);
    e.type = "api_calls";
    e.subject = i % 2 ? "alice" : "bob";
    e.time = t0 + i * 60'000 + (i % 3) * 86'400'000; // over three days
    e.data = "{}";
    e.ingested_at = t0;
    events.push_back(e);
  }
  {
    // Version 7 only adds tables: a store of this build that wrote the data
    // and then loses them and their version row is what version 6 wrote.
    auto store = open();
    store->append(events);
    model::portal_token token;
    token.id = "01TOKEN";
    token.subject = "alice";
    token.created_at = t0;
    store->add_portal_token(token);
    pqxx::connection c{url_};
    pqxx::work tx{c};
    tx.exec0("DROP TABLE notification_channels, notification_rules, notification_events");
    tx.exec0("DELETE FROM schema_version WHERE version = 7");
    tx.commit();
  }
  auto store = open();
  auto second = open(); // finds it migrated
  EXPECT_EQ(count("SELECT MAX(version) FROM schema_version"),
            storage::postgres::schema_version);
  EXPECT_EQ(count("SELECT COUNT(*) FROM schema_version WHERE version = 7"), 1);
  EXPECT_EQ(count("SELECT COUNT(*) FROM notification_events"), 0);
  EXPECT_EQ(store->list_events({"", "", 1000, 0}).total,
            static_cast<std::int64_t>(events.size()));
  EXPECT_EQ(second->summarize("alice", {}).total, 10);
  EXPECT_EQ(second->append({events[4]})[0].status, model::append_status::duplicate);
  EXPECT_TRUE(store->find_portal_token("01TOKEN"));

  store->put_notification_channel(channel("01CH-A"));
  second->put_notification_rule(rule("01RU-1"));
  auto e = alert("01EV-1", "01RU-1", "alice", t0, {"01CH-A"}, t0 + 10);
  ASSERT_TRUE(store->add_notification_event(e, key_of(e)));
  auto twin = e;
  twin.id = "01EV-2";
  EXPECT_FALSE(second->add_notification_event(twin, key_of(twin)));
  EXPECT_EQ(second->notification_channels().size(), 1u);
  EXPECT_EQ(store->notification_rules().size(), 1u);
  EXPECT_EQ(ids_of(second->claim_due_notifications(t0 + 10, t0 + 1000, 10)),
            (std::vector<std::string>{"01EV-1"}));
  EXPECT_TRUE(store->claim_due_notifications(t0 + 10, t0 + 1000, 10).empty());
}

// Four instances storing events of the same keys at the same moment (as four
// evaluators seeing one threshold crossed): each key is stored once, by the
// one instance told true, with that instance's event.
TEST_F(postgres_notification_test, instances_adding_one_key_at_once_store_it_once) {
  constexpr int instances = 4, keys = 40;
  open(); // migrated once, before the race
  spin_barrier barrier{instances};
  std::mutex m;
  std::map<int, std::vector<std::string>> winners; // key → ids told true
  std::vector<std::thread> running;
  for (int i = 0; i < instances; ++i)
    running.emplace_back([&, i] {
      auto store = open();
      for (int k = 0; k < keys; ++k) {
        auto e = alert("01EV-" + std::to_string(k) + "-" + std::to_string(i), "r1",
                       "customer-" + std::to_string(k), t0 + i, {"ch1"}, t0);
        barrier.wait();
        if (store->add_notification_event(e, key_of(e))) {
          std::lock_guard<std::mutex> lock{m};
          winners[k].push_back(e.id);
        }
      }
    });
  for (auto& t : running)
    t.join();
  auto store = open();
  ASSERT_EQ(winners.size(), static_cast<std::size_t>(keys));
  for (const auto& [k, ids] : winners) {
    ASSERT_EQ(ids.size(), 1u) << "key " << k;
    auto stored = store->find_notification_event(ids[0]);
    ASSERT_TRUE(stored) << ids[0];
    EXPECT_EQ(stored->subject, "customer-" + std::to_string(k));
  }
  EXPECT_EQ(count("SELECT COUNT(*) FROM notification_events"), keys);
  EXPECT_EQ(store->notification_events({}).second, static_cast<std::size_t>(keys));
}

// Four instances claiming from 200 due events at once, a few at a time, until
// none is left to them: every event is claimed exactly once in all, with
// both its deliveries as they were due, and every delivery holds the lease.
TEST_F(postgres_notification_test, instances_claiming_at_once_never_share_an_event) {
  constexpr int instances = 4, total = 200;
  const millis now = t0 + 10'000, lease = now + 60'000;
  {
    auto store = open();
    for (int i = 0; i < total; ++i) {
      // Due times spread over the past, some equal, so the order has ties.
      auto e =
          alert("01EV-" + std::to_string(1000 + i), "r1", "customer-" + std::to_string(i),
                t0 + i, {"ch1", "ch2"}, t0 + (i * 37) % 5000);
      e.deliveries[1].next_attempt_at = t0 + (i * 53) % 9000;
      ASSERT_TRUE(store->add_notification_event(e, key_of(e)));
    }
    // Not due yet: no instance may take it.
    auto later = alert("01EV-LATER", "r1", "late", t0, {"ch1"}, now + 1);
    ASSERT_TRUE(store->add_notification_event(later, key_of(later)));
  }
  spin_barrier barrier{instances};
  std::mutex m;
  std::multiset<std::string> claimed;
  std::vector<int> claims_made(instances, 0);
  // Open until the end: an instance that is gone gives its leases up.
  std::vector<std::unique_ptr<storage::event_store>> stores;
  for (int i = 0; i < instances; ++i)
    stores.push_back(open());
  std::vector<std::thread> running;
  for (int i = 0; i < instances; ++i)
    running.emplace_back([&, i] {
      auto& store = stores[static_cast<std::size_t>(i)];
      barrier.wait();
      for (;;) {
        // Nothing left to this instance: every due row is either leased or
        // locked by another instance's claim, which leases it.
        auto got = store->claim_due_notifications(now, lease, 7);
        if (got.empty())
          return;
        std::lock_guard<std::mutex> lock{m};
        ++claims_made[static_cast<std::size_t>(i)];
        for (const auto& e : got) {
          claimed.insert(e.id);
          EXPECT_EQ(e.deliveries.size(), 2u);
          for (const auto& d : e.deliveries)
            EXPECT_LE(d.next_attempt_at.value_or(lease), now) << e.id;
        }
      }
    });
  for (auto& t : running)
    t.join();
  EXPECT_EQ(claimed.size(), static_cast<std::size_t>(total));
  std::set<std::string> distinct(claimed.begin(), claimed.end());
  EXPECT_EQ(distinct.size(), claimed.size()) << "an event was claimed twice";
  EXPECT_FALSE(distinct.count("01EV-LATER"));
  for (int i = 0; i < instances; ++i)
    RecordProperty("claims_of_instance_" + std::to_string(i), claims_made[i]);

  auto store = open();
  EXPECT_TRUE(store->claim_due_notifications(now, lease, 1000).empty());
  EXPECT_EQ(count("SELECT COUNT(*) FROM notification_events WHERE next_due = " +
                  std::to_string(lease)),
            total);
  auto event = store->find_notification_event("01EV-1007");
  ASSERT_TRUE(event);
  for (const auto& d : event->deliveries)
    EXPECT_EQ(d.next_attempt_at, lease);
  // Once the lease ends they are all due again (the later one too).
  EXPECT_EQ(store->claim_due_notifications(lease, lease + 60'000, 1000).size(),
            static_cast<std::size_t>(total + 1));
}

// An instance killed while it held a claim: another instance takes the
// deliveries of that claim as soon as the dead one's server process is gone,
// long before the lease ends, and only those (a retry planned past the lease
// keeps its time). A claim never takes what a live instance holds, its own
// included.
TEST_F(postgres_notification_test,
       a_claim_takes_at_once_what_a_gone_instance_had_leased) {
  const millis now = t0 + 10'000, lease = now + 600'000, planned = now + 1'800'000;
  auto survivor = open();
  {
    auto gone = open();
    auto e = alert("01EV-1", "r1", "alice", t0, {"ch1", "ch2"}, now);
    e.deliveries[1].next_attempt_at = planned;
    ASSERT_TRUE(gone->add_notification_event(e, key_of(e)));
    auto other = alert("01EV-2", "r1", "bob", t0, {"ch1"}, now);
    ASSERT_TRUE(gone->add_notification_event(other, key_of(other)));
    ASSERT_EQ(gone->claim_due_notifications(now, lease, 10).size(), 2u);
    // Alive, it keeps them: the survivor's first claim looks and finds none.
    EXPECT_TRUE(survivor->claim_due_notifications(now, lease, 10).empty());
    // Its leases end; the connection closes, and its server process exits.
  }
  // Claims look for gone owners every 5 s of their `now`; the server process
  // of the closed connection exits within moments.
  std::vector<model::notification_event> got;
  millis at = now;
  for (int i = 0; i < 200 && got.empty(); ++i) {
    at += 5'000;
    got = survivor->claim_due_notifications(at, at + 600'000, 10);
    if (got.empty())
      std::this_thread::sleep_for(std::chrono::milliseconds{20});
  }
  ASSERT_LT(at, lease) << "not taken before the lease ended";
  ASSERT_EQ(ids_of(got), (std::vector<std::string>{"01EV-1", "01EV-2"}));
  // Answered due now (the claim's `now`); the planned retry keeps its time.
  EXPECT_EQ(got[0].deliveries[0].next_attempt_at, at);
  EXPECT_EQ(got[0].deliveries[1].next_attempt_at, planned);
  EXPECT_EQ(got[1].deliveries[0].next_attempt_at, at);
  auto stored = survivor->find_notification_event("01EV-1");
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->deliveries[0].next_attempt_at, at + 600'000);
  EXPECT_EQ(stored->deliveries[1].next_attempt_at, planned);
  // The survivor holds them now: neither it nor another live instance takes
  // them again before its lease ends.
  auto third = open();
  EXPECT_TRUE(third->claim_due_notifications(at + 5'000, at + 700'000, 10).empty());
  EXPECT_TRUE(survivor->claim_due_notifications(at + 5'000, at + 700'000, 10).empty());
  EXPECT_TRUE(survivor->claim_due_notifications(at + 10'000, at + 700'000, 10).empty());
}

// A stored form that does not read back (damaged outside the service) is
// the store's `corrupt`, as on the embedded backends, and not read with
// defaults; the undamaged rows of other tables still read.
TEST_F(postgres_notification_test, a_damaged_notification_record_is_corrupt) {
  auto store = open();
  store->put_notification_channel(channel("01CH-A"));
  store->put_notification_rule(rule("01RU-1"));
  auto e = alert("01EV-1", "01RU-1", "s", t0, {"01CH-A"}, t0);
  ASSERT_TRUE(store->add_notification_event(e, key_of(e)));
  {
    pqxx::connection c{url_};
    pqxx::work tx{c};
    tx.exec0("UPDATE notification_channels SET record = '{\"id\": 1'");
    tx.exec0("UPDATE notification_events SET record = '[]'");
    tx.commit();
  }
  auto kind_of = [](auto&& f) {
    try {
      f();
    } catch (const storage::storage_error& e) {
      return e.kind();
    }
    return storage::failure_kind::internal; // not thrown: fails below
  };
  auto corrupt = storage::failure_kind::corrupt;
  EXPECT_EQ(kind_of([&] { store->notification_channels(); }), corrupt);
  EXPECT_EQ(kind_of([&] { store->find_notification_event("01EV-1"); }), corrupt);
  EXPECT_EQ(kind_of([&] { store->notification_events({}); }), corrupt);
  EXPECT_EQ(kind_of([&] { store->claim_due_notifications(t0, t0 + 1000, 10); }), corrupt);
  EXPECT_EQ(
      kind_of([&] { store->update_notification_delivery("01EV-1", e.deliveries[0]); }),
      corrupt);
  EXPECT_EQ(store->notification_rules().size(), 1u);
}

} // namespace
