#pragma once

// A webhook receiver for tests: a small HTTP/1.1 server on a loopback socket
// that answers as each test scripts it and records what came.

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

namespace um::testing {

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

inline std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return char(std::tolower(c)); });
  return text;
}

/// The values of every header named `name` (case-insensitively).
inline std::vector<std::string> header_values(const header_pairs& headers,
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

} // namespace um::testing
