// Fault injection: every kind fires as often as advertised, with its status and headers.
#include <chrono>
#include <ctime>
#include <future>
#include <thread>

#include "support.h"
#include "util.h"

namespace tinv::mock::test {
namespace {

const std::string kDc = "deviceManagement/deviceConfigurations";
const std::string kUrl = "/beta/deviceManagement/deviceConfigurations";

class FaultsTest : public MockFixture {
 public:
  void SetUp() override {
    MockFixture::SetUp();
    token = token_for(tenant());
  }
  std::string token;
};

struct StatusCase {
  const char *kind;
  int status;
  const char *code;
};

TEST_F(FaultsTest, ErrorKindsFireTheAdvertisedNumberOfTimes) {
  const StatusCase cases[] = {
      {"throttle", 429, "TooManyRequests"},
      {"unavailable", 503, "ServiceUnavailable"},
      {"gateway_timeout", 504, "GatewayTimeout"},
      {"server_error", 500, "InternalServerError"},
      {"bad_gateway", 502, "BadGateway"},
      {"nested_400", 400, "BadRequest"},
      {"forbidden", 403, "Authorization_RequestDenied"},
      {"unauthorized", 401, "InvalidAuthenticationToken"},
      {"not_found", 404, "ResourceNotFound"},
      {"canary", 400, "BadRequest"},
  };
  for (const auto &c : cases) {
    SCOPED_TRACE(c.kind);
    set_faults(json::array({{{"kind", c.kind}, {"times", 2}}}));
    for (int i = 0; i < 2; ++i) {
      Reply r = get(kUrl, token, {{"client-request-id", "crid-" + std::to_string(i)}});
      ASSERT_EQ(r.status, c.status) << r.body;
      json j = r.body_json();
      EXPECT_EQ(j["error"]["code"], c.code);
      EXPECT_TRUE(is_uuid(r.header("request-id")));
    }
    EXPECT_EQ(get(kUrl, token).status, 200);
    json faults = admin_get("/_mock/faults").body_json();
    EXPECT_EQ(faults[0]["fired"], 2);
    EXPECT_EQ(faults[0]["seen"], 3);
  }
  set_faults(json::array());
  EXPECT_EQ(get(kUrl, token).status, 200);
}

TEST_F(FaultsTest, ErrorBodiesMatchRealShapes) {
  set_faults(json::array({{{"kind", "forbidden"}, {"times", 1}}}));
  Reply r = get(kUrl, token, {{"client-request-id", "e70c5c1b-8b47-68c0-3171-3d22f5e0bd54"}});
  json inner = r.body_json()["error"]["innerError"];
  EXPECT_EQ(inner["client-request-id"], "e70c5c1b-8b47-68c0-3171-3d22f5e0bd54");
  EXPECT_EQ(inner["request-id"], r.header("request-id"));
  EXPECT_TRUE(inner["date"].is_string());

  set_faults(json::array({{{"kind", "nested_400"}, {"times", 1}}}));
  r = get(kUrl, token);
  json nested = json::parse(r.body_json()["error"]["message"].get<std::string>());
  EXPECT_EQ(nested["_version"], 3);
  EXPECT_NE(nested["Message"].get<std::string>().find("Activity ID: " + r.header("request-id")),
            std::string::npos);

  set_faults(json::array({{{"kind", "unauthorized"}, {"times", 1}}}));
  r = get(kUrl, token);
  EXPECT_NE(r.header("WWW-Authenticate").find("Bearer"), std::string::npos);

  set_faults(json::array({{{"kind", "canary"}, {"times", 1}, {"canary", "ZZ-canary-42"}}}));
  r = get(kUrl, token);
  const std::string msg = r.body_json()["error"]["message"];
  EXPECT_NE(msg.find("Bearer eyJ"), std::string::npos);
  EXPECT_NE(msg.find("client_secret=ZZ-canary-42"), std::string::npos);
  EXPECT_NE(msg.find("sig=ZZ-canary-42"), std::string::npos);

  // A raw body override, e.g. a gateway's HTML page.
  set_faults(json::array({{{"kind", "bad_gateway"}, {"times", 1}, {"body", "<html>502</html>"}}}));
  r = get(kUrl, token);
  EXPECT_EQ(r.status, 502);
  EXPECT_EQ(r.body, "<html>502</html>");
  EXPECT_EQ(r.header("Content-Type").rfind("text/html", 0), 0u);
}

TEST_F(FaultsTest, RetryAfterForms) {
  set_faults(json::array({{{"kind", "throttle"}, {"times", 1}, {"retry_after", "2"}},
                          {{"kind", "throttle"}, {"times", 1}, {"retry_after", "0.5"}},
                          {{"kind", "throttle"}, {"times", 1}, {"retry_after", "http-date:+2"}},
                          {{"kind", "throttle"}, {"times", 1}, {"retry_after", "none"}},
                          {{"kind", "unavailable"}, {"times", 1}, {"retry_after", "3"}},
                          {{"kind", "unavailable"}, {"times", 1}}}));
  Reply r = get(kUrl, token);
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.header("Retry-After"), "2");
  EXPECT_EQ(r.body_json()["error"]["innerError"]["status"], "429");  // throttling doc shape
  r = get(kUrl, token);
  EXPECT_EQ(r.header("Retry-After"), "0.5");
  r = get(kUrl, token);
  const std::string date = r.header("Retry-After");
  std::tm tm{};
  ASSERT_NE(strptime(date.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm), nullptr) << date;
  const int64_t at = timegm(&tm);
  const int64_t now = now_ms() / 1000;
  EXPECT_GE(at, now + 1);
  EXPECT_LE(at, now + 4);
  r = get(kUrl, token, {{"client-request-id", "x-1"}});
  EXPECT_EQ(r.status, 429);
  EXPECT_FALSE(r.headers.count("Retry-After"));
  json j = r.body_json();  // the observed Intune body
  EXPECT_TRUE(j["error"]["details"].is_array());
  EXPECT_EQ(j["error"]["message"], "An error has occurred.");
  r = get(kUrl, token);
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.header("Retry-After"), "3");
  r = get(kUrl, token);
  EXPECT_EQ(r.status, 503);
  EXPECT_FALSE(r.headers.count("Retry-After"));
  EXPECT_EQ(get(kUrl, token).status, 200);
}

