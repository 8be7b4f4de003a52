// A JSON body of `POST /api/v1/meters/{idOrSlug}/query` (OpenMeter's
// MeterQueryRequest), read as actors/aggregation.cpp reads it.

#include "fuzz_support.hpp"
#include "meter_query_checks.hpp"
#include "model/meter_query.hpp"

#include <nlohmann/json.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace um;
  const auto body =
      nlohmann::ordered_json::parse(fuzz::as_text(data, size), nullptr, false);
  if (body.is_discarded())
    return 0;
  fuzz::check_meter_query(model::parse_meter_query_json(body, fuzz::queried_meter()));
  return 0;
}
