#include "actors/actors.hpp"
#include "actors/fault_injection.hpp"

#include <algorithm>
#include <set>

namespace um {

namespace {

using self_ptr = ingest_actor::stateful_pointer<ingest_state>;

constexpr auto writer_timeout = std::chrono::seconds{30};
constexpr std::uint64_t purge_chunk = 5'000;

void answer_drains(self_ptr self) {
  auto& st = self->state;
  if (st.committing || !st.waiting.empty())
    return;
  for (auto& promise : st.drained)
    promise.deliver(true);
  st.drained.clear();
}

// Sends the queued writes of one namespace (the oldest write's), up to the
// batch bound, to the writer as one transaction. While that commit runs, new
// writes queue up and go together in the next one: this is the group commit.
// Writes to other namespaces keep their order and go in later commits.
// Tells the notifier which (type, subject)s a commit stored in `ns`, when
// some alert rule is enabled (usage alerts are evaluated after commits).
void tell_notifier(const context_ptr& ctx, const std::string& ns,
                   const model::append_outcomes& outcomes) {
  if (!ctx->counters->alert_rules_active.load(std::memory_order_relaxed))
    return;
  std::set<model::usage_touch> distinct;
  for (const auto& o : outcomes)
    if (o.status == model::append_status::stored)
      distinct.insert({o.event.type, o.event.subject});
  if (distinct.empty())
    return;
  if (auto notifier = ctx->directory->notifier())
    caf::anon_send(notifier, usage_atom_v, ns,
                   std::vector<model::usage_touch>(distinct.begin(), distinct.end()));
}

void commit_next(self_ptr self, context_ptr ctx, ingest_limits limits) {
  auto& st = self->state;
  if (st.committing || st.waiting.empty()) {
    answer_drains(self);
    return;
  }
  const std::string ns = st.waiting.front().ns;
  std::size_t events = 0;
  std::vector<pending_write> later;
  bool full = false; // a write of `ns` waits: the ones behind it wait too
  for (auto& write : st.waiting) {
    auto count = write.events.size();
    if (write.ns == ns && !full &&
        (events == 0 || events + count <= limits.max_batch_events)) {
      events += count;
      st.in_commit.push_back(std::move(write));
    } else {
      full = full || write.ns == ns;
      later.push_back(std::move(write));
    }
  }
  st.waiting = std::move(later);
  st.queued -= events;
  std::vector<model::event> batch;
  batch.reserve(events);
  std::vector<std::string> trace_ids;
  trace_ids.reserve(st.in_commit.size());
  // The events move into the batch; each write's vector keeps its count.
  for (auto& write : st.in_commit) {
    batch.insert(batch.end(), std::make_move_iterator(write.events.begin()),
                 std::make_move_iterator(write.events.end()));
    trace_ids.push_back(write.trace_id);
  }
  st.committing = true;
  st.commit_started = caf::make_timestamp();
  ctx->counters->ingest_queue_depth.store(static_cast<std::int64_t>(st.queued));
  self->request(st.writer, writer_timeout, append_atom_v, ns, std::move(trace_ids),
                std::move(batch))
      .then(
          [self, ctx, limits, ns](model::append_outcomes& outcomes) {
            auto& st = self->state;
            tell_notifier(ctx, ns, outcomes);
            std::chrono::duration<double> took =
                caf::make_timestamp() - st.commit_started;
            if (took.count() > 0) {
              double rate = static_cast<double>(outcomes.size()) / took.count();
              st.commit_rate =
                  st.commit_rate == 0 ? rate : 0.8 * st.commit_rate + 0.2 * rate;
            }
            std::size_t pos = 0, stored = 0;
            for (auto& write : st.in_commit) {
              auto count = write.events.size();
              if (write.promise.pending()) {
                model::append_outcomes mine(
                    std::make_move_iterator(outcomes.begin() + pos),
                    std::make_move_iterator(outcomes.begin() + pos + count));
                write.promise.deliver(std::move(mine));
              }
              pos += count;
            }
            for (const auto& o : outcomes)
              stored += o.status == model::append_status::stored ? 1 : 0;
            ctx->counters->events_stored += stored;
            ctx->counters->events_deduplicated += outcomes.size() - stored;
            st.in_commit.clear();
            st.committing = false;
            commit_next(self, ctx, limits);
          },
          [self, ctx, limits](caf::error& err) {
            for (auto& write : self->state.in_commit)
              if (write.promise.pending())
                write.promise.deliver(err);
            self->state.in_commit.clear();
            self->state.committing = false;
            commit_next(self, ctx, limits);
          });
}

// Retention visits the served namespaces in turn: a namespace's chunks go
// on while they come back full, then the next one's; a round that ends with
// the last namespace waits a minute.
void purge_next(self_ptr self, context_ptr ctx) {
  auto retention = model::try_parse_duration(ctx->config.retention);
  if (!retention || self->state.purging)
    return;
  auto served = model::served_namespaces(ctx->config.api_keys);
  auto& turn = self->state.purge_turn;
  turn %= served.size();
  auto ns = served[turn];
  self->state.purging = true;
  auto cutoff = model::now_millis() - *retention;
  self->request(self->state.writer, writer_timeout, purge_atom_v, ns, cutoff, purge_chunk)
      .then(
          [self, ctx, ns, count = served.size()](std::uint64_t removed) {
            auto& st = self->state;
            st.purging = false;
            if (removed > 0)
              ctx->logs->log(
                  model::log_level::info, "retention removed old events",
                  {{"removed", static_cast<std::int64_t>(removed)}, {"namespace", ns}});
            // A full chunk (or a whole day, which PostgreSQL removes at once)
            // means more may be due: go on soon, letting writes in between.
            auto pause = std::chrono::milliseconds{10};
            if (removed < purge_chunk) {
              st.purge_turn = (st.purge_turn + 1) % count;
              if (st.purge_turn == 0)
                pause = std::chrono::milliseconds{60'000};
            }
            self->delayed_send(self, pause, tick_atom_v);
          },
          [self](caf::error&) {
            self->state.purging = false;
            ++self->state.purge_turn;
            self->delayed_send(self, std::chrono::seconds{10}, tick_atom_v);
          });
}

constexpr std::uint64_t backfill_chunk = 5'000;

// Rolls up the next chunk of a meter's earlier events; writes queued meanwhile
// go between chunks.
void backfill_next(self_ptr self, context_ptr ctx, model::trace_ref trace,
                   std::string id) {
  self->request(self->state.writer, writer_timeout, backfill_atom_v, trace, id,
                backfill_chunk)
      .then(
          [self, ctx, trace, id](bool ready) {
            if (!ready) {
              self->send(self, backfill_atom_v, trace, id);
              return;
            }
            model::log_record line{model::log_level::info,
                                   model::now_millis(),
                                   "meter backfilled",
                                   {{"meter", id}}};
            model::add_trace_fields(line, {trace.id});
            ctx->logs->emit(std::move(line));
          },
          [self, trace, id](caf::error& err) {
            if (to_api_error(err).code == model::error_code::not_found)
              return; // deleted meanwhile
            self->delayed_send(self, std::chrono::seconds{1}, backfill_atom_v, trace, id);
          });
}

// Forwards a meter change to the writer and starts its backfill on success.
template <class Atom, class... Args>
caf::result<model::meter> change_meter(self_ptr self, Atom atom, model::trace_ref trace,
                                       Args&&... args) {
  auto promise = self->make_response_promise<model::meter>();
  self->request(self->state.writer, writer_timeout, atom, trace,
                std::forward<Args>(args)...)
      .then(
          [self, promise, trace](model::meter& stored) mutable {
            self->send(self, backfill_atom_v, trace, stored.id);
            promise.deliver(std::move(stored));
          },
          [promise](caf::error& err) mutable { promise.deliver(err); });
  return promise;
}

} // namespace

std::size_t ingest_state::queue_bound(const ingest_limits& limits,
                                      int request_timeout_ms) const {
  if (commit_rate <= 0)
    return limits.max_queued_events;
  auto bound = static_cast<std::size_t>(commit_rate * request_timeout_ms / 2000.0);
  return std::clamp(bound, limits.min_queued_events, limits.max_queued_events);
}

ingest_state::~ingest_state() {
  // Writes still queued were never sent to the writer: nothing of them is
  // stored (503). The commit under way may still land (its writer finishes
  // the transaction it is in): its outcome is unknown, and says so (504).
  auto down = caf::make_error(model::error_code::unavailable, "ingest stopped");
  auto unknown = caf::make_error(model::error_code::timeout,
                                 "ingest stopped during a commit: outcome unknown");
  for (auto& write : in_commit)
    if (write.promise.pending())
      write.promise.deliver(unknown);
  for (auto& write : waiting)
    if (write.promise.pending())
      write.promise.deliver(down);
  for (auto& promise : drained)
    if (promise.pending())
      promise.deliver(down);
}

ingest_actor::behavior_type ingest(self_ptr self, context_ptr ctx,
                                   store_factory open_store, ingest_limits limits) {
  log_unhandled_exceptions(self, ctx, "ingest");
  self->state.writer =
      self->spawn<caf::detached + caf::linked>(store_writer, ctx, open_store);
  if (!ctx->config.retention.empty())
    self->delayed_send(self, std::chrono::seconds{1}, tick_atom_v);
  // Resume the backfill of meters that were not finished when we stopped.
  for (const auto& ns : model::served_namespaces(ctx->config.api_keys))
    self->request(self->state.writer, writer_timeout, meters_atom_v, ns)
        .then(
            [self, ns](std::vector<model::stored_meter>& meters) {
              for (const auto& m : meters)
                if (!m.ready)
                  self->send(self, backfill_atom_v, model::trace_ref{{}, ns}, m.meter.id);
            },
            [](caf::error&) {});
  return with_fault_injection<ingest_actor::behavior_type>(
      [self, ctx,
       limits](ingest_atom, model::trace_ref& trace,
               std::vector<model::event>& events) -> caf::result<model::append_outcomes> {
        auto& st = self->state;
        auto bound = st.queue_bound(limits, ctx->config.request_timeout_ms);
        if (st.queued != 0 && st.queued + events.size() > bound) {
          ++ctx->counters->ingest_rejected;
          return caf::make_error(model::error_code::unavailable, "ingest queue is full");
        }
        auto promise = self->make_response_promise<model::append_outcomes>();
        st.queued += events.size();
        st.waiting.push_back(
            {promise, std::move(events), std::move(trace.id), std::move(trace.ns)});
        commit_next(self, ctx, limits);
        return promise;
      },
      [self, ctx, limits](track_atom, model::trace_ref& trace, model::event& e) {
        auto& st = self->state;
        if (st.queued >= st.queue_bound(limits, ctx->config.request_timeout_ms)) {
          ++ctx->counters->tracking_dropped;
          return;
        }
        std::vector<model::event> one;
        one.push_back(std::move(e));
        ++st.queued;
        st.waiting.push_back({caf::typed_response_promise<model::append_outcomes>{},
                              std::move(one), std::move(trace.id), std::move(trace.ns)});
        commit_next(self, ctx, limits);
      },
      [self](drain_atom) -> caf::result<bool> {
        auto& st = self->state;
        if (!st.committing && st.waiting.empty())
          return true;
        auto promise = self->make_response_promise<bool>();
        st.drained.push_back(promise);
        return promise;
      },
      [](ping_atom) { return true; },
      [self](ready_atom, const model::trace_ref& trace) -> caf::result<bool> {
        auto promise = self->make_response_promise<bool>();
        self->request(self->state.writer, std::chrono::seconds{2}, ping_atom_v, trace)
            .then([promise](bool ok) mutable { promise.deliver(ok); },
                  [promise](caf::error& err) mutable { promise.deliver(err); });
        return promise;
      },
      [self, ctx](tick_atom) { purge_next(self, ctx); },
      [self](meter_add_atom, model::trace_ref& trace, model::meter& m) {
        return change_meter(self, meter_add_atom_v, std::move(trace), std::move(m));
      },
      [self](meter_set_atom, model::trace_ref& trace, model::meter& m) {
        return change_meter(self, meter_set_atom_v, std::move(trace), std::move(m));
      },
      [self](meter_set_atom, model::trace_ref& trace, std::string& id_or_slug,
             model::meter_update& update) {
        return change_meter(self, meter_set_atom_v, std::move(trace),
                            std::move(id_or_slug), std::move(update));
      },
      [self](meter_del_atom, model::trace_ref& trace,
             std::string& id) -> caf::result<bool> {
        auto promise = self->make_response_promise<bool>();
        self->request(self->state.writer, writer_timeout, meter_del_atom_v,
                      std::move(trace), std::move(id))
            .then([promise](bool existed) mutable { promise.deliver(existed); },
                  [promise](caf::error& err) mutable { promise.deliver(err); });
        return promise;
      },
      [self, ctx](backfill_atom, model::trace_ref& trace, std::string& id) {
        backfill_next(self, ctx, std::move(trace), std::move(id));
      });
}

} // namespace um
