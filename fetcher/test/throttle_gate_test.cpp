// Concurrency caps and the tenant-wide throttling reaction.
#include "throttle_gate.h"

#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <thread>

#include "fake_clock.h"

using namespace fetch;
using fetch::testing::FakeClock;

TEST(TenantLimiter, ThrottleHalvesOncePerBurstAndPauses) {
  FakeClock clock;
  TenantLimiter l(8);
  const SteadyTime started = clock.now();
  clock.advance(1);
  l.on_throttled(clock.now(), started, 2.0);
  EXPECT_EQ(l.cap, 4);
  EXPECT_TRUE(l.paused(clock.now()));
  // Another 429 from a request that was already in flight: no second halving.
  l.on_throttled(clock.now(), started, 2.0);
  EXPECT_EQ(l.cap, 4);
  clock.advance(2.5);
  EXPECT_FALSE(l.paused(clock.now()));
  // A request sent after the halving is throttled again: halve again.
  const SteadyTime later = clock.now();
  clock.advance(0.1);
  l.on_throttled(clock.now(), later, 1.0);
  EXPECT_EQ(l.cap, 2);
  l.on_throttled(add_seconds(clock.now(), 1), add_seconds(clock.now(), 0.5), 1.0);
  l.on_throttled(add_seconds(clock.now(), 2), add_seconds(clock.now(), 1.5), 1.0);
  EXPECT_EQ(l.cap, 1);  // never below one
}

TEST(TenantLimiter, GrowsBackAfterQuietMinutes) {
  FakeClock clock;
  TenantLimiter l(8);
  l.on_throttled(clock.now(), clock.now(), 1.0);
  l.on_throttled(add_seconds(clock.now(), 1), add_seconds(clock.now(), 1), 1.0);
  EXPECT_EQ(l.cap, 2);
  const SteadyTime t = add_seconds(clock.now(), 1);
  l.regrow(add_seconds(t, 59));
  EXPECT_EQ(l.cap, 2);
  l.regrow(add_seconds(t, 60));
  EXPECT_EQ(l.cap, 4);
  l.regrow(add_seconds(t, 119));
  EXPECT_EQ(l.cap, 4);
  l.regrow(add_seconds(t, 500));
  EXPECT_EQ(l.cap, 8);  // back to the configured cap, not beyond
  EXPECT_FALSE(l.reduced);
}

TEST(ThrottleGate, CapsAreNeverExceededUnderLoad) {
  SystemClock& clock = SystemClock::instance();
  ThrottleGate gate(clock, 5, 2);
  std::atomic<int> global{0}, max_global{0};
  std::map<std::string, std::atomic<int>> per;
  std::map<std::string, std::atomic<int>> max_per;
  const std::vector<std::string> tenants = {"a", "b", "c", "d"};
  for (const auto& t : tenants) {
    per[t] = 0;
    max_per[t] = 0;
  }
  StopToken stop;
  std::vector<std::thread> threads;
  for (int i = 0; i < 24; ++i) {
    threads.emplace_back([&, i] {
      const std::string& t = tenants[i % tenants.size()];
      std::mt19937 rng(static_cast<unsigned>(i));
      for (int k = 0; k < 20; ++k) {
        ASSERT_TRUE(gate.acquire(t, stop, nullptr));
        const int g = ++global;
        const int p = ++per[t];
        int m = max_global.load();
        while (g > m && !max_global.compare_exchange_weak(m, g)) {
        }
        int mp = max_per[t].load();
        while (p > mp && !max_per[t].compare_exchange_weak(mp, p)) {
        }
        std::this_thread::sleep_for(std::chrono::microseconds(200 + rng() % 500));
        --per[t];
        --global;
        gate.release(t);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_LE(max_global.load(), 5);
  EXPECT_EQ(max_global.load(), 5);  // and the cap was actually reached
  for (const auto& t : tenants) {
    EXPECT_LE(max_per[t].load(), 2) << t;
    EXPECT_LE(gate.tenant_max_in_flight(t), 2);
  }
  EXPECT_EQ(gate.stats().global_max_in_flight, 5);
  EXPECT_EQ(gate.stats().global_in_flight, 0);
}

TEST(ThrottleGate, ThrottlePausesTheWholeTenantButNotOthers) {
  SystemClock& clock = SystemClock::instance();
  ThrottleGate gate(clock, 10, 4);
  StopToken stop;
  SteadyTime started;
  ASSERT_TRUE(gate.acquire("t", stop, &started));
  gate.release_throttled("t", started, 0.3);
  EXPECT_EQ(gate.tenant_cap("t"), 2);
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(gate.acquire("other", stop, nullptr));  // other tenants go on
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(100));
  gate.release("other");
  ASSERT_TRUE(gate.acquire("t", stop, nullptr));  // waits for the pause
  EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(290));
  gate.release("t");
}

TEST(ThrottleGate, NoWaiterSlipsOutBetweenA429AndThePause) {
  SystemClock& clock = SystemClock::instance();
  ThrottleGate gate(clock, 1, 1);
  StopToken stop;
  SteadyTime started;
  ASSERT_TRUE(gate.acquire("t", stop, &started));
  std::atomic<bool> got{false};
  std::thread waiter([&] {
    gate.acquire("t", stop, nullptr);
    got = true;
    gate.release("t");
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the waiter is blocked on the cap
  gate.release_throttled("t", started, 0.4);
  std::this_thread::sleep_for(std::chrono::milliseconds(250));
  EXPECT_FALSE(got.load());  // still paused although the slot is free
  waiter.join();
  EXPECT_TRUE(got.load());
}

TEST(ThrottleGate, StopEndsTheWait) {
  SystemClock& clock = SystemClock::instance();
  ThrottleGate gate(clock, 1, 1);
  StopToken stop;
  ASSERT_TRUE(gate.acquire("t", stop, nullptr));
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    stop.request_stop();
  });
  EXPECT_FALSE(gate.acquire("t", stop, nullptr));
  stopper.join();
  gate.release("t");
}
