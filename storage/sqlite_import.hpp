#pragma once

// Moving a data dir of the SQLite store (releases before RocksDB became the
// embedded default) into the RocksDB store.

#include "storage/event_store.hpp"

#include <string>

namespace um::storage {

/// Called before the default embedded store (`<data_dir>/rocksdb`) opens for
/// writing: when `options.data_dir` holds the SQLite store's file, imports
/// its events, meters and subjects into the RocksDB database at
/// `rocksdb_dir` once. Throws `storage_error`.
void import_sqlite_if_present(const store_options& options,
                              const std::string& rocksdb_dir);

} // namespace um::storage
