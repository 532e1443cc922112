#include "run_driver.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <thread>
#include <variant>

#include "bounded_queue.h"
#include "manifest.h"
#include "uuid.h"

namespace fetch {

const char* job_status_name(JobStatus s) {
  switch (s) {
    case JobStatus::Succeeded:
      return "succeeded";
    case JobStatus::Partial:
      return "partial";
    case JobStatus::Failed:
      return "failed";
    case JobStatus::Skipped:
      return "skipped";
    case JobStatus::ConfigError:
      return "config_error";
  }
  return "failed";
}

std::string decide_run_status(const std::vector<TypeOutcome>& outcomes, bool fatal, size_t error_count) {
  size_t complete = 0;
  for (const auto& o : outcomes) complete += o.status == "complete" ? 1 : 0;
  if (fatal || complete == 0) return "failed";
  if (complete == outcomes.size() && error_count == 0) return "succeeded";
  return "partial";
}

nlohmann::json build_error_list(const std::vector<ErrorRecord>& errors, size_t max) {
  static const std::set<std::string> run_wide = {codes::kAuthFailed, codes::kCancelled, codes::kDbError};
  nlohmann::json out = nlohmann::json::array();
  std::set<std::string> seen_run_wide;
  size_t dropped = 0;
  for (const auto& e : errors) {
    if (run_wide.count(e.code) && !seen_run_wide.insert(e.code).second) continue;
    if (out.size() + 1 >= max && &e != &errors.back()) {
      ++dropped;
      continue;
    }
    out.push_back(e.to_json());
  }
  if (dropped > 0) {
    // Replace the last slot with a note (the server bounds the list too).
    ErrorRecord note = errors.back();
    note.message = std::to_string(dropped + 1) + " more errors not listed; last: " + note.message;
    out.back() = note.to_json();
  }
  return out;
}

int exit_code_for(const std::vector<JobResult>& results) {
  bool config = false, bad = false, skipped = false;
  for (const auto& r : results) {
    config |= r.status == JobStatus::ConfigError;
    bad |= r.status == JobStatus::Partial || r.status == JobStatus::Failed;
    skipped |= r.status == JobStatus::Skipped;
  }
  if (config) return 2;
  if (bad) return 1;
  if (skipped) return 75;
  return 0;
}

AbsenceChecks check_absences(GraphClient& client, const RequestContext& ctx, const GraphBase& base,
                             const PolicyType& type, const std::vector<std::string>& ids, int parallel) {
  const size_t n = ids.size();
  std::vector<ItemCheck> answers(n);
  std::vector<char> asked(n, 0);
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (;;) {
      const size_t i = next.fetch_add(1);
      if (i >= n) return;
      const std::optional<std::string> url = item_url(base, type.api_version, type.graph_path, ids[i]);
      if (!url) {
        // No request can name this id: no verdict (status 0).
        asked[i] = 1;
        continue;
      }
      answers[i] = client.check_item(ctx, *url, type.policy_type);
      asked[i] = answers[i].cancelled ? 0 : 1;
    }
  };
  const size_t n_threads = std::min<size_t>(n, static_cast<size_t>(std::max(1, parallel)));
  std::vector<std::thread> threads;
  for (size_t t = 1; t < n_threads; ++t) threads.emplace_back(work);
  work();
  for (auto& t : threads) t.join();

  AbsenceChecks out;
  for (size_t i = 0; i < n; ++i) {
    if (!asked[i]) {
      ++out.not_checked;
      continue;
    }
    const long st = answers[i].status;
    const int status = st == 404                 ? 404
                       : (st >= 200 && st < 300) ? 200
                       : (st > 0 && st < 1000)   ? static_cast<int>(st)
                                                 : 0;
    if (status == 404) {
      ++out.deleted;
    } else if (status == 200) {
      ++out.present;
    } else {
      ++out.errors;
    }
    out.ids.push_back(ids[i]);
    out.statuses.push_back(status);
  }
  return out;
}

