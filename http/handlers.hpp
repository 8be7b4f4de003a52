#pragma once

// The handlers of every route, by API. Each one parses its request (model
// functions), asks the actor that owns the answer (through the bridge) and
// renders the answer (model renderers); it sees its request only through an
// `exchange`, so it is tested with a recording transport (tests/http).

#include "actors/context.hpp"
#include "http/bridge.hpp"
#include "http/exchange.hpp"
#include "http/request_books.hpp"
#include "http/route_table.hpp"
#include "model/health.hpp"

#include <atomic>
#include <memory>
#include <string>
#include <utility>

namespace um::http {

/// The /health body of the health actor's latest report, serialized once per
/// report around its timestamp (reports change only when a part does).
class health_wire_cache {
public:
  /// The body of `report` at `now`.
  std::string body(const std::shared_ptr<const model::health_report>& report,
                   model::millis now);

private:
  struct entry {
    std::shared_ptr<const model::health_report> report;
    std::pair<std::string, std::string> parts;
  };
  std::shared_ptr<const entry> latest_;
};

/// What handlers reach besides their exchange.
struct backend {
  context_ptr ctx;
  bridge& actors;
  const request_books& books; ///< The request metrics and in-flight count.
  const route_table& routes;  ///< As served: for the CORS preflight.
  health_wire_cache health_wire{};
};

/// The v1 API (docs/API.md, the earlier service's contract).
namespace v1 {
void post_event(const exchange_ptr& ex, backend& b);
void post_batch(const exchange_ptr& ex, backend& b);
void list_events(const exchange_ptr& ex, backend& b);
void void_event(const exchange_ptr& ex, backend& b);    ///< `DELETE /v1/events/:id`.
void correct_event(const exchange_ptr& ex, backend& b); ///< `PUT /v1/events/:id`.
/// The audit trail's name for the key of the request (`model::api_key_label`).
std::string changed_by(const exchange_ptr& ex, const backend& b);
void usage_stats(const exchange_ptr& ex, backend& b);
void usage_summary(const exchange_ptr& ex, backend& b);
void usage_history(const exchange_ptr& ex, backend& b);
} // namespace v1

/// The metering API under /api/v1 (OpenMeter's).
namespace metering {
void ingest_events(const exchange_ptr& ex, backend& b);
void search_events(const exchange_ptr& ex, backend& b);
void void_event(const exchange_ptr& ex, backend& b);    ///< `DELETE /api/v1/events`.
void correct_event(const exchange_ptr& ex, backend& b); ///< `PUT /api/v1/events`.
void create_meter(const exchange_ptr& ex, backend& b);
void list_meters(const exchange_ptr& ex, backend& b);
void get_meter(const exchange_ptr& ex, backend& b);
void update_meter(const exchange_ptr& ex, backend& b);
void delete_meter(const exchange_ptr& ex, backend& b);
void query_meter(const exchange_ptr& ex, backend& b);      ///< GET: the query string.
void query_meter_body(const exchange_ptr& ex, backend& b); ///< POST: a JSON body.
void meter_subjects(const exchange_ptr& ex, backend& b);
void group_by_values(const exchange_ptr& ex, backend& b);
void list_events_v2(const exchange_ptr& ex, backend& b); ///< `GET /api/v2/events`.
void upsert_subjects(const exchange_ptr& ex, backend& b);
void list_subjects(const exchange_ptr& ex, backend& b);
void get_subject(const exchange_ptr& ex, backend& b);
void delete_subject(const exchange_ptr& ex, backend& b);
/// A meter query's answer, as JSON or (`csv`) OpenMeter's CSV.
void send_query_answer(exchange& x, meter_query_answer& a, bool csv);
} // namespace metering

/// Consumer portal tokens in OpenMeter's shapes (model/portal_tokens.hpp),
/// and the routes a portal token opens.
namespace portal {
void create_token(const exchange_ptr& ex, backend& b);      ///< API key.
void list_tokens(const exchange_ptr& ex, backend& b);       ///< API key.
void invalidate_tokens(const exchange_ptr& ex, backend& b); ///< API key.
void query_meter(const exchange_ptr& ex, backend& b);       ///< Portal token.
void list_meters(const exchange_ptr& ex, backend& b);       ///< Portal token.
} // namespace portal

/// Usage alerts under /api/v1/notification (OpenMeter's notification API),
/// answered by the notifier (model/notifications.hpp, notification_lists.hpp).
namespace notification {
void create_channel(const exchange_ptr& ex, backend& b); ///< 201 with the channel.
void list_channels(const exchange_ptr& ex, backend& b);  ///< A page of channels.
void get_channel(const exchange_ptr& ex, backend& b);
void update_channel(const exchange_ptr& ex, backend& b); ///< `PUT`: replaces it.
void delete_channel(const exchange_ptr& ex, backend& b); ///< 204.
void create_rule(const exchange_ptr& ex, backend& b);    ///< 201 with the rule.
void list_rules(const exchange_ptr& ex, backend& b);     ///< A page of rules.
void get_rule(const exchange_ptr& ex, backend& b);
void update_rule(const exchange_ptr& ex, backend& b); ///< `PUT`: replaces it.
void delete_rule(const exchange_ptr& ex, backend& b); ///< 204.
void list_events(const exchange_ptr& ex,
                 backend& b); ///< A page of alert events, newest first.
void get_event(const exchange_ptr& ex, backend& b);
/// `POST .../events/:eventId/resend`: 202 with no body once the notifier
/// has taken it; no body resends to every channel of the event.
void resend_event(const exchange_ptr& ex, backend& b);
} // namespace notification

/// The web pages (page_assets.hpp): `GET /dashboard`, `GET /portal` and the
/// files they load from `/assets/`, compiled into the binary.
namespace pages {
/// The file the request's path names, with the pages' headers (304 while the
/// client's copy is current); 404 for a path that names no file.
void serve(const exchange_ptr& ex, backend& b);
} // namespace pages

/// What the service says about itself, and its drills.
namespace operations {
void health(const exchange_ptr& ex, backend& b);
void ready(const exchange_ptr& ex, backend& b);
void info(const exchange_ptr& ex, backend& b);
void root(const exchange_ptr& ex, backend& b);
void docs(const exchange_ptr& ex, backend& b);
void metrics(const exchange_ptr& ex, backend& b);
void inject_fault(const exchange_ptr& ex, backend& b);
/// A CORS preflight on any path, with the methods its routes take.
void preflight(const exchange_ptr& ex, backend& b);
/// A request no route answers.
void not_found(const exchange_ptr& ex, backend& b);
} // namespace operations

} // namespace um::http
