#pragma once

// Every actor interface of the service, every atom and every message type, in
// one place. Messages carry model types only.

#include "model/cloud_events.hpp"
#include "model/errors.hpp"
#include "model/event.hpp"
#include "model/event_listing.hpp"
#include "model/health.hpp"
#include "model/log_record.hpp"
#include "model/meter_query.hpp"
#include "model/metering.hpp"
#include "model/notifications.hpp"
#include "model/portal_tokens.hpp"
#include "model/subjects.hpp"
#include "model/trace_id.hpp"
#include "model/usage.hpp"

#include <caf/all.hpp>

#include <cstdint>
#include <string>
#include <vector>

CAF_BEGIN_TYPE_ID_BLOCK(usage_metrics, caf::first_custom_type_id)

  CAF_ADD_ATOM(usage_metrics, um::atom, ingest_atom, "ingest")
  CAF_ADD_ATOM(usage_metrics, um::atom, track_atom, "track")
  CAF_ADD_ATOM(usage_metrics, um::atom, append_atom, "append")
  CAF_ADD_ATOM(usage_metrics, um::atom, purge_atom, "purge")
  CAF_ADD_ATOM(usage_metrics, um::atom, summary_atom, "summary")
  CAF_ADD_ATOM(usage_metrics, um::atom, history_atom, "history")
  CAF_ADD_ATOM(usage_metrics, um::atom, stats_atom, "stats")
  CAF_ADD_ATOM(usage_metrics, um::atom, list_atom, "list")
  CAF_ADD_ATOM(usage_metrics, um::atom, health_atom, "health")
  CAF_ADD_ATOM(usage_metrics, um::atom, ready_atom, "ready")
  CAF_ADD_ATOM(usage_metrics, um::atom, ping_atom, "ping")
  CAF_ADD_ATOM(usage_metrics, um::atom, status_atom, "status")
  CAF_ADD_ATOM(usage_metrics, um::atom, log_atom, "log")
  CAF_ADD_ATOM(usage_metrics, um::atom, drain_atom, "drain")
  CAF_ADD_ATOM(usage_metrics, um::atom, tick_atom, "tick")
  CAF_ADD_ATOM(usage_metrics, um::atom, restart_atom, "restart")
  CAF_ADD_ATOM(usage_metrics, um::atom, crash_atom, "crash")
  CAF_ADD_ATOM(usage_metrics, um::atom, hang_atom, "hang")
  CAF_ADD_ATOM(usage_metrics, um::atom, dispatch_atom, "dispatch")
  CAF_ADD_ATOM(usage_metrics, um::atom, meter_add_atom, "meteradd")
  CAF_ADD_ATOM(usage_metrics, um::atom, meter_set_atom, "meterset")
  CAF_ADD_ATOM(usage_metrics, um::atom, meter_del_atom, "meterdel")
  CAF_ADD_ATOM(usage_metrics, um::atom, meter_get_atom, "meterget")
  CAF_ADD_ATOM(usage_metrics, um::atom, meters_atom, "meters")
  CAF_ADD_ATOM(usage_metrics, um::atom, query_atom, "query")
  CAF_ADD_ATOM(usage_metrics, um::atom, subjects_atom, "subjects")
  CAF_ADD_ATOM(usage_metrics, um::atom, values_atom, "values")
  CAF_ADD_ATOM(usage_metrics, um::atom, search_atom, "search")
  CAF_ADD_ATOM(usage_metrics, um::atom, backfill_atom, "backfill")
  CAF_ADD_ATOM(usage_metrics, um::atom, listing_atom, "listing")
  CAF_ADD_ATOM(usage_metrics, um::atom, subj_list_atom, "subjlist")
  CAF_ADD_ATOM(usage_metrics, um::atom, subj_get_atom, "subjget")
  CAF_ADD_ATOM(usage_metrics, um::atom, subj_put_atom, "subjput")
  CAF_ADD_ATOM(usage_metrics, um::atom, subj_del_atom, "subjdel")
  CAF_ADD_ATOM(usage_metrics, um::atom, ptok_add_atom, "ptokadd")
  CAF_ADD_ATOM(usage_metrics, um::atom, ptok_list_atom, "ptoklist")
  CAF_ADD_ATOM(usage_metrics, um::atom, ptok_inval_atom, "ptokinval")
  CAF_ADD_ATOM(usage_metrics, um::atom, ptok_query_atom, "ptokquery")
  CAF_ADD_ATOM(usage_metrics, um::atom, ptok_meters_atom, "ptokmeters")
  CAF_ADD_ATOM(usage_metrics, um::atom, change_atom, "evchange")
  CAF_ADD_ATOM(usage_metrics, um::atom, usage_atom, "usage")
  CAF_ADD_ATOM(usage_metrics, um::atom, deliver_atom, "deliver")
  CAF_ADD_ATOM(usage_metrics, um::atom, nchan_add_atom, "nchanadd")
  CAF_ADD_ATOM(usage_metrics, um::atom, nchan_list_atom, "nchanlist")
  CAF_ADD_ATOM(usage_metrics, um::atom, nchan_get_atom, "nchanget")
  CAF_ADD_ATOM(usage_metrics, um::atom, nchan_set_atom, "nchanset")
  CAF_ADD_ATOM(usage_metrics, um::atom, nchan_del_atom, "nchandel")
  CAF_ADD_ATOM(usage_metrics, um::atom, nrule_add_atom, "nruleadd")
  CAF_ADD_ATOM(usage_metrics, um::atom, nrule_list_atom, "nrulelist")
  CAF_ADD_ATOM(usage_metrics, um::atom, nrule_get_atom, "nruleget")
  CAF_ADD_ATOM(usage_metrics, um::atom, nrule_set_atom, "nruleset")
  CAF_ADD_ATOM(usage_metrics, um::atom, nrule_del_atom, "nruledel")
  CAF_ADD_ATOM(usage_metrics, um::atom, nevent_list_atom, "neventlist")
  CAF_ADD_ATOM(usage_metrics, um::atom, nevent_get_atom, "neventget")
  CAF_ADD_ATOM(usage_metrics, um::atom, nresend_atom, "nresend")

