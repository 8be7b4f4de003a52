// The PostgreSQL store: opening the connection, appends with their rollups,
// retention.

#include "storage/postgres/store.hpp"

#include "storage/postgres/connection.hpp"
#include "storage/postgres/schema.hpp"
#include "storage/postgres/statements.hpp"
#include "storage/postgres_store.hpp"
#include "storage/sql_bounds.hpp"

#include <map>
#include <set>
#include <tuple>

namespace um::storage::postgres {

using model::millis;

namespace {

// The advisory lock that orders appends and backfills (shared) against
// changes to the set of meters (exclusive) ("um_meter"), one per schema (a
// namespace's meters do not wait for another's).
std::string meter_lock_for(const std::string& schema) {
  std::uint64_t key = 0x756d5f6d65746572;
  if (!schema.empty()) {
    std::uint64_t hash = 1469598103934665603ull; // FNV-1a
    for (unsigned char c : schema)
      hash = (hash ^ c) * 1099511628211ull;
    key ^= hash;
  }
  return std::to_string(static_cast<std::int64_t>(key));
}

// The session's table a batch is copied into before the statement that
// stores it; emptied by every commit.
constexpr const char* batch_table_sql =
    "CREATE TEMP TABLE batch_in (ord BIGINT NOT NULL, source TEXT COLLATE \"C\" NOT "
    "NULL, "
    "id TEXT COLLATE \"C\" NOT NULL, type TEXT NOT NULL, subject TEXT NOT NULL, "
    "time BIGINT NOT NULL, data TEXT NOT NULL, ingested_at BIGINT NOT NULL) "
    "ON COMMIT DELETE ROWS";

const std::vector<std::string> batch_columns = {
    "ord", "source", "id", "type", "subject", "time", "data", "ingested_at"};

} // namespace

store::store(const store_options& options)
    : conn_(guarded("connect",
                    [&] {
                      return std::make_unique<pqxx::connection>(
                          postgres_connection_string(options.url, options.schema));
                    })),
      meter_lock_(meter_lock_for(options.schema)) {
  guarded("open", [&] {
    if (options.synchronous_full)
      pqxx::nontransaction{*conn_}.exec0("SET synchronous_commit TO on");
    if (!options.schema.empty())
      create_schema(*conn_, options.schema);
    migrate(*conn_);
    if (!options.read_only) {
      pqxx::nontransaction{*conn_}.exec0(batch_table_sql);
      batch_table_pid_ = conn_->backendpid();
    }
    prepare(*conn_, !options.read_only);
    if (options.read_only)
      pqxx::nontransaction{*conn_}.exec0("SET default_transaction_read_only TO on");
  });
}

model::append_outcomes store::append(const std::vector<model::event>& batch) {
  return guarded("append", [&] {
    try {
      return with_retries([&] { return append_once(batch); });
    } catch (const pqxx::check_violation&) {
      // An event of a day whose partition retention dropped (on this or
      // another instance) after this one knew it: learn again, once.
      known_days_.clear();
      return with_retries([&] { return append_once(batch); });
    }
  });
}

// Creates the partitions of `days` that do not exist yet, under the
// partition lock so that instances needing the same new day create it once.
void store::ensure_partitions(pqxx::transaction_base& tx,
                              const std::set<std::int64_t>& days) {
  creating_days_.clear();
  std::vector<std::int64_t> unknown;
  for (auto day : days)
    if (!known_days_.count(day))
      unknown.push_back(day);
  if (unknown.empty())
    return;
  tx.exec_params1("SELECT pg_advisory_xact_lock($1)", partition_lock_key);
  std::set<std::string> existing;
  for (const auto& r : tx.exec_prepared("partitions"))
    existing.insert(text_of(r[0]));
  for (auto day : unknown) {
    if (!existing.count(day_partition_name(day)))
      create_day_partition(tx, day);
    creating_days_.insert(day);
  }
}

// A new connection (pqxx reconnects a broken one) lost the session's table.
void store::ensure_batch_table(pqxx::transaction_base& tx) {
  creating_batch_table_ = conn_->backendpid() != batch_table_pid_;
  if (creating_batch_table_)
    tx.exec0(batch_table_sql);
}

model::append_outcomes store::append_once(const std::vector<model::event>& batch) {
  using key = std::pair<std::string, std::string>;
  model::append_outcomes out;
  out.reserve(batch.size());
  if (batch.empty())
    return out;
  // The first occurrence of each key in the batch is the one to insert;
  // later ones are duplicates of whatever ends up stored under the key.
  std::map<key, std::size_t> first;
  std::set<std::int64_t> days;
  for (std::size_t i = 0; i < batch.size(); ++i)
    if (first.emplace(key{batch[i].source, batch[i].id}, i).second)
      days.insert(day_of(batch[i].time));
  pqxx::work tx{*conn_};
  lock_meters(tx, false);
  ensure_partitions(tx, days);
  ensure_batch_table(tx);
  {
    pqxx::stream_to copy{tx, "batch_in", batch_columns};
    for (const auto& [k, i] : first) {
      const auto& e = batch[i];
      copy << std::make_tuple(static_cast<std::int64_t>(i), e.source, e.id, e.type,
                              e.subject, e.time, e.data, e.ingested_at);
    }
    copy.complete();
  }
  std::map<key, std::int64_t> inserted;
  for (const auto& r : tx.exec_prepared("insert_events"))
    inserted.emplace(key{text_of(r[0]), text_of(r[1])}, r[2].as<std::int64_t>());
  std::map<key, model::event> stored_before;
  if (inserted.size() < first.size()) {
    text_array find_sources, find_ids;
    for (const auto& [k, i] : first)
      if (!inserted.count(k)) {
        find_sources.add(k.first);
        find_ids.add(k.second);
      }
    for (const auto& r :
         tx.exec_prepared("find_events", find_sources.str(), find_ids.str())) {
      auto e = read_event(r, 0);
      key k{e.source, e.id};
      stored_before.emplace(std::move(k), std::move(e));
    }
  }
  rollup_delta delta;
  meter_delta meter_changes;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    const auto& e = batch[i];
    key k{e.source, e.id};
    if (auto stored = inserted.find(k); stored != inserted.end()) {
      if (first[k] == i) {
        out.push_back({model::append_status::stored, e});
        delta.add(e.subject, e.type, e.time, 1);
        if (!active_.list().empty())
          meter_changes.add_event(active_.list(), e, stored->second);
      } else {
        out.push_back({model::append_status::duplicate, batch[first[k]]});
      }
      continue;
    }
    // The stored copy, byte for byte; or, when retention removed it (its
    // key stays, so it is not stored again), the first copy of this batch.
    auto found = stored_before.find(k);
    out.push_back({model::append_status::duplicate,
                   found == stored_before.end() ? batch[first[k]] : found->second});
  }
  if (!delta.empty())
    apply(tx, delta);
  if (!meter_changes.empty())
    apply(tx, meter_changes);
  tx.commit();
  known_days_.insert(creating_days_.begin(), creating_days_.end());
  if (creating_batch_table_)
    batch_table_pid_ = conn_->backendpid();
  return out;
}

