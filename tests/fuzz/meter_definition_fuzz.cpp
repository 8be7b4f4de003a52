// A meter definition as a body of `POST /api/v1/meters`, `PUT
// /api/v1/meters/{id}` or an entry of the `--meters` file: an accepted meter
// obeys the documented limits, and what is stored of it reads back as the
// same meter (storage keeps meters as `meter_json`).

#include "fuzz_support.hpp"
#include "model/bounded_json.hpp"
#include "model/cloud_events.hpp"
#include "model/meter_query.hpp"
#include "model/metering.hpp"
#include "model/v1_render.hpp"

#include <nlohmann/json.hpp>

namespace {

using namespace um;
using fuzz::require;
using json = nlohmann::ordered_json;

void check_limits(const model::meter& m) {
  require(model::is_valid_meter_slug(m.slug), "slug is valid");
  require(!m.name.empty() && model::js_length(m.name) <= 256,
          "name is 1 to 256 characters");
  require(model::js_length(m.description) <= 1024, "description is at most 1024");
  require(!m.event_type.empty(), "eventType is present");
  require(m.value_property.has_value() ==
              (m.aggregation != model::meter_aggregation::count),
          "valueProperty exactly for all but COUNT");
  for (const auto& g : m.group_by) {
    require(!g.key.empty() && g.key.size() <= 64 && g.key != "subject",
            "group-by keys are 1 to 64 characters, not subject");
    require(!m.value_property || g.path != *m.value_property,
            "no group-by path equals valueProperty");
  }
}

// A meter as storage writes it and reads it back (storage/meter_rollup.cpp).
void check_stored_form_reads_back(const model::meter& m) {
  const auto text = model::to_wire(model::meter_json(m));
  const auto stored = json::parse(text, nullptr, false);
  require(stored.is_object(), "a stored meter is a JSON object");
  // Known: an eventFrom whose UTC year leaves 0000-9999 (accepted through an
  // offset, `0000-01-01T00:00:00+00:01`) is written in a form no parser reads
  // back (issue 12, timestamps). Drop this exception once that is fixed.
  if (m.event_from && (*m.event_from < model::earliest_query_time ||
                       *m.event_from > model::latest_query_time))
    return;
  const auto back = model::meter_from_json(stored);
  require(!!back, "a stored meter reads back");
  const auto& b = back.value;
  require(b.id == m.id && b.slug == m.slug && b.name == m.name &&
              b.description == m.description && b.aggregation == m.aggregation &&
              b.event_type == m.event_type && b.event_from == m.event_from &&
              b.value_property == m.value_property && b.created_at == m.created_at &&
              b.updated_at == m.updated_at && b.group_by.size() == m.group_by.size(),
          "a stored meter reads back the same");
  for (std::size_t i = 0; i < m.group_by.size(); ++i)
    require(b.group_by[i].key == m.group_by[i].key &&
                b.group_by[i].path == m.group_by[i].path &&
                b.group_by[i].path.text == m.group_by[i].path.text,
            "group-bys read back in order");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto body = json::parse(fuzz::as_text(data, size), nullptr, false);
  if (body.is_discarded())
    return 0;

  auto created =
      model::parse_meter(body, fuzz::now, "5db1bafd-4192-4383-8c50-5ef2eeffb15c");
  if (created) {
    check_limits(created.value);
    check_stored_form_reads_back(created.value);
  } else {
    require(!created.error.empty(), "a refused meter says why");
    model::to_wire(model::problem_json(model::error_code::validation, created.error,
                                       "/api/v1/meters"));
  }

  // The same body as a PUT on an existing meter: all or nothing.
  model::meter existing;
  existing.id = "m-1";
  existing.slug = "llm_tokens";
  existing.name = "LLM tokens";
  existing.aggregation = model::meter_aggregation::sum;
  existing.event_type = "prompt";
  existing.value_property = model::parse_json_path("$.tokens").value;
  existing.group_by.push_back({"model", model::parse_json_path("$.model").value});
  auto updated = existing;
  const auto problem = model::apply_meter_update(updated, body, fuzz::now + 1);
  if (problem.empty()) {
    require(updated.updated_at == fuzz::now + 1, "an update stamps updatedAt");
    require(updated.slug == existing.slug &&
                updated.value_property == existing.value_property,
            "an update keeps slug and valueProperty");
    check_limits(updated);
    check_stored_form_reads_back(updated);
  } else {
    require(updated.updated_at == existing.updated_at && updated.name == existing.name,
            "a refused update changes nothing");
  }

  // The same body as an entry of the meters file.
  const auto configured = model::meter_from_config(body, fuzz::now);
  if (configured) {
    require(configured.value.id == configured.value.slug,
            "a configured meter's id is its slug");
    check_limits(configured.value);
    check_stored_form_reads_back(configured.value);
  } else {
    require(!configured.error.empty(), "a refused entry says why");
  }
  return 0;
}
