#pragma once

// The web pages the service serves: `GET /dashboard`, `GET /portal` and the files they
// load from `/assets/`. Their sources are in http/pages/; cmake/EmbedAssets.cmake
// compiles them into the binary, so the service needs no file and no network
// at run time. The rules here (which path is which file, media types,
// caching, the pages' Content-Security-Policy, conditional requests) are pure,
// so they are tested without sockets.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace um::http {

/// One file of http/pages/, as compiled in.
struct embedded_asset {
  std::string_view name;    ///< The file's name: `dashboard.js`.
  std::string_view content; ///< Its bytes.
  std::string_view sha256;  ///< The SHA-256 of its bytes, in hex.
};

/// Every file of http/pages/, in name order (generated at build time).
const std::vector<embedded_asset>& embedded_page_assets();

/// The Content-Security-Policy of every page response. Stricter than the
/// service's `default-src 'self'`: scripts, styles and images from the
/// service only, none inline; requests to the service only; no plugin, base
/// URL, form target or framing; DOM sinks that take strings (`innerHTML`)
/// refused (Trusted Types).
inline constexpr std::string_view page_content_security_policy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'; "
    "require-trusted-types-for 'script'; trusted-types 'none'";

/// How page responses may be cached: kept, but revalidated on every use
/// (answered 304 while unchanged). Asset names carry no version, so this is
/// what guarantees that a page never runs with files of another build.
inline constexpr std::string_view page_cache_control = "no-cache";

/// The answer to a page request.
struct page_answer {
  int status = 200;              ///< 200, or 304 when the client's copy is current.
  std::string_view body;         ///< The file; empty for 304.
  std::string_view content_type; ///< Empty for 304 (no body).
  /// ETag, Cache-Control and the pages' Content-Security-Policy (which
  /// replaces the service's default one).
  std::vector<std::pair<std::string, std::string>> headers;
};

/// The file a request path names: `/dashboard` the page `dashboard.html`,
/// `/portal` the page `portal.html`,
/// `/assets/<name>` any other file of http/pages/ (not a page: a page has
/// one address). Nothing for any other path.
const embedded_asset* find_page_file(std::string_view path);

/// The answer to a GET (or HEAD) of `path` whose `If-None-Match` header is
/// `if_none_match` (empty when absent); nothing when no file has that path
/// (404).
std::optional<page_answer> answer_page_request(std::string_view path,
                                               std::string_view if_none_match);

/// The media type of a file of http/pages/ by its extension; nothing for an
/// extension the pages do not use.
std::optional<std::string_view> page_media_type(std::string_view name);

/// The entity tag of a file: weak, because the same bytes may be sent
/// gzip-compressed or not.
std::string page_etag(const embedded_asset& file);

/// Whether an `If-None-Match` value (`*` or a list of entity tags) matches
/// `etag` by the weak comparison RFC 9110 prescribes for it.
bool etag_matches(std::string_view if_none_match, std::string_view etag);

} // namespace um::http
