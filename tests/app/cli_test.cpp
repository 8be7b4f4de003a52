// The command line as README.md's table documents it: every flag, its environment
// variable, its default, and the flag winning over the variable; METERS_FILE loads
// the meters as --meters does.

#include "app/cli.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace {

using um::app::parse_command_line;
using um::app::parse_outcome;
using um::model::service_config;

const std::vector<std::string> service_variables = {
    "HOST",        "PORT",        "DATA_DIR",        "DATABASE_URL",
    "API_KEYS",    "LOG_LEVEL",   "ENVIRONMENT",     "REQUEST_TIMEOUT_MS",
    "RETENTION",   "SYNCHRONOUS", "FAULT_INJECTION", "CORS_ORIGIN",
    "METERS_FILE", "IO_THREADS",  "PORTAL_SECRET"};

/// Clears the service's variables for the test (the shell running it may set some)
/// and puts back what was there.
class cli_test : public ::testing::Test {
protected:
  void SetUp() override {
    for (const auto& name : service_variables) {
      if (const char* v = std::getenv(name.c_str()))
        saved_[name] = v;
      ::unsetenv(name.c_str());
    }
  }
  void TearDown() override {
    for (const auto& name : service_variables)
      ::unsetenv(name.c_str());
    for (const auto& [name, value] : saved_)
      ::setenv(name.c_str(), value.c_str(), 1);
  }

  static parse_outcome parse(std::vector<std::string> args,
                             std::map<std::string, std::string> env = {}) {
    for (const auto& [name, value] : env)
      ::setenv(name.c_str(), value.c_str(), 1);
    args.insert(args.begin(), "usage-metrics");
    std::vector<const char*> argv;
    for (const auto& a : args)
      argv.push_back(a.c_str());
    auto out = parse_command_line(static_cast<int>(argv.size()), argv.data());
    for (const auto& [name, value] : env)
      ::unsetenv(name.c_str());
    return out;
  }

  static service_config config_of(std::vector<std::string> args,
                                  std::map<std::string, std::string> env = {}) {
    auto out = parse(std::move(args), std::move(env));
    EXPECT_TRUE(out.cmd.has_value()) << "exit " << out.exit_code << ": " << out.output;
    return out.cmd ? out.cmd->config : service_config{};
  }

private:
  std::map<std::string, std::string> saved_;
};

/// One row of README.md's configuration table: the flag, the variable, two valid
/// values (one for the variable, another for the flag) and how to read the setting.
struct option_row {
  std::string flag;
  std::string variable;
  std::string env_value;
  std::string flag_value;
  std::function<std::string(const service_config&)> read;
};

// Keys as `ns:key`.
std::string join(const std::vector<um::model::api_key>& keys) {
  std::string out;
  for (const auto& key : keys)
    out += (out.empty() ? "" : "|") + key.ns + ":" + key.secret;
  return out;
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v)
    out += (out.empty() ? "" : "|") + s;
  return out;
}

const std::vector<option_row>& rows() {
  static const std::vector<option_row> r = {
      {"--host", "HOST", "10.1.2.3", "127.0.0.1", [](auto& c) { return c.host; }},
      {"--port", "PORT", "4001", "4002", [](auto& c) { return std::to_string(c.port); }},
      {"--data-dir", "DATA_DIR", "/tmp/from-env", "/tmp/from-flag",
       [](auto& c) { return c.data_dir; }},
      {"--database-url", "DATABASE_URL", "postgresql://env@h/db", "sqlite:/tmp/flag.db",
       [](auto& c) { return c.database_url; }},
      {"--log-level", "LOG_LEVEL", "warn", "debug", [](auto& c) { return c.log_level; }},
      {"--environment", "ENVIRONMENT", "staging", "production",
       [](auto& c) { return c.environment; }},
      {"--request-timeout-ms", "REQUEST_TIMEOUT_MS", "1234", "4321",
       [](auto& c) { return std::to_string(c.request_timeout_ms); }},
      {"--retention", "RETENTION", "30d", "12h", [](auto& c) { return c.retention; }},
      {"--synchronous", "SYNCHRONOUS", "normal", "full",
       [](auto& c) { return c.synchronous; }},
      {"--cors-origin", "CORS_ORIGIN", "https://env.example", "https://flag.example",
       [](auto& c) { return c.cors_origin; }},
      {"--io-threads", "IO_THREADS", "3", "5",
       [](auto& c) { return std::to_string(c.io_threads); }},
      {"--api-key", "API_KEYS", "acme:k-env", "globex:k-flag",
       [](auto& c) { return join(c.api_keys); }},
      {"--portal-secret", "PORTAL_SECRET", std::string(32, 'e'), std::string(40, 'f'),
       [](auto& c) { return c.portal_secret; }},
  };
  return r;
}