namespace {

// Adds the lifetime of the scope to a counter of seconds.
class DbTimer {
 public:
  explicit DbTimer(double& total) : total_(total), t0_(std::chrono::steady_clock::now()) {}
  ~DbTimer() { total_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count(); }
  DbTimer(const DbTimer&) = delete;
  DbTimer& operator=(const DbTimer&) = delete;

 private:
  double& total_;
  std::chrono::steady_clock::time_point t0_;
};

struct TypeDone {
  size_t type_index;
  TypeOutcome outcome;
};
using WriterMessage = std::variant<PageBatch, TypeDone>;

ErrorRecord internal_error(const std::string& policy_type, const std::exception& ex) {
  ErrorRecord e;
  e.code = codes::kInternalError;
  e.policy_type = policy_type;
  e.message = dynamic_cast<const std::bad_alloc*>(&ex) != nullptr
                  ? std::string("out of memory")
                  : safe_message(std::string("unexpected error: ") + ex.what());
  e.at = utc_timestamp_now();
  return e;
}

ErrorRecord db_error(const std::string& message, const std::string& sqlstate) {
  ErrorRecord e;
  e.code = codes::kDbError;
  e.message = safe_message(sqlstate.empty() ? message : message + " (SQLSTATE " + sqlstate + ")");
  e.at = utc_timestamp_now();
  return e;
}

}  // namespace

