#include "http/exchange.hpp"

#include "http/malformed.hpp"
#include "http/translate.hpp"
#include "model/bounded_json.hpp"

#include <algorithm>

namespace um::http {

namespace {

// What a client is told when a write's outcome is unknown.
constexpr const char* write_outcome_unknown =
    "The request timed out and the write may still be stored: retry it with the same "
    "id (v1: the id field or an Idempotency-Key header; metering: the same source and "
    "id) and it is stored once";

} // namespace

exchange::exchange(std::unique_ptr<transport> io, exchange_terms terms,
                   exchange_observer* observer)
    : io_(std::move(io)), terms_(std::move(terms)), observer_(observer),
      started_(clock::now()) {}

exchange::~exchange() {
  if (!answered_.load())
    fail({model::error_code::internal, "Internal server error",
          "the request was dropped without an answer"});
}

model::query_params exchange::query() const {
  return parse_query_string(io_->query());
}

std::vector<std::pair<std::string, std::string>> exchange::query_pairs() const {
  return parse_query_pairs(io_->query());
}

std::optional<std::string> exchange::path_param(std::string_view name) {
  auto value = io_->path_param(name);
  if (!value)
    fail({model::error_code::validation, "Malformed path"});
  return value;
}

std::optional<nlohmann::ordered_json> exchange::json_body() {
  if (body().size() > max_body_bytes) {
    fail({model::error_code::payload_too_large, "Request body exceeds 1mb limit"});
    return std::nullopt;
  }
  auto content_type = header_or_empty("content-type");
  if (!content_type.empty() && !is_json_media_type(content_type)) {
    fail({model::error_code::unsupported_media_type,
          "Content-Type must be application/json"});
    return std::nullopt;
  }
  auto parsed = model::try_parse_request_json(body());
  if (!parsed) {
    fail({model::error_code::validation, std::move(parsed.error)});
    return std::nullopt;
  }
  return std::move(parsed.value);
}

void exchange::respond(int status, const nlohmann::ordered_json& body,
                       header_list headers) {
  send(status, model::to_wire(body), "application/json; charset=utf-8",
       std::move(headers));
}

void exchange::fail(const model::api_error& reported) {
  auto error = reported;
  if (terms_.write && error.code == model::error_code::timeout)
    error.message = write_outcome_unknown;
  int status = model::http_status(error.code);
  header_list headers;
  if (status == 503)
    headers.emplace_back("Retry-After", "1");
  if (status >= 500 && observer_)
    observer_->server_error(*this, status, error);
  auto document = render_error(terms_.errors, error, terms_.trace_id, path());
  send(status, std::move(document.body), document.content_type, std::move(headers));
}

void exchange::text(int status, std::string body, std::string_view content_type,
                    header_list headers) {
  send(status, std::move(body), content_type, std::move(headers));
}

void exchange::no_content(header_list headers) {
  send(204, {}, {}, std::move(headers));
}

void exchange::send(int status, std::string body, std::string_view content_type,
                    header_list headers) {
  if (answered_.exchange(true))
    return;
  headers.emplace_back("x-trace-id", terms_.trace_id);
  headers.emplace_back("Access-Control-Allow-Origin", terms_.cors_origin);
  headers.emplace_back("Access-Control-Expose-Headers", "x-trace-id, Retry-After");
  // A security header the handler set itself (the pages' stricter
  // Content-Security-Policy) replaces the service's default one.
  const auto own = headers.size();
  for (const auto& header : security_headers()) {
    // Not a structured binding: C++17 lets no lambda capture one (clang
    // refuses; the sanitizer and fuzz builds use clang).
    const auto& name = header.first;
    if (std::none_of(headers.begin(), headers.begin() + own,
                     [&](const auto& h) { return h.first == name; }))
      headers.emplace_back(std::string{name}, std::string{header.second});
  }
  io_->write(status, std::move(body), content_type, std::move(headers));
  if (observer_)
    observer_->answered(*this, status);
}

void deadline_registry::watch(exchange::clock::time_point deadline,
                              const exchange_ptr& ex) {
  std::lock_guard<std::mutex> guard{mutex_};
  queue_.emplace_back(deadline, ex);
}

void deadline_registry::expire(exchange::clock::time_point now) {
  std::vector<exchange_ptr> late;
  {
    std::lock_guard<std::mutex> guard{mutex_};
    while (!queue_.empty() && queue_.front().first <= now) {
      if (auto ex = queue_.front().second.lock(); ex && !ex->answered())
        late.push_back(std::move(ex));
      queue_.pop_front();
    }
  }
  for (auto& ex : late)
    ex->fail({model::error_code::timeout, "The request timed out",
              "no answer by the request's deadline"});
}

} // namespace um::http