TEST_F(cli_test, defaults_as_documented) {
  auto c = config_of({});
  EXPECT_EQ(c.host, "0.0.0.0");
  EXPECT_EQ(c.port, 3000);
  EXPECT_EQ(c.data_dir, "./data");
  EXPECT_EQ(c.database_url, "");
  EXPECT_TRUE(c.api_keys.empty());
  EXPECT_EQ(c.log_level, "info");
  EXPECT_EQ(c.environment, "development");
  EXPECT_EQ(c.request_timeout_ms, 5000);
  EXPECT_EQ(c.retention, "");
  EXPECT_EQ(c.synchronous, "full");
  EXPECT_FALSE(c.fault_injection);
  EXPECT_EQ(c.cors_origin, "*");
  EXPECT_EQ(c.meters_file, "");
  EXPECT_EQ(c.io_threads, 2);
  EXPECT_EQ(c.portal_secret, "");
}

TEST_F(cli_test, a_short_portal_secret_exits_2) {
  auto out = parse({"--portal-secret", std::string(31, 's')});
  EXPECT_EQ(out.exit_code, 2);
  EXPECT_EQ(out.output, "--portal-secret must be at least 32 characters");
}

TEST_F(cli_test, every_variable_sets_its_option) {
  for (const auto& row : rows()) {
    auto c = config_of({}, {{row.variable, row.env_value}});
    EXPECT_EQ(row.read(c), row.env_value) << row.variable;
  }
}

TEST_F(cli_test, every_flag_sets_its_option) {
  for (const auto& row : rows()) {
    auto c = config_of({row.flag, row.flag_value});
    EXPECT_EQ(row.read(c), row.flag_value) << row.flag;
  }
}

TEST_F(cli_test, a_flag_wins_over_its_variable) {
  for (const auto& row : rows()) {
    auto c = config_of({row.flag, row.flag_value}, {{row.variable, row.env_value}});
    EXPECT_EQ(row.read(c), row.flag_value) << row.flag << " over " << row.variable;
  }
}

TEST_F(cli_test, a_variable_sets_only_its_own_option) {
  auto defaults = config_of({});
  for (const auto& row : rows()) {
    auto c = config_of({}, {{row.variable, row.env_value}});
    for (const auto& other : rows())
      if (other.variable != row.variable)
        EXPECT_EQ(other.read(c), other.read(defaults))
            << row.variable << " changed " << other.flag;
  }
}

TEST_F(cli_test, api_keys_repeat_as_flags_and_separate_by_commas_in_the_variable) {
  EXPECT_EQ(join(config_of({"--api-key", "k1", "--api-key", "k2"}).api_keys),
            "default:k1|default:k2");
  EXPECT_EQ(join(config_of({}, {{"API_KEYS", "k1,k2,k3"}}).api_keys),
            "default:k1|default:k2|default:k3");
}

TEST_F(cli_test, api_keys_name_their_namespace_before_the_first_colon) {
  EXPECT_EQ(join(config_of({"--api-key", "acme:k1", "--api-key", "k2"}).api_keys),
            "acme:k1|default:k2");
  EXPECT_EQ(
      join(config_of({}, {{"API_KEYS", "acme:k1, globex:k2 ,default:a:b"}}).api_keys),
      "acme:k1|globex:k2|default:a:b");
}

TEST_F(cli_test, fault_injection_from_the_flag_or_the_variable) {
  EXPECT_TRUE(config_of({"--fault-injection"}).fault_injection);
  EXPECT_TRUE(config_of({}, {{"FAULT_INJECTION", "true"}}).fault_injection);
  EXPECT_TRUE(config_of({}, {{"FAULT_INJECTION", "1"}}).fault_injection);
  EXPECT_FALSE(config_of({}, {{"FAULT_INJECTION", "false"}}).fault_injection);
}

TEST_F(cli_test, a_bad_variable_exits_2_with_one_line_naming_it) {
  for (const auto& [name, value] :
       std::vector<std::pair<std::string, std::string>>{{"PORT", "abc"},
                                                        {"PORT", "70000"},
                                                        {"LOG_LEVEL", "loud"},
                                                        {"REQUEST_TIMEOUT_MS", "0"},
                                                        {"RETENTION", "forever"},
                                                        {"SYNCHRONOUS", "sometimes"},
                                                        {"IO_THREADS", "0"},
                                                        {"DATABASE_URL", "mysql://x"}}) {
    auto out = parse({}, {{name, value}});
    EXPECT_FALSE(out.cmd.has_value()) << name << "=" << value;
    EXPECT_EQ(out.exit_code, 2) << name << "=" << value;
    EXPECT_EQ(out.output.find('\n'), std::string::npos) << out.output;
    EXPECT_FALSE(out.output.empty()) << name << "=" << value;
  }
}

