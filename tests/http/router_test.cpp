// A route added in a test, served by the real server on a loopback port:
// its registration (and its GET's HEAD twin), its CORS preflight, its error
// style (on answers and on the request gate's refusals) and its
// self-tracking all come from its row, even where its path's prefix says
// otherwise (a v1-style route under /api/v1, a problem-style one outside it).

#include "actors/actors.hpp"
#include "actors/fault_injection.hpp"
#include "http/handlers.hpp"
#include "http/server.hpp"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <mutex>
#include <thread>

namespace {

using namespace um;
using namespace um::http;

// Records the paths of the self-tracking events it is sent; answers the rest
// of ingest's interface with nothing.
struct tracked_paths {
  std::mutex mutex;
  std::vector<std::string> paths;

  std::vector<std::string> get() {
    std::lock_guard<std::mutex> guard{mutex};
    return paths;
  }
};

ingest_actor::behavior_type recording_ingest(std::shared_ptr<tracked_paths> seen) {
  return with_fault_injection<ingest_actor::behavior_type>(
      [](ingest_atom, model::trace_ref&, std::vector<model::event>&) {
        return model::append_outcomes{};
      },
      [seen](track_atom, model::trace_ref&, model::event& e) {
        auto data = nlohmann::json::parse(e.data);
        std::lock_guard<std::mutex> guard{seen->mutex};
        seen->paths.push_back(data["method"].get<std::string>() + " " +
                              data["path"].get<std::string>());
      },
      [](drain_atom) { return true; }, [](ping_atom) { return true; },
      [](ready_atom, model::trace_ref&) { return true; }, [](tick_atom) {},
      [](meter_add_atom, model::trace_ref&, model::meter& m) { return m; },
      [](meter_set_atom, model::trace_ref&, model::meter& m) { return m; },
      [](meter_set_atom, model::trace_ref&, std::string&, model::meter_update&) {
        return model::meter{};
      },
      [](meter_del_atom, model::trace_ref&, std::string&) { return false; },
      [](backfill_atom, model::trace_ref&, std::string&) {});
}

void widget(const exchange_ptr& ex, backend&) {
  auto id = ex->path_param("id");
  if (id)
    ex->respond(200, nlohmann::ordered_json{{"widget", *id}});
}

route_table test_routes() {
  return route_table{{
                         {"PATCH", "/api/v1/widgets/:id", access::open, error_style::v1,
                          tracking::untracked, on_timeout::failed, widget},
                         {"GET", "/plain/:id", access::api_key, error_style::problem,
                          tracking::tracked, on_timeout::failed, widget},
                     },
                     {{"/api/v1", error_style::problem}}};
}

struct raw_answer {
  int status = 0;
  std::string head;
  std::string body;

  std::string header(const std::string& name) const {
    auto at = head.find("\r\n" + name + ": ");
    if (at == std::string::npos)
      return {};
    at += name.size() + 4;
    return head.substr(at, head.find("\r\n", at) - at);
  }
};

// One request on its own connection, read until the server closes it.
raw_answer send_raw(std::uint16_t port, const std::string& request) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  ::inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
  raw_answer out;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd);
    ADD_FAILURE() << "cannot connect";
    return out;
  }
  timeval limit{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
  ::send(fd, request.data(), request.size(), 0);
  std::string text;
  char buffer[4096];
  for (ssize_t n; (n = ::recv(fd, buffer, sizeof buffer, 0)) > 0;)
    text.append(buffer, static_cast<std::size_t>(n));
  ::close(fd);
  auto split = text.find("\r\n\r\n");
  if (text.size() < 12 || split == std::string::npos) {
    ADD_FAILURE() << "no answer: " << text;
    return out;
  }
  out.status = std::stoi(text.substr(9, 3));
  out.head = text.substr(0, split + 2);
  out.body = text.substr(split + 4);
  return out;
}

class router_test : public ::testing::Test {
protected:
  static caf::actor_system_config& quiet(caf::actor_system_config& cfg) {
    cfg.set("scheduler.max-threads", 2);
    cfg.set("logger.file-verbosity", caf::atom("quiet"));
    cfg.set("logger.console-verbosity", caf::atom("quiet"));
    return cfg;
  }

  router_test() {
    auto c = std::make_shared<service_context>();
    c->config.host = "127.0.0.1";
    c->config.port = 0;
    c->config.io_threads = 1;
    c->config.api_keys = {{"default", "test-key"}};
    c->started_at = model::now_millis();
    c->logs = std::make_shared<log_sink>(model::log_level::error);
    c->directory = std::make_shared<actor_directory>();
    c->counters = std::make_shared<service_counters>();
    ingest = sys.spawn(recording_ingest, seen);
    c->directory->set(ingest);
    ctx = c;
    srv = std::make_unique<server>(sys, ctx, routes);
    srv->start();
  }

