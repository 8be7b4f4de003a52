// Ingest spawns its writer detached, so these tests run on a real threaded
// actor system with bounded waits; a gate in the store holds a commit back
// so that requests can pile up behind it deterministically.

#include "tests/actors/actor_fixture.hpp"

#include <gtest/gtest.h>

#include <thread>

namespace {

using namespace um;
using namespace um::testing;
using namespace std::chrono_literals;

constexpr auto wait_limit = 10s;

using outcomes_handle = decltype(std::declval<caf::scoped_actor&>()->request(
    std::declval<ingest_actor&>(), wait_limit, ingest_atom_v, model::trace_ref{},
    std::vector<model::event>{}));

class ingest_test : public ::testing::Test {
protected:
  static caf::actor_system_config& threaded(caf::actor_system_config& c) {
    c.set("scheduler.max-threads", 2);
    c.set("logger.file-verbosity", caf::atom("quiet"));
    c.set("logger.console-verbosity", caf::atom("quiet"));
    return c;
  }

  ingest_test() : sys(threaded(cfg)), self(sys) {}

  ~ingest_test() override {
    probe->open_gate();
    if (front)
      caf::anon_send_exit(front, caf::exit_reason::user_shutdown);
  }

  void start(ingest_limits limits = {}) {
    front = sys.spawn(ingest, ctx, probed_factory(dir.options(), probe), limits);
  }

  outcomes_handle send(std::vector<model::event> events, std::string trace_id = {}) {
    return self->request(front, wait_limit, ingest_atom_v,
                         model::trace_ref{std::move(trace_id)}, std::move(events));
  }

  static std::vector<model::event> request_events(int request, int n) {
    std::vector<model::event> out;
    for (int j = 0; j < n; ++j)
      out.push_back(make_event("r" + std::to_string(request) + "-" + std::to_string(j),
                               "u" + std::to_string(request), "t",
                               base_day + request * 1000 + j));
    return out;
  }

  model::append_outcomes receive(outcomes_handle& handle) {
    model::append_outcomes out;
    handle.receive([&](model::append_outcomes& x) { out = std::move(x); },
                   [&](caf::error& err) { ADD_FAILURE() << sys.render(err); });
    return out;
  }

  caf::error receive_error(outcomes_handle& handle) {
    caf::error out;
    handle.receive([&](model::append_outcomes&) { ADD_FAILURE() << "expected an error"; },
                   [&](caf::error& err) { out = std::move(err); });
    return out;
  }

  /// A round trip through ingest: whatever it did before, counters included,
  /// is done when this returns.
  void settle() {
    self->request(front, wait_limit, drain_atom_v)
        .receive([](bool) {}, [&](caf::error& e) { ADD_FAILURE() << sys.render(e); });
  }

  std::int64_t stored_total() {
    return storage::open_event_store(dir.options())->list_events({}).total;
  }

