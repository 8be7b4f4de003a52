#include "http/server.hpp"

#include "http/guarded_socket.hpp"
#include "http/malformed.hpp"
#include "http/metrics.hpp"
#include "http/openapi_document.hpp"
#include "http/render.hpp"
#include "http/translate.hpp"
#include "model/cloud_events.hpp"
#include "model/meter_query.hpp"
#include "model/metering.hpp"
#include "model/trace_id.hpp"
#include "model/v1_api.hpp"

#include <malloc.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <charconv>
#include <cmath>
#include <future>

#include <restinio/all.hpp>
#include <restinio/transforms/zlib.hpp>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace um::http {

/// Work a route hands to a bridge actor: it runs there and may make requests.
using bridge_job = std::function<void(caf::event_based_actor*)>;

} // namespace um::http

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(um::http::bridge_job)

namespace um::http {

namespace {

using router_t = restinio::router::express_router_t<>;
// The socket frames requests through a gate before RESTinio sees them (see
// guarded_socket.hpp); the connection count limiter keeps accepted
// connections below the file descriptor limit.
struct traits_t
    : restinio::traits_t<restinio::asio_timer_manager_t, restinio::null_logger_t,
                         router_t, restinio::default_strand_t, guarded_socket> {
  static constexpr bool use_connection_count_limiter = true;
};
using http_server_t = restinio::http_server_t<traits_t>;
using clock_type = std::chrono::steady_clock;

// Request bodies from this size on are parsed off the I/O threads.
constexpr std::size_t off_io_body_bytes = 16 * 1024;

// Rows of a meter answer above which the memory it used is trimmed.
constexpr std::size_t large_answer_rows = 20'000;

// How long after its timeout a request that nothing answered gets its 504.
constexpr auto deadline_margin = std::chrono::milliseconds{500};

// What a client is told when a write's outcome is unknown.
constexpr const char* write_outcome_unknown =
    "The request timed out and the write may still be stored: retry it with the same "
    "id (v1: the id field or an Idempotency-Key header; metering: the same source and "
    "id) and it is stored once";

std::string_view reason_phrase(int status) {
  switch (status) {
  case 200:
    return "OK";
  case 201:
    return "Created";
  case 204:
    return "No Content";
  case 400:
    return "Bad Request";
  case 401:
    return "Unauthorized";
  case 404:
    return "Not Found";
  case 409:
    return "Conflict";
  case 202:
    return "Accepted";
  case 413:
    return "Payload Too Large";
  case 414:
    return "URI Too Long";
  case 415:
    return "Unsupported Media Type";
  case 429:
    return "Too Many Requests";
  case 431:
    return "Request Header Fields Too Large";
  case 500:
    return "Internal Server Error";
  case 503:
    return "Service Unavailable";
  case 504:
    return "Gateway Timeout";
  case 505:
    return "HTTP Version Not Supported";
  default:
    return "Unknown";
  }
}

// Runs bridge jobs: the CAF side of every request, so RESTinio's threads
// never block and every request to an actor has a timeout.
caf::behavior bridge(caf::event_based_actor* self) {
  return {
      [self](dispatch_atom, bridge_job& job) {
        try {
          job(self);
        } catch (...) {
          // The job's exchange answers from its destructor.
        }
      },
  };
}

} // namespace

/// One request and its one reply. Whoever answers first wins; if nobody has
/// when the last reference goes, the destructor answers 500, so a client can
/// never be left without a response.
class exchange {
public:
  exchange(server::impl& srv, restinio::request_handle_t req, std::string trace_id,
           bool track, std::size_t route);
  ~exchange();

  exchange(const exchange&) = delete;
  exchange& operator=(const exchange&) = delete;

  /// Sends a JSON body with `status`.
  void respond(int status, const json& body,
               std::vector<std::pair<std::string, std::string>> headers = {});

  /// Sends the contract's error body for `error`.
  void fail(const model::api_error& reported);

  /// Sends a non-JSON body.
  void text(int status, std::string body, std::string_view content_type) {
    send(status, std::move(body), content_type, {});
  }

  /// Sends a 204 with `headers` and no body.
  void no_content(std::vector<std::pair<std::string, std::string>> headers);

  const std::string& trace_id() const { return trace_id_; }
  const restinio::request_handle_t& request() const { return req_; }

  /// Whether an answer has been sent.
  bool answered() const { return answered_.load(); }

  /// Marks this request as a write: a 504 then tells the client that the
  /// write may still be stored and how to retry it safely.
  void mark_write() { writes_ = true; }

private:
  void send(int status, std::string body, std::string_view content_type,
            std::vector<std::pair<std::string, std::string>> headers);

  server::impl& srv_;
  restinio::request_handle_t req_;
  std::string trace_id_;
  bool track_;
  std::size_t route_;
  clock_type::time_point started_;
  std::atomic<bool> answered_{false};
  bool head_only_ = false; // HEAD: the headers a GET would get, no body
  bool writes_ = false;
  // The connection's count of owed responses (see guarded_socket.hpp).
  std::shared_ptr<response_tally> tally_;
};

using exchange_ptr = std::shared_ptr<exchange>;

struct server::impl {
  caf::actor_system& system;
  context_ptr ctx;
  std::vector<caf::actor> bridges;
  std::atomic<std::size_t> next_bridge{0};
  std::atomic<std::int64_t> in_flight{0};
  std::mutex idle_mutex;
  std::condition_variable idle;
  restinio::asio_ns::io_context io{};
  std::unique_ptr<http_server_t> http;
  std::vector<std::thread> threads;
  caf::timespan timeout;
  request_metrics metrics;
  std::size_t unmatched_route = 0;
  std::size_t preflight_route = 0;
  connection_policy connections;
  // The routes as registered, for the gate's decision on a request's head.
  struct route_entry {
    std::string method;
    std::string path;
    bool needs_key;
  };
  std::vector<route_entry> route_entries;
  // Every request's deadline, in arrival order (all requests have the same
  // timeout, so this is deadline order too): the backstop that answers 504
  // when nothing else has, even if a bridge or an actor never does.
  std::mutex deadlines_mutex;
  std::deque<std::pair<clock_type::time_point, std::weak_ptr<exchange>>> deadlines;
  std::unique_ptr<restinio::asio_ns::steady_timer> ticker;
  // The accept loop's watchdog (see watch_accepting).
  std::atomic<int> listen_fd{-1};
  std::atomic<bool> accepting{false};
  std::uint64_t accepted_at_last_tick = 0;
  int stalled_ticks = 0;
  bool told_stalled = false;
  std::size_t hard_connection_cap = 0;
  unsigned tick_count = 0;
  // The /health body of the latest report, serialized around its timestamp.
  struct health_wire_cache {
    std::shared_ptr<const model::health_report> report;
    std::pair<std::string, std::string> parts;
  };
  std::shared_ptr<const health_wire_cache> health_wire;

