// The service's routes: one row each. To add a route, add its row here and
// its handler (and the handler's test) beside the others of its API; the
// router, the CORS preflight, the 404s, the request gate, /metrics and the
// docs check (usage-metrics --print-routes) follow from the row.

#include "http/routes.hpp"

#include "http/handlers.hpp"

namespace um::http {

namespace {

constexpr auto open = access::open;
constexpr auto key = access::api_key;
constexpr auto portal_token = access::portal_token;
constexpr auto v1_errors = error_style::v1;
constexpr auto problem = error_style::problem;
constexpr auto tracked = tracking::tracked;
constexpr auto untracked = tracking::untracked;
constexpr auto reads = on_timeout::failed;
constexpr auto writes = on_timeout::write_may_land;
constexpr auto drill = availability::with_fault_injection;

} // namespace

const route_table& service_routes() {
  // Rows are registered, and /metrics lists them, in this order.
  // clang-format off
  static const route_table table{
    {
      // method   path                                          auth  errors     tracking   504     handler
      {"GET",    "/health",                                    open, v1_errors, untracked, reads,  operations::health},
      {"GET",    "/ready",                                     open, v1_errors, untracked, reads,  operations::ready},
      {"GET",    "/",                                          open, v1_errors, tracked,   reads,  operations::root},
      {"GET",    "/info",                                      key,  v1_errors, tracked,   reads,  operations::info},
      {"POST",   "/v1/events",                                 key,  v1_errors, tracked,   writes, v1::post_event},
      {"POST",   "/v1/events/batch",                           key,  v1_errors, tracked,   writes, v1::post_batch},
      {"GET",    "/v1/events",                                 key,  v1_errors, tracked,   reads,  v1::list_events},
      {"DELETE", "/v1/events/:id",                             key,  v1_errors, tracked,   writes, v1::void_event},
      {"PUT",    "/v1/events/:id",                             key,  v1_errors, tracked,   writes, v1::correct_event},
      {"GET",    "/v1/usage/stats",                            key,  v1_errors, tracked,   reads,  v1::usage_stats},
      {"GET",    "/v1/usage/:entityId",                        key,  v1_errors, tracked,   reads,  v1::usage_summary},
      {"GET",    "/v1/usage/:entityId/history",                key,  v1_errors, tracked,   reads,  v1::usage_history},
      {"POST",   "/api/v1/events",                             key,  problem,   tracked,   writes, metering::ingest_events},
      {"GET",    "/api/v1/events",                             key,  problem,   tracked,   reads,  metering::search_events},
      {"DELETE", "/api/v1/events",                             key,  problem,   tracked,   writes, metering::void_event},
      {"PUT",    "/api/v1/events",                             key,  problem,   tracked,   writes, metering::correct_event},
      {"POST",   "/api/v1/meters",                             key,  problem,   tracked,   reads,  metering::create_meter},
      {"GET",    "/api/v1/meters",                             key,  problem,   tracked,   reads,  metering::list_meters},
      {"GET",    "/api/v1/meters/:meter",                      key,  problem,   tracked,   reads,  metering::get_meter},
      {"PUT",    "/api/v1/meters/:meter",                      key,  problem,   tracked,   reads,  metering::update_meter},
      {"DELETE", "/api/v1/meters/:meter",                      key,  problem,   tracked,   reads,  metering::delete_meter},
      {"GET",    "/api/v1/meters/:meter/query",                key,  problem,   tracked,   reads,  metering::query_meter},
      {"POST",   "/api/v1/meters/:meter/query",                key,  problem,   tracked,   reads,  metering::query_meter_body},
      {"GET",    "/api/v1/meters/:meter/subjects",             key,  problem,   tracked,   reads,  metering::meter_subjects},
      {"GET",    "/api/v1/meters/:meter/group-by/:key/values", key,  problem,   tracked,   reads,  metering::group_by_values},
      {"POST",   "/api/v1/subjects",                           key,  problem,   tracked,   writes, metering::upsert_subjects},
      {"GET",    "/api/v1/subjects",                           key,  problem,   tracked,   reads,  metering::list_subjects},
      {"GET",    "/api/v1/subjects/:subject",                  key,  problem,   tracked,   reads,  metering::get_subject},
      {"DELETE", "/api/v1/subjects/:subject",                  key,  problem,   tracked,   writes, metering::delete_subject},
      {"GET",    "/api/v2/events",                             key,  problem,   tracked,   reads,  metering::list_events_v2},
      {"POST",   "/api/v1/portal/tokens",                      key,  problem,   tracked,   writes, portal::create_token},
      {"GET",    "/api/v1/portal/tokens",                      key,  problem,   tracked,   reads,  portal::list_tokens},
      {"POST",   "/api/v1/portal/tokens/invalidate",           key,  problem,   tracked,   writes, portal::invalidate_tokens},
      {"GET",    "/api/v1/portal/meters/:meter/query",         portal_token, problem, tracked, reads, portal::query_meter},
      {"GET",    "/api/v1/portal/meters",                      portal_token, problem, tracked, reads, portal::list_meters},
      {"POST",   "/api/v1/notification/channels",              key,  problem,   tracked,   reads,  notification::create_channel},
      {"GET",    "/api/v1/notification/channels",              key,  problem,   tracked,   reads,  notification::list_channels},
      {"GET",    "/api/v1/notification/channels/:channelId",   key,  problem,   tracked,   reads,  notification::get_channel},
      {"PUT",    "/api/v1/notification/channels/:channelId",   key,  problem,   tracked,   reads,  notification::update_channel},
      {"DELETE", "/api/v1/notification/channels/:channelId",   key,  problem,   tracked,   reads,  notification::delete_channel},
      {"POST",   "/api/v1/notification/rules",                 key,  problem,   tracked,   reads,  notification::create_rule},
      {"GET",    "/api/v1/notification/rules",                 key,  problem,   tracked,   reads,  notification::list_rules},
      {"GET",    "/api/v1/notification/rules/:ruleId",         key,  problem,   tracked,   reads,  notification::get_rule},
      {"PUT",    "/api/v1/notification/rules/:ruleId",         key,  problem,   tracked,   reads,  notification::update_rule},
      {"DELETE", "/api/v1/notification/rules/:ruleId",         key,  problem,   tracked,   reads,  notification::delete_rule},
      {"GET",    "/api/v1/notification/events",                key,  problem,   tracked,   reads,  notification::list_events},
      {"GET",    "/api/v1/notification/events/:eventId",       key,  problem,   tracked,   reads,  notification::get_event},
      {"POST",   "/api/v1/notification/events/:eventId/resend", key, problem,   tracked,   reads,  notification::resend_event},
      {"GET",    "/metrics",                                   key,  v1_errors, tracked,   reads,  operations::metrics},
      {"GET",    "/docs",                                      open, v1_errors, tracked,   reads,  operations::docs},
      {"GET",    "/dashboard",                                 open, v1_errors, tracked,   reads,  pages::serve},
      {"GET",    "/portal",                                    open, v1_errors, tracked,   reads,  pages::serve},
      {"GET",    "/assets/:file",                              open, v1_errors, tracked,   reads,  pages::serve},
      {"POST",   "/admin/faults/:actor/:fault",                key,  v1_errors, tracked,   reads,  operations::inject_fault, drill},
    },
    // A request that no row answers writes its errors as the API it is under.
    {{"/api/v1", problem}, {"/api/v2", problem}}};
  // clang-format on
  return table;
}

} // namespace um::http
