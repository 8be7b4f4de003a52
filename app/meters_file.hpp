#pragma once

#include "model/metering.hpp"
#include "model/v1_api.hpp"

#include <string>
#include <vector>

namespace um::app {

/// Reads OpenMeter's config file form, a YAML document with a `meters:` list,
/// into validated meters. The error names the file and the first bad entry.
model::validated<std::vector<model::meter>> load_meters_file(const std::string& path,
                                                             model::millis now);

} // namespace um::app