TEST_F(FaultsTest, AfterPagesTenantAndPathSelectors) {
  json tenants = admin_get("/_mock/tenants").body_json()["tenants"];
  const std::string other_token = token_for(tenants[1]);
  set_faults(json::array({{{"kind", "server_error"},
                           {"tenant", tenant()},
                           {"path", kDc},
                           {"times", 1},
                           {"after_pages", 2}}}));
  EXPECT_EQ(get(kUrl, other_token).status, 200);  // other tenant
  EXPECT_EQ(get("/beta/deviceManagement/deviceCompliancePolicies", token).status,
            200);                           // other path
  EXPECT_EQ(get(kUrl, token).status, 200);  // 1st matching
  EXPECT_EQ(get(kUrl, token).status, 200);  // 2nd matching
  EXPECT_EQ(get(kUrl, token).status, 500);  // fires
  EXPECT_EQ(get(kUrl, token).status, 200);  // used up
  // times = -1: forever.
  set_faults(json::array({{{"kind", "not_found"}, {"times", -1}}}));
  for (int i = 0; i < 5; ++i) EXPECT_EQ(get(kUrl, token).status, 404);
  // Invalid rules are refused and leave the list unchanged.
  for (const json &bad : {json::object(), json::array({{{"kind", "nope"}}}),
                          json::array({{{"kind", "throttle"}, {"retry_after", "soon"}}}),
                          json::array({{{"kind", "token_error"}}}),
                          json::array({{{"kind", "forbidden"}, {"path", "token"}}}),
                          json::array({{{"kind", "hang"}, {"times", -2}}}),
                          json::array({{{"kind", "slow"}, {"tenant", "abc"}}})}) {
    EXPECT_EQ(admin_post("/_mock/faults", bad).status, 400) << bad.dump();
  }
  EXPECT_EQ(admin_get("/_mock/faults").body_json()[0]["kind"], "not_found");
}

TEST_F(FaultsTest, SlowDelaysThenAnswers) {
  set_faults(json::array({{{"kind", "slow"}, {"times", 1}, {"delay_ms", 400}}}));
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(get(kUrl, token).status, 200);
  auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
          .count();
  EXPECT_GE(ms, 390);
  t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(get(kUrl, token).status, 200);
  ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
           .count();
  EXPECT_LT(ms, 300);
}

