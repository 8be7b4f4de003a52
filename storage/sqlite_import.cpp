#include "storage/sqlite_import.hpp"

namespace um::storage {

// Imports nothing yet: a SQLite data dir stays where it is, readable with
// `--database-url sqlite:<data_dir>/usage-metrics.db`.
void import_sqlite_if_present(const store_options&, const std::string&) {}

} // namespace um::storage
