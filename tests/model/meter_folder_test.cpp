#include "model/meter_evaluation.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <tuple>

namespace {

using namespace um::model;
using json = nlohmann::ordered_json;
using params = std::vector<std::pair<std::string, std::string>>;
using values_t = std::vector<std::optional<std::string>>;

constexpr millis now = 1'705'314'600'123;
// 2024-01-01T00:00:00Z.
constexpr millis jan1 = 1'704'067'200'000;
constexpr millis hour = 3'600'000;

meter tokens_meter(const std::string& aggregation) {
  auto m = parse_meter(json{{"slug", "tokens_total"},
                            {"aggregation", aggregation},
                            {"eventType", "prompt"},
                            {"valueProperty", "$.tokens"},
                            {"groupBy", {{"model", "$.model"}, {"type", "$.type"}}}},
                       now, "id");
  EXPECT_TRUE(m) << m.error;
  return m.value;
}

meter_query query_of(const meter& m, const params& p) {
  auto q = parse_meter_query(p, m);
  EXPECT_TRUE(q) << q.error;
  return q.value;
}

struct input_cell {
  std::string subject;
  values_t values; ///< In the meter's group-by order (model, type).
  millis bucket = 0;
  meter_cell cell;
};

meter_cell cell_of(double value, std::int64_t seq) {
  meter_sample s;
  s.value = value;
  s.time = jan1 + seq;
  s.unique_value = std::to_string(static_cast<int>(value) % 7);
  meter_cell c;
  c.add(s, seq);
  return c;
}

// The rows the folder must give, folded the obvious way: an ordered map from
// (window start, subject, requested values) to the merged cell.
std::vector<meter_row> brute_force(const meter& m, const meter_query& q,
                                   const std::vector<input_cell>& cells,
                                   const date::time_zone* zone) {
  bool by_subject = false;
  std::vector<std::size_t> indexes;
  for (const auto& key : q.group_by) {
    if (key == "subject")
      by_subject = true;
    for (std::size_t i = 0; i < m.group_by.size(); ++i)
      if (m.group_by[i].key == key)
        indexes.push_back(i);
  }
  std::map<std::tuple<millis, std::optional<std::string>, values_t>, meter_cell> folded;
  for (const auto& c : cells) {
    values_t values;
    for (auto i : indexes)
      values.push_back(c.values[i]);
    auto start = window_of(c.bucket, *q.window, zone).start;
    folded[{start, by_subject ? std::optional<std::string>{c.subject} : std::nullopt,
            values}]
        .merge(c.cell);
  }
  std::vector<meter_row> out;
  for (const auto& [key, cell] : folded) {
    meter_row row;
    row.value = cell.value(m.aggregation);
    auto w = window_of(std::get<0>(key), *q.window, zone);
    row.window_start = w.start;
    row.window_end = w.end;
    row.subject = std::get<1>(key);
    for (std::size_t i = 0; i < indexes.size(); ++i)
      row.group_by.emplace_back(m.group_by[indexes[i]].key, std::get<2>(key)[i]);
    out.push_back(row);
  }
  return out;
}

void expect_same_rows(const std::vector<meter_row>& got,
                      const std::vector<meter_row>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < want.size(); ++i) {
    SCOPED_TRACE("row " + std::to_string(i));
    EXPECT_EQ(got[i].window_start, want[i].window_start);
    EXPECT_EQ(got[i].window_end, want[i].window_end);
    EXPECT_EQ(got[i].subject, want[i].subject);
    EXPECT_EQ(got[i].group_by, want[i].group_by);
    EXPECT_DOUBLE_EQ(got[i].value, want[i].value);
  }
}

