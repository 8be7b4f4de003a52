#pragma once

// Metering cases every backend must pass, written once: a fixture provides
// `open()`, `store_definition(id, text)` (rewrites a stored meter) and
// `minute_cells_from_events()` (whether minute cells are folded from the
// events when read rather than stored), and `UM_METER_STORE_TESTS(fixture)`
// defines the tests for it. The
// expected cells are computed by brute force over the events with the model's
// own functions (`extract_sample`, `meter_cell::add`).

#include "model/meter_query.hpp"
#include "model/metering.hpp"
#include "storage/event_store.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

namespace um::testing::metering {

using model::millis;
using storage::event_store;
using storage::meter_cell_row;
using storage::meter_grain;

// 2024-01-15T10:00:00Z.
constexpr millis t0 = 1'705'312'800'000;

inline model::event usage_event(std::string id, std::string subject, std::string type,
                                millis time, std::string data) {
  model::event e;
  e.id = std::move(id);
  e.source = "test";
  e.subject = std::move(subject);
  e.type = std::move(type);
  e.time = time;
  e.data = std::move(data);
  e.ingested_at = time + 1000;
  return e;
}

/// A meter from its JSON definition, as a client would POST it.
inline model::meter make_meter(const std::string& id, const std::string& body) {
  auto m = model::parse_meter(nlohmann::ordered_json::parse(body), t0, id);
  EXPECT_TRUE(m.error.empty()) << m.error;
  return m.value;
}

/// One meter per aggregation, over type "tokens", grouped by model, plus one
/// with an eventFrom and one without group-by.
inline std::vector<model::meter> every_kind_of_meter() {
  std::vector<model::meter> out;
  for (std::string agg :
       {"SUM", "COUNT", "UNIQUE_COUNT", "AVG", "MIN", "MAX", "LATEST"}) {
    std::string value = agg == "UNIQUE_COUNT" ? "$.user" : "$.tokens";
    std::string slug = "m_" + std::string(agg == "UNIQUE_COUNT" ? "unique" : agg);
    for (auto& c : slug)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out.push_back(
        make_meter("id_" + slug,
                   R"({"slug":")" + slug + R"(","aggregation":")" + agg +
                       R"(","eventType":"tokens","valueProperty":")" + value +
                       R"(","groupBy":{"model":"$.model","region":"$.meta.region"}})"));
  }
  out.push_back(make_meter("id_from", R"({"slug":"m_from","aggregation":"SUM",
      "eventType":"tokens","valueProperty":"$.tokens",
      "eventFrom":"2024-01-15T11:00:00Z"})"));
  return out;
}

/// Random events: mostly "tokens", some of another type; values valid,
/// numeric strings, or invalid; group values present, missing, null or
/// numbers; times over four hours with ties.
inline std::vector<model::event> random_events(std::mt19937& rng, int n,
                                               const std::string& prefix) {
  std::vector<model::event> out;
  auto pick = [&](int k) { return static_cast<int>(rng() % static_cast<unsigned>(k)); };
  for (int i = 0; i < n; ++i) {
    nlohmann::json data = nlohmann::json::object();
    switch (pick(10)) {
    case 0:
      data["tokens"] = "abc";
      break;
    case 1:
      break; // missing
    case 2:
      data["tokens"] = std::to_string(pick(100)) + ".5";
      break;
    case 3:
      data["tokens"] = nullptr;
      break;
    default:
      data["tokens"] = pick(1000) - 100;
    }
    switch (pick(5)) {
    case 0:
      break;
    case 1:
      data["model"] = nullptr;
      break;
    case 2:
      data["model"] = 7;
      break;
    default:
      data["model"] = pick(2) ? "gpt-4" : "claude \"3\"";
    }
    if (pick(2))
      data["meta"] = {{"region", pick(2) ? "eu" : "us"}};
    if (pick(6))
      data["user"] = "u" + std::to_string(pick(7));
    std::string raw = pick(50) == 0 ? "not json" : data.dump();
    auto time = t0 + static_cast<millis>(pick(4 * 60)) * 60'000 +
                static_cast<millis>(pick(3)) * 20'000;
    out.push_back(usage_event(prefix + std::to_string(i), "s" + std::to_string(pick(4)),
                              pick(8) ? "tokens" : "other", time, raw));
  }
  return out;
}

using cell_key = std::tuple<millis, std::string, std::vector<std::optional<std::string>>>;

