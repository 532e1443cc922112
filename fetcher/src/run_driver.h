// One tenant run: begin_sync_run, one pager per policy type (at most
// per-tenant-concurrency at once), COPY of each page as it arrives,
// apply_staged every batch_rows rows and at the end of each type,
// complete_policy_type, finish_sync_run. This thread owns the run's
// database session; pagers run on their own threads.
#pragma once

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "config.h"
#include "graph_client.h"
#include "log.h"
#include "metrics.h"
#include "pager.h"
#include "run_store.h"

namespace fetch {

// COPY text waiting for a tenant's writer, at most (bytes).
inline constexpr size_t kQueueBytes = 16u << 20;
// An open COPY is ended after this long without a page (a statement is not
// held open while Graph is slow; every COPY is a commit, so not sooner).
inline constexpr long kCopyIdleMs = 500;
// Narrow manifest keys the writer collects before it COPYs them.
inline constexpr size_t kKeyBufferBytes = 4u << 20;

enum class JobStatus { Succeeded, Partial, Failed, Skipped, ConfigError };
const char* job_status_name(JobStatus s);

struct JobResult {
  JobStatus status = JobStatus::Failed;
  long long run_id = 0;
};

struct Services {
  GraphClient& client;
  Logger& log;
  Clock& clock;
  const StopToken& process_stop;
  MetricsRegistry& metrics;
};

using StoreFactory = std::function<std::unique_ptr<RunStore>()>;

JobResult run_job(const Job& job, const Settings& settings, Services& services,
                  const StoreFactory& make_store);

// The absence checks of one complete type: each id GET by GET
// (GraphClient::check_item, at most `parallel` at once). `ids` and
// `statuses` are what record_verifications is given, in the order asked:
// 404, 200 (any 2xx), another final HTTP status, or 0 (transport failure,
// give-up, or an id no URL can carry). Ids not asked because the run is
// stopping are left out (`not_checked`).
struct AbsenceChecks {
  std::vector<std::string> ids;
  std::vector<int> statuses;
  long deleted = 0;
  long present = 0;
  long errors = 0;
  long not_checked = 0;
};
AbsenceChecks check_absences(GraphClient& client, const RequestContext& ctx, const GraphBase& base,
                             const PolicyType& type, const std::vector<std::string>& ids, int parallel);

// Run status of docs/design.md §9: "failed" when a fatal error occurred or no
// type is complete; "succeeded" when every type is complete and nothing was
// recorded as an error; "partial" otherwise.
std::string decide_run_status(const std::vector<TypeOutcome>& outcomes, bool fatal, size_t error_count);

// The errors for finish_sync_run: run-wide codes (auth_failed, cancelled,
// db_error) kept once, at most `max` entries (the last one then says how many
// were left out).
nlohmann::json build_error_list(const std::vector<ErrorRecord>& errors, size_t max = kMaxStoredErrors);

// Overall exit code for the job results (docs/design.md §9): 2 if any job had a
// configuration error, else 1 if any run was partial or failed, else 75 if
// any was skipped because a run was in progress, else 0.
int exit_code_for(const std::vector<JobResult>& results);

}  // namespace fetch
