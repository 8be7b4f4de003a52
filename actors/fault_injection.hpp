#pragma once

// Failure drills: every supervised part answers the same two messages the
// same way, so that a drill of any part shows what a real failure of it does.

#include "actors/interfaces.hpp"

#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <thread>
#include <utility>

namespace um {

/// What every part that takes drills answers; any of their handles converts
/// to it.
using fault_injectable_actor =
    caf::typed_actor<caf::reacts_to<crash_atom, model::trace_ref>,
                     caf::reacts_to<hang_atom, std::int64_t>>;

/// The behavior of an actor whose interface includes `fault_injectable_actor`:
/// its own `handlers`, plus `crash_atom` (throws, as an uncaught exception in
/// a handler would, so the part ends and is restarted; the drill's request,
/// which its message carries, is named in the lines that follow) and
/// `hang_atom, ms` (blocks the actor's thread for `ms`, as a stuck call would).
template <class Behavior, class... Handlers>
Behavior with_fault_injection(Handlers... handlers) {
  return {
      std::move(handlers)...,
      [](crash_atom, const model::trace_ref&) {
        throw std::runtime_error("injected crash");
      },
      [](hang_atom, std::int64_t ms) {
        std::this_thread::sleep_for(std::chrono::milliseconds{ms});
      },
  };
}

} // namespace um
