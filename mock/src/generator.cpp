#include "generator.h"

#include "util.h"

#include <algorithm>
#include <stdexcept>

namespace tinv::mock {

namespace {

// A deterministic stream of pseudo-random numbers from one seed text.
class HashStream {
 public:
  explicit HashStream(const std::string &seed) : seed_(seed), block_(sha256(seed)) {}

  uint32_t next() {
    if (pos_ + 4 > block_.size()) {
      ++counter_;
      block_ = sha256(seed_ + "#" + std::to_string(counter_));
      pos_ = 0;
    }
    uint32_t v = (uint32_t(block_[pos_]) << 24) | (uint32_t(block_[pos_ + 1]) << 16) |
                 (uint32_t(block_[pos_ + 2]) << 8) | uint32_t(block_[pos_ + 3]);
    pos_ += 4;
    return v;
  }
  uint32_t below(uint32_t n) { return n == 0 ? 0 : next() % n; }
  bool chance(uint32_t percent) { return below(100) < percent; }
  template <size_t N>
  const char *pick(const char *const (&items)[N]) {
    return items[below(static_cast<uint32_t>(N))];
  }

 private:
  std::string seed_;
  Sha256 block_;
  size_t pos_ = 0;
  uint64_t counter_ = 0;
};

std::string last_segment(const std::string &path) {
  size_t end = path.size();
  while (end > 0 && path[end - 1] == '/') --end;
  size_t slash = path.rfind('/', end == 0 ? 0 : end - 1);
  size_t start = slash == std::string::npos ? 0 : slash + 1;
  if (start > end) return std::string();
  return path.substr(start, end - start);
}

std::string singular(const std::string &word) {
  if (word.size() > 3 && word.compare(word.size() - 3, 3, "ies") == 0) {
    return word.substr(0, word.size() - 3) + "y";
  }
  if (word.size() > 1 && word.back() == 's') return word.substr(0, word.size() - 1);
  return word;
}

const char *const kPrefixes[] = {"CORP", "MSP", "Contoso", "Fabrikam", "Tailspin", "Woodgrove"};
const char *const kPurposes[] = {"Baseline", "Security", "BitLocker", "Wi-Fi",   "VPN",
                                 "Kiosk",    "Defender", "Edge",      "Updates", "Password"};
const char *const kScopeTags[] = {"0", "1", "2", "5", "12"};

std::string platform_label(const std::string &odata_type) {
  std::string t = to_lower(odata_type);
  if (t.find("windows") != std::string::npos || t.find("win32") != std::string::npos)
    return "Windows";
  if (t.find("ios") != std::string::npos) return "iOS";
  if (t.find("macos") != std::string::npos) return "macOS";
  if (t.find("android") != std::string::npos) return "Android";
  return "All";
}

std::string pad_index(uint64_t index) {
  std::string s = std::to_string(index);
  if (s.size() < 5) s.insert(0, 5 - s.size(), '0');
  return s;
}

// A display name; some carry unicode, emoji, tabs, quotes or backslashes, and a few
// are deliberate duplicates (real tenants have those too).
std::string make_name(HashStream &rng, uint64_t index, const std::string &platform) {
  std::string base = std::string(rng.pick(kPrefixes)) + " - " + platform + " " +
                     rng.pick(kPurposes) + " " + pad_index(index);
  switch (index % 40) {
    case 3: return "Ünïcödé Richtlinie ✓ " + pad_index(index);
    case 5: return "🔒 Lockdown " + platform + " " + pad_index(index);
    case 7: return "Tab\tSeparated " + pad_index(index);
    case 9: return "\"Quoted\" policy \\ backslash " + pad_index(index);
    case 11: return "デバイス構成 " + pad_index(index);
    case 17: return "Default Policy";
    case 23: return base + "  ";  // trailing spaces
    default: return base;
  }
}

ojson make_description(HashStream &rng, uint64_t index, const std::string &platform) {
  switch (index % 9) {
    case 4: return nullptr;
    case 6: return "";
    case 2: return "Line one\r\nLine two – " + platform + " \"devices\"";
    default: break;
  }
  if (index % 97 == 50) {
    std::string long_text;
    while (long_text.size() < 1500) long_text += "Long description text for testing limits. ";
    return long_text;
  }
  if (index % 13 == 1) return "Richtlinie für Geräte – Größe ≥ 10 ✓ 😀";
  return std::string("Applies the ") + rng.pick(kPurposes) + " settings to " + platform +
         " devices.";
}

ojson scope_tags(HashStream &rng) {
  ojson tags = ojson::array();
  tags.push_back("0");
  uint32_t extra = rng.below(3);
  for (uint32_t i = 0; i < extra; ++i) {
    std::string t = rng.pick(kScopeTags);
    if (t != "0" && std::find(tags.begin(), tags.end(), t) == tags.end()) tags.push_back(t);
  }
  return tags;
}

struct Times {
  int64_t created;
  uint32_t created_ticks;
  int64_t modified;
  uint32_t modified_ticks;
  bool fraction;
};

Times make_times(HashStream &rng, uint64_t index, const ItemMutation *m) {
  const int64_t base = 1609459200;  // 2021-01-01T00:00:00Z
  Times t{};
  t.created = base + rng.below(3u * 365u * 86400u);
  t.created_ticks = rng.below(10000000u);
  t.modified = t.created + rng.below(180u * 86400u);
  t.modified_ticks = rng.below(10000000u);
  t.fraction = index % 8 != 0;
  if (m != nullptr) {
    // Each touch or rename moves lastModifiedDateTime forward by a day and a bit.
    t.modified += int64_t(m->touches + m->renames) * 86400 + int64_t(m->touches) * 37;
  }
  return t;
}

void add_settings_catalog(ojson &o, HashStream &rng) {
  static const char *const platforms[] = {"windows10", "windows10", "macOS", "iOS", "android",
                                          "linux"};
  static const char *const technologies[] = {"mdm", "mdm", "mdm,microsoftSense", "configManager",
                                             "mdm,appleRemoteManagement"};
  o["platforms"] = rng.pick(platforms);
  o["technologies"] = rng.pick(technologies);
}

void add_template_reference(ojson &o, HashStream &rng, const std::string &seed_text) {
  static const char *const families[] = {"endpointSecurityAntivirus",
                                         "endpointSecurityDiskEncryption",
                                         "endpointSecurityFirewall", "baseline"};
  ojson ref = ojson::object();
  ref["@odata.type"] = "microsoft.graph.deviceManagementConfigurationPolicyTemplateReference";
  if (rng.chance(70)) {
    ref["templateId"] = "";
    ref["templateFamily"] = "none";
    ref["templateDisplayName"] = nullptr;
    ref["templateDisplayVersion"] = nullptr;
  } else {
    ref["templateId"] = derived_uuid("template:" + seed_text) + "_1";
    ref["templateFamily"] = rng.pick(families);
    ref["templateDisplayName"] = "Microsoft Defender Antivirus";
    ref["templateDisplayVersion"] = "Version " + std::to_string(1 + rng.below(4));
  }
  o["templateReference"] = std::move(ref);
}

void add_applicability_rules(ojson &o, HashStream &rng) {
  if (rng.chance(30)) {
    ojson r = ojson::object();
    r["@odata.type"] = "microsoft.graph.deviceManagementApplicabilityRuleOsEdition";
    r["osEditionTypes"] = ojson::array({"windows10Enterprise", "windows10EnterpriseN"});
    r["name"] = "Enterprise editions";
    r["ruleType"] = rng.chance(50) ? "include" : "exclude";
    o["deviceManagementApplicabilityRuleOsEdition"] = std::move(r);
  } else {
    o["deviceManagementApplicabilityRuleOsEdition"] = nullptr;
  }
  if (rng.chance(20)) {
    ojson r = ojson::object();
    r["@odata.type"] = "microsoft.graph.deviceManagementApplicabilityRuleOsVersion";
    r["minOSVersion"] = "10.0.19041";
    r["maxOSVersion"] = "10.0.22631";
    r["name"] = "Supported builds";
    r["ruleType"] = "include";
    o["deviceManagementApplicabilityRuleOsVersion"] = std::move(r);
  } else {
    o["deviceManagementApplicabilityRuleOsVersion"] = nullptr;
  }
  o["deviceManagementApplicabilityRuleDeviceMode"] = nullptr;
}

void add_device_configuration_settings(ojson &o, HashStream &rng, const std::string &type) {
  if (type.find("CustomConfiguration") != std::string::npos) {
    ojson settings = ojson::array();
    uint32_t n = 1 + rng.below(3);
    for (uint32_t i = 0; i < n; ++i) {
      ojson s = ojson::object();
      s["@odata.type"] = "#microsoft.graph.omaSettingString";
      s["displayName"] = "Setting " + std::to_string(i + 1);
      s["description"] = nullptr;
      s["omaUri"] = "./Device/Vendor/MSFT/Policy/Config/Experience/AllowSetting" +
                    std::to_string(rng.below(100));
      s["secretReferenceValueId"] = nullptr;
      s["isEncrypted"] = false;
      s["value"] = "<enabled/><data id=\"Value\" value=\"" + std::to_string(rng.below(10)) +
                   "\"/>";
      settings.push_back(std::move(s));
    }
    o["omaSettings"] = std::move(settings);
    return;
  }
  static const char *const scan_types[] = {"userDefined", "disabled", "quick", "full"};
  o["passwordRequired"] = rng.chance(60);
  o["passwordMinimumLength"] = 4 + rng.below(12);
  if (rng.chance(50)) {
    o["passwordExpirationDays"] = 30 + rng.below(90);
  } else {
    o["passwordExpirationDays"] = nullptr;
  }
  o["passwordBlockSimple"] = rng.chance(50);
  o["screenCaptureBlocked"] = rng.chance(20);
  o["defenderScanType"] = rng.pick(scan_types);
  o["edgeBlockPopups"] = rng.chance(70);
  o["defenderFileExtensionsToExclude"] =
      rng.chance(50) ? ojson::array({".log", ".tmp"}) : ojson::array();
}

void add_compliance_settings(ojson &o, HashStream &rng) {
  o["passwordRequired"] = rng.chance(80);
  o["passwordMinimumLength"] = 6 + rng.below(8);
  o["osMinimumVersion"] = rng.chance(60) ? ojson("10.0.19045") : ojson(nullptr);
  o["osMaximumVersion"] = nullptr;
  o["storageRequireEncryption"] = rng.chance(70);
  o["secureBootEnabled"] = rng.chance(70);
  o["deviceThreatProtectionRequiredSecurityLevel"] = rng.chance(50) ? "medium" : "unavailable";
  ojson ranges = ojson::array();
  if (rng.chance(25)) {
    ojson r = ojson::object();
    r["@odata.type"] = "microsoft.graph.operatingSystemVersionRange";
    r["description"] = "22H2";
    r["lowestVersion"] = "10.0.19045.0";
    r["highestVersion"] = "10.0.19045.9999";
    ranges.push_back(std::move(r));
  }
  o["validOperatingSystemBuildRanges"] = std::move(ranges);
}

void add_app_fields(ojson &o, HashStream &rng, const std::string &type, uint64_t index) {
  static const char *const publishers[] = {"Microsoft Corporation", "Contoso Ltd.", "Adobe",
                                           "Zoom Video Communications, Inc.", "Fabrikam"};
  o["publisher"] = rng.pick(publishers);
  o["largeIcon"] = nullptr;
  o["isFeatured"] = rng.chance(10);
  o["privacyInformationUrl"] = rng.chance(50) ? ojson("https://example.com/privacy") : ojson("");
  o["informationUrl"] = nullptr;
  o["owner"] = "";
  o["developer"] = "";
  o["notes"] = "";
  o["uploadState"] = 1;
  o["publishingState"] = "published";
  o["isAssigned"] = rng.chance(60);
  o["dependentAppCount"] = 0;
  o["supersedingAppCount"] = 0;
  o["supersededAppCount"] = rng.below(2);
  if (type.find("webApp") != std::string::npos) {
    o["appUrl"] = "https://apps.example.com/app" + std::to_string(index) + "?a=1&b=2";
    o["useManagedBrowser"] = rng.chance(50);
  } else if (type.find("win32LobApp") != std::string::npos) {
    o["fileName"] = "setup-" + std::to_string(index) + ".intunewin";
    o["size"] = 1000000 + static_cast<uint64_t>(rng.next() % 900000000u);
    o["installCommandLine"] = "setup.exe /quiet /norestart";
    o["uninstallCommandLine"] = "setup.exe /uninstall /quiet";
    o["applicableArchitectures"] = rng.chance(50) ? "x64" : "x86,x64";
    ojson os = ojson::object();
    os["v8_0"] = false;
    os["v10_0"] = true;
    os["v10_1607"] = true;
    os["v10_21H1"] = rng.chance(50);
    o["minimumSupportedOperatingSystem"] = std::move(os);
  } else {
    o["appStoreUrl"] = "https://apps.example.com/store/" + std::to_string(index);
  }
}

void add_script_fields(ojson &o, HashStream &rng, const std::string &type, uint64_t index) {
  o["scriptContent"] = nullptr;
  o["runAsAccount"] = rng.chance(70) ? "system" : "user";
  o["enforceSignatureCheck"] = rng.chance(20);
  o["fileName"] = "script-" + std::to_string(index) + (type.find("Shell") != std::string::npos
                                                           ? ".sh"
                                                           : ".ps1");
  o["runAs32Bit"] = rng.chance(10);
}

}  // namespace

std::vector<TypeOverride> parse_type_overrides(const std::string &text) {
  std::vector<TypeOverride> out;
  nlohmann::json doc = nlohmann::json::parse(text, nullptr, false);
  if (doc.is_discarded()) throw std::runtime_error("types file is not valid JSON");
  if (!doc.is_array()) throw std::runtime_error("types file must be a JSON array");
  for (const auto &e : doc) {
    if (!e.is_object() || !e.contains("path") || !e["path"].is_string())
      throw std::runtime_error("each types file entry needs a string \"path\"");
    TypeOverride t;
    t.path = e["path"].get<std::string>();
    if (e.contains("count")) {
      if (!e["count"].is_number_unsigned())
        throw std::runtime_error("\"count\" must be a non-negative integer");
      t.count = e["count"].get<uint64_t>();
    }
    if (e.contains("page_size")) {
      if (!e["page_size"].is_number_unsigned() || e["page_size"].get<uint64_t>() == 0 ||
          e["page_size"].get<uint64_t>() > 5000)
        throw std::runtime_error("\"page_size\" must be an integer in 1..5000");
      t.page_size = e["page_size"].get<size_t>();
    }
    if (e.contains("odata_type")) {
      if (!e["odata_type"].is_string()) throw std::runtime_error("\"odata_type\" must be a string");
      t.odata_type = e["odata_type"].get<std::string>();
    }
    if (e.contains("name_field")) {
      if (!e["name_field"].is_string() || e["name_field"].get<std::string>().empty())
        throw std::runtime_error("\"name_field\" must be a non-empty string");
      t.name_field = e["name_field"].get<std::string>();
    }
    out.push_back(std::move(t));
  }
  return out;
}

Generator::Generator(std::string seed, uint64_t items_per_type, std::vector<TypeOverride> overrides)
    : seed_(std::move(seed)), items_per_type_(items_per_type) {
  for (auto &o : overrides) {
    std::string key = o.path;
    overrides_[key] = std::move(o);
  }
}

std::vector<std::string> Generator::tenant_ids(size_t n) const {
  std::vector<std::string> ids;
  ids.reserve(n);
  for (size_t i = 0; i < n; ++i) ids.push_back(derived_uuid("tenant:" + seed_ + ":" + std::to_string(i)));
  return ids;
}

PathProfile Generator::profile(const std::string &path) const {
  PathProfile p;
  const std::string seg = last_segment(path);
  const std::string lseg = to_lower(seg);
  if (lseg == "configurationpolicies") {
    p.family = Family::SettingsCatalog;
    p.name_field = "name";
    p.odata_types = {"#microsoft.graph.deviceManagementConfigurationPolicy"};
    p.page_size = 25;
    p.include_count = true;
  } else if (lseg == "compliancepolicies") {
    p.family = Family::SettingsCatalog;
    p.name_field = "name";
    p.odata_types = {"#microsoft.graph.deviceManagementCompliancePolicy"};
    p.include_count = true;
  } else if (lseg == "deviceconfigurations") {
    p.family = Family::DeviceConfiguration;
    p.odata_types = {"#microsoft.graph.windows10GeneralConfiguration",
                     "#microsoft.graph.windows10CustomConfiguration",
                     "#microsoft.graph.windows10EndpointProtectionConfiguration",
                     "#microsoft.graph.iosGeneralDeviceConfiguration",
                     "#microsoft.graph.macOSGeneralDeviceConfiguration",
                     "#microsoft.graph.androidWorkProfileGeneralDeviceConfiguration"};
    p.page_size = 30;
  } else if (lseg == "devicecompliancepolicies") {
    p.family = Family::Compliance;
    p.odata_types = {"#microsoft.graph.windows10CompliancePolicy",
                     "#microsoft.graph.iosCompliancePolicy",
                     "#microsoft.graph.macOSCompliancePolicy",
                     "#microsoft.graph.androidWorkProfileCompliancePolicy"};
  } else if (lseg == "mobileapps") {
    p.family = Family::App;
    p.odata_types = {"#microsoft.graph.win32LobApp", "#microsoft.graph.iosStoreApp",
                     "#microsoft.graph.androidManagedStoreApp", "#microsoft.graph.webApp",
                     "#microsoft.graph.windowsMicrosoftEdgeApp"};
  } else if (lseg == "devicemanagementscripts" || lseg == "deviceshellscripts" ||
             lseg == "devicehealthscripts" || lseg == "devicecustomattributeshellscripts") {
    p.family = Family::Script;
    p.odata_types = {"#microsoft.graph." + singular(seg)};
  } else {
    p.family = Family::Generic;
    p.odata_types = {"#microsoft.graph." + (seg.empty() ? std::string("entity") : singular(seg))};
  }
  auto it = overrides_.find(path);
  if (it != overrides_.end()) {
    const TypeOverride &o = it->second;
    if (o.page_size) p.page_size = *o.page_size;
    if (o.odata_type) p.odata_types = {*o.odata_type};
    if (o.name_field) p.name_field = *o.name_field;
    if (o.count) p.count = o.count;
  }
  return p;
}

uint64_t Generator::default_count(const std::string &path) const {
  auto it = overrides_.find(path);
  if (it != overrides_.end() && it->second.count) return *it->second.count;
  return items_per_type_;
}

std::string Generator::item_id(const std::string &tenant, const std::string &path, uint64_t index) {
  return derived_uuid("item:" + tenant + "|" + path + "|" + std::to_string(index));
}

ojson Generator::item(const std::string &tenant, const std::string &path,
                      const PathProfile &profile, uint64_t index, const ItemMutation *m,
                      bool beta) const {
  const std::string key = tenant + "|" + path + "|" + std::to_string(index);
  HashStream rng("fields:" + key);
  const std::string &type =
      profile.odata_types[rng.below(static_cast<uint32_t>(profile.odata_types.size()))];
  const std::string platform = platform_label(type);
  std::string name = make_name(rng, index, platform);
  ojson description = make_description(rng, index, platform);
  const Times t = make_times(rng, index, m);
  int64_t version = 1 + rng.below(9);
  if (m != nullptr) {
    version += m->touches + m->renames;
    if (!m->rename_suffix.empty()) {
      name += m->rename_suffix;
      description = (description.is_string() ? description.get<std::string>() : std::string()) +
                    m->rename_suffix;
    }
  }
  const std::string created = iso8601(t.created, t.created_ticks, t.fraction);
  const std::string modified = iso8601(t.modified, t.modified_ticks, t.fraction);

  ojson o = ojson::object();
  o["@odata.type"] = type;
  switch (profile.family) {
    case Family::SettingsCatalog: {
      o["id"] = item_id(tenant, path, index);
      o["createdDateTime"] = created;
      o["creationSource"] = rng.chance(80) ? ojson(nullptr) : ojson("");
      o["description"] = description.is_null() ? ojson("") : description;
      o["lastModifiedDateTime"] = modified;
      o[profile.name_field] = name;
      add_settings_catalog(o, rng);
      o["settingCount"] = rng.below(60);
      o["roleScopeTagIds"] = scope_tags(rng);
      o["isAssigned"] = rng.chance(60);
      o["priorityMetaData"] = nullptr;
      if (rng.chance(20)) {
        ojson prio = ojson::object();
        prio["@odata.type"] = "microsoft.graph.deviceManagementPriorityMetaData";
        prio["priority"] = 1 + rng.below(20);
        o["priorityMetaData"] = std::move(prio);
      }
      add_template_reference(o, rng, key);
      break;
    }
    case Family::DeviceConfiguration: {
      o["id"] = item_id(tenant, path, index);
      o["lastModifiedDateTime"] = modified;
      if (beta) {
        o["roleScopeTagIds"] = scope_tags(rng);
        o["supportsScopeTags"] = true;
        add_applicability_rules(o, rng);
      }
      o["createdDateTime"] = created;
      o["description"] = description;
      o[profile.name_field] = name;
      o["version"] = version;
      add_device_configuration_settings(o, rng, type);
      break;
    }
    case Family::Compliance: {
      if (beta) o["roleScopeTagIds"] = scope_tags(rng);
      o["id"] = item_id(tenant, path, index);
      o["createdDateTime"] = created;
      o["description"] = description;
      o["lastModifiedDateTime"] = modified;
      o[profile.name_field] = name;
      o["version"] = version;
      add_compliance_settings(o, rng);
      break;
    }
    case Family::App: {
      o["id"] = item_id(tenant, path, index);
      o[profile.name_field] = name;
      o["description"] = description;
      o["createdDateTime"] = created;
      o["lastModifiedDateTime"] = modified;
      if (beta) o["roleScopeTagIds"] = scope_tags(rng);
      add_app_fields(o, rng, type, index);
      break;
    }
    case Family::Script: {
      o["id"] = item_id(tenant, path, index);
      o[profile.name_field] = name;
      o["description"] = description;
      o["createdDateTime"] = created;
      o["lastModifiedDateTime"] = modified;
      if (beta) o["roleScopeTagIds"] = scope_tags(rng);
      if (type.find("deviceHealthScript") != std::string::npos) {
        // Proactive remediations really carry version as a string.
        o["version"] = std::to_string(version);
        o["publisher"] = "IT Operations";
        o["isGlobalScript"] = false;
      } else {
        o["version"] = version;
      }
      add_script_fields(o, rng, type, index);
      break;
    }
    case Family::Generic: {
      o["id"] = item_id(tenant, path, index);
      o[profile.name_field] = name;
      o["description"] = description;
      o["createdDateTime"] = created;
      o["lastModifiedDateTime"] = modified;
      o["version"] = version;
      if (beta) o["roleScopeTagIds"] = scope_tags(rng);
      o["isAssigned"] = rng.chance(50);
      ojson settings = ojson::object();
      settings["mode"] = rng.chance(50) ? "enforced" : "audit";
      settings["enabled"] = rng.chance(80);
      settings["values"] = ojson::array({rng.below(10), rng.below(100)});
      o["settings"] = std::move(settings);
      break;
    }
  }
  return o;
}

}  // namespace tinv::mock
