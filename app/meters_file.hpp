#pragma once

#include "model/metering.hpp"
#include "model/namespaces.hpp"
#include "model/v1_api.hpp"

#include <string>
#include <vector>

namespace um::app {

/// A meter of the file and the namespace it is declared in.
struct declared_meter {
  std::string ns{model::default_namespace}; ///< The entry's `namespace`, if any.
  model::meter meter;
};

/// Reads OpenMeter's config file form, a YAML document with a `meters:` list,
/// into validated meters; an entry may name its namespace (`namespace:`, a
/// namespace name; default `default`). The error names the file and the
/// first bad entry.
model::validated<std::vector<declared_meter>> load_meters_file(const std::string& path,
                                                               model::millis now);

} // namespace um::app
