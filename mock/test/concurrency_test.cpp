// In-flight accounting under concurrency.
#include <atomic>
#include <thread>

#include "support.h"

namespace tinv::mock::test {
namespace {

const std::string kUrl = "/beta/deviceManagement/deviceConfigurations";

class ConcurrencyTest : public MockFixture {};

// Fires `n` requests at once (one connection each), returns how many succeeded and
// the largest number of them that were outstanding at the same time on the client side.
struct Burst {
  int ok = 0;
  int max_outstanding = 0;
};

Burst burst(const MockFixture &fx, const std::vector<std::string> &tokens) {
  std::atomic<int> ok{0}, outstanding{0}, max_outstanding{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (const auto &t : tokens) {
    threads.emplace_back([&, t] {
      auto c = fx.client(20);
      while (!go) std::this_thread::yield();
      int now = ++outstanding;
      int m = max_outstanding.load();
      while (now > m && !max_outstanding.compare_exchange_weak(m, now)) {
      }
      auto r = c->Get(kUrl.c_str(), {{"Authorization", "Bearer " + t}});
      --outstanding;
      if (r && r->status == 200) ++ok;
    });
  }
  go = true;
  for (auto &th : threads) th.join();
  return {ok.load(), max_outstanding.load()};
}

TEST_F(ConcurrencyTest, MaxInFlightMatchesActualConcurrency) {
  const std::string token = token_for(tenant());
  ASSERT_EQ(admin_post("/_mock/latency", {{"delay_ms", 500}}).status, 200);
  ASSERT_EQ(admin_post("/_mock/reset-stats", json::object()).status, 200);
  Burst b = burst(*this, std::vector<std::string>(20, token));
  EXPECT_EQ(b.ok, 20);
  json s = admin_get("/_mock/stats").body_json();
  const int max_total = s["max_in_flight_total"];
  EXPECT_LE(max_total, 20);
  EXPECT_LE(max_total, b.max_outstanding);
  EXPECT_GE(max_total, 15);
  EXPECT_EQ(s["max_in_flight_by_tenant"][tenant()], max_total);
  EXPECT_EQ(s["in_flight_total"], 0);
  EXPECT_EQ(s["requests_total"], 20);
}

TEST_F(ConcurrencyTest, PerTenantMaximaAreSeparate) {
  json tenants = admin_get("/_mock/tenants").body_json()["tenants"];
  const std::string a = tenants[0], b = tenants[1];
  const std::string ta = token_for(a), tb = token_for(b);
  ASSERT_EQ(admin_post("/_mock/latency", {{"delay_ms", 500}}).status, 200);
  ASSERT_EQ(admin_post("/_mock/reset-stats", json::object()).status, 200);
  std::vector<std::string> tokens(6, ta);
  tokens.insert(tokens.end(), 10, tb);
  Burst r = burst(*this, tokens);
  EXPECT_EQ(r.ok, 16);
  json s = admin_get("/_mock/stats").body_json();
  EXPECT_LE(s["max_in_flight_by_tenant"][a].get<int>(), 6);
  EXPECT_GE(s["max_in_flight_by_tenant"][a].get<int>(), 4);
  EXPECT_LE(s["max_in_flight_by_tenant"][b].get<int>(), 10);
  EXPECT_GE(s["max_in_flight_by_tenant"][b].get<int>(), 7);
  EXPECT_LE(s["max_in_flight_total"].get<int>(), 16);
  EXPECT_EQ(s["requests_by_tenant"][a], 6);
  EXPECT_EQ(s["requests_by_tenant"][b], 10);
}

// Sequential requests never overlap, so the maximum stays 1.
TEST_F(ConcurrencyTest, SequentialRequestsCountOne) {
  const std::string token = token_for(tenant());
  ASSERT_EQ(admin_post("/_mock/reset-stats", json::object()).status, 200);
  for (int i = 0; i < 10; ++i) ASSERT_EQ(get(kUrl, token).status, 200);
  json s = admin_get("/_mock/stats").body_json();
  EXPECT_EQ(s["max_in_flight_total"], 1);
  EXPECT_EQ(s["requests_total"], 10);
}

// Many more connections than worker threads are all served (queued, not refused).
// A reset drops the connection inside the handler; a client retrying at once
// (as libcurl does on a reused connection) must not be counted twice.
TEST_F(ConcurrencyTest, ResetThenImmediateRetryCountsOne) {
  const std::string token = token_for(tenant());
  set_faults(json::array({{{"kind", "reset"}, {"times", 40}}}));
  ASSERT_EQ(admin_post("/_mock/reset-stats", json::object()).status, 200);
  for (int i = 0; i < 40; ++i) {
    // (cpp-httplib's client, like libcurl, itself repeats a request whose
    // connection dropped; either way the next one follows at once)
    client(5)->Get(kUrl.c_str(), {{"Authorization", "Bearer " + token}});
    client(5)->Get(kUrl.c_str(), {{"Authorization", "Bearer " + token}});
  }
  json stats = admin_get("/_mock/stats").body_json();
  EXPECT_EQ(stats["max_in_flight_total"], 1);
  EXPECT_EQ(stats["responses_by_status"]["0"], 40);
  EXPECT_EQ(stats["in_flight_total"], 0);
}

TEST_F(ConcurrencyTest, ManyConnectionsAreServed) {
  const std::string token = token_for(tenant());
  ASSERT_EQ(admin_post("/_mock/latency", {{"delay_ms", 20}}).status, 200);
  Burst b = burst(*this, std::vector<std::string>(256, token));
  EXPECT_EQ(b.ok, 256);
  json s = admin_get("/_mock/stats").body_json();
  EXPECT_LE(s["max_in_flight_total"].get<int>(), 64);  // the pool size
}

}  // namespace
}  // namespace tinv::mock::test
