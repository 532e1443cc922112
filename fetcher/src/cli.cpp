#include "cli.h"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>

#include "error_record.h"
#include "mapper.h"
#include "version.h"

namespace fetch {

namespace {

const char* kFooter = R"(Credentials (never on the command line):
  --client-secret-file FILE, or the variable named by --client-secret-env
  (default INVENTORY_CLIENT_SECRET); or a certificate: --certificate-file PEM
  (certificate and RSA key, or add --private-key-file). An encrypted key's
  passphrase is read from INVENTORY_PRIVATE_KEY_PASSPHRASE.

Database: --db takes a libpq connection string or URI; without it the PG*
  environment variables apply (PGHOST, PGDATABASE, PGUSER, PGPASSFILE, ...).

Exit codes: 0 every run succeeded; 1 some run was partial or failed;
  2 usage or configuration error; 75 skipped because a run of the same
  tenant and selection was already in progress.

Examples:
  INVENTORY_CLIENT_SECRET=... inventory-fetch sync --tenant 6f1c...  \
      --selection '{"policy_types":["deviceConfiguration"]}' \
      --client-id 0a1b... --db 'dbname=inventory'
  inventory-fetch sync --config tenants.json --metrics-file /var/lib/node_exporter/inventory.prom)";

}  // namespace

std::string limits_json() {
  nlohmann::json j = {{"external_id_max_bytes", kMaxExternalIdBytes},
                      {"error_message_max_chars", kMaxErrorMessageChars},
                      {"errors_max", kMaxStoredErrors},
                      {"verify_max_per_type", kVerifyMaxPerType},
                      {"meta_kinds", meta_kinds()}};
  return j.dump();
}

std::string usage_error_text(const std::exception& e, const std::vector<std::string>& args) {
  std::string text = e.what();
  // Every argument that is not an option name (and the value part of
  // --name=value) is taken out of the message, longest first.
  std::vector<std::string> values;
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a.rfind("-", 0) == 0) {
      const size_t eq = a.find('=');
      if (eq != std::string::npos && eq + 1 < a.size()) values.push_back(a.substr(eq + 1));
    } else if (a != "sync") {
      values.push_back(a);
    }
  }
  std::sort(values.begin(), values.end(),
            [](const std::string& x, const std::string& y) { return x.size() > y.size(); });
  for (const auto& v : values) {
    if (v.empty()) continue;
    for (size_t at = text.find(v); at != std::string::npos; at = text.find(v, at + 7)) {
      text.replace(at, v.size(), "<value>");
    }
  }
  // Option names alone: "--name=value" keeps "--name=<value>".
  std::string unknown;
  if (dynamic_cast<const CLI::ExtrasError*>(&e) != nullptr) {
    for (size_t i = 1; i < args.size(); ++i) {
      const std::string& a = args[i];
      if (a.rfind("-", 0) == 0 && a != "-" && a != "--") {
        std::string name = a.substr(0, a.find('='));
        if (text.find(name) != std::string::npos) unknown += (unknown.empty() ? "" : ", ") + name;
      }
    }
    if (!unknown.empty()) return "unknown option(s): " + unknown + " (values are not shown)";
    return "unexpected argument(s) (values are not shown)";
  }
  return text;
}

