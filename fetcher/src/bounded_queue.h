// A small blocking FIFO with a capacity, so fast pagers wait for the
// database writer instead of piling pages up in memory.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>

#include "clock.h"

namespace fetch {

template <typename T>
class BoundedQueue {
 public:
  explicit BoundedQueue(size_t capacity) : capacity_(capacity ? capacity : 1) {}

  // Waits for room; returns false if `stop` is requested first (unless
  // `force`, used for end-of-type messages that must always arrive).
  bool push(T item, const StopToken& stop, bool force = false) {
    std::unique_lock<std::mutex> lock(mu_);
    while (!force && items_.size() >= capacity_) {
      if (stop.stop_requested()) return false;
      not_full_.wait_for(lock, std::chrono::milliseconds(50));
    }
    items_.push_back(std::move(item));
    not_empty_.notify_one();
    return true;
  }

  // Waits up to `timeout` for an item.
  std::optional<T> pop(std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    if (!not_empty_.wait_for(lock, timeout, [&] { return !items_.empty(); })) return std::nullopt;
    T item = std::move(items_.front());
    items_.pop_front();
    not_full_.notify_one();
    return item;
  }

  std::optional<T> try_pop() { return pop(std::chrono::milliseconds(0)); }

 private:
  const size_t capacity_;
  std::mutex mu_;
  std::condition_variable not_empty_;
  std::condition_variable not_full_;
  std::deque<T> items_;
};

}  // namespace fetch
