// Admin API: counts, deletions, renames, touches, state file, robustness.
#include <unistd.h>

#include <cstdio>
#include <map>

#include "support.h"
#include "util.h"

namespace tinv::mock::test {
namespace {

const std::string kDc = "deviceManagement/deviceConfigurations";
const std::string kCp = "deviceManagement/configurationPolicies";

std::map<std::string, json> by_id(const std::vector<json> &items) {
  std::map<std::string, json> out;
  for (auto &i : items) out[i["id"].get<std::string>()] = i;
  return out;
}

json without(json item, std::initializer_list<const char *> keys) {
  for (const char *k : keys) item.erase(k);
  return item;
}

class AdminTest : public MockFixture {
 public:
  void SetUp() override {
    MockFixture::SetUp();
    token = token_for(tenant());
  }
  Reply tenant_post(const std::string &action, const json &body) {
    return admin_post("/_mock/tenant/" + tenant() + "/" + action, body);
  }
  std::string token;
};

TEST_F(AdminTest, HealthAndTenants) {
  json h = admin_get("/_mock/health").body_json();
  EXPECT_EQ(h["ok"], true);
  EXPECT_EQ(h["port"], port());
  json t = admin_get("/_mock/tenants").body_json()["tenants"];
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(t[0], derived_uuid("tenant:unit-test:0"));
  EXPECT_EQ(t[1], derived_uuid("tenant:unit-test:1"));
  EXPECT_TRUE(is_uuid(t[0].get<std::string>()));
}

TEST_F(AdminTest, CountDeleteRestore) {
  ASSERT_EQ(tenant_post("items", {{"path", kDc}, {"count", 70}}).status, 200);
  auto before = walk(*this, "/beta/" + kDc, token);
  ASSERT_EQ(before.size(), 70u);
  Reply r = tenant_post("delete", {{"path", kDc}, {"indexes", {0, 5, 29, 30, 69}}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body_json()["changed"], 5);
  auto after = walk(*this, "/beta/" + kDc, token);
  ASSERT_EQ(after.size(), 65u);
  auto ids = by_id(after);
  for (uint64_t i : {0, 5, 29, 30, 69})
    EXPECT_FALSE(ids.count(Generator::item_id(tenant(), kDc, i)));
  // Survivors are byte-identical.
  auto old = by_id(before);
  for (auto &[id, item] : ids) EXPECT_EQ(item.dump(), old[id].dump());
  // A range delete that spans whole pages still walks every survivor once
  // (0, 5 and 69 plus 10..49 are gone).
  ASSERT_EQ(tenant_post("delete", {{"path", kDc}, {"range", {10, 50}}}).status, 200);
  EXPECT_EQ(walk(*this, "/beta/" + kDc, token).size(), 27u);
  ASSERT_EQ(tenant_post("restore", {{"path", kDc}, {"range", {0, 70}}}).status, 200);
  auto restored = walk(*this, "/beta/" + kDc, token);
  ASSERT_EQ(restored.size(), 70u);
  for (size_t i = 0; i < 70; ++i) EXPECT_EQ(restored[i].dump(), before[i].dump());
  // Growing the count appends new items and keeps the old ones.
  ASSERT_EQ(tenant_post("items", {{"path", kDc}, {"count", 75}}).status, 200);
  auto grown = walk(*this, "/beta/" + kDc, token);
  ASSERT_EQ(grown.size(), 75u);
  EXPECT_EQ(grown[69].dump(), before[69].dump());
}

TEST_F(AdminTest, RenameChangesNameAndContentKeepsId) {
  auto before = walk(*this, "/beta/" + kCp, token);
  ASSERT_EQ(tenant_post("rename", {{"path", kCp}, {"indexes", {3}}, {"suffix", " (v2)"}}).status,
            200);
  auto after = walk(*this, "/beta/" + kCp, token);
  ASSERT_EQ(after.size(), before.size());
  EXPECT_EQ(after[3]["id"], before[3]["id"]);
  EXPECT_EQ(after[3]["name"], before[3]["name"].get<std::string>() + " (v2)");
  EXPECT_NE(after[3]["description"], before[3]["description"]);
  for (size_t i = 0; i < after.size(); ++i)
    if (i != 3) {
      EXPECT_EQ(after[i].dump(), before[i].dump());
    }
  // Default suffix, applied twice.
  ASSERT_EQ(tenant_post("rename", {{"path", kDc}, {"indexes", {1}}}).status, 200);
  ASSERT_EQ(tenant_post("rename", {{"path", kDc}, {"indexes", {1}}}).status, 200);
  json item = get("/beta/" + kDc, token).body_json()["value"][1];
  const std::string name = item["displayName"];
  EXPECT_EQ(name.substr(name.size() - 20), " (renamed) (renamed)");
}

TEST_F(AdminTest, TouchChangesOnlyVolatileKeys) {
  auto before = walk(*this, "/beta/" + kDc, token);
  ASSERT_EQ(tenant_post("touch", {{"path", kDc}, {"indexes", {2, 7}}}).status, 200);
  auto after = walk(*this, "/beta/" + kDc, token);
  for (size_t i = 0; i < after.size(); ++i) {
    if (i == 2 || i == 7) {
      EXPECT_NE(after[i]["lastModifiedDateTime"], before[i]["lastModifiedDateTime"]);
      EXPECT_EQ(after[i]["version"], before[i]["version"].get<int>() + 1);
      EXPECT_EQ(without(after[i], {"lastModifiedDateTime", "version"}),
                without(before[i], {"lastModifiedDateTime", "version"}));
    } else {
      EXPECT_EQ(after[i].dump(), before[i].dump());
    }
  }
  // The item endpoint shows the same object and whether it is listed.
  json one = admin_get("/_mock/tenant/" + tenant() + "/item?path=" + kDc + "&index=2").body_json();
  EXPECT_EQ(one["listed"], true);
  EXPECT_EQ(one["item"], after[2]);
}

TEST_F(AdminTest, StateFileRoundTrip) {
  const std::string dir = make_temp_dir("mock-state");
  ASSERT_FALSE(dir.empty());
  const std::string file = dir + "/state.json";
  Config c = config_;
  c.state_file = file;
  restart(c);
  token = token_for(tenant());
  const std::string extra = "0a1b2c3d-0000-4000-8000-00000000beef";
  ASSERT_EQ(tenant_post("items", {{"path", kDc}, {"count", 40}}).status, 200);
  ASSERT_EQ(tenant_post("delete", {{"path", kDc}, {"indexes", {1, 2}}}).status, 200);
  ASSERT_EQ(tenant_post("rename", {{"path", kDc}, {"indexes", {3}}, {"suffix", " ✓ ren"}}).status,
            200);
  ASSERT_EQ(tenant_post("touch", {{"path", kDc}, {"indexes", {4, 4}}}).status, 200);
  ASSERT_EQ(tenant_post("credentials", {{"client_secret", "persisted-secret"}}).status, 200);
  ASSERT_EQ(admin_post("/_mock/tenant/" + extra + "/items", {{"path", kCp}, {"count", 3}}).status,
            200);
  auto before = walk(*this, "/beta/" + kDc, token);
  ASSERT_EQ(before.size(), 38u);
  std::string saved;
  ASSERT_TRUE(read_file(file, saved));
  EXPECT_FALSE(json::parse(saved, nullptr, false).is_discarded());

  restart(c);  // a new process-equivalent server loading the file
  config_.client_secret = "persisted-secret";
  const std::string t2 = token_for(tenant());
  config_.client_secret = c.client_secret;  // the other tenant kept the default
  ASSERT_FALSE(t2.empty());
  auto after = walk(*this, "/beta/" + kDc, t2);
  ASSERT_EQ(after.size(), before.size());
  for (size_t i = 0; i < after.size(); ++i) EXPECT_EQ(after[i].dump(), before[i].dump());
  json tenants = admin_get("/_mock/tenants").body_json()["tenants"];
  EXPECT_NE(std::find(tenants.begin(), tenants.end(), extra), tenants.end());
  EXPECT_EQ(walk(*this, "/beta/" + kCp, token_for(extra)).size(), 3u);
  std::remove(file.c_str());
  rmdir(dir.c_str());
}

TEST_F(AdminTest, BadInputNeverBreaksTheServer) {
  EXPECT_EQ(admin_post("/_mock/tenant/not-a-uuid/items", {{"path", kDc}, {"count", 1}}).status,
            400);
  EXPECT_EQ(tenant_post("items", {{"path", kDc}, {"count", -1}}).status, 400);
  EXPECT_EQ(tenant_post("items", {{"count", 3}}).status, 400);
  EXPECT_EQ(tenant_post("delete", {{"path", kDc}, {"indexes", {"a"}}}).status, 400);
  EXPECT_EQ(tenant_post("delete", {{"path", kDc}, {"range", {5, 1}}}).status, 400);
  EXPECT_EQ(tenant_post("delete", {{"path", kDc}, {"range", {0, 100000000}}}).status, 400);
  EXPECT_EQ(tenant_post("credentials", {{"nothing", 1}}).status, 400);
  EXPECT_EQ(admin_post("/_mock/latency", {{"delay_ms", "x"}}).status, 400);
  auto c = client();
  auto r = c->Post("/_mock/faults", "{not json", "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  r = c->Get("/_mock/nope");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  // Graph: other methods, odd paths.
  r = c->Post("/beta/deviceManagement/deviceConfigurations", {{"Authorization", "Bearer " + token}},
              "{}", "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 405);
  EXPECT_EQ(get("/beta/", token).status, 400);
  EXPECT_EQ(get("/beta/a%00b/%ff%fe", token).status, 200);
  EXPECT_EQ(get("/beta/x?$skiptoken=%%%&&&$top=", token).status, 400);
  EXPECT_EQ(
      get("/beta/deviceManagement/deviceConfigurations", token, {{"Host", "bad host\x01"}}).status,
      200);
  // Raw garbage on the socket.
  raw_exchange(port(), std::string("\x16\x03\x01\x02\x00garbage\r\n\r\n", 16), 500);
  raw_exchange(port(), "GET /" + std::string(10000, 'a') + " HTTP/1.1\r\n\r\n", 500);
  raw_exchange(port(), "POST /_mock/faults HTTP/1.1\r\nContent-Length: 99999\r\n\r\n[", 300);
  EXPECT_EQ(admin_get("/_mock/health").status, 200);
  EXPECT_EQ(get("/beta/deviceManagement/deviceConfigurations", token).status, 200);
}

}  // namespace
}  // namespace tinv::mock::test
