// The supervisor's restart policy on CAF's deterministic test coordinator, whose
// clock only moves when a test moves it: the doubling backoff from 5 ms, its cap at
// 1 s, its reset once a part has been stable for the window, and the budget of 10
// restarts in 60 s, past which a part is failed for good.

#include "tests/actors/actor_fixture.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace {

using namespace um;
using namespace um::testing;
using model::component_state;
using std::chrono::milliseconds;

/// A part that does nothing but live until it is killed.
caf::behavior idle_part(caf::event_based_actor*) {
  return {[](ping_atom) { return true; }};
}

/// A part as the service makes them: its exceptions are logged and end it, and it
/// takes the crash drill, which names the request that sent it.
fault_injectable_actor::behavior_type drilled_part(fault_injectable_actor::pointer self,
                                                   context_ptr ctx) {
  log_unhandled_exceptions(self, ctx, "alpha");
  return with_fault_injection<fault_injectable_actor::behavior_type>();
}

/// What the test knows of one supervised part: how often it was spawned, and the
/// actor of its latest spawn.
struct part_probe {
  int spawns = 0;
  caf::actor current;
};

class supervisor_test : public deterministic_actors {
protected:
  ~supervisor_test() override {
    caf::anon_send_exit(sup, caf::exit_reason::user_shutdown);
    sched.run();
    alpha->current = nullptr;
    beta->current = nullptr;
  }

  static supervised_part part(std::string name, std::shared_ptr<part_probe> probe) {
    return {std::move(name), [probe](caf::event_based_actor* s) {
              probe->current = s->spawn(idle_part);
              ++probe->spawns;
              return probe->current.address();
            }};
  }

  /// A part whose actors take the crash drill.
  static supervised_part drilled(std::string name, std::shared_ptr<part_probe> probe,
                                 context_ptr ctx) {
    return {std::move(name), [probe, ctx](caf::event_based_actor* s) {
              probe->current = caf::actor_cast<caf::actor>(s->spawn(drilled_part, ctx));
              ++probe->spawns;
              return probe->current.address();
            }};
  }

  static std::string text(const model::log_record& r, const std::string& name) {
    for (const auto& [k, v] : r.fields)
      if (k == name)
        if (const auto* s = std::get_if<std::string>(&v))
          return *s;
    return "<absent>";
  }

  void start() {
    h = sys.spawn(health, ctx);
    ctx->directory->set(h);
    sup = spawn_supervisor(sys, ctx, {part("alpha", alpha), part("beta", beta)}, policy);
    sched.run();
    logs();
  }

  /// Kills the part's current actor (an abnormal exit) and lets the supervisor see it.
  void crash(part_probe& p) {
    caf::anon_send_exit(p.current, caf::exit_reason::kill);
    sched.run();
  }

  /// How long until the one restart the supervisor has scheduled; fails when there is
  /// not exactly one.
  caf::timespan restart_due() {
    const auto& schedule = sched.clock().schedule();
    EXPECT_EQ(schedule.size(), 1u) << "scheduled restarts";
    if (schedule.empty())
      return caf::timespan{-1};
    return schedule.begin()->first - sched.clock().now();
  }

  void advance(caf::timespan by) {
    sched.clock().advance_time(by);
    sched.run();
  }

  model::component_status status(const std::string& name) {
    auto report =
        answer<model::health_report>(self->request(h, caf::infinite, health_atom_v));
    for (const auto& c : report.components)
      if (c.name == name)
        return c;
    ADD_FAILURE() << "no component " << name;
    return {};
  }

  /// The log records written since the last call.
  std::vector<model::log_record> logs() {
    auto taken = ctx->logs->take();
    ctx->logs->written(taken.attachment);
    return taken.records ? *taken.records : std::vector<model::log_record>{};
  }

  static std::int64_t field(const model::log_record& r, const std::string& name) {
    for (const auto& [k, v] : r.fields)
      if (k == name)
        if (const auto* n = std::get_if<std::int64_t>(&v))
          return *n;
    return -1;
  }

  /// Crashes `p` and checks that its restart comes exactly `backoff` later, logged so.
  void crash_and_expect_restart_after(part_probe& p, const std::string& name,
                                      milliseconds backoff) {
    int spawns = p.spawns;
    crash(p);
    EXPECT_EQ(status(name).state, component_state::restarting);
    auto lines = logs();
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_EQ(lines[0].message, "component error: restarting");
    EXPECT_EQ(field(lines[0], "backoffMs"), backoff.count());
    EXPECT_EQ(restart_due(), caf::timespan{backoff});
    // Not a moment early...
    advance(caf::timespan{backoff} - caf::timespan{1});
    EXPECT_EQ(p.spawns, spawns)
        << "restarted before its backoff of " << backoff.count() << " ms";
    // ...and then at once.
    advance(caf::timespan{1});
    EXPECT_EQ(p.spawns, spawns + 1) << "not restarted after its backoff";
    auto s = status(name);
    EXPECT_EQ(s.state, component_state::up);
    EXPECT_EQ(s.restarts, p.spawns - 1);
    auto after = logs();
    ASSERT_EQ(after.size(), 1u);
    EXPECT_EQ(after[0].message, "component restarted");
  }

  restart_policy policy; // the service's: 5 ms doubling to 1 s, 10 restarts in 60 s
  std::shared_ptr<part_probe> alpha = std::make_shared<part_probe>();
  std::shared_ptr<part_probe> beta = std::make_shared<part_probe>();
  health_actor h;
  caf::actor sup;
};

