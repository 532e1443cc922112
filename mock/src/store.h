// Tenant state of the mock: known tenants, per-tenant credentials, and the item
// counts and mutations made through the admin API. Optionally persisted to a
// JSON state file so a restarted mock keeps what "changed upstream".
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "generator.h"

namespace tinv::mock {

struct PathState {
  std::optional<uint64_t> count;
  std::map<uint64_t, ItemMutation> mutations;  // ordered: pages walk it with one iterator
};

struct TenantCredentials {
  std::optional<std::string> client_secret;   // overrides --client-secret
  std::optional<std::string> client_id;       // when set, only this client id is accepted
  std::optional<std::string> public_key_pem;  // verify client_assertion signatures with it
};

// Items of one path that GET by id can find (the first ones): the reverse
// index takes about 40 bytes per item.
inline constexpr uint64_t kMaxIdIndex = 10000000;

enum class Mutation { Delete, Restore, Rename, Touch, Hide, Unhide, Edit };

class Store {
 public:
  Store(const Generator &generator, size_t generated_tenants, std::string state_file);

  // Tenants (lowercase UUIDs), generated first, then those created on demand.
  std::vector<std::string> tenants() const;
  bool has_tenant(const std::string &tenant) const;
  // Creates the tenant when unknown (any UUID is accepted). Returns the lowercase id.
  std::string ensure_tenant(const std::string &tenant);

  TenantCredentials credentials(const std::string &tenant) const;
  // Body: {"client_secret": ..., "client_id": ..., "public_key_pem": ...} (null removes).
  bool set_credentials(const std::string &tenant, const nlohmann::json &body, std::string &error);

  void set_count(const std::string &tenant, const std::string &path, uint64_t count);
  // Applies a mutation to the given indexes; returns how many entries changed.
  size_t mutate(const std::string &tenant, const std::string &path,
                const std::vector<uint64_t> &indexes, Mutation kind, const std::string &suffix);

  // The index of the item `id` (as Generator::item_id gives it, any case) of
  // (tenant, path) below the path's count (and below kMaxIdIndex), deleted,
  // hidden or not; nullopt when no such item was ever generated. Builds a reverse index of the path
  // the first time (one hash per item), then answers in constant time.
  std::optional<uint64_t> index_of(const std::string &tenant, const std::string &path,
                                   const std::string &id) const;

  // Calls fn(count, state-or-null) under a shared lock; used to build one page.
  void read_path(const std::string &tenant, const std::string &path,
                 const std::function<void(uint64_t, const PathState *)> &fn) const;

  // State file (no-ops returning true when no file was configured).
  bool load(std::string &error);
  bool save(std::string &error) const;
  const std::string &state_file() const { return state_file_; }

 private:
  nlohmann::json to_json_locked() const;
  uint64_t count_locked(const std::string &tenant, const std::string &path) const;

  const Generator &generator_;
  std::string state_file_;
  mutable std::shared_mutex mutex_;
  mutable std::mutex save_mutex_;
  std::vector<std::string> order_;  // tenants in listing order
  std::set<std::string> known_;
  std::map<std::string, TenantCredentials> credentials_;
  std::map<std::string, std::map<std::string, PathState>> paths_;  // tenant -> path -> state

  // Reverse indexes for index_of: (tenant, path) -> hash of the id -> indexes
  // (a hash collision is resolved by regenerating the id), covering 0..built.
  struct IdIndex {
    uint64_t built = 0;
    std::unordered_multimap<size_t, uint64_t> by_hash;
  };
  mutable std::mutex id_index_mutex_;
  mutable std::map<std::pair<std::string, std::string>, IdIndex> id_index_;
};

}  // namespace tinv::mock
