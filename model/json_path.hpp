#pragma once

#include "model/v1_api.hpp"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace um::model {

/// One step of a JSON path: an object member by name, or an array element by index.
struct json_path_step {
  std::string name;                 ///< The member name when `index` is empty.
  std::optional<std::size_t> index; ///< The array index, for `[n]` steps.

  friend bool operator==(const json_path_step& a, const json_path_step& b) {
    return a.name == b.name && a.index == b.index;
  }
};

/// A parsed JSON path into an event's `data`, as meters use them for
/// `valueProperty` and `groupBy`.
///
/// Supported syntax, the subset that selects exactly one value:
/// - `$` followed by one or more steps; `$` alone is rejected (a meter reads a
///   property of `data`, never the whole object);
/// - `.name`: a member whose name consists of letters, digits, `_`, `-` or
///   non-ASCII characters;
/// - `['any name']` or `["any name"]`: a member by any non-empty name; `\\`,
///   `\'` and `\"` escape inside the quotes;
/// - `[n]`: the array element at the non-negative decimal index `n`.
///
/// Steps combine freely: `$.usage.input`, `$['a b']`, `$.items[0].tokens`.
/// Wildcards (`*`), recursive descent (`..`), filters (`[?(...)]`), slices
/// (`[1:2]`), unions (`[0,1]`), negative indices and whitespace are rejected
/// with a message that says which.
struct json_path {
  std::string text;                  ///< As the client wrote it; rendered back verbatim.
  std::vector<json_path_step> steps; ///< Never empty in a parsed path.

  /// Two paths are equal when they select the same value (`$.a` == `$['a']`).
  friend bool operator==(const json_path& a, const json_path& b) {
    return a.steps == b.steps;
  }
  friend bool operator!=(const json_path& a, const json_path& b) { return !(a == b); }
};

/// Parses `text` per the syntax above; the error says what is wrong and where
/// (`invalid JSONPath "$.a[*]": wildcards are not supported`).
validated<json_path> parse_json_path(std::string_view text);

/// The value `path` selects in `data`, or nullptr when a step finds nothing
/// (missing member, index out of range, or a step into a scalar). A JSON `null`
/// that is present is returned, not nullptr.
const nlohmann::json* evaluate(const json_path& path, const nlohmann::json& data);

/// As above, for an order-preserving document.
const nlohmann::ordered_json* evaluate(const json_path& path,
                                       const nlohmann::ordered_json& data);

} // namespace um::model