// Content-Length of the full body, half of it sent, then the connection closes.
TEST_F(FaultsTest, TruncatedClosesMidBody) {
  set_faults(json::array({{{"kind", "truncated"}, {"times", 1}}}));
  const std::string request =
      "GET " + kUrl + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + token + "\r\n\r\n";
  std::string raw = raw_exchange(port(), request);
  ASSERT_EQ(raw.rfind("HTTP/1.1 200", 0), 0u) << raw.substr(0, 200);
  size_t header_end = raw.find("\r\n\r\n");
  ASSERT_NE(header_end, std::string::npos);
  std::string headers = to_lower(raw.substr(0, header_end));
  size_t cl = headers.find("content-length: ");
  ASSERT_NE(cl, std::string::npos);
  size_t declared = std::stoul(headers.substr(cl + 16));
  size_t got = raw.size() - header_end - 4;
  EXPECT_GT(got, 0u);
  EXPECT_LT(got, declared);
  EXPECT_TRUE(json::parse(raw.substr(header_end + 4), nullptr, false).is_discarded());
  // httplib's client reports an error (or a short body) for it.
  set_faults(json::array({{{"kind", "truncated"}, {"times", 1}}}));
  Reply r = get(kUrl, token);
  EXPECT_TRUE(!r.ok || json::parse(r.body, nullptr, false).is_discarded());
  EXPECT_EQ(get(kUrl, token).status, 200);
}

TEST_F(FaultsTest, PageBodyServesGivenBytesAndPagingGoesOn) {
  set_faults(json::array({{{"kind", "page_body"},
                           {"path", kDc},
                           {"body",
                            "{\"value\":[{\"id\":\"hostile-1\"}],"
                            "\"@odata.nextLink\":\"{{next_link}}\"}"}}}));
  Reply first = get(kUrl, token);
  ASSERT_EQ(first.status, 200);
  json page = first.body_json();
  ASSERT_EQ(page["value"].size(), 1u);
  EXPECT_EQ(page["value"][0]["id"], "hostile-1");
  // The placeholder became the real link of the first page: the listing goes on.
  const std::string next = page["@odata.nextLink"].get<std::string>();
  EXPECT_NE(next.find("$skiptoken="), std::string::npos);
  Reply second = get(next, token);
  ASSERT_EQ(second.status, 200) << second.body;
  EXPECT_EQ(second.body_json()["value"].size(), 30u);

  // Raw bytes (invalid UTF-8, NUL) through base64.
  const std::string raw("{\"value\":[{\"id\":\"a\xff\x00\"}]}", 21);
  set_faults(json::array({{{"kind", "page_body"}, {"body_base64", base64_encode(raw)}}}));
  Reply r = get(kUrl, token);
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body, raw);
  EXPECT_EQ(get(kUrl, token).status, 200);

  Reply bad = admin_post("/_mock/faults", json::array({{{"kind", "page_body"}}}));
  EXPECT_EQ(bad.status, 400);
  bad = admin_post("/_mock/faults", json::array({{{"kind", "page_body"}, {"body_base64", "%%"}}}));
  EXPECT_EQ(bad.status, 400);
}

TEST_F(FaultsTest, EndlessBodyNeverEnds) {
  set_faults(json::array({{{"kind", "endless"}, {"interval_ms", 20}, {"chunk_bytes", 8}}}));
  const std::string request =
      "GET " + kUrl + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + token + "\r\n\r\n";
  const auto t0 = std::chrono::steady_clock::now();
  std::string raw = raw_exchange(port(), request, 1200);
  const auto waited = std::chrono::steady_clock::now() - t0;
  ASSERT_EQ(raw.rfind("HTTP/1.1 200", 0), 0u) << raw.substr(0, 200);
  EXPECT_NE(to_lower(raw).find("transfer-encoding: chunked"), std::string::npos);
  // Still sending when the client gave up: the body has no end.
  EXPECT_GE(waited, std::chrono::milliseconds(1100));
  EXPECT_EQ(raw.find("0\r\n\r\n"), std::string::npos);
  EXPECT_GT(raw.size(), 1000u);
  // The server is not stuck on it.
  EXPECT_EQ(get(kUrl, token).status, 200);
}

TEST_F(FaultsTest, ResetClosesWithoutResponse) {
  set_faults(json::array({{{"kind", "reset"}, {"times", 2}}}));
  const std::string request =
      "GET " + kUrl + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + token + "\r\n\r\n";
  EXPECT_EQ(raw_exchange(port(), request), "");
  Reply r = get(kUrl, token);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(get(kUrl, token).status, 200);
  json stats = admin_get("/_mock/stats").body_json();
  EXPECT_EQ(stats["responses_by_status"]["0"], 2);
  EXPECT_EQ(stats["in_flight_total"], 0);
}

