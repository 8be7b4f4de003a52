#pragma once

// Namespaces (tenants): every API key belongs to one, and a request reads and
// writes only its key's namespace. Each namespace is a store of its own
// (storage::namespace_options), so no query can reach across them.

#include <string>
#include <string_view>
#include <vector>

namespace um::model {

/// The namespace of keys given without one, and of a service without keys.
inline constexpr std::string_view default_namespace = "default";

/// The longest namespace name (PostgreSQL's schema `ns_<name>` stays far
/// below its 63-byte identifiers).
inline constexpr std::size_t max_namespace_length = 40;

/// Whether `name` is a namespace name: 1 to 40 of `a-z`, `0-9`, `-`, `_`,
/// starting with a letter or a digit.
bool is_namespace_name(std::string_view name);

/// One configured API key and the namespace it opens.
struct api_key {
  std::string ns{default_namespace}; ///< The namespace the key belongs to.
  std::string secret;                ///< What the client presents.
};

/// Reads one `--api-key` item: `NAMESPACE:KEY`, or `KEY` for the default
/// namespace. The text before the first `:` is the namespace, so a key that
/// contains `:` is written with its namespace (`default:a:b`).
api_key parse_api_key(std::string_view item);

/// The namespaces a service with `keys` serves, sorted, each once: those of
/// its keys, or `default` alone when it has none.
std::vector<std::string> served_namespaces(const std::vector<api_key>& keys);

/// Whether a service with `keys` serves namespace `ns`.
bool serves_namespace(const std::vector<api_key>& keys, std::string_view ns);

} // namespace um::model
