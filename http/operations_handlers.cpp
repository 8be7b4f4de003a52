// What the service says about itself (health, readiness, info, root, docs,
// metrics), its failure drills, the CORS preflight and the 404 of unknown
// routes.

#include "actors/fault_injection.hpp"
#include "http/handlers.hpp"
#include "http/openapi_document.hpp"
#include "model/fault_drill.hpp"
#include "model/v1_render.hpp"

namespace um::http {

std::string
health_wire_cache::body(const std::shared_ptr<const model::health_report>& report,
                        model::millis now) {
  auto cached = std::atomic_load(&latest_);
  if (!cached || cached->report != report) {
    cached =
        std::make_shared<const entry>(entry{report, model::health_wire_parts(*report)});
    std::atomic_store(&latest_, cached);
  }
  const auto& [head, tail] = cached->parts;
  std::string out;
  out.reserve(head.size() + 24 + tail.size());
  out += head;
  model::append_iso8601(out, now);
  out += tail;
  return out;
}

namespace operations {

void health(const exchange_ptr& ex, backend& b) {
  // The health actor publishes its report on every change; answering from
  // it here keeps /health fast however busy the actors are. Before the first
  // report, ask the actor.
  if (auto report = b.ctx->health_reports->latest()) {
    ex->text(report->healthy ? 200 : 503, b.health_wire.body(report, model::now_millis()),
             "application/json; charset=utf-8");
    return;
  }
  b.actors.ask<model::health_report>(
      ex, b.ctx->directory->health(),
      [](exchange& x, model::health_report& r) {
        x.respond(r.healthy ? 200 : 503, model::health_body(r, model::now_millis()));
      },
      health_atom_v);
}

void ready(const exchange_ptr& ex, backend& b) {
  b.actors.ask<model::readiness_report>(
      ex, b.ctx->directory->health(),
      [](exchange& x, model::readiness_report& r) {
        x.respond(r.ready ? 200 : 503, model::ready_body(r, model::now_millis()));
      },
      ready_atom_v, ex->trace());
}

void info(const exchange_ptr& ex, backend& b) {
  auto c = b.ctx;
  b.actors.ask<model::usage_stats>(
      ex, c->directory->aggregation(),
      [c](exchange& x, model::usage_stats& s) {
        x.respond(200, model::info_body(s, c->config.environment,
                                        model::now_millis() - c->started_at,
                                        c->logs->dropped()));
      },
      stats_atom_v, ex->trace(), model::now_millis());
}

void root(const exchange_ptr& ex, backend&) {
  ex->respond(200, model::root_body());
}

void docs(const exchange_ptr& ex, backend&) {
  ex->text(200, std::string{openapi_document()}, "application/yaml; charset=utf-8");
}

void metrics(const exchange_ptr& ex, backend& b) {
  auto c = b.ctx;
  const auto* books = &b.books;
  b.actors.ask<model::health_report>(
      ex, c->directory->health(),
      [c, books](exchange& x, model::health_report& report) {
        service_numbers n;
        n.events_stored = c->counters->events_stored.load();
        n.events_deduplicated = c->counters->events_deduplicated.load();
        n.ingest_rejected = c->counters->ingest_rejected.load();
        n.tracking_dropped = c->counters->tracking_dropped.load();
        n.ingest_queue_depth = c->counters->ingest_queue_depth.load();
        n.log_lines_dropped = c->logs->dropped();
        n.notifications_created = c->counters->notifications_created.load();
        n.notification_deliveries = c->counters->notification_deliveries.load();
        n.notification_failures = c->counters->notification_failures.load();
        n.notifications_given_up = c->counters->notifications_given_up.load();
        n.notification_channels_disabled =
            c->counters->notification_channels_disabled.load();
        n.notification_queue_depth = c->counters->notification_queue_depth.load();
        n.in_flight_requests = books->in_flight();
        n.uptime = model::now_millis() - c->started_at;
        x.text(200, books->metrics().render() + service_metrics_text(n, report),
               "text/plain; version=0.0.4; charset=utf-8");
      },
      health_atom_v);
}

void inject_fault(const exchange_ptr& ex, backend& b) {
  auto actor = ex->path_param("actor");
  auto fault = actor ? ex->path_param("fault") : std::nullopt;
  if (!fault)
    return;
  auto drill = model::parse_fault_drill(*actor, *fault, ex->query());
  if (!drill) {
    if (drill.error.code == model::error_code::not_found)
      not_found(ex, b);
    else
      ex->fail(drill.error);
    return;
  }
  const auto& d = *drill.value;
  if (d.target == model::drill_target::bridges) {
    b.actors.stall(std::chrono::milliseconds{d.ms});
    ex->respond(202, model::fault_drill_json(d));
    return;
  }
  const auto& dir = *b.ctx->directory;
  fault_injectable_actor target;
  switch (d.target) {
  case model::drill_target::ingest:
    target = dir.ingest();
    break;
  case model::drill_target::aggregation:
    target = dir.aggregation();
    break;
  case model::drill_target::health:
    target = dir.health();
    break;
  case model::drill_target::log_shipper:
    target = dir.log_shipper();
    break;
  case model::drill_target::notifier:
    target = dir.notifier();
    break;
  case model::drill_target::bridges:
    break;
  }
  if (!target) {
    ex->fail({model::error_code::unavailable,
              "Service temporarily unavailable, retry later", "the part is not running"});
    return;
  }
  if (d.kind == model::fault_kind::hang)
    caf::anon_send(target, hang_atom_v, d.ms);
  else
    caf::anon_send(target, crash_atom_v, ex->trace());
  ex->respond(202, model::fault_drill_json(d));
}

void preflight(const exchange_ptr& ex, backend& b) {
  header_list headers{
      {"Access-Control-Allow-Methods", b.routes.preflight_methods(ex->path())},
      {"Access-Control-Max-Age", "86400"}};
  auto requested = ex->header_or_empty("access-control-request-headers");
  headers.emplace_back(
      "Access-Control-Allow-Headers",
      requested.empty()
          ? std::string{"Content-Type, Authorization, x-api-key, x-trace-id"}
          : std::string{requested});
  headers.emplace_back("Vary", "Access-Control-Request-Headers");
  ex->no_content(std::move(headers));
}

void not_found(const exchange_ptr& ex, backend&) {
  ex->fail({model::error_code::not_found, route_not_found(ex->method(), ex->path())});
}

} // namespace operations

} // namespace um::http
