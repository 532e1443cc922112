// GET of one object (/{version}/{collection}/{id}), hidden items, and the
// faults and stats of those GETs: what inventory-fetch's absence checks meet.
#include <unistd.h>

#include <cstdio>
#include <map>

#include "support.h"
#include "util.h"

namespace tinv::mock::test {
namespace {

const std::string kDc = "deviceManagement/deviceConfigurations";
const std::string kCp = "deviceManagement/configurationPolicies";

std::string to_upper_copy(std::string s) {
  for (char &c : s)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return s;
}

class ItemTest : public MockFixture {
 public:
  void SetUp() override {
    MockFixture::SetUp();
    token = token_for(tenant());
    ASSERT_EQ(tenant_post("items", {{"path", kDc}, {"count", 40}}).status, 200);
  }
  Reply tenant_post(const std::string &action, const json &body) {
    return admin_post("/_mock/tenant/" + tenant() + "/" + action, body);
  }
  std::string id(uint64_t index, const std::string &path = kDc) const {
    return Generator::item_id(tenant(), path, index);
  }
  Reply get_item(uint64_t index, const std::string &version = "beta") const {
    return get("/" + version + "/" + kDc + "/" + id(index), token);
  }
  std::map<std::string, json> listed() const {
    std::map<std::string, json> out;
    for (auto &i : walk(*this, "/beta/" + kDc, token)) out[i["id"].get<std::string>()] = i;
    return out;
  }
  json stats() const { return admin_get("/_mock/stats").body_json(); }
  std::string token;
};

TEST_F(ItemTest, AnItemIsTheListedObject) {
  auto items = listed();
  ASSERT_EQ(items.size(), 40u);
  for (uint64_t i : {0, 7, 39}) {
    Reply r = get_item(i);
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_NE(r.header("request-id"), "");
    json body = r.body_json();
    EXPECT_EQ(body["@odata.context"].get<std::string>().find("/beta/$metadata#" + kDc + "/$entity"),
              body["@odata.context"].get<std::string>().size() -
                  ("/beta/$metadata#" + kDc + "/$entity").size());
    body.erase("@odata.context");
    EXPECT_EQ(body, items[id(i)]);
  }
  // v1.0 answers the v1.0 shape; any case of the GUID finds it.
  json v1 = get_item(3, "v1.0").body_json();
  EXPECT_FALSE(v1.contains("roleScopeTagIds"));
  EXPECT_EQ(v1["id"], id(3));
  EXPECT_EQ(get("/beta/" + kDc + "/" + to_upper_copy(id(3)), token).status, 200);
}

TEST_F(ItemTest, DeletedOrNeverGeneratedIsNotFound) {
  ASSERT_EQ(tenant_post("delete", {{"path", kDc}, {"indexes", {5}}}).status, 200);
  Reply r = get_item(5);
  EXPECT_EQ(r.status, 404);
  json e = r.body_json();
  EXPECT_EQ(e["error"]["code"], "ResourceNotFound");
  EXPECT_EQ(e["error"]["innerError"]["request-id"], r.header("request-id"));
  // Past the count, another collection's id, a GUID never generated.
  EXPECT_EQ(get_item(40).status, 404);
  EXPECT_EQ(get("/beta/" + kDc + "/" + id(1, kCp), token).status, 404);
  EXPECT_EQ(get("/beta/" + kDc + "/0b7d2a1e-0000-4000-8000-00000000abcd", token).status, 404);
  // An id that is no GUID (a hostile page made it up) below a listed
  // collection is an object Graph does not know, not a listing.
  EXPECT_EQ(get("/beta/" + kDc + "/h-app-000001", token).status, 404);
  EXPECT_EQ(get("/v1.0/identity/conditionalAccess/policies/not-a-guid", token).status, 404);
  EXPECT_EQ(get("/v1.0/identity/conditionalAccess/policies", token).status, 200);
  // Restored: found again. A lowered count hides the tail, a raised one brings it.
  ASSERT_EQ(tenant_post("restore", {{"path", kDc}, {"indexes", {5}}}).status, 200);
  EXPECT_EQ(get_item(5).status, 200);
  ASSERT_EQ(tenant_post("items", {{"path", kDc}, {"count", 10}}).status, 200);
  EXPECT_EQ(get_item(20).status, 404);
  ASSERT_EQ(tenant_post("items", {{"path", kDc}, {"count", 60}}).status, 200);
  EXPECT_EQ(get_item(20).status, 200);
  EXPECT_EQ(get_item(55).status, 200);
}

TEST_F(ItemTest, HiddenItemsAreLeftOutOfTheListingButFound) {
  Reply h = tenant_post("hide", {{"path", kDc}, {"indexes", {2, 3}}, {"range", {30, 40}}});
  ASSERT_EQ(h.status, 200) << h.body;
  EXPECT_EQ(h.body_json()["changed"], 12);
  EXPECT_EQ(tenant_post("hide", {{"path", kDc}, {"indexes", {2}}}).body_json()["changed"], 0);
  auto items = listed();
  EXPECT_EQ(items.size(), 28u);
  EXPECT_FALSE(items.count(id(2)));
  EXPECT_FALSE(items.count(id(35)));
  EXPECT_EQ(get_item(2).status, 200);
  EXPECT_EQ(get_item(39).status, 200);
  json one = admin_get("/_mock/tenant/" + tenant() + "/item?path=" + kDc + "&index=2").body_json();
  EXPECT_EQ(one["listed"], false);
  EXPECT_EQ(one["exists"], true);
  EXPECT_EQ(one["hidden"], true);
  EXPECT_EQ(one["deleted"], false);
  // Deleting a hidden item: neither listed nor found.
  ASSERT_EQ(tenant_post("delete", {{"path", kDc}, {"indexes", {3}}}).status, 200);
  EXPECT_EQ(get_item(3).status, 404);
  one = admin_get("/_mock/tenant/" + tenant() + "/item?path=" + kDc + "&index=3").body_json();
  EXPECT_EQ(one["exists"], false);
  EXPECT_EQ(one["listed"], false);
  // unhide ends hiding only; restore brings an item back whatever kept it out.
  EXPECT_EQ(tenant_post("unhide", {{"path", kDc}, {"indexes", {2, 3}}}).body_json()["changed"], 2);
  EXPECT_EQ(get_item(3).status, 404);
  EXPECT_EQ(listed().size(), 29u);
  EXPECT_EQ(
      tenant_post("restore", {{"path", kDc}, {"indexes", {3, 30, 31}}}).body_json()["changed"], 3);
  items = listed();
  EXPECT_EQ(items.size(), 32u);
  EXPECT_TRUE(items.count(id(3)));
  EXPECT_TRUE(items.count(id(30)));
  // A renamed hidden item is found with its new name.
  ASSERT_EQ(tenant_post("rename", {{"path", kDc}, {"indexes", {33}}}).status, 200);
  EXPECT_NE(get_item(33).body_json()["displayName"].get<std::string>().find("(renamed)"),
            std::string::npos);
}

TEST_F(ItemTest, EditChangesTheContentButNotTheName) {
  const json before = get_item(4).body_json();
  Reply e = tenant_post("edit", {{"path", kDc}, {"indexes", {4}}});
  ASSERT_EQ(e.status, 200) << e.body;
  EXPECT_EQ(e.body_json()["changed"], 1);
  const json after = get_item(4).body_json();
  EXPECT_EQ(after["displayName"], before["displayName"]);
  EXPECT_EQ(after["description"].get<std::string>(),
            before["description"].is_null()
                ? std::string(" (edited)")
                : before["description"].get<std::string>() + " (edited)");
  EXPECT_NE(after["lastModifiedDateTime"], before["lastModifiedDateTime"]);
  EXPECT_EQ(after["version"].get<int64_t>(), before["version"].get<int64_t>() + 1);
  ASSERT_EQ(tenant_post("edit", {{"path", kDc}, {"indexes", {4}}, {"suffix", " v2"}}).status, 200);
  EXPECT_EQ(listed()[id(4)]["description"].get<std::string>().substr(
                after["description"].get<std::string>().size()),
            " v2");
  EXPECT_EQ(tenant_post("edit", {{"path", kDc}, {"indexes", {4}}, {"suffix", ""}}).status, 400);
}

TEST_F(ItemTest, SameAuthenticationAsListings) {
  Reply r = get("/beta/" + kDc + "/" + id(1));
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.body_json()["error"]["code"], "InvalidAuthenticationToken");
  EXPECT_NE(r.header("WWW-Authenticate"), "");
  EXPECT_EQ(get("/beta/" + kDc + "/" + id(1), "not-a-token").status, 401);
  // Another tenant's token does not see this tenant's item.
  const json tenants = admin_get("/_mock/tenants").body_json()["tenants"];
  const std::string other = tenants[1].get<std::string>();
  EXPECT_EQ(get("/beta/" + kDc + "/" + id(1), token_for(other)).status, 404);
}

TEST_F(ItemTest, StatsCountItemGetsApart) {
  ASSERT_EQ(admin_post("/_mock/reset-stats", json::object()).status, 200);
  ASSERT_EQ(tenant_post("delete", {{"path", kDc}, {"indexes", {4}}}).status, 200);
  walk(*this, "/beta/" + kDc, token);  // 2 pages
  get_item(1);
  get_item(4);
  get_item(4);
  json s = stats();
  EXPECT_EQ(s["requests_total"], 5);
  EXPECT_EQ(s["item_gets"], 3);
  EXPECT_EQ(s["item_gets_by_tenant"][tenant()], 3);
  EXPECT_EQ(s["item_get_responses_by_status"]["200"], 1);
  EXPECT_EQ(s["item_get_responses_by_status"]["404"], 2);
  int items = 0, pages = 0;
  for (const auto &r : s["requests"]) {
    if (r["item"] == true) {
      ++items;
      EXPECT_EQ(r["path"].get<std::string>().rfind(kDc + "/", 0), 0u) << r.dump();
    } else {
      ++pages;
      EXPECT_EQ(r["path"], kDc);
    }
  }
  EXPECT_EQ(items, 3);
  EXPECT_EQ(pages, 2);
  ASSERT_EQ(admin_post("/_mock/reset-stats", json::object()).status, 200);
  EXPECT_EQ(stats()["item_gets"], 0);
}

TEST_F(ItemTest, FaultsOfTheCollectionApplyAndRequestNarrowsThem) {
  // "request": "item": object GETs only.
  set_faults(
      json::array({{{"path", kDc}, {"kind", "server_error"}, {"times", -1}, {"request", "item"}}}));
  EXPECT_EQ(walk(*this, "/beta/" + kDc, token).size(), 40u);
  EXPECT_EQ(get_item(1).status, 500);
  // "request": "list": pages only.
  set_faults(
      json::array({{{"path", kDc}, {"kind", "server_error"}, {"times", -1}, {"request", "list"}}}));
  EXPECT_EQ(get("/beta/" + kDc, token).status, 500);
  EXPECT_EQ(get_item(1).status, 200);
  // Default: both, counted by the same rule.
  set_faults(
      json::array({{{"path", kDc}, {"kind", "throttle"}, {"retry_after", "2"}, {"times", 2}}}));
  EXPECT_EQ(get("/beta/" + kDc, token).status, 429);
  Reply t = get_item(1);
  EXPECT_EQ(t.status, 429);
  EXPECT_EQ(t.header("Retry-After"), "2");
  EXPECT_EQ(get_item(1).status, 200);
  json rules = admin_get("/_mock/faults").body_json();
  EXPECT_EQ(rules[0]["fired"], 2);
  EXPECT_EQ(rules[0]["request"], "any");
  // "*" reaches object GETs; the kinds that shape a page shape the object.
  set_faults(
      json::array({{{"path", "*"}, {"kind", "not_found"}, {"times", 1}},
                   {{"path", kDc}, {"kind", "truncated"}, {"times", 1}, {"after_pages", 1}}}));
  EXPECT_EQ(get_item(1).status, 404);
  Reply cut = get_item(1);
  EXPECT_FALSE(cut.ok && cut.status == 200 &&
               !json::parse(cut.body, nullptr, false).is_discarded());
  EXPECT_EQ(get_item(1).status, 200);
  EXPECT_EQ(stats()["faults_fired"]["not_found"], 1);
  // A bad "request" is refused and the list stays.
  Reply bad =
      admin_post("/_mock/faults",
                 json::array({{{"path", kDc}, {"kind", "server_error"}, {"request", "page"}}}));
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body_json()["error"].get<std::string>().find("\"request\""), std::string::npos)
      << bad.body;
  EXPECT_EQ(admin_get("/_mock/faults").body_json().size(), 2u);
}

