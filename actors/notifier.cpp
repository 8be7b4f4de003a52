// The notifier: usage alerts (issue 18). It keeps each served namespace's
// channels, rules and meters, evaluates the rules after commits, stores one
// event per (rule, subject, window, threshold), and delivers the events as
// signed webhooks through senders on threads of their own.
//
// Durability. An alert is derived from committed usage, so the usage is its
// outbox: a crossing whose commit was acknowledged but whose evaluation a
// crash cut short is found again by the evaluation of every rule that each
// start makes (the current window and the one before). The store keeps one
// event per key however often it is found, and claims of due deliveries are
// leased, so an attempt a crash cut short is made again when its lease ends:
// at least once, always with the event's id as `webhook-id`.

#include "actors/actors.hpp"
#include "model/portal_tokens.hpp"
#include "model/webhook_signature.hpp"
#include "model/windows.hpp"
#include "notify/webhook_client.hpp"

#include <algorithm>
#include <deque>
#include <random>
#include <set>
#include <unordered_set>

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(um::notify::webhook_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(um::notify::webhook_response)

namespace um {

namespace {

/// How many webhook attempts run at once.
constexpr std::size_t sender_count = 4;

/// How often the notifier looks for due deliveries and re-reads what other
/// instances may have changed.
constexpr auto tick_interval = std::chrono::seconds{1};

/// How old the cached channels, rules and meters of a namespace may get.
constexpr model::millis cache_ttl_ms = 5'000;

/// Most subjects one evaluation query names.
constexpr std::size_t subjects_per_query = 200;

/// Most event keys remembered as made (then forgotten all at once: the store
/// still refuses a second event per key).
constexpr std::size_t max_remembered_keys = 100'000;

// -- senders ----------------------------------------------------------------

using webhook_sender_actor = caf::typed_actor<caf::replies_to<
    deliver_atom, notify::webhook_request>::with<notify::webhook_response>>;

struct webhook_sender_state {
  static inline const char* name = "webhook-sender";
  std::unique_ptr<notify::webhook_client> client;
};

// Makes one attempt at a time; blocks its own thread for at most the
// attempt's timeout.
webhook_sender_actor::behavior_type
webhook_sender(webhook_sender_actor::stateful_pointer<webhook_sender_state> self,
               notify::webhook_limits limits) {
  return {[self, limits](deliver_atom, const notify::webhook_request& request) {
    if (!self->state.client)
      self->state.client = std::make_unique<notify::webhook_client>();
    return self->state.client->post(request, limits);
  }};
}

// -- state --------------------------------------------------------------------

/// A due delivery of one event to one channel, claimed and waiting for a
/// sender.
struct delivery_job {
  std::string ns;
  model::notification_event event; ///< As claimed (before the lease).
  std::string channel_id;
};

/// What the notifier keeps of one namespace.
struct namespace_alerts {
  std::vector<model::notification_channel> channels;
  std::vector<model::notification_rule> rules;
  std::vector<model::stored_meter> meters;
  model::millis loaded_at = 0;          ///< 0: to be read.
  std::set<model::usage_touch> touched; ///< Told by ingest, not yet evaluated.
  bool started = false;                 ///< The start's evaluation of every rule is done.
  bool claimed = false;                 ///< A claim was made since the start.
  std::set<std::string> rules_to_sweep; ///< Rules to evaluate for every subject.
};

struct notifier_state {
  static inline const char* name = "notifier";
  namespace_stores stores;
  std::map<std::string, namespace_alerts> namespaces;
  std::unordered_set<std::string> made; ///< Namespace + event key already stored.
  std::vector<webhook_sender_actor> idle;
  std::deque<delivery_job> queue;
  std::size_t in_flight = 0;
  std::map<std::string, int> failures_in_a_row; ///< By namespace + channel id.
  model::retry_schedule schedule;
  notify::webhook_limits limits;
  std::mt19937_64 random{std::random_device{}()};
  bool evaluation_due = false;   ///< A `usage_atom` to itself is on its way.
  std::set<std::string> failing; ///< Namespaces whose database is unavailable.
  /// When each kind of background work last logged an error, by namespace.
  std::map<std::string, model::millis> last_error_logged;
};

using self_ptr = notifier_actor::stateful_pointer<notifier_state>;

// A failure the client caused, carried as a value out of `with_store`.
struct client_error {
  model::error_code code;
  std::string message;
};

void log_failure(const context_ptr& ctx, const std::string& trace_id, const char* doing,
                 const std::string& what, const std::string& ns) {
  model::log_record line{model::log_level::error,
                         model::now_millis(),
                         std::string{"notifier error: "} + doing,
                         {{"error", what}, {"namespace", ns}}};
  model::add_trace_fields(line, {trace_id});
  ctx->logs->emit(std::move(line));
}

// Runs `work` on the connection of namespace `ns`; a failure of the store is
// logged (naming the request, when there is one), drops the connection for a
// fresh one, and becomes an error value.
template <class T, class Work>
caf::result<T> with_store(self_ptr self, const context_ptr& ctx,
                          const store_factory& open_store, const std::string& ns,
                          const std::string& trace_id, const char* doing, Work work) {
  auto& stores = self->state.stores;
  try {
    return work(store_of(stores, open_store, ctx->config, ns));
  } catch (const client_error& e) {
    return caf::make_error(e.code, e.message);
  } catch (const storage::storage_error& e) {
    if (e.kind() == storage::failure_kind::not_found)
      return to_error(e);
    log_failure(ctx, trace_id, doing, e.what(), ns);
    stores.erase(ns);
    return to_error(e);
  } catch (const std::exception& e) {
    log_failure(ctx, trace_id, doing, e.what(), ns);
    stores.erase(ns);
    return to_error(e);
  }
}

// The same for the notifier's own work, which answers no one: false when it
// failed. A database that is unreachable or refuses writes is logged once, at
// `warn`, when the notifier's work starts failing on it, and again at `info`
// when it works again: the requests that fail meanwhile log it as errors,
// and a line per second would bury them. Anything else (a damaged record, a
// bug) is an `error`, repeated once a minute while it lasts: only an
// operator clears it.
template <class Work>
bool background(self_ptr self, const context_ptr& ctx, const store_factory& open_store,
                const std::string& ns, const char* doing, Work work) {
  auto& stores = self->state.stores;
  auto& failing = self->state.failing;
  try {
    work(store_of(stores, open_store, ctx->config, ns));
    if (failing.erase(ns) != 0)
      ctx->logs->log(model::log_level::info, "notifier: the database answers again",
                     {{"namespace", ns}});
    return true;
  } catch (const std::exception& e) {
    auto storage = dynamic_cast<const storage::storage_error*>(&e);
    bool passing = storage && (storage->kind() == storage::failure_kind::unavailable ||
                               storage->kind() == storage::failure_kind::in_doubt);
    auto& last = self->state.last_error_logged[ns + '\n' + doing];
    auto now = model::now_millis();
    if (!passing && now - last >= 60'000) {
      last = now;
      log_failure(ctx, {}, doing, e.what(), ns);
    } else if (failing.insert(ns).second)
      ctx->logs->log(
          model::log_level::warn,
          "notifier: database unavailable, alerts wait until it answers",
          {{"namespace", ns}, {"doing", std::string{doing}}, {"error", e.what()}});
    stores.erase(ns);
    return false;
  }
}

template <class T>
const T* find_by_id(const std::vector<T>& items, const std::string& id) {
  auto it = std::find_if(items.begin(), items.end(),
                         [&](const T& item) { return item.id == id; });
  return it == items.end() ? nullptr : &*it;
}

const model::meter* find_meter(const namespace_alerts& a, const std::string& slug,
                               bool* ready = nullptr) {
  for (const auto& m : a.meters)
    if (m.meter.slug == slug) {
      if (ready)
        *ready = m.ready;
      return &m.meter;
    }
  return nullptr;
}

model::notification_channel find_channel(storage::event_store& s, const std::string& id) {
  auto channels = s.notification_channels();
  if (auto c = find_by_id(channels, id))
    return *c;
  throw client_error{model::error_code::not_found,
                     "notification channel not found: " + id};
}

model::notification_rule find_rule(storage::event_store& s, const std::string& id) {
  auto rules = s.notification_rules();
  if (auto r = find_by_id(rules, id))
    return *r;
  throw client_error{model::error_code::not_found, "notification rule not found: " + id};
}

// Whether some namespace has an enabled rule: ingest tells the notifier of
// its commits only then.
void publish_activity(self_ptr self, const context_ptr& ctx) {
  bool active = false;
  for (const auto& [ns, a] : self->state.namespaces)
    for (const auto& r : a.rules)
      active = active || !r.disabled;
  ctx->counters->alert_rules_active.store(active);
}

// Reads a namespace's channels, rules and meters again. A rule that is new
// or changed since the last read (another instance's work, on a shared
// database) is evaluated for every subject: usage this instance committed
// before it knew the rule was not told to it.
void load(namespace_alerts& a, storage::event_store& s) {
  a.channels = s.notification_channels();
  auto rules = s.notification_rules();
  if (a.loaded_at != 0 || a.started)
    for (const auto& r : rules) {
      auto known = find_by_id(a.rules, r.id);
      if (!known || known->updated_at != r.updated_at)
        a.rules_to_sweep.insert(r.id);
    }
  a.rules = std::move(rules);
  a.meters = s.meters();
  a.loaded_at = model::now_millis();
}

// The checks of a rule that need the store: its meter exists and has the
// group-bys it filters on, and its channels exist.
void check_rule(storage::event_store& s, const model::notification_rule& r) {
  std::vector<std::string> problems;
  auto meters = s.meters();
  auto m = std::find_if(meters.begin(), meters.end(), [&](const model::stored_meter& x) {
    return x.meter.slug == r.meter_slug;
  });
  if (m == meters.end()) {
    problems.push_back("meter: no meter with slug " + r.meter_slug);
  } else {
    for (const auto& [key, value] : r.group_by_filters) {
      bool known = std::any_of(
          m->meter.group_by.begin(), m->meter.group_by.end(),
          [&key = key](const model::meter_group_by& g) { return g.key == key; });
      if (!known)
        problems.push_back("filterGroupBy: meter " + r.meter_slug + " has no group-by " +
                           key);
    }
  }
  auto channels = s.notification_channels();
  for (const auto& id : r.channel_ids)
    if (!find_by_id(channels, id))
      problems.push_back("channels: no notification channel with id " + id);
  if (!problems.empty()) {
    std::string joined;
    for (const auto& p : problems)
      joined += (joined.empty() ? "" : "; ") + p;
    throw client_error{model::error_code::validation, joined};
  }
}

// -- evaluation ---------------------------------------------------------------

// Each subject's usage of meter `m` in `window`, as rule `r` counts it (its
// group-by filters), for `subjects` (empty: every subject with usage).
std::map<std::string, double> window_usage(storage::event_store& s, const model::meter& m,
                                           const model::notification_rule& r,
                                           const date::time_zone* zone,
                                           model::usage_span window,
                                           std::vector<std::string> subjects) {
  model::meter_query q;
  q.from = std::max(window.from, model::earliest_query_time);
  q.to = std::min(window.to.value_or(model::latest_query_time), model::latest_query_time);
  q.time_zone = r.window_time_zone;
  q.subjects = std::move(subjects);
  q.group_by = {"subject"};
  for (const auto& [key, value] : r.group_by_filters)
    q.filter_group_by.emplace_back(key, value);
  q.from_given = q.to_given = true;
  model::meter_folder folder{m, q, zone};
  fold_meter_usage(s, m, q, zone, folder, [] {});
  std::map<std::string, double> out;
  for (auto& row : folder.take_rows())
    if (row.subject)
      out[*row.subject] += row.value;
  return out;
}

// Stores an event for every threshold of `r` that a subject's usage in
// `window` reaches, unless one is stored already.
void evaluate_rule(self_ptr self, const context_ptr& ctx, storage::event_store& s,
                   const std::string& ns, const namespace_alerts& a,
                   const model::notification_rule& r, const model::meter& m,
                   model::usage_span window, const std::vector<std::string>& subjects) {
  auto zone = model::try_locate_zone(r.window_time_zone);
  if (!zone)
    return;
  auto evaluate = [&](std::vector<std::string> chunk) {
    auto now = model::now_millis();
    for (const auto& [subject, value] : window_usage(s, m, r, zone, window, chunk)) {
      if (!r.subjects.empty() &&
          std::find(r.subjects.begin(), r.subjects.end(), subject) == r.subjects.end())
        continue;
      for (double threshold : r.thresholds) {
        if (value < threshold)
          break; // ascending
        auto key = model::event_key(r.id, subject, window.from, threshold);
        auto remembered = ns + '\n' + key;
        if (self->state.made.count(remembered) != 0)
          continue;
        std::vector<std::string> channel_ids;
        for (const auto& id : r.channel_ids)
          if (auto c = find_by_id(a.channels, id); c && !c->disabled)
            channel_ids.push_back(id);
        auto e = model::new_notification_event(r, subject, window, threshold, value,
                                               channel_ids, now);
        if (s.add_notification_event(e, key)) {
          ++ctx->counters->notifications_created;
          ctx->logs->log(model::log_level::info, "notification event created",
                         {{"namespace", ns},
                          {"eventId", e.id},
                          {"ruleId", r.id},
                          {"meter", r.meter_slug},
                          {"subject", subject},
                          {"threshold", threshold},
                          {"value", value},
                          {"channels", static_cast<std::int64_t>(channel_ids.size())}});
        }
        if (self->state.made.size() >= max_remembered_keys)
          self->state.made.clear();
        self->state.made.insert(std::move(remembered));
      }
    }
  };
  if (subjects.empty()) {
    evaluate({});
    return;
  }
  for (std::size_t i = 0; i < subjects.size(); i += subjects_per_query)
    evaluate({subjects.begin() + i,
              subjects.begin() + std::min(subjects.size(), i + subjects_per_query)});
}

// Evaluates what is pending in namespace `ns`: every rule once after a
// start (this window and the one before, so that a crossing a crash
// interrupted at a window's end is not lost) and after a rule is created or
// changed, and the rules of the touched meters for the touched subjects.
void evaluate_namespace(self_ptr self, const context_ptr& ctx, storage::event_store& s,
                        const std::string& ns) {
  auto& a = self->state.namespaces[ns];
  auto touched = std::move(a.touched);
  a.touched.clear();
  auto sweep = std::move(a.rules_to_sweep);
  a.rules_to_sweep.clear();
  bool start = !a.started;
  a.started = true;
  auto now = model::now_millis();
  for (const auto& r : a.rules) {
    if (r.disabled)
      continue;
    bool ready = false;
    auto m = find_meter(a, r.meter_slug, &ready);
    if (!m)
      continue;
    auto zone = model::try_locate_zone(r.window_time_zone);
    if (!zone)
      continue;
    auto window = model::usage_window(r.window, zone, now);
    if (!ready) {
      // Back-filling: its numbers are not whole yet. Evaluate it later.
      a.rules_to_sweep.insert(r.id);
      continue;
    }
    if (start || sweep.count(r.id) != 0) {
      evaluate_rule(self, ctx, s, ns, a, r, *m, window, r.subjects);
      if (start && r.window != model::threshold_window::total)
        evaluate_rule(self, ctx, s, ns, a, r, *m,
                      model::usage_window(r.window, zone, window.from - 1), r.subjects);
      continue;
    }
    std::vector<std::string> subjects;
    for (const auto& t : touched)
      if (t.type == m->event_type)
        subjects.push_back(t.subject);
    if (subjects.empty())
      continue;
    evaluate_rule(self, ctx, s, ns, a, r, *m, window, subjects);
    // Usage committed just before a window ended may be told just after.
    if (r.window != model::threshold_window::total && now - window.from < 60'000)
      evaluate_rule(self, ctx, s, ns, a, r, *m,
                    model::usage_window(r.window, zone, window.from - 1), subjects);
  }
}

// -- delivery -----------------------------------------------------------------

void dispatch(self_ptr self, const context_ptr& ctx, const store_factory& open_store);

model::notification_delivery* delivery_of(model::notification_event& e,
                                          const std::string& channel_id) {
  for (auto& d : e.deliveries)
    if (d.channel_id == channel_id)
      return &d;
  return nullptr;
}

// Stores the delivery's new state; a failure is logged, and the lease of the
// claim makes the attempt again later (at least once).
void store_delivery(self_ptr self, const context_ptr& ctx,
                    const store_factory& open_store, const delivery_job& job,
                    const model::notification_delivery& d) {
  background(
      self, ctx, open_store, job.ns, "storing a delivery",
      [&](storage::event_store& s) { s.update_notification_delivery(job.event.id, d); });
}

// Gives up a delivery without an attempt (its channel is gone or disabled).
void abandon(self_ptr self, const context_ptr& ctx, const store_factory& open_store,
             delivery_job& job, const std::string& reason) {
  auto* d = delivery_of(job.event, job.channel_id);
  if (!d)
    return;
  d->state = model::delivery_state::failed;
  d->last_error = reason;
  d->next_attempt_at.reset();
  d->updated_at = model::now_millis();
  ++ctx->counters->notifications_given_up;
  store_delivery(self, ctx, open_store, job, *d);
}

// Disables a channel that failed `limit` attempts in a row.
void disable_channel(self_ptr self, const context_ptr& ctx,
                     const store_factory& open_store, const std::string& ns,
                     const std::string& channel_id, int failures) {
  background(self, ctx, open_store, ns, "disabling a channel",
             [&](storage::event_store& s) {
               auto channels = s.notification_channels();
               auto c = find_by_id(channels, channel_id);
               if (!c || c->disabled)
                 return;
               auto changed = *c;
               changed.disabled = true;
               changed.updated_at = model::now_millis();
               s.put_notification_channel(changed);
               ++ctx->counters->notification_channels_disabled;
               ctx->logs->log(model::log_level::warn,
                              "notification channel disabled after repeated failures",
                              {{"namespace", ns},
                               {"channelId", channel_id},
                               {"url", changed.url},
                               {"failures", static_cast<std::int64_t>(failures)}});
               auto& a = self->state.namespaces[ns];
               a.loaded_at = 0;
             });
}

// Records what came of an attempt that began at `started`.
void record_attempt(self_ptr self, const context_ptr& ctx,
                    const store_factory& open_store, delivery_job& job,
                    model::millis started, const notify::webhook_response& r) {
  auto* d = delivery_of(job.event, job.channel_id);
  if (!d)
    return;
  auto& st = self->state;
  auto finished = model::now_millis();
  d->attempts += 1;
  if (!d->first_attempt_at)
    d->first_attempt_at = started;
  d->last_attempt_at = started;
  d->last_duration_ms = r.took.count();
  d->last_status_code = r.status > 0 ? std::optional<int>{r.status} : std::nullopt;
  d->updated_at = finished;
  auto failure_key = job.ns + '\n' + job.channel_id;
  if (r.sent) {
    d->state = model::delivery_state::success;
    d->last_error.clear();
    d->next_attempt_at.reset();
    ++ctx->counters->notification_deliveries;
    st.failures_in_a_row.erase(failure_key);
    store_delivery(self, ctx, open_store, job, *d);
    return;
  }
  ++ctx->counters->notification_failures;
  d->last_error = r.error;
  std::uniform_real_distribution<double> unit{0.0, 1.0};
  auto next =
      finished + model::next_attempt_delay(d->attempts, st.schedule, unit(st.random));
  if (model::give_up(*d->first_attempt_at, next, st.schedule)) {
    d->state = model::delivery_state::failed;
    d->next_attempt_at.reset();
    ++ctx->counters->notifications_given_up;
  } else {
    d->state = model::delivery_state::pending;
    d->next_attempt_at = next;
  }
  ctx->logs->log(model::log_level::warn, "notification delivery failed",
                 {{"namespace", job.ns},
                  {"eventId", job.event.id},
                  {"channelId", job.channel_id},
                  {"attempt", static_cast<std::int64_t>(d->attempts)},
                  {"error", r.error},
                  {"givenUp", d->state == model::delivery_state::failed}});
  store_delivery(self, ctx, open_store, job, *d);
  auto limit = ctx->config.alert_channel_failure_limit;
  auto failures = ++st.failures_in_a_row[failure_key];
  if (limit > 0 && failures >= limit) {
    st.failures_in_a_row.erase(failure_key);
    disable_channel(self, ctx, open_store, job.ns, job.channel_id, failures);
  }
}

// The request of one attempt: the event's body, signed now.
notify::webhook_request attempt_request(const model::notification_event& e,
                                        const model::notification_channel& c) {
  notify::webhook_request request;
  request.url = c.url;
  request.body = model::webhook_body(e);
  auto signed_headers = model::sign_webhook(c.signing_secret, e.id,
                                            model::now_millis() / 1000, request.body);
  request.headers = {{"webhook-id", signed_headers.id},
                     {"webhook-timestamp", signed_headers.timestamp},
                     {"webhook-signature", signed_headers.signature}};
  for (const auto& [name, value] : c.custom_headers)
    request.headers.emplace_back(name, value);
  return request;
}

// Hands queued jobs to idle senders.
void dispatch(self_ptr self, const context_ptr& ctx, const store_factory& open_store) {
  auto& st = self->state;
  while (!st.idle.empty() && !st.queue.empty()) {
    auto job = std::move(st.queue.front());
    st.queue.pop_front();
    const auto& channels = st.namespaces[job.ns].channels;
    auto c = find_by_id(channels, job.channel_id);
    if (!c) {
      abandon(self, ctx, open_store, job, "channel deleted");
      continue;
    }
    if (c->disabled) {
      abandon(self, ctx, open_store, job, "channel disabled");
      continue;
    }
    auto sender = st.idle.back();
    st.idle.pop_back();
    ++st.in_flight;
    auto started = model::now_millis();
    auto request = attempt_request(job.event, *c);
    auto deadline = st.limits.total_timeout + std::chrono::seconds{10};
    auto shared_job = std::make_shared<delivery_job>(std::move(job));
    self->request(sender, deadline, deliver_atom_v, std::move(request))
        .then(
            [self, ctx, open_store, sender, shared_job,
             started](notify::webhook_response& r) {
              --self->state.in_flight;
              self->state.idle.push_back(sender);
              record_attempt(self, ctx, open_store, *shared_job, started, r);
              dispatch(self, ctx, open_store);
            },
            [self, ctx, open_store, sender, shared_job, started](caf::error& err) {
              --self->state.in_flight;
              self->state.idle.push_back(sender);
              notify::webhook_response r;
              r.error = "no answer from the sender: " + caf::to_string(err);
              record_attempt(self, ctx, open_store, *shared_job, started, r);
              dispatch(self, ctx, open_store);
            });
  }
}

// How long a claim holds its deliveries: long enough for everything claimed
// to be attempted (two rounds of the senders), so that only the claims of an
// instance that is gone are taken again.
model::millis lease_ms(const notifier_state& st) {
  return 2 * st.limits.total_timeout.count() + 5'000;
}

// Whether the store is this process's alone (embedded): then a claim still
// leased at a start was made by the process before, which is gone.
bool store_is_private(const context_ptr& ctx) {
  const auto& url = ctx->config.database_url;
  return url.rfind("postgres://", 0) != 0 && url.rfind("postgresql://", 0) != 0;
}

// Claims the due deliveries of namespace `ns` that the senders can take soon.
// The first claim after a start on a private store also takes what the
// previous process had leased, so that an attempt a crash cut short is made
// again at once (with any retry due within a lease from now).
void claim(self_ptr self, const context_ptr& ctx, const store_factory& open_store,
           const std::string& ns) {
  auto& st = self->state;
  auto room = 2 * sender_count;
  auto waiting = st.queue.size() + st.in_flight;
  if (waiting >= room)
    return;
  background(
      self, ctx, open_store, ns, "claiming due deliveries", [&](storage::event_store& s) {
        auto& a = st.namespaces[ns];
        auto now = model::now_millis();
        auto lease = lease_ms(st);
        auto due_by = now;
        if (!a.claimed && store_is_private(ctx))
          due_by = now + lease;
        auto events = s.claim_due_notifications(due_by, now + lease, room - waiting);
        a.claimed = true;
        if (events.empty())
          return;
        a.channels = s.notification_channels();
        for (auto& e : events)
          for (const auto& d : e.deliveries)
            if (d.state == model::delivery_state::pending && d.next_attempt_at &&
                *d.next_attempt_at <= due_by)
              st.queue.push_back({ns, e, d.channel_id});
      });
  dispatch(self, ctx, open_store);
}

// Evaluates and claims in namespace `ns`, reading its settings again when
// they are old.
void work_on(self_ptr self, const context_ptr& ctx, const store_factory& open_store,
             const std::string& ns) {
  // Deliveries first: an evaluation after a start may take a while.
  claim(self, ctx, open_store, ns);
  auto& a = self->state.namespaces[ns];
  bool evaluated = background(self, ctx, open_store, ns, "evaluating alert rules",
                              [&](storage::event_store& s) {
                                if (model::now_millis() - a.loaded_at >= cache_ttl_ms)
                                  load(a, s);
                                evaluate_namespace(self, ctx, s, ns);
                              });
  // What was told is gone with the failure: once the store answers again,
  // every rule is evaluated for every subject, as after a start.
  if (!evaluated)
    a.started = false;
  // Right away: an event just made is due now.
  claim(self, ctx, open_store, ns);
}

void refresh_queue_depth(self_ptr self, const context_ptr& ctx,
                         const store_factory& open_store) {
  std::int64_t pending = 0;
  for (const auto& ns : model::served_namespaces(ctx->config.api_keys))
    background(self, ctx, open_store, ns, "counting pending deliveries",
               [&](storage::event_store& s) {
                 pending += static_cast<std::int64_t>(s.pending_notification_events());
               });
  ctx->counters->notification_queue_depth.store(pending);
}

// Evaluates what is pending a moment from now (once, however often asked).
void evaluate_soon(self_ptr self) {
  if (self->state.evaluation_due)
    return;
  self->state.evaluation_due = true;
  // The commits of that moment are evaluated together.
  self->delayed_send(self, std::chrono::milliseconds{50}, usage_atom_v);
}

// Stores a rule a request created or changed, after the checks that need the
// store, and has it evaluated for every subject at once: usage may be past
// a threshold already.
model::notification_catalog store_rule(self_ptr self, const context_ptr& ctx,
                                       storage::event_store& s, const std::string& ns,
                                       const model::notification_rule& rule) {
  check_rule(s, rule);
  s.put_notification_rule(rule);
  auto& a = self->state.namespaces[ns];
  a.loaded_at = 0;
  a.rules_to_sweep.insert(rule.id);
  if (!rule.disabled)
    ctx->counters->alert_rules_active.store(true);
  evaluate_soon(self);
  return {s.notification_channels(), {rule}};
}

} // namespace

namespace {

notifier_actor::behavior_type notifier(self_ptr self, context_ptr ctx,
                                       store_factory open_store) {
  log_unhandled_exceptions(self, ctx, "notifier");
  auto& st = self->state;
  auto schedule = model::parse_retry_schedule(ctx->config.alert_retry_schedule,
                                              ctx->config.alert_retry_max_age);
  st.schedule = schedule ? schedule.value : model::default_retry_schedule();
  st.limits.total_timeout = std::chrono::milliseconds{ctx->config.alert_timeout_ms};
  st.limits.connect_timeout =
      std::min(st.limits.connect_timeout, st.limits.total_timeout);
  st.limits.block_private_targets = ctx->config.alert_block_private_targets;
  for (std::size_t i = 0; i < sender_count; ++i)
    st.idle.push_back(
        self->spawn<caf::detached + caf::linked>(webhook_sender, st.limits));
  // At once: deliveries due at the start go out within a moment of it.
  self->send(self, tick_atom_v);
  using channel = model::notification_channel;
  using catalog = model::notification_catalog;
  return with_fault_injection<notifier_actor::behavior_type>(
      [](ping_atom) { return true; },
      [self](usage_atom, const std::string& ns,
             const std::vector<model::usage_touch>& touched) {
        auto& a = self->state.namespaces[ns];
        a.touched.insert(touched.begin(), touched.end());
        evaluate_soon(self);
      },
      [self, ctx, open_store](usage_atom) {
        self->state.evaluation_due = false;
        std::vector<std::string> pending;
        for (const auto& [ns, a] : self->state.namespaces)
          if (!a.touched.empty() || !a.rules_to_sweep.empty())
            pending.push_back(ns);
        for (const auto& ns : pending)
          work_on(self, ctx, open_store, ns);
      },
      [self, ctx, open_store](tick_atom) {
        for (const auto& ns : model::served_namespaces(ctx->config.api_keys))
          work_on(self, ctx, open_store, ns);
        publish_activity(self, ctx);
        refresh_queue_depth(self, ctx, open_store);
        self->delayed_send(self, tick_interval, tick_atom_v);
      },
      // -- channels --
      [self, ctx, open_store](nchan_add_atom, const model::trace_ref& trace,
                              const nlohmann::ordered_json& body) {
        return with_store<channel>(
            self, ctx, open_store, trace.ns, trace.id, "creating a channel",
            [&](storage::event_store& s) {
              auto now = model::now_millis();
              auto parsed =
                  model::parse_new_notification_channel(body, model::new_ulid(now), now);
              if (!parsed)
                throw client_error{model::error_code::validation, parsed.error};
              s.put_notification_channel(parsed.value);
              self->state.namespaces[trace.ns].loaded_at = 0;
              return parsed.value;
            });
      },
      [self, ctx, open_store](nchan_list_atom, const model::trace_ref& trace) {
        return with_store<std::vector<channel>>(
            self, ctx, open_store, trace.ns, trace.id, "listing channels",
            [&](storage::event_store& s) { return s.notification_channels(); });
      },
      [self, ctx, open_store](nchan_get_atom, const model::trace_ref& trace,
                              const std::string& id) {
        return with_store<channel>(
            self, ctx, open_store, trace.ns, trace.id, "reading a channel",
            [&](storage::event_store& s) { return find_channel(s, id); });
      },
      [self, ctx, open_store](nchan_set_atom, const model::trace_ref& trace,
                              const std::string& id, const nlohmann::ordered_json& body) {
        return with_store<channel>(
            self, ctx, open_store, trace.ns, trace.id, "updating a channel",
            [&](storage::event_store& s) {
              auto current = find_channel(s, id);
              auto parsed = model::parse_notification_channel_update(body, current,
                                                                     model::now_millis());
              if (!parsed)
                throw client_error{model::error_code::validation, parsed.error};
              s.put_notification_channel(parsed.value);
              if (!parsed.value.disabled)
                self->state.failures_in_a_row.erase(trace.ns + '\n' + id);
              self->state.namespaces[trace.ns].loaded_at = 0;
              return parsed.value;
            });
      },
      [self, ctx, open_store](nchan_del_atom, const model::trace_ref& trace,
                              const std::string& id) {
        return with_store<bool>(
            self, ctx, open_store, trace.ns, trace.id, "deleting a channel",
            [&](storage::event_store& s) {
              find_channel(s, id);
              std::string users;
              for (const auto& r : s.notification_rules())
                if (std::find(r.channel_ids.begin(), r.channel_ids.end(), id) !=
                    r.channel_ids.end())
                  users += (users.empty() ? "" : ", ") + r.id;
              if (!users.empty())
                throw client_error{model::error_code::validation,
                                   "notification channel " + id + " is used by rules " +
                                       users + ": remove it from them first"};
              s.delete_notification_channel(id);
              self->state.namespaces[trace.ns].loaded_at = 0;
              return true;
            });
      },
      // -- rules --
      [self, ctx, open_store](nrule_add_atom, const model::trace_ref& trace,
                              const nlohmann::ordered_json& body) {
        return with_store<catalog>(
            self, ctx, open_store, trace.ns, trace.id, "creating a rule",
            [&](storage::event_store& s) {
              auto now = model::now_millis();
              auto parsed =
                  model::parse_new_notification_rule(body, model::new_ulid(now), now);
              if (!parsed)
                throw client_error{model::error_code::validation, parsed.error};
              return store_rule(self, ctx, s, trace.ns, parsed.value);
            });
      },
      [self, ctx, open_store](nrule_list_atom, const model::trace_ref& trace) {
        return with_store<catalog>(
            self, ctx, open_store, trace.ns, trace.id, "listing rules",
            [&](storage::event_store& s) {
              return catalog{s.notification_channels(), s.notification_rules()};
            });
      },
      [self, ctx, open_store](nrule_get_atom, const model::trace_ref& trace,
                              const std::string& id) {
        return with_store<catalog>(self, ctx, open_store, trace.ns, trace.id,
                                   "reading a rule", [&](storage::event_store& s) {
                                     auto rule = find_rule(s, id);
                                     return catalog{s.notification_channels(), {rule}};
                                   });
      },
      [self, ctx, open_store](nrule_set_atom, const model::trace_ref& trace,
                              const std::string& id, const nlohmann::ordered_json& body) {
        return with_store<catalog>(
            self, ctx, open_store, trace.ns, trace.id, "updating a rule",
            [&](storage::event_store& s) {
              auto current = find_rule(s, id);
              auto parsed = model::parse_notification_rule_update(body, current,
                                                                  model::now_millis());
              if (!parsed)
                throw client_error{model::error_code::validation, parsed.error};
              return store_rule(self, ctx, s, trace.ns, parsed.value);
            });
      },
      [self, ctx, open_store](nrule_del_atom, const model::trace_ref& trace,
                              const std::string& id) {
        return with_store<bool>(self, ctx, open_store, trace.ns, trace.id,
                                "deleting a rule", [&](storage::event_store& s) {
                                  find_rule(s, id);
                                  s.delete_notification_rule(id);
                                  self->state.namespaces[trace.ns].loaded_at = 0;
                                  return true;
                                });
      },
      // -- events --
      [self, ctx, open_store](nevent_list_atom, const model::trace_ref& trace,
                              const model::notification_event_filter& filter) {
        return with_store<model::notification_event_page>(
            self, ctx, open_store, trace.ns, trace.id, "listing alert events",
            [&](storage::event_store& s) {
              auto [events, total] = s.notification_events(filter);
              return model::notification_event_page{std::move(events), total,
                                                    s.notification_rules(),
                                                    s.notification_channels()};
            });
      },
      [self, ctx, open_store](nevent_get_atom, const model::trace_ref& trace,
                              const std::string& id) {
        return with_store<model::notification_event_page>(
            self, ctx, open_store, trace.ns, trace.id, "reading an alert event",
            [&](storage::event_store& s) {
              auto e = s.find_notification_event(id);
              if (!e)
                throw client_error{model::error_code::not_found,
                                   "notification event not found: " + id};
              return model::notification_event_page{
                  {std::move(*e)}, 1, s.notification_rules(), s.notification_channels()};
            });
      },
      [self, ctx, open_store](nresend_atom, const model::trace_ref& trace,
                              const std::string& id,
                              const std::vector<std::string>& channel_ids) {
        auto answer = with_store<bool>(
            self, ctx, open_store, trace.ns, trace.id, "resending an alert event",
            [&](storage::event_store& s) {
              auto e = s.find_notification_event(id);
              if (!e)
                throw client_error{model::error_code::not_found,
                                   "notification event not found: " + id};
              for (const auto& c : channel_ids)
                if (!delivery_of(*e, c))
                  throw client_error{model::error_code::validation,
                                     "channels: event " + id +
                                         " has no delivery to channel " + c};
              auto now = model::now_millis();
              for (auto& d : e->deliveries) {
                if (!channel_ids.empty() &&
                    std::find(channel_ids.begin(), channel_ids.end(), d.channel_id) ==
                        channel_ids.end())
                  continue;
                d.state = model::delivery_state::pending;
                d.next_attempt_at = now;
                d.first_attempt_at.reset();
                d.updated_at = now;
                s.update_notification_delivery(e->id, d);
              }
              return true;
            });
        claim(self, ctx, open_store, trace.ns);
        return answer;
      });
}

} // namespace

notifier_actor spawn_notifier(caf::actor_system& sys, context_ptr ctx,
                              store_factory open_store) {
  auto h = sys.spawn<caf::detached>(notifier, ctx, std::move(open_store));
  ctx->directory->set(h);
  return h;
}

} // namespace um
