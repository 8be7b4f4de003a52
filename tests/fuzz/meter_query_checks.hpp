#pragma once

// What holds of every meter query the parsers accept, whether it came as a
// query string or as a JSON body, and the meter they are asked about.

#include "fuzz_support.hpp"
#include "model/bounded_json.hpp"
#include "model/cloud_events.hpp"
#include "model/meter_evaluation.hpp"
#include "model/meter_query.hpp"
#include "model/v1_render.hpp"

#include <algorithm>

namespace um::fuzz {

/// The documented example meter: SUM of `$.tokens` by `model` and `region`.
inline const model::meter& queried_meter() {
  static const model::meter m = [] {
    model::meter out;
    out.id = "5db1bafd-4192-4383-8c50-5ef2eeffb15c";
    out.slug = "llm_tokens";
    out.name = "LLM tokens";
    out.aggregation = model::meter_aggregation::sum;
    out.event_type = "prompt";
    out.value_property = model::parse_json_path("$.tokens").value;
    out.group_by.push_back({"model", model::parse_json_path("$.model").value});
    out.group_by.push_back({"region", model::parse_json_path("$.region").value});
    return out;
  }();
  return m;
}

/// Checks an accepted query, then answers it as the aggregation actor does
/// over one sample, and renders the rows both ways.
inline void check_meter_query(const model::validated<model::meter_query>& parsed) {
  if (!parsed) {
    require(!parsed.error.empty(), "a refused query says why");
    model::to_wire(model::problem_json(model::error_code::validation, parsed.error,
                                       "/api/v1/meters/llm_tokens/query"));
    return;
  }
  const auto& q = parsed.value;
  const auto& m = queried_meter();
  require(!(q.from_given && q.to_given) || q.from < q.to, "from is before to");
  const auto* zone = model::try_locate_zone(q.time_zone);
  require(zone != nullptr, "the time zone is known");
  for (const auto& s : q.subjects)
    require(!s.empty(), "subjects are not empty");
  const bool by_subject =
      std::find(q.group_by.begin(), q.group_by.end(), "subject") != q.group_by.end();
  require(q.subjects.size() <= 1 || by_subject, "several subjects need groupBy=subject");
  for (const auto& key : q.group_by)
    require(key == "subject" ||
                std::any_of(m.group_by.begin(), m.group_by.end(),
                            [&](const model::meter_group_by& g) { return g.key == key; }),
            "groupBy names subject or a key of the meter");
  for (std::size_t i = 0; i < q.group_by.size(); ++i)
    require(std::find(q.group_by.begin() + i + 1, q.group_by.end(), q.group_by[i]) ==
                q.group_by.end(),
            "groupBy has no repeats");

  // As actors/aggregation.cpp answers it: the read plan, then the fold.
  const auto spans = model::plan_meter_read(q, zone);
  for (const auto& span : spans)
    require(span.from < span.to, "read spans are not empty");
  model::meter_folder folder{m, q, zone};
  model::meter_sample sample;
  sample.subject = q.subjects.empty() ? "customer-42" : q.subjects.front();
  for (const auto& g : m.group_by) {
    std::optional<std::string> value;
    for (const auto& [key, wanted] : q.filter_group_by)
      if (key == g.key)
        value = wanted;
    sample.group_values.push_back(value);
  }
  sample.value = 120;
  sample.time = q.from_given ? q.from : fuzz::now;
  require(model::matches_query_filters(q, m, sample), "a sample of the filters matches");
  folder.add_sample(sample, 1);
  const auto rows = folder.take_rows();
  require(model::query_result_wire(q, rows) ==
              model::to_wire(model::query_result_json(q, rows)),
          "query_result_wire writes what the JSON library writes");
  model::query_result_csv(q, rows);
}

} // namespace um::fuzz
