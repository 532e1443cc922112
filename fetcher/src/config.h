// What to fetch and how: the settings of the process and one job per
// (tenant, selection), from the command line or a JSON config file.
#pragma once

#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "credentials.h"
#include "log.h"

namespace fetch {

// Raised for usage and configuration errors (exit code 2).
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

inline constexpr const char* kDefaultSecretEnv = "INVENTORY_CLIENT_SECRET";
inline constexpr const char* kPassphraseEnv = "INVENTORY_PRIVATE_KEY_PASSPHRASE";

// Items a complete policy type checks one by one before it reports their
// absence (inventory.limits() verify_max_per_type; the fetcher cuts there
// whatever the server returns).
inline constexpr int kVerifyMaxPerType = 50;

struct Settings {
  std::string conninfo;  // empty: libpq environment (PGHOST, PGDATABASE, ...)
  std::string graph_url = "https://graph.microsoft.com";
  std::string login_url = "https://login.microsoftonline.com";
  std::string scope = "https://graph.microsoft.com/.default";
  int max_concurrency = 16;
  int per_tenant_concurrency = 4;
  int parallel_tenants = 4;
  long batch_rows = 5000;
  // Read the tenant's manifest at run start and stage unchanged items as
  // narrow keys (docs/design.md §10); false stages every row whole.
  bool use_manifest = true;
  // Before a complete type makes items absent, ask Graph for each of them
  // (at most kVerifyMaxPerType): a 404 verifies the deletion, a 200 shows
  // the listing left out an item that exists. false: no checks.
  bool verify = true;
  int page_size = 0;
  double request_timeout_s = 100.0;
  double connect_timeout_s = 10.0;
  double request_budget_s = 300.0;
  double run_budget_s = 6 * 3600.0;  // wall clock of one tenant run; 0: none
  double retry_scale = 1.0;
  std::string ca_file;
  LogFormat log_format = LogFormat::Text;
  LogLevel log_level = LogLevel::Info;
  bool progress = true;
  std::string metrics_file;
};

// Where a job's credential comes from (resolved by load_credential).
struct CredentialSource {
  std::string client_id;
  std::string secret_file;
  std::string secret_env;  // variable name
  std::string certificate_file;
  std::string private_key_file;
};

struct Job {
  std::string tenant;          // lowercase UUID
  std::string name;            // optional label (config file)
  nlohmann::json selection;    // as given
  std::string selection_hash;  // SHA-256 of the canonical selection
  std::vector<std::string> policy_types;
  CredentialSource source;
  ClientCredential credential;
  std::string correlation_id;  // optional
  std::vector<std::string> warnings;  // logged (WARN) once the log exists
};

// Checks a selection (object with a non-empty policy_types array of
// non-empty strings) and returns its policy types without duplicates.
std::vector<std::string> selection_policy_types(const nlohmann::json& selection);

// Loads the credential of `src`: certificate when certificate_file is set;
// else the secret from secret_file, else from secret_env, else from
// INVENTORY_CLIENT_SECRET. Throws ConfigError.
// Problems worth a loud warning (a group/world-readable secret file) go to
// `warnings` when given.
ClientCredential load_credential(const CredentialSource& src, std::vector<std::string>* warnings = nullptr);

// Builds a job (validates tenant and selection, loads the credential).
Job make_job(const std::string& tenant, const nlohmann::json& selection, const CredentialSource& src,
             const std::string& name = {}, const std::string& correlation_id = {});

// Reads a config file. Keys given in `cli_overrides` (the settings the
// command line set explicitly) win over the file. See fetcher/README.md for
// the format.
struct FileConfig {
  Settings settings;
  std::vector<Job> jobs;
};
FileConfig parse_config(const nlohmann::json& doc, Settings base,
                        const std::vector<std::string>& cli_overrides);
FileConfig load_config_file(const std::string& path, Settings base,
                            const std::vector<std::string>& cli_overrides);

// Checks settings that do not depend on the source (ranges, URLs: plain
// http only towards loopback addresses). Throws ConfigError.
void validate_settings(const Settings& s);

// Plain http is allowed only towards these hosts (as parse_url_origin
// gives them): exactly "localhost", an IPv4 literal in 127.0.0.0/8, "[::1]".
bool is_loopback_host(const std::string& host);

}  // namespace fetch
