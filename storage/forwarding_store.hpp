#pragma once

#include "storage/event_store.hpp"

#include <memory>
#include <utility>

namespace um::storage {

/// An `event_store` that passes every call on to another one. A wrapper that
/// watches or changes a few calls (a test probe, a tracing layer) derives
/// from it and overrides only those, so it needs no edit when the interface
/// grows: a new method is added here, beside the interface.
class forwarding_store : public event_store {
public:
  /// Forwards to `inner`, which it owns.
  explicit forwarding_store(std::unique_ptr<event_store> inner)
      : inner_(std::move(inner)) {}

  model::append_outcomes append(const std::vector<model::event>& batch) override {
    return inner_->append(batch);
  }
  model::event_page list_events(const model::event_filter& filter) override {
    return inner_->list_events(filter);
  }
  model::usage_summary summarize(const std::string& subject,
                                 const model::time_range& range) override {
    return inner_->summarize(subject, range);
  }
  model::usage_history history(const std::string& subject, model::interval width,
                               const model::time_range& range) override {
    return inner_->history(subject, width, range);
  }
  model::usage_stats stats(model::millis now) override { return inner_->stats(now); }
  std::size_t purge_before(model::millis cutoff, std::size_t max_events) override {
    return inner_->purge_before(cutoff, max_events);
  }
  void ping() override { inner_->ping(); }
  model::change_outcome change_event(const model::event_change& change) override {
    return inner_->change_event(change);
  }
  std::vector<model::event_revision>
  event_revisions(const model::event_search& search) override {
    return inner_->event_revisions(search);
  }
  std::vector<model::stored_meter> meters() override { return inner_->meters(); }
  void create_meter(const model::meter& m) override { inner_->create_meter(m); }
  void update_meter(const model::meter& m) override { inner_->update_meter(m); }
  model::validated<model::meter>
  update_meter(const std::string& id_or_slug,
               const model::meter_update& update) override {
    return inner_->update_meter(id_or_slug, update);
  }
  bool delete_meter(const std::string& id_or_slug) override {
    return inner_->delete_meter(id_or_slug);
  }
  bool backfill_meter(const std::string& id, std::size_t max_events) override {
    return inner_->backfill_meter(id, max_events);
  }
  void each_meter_cell(const std::string& meter_id, meter_grain grain, model::millis from,
                       model::millis to, const std::vector<std::string>& subjects,
                       const meter_cell_visitor& visit) override {
    inner_->each_meter_cell(meter_id, grain, from, to, subjects, visit);
  }
  std::vector<sequenced_event>
  events_of_type(const std::string& type, model::millis from, model::millis to,
                 const std::vector<std::string>& subjects) override {
    return inner_->events_of_type(type, from, to, subjects);
  }
  std::vector<sequenced_event> search_events(const model::event_search& search) override {
    return inner_->search_events(search);
  }
  std::vector<std::string> meter_subjects(const std::string& meter_id) override {
    return inner_->meter_subjects(meter_id);
  }
  std::vector<model::subject> subjects() override { return inner_->subjects(); }
  std::optional<model::subject> find_subject(const std::string& id_or_key) override {
    return inner_->find_subject(id_or_key);
  }
  std::vector<model::subject>
  upsert_subjects(const std::vector<model::subject_upsert>& changes,
                  model::millis now) override {
    return inner_->upsert_subjects(changes, now);
  }
  bool delete_subject(const std::string& id_or_key) override {
    return inner_->delete_subject(id_or_key);
  }
  void add_portal_token(const model::portal_token& token) override {
    inner_->add_portal_token(token);
  }
  std::optional<model::portal_token> find_portal_token(const std::string& id) override {
    return inner_->find_portal_token(id);
  }
  std::vector<model::portal_token> portal_tokens(std::size_t limit) override {
    return inner_->portal_tokens(limit);
  }
  std::vector<model::notification_channel> notification_channels() override {
    return inner_->notification_channels();
  }
  void put_notification_channel(const model::notification_channel& c) override {
    inner_->put_notification_channel(c);
  }
  bool delete_notification_channel(const std::string& id) override {
    return inner_->delete_notification_channel(id);
  }
  std::vector<model::notification_rule> notification_rules() override {
    return inner_->notification_rules();
  }
  void put_notification_rule(const model::notification_rule& r) override {
    inner_->put_notification_rule(r);
  }
  bool delete_notification_rule(const std::string& id) override {
    return inner_->delete_notification_rule(id);
  }
  bool add_notification_event(const model::notification_event& e,
                              const std::string& key) override {
    return inner_->add_notification_event(e, key);
  }
  std::optional<model::notification_event>
  find_notification_event(const std::string& id) override {
    return inner_->find_notification_event(id);
  }
  std::pair<std::vector<model::notification_event>, std::size_t>
  notification_events(const model::notification_event_filter& filter) override {
    return inner_->notification_events(filter);
  }
  std::vector<model::notification_event>
  claim_due_notifications(model::millis now, model::millis lease_until,
                          std::size_t max) override {
    return inner_->claim_due_notifications(now, lease_until, max);
  }
  void update_notification_delivery(const std::string& event_id,
                                    const model::notification_delivery& d) override {
    inner_->update_notification_delivery(event_id, d);
  }
  std::size_t pending_notification_events() override {
    return inner_->pending_notification_events();
  }
  std::size_t invalidate_portal_tokens(const model::portal_invalidation& which,
                                       model::millis now) override {
    return inner_->invalidate_portal_tokens(which, now);
  }

protected:
  /// The store every call goes to.
  event_store& inner() { return *inner_; }

private:
  std::unique_ptr<event_store> inner_;
};

} // namespace um::storage
