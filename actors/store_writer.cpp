#include "actors/actors.hpp"

namespace um {

namespace {

// Opens the connection if there is none; a failure stays a value.
caf::error ensure_open(store_writer_actor::stateful_pointer<store_writer_state> self,
                       const store_factory& open_store) {
  if (self->state.store)
    return caf::none;
  try {
    self->state.store = open_store();
    return caf::none;
  } catch (const std::exception& e) {
    return to_error(e);
  }
}

} // namespace

store_writer_actor::behavior_type
store_writer(store_writer_actor::stateful_pointer<store_writer_state> self,
             context_ptr ctx, store_factory open_store) {
  log_unhandled_exceptions(self, ctx, "store-writer");
  return {
      [self, ctx, open_store](append_atom, const std::vector<model::event>& batch)
          -> caf::result<model::append_outcomes> {
        if (auto err = ensure_open(self, open_store))
          return err;
        try {
          return self->state.store->append(batch);
        } catch (const storage::storage_error& e) {
          ctx->logs->log(model::log_level::error, "storage error: commit failed",
                         {{"error", std::string{e.what()}},
                          {"events", static_cast<std::int64_t>(batch.size())}});
          // A connection that failed mid-write is reopened on the next call.
          self->state.store.reset();
          return to_error(e);
        }
      },
      [self, ctx, open_store](purge_atom, model::millis cutoff,
                              std::uint64_t max_events) -> caf::result<std::uint64_t> {
        if (auto err = ensure_open(self, open_store))
          return err;
        try {
          return static_cast<std::uint64_t>(
              self->state.store->purge_before(cutoff, max_events));
        } catch (const storage::storage_error& e) {
          ctx->logs->log(model::log_level::error, "storage error: retention purge failed",
                         {{"error", std::string{e.what()}}});
          self->state.store.reset();
          return to_error(e);
        }
      },
      [self, open_store](ping_atom) -> caf::result<bool> {
        if (auto err = ensure_open(self, open_store))
          return err;
        try {
          self->state.store->ping();
          return true;
        } catch (const std::exception& e) {
          self->state.store.reset();
          return to_error(e);
        }
      },
  };
}

} // namespace um
