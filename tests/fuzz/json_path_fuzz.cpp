// A meter's JSON path (the first line of the input) against an event's data
// (the rest): a path parses to what it says, selects the same value in either
// JSON flavour, and every meter built on it reads the event without failing
// in any way but a validation error; the result rows it yields render the
// same through the fast writer and the JSON library.

#include "fuzz_support.hpp"
#include "model/bounded_json.hpp"
#include "model/meter_query.hpp"
#include "model/metering.hpp"
#include "model/v1_render.hpp"

#include <nlohmann/json.hpp>

#include <cmath>

namespace {

using namespace um;
using fuzz::require;

// The path with every step in brackets: `$['name']['it\'s'][0]`.
std::string bracket_form(const model::json_path& path) {
  std::string out = "$";
  for (const auto& step : path.steps) {
    if (step.index) {
      out += "[" + std::to_string(*step.index) + "]";
      continue;
    }
    out += "['";
    for (char c : step.name) {
      if (c == '\\' || c == '\'')
        out += '\\';
      out += c;
    }
    out += "']";
  }
  return out;
}

void check_rows_render_alike(const model::meter_query& q,
                             const std::vector<model::meter_row>& rows) {
  require(model::query_result_wire(q, rows) ==
              model::to_wire(model::query_result_json(q, rows)),
          "query_result_wire writes what the JSON library writes");
  model::query_result_csv(q, rows);
}

void check_meters_on(const model::json_path& path, std::string_view data_text) {
  model::event e;
  e.id = "evt-1";
  e.source = "fuzz";
  e.type = "prompt";
  e.subject = "customer-42";
  e.time = fuzz::now;
  e.data = std::string{data_text};
  for (auto aggregation :
       {model::meter_aggregation::sum, model::meter_aggregation::count,
        model::meter_aggregation::unique_count, model::meter_aggregation::avg,
        model::meter_aggregation::min, model::meter_aggregation::max,
        model::meter_aggregation::latest}) {
    model::meter m;
    m.slug = "fuzz_meter";
    m.aggregation = aggregation;
    m.event_type = "prompt";
    if (aggregation != model::meter_aggregation::count)
      m.value_property = path;
    m.group_by.push_back({"group", path});
    const auto sample = model::extract_sample(m, e);
    if (sample.status == model::sample_status::invalid) {
      require(!sample.error.empty(), "an invalid sample says why");
      continue;
    }
    require(sample.status == model::sample_status::counted,
            "an event of the type counts");
    require(std::isfinite(sample.sample.value), "a counted value is finite");
    require(sample.sample.group_values.size() == 1, "one value per group-by");
    model::meter_cell cell;
    cell.add(sample.sample, 1);
    model::meter_query q;
    q.group_by = {"subject", "group"};
    model::meter_row row;
    row.value = cell.value(aggregation);
    row.window_start = fuzz::now;
    row.window_end = fuzz::now + 60'000;
    row.subject = sample.sample.group_values[0].value_or(e.subject);
    row.group_by.emplace_back("group", sample.sample.group_values[0]);
    check_rows_render_alike(q, {row});
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto [path_text, data_text] = fuzz::split_first_line(fuzz::as_text(data, size));
  const auto path = model::parse_json_path(path_text);
  if (!path) {
    require(path.error.rfind("invalid JSONPath \"", 0) == 0, "the error names the path");
    return 0;
  }
  require(!path.value.steps.empty(), "a path has steps");
  require(path.value.text == path_text, "a path keeps its text");
  const auto again = model::parse_json_path(path.value.text);
  require(again && again.value == path.value, "a path's text parses to the same path");
  const auto bracketed = model::parse_json_path(bracket_form(path.value));
  require(bracketed && bracketed.value == path.value,
          "every name can be written in brackets, escaped");

  const auto plain = nlohmann::json::parse(data_text, nullptr, false);
  const auto ordered = nlohmann::ordered_json::parse(data_text, nullptr, false);
  if (plain.is_discarded())
    return 0;
  const auto* in_plain = model::evaluate(path.value, plain);
  const auto* in_ordered = model::evaluate(path.value, ordered);
  require((in_plain == nullptr) == (in_ordered == nullptr),
          "both JSON flavours find the same value");
  if (in_plain)
    require(in_plain->type() == in_ordered->type(), "... of the same type");
  if (plain.is_object())
    check_meters_on(path.value, ordered.dump());
  return 0;
}
