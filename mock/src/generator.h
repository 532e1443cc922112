// Deterministic generation of tenants and Graph list items.
//
// The same (tenant, path, index) always gives the same item, byte for byte, so a
// re-sync sees unchanged items with stable content hashes. Mutations made through
// the admin API (rename, touch) are applied on top of the generated item.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace tinv::mock {

using ojson = nlohmann::ordered_json;

// Per-item changes recorded by the admin API.
struct ItemMutation {
  bool deleted = false;       // neither listed nor found by id (404)
  bool hidden = false;        // left out of the listing, still found by id (200)
  std::string rename_suffix;  // appended to the name and the description
  uint32_t renames = 0;
  std::string edit_suffix;  // appended to the description only (content changes, name stays)
  uint32_t edits = 0;
  uint32_t touches = 0;  // bumps lastModifiedDateTime and version only
};

enum class Family { SettingsCatalog, DeviceConfiguration, Compliance, App, Script, Generic };

// What the generator knows about one Graph path.
struct PathProfile {
  Family family = Family::Generic;
  std::string name_field = "displayName";
  std::vector<std::string> odata_types;  // one is picked per item
  size_t page_size = 50;
  bool include_count = false;     // "@odata.count" on each page
  std::optional<uint64_t> count;  // default item count from the types file
};

// One entry of --types-file: overrides for a path.
struct TypeOverride {
  std::string path;
  std::optional<uint64_t> count;
  std::optional<size_t> page_size;
  std::optional<std::string> odata_type;
  std::optional<std::string> name_field;
};

// Parses the --types-file JSON (an array of {"path", "count", "page_size", "odata_type",
// "name_field"}). Throws std::runtime_error with a readable message on bad input.
std::vector<TypeOverride> parse_type_overrides(const std::string &text);

class Generator {
 public:
  Generator(std::string seed, uint64_t items_per_type, std::vector<TypeOverride> overrides);

  const std::string &seed() const { return seed_; }

  // The first n generated tenant ids (uuid v4-shaped, from sha256("tenant:"+seed+":"+i)).
  std::vector<std::string> tenant_ids(size_t n) const;

  PathProfile profile(const std::string &path) const;

  // Item count of (any tenant, path) unless the tenant overrides it.
  uint64_t default_count(const std::string &path) const;

  // The item id: a GUID derived from (tenant, path, index).
  static std::string item_id(const std::string &tenant, const std::string &path, uint64_t index);

  // Appends the item's JSON text, as Graph would list it under api version `beta`
  // (true) or v1.0 (false), to `out`. This is the fast path used for pages.
  void write_item(std::string &out, const std::string &tenant, const std::string &path,
                  const PathProfile &profile, uint64_t index, const ItemMutation *mutation,
                  bool beta) const;

  // The same item as a JSON value.
  ojson item(const std::string &tenant, const std::string &path, const PathProfile &profile,
             uint64_t index, const ItemMutation *mutation, bool beta) const;

 private:
  std::string seed_;
  uint64_t items_per_type_;
  std::map<std::string, TypeOverride> overrides_;
};

}  // namespace tinv::mock
