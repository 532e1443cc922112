// Mapping of real Graph list bodies (test/vectors/graph) to staged rows.
#include "mapper.h"

#include <gtest/gtest.h>

#include <limits>

#include "canonical_nlohmann.h"
#include "copy_format.h"
#include "sha256.h"
#include "test_util.h"

using namespace fetch;
using fetch::testing::vector_json;

namespace {

const PolicyType kSettingsCatalog{"settingsCatalogPolicy", "deviceManagement/configurationPolicies", "beta",
                                  "name"};
const PolicyType kDeviceConfig{"deviceConfiguration", "deviceManagement/deviceConfigurations", "beta",
                               "displayName"};
const PolicyType kCompliance{"deviceCompliancePolicy", "deviceManagement/deviceCompliancePolicies", "beta",
                             "displayName"};

}  // namespace

TEST(Mapper, SettingsCatalogPolicyFromRealBody) {
  const auto body = vector_json("configurationPolicies_list_beta.json");
  const auto& item = body["value"][0];
  MapResult r = map_item(kSettingsCatalog, item);
  ASSERT_TRUE(r.ok) << r.problem;
  EXPECT_EQ(r.row.external_id, "3ffd7cd0-7cd0-3ffd-d07c-fd3fd07cfd3f");
  ASSERT_TRUE(r.row.display_name);
  EXPECT_EQ(*r.row.display_name, "Name value");
  const auto& m = r.row.meta;
  EXPECT_EQ(m["odata_type"], "#microsoft.graph.deviceManagementConfigurationPolicy");
  EXPECT_EQ(m["platform"], "android");
  EXPECT_EQ(m["technologies"], nlohmann::json::array({"mdm"}));
  EXPECT_EQ(m["created_at"], "2017-01-01T00:02:43.5775965-08:00");
  EXPECT_EQ(m["last_modified_at"], "2017-01-01T00:00:35.1329464-08:00");
  EXPECT_EQ(m["setting_count"], 12);
  EXPECT_EQ(m["scope_tag_ids"], nlohmann::json::array({"Role Scope Tag Ids value"}));
  EXPECT_EQ(m["is_assigned"], true);
  EXPECT_EQ(m["template_family"], "endpointSecurityAntivirus");
  EXPECT_EQ(m["template_id"], "Template Id value");
  EXPECT_EQ(m["priority"], 8);  // priorityMetaData.priority
  EXPECT_FALSE(m.contains("warnings"));
  EXPECT_FALSE(m.contains("version"));
}

TEST(Mapper, DeviceConfigurationFromRealBodies) {
  for (const char* file : {"deviceConfigurations_list_beta.json", "deviceConfigurations_list_v1.json"}) {
    const auto body = vector_json(file);
    MapResult r = map_item(kDeviceConfig, body["value"][0]);
    ASSERT_TRUE(r.ok) << file;
    EXPECT_EQ(r.row.external_id, "34977265-7265-3497-6572-973465729734");
    EXPECT_EQ(*r.row.display_name, "Display Name value");
    EXPECT_EQ(r.row.meta["version"], "7");  // as text
    EXPECT_EQ(r.row.meta["odata_type"], "#microsoft.graph.deviceConfiguration");
    EXPECT_EQ(r.row.content_hash.size(), 64u);
  }
  const auto beta = vector_json("deviceConfigurations_list_beta.json");
  EXPECT_EQ(map_item(kDeviceConfig, beta["value"][0]).row.meta["scope_tag_ids"],
            nlohmann::json::array({"Role Scope Tag Ids value"}));
}

TEST(Mapper, CompliancePolicyFromRealBody) {
  const auto body = vector_json("deviceCompliancePolicies_list_beta.json");
  MapResult r = map_item(kCompliance, body["value"][0]);
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.row.external_id, "4214b716-b716-4214-16b7-144216b71442");
  EXPECT_EQ(r.row.meta["version"], "7");
  EXPECT_EQ(r.row.meta["odata_type"], "#microsoft.graph.deviceCompliancePolicy");
}

