// Micro-benchmarks of the pure model functions on the request path (Google
// Benchmark). They link um_model only. Run: build-*/bench/um_micro_bench
// (bench/run --micro runs them with a short --benchmark_min_time).

#include "model/bounded_json.hpp"
#include "model/cloud_events.hpp"
#include "model/log_record.hpp"
#include "model/meter_evaluation.hpp"
#include "model/meter_query.hpp"
#include "model/metering.hpp"
#include "model/rollup_plan.hpp"
#include "model/v1_api.hpp"
#include "model/windows.hpp"

#include <algorithm>

#include <benchmark/benchmark.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using namespace um::model;
using ojson = nlohmann::ordered_json;

constexpr millis day_ms = 86'400'000;
constexpr millis t0 = 1'767'225'600'000; // 2026-01-01T00:00:00Z

const std::string v1_body =
    R"({"entityId":"customer-42","eventType":"api_call",)"
    R"("metadata":{"endpoint":"/search","tokens":120,"model":"medium"},)"
    R"("id":"order-1234567","timestamp":"2026-01-15T10:30:00.123Z"})";

const std::string v1_body_minimal =
    R"({"entityId":"customer-42","eventType":"api_call"})";

std::string cloud_batch(int n) {
  std::string out = "[";
  for (int i = 0; i < n; ++i) {
    if (i)
      out += ',';
    out += R"({"specversion":"1.0","id":"ce-)" + std::to_string(i) +
           R"(","source":"bench","type":"request","subject":"entity-)" +
           std::to_string(i % 1000) + R"(","time":"2026-01-15T10:30:00.123Z",)" +
           R"("data":{"tokens":)" + std::to_string(i % 997) + R"(,"model":"medium"}})";
  }
  return out + "]";
}

// --- v1 event: JSON parse, validation, and both (what POST /v1/events does) ---

void BM_v1_json_parse(benchmark::State& state) {
  for (auto _ : state) {
    auto body = try_parse_request_json(v1_body);
    benchmark::DoNotOptimize(body);
  }
}
BENCHMARK(BM_v1_json_parse);

void BM_v1_validate(benchmark::State& state) {
  auto body = ojson::parse(v1_body);
  for (auto _ : state) {
    auto e = parse_v1_event(body, t0);
    if (!e)
      throw std::runtime_error(e.error);
    benchmark::DoNotOptimize(e);
  }
}
BENCHMARK(BM_v1_validate);

void BM_v1_parse_and_validate(benchmark::State& state) {
  for (auto _ : state) {
    auto body = try_parse_request_json(v1_body);
    auto e = parse_v1_event(body.value, t0);
    benchmark::DoNotOptimize(e);
  }
}
BENCHMARK(BM_v1_parse_and_validate);

// No id and no timestamp: the service makes a UUID and stamps now.
void BM_v1_parse_and_validate_minimal(benchmark::State& state) {
  for (auto _ : state) {
    auto body = try_parse_request_json(v1_body_minimal);
    auto e = parse_v1_event(body.value, t0);
    benchmark::DoNotOptimize(e);
  }
}
BENCHMARK(BM_v1_parse_and_validate_minimal);

void BM_v1_batch_parse_and_validate(benchmark::State& state) {
  std::string body = R"({"events":[)";
  for (int i = 0; i < state.range(0); ++i) {
    if (i)
      body += ',';
    body += v1_body;
  }
  body += "]}";
  for (auto _ : state) {
    auto json = try_parse_request_json(body);
    auto events = parse_v1_batch(json.value, t0);
    benchmark::DoNotOptimize(events);
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(body.size()));
}
BENCHMARK(BM_v1_batch_parse_and_validate)->Arg(1000)->Unit(benchmark::kMicrosecond);

// --- JSON: one object of n members -----------------------------------------
// Linear in n: nlohmann's own ordered_json parser searched the members for
// every name, so n members cost n² (100,000 took about 9 s of CPU). The
// stored-data limits, which have no width bound, let 100,000 be read.

std::string wide_object(std::int64_t n) {
  std::string out = "{";
  for (std::int64_t i = n; i-- > 0;) {
    out += "\"k" + std::to_string(i) + "\":" + std::to_string(i);
    if (i)
      out += ',';
  }
  return out + "}";
}

