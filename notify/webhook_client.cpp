#include "notify/webhook_client.hpp"

#include "model/config.hpp"

#include <curl/curl.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <string_view>

namespace um::notify {

namespace {

bool in_v4_range(std::uint32_t address, std::uint32_t network, int prefix) {
  const std::uint32_t mask = prefix == 0 ? 0 : ~std::uint32_t{0} << (32 - prefix);
  return (address & mask) == (network & mask);
}

constexpr std::uint32_t v4(int a, int b, int c, int d) {
  return std::uint32_t(a) << 24 | std::uint32_t(b) << 16 | std::uint32_t(c) << 8 |
         std::uint32_t(d);
}

bool is_private_v4(std::uint32_t a) {
  return in_v4_range(a, v4(0, 0, 0, 0), 8)          // "this network"; 0.0.0.0 is us
         || in_v4_range(a, v4(10, 0, 0, 0), 8)      // private
         || in_v4_range(a, v4(100, 64, 0, 0), 10)   // shared address space
         || in_v4_range(a, v4(127, 0, 0, 0), 8)     // loopback
         || in_v4_range(a, v4(169, 254, 0, 0), 16)  // link-local, cloud metadata
         || in_v4_range(a, v4(172, 16, 0, 0), 12)   // private
         || in_v4_range(a, v4(192, 168, 0, 0), 16); // private
}

std::uint32_t v4_at(const unsigned char* bytes) {
  return std::uint32_t(bytes[0]) << 24 | std::uint32_t(bytes[1]) << 16 |
         std::uint32_t(bytes[2]) << 8 | std::uint32_t(bytes[3]);
}

bool is_private_v6(const unsigned char (&b)[16]) {
  const bool first_80_zero =
      std::all_of(b, b + 10, [](unsigned char c) { return c == 0; });
  if (first_80_zero && b[10] == 0xff && b[11] == 0xff) // ::ffff:a.b.c.d
    return is_private_v4(v4_at(b + 12));
  if (first_80_zero && b[10] == 0 && b[11] == 0) // ::, ::1, and ::a.b.c.d
    return true;
  return (b[0] & 0xfe) == 0xfc                       // fc00::/7 unique-local
         || (b[0] == 0xfe && (b[1] & 0xc0) == 0x80)  // fe80::/10 link-local
         || (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0); // fec0::/10 site-local
}

// The address a socket is about to be opened to, as text; empty for a family
// other than IPv4 and IPv6.
std::string address_text(const curl_sockaddr& address) {
  std::array<char, INET6_ADDRSTRLEN> text{};
  const void* raw = nullptr;
  if (address.family == AF_INET)
    raw = &reinterpret_cast<const sockaddr_in*>(&address.addr)->sin_addr;
  else if (address.family == AF_INET6)
    raw = &reinterpret_cast<const sockaddr_in6*>(&address.addr)->sin6_addr;
  if (raw == nullptr ||
      inet_ntop(address.family, raw, text.data(), text.size()) == nullptr)
    return {};
  return text.data();
}

// Header names are HTTP tokens and no value may hold CR, LF or NUL: one that
// did would let a channel's header add headers or requests of its own. The
// model checks channel headers when they are stored; this is the last line.
bool is_header_token(std::string_view name) {
  if (name.empty())
    return false;
  for (unsigned char c : name)
    if (c <= 0x20 || c >= 0x7f || std::strchr("\"(),/:;<=>?@[\\]{}", c) != nullptr)
      return false;
  return true;
}

bool is_header_value(std::string_view value) {
  return value.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

// libcurl's global state is set up once per process and never torn down: the
// handles of detached actors may outlive any owner that could clean it up.
void init_libcurl_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
      throw std::runtime_error("libcurl could not be initialized");
  });
}

struct slist_deleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
using header_list = std::unique_ptr<curl_slist, slist_deleter>;

// False when libcurl is out of memory (the list is then unchanged).
bool append(header_list& list, const std::string& line) {
  curl_slist* grown = curl_slist_append(list.get(), line.c_str());
  if (grown == nullptr)
    return false;
  list.release();
  list.reset(grown);
  return true;
}

} // namespace

bool is_private_address(const std::string& ip) {
  in_addr a4{};
  if (inet_pton(AF_INET, ip.c_str(), &a4) == 1)
    return is_private_v4(ntohl(a4.s_addr));
  in6_addr a6{};
  if (inet_pton(AF_INET6, ip.c_str(), &a6) == 1)
    return is_private_v6(a6.s6_addr);
  return true;
}

struct webhook_client::state {
  CURL* handle = nullptr;
  std::array<char, CURL_ERROR_SIZE> error{};
  // Per attempt: the answer's body so far, its bound, whether to block
  // private targets and the first private address refused.
  std::string body;
  std::size_t max_body = 0;
  bool block_private = false;
  std::string blocked;

  static size_t on_body(char* data, size_t size, size_t count, void* self) {
    auto& s = *static_cast<state*>(self);
    const size_t bytes = size * count;
    if (s.body.size() < s.max_body)
      s.body.append(data, std::min(bytes, s.max_body - s.body.size()));
    return bytes; // The rest is dropped, not refused, so the connection stays usable.
  }

