#include "actors/context.hpp"

namespace um {

log_sink::log_sink(model::log_level threshold, std::size_t capacity)
    : threshold_(threshold), capacity_(capacity) {}

void log_sink::attach(log_shipper_actor shipper) {
  std::lock_guard<std::mutex> guard{mutex_};
  shipper_ = std::move(shipper);
  // Records still in flight went to the shipper being replaced (a crashed one
  // takes its mailbox with it): they are lost, so they count as dropped.
  dropped_.fetch_add(in_flight_.exchange(0, std::memory_order_relaxed),
                     std::memory_order_relaxed);
}

void log_sink::emit(model::log_record record) {
  if (!enabled(record.level))
    return;
  if (in_flight_.fetch_add(1, std::memory_order_relaxed) >= capacity_) {
    in_flight_.fetch_sub(1, std::memory_order_relaxed);
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  log_shipper_actor shipper;
  {
    std::lock_guard<std::mutex> guard{mutex_};
    shipper = shipper_;
  }
  if (!shipper) {
    in_flight_.fetch_sub(1, std::memory_order_relaxed);
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  caf::anon_send(shipper, log_atom_v, std::move(record));
}

void log_sink::log(model::log_level level, std::string message,
                   std::vector<std::pair<std::string, model::log_value>> fields) {
  if (!enabled(level))
    return;
  emit(model::log_record{level, model::now_millis(), std::move(message),
                         std::move(fields)});
}

} // namespace um
