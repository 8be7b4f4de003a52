// Namespaces on PostgreSQL: each in its own schema `ns_<name>` of the one
// database, created on first use (by several instances at once, too); the
// default namespace stays in the URL's schema, where a database written before
// namespaces existed has its tables.

#include "storage/event_store.hpp"
#include "storage/postgres_store.hpp"
#include "tests/pg/pg_cluster.hpp"
#include "tests/storage/namespace_cases.hpp"

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <thread>

namespace {

using namespace um;

um::testing::pg_cluster& cluster() {
  static um::testing::pg_cluster c;
  return c;
}

class postgres_namespace_test : public ::testing::Test {
protected:
  void SetUp() override {
    static int n = 0;
    try {
      url_ = cluster().create_database("ns" + std::to_string(++n));
    } catch (const std::exception& e) {
      FAIL() << e.what();
    }
  }

  std::unique_ptr<storage::event_store> open(const std::string& ns) const {
    storage::store_options options;
    options.url = url_;
    return storage::open_event_store(storage::namespace_options(options, ns));
  }

  std::int64_t count(const std::string& sql) const {
    pqxx::connection c{url_};
    pqxx::nontransaction tx{c};
    return tx.exec1(sql)[0].as<std::int64_t>();
  }

  std::string url_;
};

TEST_F(postgres_namespace_test, each_namespace_keeps_its_own_data) {
  um::testing::namespaces::keep_apart([this](const std::string& ns) { return open(ns); });
  EXPECT_EQ(count("SELECT count(*) FROM information_schema.schemata WHERE schema_name IN "
                  "('ns_acme', 'ns_globex')"),
            2);
  // The default namespace is the public schema, as before namespaces.
  EXPECT_EQ(count("SELECT count(*) FROM public.event_keys"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM ns_acme.event_keys"), 2);
}

TEST_F(postgres_namespace_test, instances_create_a_new_namespace_at_once) {
  std::vector<std::thread> openers;
  std::atomic<int> failures{0};
  for (int i = 0; i < 4; ++i)
    openers.emplace_back([&, i] {
      try {
        open("fresh")->append({um::testing::metering::usage_event(
            "e" + std::to_string(i), "u", "t", um::testing::metering::t0, "{}")});
      } catch (const std::exception&) {
        ++failures;
      }
    });
  for (auto& t : openers)
    t.join();
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(open("fresh")->summarize("u", {}).total, 4);
  EXPECT_EQ(open("default")->summarize("u", {}).total, 0);
}

TEST(postgres_connection_string, a_namespace_schema_leads_the_search_path) {
  auto plain = storage::postgres_connection_string("postgresql://h/db");
  EXPECT_EQ(plain.find("search_path"), std::string::npos);
  auto ns = storage::postgres_connection_string("postgresql://h/db", "ns_acme");
  EXPECT_NE(ns.find("options=-c%20search_path%3Dns_acme%20-c%20statement_timeout%3D30s"),
            std::string::npos)
      << ns;
  auto own = storage::postgres_connection_string(
      "postgresql://h/db?options=-c%20work_mem%3D8MB", "ns_acme");
  EXPECT_NE(own.find("options=-c%20search_path%3Dns_acme%20-c%20work_mem%3D8MB"),
            std::string::npos)
      << own;
}

} // namespace