CAF_END_TYPE_ID_BLOCK(usage_metrics)

namespace um {

/// A meter query's answer: the query as read, and its rows.
struct meter_query_answer {
  std::string slug; ///< The meter's slug (names the CSV file).
  model::meter_query query;
  std::vector<model::meter_row> rows;
};

} // namespace um

// Model types travel only between actors of this process.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(um::model::trace_ref)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(um::model::event)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<um::model::event>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(um::model::append_outcomes)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(um::model::event_filter)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(um::model::event_page)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(um::model::time_range)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(um::model::interval)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(um::model::usage_summary)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(um::model::usage_history)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(um::model::usage_stats)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(um::model::component_status)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(um::model::health_report)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(um::model::readiness_report)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(um::model::meter)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(um::model::meter_update)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(um::model::stored_meter)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<um::model::stored_meter>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(um::model::event_search)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(um::model::meter_query_input)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(um::meter_query_answer)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<um::model::searched_event>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<std::string>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(um::model::event_listing)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(um::model::event_listing_page)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(um::model::subject)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<um::model::subject>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<um::model::subject_upsert>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(um::model::portal_token)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<um::model::portal_token>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(um::model::portal_invalidation)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(um::model::event_change)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(um::model::change_outcome)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(nlohmann::ordered_json)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<um::model::usage_touch>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(um::model::notification_channel)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<um::model::notification_channel>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(um::model::notification_catalog)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(um::model::notification_event_filter)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(um::model::notification_event_page)

// Failures of this service travel as caf::error values of this category. The
// context of an error carries what went wrong, for the log line of the
// request it fails (`to_api_error` keeps it as `api_error::cause`).
CAF_ERROR_CODE_ENUM(um::model::error_code, "usage")

