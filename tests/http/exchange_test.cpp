// One request, one answer: what an exchange writes follows its terms (its
// route's row), whatever its path.

#include "http/exchange.hpp"
#include "tests/http/recording_transport.hpp"

#include <gtest/gtest.h>

namespace {

using namespace um;
using namespace um::http;
using um::testing::fake_request;
using um::testing::make_exchange;

struct counting_observer : exchange_observer {
  void server_error(const exchange&, int status, const model::api_error&) override {
    errors.push_back(status);
  }
  void answered(const exchange&, int status) override { statuses.push_back(status); }
  std::vector<int> errors;
  std::vector<int> statuses;
};

TEST(exchange, answers_once) {
  counting_observer books;
  auto [ex, answer] = make_exchange({}, {}, &books);
  ex->respond(200, nlohmann::ordered_json{{"a", 1}});
  ex->fail({model::error_code::timeout, "late"});
  ex->text(201, "x", "text/plain");
  auto a = answer->wait();
  EXPECT_EQ(a.writes, 1);
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(a.body, R"({"a":1})");
  EXPECT_EQ(a.content_type, "application/json; charset=utf-8");
  EXPECT_EQ(books.statuses, std::vector<int>{200});
  EXPECT_TRUE(ex->answered());
}

TEST(exchange, dropped_unanswered_it_answers_500) {
  counting_observer books;
  auto [ex, answer] = make_exchange({}, {}, &books);
  ex.reset();
  auto a = answer->wait();
  EXPECT_EQ(a.status, 500);
  EXPECT_EQ(a.json()["error"]["code"], "INTERNAL_ERROR");
  EXPECT_EQ(books.errors, std::vector<int>{500});
}

TEST(exchange, every_answer_carries_the_trace_id_cors_and_security_headers) {
  exchange_terms terms;
  terms.trace_id = "t-1";
  terms.cors_origin = "https://app.example";
  auto [ex, answer] = make_exchange({}, terms);
  ex->no_content({{"X-First", "1"}});
  auto a = answer->wait();
  EXPECT_EQ(a.status, 204);
  EXPECT_EQ(a.content_type, "");
  ASSERT_GE(a.headers.size(), 4u);
  EXPECT_EQ(a.headers[0].first, "X-First");
  EXPECT_EQ(a.headers[1], (std::pair<std::string, std::string>{"x-trace-id", "t-1"}));
  EXPECT_EQ(a.header("Access-Control-Allow-Origin"), "https://app.example");
  EXPECT_EQ(a.header("X-Content-Type-Options"), "nosniff");
}

TEST(exchange, errors_take_the_style_of_the_terms_not_of_the_path) {
  exchange_terms v1_terms;
  v1_terms.errors = error_style::v1;
  auto [v1_ex, v1_answer] = make_exchange({"GET", "/api/v1/widgets"}, v1_terms);
  v1_ex->fail({model::error_code::not_found, "no widget"});
  auto v1 = v1_answer->wait();
  EXPECT_EQ(v1.content_type, "application/json; charset=utf-8");
  EXPECT_EQ(v1.json()["error"]["message"], "no widget");
  EXPECT_EQ(v1.json()["error"]["traceId"], "trace-test");

  exchange_terms problem_terms;
  problem_terms.errors = error_style::problem;
  auto [p_ex, p_answer] = make_exchange({"GET", "/v1/widgets"}, problem_terms);
  p_ex->fail({model::error_code::not_found, "no widget"});
  auto p = p_answer->wait();
  EXPECT_EQ(p.content_type, "application/problem+json");
  EXPECT_EQ(p.json()["detail"], "no widget");
  EXPECT_EQ(p.json()["instance"], "/v1/widgets");
  EXPECT_EQ(p.json()["status"], 404);
}

TEST(exchange, a_writes_timeout_says_its_outcome_is_unknown) {
  exchange_terms write;
  write.write = true;
  auto [w_ex, w_answer] = make_exchange({"POST", "/v1/events"}, write);
  w_ex->fail({model::error_code::timeout, "The request timed out"});
  auto w = w_answer->wait();
  EXPECT_EQ(w.status, 504);
  EXPECT_NE(w.json()["error"]["message"].get<std::string>().find("may still be stored"),
            std::string::npos);
  auto [r_ex, r_answer] = make_exchange({"GET", "/v1/events"});
  r_ex->fail({model::error_code::timeout, "The request timed out"});
  EXPECT_EQ(r_answer->wait().json()["error"]["message"], "The request timed out");
}

TEST(exchange, unavailable_says_when_to_retry) {
  auto [ex, answer] = make_exchange({});
  ex->fail({model::error_code::unavailable, "down"});
  auto a = answer->wait();
  EXPECT_EQ(a.status, 503);
  EXPECT_EQ(a.headers[0], (std::pair<std::string, std::string>{"Retry-After", "1"}));
}

TEST(exchange, reads_json_bodies_within_the_limits) {
  fake_request text;
  text.method = "POST";
  text.headers["content-type"] = "text/plain";
  text.body = "{}";
  auto [t_ex, t_answer] = make_exchange(text);
  EXPECT_FALSE(t_ex->json_body());
  EXPECT_EQ(t_answer->wait().status, 415);

  fake_request large;
  large.body = std::string(1024 * 1024 + 1, ' ');
  auto [l_ex, l_answer] = make_exchange(large);
  EXPECT_FALSE(l_ex->json_body());
  EXPECT_EQ(l_answer->wait().status, 413);

  fake_request bad;
  bad.body = "{";
  auto [b_ex, b_answer] = make_exchange(bad);
  EXPECT_FALSE(b_ex->json_body());
  EXPECT_EQ(b_answer->wait().json()["error"]["message"],
            "Malformed JSON in request body");

  fake_request good;
  good.headers["content-type"] = "application/json; charset=utf-8";
  good.body = R"({"k":[1,2]})";
  auto [g_ex, g_answer] = make_exchange(good);
  auto body = g_ex->json_body();
  ASSERT_TRUE(body);
  EXPECT_EQ((*body)["k"][1], 2);
  EXPECT_FALSE(g_ex->answered());
  g_ex->no_content({});
}

TEST(exchange, reads_the_query_and_path_parameters) {
  fake_request r;
  r.query = "a=1&b=x%20y&a=2";
  r.params["meter"] = "m 1";
  r.params["bad"] = "%zz";
  auto [ex, answer] = make_exchange(r);
  EXPECT_EQ(ex->query().at("a"), "2");
  EXPECT_EQ(ex->query_pairs().size(), 3u);
  EXPECT_EQ(ex->path_param("meter"), "m 1");
  EXPECT_FALSE(ex->answered());
  EXPECT_FALSE(ex->path_param("bad"));
  auto a = answer->wait();
  EXPECT_EQ(a.status, 400);
  EXPECT_EQ(a.json()["error"]["message"], "Malformed path");
}

TEST(deadline_registry, answers_504_to_what_nothing_answered_in_time) {
  deadline_registry deadlines;
  auto start = exchange::clock::now();
  auto [late, late_answer] = make_exchange({});
  auto [done, done_answer] = make_exchange({});
  auto [later, later_answer] = make_exchange({});
  deadlines.watch(start + std::chrono::seconds{1}, late);
  deadlines.watch(start + std::chrono::seconds{1}, done);
  deadlines.watch(start + std::chrono::seconds{5}, later);
  done->respond(200, nlohmann::ordered_json::object());
  deadlines.expire(start + std::chrono::seconds{2});
  EXPECT_EQ(late_answer->wait().status, 504);
  EXPECT_EQ(done_answer->wait().status, 200);
  EXPECT_FALSE(later->answered());
  deadlines.expire(start + std::chrono::seconds{5});
  EXPECT_EQ(later_answer->wait().status, 504);
}

} // namespace
