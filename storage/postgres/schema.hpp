#pragma once

// The PostgreSQL schema and its migrations, one version at a time.

#include "model/clock.hpp"

#include <pqxx/pqxx>

#include <cstdint>
#include <optional>
#include <string>

namespace um::storage::postgres {

/// The schema version this build writes and reads.
inline constexpr int schema_version = 7;

/// Version 5: the portal tokens table (defined in portal_tokens.cpp).
extern const char* const portal_tokens_schema;

/// Version 7: the usage alerts' channels, rules and events (defined in
/// notifications.cpp).
extern const char* const notifications_schema;

/// Brings the database to `schema_version` in one transaction, under an
/// advisory lock so that instances starting together do not race; refuses a
/// database newer than this build. `target` below `schema_version` stops at
/// that version (for tests that build an earlier database).
void migrate(pqxx::connection& conn, int target = schema_version);

/// Creates `schema` when it does not exist (a namespace's first start); the
/// connection's search path names it already (`postgres_connection_string`).
void create_schema(pqxx::connection& conn, const std::string& schema);

/// Events are partitioned by UTC day of their time: a day is
/// `[day * day_millis, (day + 1) * day_millis)`.
inline constexpr model::millis day_millis = 86'400'000;

/// The day `time` falls in (rounded down, also before 1970).
std::int64_t day_of(model::millis time);

/// The partition of `day`: `events_YYYYMMDD`.
std::string day_partition_name(std::int64_t day);

/// The day of a partition named by `day_partition_name`; nothing for any
/// other name.
std::optional<std::int64_t> day_of_partition_name(const std::string& name);

/// Creates the partition of `day` in `tx`; the caller holds the partition
/// lock (`partition_lock_key`) and knows it does not exist.
void create_day_partition(pqxx::transaction_base& tx, std::int64_t day);

/// The advisory lock that serializes creating and removing partitions
/// ("um_parts").
inline constexpr std::int64_t partition_lock_key = 0x756d5f7061727473;

} // namespace um::storage::postgres
