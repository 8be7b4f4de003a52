#include "tests/actors/actor_fixture.hpp"

#include <gtest/gtest.h>

namespace {

using namespace um;
using namespace um::testing;

class aggregation_actor_test : public deterministic_actors {
protected:
  aggregation_actor_test() {
    auto store = storage::open_event_store(dir.options());
    store->append({make_event("1", "alice", "login", base_day + 10 * hour + 1),
                   make_event("2", "alice", "click", base_day + 10 * hour + 2),
                   make_event("3", "alice", "login", base_day + 12 * hour),
                   make_event("4", "bob", "login", base_day + day)});
    aggr = sys.spawn(aggregation, ctx, probed_factory(dir.options(), probe));
  }

  aggregation_actor aggr;
};

TEST_F(aggregation_actor_test, answers_summary) {
  auto s = answer<model::usage_summary>(
      self->request(aggr, caf::infinite, summary_atom_v, model::trace_ref{},
                    std::string{"alice"}, model::time_range{}));
  EXPECT_EQ(s.total, 3);
  EXPECT_EQ(s.by_type, (std::map<std::string, std::int64_t>{{"click", 1}, {"login", 2}}));
  model::time_range morning{base_day, base_day + 10 * hour + 1};
  s = answer<model::usage_summary>(self->request(aggr, caf::infinite, summary_atom_v,
                                                 model::trace_ref{}, std::string{"alice"},
                                                 morning));
  EXPECT_EQ(s.total, 1);
}

TEST_F(aggregation_actor_test, answers_history) {
  auto h = answer<model::usage_history>(
      self->request(aggr, caf::infinite, history_atom_v, model::trace_ref{},
                    std::string{"alice"}, model::interval::hour, model::time_range{}));
  ASSERT_EQ(h.size(), 2u);
  EXPECT_EQ(h[0].bucket_start, base_day + 10 * hour);
  EXPECT_EQ(h[0].count, 2);
  EXPECT_EQ(h[1].bucket_start, base_day + 12 * hour);
  EXPECT_EQ(h[1].count, 1);
}

TEST_F(aggregation_actor_test, answers_stats) {
  auto s = answer<model::usage_stats>(self->request(aggr, caf::infinite, stats_atom_v,
                                                    model::trace_ref{},
                                                    model::millis{base_day + day}));
  EXPECT_EQ(s.total_events, 4);
  EXPECT_EQ(s.unique_entities, 2);
  EXPECT_EQ(s.events_last_hour, 1);
  EXPECT_EQ(s.event_types,
            (std::map<std::string, std::int64_t>{{"click", 1}, {"login", 3}}));
}

TEST_F(aggregation_actor_test, answers_list) {
  model::event_filter f;
  f.subject = "alice";
  f.limit = 2;
  auto page = answer<model::event_page>(
      self->request(aggr, caf::infinite, list_atom_v, model::trace_ref{}, f));
  EXPECT_EQ(page.total, 3);
  ASSERT_EQ(page.events.size(), 2u);
  EXPECT_EQ(page.events[0].id, "3");
  EXPECT_EQ(page.events[1].id, "2");
}

TEST_F(aggregation_actor_test, answers_ping) {
  EXPECT_TRUE(answer<bool>(self->request(aggr, caf::infinite, ping_atom_v)));
}

TEST_F(aggregation_actor_test, keeps_its_connection) {
  for (int i = 0; i < 3; ++i)
    answer<model::usage_summary>(self->request(aggr, caf::infinite, summary_atom_v,
                                               model::trace_ref{}, std::string{"alice"},
                                               model::time_range{}));
  EXPECT_EQ(probe->opens, 1);
}

TEST_F(aggregation_actor_test, a_storage_failure_is_an_error_value) {
  probe->fail_open = true;
  auto err = failure<model::usage_summary>(
      self->request(aggr, caf::infinite, summary_atom_v, model::trace_ref{},
                    std::string{"alice"}, model::time_range{}));
  EXPECT_EQ(to_api_error(err).code, model::error_code::unavailable) << sys.render(err);
  // The actor survives and opens the store once it can.
  probe->fail_open = false;
  auto s = answer<model::usage_summary>(
      self->request(aggr, caf::infinite, summary_atom_v, model::trace_ref{},
                    std::string{"bob"}, model::time_range{}));
  EXPECT_EQ(s.total, 1);
}

} // namespace

namespace {

using namespace um;
using namespace um::testing;

class aggregation_query_test : public deterministic_actors {
protected:
  aggregation_query_test() {
    auto store = storage::open_event_store(dir.options());
    auto m =
        model::parse_meter(nlohmann::ordered_json{{"slug", "tokens"},
                                                  {"aggregation", "COUNT"},
                                                  {"eventType", "prompt"},
                                                  {"groupBy", {{"model", "$.model"}}}},
                           base_day, "meter-1");
    EXPECT_TRUE(m) << m.error;
    store->create_meter(m.value);
    while (!store->backfill_meter("meter-1", 1000)) {
    }
    aggr = sys.spawn(aggregation, ctx, probed_factory(dir.options(), probe));
  }

  caf::error query_error(std::string meter, model::meter_query_input input) {
    return failure<meter_query_answer>(self->request(
        aggr, caf::infinite, query_atom_v, model::trace_ref{}, std::move(meter), input));
  }

  aggregation_actor aggr;
};

TEST_F(aggregation_query_test, checks_the_query_against_the_meter_it_names) {
  auto input =
      model::read_meter_query_params({{"groupBy", "model"}, {"groupBy", "team"}});
  auto err = to_api_error(query_error("tokens", input));
  EXPECT_EQ(err.code, model::error_code::validation);
  EXPECT_EQ(err.message,
            "groupBy \"team\" is not a group-by of meter \"tokens\"; use one "
            "of: subject, model");
  auto ok = answer<meter_query_answer>(self->request(
      aggr, caf::infinite, query_atom_v, model::trace_ref{}, std::string{"meter-1"},
      model::read_meter_query_params({{"groupBy", "model"}})));
  EXPECT_EQ(ok.query.group_by, (std::vector<std::string>{"model"}));
}

TEST_F(aggregation_query_test, an_unknown_meter_is_not_found_before_the_query_is_read) {
  auto err = to_api_error(
      query_error("nope", model::read_meter_query_body(nlohmann::ordered_json::array())));
  EXPECT_EQ(err.code, model::error_code::not_found);
}

} // namespace