JobResult run_job(const Job& job, const Settings& settings, Services& sv, const StoreFactory& make_store) {
  Logger& log = sv.log;
  JobResult result;
  auto metrics = sv.metrics.add_run(job.tenant, job.selection_hash.substr(0, 12));
  metrics->types_total = static_cast<int>(job.policy_types.size());
  const auto t0 = std::chrono::steady_clock::now();
  const std::string correlation_id = job.correlation_id.empty() ? random_uuid() : job.correlation_id;
  LogFields base_fields = {{"tenant", job.tenant}, {"selection", job.selection_hash.substr(0, 12)}};
  if (!job.name.empty()) base_fields.emplace_back("name", job.name);
  auto fields = [&](LogFields extra) {
    LogFields f = base_fields;
    for (auto& kv : extra) f.push_back(std::move(kv));
    return f;
  };
  auto finish_metrics = [&](const std::string& status) {
    const double dur = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double end_unix =
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    metrics->finish(status, dur, result.run_id, end_unix);
  };

  if (sv.process_stop.stop_requested()) {
    result.status = JobStatus::Failed;
    finish_metrics("failed");
    return result;
  }

  // 1. Session and run.
  std::unique_ptr<RunStore> store;
  try {
    store = make_store();
    result.run_id = store->begin_run(job.tenant, job.selection.dump(), correlation_id);
  } catch (const PgError& e) {
    if (e.sqlstate() == "55P03") {
      log.warn("skipped: a run of this tenant and selection is already in progress",
               fields({{"detail", e.what()}}));
      result.status = JobStatus::Skipped;
      finish_metrics("skipped");
    } else if (e.sqlstate() == "22023" || e.sqlstate() == "22P02" || e.sqlstate() == "42501") {
      // An invalid selection, or a role not granted this tenant: the
      // configuration must change, retrying will not help.
      log.error(e.sqlstate() == "42501" ? "the database role may not sync this tenant"
                                        : "the selection was rejected",
                fields({{"detail", e.what()}, {"sqlstate", e.sqlstate()}}));
      result.status = JobStatus::ConfigError;
      finish_metrics("failed");
    } else {
      log.error("cannot start the run", fields({{"detail", e.what()}, {"sqlstate", e.sqlstate()}}));
      metrics->add_error(codes::kDbError);
      result.status = JobStatus::Failed;
      finish_metrics("failed");
    }
    return result;
  }
  log.info("run started", fields({{"run_id", result.run_id},
                                  {"correlation_id", correlation_id},
                                  {"types", job.policy_types.size()}}));

  std::vector<ErrorRecord> errors;
  double db_seconds = 0;  // time spent in COPY, apply_staged, complete_policy_type
  bool fatal = false;
  bool fenced = false;  // the run is no longer ours: write nothing more

  std::vector<PolicyType> types;
  try {
    types = store->load_types(job.policy_types);
  } catch (const PgError& e) {
    errors.push_back(db_error(std::string("reading inventory.policy_types: ") + e.what(), e.sqlstate()));
    fatal = true;
    fenced = e.sqlstate() == "55000";
  }
  std::vector<TypeOutcome> outcomes;
  // Selected types the registry does not know (or has disabled).
  for (const auto& name : job.policy_types) {
    bool found = false;
    for (const auto& t : types) found |= t.policy_type == name;
    if (!found && !fatal) {
      ErrorRecord e;
      e.code = codes::kDbError;
      e.policy_type = name;
      e.message = "policy type is not enabled in inventory.policy_types";
      e.at = utc_timestamp_now();
      errors.push_back(e);
      TypeOutcome o;
      o.error_code = e.code;
      outcomes.push_back(o);
      try {
        store->complete_type(result.run_id, name, "failed", 0, 0, e.code);
      } catch (const PgError& pe) {
        errors.push_back(db_error(pe.what(), pe.sqlstate()));
        fatal = true;
        fenced = pe.sqlstate() == "55000";
      }
    }
  }

  // The manifest (docs/design.md §10): what the database holds for this
  // tenant, so that an item whose row would not change is staged as its
  // narrow key. An extension without it (an older version) gets whole rows.
  std::string fp_salt;
  bool have_salt = false;
  std::optional<Manifest> manifest;
  if (!fatal) {
    DbTimer timer(db_seconds);
    try {
      if (store->has_manifest()) {
        fp_salt = store->fingerprint_salt();
        have_salt = true;
        if (settings.use_manifest) {
          manifest.emplace(std::random_device{}() ^ (static_cast<uint64_t>(std::random_device{}()) << 32));
          std::string scratch_type, scratch_id;
          long bad_lines = 0;
          store->read_manifest(result.run_id, [&](std::string_view line) {
            if (!add_manifest_line(*manifest, line, scratch_type, scratch_id)) ++bad_lines;
          });
          manifest->seal();
          log.debug("manifest read", fields({{"items", static_cast<long>(manifest->size())},
                                             {"bytes", static_cast<long>(manifest->bytes())},
                                             {"unreadable", bad_lines}}));
        }
      }
    } catch (const PgError& e) {
      // Whole rows are always correct, only slower.
      manifest.reset();
      log.warn("cannot read the manifest; staging every item whole",
               fields({{"detail", e.what()}, {"sqlstate", e.sqlstate()}}));
      if (e.sqlstate() == "55000") {
        errors.push_back(db_error(std::string("reading the manifest: ") + e.what(), e.sqlstate()));
        fatal = true;
        fenced = true;
      }
    }
  }

  // Absence checks (issue 11): off with --no-verify, and when the extension
  // has no inventory.absence_candidates (an older version) or this role may
  // not call it.
  bool verify = false;
  if (settings.verify && !fatal) {
    DbTimer timer(db_seconds);
    try {
      switch (store->verification()) {
        case RunStore::Verification::Available:
          verify = true;
          break;
        case RunStore::Verification::Missing:
          log.info("absence checks off: the extension has no inventory.absence_candidates", fields({}));
          break;
        case RunStore::Verification::Denied:
          log.info(
              "absence checks off: this role may not execute inventory.absence_candidates or "
              "inventory.record_verifications (grant_sync_role grants them)",
              fields({}));
          break;
      }
    } catch (const PgError& e) {
      log.warn("cannot tell whether the extension checks absences; not checking",
               fields({{"detail", e.what()}, {"sqlstate", e.sqlstate()}}));
      if (e.sqlstate() == "55000") {
        errors.push_back(db_error(std::string("checking for absence checks: ") + e.what(), e.sqlstate()));
        fatal = true;
        fenced = true;
      }
    }
  }

  // 2. Pagers and the writer.
  StopToken run_stop(&sv.process_stop);
  // Why the run stopped itself (auth_failed, db_error): pagers interrupted by
  // that stop report it instead of "cancelled".
  std::mutex stop_mu;
  std::string stop_reason;
  auto stop_run = [&](const std::string& reason) {
    {
      std::lock_guard<std::mutex> lock(stop_mu);
      if (stop_reason.empty()) stop_reason = reason;
    }
    run_stop.request_stop();
  };
  auto base = parse_graph_base(settings.graph_url);
  const std::string token_url = settings.login_url + "/" + job.tenant + "/oauth2/v2.0/token";
  RequestContext ctx;
  ctx.tenant = job.tenant;
  ctx.metrics = metrics.get();
  ctx.stop = &run_stop;
  TokenCache tokens(sv.clock, [&](const StopToken&, AccessToken& out) {
    const ClientCredential& cred = job.credential;
    const std::string scope = settings.scope;
    TokenResult r = sv.client.fetch_token(
        ctx, token_url,
        [&] {
          const long long now = static_cast<long long>(
              std::chrono::duration_cast<std::chrono::seconds>(sv.clock.wall_now().time_since_epoch())
                  .count());
          return token_request_body(cred, scope, token_url, now, random_uuid());
        },
        out);
    if (r.ok) {
      log.debug("access token acquired", fields({{"expires_in_s", static_cast<long>(out.lifetime_s)}}));
    }
    return r;
  });
  ctx.tokens = &tokens;

  const size_t n_types = types.size();
  std::vector<TypeOutcome> type_outcomes(n_types);
  if (n_types > 0 && !fatal) {
    const size_t n_pagers = std::min<size_t>(n_types, static_cast<size_t>(settings.per_tenant_concurrency));
    // Bounded in messages and in bytes: whatever the pages hold, no more
    // than kQueueBytes of COPY text wait for the writer.
    BoundedQueue<WriterMessage> queue(4 * n_pagers + 4, kQueueBytes);
    std::atomic<size_t> next_type{0};
    PagerConfig pcfg;
    pcfg.page_size = settings.page_size;
    if (have_salt) pcfg.fingerprint_salt = &fp_salt;
    if (manifest) pcfg.manifest = &*manifest;
    if (settings.run_budget_s > 0) {
      const auto deadline = t0 + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                     std::chrono::duration<double>(settings.run_budget_s));
      pcfg.out_of_time = [deadline] { return std::chrono::steady_clock::now() >= deadline; };
    }
    std::vector<std::thread> pagers;
    for (size_t p = 0; p < n_pagers; ++p) {
      pagers.emplace_back([&] {
        for (;;) {
          const size_t i = next_type.fetch_add(1);
          if (i >= n_types) return;
          const PolicyType& type = types[i];
          metrics->set_current_type(type.policy_type, true);
          TypeOutcome o;
          if (run_stop.stop_requested()) {
            ErrorRecord e;
            e.code = codes::kCancelled;
            e.policy_type = type.policy_type;
            e.message = "run stopping before this type started";
            e.at = utc_timestamp_now();
            o.error_code = e.code;
            o.errors.push_back(e);
          } else {
            try {
              o = enumerate_type(
                  sv.client, ctx, *base, type, i, pcfg,
                  [&](PageBatch&& b) {
                    const size_t bytes = b.bytes();
                    return queue.push(std::move(b), run_stop, false, bytes);
                  },
                  log);
            } catch (const std::exception& ex) {
              // Out of memory or anything unexpected: this type fails, the
              // run goes on and is finished.
              o = TypeOutcome();
              o.error_code = codes::kInternalError;
              o.errors.push_back(internal_error(type.policy_type, ex));
            }
          }
          metrics->set_current_type(type.policy_type, false);
          if (o.fatal) stop_run(o.error_code);
          queue.push(TypeDone{i, std::move(o)}, run_stop, /*force=*/true);
        }
      });
    }

    // Writer: this thread, the run's database session. Pages stream into
    // one open COPY while they keep coming; it is ended at the batch size
    // (then apply_staged), at the end of a type, or after kCopyIdleMs without a
    // page, so no statement stays open while Graph is slow.
    size_t done = 0;
    long staged_since_apply = 0;
    long open_rows = 0;
    bool copy_open = false;
    bool db_broken = false;
    auto db_fail = [&](const PgError& e, const char* what) {
      errors.push_back(db_error(std::string(what) + ": " + e.what(), e.sqlstate()));
      log.error("database error, stopping the run",
                fields({{"step", what}, {"detail", e.what()}, {"sqlstate", e.sqlstate()}}));
      metrics->add_error(codes::kDbError);
      fatal = true;
      db_broken = true;
      fenced |= e.sqlstate() == "55000";
      stop_run(codes::kDbError);
    };
    auto end_copy = [&] {
      if (!copy_open || db_broken) return;
      DbTimer timer(db_seconds);
      copy_open = false;
      try {
        store->stage_end();
        staged_since_apply += open_rows;
      } catch (const PgError& e) {
        db_fail(e, "COPY");
      }
      open_rows = 0;
    };
    // Narrow keys wait here (at most kKeyBufferBytes) and go in one COPY of
    // their own before the type completes: they need no apply_staged, and a
    // page mixing whole rows and keys does not switch COPY twice.
    std::string pending_keys;
    auto flush_keys = [&] {
      if (pending_keys.empty() || db_broken) {
        pending_keys.clear();
        return;
      }
      DbTimer timer(db_seconds);
      try {
        store->stage_keys_put(pending_keys);
        store->stage_end();
        copy_open = false;
        staged_since_apply += open_rows;
        open_rows = 0;
      } catch (const PgError& e) {
        db_fail(e, "COPY");
      }
      pending_keys.clear();
    };
    auto put = [&](const PageBatch& b) {
      if (db_broken) return;
      if (!b.key_text.empty()) {
        pending_keys += b.key_text;
        if (pending_keys.size() >= kKeyBufferBytes) flush_keys();
      }
      if (b.rows == 0 || db_broken) return;
      DbTimer timer(db_seconds);
      try {
        store->stage_put(b.copy_text);
        copy_open = true;
        open_rows += b.rows;
      } catch (const PgError& e) {
        db_fail(e, "COPY");
      }
    };
    auto apply = [&] {
      end_copy();
      if (staged_since_apply == 0 || db_broken) return;
      DbTimer timer(db_seconds);
      try {
        store->apply(result.run_id);
        log.debug("applied staged rows", fields({{"rows", staged_since_apply}}));
        staged_since_apply = 0;
      } catch (const PgError& e) {
        db_fail(e, "apply_staged");
      }
    };
    bool writer_failed = false;
    while (done < n_types) {
      auto msg = queue.pop(std::chrono::milliseconds(copy_open ? kCopyIdleMs : 200));
      try {
      if (!msg) {
        end_copy();
        continue;
      }
      if (auto* b = std::get_if<PageBatch>(&*msg)) {
        put(*b);
        if (staged_since_apply + open_rows >= settings.batch_rows) apply();
        continue;
      }
      TypeDone& td = std::get<TypeDone>(*msg);
      ++done;
      ++metrics->types_done;
      TypeOutcome& o = td.outcome;
      const PolicyType& type = types[td.type_index];
      if (o.error_code == codes::kCancelled && !sv.process_stop.stop_requested()) {
        std::lock_guard<std::mutex> lock(stop_mu);
        if (!stop_reason.empty()) {
          o.error_code = stop_reason;
          o.errors.erase(std::remove_if(o.errors.begin(), o.errors.end(),
                                        [](const ErrorRecord& e) { return e.code == codes::kCancelled; }),
                         o.errors.end());
        }
      }
      flush_keys();
      apply();
      // Before a complete listing makes items absent, each of them is asked
      // for (at most kVerifyMaxPerType): the database turns 404s into
      // verified deletions and, if any item still exists, records the type
      // as incomplete (listing_inconsistent) itself.
      std::optional<AbsenceChecks> checks;
      bool checks_recorded = false;
      long candidates = 0;
      // With the manifest, a listing that named again every item the
      // manifest holds of the type makes none of them absent: nothing to ask
      // (items written without a fingerprint, by other clients, are not in
      // the manifest; their absence then stays unverified).
      const bool nothing_to_verify = manifest && manifest->all_listed(type.policy_type);
      if (verify && !db_broken && o.status == "complete" && !nothing_to_verify) {
        std::vector<std::string> ids;
        bool listed = false;
        {
          DbTimer timer(db_seconds);
          try {
            ids = store->absence_candidates(result.run_id, type.policy_type);
            listed = true;
          } catch (const PgError& e) {
            if (e.sqlstate() == "55000") {
              db_fail(e, "absence_candidates");
            } else {
              log.warn(
                  "cannot list the items this type would make absent; their absence stays unverified",
                  fields({{"type", type.policy_type}, {"detail", e.what()}, {"sqlstate", e.sqlstate()}}));
            }
          }
        }
        if (listed && !db_broken) {
          candidates = static_cast<long>(ids.size());
          if (ids.size() > static_cast<size_t>(kVerifyMaxPerType)) {
            log.warn("more absence candidates than verify_max_per_type; checking the first ones",
                     fields({{"type", type.policy_type},
                             {"candidates", candidates},
                             {"verify_max_per_type", kVerifyMaxPerType}}));
            ids.resize(static_cast<size_t>(kVerifyMaxPerType));
          }
          if (!ids.empty()) {
            checks = check_absences(sv.client, ctx, *base, type, ids, settings.per_tenant_concurrency);
            metrics->verify_candidates += static_cast<long>(ids.size());
            metrics->verify_deleted += checks->deleted;
            metrics->verify_present += checks->present;
            metrics->verify_errors += checks->errors;
            if (!checks->ids.empty()) {
              DbTimer timer(db_seconds);
              try {
                store->record_verifications(result.run_id, type.policy_type, checks->ids, checks->statuses);
                checks_recorded = true;
              } catch (const PgError& e) {
                if (e.sqlstate() == "55000") {
                  db_fail(e, "record_verifications");
                } else {
                  log.warn(
                      "cannot record the absence checks; this type's absences stay unverified",
                      fields({{"type", type.policy_type}, {"detail", e.what()}, {"sqlstate", e.sqlstate()}}));
                }
              }
            }
          }
        }
      }
      if (!db_broken) {
        DbTimer timer(db_seconds);
        try {
          store->complete_type(result.run_id, type.policy_type, o.status, o.pages, o.items, o.error_code);
        } catch (const PgError& e) {
          db_fail(e, "complete_policy_type");
        }
      }
      if (checks && checks_recorded && checks->present > 0 && !db_broken) {
        // What the database recorded for the type: the listing is not
        // complete after all (the run is then partial).
        o.status = "incomplete";
        if (o.error_code.empty()) o.error_code = codes::kListingInconsistent;
        log.warn("the listing left out items that still exist; the type is recorded as incomplete",
                 fields({{"type", type.policy_type}, {"present", checks->present}}));
      }
      for (const auto& e : o.errors) metrics->add_error(e.code);
      if (o.fatal) fatal = true;
      LogFields tf = {
          {"type", type.policy_type}, {"status", o.status}, {"pages", o.pages}, {"items", o.items}};
      if (!o.error_code.empty()) tf.emplace_back("error", o.error_code);
      if (checks) {
        tf.emplace_back("absence_candidates", candidates);
        tf.emplace_back("verified_deleted", checks->deleted);
        tf.emplace_back("verified_present", checks->present);
        tf.emplace_back("verify_errors", checks->errors);
        if (checks->not_checked > 0) tf.emplace_back("verify_not_checked", checks->not_checked);
      }
      log.info("policy type done", fields(tf));
      type_outcomes[td.type_index] = std::move(o);
      } catch (const std::exception& ex) {
        // Out of memory or anything unexpected in the writer: nothing more
        // is written but the run is finished (below) as failed.
        if (!writer_failed) {
          writer_failed = true;
          errors.push_back(internal_error("", ex));
          metrics->add_error(codes::kInternalError);
          log.error("internal error, stopping the run", fields({{"detail", ex.what()}}));
        }
        fatal = true;
        db_broken = true;
        stop_run(codes::kInternalError);
      }
    }
    for (auto& t : pagers) t.join();
  }

  for (auto& o : type_outcomes) {
    for (auto& e : o.errors) errors.push_back(std::move(e));
    o.errors.clear();
    outcomes.push_back(std::move(o));
  }
  const bool cancelled = sv.process_stop.stop_requested();
  if (cancelled) {
    fatal = true;
    bool have = false;
    for (const auto& e : errors) have |= e.code == codes::kCancelled;
    if (!have) {
      ErrorRecord e;
      e.code = codes::kCancelled;
      e.message = "interrupted by a signal";
      e.at = utc_timestamp_now();
      errors.push_back(e);
    }
  }
  for (const auto& e : errors) {
    fatal |= e.code == codes::kAuthFailed || e.code == codes::kCancelled;
  }

  // 3. Finish.
  const std::string status = decide_run_status(outcomes, fatal, errors.size());
  if (!fenced) {
    try {
      store->finish(result.run_id, status, build_error_list(errors));
    } catch (const std::exception& e) {
      const auto* pe = dynamic_cast<const PgError*>(&e);
      log.error("finish_sync_run failed; the next run will mark this one abandoned",
                fields({{"run_id", result.run_id}, {"detail", e.what()}, {"sqlstate", pe ? pe->sqlstate() : ""}}));
      metrics->add_error(codes::kDbError);
      result.status = JobStatus::Failed;
      finish_metrics("failed");
      return result;
    }
  } else {
    log.error("the run was taken over (fenced); nothing more is written",
              fields({{"run_id", result.run_id}}));
  }
  result.status = status == "succeeded" ? JobStatus::Succeeded
                  : status == "partial" ? JobStatus::Partial
                                        : JobStatus::Failed;
  finish_metrics(fenced ? "failed" : status);

  LogFields summary = {{"run_id", result.run_id},
                       {"status", fenced ? "failed" : status},
                       {"items", metrics->items.load()},
                       {"pages", metrics->pages.load()},
                       {"requests", metrics->requests.load()},
                       {"retries", metrics->retries.load()},
                       {"throttled", metrics->throttled.load()}};
  if (!fenced) {
    const nlohmann::json row = store->run_row(result.run_id);
    for (const char* k : {"items_created", "items_updated", "items_unchanged", "meta_keys_dropped"}) {
      if (row.contains(k)) summary.emplace_back(k, row[k]);
    }
  }
  if (verify) {
    summary.emplace_back("absence_candidates", metrics->verify_candidates.load());
    summary.emplace_back("verified_deleted", metrics->verify_deleted.load());
    summary.emplace_back("verified_present", metrics->verify_present.load());
    summary.emplace_back("verify_errors", metrics->verify_errors.load());
  }
  std::string codes_seen;
  for (const auto& e : errors) {
    if (codes_seen.find(e.code) == std::string::npos) codes_seen += (codes_seen.empty() ? "" : ",") + e.code;
  }
  if (!codes_seen.empty()) summary.emplace_back("errors", codes_seen);
  summary.emplace_back("seconds", std::round(metrics->duration_s() * 1000) / 1000);
  summary.emplace_back("db_seconds", std::round(db_seconds * 1000) / 1000);
  log.log(status == "succeeded" ? LogLevel::Info : LogLevel::Warn, "run finished", fields(summary));
  return result;
}

}  // namespace fetch