namespace um {

using namespace um::atom;

// Messages a request causes carry its `model::trace_ref` right after the
// atom, and a commit the trace ids of every request in it, so that each log
// line the work writes names the request(s) it is for.

/// The durable writer: owns the write connection, one transaction per batch.
/// Runs on its own thread because every call blocks on the disk.
using store_writer_actor = caf::typed_actor<
    // Stores a batch into a namespace, all or nothing, deduplicated on
    // (source, id); the trace ids of the requests whose events are in it
    // come after the namespace.
    caf::replies_to<append_atom, std::string, std::vector<std::string>,
                    std::vector<model::event>>::with<model::append_outcomes>,
    // Removes up to N events older than a cutoff from a namespace; answers
    // how many it removed.
    caf::replies_to<purge_atom, std::string, model::millis,
                    std::uint64_t>::with<std::uint64_t>,
    // Round trip to the database on the write connection of every served
    // namespace. (Every other message works in the namespace of its
    // `model::trace_ref`.)
    caf::replies_to<ping_atom, model::trace_ref>::with<bool>,
    // Creates a meter (rollups from now on; earlier events by backfill).
    caf::replies_to<meter_add_atom, model::trace_ref, model::meter>::with<model::meter>,
    // Replaces a meter's definition.
    caf::replies_to<meter_set_atom, model::trace_ref, model::meter>::with<model::meter>,
    // Applies an update to the meter with this id or slug in one transaction;
    // answers the meter as stored.
    caf::replies_to<meter_set_atom, model::trace_ref, std::string,
                    model::meter_update>::with<model::meter>,
    // Deletes a meter by id or slug; answers whether there was one.
    caf::replies_to<meter_del_atom, model::trace_ref, std::string>::with<bool>,
    // Rolls up a chunk of a meter's earlier events; answers whether it is ready.
    caf::replies_to<backfill_atom, model::trace_ref, std::string,
                    std::uint64_t>::with<bool>,
    // Every meter of a namespace with its readiness.
    caf::replies_to<meters_atom, std::string>::with<std::vector<model::stored_meter>>>;

/// Front of the write path: gathers the writes of concurrent requests into one
/// commit (group commit), bounds its queue, and answers each after its commit.
using ingest_actor = caf::typed_actor<
    // Fault injection: fails as an uncaught exception in a handler would.
    caf::reacts_to<crash_atom, model::trace_ref>,
    // Fault injection: blocks the actor for this many milliseconds.
    caf::reacts_to<hang_atom, std::int64_t>,
    // Stores events durably; answers once they are committed.
    caf::replies_to<ingest_atom, model::trace_ref,
                    std::vector<model::event>>::with<model::append_outcomes>,
    // Stores a self-tracking event with no answer; dropped (and counted) when full.
    caf::reacts_to<track_atom, model::trace_ref, model::event>,
    // Answers once every queued write is committed (used at shutdown).
    caf::replies_to<drain_atom>::with<bool>,
    // Answers that the ingest front itself is responsive.
    caf::replies_to<ping_atom>::with<bool>,
    // Answers whether the writer's connection makes a round trip to the
    // database (readiness).
    caf::replies_to<ready_atom, model::trace_ref>::with<bool>,
    // Periodic retention pass.
    caf::reacts_to<tick_atom>,
    // Creates a meter and back-fills it in the background.
    caf::replies_to<meter_add_atom, model::trace_ref, model::meter>::with<model::meter>,
    // Replaces a meter's definition (back-filled again when it counts differently).
    caf::replies_to<meter_set_atom, model::trace_ref, model::meter>::with<model::meter>,
    // Updates the meter with this id or slug (`PUT`), read, checked and
    // written by the writer in one transaction; back-filled again when it
    // counts differently.
    caf::replies_to<meter_set_atom, model::trace_ref, std::string,
                    model::meter_update>::with<model::meter>,
    // Deletes a meter by id or slug; answers whether there was one.
    caf::replies_to<meter_del_atom, model::trace_ref, std::string>::with<bool>,
    // Continues back-filling a meter (its own timer), for the request that
    // created or changed it.
    caf::reacts_to<backfill_atom, model::trace_ref, std::string>>;

/// Answers usage questions from the rollups; owns a read connection and runs
/// on its own thread because every call blocks on the database.
using aggregation_actor = caf::typed_actor<
    // Fault injection: fails as an uncaught exception in a handler would.
    caf::reacts_to<crash_atom, model::trace_ref>,
    // Fault injection: blocks the actor for this many milliseconds.
    caf::reacts_to<hang_atom, std::int64_t>,
    // Counts by type of one subject over an inclusive range.
    caf::replies_to<summary_atom, model::trace_ref, std::string,
                    model::time_range>::with<model::usage_summary>,
    // Non-empty UTC buckets of one subject's events.
    caf::replies_to<history_atom, model::trace_ref, std::string, model::interval,
                    model::time_range>::with<model::usage_history>,
    // Service-wide counts at a given time.
    caf::replies_to<stats_atom, model::trace_ref,
                    model::millis>::with<model::usage_stats>,
    // One page of events, newest first.
    caf::replies_to<list_atom, model::trace_ref,
                    model::event_filter>::with<model::event_page>,
    // Answers that it is responsive.
    caf::replies_to<ping_atom>::with<bool>,
    // Answers whether the read connection makes a round trip to the database
    // (readiness).
    caf::replies_to<ready_atom, model::trace_ref>::with<bool>,
    // Every meter with its readiness.
    caf::replies_to<meters_atom,
                    model::trace_ref>::with<std::vector<model::stored_meter>>,
    // One meter by id or slug.
    caf::replies_to<meter_get_atom, model::trace_ref,
                    std::string>::with<model::stored_meter>,
    // Answers a query of the meter with this id or slug from its rollups, once
    // the query is valid for that meter (503 while back-filling).
    caf::replies_to<query_atom, model::trace_ref, std::string,
                    model::meter_query_input>::with<meter_query_answer>,
    // The subjects with usage of a meter.
    caf::replies_to<subjects_atom, model::trace_ref,
                    std::string>::with<std::vector<std::string>>,
    // The values of one group-by of a meter seen in [from, to).
    caf::replies_to<values_atom, model::trace_ref, std::string, std::string,
                    model::millis, model::millis>::with<std::vector<std::string>>,
    // Events for the metering API, with each one's validation error.
    caf::replies_to<search_atom, model::trace_ref,
                    model::event_search>::with<std::vector<model::searched_event>>,
    // One page of every stored event (`GET /api/v2/events`).
    caf::replies_to<listing_atom, model::trace_ref,
                    model::event_listing>::with<model::event_listing_page>,
    // Every subject, by key.
    caf::replies_to<subj_list_atom, model::trace_ref>::with<std::vector<model::subject>>,
    // One subject by id or key (not_found when there is none).
    caf::replies_to<subj_get_atom, model::trace_ref, std::string>::with<model::subject>,
    // Creates or changes subjects in one transaction (rare administrative
    // writes, on this actor's connection); answers them as stored.
    caf::replies_to<subj_put_atom, model::trace_ref, std::vector<model::subject_upsert>,
                    model::millis>::with<std::vector<model::subject>>,
    // Deletes a subject by id or key (not_found when there is none).
    caf::replies_to<subj_del_atom, model::trace_ref, std::string>::with<bool>,
    // Stores a new portal token's record (rare administrative writes, on
    // this actor's connection).
    caf::replies_to<ptok_add_atom, model::trace_ref, model::portal_token>::with<bool>,
    // The portal tokens not invalidated, newest first, at most this many.
    caf::replies_to<ptok_list_atom, model::trace_ref,
                    std::int64_t>::with<std::vector<model::portal_token>>,
    // Invalidates the portal tokens named, at this time; answers how many.
    caf::replies_to<ptok_inval_atom, model::trace_ref, model::portal_invalidation,
                    model::millis>::with<std::int64_t>,
    // A portal token holder's query of a meter by slug (the token's verified
    // claims): unauthorized unless the store has the token and it is not
    // invalidated, forbidden for a meter it does not allow; the answer holds
    // the token's subject only.
    caf::replies_to<ptok_query_atom, model::trace_ref, model::portal_token, std::string,
                    model::meter_query_input>::with<meter_query_answer>,
    // The meters a portal token may read (checked as for a query).
    caf::replies_to<ptok_meters_atom, model::trace_ref,
                    model::portal_token>::with<std::vector<model::stored_meter>>,
    // Voids or corrects a stored event (rare administrative writes, on this
    // actor's connection, in one transaction with every rollup they change);
    // not_found when no such event is stored.
    caf::replies_to<change_atom, model::trace_ref,
                    model::event_change>::with<model::change_outcome>>;

/// Health reporting: answers /health from what the supervisor tells it, and
/// /ready by asking each part. Never touches storage itself.
using health_actor = caf::typed_actor<
    // Fault injection: fails as an uncaught exception in a handler would.
    caf::reacts_to<crash_atom, model::trace_ref>,
    // Fault injection: blocks the actor for this many milliseconds.
    caf::reacts_to<hang_atom, std::int64_t>,
    // Liveness for the load balancer.
    caf::replies_to<health_atom>::with<model::health_report>,
    // Readiness: one check per dependency, for the /ready request named.
    caf::replies_to<ready_atom, model::trace_ref>::with<model::readiness_report>,
    // A part's new state, from the supervisor.
    caf::reacts_to<status_atom, model::component_status>>;

/// Usage alerts (`/api/v1/notification/...`): keeps the channels and rules
/// of every served namespace, evaluates the rules after each commit, stores
/// one event per (rule, subject, window, threshold), and delivers them as
/// signed webhooks through senders on threads of their own, retrying on a
/// schedule. Runs on its own thread because every call blocks on the
/// database. Request bodies arrive as JSON and are read here, where the
/// current record an update replaces is.
using notifier_actor = caf::typed_actor<
    // Fault injection: fails as an uncaught exception in a handler would.
    caf::reacts_to<crash_atom, model::trace_ref>,
    // Fault injection: blocks the actor for this many milliseconds.
    caf::reacts_to<hang_atom, std::int64_t>,
    // Answers that it is responsive.
    caf::replies_to<ping_atom>::with<bool>,
    // A commit stored events of these (type, subject)s in a namespace.
    caf::reacts_to<usage_atom, std::string, std::vector<model::usage_touch>>,
    // Evaluates what those told (sent to itself, so that the commits of a
    // moment are evaluated together).
    caf::reacts_to<usage_atom>,
    // Periodic work: evaluation of what is pending, claims of due deliveries.
    caf::reacts_to<tick_atom>,
    // Creates a channel from a create request's body (validation: 400).
    caf::replies_to<nchan_add_atom, model::trace_ref,
                    nlohmann::ordered_json>::with<model::notification_channel>,
    // Every channel, by id.
    caf::replies_to<nchan_list_atom,
                    model::trace_ref>::with<std::vector<model::notification_channel>>,
    // One channel by id (not_found when there is none).
    caf::replies_to<nchan_get_atom, model::trace_ref,
                    std::string>::with<model::notification_channel>,
    // Replaces a channel by id from an update request's body.
    caf::replies_to<nchan_set_atom, model::trace_ref, std::string,
                    nlohmann::ordered_json>::with<model::notification_channel>,
    // Deletes a channel by id (not_found; validation while a rule uses it).
    caf::replies_to<nchan_del_atom, model::trace_ref, std::string>::with<bool>,
    // Creates a rule from a create request's body; the meter and the
    // channels must exist (validation otherwise). Answers the rule alone.
    caf::replies_to<nrule_add_atom, model::trace_ref,
                    nlohmann::ordered_json>::with<model::notification_catalog>,
    // Every rule, by id.
    caf::replies_to<nrule_list_atom, model::trace_ref>::with<model::notification_catalog>,
    // One rule by id (not_found when there is none).
    caf::replies_to<nrule_get_atom, model::trace_ref,
                    std::string>::with<model::notification_catalog>,
    // Replaces a rule by id from an update request's body.
    caf::replies_to<nrule_set_atom, model::trace_ref, std::string,
                    nlohmann::ordered_json>::with<model::notification_catalog>,
    // Deletes a rule by id (not_found when there is none).
    caf::replies_to<nrule_del_atom, model::trace_ref, std::string>::with<bool>,
    // A page of alert events.
    caf::replies_to<
        nevent_list_atom, model::trace_ref,
        model::notification_event_filter>::with<model::notification_event_page>,
    // One alert event by id (the page holds it alone; not_found when none).
    caf::replies_to<nevent_get_atom, model::trace_ref,
                    std::string>::with<model::notification_event_page>,
    // Delivers an event again to these of its channels (empty: all of them)
    // at once, whatever their state (not_found for an unknown event,
    // validation for a channel the event has no delivery to).
    caf::replies_to<nresend_atom, model::trace_ref, std::string,
                    std::vector<std::string>>::with<bool>>;

/// Owns stdout: writes one JSON log line per record.
using log_shipper_actor = caf::typed_actor<
    // Fault injection: fails as an uncaught exception in a handler would.
    caf::reacts_to<crash_atom, model::trace_ref>,
    // Fault injection: blocks the actor for this many milliseconds.
    caf::reacts_to<hang_atom, std::int64_t>,
    // Takes every record queued in the log sink, formats and writes them.
    caf::reacts_to<log_atom>,
    // Flushes buffered lines; answers when done.
    caf::replies_to<drain_atom>::with<bool>,
    // Answers that it is alive.
    caf::replies_to<ping_atom>::with<bool>>;

/// Turns a caught storage failure into the error value clients see.
caf::error to_error(const std::exception& failure);

/// The client-facing code of an error from an actor: this service's own codes
/// as they are, a timed-out request as `timeout`, an unreachable or dead
/// actor as `unavailable`, anything else as `internal`; `cause` says what
/// actually happened (the error's context, or CAF's name for it).
model::api_error to_api_error(const caf::error& err);

} // namespace um
