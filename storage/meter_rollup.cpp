#include "storage/meter_rollup.hpp"

#include "model/bounded_json.hpp"

#include <limits>

#include <nlohmann/json.hpp>

namespace um::storage {

std::int64_t backfill_limit(std::size_t n) {
  constexpr auto most = std::numeric_limits<std::int64_t>::max();
  return n > static_cast<std::size_t>(most) ? most : static_cast<std::int64_t>(n);
}

model::millis meter_grain_millis(meter_grain g) {
  return g == meter_grain::minute ? 60'000 : 3'600'000;
}

std::string meter_group_key(const std::vector<std::optional<std::string>>& values) {
  auto array = nlohmann::json::array();
  for (const auto& v : values)
    array.push_back(v ? nlohmann::json(*v) : nlohmann::json(nullptr));
  return array.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::vector<std::optional<std::string>> parse_meter_group_key(const std::string& key) {
  auto parsed = model::try_parse_json<nlohmann::json>(key, model::stored_json_limits);
  const auto& array = parsed.value;
  if (!parsed || !array.is_array())
    throw storage_error(failure_kind::internal, "metering: bad stored group key " + key);
  std::vector<std::optional<std::string>> out;
  out.reserve(array.size());
  for (const auto& v : array) {
    if (v.is_string())
      out.emplace_back(v.get<std::string>());
    else if (v.is_null())
      out.emplace_back(std::nullopt);
    else
      throw storage_error(failure_kind::internal,
                          "metering: bad stored group key " + key);
  }
  return out;
}

bool same_meter_counting(const model::meter& before, const model::meter& after) {
  if (before.group_by.size() != after.group_by.size())
    return false;
  for (std::size_t i = 0; i < before.group_by.size(); ++i)
    if (before.group_by[i].key != after.group_by[i].key ||
        before.group_by[i].path != after.group_by[i].path)
      return false;
  return before.aggregation == after.aggregation &&
         before.event_type == after.event_type && before.event_from == after.event_from &&
         before.value_property == after.value_property;
}

void meter_delta::add_event(const std::vector<active_meter>& meters,
                            const model::event& e, std::int64_t seq) {
  std::optional<nlohmann::json> data;
  for (const auto& m : meters) {
    if (m.definition.event_type != e.type)
      continue;
    // Data sent null or absent reads as null: counted by COUNT meters only.
    if (!data)
      data = model::event_data(e);
    auto x = model::extract_sample(m.definition, e, *data);
    if (x.status == model::sample_status::counted)
      add_sample(m.id, x.sample, seq);
  }
}

void meter_delta::add_sample(const std::string& meter_id, const model::meter_sample& s,
                             std::int64_t seq) {
  auto group = meter_group_key(s.group_values);
  for (auto g : {meter_grain::minute, meter_grain::hour}) {
    auto bucket = model::bucket_floor(s.time, meter_grain_millis(g));
    cells[static_cast<int>(g)][key{meter_id, bucket, s.subject, group}].add(s, seq);
  }
}

model::meter parse_stored_meter(const std::string& definition) {
  auto stored = model::try_parse_json(definition, model::stored_json_limits);
  if (!stored)
    throw storage_error(failure_kind::internal, "metering: stored meter is not JSON");
  auto m = model::meter_from_json(stored.value);
  if (!m.error.empty())
    throw storage_error(failure_kind::internal, "metering: stored meter: " + m.error);
  return std::move(m.value);
}

std::string stored_meter_text(const model::meter& m) {
  return model::meter_json(m).dump(-1, ' ', false,
                                   nlohmann::ordered_json::error_handler_t::replace);
}

} // namespace um::storage