  ~router_test() override {
    srv->stop_accepting();
    srv->stop();
    srv.reset();
    caf::anon_send_exit(ingest, caf::exit_reason::user_shutdown);
    ctx->directory->clear();
  }

  raw_answer request(const std::string& method, const std::string& target,
                     const std::string& headers = {}) {
    return send_raw(srv->port(), method + " " + target + " HTTP/1.1\r\nHost: t\r\n" +
                                     headers + "Connection: close\r\n\r\n");
  }

  // Self-tracking events arrive after their answers: wait for `count` of them.
  std::vector<std::string> tracked(std::size_t count) {
    for (int i = 0; i < 500 && seen->get().size() < count; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds{10});
    return seen->get();
  }

  caf::actor_system_config cfg;
  caf::actor_system sys{quiet(cfg)};
  std::shared_ptr<tracked_paths> seen = std::make_shared<tracked_paths>();
  ingest_actor ingest;
  context_ptr ctx;
  route_table routes = test_routes();
  std::unique_ptr<server> srv;
};

TEST_F(router_test, a_test_route_is_served_with_the_facts_of_its_row) {
  ASSERT_NE(srv->port(), 0);
  // Registered from its row, open as the row says.
  auto patch = request("PATCH", "/api/v1/widgets/7");
  EXPECT_EQ(patch.status, 200);
  EXPECT_EQ(patch.body, R"({"widget":"7"})");
  // Its GET needs a key, and has a HEAD twin.
  auto get = request("GET", "/plain/x", "x-api-key: test-key\r\n");
  EXPECT_EQ(get.status, 200);
  auto head = request("HEAD", "/plain/x", "x-api-key: test-key\r\n");
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.header("Content-Length"), std::to_string(get.body.size()));
  EXPECT_EQ(head.body, "");
  // Refused without a key, in its row's style although outside /api/v1.
  auto refused = request("GET", "/plain/x");
  EXPECT_EQ(refused.status, 401);
  EXPECT_EQ(refused.header("Content-Type"), "application/problem+json");
  // No route for DELETE on a v1-style path under /api/v1: a v1 404.
  auto unknown = request("DELETE", "/api/v1/widgets/7");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(unknown.header("Content-Type"), "application/json; charset=utf-8");
  EXPECT_NE(unknown.body.find("Route DELETE /api/v1/widgets/7 not found"),
            std::string::npos);
  // With no row at all under /api/v1: the mount's problem style.
  EXPECT_EQ(request("GET", "/api/v1/other").header("Content-Type"),
            "application/problem+json");
}

TEST_F(router_test, the_preflight_allows_the_methods_of_the_rows) {
  auto preflight = request("OPTIONS", "/api/v1/widgets/7");
  EXPECT_EQ(preflight.status, 204);
  EXPECT_EQ(preflight.header("Access-Control-Allow-Methods"), "GET,POST,PATCH,OPTIONS");
  EXPECT_EQ(request("OPTIONS", "/plain/x").header("Access-Control-Allow-Methods"),
            "GET,POST,OPTIONS");
}

TEST_F(router_test, the_gate_refuses_a_body_in_the_style_of_the_paths_row) {
  // POST has no row on /plain/x: refused (404) before its body is read, in
  // the style of the path's row.
  auto refused = send_raw(srv->port(), "POST /plain/x HTTP/1.1\r\nHost: t\r\n"
                                       "Content-Length: 5\r\n\r\nhello");
  EXPECT_EQ(refused.status, 404);
  EXPECT_EQ(refused.header("Content-Type"), "application/problem+json");
  EXPECT_EQ(refused.header("Connection"), "close");
}

TEST_F(router_test, self_tracking_follows_the_row) {
  request("PATCH", "/api/v1/widgets/1");                  // untracked row
  request("HEAD", "/plain/x", "x-api-key: test-key\r\n"); // a HEAD twin: tracked
  request("GET", "/plain/x", "x-api-key: test-key\r\n");  // tracked row
  request("GET", "/nothing");                             // no row: tracked
  auto paths = tracked(3);
  std::sort(paths.begin(), paths.end());
  EXPECT_EQ(paths,
            (std::vector<std::string>{"GET /nothing", "GET /plain/x", "HEAD /plain/x"}));
}

} // namespace
