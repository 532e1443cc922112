// The extension's run lifecycle (docs/design.md §6), as the fetcher calls it.
// RunStore is an interface so the run driver can be tested with a fake.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
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
  void apply(long long run_id) override;
  void complete_type(long long run_id, const std::string& policy_type, const std::string& status, int pages,
                     long items_seen, const std::string& error_code) override;
  void finish(long long run_id, const std::string& status, const nlohmann::json& errors) override;
  nlohmann::json run_row(long long run_id) override;

 private:
  PgConn conn_;
};

// A PostgreSQL text[] literal for `items`.
std::string pg_text_array(const std::vector<std::string>& items);

}  // namespace fetch
