// The request loop: retries, Retry-After, Retry-Attempt, client-request-id,
// token refresh on 401, error records; on a fake clock and transport.
#include "graph_client.h"

#include <gtest/gtest.h>

#include <future>

#include "fake_clock.h"
#include "fake_transport.h"
#include "test_util.h"

using namespace fetch;
using namespace fetch::testing;

namespace {

struct Harness {
  FakeClock clock;
  FakeTransport transport;
  ThrottleGate gate{clock, 4, 4};
  std::string log_text;
  Logger log{LogFormat::Text, LogLevel::Trace, [this](std::string_view s) { log_text += s; }};
  GraphClient client;
  int token_fetches = 0;
  std::string token_value = "eyJhbGciOiJSUzI1NiJ9.eyJ0aWQiOiJ0In0.c2lnLXRva2VuLTE";
  TokenCache tokens;
  RunMetrics metrics;
  StopToken stop;
  RequestContext ctx;

  explicit Harness(GraphClientConfig cfg = {})
      : client(transport, clock, gate, log, cfg, [] { return 0.5; }),
        tokens(clock, [this](const StopToken&, AccessToken& out) {
          ++token_fetches;
          out.value = token_value + std::to_string(token_fetches);
          out.lifetime_s = 3599;
          out.expires_at = add_seconds(clock.now(), 3599);
          TokenResult r;
          r.ok = true;
          return r;
        }) {
    ctx.tenant = "tenant-1";
    ctx.tokens = &tokens;
    ctx.metrics = &metrics;
    ctx.stop = &stop;
  }
  JsonResult get() {
    return client.get(ctx, "https://graph.example/beta/x?$skiptoken=a%253d", "deviceConfiguration");
  }
};

const char* kPage = R"({"value":[]})";

}  // namespace

TEST(GraphClient, SuccessSendsTokenAndIdsAndTheUrlAsGiven) {
  Harness h;
  h.transport.push(reply(200, kPage));
  JsonResult r = h.get();
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.attempts, 1);
  auto reqs = h.transport.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].url, "https://graph.example/beta/x?$skiptoken=a%253d");
  EXPECT_EQ(header(reqs[0], "Authorization").rfind("Bearer eyJ", 0), 0u);
  EXPECT_EQ(header(reqs[0], "client-request-id").size(), 36u);
  EXPECT_EQ(header(reqs[0], "Retry-Attempt"), "");
  EXPECT_EQ(h.metrics.requests.load(), 1);
}

TEST(GraphClient, ThrottledRetriesAfterRetryAfterWithRetryAttemptHeader) {
  Harness h;
  h.transport.push(reply(429, read_vector("error_429_throttling_doc.json"), "2.128"));
  h.transport.push(reply(503, "", "1"));
  h.transport.push(reply(200, kPage));
  JsonResult r = h.get();
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.attempts, 3);
  // Retry-After plus the jitter (0.5 of up to 1 s).
  EXPECT_EQ(h.clock.sleeps(), (std::vector<double>{2.628, 1.5}));
  auto reqs = h.transport.requests();
  ASSERT_EQ(reqs.size(), 3u);
  EXPECT_EQ(header(reqs[1], "Retry-Attempt"), "1");
  EXPECT_EQ(header(reqs[2], "Retry-Attempt"), "2");
  // One logical request: the same client-request-id on every attempt.
  EXPECT_EQ(header(reqs[0], "client-request-id"), header(reqs[2], "client-request-id"));
  EXPECT_EQ(h.metrics.retries.load(), 2);
  EXPECT_EQ(h.metrics.throttled.load(), 1);
  // The 429 halved the tenant's cap.
  EXPECT_EQ(h.gate.tenant_cap("tenant-1"), 2);
}

TEST(GraphClient, FreshClientRequestIdPerLogicalRequest) {
  Harness h;
  h.transport.push(reply(200, kPage));
  h.transport.push(reply(200, kPage));
  h.get();
  h.get();
  auto reqs = h.transport.requests();
  EXPECT_NE(header(reqs[0], "client-request-id"), header(reqs[1], "client-request-id"));
}

TEST(GraphClient, ThrottledGivesUpAfterFiveRetries) {
  Harness h;
  for (int i = 0; i < 6; ++i)
    h.transport.push(reply(429, read_vector("error_429_intune_observed_msendpointmgr.json")));
  JsonResult r = h.get();
  ASSERT_FALSE(r.ok);
  EXPECT_EQ(r.attempts, 6);
  EXPECT_EQ(r.error.code, "graph_throttled");
  EXPECT_EQ(r.error.http_status, 429);
  EXPECT_EQ(r.error.graph_error_code, "TooManyRequests");
  EXPECT_EQ(r.error.request_id, "req-1");
  EXPECT_EQ(r.error.policy_type, "deviceConfiguration");
  EXPECT_EQ(r.error.attempts, 6);
  // No Retry-After: exponential backoff 2,4,8,16,32 s times U(0.5,1) = 0.75.
  EXPECT_EQ(h.clock.sleeps(), (std::vector<double>{1.5, 3, 6, 12, 24}));
}