CommandLine parse_command_line(const std::vector<std::string>& args) {
  CommandLine out;
  // A secret on the command line would be visible to every local user (ps,
  // /proc): refuse it without echoing it back.
  for (const auto& a : args) {
    if (a == "--client-secret" || a.rfind("--client-secret=", 0) == 0 || a == "--password") {
      std::cerr << "inventory-fetch: secrets are not accepted on the command line; use "
                   "--client-secret-file FILE or the INVENTORY_CLIENT_SECRET environment variable\n";
      out.exit_code = 2;
      return out;
    }
  }

  CLI::App app{
      "inventory-fetch: pulls Microsoft Intune configuration objects from Microsoft Graph\n"
      "into the tenant_inventory PostgreSQL extension, one sync run per tenant and selection.",
      "inventory-fetch"};
  app.set_version_flag("--version", std::string(kFetchVersion));
  // The limits the fetcher shares with the extension (inventory.limits()):
  // printed so that a test can compare the two.
  app.add_flag_callback(
         "--print-limits",
         [] {
           std::cout << limits_json() << "\n";
           throw CLI::Success();
         },
         "Print the limits shared with the extension as JSON and exit")
      ->trigger_on_parse();
  app.require_subcommand(1);
  // An option given twice takes its last value (wrappers append overrides).
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app.footer(kFooter);
  app.get_formatter()->column_width(40);
  CLI::App* sync = app.add_subcommand("sync", "Synchronize one tenant (options) or many (--config).");
  sync->footer(kFooter);
  sync->get_formatter()->column_width(40);

  Settings s;
  std::string tenant, selection_text, selection_file, config_file, correlation_id;
  std::string log_format = "text", log_level = "info";
  CredentialSource src;
  bool no_progress = false;

  const std::string g_what = "What to fetch";
  const std::string g_cred = "Credentials";
  const std::string g_graph = "Graph and login endpoints";
  const std::string g_conc = "Concurrency and batching";
  const std::string g_out = "Output";

  sync->add_option("--tenant", tenant, "Tenant id (UUID)")->type_name("UUID")->group(g_what);
  sync->add_option("--selection", selection_text,
                   "Selection JSON, e.g. '{\"policy_types\":[\"deviceConfiguration\"]}'")
      ->type_name("JSON")
      ->group(g_what);
  sync->add_option("--selection-file", selection_file, "Read the selection JSON from FILE")
      ->type_name("FILE")
      ->group(g_what);
  sync->add_option("--config", config_file,
                   "JSON file listing many tenants with their own credentials and selections")
      ->type_name("FILE")
      ->group(g_what);
  sync->add_option("--db", s.conninfo, "libpq connection string or URI")
      ->type_name("CONNINFO")
      ->group(g_what);
  sync->add_option("--correlation-id", correlation_id, "UUID stored with the run (default: random)")
      ->type_name("UUID")
      ->group(g_what);

  sync->add_option("--client-id", src.client_id, "Application (client) id")->type_name("ID")->group(g_cred);
  sync->add_option("--client-secret-file", src.secret_file, "File holding the client secret")
      ->type_name("FILE")
      ->group(g_cred);
  sync->add_option("--client-secret-env", src.secret_env,
                   "Environment variable holding the client secret (default INVENTORY_CLIENT_SECRET)")
      ->type_name("NAME")
      ->group(g_cred);
  sync->add_option("--certificate-file", src.certificate_file,
                   "PEM certificate (with its RSA key unless --private-key-file) for client assertions")
      ->type_name("PEM")
      ->group(g_cred);
  sync->add_option("--private-key-file", src.private_key_file, "PEM RSA private key of the certificate")
      ->type_name("PEM")
      ->group(g_cred);

  sync->add_option("--graph-url", s.graph_url, "Graph base URL")
      ->type_name("URL")
      ->capture_default_str()
      ->group(g_graph);
  sync->add_option("--login-url", s.login_url, "Login (token) base URL")
      ->type_name("URL")
      ->capture_default_str()
      ->group(g_graph);
  sync->add_option("--scope", s.scope, "OAuth scope")
      ->type_name("SCOPE")
      ->capture_default_str()
      ->group(g_graph);
  sync->add_option("--ca-file", s.ca_file, "CA bundle for TLS verification")
      ->type_name("FILE")
      ->group(g_graph);
  sync->add_option("--request-timeout", s.request_timeout_s, "Seconds for one HTTP attempt")
      ->type_name("SECONDS")
      ->capture_default_str()
      ->group(g_graph);
  sync->add_option("--request-budget", s.request_budget_s,
                   "Seconds one request may take with all its retries")
      ->type_name("SECONDS")
      ->capture_default_str()
      ->group(g_graph);
  sync->add_option("--run-budget", s.run_budget_s,
                   "Seconds one tenant run may take in all (types still paging then stop with "
                   "run_budget_exhausted)")
      ->type_name("SECONDS")
      ->capture_default_str()
      ->group(g_graph);
  sync->add_option("--connect-timeout", s.connect_timeout_s, "Seconds to connect")
      ->type_name("SECONDS")
      ->capture_default_str()
      ->group(g_graph);
  sync->add_option("--page-size", s.page_size, "Ask for pages of N items ($top; 0 = server default)")
      ->type_name("N")
      ->capture_default_str()
      ->group(g_graph);

  sync->add_option("--max-concurrency", s.max_concurrency, "Requests in flight, all tenants")
      ->type_name("N")
      ->capture_default_str()
      ->group(g_conc);
  sync->add_option("--per-tenant-concurrency", s.per_tenant_concurrency, "Requests in flight per tenant")
      ->type_name("N")
      ->capture_default_str()
      ->group(g_conc);
  sync->add_option("--parallel-tenants", s.parallel_tenants, "Tenant runs at once")
      ->type_name("N")
      ->capture_default_str()
      ->group(g_conc);
  sync->add_option("--batch-size", s.batch_rows, "Rows staged between two apply_staged calls")
      ->type_name("ROWS")
      ->capture_default_str()
      ->group(g_conc);
  sync->add_flag("--no-manifest{false}", s.use_manifest,
                 "Stage every item whole instead of narrow keys for the unchanged ones")
      ->group(g_conc);
  sync->add_flag("--no-verify{false}", s.verify,
                 "Do not ask Graph for each item a complete listing would make absent (at most 50 per type)")
      ->group(g_conc);

  sync->add_option("--log-format", log_format, "text or json")
      ->type_name("FORMAT")
      ->capture_default_str()
      ->group(g_out);
  sync->add_option("--log-level", log_level, "error, warn, info, debug or trace")
      ->type_name("LEVEL")
      ->capture_default_str()
      ->group(g_out);
  sync->add_option("--metrics-file", s.metrics_file, "Write Prometheus text metrics to FILE at the end")
      ->type_name("FILE")
      ->group(g_out);
  sync->add_flag("--no-progress", no_progress, "No progress line (shown only when stderr is a terminal)")
      ->group(g_out);
  // Testing aid, not for production: multiplies every retry delay.
  sync->add_option("--retry-scale", s.retry_scale, "")->type_name("FACTOR")->group("");

  std::vector<const char*> argv;
  for (const auto& a : args) argv.push_back(a.c_str());
  try {
    app.parse(static_cast<int>(argv.size()), const_cast<char**>(argv.data()));
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) {  // --help, --version
      out.exit_code = app.exit(e) == 0 ? 0 : 2;
      return out;
    }
    // CLI11's messages quote the arguments (a misspelled "--client_secret V"
    // would print V): say what went wrong naming options only.
    std::cerr << "inventory-fetch: " << usage_error_text(e, args) << "\n"
              << "Run with --help for more information.\n";
    out.exit_code = 2;
    return out;
  }

  if (!parse_log_format(log_format, s.log_format)) throw ConfigError("--log-format must be text or json");
  if (!parse_log_level(log_level, s.log_level)) {
    throw ConfigError("--log-level must be error, warn, info, debug or trace");
  }
  s.progress = !no_progress;

  if (!config_file.empty()) {
    if (!tenant.empty() || !selection_text.empty() || !selection_file.empty() || !src.client_id.empty() ||
        !src.secret_file.empty() || !src.certificate_file.empty()) {
      throw ConfigError(
          "--config lists the tenants; do not combine it with --tenant, --selection or "
          "credential options");
    }
    static const std::map<std::string, std::string> cli_to_key = {
        {"--db", "db"},
        {"--graph-url", "graph_url"},
        {"--login-url", "login_url"},
        {"--scope", "scope"},
        {"--ca-file", "ca_file"},
        {"--metrics-file", "metrics_file"},
        {"--max-concurrency", "max_concurrency"},
        {"--per-tenant-concurrency", "per_tenant_concurrency"},
        {"--parallel-tenants", "parallel_tenants"},
        {"--batch-size", "batch_size"},
        {"--page-size", "page_size"},
        {"--request-timeout", "request_timeout"},
        {"--request-budget", "request_budget"},
        {"--run-budget", "run_budget"},
        {"--connect-timeout", "connect_timeout"},
        {"--no-manifest", "manifest"},
        {"--no-verify", "verify"}};
    std::vector<std::string> overrides;
    for (const auto& [opt, key] : cli_to_key) {
      if (sync->count(opt) > 0) overrides.push_back(key);
    }
    FileConfig fc = load_config_file(config_file, s, overrides);
    out.settings = fc.settings;
    out.jobs = std::move(fc.jobs);
  } else {
    if (tenant.empty()) throw ConfigError("--tenant is required (or --config)");
    if (!selection_text.empty() && !selection_file.empty()) {
      throw ConfigError("give --selection or --selection-file, not both");
    }
    if (!selection_file.empty()) {
      std::ifstream in(selection_file);
      if (!in) throw ConfigError("cannot read selection file " + selection_file);
      selection_text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    if (selection_text.empty()) throw ConfigError("--selection is required");
    nlohmann::json selection = nlohmann::json::parse(selection_text, nullptr, false);
    if (selection.is_discarded()) throw ConfigError("--selection is not valid JSON");
    out.settings = s;
    out.jobs.push_back(make_job(tenant, selection, src, {}, correlation_id));
  }
  validate_settings(out.settings);
  return out;
}

}  // namespace fetch