std::vector<input_cell> random_cells(std::mt19937& rng, int n) {
  const std::vector<std::string> subjects{"b", "a", "c10", "c9", "zz", ""};
  const std::vector<std::optional<std::string>> models{"gpt", "claude", std::nullopt,
                                                       "a"};
  const std::vector<std::optional<std::string>> types{"in", "out", std::nullopt};
  std::vector<input_cell> out;
  for (int i = 0; i < n; ++i) {
    input_cell c;
    c.subject = subjects[rng() % subjects.size()];
    c.values = {models[rng() % models.size()], types[rng() % types.size()]};
    c.bucket = jan1 + static_cast<millis>(rng() % (24 * 9)) * hour;
    c.cell = cell_of(static_cast<double>(rng() % 1000) / 8, i);
    out.push_back(c);
  }
  return out;
}

// Cells in any order (storage gives subject-major or bucket-major), folded
// into hours, days or months, by subject and by group values or not, give the
// rows a map would give, in the order the contract shows them.
TEST(meter_folder, folds_cells_in_any_order_like_an_ordered_map) {
  std::mt19937 rng(7);
  const auto* utc = try_locate_zone("UTC");
  const auto* berlin = try_locate_zone("Europe/Berlin");
  ASSERT_NE(utc, nullptr);
  ASSERT_NE(berlin, nullptr);
  for (const char* aggregation :
       {"SUM", "COUNT", "AVG", "MIN", "MAX", "LATEST", "UNIQUE_COUNT"}) {
    auto m = tokens_meter(aggregation);
    for (const params& p : std::vector<params>{
             {{"windowSize", "HOUR"}, {"groupBy", "subject"}},
             {{"windowSize", "DAY"}, {"groupBy", "subject"}, {"groupBy", "model"}},
             {{"windowSize", "DAY"}, {"groupBy", "type"}, {"groupBy", "model"}},
             {{"windowSize", "MONTH"}},
             {{"windowSize", "DAY"},
              {"windowTimeZone", "Europe/Berlin"},
              {"groupBy", "subject"}}}) {
      auto q = query_of(m, p);
      const auto* zone = q.time_zone == "UTC" ? utc : berlin;
      auto cells = random_cells(rng, 2000);
      for (int order = 0; order < 3; ++order) {
        if (order == 1)
          std::sort(cells.begin(), cells.end(), [](const auto& a, const auto& b) {
            return std::tie(a.subject, a.bucket) < std::tie(b.subject, b.bucket);
          });
        if (order == 2)
          std::sort(cells.begin(), cells.end(), [](const auto& a, const auto& b) {
            return std::tie(a.bucket, a.subject) < std::tie(b.bucket, b.subject);
          });
        SCOPED_TRACE(std::string(aggregation) + " " + p.front().second + " order " +
                     std::to_string(order));
        meter_folder folder{m, q, zone};
        for (const auto& c : cells)
          folder.add_cell(c.subject, c.values, c.bucket, c.bucket + hour, c.cell);
        expect_same_rows(folder.take_rows(), brute_force(m, q, cells, zone));
        EXPECT_EQ(folder.size(), 0u);
      }
    }
  }
}

// More cells than an answer may have rows, folding into few rows: the folder
// merges before its count passes the limit, so the count stays exact and the
// query is not refused.
TEST(meter_folder, many_cells_into_few_rows_stay_under_the_row_limit) {
  auto m = tokens_meter("SUM");
  auto q = query_of(m, {{"windowSize", "MONTH"}, {"groupBy", "subject"}});
  const auto* utc = try_locate_zone("UTC");
  meter_folder folder{m, q, utc};
  auto one = cell_of(2, 1);
  const std::string subjects[] = {"a", "b"};
  const std::size_t cells = max_query_rows + 50;
  for (std::size_t i = 0; i < cells; ++i) {
    // Alternating subjects: no cell folds into the one before it.
    folder.add_cell(subjects[i % 2], {std::nullopt, std::nullopt},
                    jan1 + static_cast<millis>(i % 600) * hour, jan1 + hour, one);
    ASSERT_LE(folder.size(), max_query_rows);
  }
  auto rows = folder.take_rows();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].subject, "a");
  EXPECT_EQ(rows[1].subject, "b");
  EXPECT_DOUBLE_EQ(rows[0].value + rows[1].value, 2.0 * cells);
}

} // namespace
