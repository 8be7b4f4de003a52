#pragma once

// What the actor tests share: a service context, a temp data dir, a store
// wrapper that counts and can hold back writes, and an actor system on CAF's
// deterministic test coordinator.

#include "actors/actors.hpp"
#include "storage/forwarding_store.hpp"

#include <caf/scheduler/test_coordinator.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <mutex>

namespace um::testing {

using model::millis;

constexpr millis minute = 60'000;
constexpr millis hour = 3'600'000;
constexpr millis day = 86'400'000;
constexpr millis base_day = 1'705'276'800'000; // 2024-01-15T00:00:00.000Z

inline model::event make_event(std::string id, std::string subject, std::string type,
                               millis time) {
  model::event e;
  e.id = std::move(id);
  e.source = std::string{model::v1_source};
  e.subject = std::move(subject);
  e.type = std::move(type);
  e.time = time;
  e.data = "{}";
  e.ingested_at = time;
  return e;
}

/// A context as `main` builds one; logs go nowhere unless a shipper is attached.
inline context_ptr make_context(model::service_config config = {}) {
  auto ctx = std::make_shared<service_context>();
  ctx->config = std::move(config);
  ctx->started_at = base_day;
  ctx->logs = std::make_shared<log_sink>(model::log_level::info);
  ctx->directory = std::make_shared<actor_directory>();
  ctx->counters = std::make_shared<service_counters>();
  return ctx;
}

/// A temp data dir, removed when the test ends.
class temp_dir {
public:
  temp_dir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "um-actors-test-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr)
      throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  storage::store_options options() const {
    storage::store_options o;
    o.data_dir = path_.string();
    o.synchronous_full = false;
    return o;
  }

private:
  std::filesystem::path path_;
};

/// Shared between a test and the stores its factory opens (possibly on
/// another thread): counts calls and can hold appends back.
struct store_probe {
  std::atomic<int> opens{0};
  std::atomic<int> appends{0};
  std::atomic<int> appended_events{0};
  std::atomic<std::size_t> largest_batch{0};
  std::atomic<bool> fail_open{false};
  std::atomic<bool> fail_appends{false};

  void close_gate() {
    std::lock_guard<std::mutex> guard{mutex};
    gate_open = false;
  }
  void open_gate() {
    {
      std::lock_guard<std::mutex> guard{mutex};
      gate_open = true;
    }
    cv.notify_all();
  }
  /// Waits while the gate is closed, for at most ten seconds.
  void pass_gate() {
    std::unique_lock<std::mutex> lock{mutex};
    cv.wait_for(lock, std::chrono::seconds{10}, [this] { return gate_open; });
  }

  std::mutex mutex;
  std::condition_variable cv;
  bool gate_open = true;
};

/// A real store whose appends are counted and honour the probe; every other
/// call passes through untouched (`forwarding_store`).
class probed_store final : public storage::forwarding_store {
public:
  probed_store(std::unique_ptr<storage::event_store> inner,
               std::shared_ptr<store_probe> probe)
      : forwarding_store(std::move(inner)), probe_(std::move(probe)) {}

  model::append_outcomes append(const std::vector<model::event>& batch) override {
    probe_->pass_gate();
    ++probe_->appends;
    if (probe_->fail_appends)
      throw storage::storage_error(storage::failure_kind::unavailable,
                                   "injected: disk busy");
    auto out = inner().append(batch);
    auto largest = probe_->largest_batch.load();
    while (batch.size() > largest &&
           !probe_->largest_batch.compare_exchange_weak(largest, batch.size())) {
    }
    probe_->appended_events += static_cast<int>(batch.size());
    return out;
  }

private:
  std::shared_ptr<store_probe> probe_;
};

inline store_factory probed_factory(storage::store_options options,
                                    std::shared_ptr<store_probe> probe) {
  return
      [options, probe](const std::string& ns) -> std::unique_ptr<storage::event_store> {
        ++probe->opens;
        if (probe->fail_open)
          throw storage::storage_error(storage::failure_kind::unavailable,
                                       "injected: cannot open");
        return std::make_unique<probed_store>(
            storage::open_event_store(storage::namespace_options(options, ns)), probe);
      };
}

/// An actor system on the deterministic test coordinator: send a request,
/// run the scheduler, then receive.
class deterministic_actors : public ::testing::Test {
protected:
  static caf::actor_system_config& testing_config(caf::actor_system_config& cfg) {
    cfg.set("scheduler.policy", caf::atom("testing"));
    cfg.set("logger.file-verbosity", caf::atom("quiet"));
    cfg.set("logger.console-verbosity", caf::atom("quiet"));
    return cfg;
  }

  deterministic_actors()
      : sys(testing_config(cfg)), self(sys, true),
        sched(dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler())) {}

  ~deterministic_actors() override {
    // Actors hold the context and the context's directory holds actors: break
    // the cycle, or the system waits for them forever.
    ctx->directory->set(ingest_actor{});
    ctx->directory->set(aggregation_actor{});
    ctx->directory->set(health_actor{});
    ctx->directory->set(log_shipper_actor{});
    ctx->logs->attach(log_shipper_actor{});
    // Pending request timeouts hold their actors too.
    do
      sched.run();
    while (sched.trigger_timeout());
  }

  /// Receives the one answer `handle` waits for, failing the test on an error.
  template <class T, class Handle>
  T answer(Handle&& handle) {
    sched.run();
    T result{};
    std::forward<Handle>(handle).receive(
        [&](T& x) { result = std::move(x); },
        [&](caf::error& err) { ADD_FAILURE() << "error: " << sys.render(err); });
    return result;
  }

  /// Receives the error `handle` must end with instead of a `T`.
  template <class T, class Handle>
  caf::error failure(Handle&& handle) {
    sched.run();
    caf::error result;
    std::forward<Handle>(handle).receive(
        [&](T&) { ADD_FAILURE() << "expected an error, got an answer"; },
        [&](caf::error& err) { result = std::move(err); });
    return result;
  }

  caf::actor_system_config cfg;
  caf::actor_system sys;
  caf::scoped_actor self;
  caf::scheduler::test_coordinator& sched;
  // After the system, so that the handles it holds go first.
  context_ptr ctx = make_context();
  temp_dir dir;
  std::shared_ptr<store_probe> probe = std::make_shared<store_probe>();
};

} // namespace um::testing
