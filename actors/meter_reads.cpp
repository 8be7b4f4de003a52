// The read of a meter's usage that both the aggregation (queries) and the
// notifier (alert rules) make: rollup cells where whole minutes or hours lie
// inside the period, raw events at its cut edges.

#include "actors/actors.hpp"

namespace um {

void fold_meter_usage(storage::event_store& s, const model::meter& m,
                      const model::meter_query& q, const date::time_zone* zone,
                      model::meter_folder& folder, const std::function<void()>& bounded) {
  for (const auto& span : model::plan_meter_read(q, zone)) {
    if (span.grain == model::rollup_grain::raw) {
      for (const auto& e :
           s.events_of_type(m.event_type, span.from, span.to, q.subjects)) {
        auto sample = model::extract_sample(m, e.event);
        if (sample.status == model::sample_status::counted)
          folder.add_sample(sample.sample, e.seq);
        bounded();
      }
      continue;
    }
    auto grain = span.grain == model::rollup_grain::minute ? storage::meter_grain::minute
                                                           : storage::meter_grain::hour;
    auto width = model::grain_millis(span.grain);
    s.each_meter_cell(m.id, grain, span.from, span.to, q.subjects,
                      [&](storage::meter_cell_row& row) {
                        folder.add_cell(row.subject, row.group_values, row.bucket,
                                        row.bucket + width, row.cell);
                        bounded();
                      });
  }
}

} // namespace um