TEST_F(ItemTest, HiddenAndEditedItemsSurviveARestart) {
  const std::string dir = make_temp_dir("mock-hidden");
  ASSERT_FALSE(dir.empty());
  const std::string file = dir + "/state.json";
  Config c = config_;
  c.state_file = file;
  restart(c);
  token = token_for(tenant());
  ASSERT_EQ(tenant_post("items", {{"path", kDc}, {"count", 40}}).status, 200);
  ASSERT_EQ(tenant_post("hide", {{"path", kDc}, {"indexes", {6, 8}}}).status, 200);
  ASSERT_EQ(tenant_post("delete", {{"path", kDc}, {"indexes", {8, 9}}}).status, 200);
  ASSERT_EQ(tenant_post("edit", {{"path", kDc}, {"indexes", {10}}, {"suffix", " e"}}).status, 200);
  json edited = get_item(10).body_json();
  edited.erase("@odata.context");  // names the port, which a restart changes
  std::string saved;
  ASSERT_TRUE(read_file(file, saved));
  EXPECT_EQ(json::parse(saved)["items"][tenant()][kDc]["hidden"], json::array({6, 8}));
  restart(c);
  token = token_for(tenant());
  EXPECT_EQ(listed().size(), 37u);
  EXPECT_EQ(get_item(6).status, 200);
  EXPECT_EQ(get_item(8).status, 404);
  EXPECT_EQ(get_item(9).status, 404);
  json again = get_item(10).body_json();
  again.erase("@odata.context");
  EXPECT_EQ(again, edited);
  std::remove(file.c_str());
  rmdir(dir.c_str());
}

}  // namespace
}  // namespace tinv::mock::test
