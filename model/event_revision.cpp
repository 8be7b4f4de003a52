#include "model/event_revision.hpp"

#include "model/sha256.hpp"

namespace um::model {

std::string_view revision_kind_name(revision_kind k) {
  return k == revision_kind::voided ? "voided" : "superseded";
}

std::string api_key_label(std::string_view key) {
  if (key.empty())
    return "anonymous";
  static constexpr char hex[] = "0123456789abcdef";
  auto digest = sha256(key);
  std::string out = "key:";
  for (std::size_t i = 0; i < 6; ++i) {
    out += hex[digest[i] >> 4];
    out += hex[digest[i] & 0xf];
  }
  return out;
}

} // namespace um::model
