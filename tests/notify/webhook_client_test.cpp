// The webhook client against a real receiver: a small HTTP/1.1 server on a
// loopback socket that answers as each test scripts it and records what came.

#include "notify/webhook_client.hpp"

#include "model/webhook_signature.hpp"

#include "tests/notify/local_receiver.hpp"

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
using namespace um::testing;

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
