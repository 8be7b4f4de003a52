#include "storage/meter_rollup.hpp"

#include "model/bounded_json.hpp"
#include "model/meter_storage_form.hpp"
#include "storage/sql_bounds.hpp"

#include <limits>

#include <nlohmann/json.hpp>

namespace um::storage {

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

backfill_chunk::backfill_chunk(meter_record meter, std::size_t max_events)
    : meter_(std::move(meter)), max_events_(max_events), last_(meter_.position.cursor) {
  one_.push_back({meter_.id, meter_.definition});
}

std::int64_t backfill_chunk::limit() const {
  return sql_limit(max_events_);
}

void backfill_chunk::add(std::int64_t seq, const model::event& e) {
  ++read_;
  last_ = seq;
  delta_.add_event(one_, e, seq);
}

std::int64_t backfill_chunk::next_cursor() const {
  return read_ < max_events_ ? meter_.position.until : last_;
}

void meter_cell_stream::add_unique(model::millis bucket, const std::string& subject,
                                   const std::string& group_key, std::string value) {
  uniques_[{bucket, subject, group_key}].insert(std::move(value));
}

void meter_cell_stream::add_cell(model::millis bucket, const std::string& subject,
                                 const std::string& group_key, model::meter_cell cell) {
  auto group = groups_.find(group_key);
  if (group == groups_.end())
    group = groups_.emplace(group_key, parse_meter_group_key(group_key)).first;
  if (!uniques_.empty()) {
    auto values = uniques_.find({bucket, subject, group_key});
    if (values != uniques_.end()) {
      cell.uniques = std::move(values->second);
      uniques_.erase(values);
    }
  }
  row_.bucket = bucket;
  row_.subject = subject;
  row_.group_values = group->second;
  row_.cell = std::move(cell);
  visit_(row_);
}

std::set<touched_hour> touched_hours(const std::vector<meter_record>& meters,
                                     const model::event& before,
                                     const model::event* after) {
  constexpr model::millis hour = 3'600'000;
  std::set<touched_hour> out;
  for (const auto& m : meters)
    for (const auto* e : {&before, after})
      if (e && m.definition.event_type == e->type)
        out.insert({m.id, e->subject, model::bucket_floor(e->time, hour)});
  return out;
}

meter_delta rebuild_hour(const meter_record& meter, const touched_hour& hour,
                         const std::vector<sequenced_event>& events) {
  const std::vector<active_meter> one{{meter.id, meter.definition}};
  constexpr model::millis hour_ms = 3'600'000;
  meter_delta out;
  for (const auto& [seq, e] : events)
    if (rollups_cover(meter.position, seq) && e.subject == hour.subject &&
        e.time >= hour.hour && e.time < hour.hour + hour_ms)
      out.add_event(one, e, seq);
  return out;
}

void active_meters::load(std::int64_t version, std::vector<active_meter> meters) {
  meters_ = std::move(meters);
  version_ = version;
  loaded_ = true;
}

model::meter parse_stored_meter(const std::string& definition) {
  auto m = model::from_storage_form(definition);
  if (!m)
    throw storage_error(failure_kind::internal, "metering: " + m.error);
  return std::move(m.value);
}

std::string stored_meter_text(const model::meter& m) {
  return model::to_storage_form(m);
}

} // namespace um::storage
