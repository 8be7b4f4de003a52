// main() of every GoogleTest binary of the suite: GoogleTest's own, plus the rule
// for skipped tests that tests/lib/skip-policy.mjs applies to the Node suites.
//
// Every skipped test is listed with its reason. With CI=true (what CI sets) a
// GTEST_SKIP() fails the binary unless its message starts with "cannot run in CI: "
// (the test says why the CI machine cannot run it). ctest marks a test skipped only
// when the output holds "usage-metrics-test: skipped", which this main prints for an
// accepted skip (its SKIP_REGULAR_EXPRESSION, set in tests/CMakeLists.txt), so a
// refused skip shows as a failure.

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>

namespace {

constexpr const char* ci_cannot_run = "cannot run in CI: ";

/// The message GTEST_SKIP() was given (its first skipped part).
std::string skip_reason(const ::testing::TestResult& result) {
  for (int i = 0; i < result.total_part_count(); ++i) {
    const auto& part = result.GetTestPartResult(i);
    if (part.skipped())
      return part.message() ? part.message() : "";
  }
  return "";
}

} // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  int status = RUN_ALL_TESTS();
  const char* ci_env = std::getenv("CI");
  bool ci = ci_env != nullptr && std::strcmp(ci_env, "true") == 0;
  const auto& unit = *::testing::UnitTest::GetInstance();
  int refused = 0;
  for (int s = 0; s < unit.total_test_suite_count(); ++s) {
    const auto& suite = *unit.GetTestSuite(s);
    for (int t = 0; t < suite.total_test_count(); ++t) {
      const auto& info = *suite.GetTestInfo(t);
      if (!info.should_run() || !info.result()->Skipped())
        continue;
      std::string name = std::string{suite.name()} + "." + info.name();
      std::string why = skip_reason(*info.result());
      if (ci && why.rfind(ci_cannot_run, 0) != 0) {
        std::cout << "FAIL: skipped under CI=true without saying why CI cannot run it: "
                  << name << ": " << why << "\n";
        ++refused;
      } else {
        std::cout << "usage-metrics-test: skipped: " << name << ": " << why << "\n";
      }
    }
  }
  return refused > 0 ? 1 : status;
}