TEST(GraphClient, RetryAfterBeyondTheBudgetGivesUpAtOnce) {
  GraphClientConfig cfg;
  cfg.retry.budget_s = 300;
  Harness h(cfg);
  h.transport.push(reply(429, "{}", "315"));
  JsonResult r = h.get();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.attempts, 1);
  EXPECT_EQ(r.error.code, "graph_throttled");
  EXPECT_NE(r.error.message.find("budget"), std::string::npos);
  EXPECT_TRUE(h.clock.sleeps().empty());
}

// A Retry-After far beyond the budget (or a date years ahead) pauses the
// tenant for one budget at most: its other requests go on afterwards instead
// of waiting out the server's number.
TEST(GraphClient, HugeRetryAfterPausesTheTenantForOneBudgetAtMost) {
  GraphClientConfig cfg;
  cfg.retry.budget_s = 10;
  for (const char* retry_after : {"100000", "99999999999999999999", "Fri, 31 Dec 9999 23:59:59 GMT"}) {
    SCOPED_TRACE(retry_after);
    Harness h(cfg);
    h.transport.push(reply(429, "{}", retry_after));
    JsonResult r = h.get();
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.error.code, "graph_throttled");
    h.clock.advance(10.5);
    h.transport.push(reply(200, kPage));
    auto next = std::async(std::launch::async, [&h] { return h.get(); });
    if (next.wait_for(std::chrono::seconds(5)) != std::future_status::ready) {
      h.stop.request_stop();
      next.wait();
      ADD_FAILURE() << "the tenant stayed paused beyond the request budget";
      continue;
    }
    EXPECT_TRUE(next.get().ok);
  }
}

TEST(GraphClient, ServerErrorsTwoRetries) {
  Harness h;
  for (int i = 0; i < 3; ++i) h.transport.push(reply(502, "bad gateway"));
  JsonResult r = h.get();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.attempts, 3);
  EXPECT_EQ(r.error.code, "graph_server_error");
}

TEST(GraphClient, TransportErrorsAndTimeouts) {
  Harness h;
  h.transport.push(transport_error(TransportError::Network, "Recv failure: Connection reset by peer"));
  h.transport.push(transport_error(TransportError::Timeout, "Operation timed out"));
  h.transport.push(transport_error(TransportError::Timeout, "Operation timed out"));
  JsonResult r = h.get();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.attempts, 3);
  EXPECT_EQ(r.error.code, "timeout");
  EXPECT_EQ(r.error.http_status, 0);
}

TEST(GraphClient, TruncatedBodyIsRetriedThenBadResponse) {
  Harness h;
  h.transport.push(reply(200, R"({"value":[{"id":"a")"));
  h.transport.push(reply(200, kPage));
  EXPECT_TRUE(h.get().ok);
  Harness h2;
  for (int i = 0; i < 3; ++i) h2.transport.push(reply(200, "[1,2]"));
  JsonResult r = h2.get();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error.code, "graph_bad_response");
}

TEST(GraphClient, ForbiddenIsNotRetried) {
  Harness h;
  h.transport.push(reply(403, read_vector("error_403_with_client_request_id.json"), "", ""));
  JsonResult r = h.get();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.attempts, 1);
  EXPECT_EQ(r.error.code, "graph_forbidden");
  EXPECT_EQ(r.error.graph_error_code, "Authorization_RequestDenied");
  EXPECT_EQ(r.error.request_id, "93b6f17e-c05d-4f45-ad2a-6665c708d8a0");  // from the body
  EXPECT_NE(r.error.message.find("Insufficient privileges"), std::string::npos);
}

TEST(GraphClient, NestedIntuneErrorMessage) {
  Harness h;
  h.transport.push(reply(400, read_vector("error_400_intune_nested_message_envelope.json")));
  JsonResult r = h.get();
  EXPECT_EQ(r.error.code, "graph_bad_request");
  EXPECT_EQ(r.error.graph_error_code, "BadRequest");
  EXPECT_NE(r.error.message.find("An error has occurred - Operation ID"), std::string::npos);
  EXPECT_LE(r.error.message.size(), kMaxErrorMessageChars);
}

TEST(GraphClient, Unauthorized401RefreshesTheTokenOnce) {
  Harness h;
  h.transport.push(reply(401, read_vector("error_401_invalid_authentication_token.json")));
  h.transport.push(reply(200, kPage));
  JsonResult r = h.get();
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(h.token_fetches, 2);
  auto reqs = h.transport.requests();
  EXPECT_NE(header(reqs[0], "Authorization"), header(reqs[1], "Authorization"));

  Harness h2;
  h2.transport.push(reply(401, read_vector("error_401_invalid_authentication_token.json")));
  h2.transport.push(reply(401, read_vector("error_401_invalid_authentication_token.json")));
  JsonResult r2 = h2.get();
  EXPECT_FALSE(r2.ok);
  EXPECT_EQ(r2.error.code, "graph_unauthorized");
  EXPECT_EQ(r2.error.graph_error_code, "InvalidAuthenticationToken");
  EXPECT_EQ(h2.token_fetches, 2);
  EXPECT_EQ(h2.transport.requests().size(), 2u);
}

