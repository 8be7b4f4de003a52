// Usage alerts in the SQLite backend (schema version 6, storage/sqlite/schema.cpp):
// stored forms by id, and the events' key, creation time and next due time
// beside theirs. Every call that reads and then writes is one IMMEDIATE
// transaction, so the writer's and the reader's connections (each a store
// of its own on the same file) never claim the same delivery twice.

#include "storage/sqlite/store.hpp"

#include <algorithm>
#include <limits>

namespace um::storage::sqlite {

namespace {

// Reads a stored form; damage is the store's `corrupt`, not a bad request.
template <class Read>
auto read_stored(const statement& s, const char* what, Read read) {
  auto text = s.text(0);
  try {
    return read(text);
  } catch (const std::runtime_error& e) {
    throw storage_error(failure_kind::corrupt,
                        std::string{"sqlite: bad "} + what + ": " + e.what());
  }
}

model::notification_event read_event(const statement& s) {
  return read_stored(s, "notification event", model::read_notification_event_record);
}

template <class T, class Read>
std::vector<T> all_of(statement& s, const char* what, Read read) {
  reset_guard guard{s};
  std::vector<T> out;
  while (s.step())
    out.push_back(read_stored(s, what, read));
  return out;
}

void put(statement& s, const std::string& id, const std::string& record) {
  s.bind(1, id).bind(2, record);
  s.run();
}

bool remove(sqlite3* db, statement& s, const std::string& id) {
  s.bind(1, id);
  s.run();
  return sqlite3_changes(db) > 0;
}

} // namespace

std::vector<model::notification_channel> store::notification_channels() {
  return all_of<model::notification_channel>(q_->notification_channels_all,
                                             "notification channel",
                                             model::read_notification_channel_record);
}

void store::put_notification_channel(const model::notification_channel& c) {
  put(q_->notification_channel_put, c.id, model::notification_channel_record(c));
}

bool store::delete_notification_channel(const std::string& id) {
  return remove(db_, q_->notification_channel_delete, id);
}

std::vector<model::notification_rule> store::notification_rules() {
  return all_of<model::notification_rule>(q_->notification_rules_all, "notification rule",
                                          model::read_notification_rule_record);
}

void store::put_notification_rule(const model::notification_rule& r) {
  put(q_->notification_rule_put, r.id, model::notification_rule_record(r));
}

bool store::delete_notification_rule(const std::string& id) {
  return remove(db_, q_->notification_rule_delete, id);
}

bool store::add_notification_event(const model::notification_event& e,
                                   const std::string& key) {
  auto& s = q_->notification_event_add;
  auto record = model::notification_event_record(e);
  s.bind(1, e.id).bind(2, key).bind(3, e.created_at).bind(5, record);
  if (auto due = model::next_due(e))
    s.bind(4, *due);
  s.run();
  return sqlite3_changes(db_) > 0;
}

std::optional<model::notification_event>
store::find_notification_event(const std::string& id) {
  auto& s = q_->notification_event_find;
  reset_guard guard{s};
  s.bind(1, id);
  if (!s.step())
    return std::nullopt;
  return read_event(s);
}

std::pair<std::vector<model::notification_event>, std::size_t>
store::notification_events(const model::notification_event_filter& filter) {
  std::pair<std::vector<model::notification_event>, std::size_t> out{{}, 0};
  auto& s = q_->notification_events_in;
  reset_guard guard{s};
  s.bind(1, filter.from).bind(2, filter.to);
  // The other filters look inside the record: alerts are few, and the
  // filters are those of model::notification_event_matches by definition.
  while (s.step()) {
    auto e = read_event(s);
    if (!model::notification_event_matches(filter, e))
      continue;
    if (out.second >= filter.offset && out.first.size() < filter.limit)
      out.first.push_back(std::move(e));
    ++out.second;
  }
  return out;
}

void store::write_notification_event(const model::notification_event& e) {
  auto& s = q_->notification_event_update;
  auto record = model::notification_event_record(e);
  s.bind(1, e.id).bind(3, record);
  if (auto due = model::next_due(e))
    s.bind(2, *due);
  s.run();
}

std::vector<model::notification_event>
store::claim_due_notifications(model::millis now, model::millis lease_until,
                               std::size_t max) {
  std::vector<model::notification_event> out;
  if (max == 0)
    return out;
  auto tx = begin();
  {
    auto& s = q_->notification_events_due;
    reset_guard guard{s};
    auto limit = std::min<std::size_t>(max, std::numeric_limits<std::int64_t>::max());
    s.bind(1, now).bind(2, static_cast<std::int64_t>(limit));
    while (s.step())
      out.push_back(read_event(s));
  }
  for (const auto& e : out) {
    auto leased = e;
    for (auto& d : leased.deliveries)
      if (d.state == model::delivery_state::pending && d.next_attempt_at &&
          *d.next_attempt_at <= now)
        d.next_attempt_at = lease_until;
    write_notification_event(leased);
  }
  tx.commit();
  return out;
}

void store::update_notification_delivery(const std::string& event_id,
                                         const model::notification_delivery& d) {
  auto tx = begin();
  auto e = find_notification_event(event_id);
  if (!e)
    return;
  auto it = std::find_if(e->deliveries.begin(), e->deliveries.end(),
                         [&](const model::notification_delivery& x) {
                           return x.channel_id == d.channel_id;
                         });
  if (it == e->deliveries.end())
    return;
  *it = d;
  write_notification_event(*e);
  tx.commit();
}

std::size_t store::pending_notification_events() {
  auto& s = q_->notification_events_pending;
  reset_guard guard{s};
  return s.step() ? static_cast<std::size_t>(s.integer(0)) : 0;
}

} // namespace um::storage::sqlite
