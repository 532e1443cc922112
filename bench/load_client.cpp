// inventory-bench-load: the client side of the sync benchmarks (bench/run.sh).
//
// Generates a deterministic tenant inventory (rows shaped like the fetcher's
// COPY rows: policy type, Graph id, display name, whitelisted meta, content
// hash) in memory, then loads it one of four ways and prints the wall time of
// the load, measured on the client:
//
//   copy       one COPY of every row into a plain table (the floor)
//   sync       the extension's run lifecycle as the fetcher drives it:
//              begin_sync_run, COPY into pg_temp.staged_items and
//              CALL inventory.apply_staged every --batch rows and at the end
//              of each policy type, complete_policy_type, finish_sync_run
//   perrow     one prepared INSERT ... ON CONFLICT DO UPDATE per row, as an
//              ORM does (one connection, one round trip per item)
//   peer-sync  the common set-based peer: COPY into a temporary staging table,
//              then one INSERT ... SELECT ... ON CONFLICT DO UPDATE that bumps
//              last_seen_* on every row
//
// With --wal, CHECKPOINT runs before the timed part and the WAL written
// during it (pg_current_wal_lsn difference) is reported too.
// Output: one line of key=value pairs (seconds, rows, wal_bytes, run_id,
// changed).
#include <libpq-fe.h>

#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "sha256.h"