// Retention: whole days before the cutoff are emptied (TRUNCATE, which locks
// only their partition) and dropped empty; then rows of the partial day are
// deleted, oldest first. Every count removed is subtracted from the rollups
// in the same transaction.
std::size_t store::purge_before(millis cutoff, std::size_t max_events) {
  return guarded("purge", [&] {
    // Revisions of versions before the cutoff first, in a transaction of
    // their own (an index probe when there are none): also when no event is
    // left to remove, so that a voided id is freed with its day.
    with_retries([&] {
      pqxx::work tx{*conn_};
      tx.exec_prepared0("purge_revisions", cutoff);
      tx.commit();
    });
    if (auto emptied = purge_partition(cutoff))
      return *emptied;
    return purge_rows(cutoff, max_events);
  });
}

// Empties the oldest partition wholly before `cutoff` that holds events
// (dropping the empty ones before it); nothing when there is none.
std::optional<std::size_t> store::purge_partition(millis cutoff) {
  for (;;) {
    auto step = with_retries([&]() -> std::optional<std::optional<std::size_t>> {
      pqxx::work tx{*conn_};
      tx.exec_params1("SELECT pg_advisory_xact_lock($1)", partition_lock_key);
      std::optional<std::int64_t> oldest;
      for (const auto& r : tx.exec_prepared("partitions"))
        if (auto day = day_of_partition_name(text_of(r[0])))
          if ((*day + 1) * day_millis <= cutoff && (!oldest || *day < *oldest))
            oldest = day;
      if (!oldest)
        return std::optional<std::size_t>{}; // no whole day left: done here
      auto name = day_partition_name(*oldest);
      // SHARE keeps appends out of the partition (a late event of that day)
      // while it is counted, and lets reads in.
      tx.exec0("LOCK TABLE " + name + " IN SHARE MODE");
      rollup_delta delta;
      std::int64_t removed = 0;
      for (const auto& r :
           tx.exec("SELECT subject, type, time - ((time % 60000) + 60000) % 60000, "
                   "COUNT(*) FROM " +
                   name + " GROUP BY 1, 2, 3")) {
        auto n = r[3].as<std::int64_t>();
        delta.add(text_of(r[0]), text_of(r[1]), r[2].as<std::int64_t>(), -n);
        removed += n;
      }
      if (removed == 0) {
        // Dropping locks `events` for the rest of this short transaction.
        tx.exec0("DROP TABLE " + name);
        tx.commit();
        known_days_.erase(*oldest);
        return std::nullopt; // dropped an empty one: look again
      }
      // The day's dedup keys go with its events (an id is known while its
      // event is stored); then it is emptied, before the subtraction, so that
      // the meter cells it alone held go too.
      tx.exec0("DELETE FROM event_keys k USING " + name +
               " e WHERE k.source = e.source AND k.id = e.id");
      tx.exec0("TRUNCATE " + name);
      subtract(tx, delta, cutoff);
      tx.commit();
      return std::optional<std::size_t>{static_cast<std::size_t>(removed)};
    });
    if (step)
      return *step;
  }
}