/// What the cells of `m` must hold after `events` were stored in this order.
inline std::map<cell_key, model::meter_cell>
brute_force_cells(const model::meter& m, const std::vector<model::event>& events,
                  meter_grain grain) {
  millis width = grain == meter_grain::minute ? 60'000 : 3'600'000;
  std::map<cell_key, model::meter_cell> out;
  std::int64_t seq = 0;
  for (const auto& e : events) {
    ++seq;
    auto x = model::extract_sample(m, e);
    if (x.status != model::sample_status::counted)
      continue;
    out[{model::bucket_floor(e.time, width), x.sample.subject, x.sample.group_values}]
        .add(x.sample, seq);
  }
  return out;
}

inline std::string describe(const cell_key& k) {
  std::ostringstream s;
  s << std::get<0>(k) << ' ' << std::get<1>(k) << " [";
  for (const auto& v : std::get<2>(k))
    s << (v ? *v : "null") << ',';
  return s.str() + "]";
}

/// Expects the cells `store` holds for `m` (whole range, both grains) to be
/// what brute force computes; `seq` ties are not compared (their numbering
/// is the backend's), but the latest value is.
inline void expect_cells(event_store& store, const model::meter& m,
                         const std::vector<model::event>& events) {
  for (auto grain : {meter_grain::minute, meter_grain::hour}) {
    auto expected = brute_force_cells(m, events, grain);
    std::map<cell_key, model::meter_cell> actual;
    for (auto& row : store.meter_cells(m.id, grain, t0 - 86'400'000, t0 + 86'400'000, {}))
      EXPECT_TRUE(
          actual.emplace(cell_key{row.bucket, row.subject, row.group_values}, row.cell)
              .second);
    ASSERT_EQ(actual.size(), expected.size()) << m.slug;
    for (const auto& [key, want] : expected) {
      auto it = actual.find(key);
      ASSERT_NE(it, actual.end()) << m.slug << " " << describe(key);
      const auto& got = it->second;
      SCOPED_TRACE(m.slug + " " + describe(key));
      EXPECT_EQ(got.count, want.count);
      EXPECT_EQ(got.sum, want.sum);
      EXPECT_EQ(got.min, want.min);
      EXPECT_EQ(got.max, want.max);
      EXPECT_EQ(got.latest, want.latest);
      EXPECT_EQ(got.latest_time, want.latest_time);
      if (m.aggregation == model::meter_aggregation::unique_count)
        EXPECT_EQ(got.uniques, want.uniques);
      else
        EXPECT_TRUE(got.uniques.empty());
      EXPECT_EQ(got.value(m.aggregation), want.value(m.aggregation));
    }
  }
}

inline void append_in_batches(event_store& store, const std::vector<model::event>& events,
                              std::size_t batch) {
  for (std::size_t i = 0; i < events.size(); i += batch)
    store.append(std::vector<model::event>(
        events.begin() + static_cast<std::ptrdiff_t>(i),
        events.begin() +
            static_cast<std::ptrdiff_t>(std::min(events.size(), i + batch))));
}

/// Backfills until ready; returns the number of calls.
inline int backfill(event_store& store, const std::string& id, std::size_t chunk) {
  for (int calls = 1; calls < 100'000; ++calls)
    if (store.backfill_meter(id, chunk))
      return calls;
  ADD_FAILURE() << "backfill never finished";
  return 0;
}

inline std::optional<model::stored_meter> find(event_store& store,
                                               const std::string& id) {
  for (auto& m : store.meters())
    if (m.meter.id == id)
      return m;
  return std::nullopt;
}

/// The distinct values (null excluded) of one group-by of a meter, sorted,
/// over all its hour cells.
inline std::vector<std::string> group_values(event_store& store, const std::string& id,
                                             std::size_t group_index) {
  std::set<std::string> values;
  for (auto& row : store.meter_cells(id, meter_grain::hour, model::earliest_query_time,
                                     model::latest_query_time, {}))
    if (group_index < row.group_values.size() && row.group_values[group_index])
      values.insert(*row.group_values[group_index]);
  return {values.begin(), values.end()};
}

inline storage::failure_kind failure_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const storage::storage_error& e) {
    return e.kind();
  }
  ADD_FAILURE() << "no storage_error";
  return storage::failure_kind::internal;
}

} // namespace um::testing::metering

