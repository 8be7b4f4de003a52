#include "tests/actors/actor_fixture.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <sstream>

namespace {

using namespace um;
using namespace um::testing;
using model::log_level;

model::log_record record(std::string message, log_level level = log_level::info) {
  return model::log_record{level, base_day, std::move(message), {}};
}

TEST(log_sink, keeps_records_without_a_shipper_up_to_capacity) {
  log_sink sink{log_level::info, 10};
  for (int i = 0; i < 15; ++i)
    sink.emit(record("x"));
  EXPECT_EQ(sink.dropped(), 5u);
  auto taken = sink.take();
  ASSERT_TRUE(taken.records);
  EXPECT_EQ(taken.records->size(), 10u);
}

TEST(log_sink, discards_below_threshold_without_counting) {
  log_sink sink{log_level::warn, 10};
  EXPECT_FALSE(sink.enabled(log_level::info));
  EXPECT_TRUE(sink.enabled(log_level::warn));
  EXPECT_TRUE(sink.enabled(log_level::error));
  sink.emit(record("quiet", log_level::info));
  sink.log(log_level::debug, "quieter");
  EXPECT_EQ(sink.dropped(), 0u);
  sink.emit(record("loud", log_level::error));
  auto taken = sink.take();
  ASSERT_TRUE(taken.records);
  ASSERT_EQ(taken.records->size(), 1u);
  EXPECT_EQ(taken.records->front().message, "loud");
}

TEST(log_sink, a_replaced_shippers_batch_goes_to_the_next_one_first) {
  log_sink sink{log_level::info, 10};
  for (int i = 0; i < 4; ++i)
    sink.emit(record("taken " + std::to_string(i)));
  auto first = sink.take();
  ASSERT_TRUE(first.records);
  EXPECT_EQ(first.records->size(), 4u);
  sink.emit(record("queued after the take"));
  sink.attach({}); // the shipper that took four dies before writing them
  EXPECT_EQ(sink.dropped(), 0u);
  sink.written(first.attachment); // a late report from it changes nothing
  for (int i = 0; i < 5; ++i)
    sink.emit(record("fills the rest"));
  EXPECT_EQ(sink.dropped(), 0u); // 4 + 1 + 5 in flight: full, nothing lost
  sink.emit(record("one too many"));
  EXPECT_EQ(sink.dropped(), 1u);
  auto next = sink.take();
  ASSERT_TRUE(next.records);
  ASSERT_EQ(next.records->size(), 10u);
  EXPECT_EQ(next.records->at(0).message, "taken 0");
  EXPECT_EQ(next.records->at(3).message, "taken 3");
  EXPECT_EQ(next.records->at(4).message, "queued after the take");
  // Written: their places are free again.
  sink.written(next.attachment);
  sink.emit(record("fits again"));
  EXPECT_EQ(sink.dropped(), 1u);
}

class log_sink_with_shipper : public deterministic_actors {};

TEST_F(log_sink_with_shipper, drops_beyond_capacity_and_recovers) {
  auto sink = std::make_shared<log_sink>(log_level::info, 3);
  auto shipper_ctx = std::make_shared<service_context>(*ctx);
  shipper_ctx->logs = sink;
  auto shipper = sys.spawn(log_shipper, context_ptr{shipper_ctx});
  sink->attach(shipper);
  // Nothing runs until the scheduler does: three fit, two are dropped.
  for (int i = 0; i < 5; ++i)
    sink->emit(record("line " + std::to_string(i)));
  EXPECT_EQ(sink->dropped(), 2u);
  ::testing::internal::CaptureStdout();
  sched.run();
  auto out = ::testing::internal::GetCapturedStdout();
  std::istringstream lines{out};
  std::vector<std::string> messages;
  for (std::string line; std::getline(lines, line);)
    messages.push_back(nlohmann::json::parse(line).at("message"));
  EXPECT_EQ(messages, (std::vector<std::string>{"line 0", "line 1", "line 2"}));
  // Written lines free their places. The shipper comes back by itself
  // after its linger, without a new wake-up.
  sink->emit(record("again"));
  EXPECT_EQ(sink->dropped(), 2u);
  ::testing::internal::CaptureStdout();
  sched.run();
  sched.trigger_timeouts();
  sched.run();
  EXPECT_NE(::testing::internal::GetCapturedStdout().find("\"message\":\"again\""),
            std::string::npos);
  sink->attach({});
  anon_send_exit(shipper, caf::exit_reason::user_shutdown);
}

TEST_F(log_sink_with_shipper, records_wait_for_a_shipper_and_one_wakeup_ships_a_batch) {
  auto sink = std::make_shared<log_sink>(log_level::info, 100);
  auto shipper_ctx = std::make_shared<service_context>(*ctx);
  shipper_ctx->logs = sink;
  // Records emitted before any shipper is attached are kept.
  sink->emit(record("early"));
  auto shipper = sys.spawn(log_shipper, context_ptr{shipper_ctx});
  sink->attach(shipper);
  for (int i = 0; i < 20; ++i)
    sink->emit(record("line " + std::to_string(i)));
  ::testing::internal::CaptureStdout();
  // One message wakes the shipper for all 21 records.
  EXPECT_TRUE(sched.try_run_once());
  auto out = ::testing::internal::GetCapturedStdout();
  EXPECT_FALSE(sched.has_job());
  std::istringstream lines{out};
  std::vector<std::string> messages;
  for (std::string line; std::getline(lines, line);)
    messages.push_back(nlohmann::json::parse(line).at("message"));
  ASSERT_EQ(messages.size(), 21u);
  EXPECT_EQ(messages.front(), "early");
  EXPECT_EQ(messages.back(), "line 19");
  EXPECT_EQ(sink->dropped(), 0u);
  // The shipper is on duty: a new record sends no message, its linger
  // brings it back for it, and the next take, empty, sends it idle.
  sink->emit(record("while on duty"));
  EXPECT_FALSE(sched.has_job());
  ::testing::internal::CaptureStdout();
  EXPECT_EQ(sched.trigger_timeouts(), 1u);
  sched.run();
  EXPECT_NE(::testing::internal::GetCapturedStdout().find("while on duty"),
            std::string::npos);
  EXPECT_EQ(sched.trigger_timeouts(), 1u);
  sched.run(); // takes nothing: idle
  sink->emit(record("wakes it"));
  EXPECT_TRUE(sched.has_job());
  ::testing::internal::CaptureStdout();
  sched.run();
  EXPECT_NE(::testing::internal::GetCapturedStdout().find("wakes it"), std::string::npos);
  sink->attach({});
  anon_send_exit(shipper, caf::exit_reason::user_shutdown);
}

} // namespace
