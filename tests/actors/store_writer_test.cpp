#include "tests/actors/actor_fixture.hpp"

#include <gtest/gtest.h>

namespace {

using namespace um;
using namespace um::testing;

class store_writer_test : public deterministic_actors {
protected:
  store_writer_test() {
    writer = sys.spawn(store_writer, ctx, probed_factory(dir.options(), probe));
  }

  model::append_outcomes append(std::vector<model::event> batch) {
    return answer<model::append_outcomes>(
        self->request(writer, caf::infinite, append_atom_v, std::string{"default"},
                      std::vector<std::string>{}, std::move(batch)));
  }

  store_writer_actor writer;
};

TEST_F(store_writer_test, appends_and_dedupes) {
  auto out = append(
      {make_event("a", "u", "t", base_day), make_event("b", "u", "t", base_day + 1)});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].status, model::append_status::stored);
  EXPECT_EQ(out[0].event.id, "a");
  EXPECT_EQ(out[1].event.id, "b");
  out = append(
      {make_event("c", "u", "t", base_day + 2), make_event("a", "u", "x", base_day + 3)});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].status, model::append_status::stored);
  EXPECT_EQ(out[1].status, model::append_status::duplicate);
  EXPECT_EQ(out[1].event.type, "t");
  EXPECT_EQ(storage::open_event_store(dir.options())->summarize("u", {}).total, 3);
  EXPECT_EQ(probe->appends, 2);
}

TEST_F(store_writer_test, purges_old_events) {
  append(
      {make_event("a", "u", "t", base_day), make_event("b", "u", "t", base_day + day)});
  auto removed = answer<std::uint64_t>(
      self->request(writer, caf::infinite, purge_atom_v, std::string{"default"},
                    model::millis{base_day + 1}, std::uint64_t{100}));
  EXPECT_EQ(removed, 1u);
  EXPECT_EQ(storage::open_event_store(dir.options())->summarize("u", {}).total, 1);
}

TEST_F(store_writer_test, answers_ping) {
  EXPECT_TRUE(answer<bool>(
      self->request(writer, caf::infinite, ping_atom_v, model::trace_ref{})));
}

TEST_F(store_writer_test, a_failed_commit_is_an_error_and_the_writer_recovers) {
  probe->fail_appends = true;
  auto err = failure<model::append_outcomes>(
      self->request(writer, caf::infinite, append_atom_v, std::string{"default"},
                    std::vector<std::string>{},
                    std::vector<model::event>{make_event("a", "u", "t", 1)}));
  EXPECT_EQ(to_api_error(err).code, model::error_code::unavailable) << sys.render(err);
  probe->fail_appends = false;
  auto out = append({make_event("a", "u", "t", 1)});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].status, model::append_status::stored);
  // The connection that failed mid-write was dropped and opened afresh.
  EXPECT_EQ(probe->opens, 2);
}

TEST_F(store_writer_test, cannot_open_is_unavailable) {
  probe->fail_open = true;
  auto err = failure<bool>(
      self->request(writer, caf::infinite, ping_atom_v, model::trace_ref{}));
  EXPECT_EQ(to_api_error(err).code, model::error_code::unavailable);
}

TEST_F(store_writer_test, updates_a_meter_by_id_or_slug_in_one_message) {
  auto m = model::parse_meter(nlohmann::ordered_json::parse(
                                  R"({"slug":"tok","aggregation":"SUM","eventType":"t",
                                      "valueProperty":"$.n"})"),
                              base_day, "m-id");
  ASSERT_TRUE(m) << m.error;
  answer<model::meter>(self->request(writer, caf::infinite, meter_add_atom_v,
                                     model::trace_ref{}, m.value));
  auto update = [&](const std::string& ref, const char* body) {
    return self->request(
        writer, caf::infinite, meter_set_atom_v, model::trace_ref{}, ref,
        model::read_meter_update(nlohmann::ordered_json::parse(body), base_day + 7));
  };
  auto updated = answer<model::meter>(update("tok", R"({"name":"Tokens"})"));
  EXPECT_EQ(updated.id, "m-id");
  EXPECT_EQ(updated.name, "Tokens");
  EXPECT_EQ(updated.updated_at, base_day + 7);
  // Checked against the stored meter, by the writer: nothing is written.
  auto err = failure<model::meter>(update("m-id", R"({"groupBy":{"n":"$.n"}})"));
  EXPECT_EQ(to_api_error(err).code, model::error_code::validation) << sys.render(err);
  err = failure<model::meter>(update("nope", "{}"));
  EXPECT_EQ(to_api_error(err).code, model::error_code::not_found) << sys.render(err);
  auto stored = storage::open_event_store(dir.options())->meters();
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0].meter.name, "Tokens");
  EXPECT_TRUE(stored[0].meter.group_by.empty());
  // A meter is deleted by slug too.
  EXPECT_TRUE(answer<bool>(self->request(writer, caf::infinite, meter_del_atom_v,
                                         model::trace_ref{}, std::string{"tok"})));
  EXPECT_TRUE(storage::open_event_store(dir.options())->meters().empty());
}

// A failed commit is logged once, naming every request whose events were in
// it; the error each request gets carries the cause for its own log line.
TEST_F(store_writer_test, a_failed_commit_names_every_request_in_it) {
  probe->fail_appends = true;
  ctx->logs->take();
  auto err = failure<model::append_outcomes>(
      self->request(writer, caf::infinite, append_atom_v, std::string{"default"},
                    std::vector<std::string>{"t-1", "t-2", "t-1"},
                    std::vector<model::event>{make_event("a", "u", "t", 1),
                                              make_event("b", "u", "t", 1),
                                              make_event("c", "u", "t", 1)}));
  auto api = to_api_error(err);
  EXPECT_EQ(api.code, model::error_code::unavailable);
  EXPECT_EQ(api.message, "Service temporarily unavailable, retry later");
  EXPECT_EQ(api.cause, "injected: disk busy");
  auto taken = ctx->logs->take();
  ASSERT_TRUE(taken.records);
  ASSERT_EQ(taken.records->size(), 1u);
  const auto& line = taken.records->front();
  EXPECT_EQ(line.level, model::log_level::error);
  EXPECT_EQ(line.message, "storage error: commit failed");
  ASSERT_EQ(line.fields.size(), 2u);
  EXPECT_EQ(line.fields[0].first, "error");
  EXPECT_EQ(std::get<std::string>(line.fields[0].second), "injected: disk busy");
  EXPECT_EQ(line.fields[1].first, "traceIds");
  EXPECT_EQ(std::get<std::vector<std::string>>(line.fields[1].second),
            (std::vector<std::string>{"t-1", "t-2"}));
}

} // namespace
