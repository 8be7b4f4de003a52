#pragma once

#include "actors/context.hpp"
#include "actors/fault_injection.hpp"
#include "actors/interfaces.hpp"
#include "model/meter_evaluation.hpp"
#include "storage/event_store.hpp"

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace um {

/// Opens a store connection to the store of a namespace; the actors that
/// own one call it (again after a failure), so tests can hand them any
/// backend.
using store_factory =
    std::function<std::unique_ptr<storage::event_store>(const std::string& ns)>;

/// The connections an actor owns, one per namespace it has served.
using namespace_stores = std::map<std::string, std::unique_ptr<storage::event_store>>;

/// The connection to namespace `ns` in `stores`, opened with `open` on first
/// use. A namespace the service does not serve (`model::serves_namespace`)
/// is refused with `internal`: only a bug could ask for one, and opening it
/// would create it.
storage::event_store& store_of(namespace_stores& stores, const store_factory& open,
                               const model::service_config& config,
                               const std::string& ns);

/// Folds the usage that `q` asks of meter `m` (in `zone`, not null) into
/// `folder`, from the store's rollup cells where whole minutes or hours lie
/// inside the period and from raw events where its edges cut them; calls
/// `bounded` after each cell or event, so that the caller can stop a read
/// that grows too big by throwing.
void fold_meter_usage(storage::event_store& s, const model::meter& m,
                      const model::meter_query& q, const date::time_zone* zone,
                      model::meter_folder& folder, const std::function<void()>& bounded);

/// The exit reason of a part that an exception ended, naming the request
/// whose message raised it (the error's context) when one did.
caf::error unhandled_exception_reason(const std::string& trace_id);

/// The trace id an exit reason names (`unhandled_exception_reason`); empty
/// for any other reason.
std::string trace_id_of(const caf::error& exit_reason);

/// The trace id that the message `self` is handling carries right after its
/// atom (a `model::trace_ref`), if it carries one.
template <class Self>
std::string trace_of_current_message(Self* self) {
  auto* element = self->current_mailbox_element();
  if (element == nullptr)
    return {};
  const auto& content = element->content();
  if (content.size() > 1 && content.template match_element<model::trace_ref>(1))
    return content.template get_as<model::trace_ref>(1).id;
  return {};
}

/// Makes an exception that escapes a handler of `self` end the actor with a
/// JSON `error` log line instead of CAF's message on stderr; the supervisor
/// then restarts it. The request whose message raised it (the message's
/// `model::trace_ref`) is named in the line (`traceId`) and in the exit
/// reason, which the supervisor's lines then name too.
template <class Self>
void log_unhandled_exceptions(Self* self, const context_ptr& ctx, const char* component) {
  auto logs = ctx->logs;
  self->set_exception_handler(
      [self, logs, component](std::exception_ptr& eptr) -> caf::error {
        std::string what = "unknown exception";
        try {
          std::rethrow_exception(eptr);
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        auto trace_id = trace_of_current_message(self);
        model::log_record line{model::log_level::error,
                               model::now_millis(),
                               "actor error: unhandled exception",
                               {{"component", std::string{component}}, {"error", what}}};
        model::add_trace_fields(line, {trace_id});
        logs->emit(std::move(line));
        return unhandled_exception_reason(trace_id);
      });
}

/// State of the log-shipper: lines waiting for one write.
struct log_shipper_state {
  static inline const char* name = "log-shipper";
  std::string buffer;
};

/// Writes the log sink's records to stdout as JSON lines: on each `log_atom`
/// it takes all that are queued and writes them with one `write` per 64 KiB.
log_shipper_actor::behavior_type
log_shipper(log_shipper_actor::stateful_pointer<log_shipper_state> self, context_ptr ctx);

/// State of the writer: its connection, opened lazily and reopened after a failure.
struct store_writer_state {
  static inline const char* name = "store-writer";
  namespace_stores stores;
};

/// The durable writer; spawn it detached: every call blocks on the disk.
store_writer_actor::behavior_type
store_writer(store_writer_actor::stateful_pointer<store_writer_state> self,
             context_ptr ctx, store_factory open_store);

/// One request waiting for the commit of its events.
struct pending_write {
  caf::typed_response_promise<model::append_outcomes> promise;
  std::vector<model::event> events; ///< The request's (one for self-tracking).
  std::string trace_id;             ///< The request's, for the log lines of its commit.
  std::string ns;                   ///< The namespace the events go to.
};

/// Bounds of the ingest queue.
struct ingest_limits {
  std::size_t max_queued_events = 50'000; ///< Past this, writes answer 503.
  std::size_t min_queued_events = 2'000;  ///< Always accepted, whatever the rate.
  std::size_t max_batch_events = 5'000;   ///< At most this many events per commit.
};

/// State of the ingest front.
struct ingest_state {
  static inline const char* name = "ingest";
  store_writer_actor writer;
  std::size_t queued = 0; ///< Events of the writes waiting.
  std::vector<pending_write> waiting;
  std::vector<caf::typed_response_promise<bool>> drained;
  std::vector<pending_write> in_commit; ///< The writes of the commit under way.
  bool committing = false;
  bool purging = false;
  std::size_t purge_turn = 0; ///< The served namespace retention visits next.
  caf::timestamp commit_started;
  double commit_rate = 0; ///< Events committed per second, smoothed.

  /// How many events may wait: what the writer commits in half a request
  /// timeout at its recent rate, within the configured bound, so an accepted
  /// write is answered in time and an overload is refused at once.
  std::size_t queue_bound(const ingest_limits& limits, int request_timeout_ms) const;

  /// A promise dropped unanswered leaves its requester waiting for a timeout;
  /// when ingest dies, everyone still waiting hears at once that it is down.
  ~ingest_state();
};

/// The ingest front. It spawns its writer (detached, linked: they live and die
/// together) from `open_store`.
ingest_actor::behavior_type ingest(ingest_actor::stateful_pointer<ingest_state> self,
                                   context_ptr ctx, store_factory open_store,
                                   ingest_limits limits);

/// State of the aggregation actor: its read connection.
struct aggregation_state {
  static inline const char* name = "aggregation";
  namespace_stores stores;
};

/// Answers usage questions; spawn it detached: every call blocks on the database.
aggregation_actor::behavior_type
aggregation(aggregation_actor::stateful_pointer<aggregation_state> self, context_ptr ctx,
            store_factory open_store);

/// Spawns the notifier (detached: every call blocks on the database) with
/// its webhook senders (detached too, linked to it: a slow receiver holds a
/// sender's thread only) and makes it known in the directory. Its settings
/// come from `ctx->config` (`alert_*`).
notifier_actor spawn_notifier(caf::actor_system& sys, context_ptr ctx,
                              store_factory open_store);

/// State of the health actor: the last state the supervisor reported per part.
struct health_state {
  static inline const char* name = "health";
  std::vector<model::component_status> components;
};

/// Health reporting; spawn it detached so that nothing else can delay it.
health_actor::behavior_type health(health_actor::stateful_pointer<health_state> self,
                                   context_ptr ctx);

/// Restart policy of the supervisor.
struct restart_policy {
  caf::timespan first_backoff = std::chrono::milliseconds{5};
  caf::timespan max_backoff = std::chrono::milliseconds{1000};
  int budget = 10;                                 ///< Restarts allowed per window...
  caf::timespan window = std::chrono::seconds{60}; ///< ...in this sliding window.
};

/// One part the supervisor keeps alive: its name (as `/health` reports it) and
/// how to spawn it, which also makes the new actor known where others find it.
struct supervised_part {
  std::string name;
  std::function<caf::actor_addr(caf::event_based_actor*)> spawn;
};

/// The service's parts in start order: log-shipper, health, ingest,
/// aggregation, notifier.
std::vector<supervised_part> service_parts(context_ptr ctx, store_factory writer_store,
                                           store_factory reader_store);

/// Spawns every part, monitors each, restarts a part that dies abnormally
/// with doubling backoff within its budget, and keeps the directory and the
/// health actor current. Backoffs and the budget's window run on the actor
/// system's clock. Returns the supervisor's handle.
caf::actor spawn_supervisor(caf::actor_system& sys, context_ptr ctx,
                            std::vector<supervised_part> parts,
                            restart_policy policy = {});

/// The same for the service's own parts (`service_parts`).
caf::actor spawn_supervisor(caf::actor_system& sys, context_ptr ctx,
                            store_factory writer_store, store_factory reader_store,
                            restart_policy policy = {});

} // namespace um
