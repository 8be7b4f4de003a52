// Everything the route table derives comes from the rows, never from a
// path's prefix: a test table with rows that contradict the service's
// prefixes (a v1-style route under /api/v1, a PATCH, an open untracked write)
// gets its registrations, CORS, error style, tracking and body admission
// from them.

#include "http/route_table.hpp"
#include "http/routes.hpp"

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

namespace {

using namespace um::http;
using um::model::error_code;

void test_handler(const std::shared_ptr<exchange>&, backend&) {}

// Rows no prefix rule would give them.
route_table test_table() {
  return route_table{
      {
          {"PATCH", "/api/v1/widgets/:id", access::open, error_style::v1,
           tracking::untracked, on_timeout::write_may_land, test_handler},
          {"GET", "/api/v1/widgets/:id", access::api_key, error_style::problem,
           tracking::tracked, on_timeout::failed, test_handler},
          {"POST", "/plain/:thing", access::api_key, error_style::problem,
           tracking::untracked, on_timeout::failed, test_handler,
           availability::with_fault_injection},
      },
      {{"/api/v1", error_style::problem}}};
}

request_head head(std::string method, std::string target,
                  std::string authorization = {}) {
  request_head h;
  h.method = std::move(method);
  h.target = std::move(target);
  h.authorization = std::move(authorization);
  h.has_body = true;
  return h;
}

TEST(route_table, a_row_is_found_by_method_and_path_and_head_finds_its_get) {
  auto t = test_table();
  EXPECT_EQ(t.find("PATCH", "/api/v1/widgets/7?x=1"), &t.rows()[0]);
  EXPECT_EQ(t.find("GET", "/api/v1/widgets/7"), &t.rows()[1]);
  EXPECT_EQ(t.find("HEAD", "/api/v1/widgets/7"), &t.rows()[1]);
  EXPECT_EQ(t.find("DELETE", "/api/v1/widgets/7"), nullptr);
  EXPECT_EQ(t.find("PATCH", "/api/v1/widgets/7/more"), nullptr);
}

TEST(route_table, registrations_are_the_rows_and_a_head_twin_for_each_get) {
  auto t = test_table();
  auto regs = t.registrations();
  ASSERT_EQ(regs.size(), 4u);
  EXPECT_EQ(regs[0].method, "PATCH");
  EXPECT_EQ(regs[1].method, "GET");
  EXPECT_EQ(regs[2].method, "HEAD");
  EXPECT_EQ(regs[2].row, regs[1].row);
  EXPECT_EQ(regs[3].method, "POST");
  EXPECT_EQ(regs[3].index, 2u);
}

TEST(route_table, drill_rows_are_served_only_with_fault_injection) {
  auto t = test_table();
  EXPECT_EQ(t.serving(true).rows().size(), 3u);
  auto plain = t.serving(false);
  ASSERT_EQ(plain.rows().size(), 2u);
  EXPECT_EQ(plain.find("POST", "/plain/x"), nullptr);
  EXPECT_EQ(plain.admit_body(head("POST", "/plain/x"), {})->code, error_code::not_found);
}

TEST(route_table, cors_preflight_allows_the_methods_of_the_rows_on_the_path) {
  auto t = test_table();
  EXPECT_EQ(t.preflight_methods("/api/v1/widgets/7"), "GET,POST,PATCH,OPTIONS");
  EXPECT_EQ(t.preflight_methods("/plain/x"), "GET,POST,OPTIONS");
  EXPECT_EQ(t.preflight_methods("/nothing/here"), "GET,POST,OPTIONS");
}

TEST(route_table, the_error_style_is_the_rows_not_the_prefixes) {
  auto t = test_table();
  // Under /api/v1, yet the row says v1.
  EXPECT_EQ(t.errors_for("PATCH", "/api/v1/widgets/7"), error_style::v1);
  EXPECT_EQ(t.errors_for("GET", "/api/v1/widgets/7"), error_style::problem);
  // Outside /api/v1, yet the row says problem.
  EXPECT_EQ(t.errors_for("POST", "/plain/x"), error_style::problem);
  // Another method on a row's path: the path's first row.
  EXPECT_EQ(t.errors_for("DELETE", "/plain/x"), error_style::problem);
  // No row at all: the API mounted at the prefix, else v1.
  EXPECT_EQ(t.errors_for("GET", "/api/v1/nothing"), error_style::problem);
  EXPECT_EQ(t.errors_for("GET", "/nothing"), error_style::v1);
  EXPECT_EQ(t.errors_for("-", "-"), error_style::v1);
}

TEST(route_table, tracking_is_the_rows_and_a_head_is_always_tracked) {
  auto t = test_table();
  EXPECT_FALSE(t.tracks("PATCH", "/api/v1/widgets/7"));
  EXPECT_TRUE(t.tracks("GET", "/api/v1/widgets/7"));
  EXPECT_TRUE(t.tracks("HEAD", "/api/v1/widgets/7"));
  EXPECT_FALSE(t.tracks("POST", "/plain/x"));
  EXPECT_TRUE(t.tracks("GET", "/nothing"));
}

TEST(route_table, a_body_is_admitted_as_the_row_says) {
  auto t = test_table();
  std::vector<um::model::api_key> keys{{"default", "k1"}};
  EXPECT_FALSE(t.admit_body(head("PATCH", "/api/v1/widgets/7"), keys)); // open row
  EXPECT_EQ(t.admit_body(head("POST", "/plain/x"), keys)->code, error_code::unauthorized);
  EXPECT_FALSE(t.admit_body(head("POST", "/plain/x", "Bearer k1"), keys));
  EXPECT_FALSE(t.admit_body(head("POST", "/plain/x"), {})); // no keys configured
  EXPECT_FALSE(t.admit_body(head("OPTIONS", "/anything"), keys));
  auto none = t.admit_body(head("POST", "/nothing?x=1"), keys);
  ASSERT_TRUE(none);
  EXPECT_EQ(none->code, error_code::not_found);
  EXPECT_EQ(none->message, "Route POST /nothing not found");
}

// A portal token opens portal rows only: never a key row, even when no key is
// configured (when every key row is open to anyone without a credential).
TEST(route_table, a_portal_token_opens_portal_rows_only) {
  const std::vector<um::model::api_key> keys{{"default", "k1"}};
  const std::string token = "Bearer om_portal_e30.c2ln";
  for (const auto& configured : {keys, std::vector<um::model::api_key>{}}) {
    EXPECT_FALSE(key_accepted(access::api_key, token, "", configured));
    EXPECT_FALSE(key_accepted(access::api_key, "", "om_portal_e30.c2ln", configured));
    EXPECT_TRUE(key_accepted(access::portal_token, token, "", configured));
    EXPECT_TRUE(key_accepted(access::open, token, "", configured));
    // An API key, or nothing, is no portal token.
    EXPECT_FALSE(key_accepted(access::portal_token, "Bearer k1", "", configured));
    EXPECT_FALSE(
        key_accepted(access::portal_token, "", "om_portal_e30.c2ln", configured));
    EXPECT_FALSE(key_accepted(access::portal_token, "", "", configured));
  }
  EXPECT_TRUE(key_accepted(access::api_key, "Bearer k1", "", keys));
  EXPECT_TRUE(key_accepted(access::api_key, "", "", {}));
  EXPECT_EQ(std::string{unauthorized_message_for(access::portal_token)},
            portal_unauthorized_message);
}

// A key admits its own namespace; open routes and a service without keys the
// default one.
TEST(route_table, a_key_admits_the_namespace_it_belongs_to) {
  const std::vector<um::model::api_key> keys{{"acme", "ka"}, {"default", "kd"}};
  EXPECT_EQ(admitted_namespace(access::api_key, "Bearer ka", "", keys), "acme");
  EXPECT_EQ(admitted_namespace(access::api_key, "", "ka", keys), "acme");
  EXPECT_EQ(admitted_namespace(access::api_key, "Bearer kd", "", keys), "default");
  EXPECT_EQ(admitted_namespace(access::api_key, "Bearer acme:ka", "", keys),
            std::nullopt);
  EXPECT_EQ(admitted_namespace(access::api_key, "", "", keys), std::nullopt);
  EXPECT_EQ(admitted_namespace(access::api_key, "", "", {}), "default");
  EXPECT_EQ(admitted_namespace(access::open, "Bearer ka", "", keys), "default");
  EXPECT_EQ(std::string{unauthorized_message_for(access::api_key)}, unauthorized_message);
}

TEST(route_table, metric_labels_and_the_listing_come_from_the_rows) {
  auto t = test_table();
  EXPECT_EQ(route_table::metric_label(t.rows()[0]), "PATCH /api/v1/widgets/:id");
  auto listing = nlohmann::json::parse(t.listing());
  ASSERT_EQ(listing["routes"].size(), 3u);
  EXPECT_EQ(listing["routes"][0], (nlohmann::json{{"method", "PATCH"},
                                                  {"path", "/api/v1/widgets/:id"},
                                                  {"auth", "none"},
                                                  {"errors", "v1"},
                                                  {"tracked", false},
                                                  {"writeOutcomeUnknownOnTimeout", true},
                                                  {"head", false},
                                                  {"served", "always"}}));
  EXPECT_EQ(listing["routes"][1]["head"], true);
  EXPECT_EQ(listing["routes"][2]["served"], "with --fault-injection");
  EXPECT_EQ(listing["mounts"][0]["prefix"], "/api/v1");
  EXPECT_EQ(listing["mounts"][0]["errors"], "problem");
}

// The service's own table, as the contract and docs/API.md describe it.
TEST(service_routes, match_the_contract) {
  const auto& t = service_routes();
  for (const auto& row : t.rows())
    EXPECT_NE(row.handler, nullptr) << row.method << " " << row.path;
  EXPECT_FALSE(t.tracks("GET", "/health"));
  EXPECT_FALSE(t.tracks("GET", "/ready"));
  EXPECT_TRUE(t.tracks("HEAD", "/health"));
  EXPECT_TRUE(t.tracks("GET", "/v1/events"));
  EXPECT_EQ(t.find("GET", "/health")->auth, access::open);
  EXPECT_EQ(t.find("GET", "/docs")->auth, access::open);
  EXPECT_EQ(t.find("GET", "/info")->auth, access::api_key);
  EXPECT_EQ(t.find("POST", "/v1/events")->timeout, on_timeout::write_may_land);
  EXPECT_EQ(t.find("POST", "/api/v1/events")->timeout, on_timeout::write_may_land);
  EXPECT_EQ(t.find("GET", "/v1/events")->timeout, on_timeout::failed);
  EXPECT_EQ(t.errors_for("GET", "/api/v1/meters"), error_style::problem);
  EXPECT_EQ(t.errors_for("GET", "/api/v1/nope"), error_style::problem);
  EXPECT_EQ(t.errors_for("GET", "/v1/nope"), error_style::v1);
  EXPECT_EQ(t.preflight_methods("/api/v1/meters/m1"), "GET,POST,PUT,DELETE,OPTIONS");
  EXPECT_EQ(t.preflight_methods("/api/v1/meters"), "GET,POST,OPTIONS");
  EXPECT_EQ(t.preflight_methods("/v1/events"), "GET,POST,OPTIONS");
  EXPECT_EQ(t.serving(false).find("POST", "/admin/faults/ingest/crash"), nullptr);
  EXPECT_NE(t.serving(true).find("POST", "/admin/faults/ingest/crash"), nullptr);
}

} // namespace
