#include "app/meters_file.hpp"

#include <yaml-cpp/yaml.h>

namespace um::app {

namespace {

// YAML scalars become strings: every field of a meter entry is a string
// (slugs, JSON paths, aggregation names, RFC 3339 times).
nlohmann::ordered_json to_json(const YAML::Node& node) {
  switch (node.Type()) {
  case YAML::NodeType::Map: {
    auto out = nlohmann::ordered_json::object();
    for (const auto& item : node)
      out[item.first.as<std::string>()] = to_json(item.second);
    return out;
  }
  case YAML::NodeType::Sequence: {
    auto out = nlohmann::ordered_json::array();
    for (const auto& item : node)
      out.push_back(to_json(item));
    return out;
  }
  case YAML::NodeType::Scalar:
    return node.as<std::string>();
  default:
    return nullptr;
  }
}

} // namespace

model::validated<std::vector<declared_meter>> load_meters_file(const std::string& path,
                                                               model::millis now) {
  model::validated<std::vector<declared_meter>> out;
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const std::exception& e) {
    out.error = "--meters " + path + ": " + e.what();
    return out;
  }
  auto meters = root["meters"];
  if (!meters || !meters.IsSequence()) {
    out.error = "--meters " + path + ": expected a `meters:` list";
    return out;
  }
  std::size_t index = 0;
  for (const auto& entry : meters) {
    auto where = "--meters " + path + ": meters[" + std::to_string(index) + "]: ";
    auto fields = to_json(entry);
    declared_meter declared;
    if (fields.is_object() && fields.contains("namespace")) {
      const auto& ns = fields["namespace"];
      if (!ns.is_string() || !model::is_namespace_name(ns.get<std::string>())) {
        out.error = where +
                    "namespace must be 1 to 40 of a-z, 0-9, '-' and '_', starting with "
                    "a letter or digit";
        out.value.clear();
        return out;
      }
      declared.ns = ns.get<std::string>();
      fields.erase("namespace");
    }
    auto parsed = model::meter_from_config(fields, now);
    if (!parsed) {
      out.error = where + parsed.error;
      out.value.clear();
      return out;
    }
    declared.meter = std::move(parsed.value);
    out.value.push_back(std::move(declared));
    ++index;
  }
  return out;
}

} // namespace um::app
