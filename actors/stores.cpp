#include "actors/actors.hpp"

namespace um {

storage::event_store& store_of(namespace_stores& stores, const store_factory& open,
                               const model::service_config& config,
                               const std::string& ns) {
  auto it = stores.find(ns);
  if (it != stores.end() && it->second)
    return *it->second;
  if (!model::serves_namespace(config.api_keys, ns))
    throw storage::storage_error(storage::failure_kind::internal,
                                 "namespace not served: " + ns);
  auto opened = open(ns);
  auto& slot = stores[ns];
  slot = std::move(opened);
  return *slot;
}

} // namespace um
