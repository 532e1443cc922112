#include "store.h"

#include "util.h"

namespace tinv::mock {

using nlohmann::json;

Store::Store(const Generator &generator, size_t generated_tenants, std::string state_file)
    : generator_(generator), state_file_(std::move(state_file)) {
  for (auto &t : generator_.tenant_ids(generated_tenants)) {
    if (known_.insert(t).second) order_.push_back(t);
  }
}

std::vector<std::string> Store::tenants() const {
  std::shared_lock lock(mutex_);
  return order_;
}

bool Store::has_tenant(const std::string &tenant) const {
  std::shared_lock lock(mutex_);
  return known_.count(to_lower(tenant)) > 0;
}

std::string Store::ensure_tenant(const std::string &tenant) {
  std::string t = to_lower(tenant);
  {
    std::shared_lock lock(mutex_);
    if (known_.count(t)) return t;
  }
  std::unique_lock lock(mutex_);
  if (known_.insert(t).second) order_.push_back(t);
  return t;
}

TenantCredentials Store::credentials(const std::string &tenant) const {
  std::shared_lock lock(mutex_);
  auto it = credentials_.find(to_lower(tenant));
  return it == credentials_.end() ? TenantCredentials{} : it->second;
}

bool Store::set_credentials(const std::string &tenant, const json &body, std::string &error) {
  if (!body.is_object()) {
    error = "body must be a JSON object";
    return false;
  }
  auto read = [&](const char *key, std::optional<std::string> &slot, bool &changed) -> bool {
    if (!body.contains(key)) return true;
    const json &v = body[key];
    if (v.is_null()) {
      slot.reset();
    } else if (v.is_string()) {
      slot = v.get<std::string>();
    } else {
      error = std::string("\"") + key + "\" must be a string or null";
      return false;
    }
    changed = true;
    return true;
  };
  std::string t = ensure_tenant(tenant);
  std::unique_lock lock(mutex_);
  TenantCredentials next = credentials_[t];
  bool changed = false;
  if (!read("client_secret", next.client_secret, changed) ||
      !read("client_id", next.client_id, changed) ||
      !read("public_key_pem", next.public_key_pem, changed)) {
    return false;
  }
  if (!changed) {
    error = "expected one of \"client_secret\", \"client_id\", \"public_key_pem\"";
    return false;
  }
  credentials_[t] = std::move(next);
  return true;
}

void Store::set_count(const std::string &tenant, const std::string &path, uint64_t count) {
  std::string t = ensure_tenant(tenant);
  std::unique_lock lock(mutex_);
  paths_[t][path].count = count;
}

size_t Store::mutate(const std::string &tenant, const std::string &path,
                     const std::vector<uint64_t> &indexes, Mutation kind,
                     const std::string &suffix) {
  std::string t = ensure_tenant(tenant);
  std::unique_lock lock(mutex_);
  PathState &ps = paths_[t][path];
  size_t changed = 0;
  for (uint64_t i : indexes) {
    if (kind == Mutation::Restore || kind == Mutation::Unhide) {
      // restore brings an item back into the listing (deleted or hidden);
      // unhide only ends hiding.
      auto it = ps.mutations.find(i);
      if (it == ps.mutations.end()) continue;
      ItemMutation &m = it->second;
      const bool was = kind == Mutation::Restore ? (m.deleted || m.hidden) : m.hidden;
      if (!was) continue;
      if (kind == Mutation::Restore) m.deleted = false;
      m.hidden = false;
      if (m.renames == 0 && m.touches == 0 && m.edits == 0 && !m.deleted) ps.mutations.erase(it);
      ++changed;
      continue;
    }
    ItemMutation &m = ps.mutations[i];
    switch (kind) {
      case Mutation::Delete:
        if (!m.deleted) ++changed;
        m.deleted = true;
        break;
      case Mutation::Rename:
        m.rename_suffix += suffix;
        ++m.renames;
        ++changed;
        break;
      case Mutation::Touch:
        ++m.touches;
        ++changed;
        break;
      case Mutation::Edit:
        m.edit_suffix += suffix;
        ++m.edits;
        ++changed;
        break;
      case Mutation::Hide:
        if (!m.hidden) ++changed;
        m.hidden = true;
        break;
      case Mutation::Restore:
      case Mutation::Unhide: break;
    }
  }
  return changed;
}

uint64_t Store::count_locked(const std::string &tenant, const std::string &path) const {
  auto t = paths_.find(tenant);
  if (t != paths_.end()) {
    auto p = t->second.find(path);
    if (p != t->second.end() && p->second.count) return *p->second.count;
  }
  return generator_.default_count(path);
}

std::optional<uint64_t> Store::index_of(const std::string &tenant, const std::string &path,
                                        const std::string &id) const {
  const std::string want = to_lower(id);
  if (!is_uuid(want)) return std::nullopt;  // every generated id is a GUID
  uint64_t count = 0;
  {
    std::shared_lock lock(mutex_);
    count = count_locked(tenant, path);
  }
  const std::hash<std::string> hash;
  std::lock_guard lock(id_index_mutex_);
  IdIndex &ix = id_index_[{tenant, path}];
  // Grown counts extend the index; a lowered count is handled by the bound
  // below. Items past kMaxIdIndex are not found by id.
  for (; ix.built < std::min<uint64_t>(count, kMaxIdIndex); ++ix.built)
    ix.by_hash.emplace(hash(Generator::item_id(tenant, path, ix.built)), ix.built);
  auto [first, last] = ix.by_hash.equal_range(hash(want));
  for (auto it = first; it != last; ++it) {
    if (it->second < count && Generator::item_id(tenant, path, it->second) == want)
      return it->second;
  }
  return std::nullopt;
}

void Store::read_path(const std::string &tenant, const std::string &path,
                      const std::function<void(uint64_t, const PathState *)> &fn) const {
  std::shared_lock lock(mutex_);
  const PathState *ps = nullptr;
  auto t = paths_.find(tenant);
  if (t != paths_.end()) {
    auto p = t->second.find(path);
    if (p != t->second.end()) ps = &p->second;
  }
  fn(count_locked(tenant, path), ps);
}

json Store::to_json_locked() const {
  json doc = json::object();
  doc["format"] = "inventory-mock-graph-state";
  doc["version"] = 1;
  doc["tenant_seed"] = generator_.seed();
  doc["tenants"] = order_;
  json creds = json::object();
  for (const auto &[tenant, c] : credentials_) {
    json e = json::object();
    if (c.client_secret) e["client_secret"] = *c.client_secret;
    if (c.client_id) e["client_id"] = *c.client_id;
    if (c.public_key_pem) e["public_key_pem"] = *c.public_key_pem;
    creds[tenant] = std::move(e);
  }
  doc["credentials"] = std::move(creds);
  json items = json::object();
  for (const auto &[tenant, paths] : paths_) {
    json per_path = json::object();
    for (const auto &[path, ps] : paths) {
      json e = json::object();
      if (ps.count) e["count"] = *ps.count;
      json deleted = json::array();
      json hidden = json::array();
      json renamed = json::object();
      json edited = json::object();
      json touched = json::object();
      for (const auto &[index, m] : ps.mutations) {
        if (m.deleted) deleted.push_back(index);
        if (m.hidden) hidden.push_back(index);
        if (m.renames > 0) {
          renamed[std::to_string(index)] = {{"suffix", m.rename_suffix}, {"times", m.renames}};
        }
        if (m.edits > 0) {
          edited[std::to_string(index)] = {{"suffix", m.edit_suffix}, {"times", m.edits}};
        }
        if (m.touches > 0) touched[std::to_string(index)] = m.touches;
      }
      e["deleted"] = std::move(deleted);
      e["hidden"] = std::move(hidden);
      e["renamed"] = std::move(renamed);
      e["edited"] = std::move(edited);
      e["touched"] = std::move(touched);
      per_path[path] = std::move(e);
    }
    items[tenant] = std::move(per_path);
  }
  doc["items"] = std::move(items);
  return doc;
}

bool Store::save(std::string &error) const {
  if (state_file_.empty()) return true;
  std::lock_guard save_lock(save_mutex_);
  std::string text;
  {
    std::shared_lock lock(mutex_);
    text = to_json_locked().dump(1);
  }
  if (!write_file_atomic(state_file_, text + "\n")) {
    error = "cannot write state file " + state_file_;
    return false;
  }
  return true;
}

namespace {

bool parse_index(const std::string &key, uint64_t &out) {
  if (key.empty() || key.size() > 19) return false;
  uint64_t v = 0;
  for (char c : key) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + uint64_t(c - '0');
  }
  out = v;
  return true;
}

}  // namespace

