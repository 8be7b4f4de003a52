// The RocksDB store's usage alerts, in `cf_subjects` under keys starting
// with 'n' (beside the subjects' 'k' and 'i' and the portal tokens' 'p', so
// that no column family is added and an existing database needs nothing):
//
//   "nc" id                  -> a channel's stored form
//   "nr" id                  -> a rule's stored form
//   "ne" id                  -> an event's stored form, deliveries included
//   "nk" key                 -> the id of the event stored under `key`
//   "nt" created_at id       -> nothing: the events by time, for listing
//   "nw" next_due id         -> nothing: the events with a delivery planned
//
// Times are `put_time`, so the bytewise order is (time, id). An event's "nt"
// and "nw" keys change in the batch that changes its record, under the
// write lock every store of the database shares: the writer's and the
// reader's store cannot claim the same delivery twice.

#include "storage/rocksdb/store.hpp"

#include <algorithm>

namespace um::storage::rocks {

namespace {

constexpr const char* channel_prefix = "nc";
constexpr const char* channel_past = "nd";
constexpr const char* rule_prefix = "nr";
constexpr const char* rule_past = "ns";
constexpr const char* event_prefix = "ne";
constexpr const char* key_prefix = "nk";
constexpr const char* time_prefix = "nt";
constexpr const char* time_past = "nu";
constexpr const char* due_prefix = "nw";
constexpr const char* due_past = "nx";

// The length of a "nt" or "nw" key before its id.
constexpr std::size_t timed_id_offset = 2 + 8;

std::string timed_key(const char* prefix, model::millis t, const std::string& id) {
  std::string k = prefix;
  put_time(k, t);
  k += id;
  return k;
}

std::string timed_bound(const char* prefix, model::millis t) {
  std::string k = prefix;
  put_time(k, t);
  return k;
}

// Reads a stored form; damage is the store's `corrupt`, not a bad request.
template <class Read>
auto read_stored(const rocksdb::Slice& v, const char* what, Read read) {
  try {
    return read(std::string_view{v.data(), v.size()});
  } catch (const std::runtime_error& e) {
    throw storage_error(failure_kind::corrupt,
                        std::string{"rocksdb: bad "} + what + ": " + e.what());
  }
}

model::notification_event read_event(const rocksdb::Slice& v) {
  return read_stored(v, "notification event", model::read_notification_event_record);
}

std::optional<model::notification_event> event_by_id(read_view& view,
                                                     const std::string& id) {
  std::string value;
  if (!view.get(cf_subjects, event_prefix + id, value))
    return std::nullopt;
  return read_event(value);
}

/// Adds to `wb` the record and due key of `after`, replacing those of
/// `before` (the event as stored; null when new).
void write_event(database& d, rocksdb::WriteBatch& wb,
                 const model::notification_event* before,
                 const model::notification_event& after) {
  auto* cf = d.cf(cf_subjects);
  auto due_before = before ? model::next_due(*before) : std::nullopt;
  auto due_after = model::next_due(after);
  if (due_before && due_before != due_after)
    check(wb.Delete(cf, timed_key(due_prefix, *due_before, before->id)), "notifications");
  if (due_after && due_after != due_before)
    check(wb.Put(cf, timed_key(due_prefix, *due_after, after.id), ""), "notifications");
  check(wb.Put(cf, event_prefix + after.id, model::notification_event_record(after)),
        "notifications");
}

template <class T, class Read>
std::vector<T> all_under(database& d, const char* from, const char* to, const char* what,
                         Read read) {
  read_view view{d};
  std::vector<T> out;
  view.scan(cf_subjects, from, to, [&](const rocksdb::Slice&, const rocksdb::Slice& v) {
    out.push_back(read_stored(v, what, read));
    return true;
  });
  return out;
}

bool delete_key(database& d, const std::string& key) {
  database::write_lock lock{d};
  read_view view{lock};
  std::string existing;
  if (!view.get(cf_subjects, key, existing))
    return false;
  rocksdb::WriteBatch wb;
  check(wb.Delete(d.cf(cf_subjects), key), "notifications");
  lock.commit(wb);
  return true;
}

void put_key(database& d, const std::string& key, const std::string& value) {
  database::write_lock lock{d};
  rocksdb::WriteBatch wb;
  check(wb.Put(d.cf(cf_subjects), key, value), "notifications");
  lock.commit(wb);
}

} // namespace

std::vector<model::notification_channel> store::notification_channels() {
  // Keys are "nc" + id: the scan is in id order.
  return all_under<model::notification_channel>(*db_, channel_prefix, channel_past,
                                                "notification channel",
                                                model::read_notification_channel_record);
}

void store::put_notification_channel(const model::notification_channel& c) {
  writable();
  put_key(*db_, channel_prefix + c.id, model::notification_channel_record(c));
}

bool store::delete_notification_channel(const std::string& id) {
  writable();
  return delete_key(*db_, channel_prefix + id);
}

std::vector<model::notification_rule> store::notification_rules() {
  return all_under<model::notification_rule>(*db_, rule_prefix, rule_past,
                                             "notification rule",
                                             model::read_notification_rule_record);
}

void store::put_notification_rule(const model::notification_rule& r) {
  writable();
  put_key(*db_, rule_prefix + r.id, model::notification_rule_record(r));
}

bool store::delete_notification_rule(const std::string& id) {
  writable();
  return delete_key(*db_, rule_prefix + id);
}

bool store::add_notification_event(const model::notification_event& e,
                                   const std::string& key) {
  writable();
  database::write_lock lock{*db_};
  read_view view{lock};
  std::string existing;
  if (view.get(cf_subjects, key_prefix + key, existing))
    return false;
  rocksdb::WriteBatch wb;
  auto* cf = db_->cf(cf_subjects);
  check(wb.Put(cf, key_prefix + key, e.id), "notifications");
  check(wb.Put(cf, timed_key(time_prefix, e.created_at, e.id), ""), "notifications");
  write_event(*db_, wb, nullptr, e);
  lock.commit(wb);
  return true;
}

std::optional<model::notification_event>
store::find_notification_event(const std::string& id) {
  read_view view{*db_};
  return event_by_id(view, id);
}

std::pair<std::vector<model::notification_event>, std::size_t>
store::notification_events(const model::notification_event_filter& filter) {
  std::pair<std::vector<model::notification_event>, std::size_t> out{{}, 0};
  if (filter.from > filter.to)
    return out;
  read_view view{*db_};
  // Newest first within [from, to]; the upper bound is exclusive, so it is
  // the key of the next millisecond (`to` is at most latest_timestamp).
  view.scan_back(
      cf_subjects, timed_bound(time_prefix, filter.from),
      filter.to < model::latest_timestamp ? timed_bound(time_prefix, filter.to + 1)
                                          : std::string{time_past},
      [&](const rocksdb::Slice& k, const rocksdb::Slice&) {
        std::string id(k.data() + timed_id_offset, k.size() - timed_id_offset);
        auto e = event_by_id(view, id);
        if (!e)
          throw storage_error(failure_kind::corrupt, "rocksdb: notification event " + id +
                                                         " is listed but not stored");
        if (!model::notification_event_matches(filter, *e))
          return true;
        if (out.second >= filter.offset && out.first.size() < filter.limit)
          out.first.push_back(std::move(*e));
        ++out.second;
        return true;
      });
  return out;
}

std::vector<model::notification_event>
store::claim_due_notifications(model::millis now, model::millis lease_until,
                               std::size_t max) {
  std::vector<model::notification_event> out;
  if (max == 0)
    return out;
  // Most claims find nothing due: a read tells, without the write lock that
  // commits wait for, and without failing while writes are stopped.
  bool due = false;
  {
    read_view peek{*db_};
    peek.scan(cf_subjects, due_prefix, due_past,
              [&](const rocksdb::Slice& k, const rocksdb::Slice&) {
                due = get_time(k.data() + 2) <= now;
                return false;
              });
  }
  if (!due)
    return out;
  writable();
  database::write_lock lock{*db_};
  read_view view{lock};
  rocksdb::WriteBatch wb;
  // The due keys in order of when they are due, then id: oldest due first.
  view.scan(cf_subjects, due_prefix, due_past,
            [&](const rocksdb::Slice& k, const rocksdb::Slice&) {
              if (get_time(k.data() + 2) > now)
                return false;
              std::string id(k.data() + timed_id_offset, k.size() - timed_id_offset);
              auto e = event_by_id(view, id);
              if (!e)
                throw storage_error(failure_kind::corrupt,
                                    "rocksdb: notification event " + id +
                                        " is due but not stored");
              auto leased = *e;
              for (auto& d : leased.deliveries)
                if (d.state == model::delivery_state::pending && d.next_attempt_at &&
                    *d.next_attempt_at <= now)
                  d.next_attempt_at = lease_until;
              write_event(*db_, wb, &*e, leased);
              out.push_back(std::move(*e));
              return out.size() < max;
            });
  if (!out.empty())
    lock.commit(wb);
  return out;
}

void store::update_notification_delivery(const std::string& event_id,
                                         const model::notification_delivery& d) {
  writable();
  database::write_lock lock{*db_};
  read_view view{lock};
  auto e = event_by_id(view, event_id);
  if (!e)
    return;
  auto changed = *e;
  auto it = std::find_if(changed.deliveries.begin(), changed.deliveries.end(),
                         [&](const model::notification_delivery& x) {
                           return x.channel_id == d.channel_id;
                         });
  if (it == changed.deliveries.end())
    return;
  *it = d;
  rocksdb::WriteBatch wb;
  write_event(*db_, wb, &*e, changed);
  lock.commit(wb);
}

std::size_t store::pending_notification_events() {
  // One "nw" key per event with a delivery planned (`write_event` keeps it
  // beside the record): counting them reads no record.
  read_view view{*db_};
  std::size_t n = 0;
  view.scan(cf_subjects, due_prefix, due_past,
            [&](const rocksdb::Slice&, const rocksdb::Slice&) {
              ++n;
              return true;
            });
  return n;
}

} // namespace um::storage::rocks