TEST(Mapper, TechnologiesCommaStringBecomesArray) {
  nlohmann::json item = {
      {"id", "a"}, {"name", "n"}, {"technologies", "mdm,microsoftSense"}, {"platforms", "windows10"}};
  MapResult r = map_item(kSettingsCatalog, item);
  EXPECT_EQ(r.row.meta["technologies"], nlohmann::json::array({"mdm", "microsoftSense"}));
  EXPECT_EQ(r.row.meta["platform"], "windows10");
  item["technologies"] = " mdm , configManager ,";
  EXPECT_EQ(map_item(kSettingsCatalog, item).row.meta["technologies"],
            nlohmann::json::array({"mdm", "configManager"}));
}

TEST(Mapper, AlternativeFieldNames) {
  nlohmann::json item = {{"id", "b"},
                         {"displayName", "d"},
                         {"platform", "iOS"},
                         {"modifiedDateTime", "2024-05-01T10:00:00Z"},
                         {"roleScopeTags", {"0", "7"}},
                         {"priority", 3},
                         {"state", "enabled"},
                         {"version", "1.2"}};
  MapResult r = map_item(kDeviceConfig, item);
  EXPECT_EQ(r.row.meta["platform"], "iOS");
  EXPECT_EQ(r.row.meta["last_modified_at"], "2024-05-01T10:00:00Z");
  EXPECT_EQ(r.row.meta["scope_tag_ids"], nlohmann::json::array({"0", "7"}));
  EXPECT_EQ(r.row.meta["priority"], 3);
  EXPECT_EQ(r.row.meta["state"], "enabled");
  EXPECT_EQ(r.row.meta["version"], "1.2");
}

TEST(Mapper, MappingProblemsBecomeWarningsNotFailures) {
  nlohmann::json item = {{"id", "c"},           {"displayName", "x"},   {"createdDateTime", "yesterday"},
                         {"isAssigned", "yes"}, {"settingCount", "12"}, {"technologies", 5}};
  MapResult r = map_item(kSettingsCatalog, item);  // name field is "name": falls back to displayName
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(*r.row.display_name, "x");
  const auto& w = r.row.meta["warnings"];
  for (const char* expected : {"name_field_missing", "created_at_invalid", "is_assigned_not_boolean",
                               "setting_count_not_number", "technologies_not_array"}) {
    EXPECT_NE(std::find(w.begin(), w.end(), expected), w.end()) << expected;
  }
  EXPECT_FALSE(r.row.meta.contains("created_at"));
  EXPECT_FALSE(r.row.meta.contains("is_assigned"));
}

TEST(Mapper, NoNameGivesNullDisplayName) {
  MapResult r = map_item(kDeviceConfig, {{"id", "d"}});
  ASSERT_TRUE(r.ok);
  EXPECT_FALSE(r.row.display_name.has_value());
  EXPECT_EQ(r.row.meta["warnings"], nlohmann::json::array({"display_name_missing"}));
}

TEST(Mapper, ItemsWithoutUsableIdAreRejected) {
  EXPECT_FALSE(map_item(kDeviceConfig, {{"displayName", "x"}}).ok);
  EXPECT_FALSE(map_item(kDeviceConfig, {{"id", 5}}).ok);
  EXPECT_FALSE(map_item(kDeviceConfig, {{"id", ""}}).ok);
  EXPECT_FALSE(map_item(kDeviceConfig, nlohmann::json::array()).ok);
  // An id too long to be a key: a bad item, not a database error for the run.
  EXPECT_TRUE(map_item(kDeviceConfig, {{"id", std::string(kMaxExternalIdBytes, 'a')}}).ok);
  MapResult long_id = map_item(kDeviceConfig, {{"id", std::string(kMaxExternalIdBytes + 1, 'a')}});
  EXPECT_FALSE(long_id.ok);
  EXPECT_NE(long_id.problem.find("longer than"), std::string::npos);
}

TEST(Mapper, NulCharactersNeverReachPostgres) {
  nlohmann::json item = {
      {"id", "e"}, {"displayName", std::string("a\0b", 3)}, {"state", std::string("x\0", 2)}};
  MapResult r = map_item(kDeviceConfig, item);
  EXPECT_EQ(*r.row.display_name, "ab");
  EXPECT_EQ(r.row.meta["state"], "x");
  std::string line;
  append_copy_row(line, "deviceConfiguration", r.row);
  EXPECT_EQ(line.find('\0'), std::string::npos);
}

