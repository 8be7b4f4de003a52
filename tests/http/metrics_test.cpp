// The Prometheus text of GET /metrics, byte for byte: dashboards and alerts read
// these names, labels, HELP and TYPE lines, bucket bounds and number formats
// (docs/API.md lists them). The page is request_metrics::render() followed by
// service_metrics_text(), as GET /metrics serves it.

#include "http/metrics.hpp"

#include <gtest/gtest.h>

namespace {

using namespace um;

TEST(metrics_text, golden) {
  http::request_metrics requests;
  auto health_route = requests.add_route("GET /health");
  auto usage_route = requests.add_route("GET /v1/usage/:entityId");
  requests.add_route("POST /v1/events"); // registered, never requested
  auto odd_route = requests.add_route("GET /a \"quoted\" \\ route");
  requests.record(health_route, 200, 0.0004);
  requests.record(health_route, 200, 0.0007);
  requests.record(health_route, 503, 0.003);
  requests.record(usage_route, 200, 0.02);
  requests.record(usage_route, 504, 3.5);  // past the last bound: only +Inf
  requests.record(usage_route, 418, 0.1);  // a status not counted on its own: "other"
  requests.record(odd_route, 404, 0.0005); // exactly on a bound: in that bucket

  http::service_numbers numbers;
  numbers.events_stored = 1234;
  numbers.events_deduplicated = 5;
  numbers.ingest_rejected = 6;
  numbers.tracking_dropped = 7;
  numbers.ingest_queue_depth = 8;
  numbers.log_lines_dropped = 9;
  numbers.notifications_created = 11;
  numbers.notification_deliveries = 12;
  numbers.notification_failures = 13;
  numbers.notifications_given_up = 14;
  numbers.notification_channels_disabled = 15;
  numbers.notification_queue_depth = 16;
  numbers.in_flight_requests = 3;
  numbers.uptime = 90'999; // ms: whole seconds are reported
  model::health_report health;
  health.components = {{"log-shipper", model::component_state::up, 0, ""},
                       {"ingest", model::component_state::restarting, 2, "killed"},
                       {"aggregation", model::component_state::failed, 10, "budget"}};

  const std::string golden =
      R"(# HELP http_requests_total HTTP requests answered, by route and status.
# TYPE http_requests_total counter
http_requests_total{route="GET /health",status="200"} 2
http_requests_total{route="GET /health",status="503"} 1
http_requests_total{route="GET /v1/usage/:entityId",status="200"} 1
http_requests_total{route="GET /v1/usage/:entityId",status="504"} 1
http_requests_total{route="GET /v1/usage/:entityId",status="other"} 1
http_requests_total{route="GET /a \"quoted\" \\ route",status="404"} 1
# HELP http_request_duration_seconds Time from request to response, by route.
# TYPE http_request_duration_seconds histogram
http_request_duration_seconds_bucket{route="GET /health",le="0.0005"} 1
http_request_duration_seconds_bucket{route="GET /health",le="0.001"} 2
http_request_duration_seconds_bucket{route="GET /health",le="0.0025"} 2
http_request_duration_seconds_bucket{route="GET /health",le="0.005"} 3
http_request_duration_seconds_bucket{route="GET /health",le="0.01"} 3
http_request_duration_seconds_bucket{route="GET /health",le="0.025"} 3
http_request_duration_seconds_bucket{route="GET /health",le="0.05"} 3
http_request_duration_seconds_bucket{route="GET /health",le="0.1"} 3
http_request_duration_seconds_bucket{route="GET /health",le="0.25"} 3
http_request_duration_seconds_bucket{route="GET /health",le="0.5"} 3
http_request_duration_seconds_bucket{route="GET /health",le="1"} 3
http_request_duration_seconds_bucket{route="GET /health",le="2.5"} 3
http_request_duration_seconds_bucket{route="GET /health",le="+Inf"} 3
http_request_duration_seconds_sum{route="GET /health"} 0.0041
http_request_duration_seconds_count{route="GET /health"} 3
http_request_duration_seconds_bucket{route="GET /v1/usage/:entityId",le="0.0005"} 0
http_request_duration_seconds_bucket{route="GET /v1/usage/:entityId",le="0.001"} 0
http_request_duration_seconds_bucket{route="GET /v1/usage/:entityId",le="0.0025"} 0
http_request_duration_seconds_bucket{route="GET /v1/usage/:entityId",le="0.005"} 0
http_request_duration_seconds_bucket{route="GET /v1/usage/:entityId",le="0.01"} 0
http_request_duration_seconds_bucket{route="GET /v1/usage/:entityId",le="0.025"} 1
http_request_duration_seconds_bucket{route="GET /v1/usage/:entityId",le="0.05"} 1
http_request_duration_seconds_bucket{route="GET /v1/usage/:entityId",le="0.1"} 2
http_request_duration_seconds_bucket{route="GET /v1/usage/:entityId",le="0.25"} 2
http_request_duration_seconds_bucket{route="GET /v1/usage/:entityId",le="0.5"} 2
http_request_duration_seconds_bucket{route="GET /v1/usage/:entityId",le="1"} 2
http_request_duration_seconds_bucket{route="GET /v1/usage/:entityId",le="2.5"} 2
http_request_duration_seconds_bucket{route="GET /v1/usage/:entityId",le="+Inf"} 3
http_request_duration_seconds_sum{route="GET /v1/usage/:entityId"} 3.62
http_request_duration_seconds_count{route="GET /v1/usage/:entityId"} 3
http_request_duration_seconds_bucket{route="POST /v1/events",le="0.0005"} 0
http_request_duration_seconds_bucket{route="POST /v1/events",le="0.001"} 0
http_request_duration_seconds_bucket{route="POST /v1/events",le="0.0025"} 0
http_request_duration_seconds_bucket{route="POST /v1/events",le="0.005"} 0
http_request_duration_seconds_bucket{route="POST /v1/events",le="0.01"} 0
http_request_duration_seconds_bucket{route="POST /v1/events",le="0.025"} 0
http_request_duration_seconds_bucket{route="POST /v1/events",le="0.05"} 0
http_request_duration_seconds_bucket{route="POST /v1/events",le="0.1"} 0
http_request_duration_seconds_bucket{route="POST /v1/events",le="0.25"} 0
http_request_duration_seconds_bucket{route="POST /v1/events",le="0.5"} 0
http_request_duration_seconds_bucket{route="POST /v1/events",le="1"} 0
http_request_duration_seconds_bucket{route="POST /v1/events",le="2.5"} 0
http_request_duration_seconds_bucket{route="POST /v1/events",le="+Inf"} 0
http_request_duration_seconds_sum{route="POST /v1/events"} 0
http_request_duration_seconds_count{route="POST /v1/events"} 0
http_request_duration_seconds_bucket{route="GET /a \"quoted\" \\ route",le="0.0005"} 1
http_request_duration_seconds_bucket{route="GET /a \"quoted\" \\ route",le="0.001"} 1
http_request_duration_seconds_bucket{route="GET /a \"quoted\" \\ route",le="0.0025"} 1
http_request_duration_seconds_bucket{route="GET /a \"quoted\" \\ route",le="0.005"} 1
http_request_duration_seconds_bucket{route="GET /a \"quoted\" \\ route",le="0.01"} 1
http_request_duration_seconds_bucket{route="GET /a \"quoted\" \\ route",le="0.025"} 1
http_request_duration_seconds_bucket{route="GET /a \"quoted\" \\ route",le="0.05"} 1
http_request_duration_seconds_bucket{route="GET /a \"quoted\" \\ route",le="0.1"} 1
http_request_duration_seconds_bucket{route="GET /a \"quoted\" \\ route",le="0.25"} 1
http_request_duration_seconds_bucket{route="GET /a \"quoted\" \\ route",le="0.5"} 1
http_request_duration_seconds_bucket{route="GET /a \"quoted\" \\ route",le="1"} 1
http_request_duration_seconds_bucket{route="GET /a \"quoted\" \\ route",le="2.5"} 1
http_request_duration_seconds_bucket{route="GET /a \"quoted\" \\ route",le="+Inf"} 1
http_request_duration_seconds_sum{route="GET /a \"quoted\" \\ route"} 0.0005
http_request_duration_seconds_count{route="GET /a \"quoted\" \\ route"} 1
# HELP usage_events_ingested_total Events newly stored.
# TYPE usage_events_ingested_total counter
usage_events_ingested_total 1234
# HELP usage_events_deduplicated_total Events answered from an earlier copy (same source and id).
# TYPE usage_events_deduplicated_total counter
usage_events_deduplicated_total 5
# HELP usage_ingest_rejected_total Write requests refused with 503 because the ingest queue was full.
# TYPE usage_ingest_rejected_total counter
usage_ingest_rejected_total 6
# HELP usage_self_tracking_dropped_total Self-tracking events dropped because the ingest queue was full.
# TYPE usage_self_tracking_dropped_total counter
usage_self_tracking_dropped_total 7
# HELP usage_ingest_queue_depth Events queued for the next commit.
# TYPE usage_ingest_queue_depth gauge
usage_ingest_queue_depth 8
# HELP usage_log_lines_dropped_total Log lines dropped because the log queue was full.
# TYPE usage_log_lines_dropped_total counter
usage_log_lines_dropped_total 9
# HELP usage_notifications_created_total Usage alert events made (one per rule, subject, window and threshold).
# TYPE usage_notifications_created_total counter
usage_notifications_created_total 11
# HELP usage_notification_deliveries_total Webhook delivery attempts answered with a 2xx status.
# TYPE usage_notification_deliveries_total counter
usage_notification_deliveries_total 12
# HELP usage_notification_failures_total Webhook delivery attempts that failed (error status, timeout, refused target).
# TYPE usage_notification_failures_total counter
usage_notification_failures_total 13
# HELP usage_notifications_given_up_total Webhook deliveries given up after their last retry.
# TYPE usage_notifications_given_up_total counter
usage_notifications_given_up_total 14
# HELP usage_notification_channels_disabled_total Notification channels disabled after too many failed attempts in a row.
# TYPE usage_notification_channels_disabled_total counter
usage_notification_channels_disabled_total 15
# HELP usage_notification_queue_depth Usage alert events with a webhook delivery still to make.
# TYPE usage_notification_queue_depth gauge
usage_notification_queue_depth 16
# HELP http_requests_in_flight Requests received and not yet answered.
# TYPE http_requests_in_flight gauge
http_requests_in_flight 3
# HELP process_uptime_seconds Seconds since the service started.
# TYPE process_uptime_seconds gauge
process_uptime_seconds 90
# HELP actor_restarts_total Restarts of each supervised part.
# TYPE actor_restarts_total counter
actor_restarts_total{actor="log-shipper"} 0
actor_restarts_total{actor="ingest"} 2
actor_restarts_total{actor="aggregation"} 10
# HELP actor_up Whether each supervised part is up (1) or not (0).
# TYPE actor_up gauge
actor_up{actor="log-shipper",state="up"} 1
actor_up{actor="ingest",state="restarting"} 0
actor_up{actor="aggregation",state="failed"} 0
)";
  EXPECT_EQ(requests.render() + http::service_metrics_text(numbers, health), golden);
}

} // namespace
