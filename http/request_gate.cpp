#include "http/request_gate.hpp"

#include <http_parser.h>

#include <algorithm>
#include <cctype>
#include <utility>

namespace um::http {

namespace {

bool is_token_char(unsigned char c) {
  if (std::isalnum(c))
    return true;
  switch (c) {
  case '!':
  case '#':
  case '$':
  case '%':
  case '&':
  case '\'':
  case '*':
  case '+':
  case '-':
  case '.':
  case '^':
  case '_':
  case '`':
  case '|':
  case '~':
    return true;
  default:
    return false;
  }
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

model::api_error head_too_large() {
  return {model::error_code::header_fields_too_large, "Request header fields too large"};
}

// Header values the gate needs; anything else is only measured.
enum class tracked_field { other, authorization, api_key, expect };

} // namespace

struct request_gate::state {
  gate_limits limits;
  body_admission admission;
  std::optional<model::api_error> refuse_all;

  http_parser parser{};
  http_parser_settings settings{};
  std::string buf; // received, not delivered
  std::size_t scanned =
      0; // bytes of `buf` the parser has seen (all of the current request)

  // The current request.
  bool head_done = false;
  bool complete = false;
  bool checked = false;
  bool expects_continue = false;
  bool continue_sent = false;
  std::size_t delivered_in_request = 0;
  std::size_t body_seen = 0;
  std::size_t fields = 0;
  std::size_t field_value_size = 0;
  bool in_value = false;
  std::string field_name;
  tracked_field field = tracked_field::other;
  std::string expect;
  unsigned version_major = 1, version_minor = 1;
  request_head head;
  std::optional<model::api_error> verdict;

  state(gate_limits l, body_admission a) : limits(l), admission(std::move(a)) {
    settings.on_url = &on_url;
    settings.on_header_field = &on_header_field;
    settings.on_header_value = &on_header_value;
    settings.on_headers_complete = &on_headers_complete;
    settings.on_body = &on_body;
    settings.on_message_complete = &on_message_complete;
    start_request();
  }

  void start_request() {
    http_parser_init(&parser, HTTP_REQUEST);
    parser.data = this;
    head_done = complete = checked = expects_continue = continue_sent = false;
    delivered_in_request = body_seen = fields = field_value_size = 0;
    in_value = false;
    field_name.clear();
    field = tracked_field::other;
    expect.clear();
    head = request_head{};
    verdict.reset();
  }

  static state& of(http_parser* p) { return *static_cast<state*>(p->data); }

  // Stops the parser with `error` as the request's answer.
  int stop(model::api_error error) {
    if (!verdict)
      verdict = std::move(error);
    return 1;
  }

  static int on_url(http_parser* p, const char* at, std::size_t n) {
    auto& s = of(p);
    if (s.head.target.size() + n > s.limits.max_target)
      return s.stop({model::error_code::uri_too_long, "Request URL is too long"});
    s.head.target.append(at, n);
    return 0;
  }

  static int on_header_field(http_parser* p, const char* at, std::size_t n) {
    auto& s = of(p);
    if (s.in_value || s.fields == 0) {
      s.in_value = false;
      s.field_name.clear();
      s.field_value_size = 0;
      if (++s.fields > s.limits.max_fields)
        return s.stop(head_too_large());
    }
    if (s.field_name.size() + n > s.limits.max_field_name)
      return s.stop(head_too_large());
    for (std::size_t i = 0; i < n; ++i)
      if (!is_token_char(static_cast<unsigned char>(at[i])))
        return s.stop({model::error_code::validation, "Malformed header field name"});
    s.field_name.append(at, n);
    return 0;
  }

  static int on_header_value(http_parser* p, const char* at, std::size_t n) {
    auto& s = of(p);
    if (!s.in_value) {
      s.in_value = true;
      s.field = iequals(s.field_name, "authorization") ? tracked_field::authorization
                : iequals(s.field_name, "x-api-key")   ? tracked_field::api_key
                : iequals(s.field_name, "expect")      ? tracked_field::expect
                                                       : tracked_field::other;
    }
    s.field_value_size += n;
    if (s.field_value_size > s.limits.max_field_value)
      return s.stop(head_too_large());
    switch (s.field) {
    case tracked_field::authorization:
      s.head.authorization.append(at, n);
      break;
    case tracked_field::api_key:
      s.head.api_key.append(at, n);
      break;
    case tracked_field::expect:
      s.expect.append(at, n);
      break;
    case tracked_field::other:
      break;
    }
    return 0;
  }

