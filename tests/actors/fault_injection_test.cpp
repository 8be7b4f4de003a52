// The one fault-injection behaviour every supervised part shares: a crash
// ends the part as an uncaught exception would, so its supervisor restarts it.

#include "actors/fault_injection.hpp"
#include "tests/actors/actor_fixture.hpp"

#include <gtest/gtest.h>

namespace {

using namespace um;
using namespace um::testing;

class fault_injection_test : public deterministic_actors {
protected:
  // Spawns `part`, sends it a crash through the drills' common handle, and
  // answers how it ended.
  template <class Handle>
  caf::error crash_reason(Handle part) {
    caf::error reason;
    auto watcher = sys.spawn([&reason, part](caf::event_based_actor* s) -> caf::behavior {
      s->monitor(part);
      s->set_down_handler([&reason](caf::down_msg& down) { reason = down.reason; });
      return {[](ping_atom) { return true; }};
    });
    sched.run();
    fault_injectable_actor drill = part;
    caf::anon_send(drill, crash_atom_v, model::trace_ref{});
    sched.run();
    caf::anon_send_exit(watcher, caf::exit_reason::user_shutdown);
    sched.run();
    return reason;
  }
};

TEST_F(fault_injection_test, a_crash_ends_any_part_abnormally) {
  // An actor with nothing but the drills, as the service's parts are made:
  // the exception is logged and ends it, so its supervisor restarts it.
  auto c = ctx;
  auto minimal = sys.spawn(
      [c](fault_injectable_actor::pointer self) -> fault_injectable_actor::behavior_type {
        log_unhandled_exceptions(self, c, "minimal");
        return with_fault_injection<fault_injectable_actor::behavior_type>();
      });
  EXPECT_EQ(crash_reason(minimal), caf::exit_reason::unhandled_exception);
  auto aggr = sys.spawn(aggregation, ctx, probed_factory(dir.options(), probe));
  EXPECT_EQ(crash_reason(aggr), caf::exit_reason::unhandled_exception);
  auto h = sys.spawn(health, ctx);
  EXPECT_EQ(crash_reason(h), caf::exit_reason::unhandled_exception);
}

TEST_F(fault_injection_test, a_hang_blocks_then_the_part_answers_again) {
  auto aggr = sys.spawn(aggregation, ctx, probed_factory(dir.options(), probe));
  fault_injectable_actor drill = aggr;
  caf::anon_send(drill, hang_atom_v, std::int64_t{1});
  EXPECT_TRUE(answer<bool>(self->request(aggr, caf::infinite, ping_atom_v)));
}

// A bug that throws while handling a request's message: the actor error line
// and the exit reason name the request its message carries.
TEST_F(fault_injection_test, an_exception_names_the_request_of_its_message) {
  using buggy_actor = caf::typed_actor<caf::reacts_to<crash_atom, model::trace_ref>,
                                       caf::reacts_to<hang_atom, std::int64_t>,
                                       caf::reacts_to<summary_atom, model::trace_ref>>;
  auto c = ctx;
  auto buggy = sys.spawn([c](buggy_actor::pointer self) -> buggy_actor::behavior_type {
    log_unhandled_exceptions(self, c, "buggy");
    return with_fault_injection<buggy_actor::behavior_type>(
        [](summary_atom, const model::trace_ref&) { throw std::logic_error("a bug"); });
  });
  caf::error reason;
  auto watcher = sys.spawn([&reason, buggy](caf::event_based_actor* s) -> caf::behavior {
    s->monitor(buggy);
    s->set_down_handler([&reason](caf::down_msg& down) { reason = down.reason; });
    return {[](ping_atom) { return true; }};
  });
  sched.run();
  ctx->logs->take();
  caf::anon_send(buggy, summary_atom_v, model::trace_ref{"req-bug"});
  sched.run();
  EXPECT_EQ(reason, caf::exit_reason::unhandled_exception);
  EXPECT_EQ(trace_id_of(reason), "req-bug");
  auto taken = ctx->logs->take();
  ASSERT_TRUE(taken.records);
  ASSERT_EQ(taken.records->size(), 1u);
  const auto& line = taken.records->front();
  EXPECT_EQ(line.message, "actor error: unhandled exception");
  ASSERT_EQ(line.fields.size(), 3u);
  EXPECT_EQ(std::get<std::string>(line.fields[1].second), "a bug");
  EXPECT_EQ(line.fields[2].first, "traceId");
  EXPECT_EQ(std::get<std::string>(line.fields[2].second), "req-bug");
  caf::anon_send_exit(watcher, caf::exit_reason::user_shutdown);
  sched.run();
}

} // namespace
