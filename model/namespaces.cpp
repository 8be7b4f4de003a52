#include "model/namespaces.hpp"

#include <algorithm>

namespace um::model {

bool is_namespace_name(std::string_view name) {
  if (name.empty() || name.size() > max_namespace_length)
    return false;
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!alnum(name.front()))
    return false;
  return std::all_of(name.begin(), name.end(),
                     [&](char c) { return alnum(c) || c == '-' || c == '_'; });
}

api_key parse_api_key(std::string_view item) {
  auto colon = item.find(':');
  if (colon == std::string_view::npos)
    return {std::string{default_namespace}, std::string{item}};
  return {std::string{item.substr(0, colon)}, std::string{item.substr(colon + 1)}};
}

std::vector<std::string> served_namespaces(const std::vector<api_key>& keys) {
  std::vector<std::string> out;
  for (const auto& key : keys)
    out.push_back(key.ns);
  if (out.empty())
    out.emplace_back(default_namespace);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

bool serves_namespace(const std::vector<api_key>& keys, std::string_view ns) {
  if (keys.empty())
    return ns == default_namespace;
  return std::any_of(keys.begin(), keys.end(),
                     [&](const api_key& key) { return key.ns == ns; });
}

} // namespace um::model
