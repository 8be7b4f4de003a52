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

TEST(log_sink, drops_and_counts_without_a_shipper) {
  log_sink sink{log_level::info, 10};
  for (int i = 0; i < 5; ++i)
    sink.emit(record("x"));
  EXPECT_EQ(sink.dropped(), 5u);
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
  EXPECT_EQ(sink.dropped(), 1u); // no shipper
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
  // Written lines free their places.
  sink->emit(record("again"));
  EXPECT_EQ(sink->dropped(), 2u);
  ::testing::internal::CaptureStdout();
  sched.run();
  EXPECT_NE(::testing::internal::GetCapturedStdout().find("\"message\":\"again\""),
            std::string::npos);
  sink->attach({});
  anon_send_exit(shipper, caf::exit_reason::user_shutdown);
}

} // namespace
