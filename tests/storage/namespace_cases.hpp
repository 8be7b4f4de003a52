#pragma once

// Namespaces on a backend (storage::namespace_options): each namespace's store
// holds its own events, dedup ids, rollups, meters, subjects and revisions, and
// the default namespace's store is the store the options named before
// namespaces existed. Shared by the embedded backends and PostgreSQL.

#include "tests/storage/meter_cases.hpp"
#include "tests/storage/revision_cases.hpp"

#include <functional>

namespace um::testing::namespaces {

using metering::make_meter;
using metering::t0;
using metering::usage_event;
using model::millis;

/// Opens the store of a namespace.
using opener =
    std::function<std::unique_ptr<storage::event_store>(const std::string& ns)>;

/// Events, ids, rollups, meters, subjects, changes and stats stay in their
/// namespace; reopening finds each namespace's own.
inline void keep_apart(const opener& open) {
  auto base = open("default");
  auto acme = open("acme");
  auto globex = open("globex");

  // The same (source, id) in each namespace is a new event each time.
  auto a = usage_event("same", "alice", "tokens", t0, R"({"tokens":5,"model":"a"})");
  auto g = usage_event("same", "bob", "tokens", t0 + 1000, R"({"tokens":7,"model":"g"})");
  auto d = usage_event("same", "carol", "tokens", t0 + 2000, R"({"tokens":9})");
  EXPECT_EQ(acme->append({a})[0].status, model::append_status::stored);
  EXPECT_EQ(globex->append({g})[0].status, model::append_status::stored);
  EXPECT_EQ(base->append({d})[0].status, model::append_status::stored);
  // ... and a duplicate only within one.
  auto again = acme->append({g});
  EXPECT_EQ(again[0].status, model::append_status::duplicate);
  EXPECT_EQ(again[0].event.subject, "alice");

  EXPECT_EQ(acme->summarize("alice", {}).total, 1);
  EXPECT_EQ(acme->summarize("bob", {}).total, 0);
  EXPECT_EQ(globex->summarize("bob", {}).total, 1);
  EXPECT_EQ(globex->summarize("alice", {}).total, 0);
  EXPECT_EQ(base->summarize("carol", {}).total, 1);
  EXPECT_EQ(acme->stats(t0 + hour).total_events, 1);
  EXPECT_EQ(acme->stats(t0 + hour).unique_entities, 1);
  model::event_filter all;
  all.limit = 10;
  auto listed = globex->list_events(all);
  ASSERT_EQ(listed.events.size(), 1u);
  EXPECT_EQ(listed.events[0].subject, "bob");

  // One slug in two namespaces: two meters, each counting its own events.
  auto sum_a = make_meter("m-acme", R"({"slug":"tokens","eventType":"tokens",
      "aggregation":"SUM","valueProperty":"$.tokens"})");
  auto sum_g = make_meter("m-globex", R"({"slug":"tokens","eventType":"tokens",
      "aggregation":"SUM","valueProperty":"$.tokens"})");
  acme->create_meter(sum_a);
  globex->create_meter(sum_g);
  while (!acme->backfill_meter(sum_a.id, 100)) {
  }
  while (!globex->backfill_meter(sum_g.id, 100)) {
  }
  ASSERT_EQ(acme->meters().size(), 1u);
  EXPECT_EQ(acme->meters()[0].meter.id, "m-acme");
  EXPECT_TRUE(base->meters().empty());
  auto acme_cells =
      acme->meter_cells(sum_a.id, storage::meter_grain::hour, t0 - day, t0 + day, {});
  ASSERT_EQ(acme_cells.size(), 1u);
  EXPECT_EQ(acme_cells[0].subject, "alice");
  EXPECT_EQ(acme_cells[0].cell.sum, 5);
  EXPECT_TRUE(
      globex->meter_cells(sum_a.id, storage::meter_grain::hour, t0 - day, t0 + day, {})
          .empty());
  EXPECT_FALSE(acme->delete_meter("m-globex"));

  // Subjects and corrections stay in their namespace.
  globex->upsert_subjects({{"bob", std::optional<std::string>{"Bob"}, {}, {}, {}, {}}},
                          t0);
  EXPECT_TRUE(acme->subjects().empty());
  EXPECT_FALSE(acme->find_subject("bob"));
  ASSERT_EQ(globex->subjects().size(), 1u);
  auto only_in_acme = usage_event("acme-only", "alice", "tokens", t0 + 3000, "{}");
  acme->append({only_in_acme});
  EXPECT_EQ(globex->change_event(revisions::void_of(only_in_acme, t0 + hour)).status,
            model::change_status::not_found);
  EXPECT_EQ(acme->change_event(revisions::void_of(a, t0 + hour)).status,
            model::change_status::changed);
  EXPECT_EQ(acme->summarize("alice", {}).total, 1);
  EXPECT_EQ(globex->summarize("bob", {}).total, 1);
  EXPECT_EQ(base->summarize("carol", {}).total, 1);
  model::event_search voided;
  voided.include_voided = true;
  voided.time_from = t0 - day;
  voided.time_to = t0 + day;
  voided.limit = 10;
  EXPECT_EQ(acme->event_revisions(voided).size(), 1u);
  EXPECT_TRUE(globex->event_revisions(voided).empty());

  // Reopened, each namespace finds its own again.
  acme.reset();
  globex.reset();
  base.reset();
  EXPECT_EQ(open("acme")->summarize("alice", {}).total, 1);
  EXPECT_EQ(open("globex")->summarize("bob", {}).total, 1);
  EXPECT_EQ(open("globex")->subjects().size(), 1u);
  EXPECT_EQ(open("default")->summarize("carol", {}).total, 1);
  EXPECT_EQ(open("default")->summarize("alice", {}).total, 0);
}

} // namespace um::testing::namespaces
