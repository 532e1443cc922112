// Retry policy for Graph and token requests: pure functions of the attempt's
// outcome, the retries already made, the time spent and a uniform random
// source, so tests drive them with fake clocks and fixed random numbers.
#pragma once

#include <functional>
#include <optional>
#include <string_view>

#include "clock.h"

namespace fetch {

// What one HTTP attempt came to, as far as retrying is concerned.
enum class AttemptClass {
  Success,       // 2xx with a usable body
  Throttled,     // 429
  Unavailable,   // 503, 504
  ServerError,   // 500, 502 (and other 5xx)
  Transport,     // connection, TLS, reset, truncated body, timeout
  BadResponse,   // 2xx whose body is not the expected JSON
  Unauthorized,  // 401 (handled by the caller: refresh the token once)
  ClientError,   // any other 4xx: never retried
  Cancelled,     // the run is stopping
};

AttemptClass classify_status(long http_status);
const char* attempt_class_name(AttemptClass c);

struct RetryConfig {
  int max_throttle_retries = 5;  // 429/503/504
  int max_error_retries = 2;     // 500/502, transport errors, bad bodies
  double budget_s = 300.0;       // per logical request, waiting included
  double backoff_base_s = 2.0;   // 2 s * 2^n ...
  double backoff_cap_s = 60.0;   // ... capped at 60 s
  double retry_after_jitter_s = 1.0;
  // Multiplies the backoff and the Retry-After jitter, never the server's
  // Retry-After itself (testing aid: --retry-scale). 1.0 in production.
  double scale = 1.0;
};

struct RetryCounters {
  int throttle_retries = 0;
  int error_retries = 0;
  int total() const { return throttle_retries + error_retries; }
};

enum class GiveUpReason { None, NotRetryable, AttemptsExhausted, BudgetExhausted, Cancelled };

struct RetryDecision {
  bool retry = false;
  double delay_s = 0.0;  // seconds to wait (scale applied)
  GiveUpReason reason = GiveUpReason::None;
};

// A source of uniform numbers in [0, 1).
using Uniform = std::function<double()>;

// Parses a Retry-After header value: whole seconds ("2"), decimal seconds
// ("2.128") or an HTTP date (IMF-fixdate, RFC 850 or asctime), the latter
// relative to `now`. A date in the past gives 0. Returns nullopt for anything
// else (negative, garbage, empty).
std::optional<double> parse_retry_after(std::string_view value, WallTime now);

// Exponential backoff with full jitter: U(0.5, 1) * min(cap, base * 2^n),
// n = retries already made. Unscaled.
double backoff_delay(const RetryConfig& cfg, int retries_made, double u);

// Decides whether to retry after an attempt of class `c`. `retry_after_s`
// is the parsed header (if any), `elapsed_s` the time since the logical
// request started. On a retry, `counters` is updated.
RetryDecision decide_retry(const RetryConfig& cfg, AttemptClass c, std::optional<double> retry_after_s,
                           double elapsed_s, RetryCounters& counters, const Uniform& uniform);

}  // namespace fetch
