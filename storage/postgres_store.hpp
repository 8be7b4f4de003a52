#pragma once

#include "storage/event_store.hpp"

#include <string>

namespace um::storage {

/// True when `url` names a PostgreSQL server (`postgresql://` or `postgres://`).
bool is_postgres_url(const std::string& url);

/// The libpq connection string for `url`: the URL itself, with
/// `connect_timeout=2` added when it sets none, so that opening fails fast
/// while the server is down.
/// With a `schema`, the search path of every session is that schema alone
/// (a namespace's, storage::namespace_options).
std::string postgres_connection_string(const std::string& url,
                                       const std::string& schema = {});

/// The server backend: one connection to the PostgreSQL database
/// `options.url` names, schema versioned and migrated on open under an
/// advisory lock. Results are identical to the embedded backend's.
std::unique_ptr<event_store> open_postgres_store(const store_options& options);

} // namespace um::storage