  impl(caf::actor_system& sys, context_ptr c)
      : system(sys), ctx(std::move(c)),
        timeout(std::chrono::milliseconds{ctx->config.request_timeout_ms}) {
    for (int i = 0; i < 2; ++i)
      bridges.push_back(system.spawn(bridge));
  }

  ~impl() {
    install_connection_policy(nullptr);
    for (auto& b : bridges)
      caf::anon_send_exit(b, caf::exit_reason::user_shutdown);
    // A bridge drops its pending requests when it exits, and their exchanges
    // answer (500) through this object from their destructors, on the
    // bridge's thread: wait until the bridges are gone before going away.
    caf::scoped_actor self{system};
    self->wait_for(bridges);
  }

  void dispatch(bridge_job job) {
    auto& b =
        bridges[next_bridge.fetch_add(1, std::memory_order_relaxed) % bridges.size()];
    caf::anon_send(b, dispatch_atom_v, std::move(job));
  }

  // Asks `target` and answers the exchange with `on_result` or the error.
  template <class Result, class Handle, class OnResult, class... Args>
  void ask(exchange_ptr ex, Handle target, OnResult on_result, Args... args) {
    if (!target) {
      ex->fail({model::error_code::unavailable,
                "Service temporarily unavailable, retry later"});
      return;
    }
    dispatch([ex, target, on_result, timeout = timeout,
              args...](caf::event_based_actor* self) {
      self->request(target, timeout, args...)
          .then([ex, on_result](Result& result) { on_result(*ex, result); },
                [ex](caf::error& err) { ex->fail(to_api_error(err)); });
    });
  }

  void finished(const exchange& ex, int status, clock_type::time_point started,
                bool track, std::size_t route) {
    auto elapsed = std::chrono::duration<double, std::milli>(clock_type::now() - started);
    metrics.record(route, status, elapsed.count() / 1000.0);
    double duration = std::round(elapsed.count() * 1000.0) / 1000.0;
    const auto& h = ex.request()->header();
    auto now = model::now_millis();
    model::request_log line;
    line.method = h.method().c_str();
    line.path = std::string{h.path()};
    line.status = status;
    line.duration_ms = duration;
    line.trace_id = ex.trace_id();
    line.user_agent = h.get_field_or(restinio::http_field::user_agent, "");
    line.ip = client_ip(h.get_field_or("x-forwarded-for", ""),
                        ex.request()->remote_endpoint().address().to_string());
    if (track) {
      if (auto ingest = ctx->directory->ingest())
        caf::anon_send(ingest, track_atom_v,
                       model::make_self_tracking_event(line.method, line.path, status,
                                                       duration, ex.trace_id(), now));
    }
    ctx->logs->emit(model::make_request_record(std::move(line), now));
    if (in_flight.fetch_sub(1) == 1) {
      std::lock_guard<std::mutex> guard{idle_mutex};
      idle.notify_all();
    }
  }

  // A request the connection's gate answered before routing: logged and
  // tracked like any other.
  void rejected(const rejected_request& r) {
    metrics.record(unmatched_route, model::http_status(r.error.code), 0.0);
    model::request_log line;
    line.method = r.line.method;
    line.path = r.line.path;
    line.status = model::http_status(r.error.code);
    line.trace_id = r.trace_id;
    line.ip = r.ip;
    auto now = model::now_millis();
    bool untracked =
        line.method == "GET" && (line.path == "/health" || line.path == "/ready");
    if (!untracked && line.method != "-")
      if (auto ingest = ctx->directory->ingest())
        caf::anon_send(ingest, track_atom_v,
                       model::make_self_tracking_event(
                           line.method, line.path, line.status, 0.0, line.trace_id, now));
    ctx->logs->emit(model::make_request_record(line, now));
  }

  // Whether a request may send its body: only to a route, and with a key
  // where the route needs one. Decided on the head, before the body is read.
  std::optional<model::api_error> admit_body(const request_head& head) const {
    if (head.method == "OPTIONS")
      return std::nullopt;
    for (const auto& route : route_entries) {
      if (route.method != head.method || !path_matches(route.path, head.target))
        continue;
      if (!route.needs_key || ctx->config.api_keys.empty() ||
          api_key_matches(presented_api_key(head.authorization, head.api_key),
                          ctx->config.api_keys))
        return std::nullopt;
      return model::api_error{model::error_code::unauthorized, unauthorized_message};
    }
    auto path = std::string_view{head.target}.substr(0, head.target.find('?'));
    return model::api_error{model::error_code::not_found, "Route " + head.method + " " +
                                                              std::string{path} +
                                                              " not found"};
  }

  static constexpr const char* unauthorized_message =
      "A valid API key is required: send Authorization: Bearer <key>";

  // Answers 504 for every request past its deadline that nobody answered.
  void expire_deadlines() {
    auto now = clock_type::now();
    std::vector<exchange_ptr> late;
    {
      std::lock_guard<std::mutex> guard{deadlines_mutex};
      while (!deadlines.empty() && deadlines.front().first <= now) {
        if (auto ex = deadlines.front().second.lock(); ex && !ex->answered())
          late.push_back(std::move(ex));
        deadlines.pop_front();
      }
    }
    for (auto& ex : late)
      ex->fail({model::error_code::timeout, "The request timed out"});
  }

