#include "mapper.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "canonical.h"
#include "canonical_nlohmann.h"
#include "meta_rules.h"
#include "sha256.h"

namespace fetch {

const std::map<std::string, std::string>& meta_kinds() {
  static const std::map<std::string, std::string> kinds = {
      {"odata_type", "string"},        {"platform", "string"},         {"technologies", "string_array"},
      {"created_at", "timestamp"},     {"last_modified_at", "timestamp"}, {"version", "string"},
      {"scope_tag_ids", "string_array"}, {"is_assigned", "boolean"},   {"template_family", "string"},
      {"template_id", "string"},       {"setting_count", "number"},    {"state", "string"},
      {"priority", "number"}};
  return kinds;
}

const std::vector<std::string>& volatile_keys() {
  // lastModifiedDateTime/modifiedDateTime/version: bumped by Intune on
  //   bookkeeping writes (assignment changes, re-publishing) that leave the
  //   configuration itself unchanged;
  // isAssigned: derived from the assignments, not part of the object;
  // lastSyncDateTime, usedLicenseCount, totalLicenseCount: VPP app and token
  //   counters that move on every license sync;
  // dependentAppCount, supersedingAppCount, supersededAppCount: counters of
  //   other apps' relationships to this one.
  static const std::vector<std::string> keys = {
      "lastModifiedDateTime", "modifiedDateTime",  "version",           "isAssigned",
      "lastSyncDateTime",     "usedLicenseCount",  "totalLicenseCount", "dependentAppCount",
      "supersedingAppCount",  "supersededAppCount"};
  return keys;
}

namespace {

bool is_annotation(const std::string& key) {
  return key.rfind("@odata.", 0) == 0 || key.find("@odata.") != std::string::npos;
}

// Deeper documents are refused (no Intune object comes close); it keeps the
// recursion here and in the canonical writer far from the stack's limit.
constexpr int kMaxNesting = 200;

struct TooDeep : std::runtime_error {
  TooDeep() : std::runtime_error("object nested deeper than 200 levels") {}
};

nlohmann::json strip_annotations(const nlohmann::json& v, int depth = 0) {
  if (depth > kMaxNesting) throw TooDeep();
  if (v.is_object()) {
    nlohmann::json o = nlohmann::json::object();
    for (auto it = v.begin(); it != v.end(); ++it) {
      if (!is_annotation(it.key())) o[it.key()] = strip_annotations(it.value(), depth + 1);
    }
    return o;
  }
  if (v.is_array()) {
    nlohmann::json a = nlohmann::json::array();
    for (const auto& e : v) a.push_back(strip_annotations(e, depth + 1));
    return a;
  }
  return v;
}

// PostgreSQL text and jsonb cannot hold NUL characters.
std::string without_nul(std::string s, bool* changed = nullptr) {
  const auto n = s.size();
  s.erase(std::remove(s.begin(), s.end(), '\0'), s.end());
  if (changed && s.size() != n) *changed = true;
  return s;
}

const nlohmann::json* member(const nlohmann::json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

void check_kind(const char* key, const char* kind) {
  const auto& kinds = meta_kinds();
  const auto it = kinds.find(key);
  if (it == kinds.end() || it->second != kind) {
    throw std::logic_error(std::string("meta key ") + key + " is not a " + kind + " in meta_kinds()");
  }
}

struct MetaBuilder {
  nlohmann::json meta = nlohmann::json::object();
  std::vector<std::string> warnings;

  void warn(std::string w) {
    if (std::find(warnings.begin(), warnings.end(), w) == warnings.end()) warnings.push_back(std::move(w));
  }

  void string(const char* key, const nlohmann::json* v) {
    check_kind(key, "string");
    if (!v) return;
    if (!v->is_string()) {
      warn(std::string(key) + "_not_string");
      return;
    }
    bool nul = false;
    std::string s = without_nul(v->get<std::string>(), &nul);
    if (nul) warn(std::string(key) + "_nul_removed");
    if (tinv::utf8_length(s) > tinv::kMetaStringMaxChars) {
      warn(std::string(key) + "_too_long");
      return;
    }
    meta[key] = s;
  }

  void timestamp(const char* key, const nlohmann::json* v) {
    check_kind(key, "timestamp");
    if (!v) return;
    if (!v->is_string() || !tinv::is_iso8601_timestamp(v->get_ref<const std::string&>())) {
      warn(std::string(key) + "_invalid");
      return;
    }
    meta[key] = *v;
  }

  void number(const char* key, const nlohmann::json* v) {
    check_kind(key, "number");
    if (!v) return;
    if (!v->is_number() || (v->is_number_float() && !std::isfinite(v->get<double>()))) {
      warn(std::string(key) + "_not_number");
      return;
    }
    meta[key] = *v;
  }

  void boolean(const char* key, const nlohmann::json* v) {
    check_kind(key, "boolean");
    if (!v) return;
    if (!v->is_boolean()) {
      warn(std::string(key) + "_not_boolean");
      return;
    }
    meta[key] = *v;
  }

  // Accepts an array of strings, or a comma-separated string ("mdm,microsoftSense").
  void string_array(const char* key, const nlohmann::json* v) {
    check_kind(key, "string_array");
    if (!v) return;
    std::vector<std::string> items;
    if (v->is_string()) {
      const std::string& s = v->get_ref<const std::string&>();
      size_t start = 0;
      while (start <= s.size()) {
        size_t comma = s.find(',', start);
        std::string part = s.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        const size_t b = part.find_first_not_of(" \t");
        const size_t e = part.find_last_not_of(" \t");
        if (b != std::string::npos) items.push_back(part.substr(b, e - b + 1));
        if (comma == std::string::npos) break;
        start = comma + 1;
      }
    } else if (v->is_array()) {
      for (const auto& e : *v) {
        if (e.is_string()) {
          items.push_back(e.get<std::string>());
        } else if (e.is_number_integer()) {
          items.push_back(e.dump());  // role scope tag ids sometimes come as numbers
        } else {
          warn(std::string(key) + "_bad_element");
        }
      }
    } else {
      warn(std::string(key) + "_not_array");
      return;
    }
    nlohmann::json arr = nlohmann::json::array();
    for (auto& s : items) {
      s = without_nul(std::move(s));
      if (tinv::utf8_length(s) > tinv::kMetaArrayItemMaxChars) {
        warn(std::string(key) + "_element_too_long");
        continue;
      }
      if (arr.size() >= tinv::kMetaArrayMaxItems) {
        warn(std::string(key) + "_truncated");
        break;
      }
      arr.push_back(std::move(s));
    }
    meta[key] = std::move(arr);
  }
};

}  // namespace

nlohmann::json strip_volatile(const nlohmann::json& object) {
  nlohmann::json o = strip_annotations(object);
  if (o.is_object()) {
    for (const auto& k : volatile_keys()) o.erase(k);
  }
  return o;
}

std::string content_hash(const nlohmann::json& object, std::string* warning) {
  const nlohmann::json stripped = strip_volatile(object);  // throws when nested too deep
  try {
    return tinv::sha256_hex(tinv::canonical_json(stripped));
  } catch (const tinv::NumberOutOfRange&) {
    if (warning) *warning = "content_hash_not_canonical";
    return tinv::sha256_hex(stripped.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  }
}

MapResult map_item(const PolicyType& type, const nlohmann::json& object) {
  MapResult r;
  if (!object.is_object()) {
    r.problem = "item is not a JSON object";
    return r;
  }
  const nlohmann::json* id = member(object, "id");
  if (!id || !id->is_string() || id->get_ref<const std::string&>().empty()) {
    r.problem = "item without a string id";
    return r;
  }
  bool nul = false;
  r.row.external_id = without_nul(id->get<std::string>(), &nul);
  if (nul || r.row.external_id.empty()) {
    r.problem = "item id contains NUL characters";
    return r;
  }
  if (r.row.external_id.size() > kMaxExternalIdBytes) {
    r.problem = "item id longer than " + std::to_string(kMaxExternalIdBytes) + " bytes";
    return r;
  }

  MetaBuilder mb;
  // Display name: the registry's name field, else the usual suspects.
  const nlohmann::json* name = member(object, type.name_field.c_str());
  if (!name) {
    for (const char* alt : {"displayName", "name"}) {
      if ((name = member(object, alt))) {
        mb.warn("name_field_missing");
        break;
      }
    }
    if (!name) mb.warn("display_name_missing");
  }
  if (name) {
    if (name->is_string()) {
      bool changed = false;
      r.row.display_name = without_nul(name->get<std::string>(), &changed);
      if (changed) mb.warn("display_name_nul_removed");
    } else {
      mb.warn("display_name_not_string");
    }
  }

  mb.string("odata_type", member(object, "@odata.type"));
  {
    const nlohmann::json* p = member(object, "platforms");
    if (!p) p = member(object, "platform");
    mb.string("platform", p);
  }
  mb.string_array("technologies", member(object, "technologies"));
  mb.timestamp("created_at", member(object, "createdDateTime"));
  {
    const nlohmann::json* m = member(object, "lastModifiedDateTime");
    if (!m) m = member(object, "modifiedDateTime");
    mb.timestamp("last_modified_at", m);
  }
  if (const nlohmann::json* v = member(object, "version")) {
    if (v->is_string()) {
      mb.string("version", v);
    } else if (v->is_number_integer()) {
      mb.meta["version"] = v->dump();
    } else if (v->is_number_float() && std::isfinite(v->get<double>())) {
      std::string s;
      tinv::append_json_number(s, v->get<double>());
      mb.meta["version"] = s;
    } else {
      mb.warn("version_unusable");
    }
  }
  {
    const nlohmann::json* t = member(object, "roleScopeTagIds");
    if (!t) t = member(object, "roleScopeTags");
    mb.string_array("scope_tag_ids", t);
  }
  mb.boolean("is_assigned", member(object, "isAssigned"));
  if (const nlohmann::json* tr = member(object, "templateReference")) {
    if (tr->is_object()) {
      mb.string("template_family", member(*tr, "templateFamily"));
      mb.string("template_id", member(*tr, "templateId"));
    } else {
      mb.warn("template_reference_not_object");
    }
  }
  mb.number("setting_count", member(object, "settingCount"));
  mb.string("state", member(object, "state"));
  if (const nlohmann::json* p = member(object, "priority")) {
    mb.number("priority", p);
  } else if (const nlohmann::json* pm = member(object, "priorityMetaData")) {
    if (pm->is_object()) mb.number("priority", member(*pm, "priority"));
  }

  std::string hash_warning;
  try {
    r.row.content_hash = content_hash(object, &hash_warning);
  } catch (const std::exception& e) {
    r.problem = e.what();
    return r;
  }
  if (!hash_warning.empty()) mb.warn(hash_warning);
  if (!mb.warnings.empty()) {
    nlohmann::json w = nlohmann::json::array();
    for (const auto& s : mb.warnings) w.push_back(s);
    mb.meta["warnings"] = std::move(w);
  }
  r.row.meta = std::move(mb.meta);
  r.ok = true;
  return r;
}

}  // namespace fetch
