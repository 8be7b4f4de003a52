#pragma once

// Usage alerts: notification channels (webhook endpoints), rules (a meter's
// usage reaching thresholds within a window) and the events a crossing makes,
// in the shapes of OpenMeter's notification API (`/api/v1/notification/...`)
// so that `@openmeter/sdk`'s `notifications.channels.*`, `.rules.*` and
// `.events.*` work against this service.
//
// OpenMeter's rule types are about entitlements; ours is its own type,
// `meter.usage.threshold`, shaped like OpenMeter's rule objects. Everything
// here is pure: parsing requests, rendering answers and webhook bodies, the
// window a time falls in, which thresholds a change of value crosses, and the
// retry schedule. Storage, delivery and routes build on it.

#include "model/clock.hpp"
#include "model/v1_api.hpp"

#include <date/tz.h>
#include <nlohmann/json.hpp>

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace um::model {

/// The one channel type (OpenMeter's `NotificationChannelType`).
inline constexpr std::string_view notification_channel_type = "WEBHOOK";

/// Our rule type and the type of the events and webhook bodies it makes.
inline constexpr std::string_view meter_usage_threshold_type = "meter.usage.threshold";

/// Most thresholds one rule may have.
inline constexpr std::size_t max_rule_thresholds = 10;

/// Most channels one rule may deliver to.
inline constexpr std::size_t max_rule_channels = 50;

/// Most subjects one rule may be limited to.
inline constexpr std::size_t max_rule_subjects = 100;

/// Most custom headers one channel may send.
inline constexpr std::size_t max_channel_headers = 32;

/// Longest webhook URL accepted.
inline constexpr std::size_t max_channel_url_length = 2048;

/// A webhook endpoint alerts are delivered to.
struct notification_channel {
  std::string id;   ///< A ULID, given at creation.
  std::string name; ///< For people; 1 to 256 characters.
  std::string url;  ///< `http` or `https`, with a host.
  /// Sent with every delivery, in addition to the signature headers.
  std::map<std::string, std::string> custom_headers;
  std::string signing_secret; ///< `whsec_...` (see model/webhook_signature.hpp).
  bool disabled = false;      ///< Disabled channels are not delivered to.
  millis created_at = 0;
  millis updated_at = 0;
};

/// The span of time a rule sums usage over.
enum class threshold_window {
  day,   ///< The local calendar day in the rule's time zone.
  month, ///< The local calendar month in the rule's time zone.
  total, ///< All time.
};

/// The wire name of `w` (`DAY`, `MONTH`, `TOTAL`).
std::string_view threshold_window_name(threshold_window w);

/// Parses a wire name of a threshold window (exact, upper case).
std::optional<threshold_window> try_parse_threshold_window(std::string_view text);

/// A rule: alert when a subject's usage of a meter within the current window
/// reaches one of the thresholds.
struct notification_rule {
  std::string id;                 ///< A ULID, given at creation.
  std::string name;               ///< For people; 1 to 256 characters.
  std::string meter_slug;         ///< The meter whose usage is watched.
  std::vector<double> thresholds; ///< Ascending, without repeats, each > 0.
  threshold_window window = threshold_window::month; ///< Always given by the client.
  std::string window_time_zone = "UTC";              ///< A zone `try_locate_zone` finds.
  std::vector<std::string> subjects;                 ///< Only these subjects; empty: all.
  /// Only usage whose group-by values equal these (key → value); empty: all.
  std::map<std::string, std::string> group_by_filters;
  std::vector<std::string> channel_ids; ///< In the order given, without repeats.
  bool disabled = false;                ///< Disabled rules make no events.
  millis created_at = 0;
  millis updated_at = 0;
};

/// Where the delivery of an event to one channel stands.
enum class delivery_state { pending, sending, success, failed };

/// The wire name of `s` (OpenMeter's `PENDING`, `SENDING`, `SUCCESS`, `FAILED`).
std::string_view delivery_state_name(delivery_state s);

/// The delivery of one event to one channel.
struct notification_delivery {
  std::string channel_id;
  /// PENDING until delivered (also while waiting for a retry, and while an
  /// attempt is in flight: the notifier does not store SENDING, so that a
  /// claim cut short by a crash is claimed again), SUCCESS once a 2xx answer
  /// came, FAILED once given up.
  delivery_state state = delivery_state::pending;
  int attempts = 0; ///< Attempts finished so far.
  /// The HTTP status of the last answer; none when no answer came (yet).
  std::optional<int> last_status_code;
  /// Why the last attempt failed (e.g. `HTTP 500`, `timeout after 10 s`),
  /// shown to clients as `reason`; empty when it did not fail.
  std::string last_error;
  std::optional<millis> next_attempt_at; ///< None: no attempt is planned.
  std::optional<millis> last_attempt_at; ///< When the last finished attempt began.
  /// When the first attempt of this round began (a resend starts a new
  /// round): retries stop `retry_schedule::max_age` after it.
  std::optional<millis> first_attempt_at;
  millis last_duration_ms = 0; ///< How long the last attempt took.
  millis updated_at = 0;       ///< When the delivery last changed.
};

/// A half-open span of time `[from, to)`; `to` absent: without end.
struct usage_span {
  millis from = 0;
  std::optional<millis> to;

  friend bool operator==(const usage_span& a, const usage_span& b) {
    return a.from == b.from && a.to == b.to;
  }
};

/// One alert: a subject's usage reached a threshold of a rule in a window.
/// Its `id` is the `webhook-id` of every delivery and retry.
struct notification_event {
  std::string id; ///< A ULID.
  std::string rule_id;
  std::string rule_name; ///< As it was when the event was made.
  std::string meter_slug;
  std::string subject;
  usage_span window;    ///< The window whose usage reached the threshold.
  double threshold = 0; ///< The threshold reached.
  double value = 0;     ///< The usage in the window when the threshold was reached.
  millis created_at = 0;
  std::vector<notification_delivery> deliveries; ///< One per channel.
};

/// Which alerts `GET /api/v1/notification/events` lists: created within
/// `[from, to]`, of any of the subjects, rules and channels given (empty:
/// any), newest first, `limit` of them after `offset`.
struct notification_event_filter {
  millis from = earliest_timestamp;
  millis to = latest_timestamp;
  std::vector<std::string> subjects;
  std::vector<std::string> rule_ids;
  std::vector<std::string> channel_ids;
  std::size_t offset = 0;
  std::size_t limit = 100;
};

/// Whether `e` passes the filters of `f` (not its offset or limit).
bool notification_event_matches(const notification_event_filter& f,
                                const notification_event& e);

/// When the next attempt of any delivery of `e` is due: the earliest
/// `next_attempt_at` of its PENDING deliveries; none when nothing is planned.
std::optional<millis> next_due(const notification_event& e);

// Stored forms: what the stores keep of each, as JSON text, read back
// exactly (secrets, times and every delivery field included).

/// The stored form of a channel, and back (throws std::runtime_error on a
/// text that is not one).
std::string notification_channel_record(const notification_channel& c);
notification_channel read_notification_channel_record(std::string_view text);

/// The stored form of a rule, and back.
std::string notification_rule_record(const notification_rule& r);
notification_rule read_notification_rule_record(std::string_view text);

/// The stored form of an event with its deliveries, and back.
std::string notification_event_record(const notification_event& e);
notification_event read_notification_event_record(std::string_view text);

/// Usage a commit added to the store of a namespace: events of `type` for
/// `subject`. After each commit ingest tells the notifier which, so that it
/// evaluates the rules of the meters of these types for these subjects only.
struct usage_touch {
  std::string type;
  std::string subject;

  friend bool operator<(const usage_touch& a, const usage_touch& b) {
    return a.type != b.type ? a.type < b.type : a.subject < b.subject;
  }
  friend bool operator==(const usage_touch& a, const usage_touch& b) {
    return a.type == b.type && a.subject == b.subject;
  }
};

/// Rules with every channel of their namespace: what an answer about rules
/// needs to render them (rules name their channels).
struct notification_catalog {
  std::vector<notification_channel> channels; ///< Every channel, by id.
  std::vector<notification_rule> rules;       ///< The rules asked about, by id.
};

/// A page of alert events with what rendering them needs.
struct notification_event_page {
  std::vector<notification_event> events;     ///< Newest first.
  std::size_t total = 0;                      ///< How many pass the filter in all.
  std::vector<notification_rule> rules;       ///< Every rule of the namespace.
  std::vector<notification_channel> channels; ///< Every channel of the namespace.
};

// ---------------------------------------------------------------------------
// Requests. Every parser reports all the problems it finds, joined with "; ",
// in messages that name the field, as the meter parsers do. Unknown fields
// (OpenMeter's `metadata`, read-only fields) are ignored.

/// Reads the body of `POST /api/v1/notification/channels`
/// (OpenMeter's `NotificationChannelWebhookCreateRequest`): `type` must be
/// `WEBHOOK`; `name` 1 to 256 characters; `url` http(s) with a host (at most
/// 2048 characters); `customHeaders` an object of up to 32 names → string
/// values, names HTTP tokens, values without CR, LF or NUL, none of
/// `content-type`, `content-length`, `host`, `transfer-encoding`,
/// `connection` or `webhook-*` (the request's own); `signingSecret` per
/// `webhook_secret_problem`, a new one generated when absent; `disabled` a
/// boolean (default false). The channel gets `id` and both times `now`.
validated<notification_channel>
parse_new_notification_channel(const nlohmann::ordered_json& body, std::string id,
                               millis now);

/// Reads the body of `PUT /api/v1/notification/channels/{id}` (the same
/// shape as create; PUT replaces): the fields of `current` replaced, except
/// `id`, `created_at`, and the signing secret when none is given (so that an
/// update does not break receivers); `updated_at` becomes `now`.
validated<notification_channel>
parse_notification_channel_update(const nlohmann::ordered_json& body,
                                  const notification_channel& current, millis now);

/// Reads the body of `POST /api/v1/notification/rules`: `type` must be
/// `meter.usage.threshold`; `name` 1 to 256 characters; `meter` a meter slug
/// (whether the meter exists is the caller's to check); `thresholds` 1 to 10
/// objects `{"value": n}` with n a finite number > 0 and `type` absent or
/// `NUMBER` (also its newer name `usage_value`), kept ascending without
/// repeats; `window` `DAY`, `MONTH` or `TOTAL`; `windowTimeZone` an IANA
/// zone (default `UTC`); `subjects` up to 100 non-empty strings of at most
/// 256 characters; `filterGroupBy` an object of group-by key → string value;
/// `channels` 1 to 50 channel ids (whether they exist is the caller's to
/// check); `disabled` a boolean. The rule gets `id` and both times `now`.
validated<notification_rule>
parse_new_notification_rule(const nlohmann::ordered_json& body, std::string id,
                            millis now);

/// Reads the body of `PUT /api/v1/notification/rules/{id}` (the same shape
/// as create): a rule with `current`'s `id` and `created_at`, `updated_at`
/// `now`, and everything else from the body.
validated<notification_rule>
parse_notification_rule_update(const nlohmann::ordered_json& body,
                               const notification_rule& current, millis now);

/// Reads the body of `POST /api/v1/notification/events/{id}/resend`
/// (OpenMeter's `NotificationEventResendRequest`, `{channels?: string[]}`):
/// the channel ids to resend to, without repeats; empty: every channel of the
/// event.
validated<std::vector<std::string>>
parse_notification_resend(const nlohmann::ordered_json& body);

/// A page of a list (OpenMeter's `page` and `pageSize` query parameters).
struct page_request {
  std::size_t page = 1;        ///< From 1.
  std::size_t page_size = 100; ///< From 1 to 1000.

  /// How many items come before the page.
  std::size_t offset() const { return (page - 1) * page_size; }
};

/// Reads `page` (an integer from 1, default 1) and `pageSize` (1 to 1000,
/// default 100) of a list query.
validated<page_request> parse_page_request(const query_params& query);

// ---------------------------------------------------------------------------
// Answers, in OpenMeter's shapes. Times are RFC 3339 UTC with milliseconds.

/// A channel (OpenMeter's `NotificationChannelWebhook`): `id`, `type`,
/// `name`, `disabled`, `url`, `customHeaders`, `signingSecret` (OpenMeter
/// shows it), `createdAt`, `updatedAt`.
nlohmann::ordered_json notification_channel_json(const notification_channel& c);

/// A reference to a channel (OpenMeter's `NotificationChannelMeta`, `{id,
/// type}`, with `name` added when the channel is known): how rules and
/// deliveries name their channels. `channel` null: it was deleted.
nlohmann::ordered_json
notification_channel_meta_json(const std::string& id,
                               const notification_channel* channel);

/// A rule, shaped like OpenMeter's rule objects: `id`, `type`, `name`,
/// `disabled`, `meter`, `thresholds` (`[{"value", "type": "NUMBER"}]`),
/// `window`, `windowTimeZone`, `subjects` and `filterGroupBy` (when set),
/// `channels` as `notification_channel_meta_json` (names from `channels`,
/// which may hold any channels), `createdAt`, `updatedAt`.
nlohmann::ordered_json
notification_rule_json(const notification_rule& r,
                       const std::vector<notification_channel>& channels);

/// The payload of an event, and the body of its webhooks: `{id, type,
/// timestamp, data: {rule: {id, name}, meter, subject, window: {from, to},
/// threshold, value}}`; `window.to` is null for TOTAL, and whole numbers are
/// written without a fraction.
nlohmann::ordered_json notification_payload_json(const notification_event& e);

/// The exact bytes of a webhook's body: `notification_payload_json`
/// serialized compactly. The same event always gives the same bytes, so
/// every retry carries (and signs) the same body.
std::string webhook_body(const notification_event& e);

/// An event (OpenMeter's `NotificationEvent`): `id`, `type`, `createdAt`,
/// `rule` (`notification_rule_json` of `rule`, or `{id, type, name}` from
/// the event when the rule is gone), `deliveryStatus`, and `payload`. Each
/// delivery status has OpenMeter's `state`, `reason` (the last error, or
/// ""), `updatedAt`, `channel` (a channel meta), `nextAttempt` (when
/// planned) and `attempts` (an array holding the last attempt only, `{state,
/// response: {statusCode?, body, durationMs, url?}, timestamp}`: the store
/// keeps no history), and our `attemptCount` and `lastStatusCode` (when an
/// answer came).
nlohmann::ordered_json
notification_event_json(const notification_event& e, const notification_rule* rule,
                        const std::vector<notification_channel>& channels);

/// A list answer (OpenMeter's paginated responses): `{totalCount, page,
/// pageSize, items}`, `items` the page's items already rendered.
nlohmann::ordered_json notification_page_json(nlohmann::ordered_json items,
                                              const page_request& page,
                                              std::size_t total_count);

// ---------------------------------------------------------------------------
// Evaluation.

/// The window of kind `w` in `zone` that contains `now`: DAY the local
/// calendar day (23 or 25 hours across DST changes), MONTH the local
/// calendar month, both as `window_of` tiles them (model/windows.hpp); TOTAL
/// from `earliest_timestamp` (before any storable event) without end.
/// `zone` must not be null (see `try_locate_zone`).
usage_span usage_window(threshold_window w, const date::time_zone* zone, millis now);

/// The key that makes one event per (rule, subject, window, threshold): the
/// same arguments always give the same text, different ones different texts
/// (a compact JSON array; the threshold written in a fixed form, so that the
/// key does not change with the JSON library).
std::string event_key(std::string_view rule_id, std::string_view subject,
                      millis window_from, double threshold);

/// The thresholds the value reaches when it goes from `before` to `after`:
/// each `t` with `before < t <= after`, ascending, without repeats. A value
/// that goes down or stays crosses none.
std::vector<double> crossed_thresholds(const std::vector<double>& thresholds,
                                       double before, double after);

/// A new event of `rule` for `subject` in `window`, with a fresh ULID and a
/// pending delivery, due `now`, to each channel of `channel_ids` (the rule's
/// channels that the caller found enabled).
notification_event new_notification_event(const notification_rule& rule,
                                          std::string subject, usage_span window,
                                          double threshold, double value,
                                          const std::vector<std::string>& channel_ids,
                                          millis now);

// ---------------------------------------------------------------------------
// Retries.

/// When failed deliveries are tried again.
struct retry_schedule {
  /// The waits after the 1st, 2nd, ... failed attempt; the last one repeats.
  std::vector<millis> delays;
  /// No attempt starts later than this after the first.
  millis max_age = 0;
};

/// 1 s, 5 s, 30 s, 2 min, 10 min, 30 min, then hourly, up to 24 h after the
/// first attempt.
retry_schedule default_retry_schedule();

/// Reads a schedule such as `1s,5s,30s,2m,10m,30m,1h` (1 to 50 durations as
/// `try_parse_duration` reads them, separated by commas, spaces around them
/// allowed) and a maximum age such as `24h`. Messages name the wrong part.
validated<retry_schedule> parse_retry_schedule(std::string_view delays,
                                               std::string_view max_age);

/// How long to wait after `attempts_made` failed attempts before the next
/// one: the schedule's delay for that attempt (the last delay from there on;
/// 0 before any attempt) scaled by a factor from 0.8 to 1.2 chosen by
/// `random` (0 to 1, clamped), so that deliveries failing together do not
/// retry together.
millis next_attempt_delay(int attempts_made, const retry_schedule& schedule,
                          double random);

/// Whether a delivery first attempted at `first_attempt_at` should be given
/// up rather than attempted at `now`: when `now` is more than the schedule's
/// `max_age` after the first attempt.
bool give_up(millis first_attempt_at, millis now, const retry_schedule& schedule);

} // namespace um::model