  // RESTinio 0.6 stops accepting for good when accept() fails (EMFILE,
  // ENFILE): nothing is logged and the listen queue only grows. Connections
  // waiting in the queue while none is accepted, twice in a row and below
  // the connection cap, mean that: listen anew (backing off while it fails),
  // and say so once per episode.
  void watch_accepting() {
    int fd = listen_fd.load();
    if (fd < 0 || !http || !accepting.load())
      return;
    tcp_info info{};
    socklen_t size = sizeof info;
    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &size) != 0)
      return;
    auto accepted = connections.accepted.load();
    bool waiting = info.tcpi_unacked > 0; // a listening socket's accept queue
    bool stalled = waiting && accepted == accepted_at_last_tick &&
                   connections.open_connections.load() < hard_connection_cap;
    accepted_at_last_tick = accepted;
    if (!stalled) {
      if (stalled_ticks > 0 && told_stalled)
        ctx->logs->log(model::log_level::info, "accepting connections again");
      stalled_ticks = 0;
      told_stalled = false;
      return;
    }
    if (++stalled_ticks < 2)
      return;
    if (!told_stalled) {
      told_stalled = true;
      ctx->logs->log(model::log_level::error,
                     "accept loop stopped (out of file descriptors?): listening anew",
                     {{"queued", static_cast<std::int64_t>(info.tcpi_unacked)},
                      {"openConnections",
                       static_cast<std::int64_t>(connections.open_connections.load())}});
    }
    try {
      http->close_sync();
      http->open_sync();
    } catch (const std::exception&) {
      // Still out of descriptors: the next tick tries again.
    }
  }

  void tick() {
    expire_deadlines();
    if (++tick_count % 5 == 0)
      watch_accepting();
    ticker->expires_after(std::chrono::milliseconds{100});
    ticker->async_wait([this](const restinio::asio_ns::error_code& ec) {
      if (!ec)
        tick();
    });
  }

  // --- routes -------------------------------------------------------------

  // Every route starts here: trace id, in-flight count, authentication.
  exchange_ptr begin(const restinio::request_handle_t& req, bool needs_key,
                     std::size_t route) {
    in_flight.fetch_add(1);
    const auto& h = req->header();
    auto trace = model::resolve_trace_id(h.get_field_or("x-trace-id", ""),
                                         h.get_field_or("traceparent", ""),
                                         h.get_field_or("x-amzn-trace-id", ""));
    auto path = h.path();
    bool untracked = h.method() == restinio::http_method_get() &&
                     (path == "/health" || path == "/ready");
    auto ex = std::make_shared<exchange>(*this, req, std::move(trace), !untracked, route);
    {
      std::lock_guard<std::mutex> guard{deadlines_mutex};
      deadlines.emplace_back(clock_type::now() + timeout + deadline_margin, ex);
    }
    if (needs_key && !ctx->config.api_keys.empty()) {
      // Both header values must outlive `key`, a view into one of them.
      auto authorization = h.get_field_or(restinio::http_field::authorization, "");
      auto x_api_key = h.get_field_or("x-api-key", "");
      auto key = presented_api_key(authorization, x_api_key);
      if (!api_key_matches(key, ctx->config.api_keys)) {
        ex->fail({model::error_code::unauthorized, unauthorized_message});
        return nullptr;
      }
    }
    return ex;
  }

  // The JSON body of a POST, or nothing when the exchange has been answered.
  std::optional<json> json_body(const exchange_ptr& ex) {
    const auto& req = ex->request();
    if (req->body().size() > max_body_bytes) {
      ex->fail({model::error_code::payload_too_large, "Request body exceeds 1mb limit"});
      return std::nullopt;
    }
    auto content_type =
        req->header().get_field_or(restinio::http_field::content_type, "");
    if (!content_type.empty() && !is_json_media_type(content_type)) {
      ex->fail({model::error_code::unsupported_media_type,
                "Content-Type must be application/json"});
      return std::nullopt;
    }
    auto body = model::try_parse_request_json(req->body());
    if (!body) {
      ex->fail({model::error_code::validation, std::move(body.error)});
      return std::nullopt;
    }
    return std::move(body.value);
  }

  static std::optional<model::query_params> query_of(const exchange_ptr& ex) {
    return parse_query_string(ex->request()->header().query());
  }

  static std::optional<std::string> path_param(const exchange_ptr& ex,
                                               const restinio::router::route_params_t& p,
                                               std::string_view name) {
    try {
      return restinio::utils::unescape_percent_encoding(p[name]);
    } catch (const std::exception&) {
      ex->fail({model::error_code::validation, "Malformed path"});
      return std::nullopt;
    }
  }

  void health(exchange_ptr ex) {
    // The health actor publishes its report on every change; answering from
    // it here keeps /health fast however busy the actors are. Before the first
    // report, ask the actor.
    if (auto report = ctx->health_reports->latest()) {
      auto wire = health_wire_for(report);
      std::string body;
      const auto& [head, tail] = wire->parts;
      body.reserve(head.size() + 24 + tail.size());
      body += head;
      model::append_iso8601(body, model::now_millis());
      body += tail;
      ex->text(report->healthy ? 200 : 503, std::move(body),
               "application/json; charset=utf-8");
      return;
    }
    ask<model::health_report>(
        ex, ctx->directory->health(),
        [](exchange& x, model::health_report& r) {
          x.respond(r.healthy ? 200 : 503, health_body(r, model::now_millis()));
        },
        health_atom_v);
  }

  // The serialized body of `report` around its timestamp, made once per
  // published report (reports change only when a part changes state).
  std::shared_ptr<const health_wire_cache>
  health_wire_for(const std::shared_ptr<const model::health_report>& report) {
    auto cached = std::atomic_load(&health_wire);
    if (!cached || cached->report != report) {
      cached = std::make_shared<const health_wire_cache>(
          health_wire_cache{report, health_wire_parts(*report)});
      std::atomic_store(&health_wire, cached);
    }
    return cached;
  }

  void ready(exchange_ptr ex) {
    ask<model::readiness_report>(
        ex, ctx->directory->health(),
        [](exchange& x, model::readiness_report& r) {
          x.respond(r.ready ? 200 : 503, ready_body(r, model::now_millis()));
        },
        ready_atom_v);
  }

  void info(exchange_ptr ex) {
    auto c = ctx;
    ask<model::usage_stats>(
        ex, ctx->directory->aggregation(),
        [c](exchange& x, model::usage_stats& s) {
          x.respond(200,
                    info_body(s, c->config.environment,
                              model::now_millis() - c->started_at, c->logs->dropped()));
        },
        stats_atom_v, model::now_millis());
  }

  // Applies the request's `Idempotency-Key` header, if any, to its events;
  // false when it answered the exchange with the header's error.
  static bool apply_idempotency_key(const exchange_ptr& ex, const json& body,
                                    std::vector<model::event>& events, bool batch) {
    const auto& h = ex->request()->header();
    if (!h.has_field("idempotency-key"))
      return true;
    auto problem =
        model::apply_idempotency_key(body, events, h.get_field("idempotency-key"), batch);
    if (problem.empty())
      return true;
    ex->fail({model::error_code::validation, problem});
    return false;
  }

  void post_event(exchange_ptr ex) {
    ex->mark_write();
    auto body = json_body(ex);
    if (!body)
      return;
    auto parsed = model::parse_v1_event(*body, model::now_millis());
    if (!parsed) {
      ex->fail({model::error_code::validation, parsed.error});
      return;
    }
    std::vector<model::event> events{std::move(parsed.value)};
    if (!apply_idempotency_key(ex, *body, events, false))
      return;
    ask<model::append_outcomes>(
        ex, ctx->directory->ingest(),
        [](exchange& x, model::append_outcomes& out) {
          if (out.size() != 1) {
            x.fail({model::error_code::internal, "Internal server error"});
            return;
          }
          bool fresh = out[0].status == model::append_status::stored;
          x.respond(fresh ? 201 : 200, event_created_body(out[0].event));
        },
        ingest_atom_v, std::move(events));
  }

  void post_batch(exchange_ptr ex) {
    ex->mark_write();
    auto body = json_body(ex);
    if (!body)
      return;
    auto parsed = model::parse_v1_batch(*body, model::now_millis());
    if (!parsed) {
      ex->fail({model::error_code::validation, parsed.error});
      return;
    }
    if (!apply_idempotency_key(ex, *body, parsed.value, true))
      return;
    ask<model::append_outcomes>(
        ex, ctx->directory->ingest(),
        [](exchange& x, model::append_outcomes& out) {
          x.respond(201, batch_created_body(out));
        },
        ingest_atom_v, std::move(parsed.value));
  }

  void list_events(exchange_ptr ex) {
    auto query = query_of(ex);
    if (!query)
      return;
    auto filter = model::parse_event_filter(*query);
    if (!filter) {
      ex->fail({model::error_code::validation, filter.error});
      return;
    }
    auto f = filter.value;
    ask<model::event_page>(
        ex, ctx->directory->aggregation(),
        [f](exchange& x, model::event_page& page) {
          x.respond(200, events_page_body(page, f));
        },
        list_atom_v, f);
  }

  void usage_stats(exchange_ptr ex) {
    auto c = ctx;
    ask<model::usage_stats>(
        ex, ctx->directory->aggregation(),
        [c](exchange& x, model::usage_stats& s) {
          auto now = model::now_millis();
          x.respond(200, stats_body(s, now - c->started_at, c->started_at));
        },
        stats_atom_v, model::now_millis());
  }

  void usage_summary(exchange_ptr ex, const restinio::router::route_params_t& params) {
    auto entity = path_param(ex, params, "entityId");
    auto query = entity ? query_of(ex) : std::nullopt;
    if (!query)
      return;
    auto range = model::parse_time_range(*query);
    if (!range) {
      ex->fail({model::error_code::validation, range.error});
      return;
    }
    auto now = model::now_millis();
    auto since = range.value.since.value_or(ctx->started_at);
    auto until = range.value.until.value_or(now);
    auto name = *entity;
    ask<model::usage_summary>(
        ex, ctx->directory->aggregation(),
        [name, since, until](exchange& x, model::usage_summary& s) {
          x.respond(200, summary_body(name, s, since, until));
        },
        summary_atom_v, *entity, range.value);
  }

  void usage_history(exchange_ptr ex, const restinio::router::route_params_t& params) {
    auto entity = path_param(ex, params, "entityId");
    auto query = entity ? query_of(ex) : std::nullopt;
    if (!query)
      return;
    auto range = model::parse_time_range(*query);
    auto width = model::parse_history_interval(*query);
    if (!range || !width) {
      std::string message = range.error;
      if (!width.error.empty())
        message += (message.empty() ? "" : ", ") + width.error;
      ex->fail({model::error_code::validation, message});
      return;
    }
    auto now = model::now_millis();
    auto since = range.value.since.value_or(ctx->started_at);
    auto until = range.value.until.value_or(now);
    auto name = *entity;
    auto w = width.value;
    ask<model::usage_history>(
        ex, ctx->directory->aggregation(),
        [name, w, since, until](exchange& x, model::usage_history& h) {
          x.respond(200, history_body(name, w, h, since, until));
        },
        history_atom_v, *entity, w, range.value);
  }

  void prometheus(exchange_ptr ex) {
    auto c = ctx;
    auto self = this;
    ask<model::health_report>(
        ex, ctx->directory->health(),
        [c, self](exchange& x, model::health_report& report) {
          service_numbers n;
          n.events_stored = c->counters->events_stored.load();
          n.events_deduplicated = c->counters->events_deduplicated.load();
          n.ingest_rejected = c->counters->ingest_rejected.load();
          n.tracking_dropped = c->counters->tracking_dropped.load();
          n.ingest_queue_depth = c->counters->ingest_queue_depth.load();
          n.log_lines_dropped = c->logs->dropped();
          n.in_flight_requests = self->in_flight.load();
          n.uptime = model::now_millis() - c->started_at;
          x.text(200, self->metrics.render() + service_metrics_text(n, report),
                 "text/plain; version=0.0.4; charset=utf-8");
        },
        health_atom_v);
  }

  void inject_fault(exchange_ptr ex, const restinio::router::route_params_t& params) {
    auto actor = path_param(ex, params, "actor");
    auto fault = actor ? path_param(ex, params, "fault") : std::nullopt;
    auto query = fault ? query_of(ex) : std::nullopt;
    if (!query)
      return;
    std::int64_t ms = 0;
    if (*fault == "hang") {
      auto it = query->find("ms");
      try {
        ms = it == query->end() ? -1 : std::stoll(it->second);
      } catch (const std::exception&) {
        ms = -1;
      }
      if (ms < 1 || ms > 600'000) {
        ex->fail({model::error_code::validation, "ms must be between 1 and 600000"});
        return;
      }
    } else if (*fault != "crash") {
      not_found(ex);
      return;
    }
    if (*actor == "bridges") {
      // The HTTP layer's own workers, for drills of the request deadline:
      // every bridge sleeps, so only the deadline can answer meanwhile.
      if (ms <= 0) {
        not_found(ex);
        return;
      }
      for (auto& bridge : bridges)
        caf::anon_send(bridge, dispatch_atom_v, bridge_job{[ms](caf::event_based_actor*) {
                         std::this_thread::sleep_for(std::chrono::milliseconds{ms});
                       }});
      ex->respond(202,
                  json{{"success", true},
                       {"data", {{"actor", *actor}, {"fault", *fault}, {"ms", ms}}}});
      return;
    }
    auto& dir = *ctx->directory;
    auto deliver = [&](const auto& handle) {
      if (!handle)
        return false;
      if (ms > 0)
        caf::anon_send(handle, hang_atom_v, ms);
      else
        caf::anon_send(handle, crash_atom_v);
      return true;
    };
    bool sent = *actor == "ingest"        ? deliver(dir.ingest())
                : *actor == "aggregation" ? deliver(dir.aggregation())
                : *actor == "health"      ? deliver(dir.health())
                : *actor == "log-shipper" ? deliver(dir.log_shipper())
                                          : (not_found(ex), false);
    if (!sent) {
      ex->fail({model::error_code::unavailable,
                "Service temporarily unavailable, retry later"});
      return;
    }
    json data{{"actor", *actor}, {"fault", *fault}};
    if (ms > 0)
      data["ms"] = ms;
    ex->respond(202, json{{"success", true}, {"data", std::move(data)}});
  }

  // --- metering API (/api/v1) -------------------------------------------

  void cloud_ingest(exchange_ptr ex) {
    ex->mark_write();
    const auto& req = ex->request();
    if (req->body().size() > max_body_bytes) {
      ex->fail({model::error_code::payload_too_large, "Request body exceeds 1mb limit"});
      return;
    }
    auto content_type =
        req->header().get_field_or(restinio::http_field::content_type, "");
    auto batch =
        model::parse_cloud_events(req->body(), content_type, model::now_millis());
    if (batch.error) {
      ex->fail(*batch.error);
      return;
    }
    ask<model::append_outcomes>(
        ex, ctx->directory->ingest(),
        [](exchange& x, model::append_outcomes&) { x.no_content({}); }, ingest_atom_v,
        std::move(batch.events));
  }

  void search_events(exchange_ptr ex) {
    auto query = query_of(ex);
    if (!query)
      return;
    auto search = model::parse_event_search(*query, model::now_millis());
    if (!search) {
      ex->fail({model::error_code::validation, search.error});
      return;
    }
    ask<std::vector<searched_event>>(
        ex, ctx->directory->aggregation(),
        [](exchange& x, std::vector<searched_event>& events) {
          json out = json::array();
          for (const auto& e : events)
            out.push_back(model::ingested_event_json(e.event, e.validation_error));
          x.respond(200, out);
        },
        search_atom_v, search.value);
  }

  void create_meter(exchange_ptr ex) {
    auto body = json_body(ex);
    if (!body)
      return;
    auto parsed = model::parse_meter(*body, model::now_millis(), model::new_uuid_v4());
    if (!parsed) {
      ex->fail({model::error_code::validation, parsed.error});
      return;
    }
    ask<model::meter>(
        ex, ctx->directory->ingest(),
        [](exchange& x, model::meter& m) { x.respond(201, model::meter_json(m)); },
        meter_add_atom_v, std::move(parsed.value));
  }

  void list_meters(exchange_ptr ex) {
    ask<std::vector<storage::stored_meter>>(
        ex, ctx->directory->aggregation(),
        [](exchange& x, std::vector<storage::stored_meter>& meters) {
          json out = json::array();
          for (const auto& m : meters)
            out.push_back(model::meter_json(m.meter));
          x.respond(200, out);
        },
        meters_atom_v);
  }

  void get_meter(exchange_ptr ex, const restinio::router::route_params_t& params) {
    auto id = path_param(ex, params, "meter");
    if (!id)
      return;
    ask<storage::stored_meter>(
        ex, ctx->directory->aggregation(),
        [](exchange& x, storage::stored_meter& m) {
          x.respond(200, model::meter_json(m.meter));
        },
        meter_get_atom_v, *id);
  }

  // Reads the meter, then asks ingest to change it: `change` returns the
  // request to make, or answers the exchange itself and returns nothing.
  template <class Change>
  void with_meter(exchange_ptr ex, std::string id, Change change) {
    auto aggregation = ctx->directory->aggregation();
    auto ingest = ctx->directory->ingest();
    if (!aggregation || !ingest) {
      ex->fail({model::error_code::unavailable,
                "Service temporarily unavailable, retry later"});
      return;
    }
    dispatch([ex, aggregation, ingest, id, change,
              timeout = timeout](caf::event_based_actor* self) {
      self->request(aggregation, timeout, meter_get_atom_v, id)
          .then([ex, ingest, change, self, timeout](
                    storage::stored_meter& m) { change(self, ingest, timeout, ex, m); },
                [ex](caf::error& err) { ex->fail(to_api_error(err)); });
    });
  }

  void update_meter(exchange_ptr ex, const restinio::router::route_params_t& params) {
    auto id = path_param(ex, params, "meter");
    auto body = id ? json_body(ex) : std::nullopt;
    if (!body)
      return;
    with_meter(
        ex, *id,
        [body = *body](caf::event_based_actor* self, ingest_actor ingest,
                       caf::timespan timeout, exchange_ptr ex,
                       storage::stored_meter& stored) {
          auto m = stored.meter;
          auto problem = model::apply_meter_update(m, body, model::now_millis());
          if (!problem.empty()) {
            ex->fail({model::error_code::validation, problem});
            return;
          }
          self->request(ingest, timeout, meter_set_atom_v, std::move(m))
              .then([ex](model::meter& m) { ex->respond(200, model::meter_json(m)); },
                    [ex](caf::error& err) { ex->fail(to_api_error(err)); });
        });
  }

  void delete_meter(exchange_ptr ex, const restinio::router::route_params_t& params) {
    auto id = path_param(ex, params, "meter");
    if (!id)
      return;
    with_meter(ex, *id,
               [](caf::event_based_actor* self, ingest_actor ingest,
                  caf::timespan timeout, exchange_ptr ex, storage::stored_meter& stored) {
                 self->request(ingest, timeout, meter_del_atom_v, stored.meter.id)
                     .then(
                         [ex](bool existed) {
                           if (existed)
                             ex->no_content({});
                           else
                             ex->fail({model::error_code::not_found, "meter not found"});
                         },
                         [ex](caf::error& err) { ex->fail(to_api_error(err)); });
               });
  }

  void query_meter(exchange_ptr ex, const restinio::router::route_params_t& params,
                   bool from_json) {
    auto id = path_param(ex, params, "meter");
    if (!id)
      return;
    meter_query_request request;
    request.meter = *id;
    request.from_json = from_json;
    if (from_json) {
      auto body = json_body(ex);
      if (!body)
        return;
      request.json_body = ex->request()->body();
    } else {
      request.params = parse_query_pairs(ex->request()->header().query());
    }
    bool csv =
        wants_csv(ex->request()->header().get_field_or(restinio::http_field::accept, ""));
    ask<meter_query_answer>(
        ex, ctx->directory->aggregation(),
        [csv](exchange& x, meter_query_answer& a) {
          auto rows = std::move(a.rows);
          auto body = csv ? model::query_result_csv(a.query, rows)
                          : model::query_result_wire(a.query, rows);
          const bool large = rows.size() > large_answer_rows;
          std::vector<model::meter_row>{}.swap(rows);
          x.text(200, std::move(body),
                 csv ? "text/csv; charset=utf-8" : "application/json; charset=utf-8");
          // A large answer leaves hundreds of MB of freed rows, cells and
          // strings in glibc's per-thread arenas; hand them back to the OS.
          if (large)
            malloc_trim(0);
        },
        query_atom_v, std::move(request));
  }

  void meter_subjects(exchange_ptr ex, const restinio::router::route_params_t& params) {
    auto id = path_param(ex, params, "meter");
    if (!id)
      return;
    ask<std::vector<std::string>>(
        ex, ctx->directory->aggregation(),
        [](exchange& x, std::vector<std::string>& v) { x.respond(200, json(v)); },
        subjects_atom_v, *id);
  }

  void meter_group_values(exchange_ptr ex,
                          const restinio::router::route_params_t& params) {
    auto id = path_param(ex, params, "meter");
    auto key = id ? path_param(ex, params, "key") : std::nullopt;
    if (!key)
      return;
    auto query = query_of(ex);
    if (!query)
      return;
    // As OpenMeter: the last 24 hours unless `from`/`to` say otherwise.
    auto now = model::now_millis();
    model::millis from = now - 24 * 3'600'000LL, to = now;
    for (auto [name, bound] : {std::pair{"from", &from}, std::pair{"to", &to}}) {
      auto it = query->find(std::string_view{name});
      if (it == query->end())
        continue;
      auto t = model::try_parse_rfc3339(it->second);
      if (!t) {
        ex->fail({model::error_code::validation,
                  std::string{name} + " must be an RFC 3339 date-time"});
        return;
      }
      *bound = *t;
    }
    if (from >= to) {
      ex->fail({model::error_code::validation, "from must be before to"});
      return;
    }
    ask<std::vector<std::string>>(
        ex, ctx->directory->aggregation(),
        [](exchange& x, std::vector<std::string>& v) { x.respond(200, json(v)); },
        values_atom_v, *id, *key, from, to);
  }

  void preflight(exchange_ptr ex) {
    const auto& h = ex->request()->header();
    std::vector<std::pair<std::string, std::string>> headers{
        {"Access-Control-Allow-Methods", std::string{allowed_methods(h.path())}},
        {"Access-Control-Max-Age", "86400"}};
    auto requested = h.get_field_or("access-control-request-headers", "");
    headers.emplace_back("Access-Control-Allow-Headers",
                         requested.empty() ? std::string{"Content-Type, Authorization, "
                                                         "x-api-key, x-trace-id"}
                                           : std::string{requested});
    headers.emplace_back("Vary", "Access-Control-Request-Headers");
    ex->no_content(std::move(headers));
  }

  void not_found(exchange_ptr ex) {
    const auto& h = ex->request()->header();
    ex->fail({model::error_code::not_found, "Route " + std::string{h.method().c_str()} +
                                                " " + std::string{h.path()} +
                                                " not found"});
  }

  std::unique_ptr<router_t> make_router() {
    auto router = std::make_unique<router_t>();
    using params_t = restinio::router::route_params_t;
    auto route = [this, &router](auto method, const char* path, bool needs_key,
                                 auto handler) {
      auto slot = metrics.add_route(std::string{method.c_str()} + " " + path);
      route_entries.push_back({method.c_str(), path, needs_key});
      if (method == restinio::http_method_get()) {
        // HEAD of every GET route: the same answer's headers, no body.
        route_entries.push_back({"HEAD", path, needs_key});
        router->add_handler(restinio::http_method_head(), path,
                            [this, needs_key, handler,
                             slot](restinio::request_handle_t req, params_t params) {
                              if (auto ex = begin(req, needs_key, slot))
                                handler(std::move(ex), params);
                              return restinio::request_accepted();
                            });
      }
      router->add_handler(method, path,
                          [this, needs_key, handler, slot](restinio::request_handle_t req,
                                                           params_t params) {
                            auto ex = begin(req, needs_key, slot);
                            if (!ex)
                              return restinio::request_accepted();
                            if (ex->request()->body().size() < off_io_body_bytes) {
                              handler(std::move(ex), params);
                              return restinio::request_accepted();
                            }
                            // Parsing a large body here would hold up every
                            // request behind it on this I/O thread, /health
                            // included: a bridge runs the route instead.
                            auto shared = std::make_shared<params_t>(std::move(params));
                            dispatch([handler, ex, shared](caf::event_based_actor*) {
                              handler(ex, *shared);
                            });
                            return restinio::request_accepted();
                          });
    };
    auto get = restinio::http_method_get();
    auto post = restinio::http_method_post();
    route(get, "/health", false,
          [this](exchange_ptr ex, const params_t&) { health(ex); });
    route(get, "/ready", false, [this](exchange_ptr ex, const params_t&) { ready(ex); });
    route(get, "/", false,
          [](exchange_ptr ex, const params_t&) { ex->respond(200, root_body()); });
    route(get, "/info", true, [this](exchange_ptr ex, const params_t&) { info(ex); });
    route(post, "/v1/events", true,
          [this](exchange_ptr ex, const params_t&) { post_event(ex); });
    route(post, "/v1/events/batch", true,
          [this](exchange_ptr ex, const params_t&) { post_batch(ex); });
    route(get, "/v1/events", true,
          [this](exchange_ptr ex, const params_t&) { list_events(ex); });
    route(get, "/v1/usage/stats", true,
          [this](exchange_ptr ex, const params_t&) { usage_stats(ex); });
    route(get, "/v1/usage/:entityId", true,
          [this](exchange_ptr ex, const params_t& p) { usage_summary(ex, p); });
    route(get, "/v1/usage/:entityId/history", true,
          [this](exchange_ptr ex, const params_t& p) { usage_history(ex, p); });
    using params_ref = const params_t&;
    auto put = restinio::http_method_put();
    auto del = restinio::http_method_delete();
    route(post, "/api/v1/events", true,
          [this](exchange_ptr ex, params_ref) { cloud_ingest(ex); });
    route(get, "/api/v1/events", true,
          [this](exchange_ptr ex, params_ref) { search_events(ex); });
    route(post, "/api/v1/meters", true,
          [this](exchange_ptr ex, params_ref) { create_meter(ex); });
    route(get, "/api/v1/meters", true,
          [this](exchange_ptr ex, params_ref) { list_meters(ex); });
    route(get, "/api/v1/meters/:meter", true,
          [this](exchange_ptr ex, params_ref p) { get_meter(ex, p); });
    route(put, "/api/v1/meters/:meter", true,
          [this](exchange_ptr ex, params_ref p) { update_meter(ex, p); });
    route(del, "/api/v1/meters/:meter", true,
          [this](exchange_ptr ex, params_ref p) { delete_meter(ex, p); });
    route(get, "/api/v1/meters/:meter/query", true,
          [this](exchange_ptr ex, params_ref p) { query_meter(ex, p, false); });
    route(post, "/api/v1/meters/:meter/query", true,
          [this](exchange_ptr ex, params_ref p) { query_meter(ex, p, true); });
    route(get, "/api/v1/meters/:meter/subjects", true,
          [this](exchange_ptr ex, params_ref p) { meter_subjects(ex, p); });
    route(get, "/api/v1/meters/:meter/group-by/:key/values", true,
          [this](exchange_ptr ex, params_ref p) { meter_group_values(ex, p); });
    route(get, "/metrics", true,
          [this](exchange_ptr ex, const params_t&) { prometheus(ex); });
    route(get, "/docs", false, [](exchange_ptr ex, const params_t&) {
      ex->text(200, std::string{openapi_document()}, "application/yaml; charset=utf-8");
    });
    if (ctx->config.fault_injection)
      route(post, "/admin/faults/:actor/:fault", true,
            [this](exchange_ptr ex, const params_t& p) { inject_fault(ex, p); });
    unmatched_route = metrics.add_route("unmatched");
    preflight_route = metrics.add_route("OPTIONS *");
    router->non_matched_request_handler([this](restinio::request_handle_t req) {
      bool is_options = req->header().method() == restinio::http_method_options();
      // No route: 404 for everyone, as the contract says, key or not.
      if (auto ex = begin(req, false, is_options ? preflight_route : unmatched_route)) {
        if (is_options)
          preflight(std::move(ex));
        else
          not_found(std::move(ex));
      }
      return restinio::request_accepted();
    });
    return router;
  }
};

