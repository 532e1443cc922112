// A clock for tests: time moves only when someone sleeps or the test says.
#pragma once

#include <mutex>
#include <vector>

#include "clock.h"

namespace fetch::testing {

class FakeClock final : public Clock {
 public:
  FakeClock()
      : steady_(std::chrono::steady_clock::time_point(std::chrono::hours(1000))),
        wall_(std::chrono::system_clock::from_time_t(1764158400)) {}  // 2025-11-26T12:00:00Z

  SteadyTime now() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return steady_;
  }
  WallTime wall_now() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return wall_;
  }
  bool sleep_for(Seconds d, const StopToken& stop) override {
    if (stop.stop_requested()) return false;
    advance(d.count());
    std::lock_guard<std::mutex> lock(mu_);
    sleeps_.push_back(d.count());
    return true;
  }
  void advance(double s) {
    std::lock_guard<std::mutex> lock(mu_);
    const auto d = std::chrono::duration_cast<std::chrono::steady_clock::duration>(Seconds(s));
    steady_ += d;
    wall_ += std::chrono::duration_cast<std::chrono::system_clock::duration>(d);
  }
  std::vector<double> sleeps() const {
    std::lock_guard<std::mutex> lock(mu_);
    return sleeps_;
  }

 private:
  mutable std::mutex mu_;
  SteadyTime steady_;
  WallTime wall_;
  std::vector<double> sleeps_;
};

}  // namespace fetch::testing