  temp_dir dir;
  std::shared_ptr<store_probe> probe = std::make_shared<store_probe>();
  caf::actor_system_config cfg;
  caf::actor_system sys;
  caf::scoped_actor self;
  context_ptr ctx = make_context();
  ingest_actor front;
};

TEST_F(ingest_test, stores_and_answers) {
  start();
  auto handle = send(request_events(0, 3));
  auto out = receive(handle);
  ASSERT_EQ(out.size(), 3u);
  for (int j = 0; j < 3; ++j) {
    EXPECT_EQ(out[j].status, model::append_status::stored);
    EXPECT_EQ(out[j].event.id, "r0-" + std::to_string(j));
  }
  EXPECT_EQ(stored_total(), 3);
  settle();
  EXPECT_EQ(ctx->counters->events_stored, 3u);
}

TEST_F(ingest_test, group_commit_answers_each_request_with_its_own_outcomes) {
  start();
  constexpr int requests = 20;
  probe->close_gate();
  std::vector<outcomes_handle> handles;
  for (int i = 0; i < requests; ++i) {
    auto events = request_events(i, 1 + i % 4);
    // Request 7 resends an id of request 3: a duplicate in the same commit.
    if (i == 7)
      events.push_back(request_events(3, 1).front());
    handles.push_back(send(std::move(events)));
  }
  // The first commit waits at the gate while the others queue behind it.
  std::this_thread::sleep_for(50ms);
  probe->open_gate();
  for (int i = 0; i < requests; ++i) {
    auto out = receive(handles[i]);
    auto expected = request_events(i, 1 + i % 4);
    ASSERT_EQ(out.size(), expected.size() + (i == 7 ? 1 : 0)) << "request " << i;
    for (std::size_t j = 0; j < expected.size(); ++j) {
      EXPECT_EQ(out[j].event.id, expected[j].id) << "request " << i;
      EXPECT_EQ(out[j].status, model::append_status::stored) << "request " << i;
    }
    if (i == 7) {
      EXPECT_EQ(out.back().status, model::append_status::duplicate);
      EXPECT_EQ(out.back().event.id, "r3-0");
    }
  }
  EXPECT_LT(probe->appends, requests);
  EXPECT_EQ(probe->appends, 2);
  settle();
  EXPECT_EQ(ctx->counters->events_deduplicated, 1u);
}

// Writes of several namespaces queued together: one commit per namespace,
// each into its own store, every request answered with its own outcomes, and
// the order within a namespace kept (a later duplicate is the duplicate).
TEST_F(ingest_test, queued_writes_commit_per_namespace_into_their_own_stores) {
  model::service_config config;
  config.api_keys = {{"acme", "ka"}, {"globex", "kg"}, {"default", "kd"}};
  ctx = make_context(config);
  start();
  probe->close_gate();
  const char* spaces[] = {"default", "acme", "globex", "acme", "default", "globex"};
  std::vector<outcomes_handle> handles;
  for (int i = 0; i < 6; ++i) {
    // The same ids in every namespace; the second write of each namespace
    // resends its first's id.
    auto events = request_events(i < 3 ? 0 : 1, 2);
    if (i >= 3)
      events.push_back(request_events(0, 1).front());
    handles.push_back(self->request(front, wait_limit, ingest_atom_v,
                                    model::trace_ref{"t" + std::to_string(i), spaces[i]},
                                    std::move(events)));
  }
  std::this_thread::sleep_for(50ms);
  probe->open_gate();
  for (int i = 0; i < 6; ++i) {
    auto out = receive(handles[i]);
    ASSERT_EQ(out.size(), i < 3 ? 2u : 3u) << i;
    EXPECT_EQ(out[0].status, model::append_status::stored) << i;
    if (i >= 3) {
      EXPECT_EQ(out[2].status, model::append_status::duplicate) << i;
    }
  }
  // The first commit (default) passed the gate alone; then one per namespace.
  EXPECT_EQ(probe->appends, 4);
  for (const char* ns : {"default", "acme", "globex"})
    EXPECT_EQ(storage::open_event_store(storage::namespace_options(dir.options(), ns))
                  ->list_events({})
                  .total,
              4)
        << ns;
}

TEST_F(ingest_test, commits_respect_the_batch_bound) {
  ingest_limits limits;
  limits.max_batch_events = 10;
  start(limits);
  probe->close_gate();
  std::vector<outcomes_handle> handles;
  for (int i = 0; i < 10; ++i)
    handles.push_back(send(request_events(i, 4)));
  std::this_thread::sleep_for(50ms);
  probe->open_gate();
  for (auto& h : handles)
    EXPECT_EQ(receive(h).size(), 4u);
  EXPECT_LE(probe->largest_batch, 10u);
  // One request first, then two requests (8 events) per commit.
  EXPECT_EQ(probe->appends, 6);
  EXPECT_EQ(stored_total(), 40);
}

TEST_F(ingest_test, rejects_when_the_queue_is_full) {
  ingest_limits limits;
  limits.max_queued_events = 5;
  start(limits);
  probe->close_gate();
  auto first = send(request_events(0, 1));  // taken into the first commit at once
  auto second = send(request_events(1, 3)); // queued: 3 of 5
  auto third = send(request_events(2, 3));  // 6 > 5: rejected
  auto err = receive_error(third);
  EXPECT_EQ(to_api_error(err).code, model::error_code::unavailable) << sys.render(err);
  EXPECT_EQ(ctx->counters->ingest_rejected, 1u);
  // Self-tracking events beyond the bound are dropped and counted.
  for (int i = 0; i < 3; ++i)
    caf::anon_send(
        front, track_atom_v, model::trace_ref{},
        make_event("track" + std::to_string(i), "api-self", "api_call", base_day));
  auto drained = self->request(front, wait_limit, drain_atom_v);
  probe->open_gate();
  EXPECT_EQ(receive(first).size(), 1u);
  EXPECT_EQ(receive(second).size(), 3u);
  drained.receive([](bool ok) { EXPECT_TRUE(ok); },
                  [&](caf::error& e) { ADD_FAILURE() << sys.render(e); });
  EXPECT_EQ(ctx->counters->tracking_dropped, 1u);
  EXPECT_EQ(stored_total(), 1 + 3 + 2);
}

// The queue bound adapts to the writer: what it commits in half a request timeout at
// its recent rate, never below the minimum nor above the maximum, and the maximum
// while no rate is known yet.
TEST(ingest_queue_bound, follows_the_commit_rate_within_the_limits) {
  ingest_limits limits; // 2,000 to 50,000 events
  ingest_state st;
  EXPECT_EQ(st.queue_bound(limits, 5000), 50'000u) << "no rate measured yet";
  st.commit_rate = 10'000; // events per second
  EXPECT_EQ(st.queue_bound(limits, 5000), 25'000u) << "10,000/s × 2.5 s";
  EXPECT_EQ(st.queue_bound(limits, 1000), 5'000u) << "10,000/s × 0.5 s";
  st.commit_rate = 100;
  EXPECT_EQ(st.queue_bound(limits, 5000), 2'000u) << "never below the minimum";
  st.commit_rate = 1e7;
  EXPECT_EQ(st.queue_bound(limits, 5000), 50'000u) << "never above the maximum";
  limits.min_queued_events = 10;
  limits.max_queued_events = 100;
  st.commit_rate = 30;
  EXPECT_EQ(st.queue_bound(limits, 2000), 30u);
}

TEST_F(ingest_test, a_slow_writer_lowers_the_queue_bound) {
  // With a static bound of 1,000 events, 6 queued events would be accepted. The writer
  // commits 10 events in at least a second (the gate holds it): at most 10 events/s,
  // so with a 1 s request timeout at most 5 events may wait.
  model::service_config config;
  config.request_timeout_ms = 1000;
  ctx = make_context(config);
  ingest_limits limits;
  limits.max_queued_events = 1000;
  limits.min_queued_events = 2;
  start(limits);
  probe->close_gate();
  auto slow = send(request_events(0, 10));
  std::this_thread::sleep_for(1s);
  probe->open_gate();
  EXPECT_EQ(receive(slow).size(), 10u);
  probe->close_gate();
  auto first = send(request_events(1, 1));  // taken into a commit at once
  auto second = send(request_events(2, 3)); // queued: always accepted into an empty queue
  auto third = send(request_events(3, 3));  // 6 > the bound of at most 5: rejected
  auto err = receive_error(third);
  EXPECT_EQ(to_api_error(err).code, model::error_code::unavailable) << sys.render(err);
  EXPECT_EQ(ctx->counters->ingest_rejected, 1u);
  probe->open_gate();
  EXPECT_EQ(receive(first).size(), 1u);
  EXPECT_EQ(receive(second).size(), 3u);
  EXPECT_EQ(stored_total(), 10 + 1 + 3);
}

TEST_F(ingest_test, tracked_events_are_stored_without_reply) {
  start();
  for (int i = 0; i < 3; ++i)
    caf::anon_send(
        front, track_atom_v, model::trace_ref{},
        make_event("self-" + std::to_string(i), "api-self", "api_call", base_day + i));
  auto drained = self->request(front, wait_limit, drain_atom_v);
  drained.receive([](bool ok) { EXPECT_TRUE(ok); },
                  [&](caf::error& e) { ADD_FAILURE() << sys.render(e); });
  auto store = storage::open_event_store(dir.options());
  EXPECT_EQ(store->summarize("api-self", {}).total, 3);
  // Nothing came back to the sender.
  EXPECT_TRUE(self->mailbox().empty());
}

TEST_F(ingest_test, drain_answers_after_the_commit) {
  start();
  probe->close_gate();
  auto write = send(request_events(0, 2));
  auto drained = self->request(front, wait_limit, drain_atom_v);
  std::this_thread::sleep_for(100ms);
  // Still held at the gate: drain must not have answered.
  EXPECT_TRUE(self->mailbox().empty());
  probe->open_gate();
  drained.receive(
      [&](bool ok) {
        EXPECT_TRUE(ok);
        EXPECT_EQ(probe->appended_events, 2);
      },
      [&](caf::error& e) { ADD_FAILURE() << sys.render(e); });
  EXPECT_EQ(receive(write).size(), 2u);
}

TEST_F(ingest_test, drain_when_idle_answers_at_once) {
  start();
  auto drained = self->request(front, wait_limit, drain_atom_v);
  drained.receive([](bool ok) { EXPECT_TRUE(ok); },
                  [&](caf::error& e) { ADD_FAILURE() << sys.render(e); });
  EXPECT_EQ(probe->appends, 0);
}

TEST_F(ingest_test, a_failed_commit_answers_every_waiting_request) {
  start();
  probe->fail_appends = true;
  probe->close_gate();
  std::vector<outcomes_handle> handles;
  for (int i = 0; i < 4; ++i)
    handles.push_back(send(request_events(i, 2)));
  std::this_thread::sleep_for(50ms);
  probe->open_gate();
  for (auto& h : handles) {
    auto err = receive_error(h);
    EXPECT_EQ(to_api_error(err).code, model::error_code::unavailable) << sys.render(err);
  }
  probe->fail_appends = false;
  auto later = send(request_events(9, 1));
  EXPECT_EQ(receive(later).size(), 1u);
  EXPECT_EQ(stored_total(), 1);
}

TEST_F(ingest_test, answers_ping) {
  start();
  auto ok = self->request(front, wait_limit, ping_atom_v);
  ok.receive([](bool b) { EXPECT_TRUE(b); },
             [&](caf::error& e) { ADD_FAILURE() << sys.render(e); });
}

// Concurrent writes that fail in one group commit: the storage error line
// names every request of that commit, and each request's error carries the
// cause for its own `request error` line.
TEST_F(ingest_test, a_failed_group_commit_names_every_request_in_it) {
  start();
  probe->close_gate();
  std::vector<outcomes_handle> handles;
  handles.push_back(send(request_events(0, 1), "first"));
  // The first commit waits at the gate while the others queue behind it.
  std::this_thread::sleep_for(50ms);
  std::vector<std::string> grouped;
  for (int i = 1; i <= 6; ++i) {
    grouped.push_back("req-" + std::to_string(i));
    handles.push_back(send(request_events(i, 1 + i % 3), grouped.back()));
  }
  std::this_thread::sleep_for(50ms);
  probe->fail_appends = true;
  probe->open_gate();
  for (auto& handle : handles) {
    auto api = to_api_error(receive_error(handle));
    EXPECT_EQ(api.code, model::error_code::unavailable);
    EXPECT_EQ(api.cause, "injected: disk busy");
  }
  settle();
  std::vector<std::vector<std::string>> named;
  for (auto taken = ctx->logs->take(); taken.records; taken = ctx->logs->take()) {
    for (const auto& line : *taken.records) {
      if (line.message != "storage error: commit failed")
        continue;
      std::vector<std::string> ids;
      for (const auto& [k, v] : line.fields) {
        if (k == "traceId")
          ids.push_back(std::get<std::string>(v));
        if (k == "traceIds")
          ids = std::get<std::vector<std::string>>(v);
      }
      named.push_back(ids);
    }
    ctx->logs->written(taken.attachment);
  }
  ASSERT_EQ(named.size(), 2u);
  EXPECT_EQ(named[0], std::vector<std::string>{"first"});
  EXPECT_EQ(named[1], grouped);
}

} // namespace
