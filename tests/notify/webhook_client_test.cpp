// The webhook client against a real receiver: a small HTTP/1.1 server on a
// loopback socket that answers as each test scripts it and records what came.

#include "notify/webhook_client.hpp"

#include "model/webhook_signature.hpp"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <deque>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace {

using um::notify::is_private_address;
using um::notify::webhook_client;
using um::notify::webhook_limits;
using um::notify::webhook_request;
using namespace std::chrono_literals;

using header_pairs = std::vector<std::pair<std::string, std::string>>;

/// One request as the receiver read it.
struct received_request {
  std::string method;
  std::string target;
  header_pairs headers; ///< In the order received, names as sent.
  std::string body;
  int connection = 0; ///< Which accepted connection (1, 2, ...) carried it.
};

/// How the receiver answers the next request.
struct scripted_answer {
  int status = 200;
  std::string extra_headers; ///< Whole lines, each ending in CRLF.
  std::string body = "ok";
  bool hang = false; ///< Read the request and never answer.
};

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return char(std::tolower(c)); });
  return text;
}

/// The values of every header named `name` (case-insensitively).
std::vector<std::string> header_values(const header_pairs& headers,
                                       const std::string& name) {
  std::vector<std::string> values;
  for (const auto& [n, v] : headers)
    if (lower(n) == lower(name))
      values.push_back(v);
  return values;
}

/// An HTTP/1.1 receiver on 127.0.0.1 with a port of its own. One thread serves
/// one connection at a time and keeps it open between requests (keep-alive),
/// so that a client reusing its connection is seen doing so.
class local_receiver {
public:
  local_receiver() {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (listener_ < 0 ||
        ::bind(listener_, reinterpret_cast<sockaddr*>(&address), length) != 0 ||
        ::listen(listener_, 8) != 0 ||
        ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length) != 0)
      throw std::runtime_error("the test receiver could not listen");
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] { run(); });
  }

  ~local_receiver() {
    stop_ = true;
    thread_.join();
    ::close(listener_);
  }

  std::string url(const std::string& path = "/hook") const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }

  int port() const { return port_; }

  /// Queues the answer to a coming request; without one, 200 "ok".
  void script(scripted_answer answer) {
    std::lock_guard<std::mutex> guard(mutex_);
    script_.push_back(std::move(answer));
  }

  std::vector<received_request> requests() const {
    std::lock_guard<std::mutex> guard(mutex_);
    return requests_;
  }

  int connections() const { return connections_; }

private:
  // Waits up to 50 ms for `fd` to be readable, so that the thread notices a stop.
  static bool readable(int fd) {
    pollfd p{fd, POLLIN, 0};
    return ::poll(&p, 1, 50) > 0;
  }

  void run() {
    while (!stop_) {
      if (!readable(listener_))
        continue;
      const int connection = ::accept(listener_, nullptr, nullptr);
      if (connection < 0)
        continue;
      serve(connection, ++connections_);
      ::close(connection);
    }
  }

  // Reads requests from one connection until the client closes it.
  void serve(int fd, int index) {
    std::string buffer;
    bool hanging = false;
    while (!stop_) {
      if (!readable(fd))
        continue;
      char chunk[16 * 1024];
      const ssize_t got = ::recv(fd, chunk, sizeof chunk, 0);
      if (got <= 0)
        return;
      if (hanging)
        continue;
      buffer.append(chunk, size_t(got));
      while (auto request = take_request(buffer, index)) {
        scripted_answer answer;
        {
          std::lock_guard<std::mutex> guard(mutex_);
          requests_.push_back(std::move(*request));
          if (!script_.empty()) {
            answer = std::move(script_.front());
            script_.pop_front();
          }
        }
        if (answer.hang) {
          hanging = true;
          break;
        }
        const std::string reply =
            "HTTP/1.1 " + std::to_string(answer.status) +
            " Scripted\r\nContent-Length: " + std::to_string(answer.body.size()) +
            "\r\n" + answer.extra_headers + "\r\n" + answer.body;
        ::send(fd, reply.data(), reply.size(), MSG_NOSIGNAL);
      }
    }
  }

  // The first whole request in `buffer` (removed from it), if one has arrived.
  static std::optional<received_request> take_request(std::string& buffer, int index) {
    const auto head_end = buffer.find("\r\n\r\n");
    if (head_end == std::string::npos)
      return std::nullopt;
    received_request request;
    request.connection = index;
    std::size_t line_start = 0;
    std::size_t content_length = 0;
    bool first = true;
    while (line_start < head_end) {
      const auto line_end = buffer.find("\r\n", line_start);
      const auto line = buffer.substr(line_start, line_end - line_start);
      line_start = line_end + 2;
      if (first) {
        first = false;
        const auto space = line.find(' ');
        request.method = line.substr(0, space);
        request.target = line.substr(space + 1, line.rfind(' ') - space - 1);
        continue;
      }
      const auto colon = line.find(':');
      auto value = line.substr(colon + 1);
      value.erase(0, value.find_first_not_of(' '));
      request.headers.emplace_back(line.substr(0, colon), value);
      if (lower(line.substr(0, colon)) == "content-length")
        content_length = std::stoul(value);
    }
    const auto body_start = head_end + 4;
    if (buffer.size() < body_start + content_length)
      return std::nullopt;
    request.body = buffer.substr(body_start, content_length);
    buffer.erase(0, body_start + content_length);
    return request;
  }

  int listener_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  mutable std::mutex mutex_;
  std::deque<scripted_answer> script_;
  std::vector<received_request> requests_;
  std::thread thread_;
};

