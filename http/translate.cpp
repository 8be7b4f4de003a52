#include "http/translate.hpp"

#include <algorithm>
#include <cctype>
#include <optional>

namespace um::http {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())))
    s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
    s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  // Walk the longer length every time; a length mismatch still fails.
  std::size_t n = std::max(a.size(), b.size());
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (std::size_t i = 0; i < n; ++i) {
    unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff |= static_cast<unsigned char>(x ^ y);
  }
  return diff == 0;
}

} // namespace

const model::api_key* matching_api_key(std::string_view presented,
                                       const std::vector<model::api_key>& keys) {
  const model::api_key* match = nullptr;
  for (const auto& key : keys)
    if (constant_time_equal(presented, key.secret))
      match = &key;
  return presented.empty() ? nullptr : match;
}

std::string_view presented_api_key(std::string_view authorization,
                                   std::string_view x_api_key) {
  authorization = trim(authorization);
  if (authorization.size() > 7 && iequals(authorization.substr(0, 7), "bearer "))
    return trim(authorization.substr(7));
  return trim(x_api_key);
}

bool is_json_media_type(std::string_view content_type) {
  auto type = trim(content_type.substr(0, content_type.find(';')));
  if (iequals(type, "application/json"))
    return true;
  auto slash = type.find('/');
  if (slash == std::string_view::npos || !iequals(type.substr(0, slash), "application"))
    return false;
  return type.size() > 5 && iequals(type.substr(type.size() - 5), "+json");
}

bool accepts_gzip(std::string_view accept_encoding) {
  // An explicit `gzip` entry decides; `*` speaks only for codings not listed
  // (RFC 9110, 12.5.3).
  std::optional<bool> gzip, wildcard;
  std::size_t pos = 0;
  while (pos <= accept_encoding.size()) {
    auto end = accept_encoding.find(',', pos);
    auto item = trim(accept_encoding.substr(
        pos, end == std::string_view::npos ? std::string_view::npos : end - pos));
    auto semi = item.find(';');
    auto coding = trim(item.substr(0, semi));
    bool refused = false;
    if (semi != std::string_view::npos) {
      auto params = trim(item.substr(semi + 1));
      refused = params == "q=0" || params == "q=0.0" || params == "q=0.00" ||
                params == "q=0.000";
    }
    if (iequals(coding, "gzip"))
      gzip = !refused;
    else if (coding == "*")
      wildcard = !refused;
    if (end == std::string_view::npos)
      break;
    pos = end + 1;
  }
  return gzip.value_or(wildcard.value_or(false));
}

std::string percent_decode(std::string_view text) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9')
      return c - '0';
    if (c >= 'a' && c <= 'f')
      return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
      return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size()) {
      int hi = hex(text[i + 1]), lo = hex(text[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
        continue;
      }
    }
    out += text[i] == '+' ? ' ' : text[i];
  }
  return out;
}

std::vector<std::pair<std::string, std::string>>
parse_query_pairs(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> out;
  std::size_t pos = 0;
  while (pos <= query.size()) {
    auto end = query.find('&', pos);
    auto item = query.substr(pos, end == std::string_view::npos ? std::string_view::npos
                                                                : end - pos);
    if (!item.empty()) {
      auto eq = item.find('=');
      out.emplace_back(percent_decode(item.substr(0, eq)),
                       eq == std::string_view::npos
                           ? std::string{}
                           : percent_decode(item.substr(eq + 1)));
    }
    if (end == std::string_view::npos)
      break;
    pos = end + 1;
  }
  return out;
}

bool wants_csv(std::string_view accept) {
  auto csv = accept.find("text/csv");
  if (csv == std::string_view::npos)
    return false;
  auto json = accept.find("application/json");
  return json == std::string_view::npos || csv < json;
}

model::query_params parse_query_string(std::string_view query) {
  model::query_params out;
  for (auto& [name, value] : parse_query_pairs(query))
    out[std::move(name)] = std::move(value);
  return out;
}

std::string client_ip(std::string_view forwarded_for, std::string_view peer) {
  auto first = trim(forwarded_for.substr(0, forwarded_for.find(',')));
  if (!first.empty() && first.size() <= 64)
    return std::string{first};
  return std::string{peer};
}

bool path_matches(std::string_view pattern, std::string_view target) {
  auto path = target.substr(0, target.find_first_of("?#"));
  for (;;) {
    if (pattern.empty() || path.empty())
      return pattern.empty() && path.empty();
    if (pattern.front() != '/' || path.front() != '/')
      return false;
    pattern.remove_prefix(1);
    path.remove_prefix(1);
    auto want = pattern.substr(0, pattern.find('/'));
    auto have = path.substr(0, path.find('/'));
    if (want.empty() ? !have.empty()
                     : (want.front() == ':' ? have.empty() : want != have))
      return false;
    pattern.remove_prefix(want.size());
    path.remove_prefix(have.size());
  }
}

} // namespace um::http
