#pragma once

// A transport for exchanges without sockets: the request is what the test
// sets, and the one answer is recorded (and can be waited for, when a bridge
// writes it from another thread).

#include "http/exchange.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>

namespace um::testing {

/// What a recording transport was asked to write.
struct recorded_answer {
  int status = 0;
  std::string body;
  std::string content_type;
  http::header_list headers;
  int writes = 0;

  /// A header's value, empty when absent.
  std::string header(const std::string& name) const {
    for (const auto& [n, v] : headers)
      if (n == name)
        return v;
    return {};
  }

  nlohmann::json json() const { return nlohmann::json::parse(body); }
};

/// The answer a recording transport wrote, shared with the test, which may
/// wait for it.
class answer_slot {
public:
  void record(int status, std::string body, std::string_view content_type,
              http::header_list headers) {
    std::lock_guard<std::mutex> guard{mutex_};
    answer_.status = status;
    answer_.body = std::move(body);
    answer_.content_type = std::string{content_type};
    answer_.headers = std::move(headers);
    ++answer_.writes;
    written_.notify_all();
  }

  /// The answer, once written (waiting at most 10 s for it).
  recorded_answer wait() {
    std::unique_lock<std::mutex> lock{mutex_};
    written_.wait_for(lock, std::chrono::seconds{10},
                      [this] { return answer_.writes > 0; });
    return answer_;
  }

private:
  std::mutex mutex_;
  std::condition_variable written_;
  recorded_answer answer_;
};

/// A request as a test describes it.
struct fake_request {
  fake_request() = default;
  fake_request(std::string m, std::string p) : method(std::move(m)), path(std::move(p)) {}

  std::string method = "GET";
  std::string path = "/";
  std::string query;
  std::map<std::string, std::string> headers; ///< Lower-case names.
  std::string body;
  std::map<std::string, std::string> params; ///< Path parameters, decoded.
  std::string peer = "127.0.0.1";
};

class recording_transport final : public http::transport {
public:
  recording_transport(fake_request request, std::shared_ptr<answer_slot> slot)
      : request_(std::move(request)), slot_(std::move(slot)) {}

  std::string_view method() const override { return request_.method; }
  std::string_view path() const override { return request_.path; }
  std::string_view query() const override { return request_.query; }
  std::optional<std::string_view> header(std::string_view name) const override {
    auto it = request_.headers.find(std::string{name});
    if (it == request_.headers.end())
      return std::nullopt;
    return std::string_view{it->second};
  }
  const std::string& body() const override { return request_.body; }
  std::optional<std::string> path_param(std::string_view name) const override {
    auto it = request_.params.find(std::string{name});
    if (it == request_.params.end() || it->second == "%zz") // as RESTinio refuses it
      return std::nullopt;
    return it->second;
  }
  std::string peer_address() const override { return request_.peer; }
  void write(int status, std::string body, std::string_view content_type,
             http::header_list headers) override {
    slot_->record(status, std::move(body), content_type, std::move(headers));
  }

private:
  fake_request request_;
  std::shared_ptr<answer_slot> slot_;
};

/// An exchange over a recording transport, and where its answer lands.
struct recorded_exchange {
  http::exchange_ptr ex;
  std::shared_ptr<answer_slot> answer;
};

inline recorded_exchange make_exchange(fake_request request,
                                       http::exchange_terms terms = {},
                                       http::exchange_observer* observer = nullptr) {
  auto slot = std::make_shared<answer_slot>();
  if (terms.trace_id.empty())
    terms.trace_id = "trace-test";
  auto ex = std::make_shared<http::exchange>(
      std::make_unique<recording_transport>(std::move(request), slot), std::move(terms),
      observer);
  return {std::move(ex), slot};
}

} // namespace um::testing
