#include "http/bridge.hpp"

#include <thread>

namespace um::http {

namespace {

// Takes its number although it needs none: CAF 0.17 spawns a function actor
// without arguments by dereferencing a null pointer to its (empty) argument
// tuple, undefined behaviour that UndefinedBehaviorSanitizer reports.
caf::behavior bridge_actor(caf::event_based_actor* self, std::size_t /*number*/) {
  return {
      [self](dispatch_atom, bridge_job& job) {
        try {
          job(self);
        } catch (...) {
          // The job's exchange answers from its destructor.
        }
      },
  };
}

} // namespace

bridge::bridge(caf::actor_system& system, caf::timespan timeout, std::size_t count)
    : system_(system), timeout_(timeout) {
  for (std::size_t i = 0; i < count; ++i)
    bridges_.push_back(system_.spawn(bridge_actor, i));
}

bridge::~bridge() {
  for (auto& b : bridges_)
    caf::anon_send_exit(b, caf::exit_reason::user_shutdown);
  caf::scoped_actor self{system_};
  self->wait_for(bridges_);
}

void bridge::dispatch(bridge_job job) {
  auto& b = bridges_[next_.fetch_add(1, std::memory_order_relaxed) % bridges_.size()];
  caf::anon_send(b, dispatch_atom_v, std::move(job));
}

void bridge::stall(std::chrono::milliseconds ms) {
  for (auto& b : bridges_)
    caf::anon_send(b, dispatch_atom_v, bridge_job{[ms](caf::event_based_actor*) {
                     std::this_thread::sleep_for(ms);
                   }});
}

} // namespace um::http