TEST_F(FaultsTest, HangTimesOutClientWithoutBlockingOthers) {
  set_faults(json::array({{{"kind", "hang"}, {"times", 3}, {"path", kDc}}}));
  std::vector<std::future<Reply>> hung;
  for (int i = 0; i < 3; ++i) {
    hung.push_back(std::async(std::launch::async, [this] {
      auto c = client(1);  // 1 s read timeout
      auto res = c->Get(kUrl.c_str(), {{"Authorization", "Bearer " + token}});
      Reply r;
      r.ok = static_cast<bool>(res);
      if (res) r.status = res->status;
      return r;
    }));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  // Meanwhile other requests are served at once.
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 5; ++i)
    EXPECT_EQ(get("/beta/deviceManagement/deviceCompliancePolicies", token).status, 200);
  auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
          .count();
  EXPECT_LT(ms, 500);
  for (auto &f : hung) EXPECT_FALSE(f.get().ok);
  // The hung handlers notice their clients left and release their threads.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  json stats = admin_get("/_mock/stats").body_json();
  EXPECT_EQ(stats["in_flight_total"], 0);
  EXPECT_EQ(stats["faults_fired"]["hang"], 3);
}

TEST_F(FaultsTest, NextLinkFaults) {
  const std::string base = "http://127.0.0.1:" + std::to_string(port());
  set_faults(json::array({{{"kind", "foreign_next_link"}, {"times", 1}}}));
  json page = get(kUrl, token).body_json();
  std::string next = page["@odata.nextLink"];
  ASSERT_EQ(next.rfind("http://127.0.0.1:" + std::to_string(foreign_port()) + "/beta/" + kDc +
                           "?$skiptoken=",
                       0),
            0u)
      << next;

  set_faults(json::array({{{"kind", "foreign_next_link"}, {"times", 1}, {"variant", "scheme"}}}));
  next = get(kUrl, token).body_json()["@odata.nextLink"];
  EXPECT_EQ(next.rfind("https://127.0.0.1:" + std::to_string(port()) + "/beta/" + kDc + "?", 0), 0u)
      << next;

  set_faults(json::array({{{"kind", "foreign_next_link"}, {"times", 1}, {"variant", "version"}}}));
  next = get(kUrl, token).body_json()["@odata.nextLink"];
  EXPECT_EQ(next.rfind(base + "/v1.0/" + kDc + "?", 0), 0u) << next;

  // Loop: the nextLink of a page is that page's own URL.
  json first = get(kUrl, token).body_json();
  const std::string second_url = first["@odata.nextLink"];
  set_faults(json::array({{{"kind", "loop_next_link"}, {"times", 1}}}));
  json second = get(second_url, token).body_json();
  EXPECT_EQ(second["@odata.nextLink"], second_url);
  set_faults(json::array({{{"kind", "loop_next_link"}, {"times", 1}}}));
  EXPECT_EQ(get(kUrl, token).body_json()["@odata.nextLink"], base + kUrl);
}

TEST_F(FaultsTest, ForeignListenerRecordsRequests) {
  httplib::Client foreign("127.0.0.1", foreign_port());
  auto r1 = foreign.Get("/beta/deviceManagement/deviceConfigurations?$skiptoken=abc",
                        {{"Authorization", "Bearer leaked-token"}});
  ASSERT_TRUE(r1);
  EXPECT_EQ(r1->status, 200);
  EXPECT_EQ(json::parse(r1->body)["value"], json::array());
  auto r2 = foreign.Get("/v1.0/other");
  ASSERT_TRUE(r2);
  json stats = admin_get("/_mock/stats").body_json();
  json fr = stats["foreign_requests"];
  ASSERT_EQ(fr.size(), 2u);
  EXPECT_EQ(fr[0]["method"], "GET");
  EXPECT_EQ(fr[0]["path"], "/beta/deviceManagement/deviceConfigurations");
  EXPECT_EQ(fr[0]["had_auth"], true);
  EXPECT_EQ(fr[0]["authorization"], "Bearer leaked-token");
  EXPECT_EQ(fr[1]["had_auth"], false);
  EXPECT_EQ(stats["foreign_port"], foreign_port());
  EXPECT_EQ(stats["requests_total"], 0);  // foreign requests are not Graph requests of the mock
}

