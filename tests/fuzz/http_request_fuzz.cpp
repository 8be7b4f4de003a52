// The bytes a client sends on a connection, through the request gate that
// frames them before RESTinio sees any (http/request_gate.hpp), the rules of
// http/malformed.hpp and the header rules of http/translate.hpp. Whatever
// arrives, in whatever pieces: every byte passed on is the client's, in order
// and once; a connection never waits for nothing nor reads without room; a
// refusal is a complete HTTP response in the contract's shape; and what is
// logged of a request is bounded and printable.

#include "fuzz_support.hpp"
#include "http/malformed.hpp"
#include "http/request_gate.hpp"
#include "http/translate.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <string>

namespace {

using namespace um;
using fuzz::require;

bool printable(std::string_view text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return c > 0x20 && c < 0x7f; });
}

// The response the socket layer writes for `error`, checked as a client reads it.
void check_raw_response(const model::api_error& error) {
  const auto status = model::http_status(error.code);
  const auto text = http::raw_error_response(error, "trace-1", "*");
  require(text.rfind("HTTP/1.1 " + std::to_string(status) + " ", 0) == 0,
          "raw response starts with its status line");
  const auto split = text.find("\r\n\r\n");
  require(split != std::string::npos, "raw response has a header end");
  const auto body_text = text.substr(split + 4);
  const auto length_at = text.find("\r\nContent-Length: ");
  require(length_at != std::string::npos && length_at < split,
          "raw response has a Content-Length");
  require(std::stoul(text.substr(length_at + 18)) == body_text.size(),
          "Content-Length counts the body");
  const auto body = nlohmann::json::parse(body_text, nullptr, false);
  require(body.is_object() && body.contains("error"), "raw response body is an error");
  require(body["error"]["code"] == model::code_name(error.code),
          "error code on the wire");
  require(body["error"]["message"] == error.message, "error message on the wire");
}

std::string lower(std::string_view text) {
  std::string out{text};
  for (auto& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t'))
    text.remove_prefix(1);
  while (!text.empty() &&
         (text.back() == ' ' || text.back() == '\t' || text.back() == '\r'))
    text.remove_suffix(1);
  return text;
}

// The header rules, applied to the header lines of the request as given.
void check_headers(std::string_view received) {
  const std::vector<um::model::api_key> keys{{"default", "k1"}, {"acme", "secret-key"}};
  std::string_view authorization, x_api_key;
  auto end_of_line = received.find('\n');
  while (end_of_line != std::string_view::npos) {
    received.remove_prefix(end_of_line + 1);
    end_of_line = received.find('\n');
    auto line = received.substr(0, end_of_line);
    auto colon = line.find(':');
    if (colon == std::string_view::npos)
      continue;
    auto name = lower(line.substr(0, colon));
    auto value = trim(line.substr(colon + 1));
    if (name == "authorization")
      authorization = value;
    else if (name == "x-api-key")
      x_api_key = value;
    else if (name == "content-type")
      http::is_json_media_type(value);
    else if (name == "accept-encoding")
      http::accepts_gzip(value);
    else if (name == "accept")
      http::wants_csv(value);
    else if (name == "x-forwarded-for") {
      auto ip = http::client_ip(value, "127.0.0.1");
      require(!ip.empty() && ip.size() <= 64, "client ip is bounded");
    }
  }
  auto key = http::presented_api_key(authorization, x_api_key);
  if (const auto* match = http::matching_api_key(key, keys))
    require(match->secret == key && !key.empty(), "only a configured key matches");
}

// Small limits, so that short inputs reach each of them.
http::gate_limits small_limits() {
  http::gate_limits limits;
  limits.max_target = 64;
  limits.max_field_name = 32;
  limits.max_field_value = 128;
  limits.max_fields = 8;
  limits.max_body = 256;
  limits.max_in_flight = 2;
  limits.max_held = 512;
  return limits;
}

// Plays the socket's part: bytes arrive in pieces of the sizes `pieces`
// picks, RESTinio answers one owed request whenever the gate waits.
void drive_gate(std::string_view pieces, std::string_view received, bool full) {
  http::request_gate gate{
      small_limits(),
      [](const http::request_head& head) -> std::optional<model::api_error> {
        if (head.target.rfind("/deny", 0) == 0)
          return model::api_error{model::error_code::unauthorized,
                                  "Invalid or missing API key"};
        return std::nullopt;
      }};
  if (full)
    gate.refuse_all(
        {model::error_code::unavailable, "Too many open connections, retry later"});
  std::string passed_on;
  std::size_t sent = 0, owed = 0, piece = 0;
  // Every step either consumes input, passes bytes on, answers, or ends.
  const auto bound = 4 * received.size() + 64;
  for (std::size_t steps = 0;; ++steps) {
    require(steps < bound, "the gate makes progress");
    auto step = gate.next(owed);
    using action = http::gate_step::action;
    if (step.what == action::read) {
      require(gate.has_room(), "the gate asks for bytes only with room for them");
      if (sent == received.size())
        break; // the client stopped sending: the socket waits, as it should
      std::size_t size = 1;
      if (!pieces.empty())
        size = 1 + static_cast<unsigned char>(pieces[piece++ % pieces.size()]) % 97;
      size = std::min(size, received.size() - sent);
      gate.receive(received.substr(sent, size));
      sent += size;
    } else if (step.what == action::deliver) {
      require(step.bytes > 0 && step.bytes <= gate.held().size(),
              "a delivery passes on held bytes");
      passed_on.append(gate.held().substr(0, step.bytes));
      gate.delivered(step.bytes);
      ++owed; // at most one answer per delivery, and RESTinio owes it
    } else if (step.what == action::wait) {
      require(owed > 0, "the gate waits only for an answer that is owed");
      --owed; // the answer is written
    } else {
      require(step.refusal.has_value(), "a refusal names its error");
      const auto status = model::http_status(step.refusal->code);
      require(status == 400 || status == 401 || status == 413 || status == 414 ||
                  status == 431 || status == 503 || status == 505,
              "a refusal is 400, 401, 413, 414, 431, 503 or 505");
      require(owed == 0, "a refusal is written after every earlier answer");
      check_raw_response(*step.refusal);
      require(printable(step.line.method) && step.line.method.size() <= 16,
              "a refused request's method is logged short and printable");
      require(printable(step.line.path) && step.line.path.size() <= 256,
              "a refused request's path is logged short and printable");
      break; // the socket closes
    }
  }
  // What RESTinio saw is what the client sent, from its first byte, in order.
  require(received.substr(0, passed_on.size()) == passed_on,
          "the bytes passed on are the client's, in order, once");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // The first line picks how the bytes are cut into reads; the rest arrives.
  const auto [pieces, received] = fuzz::split_first_line(fuzz::as_text(data, size));

  // The first read of a connection: its request line decides.
  if (auto rejection = http::check_request_line(received)) {
    const auto status = model::http_status(rejection->code);
    require(status == 400 || status == 505, "request line answers 400 or 505");
    require(received.find('\n') != std::string_view::npos,
            "an incomplete line is left to the parser");
    check_raw_response(*rejection);
  }

  // What the log line of a rejected request says of it.
  const auto summary = http::summarize_request_line(received);
  require(printable(summary.method) && summary.method.size() <= 16,
          "logged method is short and printable");
  require(printable(summary.path) && summary.path.size() <= 256,
          "logged path is short and printable");

  drive_gate(pieces, received, false);
  drive_gate(pieces, received, true);
  check_headers(received);
  return 0;
}