exchange::exchange(server::impl& srv, restinio::request_handle_t req,
                   std::string trace_id, bool track, std::size_t route)
    : srv_(srv), req_(std::move(req)), trace_id_(std::move(trace_id)), track_(track),
      route_(route), started_(clock_type::now()), tally_(guarded_socket::active_tally()) {
  head_only_ = req_->header().method() == restinio::http_method_head();
  if (tally_)
    tally_->dispatched.fetch_add(1);
}

exchange::~exchange() {
  if (!answered_.load())
    fail({model::error_code::internal, "Internal server error"});
}

void exchange::respond(int status, const json& body,
                       std::vector<std::pair<std::string, std::string>> headers) {
  send(status, to_wire(body), "application/json; charset=utf-8", std::move(headers));
}

void exchange::fail(const model::api_error& reported) {
  auto error = reported;
  if (writes_ && error.code == model::error_code::timeout)
    error.message = write_outcome_unknown;
  int status = model::http_status(error.code);
  std::vector<std::pair<std::string, std::string>> headers;
  if (status == 503)
    headers.emplace_back("Retry-After", "1");
  if (status >= 500) {
    const auto& h = req_->header();
    srv_.ctx->logs->log(model::log_level::error, "request error: " + error.message,
                        {{"method", std::string{h.method().c_str()}},
                         {"path", std::string{h.path()}},
                         {"statusCode", std::int64_t{status}},
                         {"code", std::string{model::code_name(error.code)}},
                         {"traceId", trace_id_}});
  }
  // The metering API speaks RFC 7807, as OpenMeter's clients expect.
  const auto& path = req_->header().path();
  if (speaks_problem_json(path)) {
    send(status,
         to_wire(model::problem_json(error.code, error.message, std::string{path})),
         "application/problem+json", std::move(headers));
    return;
  }
  respond(status, error_body(error, trace_id_), std::move(headers));
}

