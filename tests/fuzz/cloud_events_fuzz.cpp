// A `POST /api/v1/events`: the first line of the input is the Content-Type,
// the rest the body. Accepted events carry every required attribute and a
// JSON object as data; a refusal is a 400 or 415 problem that renders; a
// stored event renders back as a CloudEvent.

#include "fuzz_support.hpp"
#include "model/bounded_json.hpp"
#include "model/cloud_events.hpp"
#include "model/meter_query.hpp"
#include "model/v1_render.hpp"

#include <nlohmann/json.hpp>

namespace {

using namespace um;
using fuzz::require;
using json = nlohmann::ordered_json;

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto [content_type, body] = fuzz::split_first_line(fuzz::as_text(data, size));
  const auto batch = model::parse_cloud_events(body, content_type, fuzz::now);
  if (!batch) {
    const auto status = model::http_status(batch.error->code);
    require(status == 400 || status == 415, "a refused body answers 400 or 415");
    require(!batch.error->message.empty(), "a refusal says why");
    require(batch.events.empty(), "a refused batch stores nothing");
    model::to_wire(
        model::problem_json(batch.error->code, batch.error->message, "/api/v1/events"));
    return 0;
  }
  require(!batch.events.empty(), "an accepted body holds events");
  for (const auto& e : batch.events) {
    require(!e.id.empty() && !e.source.empty() && !e.type.empty() && !e.subject.empty(),
            "id, source, type and subject are present");
    require(e.ingested_at == fuzz::now, "ingested now");
    const auto stored = json::parse(e.data, nullptr, false);
    require(stored.is_object(), "stored data is a JSON object");
    const auto wire = model::cloud_event_json(e);
    require(wire["data"] == stored, "the stored data renders back");
    require(wire["id"] == e.id && wire["subject"] == e.subject, "attributes render back");
    model::to_wire(model::ingested_event_json(e, std::nullopt));

    // A listed event can be sent again and is the same event. Known: a time
    // whose UTC year leaves 0000-9999 does not read back (issue 12,
    // timestamps); drop this exception once that is fixed.
    if (e.time < model::earliest_query_time || e.time > model::latest_query_time)
      continue;
    const auto again = model::parse_cloud_events(
        model::to_wire(wire), "application/cloudevents+json", fuzz::now);
    require(!!again && again.events.size() == 1, "a listed event parses again");
    const auto& a = again.events[0];
    require(a.id == e.id && a.source == e.source && a.type == e.type &&
                a.subject == e.subject && a.data == e.data && a.time == e.time,
            "a listed event parses to the same event");
  }
  return 0;
}