void BM_json_parse_wide_object(benchmark::State& state) {
  auto text = wide_object(state.range(0));
  for (auto _ : state) {
    auto parsed = try_parse_json(text, stored_json_limits);
    if (!parsed)
      throw std::runtime_error(parsed.error);
    benchmark::DoNotOptimize(parsed);
  }
  state.SetComplexityN(state.range(0));
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_json_parse_wide_object)
    ->Arg(1'000)
    ->Arg(10'000)
    ->Arg(100'000)
    ->Unit(benchmark::kMicrosecond)
    ->Complexity();

// --- CloudEvents batch ---

void BM_cloud_events_batch(benchmark::State& state) {
  auto body = cloud_batch(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    auto batch = parse_cloud_events(body, "application/cloudevents-batch+json", t0);
    if (!batch)
      throw std::runtime_error(batch.error->message);
    benchmark::DoNotOptimize(batch);
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(body.size()));
}
BENCHMARK(BM_cloud_events_batch)->Arg(1)->Arg(1000)->Unit(benchmark::kMicrosecond);

void BM_rfc3339_parse(benchmark::State& state) {
  for (auto _ : state)
    benchmark::DoNotOptimize(try_parse_rfc3339("2026-01-15T10:30:00.123+02:00"));
}
BENCHMARK(BM_rfc3339_parse);

// --- bucketing ---

// A usage question's range: from a random millisecond, `range(0)` hours long.
void BM_plan_range(benchmark::State& state) {
  std::mt19937_64 rng{42};
  std::uniform_int_distribution<millis> jitter{0, day_ms};
  const millis length = state.range(0) * 3'600'000 + 12'345;
  std::vector<millis> starts(1024);
  for (auto& s : starts)
    s = t0 + jitter(rng);
  std::size_t i = 0;
  for (auto _ : state) {
    auto from = starts[i++ & 1023];
    auto spans = plan_range(from, from + length);
    benchmark::DoNotOptimize(spans);
  }
}
BENCHMARK(BM_plan_range)->Arg(1)->Arg(24)->Arg(24 * 30);

void BM_window_of_hour_utc(benchmark::State& state) {
  auto zone = try_locate_zone("UTC");
  millis t = t0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(window_of(t, window_size::hour, zone));
    t += 61'001;
  }
}
BENCHMARK(BM_window_of_hour_utc);

void BM_window_of_day_zone(benchmark::State& state) {
  auto zone = try_locate_zone("Europe/Berlin");
  millis t = t0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(window_of(t, window_size::day, zone));
    t += 3'600'001;
  }
}
BENCHMARK(BM_window_of_day_zone);

// --- meter cells ---

meter make_meter(const char* aggregation, bool group_by) {
  ojson entry = {
      {"slug", "bench_tokens"}, {"eventType", "request"}, {"aggregation", aggregation}};
  if (std::string{aggregation} != "COUNT")
    entry["valueProperty"] = "$.tokens";
  if (group_by)
    entry["groupBy"] = {{"model", "$.model"}};
  auto m = meter_from_config(entry, t0);
  if (!m)
    throw std::runtime_error(m.error);
  return m.value;
}

meter_sample sample_of(int i) {
  meter_sample s;
  s.subject = "entity-" + std::to_string(i % 1000);
  s.value = i % 997;
  s.time = t0 + i * 1000;
  return s;
}

void BM_meter_cell_add(benchmark::State& state) {
  std::vector<meter_sample> samples;
  for (int i = 0; i < 1024; ++i)
    samples.push_back(sample_of(i));
  meter_cell cell;
  std::int64_t seq = 0;
  for (auto _ : state) {
    cell.add(samples[seq & 1023], seq);
    ++seq;
  }
  benchmark::DoNotOptimize(cell);
}
BENCHMARK(BM_meter_cell_add);

void BM_meter_cell_add_unique(benchmark::State& state) {
  std::vector<meter_sample> samples;
  for (int i = 0; i < 1024; ++i) {
    samples.push_back(sample_of(i));
    samples.back().unique_value = "user-" + std::to_string(i % 64);
  }
  meter_cell cell;
  std::int64_t seq = 0;
  for (auto _ : state) {
    cell.add(samples[seq & 1023], seq);
    ++seq;
  }
  benchmark::DoNotOptimize(cell);
}
BENCHMARK(BM_meter_cell_add_unique);

void BM_meter_cell_merge(benchmark::State& state) {
  meter_cell a, b;
  for (int i = 0; i < 16; ++i)
    b.add(sample_of(i), i);
  for (auto _ : state) {
    a.merge(b);
    benchmark::DoNotOptimize(a);
  }
}
BENCHMARK(BM_meter_cell_merge);

void BM_extract_sample(benchmark::State& state) {
  auto m = make_meter("SUM", true);
  event e;
  e.id = "b-1";
  e.source = "usage-metrics/v1";
  e.type = "request";
  e.subject = "entity-1";
  e.time = t0;
  e.data = R"({"tokens":120,"model":"medium"})";
  for (auto _ : state)
    benchmark::DoNotOptimize(extract_sample(m, e));
}
BENCHMARK(BM_extract_sample);

// --- meter query folding: what a query over stored hour cells costs in the
// model, without storage. range(0) subjects x range(1) hours, windowed by hour
// and grouped by subject (one row per cell), or unwindowed (one row per subject).

void fold_cells(benchmark::State& state, bool windowed) {
  const int subjects = static_cast<int>(state.range(0));
  const int hours = static_cast<int>(state.range(1));
  auto m = make_meter("SUM", false);
  meter_query q;
  q.from = t0;
  q.to = t0 + hours * 3'600'000LL;
  q.from_given = q.to_given = true;
  if (windowed)
    q.window = window_size::hour;
  q.group_by = {"subject"};
  auto zone = try_locate_zone("UTC");
  std::vector<std::string> names;
  for (int s = 0; s < subjects; ++s)
    names.push_back("entity-" + std::to_string(s));
  std::sort(names.begin(), names.end()); // storage orders subjects as strings
  const std::vector<std::optional<std::string>> no_groups;
  meter_cell cell;
  for (int i = 0; i < 14; ++i)
    cell.add(sample_of(i), i);
  for (auto _ : state) {
    meter_folder folder{m, q, zone};
    // Storage returns cells ordered by bucket, then subject.
    for (int h = 0; h < hours; ++h)
      for (int s = 0; s < subjects; ++s) {
        millis b = q.from + h * 3'600'000LL;
        folder.add_cell(names[s], no_groups, b, b + 3'600'000, cell);
      }
    auto rows = folder.take_rows();
    benchmark::DoNotOptimize(rows);
  }
  state.SetItemsProcessed(state.iterations() * subjects * hours);
}

void BM_meter_fold_hourly_by_subject(benchmark::State& state) {
  fold_cells(state, true);
}
BENCHMARK(BM_meter_fold_hourly_by_subject)
    ->Args({10, 720})
    ->Args({1000, 720})
    ->Unit(benchmark::kMillisecond);

void BM_meter_fold_total_by_subject(benchmark::State& state) {
  fold_cells(state, false);
}
BENCHMARK(BM_meter_fold_total_by_subject)
    ->Args({1000, 720})
    ->Unit(benchmark::kMillisecond);

// Rendering the rows of the 30-day hourly query by subject (JSON).
meter_query hourly_by_subject_query() {
  meter_query q;
  q.from = t0;
  q.to = t0 + 720 * 3'600'000LL;
  q.from_given = q.to_given = true;
  q.window = window_size::hour;
  q.group_by = {"subject"};
  return q;
}

std::vector<meter_row> hourly_rows(const meter_query& q, int subjects, int hours) {
  std::vector<meter_row> rows;
  for (int h = 0; h < hours; ++h)
    for (int s = 0; s < subjects; ++s)
      rows.push_back({double(h % 997),
                      q.from + h * 3'600'000LL,
                      q.from + (h + 1) * 3'600'000LL,
                      "entity-" + std::to_string(s),
                      {}});
  return rows;
}

// The JSON tree, then its text: how answers were rendered before
// query_result_wire.
void BM_meter_query_result_json(benchmark::State& state) {
  const int subjects = static_cast<int>(state.range(0));
  auto q = hourly_by_subject_query();
  auto rows = hourly_rows(q, subjects, 720);
  for (auto _ : state) {
    auto text = query_result_json(q, rows).dump();
    benchmark::DoNotOptimize(text);
  }
  state.SetItemsProcessed(state.iterations() * subjects * 720);
}
BENCHMARK(BM_meter_query_result_json)->Arg(10)->Arg(1000)->Unit(benchmark::kMillisecond);

// The same text written row by row, as GET .../query answers now.
void BM_meter_query_result_wire(benchmark::State& state) {
  const int subjects = static_cast<int>(state.range(0));
  auto q = hourly_by_subject_query();
  auto rows = hourly_rows(q, subjects, 720);
  for (auto _ : state) {
    auto text = query_result_wire(q, rows);
    benchmark::DoNotOptimize(text);
  }
  state.SetItemsProcessed(state.iterations() * subjects * 720);
}
BENCHMARK(BM_meter_query_result_wire)->Arg(10)->Arg(1000)->Unit(benchmark::kMillisecond);

// --- log lines ---

void BM_format_log_line(benchmark::State& state) {
  request_log r{"POST",      "/v1/events", 201, 1.234, "0af7651916cd43dd8448eb211c80319c",
                "wrk/4.1.0", "127.0.0.1"};
  auto record = make_request_record(r, t0);
  for (auto _ : state)
    benchmark::DoNotOptimize(format_log_line(record));
}
BENCHMARK(BM_format_log_line);

void BM_make_and_format_log_line(benchmark::State& state) {
  request_log r{"POST",      "/v1/events", 201, 1.234, "0af7651916cd43dd8448eb211c80319c",
                "wrk/4.1.0", "127.0.0.1"};
  for (auto _ : state)
    benchmark::DoNotOptimize(format_log_line(make_request_record(r, t0)));
}
BENCHMARK(BM_make_and_format_log_line);

} // namespace

BENCHMARK_MAIN();