void exchange::no_content(std::vector<std::pair<std::string, std::string>> headers) {
  send(204, {}, {}, std::move(headers));
}

void exchange::send(int status, std::string body, std::string_view content_type,
                    std::vector<std::pair<std::string, std::string>> headers) {
  if (answered_.exchange(true))
    return;
  headers.emplace_back("x-trace-id", trace_id_);
  headers.emplace_back("Access-Control-Allow-Origin", srv_.ctx->config.cors_origin);
  headers.emplace_back("Access-Control-Expose-Headers", "x-trace-id, Retry-After");
  for (const auto& [name, value] : security_headers())
    headers.emplace_back(std::string{name}, std::string{value});
  if (!content_type.empty()) {
    headers.emplace_back("Content-Type", std::string{content_type});
    if (body.size() > gzip_threshold) {
      headers.emplace_back("Vary", "Accept-Encoding");
      if (accepts_gzip(
              req_->header().get_field_or(restinio::http_field::accept_encoding, ""))) {
        body = restinio::transforms::zlib::gzip_compress(body);
        headers.emplace_back("Content-Encoding", "gzip");
      }
    }
  }
  restinio::http_status_line_t status_line{
      restinio::http_status_code_t{static_cast<std::uint16_t>(status)},
      std::string{reason_phrase(status)}};
  auto finish = [&](auto resp) {
    for (auto& [name, value] : headers)
      resp.append_header(std::move(name), std::move(value));
    if (tally_)
      resp.done([tally = tally_](const restinio::asio_ns::error_code&) {
        tally->written.fetch_add(1);
      });
    else
      resp.done();
  };
  if (head_only_) {
    // A HEAD answer announces the length of the body a GET would get, and
    // sends none.
    auto resp = req_->create_response<restinio::user_controlled_output_t>(status_line);
    resp.set_content_length(body.size());
    finish(std::move(resp));
  } else {
    auto resp = req_->create_response(status_line);
    if (!content_type.empty())
      resp.set_body(std::move(body));
    finish(std::move(resp));
  }
  srv_.finished(*this, status, started_, track_, route_);
}

