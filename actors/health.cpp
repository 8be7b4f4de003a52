#include "actors/actors.hpp"
#include "actors/fault_injection.hpp"

#include <algorithm>

namespace um {

namespace {

using self_ptr = health_actor::stateful_pointer<health_state>;

// Collects the answers of the readiness checks and answers when all are in.
struct readiness_round {
  caf::typed_response_promise<model::readiness_report> promise;
  model::readiness_report report;
  std::size_t outstanding = 0;

  void record(std::size_t index, std::string result) {
    if (result != "ok")
      report.ready = false;
    report.checks[index].result = std::move(result);
    if (--outstanding == 0)
      promise.deliver(std::move(report));
  }
};

std::string reason_of(const caf::error& err) {
  auto api = to_api_error(err);
  if (api.code == model::error_code::timeout)
    return "timeout";
  if (err.category() == caf::atom("usage"))
    return "error";
  return "unavailable";
}

// Each check waits at most a second, and never so long that the /ready
// request itself would time out first.
caf::timespan check_timeout(const context_ptr& ctx) {
  caf::timespan half = std::chrono::milliseconds{ctx->config.request_timeout_ms / 2};
  return std::clamp<caf::timespan>(half, std::chrono::milliseconds{1},
                                   std::chrono::seconds{1});
}

// Asks `target` one readiness question (a `bool` answer) within the check
// timeout and hands `done` its result: `ok`, `error` (answered false or with
// an error of this service), `timeout`, `unavailable` or `down`.
template <class Handle, class Done, class... Question>
void ask(self_ptr self, const context_ptr& ctx, const Handle& target, Done done,
         Question... question) {
  if (!target) {
    done("down");
    return;
  }
  self->request(target, check_timeout(ctx), question...)
      .then([done](bool ok) { done(ok ? "ok" : "error"); },
            [done](caf::error& err) { done(reason_of(err)); });
}

template <class Handle, class... Question>
void check(self_ptr self, const context_ptr& ctx, std::shared_ptr<readiness_round> round,
           std::size_t index, const Handle& target, Question... question) {
  ask(
      self, ctx, target,
      [round, index](std::string result) { round->record(index, std::move(result)); },
      question...);
}

// The `storage` check: a round trip on each connection to the database, the
// writer's (through `ingest` and its `store-writer`) and the read connection
// (through `aggregation`), asked at once. `ok` when both are; else the
// reason of the writer's, or failing that of the read connection's.
void check_storage(self_ptr self, const context_ptr& ctx,
                   std::shared_ptr<readiness_round> round, std::size_t index,
                   const model::trace_ref& trace) {
  struct both {
    std::string write, read;
  };
  auto results = std::make_shared<both>();
  auto settle = [round, index, results] {
    if (results->write.empty() || results->read.empty())
      return;
    round->record(index, results->write != "ok" ? results->write : results->read);
  };
  auto& dir = *ctx->directory;
  ask(
      self, ctx, dir.ingest(),
      [results, settle](std::string r) {
        results->write = std::move(r);
        settle();
      },
      ready_atom_v, trace);
  ask(
      self, ctx, dir.aggregation(),
      [results, settle](std::string r) {
        results->read = std::move(r);
        settle();
      },
      ready_atom_v, trace);
}

model::health_report report_of(const health_state& st) {
  model::health_report report;
  report.components = st.components;
  for (const auto& c : report.components)
    if (c.state == model::component_state::failed)
      report.healthy = false;
  return report;
}

} // namespace

health_actor::behavior_type health(self_ptr self, context_ptr ctx) {
  log_unhandled_exceptions(self, ctx, "health");
  return with_fault_injection<health_actor::behavior_type>(
      [self](health_atom) { return report_of(self->state); },
      [self, ctx](ready_atom,
                  const model::trace_ref& trace) -> caf::result<model::readiness_report> {
        auto round = std::make_shared<readiness_round>();
        round->promise = self->make_response_promise<model::readiness_report>();
        auto& checks = round->report.checks;
        checks.push_back({"service", "ok"});
        auto& dir = *ctx->directory;
        std::size_t storage_index = checks.size();
        checks.push_back({"storage", ""});
        std::size_t ingest_index = checks.size();
        checks.push_back({"ingest", ""});
        std::size_t aggregation_index = checks.size();
        checks.push_back({"aggregation", ""});
        std::size_t logs_index = checks.size();
        checks.push_back({"log-shipper", ""});
        round->outstanding = 4;
        // Storage is a round trip on each connection to the database; the
        // parts answer a ping, which tells that they are alive and their
        // mailboxes move.
        check_storage(self, ctx, round, storage_index, trace);
        check(self, ctx, round, ingest_index, dir.ingest(), ping_atom_v);
        check(self, ctx, round, aggregation_index, dir.aggregation(), ping_atom_v);
        check(self, ctx, round, logs_index, dir.log_shipper(), ping_atom_v);
        return round->promise;
      },
      [self, ctx](status_atom, model::component_status& status) {
        auto& list = self->state.components;
        auto it = std::find_if(list.begin(), list.end(),
                               [&](const auto& c) { return c.name == status.name; });
        if (it != list.end())
          *it = std::move(status);
        else
          list.push_back(std::move(status));
        ctx->health_reports->publish(report_of(self->state));
      });
}

} // namespace um