namespace {

// ----------------------------------------------------------------- data

const char* const kTypes[] = {"deviceConfiguration",    "configurationPolicy", "deviceCompliancePolicy",
                              "mobileApp",              "groupPolicyConfiguration",
                              "deviceManagementScript", "managedAppPolicy",    "intent"};
constexpr int kMaxTypes = static_cast<int>(sizeof kTypes / sizeof kTypes[0]);

uint64_t mix(uint64_t x) {  // splitmix64 finalizer
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

void append_hex(std::string& out, uint64_t v, int digits) {
  static const char hex[] = "0123456789abcdef";
  for (int i = digits - 1; i >= 0; --i) out.push_back(hex[(v >> (4 * i)) & 0xF]);
}

struct Options {
  std::string mode;
  std::string conninfo;
  std::string table;
  std::string tenant = "00000000-0000-4000-8000-000000000001";
  long items = 1000;
  long limit = -1;
  uint64_t seed = 1;
  int types = 4;
  int changed_permille = 0;
  int generation = 0;
  long batch = 5000;
  long run_id = 1;
  bool wal = false;
  bool autocommit = false;
};

// The rows as COPY text (tab-separated, no characters that need escaping),
// ordered by policy type like the fetcher's, plus where each line starts and
// where each type's rows end.
struct Dataset {
  std::string text;
  std::vector<size_t> line_start;  // items + 1 entries
  std::vector<long> type_end;      // row index after the last row of type t
  int types = 0;
  long changed = 0;  // rows whose content differs from generation 0
  std::string selection;
};

bool is_changed(const Options& o, long i) {
  return o.changed_permille > 0 && static_cast<int>(mix(o.seed * 7919 + static_cast<uint64_t>(i)) % 1000) < o.changed_permille;
}

void append_row(std::string& out, const Options& o, int type, long i) {
  const uint64_t h = mix(o.seed ^ mix(static_cast<uint64_t>(type) << 40 ^ static_cast<uint64_t>(i)));
  const bool changed = is_changed(o, i);
  const int version = changed ? o.generation : 0;
  // policy type
  out += kTypes[type];
  out += '\t';
  // Graph id: a UUID
  const uint64_t h2 = mix(h);
  append_hex(out, h >> 32, 8);
  out += '-';
  append_hex(out, (h >> 16) & 0xFFFF, 4);
  out += "-4";
  append_hex(out, h & 0xFFF, 3);
  out += '-';
  append_hex(out, 0x8000 | ((h2 >> 48) & 0x3FFF), 4);
  out += '-';
  append_hex(out, h2 & 0xFFFFFFFFFFFFULL, 12);
  out += '\t';
  // display name
  static const char* const kNames[] = {"Windows security baseline", "BitLocker – OS drive", "Edge browser settings",
                                       "Defender antivirus", "Wi-Fi corporate", "Company Portal",
                                       "Compliance – macOS", "Firewall rules"};
  out += kNames[h % 8];
  out += " #";
  out += std::to_string(i);
  out += '\t';
  // meta: the whitelisted keys the fetcher writes (sorted, as nlohmann dumps)
  const int day = 1 + static_cast<int>(h % 28);
  char created[32], modified[32];
  std::snprintf(created, sizeof created, "2024-%02d-%02dT08:%02d:00Z", 1 + static_cast<int>(h % 12), day,
                static_cast<int>(h % 60));
  std::snprintf(modified, sizeof modified, "2025-%02d-%02dT10:%02d:%02dZ", 1 + static_cast<int>((h >> 8) % 12), day,
                static_cast<int>((h >> 16) % 60), version % 60);
  out += "{\"created_at\":\"";
  out += created;
  out += "\",\"is_assigned\":";
  out += (h & 1) ? "true" : "false";
  out += ",\"last_modified_at\":\"";
  out += modified;
  out += "\",\"odata_type\":\"#microsoft.graph.";
  out += kTypes[type];
  out += "\",\"platform\":\"";
  out += (h & 2) ? "windows10AndLater" : "macOS";
  out += "\",\"scope_tag_ids\":[\"0\"";
  if (h & 4) out += ",\"12\"";
  out += "],\"setting_count\":";
  out += std::to_string(5 + h % 200);
  out += ",\"version\":\"";
  out += std::to_string(1 + version + static_cast<int>(h % 9));
  out += "\"}\t";
  // content hash
  out += tinv::sha256_hex("content:" + std::to_string(o.seed) + ":" + std::to_string(type) + ":" + std::to_string(i) +
                          ":" + std::to_string(version));
  out += '\n';
}

Dataset make_dataset(const Options& o) {
  Dataset d;
  d.types = o.types;
  d.text.reserve(static_cast<size_t>(o.items) * 420);
  d.line_start.reserve(static_cast<size_t>(o.items) + 1);
  d.selection = "{\"policy_types\":[";
  long row = 0;
  for (int t = 0; t < o.types; ++t) {
    const long end = o.items * (t + 1) / o.types;
    for (; row < end; ++row) {
      d.line_start.push_back(d.text.size());
      append_row(d.text, o, t, row);
      if (is_changed(o, row)) ++d.changed;
    }
    d.type_end.push_back(end);
    d.selection += (t ? ",\"" : "\"") + std::string(kTypes[t]) + "\"";
  }
  d.line_start.push_back(d.text.size());
  d.selection += "]}";
  return d;
}

// ----------------------------------------------------------------- libpq

class Conn {
 public:
  explicit Conn(const std::string& conninfo) : c_(PQconnectdb(conninfo.c_str())) {
    if (PQstatus(c_) != CONNECTION_OK) throw std::runtime_error(std::string("connect: ") + PQerrorMessage(c_));
  }
  ~Conn() { PQfinish(c_); }
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  // Runs a statement with text parameters; returns the first value or "".
  std::string exec(const std::string& sql, const std::vector<std::string>& params = {}) {
    std::vector<const char*> values;
    for (const auto& p : params) values.push_back(p.c_str());
    PGresult* r = PQexecParams(c_, sql.c_str(), static_cast<int>(values.size()), nullptr, values.data(), nullptr,
                               nullptr, 0);
    return take(r, sql);
  }

  void prepare(const char* name, const std::string& sql, int nparams) {
    take(PQprepare(c_, name, sql.c_str(), nparams, nullptr), sql);
  }

  void exec_prepared(const char* name, const std::vector<std::string_view>& params) {
    // libpq wants NUL-terminated values: the fields are copied into buf_.
    buf_.clear();
    std::vector<size_t> offsets;
    for (auto p : params) {
      offsets.push_back(buf_.size());
      buf_.append(p.data(), p.size());
      buf_.push_back('\0');
    }
    std::vector<const char*> values;
    for (size_t off : offsets) values.push_back(buf_.data() + off);
    take(PQexecPrepared(c_, name, static_cast<int>(values.size()), values.data(), nullptr, nullptr, 0), name);
  }

  void copy(const std::string& sql, std::string_view data) {
    PGresult* r = PQexec(c_, sql.c_str());
    if (PQresultStatus(r) != PGRES_COPY_IN) take(r, sql);
    PQclear(r);
    constexpr size_t kSlice = 1 << 20;
    for (size_t off = 0; off < data.size(); off += kSlice) {
      const size_t n = std::min(kSlice, data.size() - off);
      if (PQputCopyData(c_, data.data() + off, static_cast<int>(n)) != 1)
        throw std::runtime_error(std::string("COPY data: ") + PQerrorMessage(c_));
    }
    if (PQputCopyEnd(c_, nullptr) != 1) throw std::runtime_error(std::string("COPY end: ") + PQerrorMessage(c_));
    take(PQgetResult(c_), sql);
    while (PGresult* extra = PQgetResult(c_)) PQclear(extra);
  }

 private:
  std::string take(PGresult* r, const std::string& what) {
    const ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
      std::string msg = PQresultErrorMessage(r);
      PQclear(r);
      throw std::runtime_error(what + ": " + msg);
    }
    std::string first = (st == PGRES_TUPLES_OK && PQntuples(r) > 0 && !PQgetisnull(r, 0, 0)) ? PQgetvalue(r, 0, 0) : "";
    PQclear(r);
    return first;
  }

  PGconn* c_;
  std::string buf_;
};

std::string quote_ident(const std::string& name) {  // schema-qualified names allowed: a.b
  std::string out;
  size_t start = 0;
  for (;;) {
    const size_t dot = name.find('.', start);
    const std::string part = name.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    out += '"';
    for (char c : part) {
      if (c == '"') out += '"';
      out += c;
    }
    out += '"';
    if (dot == std::string::npos) break;
    out += '.';
    start = dot + 1;
  }
  return out;
}

std::string_view rows_text(const Dataset& d, long from, long to) {
  return std::string_view(d.text).substr(d.line_start[static_cast<size_t>(from)],
                                         d.line_start[static_cast<size_t>(to)] - d.line_start[static_cast<size_t>(from)]);
}

const char* kColumns = "(policy_type, external_id, display_name, meta_jsonb, content_hash)";

// The peer's upsert: every observed row gets its last_seen_* bumped.
std::string peer_upsert_tail() {
  return " ON CONFLICT (tenant_id, policy_type, external_id) DO UPDATE"
         " SET display_name = excluded.display_name, meta_jsonb = excluded.meta_jsonb,"
         " content_hash = excluded.content_hash,"
         " content_changed_at = CASE WHEN p.content_hash IS DISTINCT FROM excluded.content_hash"
         " THEN excluded.content_changed_at ELSE p.content_changed_at END,"
         " last_seen_at = excluded.last_seen_at, last_seen_run_id = excluded.last_seen_run_id";
}

const char* kPeerColumns =
    "(tenant_id, policy_type, external_id, display_name, meta_jsonb, content_hash,"
    " first_seen_at, first_seen_run_id, last_seen_at, last_seen_run_id, content_changed_at)";

long run_sync(Conn& c, const Options& o, const Dataset& d) {
  const long run = std::stol(c.exec("SELECT inventory.begin_sync_run($1::uuid, $2::jsonb)", {o.tenant, d.selection}));
  const std::string copy_sql = std::string("COPY pg_temp.staged_items ") + kColumns + " FROM STDIN";
  const std::string run_s = std::to_string(run);
  long row = 0;
  for (int t = 0; t < d.types; ++t) {
    const long end = d.type_end[static_cast<size_t>(t)];
    const long first = row;
    while (row < end) {
      const long to = std::min(end, row + o.batch);
      c.copy(copy_sql, rows_text(d, row, to));
      c.exec("CALL inventory.apply_staged($1::bigint)", {run_s});
      row = to;
    }
    const long seen = end - first;
    c.exec("SELECT inventory.complete_policy_type($1::bigint, $2, 'complete', $3::int, $4::int)",
           {run_s, kTypes[t], std::to_string((seen + 998) / 999), std::to_string(seen)});
  }
  const std::string status = c.exec("SELECT inventory.finish_sync_run($1::bigint, 'succeeded')", {run_s});
  if (status != "succeeded") throw std::runtime_error("run finished as " + status);
  return run;
}

void run_perrow(Conn& c, const Options& o, const Dataset& d, long n) {
  c.prepare("upsert",
            "INSERT INTO " + quote_ident(o.table) + " AS p " + kPeerColumns +
                " VALUES ($1::uuid, $2, $3, $4, $5::jsonb, $6, now(), $7::bigint, now(), $7::bigint, now())" +
                peer_upsert_tail(),
            7);
  const std::string run_s = std::to_string(o.run_id);
  if (!o.autocommit) c.exec("BEGIN");
  std::vector<std::string_view> params(7);
  params[0] = o.tenant;
  params[6] = run_s;
  for (long i = 0; i < n; ++i) {
    std::string_view line = rows_text(d, i, i + 1);
    line.remove_suffix(1);  // newline
    for (int f = 1; f <= 5; ++f) {
      const size_t tab = line.find('\t');
      params[static_cast<size_t>(f)] = line.substr(0, tab);
      line = tab == std::string_view::npos ? std::string_view() : line.substr(tab + 1);
    }
    c.exec_prepared("upsert", params);
  }
  if (!o.autocommit) c.exec("COMMIT");
}

void run_peer_sync(Conn& c, const Options& o, const Dataset& d) {
  c.exec("CREATE TEMP TABLE IF NOT EXISTS peer_staging (policy_type text, external_id text, display_name text,"
         " meta_jsonb jsonb, content_hash text)");
  c.exec("TRUNCATE peer_staging");
  c.copy(std::string("COPY peer_staging ") + kColumns + " FROM STDIN", rows_text(d, 0, o.items));
  c.exec("INSERT INTO " + quote_ident(o.table) + " AS p " + kPeerColumns +
             " SELECT $1::uuid, s.policy_type, s.external_id, s.display_name, s.meta_jsonb, s.content_hash,"
             " now(), $2::bigint, now(), $2::bigint, now() FROM peer_staging s" +
             peer_upsert_tail(),
         {o.tenant, std::to_string(o.run_id)});
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"Client side of the tenant_inventory sync benchmarks (see bench/run.sh)"};
  app.add_option("mode", o.mode, "copy, sync, perrow or peer-sync")
      ->required()
      ->check(CLI::IsMember({"copy", "sync", "perrow", "peer-sync"}));
  app.add_option("--db", o.conninfo, "libpq connection string (default: the PG* environment)");
  app.add_option("--table", o.table, "Target table (copy, perrow, peer-sync)");
  app.add_option("--tenant", o.tenant, "Tenant id");
  app.add_option("--items", o.items, "Rows in the tenant")->check(CLI::PositiveNumber);
  app.add_option("--limit", o.limit, "perrow: load only the first N rows");
  app.add_option("--seed", o.seed, "Seed of the generated tenant");
  app.add_option("--types", o.types, "Policy types the rows are spread over")->check(CLI::Range(1, kMaxTypes));
  app.add_option("--changed-permille", o.changed_permille, "Rows (per mille) whose content differs from generation 0")
      ->check(CLI::Range(0, 1000));
  app.add_option("--generation", o.generation, "Content generation of the changed rows");
  app.add_option("--batch", o.batch, "sync: rows between two apply_staged calls")->check(CLI::PositiveNumber);
  app.add_option("--run-id", o.run_id, "perrow, peer-sync: the run id written to last_seen_run_id");
  app.add_flag("--wal", o.wal, "CHECKPOINT first and report the WAL bytes written by the timed part");
  app.add_flag("--autocommit", o.autocommit, "perrow: one transaction per row (default: one for all)");
  CLI11_PARSE(app, argc, argv);
  if (o.mode != "sync" && o.table.empty()) {
    std::fprintf(stderr, "--table is required for %s\n", o.mode.c_str());
    return 2;
  }