/// Bounds that keep a broken test from hanging the suite.
webhook_limits test_limits() {
  webhook_limits limits;
  limits.connect_timeout = 2s;
  limits.total_timeout = 5s;
  return limits;
}

webhook_request simple_request(const std::string& url) {
  return {url, {{"webhook-id", "msg_1"}}, R"({"id":"msg_1"})"};
}

TEST(webhook_client, delivers_the_headers_and_the_body_exactly) {
  local_receiver receiver;
  webhook_client client;
  // Longer than 1 KiB, where libcurl would otherwise ask for `100 Continue`,
  // and with bytes outside ASCII: the signature covers the exact bytes.
  std::string body = R"({"id":"01J","data":{"subject":"kundin-ä-€","pad":")" +
                     std::string(3000, 'x') + R"("}})";
  const auto secret = um::model::new_webhook_secret();
  const auto signed_headers = um::model::sign_webhook(secret, "01J", 1700000000, body);
  webhook_request request{receiver.url("/hooks/usage?tenant=a%20b"),
                          {{"webhook-id", signed_headers.id},
                           {"webhook-timestamp", signed_headers.timestamp},
                           {"webhook-signature", signed_headers.signature},
                           {"X-Tenant", "acme corp"},
                           {"X-Empty", ""}},
                          body};

  const auto response = client.post(request, test_limits());

  ASSERT_TRUE(response.sent) << response.error;
  const auto requests = receiver.requests();
  ASSERT_EQ(requests.size(), 1u);
  const auto& got = requests[0];
  EXPECT_EQ(got.method, "POST");
  EXPECT_EQ(got.target, "/hooks/usage?tenant=a%20b");
  EXPECT_EQ(got.body, body);
  EXPECT_EQ(header_values(got.headers, "Content-Type"),
            std::vector<std::string>{"application/json"});
  EXPECT_EQ(header_values(got.headers, "Content-Length"),
            std::vector<std::string>{std::to_string(body.size())});
  EXPECT_TRUE(header_values(got.headers, "Expect").empty());
  for (const auto& [name, value] : request.headers)
    EXPECT_EQ(header_values(got.headers, name), std::vector<std::string>{value}) << name;
  EXPECT_TRUE(um::model::verify_webhook_signature(
      secret, header_values(got.headers, "webhook-id").at(0),
      std::stoll(header_values(got.headers, "webhook-timestamp").at(0)), got.body,
      header_values(got.headers, "webhook-signature").at(0)));
}

TEST(webhook_client, a_2xx_answer_is_a_delivery) {
  local_receiver receiver;
  webhook_client client;
  receiver.script({200, "", "thanks"});
  auto response = client.post(simple_request(receiver.url()), test_limits());
  EXPECT_TRUE(response.sent);
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.error, "");
  EXPECT_EQ(response.body, "thanks");

  receiver.script({204, "", ""});
  response = client.post(simple_request(receiver.url()), test_limits());
  EXPECT_TRUE(response.sent);
  EXPECT_EQ(response.status, 204);
}

