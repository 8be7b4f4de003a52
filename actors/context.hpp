#pragma once

#include "actors/interfaces.hpp"
#include "model/config.hpp"
#include "model/log_record.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace um {

/// A batch of records the shipper writes. The sink keeps it too until the
/// shipper reports it written, so that a shipper that dies with it does not
/// lose it.
using log_batch = std::shared_ptr<const std::vector<model::log_record>>;

/// Never-blocking front of the log-shipper, safe to call from any thread
/// (RESTinio's I/O threads, actors). Records wait here, in arrival order,
/// until the shipper has written them; a message wakes the shipper only when
/// the queue was empty, so a busy service sends one message per batch, not
/// per line. Records beyond `capacity` in flight are dropped and counted,
/// never queued without bound. Records queued while no shipper is attached
/// (one crashed and the next is starting), and the batch a crashed shipper
/// had taken and not written, wait for the next one.
class log_sink {
public:
  /// Records below `threshold` are discarded at once.
  explicit log_sink(model::log_level threshold, std::size_t capacity = 65536);

  /// Routes records to `shipper` from now on (the supervisor calls this,
  /// once the previous shipper is gone). The batch the previous shipper had
  /// taken and not reported written goes first to the new one: a line it
  /// wrote just before it died may be written twice, none is lost.
  void attach(log_shipper_actor shipper);

  /// Whether a record of `level` would be written.
  bool enabled(model::log_level level) const { return level >= threshold_; }

  /// Queues `record` for the shipper, or drops and counts it.
  void emit(model::log_record record);

  /// Convenience for a record made here and now.
  void log(model::log_level level, std::string message,
           std::vector<std::pair<std::string, model::log_value>> fields = {});

  /// What `take` hands the shipper: the records and the attachment they
  /// were taken under.
  struct taken {
    log_batch records; ///< Null when nothing was queued.
    std::uint64_t attachment = 0;
  };

  /// Takes every queued record as one batch for the shipper to write. When
  /// it took records the shipper must call again (it lingers a moment to
  /// gather more); when it took none, the next `emit` wakes the shipper.
  taken take();

  /// The shipper reports that it has written the batch it took under
  /// `attachment`; reports from a replaced shipper are ignored.
  void written(std::uint64_t attachment);

  /// How many records were dropped since start.
  std::uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }

private:
  model::log_level threshold_;
  std::size_t capacity_;
  std::atomic<std::size_t> in_flight_{0};
  std::atomic<std::uint64_t> dropped_{0};
  mutable std::mutex mutex_;
  log_shipper_actor shipper_;
  std::vector<model::log_record> queue_;
  /// Taken by the shipper, not yet reported written.
  std::shared_ptr<std::vector<model::log_record>> taken_;
  std::uint64_t attachment_ = 0; ///< Counts attach() calls.
  bool signalled_ = false;       ///< A wake-up is on its way to the shipper.
};

/// The current handle of each long-lived actor. The supervisor replaces an
/// entry when it restarts a part; readers copy a handle and use it.
class actor_directory {
public:
  ingest_actor ingest() const { return get(ingest_); }
  aggregation_actor aggregation() const { return get(aggregation_); }
  health_actor health() const { return get(health_); }
  log_shipper_actor log_shipper() const { return get(log_shipper_); }
  notifier_actor notifier() const { return get(notifier_); }

  void set(ingest_actor h) { put(ingest_, std::move(h)); }
  void set(aggregation_actor h) { put(aggregation_, std::move(h)); }
  void set(health_actor h) { put(health_, std::move(h)); }
  void set(log_shipper_actor h) { put(log_shipper_, std::move(h)); }
  void set(notifier_actor h) { put(notifier_, std::move(h)); }

  /// Forgets every handle (at shutdown, so that the actors can be destroyed).
  void clear() {
    std::lock_guard<std::mutex> guard{mutex_};
    ingest_ = nullptr;
    aggregation_ = nullptr;
    health_ = nullptr;
    log_shipper_ = nullptr;
    notifier_ = nullptr;
  }

private:
  template <class T>
  T get(const T& slot) const {
    std::lock_guard<std::mutex> guard{mutex_};
    return slot;
  }
  template <class T>
  void put(T& slot, T value) {
    std::lock_guard<std::mutex> guard{mutex_};
    slot = std::move(value);
  }

  mutable std::mutex mutex_;
  ingest_actor ingest_;
  aggregation_actor aggregation_;
  health_actor health_;
  log_shipper_actor log_shipper_;
  notifier_actor notifier_;
};

/// The health actor's latest report, which it publishes on every change, for
/// the HTTP layer to answer `/health` on its I/O thread without queueing
/// behind the actor system (and through a restart of the health actor).
class health_board {
public:
  /// Publishes `report` as the current one.
  void publish(model::health_report report) {
    std::atomic_store(&report_,
                      std::make_shared<const model::health_report>(std::move(report)));
  }

  /// The last report published (null before the first). Every `GET /health`
  /// reads it: an atomic load, no mutex for the I/O threads to contend on.
  std::shared_ptr<const model::health_report> latest() const {
    return std::atomic_load(&report_);
  }

private:
  std::shared_ptr<const model::health_report> report_;
};

/// Counters the service exposes in `/info` and `/metrics`.
struct service_counters {
  std::atomic<std::uint64_t> events_stored{0};
  std::atomic<std::uint64_t> events_deduplicated{0};
  std::atomic<std::uint64_t> tracking_dropped{0};
  std::atomic<std::uint64_t> ingest_rejected{0};
  std::atomic<std::int64_t> ingest_queue_depth{0};
  /// Whether some namespace has an enabled alert rule: only then does ingest
  /// tell the notifier what each commit stored.
  std::atomic<bool> alert_rules_active{false};
  std::atomic<std::uint64_t> notifications_created{0};   ///< Alert events made.
  std::atomic<std::uint64_t> notification_deliveries{0}; ///< Attempts answered 2xx.
  std::atomic<std::uint64_t> notification_failures{0};   ///< Attempts that failed.
  std::atomic<std::uint64_t> notifications_given_up{0};  ///< Deliveries FAILED for good.
  std::atomic<std::uint64_t> notification_channels_disabled{0};
  /// Alert events with a delivery still to make (pending or being sent).
  std::atomic<std::int64_t> notification_queue_depth{0};
};

/// What every part is spawned with: the validated configuration and the
/// shared, thread-safe services.
struct service_context {
  model::service_config config;
  model::millis started_at = 0;
  std::shared_ptr<log_sink> logs;
  std::shared_ptr<actor_directory> directory;
  std::shared_ptr<service_counters> counters;
  std::shared_ptr<health_board> health_reports = std::make_shared<health_board>();
};

using context_ptr = std::shared_ptr<const service_context>;

} // namespace um
