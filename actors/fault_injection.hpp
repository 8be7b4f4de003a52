#pragma once

// Failure drills: every supervised part answers the same two messages the
// same way, so that a drill of any part shows what a real failure of it does.

#include "actors/interfaces.hpp"

#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>

namespace um {

/// An exception that knows the request whose message raised it: the part's
/// exception handler (`log_unhandled_exceptions`) names that request in its
/// log line and in the exit reason the supervisor reads.
class traced_failure : public std::runtime_error {
public:
  traced_failure(const std::string& what, std::string trace_id)
      : std::runtime_error(what), trace_id_(std::move(trace_id)) {}

  /// The trace id of the request; empty when no request caused it.
  const std::string& trace_id() const noexcept { return trace_id_; }

private:
  std::string trace_id_;
};

/// What every part that takes drills answers; any of their handles converts
/// to it.
using fault_injectable_actor =
    caf::typed_actor<caf::reacts_to<crash_atom, model::trace_ref>,
                     caf::reacts_to<hang_atom, std::int64_t>>;

/// The behavior of an actor whose interface includes `fault_injectable_actor`:
/// its own `handlers`, plus `crash_atom` (throws, as an uncaught exception in
/// a handler would, so the part ends and is restarted; the exception names
/// the drill's request) and `hang_atom, ms`
/// (blocks the actor's thread for `ms`, as a stuck call would).
template <class Behavior, class... Handlers>
Behavior with_fault_injection(Handlers... handlers) {
  return {
      std::move(handlers)...,
      [](crash_atom, const model::trace_ref& trace) {
        throw traced_failure("injected crash", trace.id);
      },
      [](hang_atom, std::int64_t ms) {
        std::this_thread::sleep_for(std::chrono::milliseconds{ms});
      },
  };
}

} // namespace um