TEST(webhook_client, a_500_answer_is_a_failed_attempt) {
  local_receiver receiver;
  webhook_client client;
  receiver.script({500, "", "busy"});
  const auto response = client.post(simple_request(receiver.url()), test_limits());
  EXPECT_FALSE(response.sent);
  EXPECT_EQ(response.status, 500);
  EXPECT_EQ(response.error, "HTTP 500");
  EXPECT_EQ(response.body, "busy");
}

TEST(webhook_client, does_not_follow_a_redirect) {
  local_receiver receiver;
  webhook_client client;
  receiver.script({302, "Location: " + receiver.url("/elsewhere") + "\r\n", ""});
  const auto response = client.post(simple_request(receiver.url()), test_limits());
  EXPECT_FALSE(response.sent);
  EXPECT_EQ(response.status, 302);
  EXPECT_EQ(response.error, "HTTP 302");
  const auto requests = receiver.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].target, "/hook");
}

TEST(webhook_client, keeps_its_connection_alive_between_deliveries) {
  local_receiver receiver;
  webhook_client client;
  receiver.script({500, "", ""});
  for (int i = 0; i < 3; ++i)
    client.post(simple_request(receiver.url()), test_limits());
  const auto requests = receiver.requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(receiver.connections(), 1);
  EXPECT_EQ(requests[2].connection, 1);
}

TEST(webhook_client, gives_up_on_a_receiver_that_never_answers) {
  local_receiver receiver;
  webhook_client client;
  receiver.script({200, "", "", true});
  auto limits = test_limits();
  limits.total_timeout = 300ms;
  auto response = client.post(simple_request(receiver.url()), limits);
  EXPECT_FALSE(response.sent);
  EXPECT_EQ(response.status, 0);
  EXPECT_NE(response.error, "");
  EXPECT_EQ(receiver.requests().size(), 1u);

  // The hung connection is dropped; the next delivery opens a new one.
  response = client.post(simple_request(receiver.url()), test_limits());
  EXPECT_TRUE(response.sent) << response.error;
  EXPECT_EQ(receiver.connections(), 2);
}

TEST(webhook_client, reports_a_refused_connection) {
  // A port that was just free: nothing listens on it.
  int port = 0;
  {
    local_receiver gone;
    port = gone.port();
  }
  webhook_client client;
  const auto response =
      client.post(simple_request("http://127.0.0.1:" + std::to_string(port) + "/hook"),
                  test_limits());
  EXPECT_FALSE(response.sent);
  EXPECT_EQ(response.status, 0);
  EXPECT_NE(response.error, "");
}

TEST(webhook_client, blocks_private_targets_before_connecting) {
  local_receiver receiver;
  webhook_client client;
  auto limits = test_limits();
  limits.block_private_targets = true;

  auto response = client.post(simple_request(receiver.url()), limits);
  EXPECT_FALSE(response.sent);
  EXPECT_EQ(response.status, 0);
  EXPECT_EQ(response.error, "blocked: private address 127.0.0.1");

  // A name that resolves to loopback (::1, 127.0.0.1 or both) too.
  response = client.post(
      simple_request("http://localhost:" + std::to_string(receiver.port()) + "/hook"),
      limits);
  EXPECT_FALSE(response.sent);
  EXPECT_EQ(response.error.rfind("blocked: private address ", 0), 0u) << response.error;

  // Give a connection that was wrongly opened time to show up.
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(receiver.connections(), 0);
  EXPECT_TRUE(receiver.requests().empty());

  limits.block_private_targets = false;
  response = client.post(simple_request(receiver.url()), limits);
  EXPECT_TRUE(response.sent) << response.error;
}

TEST(webhook_client, blocks_private_targets_on_a_kept_connection) {
  local_receiver receiver;
  webhook_client client;
  auto limits = test_limits();
  ASSERT_TRUE(client.post(simple_request(receiver.url()), limits).sent);

  // The connection from the first delivery is still open in the client's cache.
  limits.block_private_targets = true;
  const auto response = client.post(simple_request(receiver.url()), limits);
  EXPECT_FALSE(response.sent);
  EXPECT_EQ(response.error, "blocked: private address 127.0.0.1");
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(receiver.requests().size(), 1u);
}