server::server(caf::actor_system& system, context_ptr ctx)
    : impl_(std::make_unique<impl>(system, std::move(ctx))) {}

server::~server() {
  stop();
}

namespace {

// Raises the soft limit of open files to the hard one (as servers do) and
// returns it: every connection takes a descriptor.
std::size_t raise_open_file_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0)
    return 1024;
  if (limit.rlim_cur < limit.rlim_max) {
    auto wanted = limit;
    wanted.rlim_cur = std::min<rlim_t>(limit.rlim_max, 1'048'576);
    if (setrlimit(RLIMIT_NOFILE, &wanted) == 0)
      limit = wanted;
  }
  return static_cast<std::size_t>(limit.rlim_cur);
}

} // namespace

void server::start() {
  auto& cfg = impl_->ctx->config;
  auto timeout = std::chrono::milliseconds{cfg.request_timeout_ms};
  // Descriptors the service needs besides connections (database files and
  // connections, stdout, the listener, eventfds): connections never take
  // them, so accept() never runs out.
  constexpr std::size_t reserved_descriptors = 64;
  auto open_files = raise_open_file_limit();
  impl_->hard_connection_cap = open_files > 2 * reserved_descriptors
                                   ? open_files - reserved_descriptors
                                   : open_files / 2;
  auto& policy = impl_->connections;
  // Between the cap and the hard cap, connections are accepted only to be
  // told 503.
  auto room_to_refuse = std::min<std::size_t>(64, impl_->hard_connection_cap / 4);
  policy.max_connections =
      std::min<std::size_t>(static_cast<std::size_t>(cfg.max_connections),
                            impl_->hard_connection_cap - room_to_refuse);
  if (policy.max_connections < static_cast<std::size_t>(cfg.max_connections))
    impl_->ctx->logs->log(
        model::log_level::warn, "connection cap lowered by the open file limit",
        {{"maxConnections", static_cast<std::int64_t>(policy.max_connections)},
         {"openFileLimit", static_cast<std::int64_t>(open_files)}});
  policy.cors_origin = cfg.cors_origin;
  policy.new_trace_id = [] { return model::new_uuid_v4(); };
  policy.report = [this](const rejected_request& r) { impl_->rejected(r); };
  policy.admission = [this](const request_head& head) { return impl_->admit_body(head); };
  policy.limits.max_target = max_target_bytes;
  policy.limits.max_body = max_body_bytes;
  install_connection_policy(&policy);
  // RESTinio's own limits stay above the gate's, which decides first.
  auto settings = restinio::server_settings_t<traits_t>{}
                      .address(cfg.host)
                      .port(static_cast<std::uint16_t>(cfg.port))
                      .request_handler(impl_->make_router())
                      // Idle keep-alive connections stay open longer than the load
                      // balancer's 60 s idle timeout, so it never reuses one we closed.
                      .read_next_http_message_timelimit(std::chrono::seconds{75})
                      .write_http_response_timelimit(std::chrono::seconds{30})
                      .handle_request_timeout(timeout + std::chrono::seconds{30})
                      .max_pipelined_requests(4 * policy.limits.max_in_flight)
                      .max_parallel_connections(impl_->hard_connection_cap)
                      .acceptor_post_bind_hook(
                          [this](restinio::asio_ns::ip::tcp::acceptor& acceptor) {
                            impl_->listen_fd.store(acceptor.native_handle());
                          })
                      .incoming_http_msg_limits(restinio::incoming_http_msg_limits_t{}
                                                    .max_url_size(64 * 1024)
                                                    .max_field_name_size(2 * 1024)
                                                    .max_field_value_size(32 * 1024)
                                                    .max_field_count(200)
                                                    .max_body_size(2 * max_body_bytes));
  impl_->http = std::make_unique<http_server_t>(restinio::external_io_context(impl_->io),
                                                std::move(settings));
  try {
    impl_->http->open_sync();
  } catch (const std::exception& e) {
    throw std::runtime_error("cannot listen on " + cfg.host + ":" +
                             std::to_string(cfg.port) + ": " + e.what());
  }
  impl_->accepting = true;
  impl_->ticker = std::make_unique<restinio::asio_ns::steady_timer>(impl_->io);
  restinio::asio_ns::post(impl_->io, [this] { impl_->tick(); });
  for (int i = 0; i < cfg.io_threads; ++i)
    impl_->threads.emplace_back([this] { impl_->io.run(); });
}

void server::stop_accepting() {
  if (!impl_->http)
    return;
  std::promise<void> closed;
  impl_->accepting = false;
  restinio::asio_ns::post(impl_->io, [&] {
    try {
      impl_->http->close_sync();
    } catch (...) {
    }
    closed.set_value();
  });
  closed.get_future().wait_for(std::chrono::seconds{2});
}

bool server::wait_idle(std::chrono::milliseconds limit) {
  std::unique_lock<std::mutex> lock{impl_->idle_mutex};
  return impl_->idle.wait_for(lock, limit,
                              [this] { return impl_->in_flight.load() <= 0; });
}

void server::stop() {
  if (impl_->threads.empty())
    return;
  impl_->io.stop();
  for (auto& t : impl_->threads)
    t.join();
  impl_->threads.clear();
}

} // namespace um::http
