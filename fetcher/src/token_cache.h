// Per-tenant access token cache: in memory only, refreshed ahead of expiry
// (5 minutes, or half the lifetime for short-lived tokens), at most one
// refresh in flight; other callers keep using the current token while it is
// still valid, or wait for the refresh.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>

#include "clock.h"
#include "error_record.h"

namespace fetch {

struct AccessToken {
  std::string value;
  SteadyTime expires_at{};
  double lifetime_s = 0;
};

struct TokenResult {
  bool ok = false;
  std::string token;       // when ok
  ErrorRecord error;       // when not ok
  bool permanent = false;  // the credentials were rejected: do not ask again
};

// Performs one token acquisition (with its own retries). Returns the token
// or an error; `permanent` marks rejected credentials.
using TokenFetcher = std::function<TokenResult(const StopToken&, AccessToken&)>;

// Pure timing rules.
double refresh_margin_s(double lifetime_s, double max_margin_s = 300.0);
bool token_needs_refresh(const AccessToken& t, SteadyTime now, double max_margin_s = 300.0);
bool token_usable(const AccessToken& t, SteadyTime now);

class TokenCache {
 public:
  TokenCache(Clock& clock, TokenFetcher fetcher, double max_margin_s = 300.0);
  ~TokenCache();  // wipes the token

  TokenResult get(const StopToken& stop);
  // After a 401: forget `token_value` if it is still the current token, so
  // the next get() fetches a new one.
  void invalidate(const std::string& token_value);
  int fetches() const;

 private:
  void drop_token();  // wipes and forgets the current token (mu_ held)
  Clock& clock_;
  TokenFetcher fetcher_;
  const double max_margin_s_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::optional<AccessToken> token_;
  bool refreshing_ = false;
  std::optional<ErrorRecord> permanent_error_;
  int fetches_ = 0;
};

}  // namespace fetch