// clang-format off
#define UM_METER_STORE_TESTS(fixture)                                                    \
  TEST_F(fixture, a_meter_created_without_events_is_ready_at_once) {                     \
    um::testing::metering::create_without_events(*this);                                 \
  }                                                                                      \
  TEST_F(fixture, backfill_and_appends_give_the_brute_force_cells) {                     \
    um::testing::metering::backfill_then_append(*this);                                  \
  }                                                                                      \
  TEST_F(fixture, subjects_group_values_and_filters) {                                   \
    um::testing::metering::subjects_and_group_values(*this);                             \
  }                                                                                      \
  TEST_F(fixture, invalid_values_and_event_from_are_not_counted) {                       \
    um::testing::metering::invalid_and_event_from(*this);                                \
  }                                                                                      \
  TEST_F(fixture, changing_group_by_rebuilds_and_renaming_does_not) {                    \
    um::testing::metering::update_rebuilds(*this);                                       \
  }                                                                                      \
  TEST_F(fixture, delete_removes_the_meter_and_its_cells) {                              \
    um::testing::metering::delete_removes(*this);                                        \
  }                                                                                      \
  TEST_F(fixture, backfill_resumes_after_reopening) {                                    \
    um::testing::metering::backfill_resumes(*this);                                      \
  }                                                                                      \
  TEST_F(fixture, conflicts_and_unknown_meters) {                                        \
    um::testing::metering::conflicts_and_unknown(*this);                                 \
  }                                                                                      \
  TEST_F(fixture, events_of_type_and_search) {                                           \
    um::testing::metering::events_of_type_and_search(*this);                             \
  }                                                                                      \
  TEST_F(fixture, purge_drops_wholly_purged_cells) {                                     \
    um::testing::metering::purge_drops_cells(*this);                                     \
  }                                                                                      \
  TEST_F(fixture, an_update_by_id_or_slug_reads_checks_and_writes_at_once) {             \
    um::testing::metering::update_by_reference(*this);                                   \
  }                                                                                      \
  TEST_F(fixture, meters_stored_in_the_unversioned_form_still_work) {                    \
    um::testing::metering::unversioned_definitions(*this);                               \
  }                                                                                      \
  TEST_F(fixture, subjects_round_trip) {                                                 \
    um::testing::metering::subjects_round_trip(*this);                                   \
  }
// clang-format on

