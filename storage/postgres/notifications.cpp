// Usage alerts in the PostgreSQL backend: channels, rules and events (their
// deliveries inside them), each row its stored form (model/notifications.hpp)
// beside the columns the queries need. Several instances share these tables:
// the UNIQUE key stores one event per (rule, subject, window, threshold)
// whichever instance makes it first, and a claim locks the due rows it takes
// (skipping those another instance holds) and moves their due deliveries
// past the lease before it commits, so no two instances take one delivery.
// A claim also names its owner, the server process of its connection: when
// that process is gone (its instance crashed or was killed), another claim
// takes the deliveries it held at once rather than when their lease ends.

#include "storage/postgres/connection.hpp"
#include "storage/postgres/schema.hpp"
#include "storage/postgres/store.hpp"

#include <algorithm>
#include <limits>

namespace um::storage::postgres {

// `next_due` is NULL once nothing is planned (every delivery done or given
// up): the partial index holds only the events a claim may take, so the
// claim's read stays small however many events accumulate. Ids and keys
// compare bytewise, as in the embedded stores.
const char* const notifications_schema = R"sql(
CREATE TABLE notification_channels (id TEXT COLLATE "C" PRIMARY KEY, record TEXT NOT NULL);
CREATE TABLE notification_rules (id TEXT COLLATE "C" PRIMARY KEY, record TEXT NOT NULL);
CREATE TABLE notification_events (id TEXT COLLATE "C" PRIMARY KEY, record TEXT NOT NULL,
  created_at BIGINT NOT NULL, key TEXT COLLATE "C" NOT NULL UNIQUE, next_due BIGINT,
  lease_owner INTEGER, leased_until BIGINT);
CREATE INDEX notification_events_by_created ON notification_events (created_at, id);
CREATE INDEX notification_events_by_due ON notification_events (next_due)
  WHERE next_due IS NOT NULL;
)sql";

namespace {

// Nullable bigints as one array parameter (`int_array` has no NULL).
class due_array {
public:
  void add(const std::optional<model::millis>& v) {
    if (text_.size() > 1)
      text_ += ',';
    text_ += v ? std::to_string(*v) : "NULL";
  }
  std::string str() const { return text_ + '}'; }

private:
  std::string text_ = "{";
};

// Reads a stored form; damage is the store's `corrupt`, not a bad request
// (as on the embedded backends).
template <class Read>
auto read_stored(const pqxx::field& f, const char* what, Read read) {
  try {
    return read(std::string_view{f.c_str(), f.size()});
  } catch (const std::runtime_error& e) {
    throw storage_error(failure_kind::corrupt,
                        std::string{"postgres: bad "} + what + ": " + e.what());
  }
}

model::notification_event read_event_record(const pqxx::field& f) {
  return read_stored(f, "notification event", model::read_notification_event_record);
}

template <class T, class Read>
std::vector<T> read_all(const pqxx::result& rows, const char* what, Read read) {
  std::vector<T> out;
  out.reserve(static_cast<std::size_t>(rows.size()));
  for (const auto& r : rows)
    out.push_back(read_stored(r[0], what, read));
  return out;
}

} // namespace

std::vector<model::notification_channel> store::notification_channels() {
  return guarded("list notification channels", [&] {
    pqxx::nontransaction tx{*conn_};
    return read_all<model::notification_channel>(
        tx.exec_prepared("notification_channels"), "notification channel",
        model::read_notification_channel_record);
  });
}

void store::put_notification_channel(const model::notification_channel& c) {
  guarded("put notification channel", [&] {
    pqxx::work tx{*conn_};
    tx.exec_prepared0("notification_channel_put", c.id,
                      model::notification_channel_record(c));
    tx.commit();
  });
}

bool store::delete_notification_channel(const std::string& id) {
  return guarded("delete notification channel", [&] {
    pqxx::work tx{*conn_};
    auto rows = tx.exec_prepared0("notification_channel_delete", id);
    tx.commit();
    return rows.affected_rows() > 0;
  });
}

std::vector<model::notification_rule> store::notification_rules() {
  return guarded("list notification rules", [&] {
    pqxx::nontransaction tx{*conn_};
    return read_all<model::notification_rule>(tx.exec_prepared("notification_rules"),
                                              "notification rule",
                                              model::read_notification_rule_record);
  });
}

void store::put_notification_rule(const model::notification_rule& r) {
  guarded("put notification rule", [&] {
    pqxx::work tx{*conn_};
    tx.exec_prepared0("notification_rule_put", r.id, model::notification_rule_record(r));
    tx.commit();
  });
}

bool store::delete_notification_rule(const std::string& id) {
  return guarded("delete notification rule", [&] {
    pqxx::work tx{*conn_};
    auto rows = tx.exec_prepared0("notification_rule_delete", id);
    tx.commit();
    return rows.affected_rows() > 0;
  });
}

bool store::add_notification_event(const model::notification_event& e,
                                   const std::string& key) {
  return guarded("add notification event", [&] {
    pqxx::work tx{*conn_};
    auto rows = tx.exec_prepared0("notification_event_add", e.id,
                                  model::notification_event_record(e), e.created_at, key,
                                  model::next_due(e));
    tx.commit();
    return rows.affected_rows() == 1;
  });
}