TEST(ContentHash, IsSha256OfCanonicalObjectWithoutVolatileKeys) {
  const auto body = vector_json("configurationPolicies_list_beta.json");
  const auto& item = body["value"][0];
  nlohmann::json expected = item;
  for (const char* k : {"@odata.type", "lastModifiedDateTime", "isAssigned"}) expected.erase(k);
  expected["templateReference"].erase("@odata.type");
  expected["priorityMetaData"].erase("@odata.type");
  EXPECT_EQ(content_hash(item), tinv::sha256_hex(tinv::canonical_json(expected)));
  EXPECT_EQ(map_item(kSettingsCatalog, item).row.content_hash, content_hash(item));
  // createdDateTime is kept.
  EXPECT_TRUE(strip_volatile(item).contains("createdDateTime"));
}

TEST(ContentHash, StableAcrossVolatileChangesAndKeyOrder) {
  const auto body = vector_json("deviceConfigurations_list_beta.json");
  nlohmann::json a = body["value"][0];
  nlohmann::json b = a;
  b["lastModifiedDateTime"] = "2030-01-01T00:00:00Z";
  b["version"] = 99;
  b["isAssigned"] = true;
  b["@odata.etag"] = "W/\"abc\"";
  b["displayName@odata.type"] = "#String";
  EXPECT_EQ(content_hash(a), content_hash(b));
  // Reordered keys and arrays (arrays are sets in the canonical form).
  nlohmann::json c = nlohmann::json::parse(a.dump());
  c["roleScopeTagIds"] = {"Role Scope Tag Ids value", "Role Scope Tag Ids value"};
  EXPECT_EQ(content_hash(a), content_hash(c));
}

TEST(ContentHash, ChangesWithContent) {
  const auto body = vector_json("deviceConfigurations_list_beta.json");
  nlohmann::json a = body["value"][0];
  nlohmann::json b = a;
  b["displayName"] = "Display Name value (renamed)";
  EXPECT_NE(content_hash(a), content_hash(b));
  nlohmann::json c = a;
  c["deviceManagementApplicabilityRuleOsVersion"]["maxOSVersion"] = "11";
  EXPECT_NE(content_hash(a), content_hash(c));
  nlohmann::json d = a;
  d["createdDateTime"] = "2018-01-01T00:00:00Z";
  EXPECT_NE(content_hash(a), content_hash(d));
}

TEST(CopyFormat, EscapesTextFieldsAndWritesNull) {
  StagedRow row;
  row.external_id = "id\twith\ttabs";
  row.display_name = "line1\nline2\r\\end \"quoted\" \xF0\x9F\x98\x80";
  row.meta = {{"state", "a\\b\tc"}};
  row.content_hash = std::string(64, 'a');
  std::string out;
  append_copy_row(out, "deviceConfiguration", row);
  EXPECT_EQ(out,
            "deviceConfiguration\tid\\twith\\ttabs\tline1\\nline2\\r\\\\end \"quoted\" \xF0\x9F\x98\x80\t"
            "{\"state\":\"a\\\\\\\\b\\\\tc\"}\t" +
                std::string(64, 'a') + "\n");
  row.display_name.reset();
  out.clear();
  append_copy_row(out, "t", row);
  EXPECT_NE(out.find("\t\\N\t"), std::string::npos);
}

TEST(Mapper, AbsurdNestingIsABadItemNotACrash) {
  nlohmann::json deep = "leaf";
  for (int i = 0; i < 1000; ++i) deep = nlohmann::json::array({deep});
  nlohmann::json item = {{"id", "deep"}, {"displayName", "x"}, {"settings", deep}};
  MapResult r = map_item(kDeviceConfig, item);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.problem.find("nested"), std::string::npos);
  nlohmann::json ok = "leaf";
  for (int i = 0; i < 50; ++i) ok = nlohmann::json::array({ok});
  EXPECT_TRUE(map_item(kDeviceConfig, {{"id", "fine"}, {"settings", ok}}).ok);
}

TEST(ContentHash, HugeNumbersFallBackWithAWarning) {
  nlohmann::json item = {{"id", "n"}, {"displayName", "x"}, {"big", std::numeric_limits<double>::infinity()}};
  MapResult r = map_item(kDeviceConfig, item);
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.row.content_hash.size(), 64u);
  EXPECT_EQ(r.row.meta["warnings"], nlohmann::json::array({"content_hash_not_canonical"}));
}
