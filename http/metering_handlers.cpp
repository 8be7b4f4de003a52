// The metering API under /api/v1 (OpenMeter's): CloudEvents ingestion, the
// event search, meters and their queries.

#include "http/handlers.hpp"
#include "http/translate.hpp"
#include "model/cloud_events.hpp"
#include "model/event_listing.hpp"
#include "model/event_revision.hpp"
#include "model/meter_query.hpp"
#include "model/metering.hpp"
#include "model/trace_id.hpp"

#include <malloc.h>

namespace um::http::metering {

namespace {

// Rows of a meter answer above which the memory it used is trimmed.
constexpr std::size_t large_answer_rows = 20'000;

void answer_query(const exchange_ptr& ex, backend& b, const std::string& meter,
                  model::meter_query_input input) {
  bool csv = wants_csv(ex->header_or_empty("accept"));
  b.actors.ask<meter_query_answer>(
      ex, b.ctx->directory->aggregation(),
      [csv](exchange& x, meter_query_answer& a) { send_query_answer(x, a, csv); },
      query_atom_v, ex->trace(), meter, std::move(input));
}

} // namespace

void send_query_answer(exchange& x, meter_query_answer& a, bool csv) {
  auto rows = std::move(a.rows);
  auto body = csv ? model::query_result_csv(a.query, rows)
                  : model::query_result_wire(a.query, rows);
  const bool large = rows.size() > large_answer_rows;
  std::vector<model::meter_row>{}.swap(rows);
  if (csv)
    x.text(200, std::move(body), "text/csv",
           {{"Content-Disposition", "attachment; filename=" + a.slug + ".csv"}});
  else
    x.text(200, std::move(body), "application/json; charset=utf-8");
  // A large answer leaves hundreds of MB of freed rows, cells and
  // strings in glibc's per-thread arenas; hand them back to the OS.
  if (large)
    malloc_trim(0);
}

void ingest_events(const exchange_ptr& ex, backend& b) {
  if (ex->body().size() > max_body_bytes) {
    ex->fail({model::error_code::payload_too_large, "Request body exceeds 1mb limit"});
    return;
  }
  auto batch = model::parse_cloud_events(ex->body(), ex->header_or_empty("content-type"),
                                         model::now_millis());
  if (batch.error) {
    ex->fail(*batch.error);
    return;
  }
  b.actors.ask<model::append_outcomes>(
      ex, b.ctx->directory->ingest(),
      [](exchange& x, model::append_outcomes&) { x.no_content({}); }, ingest_atom_v,
      ex->trace(), std::move(batch.events));
}

namespace {

// Sends `change` to the store and answers 204 (404 when no such event is
// stored).
void change_event(const exchange_ptr& ex, backend& b, model::event_change change) {
  change.by = v1::changed_by(ex, b);
  b.actors.ask<model::change_outcome>(
      ex, b.ctx->directory->aggregation(),
      [](exchange& x, model::change_outcome&) { x.no_content({}); }, change_atom_v,
      ex->trace(), std::move(change));
}

} // namespace

void void_event(const exchange_ptr& ex, backend& b) {
  auto parsed = model::parse_void_query(ex->query(), model::now_millis());
  if (!parsed) {
    ex->fail({model::error_code::validation, parsed.error});
    return;
  }
  change_event(ex, b, std::move(parsed.value));
}

void correct_event(const exchange_ptr& ex, backend& b) {
  if (ex->body().size() > max_body_bytes) {
    ex->fail({model::error_code::payload_too_large, "Request body exceeds 1mb limit"});
    return;
  }
  model::api_error error;
  auto parsed = model::parse_cloud_event_correction(
      ex->body(), ex->header_or_empty("content-type"), model::now_millis(), error);
  if (!parsed) {
    ex->fail(error);
    return;
  }
  change_event(ex, b, std::move(parsed.value));
}

void search_events(const exchange_ptr& ex, backend& b) {
  auto search = model::parse_event_search(ex->query(), model::now_millis());
  if (!search) {
    ex->fail({model::error_code::validation, search.error});
    return;
  }
  b.actors.ask<std::vector<model::searched_event>>(
      ex, b.ctx->directory->aggregation(),
      [](exchange& x, std::vector<model::searched_event>& events) {
        x.respond(200, model::searched_events_json(events));
      },
      search_atom_v, ex->trace(), search.value);
}

void list_events_v2(const exchange_ptr& ex, backend& b) {
  auto listing = model::parse_event_listing(ex->query());
  if (!listing) {
    ex->fail({model::error_code::validation, listing.error});
    return;
  }
  b.actors.ask<model::event_listing_page>(
      ex, b.ctx->directory->aggregation(),
      [](exchange& x, model::event_listing_page& page) {
        x.respond(200, model::event_listing_json(page));
      },
      listing_atom_v, ex->trace(), std::move(listing.value));
}

void create_meter(const exchange_ptr& ex, backend& b) {
  auto body = ex->json_body();
  if (!body)
    return;
  auto parsed = model::parse_meter(*body, model::now_millis(), model::new_uuid_v4());
  if (!parsed) {
    ex->fail({model::error_code::validation, parsed.error});
    return;
  }
  b.actors.ask<model::meter>(
      ex, b.ctx->directory->ingest(),
      [](exchange& x, model::meter& m) { x.respond(201, model::meter_json(m)); },
      meter_add_atom_v, ex->trace(), std::move(parsed.value));
}

void list_meters(const exchange_ptr& ex, backend& b) {
  b.actors.ask<std::vector<model::stored_meter>>(
      ex, b.ctx->directory->aggregation(),
      [](exchange& x, std::vector<model::stored_meter>& meters) {
        std::vector<model::meter> list;
        for (auto& m : meters)
          list.push_back(std::move(m.meter));
        x.respond(200, model::meter_list_json(list));
      },
      meters_atom_v, ex->trace());
}

void get_meter(const exchange_ptr& ex, backend& b) {
  auto id = ex->path_param("meter");
  if (!id)
    return;
  b.actors.ask<model::stored_meter>(
      ex, b.ctx->directory->aggregation(),
      [](exchange& x, model::stored_meter& m) {
        x.respond(200, model::meter_json(m.meter));
      },
      meter_get_atom_v, ex->trace(), *id);
}

void update_meter(const exchange_ptr& ex, backend& b) {
  auto id = ex->path_param("meter");
  auto body = id ? ex->json_body() : std::nullopt;
  if (!body)
    return;
  b.actors.ask<model::meter>(
      ex, b.ctx->directory->ingest(),
      [](exchange& x, model::meter& m) { x.respond(200, model::meter_json(m)); },
      meter_set_atom_v, ex->trace(), *id,
      model::read_meter_update(*body, model::now_millis()));
}

void delete_meter(const exchange_ptr& ex, backend& b) {
  auto id = ex->path_param("meter");
  if (!id)
    return;
  b.actors.ask<bool>(
      ex, b.ctx->directory->ingest(),
      [id = *id](exchange& x, bool existed) {
        if (existed)
          x.no_content({});
        else
          x.fail({model::error_code::not_found, "meter not found: " + id});
      },
      meter_del_atom_v, ex->trace(), *id);
}

void query_meter(const exchange_ptr& ex, backend& b) {
  auto id = ex->path_param("meter");
  if (!id)
    return;
  answer_query(ex, b, *id, model::read_meter_query_params(ex->query_pairs()));
}

void query_meter_body(const exchange_ptr& ex, backend& b) {
  auto id = ex->path_param("meter");
  if (!id)
    return;
  auto body = ex->json_body();
  if (!body)
    return;
  answer_query(ex, b, *id, model::read_meter_query_body(*body));
}

void meter_subjects(const exchange_ptr& ex, backend& b) {
  auto id = ex->path_param("meter");
  if (!id)
    return;
  b.actors.ask<std::vector<std::string>>(
      ex, b.ctx->directory->aggregation(),
      [](exchange& x, std::vector<std::string>& v) {
        x.respond(200, nlohmann::ordered_json(v));
      },
      subjects_atom_v, ex->trace(), *id);
}

void group_by_values(const exchange_ptr& ex, backend& b) {
  auto id = ex->path_param("meter");
  auto key = id ? ex->path_param("key") : std::nullopt;
  if (!key)
    return;
  auto period = model::parse_group_values_period(ex->query(), model::now_millis());
  if (!period) {
    ex->fail({model::error_code::validation, period.error});
    return;
  }
  b.actors.ask<std::vector<std::string>>(
      ex, b.ctx->directory->aggregation(),
      [](exchange& x, std::vector<std::string>& v) {
        x.respond(200, nlohmann::ordered_json(v));
      },
      values_atom_v, ex->trace(), *id, *key, period.value.from, period.value.to);
}

} // namespace um::http::metering