TEST_F(FaultsTest, TokenEndpointFaults) {
  set_faults(json::array(
      {{{"kind", "token_throttle"}, {"path", "token"}, {"times", 1}, {"retry_after", "3"}},
       {{"kind", "token_error"}, {"path", "token"}, {"times", 1}}}));
  const std::string form =
      "client_id=a&client_secret=mock-secret&grant_type=client_credentials&"
      "scope=https%3A%2F%2Fgraph.microsoft.com%2F.default";
  Reply r = post_form("/" + tenant() + "/oauth2/v2.0/token", form);
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.header("Retry-After"), "3");
  r = post_form("/" + tenant() + "/oauth2/v2.0/token", form);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body_json()["error"], "invalid_scope");
  EXPECT_EQ(post_form("/" + tenant() + "/oauth2/v2.0/token", form).status, 200);
  // "*" never hits the token endpoint.
  set_faults(json::array({{{"kind", "server_error"}, {"times", -1}}}));
  EXPECT_EQ(post_form("/" + tenant() + "/oauth2/v2.0/token", form).status, 200);
  json stats = admin_get("/_mock/stats").body_json();
  EXPECT_EQ(stats["token_responses_by_status"]["429"], 1);
  EXPECT_EQ(stats["token_responses_by_status"]["400"], 1);
  // Raw bodies on the token endpoint too (e.g. a proxy echoing the request).
  set_faults(json::array({{{"kind", "token_error"},
                           {"path", "token"},
                           {"body", "blocked: client_secret=x"},
                           {"content_type", "text/plain"}}}));
  r = post_form("/" + tenant() + "/oauth2/v2.0/token", form);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, "blocked: client_secret=x");
  EXPECT_EQ(r.header("Content-Type"), "text/plain");
}

TEST_F(FaultsTest, StatsRecordRequests) {
  ASSERT_EQ(admin_post("/_mock/reset-stats", json::object()).status, 200);
  set_faults(json::array({{{"kind", "throttle"}, {"times", 1}}}));
  get(kUrl, token, {{"client-request-id", "c-1"}});
  get(kUrl, token, {{"client-request-id", "c-1"}, {"Retry-Attempt", "1"}});
  get(kUrl);
  json s = admin_get("/_mock/stats").body_json();
  EXPECT_EQ(s["requests_total"], 3);
  EXPECT_EQ(s["requests_by_tenant"][tenant()], 2);
  EXPECT_EQ(s["responses_by_status"]["429"], 1);
  EXPECT_EQ(s["responses_by_status"]["200"], 1);
  EXPECT_EQ(s["responses_by_status"]["401"], 1);
  EXPECT_EQ(s["retry_attempt_headers"], 1);
  EXPECT_EQ(s["token_requests"], 0);
  ASSERT_EQ(s["requests"].size(), 3u);
  json r0 = s["requests"][0];
  EXPECT_EQ(r0["tenant"], tenant());
  EXPECT_EQ(r0["path"], kDc);
  EXPECT_EQ(r0["status"], 429);
  EXPECT_EQ(r0["client_request_id"], "c-1");
  EXPECT_EQ(r0["fault"], "throttle");
  EXPECT_EQ(r0["had_auth"], true);
  EXPECT_EQ(s["requests"][1]["retry_attempt"], "1");
  EXPECT_EQ(s["requests"][2]["had_auth"], false);
  EXPECT_TRUE(s["requests"][2]["tenant"].is_null());
}

// Hostile modes: headers echoing the credentials, a token endpoint answering
// any body, a listing with a new URL on every page.
TEST_F(FaultsTest, HostileHeadersTokenBodiesAndUniqueLinks) {
  set_faults(json::array({{{"kind", "throttle"}, {"times", 1}, {"retry_after", "0"},
                           {"headers", {{"request-id", "rid-{{bearer}}"}}}}}));
  Reply r = get(kUrl, token);
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.header("request-id"), "rid-" + token);

  set_faults(json::array({{{"path", "token"}, {"kind", "token_throttle"}, {"times", 1},
                           {"headers", {{"request-id", "rid-{{client_secret}}"}}}}}));
  r = post_form("/" + tenant() + "/oauth2/v2.0/token",
                "grant_type=client_credentials&client_id=11111111-2222-3333-4444-555555555555&client_secret=abc%2Bdef"
                "&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default");
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.header("request-id"), "rid-abc+def");

  set_faults(json::array({{{"path", "token"}, {"kind", "page_body"}, {"times", 1},
                           {"body", "{\"access_token\":\"a\\r\\nb\",\"expires_in\":10}"}}}));
  r = post_form("/" + tenant() + "/oauth2/v2.0/token", "grant_type=client_credentials");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body_json()["access_token"], "a\r\nb");

  set_faults(json::array({{{"path", kDc}, {"kind", "page_body"}, {"times", 2},
                           {"body", "{\"@odata.nextLink\":\"{{unique_next_link}}\",\"value\":[]}"}}}));
  const std::string first = get(kUrl, token).body_json()["@odata.nextLink"];
  const std::string second = get(first, token).body_json()["@odata.nextLink"];
  EXPECT_NE(first, second);
  EXPECT_EQ(path_of(first).substr(0, path_of(first).find('?')), kUrl);
  EXPECT_EQ(path_of(second).substr(0, path_of(second).find('?')), kUrl);
}

}  // namespace
}  // namespace tinv::mock::test
