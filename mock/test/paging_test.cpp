// Graph listings: generation, page sizes, nextLink/skiptoken handling.
#include "paging.h"

#include <chrono>
#include <regex>
#include <set>

#include "generator.h"
#include "support.h"
#include "util.h"

namespace tinv::mock::test {
namespace {

const std::string kDc = "deviceManagement/deviceConfigurations";
const std::string kCp = "deviceManagement/configurationPolicies";

class PagingTest : public MockFixture {
 public:
  void SetUp() override {
    MockFixture::SetUp();
    token = token_for(tenant());
  }
  void set_count(const std::string &path, uint64_t n) {
    Reply r = admin_post("/_mock/tenant/" + tenant() + "/items", {{"path", path}, {"count", n}});
    ASSERT_EQ(r.status, 200) << r.body;
  }
  std::string token;
};

TEST_F(PagingTest, WalkFollowsNextLinkAndSeesEveryItemExactlyOnce) {
  set_count(kDc, 137);
  int pages = 0;
  std::vector<json> items = walk(*this, "/beta/" + kDc, token, &pages);
  ASSERT_EQ(items.size(), 137u);
  EXPECT_EQ(pages, 5);  // 30 per page
  std::set<std::string> ids;
  for (size_t i = 0; i < items.size(); ++i) {
    EXPECT_EQ(items[i]["id"], Generator::item_id(tenant(), kDc, i));
    ids.insert(items[i]["id"].get<std::string>());
  }
  EXPECT_EQ(ids.size(), 137u);
}

TEST_F(PagingTest, NextLinkIsAbsoluteSameHostAndDoubleEncoded) {
  Reply r = get("/beta/" + kCp + "?$top=10&$select=id,name", token);
  ASSERT_EQ(r.status, 200) << r.body;
  json page = r.body_json();
  const std::string next = page["@odata.nextLink"];
  const std::string prefix = "http://127.0.0.1:" + std::to_string(port()) + "/beta/" + kCp +
                             "?$top=10&$select=id,name&$skiptoken=";
  ASSERT_EQ(next.rfind(prefix, 0), 0u) << next;
  const std::string tok = next.substr(prefix.size());
  EXPECT_EQ(tok.rfind("%252b", 0), 0u) << tok;
  EXPECT_NE(tok.find("%253d"), std::string::npos) << tok;
  EXPECT_TRUE(std::regex_match(tok, std::regex("[A-Za-z0-9%]+")));
  EXPECT_EQ(page["@odata.context"],
            "http://127.0.0.1:" + std::to_string(port()) + "/beta/$metadata#" + kCp);
  // The Host header decides the link's authority.
  Reply other = get("/beta/" + kCp, token, {{"Host", "graph.example.test:8443"}});
  EXPECT_EQ(other.body_json()["@odata.nextLink"].get<std::string>().rfind(
                "http://graph.example.test:8443/beta/" + kCp + "?$skiptoken=", 0),
            0u);
  // $select keeps id, @odata.type and the selected fields only.
  for (auto &item : page["value"]) {
    EXPECT_EQ(item.size(), 3u) << item.dump();
    EXPECT_TRUE(item.contains("name"));
  }
}

TEST_F(PagingTest, AlteredSkiptokenIsRejectedWith400) {
  set_count(kDc, 100);
  json first = get("/beta/" + kDc + "?$top=5", token).body_json();
  const std::string next = first["@odata.nextLink"];
  ASSERT_EQ(get(next, token).status, 200);

  auto expect_400 = [&](const std::string &url, const char *what) {
    Reply r = get(url, token);
    EXPECT_EQ(r.status, 400) << what << ": " << url;
    if (r.status == 400) {
      json j = r.body_json();
      EXPECT_EQ(j["error"]["code"], "BadRequest");
      EXPECT_NE(j["error"]["message"].get<std::string>().find("skiptoken"), std::string::npos);
    }
  };
  auto replace_all = [](std::string s, const std::string &from, const std::string &to) {
    for (size_t p = s.find(from); p != std::string::npos; p = s.find(from, p + to.size()))
      s.replace(p, from.size(), to);
    return s;
  };
  // Uppercase hex, as a re-encoding client would write it.
  expect_400(replace_all(replace_all(next, "%252b", "%252B"), "%253d", "%253D"), "uppercased");
  // Decoded once.
  expect_400(replace_all(next, "%25", "%"), "decoded once");
  // Decoded completely.
  expect_400(replace_all(replace_all(replace_all(next, "%252b", "+"), "%253d", "="), "%252f", "/"),
             "decoded twice");
  // Encoded key.
  expect_400(replace_all(next, "$skiptoken", "%24skiptoken"), "encoded key");
  // Other parameters changed: the token is bound to the query it was issued with.
  expect_400(replace_all(next, "$top=5", "$top=6"), "changed $top");
  // Another path.
  expect_400(replace_all(next, "deviceConfigurations", "deviceCompliancePolicies"), "other path");
  // Another tenant's token.
  json tenants = admin_get("/_mock/tenants").body_json()["tenants"];
  Reply r = get(next, token_for(tenants[1]));
  EXPECT_EQ(r.status, 400);
  // Garbage.
  expect_400("/beta/" + kDc + "?$top=5&$skiptoken=%252bAAAA", "garbage");
  expect_400("/beta/" + kDc + "?$top=5&$skiptoken=", "empty");
}

TEST_F(PagingTest, PageSizesAndTop) {
  set_count(kCp, 100);
  set_count(kDc, 100);
  set_count("deviceAppManagement/mobileApps", 100);
  json cp = get("/beta/" + kCp, token).body_json();
  EXPECT_EQ(cp["value"].size(), 25u);
  EXPECT_EQ(cp["@odata.count"], 25);
  EXPECT_EQ(get("/beta/" + kDc, token).body_json()["value"].size(), 30u);
  json apps = get("/beta/deviceAppManagement/mobileApps", token).body_json();
  EXPECT_EQ(apps["value"].size(), 50u);
  EXPECT_FALSE(apps.contains("@odata.count"));
  EXPECT_EQ(get("/beta/" + kDc + "?$top=7", token).body_json()["value"].size(), 7u);
  EXPECT_EQ(get("/beta/" + kDc + "?$top=999", token).body_json()["value"].size(), 30u);
  for (const char *bad : {"0", "1000", "abc", "-1", ""})
    EXPECT_EQ(get("/beta/" + kDc + "?$top=" + bad, token).status, 400) << bad;
  // The last page has no nextLink; an empty listing is one empty page.
  set_count("deviceManagement/intents", 0);
  json empty = get("/beta/deviceManagement/intents", token).body_json();
  EXPECT_TRUE(empty["value"].empty());
  EXPECT_FALSE(empty.contains("@odata.nextLink"));
}

TEST_F(PagingTest, ItemsAreDeterministicAndShapedPerPath) {
  set_count(kCp, 60);
  set_count(kDc, 60);
  Reply a = get("/beta/" + kDc, token);
  Reply b = get("/beta/" + kDc, token_for(tenant()));
  EXPECT_EQ(a.body_json()["value"], b.body_json()["value"]);
  // A second server with the same seed generates the same bytes.
  MockServer other(config_);
  std::string error;
  ASSERT_TRUE(other.start(error)) << error;
  httplib::Client cli("127.0.0.1", other.port());
  auto tok = cli.Post(("/" + tenant() + "/oauth2/v2.0/token").c_str(),
                      "client_id=x&client_secret=mock-secret&grant_type=client_credentials&scope="
                      "https%3A%2F%2Fgraph.microsoft.com%2F.default",
                      "application/x-www-form-urlencoded");
  ASSERT_TRUE(tok);
  auto res = cli.Get(
      ("/beta/" + kDc).c_str(),
      {{"Authorization", "Bearer " + json::parse(tok->body)["access_token"].get<std::string>()}});
  ASSERT_TRUE(res);
  EXPECT_EQ(json::parse(res->body)["value"].dump(), a.body_json()["value"].dump());
  other.stop();

  // Settings catalog: "name", platforms/technologies/settingCount/templateReference.
  std::vector<json> cp = walk(*this, "/beta/" + kCp, token);
  ASSERT_EQ(cp.size(), 60u);
  for (auto &item : cp) {
    EXPECT_TRUE(item.contains("name"));
    EXPECT_FALSE(item.contains("displayName"));
    EXPECT_EQ(item["@odata.type"], "#microsoft.graph.deviceManagementConfigurationPolicy");
    EXPECT_TRUE(item["platforms"].is_string());
    EXPECT_TRUE(item["technologies"].is_string());
    EXPECT_TRUE(item["settingCount"].is_number_integer());
    EXPECT_TRUE(item["templateReference"].is_object());
    EXPECT_TRUE(item["roleScopeTagIds"].is_array());
  }
  std::vector<json> dc = walk(*this, "/beta/" + kDc, token);
  bool unicode = false, tab = false, quote = false, emoji = false, null_description = false;
  std::set<std::string> types;
  for (auto &item : dc) {
    EXPECT_TRUE(item.contains("displayName"));
    EXPECT_TRUE(item["version"].is_number_integer());
    EXPECT_TRUE(item["roleScopeTagIds"].is_array());
    types.insert(item["@odata.type"].get<std::string>());
    const std::string name = item["displayName"];
    unicode |= name.find("Ünïcödé") != std::string::npos;
    tab |= name.find('\t') != std::string::npos;
    quote |= name.find('"') != std::string::npos;
    emoji |= name.find("\xF0\x9F\x94\x92") != std::string::npos;
    null_description |= item["description"].is_null();
  }
  EXPECT_TRUE(unicode && tab && quote && emoji && null_description);
  EXPECT_GT(types.size(), 2u);
  // v1.0 is the narrower shape.
  json v1 = get("/v1.0/" + kDc, token).body_json()["value"][0];
  EXPECT_FALSE(v1.contains("roleScopeTagIds"));
  EXPECT_EQ(v1["id"], dc[0]["id"]);
  // Other tenants get other ids.
  json tenants = admin_get("/_mock/tenants").body_json()["tenants"];
  json other_first = get("/beta/" + kDc, token_for(tenants[1])).body_json()["value"][0];
  EXPECT_NE(other_first["id"], dc[0]["id"]);
}

TEST_F(PagingTest, ResponseHeaders) {
  Reply a = get("/beta/" + kDc, token, {{"client-request-id", "abc-123"}});
  ASSERT_EQ(a.status, 200);
  EXPECT_EQ(a.header("client-request-id"), "abc-123");
  EXPECT_TRUE(is_uuid(a.header("request-id")));
  EXPECT_EQ(a.header("Content-Type").rfind("application/json", 0), 0u);
  Reply b = get("/beta/" + kDc, token);
  EXPECT_TRUE(is_uuid(b.header("client-request-id")));
  EXPECT_NE(a.header("request-id"), b.header("request-id"));
}

// Serving a page deep inside a huge listing costs the same as the first page.
TEST_F(PagingTest, PageCostIndependentOfListingSize) {
  set_count(kDc, 1000000);
  PageBinding binding{tenant(), "beta", kDc, ""};
  const std::string deep = "/beta/" + kDc + "?$skiptoken=" + encode_skiptoken(999990, binding);
  auto time_ms = [&](const std::string &url) {
    auto t0 = std::chrono::steady_clock::now();
    Reply r = get(url, token);
    EXPECT_EQ(r.status, 200);
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  };
  json last = get(deep, token).body_json();
  ASSERT_EQ(last["value"].size(), 10u);
  EXPECT_FALSE(last.contains("@odata.nextLink"));
  EXPECT_EQ(last["value"][9]["id"], Generator::item_id(tenant(), kDc, 999999));
  double best_deep = 1e9, best_first = 1e9;
  for (int i = 0; i < 5; ++i) {
    best_deep = std::min(best_deep, time_ms(deep));
    best_first = std::min(best_first, time_ms("/beta/" + kDc));
  }
  EXPECT_LT(best_deep, 50.0);
  EXPECT_LT(best_first, 50.0);
}

TEST_F(PagingTest, LargeListingWalksQuickly) {
  set_count("deviceManagement/groupPolicyConfigurations", 20000);
  auto t0 = std::chrono::steady_clock::now();
  int pages = 0;
  std::vector<json> items =
      walk(*this, "/beta/deviceManagement/groupPolicyConfigurations", token, &pages);
  double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(items.size(), 20000u);
  EXPECT_EQ(pages, 400);
  std::set<std::string> ids;
  for (auto &i : items) ids.insert(i["id"].get<std::string>());
  EXPECT_EQ(ids.size(), 20000u);
  RecordProperty("walk_ms", std::to_string(static_cast<int>(ms)));
  std::printf("walked 20000 items in %d pages: %.0f ms\n", pages, ms);
}

}  // namespace
}  // namespace tinv::mock::test
