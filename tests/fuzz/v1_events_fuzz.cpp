// A body of `POST /v1/events` or `POST /v1/events/batch`, parsed as the HTTP
// front parses it and read by the v1 parsers: an accepted event obeys the
// contract's limits, and its answer renders.

#include "fuzz_support.hpp"
#include "model/bounded_json.hpp"
#include "model/meter_query.hpp"
#include "model/v1_api.hpp"
#include "model/v1_render.hpp"

#include <nlohmann/json.hpp>

namespace {

using namespace um;
using fuzz::require;
using json = nlohmann::ordered_json;

void check_event(const model::event& e) {
  require(!e.subject.empty() && model::js_length(e.subject) <= 255,
          "entityId is 1 to 255 characters");
  require(model::js_trim(e.subject) == e.subject, "entityId is trimmed");
  require(!e.type.empty() && model::js_length(e.type) <= 100,
          "eventType is 1 to 100 characters");
  require(model::js_trim(e.type) == e.type, "eventType is trimmed");
  require(!e.id.empty() && model::js_length(e.id) <= 255, "id is 1 to 255 characters");
  require(e.source == model::v1_source, "a v1 event has the v1 source");
  require(e.ingested_at == fuzz::now, "ingested now");
  const auto metadata = json::parse(e.data, nullptr, false);
  require(metadata.is_object(), "stored metadata is a JSON object");
  const auto wire = model::v1_event_json(e);
  // The same members and values; the answer lists keys in JavaScript's order
  // (integer-like keys first), as the earlier service did, whatever order was sent.
  require(nlohmann::json::parse(wire["metadata"].dump()) == nlohmann::json::parse(e.data),
          "the answer carries the metadata stored");
  model::to_wire(model::event_created_body(e));

  // What the service answers can be sent again (a client replaying what it
  // listed): it reads back as the same event.
  // Known: a time whose UTC year leaves 0000-9999 (reachable through an
  // offset) is written in a form no parser reads back (issue 12,
  // timestamps). Drop this exception once that is fixed.
  if (e.time < model::earliest_query_time || e.time > model::latest_query_time)
    return;
  const auto again = model::parse_v1_event(wire, fuzz::now);
  require(!!again, "an answered event parses again");
  require(again.value.id == e.id && again.value.subject == e.subject &&
              again.value.type == e.type &&
              nlohmann::json::parse(again.value.data) == nlohmann::json::parse(e.data) &&
              again.value.time == e.time,
          "an answered event parses to the same event");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // As http/server.cpp reads a JSON body.
  const auto body = json::parse(fuzz::as_text(data, size), nullptr, false);
  if (body.is_discarded())
    return 0;

  const auto one = model::parse_v1_event(body, fuzz::now);
  if (one)
    check_event(one.value);
  else
    require(!one.error.empty(), "a refused event says why");

  const auto batch = model::parse_v1_batch(body, fuzz::now);
  if (batch) {
    require(!batch.value.empty() && batch.value.size() <= model::max_batch_events,
            "a batch holds 1 to 1000 events");
    model::append_outcomes outcomes;
    for (const auto& e : batch.value) {
      check_event(e);
      outcomes.push_back({model::append_status::stored, e});
    }
    model::to_wire(model::batch_created_body(outcomes));
  } else {
    require(!batch.error.empty() && batch.value.empty(),
            "a refused batch says why and keeps nothing");
  }
  return 0;
}