  // Before a new connection's socket exists, so a refused target is never
  // connected to (every address a name resolves to passes here).
  static curl_socket_t on_open_socket(void* self, curlsocktype purpose,
                                      curl_sockaddr* address) {
    auto& s = *static_cast<state*>(self);
    if (s.block_private && purpose == CURLSOCKTYPE_IPCXN) {
      const auto ip = address_text(*address);
      if (ip.empty() || is_private_address(ip)) {
        if (s.blocked.empty())
          s.blocked = ip.empty() ? "(neither IPv4 nor IPv6)" : ip;
        return CURL_SOCKET_BAD;
      }
    }
    return ::socket(address->family, address->socktype, address->protocol);
  }

  // Before each request, on a new or a reused connection: a connection kept
  // alive from an attempt that did not block private targets skips the check
  // above, so the peer is checked again here.
  static int on_request_ready(void* self, char* peer_ip, char*, int, int) {
    auto& s = *static_cast<state*>(self);
    if (s.block_private && is_private_address(peer_ip)) {
      if (s.blocked.empty())
        s.blocked = peer_ip;
      return CURL_PREREQFUNC_ABORT;
    }
    return CURL_PREREQFUNC_OK;
  }
};

webhook_client::webhook_client() : state_(std::make_unique<state>()) {
  init_libcurl_once();
  state_->handle = curl_easy_init();
  if (state_->handle == nullptr)
    throw std::runtime_error("libcurl could not make an easy handle");
}

webhook_client::~webhook_client() {
  curl_easy_cleanup(state_->handle);
}

webhook_response webhook_client::post(const webhook_request& request,
                                      const webhook_limits& limits) {
  const auto started = std::chrono::steady_clock::now();
  webhook_response response;
  auto finish = [&] {
    response.took = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - started);
    return std::move(response);
  };

  // Our Content-Type first; an empty `Expect:` stops libcurl from waiting for
  // a `100 Continue` that many receivers never send.
  header_list headers;
  bool listed =
      append(headers, "Content-Type: application/json") && append(headers, "Expect:");
  for (const auto& [name, value] : request.headers) {
    if (!is_header_token(name) || !is_header_value(value)) {
      response.error =
          is_header_token(name)
              ? "invalid header: the value of " + name + " holds CR, LF or NUL"
              : "invalid header: a name that is not an HTTP token";
      return finish();
    }
    // libcurl reads `Name:` as "remove this header"; `Name;` sends it empty.
    listed = listed && append(headers, value.empty() ? name + ";" : name + ": " + value);
  }
  if (!listed) {
    response.error = "out of memory for the request's headers";
    return finish();
  }

  auto& s = *state_;
  s.body.clear();
  s.max_body = limits.max_response_bytes;
  s.block_private = limits.block_private_targets;
  s.blocked.clear();
  s.error[0] = '\0';

  // A reset forgets the last attempt's options but keeps the connection cache.
  CURL* h = s.handle;
  curl_easy_reset(h);
  static const std::string user_agent =
      "usage-metrics/" + std::string(model::service_version);
  curl_easy_setopt(h, CURLOPT_URL, request.url.c_str());
#if LIBCURL_VERSION_NUM >= 0x075500 // 7.85
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
#else
  curl_easy_setopt(h, CURLOPT_PROTOCOLS, long(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(h, CURLOPT_PROXY, "");    // none from the environment either
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L); // no SIGALRM on a thread not ours
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, long(limits.connect_timeout.count()));
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, long(limits.total_timeout.count()));
  curl_easy_setopt(h, CURLOPT_USERAGENT, user_agent.c_str());
  curl_easy_setopt(h, CURLOPT_POST, 1L);
  curl_easy_setopt(h, CURLOPT_POSTFIELDS, request.body.data());
  curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(request.body.size()));
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &state::on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &s);
  curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, &state::on_open_socket);
  curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, &s);
  curl_easy_setopt(h, CURLOPT_PREREQFUNCTION, &state::on_request_ready);
  curl_easy_setopt(h, CURLOPT_PREREQDATA, &s);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, s.error.data());

  const CURLcode code = curl_easy_perform(h);
  // The headers and the body are the caller's or this frame's: no later
  // transfer may read them.
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, nullptr);
  curl_easy_setopt(h, CURLOPT_POSTFIELDS, nullptr);

  // A name may resolve to private and public addresses; blocked only when no
  // allowed address answered.
  if (code != CURLE_OK && !s.blocked.empty()) {
    response.error = "blocked: private address " + s.blocked;
    return finish();
  }
  if (code != CURLE_OK) {
    response.error = s.error[0] != '\0' ? s.error.data() : curl_easy_strerror(code);
    return finish();
  }
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  response.status = int(status);
  response.sent = status >= 200 && status < 300;
  if (!response.sent)
    response.error = "HTTP " + std::to_string(status);
  response.body = std::move(s.body);
  return finish();
}

} // namespace um::notify