TEST(webhook_client, refuses_schemes_other_than_http) {
  local_receiver receiver;
  webhook_client client;
  for (const std::string& url :
       {"ftp://127.0.0.1:" + std::to_string(receiver.port()) + "/hook",
        std::string("file:///etc/hostname"),
        "gopher://127.0.0.1:" + std::to_string(receiver.port()) + "/"}) {
    const auto response = client.post(simple_request(url), test_limits());
    EXPECT_FALSE(response.sent) << url;
    EXPECT_EQ(response.status, 0) << url;
    EXPECT_NE(response.error, "") << url;
    EXPECT_EQ(response.body, "") << url;
  }
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(receiver.connections(), 0);
}

TEST(webhook_client, keeps_only_the_first_bytes_of_a_long_answer) {
  local_receiver receiver;
  webhook_client client;
  receiver.script({200, "", std::string(200 * 1024, 'a')});
  auto limits = test_limits();
  limits.max_response_bytes = 1000;
  auto response = client.post(simple_request(receiver.url()), limits);
  EXPECT_TRUE(response.sent) << response.error;
  EXPECT_EQ(response.body, std::string(1000, 'a'));

  // The rest was read, not refused: the connection is still usable.
  response = client.post(simple_request(receiver.url()), limits);
  EXPECT_TRUE(response.sent) << response.error;
  EXPECT_EQ(receiver.connections(), 1);
}

TEST(webhook_client, refuses_a_header_that_would_inject_others) {
  local_receiver receiver;
  webhook_client client;
  auto request = simple_request(receiver.url());
  request.headers.emplace_back("X-Tenant", "a\r\nX-Injected: 1");
  auto response = client.post(request, test_limits());
  EXPECT_FALSE(response.sent);
  EXPECT_EQ(response.error, "invalid header: the value of X-Tenant holds CR, LF or NUL");

  request.headers.back() = {"X-Bad Name", "1"};
  response = client.post(request, test_limits());
  EXPECT_FALSE(response.sent);
  EXPECT_NE(response.error, "");
  EXPECT_TRUE(receiver.requests().empty());
}

TEST(is_private_address, ipv4) {
  for (const char* ip : {"127.0.0.1", "127.255.255.254", "10.0.0.1", "10.255.255.255",
                         "172.16.0.1", "172.31.255.255", "192.168.0.1", "192.168.255.255",
                         "169.254.169.254", "169.254.0.1", "0.0.0.0", "0.1.2.3",
                         "100.64.0.1", "100.100.100.200", "100.127.255.255"})
    EXPECT_TRUE(is_private_address(ip)) << ip;
  for (const char* ip :
       {"8.8.8.8", "1.1.1.1", "9.255.255.255", "11.0.0.0", "172.15.255.255", "172.32.0.0",
        "192.167.255.255", "192.169.0.0", "169.253.255.255", "169.255.0.0",
        "100.63.255.255", "100.128.0.0", "128.0.0.1", "93.184.216.34"})
    EXPECT_FALSE(is_private_address(ip)) << ip;
}

TEST(is_private_address, ipv6) {
  for (const char* ip : {"::1", "::", "fe80::1", "fe80::1234:5678", "febf:ffff::1",
                         "fc00::1", "fd12:3456:789a::1", "fdff:ffff::", "fec0::1",
                         "::ffff:127.0.0.1", "::ffff:10.1.2.3", "::ffff:192.168.1.1",
                         "::ffff:169.254.169.254", "::ffff:0.0.0.0", "::ffff:7f00:1",
                         "::127.0.0.1", "::10.0.0.1", "0:0:0:0:0:0:0:1"})
    EXPECT_TRUE(is_private_address(ip)) << ip;
  for (const char* ip :
       {"2001:4860:4860::8888", "2606:4700:4700::1111", "::ffff:8.8.8.8", "fe00::1",
        "fbff::1", "ff02::1", "2001:db8::1", "64:ff9b::808:808", "::1:0:0:1"})
    EXPECT_FALSE(is_private_address(ip)) << ip;
}

TEST(is_private_address, text_that_is_not_an_address_counts_as_private) {
  for (const char* text :
       {"", "localhost", "example.com", "127.0.0.1.5", "256.0.0.1", "127.1", "0x7f000001",
        " 8.8.8.8", "8.8.8.8 ", "fe80::1%eth0", "[::1]", "2001:db8::1::1"})
    EXPECT_TRUE(is_private_address(text)) << text;
}

} // namespace
