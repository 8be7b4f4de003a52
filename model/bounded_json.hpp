#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

namespace um::model {

/// Most levels a JSON value may nest: `{}` and `[]` are one level,
/// `{"a":[1]}` two. Deeper input is refused while it is read: recursive code
/// (serializing, copying) never meets it, so no input can exhaust the stack.
inline constexpr std::size_t max_json_depth = 64;

/// Most members one JSON object (counting repeated names), or elements one
/// array, may hold.
inline constexpr std::size_t max_json_members = 10'000;

/// Most bytes of one event's data (v1 `metadata`, CloudEvents `data`),
/// serialized compactly as the service stores it.
inline constexpr std::size_t max_event_data_bytes = 256 * 1024;

/// Bounds a document must keep, checked while it is read.
struct json_limits {
  std::size_t max_depth = max_json_depth;
  std::size_t max_members = max_json_members;
  /// Members that count their depth from themselves, as documents of their
  /// own (an event's `metadata` inside a request body): each a path from the
  /// root, of member names and "*" for any element of an array
  /// (`{"events", "*", "metadata"}`). A fault inside one is reported with it.
  std::vector<std::vector<std::string>> fields;
};

/// The limits for stored event data and for documents the service wrote
/// itself. Whatever is stored now was checked against the request limits;
/// data stored by earlier versions may be wider (read in linear time, so no
/// width bound is needed) or a little deeper, and stays readable.
inline const json_limits stored_json_limits{
    1000, std::numeric_limits<std::size_t>::max(), {}};

/// Why a document was refused.
enum class json_fault {
  none,     ///< Read.
  syntax,   ///< Not one JSON value (RFC 8259), or not UTF-8.
  too_deep, ///< Nests deeper than `max_depth`.
  too_wide, ///< An object or array holds more than `max_members`.
};

/// A document read by `try_parse_json`, or why there is none.
template <class Json>
struct parsed_json {
  Json value; ///< Null unless read.
  json_fault fault = json_fault::none;
  /// Empty when read; else what is wrong, to follow the name of what was
  /// read: `is not valid JSON`, `nests deeper than 64 levels`, `has more than
  /// 10000 members in one object` (or `in one array`).
  std::string error;
  /// The entry of `json_limits::fields` the fault is in, each "*" replaced
  /// by the element's index (`{"events", "3", "metadata"}`); empty when the
  /// fault is outside them or a syntax error.
  std::vector<std::string> field;

  explicit operator bool() const { return fault == json_fault::none; }
};

/// Reads `text` as one JSON value within `limits`, refusing it at the first
/// byte past a limit without building what is beyond. The cost is linear in
/// the size of `text`. Objects keep the members the way JavaScript's
/// `JSON.parse` does, so serializing the result gives what the earlier Node
/// service gave: a repeated name keeps the place of its first occurrence and
/// the value of its last, and for `nlohmann::ordered_json` names that are
/// array indexes ("0" to "4294967294", no leading zero) come first, in
/// numeric order. Every problem of the input is a fault, never an exception.
template <class Json = nlohmann::ordered_json>
parsed_json<Json> try_parse_json(std::string_view text, const json_limits& limits = {});

extern template parsed_json<nlohmann::ordered_json>
try_parse_json<nlohmann::ordered_json>(std::string_view, const json_limits&);
extern template parsed_json<nlohmann::json>
try_parse_json<nlohmann::json>(std::string_view, const json_limits&);

} // namespace um::model
