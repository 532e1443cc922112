#include "generator.h"

#include <algorithm>
#include <stdexcept>

#include "json_writer.h"
#include "util.h"

namespace tinv::mock {

namespace {

// Deterministic pseudo-random numbers for one item: splitmix64 seeded from the
// item's SHA-256 (the same digest that gives its id), so one hash per item.
class ItemRng {
 public:
  explicit ItemRng(const Sha256 &digest) {
    uint64_t a = 0, b = 0;
    for (int i = 16; i < 24; ++i) a = (a << 8) | digest[i];
    for (int i = 24; i < 32; ++i) b = (b << 8) | digest[i];
    state_ = a ^ ((b << 32) | (b >> 32));
  }
  uint32_t next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return static_cast<uint32_t>((z ^ (z >> 31)) >> 32);
  }
  uint32_t below(uint32_t n) { return n == 0 ? 0 : next() % n; }
  bool chance(uint32_t percent) { return below(100) < percent; }
  template <size_t N>
  const char *pick(const char *const (&items)[N]) {
    return items[below(static_cast<uint32_t>(N))];
  }
  std::string uuid() {
    unsigned char b[16];
    for (int i = 0; i < 16; i += 4) {
      uint32_t v = next();
      b[i] = static_cast<unsigned char>(v >> 24);
      b[i + 1] = static_cast<unsigned char>(v >> 16);
      b[i + 2] = static_cast<unsigned char>(v >> 8);
      b[i + 3] = static_cast<unsigned char>(v);
    }
    return uuid_from_bytes(b);
  }

