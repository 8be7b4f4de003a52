#include "app/service.hpp"

#include "actors/actors.hpp"
#include "app/cli.hpp"
#include "app/healthcheck.hpp"
#include "http/routes.hpp"
#include "http/server.hpp"
#include "storage/sqlite_import.hpp"

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <pthread.h>
#include <thread>

namespace um::app {

namespace {

using namespace std::chrono_literals;

// A failure to start, as one JSON log line on stderr (the log-shipper that
// writes stdout may not exist yet): `startup error: <what>` at level error,
// with the detail in `error`, so that the same Logs Insights queries find it.
void report_startup_error(std::string what, std::string detail) {
  auto text = model::format_log_line(model::make_startup_error_record(
                  std::move(what), std::move(detail), model::now_millis())) +
              "\n";
  std::fwrite(text.data(), 1, text.size(), stderr);
  std::fflush(stderr);
}

// A line written at once on stdout, before the log-shipper exists (the
// import runs before any part starts, so nothing else writes then).
void startup_log(const model::service_config& config, model::log_level level,
                 std::string message,
                 std::vector<std::pair<std::string, model::log_value>> fields) {
  auto threshold = model::try_parse_log_level(config.log_level);
  if (threshold && level < *threshold)
    return;
  model::log_record record{level, model::now_millis(), std::move(message),
                           std::move(fields)};
  auto text = model::format_log_line(record) + "\n";
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
}

// The first start on a data dir of an earlier release moves its SQLite
// file into the embedded store, before anything can read or write either.
// False (and the error reported) when it failed: the service does not
// start on a store that lacks what the file holds.
bool import_earlier_data_dir(const model::service_config& config,
                             const storage::store_options& options) {
  auto file = storage::sqlite_file_to_import(options);
  if (!file)
    return true;
  auto started = std::chrono::steady_clock::now();
  auto last_report = started;
  startup_log(config, model::log_level::info, "storage: importing the SQLite data dir",
              {{"file", *file}});
  try {
    auto target = storage::open_event_store(options);
    auto result = storage::import_sqlite_store(
        *file, *target, [&](std::int64_t read, std::int64_t total) {
          auto now = std::chrono::steady_clock::now();
          if (now - last_report < 10s)
            return;
          last_report = now;
          startup_log(config, model::log_level::info, "storage: import progress",
                      {{"eventsRead", read}, {"eventsTotal", total}});
        });
    auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - started);
    startup_log(config, model::log_level::info, "storage: SQLite data dir imported",
                {{"eventsRead", result.events_read},
                 {"eventsStored", result.events_stored},
                 {"meters", static_cast<std::int64_t>(result.meters)},
                 {"subjects", static_cast<std::int64_t>(result.subjects)},
                 {"keptAs", result.kept_as},
                 {"durationMs", static_cast<std::int64_t>(took.count())}});
    return true;
  } catch (const std::exception& e) {
    report_startup_error("cannot import the SQLite data dir " + *file, e.what());
    return false;
  }
}

// Waits, bounded, for the supervisor to have spawned and registered every part.
bool await_parts(const actor_directory& dir, std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (dir.ingest() && dir.aggregation() && dir.health() && dir.log_shipper() &&
        dir.notifier())
      return true;
    std::this_thread::sleep_for(1ms);
  }
  return false;
}

// Asks `target` to finish its queued work, waiting at most `limit`.
template <class Handle>
void drain(caf::actor_system& sys, const Handle& target, caf::timespan limit) {
  if (!target)
    return;
  caf::scoped_actor self{sys};
  self->request(target, limit, drain_atom_v).receive([](bool) {}, [](caf::error&) {});
}

// Creates the meters declared in the config file for namespace `ns`, or
// updates those whose definition changed; meters created over the API are
// left alone.
void declare_meters(caf::actor_system& sys, const service_context& ctx,
                    const std::string& ns, const std::vector<model::meter>& declared) {
  auto& logs = *ctx.logs;
  caf::scoped_actor self{sys};
  std::vector<model::stored_meter> existing;
  bool read = false;
  self->request(ctx.directory->aggregation(), std::chrono::seconds{10}, meters_atom_v,
                model::trace_ref{{}, ns})
      .receive(
          [&](std::vector<model::stored_meter>& meters) {
            existing = std::move(meters);
            read = true;
          },
          [&](caf::error& err) {
            logs.log(model::log_level::error, "storage error: cannot read meters",
                     {{"error", caf::to_string(err)}, {"namespace", ns}});
          });
  if (!read)
    return;
  for (auto m : declared) {
    auto same_slug = std::find_if(existing.begin(), existing.end(),
                                  [&](const auto& s) { return s.meter.slug == m.slug; });
    bool create = same_slug == existing.end();
    if (!create) {
      m.id = same_slug->meter.id;
      m.created_at = same_slug->meter.created_at;
      m.updated_at = same_slug->meter.updated_at;
      if (model::meter_json(m) == model::meter_json(same_slug->meter))
        continue;
    }
    auto on_error = [&](caf::error& err) {
      logs.log(model::log_level::error, "meter error: cannot apply a meter from --meters",
               {{"meter", m.slug}, {"namespace", ns}, {"error", caf::to_string(err)}});
    };
    auto on_done = [&](model::meter&) {
      logs.log(model::log_level::info,
               create ? "meter created from --meters" : "meter updated from --meters",
               {{"meter", m.slug}, {"namespace", ns}});
    };
    if (create)
      self->request(ctx.directory->ingest(), std::chrono::seconds{10}, meter_add_atom_v,
                    model::trace_ref{{}, ns}, m)
          .receive(on_done, on_error);
    else
      self->request(ctx.directory->ingest(), std::chrono::seconds{10}, meter_set_atom_v,
                    model::trace_ref{{}, ns}, m)
          .receive(on_done, on_error);
  }
}

