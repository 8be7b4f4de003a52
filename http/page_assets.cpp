#include "http/page_assets.hpp"

#include <algorithm>

namespace um::http {

namespace {

constexpr std::string_view page_prefix = "/assets/";

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

const embedded_asset* find_by_name(std::string_view name) {
  const auto& files = embedded_page_assets();
  auto it = std::find_if(files.begin(), files.end(),
                         [name](const embedded_asset& f) { return f.name == name; });
  return it == files.end() ? nullptr : &*it;
}

// The opaque part of an entity tag, without `W/` and quotes.
std::string_view opaque_tag(std::string_view tag) {
  if (tag.substr(0, 2) == "W/")
    tag.remove_prefix(2);
  if (tag.size() >= 2 && tag.front() == '"' && tag.back() == '"')
    tag = tag.substr(1, tag.size() - 2);
  return tag;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

} // namespace

const embedded_asset* find_page_file(std::string_view path) {
  if (path == "/dashboard")
    return find_by_name("dashboard.html");
  if (path == "/portal")
    return find_by_name("portal.html");
  if (path.substr(0, page_prefix.size()) != page_prefix)
    return nullptr;
  auto name = path.substr(page_prefix.size());
  if (name.empty() || ends_with(name, ".html"))
    return nullptr;
  return find_by_name(name);
}

std::optional<page_answer> answer_page_request(std::string_view path,
                                               std::string_view if_none_match) {
  const auto* file = find_page_file(path);
  if (!file)
    return std::nullopt;
  auto media_type = page_media_type(file->name);
  if (!media_type)
    return std::nullopt;
  page_answer answer;
  auto etag = page_etag(*file);
  answer.headers = {
      {"ETag", etag},
      {"Cache-Control", std::string{page_cache_control}},
      {"Content-Security-Policy", std::string{page_content_security_policy}}};
  if (!if_none_match.empty() && etag_matches(if_none_match, etag)) {
    answer.status = 304;
    return answer;
  }
  answer.body = file->content;
  answer.content_type = *media_type;
  return answer;
}

std::optional<std::string_view> page_media_type(std::string_view name) {
  static constexpr std::pair<std::string_view, std::string_view> types[] = {
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".svg", "image/svg+xml"},
  };
  for (const auto& [extension, type] : types)
    if (ends_with(name, extension))
      return type;
  return std::nullopt;
}

std::string page_etag(const embedded_asset& file) {
  return "W/\"" + std::string{file.sha256.substr(0, 20)} + "\"";
}

bool etag_matches(std::string_view if_none_match, std::string_view etag) {
  if (trim(if_none_match) == "*")
    return true;
  auto wanted = opaque_tag(etag);
  while (!if_none_match.empty()) {
    auto comma = if_none_match.find(',');
    auto tag = trim(if_none_match.substr(0, comma));
    if (!tag.empty() && opaque_tag(tag) == wanted)
      return true;
    if (comma == std::string_view::npos)
      break;
    if_none_match.remove_prefix(comma + 1);
  }
  return false;
}

} // namespace um::http
