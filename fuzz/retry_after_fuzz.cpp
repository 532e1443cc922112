// Fuzz target: Retry-After parsing and what the fetcher does with the
// result. Any header value parses to nothing or to a finite, non-negative
// number of seconds (equal to strtod for plain numbers); the retry decision
// never waits a negative, infinite or over-budget time; and pausing a tenant
// for it (clamped to the budget, as the client does) never overflows the
// clock nor pauses longer than the budget.
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "clock.h"
#include "retry_policy.h"
#include "throttle_gate.h"

namespace {

[[noreturn]] void fail(const char* what, const std::string& value, double got) {
  std::fprintf(stderr, "VIOLATION %s: value \"%s\" gave %.17g\n", what, value.c_str(), got);
  std::abort();
}

bool plain_seconds(std::string_view s) {
  // What the parser accepts as seconds: digits with at most one inner '.'.
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  if (s.empty() || s.size() > 32 || s.front() == '.' || s.back() == '.') return false;
  int dots = 0;
  for (char c : s) {
    if (c == '.') {
      ++dots;
    } else if (c < '0' || c > '9') {
      return false;
    }
  }
  return dots <= 1;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string value(reinterpret_cast<const char*>(data), size);
  const fetch::WallTime now = std::chrono::system_clock::from_time_t(1764158400);  // 2025-11-26T12:00:00Z
  const std::optional<double> ra = fetch::parse_retry_after(value, now);
  if (ra) {
    if (!std::isfinite(*ra) || *ra < 0) fail("Retry-After not a finite non-negative number", value, *ra);
    if (plain_seconds(value)) {
      std::string trimmed = value;
      const double want = std::strtod(trimmed.c_str() + trimmed.find_first_not_of(" \t"), nullptr);
      if (*ra != want) fail("Retry-After seconds differ from strtod", value, *ra);
    }
  }

  fetch::RetryConfig cfg;
  cfg.budget_s = 300;
  for (fetch::AttemptClass c : {fetch::AttemptClass::Throttled, fetch::AttemptClass::Unavailable,
                                fetch::AttemptClass::ServerError}) {
    fetch::RetryCounters counters;
    double elapsed = size > 0 ? (data[0] % 64) * 5.0 : 0.0;
    for (int attempt = 0; attempt < 10; ++attempt) {
      const fetch::RetryDecision d =
          fetch::decide_retry(cfg, c, ra, elapsed, counters, [&] { return size > 1 ? data[1] / 256.0 : 0.5; });
      if (!std::isfinite(d.delay_s) || d.delay_s < 0) fail("retry delay", value, d.delay_s);
      if (!d.retry) break;
      if (elapsed + d.delay_s > cfg.budget_s) fail("retry beyond the budget", value, elapsed + d.delay_s);
      elapsed += d.delay_s;
      if (counters.total() > cfg.max_throttle_retries + cfg.max_error_retries) fail("retries unbounded", value, counters.total());
    }
  }

  // The tenant pause the client takes for it.
  if (ra) {
    const fetch::SteadyTime t0 = std::chrono::steady_clock::time_point(std::chrono::hours(1000));
    fetch::TenantLimiter limiter(4);
    limiter.on_throttled(t0, t0, std::min(*ra, cfg.budget_s));
    const double paused = fetch::seconds_between(t0, limiter.paused_until);
    if (paused < 0 || paused > cfg.budget_s + 1e-6) fail("tenant pause", value, paused);
    // And the clock helper itself, for any value.
    const fetch::SteadyTime far = fetch::add_seconds(t0, *ra);
    if (far < t0) fail("add_seconds overflowed", value, *ra);
  }
  return 0;
}
