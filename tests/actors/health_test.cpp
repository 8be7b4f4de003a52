#include "tests/actors/actor_fixture.hpp"

#include <gtest/gtest.h>

namespace {

using namespace um;
using namespace um::testing;
using model::component_state;

class health_actor_test : public deterministic_actors {
protected:
  health_actor_test() { h = sys.spawn(health, ctx); }

  void report(std::string name, component_state state, int restarts = 0,
              std::string detail = {}) {
    self->send(
        h, status_atom_v,
        model::component_status{std::move(name), state, restarts, std::move(detail)});
    sched.run();
  }

  model::health_report health_now() {
    return answer<model::health_report>(self->request(h, caf::infinite, health_atom_v));
  }

  model::readiness_report ready_now() {
    return answer<model::readiness_report>(
        self->request(h, caf::infinite, ready_atom_v, model::trace_ref{}));
  }

  static std::string check(const model::readiness_report& r, const std::string& name) {
    for (const auto& c : r.checks)
      if (c.name == name)
        return c.result;
    return "<absent>";
  }

  health_actor h;
};

TEST_F(health_actor_test, healthy_with_no_reports) {
  auto r = health_now();
  EXPECT_TRUE(r.healthy);
  EXPECT_TRUE(r.components.empty());
}

TEST_F(health_actor_test, reports_components_in_arrival_order) {
  report("ingest", component_state::up);
  report("aggregation", component_state::restarting, 2, "died");
  auto r = health_now();
  EXPECT_TRUE(r.healthy);
  ASSERT_EQ(r.components.size(), 2u);
  EXPECT_EQ(r.components[0].name, "ingest");
  EXPECT_EQ(r.components[0].state, component_state::up);
  EXPECT_EQ(r.components[1].name, "aggregation");
  EXPECT_EQ(r.components[1].state, component_state::restarting);
  EXPECT_EQ(r.components[1].restarts, 2);
  EXPECT_EQ(r.components[1].detail, "died");
}

TEST_F(health_actor_test, a_newer_status_replaces_the_older) {
  report("ingest", component_state::starting);
  report("ingest", component_state::up, 1);
  auto r = health_now();
  ASSERT_EQ(r.components.size(), 1u);
  EXPECT_EQ(r.components[0].state, component_state::up);
  EXPECT_EQ(r.components[0].restarts, 1);
}

TEST_F(health_actor_test, unhealthy_when_one_failed) {
  report("ingest", component_state::up);
  report("aggregation", component_state::failed, 10, "restart budget exhausted");
  EXPECT_FALSE(health_now().healthy);
  report("aggregation", component_state::up);
  EXPECT_TRUE(health_now().healthy);
}

TEST_F(health_actor_test, not_ready_when_parts_are_missing) {
  auto r = ready_now();
  EXPECT_FALSE(r.ready);
  ASSERT_EQ(r.checks.size(), 5u);
  EXPECT_EQ(r.checks[0].name, "service");
  EXPECT_EQ(r.checks[0].result, "ok");
  EXPECT_EQ(check(r, "storage"), "down");
  EXPECT_EQ(check(r, "ingest"), "down");
  EXPECT_EQ(check(r, "aggregation"), "down");
  EXPECT_EQ(check(r, "log-shipper"), "down");
}

// A stand-in for a part: answers every readiness question with `answer`.
caf::behavior answering(bool answer) {
  return {
      [answer](ping_atom) { return answer; },
      [answer](ready_atom, const model::trace_ref&) { return answer; },
  };
}

// A stand-in for a part that never answers.
caf::behavior silent() {
  return {
      [](ping_atom) -> caf::result<bool> { return caf::delegated<bool>{}; },
      [](ready_atom, const model::trace_ref&) -> caf::result<bool> {
        return caf::delegated<bool>{};
      },
  };
}

TEST_F(health_actor_test, checks_the_parts_in_the_directory) {
  auto aggr = sys.spawn(aggregation, ctx, probed_factory(dir.options(), probe));
  ctx->directory->set(aggr);
  auto r = ready_now();
  EXPECT_FALSE(r.ready);
  EXPECT_EQ(check(r, "aggregation"), "ok");
  EXPECT_EQ(check(r, "ingest"), "down");
  EXPECT_EQ(check(r, "log-shipper"), "down");
}

TEST_F(health_actor_test, ready_when_every_part_answers) {
  auto aggr = sys.spawn(aggregation, ctx, probed_factory(dir.options(), probe));
  auto shipper = sys.spawn(log_shipper, ctx);
  ctx->directory->set(aggr);
  ctx->directory->set(shipper);
  // Ingest's writer runs detached; a stand-in answers for ingest here.
  ctx->directory->set(
      caf::actor_cast<ingest_actor>(sys.spawn([] { return answering(true); })));
  auto r = ready_now();
  EXPECT_TRUE(r.ready);
  ASSERT_EQ(r.checks.size(), 5u);
  for (const auto& c : r.checks)
    EXPECT_EQ(c.result, "ok") << c.name;
}

TEST_F(health_actor_test, a_part_that_says_no_is_not_ready) {
  ctx->directory->set(sys.spawn(aggregation, ctx, probed_factory(dir.options(), probe)));
  ctx->directory->set(sys.spawn(log_shipper, ctx));
  ctx->directory->set(
      caf::actor_cast<ingest_actor>(sys.spawn([] { return answering(false); })));
  auto r = ready_now();
  EXPECT_FALSE(r.ready);
  EXPECT_EQ(check(r, "ingest"), "error");
  // The writer's connection (through ingest) said no.
  EXPECT_EQ(check(r, "storage"), "error");
  EXPECT_EQ(check(r, "aggregation"), "ok");
}

TEST_F(health_actor_test, a_part_that_does_not_answer_times_out) {
  ctx->directory->set(sys.spawn(aggregation, ctx, probed_factory(dir.options(), probe)));
  ctx->directory->set(sys.spawn(log_shipper, ctx));
  ctx->directory->set(
      caf::actor_cast<ingest_actor>(sys.spawn([] { return answering(true); })));
  ctx->directory->set(caf::actor_cast<aggregation_actor>(sys.spawn(silent)));
  auto handle = self->request(h, caf::infinite, ready_atom_v, model::trace_ref{});
  sched.run();
  EXPECT_TRUE(self->mailbox().empty()); // waiting for the silent part
  sched.trigger_timeouts();
  auto r = answer<model::readiness_report>(std::move(handle));
  EXPECT_FALSE(r.ready);
  EXPECT_EQ(check(r, "aggregation"), "timeout");
  // The read connection is asked through the silent aggregation.
  EXPECT_EQ(check(r, "storage"), "timeout");
  EXPECT_EQ(check(r, "ingest"), "ok");
  EXPECT_EQ(check(r, "log-shipper"), "ok");
}

// `storage` is a round trip on both connections: a read connection that cannot
// be opened makes it `error` although the writer's is fine and `aggregation`
// itself answers; the failure's log line names the /ready request.
TEST_F(health_actor_test, storage_checks_the_read_connection_too) {
  auto reader_probe = std::make_shared<store_probe>();
  reader_probe->fail_open = true;
  ctx->directory->set(
      sys.spawn(aggregation, ctx, probed_factory(dir.options(), reader_probe)));
  ctx->directory->set(sys.spawn(log_shipper, ctx));
  ctx->directory->set(
      caf::actor_cast<ingest_actor>(sys.spawn([] { return answering(true); })));
  ctx->logs->take();
  auto r = answer<model::readiness_report>(
      self->request(h, caf::infinite, ready_atom_v, model::trace_ref{"ready-1"}));
  EXPECT_FALSE(r.ready);
  EXPECT_EQ(check(r, "storage"), "error");
  EXPECT_EQ(check(r, "aggregation"), "ok");
  EXPECT_EQ(check(r, "ingest"), "ok");
  auto taken = ctx->logs->take();
  ASSERT_TRUE(taken.records);
  bool named = false;
  for (const auto& line : *taken.records)
    if (line.message == "storage error: read failed")
      for (const auto& [k, v] : line.fields)
        named = named || (k == "traceId" && std::get<std::string>(v) == "ready-1");
  EXPECT_TRUE(named) << "the read failure names the /ready request";
  reader_probe->fail_open = false;
  r = ready_now();
  EXPECT_TRUE(r.ready);
}

// A dead aggregation is not ready: the part and the read connection it owns.
TEST_F(health_actor_test, a_dead_aggregation_is_not_ready) {
  auto aggr = sys.spawn(aggregation, ctx, probed_factory(dir.options(), probe));
  ctx->directory->set(aggr);
  ctx->directory->set(sys.spawn(log_shipper, ctx));
  ctx->directory->set(
      caf::actor_cast<ingest_actor>(sys.spawn([] { return answering(true); })));
  EXPECT_TRUE(ready_now().ready);
  caf::anon_send_exit(aggr, caf::exit_reason::kill);
  sched.run();
  auto r = ready_now();
  EXPECT_FALSE(r.ready);
  EXPECT_EQ(check(r, "aggregation"), "unavailable");
  EXPECT_EQ(check(r, "storage"), "unavailable");
  EXPECT_EQ(check(r, "ingest"), "ok");
}

} // namespace
