// The v1 API: events and usage (docs/API.md).

#include "http/handlers.hpp"
#include "http/translate.hpp"
#include "model/event_revision.hpp"
#include "model/v1_api.hpp"
#include "model/v1_render.hpp"

namespace um::http::v1 {

namespace {

// Applies the request's `Idempotency-Key` header, if any, to its events;
// false when it answered the exchange with the header's error.
bool apply_idempotency_key(const exchange_ptr& ex, const nlohmann::ordered_json& body,
                           std::vector<model::event>& events, bool batch) {
  auto key = ex->header("idempotency-key");
  if (!key)
    return true;
  auto problem = model::apply_idempotency_key(body, events, *key, batch);
  if (problem.empty())
    return true;
  ex->fail({model::error_code::validation, problem});
  return false;
}

} // namespace

std::string changed_by(const exchange_ptr& ex, const backend& b) {
  if (b.ctx->config.api_keys.empty())
    return model::api_key_label({});
  return model::api_key_label(presented_api_key(ex->header_or_empty("authorization"),
                                                ex->header_or_empty("x-api-key")));
}

void post_event(const exchange_ptr& ex, backend& b) {
  auto body = ex->json_body();
  if (!body)
    return;
  auto parsed = model::parse_v1_event(*body, model::now_millis());
  if (!parsed) {
    ex->fail({model::error_code::validation, parsed.error});
    return;
  }
  std::vector<model::event> events{std::move(parsed.value)};
  if (!apply_idempotency_key(ex, *body, events, false))
    return;
  b.actors.ask<model::append_outcomes>(
      ex, b.ctx->directory->ingest(),
      [](exchange& x, model::append_outcomes& out) {
        if (out.size() != 1) {
          x.fail({model::error_code::internal, "Internal server error",
                  "the store answered " + std::to_string(out.size()) +
                      " outcomes for one event"});
          return;
        }
        bool fresh = out[0].status == model::append_status::stored;
        x.respond(fresh ? 201 : 200, model::event_created_body(out[0].event));
      },
      ingest_atom_v, ex->trace(), std::move(events));
}

void post_batch(const exchange_ptr& ex, backend& b) {
  auto body = ex->json_body();
  if (!body)
    return;
  auto parsed = model::parse_v1_batch(*body, model::now_millis());
  if (!parsed) {
    ex->fail({model::error_code::validation, parsed.error});
    return;
  }
  if (!apply_idempotency_key(ex, *body, parsed.value, true))
    return;
  b.actors.ask<model::append_outcomes>(
      ex, b.ctx->directory->ingest(),
      [](exchange& x, model::append_outcomes& out) {
        x.respond(201, model::batch_created_body(out));
      },
      ingest_atom_v, ex->trace(), std::move(parsed.value));
}

namespace {

// Sends `change` to the store and answers 200 with the event as voided or
// as corrected (404 when no such event is stored).
void change_event(const exchange_ptr& ex, backend& b, model::event_change change) {
  change.by = changed_by(ex, b);
  b.actors.ask<model::change_outcome>(
      ex, b.ctx->directory->aggregation(),
      [](exchange& x, model::change_outcome& out) {
        const auto& shown = out.after ? out.after : out.before;
        if (!shown) {
          x.fail({model::error_code::internal, "Internal server error",
                  "the store answered a change without the event"});
          return;
        }
        x.respond(200, model::event_created_body(*shown));
      },
      change_atom_v, ex->trace(), std::move(change));
}

} // namespace

void void_event(const exchange_ptr& ex, backend& b) {
  auto id = ex->path_param("id");
  if (!id)
    return;
  model::event_change change;
  change.source = std::string{model::v1_source};
  change.id = *id;
  change.at = model::now_millis();
  change_event(ex, b, std::move(change));
}

void correct_event(const exchange_ptr& ex, backend& b) {
  auto id = ex->path_param("id");
  if (!id)
    return;
  auto body = ex->json_body();
  if (!body)
    return;
  auto parsed = model::parse_v1_correction(*body, *id, model::now_millis());
  if (!parsed) {
    ex->fail({model::error_code::validation, parsed.error});
    return;
  }
  change_event(ex, b, std::move(parsed.value));
}

void list_events(const exchange_ptr& ex, backend& b) {
  auto filter = model::parse_event_filter(ex->query());
  if (!filter) {
    ex->fail({model::error_code::validation, filter.error});
    return;
  }
  auto f = filter.value;
  b.actors.ask<model::event_page>(
      ex, b.ctx->directory->aggregation(),
      [f](exchange& x, model::event_page& page) {
        x.respond(200, model::events_page_body(page, f));
      },
      list_atom_v, ex->trace(), f);
}

void usage_stats(const exchange_ptr& ex, backend& b) {
  auto started_at = b.ctx->started_at;
  b.actors.ask<model::usage_stats>(
      ex, b.ctx->directory->aggregation(),
      [started_at](exchange& x, model::usage_stats& s) {
        auto now = model::now_millis();
        x.respond(200, model::stats_body(s, now - started_at, started_at));
      },
      stats_atom_v, ex->trace(), model::now_millis());
}

void usage_summary(const exchange_ptr& ex, backend& b) {
  auto entity = ex->path_param("entityId");
  if (!entity)
    return;
  auto range = model::parse_time_range(ex->query());
  if (!range) {
    ex->fail({model::error_code::validation, range.error});
    return;
  }
  auto period = model::period_of(range.value, b.ctx->started_at, model::now_millis());
  b.actors.ask<model::usage_summary>(
      ex, b.ctx->directory->aggregation(),
      [name = *entity, period](exchange& x, model::usage_summary& s) {
        x.respond(200, model::summary_body(name, s, period.since, period.until));
      },
      summary_atom_v, ex->trace(), *entity, range.value);
}

void usage_history(const exchange_ptr& ex, backend& b) {
  auto entity = ex->path_param("entityId");
  if (!entity)
    return;
  auto parsed = model::parse_history_query(ex->query());
  if (!parsed) {
    ex->fail({model::error_code::validation, parsed.error});
    return;
  }
  auto q = parsed.value;
  auto period = model::period_of(q.range, b.ctx->started_at, model::now_millis());
  b.actors.ask<model::usage_history>(
      ex, b.ctx->directory->aggregation(),
      [name = *entity, q, period](exchange& x, model::usage_history& h) {
        x.respond(200, model::history_body(name, q.width, h, period.since, period.until));
      },
      history_atom_v, ex->trace(), *entity, q.width, q.range);
}

} // namespace um::http::v1
