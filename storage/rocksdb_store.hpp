#pragma once

#include "storage/event_store.hpp"

namespace um::storage {

/// The embedded backend and the default: a RocksDB database in one
/// directory (storage/rocksdb/). Every store of the process on one directory
/// shares one open database.
std::unique_ptr<event_store> open_rocksdb_store(const store_options& options);

/// The directory `options` selects: `rocksdb:PATH`, else `<data_dir>/rocksdb`.
std::string rocksdb_path(const store_options& options);

} // namespace um::storage