std::size_t store::purge_rows(millis cutoff, std::size_t max_events) {
  return with_retries([&] {
    pqxx::work tx{*conn_};
    rollup_delta delta;
    auto removed = tx.exec_prepared("purge", cutoff, sql_limit(max_events));
    for (const auto& r : removed)
      delta.add(text_of(r[0]), text_of(r[1]), r[2].as<std::int64_t>(), -1);
    if (!delta.empty())
      subtract(tx, delta, cutoff);
    tx.commit();
    return static_cast<std::size_t>(removed.size());
  });
}

// Subtracts removed events from the rollups and drops what they emptied.
void store::subtract(pqxx::transaction_base& tx, const rollup_delta& delta,
                     millis cutoff) {
  apply(tx, delta);
  drop_empty(tx, delta);
  tx.exec_prepared("purge_meter_cells", cutoff);
}

void store::ping() {
  guarded("ping", [&] { pqxx::nontransaction{*conn_}.exec_prepared1("ping"); });
}

void store::apply(pqxx::transaction_base& tx, const rollup_delta& delta) {
  text_array subjects[3], types[3];
  int_array buckets[3], counts[3];
  for (int g = 0; g < 3; ++g)
    for (const auto& [k, n] : delta.by_grain[g]) {
      subjects[g].add(std::get<0>(k));
      buckets[g].add(std::get<1>(k));
      types[g].add(std::get<2>(k));
      counts[g].add(n);
    }
  text_array total_subjects, total_types;
  int_array total_counts;
  for (const auto& [k, n] : delta.totals) {
    total_subjects.add(k.first);
    total_types.add(k.second);
    total_counts.add(n);
  }
  int_array minutes, minute_counts;
  for (const auto& [bucket, n] : delta.global_minutes) {
    minutes.add(bucket);
    minute_counts.add(n);
  }
  tx.exec_prepared("upsert_rollups", subjects[0].str(), buckets[0].str(), types[0].str(),
                   counts[0].str(), subjects[1].str(), buckets[1].str(), types[1].str(),
                   counts[1].str(), subjects[2].str(), buckets[2].str(), types[2].str(),
                   counts[2].str(), total_subjects.str(), total_types.str(),
                   total_counts.str(), minutes.str(), minute_counts.str());
}

void store::drop_empty(pqxx::transaction_base& tx, const rollup_delta& delta) {
  text_array subjects[3], types[3];
  int_array buckets[3];
  for (int g = 0; g < 3; ++g)
    for (const auto& [k, n] : delta.by_grain[g]) {
      subjects[g].add(std::get<0>(k));
      buckets[g].add(std::get<1>(k));
      types[g].add(std::get<2>(k));
    }
  text_array total_subjects, total_types;
  for (const auto& [k, n] : delta.totals) {
    total_subjects.add(k.first);
    total_types.add(k.second);
  }
  int_array minutes;
  for (const auto& [bucket, n] : delta.global_minutes)
    minutes.add(bucket);
  tx.exec_prepared("drop_empty_rollups", subjects[0].str(), buckets[0].str(),
                   types[0].str(), subjects[1].str(), buckets[1].str(), types[1].str(),
                   subjects[2].str(), buckets[2].str(), types[2].str(),
                   total_subjects.str(), total_types.str(), minutes.str());
}

