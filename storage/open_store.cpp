#include "storage/event_store.hpp"
#include "storage/postgres_store.hpp"
#include "storage/rocksdb_store.hpp"
#include "storage/sqlite_store.hpp"

namespace um::storage {

void event_store::restore_subjects(const std::vector<model::subject>&) {
  throw storage_error(failure_kind::internal,
                      "this backend does not take subjects restored from another store");
}

bool sqlite_is_embedded_default() {
  return false;
}

std::unique_ptr<event_store> open_event_store(const store_options& options) {
  if (options.url.empty() || options.url.rfind("rocksdb:", 0) == 0)
    return open_rocksdb_store(options);
  if (options.url.rfind("sqlite:", 0) == 0)
    return open_sqlite_store(options);
  if (is_postgres_url(options.url))
    return open_postgres_store(options);
  throw storage_error(failure_kind::internal,
                      "unsupported database url scheme: expected rocksdb:, sqlite:, "
                      "postgres:// or postgresql://");
}

} // namespace um::storage
