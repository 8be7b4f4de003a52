#include "actors/context.hpp"

#include <algorithm>

namespace um {

log_sink::log_sink(model::log_level threshold, std::size_t capacity)
    : threshold_(threshold), capacity_(capacity) {}

void log_sink::attach(log_shipper_actor shipper) {
  log_shipper_actor wake;
  {
    std::lock_guard<std::mutex> guard{mutex_};
    shipper_ = std::move(shipper);
    ++attachment_;
    // What the previous shipper took and did not write went with it.
    if (taken_ > 0) {
      in_flight_.fetch_sub(taken_, std::memory_order_relaxed);
      dropped_.fetch_add(taken_, std::memory_order_relaxed);
      taken_ = 0;
    }
    signalled_ = shipper_ && !queue_.empty();
    if (signalled_)
      wake = shipper_;
  }
  if (wake)
    caf::anon_send(wake, log_atom_v);
}

void log_sink::emit(model::log_record record) {
  if (!enabled(record.level))
    return;
  if (in_flight_.fetch_add(1, std::memory_order_relaxed) >= capacity_) {
    in_flight_.fetch_sub(1, std::memory_order_relaxed);
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  log_shipper_actor wake;
  {
    std::lock_guard<std::mutex> guard{mutex_};
    queue_.push_back(std::move(record));
    if (!signalled_ && shipper_) {
      signalled_ = true;
      wake = shipper_;
    }
  }
  if (wake)
    caf::anon_send(wake, log_atom_v);
}

std::uint64_t log_sink::take(std::vector<model::log_record>& into) {
  std::lock_guard<std::mutex> guard{mutex_};
  into.swap(queue_);
  taken_ += into.size();
  // A shipper that found records comes back for more by itself; one that
  // found none needs a wake-up for the next record.
  signalled_ = !into.empty();
  return attachment_;
}

void log_sink::written(std::size_t n, std::uint64_t attachment) {
  std::lock_guard<std::mutex> guard{mutex_};
  if (attachment != attachment_)
    return;
  n = std::min(n, taken_);
  taken_ -= n;
  in_flight_.fetch_sub(n, std::memory_order_relaxed);
}

void log_sink::log(model::log_level level, std::string message,
                   std::vector<std::pair<std::string, model::log_value>> fields) {
  if (!enabled(level))
    return;
  emit(model::log_record{level, model::now_millis(), std::move(message),
                         std::move(fields)});
}

} // namespace um