namespace um::testing::metering {

template <class Fixture>
void create_without_events(Fixture& f) {
  auto store = f.open();
  auto m = make_meter("m1", R"({"slug":"calls","aggregation":"COUNT","eventType":"t"})");
  store->create_meter(m);
  auto stored = find(*store, "m1");
  ASSERT_TRUE(stored);
  EXPECT_TRUE(stored->ready);
  EXPECT_EQ(stored->meter.slug, "calls");
  EXPECT_EQ(stored->meter.aggregation, model::meter_aggregation::count);
  EXPECT_TRUE(store->backfill_meter("m1", 10));
  store->append({usage_event("a", "s", "t", t0, "{}")});
  auto cells = store->meter_cells("m1", meter_grain::minute, t0, t0 + 60'000, {});
  ASSERT_EQ(cells.size(), 1u);
  EXPECT_EQ(cells[0].cell.count, 1);
  EXPECT_EQ(cells[0].subject, "s");
  EXPECT_TRUE(cells[0].group_values.empty());
}

template <class Fixture>
void backfill_then_append(Fixture& f) {
  auto store = f.open();
  std::mt19937 rng(7);
  auto events = random_events(rng, 600, "a");
  append_in_batches(*store, events, 50);
  auto meters = every_kind_of_meter();
  for (const auto& m : meters)
    store->create_meter(m);
  for (const auto& m : store->meters())
    EXPECT_FALSE(m.ready) << m.meter.slug;
  // Events appended after creation count at once, before the backfill.
  auto later = random_events(rng, 200, "b");
  append_in_batches(*store, later, 30);
  std::vector<model::event> all = events;
  all.insert(all.end(), later.begin(), later.end());
  for (const auto& m : meters)
    EXPECT_GT(backfill(*store, m.id, 37), 2);
  for (const auto& m : store->meters())
    EXPECT_TRUE(m.ready) << m.meter.slug;
  for (const auto& m : meters)
    expect_cells(*store, m, all);
  // Same events again: duplicates change nothing.
  append_in_batches(*store, later, 64);
  auto more = random_events(rng, 300, "c");
  append_in_batches(*store, more, 17);
  all.insert(all.end(), more.begin(), more.end());
  for (const auto& m : meters)
    expect_cells(*store, m, all);
}

template <class Fixture>
void subjects_and_group_values(Fixture& f) {
  auto store = f.open();
  auto m = make_meter("m", R"({"slug":"tok","aggregation":"SUM","eventType":"tokens",
      "valueProperty":"$.tokens","groupBy":{"model":"$.model","tier":"$.tier"}})");
  store->create_meter(m);
  store->append({
      usage_event("1", "alice", "tokens", t0, R"({"tokens":1,"model":"b","tier":"x"})"),
      usage_event("2", "bob", "tokens", t0 + 1, R"({"tokens":2,"model":"a"})"),
      usage_event("3", "carol", "tokens", t0 + 2,
                  R"({"tokens":3,"model":null,"tier":5})"),
      usage_event("4", "dave", "other", t0 + 3, R"({"tokens":3,"model":"z"})"),
      usage_event("5", "alice", "tokens", t0 + 4,
                  R"({"tokens":4,"model":"b","tier":"x"})"),
      usage_event("6", "erin", "tokens", t0 + 5, R"({"tokens":"bad","model":"q"})"),
  });
  EXPECT_EQ(store->meter_subjects("m"),
            (std::vector<std::string>{"alice", "bob", "carol"}));
  EXPECT_EQ(group_values(*store, "m", 0), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(group_values(*store, "m", 1), (std::vector<std::string>{"5", "x"}));
  EXPECT_TRUE(group_values(*store, "m", 2).empty());
  auto cells = store->meter_cells("m", meter_grain::hour, t0, t0 + 3'600'000,
                                  {"alice", "carol", "nobody"});
  ASSERT_EQ(cells.size(), 2u);
  std::map<std::string, meter_cell_row> by_subject;
  for (auto& c : cells)
    by_subject[c.subject] = c;
  EXPECT_EQ(by_subject["alice"].cell.sum, 5);
  EXPECT_EQ(by_subject["alice"].cell.count, 2);
  EXPECT_EQ(by_subject["alice"].group_values,
            (std::vector<std::optional<std::string>>{"b", "x"}));
  EXPECT_EQ(by_subject["carol"].group_values,
            (std::vector<std::optional<std::string>>{std::nullopt, "5"}));
  // Bucket bounds: from inclusive, to exclusive.
  EXPECT_TRUE(store->meter_cells("m", meter_grain::minute, t0 + 60'000, t0 + 120'000, {})
                  .empty());
  EXPECT_EQ(store->meter_cells("m", meter_grain::minute, t0, t0 + 60'000, {}).size(), 3u);
  EXPECT_TRUE(store->meter_cells("m", meter_grain::minute, t0 - 60'000, t0, {}).empty());
  EXPECT_TRUE(
      store->meter_cells("nope", meter_grain::minute, t0, t0 + 60'000, {}).empty());
}

template <class Fixture>
void invalid_and_event_from(Fixture& f) {
  auto store = f.open();
  auto sum = make_meter("s", R"({"slug":"s","aggregation":"SUM","eventType":"t",
      "valueProperty":"$.v","eventFrom":"2024-01-15T10:30:00Z"})");
  auto uniq = make_meter("u", R"({"slug":"u","aggregation":"UNIQUE_COUNT",
      "eventType":"t","valueProperty":"$.v"})");
  store->create_meter(sum);
  store->create_meter(uniq);
  std::vector<model::event> events = {
      usage_event("1", "x", "t", t0, R"({"v":100})"), // before eventFrom
      usage_event("2", "x", "t", t0 + 1'800'000, R"({"v":1})"),
      usage_event("3", "x", "t", t0 + 1'800'001, R"({"v":"2.5"})"),
      usage_event("4", "x", "t", t0 + 1'800'002, R"({"v":"abc"})"),
      usage_event("5", "x", "t", t0 + 1'800'003, R"({"v":null})"),
      usage_event("6", "x", "t", t0 + 1'800'004, R"({"w":1})"),
      usage_event("7", "x", "t", t0 + 1'800'005, R"({"v":[1]})"),
      usage_event("8", "x", "t", t0 + 1'800'006, R"(not json)"),
      usage_event("9", "x", "t", t0 + 1'800'007, R"({"v":1})"),
  };
  store->append(events);
  auto cells = store->meter_cells("s", meter_grain::hour, t0, t0 + 3'600'000, {});
  ASSERT_EQ(cells.size(), 1u);
  EXPECT_EQ(cells[0].cell.count, 3);
  EXPECT_EQ(cells[0].cell.sum, 4.5);
  auto uniques = store->meter_cells("u", meter_grain::hour, t0, t0 + 3'600'000, {});
  ASSERT_EQ(uniques.size(), 1u);
  EXPECT_EQ(uniques[0].cell.uniques, (std::set<std::string>{"1", "100", "2.5", "abc"}));
  EXPECT_EQ(uniques[0].cell.count, 5);
  expect_cells(*store, sum, events);
  expect_cells(*store, uniq, events);
}

template <class Fixture>
void update_rebuilds(Fixture& f) {
  auto store = f.open();
  std::mt19937 rng(11);
  auto events = random_events(rng, 300, "a");
  append_in_batches(*store, events, 100);
  auto m = make_meter("m", R"({"slug":"tok","aggregation":"SUM","eventType":"tokens",
      "valueProperty":"$.tokens","groupBy":{"model":"$.model"}})");
  store->create_meter(m);
  backfill(*store, "m", 1000);
  expect_cells(*store, m, events);

  auto renamed = m;
  ASSERT_EQ(
      model::apply_meter_update(renamed,
                                nlohmann::ordered_json::parse(
                                    R"({"name":"Tokens","groupBy":{"model":"$.model"}})"),
                                t0 + 1),
      "");
  store->update_meter(renamed);
  auto stored = find(*store, "m");
  ASSERT_TRUE(stored);
  EXPECT_TRUE(stored->ready);
  EXPECT_EQ(stored->meter.name, "Tokens");
  expect_cells(*store, m, events);

  auto regrouped = renamed;
  ASSERT_EQ(model::apply_meter_update(
                regrouped,
                nlohmann::ordered_json::parse(
                    R"({"name":"Tokens","groupBy":{"region":"$.meta.region"}})"),
                t0 + 2),
            "");
  store->update_meter(regrouped);
  stored = find(*store, "m");
  ASSERT_TRUE(stored);
  EXPECT_FALSE(stored->ready);
  EXPECT_TRUE(
      store->meter_cells("m", meter_grain::hour, t0 - 86'400'000, t0 + 86'400'000, {})
          .empty());
  // Appends from now on use the new definition; the backfill the rest.
  auto later = random_events(rng, 100, "b");
  append_in_batches(*store, later, 25);
  events.insert(events.end(), later.begin(), later.end());
  backfill(*store, "m", 40);
  expect_cells(*store, regrouped, events);
}

template <class Fixture>
void delete_removes(Fixture& f) {
  auto store = f.open();
  auto a = make_meter("a", R"({"slug":"a","aggregation":"UNIQUE_COUNT","eventType":"t",
      "valueProperty":"$.u"})");
  auto b = make_meter("b", R"({"slug":"b","aggregation":"COUNT","eventType":"t"})");
  store->create_meter(a);
  store->create_meter(b);
  store->append({usage_event("1", "x", "t", t0, R"({"u":"p"})")});
  EXPECT_TRUE(store->delete_meter("a"));
  EXPECT_FALSE(store->delete_meter("a"));
  auto all = store->meters();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].meter.id, "b");
  EXPECT_TRUE(store->meter_cells("a", meter_grain::minute, t0, t0 + 60'000, {}).empty());
  EXPECT_TRUE(store->meter_subjects("a").empty());
  // The slug is free again, and the new meter starts empty.
  store->create_meter(a);
  EXPECT_TRUE(store->backfill_meter("a", 10));
  auto cells = store->meter_cells("a", meter_grain::minute, t0, t0 + 60'000, {});
  ASSERT_EQ(cells.size(), 1u);
  EXPECT_EQ(cells[0].cell.uniques, (std::set<std::string>{"p"}));
  store->append({usage_event("2", "x", "t", t0, R"({"u":"q"})")});
  EXPECT_EQ(
      store->meter_cells("b", meter_grain::minute, t0, t0 + 60'000, {})[0].cell.count, 2);
  // Creation order is kept.
  all = store->meters();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].meter.id, "b");
  EXPECT_EQ(all[1].meter.id, "a");
}

template <class Fixture>
void backfill_resumes(Fixture& f) {
  std::mt19937 rng(5);
  auto events = random_events(rng, 400, "a");
  auto meters = every_kind_of_meter();
  {
    auto store = f.open();
    append_in_batches(*store, events, 100);
    for (const auto& m : meters)
      store->create_meter(m);
    for (const auto& m : meters)
      EXPECT_FALSE(store->backfill_meter(m.id, 50));
  }
  auto store = f.open();
  for (const auto& m : store->meters())
    EXPECT_FALSE(m.ready);
  for (const auto& m : meters)
    backfill(*store, m.id, 50);
  for (const auto& m : meters)
    expect_cells(*store, m, events);
}

template <class Fixture>
void conflicts_and_unknown(Fixture& f) {
  auto store = f.open();
  auto m = make_meter("m", R"({"slug":"tok","aggregation":"COUNT","eventType":"t"})");
  store->create_meter(m);
  auto same_slug =
      make_meter("n", R"({"slug":"tok","aggregation":"COUNT","eventType":"t"})");
  auto same_id =
      make_meter("m", R"({"slug":"other","aggregation":"COUNT","eventType":"t"})");
  EXPECT_EQ(failure_of([&] { store->create_meter(same_slug); }),
            storage::failure_kind::conflict);
  EXPECT_EQ(failure_of([&] { store->create_meter(same_id); }),
            storage::failure_kind::conflict);
  auto unknown = make_meter("x", R"({"slug":"x","aggregation":"COUNT","eventType":"t"})");
  EXPECT_EQ(failure_of([&] { store->update_meter(unknown); }),
            storage::failure_kind::not_found);
  EXPECT_EQ(failure_of([&] { store->backfill_meter("x", 10); }),
            storage::failure_kind::not_found);
  EXPECT_EQ(store->meters().size(), 1u);
  // The store still works after the failures.
  store->append({usage_event("1", "s", "t", t0, "{}")});
  EXPECT_EQ(store->meter_cells("m", meter_grain::minute, t0, t0 + 60'000, {}).size(), 1u);
}

template <class Fixture>
void events_of_type_and_search(Fixture& f) {
  auto store = f.open();
  std::vector<model::event> events = {
      usage_event("id-1", "alice", "t", t0, "{}"),
      usage_event("id-2", "bob", "t", t0 + 10, "{}"),
      usage_event("id_3", "alice", "u", t0 + 10, "{}"),
      usage_event("ID-4", "carol%", "t", t0 + 20, "{}"),
      usage_event("id-5", "alice", "t", t0 + 60'000, "{}"),
  };
  store->append(events);
  auto of_type = store->events_of_type("t", t0, t0 + 60'000, {});
  ASSERT_EQ(of_type.size(), 3u);
  EXPECT_EQ(of_type[0].event.id, "id-1");
  EXPECT_EQ(of_type[2].event.id, "ID-4");
  EXPECT_LT(of_type[0].seq, of_type[1].seq);
  EXPECT_EQ(of_type[1].event.data, "{}");
  auto alice = store->events_of_type("t", t0, t0 + 120'000, {"alice", "nobody"});
  ASSERT_EQ(alice.size(), 2u);
  EXPECT_EQ(alice[1].event.id, "id-5");

  auto ids = [](const std::vector<storage::sequenced_event>& es) {
    std::vector<std::string> out;
    for (const auto& e : es)
      out.push_back(e.event.id);
    return out;
  };
  model::event_search all;
  all.time_from = t0;
  all.time_to = t0 + 120'000;
  EXPECT_EQ(ids(store->search_events(all)),
            (std::vector<std::string>{"id-5", "ID-4", "id_3", "id-2", "id-1"}));
  auto s = all;
  s.id_contains = "id-";
  EXPECT_EQ(ids(store->search_events(s)),
            (std::vector<std::string>{"id-5", "id-2", "id-1"}));
  s.id_contains = "_";
  EXPECT_EQ(ids(store->search_events(s)), (std::vector<std::string>{"id_3"}));
  s = all;
  s.subject_contains = "%";
  EXPECT_EQ(ids(store->search_events(s)), (std::vector<std::string>{"ID-4"}));
  s = all;
  s.time_to = t0 + 20;
  s.limit = 2;
  EXPECT_EQ(ids(store->search_events(s)), (std::vector<std::string>{"id_3", "id-2"}));
  s = all;
  s.ingested_from = t0 + 1010;
  s.ingested_to = t0 + 1020;
  EXPECT_EQ(ids(store->search_events(s)), (std::vector<std::string>{"id_3", "id-2"}));

  // Cursor pagination: each page continues after the last event of the one
  // before, whatever is stored meanwhile (the keyset is time, then seq).
  s = all;
  s.limit = 2;
  auto page = store->search_events(s);
  EXPECT_EQ(ids(page), (std::vector<std::string>{"id-5", "ID-4"}));
  // Stored meanwhile: one newer than the cursor, one as old as its event
  // (stored later, so before it in the listing): neither shows on later
  // pages; one older than the cursor does, once.
  store->append({usage_event("late", "bob", "t", t0 + 15, "{}"),
                 usage_event("tie", "bob", "t", t0 + 20, "{}"),
                 usage_event("new", "bob", "t", t0 + 100'000, "{}")});
  s.before = model::event_position{page.back().event.time, page.back().seq};
  page = store->search_events(s);
  EXPECT_EQ(ids(page), (std::vector<std::string>{"late", "id_3"}));
  s.before = model::event_position{page.back().event.time, page.back().seq};
  page = store->search_events(s);
  EXPECT_EQ(ids(page), (std::vector<std::string>{"id-2", "id-1"}));
  s.before = model::event_position{page.back().event.time, page.back().seq};
  EXPECT_TRUE(store->search_events(s).empty());
}

// Subjects: upsert creates then changes (fields not given are kept, null
// clears), find by key or id, list by key, delete; they survive a reopen.
template <class Fixture>
void subjects_round_trip(Fixture& f) {
  auto store = f.open();
  EXPECT_TRUE(store->subjects().empty());
  model::subject_upsert a;
  a.key = "customer-b";
  a.display_name.emplace("B Inc.");
  a.metadata.emplace(R"({"tier":"gold"})");
  model::subject_upsert b;
  b.key = "customer-a";
  b.stripe_customer_id.emplace("cus_1");
  b.current_period_start.emplace(1'700'000'000'000);
  auto created = store->upsert_subjects({a, b}, 1000);
  ASSERT_EQ(created.size(), 2u);
  EXPECT_EQ(created[0].key, "customer-b");
  EXPECT_FALSE(created[0].id.empty());
  EXPECT_NE(created[0].id, created[1].id);
  EXPECT_EQ(created[0].created_at, 1000);

  model::subject_upsert change;
  change.key = "customer-b";
  change.display_name.emplace(std::nullopt);
  change.stripe_customer_id.emplace("cus_2");
  auto changed = store->upsert_subjects({change}, 2000);
  ASSERT_EQ(changed.size(), 1u);
  EXPECT_EQ(changed[0].id, created[0].id);
  EXPECT_EQ(changed[0].created_at, 1000);
  EXPECT_EQ(changed[0].updated_at, 2000);
  EXPECT_FALSE(changed[0].display_name);
  EXPECT_EQ(changed[0].metadata, std::optional<std::string>{R"({"tier":"gold"})"});
  EXPECT_EQ(changed[0].stripe_customer_id, std::optional<std::string>{"cus_2"});

  store.reset();
  store = f.open();
  auto all = store->subjects();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].key, "customer-a");
  EXPECT_EQ(all[0].current_period_start, std::optional<model::millis>{1'700'000'000'000});
  EXPECT_EQ(all[1].stripe_customer_id, std::optional<std::string>{"cus_2"});
  auto by_id = store->find_subject(created[1].id);
  ASSERT_TRUE(by_id);
  EXPECT_EQ(by_id->key, "customer-a");
  EXPECT_TRUE(store->find_subject("customer-b"));
  EXPECT_FALSE(store->find_subject("nobody"));

  EXPECT_TRUE(store->delete_subject(created[1].id));
  EXPECT_FALSE(store->delete_subject("customer-a"));
  EXPECT_TRUE(store->delete_subject("customer-b"));
  EXPECT_TRUE(store->subjects().empty());
}

template <class Fixture>
void purge_drops_cells(Fixture& f) {
  auto store = f.open();
  auto m = make_meter("m", R"({"slug":"u","aggregation":"UNIQUE_COUNT","eventType":"t",
      "valueProperty":"$.u"})");
  store->create_meter(m);
  std::vector<model::event> events;
  for (int i = 0; i < 6; ++i)
    events.push_back(usage_event(std::to_string(i), "s", "t", t0 + i * 30'000,
                                 R"({"u":"v)" + std::to_string(i) + R"("})"));
  events.push_back(usage_event("late", "s", "t", t0 + 3'600'000, R"({"u":"w"})"));
  store->append(events);
  // Removes the first three events (minutes 0 and half of 1).
  EXPECT_EQ(store->purge_before(t0 + 90'000, 100), 3u);
  auto minutes = store->meter_cells("m", meter_grain::minute, t0, t0 + 7'200'000, {});
  ASSERT_EQ(minutes.size(), 3u);
  EXPECT_EQ(minutes[0].bucket, t0 + 60'000);
  // It straddles the cutoff: a stored minute cell is kept whole; one folded
  // from the events when read (`minute_cells_from_events`) holds what is left.
  const std::set<std::string> stored_whole{"v2", "v3"}, what_is_left{"v3"};
  EXPECT_EQ(minutes[0].cell.uniques,
            f.minute_cells_from_events() ? what_is_left : stored_whole);
  auto hours = store->meter_cells("m", meter_grain::hour, t0, t0 + 7'200'000, {});
  ASSERT_EQ(hours.size(), 2u);
  EXPECT_EQ(hours[0].cell.count, 6);
  // Everything before the late event goes: the first hour is wholly purged.
  EXPECT_EQ(store->purge_before(t0 + 3'600'000, 100), 3u);
  hours = store->meter_cells("m", meter_grain::hour, t0, t0 + 7'200'000, {});
  ASSERT_EQ(hours.size(), 1u);
  EXPECT_EQ(hours[0].bucket, t0 + 3'600'000);
  EXPECT_EQ(hours[0].cell.uniques, (std::set<std::string>{"w"}));
  EXPECT_EQ(store->meter_cells("m", meter_grain::minute, t0, t0 + 7'200'000, {}).size(),
            1u);
}

/// A store whose meters were written by a release before the versioned
/// storage form (their definition the API's Meter JSON) opens and answers as
/// before: the fixture's `store_definition` rewrites one in place.
template <class Fixture>
void unversioned_definitions(Fixture& f) {
  std::mt19937 rng(17);
  auto events = random_events(rng, 200, "a");
  auto m = make_meter("m", R"({"slug":"tok","name":"Tokens","description":"all",
      "aggregation":"SUM","eventType":"tokens","valueProperty":"$.tokens",
      "eventFrom":"2024-01-15T10:30:00Z","groupBy":{"model":"$.model"}})");
  auto c =
      make_meter("c", R"({"slug":"calls","aggregation":"COUNT","eventType":"tokens"})");
  {
    auto store = f.open();
    append_in_batches(*store, events, 50);
    store->create_meter(m);
    store->create_meter(c);
    backfill(*store, "m", 1000);
    backfill(*store, "c", 1000);
  }
  f.store_definition("m", model::meter_json(m).dump());
  f.store_definition("c", model::meter_json(c).dump());
  auto store = f.open();
  auto all = store->meters();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(model::meter_json(all[0].meter), model::meter_json(m));
  EXPECT_EQ(model::meter_json(all[1].meter), model::meter_json(c));
  EXPECT_TRUE(all[0].ready && all[1].ready);
  expect_cells(*store, m, events);
  // Appends apply the definitions read from the old form.
  auto later = random_events(rng, 60, "b");
  append_in_batches(*store, later, 20);
  events.insert(events.end(), later.begin(), later.end());
  expect_cells(*store, m, events);
  expect_cells(*store, c, events);
  // A change writes the versioned form, read back the same.
  auto renamed = m;
  renamed.name = "Tokens used";
  store->update_meter(renamed);
  EXPECT_EQ(model::meter_json(f.open()->meters()[0].meter), model::meter_json(renamed));
}

/// `update_meter(id_or_slug, update)` and `delete_meter(id_or_slug)`: the
/// meter is found by either, the update checked against it, and nothing is
/// written when it has a problem.
template <class Fixture>
void update_by_reference(Fixture& f) {
  auto store = f.open();
  std::mt19937 rng(23);
  auto events = random_events(rng, 120, "a");
  append_in_batches(*store, events, 40);
  auto m = make_meter("m-id", R"({"slug":"tok","aggregation":"SUM","eventType":"tokens",
      "valueProperty":"$.tokens","groupBy":{"model":"$.model"}})");
  store->create_meter(m);
  backfill(*store, "m-id", 1000);
  auto read = [](const char* body, millis at) {
    return model::read_meter_update(nlohmann::ordered_json::parse(body), at);
  };
  // By slug, renaming only: the cells stay.
  auto renamed = store->update_meter("tok", read(R"({"name":"Tokens",
      "groupBy":{"model":"$.model"}})",
                                                 t0 + 1));
  ASSERT_TRUE(renamed) << renamed.error;
  EXPECT_EQ(renamed.value.id, "m-id");
  EXPECT_EQ(renamed.value.updated_at, t0 + 1);
  auto stored = find(*store, "m-id");
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->meter.name, "Tokens");
  EXPECT_TRUE(stored->ready);
  // A problem found against the stored meter: nothing is written.
  auto refused =
      store->update_meter("m-id", read(R"({"groupBy":{"t":"$.tokens"}})", t0 + 2));
  EXPECT_EQ(refused.error, "groupBy \"t\": must differ from valueProperty");
  EXPECT_EQ(model::meter_json(find(*store, "m-id")->meter),
            model::meter_json(stored->meter));
  EXPECT_EQ(failure_of([&] { store->update_meter("nope", read("{}", t0)); }),
            storage::failure_kind::not_found);
  // By id, regrouping: rebuilt by a backfill, as a whole replacement would be.
  auto regrouped = store->update_meter(
      "m-id", read(R"({"groupBy":{"region":"$.meta.region"}})", t0 + 3));
  ASSERT_TRUE(regrouped) << regrouped.error;
  EXPECT_FALSE(find(*store, "m-id")->ready);
  backfill(*store, "m-id", 50);
  expect_cells(*store, regrouped.value, events);
  EXPECT_FALSE(store->delete_meter("nope"));
  EXPECT_TRUE(store->delete_meter("tok"));
  EXPECT_TRUE(store->meters().empty());
}

} // namespace um::testing::metering
