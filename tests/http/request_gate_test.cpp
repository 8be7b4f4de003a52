#include "http/request_gate.hpp"

#include <gtest/gtest.h>

#include <string>

using namespace um;
using namespace um::http;
using action = gate_step::action;

namespace {

// Delivers everything the gate lets through with `owed` answers owed, and
// returns it; stops at the first step that is not a delivery.
std::string drain(request_gate& gate, std::size_t owed, gate_step* last = nullptr) {
  std::string out;
  for (;;) {
    auto step = gate.next(owed);
    if (step.what != action::deliver) {
      if (last)
        *last = step;
      return out;
    }
    out += gate.held().substr(0, step.bytes);
    gate.delivered(step.bytes);
  }
}

const std::string get_root = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";

std::string post(std::string_view path, std::string_view body,
                 std::string_view extra_headers = "") {
  return "POST " + std::string{path} + " HTTP/1.1\r\nHost: x\r\n" +
         std::string{extra_headers} + "Content-Length: " + std::to_string(body.size()) +
         "\r\n\r\n" + std::string{body};
}

} // namespace

TEST(request_gate, delivers_one_request_at_a_time) {
  request_gate gate;
  gate.receive(get_root + get_root + get_root);
  auto step = gate.next(0);
  ASSERT_EQ(step.what, action::deliver);
  EXPECT_EQ(step.bytes, get_root.size());
  gate.delivered(step.bytes);
  // The next request waits until RESTinio asks again, then comes alone.
  step = gate.next(1);
  ASSERT_EQ(step.what, action::deliver);
  EXPECT_EQ(step.bytes, get_root.size());
}

TEST(request_gate, holds_pipelined_requests_past_the_in_flight_bound) {
  gate_limits limits;
  limits.max_in_flight = 4;
  request_gate gate{limits};
  std::string many;
  for (int i = 0; i < 20; ++i)
    many += get_root;
  gate.receive(many);
  std::size_t passed = 0;
  for (std::size_t owed = 0; owed < 4; ++owed) {
    auto step = gate.next(owed);
    ASSERT_EQ(step.what, action::deliver);
    gate.delivered(step.bytes);
    ++passed;
  }
  EXPECT_EQ(gate.next(4).what, action::wait);
  // One answer written: one more request may go.
  auto step = gate.next(3);
  ASSERT_EQ(step.what, action::deliver);
  EXPECT_EQ(step.bytes, get_root.size());
}

TEST(request_gate, refuses_garbage_only_after_every_earlier_answer) {
  request_gate gate;
  gate.receive(get_root + get_root + get_root + "GARBAGE\x01\x02 nonsense\r\n\r\n");
  for (std::size_t owed = 0; owed < 3; ++owed) {
    auto step = gate.next(owed);
    ASSERT_EQ(step.what, action::deliver);
    gate.delivered(step.bytes);
  }
  EXPECT_EQ(gate.next(3).what, action::wait);
  EXPECT_EQ(gate.next(1).what, action::wait);
  auto step = gate.next(0);
  ASSERT_EQ(step.what, action::refuse);
  ASSERT_TRUE(step.refusal);
  EXPECT_EQ(step.refusal->code, model::error_code::validation);
}

TEST(request_gate, refuses_a_header_name_with_a_space) {
  request_gate gate;
  gate.receive("GET / HTTP/1.1\r\nHost : x\r\n\r\n");
  auto step = gate.next(0);
  ASSERT_EQ(step.what, action::refuse);
  EXPECT_EQ(step.refusal->code, model::error_code::validation);
}

TEST(request_gate, refuses_other_http_versions) {
  for (std::string line :
       {"GET / HTTP/2.0\r\nHost: x\r\n\r\n", "GET / HTTP/1.2\r\n\r\n"}) {
    request_gate gate;
    gate.receive(line);
    auto step = gate.next(0);
    ASSERT_EQ(step.what, action::refuse) << line;
    EXPECT_EQ(step.refusal->code, model::error_code::http_version_not_supported) << line;
  }
  request_gate old;
  old.receive("GET /\r\n\r\n");
  auto step = old.next(0);
  ASSERT_EQ(step.what, action::refuse);
  EXPECT_EQ(step.refusal->code, model::error_code::validation);
}

TEST(request_gate, refuses_a_declared_body_over_the_limit_before_reading_it) {
  gate_limits limits;
  limits.max_body = 100;
  request_gate gate{limits};
  gate.receive("POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Length: 101\r\n\r\n");
  auto step = gate.next(0);
  ASSERT_EQ(step.what, action::refuse);
  EXPECT_EQ(step.refusal->code, model::error_code::payload_too_large);
}

TEST(request_gate, refuses_a_chunked_body_once_it_passes_the_limit) {
  gate_limits limits;
  limits.max_body = 10;
  request_gate gate{limits};
  gate.receive("POST /v1/events HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
               "8\r\n12345678\r\n");
  gate_step last;
  auto passed = drain(gate, 0, &last);
  EXPECT_FALSE(passed.empty());
  EXPECT_EQ(last.what, action::read);
  gate.receive("8\r\n12345678\r\n");
  drain(gate, 0, &last);
  ASSERT_EQ(last.what, action::refuse);
  EXPECT_EQ(last.refusal->code, model::error_code::payload_too_large);
}