// Takes the meter lock for the rest of the transaction: shared for appends
// and backfills, which apply meters; exclusive, with a version bump, for
// changes to the set of meters. So a change waits for the appends in
// flight, and every later append sees it; a new meter's backfill_until,
// the largest seq once the lock is held, covers exactly the events of the
// appends that committed before. Then brings the cached meters up to date.
void store::lock_meters(pqxx::transaction_base& tx, bool exclusive) {
  // Two statements in one round trip: the second one's snapshot is taken
  // once the lock is held, so it sees every change committed before.
  auto version =
      tx.exec(exclusive ? "SELECT pg_advisory_xact_lock(" + meter_lock_ +
                              "); UPDATE "
                              "meter_state SET version = version + 1 RETURNING version"
                        : "SELECT pg_advisory_xact_lock_shared(" + meter_lock_ +
                              "); SELECT version FROM meter_state")[0][0]
          .as<std::int64_t>();
  if (exclusive || active_.current(version))
    return;
  std::vector<active_meter> loaded;
  for (const auto& r : tx.exec_prepared("meters_all"))
    loaded.push_back({text_of(r[0]), parse_stored_meter(text_of(r[1]))});
  active_.load(version, std::move(loaded));
}

// Takes the meter lock exclusively, without bumping the version (the set of
// meters does not change): no append or backfill is in flight, none starts
// until the transaction ends. A change that rebuilds meter cells holds it, so
// that no append adds to a cell between the rebuild's read of the events and
// its write of the cell (appends hold the lock shared anyway: they pay
// nothing for it).
void store::lock_meter_cells(pqxx::transaction_base& tx) {
  tx.exec("SELECT pg_advisory_xact_lock(" + meter_lock_ + ")");
}

void store::apply(pqxx::transaction_base& tx, const meter_delta& delta) {
  std::vector<std::string> params;
  params.reserve(32);
  for (const auto& cells : delta.cells) {
    text_array meter_ids, subjects, groups, u_meter_ids, u_subjects, u_groups, u_values;
    int_array buckets, counts, latest_times, latest_seqs, u_buckets;
    float_array sums, mins, maxs, latests;
    for (const auto& [key, cell] : cells) {
      const auto& [meter_id, bucket, subject, group] = key;
      meter_ids.add(meter_id);
      buckets.add(bucket);
      subjects.add(subject);
      groups.add(group);
      sums.add(cell.sum);
      counts.add(cell.count);
      mins.add(cell.min);
      maxs.add(cell.max);
      latests.add(cell.latest);
      latest_times.add(cell.latest_time);
      latest_seqs.add(cell.latest_seq);
      for (const auto& value : cell.uniques) {
        u_meter_ids.add(meter_id);
        u_buckets.add(bucket);
        u_subjects.add(subject);
        u_groups.add(group);
        u_values.add(value);
      }
    }
    params.push_back(meter_ids.str());
    params.push_back(buckets.str());
    params.push_back(subjects.str());
    params.push_back(groups.str());
    params.push_back(sums.str());
    params.push_back(counts.str());
    params.push_back(mins.str());
    params.push_back(maxs.str());
    params.push_back(latests.str());
    params.push_back(latest_times.str());
    params.push_back(latest_seqs.str());
    params.push_back(u_meter_ids.str());
    params.push_back(u_buckets.str());
    params.push_back(u_subjects.str());
    params.push_back(u_groups.str());
    params.push_back(u_values.str());
  }
  tx.exec_prepared("upsert_meter_cells", pqxx::prepare::make_dynamic_params(params));
}

} // namespace um::storage::postgres

namespace um::storage {

bool is_postgres_url(const std::string& url) {
  return url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0;
}

std::string postgres_connection_string(const std::string& url,
                                       const std::string& schema) {
  // A silent network partition must fail a call in seconds, not when TCP
  // gives up minutes later: keepalive probes find a dead peer while waiting
  // for an answer, tcp_user_timeout while sending; and no statement runs
  // away with a connection (or the server) for long. A URL that sets one of
  // these keeps its own value.
  static constexpr std::pair<const char*, const char*> defaults[] = {
      {"connect_timeout", "2"},
      {"keepalives", "1"},
      {"keepalives_idle", "5"},
      {"keepalives_interval", "2"},
      {"keepalives_count", "3"},
      {"tcp_user_timeout", "5000"},
      {"options", "-c%20statement_timeout%3D30s"},
  };
  auto out = url;
  for (const auto& [name, value] : defaults) {
    if (out.find(std::string{name} + "=") != std::string::npos)
      continue;
    auto query = out.find('?');
    if (query == std::string::npos)
      out += '?';
    else if (query != out.size() - 1 && out.back() != '&')
      out += '&';
    out += name;
    out += '=';
    out += value;
  }
  // A namespace's schema comes first in the search path of every session,
  // including one libpq opens again after a break.
  if (!schema.empty()) {
    auto at = out.find("options=");
    out.insert(at + 8, "-c%20search_path%3D" + schema + "%20");
  }
  return out;
}

std::unique_ptr<event_store> open_postgres_store(const store_options& options) {
  return std::make_unique<postgres::store>(options);
}

} // namespace um::storage