 private:
  uint64_t state_;
};

std::string item_key(const std::string &tenant, const std::string &path, uint64_t index) {
  return "item:" + tenant + "|" + path + "|" + std::to_string(index);
}

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
const char *const kScopeTags[] = {"1", "2", "5", "12"};

const char *platform_label(const std::string &odata_type) {
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
std::string make_name(ItemRng &rng, uint64_t index, const std::string &platform) {
  const char *prefix = rng.pick(kPrefixes);
  const char *purpose = rng.pick(kPurposes);
  switch (index % 40) {
    case 3: return "Ünïcödé Richtlinie ✓ " + pad_index(index);
    case 5: return "🔒 Lockdown " + platform + " " + pad_index(index);
    case 7: return "Tab\tSeparated " + pad_index(index);
    case 9: return "\"Quoted\" policy \\ backslash " + pad_index(index);
    case 11: return "デバイス構成 " + pad_index(index);
    case 17: return "Default Policy";
    default: break;
  }
  std::string base =
      std::string(prefix) + " - " + platform + " " + purpose + " " + pad_index(index);
  if (index % 40 == 23) base += "  ";  // trailing spaces
  return base;
}

// The description; std::nullopt stands for JSON null.
std::optional<std::string> make_description(ItemRng &rng, uint64_t index,
                                            const std::string &platform) {
  const char *purpose = rng.pick(kPurposes);
  switch (index % 9) {
    case 4: return std::nullopt;
    case 6: return std::string();
    case 2: return "Line one\r\nLine two – " + platform + " \"devices\"";
    default: break;
  }
  if (index % 97 == 50) {
    std::string long_text;
    while (long_text.size() < 1500) long_text += "Long description text for testing limits. ";
    return long_text;
  }
  if (index % 13 == 1) return std::string("Richtlinie für Geräte – Größe ≥ 10 ✓ 😀");
  return std::string("Applies the ") + purpose + " settings to " + platform + " devices.";
}

void write_scope_tags(JsonWriter &w, ItemRng &rng) {
  w.key("roleScopeTagIds").begin_array().str("0");
  uint32_t extra = rng.below(3);
  const char *used = nullptr;
  for (uint32_t i = 0; i < extra; ++i) {
    const char *t = rng.pick(kScopeTags);
    if (t == used) continue;
    w.str(t);
    used = t;
  }
  w.end_array();
}

struct Times {
  std::string created;
  std::string modified;
};

Times make_times(ItemRng &rng, uint64_t index, const ItemMutation *m) {
  const int64_t base = 1609459200;  // 2021-01-01T00:00:00Z
  int64_t created = base + rng.below(3u * 365u * 86400u);
  uint32_t created_ticks = rng.below(10000000u);
  int64_t modified = created + rng.below(180u * 86400u);
  uint32_t modified_ticks = rng.below(10000000u);
  const bool fraction = index % 8 != 0;
  if (m != nullptr) {
    // Each touch, rename or edit moves lastModifiedDateTime forward by a day and a bit.
    modified += int64_t(m->touches + m->renames + m->edits) * 86400 + int64_t(m->touches) * 37;
  }
  return {iso8601(created, created_ticks, fraction), iso8601(modified, modified_ticks, fraction)};
}

void write_description(JsonWriter &w, const std::optional<std::string> &d) {
  w.key("description");
  if (d) {
    w.str(*d);
  } else {
    w.null();
  }
}

void write_settings_catalog(JsonWriter &w, ItemRng &rng) {
  static const char *const platforms[] = {"windows10", "windows10", "macOS",
                                          "iOS",       "android",   "linux"};
  static const char *const technologies[] = {"mdm", "mdm", "mdm,microsoftSense", "configManager",
                                             "mdm,appleRemoteManagement"};
  w.kv("platforms", rng.pick(platforms));
  w.kv("technologies", rng.pick(technologies));
}

void write_template_reference(JsonWriter &w, ItemRng &rng) {
  static const char *const families[] = {"endpointSecurityAntivirus",
                                         "endpointSecurityDiskEncryption",
                                         "endpointSecurityFirewall", "baseline"};
  w.key("templateReference").begin_object();
  w.kv("@odata.type", "microsoft.graph.deviceManagementConfigurationPolicyTemplateReference");
  if (rng.chance(70)) {
    w.kv("templateId", "").kv("templateFamily", "none");
    w.kv_null("templateDisplayName").kv_null("templateDisplayVersion");
  } else {
    w.kv("templateId", rng.uuid() + "_1");
    w.kv("templateFamily", rng.pick(families));
    w.kv("templateDisplayName", "Microsoft Defender Antivirus");
    w.kv("templateDisplayVersion", "Version " + std::to_string(1 + rng.below(4)));
  }
  w.end_object();
}

void write_applicability_rules(JsonWriter &w, ItemRng &rng) {
  w.key("deviceManagementApplicabilityRuleOsEdition");
  if (rng.chance(30)) {
    w.begin_object();
    w.kv("@odata.type", "microsoft.graph.deviceManagementApplicabilityRuleOsEdition");
    w.key("osEditionTypes")
        .begin_array()
        .str("windows10Enterprise")
        .str("windows10EnterpriseN")
        .end_array();
    w.kv("name", "Enterprise editions");
    w.kv("ruleType", rng.chance(50) ? "include" : "exclude");
    w.end_object();
  } else {
    w.null();
  }
  w.key("deviceManagementApplicabilityRuleOsVersion");
  if (rng.chance(20)) {
    w.begin_object();
    w.kv("@odata.type", "microsoft.graph.deviceManagementApplicabilityRuleOsVersion");
    w.kv("minOSVersion", "10.0.19041").kv("maxOSVersion", "10.0.22631");
    w.kv("name", "Supported builds").kv("ruleType", "include");
    w.end_object();
  } else {
    w.null();
  }
  w.kv_null("deviceManagementApplicabilityRuleDeviceMode");
}

void write_device_configuration_settings(JsonWriter &w, ItemRng &rng, const std::string &type) {
  if (type.find("CustomConfiguration") != std::string::npos) {
    w.key("omaSettings").begin_array();
    uint32_t n = 1 + rng.below(3);
    for (uint32_t i = 0; i < n; ++i) {
      w.begin_object();
      w.kv("@odata.type", "#microsoft.graph.omaSettingString");
      w.kv("displayName", "Setting " + std::to_string(i + 1));
      w.kv_null("description");
      w.kv("omaUri", "./Device/Vendor/MSFT/Policy/Config/Experience/AllowSetting" +
                         std::to_string(rng.below(100)));
      w.kv_null("secretReferenceValueId");
      w.kv_bool("isEncrypted", false);
      w.kv("value",
           "<enabled/><data id=\"Value\" value=\"" + std::to_string(rng.below(10)) + "\"/>");
      w.end_object();
    }
    w.end_array();
    return;
  }
  static const char *const scan_types[] = {"userDefined", "disabled", "quick", "full"};
  w.kv_bool("passwordRequired", rng.chance(60));
  w.kv_num("passwordMinimumLength", 4 + rng.below(12));
  if (rng.chance(50)) {
    w.kv_num("passwordExpirationDays", 30 + rng.below(90));
  } else {
    w.kv_null("passwordExpirationDays");
  }
  w.kv_bool("passwordBlockSimple", rng.chance(50));
  w.kv_bool("screenCaptureBlocked", rng.chance(20));
  w.kv("defenderScanType", rng.pick(scan_types));
  w.kv_bool("edgeBlockPopups", rng.chance(70));
  w.key("defenderFileExtensionsToExclude").begin_array();
  if (rng.chance(50)) w.str(".log").str(".tmp");
  w.end_array();
}

void write_compliance_settings(JsonWriter &w, ItemRng &rng) {
  w.kv_bool("passwordRequired", rng.chance(80));
  w.kv_num("passwordMinimumLength", 6 + rng.below(8));
  if (rng.chance(60)) {
    w.kv("osMinimumVersion", "10.0.19045");
  } else {
    w.kv_null("osMinimumVersion");
  }
  w.kv_null("osMaximumVersion");
  w.kv_bool("storageRequireEncryption", rng.chance(70));
  w.kv_bool("secureBootEnabled", rng.chance(70));
  w.kv("deviceThreatProtectionRequiredSecurityLevel", rng.chance(50) ? "medium" : "unavailable");
  w.key("validOperatingSystemBuildRanges").begin_array();
  if (rng.chance(25)) {
    w.begin_object();
    w.kv("@odata.type", "microsoft.graph.operatingSystemVersionRange");
    w.kv("description", "22H2")
        .kv("lowestVersion", "10.0.19045.0")
        .kv("highestVersion", "10.0.19045.9999");
    w.end_object();
  }
  w.end_array();
}

void write_app_fields(JsonWriter &w, ItemRng &rng, const std::string &type, uint64_t index) {
  static const char *const publishers[] = {"Microsoft Corporation", "Contoso Ltd.", "Adobe",
                                           "Zoom Video Communications, Inc.", "Fabrikam"};
  w.kv("publisher", rng.pick(publishers));
  w.kv_null("largeIcon");
  w.kv_bool("isFeatured", rng.chance(10));
  w.kv("privacyInformationUrl", rng.chance(50) ? "https://example.com/privacy" : "");
  w.kv_null("informationUrl");
  w.kv("owner", "").kv("developer", "").kv("notes", "");
  w.kv_num("uploadState", 1);
  w.kv("publishingState", "published");
  w.kv_bool("isAssigned", rng.chance(60));
  w.kv_num("dependentAppCount", 0).kv_num("supersedingAppCount", 0);
  w.kv_num("supersededAppCount", rng.below(2));
  if (type.find("webApp") != std::string::npos) {
    w.kv("appUrl", "https://apps.example.com/app" + std::to_string(index) + "?a=1&b=2");
    w.kv_bool("useManagedBrowser", rng.chance(50));
  } else if (type.find("win32LobApp") != std::string::npos) {
    w.kv("fileName", "setup-" + std::to_string(index) + ".intunewin");
    w.kv_num("size", 1000000 + static_cast<int64_t>(rng.next() % 900000000u));
    w.kv("installCommandLine", "setup.exe /quiet /norestart");
    w.kv("uninstallCommandLine", "setup.exe /uninstall /quiet");
    w.kv("applicableArchitectures", rng.chance(50) ? "x64" : "x86,x64");
    w.key("minimumSupportedOperatingSystem").begin_object();
    w.kv_bool("v8_0", false).kv_bool("v10_0", true).kv_bool("v10_1607", true);
    w.kv_bool("v10_21H1", rng.chance(50));
    w.end_object();
  } else {
    w.kv("appStoreUrl", "https://apps.example.com/store/" + std::to_string(index));
  }
}

void write_script_fields(JsonWriter &w, ItemRng &rng, const std::string &type, uint64_t index) {
  w.kv_null("scriptContent");
  w.kv("runAsAccount", rng.chance(70) ? "system" : "user");
  w.kv_bool("enforceSignatureCheck", rng.chance(20));
  w.kv("fileName", "script-" + std::to_string(index) +
                       (type.find("Shell") != std::string::npos ? ".sh" : ".ps1"));
  w.kv_bool("runAs32Bit", rng.chance(10));
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
  for (size_t i = 0; i < n; ++i)
    ids.push_back(derived_uuid("tenant:" + seed_ + ":" + std::to_string(i)));
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
  return derived_uuid(item_key(tenant, path, index));
}

void Generator::write_item(std::string &out, const std::string &tenant, const std::string &path,
                           const PathProfile &profile, uint64_t index, const ItemMutation *m,
                           bool beta) const {
  const Sha256 digest = sha256(item_key(tenant, path, index));
  const std::string id = uuid_from_bytes(digest.data());
  ItemRng rng(digest);
  const std::string &type =
      profile.odata_types[rng.below(static_cast<uint32_t>(profile.odata_types.size()))];
  const std::string platform = platform_label(type);
  std::string name = make_name(rng, index, platform);
  std::optional<std::string> description = make_description(rng, index, platform);
  const Times t = make_times(rng, index, m);
  int64_t version = 1 + rng.below(9);
  if (m != nullptr) {
    version += m->touches + m->renames + m->edits;
    if (!m->rename_suffix.empty()) {
      name += m->rename_suffix;
      description = description.value_or(std::string()) + m->rename_suffix;
    }
    if (!m->edit_suffix.empty()) description = description.value_or(std::string()) + m->edit_suffix;
  }

  JsonWriter w(out);
  w.begin_object();
  w.kv("@odata.type", type);
  switch (profile.family) {
    case Family::SettingsCatalog: {
      w.kv("id", id);
      w.kv("createdDateTime", t.created);
      if (rng.chance(80)) {
        w.kv_null("creationSource");
      } else {
        w.kv("creationSource", "");
      }
      w.kv("description", description.value_or(std::string()));
      w.kv("lastModifiedDateTime", t.modified);
      w.kv(profile.name_field, name);
      write_settings_catalog(w, rng);
      w.kv_num("settingCount", rng.below(60));
      write_scope_tags(w, rng);
      w.kv_bool("isAssigned", rng.chance(60));
      w.key("priorityMetaData");
      if (rng.chance(20)) {
        w.begin_object();
        w.kv("@odata.type", "microsoft.graph.deviceManagementPriorityMetaData");
        w.kv_num("priority", 1 + rng.below(20));
        w.end_object();
      } else {
        w.null();
      }
      write_template_reference(w, rng);
      break;
    }
    case Family::DeviceConfiguration: {
      w.kv("id", id);
      w.kv("lastModifiedDateTime", t.modified);
      if (beta) {
        write_scope_tags(w, rng);
        w.kv_bool("supportsScopeTags", true);
        write_applicability_rules(w, rng);
      }
      w.kv("createdDateTime", t.created);
      write_description(w, description);
      w.kv(profile.name_field, name);
      w.kv_num("version", version);
      write_device_configuration_settings(w, rng, type);
      break;
    }
    case Family::Compliance: {
      if (beta) write_scope_tags(w, rng);
      w.kv("id", id);
      w.kv("createdDateTime", t.created);
      write_description(w, description);
      w.kv("lastModifiedDateTime", t.modified);
      w.kv(profile.name_field, name);
      w.kv_num("version", version);
      write_compliance_settings(w, rng);
      break;
    }
    case Family::App: {
      w.kv("id", id);
      w.kv(profile.name_field, name);
      write_description(w, description);
      w.kv("createdDateTime", t.created);
      w.kv("lastModifiedDateTime", t.modified);
      if (beta) write_scope_tags(w, rng);
      write_app_fields(w, rng, type, index);
      break;
    }
    case Family::Script: {
      w.kv("id", id);
      w.kv(profile.name_field, name);
      write_description(w, description);
      w.kv("createdDateTime", t.created);
      w.kv("lastModifiedDateTime", t.modified);
      if (beta) write_scope_tags(w, rng);
      if (type.find("deviceHealthScript") != std::string::npos) {
        // Proactive remediations really carry version as a string.
        w.kv("version", std::to_string(version));
        w.kv("publisher", "IT Operations");
        w.kv_bool("isGlobalScript", false);
      } else {
        w.kv_num("version", version);
      }
      write_script_fields(w, rng, type, index);
      break;
    }
    case Family::Generic: {
      w.kv("id", id);
      w.kv(profile.name_field, name);
      write_description(w, description);
      w.kv("createdDateTime", t.created);
      w.kv("lastModifiedDateTime", t.modified);
      w.kv_num("version", version);
      if (beta) write_scope_tags(w, rng);
      w.kv_bool("isAssigned", rng.chance(50));
      w.key("settings").begin_object();
      w.kv("mode", rng.chance(50) ? "enforced" : "audit");
      w.kv_bool("enabled", rng.chance(80));
      w.key("values").begin_array().num(rng.below(10)).num(rng.below(100)).end_array();
      w.end_object();
      break;
    }
  }
  w.end_object();
}

ojson Generator::item(const std::string &tenant, const std::string &path,
                      const PathProfile &profile, uint64_t index, const ItemMutation *m,
                      bool beta) const {
  std::string text;
  write_item(text, tenant, path, profile, index, m, beta);
  return ojson::parse(text);
}

}  // namespace tinv::mock
