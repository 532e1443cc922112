// Token cache: refresh ahead of expiry, one refresh in flight, 401 handling.
#include "token_cache.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "fake_clock.h"

using namespace fetch;
using fetch::testing::FakeClock;

namespace {

TokenFetcher counting_fetcher(FakeClock& clock, std::atomic<int>& calls, double lifetime = 3599) {
  return [&clock, &calls, lifetime](const StopToken&, AccessToken& out) {
    const int n = ++calls;
    out.value = "token-" + std::to_string(n);
    out.lifetime_s = lifetime;
    out.expires_at = add_seconds(clock.now(), lifetime);
    TokenResult r;
    r.ok = true;
    r.token = out.value;
    return r;
  };
}

}  // namespace

TEST(TokenTiming, RefreshFiveMinutesBeforeExpiryOrHalfLifeForShortTokens) {
  EXPECT_DOUBLE_EQ(refresh_margin_s(3599), 300);
  EXPECT_DOUBLE_EQ(refresh_margin_s(120), 60);
  FakeClock clock;
  AccessToken t{"x", add_seconds(clock.now(), 3599), 3599};
  EXPECT_FALSE(token_needs_refresh(t, clock.now()));
  EXPECT_FALSE(token_needs_refresh(t, add_seconds(clock.now(), 3298)));
  EXPECT_TRUE(token_needs_refresh(t, add_seconds(clock.now(), 3300)));
  EXPECT_TRUE(token_usable(t, add_seconds(clock.now(), 3500)));
  EXPECT_FALSE(token_usable(t, add_seconds(clock.now(), 3595)));
}

TEST(TokenCache, CachesUntilTheRefreshWindow) {
  FakeClock clock;
  std::atomic<int> calls{0};
  TokenCache cache(clock, counting_fetcher(clock, calls));
  StopToken stop;
  EXPECT_EQ(cache.get(stop).token, "token-1");
  clock.advance(1000);
  EXPECT_EQ(cache.get(stop).token, "token-1");
  clock.advance(2300);  // 3300 s: inside the 5 minute window
  EXPECT_EQ(cache.get(stop).token, "token-2");
  EXPECT_EQ(calls.load(), 2);
}

TEST(TokenCache, InvalidateAfter401OnlyDropsTheTokenThatFailed) {
  FakeClock clock;
  std::atomic<int> calls{0};
  TokenCache cache(clock, counting_fetcher(clock, calls));
  StopToken stop;
  EXPECT_EQ(cache.get(stop).token, "token-1");
  cache.invalidate("token-1");
  EXPECT_EQ(cache.get(stop).token, "token-2");
  cache.invalidate("token-1");  // a late 401 for the old token: keep token-2
  EXPECT_EQ(cache.get(stop).token, "token-2");
  EXPECT_EQ(calls.load(), 2);
}

TEST(TokenCache, OneRefreshInFlightForManyThreads) {
  FakeClock clock;
  std::atomic<int> calls{0};
  std::atomic<int> concurrent{0}, max_concurrent{0};
  TokenCache cache(clock, [&](const StopToken&, AccessToken& out) {
    const int c = ++concurrent;
    max_concurrent = std::max(max_concurrent.load(), c);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    --concurrent;
    out.value = "t" + std::to_string(++calls);
    out.lifetime_s = 3599;
    out.expires_at = add_seconds(clock.now(), 3599);
    TokenResult r;
    r.ok = true;
    return r;
  });
  StopToken stop;
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      if (cache.get(stop).token == "t1") ++ok;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(calls.load(), 1);
  EXPECT_EQ(max_concurrent.load(), 1);
  EXPECT_EQ(ok.load(), 8);
}

TEST(TokenCache, RejectedCredentialsAreNotRetriedForever) {
  FakeClock clock;
  std::atomic<int> calls{0};
  TokenCache cache(clock, [&](const StopToken&, AccessToken&) {
    ++calls;
    TokenResult r;
    r.error.code = "auth_failed";
    r.error.message = "invalid_client";
    r.permanent = true;
    return r;
  });
  StopToken stop;
  for (int i = 0; i < 3; ++i) {
    TokenResult r = cache.get(stop);
    EXPECT_FALSE(r.ok);
    EXPECT_TRUE(r.permanent);
    EXPECT_EQ(r.error.code, "auth_failed");
  }
  EXPECT_EQ(calls.load(), 1);
}

TEST(TokenCache, TransientFailureKeepsAStillValidToken) {
  FakeClock clock;
  int calls = 0;
  TokenCache cache(clock, [&](const StopToken&, AccessToken& out) {
    TokenResult r;
    if (++calls == 1) {
      out = AccessToken{"first", add_seconds(clock.now(), 3599), 3599};
      r.ok = true;
    } else {
      r.error.code = "auth_failed";
    }
    return r;
  });
  StopToken stop;
  EXPECT_EQ(cache.get(stop).token, "first");
  clock.advance(3400);  // refresh due, but the token still has ~200 s
  TokenResult r = cache.get(stop);
  EXPECT_TRUE(r.ok);
  EXPECT_EQ(r.token, "first");
  EXPECT_EQ(calls, 2);
}

TEST(TokenCache, StopWhileWaiting) {
  FakeClock clock;
  std::atomic<int> calls{0};
  TokenCache cache(clock, counting_fetcher(clock, calls));
  StopToken stop;
  stop.request_stop();
  TokenResult r = cache.get(stop);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error.code, "cancelled");
  EXPECT_EQ(calls.load(), 0);
}
