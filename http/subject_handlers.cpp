// OpenMeter's subjects under /api/v1/subjects: upsert, list, get, delete.

#include "http/handlers.hpp"
#include "http/translate.hpp"
#include "model/subjects.hpp"

namespace um::http::metering {

void upsert_subjects(const exchange_ptr& ex, backend& b) {
  auto body = ex->json_body();
  if (!body)
    return;
  auto parsed = model::parse_subject_upserts(*body);
  if (!parsed) {
    ex->fail({model::error_code::validation, parsed.error});
    return;
  }
  b.actors.ask<std::vector<model::subject>>(
      ex, b.ctx->directory->aggregation(),
      [](exchange& x, std::vector<model::subject>& stored) {
        x.respond(200, model::subjects_json(stored));
      },
      subj_put_atom_v, ex->trace(), std::move(parsed.value), model::now_millis());
}

void list_subjects(const exchange_ptr& ex, backend& b) {
  b.actors.ask<std::vector<model::subject>>(
      ex, b.ctx->directory->aggregation(),
      [](exchange& x, std::vector<model::subject>& list) {
        x.respond(200, model::subjects_json(list));
      },
      subj_list_atom_v, ex->trace());
}

void get_subject(const exchange_ptr& ex, backend& b) {
  auto id = ex->path_param("subject");
  if (!id)
    return;
  b.actors.ask<model::subject>(
      ex, b.ctx->directory->aggregation(),
      [](exchange& x, model::subject& s) { x.respond(200, model::subject_json(s)); },
      subj_get_atom_v, ex->trace(), *id);
}

void delete_subject(const exchange_ptr& ex, backend& b) {
  auto id = ex->path_param("subject");
  if (!id)
    return;
  b.actors.ask<bool>(
      ex, b.ctx->directory->aggregation(), [](exchange& x, bool&) { x.no_content({}); },
      subj_del_atom_v, ex->trace(), *id);
}

} // namespace um::http::metering
