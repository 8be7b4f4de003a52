#include "actors/actors.hpp"

namespace um {

namespace {

using self_ptr = store_writer_actor::stateful_pointer<store_writer_state>;

// Logs a failure of the database as `storage error: <doing>`, naming every
// request it failed (several lines when a commit held very many).
void log_storage_error(const context_ptr& ctx, const char* doing, const std::string& what,
                       const std::vector<std::string>& trace_ids) {
  model::log_record line{model::log_level::error,
                         model::now_millis(),
                         std::string{"storage error: "} + doing,
                         {{"error", what}}};
  for (auto& part : model::split_by_trace_ids(line, trace_ids))
    ctx->logs->emit(std::move(part));
}

// Runs `work` on the write connection of namespace `ns`, opening it first if
// needed. A failure of the database is logged with the trace ids of the
// requests it fails and drops the connection, which the next call reopens; an
// answer about the data (a taken slug, an unknown meter) is not a failure of
// the store and keeps it.
template <class T, class Work>
caf::result<T> with_store(self_ptr self, const context_ptr& ctx,
                          const store_factory& open_store, const std::string& ns,
                          const char* doing, const std::vector<std::string>& trace_ids,
                          Work work) {
  auto& stores = self->state.stores;
  try {
    return work(store_of(stores, open_store, ctx->config, ns));
  } catch (const storage::storage_error& e) {
    auto kind = e.kind();
    if (kind != storage::failure_kind::conflict &&
        kind != storage::failure_kind::not_found) {
      log_storage_error(ctx, doing, e.what(), trace_ids);
      stores.erase(ns);
    }
    return to_error(e);
  } catch (const std::exception& e) {
    log_storage_error(ctx, doing, e.what(), trace_ids);
    stores.erase(ns);
    return to_error(e);
  }
}

} // namespace

store_writer_actor::behavior_type store_writer(self_ptr self, context_ptr ctx,
                                               store_factory open_store) {
  log_unhandled_exceptions(self, ctx, "store-writer");
  return {
      [self, ctx, open_store](append_atom, const std::string& ns,
                              const std::vector<std::string>& trace_ids,
                              const std::vector<model::event>& batch) {
        return with_store<model::append_outcomes>(
            self, ctx, open_store, ns, "commit failed", trace_ids,
            [&](storage::event_store& s) { return s.append(batch); });
      },
      [self, ctx, open_store](purge_atom, const std::string& ns, model::millis cutoff,
                              std::uint64_t max_events) {
        return with_store<std::uint64_t>(
            self, ctx, open_store, ns, "retention purge failed", {},
            [&](storage::event_store& s) {
              return static_cast<std::uint64_t>(s.purge_before(cutoff, max_events));
            });
      },
      // Readiness: every served namespace's connection makes a round trip.
      [self, ctx, open_store](ping_atom, const model::trace_ref& trace) {
        caf::result<bool> out = true;
        for (const auto& ns : model::served_namespaces(ctx->config.api_keys)) {
          out = with_store<bool>(self, ctx, open_store, ns, "ping failed", {trace.id},
                                 [](storage::event_store& s) {
                                   s.ping();
                                   return true;
                                 });
          if (out.flag != caf::rt_value)
            break;
        }
        return out;
      },
      [self, ctx, open_store](meter_add_atom, const model::trace_ref& trace,
                              const model::meter& m) {
        return with_store<model::meter>(self, ctx, open_store, trace.ns,
                                        "cannot create meter", {trace.id},
                                        [&](storage::event_store& s) {
                                          s.create_meter(m);
                                          return m;
                                        });
      },
      [self, ctx, open_store](meter_set_atom, const model::trace_ref& trace,
                              const model::meter& m) {
        return with_store<model::meter>(self, ctx, open_store, trace.ns,
                                        "cannot update meter", {trace.id},
                                        [&](storage::event_store& s) {
                                          s.update_meter(m);
                                          return m;
                                        });
      },
      [self, ctx, open_store](meter_set_atom, const model::trace_ref& trace,
                              const std::string& id_or_slug,
                              const model::meter_update& update) {
        return with_store<model::meter>(
            self, ctx, open_store, trace.ns, "cannot update meter", {trace.id},
            [&](storage::event_store& s) -> caf::result<model::meter> {
              auto updated = s.update_meter(id_or_slug, update);
              if (!updated) // the client's mistake: nothing was written
                return caf::make_error(model::error_code::validation, updated.error);
              return std::move(updated.value);
            });
      },
      [self, ctx, open_store](meter_del_atom, const model::trace_ref& trace,
                              const std::string& id) {
        return with_store<bool>(
            self, ctx, open_store, trace.ns, "cannot delete meter", {trace.id},
            [&](storage::event_store& s) { return s.delete_meter(id); });
      },
      [self, ctx, open_store](backfill_atom, const model::trace_ref& trace,
                              const std::string& id, std::uint64_t max_events) {
        return with_store<bool>(
            self, ctx, open_store, trace.ns, "meter backfill failed", {trace.id},
            [&](storage::event_store& s) { return s.backfill_meter(id, max_events); });
      },
      [self, ctx, open_store](meters_atom, const std::string& ns) {
        return with_store<std::vector<model::stored_meter>>(
            self, ctx, open_store, ns, "cannot read meters", {},
            [](storage::event_store& s) { return s.meters(); });
      },
  };
}

} // namespace um
