// A small blocking FIFO bounded in items and in bytes, so fast pagers wait
// for the database writer instead of piling pages up in memory.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <utility>

#include "clock.h"

namespace fetch {

template <typename T>
class BoundedQueue {
 public:
  // At most `capacity` items and `capacity_bytes` bytes (as told by push)
  // are queued; an item larger than the byte cap still goes in alone, when
  // the queue is empty.
  explicit BoundedQueue(size_t capacity, size_t capacity_bytes = SIZE_MAX)
      : capacity_(capacity ? capacity : 1), capacity_bytes_(capacity_bytes) {}

  // Waits for room; returns false if `stop` is requested first (unless
  // `force`, used for end-of-type messages that must always arrive).
  bool push(T item, const StopToken& stop, bool force = false, size_t bytes = 0) {
    std::unique_lock<std::mutex> lock(mu_);
    while (!force && !items_.empty() &&
           (items_.size() >= capacity_ || bytes_ + bytes > capacity_bytes_)) {
      if (stop.stop_requested()) return false;
      not_full_.wait_for(lock, std::chrono::milliseconds(50));
    }
    bytes_ += bytes;
    peak_bytes_ = std::max(peak_bytes_, bytes_);
    items_.emplace_back(std::move(item), bytes);
    not_empty_.notify_one();
    return true;
  }

  // Waits up to `timeout` for an item.
  std::optional<T> pop(std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    if (!not_empty_.wait_for(lock, timeout, [&] { return !items_.empty(); })) return std::nullopt;
    T item = std::move(items_.front().first);
    bytes_ -= items_.front().second;
    items_.pop_front();
    not_full_.notify_all();
    return item;
  }

  std::optional<T> try_pop() { return pop(std::chrono::milliseconds(0)); }

  // Most bytes queued at once so far.
  size_t peak_bytes() const {
    std::lock_guard<std::mutex> lock(mu_);
    return peak_bytes_;
  }

 private:
  const size_t capacity_;
  const size_t capacity_bytes_;
  mutable std::mutex mu_;
  std::condition_variable not_empty_;
  std::condition_variable not_full_;
  std::deque<std::pair<T, size_t>> items_;
  size_t bytes_ = 0;
  size_t peak_bytes_ = 0;
};

}  // namespace fetch
