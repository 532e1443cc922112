#include "clock.h"

#include <algorithm>
#include <thread>

namespace fetch {

bool SystemClock::sleep_for(Seconds d, const StopToken& stop) {
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::duration_cast<std::chrono::steady_clock::duration>(d);
  constexpr auto kSlice = std::chrono::milliseconds(50);
  while (!stop.stop_requested()) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return true;
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(deadline - now, kSlice));
  }
  return false;
}

SystemClock& SystemClock::instance() {
  static SystemClock clock;
  return clock;
}

}  // namespace fetch
