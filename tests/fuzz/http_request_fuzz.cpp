// The bytes a client sends on a new connection, through the rules the HTTP
// front applies before any route (http/malformed.hpp) and the header rules of
// http/translate.hpp: whatever arrives, the answer is a complete HTTP response
// in the contract's shape, and what is logged of it is bounded and printable.

#include "fuzz_support.hpp"
#include "http/malformed.hpp"
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
  const std::vector<std::string> keys{"k1", "secret-key"};
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
  if (http::api_key_matches(key, keys))
    require(std::find(keys.begin(), keys.end(), key) != keys.end(),
            "only a configured key matches");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto received = fuzz::as_text(data, size);

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

  // The same bytes as a RESTinio log message: a parser error, and its answer.
  const auto name = http::parser_error_name(received);
  const auto rejection = http::rejection_for_parser_error(name);
  const auto status = model::http_status(rejection.code);
  require(status == 400 || status == 413 || status == 414 || status == 431,
          "parser errors answer 400, 413, 414 or 431");
  check_raw_response(rejection);

  check_headers(received);
  return 0;
}
