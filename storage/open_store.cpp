#include "storage/event_store.hpp"
#include "storage/postgres_store.hpp"
#include "storage/rocksdb_store.hpp"
#include "storage/sqlite_store.hpp"

#include <filesystem>

namespace um::storage {

void event_store::restore_subjects(const std::vector<model::subject>&) {
  throw storage_error(failure_kind::internal,
                      "this backend does not take subjects restored from another store");
}

bool sqlite_is_embedded_default() {
  return false;
}

store_options namespace_options(const store_options& base, const std::string& ns) {
  if (ns == model::default_namespace)
    return base;
  if (!model::is_namespace_name(ns))
    throw storage_error(failure_kind::internal, "not a namespace name: " + ns);
  auto out = base;
  if (base.url.empty())
    out.data_dir = (std::filesystem::path(base.data_dir) / "namespaces" / ns).string();
  else if (base.url.rfind("rocksdb:", 0) == 0)
    out.url = base.url + ".namespaces/" + ns;
  else if (base.url.rfind("sqlite:", 0) == 0)
    out.url = base.url + ".namespaces/" + ns + ".db";
  else
    out.schema = "ns_" + ns;
  return out;
}

std::unique_ptr<event_store> open_event_store(const store_options& options) {
  if (options.url.empty() || options.url.rfind("rocksdb:", 0) == 0)
    return open_rocksdb_store(options);
  if (options.url.rfind("sqlite:", 0) == 0) {
    // A namespace's file is in a directory of its own, made on first use.
    auto dir = std::filesystem::path(sqlite_path(options)).parent_path();
    std::error_code ignored;
    if (!options.read_only && !dir.empty())
      std::filesystem::create_directories(dir, ignored);
    return open_sqlite_store(options);
  }
  if (is_postgres_url(options.url))
    return open_postgres_store(options);
  throw storage_error(failure_kind::internal,
                      "unsupported database url scheme: expected rocksdb:, sqlite:, "
                      "postgres:// or postgresql://");
}

} // namespace um::storage