namespace {

// Admits a body only with `Authorization: Bearer k`.
std::optional<model::api_error> key_k(const request_head& head) {
  if (head.authorization == "Bearer k")
    return std::nullopt;
  return model::api_error{model::error_code::unauthorized, "A valid API key is required"};
}

} // namespace

TEST(request_gate, refuses_a_body_without_a_key_before_it_arrives) {
  request_gate gate{gate_limits{}, key_k};
  gate.receive("POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Length: 4000000\r\n\r\n");
  // Over the body limit and without a key: refused from the head alone.
  auto step = gate.next(0);
  ASSERT_EQ(step.what, action::refuse);

  request_gate keyless{gate_limits{}, key_k};
  keyless.receive("POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Length: 20\r\n\r\n");
  step = keyless.next(0);
  ASSERT_EQ(step.what, action::refuse);
  EXPECT_EQ(step.refusal->code, model::error_code::unauthorized);
  EXPECT_EQ(step.line.method, "POST");
  EXPECT_EQ(step.line.path, "/v1/events");

  request_gate keyed{gate_limits{}, key_k};
  keyed.receive(post("/v1/events", R"({"a":1})", "Authorization: Bearer k\r\n"));
  EXPECT_EQ(keyed.next(0).what, action::deliver);
}

TEST(request_gate, lets_requests_without_a_body_through_to_their_route) {
  // Authentication of bodiless requests is the route's business (a GET of an
  // unknown path answers 404 with or without a key).
  request_gate gate{gate_limits{}, key_k};
  gate.receive(get_root);
  EXPECT_EQ(gate.next(0).what, action::deliver);
}

TEST(request_gate, asks_for_the_body_of_an_expect_continue_request) {
  request_gate gate;
  gate.receive("POST /v1/events HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
               "Content-Length: 2\r\n\r\n");
  auto step = gate.next(0);
  ASSERT_EQ(step.what, action::deliver);
  EXPECT_TRUE(step.send_continue);
  gate.delivered(step.bytes);
  EXPECT_EQ(gate.next(0).what, action::read);
  gate.receive("{}");
  step = gate.next(0);
  ASSERT_EQ(step.what, action::deliver);
  EXPECT_FALSE(step.send_continue);
}

TEST(request_gate, passes_a_body_as_it_arrives) {
  request_gate gate;
  std::string body(5000, 'x');
  auto request = post("/v1/events", body);
  gate.receive(request.substr(0, 100));
  auto passed = drain(gate, 0);
  gate.receive(request.substr(100, 3000));
  passed += drain(gate, 0);
  gate.receive(request.substr(3100));
  passed += drain(gate, 0);
  EXPECT_EQ(passed, request);
}

TEST(request_gate, bounds_a_head_that_never_ends) {
  gate_limits limits;
  limits.max_held = 1024;
  request_gate gate{limits};
  gate.receive("GET / HTTP/1.1\r\n");
  for (int i = 0; i < 100 && gate.has_room(); ++i)
    gate.receive("X-Filler: " + std::string(20, 'a') + "\r\n");
  auto step = gate.next(0);
  ASSERT_EQ(step.what, action::refuse);
  EXPECT_EQ(step.refusal->code, model::error_code::header_fields_too_large);
}

TEST(request_gate, refuses_long_targets_and_many_fields) {
  gate_limits limits;
  limits.max_target = 50;
  limits.max_fields = 3;
  request_gate long_target{limits};
  long_target.receive("GET /" + std::string(60, 'a') + " HTTP/1.1\r\n\r\n");
  auto step = long_target.next(0);
  ASSERT_EQ(step.what, action::refuse);
  EXPECT_EQ(step.refusal->code, model::error_code::uri_too_long);

  request_gate many{limits};
  many.receive("GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n");
  step = many.next(0);
  ASSERT_EQ(step.what, action::refuse);
  EXPECT_EQ(step.refusal->code, model::error_code::header_fields_too_large);
}

TEST(request_gate, refuses_every_request_when_told_to) {
  request_gate gate;
  gate.refuse_all({model::error_code::unavailable, "Too many open connections"});
  gate.receive(get_root);
  auto step = gate.next(0);
  ASSERT_EQ(step.what, action::refuse);
  EXPECT_EQ(step.refusal->code, model::error_code::unavailable);
}

TEST(request_gate, frames_requests_split_anywhere) {
  std::string stream = get_root + post("/v1/events", R"({"entityId":"a"})") + get_root;
  for (std::size_t cut = 1; cut < stream.size(); ++cut) {
    request_gate gate;
    std::string passed;
    gate.receive(stream.substr(0, cut));
    std::size_t owed = 0;
    auto pump = [&] {
      for (;;) {
        auto step = gate.next(0);
        if (step.what != action::deliver)
          return step.what;
        passed += gate.held().substr(0, step.bytes);
        gate.delivered(step.bytes);
        ++owed;
      }
    };
    EXPECT_NE(pump(), action::refuse) << cut;
    gate.receive(stream.substr(cut));
    EXPECT_NE(pump(), action::refuse) << cut;
    EXPECT_EQ(passed, stream) << cut;
  }
}