  try {
    const Dataset d = make_dataset(o);
    Conn c(o.conninfo);
    c.exec("SET client_min_messages = warning");
    std::string lsn0;
    if (o.wal) {
      c.exec("CHECKPOINT");
      lsn0 = c.exec("SELECT pg_current_wal_insert_lsn()");
    }
    long rows = o.items;
    long run = 0;
    const auto t0 = std::chrono::steady_clock::now();
    if (o.mode == "copy") {
      c.copy("COPY " + quote_ident(o.table) + " " + kColumns + " FROM STDIN", rows_text(d, 0, o.items));
    } else if (o.mode == "sync") {
      run = run_sync(c, o, d);
    } else if (o.mode == "perrow") {
      rows = o.limit > 0 && o.limit < o.items ? o.limit : o.items;
      run_perrow(c, o, d, rows);
    } else {
      run_peer_sync(c, o, d);
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::string wal = "";
    if (o.wal) wal = c.exec("SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), $1::pg_lsn)::bigint", {lsn0});
    std::printf("seconds=%.6f rows=%ld", seconds, rows);
    if (o.wal) std::printf(" wal_bytes=%s", wal.c_str());
    if (run) std::printf(" run_id=%ld", run);
    if (o.mode != "perrow") std::printf(" changed=%ld", d.changed);
    std::printf("\n");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "inventory-bench-load: %s\n", e.what());
    return 1;
  }
  return 0;
}
