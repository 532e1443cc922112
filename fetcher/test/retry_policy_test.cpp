// Retry policy and Retry-After parsing, driven by a fake clock and fixed
// random numbers.
#include "retry_policy.h"

#include <gtest/gtest.h>

#include <ctime>

#include "fake_clock.h"

using namespace fetch;

namespace {

WallTime at(int y, int mo, int d, int h, int mi, int s) {
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

Uniform fixed(double v) {
  return [v] { return v; };
}

}  // namespace

TEST(RetryAfter, WholeSeconds) {
  const WallTime now = at(2025, 11, 26, 12, 0, 0);
  EXPECT_DOUBLE_EQ(*parse_retry_after("2", now), 2.0);
  EXPECT_DOUBLE_EQ(*parse_retry_after(" 10 ", now), 10.0);
  EXPECT_DOUBLE_EQ(*parse_retry_after("0", now), 0.0);
}

TEST(RetryAfter, DecimalSecondsAsGraphDocumentsThem) {
  const WallTime now = at(2025, 11, 26, 12, 0, 0);
  EXPECT_DOUBLE_EQ(*parse_retry_after("2.128", now), 2.128);
  EXPECT_DOUBLE_EQ(*parse_retry_after("0.5", now), 0.5);
}

TEST(RetryAfter, HttpDateFormatsRelativeToNow) {
  const WallTime now = at(2025, 11, 26, 12, 0, 0);
  // IMF-fixdate, RFC 850 and asctime (RFC 9110 section 5.6.7), 90 s ahead.
  EXPECT_DOUBLE_EQ(*parse_retry_after("Wed, 26 Nov 2025 12:01:30 GMT", now), 90.0);
  EXPECT_DOUBLE_EQ(*parse_retry_after("Wednesday, 26-Nov-25 12:01:30 GMT", now), 90.0);
  EXPECT_DOUBLE_EQ(*parse_retry_after("Wed Nov 26 12:01:30 2025", now), 90.0);
}

TEST(RetryAfter, DateInThePastMeansNow) {
  const WallTime now = at(2025, 11, 26, 12, 0, 0);
  EXPECT_DOUBLE_EQ(*parse_retry_after("Wed, 26 Nov 2025 11:00:00 GMT", now), 0.0);
}

TEST(RetryAfter, RejectsGarbage) {
  const WallTime now = at(2025, 11, 26, 12, 0, 0);
  for (const char* bad : {"", " ", "-1", "1e3", "2.", ".5", "1.2.3", "abc", "12s", "0x10", "Wed, 99 Foo"}) {
    EXPECT_FALSE(parse_retry_after(bad, now).has_value()) << bad;
  }
}

TEST(Backoff, ExponentialWithFullJitterCappedAtSixtySeconds) {
  RetryConfig cfg;
  // u = 0 -> factor 0.5, u -> 1 -> factor 1.
  EXPECT_DOUBLE_EQ(backoff_delay(cfg, 0, 0.0), 1.0);  // 0.5 * 2
  EXPECT_DOUBLE_EQ(backoff_delay(cfg, 0, 1.0), 2.0);  // 1.0 * 2
  EXPECT_DOUBLE_EQ(backoff_delay(cfg, 1, 1.0), 4.0);
  EXPECT_DOUBLE_EQ(backoff_delay(cfg, 3, 0.5), 0.75 * 16.0);
  EXPECT_DOUBLE_EQ(backoff_delay(cfg, 5, 1.0), 60.0);  // 64 capped
  EXPECT_DOUBLE_EQ(backoff_delay(cfg, 40, 0.0), 30.0);
  for (int n = 0; n < 8; ++n) {
    for (double u : {0.0, 0.25, 0.999}) {
      const double d = backoff_delay(cfg, n, u);
      const double ceiling = std::min(60.0, 2.0 * (1 << n));
      EXPECT_GE(d, 0.5 * ceiling);
      EXPECT_LE(d, ceiling);
    }
  }
}

TEST(Classify, Statuses) {
  EXPECT_EQ(classify_status(200), AttemptClass::Success);
  EXPECT_EQ(classify_status(429), AttemptClass::Throttled);
  EXPECT_EQ(classify_status(503), AttemptClass::Unavailable);
  EXPECT_EQ(classify_status(504), AttemptClass::Unavailable);
  EXPECT_EQ(classify_status(500), AttemptClass::ServerError);
  EXPECT_EQ(classify_status(502), AttemptClass::ServerError);
  EXPECT_EQ(classify_status(401), AttemptClass::Unauthorized);
  for (long s : {400L, 403L, 404L, 405L, 409L, 410L})
    EXPECT_EQ(classify_status(s), AttemptClass::ClientError);
}

TEST(DecideRetry, ThrottledHonoursRetryAfterPlusUpToOneSecondJitter) {
  RetryConfig cfg;
  RetryCounters c;
  RetryDecision d = decide_retry(cfg, AttemptClass::Throttled, 2.128, 0.0, c, fixed(0.5));
  EXPECT_TRUE(d.retry);
  EXPECT_DOUBLE_EQ(d.delay_s, 2.628);
  EXPECT_EQ(c.throttle_retries, 1);
  d = decide_retry(cfg, AttemptClass::Throttled, 7.0, 3.0, c, fixed(0.0));
  EXPECT_DOUBLE_EQ(d.delay_s, 7.0);
  d = decide_retry(cfg, AttemptClass::Throttled, 7.0, 3.0, c, fixed(0.999));
  EXPECT_LT(d.delay_s, 8.0);
}

TEST(DecideRetry, ThrottledWithoutRetryAfterBacksOffExponentially) {
  RetryConfig cfg;
  RetryCounters c;
  std::vector<double> delays;
  for (int i = 0; i < 5; ++i) {
    RetryDecision d = decide_retry(cfg, AttemptClass::Throttled, std::nullopt, 0.0, c, fixed(1.0));
    ASSERT_TRUE(d.retry);
    delays.push_back(d.delay_s);
  }
  EXPECT_EQ(delays, (std::vector<double>{2, 4, 8, 16, 32}));
}

TEST(DecideRetry, AtMostFiveThrottleRetries) {
  RetryConfig cfg;
  RetryCounters c;
  for (int i = 0; i < 5; ++i) {
    EXPECT_TRUE(
        decide_retry(cfg, i % 2 ? AttemptClass::Unavailable : AttemptClass::Throttled, 0.1, 0.0, c, fixed(0))
            .retry);
  }
  RetryDecision d = decide_retry(cfg, AttemptClass::Throttled, 0.1, 0.0, c, fixed(0));
  EXPECT_FALSE(d.retry);
  EXPECT_EQ(d.reason, GiveUpReason::AttemptsExhausted);
}

TEST(DecideRetry, ServerErrorsAndTransportAtMostTwoRetriesAndIgnoreRetryAfter) {
  RetryConfig cfg;
  RetryCounters c;
  RetryDecision d = decide_retry(cfg, AttemptClass::ServerError, 100.0, 0.0, c, fixed(1.0));
  EXPECT_TRUE(d.retry);
  EXPECT_DOUBLE_EQ(d.delay_s, 2.0);  // backoff, not the 100 s header
  d = decide_retry(cfg, AttemptClass::Transport, std::nullopt, 0.0, c, fixed(1.0));
  EXPECT_TRUE(d.retry);
  d = decide_retry(cfg, AttemptClass::BadResponse, std::nullopt, 0.0, c, fixed(1.0));
  EXPECT_FALSE(d.retry);
  EXPECT_EQ(d.reason, GiveUpReason::AttemptsExhausted);
}

TEST(DecideRetry, OtherClientErrorsAreNeverRetried) {
  RetryConfig cfg;
  RetryCounters c;
  for (AttemptClass k : {AttemptClass::ClientError, AttemptClass::Unauthorized, AttemptClass::Success}) {
    RetryDecision d = decide_retry(cfg, k, 1.0, 0.0, c, fixed(0.5));
    EXPECT_FALSE(d.retry);
    EXPECT_EQ(d.reason, GiveUpReason::NotRetryable);
  }
  EXPECT_EQ(c.total(), 0);
}

TEST(DecideRetry, BudgetStopsRetriesThatWouldEndTooLate) {
  RetryConfig cfg;
  cfg.budget_s = 300;
  RetryCounters c;
  RetryDecision d = decide_retry(cfg, AttemptClass::Throttled, 315.0, 0.0, c, fixed(0));
  EXPECT_FALSE(d.retry);
  EXPECT_EQ(d.reason, GiveUpReason::BudgetExhausted);
  d = decide_retry(cfg, AttemptClass::Throttled, 10.0, 290.0, c, fixed(0.5));  // 300.5 > 300
  EXPECT_FALSE(d.retry);
  d = decide_retry(cfg, AttemptClass::Throttled, 10.0, 280.0, c, fixed(0.5));
  EXPECT_TRUE(d.retry);
}

TEST(DecideRetry, ScaleShrinksBackoffAndJitterButNotRetryAfter) {
  RetryConfig cfg;
  cfg.scale = 0.1;
  RetryCounters c;
  RetryDecision d = decide_retry(cfg, AttemptClass::Throttled, 2.0, 0.0, c, fixed(0.5));
  EXPECT_NEAR(d.delay_s, 2.05, 1e-12);  // the server's 2 s + 0.1 * 0.5 s jitter
  d = decide_retry(cfg, AttemptClass::ServerError, std::nullopt, 0.0, c, fixed(1.0));
  EXPECT_NEAR(d.delay_s, 0.4, 1e-12);  // 2 s * 2^1 (one retry made) * 0.1
}

TEST(DecideRetry, CancelledGivesUp) {
  RetryConfig cfg;
  RetryCounters c;
  EXPECT_EQ(decide_retry(cfg, AttemptClass::Cancelled, 1.0, 0, c, fixed(0)).reason, GiveUpReason::Cancelled);
}
