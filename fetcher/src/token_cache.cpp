#include "token_cache.h"

#include <openssl/crypto.h>

#include <algorithm>

namespace fetch {

double refresh_margin_s(double lifetime_s, double max_margin_s) {
  return std::min(max_margin_s, std::max(0.0, lifetime_s) / 2.0);
}

bool token_needs_refresh(const AccessToken& t, SteadyTime now, double max_margin_s) {
  if (t.value.empty()) return true;
  return now >= add_seconds(t.expires_at, -refresh_margin_s(t.lifetime_s, max_margin_s));
}

bool token_usable(const AccessToken& t, SteadyTime now) {
  // Keep a few seconds for clock skew and the request's own travel time.
  const double guard = std::min(10.0, t.lifetime_s / 10.0);
  return !t.value.empty() && now < add_seconds(t.expires_at, -guard);
}

TokenCache::TokenCache(Clock& clock, TokenFetcher fetcher, double max_margin_s)
    : clock_(clock), fetcher_(std::move(fetcher)), max_margin_s_(max_margin_s) {}

TokenResult TokenCache::get(const StopToken& stop) {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    if (permanent_error_) {
      TokenResult r;
      r.error = *permanent_error_;
      r.permanent = true;
      return r;
    }
    if (stop.stop_requested()) {
      TokenResult r;
      r.error.code = codes::kCancelled;
      r.error.message = "cancelled while waiting for a token";
      return r;
    }
    const SteadyTime now = clock_.now();
    if (token_ && !token_needs_refresh(*token_, now, max_margin_s_)) {
      TokenResult r;
      r.ok = true;
      r.token = token_->value;
      return r;
    }
    if (refreshing_) {
      if (token_ && token_usable(*token_, now)) {
        TokenResult r;
        r.ok = true;
        r.token = token_->value;
        return r;
      }
      cv_.wait_for(lock, std::chrono::milliseconds(50));
      continue;
    }
    refreshing_ = true;
    ++fetches_;
    lock.unlock();
    AccessToken fresh;
    TokenResult r = fetcher_(stop, fresh);
    lock.lock();
    refreshing_ = false;
    if (r.ok) {
      drop_token();
      token_ = fresh;
      r.token = fresh.value;
      OPENSSL_cleanse(fresh.value.data(), fresh.value.size());
    } else if (r.permanent) {
      permanent_error_ = r.error;
      drop_token();
    } else if (token_ && token_usable(*token_, clock_.now())) {
      // A transient failure while the old token still works: keep using it.
      r = TokenResult{};
      r.ok = true;
      r.token = token_->value;
    }
    lock.unlock();
    cv_.notify_all();
    return r;
  }
}

void TokenCache::invalidate(const std::string& token_value) {
  std::lock_guard<std::mutex> lock(mu_);
  if (token_ && token_->value == token_value) drop_token();
}

void TokenCache::drop_token() {
  if (token_) OPENSSL_cleanse(token_->value.data(), token_->value.size());
  token_.reset();
}

TokenCache::~TokenCache() { drop_token(); }

int TokenCache::fetches() const {
  std::lock_guard<std::mutex> lock(mu_);
  return fetches_;
}

}  // namespace fetch
