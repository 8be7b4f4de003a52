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
    // What the previous shipper took and did not report written goes first.
    if (taken_) {
      queue_.insert(queue_.begin(), std::make_move_iterator(taken_->begin()),
                    std::make_move_iterator(taken_->end()));
      taken_.reset();
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

log_sink::taken log_sink::take() {
  std::lock_guard<std::mutex> guard{mutex_};
  // A shipper that found records comes back for more by itself; one that
  // found none needs a wake-up for the next record.
  if (queue_.empty() || taken_) {
    signalled_ = false;
    return {nullptr, attachment_};
  }
  signalled_ = true;
  taken_ = std::make_shared<std::vector<model::log_record>>(std::move(queue_));
  queue_ = {};
  return {taken_, attachment_};
}

void log_sink::written(std::uint64_t attachment) {
  std::lock_guard<std::mutex> guard{mutex_};
  if (attachment != attachment_ || !taken_)
    return;
  in_flight_.fetch_sub(taken_->size(), std::memory_order_relaxed);
  taken_.reset();
}

void log_sink::log(model::log_level level, std::string message,
                   std::vector<std::pair<std::string, model::log_value>> fields) {
  if (!enabled(level))
    return;
  emit(model::log_record{level, model::now_millis(), std::move(message),
                         std::move(fields)});
}

} // namespace um
