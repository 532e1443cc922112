// Time and cancellation. Everything that waits goes through a Clock so the
// retry loop, the throttle gate and the token cache can be driven by a fake
// clock in tests.
#pragma once

#include <atomic>
#include <chrono>

namespace fetch {

using SteadyTime = std::chrono::steady_clock::time_point;
using WallTime = std::chrono::system_clock::time_point;
using Seconds = std::chrono::duration<double>;

// A stop request that can be chained: a tenant run's token stops when the
// run decides to stop (fatal error) or when its parent (the process, on
// SIGINT/SIGTERM) stops.
class StopToken {
 public:
  explicit StopToken(const StopToken* parent = nullptr) : parent_(parent) {}
  StopToken(const StopToken&) = delete;
  StopToken& operator=(const StopToken&) = delete;

  void request_stop() { flag_.store(true, std::memory_order_release); }
  bool stop_requested() const {
    return flag_.load(std::memory_order_acquire) || (parent_ && parent_->stop_requested());
  }

 private:
  std::atomic<bool> flag_{false};
  const StopToken* parent_;
};

class Clock {
 public:
  virtual ~Clock() = default;
  virtual SteadyTime now() const = 0;
  virtual WallTime wall_now() const = 0;
  // Sleeps for `d` or until `stop` is requested. Returns false when stopped.
  virtual bool sleep_for(Seconds d, const StopToken& stop) = 0;
};

// Real time; sleeps in short slices so a stop request is seen within 50 ms.
class SystemClock final : public Clock {
 public:
  SteadyTime now() const override { return std::chrono::steady_clock::now(); }
  WallTime wall_now() const override { return std::chrono::system_clock::now(); }
  bool sleep_for(Seconds d, const StopToken& stop) override;
  static SystemClock& instance();
};

inline double seconds_between(SteadyTime from, SteadyTime to) {
  return std::chrono::duration<double>(to - from).count();
}

// `s` is clamped to +-10^9 s (about 31 years) so a huge value cannot
// overflow the clock's nanosecond count.
inline SteadyTime add_seconds(SteadyTime t, double s) {
  constexpr double kLimit = 1e9;
  s = s > kLimit ? kLimit : (s < -kLimit ? -kLimit : s);
  return t + std::chrono::duration_cast<std::chrono::steady_clock::duration>(Seconds(s));
}

}  // namespace fetch