TEST(GraphClient, TokenRequestRejectedIsFatalAndLeaksNothing) {
  Harness h;
  const std::string secret = "Zq8Q~SuperSecretValue0123456789abcdefghij";
  h.transport.push(reply(401, read_vector("oauth_token_error_invalid_client_7000215.json")));
  AccessToken out;
  TokenResult t = h.client.fetch_token(
      h.ctx, "https://login.example/t/oauth2/v2.0/token",
      [&] { return "grant_type=client_credentials&client_secret=" + secret; }, out);
  EXPECT_FALSE(t.ok);
  EXPECT_TRUE(t.permanent);
  EXPECT_EQ(t.error.code, "auth_failed");
  EXPECT_EQ(t.error.http_status, 401);
  EXPECT_EQ(t.error.graph_error_code, "invalid_client/AADSTS7000215");
  EXPECT_EQ(h.transport.requests().size(), 1u);
  EXPECT_EQ(h.transport.requests()[0].method, "POST");
  EXPECT_EQ(h.log_text.find(secret), std::string::npos);
  EXPECT_EQ(t.error.to_json().dump().find(secret), std::string::npos);
}

// An endpoint (or a proxy in front of it) that echoes the credentials in
// its error body: shapes the redactor knows nothing about are cut out too,
// because the client knows what it sent.
TEST(GraphClient, EchoedSecretNeverReachesTheErrorOrTheLog) {
  Harness h;
  const std::string secret = "plain-secret/with+chars and spaces";
  const std::string encoded = "plain-secret%2Fwith%2Bchars+and+spaces";
  for (int i = 0; i < 3; ++i) {
    h.transport.push(reply(500,
                           "{\"error\":\"server_error\",\"error_description\":\"AADSTS50000: could not "
                           "check secret " +
                               secret +
                               " (form: grant_type=client_credentials&client_id=a&"
                               "client_secret=" +
                               encoded + ")\"}"));
  }
  AccessToken out;
  TokenResult t = h.client.fetch_token(
      h.ctx, "https://login.example/t/oauth2/v2.0/token",
      [&] { return "grant_type=client_credentials&client_id=a&client_secret=" + encoded; }, out);
  EXPECT_FALSE(t.ok);
  const std::string stored = t.error.to_json().dump();
  EXPECT_EQ(stored.find("plain-secret"), std::string::npos) << stored;
  EXPECT_NE(stored.find("could not check secret [REDACTED]"), std::string::npos) << stored;
  EXPECT_EQ(h.log_text.find("plain-secret"), std::string::npos);
}

TEST(GraphClient, EchoedOpaqueTokenNeverReachesTheErrorOrTheLog) {
  Harness h;
  h.token_value = "opaque-access-token-not-a-jwt-";
  h.transport.push(
      reply(400,
            "{\"error\":{\"code\":\"BadRequest\",\"message\":\"token opaque-access-token-not-a-jwt-1 "
            "is not valid here\"}}"));
  JsonResult r = h.get();
  EXPECT_FALSE(r.ok);
  const std::string stored = r.error.to_json().dump();
  EXPECT_EQ(stored.find("opaque-access-token"), std::string::npos) << stored;
  EXPECT_NE(stored.find("token [REDACTED] is not valid"), std::string::npos) << stored;
  EXPECT_EQ(h.log_text.find("opaque-access-token"), std::string::npos);
}

TEST(GraphClient, TokenEndpointThrottlingIsRetriedThenSucceeds) {
  Harness h;
  h.transport.push(reply(429, "{}", "1"));
  h.transport.push(reply(200, read_vector("oauth_token_success_client_credentials.json")));
  AccessToken out;
  TokenResult t = h.client.fetch_token(
      h.ctx, "https://login.example/t/oauth2/v2.0/token", [] { return std::string("x=1"); }, out);
  ASSERT_TRUE(t.ok);
  EXPECT_EQ(out.lifetime_s, 3599);
  EXPECT_EQ(out.value.rfind("eyJ0eXAi", 0), 0u);
  EXPECT_EQ(h.log_text.find("eyJ0eXAi"), std::string::npos);
}

TEST(GraphClient, StopRequestedEndsWithCancelled) {
  Harness h;
  h.stop.request_stop();
  JsonResult r = h.get();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error.code, "cancelled");
  EXPECT_TRUE(h.transport.requests().empty());
}

TEST(GraphClient, DebugLogsCarryRequestIdButNoToken) {
  Harness h;
  h.transport.push(reply(200, kPage, "", "resp-req-id-77"));
  h.get();
  EXPECT_NE(h.log_text.find("resp-req-id-77"), std::string::npos);
  EXPECT_EQ(h.log_text.find("eyJhbGciOiJSUzI1NiJ9"), std::string::npos);
  EXPECT_EQ(h.log_text.find("a%253d"), std::string::npos);  // paging token not logged
}
