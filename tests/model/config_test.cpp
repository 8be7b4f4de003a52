#include "model/config.hpp"

#include <gtest/gtest.h>

namespace {

using namespace um::model;

constexpr millis minute = 60'000;
constexpr millis hour = 3'600'000;
constexpr millis day = 86'400'000;

TEST(config, parses_durations) {
  EXPECT_EQ(try_parse_duration("45s"), 45'000);
  EXPECT_EQ(try_parse_duration("90m"), 90 * minute);
  EXPECT_EQ(try_parse_duration("12h"), 12 * hour);
  EXPECT_EQ(try_parse_duration("30d"), 30 * day);
  EXPECT_EQ(try_parse_duration("2w"), 14 * day);
  EXPECT_EQ(try_parse_duration("1s"), 1'000);
}

TEST(config, rejects_bad_durations) {
  for (const char* bad : {"", "d", "30", "0d", "-1d", "30x", "1.5h", " 1h", "1h ", "1H",
                          "h1", "1dd", "abc"})
    EXPECT_FALSE(try_parse_duration(bad)) << bad;
}

TEST(config, duration_is_bounded_to_a_century) {
  EXPECT_EQ(try_parse_duration("36500d"), 36'500 * day);
  EXPECT_FALSE(try_parse_duration("36501d"));
  EXPECT_FALSE(try_parse_duration("99999999999999999999s"));
  EXPECT_FALSE(try_parse_duration("9223372036854775807w"));
}

TEST(config, parses_log_levels) {
  EXPECT_EQ(try_parse_log_level("debug"), log_level::debug);
  EXPECT_EQ(try_parse_log_level("trace"), log_level::debug);
  EXPECT_EQ(try_parse_log_level("info"), log_level::info);
  EXPECT_EQ(try_parse_log_level("warn"), log_level::warn);
  EXPECT_EQ(try_parse_log_level("warning"), log_level::warn);
  EXPECT_EQ(try_parse_log_level("error"), log_level::error);
  EXPECT_FALSE(try_parse_log_level("INFO"));
  EXPECT_FALSE(try_parse_log_level("verbose"));
  EXPECT_FALSE(try_parse_log_level(""));
  for (auto level :
       {log_level::debug, log_level::info, log_level::warn, log_level::error})
    EXPECT_EQ(try_parse_log_level(log_level_name(level)), level);
  EXPECT_LT(log_level::debug, log_level::info);
  EXPECT_LT(log_level::warn, log_level::error);
}

TEST(config, defaults_are_valid) {
  EXPECT_EQ(validate(service_config{}), "");
}

TEST(config, validates_port) {
  service_config c;
  c.port = 0;
  EXPECT_EQ(validate(c), "--port must be between 1 and 65535, got 0");
  c.port = 65536;
  EXPECT_EQ(validate(c), "--port must be between 1 and 65535, got 65536");
  c.port = -3;
  EXPECT_EQ(validate(c), "--port must be between 1 and 65535, got -3");
  c.port = 65535;
  EXPECT_EQ(validate(c), "");
  c.port = 1;
  EXPECT_EQ(validate(c), "");
}

TEST(config, validates_log_level) {
  service_config c;
  c.log_level = "verbose";
  EXPECT_EQ(validate(c),
            "--log-level must be one of debug, info, warn, error, got 'verbose'");
  c.log_level = "warning";
  EXPECT_EQ(validate(c), "");
}

TEST(config, validates_request_timeout) {
  service_config c;
  c.request_timeout_ms = 0;
  EXPECT_EQ(validate(c), "--request-timeout-ms must be between 1 and 600000");
  c.request_timeout_ms = 600'001;
  EXPECT_EQ(validate(c), "--request-timeout-ms must be between 1 and 600000");
  c.request_timeout_ms = 600'000;
  EXPECT_EQ(validate(c), "");
}

TEST(config, validates_retention) {
  service_config c;
  c.retention = "30x";
  EXPECT_EQ(validate(c),
            "--retention must be a duration such as 30d, 12h or 90m, got '30x'");
  c.retention = "0d";
  EXPECT_EQ(validate(c),
            "--retention must be a duration such as 30d, 12h or 90m, got '0d'");
  c.retention = "30d";
  EXPECT_EQ(validate(c), "");
}

TEST(config, validates_the_other_fields) {
  {
    service_config c;
    c.host = "";
    EXPECT_EQ(validate(c), "--host must not be empty");
  }
  {
    service_config c;
    c.data_dir = "";
    EXPECT_EQ(validate(c), "--data-dir must not be empty");
  }
  {
    service_config c;
    c.database_url = "mysql://db";
    EXPECT_EQ(validate(c),
              "--database-url must start with rocksdb:, sqlite:, postgres:// or "
              "postgresql://");
    for (const char* ok : {"sqlite:/tmp/x.db", "postgres://h/db", "postgresql://h/db"}) {
      c.database_url = ok;
      EXPECT_EQ(validate(c), "") << ok;
    }
  }
  {
    service_config c;
    c.api_keys = {{"default", "k1"}, {"default", ""}};
    EXPECT_EQ(validate(c), "--api-key must not be empty");
  }
  {
    service_config c;
    c.api_keys = {{"acme", ""}};
    EXPECT_EQ(validate(c), "--api-key must not be empty");
  }
  for (const char* bad : {"", "Acme", "-acme", "_x", "a b", "acme!", "x/y",
                          "a0123456789012345678901234567890123456789"}) {
    service_config c;
    c.api_keys = {{bad, "k1"}};
    EXPECT_NE(validate(c).find("--api-key namespace '"), std::string::npos) << bad;
  }
  for (const char* good : {"acme", "a", "0", "acme-prod_2", "default",
                           "a012345678901234567890123456789012345678"}) {
    service_config c;
    c.api_keys = {{good, "k1"}};
    EXPECT_EQ(validate(c), "") << good;
  }
  {
    // One key cannot open two namespaces; twice in one is harmless.
    service_config c;
    c.api_keys = {{"acme", "k1"}, {"globex", "k2"}, {"acme", "k1"}};
    EXPECT_EQ(validate(c), "");
    c.api_keys.push_back({"globex", "k1"});
    EXPECT_EQ(validate(c), "--api-key: one key is given for namespaces 'acme' and "
                           "'globex'; a key opens one namespace");
  }
  {
    service_config c;
    c.synchronous = "off";
    EXPECT_EQ(validate(c), "--synchronous must be full or normal");
    c.synchronous = "normal";
    EXPECT_EQ(validate(c), "");
  }
  {
    service_config c;
    c.io_threads = 0;
    EXPECT_EQ(validate(c), "--io-threads must be between 1 and 64");
    c.io_threads = 65;
    EXPECT_EQ(validate(c), "--io-threads must be between 1 and 64");
    c.io_threads = 64;
    EXPECT_EQ(validate(c), "");
  }
}

TEST(config, reports_the_first_bad_value) {
  service_config c;
  c.port = 0;
  c.log_level = "loud";
  EXPECT_EQ(validate(c), "--port must be between 1 and 65535, got 0");
}

TEST(config, service_identity) {
  EXPECT_EQ(service_name, "ioanyt-delivery-standard");
}

// The unit suites link model/version.cpp compiled with UM_PROBE_VERSION
// (tests/CMakeLists.txt): the version is whatever the build compiled in.
TEST(config, service_version_is_the_one_the_build_compiled_in) {
  EXPECT_EQ(service_version, UM_PROBE_VERSION);
  EXPECT_NE(service_version, "1.0.0");
}

} // namespace
