#include "actors/actors.hpp"

#include <stdexcept>
#include <thread>

namespace um {

namespace {

using self_ptr = aggregation_actor::stateful_pointer<aggregation_state>;

// Runs `query` on the read connection, opening it first if needed; a storage
// failure becomes an error value and drops the connection for a fresh one.
template <class T, class Query>
caf::result<T> with_store(self_ptr self, const context_ptr& ctx,
                          const store_factory& open_store, Query query) {
  try {
    if (!self->state.store)
      self->state.store = open_store();
    return query(*self->state.store);
  } catch (const std::exception& e) {
    ctx->logs->log(model::log_level::error, "storage error: read failed",
                   {{"error", std::string{e.what()}}});
    self->state.store.reset();
    return to_error(e);
  }
}

} // namespace

aggregation_actor::behavior_type aggregation(self_ptr self, context_ptr ctx,
                                             store_factory open_store) {
  log_unhandled_exceptions(self, ctx, "aggregation");
  return {
      [](crash_atom) { throw std::runtime_error("injected crash"); },
      [](hang_atom, std::int64_t ms) {
        std::this_thread::sleep_for(std::chrono::milliseconds{ms});
      },
      [self, ctx, open_store](summary_atom, const std::string& subject,
                              const model::time_range& range) {
        return with_store<model::usage_summary>(
            self, ctx, open_store,
            [&](storage::event_store& s) { return s.summarize(subject, range); });
      },
      [self, ctx, open_store](history_atom, const std::string& subject,
                              model::interval width, const model::time_range& range) {
        return with_store<model::usage_history>(
            self, ctx, open_store,
            [&](storage::event_store& s) { return s.history(subject, width, range); });
      },
      [self, ctx, open_store](stats_atom, model::millis now) {
        return with_store<model::usage_stats>(
            self, ctx, open_store, [&](storage::event_store& s) { return s.stats(now); });
      },
      [self, ctx, open_store](list_atom, const model::event_filter& filter) {
        return with_store<model::event_page>(
            self, ctx, open_store,
            [&](storage::event_store& s) { return s.list_events(filter); });
      },
      [](ping_atom) { return true; },
  };
}

} // namespace um
