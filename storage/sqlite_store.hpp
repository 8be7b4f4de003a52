#pragma once

#include "storage/event_store.hpp"

namespace um::storage {

/// The embedded backend: one SQLite file in the data dir, WAL mode, schema
/// versioned and migrated on open.
std::unique_ptr<event_store> open_sqlite_store(const store_options& options);

/// Whether the embedded default (a data dir, no url) is this SQLite store
/// rather than the store that imports it.
bool sqlite_is_embedded_default();

/// The file `options` selects: `sqlite:PATH`, else `<data_dir>/usage-metrics.db`.
std::string sqlite_path(const store_options& options);

} // namespace um::storage