// Creates the meters declared in the config file, or updates those whose
// definition changed, each in its namespace; meters created over the API are
// left alone.
void declare_meters(caf::actor_system& sys, const service_context& ctx,
                    const std::vector<app::declared_meter>& all) {
  for (const auto& ns : model::served_namespaces(ctx.config.api_keys)) {
    std::vector<model::meter> declared;
    for (const auto& d : all)
      if (d.ns == ns)
        declared.push_back(d.meter);
    if (!declared.empty())
      declare_meters(sys, ctx, ns, declared);
  }
}

int serve(const model::service_config& config,
          const std::vector<app::declared_meter>& meters) {
  // Signals are taken by this thread alone, with sigwait, after every other
  // thread has been started with them blocked.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  caf::actor_system_config caf_config;
  caf_config.set("scheduler.max-threads", 2);
  // Idle work-stealing workers poll with 50 us sleeps (a third of the CPU
  // during single-event ingest on 2 cores); sharing workers wait on a
  // condition variable. Measured in docs/PERFORMANCE.md.
  caf_config.set("scheduler.policy", caf::atom("sharing"));
  caf::actor_system system{caf_config};

  auto ctx = std::make_shared<service_context>();
  ctx->config = config;
  ctx->started_at = model::now_millis();
  ctx->logs = std::make_shared<log_sink>(*model::try_parse_log_level(config.log_level));
  ctx->directory = std::make_shared<actor_directory>();
  ctx->counters = std::make_shared<service_counters>();

  storage::store_options options;
  options.data_dir = config.data_dir;
  options.url = config.database_url;
  options.synchronous_full = config.synchronous == "full";
  store_factory open_store = [options](const std::string& ns) {
    return storage::open_event_store(storage::namespace_options(options, ns));
  };
  if (!import_earlier_data_dir(config, options))
    return 1;

  // Opening the store once, before any part can, applies migrations before
  // traffic and makes a bad data dir visible at start; the service still
  // starts and answers 503 until the store can be opened.
  std::string open_error;
  for (const auto& ns : model::served_namespaces(config.api_keys)) {
    try {
      open_store(ns);
    } catch (const std::exception& e) {
      open_error = e.what();
    }
  }

  auto supervisor = spawn_supervisor(system, ctx, open_store, open_store);
  if (!await_parts(*ctx->directory, 5s)) {
    report_startup_error("the actor system did not start",
                         "its parts were not all running within 5 s");
    caf::anon_send_exit(supervisor, caf::exit_reason::user_shutdown);
    return 1;
  }
  auto& logs = *ctx->logs;
  if (!open_error.empty())
    logs.log(model::log_level::error, "storage error: cannot open the database",
             {{"error", open_error}});
  if (config.api_keys.empty())
    logs.log(model::log_level::warn,
             "no API keys configured: every route is open without authentication");

  declare_meters(system, *ctx, meters);

  http::server server{system, ctx};
  try {
    server.start();
  } catch (const std::exception& e) {
    drain(system, ctx->directory->log_shipper(), 2s);
    report_startup_error("cannot listen", e.what());
    caf::anon_send_exit(supervisor, caf::exit_reason::user_shutdown);
    ctx->directory->clear();
    ctx->logs->attach(log_shipper_actor{});
    return 1;
  }
  logs.log(model::log_level::info, "service started",
           {{"host", config.host},
            {"port", std::int64_t{config.port}},
            {"environment", config.environment},
            {"storage", config.database_url.empty() ? std::string{"rocksdb"}
                                                    : std::string{"configured url"}}});

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  logs.log(model::log_level::info, "shutdown: signal received, draining",
           {{"signal", std::string{signal_number == SIGTERM ? "SIGTERM" : "SIGINT"}}});

  server.stop_accepting();
  bool idle = server.wait_idle(10s);
  // Requests that came in on kept-alive connections meanwhile are answered
  // and logged before the last lines are flushed.
  idle = server.stop(idle ? 3s : 0s) && idle;
  drain(system, ctx->directory->ingest(), 10s);
  logs.log(model::log_level::info, "shutdown: complete", {{"inFlightFinished", idle}});
  drain(system, ctx->directory->log_shipper(), 2s);
  caf::anon_send_exit(supervisor, caf::exit_reason::user_shutdown);
  // The directory and the log sink hold strong handles to actors whose own
  // closures hold the context: drop them so the actors can be destroyed and
  // the actor system can finish.
  ctx->directory->clear();
  ctx->logs->attach(log_shipper_actor{});
  return 0;
}

} // namespace

int run(int argc, char** argv) {
  auto parsed = parse_command_line(argc, argv);
  if (!parsed.cmd) {
    if (parsed.exit_code == 0)
      std::fputs(parsed.output.c_str(), stdout);
    else
      report_startup_error("invalid configuration", parsed.output);
    return parsed.exit_code;
  }
  if (parsed.cmd->healthcheck)
    return probe_health(parsed.cmd->config.port);
  if (parsed.cmd->print_routes) {
    std::fputs((http::service_routes().listing() + "\n").c_str(), stdout);
    return 0;
  }
  return serve(parsed.cmd->config, parsed.cmd->meters);
}

} // namespace um::app
