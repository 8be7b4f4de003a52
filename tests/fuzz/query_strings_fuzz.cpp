// A request's query string, through the two readers of http/translate.hpp and
// every parser of query parameters: the v1 events list, usage and history;
// the metering API's event search and meter query. Accepted parameters are in
// their documented ranges, and refusals say why.

#include "fuzz_support.hpp"
#include "http/translate.hpp"
#include "meter_query_checks.hpp"
#include "model/bounded_json.hpp"
#include "model/meter_query.hpp"
#include "model/rollup_plan.hpp"
#include "model/v1_api.hpp"
#include "model/v1_render.hpp"

namespace {

using namespace um;
using fuzz::require;

void check_readers_agree(const std::vector<std::pair<std::string, std::string>>& pairs,
                         const model::query_params& params) {
  // parse_query_string keeps the last value of a repeated name.
  model::query_params last;
  for (const auto& [name, value] : pairs)
    last[name] = value;
  require(last == params, "the map holds each name's last pair");
}

void check_v1(const model::query_params& params) {
  const auto filter = model::parse_event_filter(params);
  if (filter)
    require(filter.value.limit >= 1 && filter.value.limit <= 1000 &&
                filter.value.offset >= 0,
            "limit is 1 to 1000, offset not negative");
  const auto range = model::parse_time_range(params);
  const auto width = model::parse_history_interval(params);
  if (!range || !width) {
    require(!range.error.empty() || !width.error.empty(), "a refusal says why");
    return;
  }
  // As http/server.cpp answers usage and history (service start: an hour ago).
  const auto since = range.value.since.value_or(fuzz::now - 3'600'000);
  const auto until = range.value.until.value_or(fuzz::now);
  model::to_wire(model::summary_body("customer-42", {}, since, until));
  model::to_wire(model::history_body("customer-42", width.value, {}, since, until));
  if (since < until) {
    const auto plan =
        model::plan_history(since, until, model::interval_millis(width.value));
    require(plan.whole_from <= plan.whole_to, "whole buckets are ordered");
  }
}

void check_event_search(const model::query_params& params) {
  const auto search = model::parse_event_search(params, fuzz::now);
  if (!search) {
    require(!search.error.empty(), "a refusal says why");
    return;
  }
  const auto& s = search.value;
  require(s.time_from < s.time_to, "from is before to");
  require(s.limit >= 1 && s.limit <= 100, "limit is 1 to 100");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto query = fuzz::as_text(data, size);
  const auto pairs = http::parse_query_pairs(query);
  const auto params = http::parse_query_string(query);
  check_readers_agree(pairs, params);
  check_v1(params);
  check_event_search(params);
  fuzz::check_meter_query(model::parse_meter_query(pairs, fuzz::queried_meter()));
  return 0;
}
