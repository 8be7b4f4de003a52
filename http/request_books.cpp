#include "http/request_books.hpp"

#include "http/translate.hpp"
#include "model/log_record.hpp"
#include "model/v1_api.hpp"

#include <cmath>

namespace um::http {

request_books::request_books(context_ptr ctx) : ctx_(std::move(ctx)) {}

bool request_books::wait_idle(std::chrono::milliseconds limit) {
  std::unique_lock<std::mutex> lock{idle_mutex_};
  return idle_.wait_for(lock, limit, [this] { return in_flight_.load() <= 0; });
}

void request_books::server_error(const exchange& ex, int status,
                                 const model::api_error& error) {
  std::vector<std::pair<std::string, model::log_value>> fields{
      {"method", std::string{ex.method()}},
      {"path", std::string{ex.path()}},
      {"statusCode", std::int64_t{status}},
      {"code", std::string{model::code_name(error.code)}},
      {"traceId", ex.trace_id()}};
  // What actually failed; the client's message stays generic.
  if (!error.cause.empty())
    fields.emplace_back("error", error.cause);
  ctx_->logs->log(model::log_level::error, "request error: " + error.message,
                  std::move(fields));
}

void request_books::answered(const exchange& ex, int status) {
  auto elapsed =
      std::chrono::duration<double, std::milli>(exchange::clock::now() - ex.started());
  metrics_.record(ex.terms().metric_slot, status, elapsed.count() / 1000.0);
  double duration = std::round(elapsed.count() * 1000.0) / 1000.0;
  auto now = model::now_millis();
  model::request_log line;
  line.method = std::string{ex.method()};
  line.path = std::string{ex.path()};
  line.status = status;
  line.duration_ms = duration;
  line.trace_id = ex.trace_id();
  line.user_agent = std::string{ex.header_or_empty("user-agent")};
  line.ip = client_ip(ex.header_or_empty("x-forwarded-for"), ex.peer_address());
  // A request refused before its namespace was known is tracked in the
  // default namespace, when the service serves it (else nobody could read it).
  if (ex.terms().tracked &&
      model::serves_namespace(ctx_->config.api_keys, ex.terms().ns)) {
    if (auto ingest = ctx_->directory->ingest())
      caf::anon_send(ingest, track_atom_v, ex.trace(),
                     model::make_self_tracking_event(line.method, line.path, status,
                                                     duration, ex.trace_id(), now));
  }
  ctx_->logs->emit(model::make_request_record(std::move(line), now));
  if (in_flight_.fetch_sub(1) == 1) {
    std::lock_guard<std::mutex> guard{idle_mutex_};
    idle_.notify_all();
  }
}

void request_books::rejected(const rejected_request& r, bool tracked,
                             std::size_t metric_slot) {
  metrics_.record(metric_slot, model::http_status(r.error.code), 0.0);
  model::request_log line;
  line.method = r.line.method;
  line.path = r.line.path;
  line.status = model::http_status(r.error.code);
  line.trace_id = r.trace_id;
  line.ip = r.ip;
  auto now = model::now_millis();
  if (tracked && model::serves_namespace(ctx_->config.api_keys, model::default_namespace))
    if (auto ingest = ctx_->directory->ingest())
      caf::anon_send(ingest, track_atom_v, model::trace_ref{line.trace_id},
                     model::make_self_tracking_event(line.method, line.path, line.status,
                                                     0.0, line.trace_id, now));
  ctx_->logs->emit(model::make_request_record(line, now));
}

} // namespace um::http
