// Caps on requests in flight (global and per tenant) and the tenant-wide
// reaction to throttling: a 429 pauses every request of that tenant and
// halves its cap; after a quiet minute the cap doubles back, up to the
// configured value.
//
// TenantLimiter is the pure policy (driven by explicit times in tests);
// ThrottleGate is the thread-safe blocking wrapper the HTTP path uses.
#pragma once

#include <condition_variable>
#include <map>
#include <mutex>
#include <string>

#include "clock.h"

namespace fetch {

struct TenantLimiter {
  int configured_cap = 4;
  int cap = 4;
  int in_flight = 0;
  SteadyTime paused_until{};
  SteadyTime last_change{};  // last halving or growth
  bool reduced = false;      // cap < configured_cap since a throttle

  explicit TenantLimiter(int configured = 4) : configured_cap(configured), cap(configured) {}

  // Grows the cap back (x2 per quiet minute) when no throttle was seen for
  // `quiet_s` seconds. Call before reading `cap`.
  void regrow(SteadyTime now, double quiet_s = 60.0);
  bool paused(SteadyTime now) const { return now < paused_until; }
  // A 429 for a request that started at `request_started`: pause the tenant
  // until now + pause_s; halve the cap unless it was already halved after
  // that request started (one burst of 429s halves once).
  void on_throttled(SteadyTime now, SteadyTime request_started, double pause_s);
};

struct GateStats {
  int global_in_flight = 0;
  int global_max_in_flight = 0;
};

class ThrottleGate {
 public:
  ThrottleGate(Clock& clock, int global_cap, int tenant_cap);

  // Blocks until a slot is free for `tenant` (global and tenant caps, tenant
  // not paused). Returns false when `stop` was requested while waiting.
  bool acquire(const std::string& tenant, const StopToken& stop, SteadyTime* started);
  void release(const std::string& tenant);
  // Releases the slot of a request that got 429 and pauses the tenant, in
  // one step: no request waiting at the gate can slip out in between.
  void release_throttled(const std::string& tenant, SteadyTime request_started, double pause_s);

  int tenant_cap(const std::string& tenant);
  int tenant_max_in_flight(const std::string& tenant);
  GateStats stats();

 private:
  struct Tenant {
    TenantLimiter limiter;
    int max_in_flight = 0;
    explicit Tenant(int cap) : limiter(cap) {}
  };
  Tenant& tenant_locked(const std::string& tenant);

  Clock& clock_;
  const int global_cap_;
  const int tenant_cap_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, Tenant> tenants_;
  GateStats stats_;
};

}  // namespace fetch