TEST_F(supervisor_test, starts_every_part_once_and_reports_it_up) {
  start();
  EXPECT_EQ(alpha->spawns, 1);
  EXPECT_EQ(beta->spawns, 1);
  EXPECT_EQ(status("alpha").state, component_state::up);
  EXPECT_EQ(status("beta").restarts, 0);
  EXPECT_FALSE(sched.clock().has_pending_timeout());
}

TEST_F(supervisor_test, the_backoff_doubles_from_5_ms_and_stays_at_1_s) {
  start();
  for (int ms : {5, 10, 20, 40, 80, 160, 320, 640, 1000, 1000})
    crash_and_expect_restart_after(*alpha, "alpha", milliseconds{ms});
  EXPECT_EQ(status("alpha").restarts, 10);
}

TEST_F(supervisor_test, an_eleventh_death_within_60_s_fails_the_part_for_good) {
  start();
  for (int i = 0; i < 10; ++i) {
    crash(*alpha);
    sched.clock().trigger_timeouts();
    sched.run();
  }
  ASSERT_EQ(alpha->spawns, 11);
  logs();
  crash(*alpha);
  auto s = status("alpha");
  EXPECT_EQ(s.state, component_state::failed);
  EXPECT_EQ(s.restarts, 10);
  EXPECT_EQ(s.detail, "restart budget exhausted");
  EXPECT_FALSE(
      answer<model::health_report>(self->request(h, caf::infinite, health_atom_v))
          .healthy);
  auto lines = logs();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].level, model::log_level::error);
  EXPECT_EQ(lines[0].message, "component failed: error budget of restarts exhausted");
  // No restart is scheduled, and none comes, however long.
  EXPECT_FALSE(sched.clock().has_pending_timeout());
  advance(std::chrono::minutes{10});
  EXPECT_EQ(alpha->spawns, 11);
  EXPECT_EQ(status("alpha").state, component_state::failed);
  // The other part is supervised as before, with its own fresh backoff.
  crash_and_expect_restart_after(*beta, "beta", milliseconds{5});
}

TEST_F(supervisor_test, restarts_older_than_60_s_leave_the_budget) {
  start();
  for (int i = 0; i < 10; ++i) {
    crash(*alpha);
    sched.clock().trigger_timeouts();
    sched.run();
  }
  ASSERT_EQ(status("alpha").restarts, 10);
  logs();
  // Ten restarts took about 3.3 s of backoff; a minute later they are out of the window.
  advance(std::chrono::seconds{61});
  crash_and_expect_restart_after(*alpha, "alpha", milliseconds{5});
  EXPECT_EQ(status("alpha").restarts, 11);
}

TEST_F(supervisor_test, the_backoff_resets_once_the_part_was_stable_for_60_s) {
  start();
  for (int ms : {5, 10, 20})
    crash_and_expect_restart_after(*alpha, "alpha", milliseconds{ms});
  // Within the window the backoff goes on doubling...
  advance(std::chrono::seconds{30});
  crash_and_expect_restart_after(*alpha, "alpha", milliseconds{40});
  // ...and once every restart is older than the window it starts again at 5 ms.
  advance(std::chrono::seconds{61});
  crash_and_expect_restart_after(*alpha, "alpha", milliseconds{5});
  crash_and_expect_restart_after(*alpha, "alpha", milliseconds{10});
}

TEST_F(supervisor_test, each_part_has_its_own_backoff_and_budget) {
  start();
  for (int ms : {5, 10, 20, 40})
    crash_and_expect_restart_after(*alpha, "alpha", milliseconds{ms});
  crash_and_expect_restart_after(*beta, "beta", milliseconds{5});
  EXPECT_EQ(status("alpha").restarts, 4);
  EXPECT_EQ(status("beta").restarts, 1);
}

TEST_F(supervisor_test, a_part_stopped_with_the_supervisor_is_not_restarted) {
  start();
  caf::anon_send_exit(sup, caf::exit_reason::user_shutdown);
  sched.run();
  EXPECT_FALSE(sched.clock().has_pending_timeout());
  advance(std::chrono::seconds{5});
  EXPECT_EQ(alpha->spawns, 1);
  EXPECT_EQ(beta->spawns, 1);
}

// A part a request's message crashed: the actor error, the restart and the
// restarted lines all name that request, beside the reason they always gave.
TEST_F(supervisor_test, the_lines_of_a_crash_name_the_request_that_caused_it) {
  h = sys.spawn(health, ctx);
  ctx->directory->set(h);
  sup = spawn_supervisor(sys, ctx, {drilled("alpha", alpha, ctx), part("beta", beta)},
                         policy);
  sched.run();
  logs();
  fault_injectable_actor drill = caf::actor_cast<fault_injectable_actor>(alpha->current);
  caf::anon_send(drill, crash_atom_v, model::trace_ref{"req-7"});
  sched.run();
  auto lines = logs();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].message, "actor error: unhandled exception");
  EXPECT_EQ(text(lines[0], "component"), "alpha");
  EXPECT_EQ(text(lines[0], "error"), "injected crash");
  EXPECT_EQ(text(lines[0], "traceId"), "req-7");
  EXPECT_EQ(lines[1].message, "component error: restarting");
  EXPECT_EQ(text(lines[1], "traceId"), "req-7");
  EXPECT_EQ(text(lines[1], "reason"),
            caf::to_string(caf::make_error(caf::exit_reason::unhandled_exception)));
  EXPECT_EQ(status("alpha").detail, text(lines[1], "reason"));
  advance(restart_due());
  auto restarted = logs();
  ASSERT_EQ(restarted.size(), 1u);
  EXPECT_EQ(restarted[0].message, "component restarted");
  EXPECT_EQ(text(restarted[0], "traceId"), "req-7");
  // A death no request caused names none.
  crash(*alpha);
  lines = logs();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(text(lines[0], "traceId"), "<absent>");
}

} // namespace
