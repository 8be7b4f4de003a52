#include "model/trace_id.hpp"

#include <random>

namespace um::model {

namespace {

bool is_usable(std::string_view id) {
  if (id.empty() || id.size() > 128)
    return false;
  for (char c : id)
    if (c < 0x20 || c > 0x7e)
      return false;
  return true;
}

bool is_hex(std::string_view s) {
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
      return false;
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

// `00-<32 hex>-<16 hex>-<2 hex>`; an all-zero trace id is invalid per W3C.
std::string_view traceparent_trace_id(std::string_view header) {
  header = trim(header);
  if (header.size() != 55 || header[2] != '-' || header[35] != '-' || header[52] != '-')
    return {};
  auto version = header.substr(0, 2);
  auto trace = header.substr(3, 32);
  if (!is_hex(version) || version == "ff" || !is_hex(trace) ||
      !is_hex(header.substr(36, 16)) || !is_hex(header.substr(53, 2)))
    return {};
  if (trace.find_first_not_of('0') == std::string_view::npos)
    return {};
  return trace;
}

std::string_view amzn_root(std::string_view header) {
  std::size_t pos = 0;
  while (pos < header.size()) {
    auto end = header.find(';', pos);
    auto field =
        trim(header.substr(pos, end == std::string_view::npos ? end : end - pos));
    if (field.substr(0, 5) == "Root=")
      return field.substr(5);
    if (end == std::string_view::npos)
      break;
    pos = end + 1;
  }
  return {};
}

} // namespace

std::string new_uuid_v4() {
  thread_local std::mt19937_64 engine{std::random_device{}()};
  std::uint64_t hi = engine(), lo = engine();
  hi = (hi & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;
  lo = (lo & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;
  static constexpr char digits[] = "0123456789abcdef";
  std::string out(36, '-');
  int nibble = 0;
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23)
      continue;
    std::uint64_t word = nibble < 16 ? hi : lo;
    int shift = 60 - 4 * (nibble % 16);
    out[i] = digits[(word >> shift) & 0xf];
    ++nibble;
  }
  return out;
}

std::string resolve_trace_id(std::string_view x_trace_id, std::string_view traceparent,
                             std::string_view amzn_trace_id) {
  if (!x_trace_id.empty())
    return is_usable(x_trace_id) ? std::string{x_trace_id} : new_uuid_v4();
  if (auto id = traceparent_trace_id(traceparent); !id.empty())
    return std::string{id};
  if (auto root = amzn_root(amzn_trace_id); is_usable(root))
    return std::string{root};
  return new_uuid_v4();
}

} // namespace um::model