  static int on_headers_complete(http_parser* p) {
    auto& s = of(p);
    s.head_done = true;
    s.head.method = http_method_str(static_cast<http_method>(p->method));
    s.version_major = p->http_major;
    s.version_minor = p->http_minor;
    bool chunked = (p->flags & F_CHUNKED) != 0;
    bool sized = (p->flags & F_CONTENTLENGTH) != 0;
    s.head.has_body = chunked || (sized && p->content_length > 0);
    if (sized && p->content_length > s.limits.max_body)
      return s.stop(
          {model::error_code::payload_too_large, "Request body exceeds 1mb limit"});
    s.expects_continue = iequals(s.expect, "100-continue");
    return 0;
  }

  static int on_body(http_parser* p, const char*, std::size_t n) {
    auto& s = of(p);
    s.body_seen += n;
    if (s.body_seen > s.limits.max_body)
      return s.stop(
          {model::error_code::payload_too_large, "Request body exceeds 1mb limit"});
    return 0;
  }

  static int on_message_complete(http_parser* p) {
    auto& s = of(p);
    s.complete = true;
    // Stop at the end of this request: the next one is looked at only once
    // this one has been passed on.
    http_parser_pause(p, 1);
    return 0;
  }

  // Runs the parser over the bytes of the current request not seen yet.
  void scan() {
    if (complete || verdict || scanned == buf.size())
      return;
    auto n = http_parser_execute(&parser, &settings, buf.data() + scanned,
                                 buf.size() - scanned);
    auto error = HTTP_PARSER_ERRNO(&parser);
    if (error == HPE_PAUSED) {
      scanned += n;
      return;
    }
    if (error != HPE_OK) {
      if (!verdict) {
        // The version is checked first: a request in another protocol
        // fails the parser somewhere in its first line.
        auto line = delivered_in_request == 0 ? check_request_line(buf) : std::nullopt;
        verdict = line ? *line : rejection_for_parser_error(http_errno_name(error));
      }
      return;
    }
    scanned += n;
    if (parser.upgrade && head_done && !complete) {
      // What follows an upgrade request is not HTTP; RESTinio answers the
      // request and the next bytes fail as a request of their own.
      complete = true;
    }
  }

  // Checks a request once its head has arrived; sets `verdict` to refuse it.
  void check_head() {
    checked = true;
    if (auto line = check_request_line(buf)) {
      verdict = *line;
      return;
    }
    if (version_major != 1 || version_minor > 1) {
      verdict = model::api_error{model::error_code::http_version_not_supported,
                                 "HTTP version not supported"};
      return;
    }
    if (refuse_all) {
      verdict = *refuse_all;
      return;
    }
    if (head.has_body && admission)
      verdict = admission(head);
  }

  request_line_summary summary() const {
    if (!head.method.empty() && !head.target.empty()) {
      auto line = summarize_request_line(head.method + " " + head.target + " HTTP/1.1");
      return line;
    }
    return summarize_request_line(buf);
  }

  gate_step next(std::size_t owed) {
    for (;;) {
      scan();
      if (!verdict && head_done && !checked)
        check_head();
      if (!verdict && !head_done && buf.size() >= limits.max_held)
        verdict = head_too_large();
      if (verdict) {
        gate_step step;
        if (owed > 0) {
          step.what = gate_step::action::wait;
          return step;
        }
        step.what = gate_step::action::refuse;
        step.refusal = verdict;
        step.line = summary();
        return step;
      }
      if (!head_done)
        return {};
      if (delivered_in_request == 0 && owed >= limits.max_in_flight) {
        gate_step step;
        step.what = gate_step::action::wait;
        return step;
      }
      if (scanned > 0) {
        gate_step step;
        step.what = gate_step::action::deliver;
        step.bytes = scanned;
        step.send_continue = expects_continue && !continue_sent && !complete &&
                             body_seen == 0 && owed == 0;
        if (step.send_continue)
          continue_sent = true;
        return step;
      }
      if (!complete)
        return {};
      start_request();
    }
  }
};

request_gate::request_gate(gate_limits limits, body_admission admission)
    : state_(std::make_unique<state>(limits, std::move(admission))) {}

request_gate::~request_gate() = default;
request_gate::request_gate(request_gate&&) noexcept = default;
request_gate& request_gate::operator=(request_gate&&) noexcept = default;

void request_gate::refuse_all(model::api_error error) {
  state_->refuse_all = std::move(error);
}

void request_gate::receive(std::string_view bytes) {
  state_->buf.append(bytes.data(), bytes.size());
}

std::string_view request_gate::held() const {
  return state_->buf;
}

bool request_gate::has_room() const {
  return state_->buf.size() < state_->limits.max_held;
}

gate_step request_gate::next(std::size_t owed) {
  return state_->next(owed);
}

void request_gate::delivered(std::size_t n) {
  auto& s = *state_;
  n = std::min(n, s.scanned);
  s.buf.erase(0, n);
  s.scanned -= n;
  s.delivered_in_request += n;
}

} // namespace um::http