std::optional<model::notification_event>
store::find_notification_event(const std::string& id) {
  return guarded("find notification event",
                 [&]() -> std::optional<model::notification_event> {
                   pqxx::nontransaction tx{*conn_};
                   auto rows = tx.exec_prepared("notification_event_find", id);
                   if (rows.empty())
                     return std::nullopt;
                   return read_event_record(rows[0][0]);
                 });
}

std::pair<std::vector<model::notification_event>, std::size_t>
store::notification_events(const model::notification_event_filter& filter) {
  return guarded("list notification events", [&] {
    // The other filters look inside the stored form: they are applied here,
    // to the events of the time range (alerts are few beside usage events).
    pqxx::nontransaction tx{*conn_};
    std::pair<std::vector<model::notification_event>, std::size_t> out{{}, 0};
    for (const auto& r :
         tx.exec_prepared("notification_events_created", filter.from, filter.to)) {
      auto e = read_event_record(r[0]);
      if (!model::notification_event_matches(filter, e))
        continue;
      if (out.second >= filter.offset && out.first.size() < filter.limit)
        out.first.push_back(std::move(e));
      ++out.second;
    }
    return out;
  });
}

std::vector<model::notification_event>
store::claim_due_notifications(model::millis now, model::millis lease_until,
                               std::size_t max) {
  return guarded("claim due notifications", [&] {
    std::vector<model::notification_event> out;
    if (max == 0)
      return out;
    pqxx::work tx{*conn_};
    text_array ids, records;
    due_array dues;
    // Leases `e`'s deliveries that `taken` picks, and answers it with them
    // due at `due_at` (the time they were due, or now for a dead owner's).
    auto lease = [&](model::notification_event e, auto taken, auto due_at) {
      auto leased = e;
      bool any = false;
      for (std::size_t i = 0; i < e.deliveries.size(); ++i) {
        auto& d = e.deliveries[i];
        if (d.state != model::delivery_state::pending || !d.next_attempt_at ||
            !taken(*d.next_attempt_at))
          continue;
        any = true;
        d.next_attempt_at = due_at(*d.next_attempt_at);
        leased.deliveries[i].next_attempt_at = lease_until;
      }
      if (!any)
        return;
      ids.add(leased.id);
      records.add(model::notification_event_record(leased));
      dues.add(model::next_due(leased));
      out.push_back(std::move(e));
    };
    auto bounded = [](std::size_t n) {
      // A count beyond the bigint range would wrap to a negative LIMIT.
      return static_cast<std::int64_t>(
          std::min<std::size_t>(n, std::numeric_limits<std::int64_t>::max()));
    };
    for (const auto& r : tx.exec_prepared("notification_events_due", now, bounded(max)))
      lease(
          read_event_record(r[0]), [&](model::millis at) { return at <= now; },
          [](model::millis at) { return at; });
    // What an instance that is gone had leased: the deliveries still at its
    // lease's end. Looked for now and then, not at every claim.
    if (out.size() < max && now >= next_orphan_check_) {
      next_orphan_check_ = now + orphan_check_interval_ms;
      for (const auto& r : tx.exec_prepared("notification_events_orphaned", now,
                                            bounded(max - out.size()))) {
        auto until = r[1].as<model::millis>();
        lease(
            read_event_record(r[0]), [&](model::millis at) { return at == until; },
            [&](model::millis) { return now; });
      }
    }
    if (out.empty())
      return out;
    // The rows stay locked until the commit: another instance's claim skips
    // them meanwhile, and afterwards finds them no longer due.
    tx.exec_prepared0("notification_events_lease", ids.str(), records.str(), dues.str(),
                      lease_until);
    tx.commit();
    return out;
  });
}

void store::update_notification_delivery(const std::string& event_id,
                                         const model::notification_delivery& d) {
  guarded("update notification delivery", [&] {
    // Locked while it is read and written: a claim or another update of the
    // same event in between would otherwise be overwritten.
    pqxx::work tx{*conn_};
    auto rows = tx.exec_prepared("notification_event_lock", event_id);
    if (rows.empty())
      return;
    auto e = read_event_record(rows[0][0]);
    auto it = std::find_if(e.deliveries.begin(), e.deliveries.end(),
                           [&](const auto& x) { return x.channel_id == d.channel_id; });
    if (it == e.deliveries.end())
      return;
    *it = d;
    text_array ids, records;
    due_array dues;
    ids.add(e.id);
    records.add(model::notification_event_record(e));
    dues.add(model::next_due(e));
    tx.exec_prepared0("notification_events_rewrite", ids.str(), records.str(),
                      dues.str());
    tx.commit();
  });
}

std::size_t store::pending_notification_events() {
  return guarded("count pending notification events", [&] {
    pqxx::nontransaction tx{*conn_};
    return static_cast<std::size_t>(
        tx.exec_prepared1("notification_events_pending")[0].as<std::int64_t>());
  });
}

} // namespace um::storage::postgres