class meters_file_test : public cli_test {
protected:
  void SetUp() override {
    cli_test::SetUp();
    std::string pattern =
        (std::filesystem::temp_directory_path() / "um-cli-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    std::filesystem::remove_all(dir_);
    cli_test::TearDown();
  }
  std::string write(const std::string& name, const std::string& text) {
    auto path = (dir_ / name).string();
    std::ofstream{path} << text;
    return path;
  }
  std::filesystem::path dir_;
};

const char* two_meters = R"(meters:
  - slug: tokens_total
    eventType: prompt
    aggregation: SUM
    valueProperty: $.tokens
  - slug: prompts
    eventType: prompt
    aggregation: COUNT
)";

TEST_F(meters_file_test, meters_file_loads_the_meters_as_the_flag_does) {
  auto file = write("meters.yaml", two_meters);
  for (auto out : {parse({"--meters", file}), parse({}, {{"METERS_FILE", file}})}) {
    ASSERT_TRUE(out.cmd.has_value()) << out.output;
    EXPECT_EQ(out.cmd->config.meters_file, file);
    ASSERT_EQ(out.cmd->meters.size(), 2u);
    EXPECT_EQ(out.cmd->meters[0].meter.slug, "tokens_total");
    EXPECT_EQ(out.cmd->meters[1].meter.slug, "prompts");
    EXPECT_EQ(out.cmd->meters[0].ns, "default");
  }
}

TEST_F(meters_file_test, the_meters_flag_wins_over_meters_file) {
  auto from_env = write("env.yaml", two_meters);
  auto from_flag = write("flag.yaml", "meters:\n  - slug: only_one\n    eventType: t\n"
                                      "    aggregation: COUNT\n");
  auto out = parse({"--meters", from_flag}, {{"METERS_FILE", from_env}});
  ASSERT_TRUE(out.cmd.has_value()) << out.output;
  ASSERT_EQ(out.cmd->meters.size(), 1u);
  EXPECT_EQ(out.cmd->meters[0].meter.slug, "only_one");
}

TEST_F(meters_file_test, a_meter_names_its_namespace_which_a_key_must_serve) {
  auto file =
      write("ns.yaml", "meters:\n  - slug: calls\n    eventType: t\n"
                       "    aggregation: COUNT\n    namespace: acme\n"
                       "  - slug: calls\n    eventType: t\n    aggregation: COUNT\n");
  auto out = parse({"--meters", file, "--api-key", "acme:k1", "--api-key", "k2"});
  ASSERT_TRUE(out.cmd.has_value()) << out.output;
  ASSERT_EQ(out.cmd->meters.size(), 2u);
  EXPECT_EQ(out.cmd->meters[0].ns, "acme");
  EXPECT_EQ(out.cmd->meters[1].ns, "default");

  // Without a key of acme (and with none at all) the file cannot be applied.
  for (auto refused :
       {parse({"--meters", file, "--api-key", "k2"}), parse({"--meters", file})}) {
    EXPECT_FALSE(refused.cmd.has_value());
    EXPECT_EQ(refused.exit_code, 2);
    EXPECT_NE(refused.output.find("meters[0]: namespace 'acme' is not served"),
              std::string::npos)
        << refused.output;
  }
  auto bad = write("badns.yaml", "meters:\n  - slug: calls\n    eventType: t\n"
                                 "    aggregation: COUNT\n    namespace: Acme\n");
  auto out_bad = parse({"--meters", bad, "--api-key", "acme:k1"});
  EXPECT_EQ(out_bad.exit_code, 2);
  EXPECT_NE(out_bad.output.find("meters[0]: namespace must be"), std::string::npos)
      << out_bad.output;
}

TEST_F(meters_file_test, a_bad_or_missing_meters_file_exits_2) {
  auto bad = write("bad.yaml", "meters:\n  - slug: Not A Slug\n    aggregation: SUM\n");
  for (const auto& file : {bad, (dir_ / "missing.yaml").string()}) {
    auto out = parse({}, {{"METERS_FILE", file}});
    EXPECT_FALSE(out.cmd.has_value()) << file;
    EXPECT_EQ(out.exit_code, 2) << file;
    EXPECT_EQ(out.output.find('\n'), std::string::npos) << out.output;
  }
}

} // namespace
