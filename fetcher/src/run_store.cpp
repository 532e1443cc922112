#include "run_store.h"

#include <cstdlib>

namespace fetch {

std::string pg_text_array(const std::vector<std::string>& items) {
  std::string out = "{";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out += ',';
    out += '"';
    for (char c : items[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  out += '}';
  return out;
}

std::string pg_int_array(const std::vector<int>& items) {
  std::string out = "{";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out += ',';
    out += std::to_string(items[i]);
  }
  out += '}';
  return out;
}

PgRunStore::PgRunStore(const std::string& conninfo) : conn_(conninfo) {
  // Every name below is schema-qualified or lives in pg_catalog: with an
  // empty search_path, objects that others created in public (or a
  // search_path set on the role that puts public before pg_catalog) cannot
  // stand in for the functions and operators these statements use.
  conn_.exec("SELECT pg_catalog.set_config('search_path', '', false)");
}

long long PgRunStore::begin_run(const std::string& tenant, const std::string& selection_json,
                                const std::string& correlation_id) {
  PgParams p = {tenant, selection_json};
  p.push_back(correlation_id.empty() ? std::nullopt : std::optional<std::string>(correlation_id));
  PgResult r = conn_.exec("SELECT inventory.begin_sync_run($1::uuid, $2::jsonb, $3::uuid)", p);
  if (r.rows() != 1 || r.is_null(0, 0)) throw PgError("begin_sync_run returned no run id", "");
  return std::stoll(r.get(0, 0));
}

std::vector<PolicyType> PgRunStore::load_types(const std::vector<std::string>& names) {
  PgResult r = conn_.exec(
      "SELECT policy_type, graph_path, api_version, name_field FROM inventory.policy_types "
      "WHERE enabled AND policy_type = ANY($1::text[]) ORDER BY policy_type",
      {pg_text_array(names)});
  std::vector<PolicyType> out;
  for (int i = 0; i < r.rows(); ++i) {
    PolicyType t;
    t.policy_type = r.get(i, 0);
    t.graph_path = r.get(i, 1);
    t.api_version = r.get(i, 2);
    t.name_field = r.is_null(i, 3) ? "displayName" : r.get(i, 3);
    out.push_back(std::move(t));
  }
  return out;
}

namespace {
const char* kCopySql =
    "COPY pg_temp.staged_items (policy_type, external_id, display_name, meta_jsonb, content_hash) "
    "FROM STDIN";
const char* kCopyFpSql =
    "COPY pg_temp.staged_items (policy_type, external_id, display_name, meta_jsonb, content_hash, row_fp) "
    "FROM STDIN";
const char* kCopyKeysSql = "COPY pg_temp.staged_keys (policy_type, external_id, row_fp) FROM STDIN";
}  // namespace

void PgRunStore::copy_to(Copy target) {
  if (copy_ == target && conn_.copy_open()) return;
  copy_ = Copy::None;
  conn_.copy_end();
  if (target == Copy::None) return;
  conn_.copy_begin(target == Copy::Keys ? kCopyKeysSql : fingerprints_ ? kCopyFpSql : kCopySql);
  copy_ = target;
}

void PgRunStore::stage(std::string_view copy_text) {
  copy_to(Copy::None);
  conn_.copy_in(fingerprints_ ? kCopyFpSql : kCopySql, copy_text);
}

void PgRunStore::stage_put(std::string_view copy_text) {
  copy_to(Copy::Items);
  conn_.copy_put(copy_text);
}

void PgRunStore::stage_keys_put(std::string_view copy_text) {
  copy_to(Copy::Keys);
  conn_.copy_put(copy_text);
}

void PgRunStore::stage_end() { copy_to(Copy::None); }

bool PgRunStore::has_manifest() {
  copy_to(Copy::None);
  PgResult r = conn_.exec(
      "SELECT pg_catalog.to_regprocedure('inventory.sync_manifest(bigint)') IS NOT NULL "
      "AND pg_catalog.to_regprocedure('inventory.fingerprint_salt()') IS NOT NULL");
  return r.rows() == 1 && r.get(0, 0) == "t";
}

std::string PgRunStore::fingerprint_salt() {
  copy_to(Copy::None);
  PgResult r = conn_.exec("SELECT inventory.fingerprint_salt()");
  if (r.rows() != 1 || r.is_null(0, 0)) throw PgError("fingerprint_salt returned nothing", "");
  // From here on, whole rows carry their fingerprint.
  fingerprints_ = true;
  return r.get(0, 0);
}

void PgRunStore::read_manifest(long long run_id, const std::function<void(std::string_view)>& on_line) {
  copy_to(Copy::None);
  // The run id is a number this process got from begin_sync_run; COPY
  // takes no parameters.
  conn_.copy_out("COPY (SELECT policy_type, external_id, row_fp FROM inventory.sync_manifest(" +
                     std::to_string(run_id) + "::bigint)) TO STDOUT",
                 on_line);
}

RunStore::Verification PgRunStore::verification() {
  copy_to(Copy::None);
  PgResult r = conn_.exec(
      "SELECT CASE WHEN c IS NULL OR v IS NULL THEN 'missing' "
      "            WHEN pg_catalog.has_function_privilege(c, 'EXECUTE') "
      "             AND pg_catalog.has_function_privilege(v, 'EXECUTE') THEN 'available' "
      "            ELSE 'denied' END "
      "  FROM (SELECT pg_catalog.to_regprocedure('inventory.absence_candidates(bigint,text)')::oid AS c, "
      "               pg_catalog.to_regprocedure("
      "                 'inventory.record_verifications(bigint,text,text[],integer[])')::oid AS v) f");
  if (r.rows() != 1 || r.is_null(0, 0)) return Verification::Missing;
  const std::string v = r.get(0, 0);
  return v == "available" ? Verification::Available
         : v == "denied"  ? Verification::Denied
                          : Verification::Missing;
}

std::vector<std::string> PgRunStore::absence_candidates(long long run_id, const std::string& policy_type) {
  copy_to(Copy::None);
  PgResult r = conn_.exec("SELECT c.external_id FROM inventory.absence_candidates($1::bigint, $2::text) c",
                          {std::to_string(run_id), policy_type});
  std::vector<std::string> out;
  for (int i = 0; i < r.rows(); ++i) {
    if (!r.is_null(i, 0)) out.push_back(r.get(i, 0));
  }
  return out;
}

int PgRunStore::record_verifications(long long run_id, const std::string& policy_type,
                                     const std::vector<std::string>& external_ids,
                                     const std::vector<int>& http_statuses) {
  copy_to(Copy::None);
  PgResult r = conn_.exec(
      "SELECT inventory.record_verifications($1::bigint, $2::text, $3::text[], $4::integer[])",
      {std::to_string(run_id), policy_type, pg_text_array(external_ids), pg_int_array(http_statuses)});
  if (r.rows() != 1 || r.is_null(0, 0)) return 0;
  return std::atoi(r.get(0, 0).c_str());
}

void PgRunStore::apply(long long run_id) {
  copy_to(Copy::None);
  conn_.exec("CALL inventory.apply_staged($1::bigint)", {std::to_string(run_id)});
}

void PgRunStore::complete_type(long long run_id, const std::string& policy_type, const std::string& status,
                               int pages, long items_seen, const std::string& error_code) {
  copy_to(Copy::None);
  PgParams p = {std::to_string(run_id), policy_type, status, std::to_string(pages),
                std::to_string(items_seen)};
  p.push_back(error_code.empty() ? std::nullopt : std::optional<std::string>(error_code));
  conn_.exec(
      "SELECT inventory.complete_policy_type($1::bigint, $2::text, $3::text, $4::int, $5::int, $6::text)", p);
}

void PgRunStore::finish(long long run_id, const std::string& status, const nlohmann::json& errors) {
  copy_to(Copy::None);
  conn_.exec("SELECT inventory.finish_sync_run($1::bigint, $2::text, $3::jsonb)",
             {std::to_string(run_id), status,
              errors.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)});
}

nlohmann::json PgRunStore::run_row(long long run_id) {
  try {
    PgResult r = conn_.exec(
        "SELECT pg_catalog.to_jsonb(r) FROM inventory.inventory_sync_runs r WHERE r.id = $1::bigint",
        {std::to_string(run_id)});
    if (r.rows() == 1 && !r.is_null(0, 0)) {
      auto j = nlohmann::json::parse(r.get(0, 0), nullptr, false);
      if (j.is_object()) return j;
    }
  } catch (const PgError&) {
  }
  return nlohmann::json::object();
}

}  // namespace fetch
