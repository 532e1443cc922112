#include "throttle_gate.h"

#include <algorithm>

namespace fetch {

void TenantLimiter::regrow(SteadyTime now, double quiet_s) {
  while (reduced && now >= paused_until && seconds_between(last_change, now) >= quiet_s) {
    cap = std::min(configured_cap, cap * 2);
    last_change = add_seconds(last_change, quiet_s);
    if (cap >= configured_cap) reduced = false;
  }
}

void TenantLimiter::on_throttled(SteadyTime now, SteadyTime request_started, double pause_s) {
  const SteadyTime until = add_seconds(now, std::max(0.0, pause_s));
  if (until > paused_until) paused_until = until;
  if (!reduced || request_started >= last_change) {
    cap = std::max(1, cap / 2);
    reduced = true;
  }
  last_change = now;
}

ThrottleGate::ThrottleGate(Clock& clock, int global_cap, int tenant_cap)
    : clock_(clock), global_cap_(std::max(1, global_cap)), tenant_cap_(std::max(1, tenant_cap)) {}

ThrottleGate::Tenant& ThrottleGate::tenant_locked(const std::string& tenant) {
  auto it = tenants_.find(tenant);
  if (it == tenants_.end()) it = tenants_.emplace(tenant, Tenant(tenant_cap_)).first;
  return it->second;
}

bool ThrottleGate::acquire(const std::string& tenant, const StopToken& stop, SteadyTime* started) {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    if (stop.stop_requested()) return false;
    Tenant& t = tenant_locked(tenant);
    const SteadyTime now = clock_.now();
    t.limiter.regrow(now);
    if (!t.limiter.paused(now) && t.limiter.in_flight < t.limiter.cap &&
        stats_.global_in_flight < global_cap_) {
      ++t.limiter.in_flight;
      t.max_in_flight = std::max(t.max_in_flight, t.limiter.in_flight);
      ++stats_.global_in_flight;
      stats_.global_max_in_flight = std::max(stats_.global_max_in_flight, stats_.global_in_flight);
      if (started) *started = now;
      return true;
    }
    // Wake on release/throttle, at the end of a pause, or to look at `stop`.
    auto wait = std::chrono::milliseconds(50);
    if (t.limiter.paused(now)) {
      wait =
          std::min(wait, std::chrono::duration_cast<std::chrono::milliseconds>(t.limiter.paused_until - now) +
                             std::chrono::milliseconds(1));
    }
    cv_.wait_for(lock, wait);
  }
}

void ThrottleGate::release(const std::string& tenant) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    Tenant& t = tenant_locked(tenant);
    --t.limiter.in_flight;
    --stats_.global_in_flight;
  }
  cv_.notify_all();
}

void ThrottleGate::release_throttled(const std::string& tenant, SteadyTime request_started, double pause_s) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    Tenant& t = tenant_locked(tenant);
    t.limiter.on_throttled(clock_.now(), request_started, pause_s);
    --t.limiter.in_flight;
    --stats_.global_in_flight;
  }
  cv_.notify_all();
}

int ThrottleGate::tenant_cap(const std::string& tenant) {
  std::lock_guard<std::mutex> lock(mu_);
  Tenant& t = tenant_locked(tenant);
  t.limiter.regrow(clock_.now());
  return t.limiter.cap;
}

int ThrottleGate::tenant_max_in_flight(const std::string& tenant) {
  std::lock_guard<std::mutex> lock(mu_);
  return tenant_locked(tenant).max_in_flight;
}

GateStats ThrottleGate::stats() {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

}  // namespace fetch
