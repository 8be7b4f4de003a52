#include "actors/actors.hpp"

#include <deque>

namespace um {

namespace {

// One supervised part: how to (re)spawn it and what happened to it so far.
struct child {
  std::string name;
  std::function<caf::actor_addr(caf::event_based_actor*)> spawn;
  caf::actor_addr addr;
  model::component_status status;
  // On the actor clock (steady; the test coordinator's in tests), like the backoff.
  std::deque<caf::actor_clock::time_point> recent_restarts;
  caf::timespan backoff{0};
  /// The request whose message ended the part last, if one did (its restart
  /// line names it too).
  std::string crashed_by;
};

// Appends `traceId` when a request ended the part.
std::vector<std::pair<std::string, model::log_value>>
naming(std::vector<std::pair<std::string, model::log_value>> fields,
       const std::string& trace_id) {
  if (!trace_id.empty())
    fields.emplace_back("traceId", trace_id);
  return fields;
}

struct supervisor_state {
  static inline const char* name = "supervisor";
  std::vector<child> children;
  bool stopping = false;
};

using self_ptr = caf::stateful_actor<supervisor_state>*;

void publish(self_ptr self, const context_ptr& ctx, const child& c) {
  if (auto h = ctx->directory->health())
    self->send(h, status_atom_v, c.status);
}

void publish_all(self_ptr self, const context_ptr& ctx) {
  for (const auto& c : self->state.children)
    publish(self, ctx, c);
}

void start(self_ptr self, const context_ptr& ctx, child& c) {
  c.addr = c.spawn(self);
  self->monitor(caf::actor_cast<caf::actor>(c.addr));
  c.status.state = model::component_state::up;
  c.status.detail.clear();
  // A new health actor starts empty: tell it everything.
  if (c.name == "health")
    publish_all(self, ctx);
  else
    publish(self, ctx, c);
}

void on_down(self_ptr self, const context_ptr& ctx, const restart_policy& policy,
             const caf::down_msg& msg) {
  auto& children = self->state.children;
  auto it = std::find_if(children.begin(), children.end(),
                         [&](const child& c) { return c.addr == msg.source; });
  if (it == children.end() || self->state.stopping)
    return;
  auto& c = *it;
  c.addr = nullptr;
  auto now = self->clock().now();
  while (!c.recent_restarts.empty() && now - c.recent_restarts.front() > policy.window)
    c.recent_restarts.pop_front();
  // The reason without its context, which names the request (below).
  auto reason = caf::to_string(caf::error{msg.reason.code(), msg.reason.category()});
  c.crashed_by = trace_id_of(msg.reason);
  if (static_cast<int>(c.recent_restarts.size()) >= policy.budget) {
    c.status.state = model::component_state::failed;
    c.status.detail = "restart budget exhausted";
    ctx->logs->log(model::log_level::error,
                   "component failed: error budget of restarts exhausted",
                   naming({{"component", c.name},
                           {"restarts", static_cast<std::int64_t>(c.status.restarts)},
                           {"reason", reason}},
                          c.crashed_by));
    publish(self, ctx, c);
    return;
  }
  // Doubling backoff, reset once the part has been stable for a while.
  if (c.recent_restarts.empty())
    c.backoff = policy.first_backoff;
  else
    c.backoff = std::min(c.backoff * 2, policy.max_backoff);
  c.recent_restarts.push_back(now);
  ++c.status.restarts;
  c.status.state = model::component_state::restarting;
  c.status.detail = reason;
  ctx->logs->log(
      model::log_level::error, "component error: restarting",
      naming({{"component", c.name},
              {"reason", reason},
              {"restarts", static_cast<std::int64_t>(c.status.restarts)},
              {"backoffMs",
               static_cast<std::int64_t>(
                   std::chrono::duration_cast<std::chrono::milliseconds>(c.backoff)
                       .count())}},
             c.crashed_by));
  publish(self, ctx, c);
  self->delayed_send(self, c.backoff, restart_atom_v, c.name);
}

caf::behavior supervisor(self_ptr self, context_ptr ctx,
                         std::vector<supervised_part> parts, restart_policy policy) {
  auto& children = self->state.children;
  for (auto& part : parts) {
    child c;
    c.name = part.name;
    c.status.name = std::move(part.name);
    c.spawn = std::move(part.spawn);
    children.push_back(std::move(c));
  }
  for (auto& c : children)
    start(self, ctx, c);
  self->set_down_handler(
      [self, ctx, policy](caf::down_msg& msg) { on_down(self, ctx, policy, msg); });
  self->set_exit_handler([self](caf::exit_msg& msg) {
    self->state.stopping = true;
    // Stop the parts in reverse order of start, the log-shipper last.
    for (auto it = self->state.children.rbegin(); it != self->state.children.rend(); ++it)
      if (it->addr)
        self->send_exit(it->addr, msg.reason);
    self->quit(msg.reason);
  });
  return {
      [self, ctx](restart_atom, const std::string& name) {
        if (self->state.stopping)
          return;
        for (auto& c : self->state.children)
          if (c.name == name && !c.addr) {
            start(self, ctx, c);
            ctx->logs->log(
                model::log_level::info, "component restarted",
                naming({{"component", c.name},
                        {"restarts", static_cast<std::int64_t>(c.status.restarts)}},
                       c.crashed_by));
          }
      },
  };
}

} // namespace

std::vector<supervised_part> service_parts(context_ptr ctx, store_factory writer_store,
                                           store_factory reader_store) {
  std::vector<supervised_part> parts;
  parts.push_back({"log-shipper", [ctx](caf::event_based_actor* s) {
                     auto h = s->spawn<caf::detached>(log_shipper, ctx);
                     ctx->directory->set(h);
                     ctx->logs->attach(h);
                     return h.address();
                   }});
  parts.push_back({"health", [ctx](caf::event_based_actor* s) {
                     auto h = s->spawn<caf::detached>(health, ctx);
                     ctx->directory->set(h);
                     return h.address();
                   }});
  parts.push_back({"ingest", [ctx, writer_store](caf::event_based_actor* s) {
                     auto h = s->spawn(ingest, ctx, writer_store, ingest_limits{});
                     ctx->directory->set(h);
                     return h.address();
                   }});
  parts.push_back({"aggregation", [ctx, reader_store](caf::event_based_actor* s) {
                     auto h = s->spawn<caf::detached>(aggregation, ctx, reader_store);
                     ctx->directory->set(h);
                     return h.address();
                   }});
  parts.push_back({"notifier", [ctx, reader_store](caf::event_based_actor* s) {
                     return spawn_notifier(s->system(), ctx, reader_store).address();
                   }});
  return parts;
}

caf::actor spawn_supervisor(caf::actor_system& sys, context_ptr ctx,
                            std::vector<supervised_part> parts, restart_policy policy) {
  return sys.spawn(supervisor, std::move(ctx), std::move(parts), policy);
}

caf::actor spawn_supervisor(caf::actor_system& sys, context_ptr ctx,
                            store_factory writer_store, store_factory reader_store,
                            restart_policy policy) {
  auto parts = service_parts(ctx, std::move(writer_store), std::move(reader_store));
  return spawn_supervisor(sys, std::move(ctx), std::move(parts), policy);
}

} // namespace um