bool Store::load(std::string &error) {
  if (state_file_.empty()) return true;
  std::string text;
  if (!read_file(state_file_, text)) return true;  // first start: nothing saved yet
  json doc = json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    error = "state file " + state_file_ + " is not a JSON object";
    return false;
  }
  try {
    std::unique_lock lock(mutex_);
    if (doc.contains("tenants") && doc["tenants"].is_array()) {
      for (const auto &t : doc["tenants"]) {
        if (!t.is_string() || !is_uuid(t.get<std::string>())) continue;
        std::string id = to_lower(t.get<std::string>());
        if (known_.insert(id).second) order_.push_back(id);
      }
    }
    if (doc.contains("credentials") && doc["credentials"].is_object()) {
      for (const auto &[tenant, c] : doc["credentials"].items()) {
        if (!c.is_object()) continue;
        TenantCredentials tc;
        if (c.contains("client_secret") && c["client_secret"].is_string())
          tc.client_secret = c["client_secret"].get<std::string>();
        if (c.contains("client_id") && c["client_id"].is_string())
          tc.client_id = c["client_id"].get<std::string>();
        if (c.contains("public_key_pem") && c["public_key_pem"].is_string())
          tc.public_key_pem = c["public_key_pem"].get<std::string>();
        credentials_[to_lower(tenant)] = std::move(tc);
      }
    }
    if (doc.contains("items") && doc["items"].is_object()) {
      for (const auto &[tenant_key, per_path] : doc["items"].items()) {
        if (!per_path.is_object()) continue;
        std::string tenant = to_lower(tenant_key);
        if (known_.insert(tenant).second) order_.push_back(tenant);
        for (const auto &[path, e] : per_path.items()) {
          if (!e.is_object()) continue;
          PathState ps;
          if (e.contains("count") && e["count"].is_number_unsigned())
            ps.count = e["count"].get<uint64_t>();
          if (e.contains("deleted") && e["deleted"].is_array()) {
            for (const auto &i : e["deleted"])
              if (i.is_number_unsigned()) ps.mutations[i.get<uint64_t>()].deleted = true;
          }
          if (e.contains("hidden") && e["hidden"].is_array()) {
            for (const auto &i : e["hidden"])
              if (i.is_number_unsigned()) ps.mutations[i.get<uint64_t>()].hidden = true;
          }
          if (e.contains("renamed") && e["renamed"].is_object()) {
            for (const auto &[k, r] : e["renamed"].items()) {
              uint64_t index = 0;
              if (!parse_index(k, index) || !r.is_object()) continue;
              ItemMutation &m = ps.mutations[index];
              if (r.contains("suffix") && r["suffix"].is_string())
                m.rename_suffix = r["suffix"].get<std::string>();
              m.renames = r.contains("times") && r["times"].is_number_unsigned()
                              ? r["times"].get<uint32_t>()
                              : 1;
            }
          }
          if (e.contains("edited") && e["edited"].is_object()) {
            for (const auto &[k, r] : e["edited"].items()) {
              uint64_t index = 0;
              if (!parse_index(k, index) || !r.is_object()) continue;
              ItemMutation &m = ps.mutations[index];
              if (r.contains("suffix") && r["suffix"].is_string())
                m.edit_suffix = r["suffix"].get<std::string>();
              m.edits = r.contains("times") && r["times"].is_number_unsigned()
                            ? r["times"].get<uint32_t>()
                            : 1;
            }
          }
          if (e.contains("touched") && e["touched"].is_object()) {
            for (const auto &[k, n] : e["touched"].items()) {
              uint64_t index = 0;
              if (!parse_index(k, index) || !n.is_number_unsigned()) continue;
              ps.mutations[index].touches = n.get<uint32_t>();
            }
          }
          paths_[tenant][path] = std::move(ps);
        }
      }
    }
  } catch (const std::exception &e) {
    error = std::string("state file ") + state_file_ + ": " + e.what();
    return false;
  }
  return true;
}

}  // namespace tinv::mock
