#pragma once

// The CAF side of every request: handlers hand their questions to a bridge
// actor, which asks the actor that owns the answer with the request timeout
// and answers the exchange with the result or the error. RESTinio's threads
// therefore never block, and every request to an actor has a timeout.

#include "actors/interfaces.hpp"
#include "http/exchange.hpp"

#include <caf/all.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <vector>

namespace um::http {

/// Work handed to a bridge actor: it runs there and may make requests.
using bridge_job = std::function<void(caf::event_based_actor*)>;

} // namespace um::http

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(um::http::bridge_job)

namespace um::http {

/// A few bridge actors on the scheduler, used in turn.
class bridge {
public:
  /// Spawns `count` bridges whose requests time out after `timeout`.
  bridge(caf::actor_system& system, caf::timespan timeout, std::size_t count = 2);

  /// Stops the bridges and waits for them: a request still pending in one is
  /// answered (500) from its exchange's destructor on the way.
  ~bridge();

  bridge(const bridge&) = delete;
  bridge& operator=(const bridge&) = delete;

  /// Runs `job` on the next bridge.
  void dispatch(bridge_job job);

  /// The timeout of every request a bridge makes.
  caf::timespan timeout() const { return timeout_; }

  /// Asks `target` and answers the exchange: `on_result(exchange&, Result&)`
  /// with the answer, or the error as the client sees it (an actor that is
  /// down: 503; no answer in time: 504).
  template <class Result, class Handle, class OnResult, class... Args>
  void ask(exchange_ptr ex, Handle target, OnResult on_result, Args... args) {
    if (!target) {
      ex->fail({model::error_code::unavailable,
                "Service temporarily unavailable, retry later",
                "the part is not running"});
      return;
    }
    dispatch([ex, target, on_result, timeout = timeout_,
              args...](caf::event_based_actor* self) {
      self->request(target, timeout, args...)
          .then([ex, on_result](Result& result) { on_result(*ex, result); },
                [ex](caf::error& err) { ex->fail(to_api_error(err)); });
    });
  }

  /// Fault drill of the request deadline: every bridge sleeps for `ms`, so
  /// nothing but the deadline answers meanwhile.
  void stall(std::chrono::milliseconds ms);

private:
  caf::actor_system& system_;
  caf::timespan timeout_;
  std::vector<caf::actor> bridges_;
  std::atomic<std::size_t> next_{0};
};

} // namespace um::http
