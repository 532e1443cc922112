#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <set>

#include "canonical_nlohmann.h"
#include "next_link.h"
#include "secret_sink.h"
#include "sha256.h"
#include "uuid.h"

namespace fetch {

namespace {

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

bool is_loopback_host(const std::string& host) {
  // Decided on the parsed host, never on a prefix: exactly "localhost", an
  // IPv4 literal in 127.0.0.0/8 (four decimal parts) or the IPv6 literal ::1.
  if (host == "localhost") return true;
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    in6_addr a6{};
    const std::string inner = host.substr(1, host.size() - 2);
    return inet_pton(AF_INET6, inner.c_str(), &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
  }
  in_addr a4{};
  if (inet_pton(AF_INET, host.c_str(), &a4) != 1) return false;  // also refuses "127.1", "0x7f.1"
  return (ntohl(a4.s_addr) >> 24) == 127;
}

namespace {

void check_url(const std::string& what, const std::string& url) {
  auto o = parse_url_origin(url);
  if (!o || !o->query.empty()) throw ConfigError(what + " is not a plain http(s) URL: " + url);
  if (o->scheme == "http" && !is_loopback_host(o->host)) {
    throw ConfigError(what + " must use https (plain http is accepted for loopback test servers only)");
  }
}

const nlohmann::json* get(const nlohmann::json& obj, const char* key) {
  auto it = obj.find(key);
  return it == obj.end() || it->is_null() ? nullptr : &*it;
}

std::string get_string(const nlohmann::json& obj, const char* key, const std::string& where) {
  const nlohmann::json* v = get(obj, key);
  if (!v) return {};
  if (!v->is_string()) throw ConfigError(where + ": \"" + key + "\" must be a string");
  return v->get<std::string>();
}

CredentialSource read_source(const nlohmann::json& obj, const CredentialSource& defaults,
                             const std::string& where) {
  if (obj.contains("client_secret") || obj.contains("private_key") || obj.contains("password")) {
    throw ConfigError(where +
                      ": secrets are not accepted inline; use client_secret_file, "
                      "client_secret_env or certificate_file");
  }
  CredentialSource s = defaults;
  auto take = [&](const char* key, std::string& field) {
    std::string v = get_string(obj, key, where);
    if (!v.empty()) field = v;
  };
  const std::string secret_file = get_string(obj, "client_secret_file", where);
  const std::string secret_env = get_string(obj, "client_secret_env", where);
  const std::string cert = get_string(obj, "certificate_file", where);
  // A tenant naming its own kind of credential replaces the default kind.
  if (!secret_file.empty() || !secret_env.empty() || !cert.empty()) {
    s.secret_file.clear();
    s.secret_env.clear();
    s.certificate_file.clear();
    s.private_key_file.clear();
  }
  take("client_id", s.client_id);
  take("client_secret_file", s.secret_file);
  take("client_secret_env", s.secret_env);
  take("certificate_file", s.certificate_file);
  take("private_key_file", s.private_key_file);
  return s;
}

void check_keys(const nlohmann::json& obj, const std::set<std::string>& allowed, const std::string& where) {
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    if (!allowed.count(it.key())) throw ConfigError(where + ": unknown key \"" + it.key() + "\"");
  }
}

}  // namespace

std::vector<std::string> selection_policy_types(const nlohmann::json& selection) {
  if (!selection.is_object()) throw ConfigError("the selection must be a JSON object");
  auto it = selection.find("policy_types");
  if (it == selection.end() || !it->is_array() || it->empty()) {
    throw ConfigError("the selection needs a non-empty \"policy_types\" array");
  }
  std::vector<std::string> out;
  for (const auto& t : *it) {
    if (!t.is_string() || t.get_ref<const std::string&>().empty()) {
      throw ConfigError("\"policy_types\" must hold non-empty strings");
    }
    if (std::find(out.begin(), out.end(), t.get<std::string>()) == out.end())
      out.push_back(t.get<std::string>());
  }
  return out;
}

ClientCredential load_credential(const CredentialSource& src, std::vector<std::string>* warnings) {
  if (src.client_id.empty()) throw ConfigError("a client id is required (--client-id / \"client_id\")");
  ClientCredential c;
  c.client_id = src.client_id;
  try {
    if (!src.certificate_file.empty()) {
      SecretString pass;
      if (const char* p = std::getenv(kPassphraseEnv); p && *p) pass = SecretString(p);
      c.certificate = CertificateCredential::load(src.certificate_file, src.private_key_file, pass);
    } else if (!src.private_key_file.empty()) {
      throw ConfigError("a private key file needs a certificate file (--certificate-file)");
    } else if (!src.secret_file.empty()) {
      bool loose = false;
      c.secret = read_secret_file(src.secret_file, &loose);
      if (loose && warnings) {
        warnings->push_back("the secret file " + src.secret_file +
                            " is accessible to its group or to others: make it readable by this user only "
                            "(chmod 600)");
      }
    } else {
      c.secret = read_secret_env(src.secret_env.empty() ? kDefaultSecretEnv : src.secret_env);
    }
    if (!c.secret.empty()) {
      if (c.secret.reveal().size() < SecretRegistry::kMinLength) {
        throw ConfigError("the client secret is shorter than " + std::to_string(SecretRegistry::kMinLength) +
                          " characters; it could not be told apart from ordinary words in the logs");
      }
      // From now on the sink cuts it out of everything that leaves.
      SecretRegistry::instance().add(c.secret.reveal(), true);
    }
  } catch (const CredentialError& e) {
    throw ConfigError(e.what());
  }
  return c;
}

Job make_job(const std::string& tenant, const nlohmann::json& selection, const CredentialSource& src,
             const std::string& name, const std::string& correlation_id) {
  if (!is_uuid(tenant)) throw ConfigError("tenant id is not a UUID: " + tenant);
  if (!correlation_id.empty() && !is_uuid(correlation_id)) {
    throw ConfigError("correlation id is not a UUID: " + correlation_id);
  }
  Job j;
  j.tenant = lower(tenant);
  j.name = name;
  j.selection = selection;
  j.policy_types = selection_policy_types(selection);
  try {
    j.selection_hash = tinv::sha256_hex(tinv::canonical_json(selection));
  } catch (const std::exception& e) {
    throw ConfigError(std::string("the selection cannot be canonicalized: ") + e.what());
  }
  j.source = src;
  j.credential = load_credential(src, &j.warnings);
  j.correlation_id = correlation_id;
  return j;
}

FileConfig parse_config(const nlohmann::json& doc, Settings base,
                        const std::vector<std::string>& cli_overrides) {
  if (!doc.is_object()) throw ConfigError("config: the document must be a JSON object");
  check_keys(
      doc,
      {"db", "graph_url", "login_url", "scope", "max_concurrency", "per_tenant_concurrency",
       "parallel_tenants", "batch_size", "page_size", "request_timeout", "request_budget", "run_budget",
       "connect_timeout", "ca_file", "metrics_file", "manifest", "verify", "defaults", "tenants"},
      "config");
  auto overridden = [&](const char* key) {
    return std::find(cli_overrides.begin(), cli_overrides.end(), key) != cli_overrides.end();
  };
  auto str = [&](const char* key, std::string& field) {
    if (overridden(key)) return;
    std::string v = get_string(doc, key, "config");
    if (!v.empty()) field = v;
  };
  auto integer = [&](const char* key, auto& field) {
    if (overridden(key)) return;
    const nlohmann::json* v = get(doc, key);
    if (!v) return;
    if (!v->is_number_integer()) throw ConfigError(std::string("config: \"") + key + "\" must be an integer");
    field = v->get<std::remove_reference_t<decltype(field)>>();
  };
  auto number = [&](const char* key, double& field) {
    if (overridden(key)) return;
    const nlohmann::json* v = get(doc, key);
    if (!v) return;
    if (!v->is_number()) throw ConfigError(std::string("config: \"") + key + "\" must be a number");
    field = v->get<double>();
  };
  FileConfig fc;
  Settings& s = base;
  str("db", s.conninfo);
  str("graph_url", s.graph_url);
  str("login_url", s.login_url);
  str("scope", s.scope);
  str("ca_file", s.ca_file);
  str("metrics_file", s.metrics_file);
  integer("max_concurrency", s.max_concurrency);
  integer("per_tenant_concurrency", s.per_tenant_concurrency);
  integer("parallel_tenants", s.parallel_tenants);
  integer("batch_size", s.batch_rows);
  integer("page_size", s.page_size);
  number("request_timeout", s.request_timeout_s);
  number("request_budget", s.request_budget_s);
  number("run_budget", s.run_budget_s);
  number("connect_timeout", s.connect_timeout_s);
  if (!overridden("manifest")) {
    if (const nlohmann::json* v = get(doc, "manifest")) {
      if (!v->is_boolean()) throw ConfigError("config: \"manifest\" must be true or false");
      s.use_manifest = v->get<bool>();
    }
  }
  if (!overridden("verify")) {
    if (const nlohmann::json* v = get(doc, "verify")) {
      if (!v->is_boolean()) throw ConfigError("config: \"verify\" must be true or false");
      s.verify = v->get<bool>();
    }
  }

  CredentialSource defaults;
  nlohmann::json default_selection;
  if (const nlohmann::json* d = get(doc, "defaults")) {
    if (!d->is_object()) throw ConfigError("config: \"defaults\" must be an object");
    check_keys(*d,
               {"client_id", "client_secret_file", "client_secret_env", "certificate_file",
                "private_key_file", "selection"},
               "config defaults");
    defaults = read_source(*d, CredentialSource{}, "config defaults");
    if (const nlohmann::json* sel = get(*d, "selection")) default_selection = *sel;
  }
  const nlohmann::json* tenants = get(doc, "tenants");
  if (!tenants || !tenants->is_array() || tenants->empty()) {
    throw ConfigError("config: \"tenants\" must be a non-empty array");
  }
  std::set<std::pair<std::string, std::string>> seen;
  for (size_t i = 0; i < tenants->size(); ++i) {
    const nlohmann::json& t = (*tenants)[i];
    const std::string where = "config tenants[" + std::to_string(i) + "]";
    if (!t.is_object()) throw ConfigError(where + ": must be an object");
    check_keys(t,
               {"tenant_id", "name", "client_id", "client_secret_file", "client_secret_env",
                "certificate_file", "private_key_file", "selection", "correlation_id"},
               where);
    const std::string tenant = get_string(t, "tenant_id", where);
    if (tenant.empty()) throw ConfigError(where + ": \"tenant_id\" is required");
    nlohmann::json selection = default_selection;
    if (const nlohmann::json* sel = get(t, "selection")) selection = *sel;
    if (selection.is_null()) throw ConfigError(where + ": no selection (and no default selection)");
    try {
      Job job = make_job(tenant, selection, read_source(t, defaults, where), get_string(t, "name", where),
                         get_string(t, "correlation_id", where));
      if (!seen.emplace(job.tenant, job.selection_hash).second) {
        throw ConfigError("the same tenant and selection are listed twice");
      }
      fc.jobs.push_back(std::move(job));
    } catch (const ConfigError& e) {
      throw ConfigError(where + ": " + e.what());
    }
  }
  fc.settings = s;
  return fc;
}

FileConfig load_config_file(const std::string& path, Settings base,
                            const std::vector<std::string>& cli_overrides) {
  std::ifstream in(path);
  if (!in) throw ConfigError("cannot read config file " + path);
  nlohmann::json doc = nlohmann::json::parse(in, nullptr, false);
  if (doc.is_discarded()) throw ConfigError("config file " + path + " is not valid JSON");
  return parse_config(doc, std::move(base), cli_overrides);
}

void validate_settings(const Settings& s) {
  check_url("--graph-url", s.graph_url);
  check_url("--login-url", s.login_url);
  if (!parse_graph_base(s.graph_url)) throw ConfigError("--graph-url is not usable: " + s.graph_url);
  if (s.max_concurrency < 1 || s.max_concurrency > 1024)
    throw ConfigError("--max-concurrency must be 1..1024");
  if (s.per_tenant_concurrency < 1 || s.per_tenant_concurrency > 256) {
    throw ConfigError("--per-tenant-concurrency must be 1..256");
  }
  if (s.parallel_tenants < 1 || s.parallel_tenants > 256)
    throw ConfigError("--parallel-tenants must be 1..256");
  if (s.batch_rows < 1) throw ConfigError("--batch-size must be positive");
  if (s.page_size < 0 || s.page_size > 999) throw ConfigError("--page-size must be 0..999");
  if (!(s.request_timeout_s > 0) || !(s.request_budget_s > 0) || !(s.connect_timeout_s > 0)) {
    throw ConfigError("timeouts and the request budget must be positive");
  }
  if (!(s.run_budget_s > 0) || s.run_budget_s > 30 * 24 * 3600.0) {
    throw ConfigError("--run-budget must be a positive number of seconds (at most 30 days)");
  }
  if (!(s.retry_scale > 0) || s.retry_scale > 1.0) throw ConfigError("--retry-scale must be in (0, 1]");
}

}  // namespace fetch
