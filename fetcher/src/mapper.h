// Maps one Graph object to the row staged for inventory.apply_staged:
// external id, display name, whitelisted meta and the content hash.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace fetch {

// One row of inventory.policy_types, as the fetcher uses it.
struct PolicyType {
  std::string policy_type;  // e.g. deviceConfiguration
  std::string graph_path;   // e.g. deviceManagement/deviceConfigurations
  std::string api_version;  // v1.0 | beta
  std::string name_field;   // displayName | name | ...
};

struct StagedRow {
  std::string external_id;
  std::optional<std::string> display_name;  // NULL when the object has none
  nlohmann::json meta = nlohmann::json::object();
  std::string content_hash;  // 64 lowercase hex
};

// Longest Graph id staged (bytes). Graph ids are GUIDs or a few GUIDs and
// names joined; a longer one cannot be a key of the item table (a B-tree
// entry is limited to about 2.7 kB), so it is a bad item, not a failed run.
inline constexpr size_t kMaxExternalIdBytes = 1024;

// The meta keys the fetcher writes and their kinds, as in the extension's
// inventory.meta_keys (the source; `inventory-fetch --print-limits` shows
// this copy and a test compares the two). Writing a key that is not here,
// or as another kind, is a programming error (std::logic_error).
const std::map<std::string, std::string>& meta_kinds();

struct MapResult {
  bool ok = false;
  StagedRow row;
  std::string problem;  // why the object could not be staged (no usable id)
};

// Top-level keys left out of the content hash because they change on reads
// or on bookkeeping that is not a configuration change. Every "@odata.*"
// annotation (at any depth, and property annotations "x@odata.y") is left
// out as well.
const std::vector<std::string>& volatile_keys();

// The object without volatile keys (what the content hash covers).
nlohmann::json strip_volatile(const nlohmann::json& object);

// SHA-256 hex of the canonical JSON of strip_volatile(object). Falls back to
// hashing nlohmann's compact dump (and says so in `warning`) when the object
// holds a number the canonical form cannot represent. Throws
// std::runtime_error for objects nested deeper than 200 levels.
std::string content_hash(const nlohmann::json& object, std::string* warning = nullptr);

MapResult map_item(const PolicyType& type, const nlohmann::json& object);

}  // namespace fetch
