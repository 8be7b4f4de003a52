#include "actors/actors.hpp"
#include "actors/fault_injection.hpp"
#include "model/meter_evaluation.hpp"
#include "model/v1_api.hpp"

#include <algorithm>
#include <set>

namespace um {

namespace {

using self_ptr = aggregation_actor::stateful_pointer<aggregation_state>;

// A failure the client caused, carried as a value out of `with_store`.
struct client_error {
  model::error_code code;
  std::string message;
};

// Runs `query` on the read connection, opening it first if needed; a storage
// failure becomes an error value and drops the connection for a fresh one.
// Logs a failure of the read connection, naming the request it failed.
void log_read_failure(const context_ptr& ctx, const model::trace_ref& trace,
                      const char* what) {
  model::log_record line{model::log_level::error,
                         model::now_millis(),
                         "storage error: read failed",
                         {{"error", std::string{what}}}};
  model::add_trace_fields(line, {trace.id});
  ctx->logs->emit(std::move(line));
}

// Runs `query` for the request `trace` on the read connection of its
// namespace, opening it first if needed; a storage failure is logged with the request's
// trace id, becomes an error value and drops the connection for a fresh one.
template <class T, class Query>
caf::result<T> with_store(self_ptr self, const context_ptr& ctx,
                          const store_factory& open_store, const model::trace_ref& trace,
                          Query query) {
  auto& stores = self->state.stores;
  try {
    return query(store_of(stores, open_store, ctx->config, trace.ns));
  } catch (const client_error& e) {
    return caf::make_error(e.code, e.message);
  } catch (const storage::storage_error& e) {
    if (e.kind() == storage::failure_kind::not_found)
      return to_error(e);
    log_read_failure(ctx, trace, e.what());
    stores.erase(trace.ns);
    return to_error(e);
  } catch (const std::exception& e) {
    log_read_failure(ctx, trace, e.what());
    stores.erase(trace.ns);
    return to_error(e);
  }
}

// The meter named by id or slug; throws not_found.
model::stored_meter find_meter(storage::event_store& s, const std::string& id_or_slug) {
  for (auto& m : s.meters())
    if (m.meter.id == id_or_slug || m.meter.slug == id_or_slug)
      return std::move(m);
  throw storage::storage_error(storage::failure_kind::not_found,
                               "meter not found: " + id_or_slug);
}

// The meter named by id or slug, once its rollups are complete; throws
// not_found, or unavailable while it is being back-filled.
model::meter find_ready_meter(storage::event_store& s, const std::string& id_or_slug) {
  auto stored = find_meter(s, id_or_slug);
  if (!stored.ready)
    throw client_error{model::error_code::unavailable,
                       "meter " + stored.meter.slug +
                           " is being back-filled; retry shortly"};
  return std::move(stored.meter);
}

meter_query_answer answer_query(storage::event_store& s, const std::string& meter_ref,
                                const model::meter_query_input& input) {
  const auto m = find_ready_meter(s, meter_ref);
  auto parsed = model::validate_meter_query(input, m);
  if (!parsed)
    throw client_error{model::error_code::validation, parsed.error};
  const auto& q = parsed.value;
  auto zone = model::try_locate_zone(q.time_zone);
  if (!zone)
    throw client_error{model::error_code::validation, "unknown windowTimeZone"};
  model::meter_folder folder{m, q, zone};
  auto bounded = [&folder] {
    if (folder.size() > model::max_query_rows)
      throw client_error{model::error_code::validation,
                         "the answer would have more than " +
                             std::to_string(model::max_query_rows) +
                             " rows: narrow from and to, use a larger windowSize, or "
                             "filter by subject"};
  };
  fold_meter_usage(s, m, q, zone, folder, bounded);
  return {m.slug, q, folder.take_rows()};
}

// Each event's validation error: the first meter of its type that cannot count it.
model::searched_event with_validation(const std::vector<model::stored_meter>& meters,
                                      model::event e) {
  model::searched_event item{std::move(e), std::nullopt, std::nullopt};
  for (const auto& m : meters) {
    if (m.meter.event_type != item.stored.type)
      continue;
    auto sample = model::extract_sample(m.meter, item.stored);
    if (sample.status == model::sample_status::invalid) {
      item.validation_error = sample.error;
      break;
    }
  }
  return item;
}

// One page of the v2 listing: reads the store in chunks after the cursor,
// keeps the events the filter passes, and stops at a full page or after
// model::max_listing_scan events (the page then ends short, with a cursor).
model::event_listing_page list_page(storage::event_store& s,
                                    const model::event_listing& listing) {
  constexpr int chunk = 500;
  auto meters = s.meters();
  auto scan = model::listing_scan(listing, chunk);
  model::event_listing_page page;
  std::optional<model::event_position> last;
  std::size_t scanned = 0;
  for (;;) {
    auto batch = s.search_events(scan);
    if (batch.empty())
      return page; // exhausted: no next cursor
    for (auto& e : batch) {
      last = model::event_position{e.event.time, e.seq};
      ++scanned;
      if (model::listing_matches(listing, e.event)) {
        page.items.push_back(with_validation(meters, std::move(e.event)));
        if (page.items.size() == static_cast<std::size_t>(listing.limit)) {
          page.next = last;
          return page;
        }
      }
    }
    scan.before = last;
    if (scanned >= model::max_listing_scan) {
      page.next = last;
      return page;
    }
  }
}

// The store's record of a portal token whose signature holds: unauthorized
// when the store has none, or it is invalidated or another subject's.
model::portal_token valid_portal_token(storage::event_store& s,
                                       const model::portal_token& claims) {
  auto record = s.find_portal_token(claims.id);
  if (!record || record->invalidated || record->subject != claims.subject)
    throw client_error{model::error_code::unauthorized,
                       "The portal token is not valid: it was invalidated or is unknown"};
  return std::move(*record);
}

// Adds to `listed` (live events, newest first) the versions voided or
// superseded that `search` selects, in the same order (by event time), at
// most `search.limit` in all.
void add_revisions(storage::event_store& s, const model::event_search& search,
                   std::vector<model::searched_event>& listed) {
  for (auto& r : s.event_revisions(search)) {
    auto mark = r.mark();
    listed.push_back({std::move(r.version), std::nullopt, std::move(mark)});
  }
  std::stable_sort(listed.begin(), listed.end(), [](const auto& a, const auto& b) {
    return a.stored.time > b.stored.time;
  });
  if (listed.size() > static_cast<std::size_t>(search.limit))
    listed.resize(static_cast<std::size_t>(search.limit));
}

// Logs a change of a stored event: what, by whom, for which request.
void log_change(const context_ptr& ctx, const model::trace_ref& trace,
                const model::event_change& change, const model::change_outcome& out) {
  const char* what = out.status == model::change_status::already_voided
                         ? "event void repeated: already voided"
                     : change.replacement ? "event corrected"
                                          : "event voided";
  model::log_record line{
      model::log_level::info,
      model::now_millis(),
      what,
      {{"source", change.source}, {"eventId", change.id}, {"changedBy", change.by}}};
  model::add_trace_fields(line, {trace.id});
  ctx->logs->emit(std::move(line));
}

} // namespace

aggregation_actor::behavior_type aggregation(self_ptr self, context_ptr ctx,
                                             store_factory open_store) {
  log_unhandled_exceptions(self, ctx, "aggregation");
  return with_fault_injection<aggregation_actor::behavior_type>(
      [self, ctx, open_store](summary_atom, const model::trace_ref& trace,
                              const std::string& subject,
                              const model::time_range& range) {
        return with_store<model::usage_summary>(
            self, ctx, open_store, trace,
            [&](storage::event_store& s) { return s.summarize(subject, range); });
      },
      [self, ctx, open_store](history_atom, const model::trace_ref& trace,
                              const std::string& subject, model::interval width,
                              const model::time_range& range) {
        return with_store<model::usage_history>(
            self, ctx, open_store, trace,
            [&](storage::event_store& s) { return s.history(subject, width, range); });
      },
      [self, ctx, open_store](stats_atom, const model::trace_ref& trace,
                              model::millis now) {
        return with_store<model::usage_stats>(
            self, ctx, open_store, trace,
            [&](storage::event_store& s) { return s.stats(now); });
      },
      [self, ctx, open_store](list_atom, const model::trace_ref& trace,
                              const model::event_filter& filter) {
        return with_store<model::event_page>(
            self, ctx, open_store, trace,
            [&](storage::event_store& s) { return s.list_events(filter); });
      },
      [](ping_atom) { return true; },
      // Readiness: every served namespace's read connection makes a round trip.
      [self, ctx, open_store](ready_atom, const model::trace_ref& trace) {
        caf::result<bool> out = true;
        for (const auto& ns : model::served_namespaces(ctx->config.api_keys)) {
          out = with_store<bool>(self, ctx, open_store, model::trace_ref{trace.id, ns},
                                 [](storage::event_store& s) {
                                   s.ping();
                                   return true;
                                 });
          if (out.flag != caf::rt_value)
            break;
        }
        return out;
      },
      [self, ctx, open_store](meters_atom, const model::trace_ref& trace) {
        return with_store<std::vector<model::stored_meter>>(
            self, ctx, open_store, trace,
            [](storage::event_store& s) { return s.meters(); });
      },
      [self, ctx, open_store](meter_get_atom, const model::trace_ref& trace,
                              const std::string& id_or_slug) {
        return with_store<model::stored_meter>(
            self, ctx, open_store, trace,
            [&](storage::event_store& s) { return find_meter(s, id_or_slug); });
      },
      [self, ctx, open_store](query_atom, const model::trace_ref& trace,
                              const std::string& meter_ref,
                              const model::meter_query_input& input) {
        return with_store<meter_query_answer>(
            self, ctx, open_store, trace,
            [&](storage::event_store& s) { return answer_query(s, meter_ref, input); });
      },
      [self, ctx, open_store](subjects_atom, const model::trace_ref& trace,
                              const std::string& id_or_slug) {
        return with_store<std::vector<std::string>>(
            self, ctx, open_store, trace, [&](storage::event_store& s) {
              return s.meter_subjects(find_ready_meter(s, id_or_slug).id);
            });
      },
      [self, ctx, open_store](values_atom, const model::trace_ref& trace,
                              const std::string& id_or_slug, const std::string& key,
                              model::millis from, model::millis to) {
        return with_store<std::vector<std::string>>(
            self, ctx, open_store, trace, [&](storage::event_store& s) {
              const auto m = find_ready_meter(s, id_or_slug);
              std::optional<std::size_t> index;
              for (std::size_t i = 0; i < m.group_by.size(); ++i)
                if (m.group_by[i].key == key)
                  index = i;
              if (!index && key != "subject")
                throw client_error{model::error_code::not_found,
                                   "meter " + m.slug + " has no group-by " + key};
              // Minute cells bound the range closely enough for a value list.
              constexpr model::millis minute = 60'000;
              auto first = model::bucket_floor(from, minute);
              auto last = model::bucket_floor(to + minute - 1, minute);
              std::set<std::string> values;
              for (const auto& row :
                   s.meter_cells(m.id, storage::meter_grain::minute, first, last, {})) {
                if (!index)
                  values.insert(row.subject);
                else if (*index < row.group_values.size() && row.group_values[*index])
                  values.insert(*row.group_values[*index]);
              }
              return std::vector<std::string>(values.begin(), values.end());
            });
      },
      [self, ctx, open_store](search_atom, const model::trace_ref& trace,
                              const model::event_search& search) {
        return with_store<std::vector<model::searched_event>>(
            self, ctx, open_store, trace, [&](storage::event_store& s) {
              auto meters = s.meters();
              std::vector<model::searched_event> out;
              for (auto& e : s.search_events(search))
                out.push_back(with_validation(meters, std::move(e.event)));
              if (search.include_voided)
                add_revisions(s, search, out);
              return out;
            });
      },
      [self, ctx, open_store](listing_atom, const model::trace_ref& trace,
                              const model::event_listing& listing) {
        return with_store<model::event_listing_page>(
            self, ctx, open_store, trace,
            [&](storage::event_store& s) { return list_page(s, listing); });
      },
      [self, ctx, open_store](subj_list_atom, const model::trace_ref& trace) {
        return with_store<std::vector<model::subject>>(
            self, ctx, open_store, trace,
            [&](storage::event_store& s) { return s.subjects(); });
      },
      [self, ctx, open_store](subj_get_atom, const model::trace_ref& trace,
                              const std::string& id_or_key) {
        return with_store<model::subject>(
            self, ctx, open_store, trace, [&](storage::event_store& s) {
              auto found = s.find_subject(id_or_key);
              if (!found)
                throw client_error{model::error_code::not_found,
                                   "subject not found: " + id_or_key};
              return std::move(*found);
            });
      },
      [self, ctx, open_store](subj_put_atom, const model::trace_ref& trace,
                              const std::vector<model::subject_upsert>& changes,
                              model::millis now) {
        return with_store<std::vector<model::subject>>(
            self, ctx, open_store, trace,
            [&](storage::event_store& s) { return s.upsert_subjects(changes, now); });
      },
      [self, ctx, open_store](subj_del_atom, const model::trace_ref& trace,
                              const std::string& id_or_key) {
        return with_store<bool>(self, ctx, open_store, trace,
                                [&](storage::event_store& s) {
                                  if (!s.delete_subject(id_or_key))
                                    throw client_error{model::error_code::not_found,
                                                       "subject not found: " + id_or_key};
                                  return true;
                                });
      },
      [self, ctx, open_store](ptok_add_atom, const model::trace_ref& trace,
                              const model::portal_token& token) {
        return with_store<bool>(self, ctx, open_store, trace,
                                [&](storage::event_store& s) {
                                  s.add_portal_token(token);
                                  return true;
                                });
      },
      [self, ctx, open_store](ptok_list_atom, const model::trace_ref& trace,
                              std::int64_t limit) {
        return with_store<std::vector<model::portal_token>>(
            self, ctx, open_store, trace, [&](storage::event_store& s) {
              return s.portal_tokens(static_cast<std::size_t>(limit));
            });
      },
      [self, ctx, open_store](ptok_inval_atom, const model::trace_ref& trace,
                              const model::portal_invalidation& which,
                              model::millis now) {
        return with_store<std::int64_t>(
            self, ctx, open_store, trace, [&](storage::event_store& s) {
              return static_cast<std::int64_t>(s.invalidate_portal_tokens(which, now));
            });
      },
      [self, ctx, open_store](ptok_query_atom, const model::trace_ref& trace,
                              const model::portal_token& claims, const std::string& slug,
                              const model::meter_query_input& input) {
        return with_store<meter_query_answer>(
            self, ctx, open_store, trace, [&](storage::event_store& s) {
              auto token = valid_portal_token(s, claims);
              if (!model::portal_meter_allowed(token, slug))
                throw client_error{model::error_code::forbidden,
                                   "The portal token does not allow meter " + slug};
              auto meter = find_ready_meter(s, slug);
              // By slug only: a meter's id is no name a token allows.
              if (meter.slug != slug)
                throw client_error{model::error_code::not_found,
                                   "meter not found: " + slug};
              return answer_query(s, slug,
                                  model::for_portal_subject(input, token.subject));
            });
      },
      [self, ctx, open_store](ptok_meters_atom, const model::trace_ref& trace,
                              const model::portal_token& claims) {
        return with_store<std::vector<model::stored_meter>>(
            self, ctx, open_store, trace, [&](storage::event_store& s) {
              auto token = valid_portal_token(s, claims);
              std::vector<model::stored_meter> out;
              for (auto& m : s.meters())
                if (model::portal_meter_allowed(token, m.meter.slug))
                  out.push_back(std::move(m));
              return out;
            });
      },
      [self, ctx, open_store](change_atom, const model::trace_ref& trace,
                              const model::event_change& request) {
        auto change = request;
        change.trace_id = trace.id;
        return with_store<model::change_outcome>(
            self, ctx, open_store, trace, [&](storage::event_store& s) {
              auto out = s.change_event(change);
              if (out.status == model::change_status::not_found)
                throw client_error{model::error_code::not_found,
                                   "Event not found: " + change.id};
              log_change(ctx, trace, change, out);
              // A correction may raise a subject's usage past a threshold.
              if (out.after && ctx->counters->alert_rules_active.load())
                if (auto notifier = ctx->directory->notifier())
                  caf::anon_send(notifier, usage_atom_v, trace.ns,
                                 std::vector<model::usage_touch>{
                                     {out.after->type, out.after->subject}});
              return out;
            });
      });
}

} // namespace um
