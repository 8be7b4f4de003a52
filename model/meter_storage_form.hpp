#pragma once

// How a meter definition is stored: a JSON document of its own, with a
// version, so that the database's format does not follow the API's.

#include "model/metering.hpp"

#include <string>
#include <string_view>

namespace um::model {

/// The version `to_storage_form` writes.
inline constexpr int meter_storage_version = 1;

/// The stored form of `m`, compact JSON:
/// `{"version":1,"id":…,"slug":…,"name":…,"description":…,"aggregation":"sum",
/// "event_type":…,"event_from":<ms>|null,"value_property":<path>|null,
/// "group_by":[{"key":…,"path":…}],"created_at":<ms>,"updated_at":<ms>}`.
/// Times are Unix milliseconds and aggregations have names of their own, so
/// renaming or reformatting a field of the API never changes stored data.
std::string to_storage_form(const meter& m);

/// Reads what `to_storage_form` wrote, and the unversioned form stored by
/// earlier releases (the API's Meter JSON, `meter_json`), so that existing
/// databases keep working. A version newer than `meter_storage_version` is
/// refused, with a message saying so.
validated<meter> from_storage_form(std::string_view text);

} // namespace um::model
