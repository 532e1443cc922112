#include "retry_policy.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <string>

namespace fetch {

AttemptClass classify_status(long s) {
  if (s >= 200 && s < 300) return AttemptClass::Success;
  if (s == 429) return AttemptClass::Throttled;
  if (s == 503 || s == 504) return AttemptClass::Unavailable;
  if (s == 401) return AttemptClass::Unauthorized;
  if (s >= 500) return AttemptClass::ServerError;
  return AttemptClass::ClientError;  // other 4xx, and anything unexpected
}

const char* attempt_class_name(AttemptClass c) {
  switch (c) {
    case AttemptClass::Success:
      return "success";
    case AttemptClass::Throttled:
      return "throttled";
    case AttemptClass::Unavailable:
      return "unavailable";
    case AttemptClass::ServerError:
      return "server_error";
    case AttemptClass::Transport:
      return "transport";
    case AttemptClass::BadResponse:
      return "bad_response";
    case AttemptClass::Unauthorized:
      return "unauthorized";
    case AttemptClass::ClientError:
      return "client_error";
    case AttemptClass::Cancelled:
      return "cancelled";
  }
  return "unknown";
}

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// "2" or "2.128": digits, optionally one '.' followed by digits.
std::optional<double> parse_seconds(std::string_view s) {
  if (s.empty() || s.size() > 32) return std::nullopt;
  bool dot = false;
  size_t digits = 0;
  for (char ch : s) {
    if (ch == '.') {
      if (dot) return std::nullopt;
      dot = true;
    } else if (ch >= '0' && ch <= '9') {
      ++digits;
    } else {
      return std::nullopt;
    }
  }
  if (digits == 0 || s.front() == '.' || s.back() == '.') return std::nullopt;
  double v = std::stod(std::string(s));
  if (!std::isfinite(v)) return std::nullopt;
  return v;
}

}  // namespace

std::optional<double> parse_retry_after(std::string_view value, WallTime now) {
  std::string_view v = trim(value);
  if (v.empty()) return std::nullopt;
  if (std::isdigit(static_cast<unsigned char>(v.front())) || v.front() == '.') {
    return parse_seconds(v);
  }
  // HTTP dates start with a day name. libcurl's parser knows the three
  // formats of RFC 9110 section 5.6.7.
  if (!std::isalpha(static_cast<unsigned char>(v.front()))) return std::nullopt;
  const std::string date(v);
  const time_t t = curl_getdate(date.c_str(), nullptr);
  if (t == -1) return std::nullopt;
  const double now_s = std::chrono::duration<double>(now.time_since_epoch()).count();
  return std::max(0.0, static_cast<double>(t) - now_s);
}

double backoff_delay(const RetryConfig& cfg, int retries_made, double u) {
  const int n = std::clamp(retries_made, 0, 30);
  const double ceiling = std::min(cfg.backoff_cap_s, cfg.backoff_base_s * std::ldexp(1.0, n));
  const double factor = 0.5 + 0.5 * std::clamp(u, 0.0, 1.0);
  return factor * ceiling;
}

RetryDecision decide_retry(const RetryConfig& cfg, AttemptClass c, std::optional<double> retry_after_s,
                           double elapsed_s, RetryCounters& counters, const Uniform& uniform) {
  RetryDecision d;
  int* counter = nullptr;
  int limit = 0;
  switch (c) {
    case AttemptClass::Throttled:
    case AttemptClass::Unavailable:
      counter = &counters.throttle_retries;
      limit = cfg.max_throttle_retries;
      break;
    case AttemptClass::ServerError:
    case AttemptClass::Transport:
    case AttemptClass::BadResponse:
      counter = &counters.error_retries;
      limit = cfg.max_error_retries;
      retry_after_s.reset();  // only 429/503/504 are paced by the server
      break;
    case AttemptClass::Cancelled:
      d.reason = GiveUpReason::Cancelled;
      return d;
    default:
      d.reason = GiveUpReason::NotRetryable;
      return d;
  }
  if (*counter >= limit) {
    d.reason = GiveUpReason::AttemptsExhausted;
    return d;
  }
  // The server's Retry-After is honoured as given; only our own choices
  // (jitter, backoff) follow the scale.
  double delay;
  if (retry_after_s) {
    delay = *retry_after_s + cfg.scale * cfg.retry_after_jitter_s * uniform();
  } else {
    delay = cfg.scale * backoff_delay(cfg, counters.total(), uniform());
  }
  if (elapsed_s + delay > cfg.budget_s) {
    d.reason = GiveUpReason::BudgetExhausted;
    d.delay_s = delay;
    return d;
  }
  ++*counter;
  d.retry = true;
  d.delay_s = delay;
  return d;
}

}  // namespace fetch
