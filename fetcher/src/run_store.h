// The extension's run lifecycle (docs/design.md §6), as the fetcher calls it.
// RunStore is an interface so the run driver can be tested with a fake.
#pragma once

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "mapper.h"
#include "pg_conn.h"

namespace fetch {

class RunStore {
 public:
  virtual ~RunStore() = default;
  // Returns the run id. Throws PgError: 55P03 (another run holds the lock),
  // 22023 (invalid selection), others.
  virtual long long begin_run(const std::string& tenant, const std::string& selection_json,
                              const std::string& correlation_id) = 0;
  // Registry rows of the given enabled types.
  virtual std::vector<PolicyType> load_types(const std::vector<std::string>& names) = 0;
  // COPY rows (text format, see copy_format.h) into pg_temp.staged_items.
  virtual void stage(std::string_view copy_text) = 0;
  // Streaming form: rows given to stage_put may stay in an open COPY until
  // stage_end (called before apply, complete_type and finish). By default
  // each put is a COPY of its own.
  virtual void stage_put(std::string_view copy_text) { stage(copy_text); }
  virtual void stage_end() {}

  // The manifest (docs/design.md §10: a re-sync costs what changed), asked
  // right after begin_run. False when the extension has no
  // inventory.sync_manifest (an older version): rows are then staged
  // whole and without a fingerprint.
  virtual bool has_manifest() { return false; }
  // inventory.fingerprint_salt(), read once per run.
  virtual std::string fingerprint_salt() { return {}; }
  // Streams the run's manifest: each line of COPY (SELECT policy_type,
  // external_id, row_fp FROM inventory.sync_manifest(run)) TO STDOUT.
  virtual void read_manifest(long long /*run_id*/, const std::function<void(std::string_view)>& /*on_line*/) {}
  // COPY narrow rows (policy_type, external_id, row_fp) into
  // pg_temp.staged_keys; like stage_put, the COPY may stay open until
  // stage_end (or a stage_put, which needs the other COPY).
  virtual void stage_keys_put(std::string_view /*copy_text*/) {
    throw std::logic_error("this store cannot stage narrow keys");
  }

  // Verified absences (issue 11): before a complete type is reported,
  // the present items completing it would make absent are asked for one by
  // one. Missing: the extension has no inventory.absence_candidates (an
  // older version); Denied: the session may not execute it or
  // inventory.record_verifications (a sync role granted before the
  // upgrade). Checks are then skipped.
  enum class Verification { Missing, Denied, Available };
  virtual Verification verification() { return Verification::Missing; }
  // SELECT external_id FROM inventory.absence_candidates(run, type): at most
  // verify_max_per_type ids (the caller cuts there too).
  virtual std::vector<std::string> absence_candidates(long long /*run_id*/,
                                                      const std::string& /*policy_type*/) {
    return {};
  }
  // inventory.record_verifications(run, type, ids, statuses): the arrays
  // have the same length and order. Returns the count recorded.
  virtual int record_verifications(long long /*run_id*/, const std::string& /*policy_type*/,
                                   const std::vector<std::string>& /*external_ids*/,
                                   const std::vector<int>& /*http_statuses*/) {
    return 0;
  }

  virtual void apply(long long run_id) = 0;
  virtual void complete_type(long long run_id, const std::string& policy_type, const std::string& status,
                             int pages, long items_seen, const std::string& error_code) = 0;
  virtual void finish(long long run_id, const std::string& status, const nlohmann::json& errors) = 0;
  // The run's row as JSON (for the summary log line); empty object if unknown.
  virtual nlohmann::json run_row(long long run_id) = 0;
};

class PgRunStore final : public RunStore {
 public:
  explicit PgRunStore(const std::string& conninfo);
  long long begin_run(const std::string& tenant, const std::string& selection_json,
                      const std::string& correlation_id) override;
  std::vector<PolicyType> load_types(const std::vector<std::string>& names) override;
  void stage(std::string_view copy_text) override;
  void stage_put(std::string_view copy_text) override;
  void stage_end() override;
  bool has_manifest() override;
  std::string fingerprint_salt() override;
  void read_manifest(long long run_id, const std::function<void(std::string_view)>& on_line) override;
  void stage_keys_put(std::string_view copy_text) override;
  Verification verification() override;
  std::vector<std::string> absence_candidates(long long run_id, const std::string& policy_type) override;
  int record_verifications(long long run_id, const std::string& policy_type,
                           const std::vector<std::string>& external_ids,
                           const std::vector<int>& http_statuses) override;
  void apply(long long run_id) override;
  void complete_type(long long run_id, const std::string& policy_type, const std::string& status, int pages,
                     long items_seen, const std::string& error_code) override;
  void finish(long long run_id, const std::string& status, const nlohmann::json& errors) override;
  nlohmann::json run_row(long long run_id) override;

 private:
  enum class Copy { None, Items, Keys };
  void copy_to(Copy target);

  PgConn conn_;
  bool fingerprints_ = false;  // whole rows carry row_fp (once fingerprint_salt was read)
  Copy copy_ = Copy::None;     // which COPY is open
};

// A PostgreSQL text[] literal for `items`.
std::string pg_text_array(const std::vector<std::string>& items);
// A PostgreSQL integer[] literal for `items`.
std::string pg_int_array(const std::vector<int>& items);

}  // namespace fetch
