// The tenant run end to end against a fake Graph and a fake lifecycle
// store: order of calls, statuses, error lists, batching, fencing.
#include "run_driver.h"

#include <gtest/gtest.h>

#include <map>
#include <mutex>

#include "fake_clock.h"
#include "fake_transport.h"

using namespace fetch;
using namespace fetch::testing;

namespace {

const char* kTenant = "0b7d2a1e-0000-4000-8000-00000000abcd";

struct FakeStore final : RunStore {
  std::vector<std::string> calls;
  std::string staged;
  long staged_rows = 0;
  long applied_rows = 0;
  std::vector<long> apply_sizes;
  std::map<std::string, std::tuple<std::string, int, long, std::string>> types_done;
  std::string finished_status;
  nlohmann::json finished_errors;
  std::string begin_sqlstate;  // throw on begin
  int fail_apply_after = -1;   // throw 55000 on the n-th apply
  bool stage_bad_alloc = false;  // stage() runs out of memory
  // Absence checks: what verification() answers, the candidates per type,
  // and what record_verifications was given.
  Verification verification_support = Verification::Missing;
  std::map<std::string, std::vector<std::string>> candidates;
  std::vector<std::tuple<std::string, std::vector<std::string>, std::vector<int>>> recorded;
  std::vector<PolicyType> registry = {
      {"deviceConfiguration", "deviceManagement/deviceConfigurations", "beta", "displayName"},
      {"settingsCatalogPolicy", "deviceManagement/configurationPolicies", "beta", "name"}};

  long long begin_run(const std::string&, const std::string& selection, const std::string&) override {
    calls.push_back("begin");
    if (!begin_sqlstate.empty()) throw PgError("lock held for tenant", begin_sqlstate);
    EXPECT_TRUE(nlohmann::json::parse(selection).contains("policy_types"));
    return 42;
  }
  std::vector<PolicyType> load_types(const std::vector<std::string>& names) override {
    calls.push_back("load_types");
    std::vector<PolicyType> out;
    for (const auto& t : registry) {
      if (std::find(names.begin(), names.end(), t.policy_type) != names.end()) out.push_back(t);
    }
    return out;
  }
  void stage(std::string_view text) override {
    if (stage_bad_alloc) throw std::bad_alloc();
    staged.append(text);
    staged_rows += std::count(text.begin(), text.end(), '\n');
  }
  void apply(long long run) override {
    EXPECT_EQ(run, 42);
    calls.push_back("apply");
    if (fail_apply_after >= 0 && static_cast<int>(apply_sizes.size()) >= fail_apply_after) {
      throw PgError("run 42 is not owned by this session", "55000");
    }
    apply_sizes.push_back(staged_rows - applied_rows);
    applied_rows = staged_rows;
  }
  Verification verification() override { return verification_support; }
  std::vector<std::string> absence_candidates(long long run, const std::string& type) override {
    EXPECT_EQ(run, 42);
    calls.push_back("candidates:" + type);
    // Everything of the type was applied before its candidates are asked for.
    EXPECT_EQ(applied_rows, staged_rows);
    return candidates[type];
  }
  int record_verifications(long long run, const std::string& type, const std::vector<std::string>& ids,
                           const std::vector<int>& statuses) override {
    EXPECT_EQ(run, 42);
    EXPECT_EQ(ids.size(), statuses.size());
    calls.push_back("record:" + type);
    recorded.emplace_back(type, ids, statuses);
    return static_cast<int>(ids.size());
  }
  void complete_type(long long, const std::string& type, const std::string& status, int pages, long items,
                     const std::string& code) override {
    calls.push_back("complete:" + type);
    // Everything of the type was applied before its completion.
    EXPECT_EQ(applied_rows, staged_rows);
    types_done[type] = {status, pages, items, code};
  }
  void finish(long long, const std::string& status, const nlohmann::json& errors) override {
    calls.push_back("finish");
    finished_status = status;
    finished_errors = errors;
  }
  nlohmann::json run_row(long long) override { return {{"items_created", staged_rows}}; }
};

// Hands run_job a store it may own and destroy, while the test keeps the
// FakeStore to inspect afterwards.
struct ForwardingStore final : RunStore {
  RunStore& s;
  explicit ForwardingStore(RunStore& target) : s(target) {}
  long long begin_run(const std::string& t, const std::string& sel, const std::string& c) override {
    return s.begin_run(t, sel, c);
  }
  std::vector<PolicyType> load_types(const std::vector<std::string>& n) override { return s.load_types(n); }
  void stage(std::string_view text) override { s.stage(text); }
  Verification verification() override { return s.verification(); }
  std::vector<std::string> absence_candidates(long long r, const std::string& t) override {
    return s.absence_candidates(r, t);
  }
  int record_verifications(long long r, const std::string& t, const std::vector<std::string>& ids,
                           const std::vector<int>& st) override {
    return s.record_verifications(r, t, ids, st);
  }
  void apply(long long run) override { s.apply(run); }
  void complete_type(long long r, const std::string& t, const std::string& st, int p, long i,
                     const std::string& c) override {
    s.complete_type(r, t, st, p, i, c);
  }
  void finish(long long r, const std::string& st, const nlohmann::json& e) override { s.finish(r, st, e); }
  nlohmann::json run_row(long long r) override { return s.run_row(r); }
};

// A tiny Graph: `count` items per path, `page` per page, nextLinks on the
// same origin unless a test changes the link maker.
struct FakeGraph {
  std::map<std::string, int> count = {{"deviceManagement/deviceConfigurations", 7},
                                      {"deviceManagement/configurationPolicies", 5}};
  int page = 3;
  std::map<std::string, long> status_for_path;  // e.g. 403
  std::function<std::string(const std::string& path, int next_index)> link = [](const std::string& path,
                                                                                int next) {
    return "http://127.0.0.1:9/beta/" + path + "?$skiptoken=idx%253d" + std::to_string(next);
  };
  bool reject_token = false;
  // Single-object GETs (<collection>/<id>): the answer for an id (default 404).
  std::function<HttpResponse(const std::string& id)> item = [](const std::string&) {
    return reply(404, R"({"error":{"code":"ResourceNotFound","message":"Resource not found"}})");
  };
  std::mutex mu;
  std::vector<std::string> urls;
  std::vector<std::string> item_ids;  // as received (still percent-encoded)

  HttpResponse operator()(const HttpRequest& r) {
    std::lock_guard<std::mutex> lock(mu);
    urls.push_back(r.url);
    if (r.url.find("/oauth2/v2.0/token") != std::string::npos) {
      if (reject_token)
        return reply(
            401,
            R"({"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided."})");
      return reply(
          200,
          R"({"token_type":"Bearer","expires_in":3599,"access_token":"eyJ0eXAiOiJKV1QifQ.eyJ0aWQiOiJ4In0.c2ln"})");
    }
    const std::string prefix = "http://127.0.0.1:9/beta/";
    if (r.url.rfind(prefix, 0) != 0) return reply(404, "{}");
    std::string rest = r.url.substr(prefix.size());
    const size_t q = rest.find('?');
    const std::string path = rest.substr(0, q);
    for (const auto& [collection, n] : count) {
      if (path.size() > collection.size() + 1 && path.compare(0, collection.size(), collection) == 0 &&
          path[collection.size()] == '/') {
        const std::string id = path.substr(collection.size() + 1);
        item_ids.push_back(id);
        return item(id);
      }
    }
    if (status_for_path.count(path)) {
      return reply(
          status_for_path[path],
          R"({"error":{"code":"Forbidden","message":"Application is not authorized","innerError":{"request-id":"rq-403"}}})");
    }
    int start = 0;
    const size_t tok = r.url.find("idx%253d");
    if (tok != std::string::npos) start = std::stoi(r.url.substr(tok + 8));
    nlohmann::json body = {{"value", nlohmann::json::array()}};
    const int n = count[path];
    for (int i = start; i < std::min(n, start + page); ++i) {
      body["value"].push_back({{"id", path + "-" + std::to_string(i)},
                               {"displayName", "item " + std::to_string(i)},
                               {"name", "item " + std::to_string(i)},
                               {"@odata.type", "#microsoft.graph.x"}});
    }
    if (start + page < n) body["@odata.nextLink"] = link(path, start + page);
    body["@odata.count"] = 1;  // wrong on purpose: must be ignored
    return reply(200, body.dump());
  }
};

struct Harness {
  FakeClock clock;
  FakeGraph graph;
  FakeTransport transport{[this](const HttpRequest& r) { return graph(r); }};
  ThrottleGate gate{clock, 4, 2};
  std::string log_text;
  Logger log{LogFormat::Text, LogLevel::Debug, [this](std::string_view s) { log_text += s; }};
  GraphClient client{transport, clock, gate, log, GraphClientConfig{}, [] { return 0.5; }};
  StopToken process_stop;
  MetricsRegistry metrics;
  Services sv{client, log, clock, process_stop, metrics};
  Settings settings;
  std::unique_ptr<FakeStore> owned = std::make_unique<FakeStore>();
  FakeStore* store = owned.get();

  Harness() {
    settings.graph_url = "http://127.0.0.1:9";
    settings.login_url = "http://127.0.0.1:9";
    settings.batch_rows = 4;
  }
  Job job(std::vector<std::string> types = {"deviceConfiguration", "settingsCatalogPolicy"}) {
    Job j;
    j.tenant = kTenant;
    j.selection = {{"policy_types", types}};
    j.policy_types = types;
    j.selection_hash = std::string(64, 'f');
    j.credential.client_id = "app";
    j.credential.secret = SecretString("Sx8Q~secretsecretsecretsecretsecretsecret");
    return j;
  }
  JobResult run(const Job& j) {
    return run_job(j, settings, sv, [this] { return std::make_unique<ForwardingStore>(*store); });
  }
};

}  // namespace

TEST(RunDriver, AllTypesCompleteGivesSucceeded) {
  Harness h;
  JobResult r = h.run(h.job());
  EXPECT_EQ(r.status, JobStatus::Succeeded);
  EXPECT_EQ(r.run_id, 42);
  EXPECT_EQ(h.store->finished_status, "succeeded");
  EXPECT_TRUE(h.store->finished_errors.empty());
  EXPECT_EQ(h.store->staged_rows, 12);
  EXPECT_EQ(h.store->types_done["deviceConfiguration"],
            std::make_tuple(std::string("complete"), 3, 7L, std::string()));
  EXPECT_EQ(h.store->types_done["settingsCatalogPolicy"],
            std::make_tuple(std::string("complete"), 2, 5L, std::string()));
  EXPECT_EQ(h.store->calls.front(), "begin");
  EXPECT_EQ(h.store->calls.back(), "finish");
  // nextLinks were sent exactly as received (double-encoded token intact).
  bool saw = false;
  for (const auto& u : h.graph.urls) saw |= u.find("$skiptoken=idx%253d3") != std::string::npos;
  EXPECT_TRUE(saw);
  // Each staged line has 5 fields and a 64-hex content hash.
  size_t start = 0;
  while (start < h.store->staged.size()) {
    const size_t nl = h.store->staged.find('\n', start);
    const std::string line = h.store->staged.substr(start, nl - start);
    EXPECT_EQ(std::count(line.begin(), line.end(), '\t'), 4) << line;
    EXPECT_EQ(line.size() - line.rfind('\t') - 1, 64u);
    start = nl + 1;
  }
  EXPECT_EQ(h.metrics.runs()[0]->items.load(), 12);
  EXPECT_EQ(h.metrics.runs()[0]->status(), "succeeded");
}

TEST(RunDriver, ApplyStagedEveryBatchAndAtEachTypesEnd) {
  Harness h;
  h.settings.batch_rows = 4;
  h.settings.per_tenant_concurrency = 1;  // one type after the other: deterministic batches
  h.graph.count["deviceManagement/deviceConfigurations"] = 20;
  h.run(h.job({"deviceConfiguration"}));
  long total = 0;
  for (long n : h.store->apply_sizes) {
    EXPECT_GT(n, 0);
    total += n;
  }
  EXPECT_EQ(total, 20);
  EXPECT_GE(h.store->apply_sizes.size(), 4u);  // at least every 4-6 rows (pages of 3)
}

TEST(RunDriver, ForbiddenTypeGivesPartial) {
  Harness h;
  h.graph.status_for_path["deviceManagement/configurationPolicies"] = 403;
  JobResult r = h.run(h.job());
  EXPECT_EQ(r.status, JobStatus::Partial);
  EXPECT_EQ(h.store->finished_status, "partial");
  EXPECT_EQ(std::get<0>(h.store->types_done["settingsCatalogPolicy"]), "failed");
  EXPECT_EQ(std::get<3>(h.store->types_done["settingsCatalogPolicy"]), "graph_forbidden");
  ASSERT_EQ(h.store->finished_errors.size(), 1u);
  const auto& e = h.store->finished_errors[0];
  EXPECT_EQ(e["code"], "graph_forbidden");
  EXPECT_EQ(e["policy_type"], "settingsCatalogPolicy");
  EXPECT_EQ(e["http_status"], 403);
  EXPECT_EQ(e["graph_error_code"], "Forbidden");
  EXPECT_EQ(e["request_id"], "req-1");
  EXPECT_EQ(e["client_request_id"].get<std::string>().size(), 36u);
}

TEST(RunDriver, UnsafeNextLinkIsRefusedAndNeverRequested) {
  Harness h;
  h.graph.link = [](const std::string& path, int next) {
    return "http://127.0.0.1:10/beta/" + path + "?$skiptoken=idx%253d" + std::to_string(next);
  };
  JobResult r = h.run(h.job({"deviceConfiguration"}));
  EXPECT_EQ(r.status, JobStatus::Failed);  // the only type is incomplete
  EXPECT_EQ(std::get<0>(h.store->types_done["deviceConfiguration"]), "incomplete");
  EXPECT_EQ(std::get<3>(h.store->types_done["deviceConfiguration"]), "paging_unsafe_link");
  for (const auto& u : h.graph.urls) EXPECT_EQ(u.find("127.0.0.1:10"), std::string::npos) << u;
  EXPECT_EQ(h.store->finished_errors[0]["code"], "paging_unsafe_link");
  // The refused link's paging token is not stored in clear.
  EXPECT_EQ(h.store->finished_errors.dump().find("idx%253d3"), std::string::npos);
}

TEST(RunDriver, PagingLoopIsDetected) {
  Harness h;
  h.graph.link = [](const std::string& path, int) {
    return "http://127.0.0.1:9/beta/" + path + "?$skiptoken=idx%253d0";  // back to the first page
  };
  h.run(h.job({"deviceConfiguration"}));
  EXPECT_EQ(std::get<3>(h.store->types_done["deviceConfiguration"]), "paging_loop");
  EXPECT_EQ(std::get<0>(h.store->types_done["deviceConfiguration"]), "incomplete");
}

TEST(RunDriver, RejectedCredentialsFailTheRunWithOneAuthError) {
  Harness h;
  h.graph.reject_token = true;
  JobResult r = h.run(h.job());
  EXPECT_EQ(r.status, JobStatus::Failed);
  EXPECT_EQ(h.store->finished_status, "failed");
  int auth = 0;
  for (const auto& e : h.store->finished_errors) {
    EXPECT_NE(e["code"], "cancelled");
    auth += e["code"] == "auth_failed";
  }
  EXPECT_EQ(auth, 1);
  for (const auto& [type, t] : h.store->types_done) EXPECT_EQ(std::get<3>(t), "auth_failed") << type;
  // Only one token request: rejected credentials are not retried.
  int token_requests = 0;
  for (const auto& u : h.graph.urls) token_requests += u.find("/token") != std::string::npos;
  EXPECT_EQ(token_requests, 1);
  EXPECT_EQ(h.log_text.find("secretsecret"), std::string::npos);
}

TEST(RunDriver, RegistryPathAskingForMoreIsRefusedWithoutARequest) {
  Harness h;
  h.store->registry[0].graph_path = "deviceManagement/deviceConfigurations?$expand=assignments";
  JobResult r = h.run(h.job());
  EXPECT_EQ(r.status, JobStatus::Partial);
  EXPECT_EQ(std::get<0>(h.store->types_done["deviceConfiguration"]), "failed");
  EXPECT_EQ(std::get<3>(h.store->types_done["deviceConfiguration"]), "graph_bad_request");
  for (const auto& u : h.graph.urls) EXPECT_EQ(u.find("expand"), std::string::npos) << u;
}

TEST(RunDriver, LockHeldMeansSkipped) {
  Harness h;
  h.store->begin_sqlstate = "55P03";
  JobResult r = h.run(h.job());
  EXPECT_EQ(r.status, JobStatus::Skipped);
  EXPECT_EQ(h.store->calls, std::vector<std::string>{"begin"});
  EXPECT_TRUE(h.graph.urls.empty());
  EXPECT_EQ(exit_code_for({r}), 75);
}

TEST(RunDriver, InvalidSelectionIsAConfigError) {
  Harness h;
  h.store->begin_sqlstate = "22023";
  EXPECT_EQ(h.run(h.job()).status, JobStatus::ConfigError);
}

TEST(RunDriver, FencedRunWritesNothingMore) {
  Harness h;
  h.settings.batch_rows = 1;
  h.store->fail_apply_after = 1;
  JobResult r = h.run(h.job({"deviceConfiguration"}));
  EXPECT_EQ(r.status, JobStatus::Failed);
  EXPECT_EQ(std::find(h.store->calls.begin(), h.store->calls.end(), "finish"), h.store->calls.end());
}

TEST(RunDriver, CancelledBeforeStartFinishesAsFailedCancelled) {
  Harness h;
  h.process_stop.request_stop();
  JobResult r = h.run(h.job());
  EXPECT_EQ(r.status, JobStatus::Failed);
}

TEST(RunStatus, Rules) {
  TypeOutcome c, i, f;
  c.status = "complete";
  i.status = "incomplete";
  f.status = "failed";
  EXPECT_EQ(decide_run_status({c, c}, false, 0), "succeeded");
  EXPECT_EQ(decide_run_status({c, c}, false, 1), "partial");  // complete but an error was recorded
  EXPECT_EQ(decide_run_status({c, i}, false, 1), "partial");
  EXPECT_EQ(decide_run_status({c, f}, false, 1), "partial");
  EXPECT_EQ(decide_run_status({i, f}, false, 2), "failed");
  EXPECT_EQ(decide_run_status({c, c}, true, 1), "failed");
  EXPECT_EQ(decide_run_status({}, false, 0), "failed");
}

TEST(ErrorList, RunWideCodesOnceAndBounded) {
  std::vector<ErrorRecord> errs;
  for (int i = 0; i < 3; ++i) {
    ErrorRecord e;
    e.code = "auth_failed";
    e.policy_type = "t" + std::to_string(i);
    errs.push_back(e);
  }
  EXPECT_EQ(build_error_list(errs).size(), 1u);
  errs.clear();
  for (int i = 0; i < 250; ++i) {
    ErrorRecord e;
    e.code = "bad_item";
    e.message = "m" + std::to_string(i);
    errs.push_back(e);
  }
  auto list = build_error_list(errs, 100);
  EXPECT_EQ(list.size(), 100u);
  EXPECT_NE(list.back()["message"].get<std::string>().find("151 more errors"), std::string::npos);
}

TEST(ExitCode, Precedence) {
  JobResult ok{JobStatus::Succeeded, 1}, part{JobStatus::Partial, 2}, fail{JobStatus::Failed, 3},
      skip{JobStatus::Skipped, 0}, cfg{JobStatus::ConfigError, 0};
  EXPECT_EQ(exit_code_for({ok, ok}), 0);
  EXPECT_EQ(exit_code_for({ok, part}), 1);
  EXPECT_EQ(exit_code_for({ok, fail}), 1);
  EXPECT_EQ(exit_code_for({ok, skip}), 75);
  EXPECT_EQ(exit_code_for({skip, fail}), 1);
  EXPECT_EQ(exit_code_for({fail, cfg}), 2);
}

TEST(RunDriver, OutOfMemoryInTheWriterFinishesTheRunAsFailed) {
  Harness h;
  h.store->stage_bad_alloc = true;
  JobResult r = h.run(h.job());
  EXPECT_EQ(r.status, JobStatus::Failed);
  EXPECT_EQ(h.store->calls.back(), "finish");
  EXPECT_EQ(h.store->finished_status, "failed");
  bool found = false;
  for (const auto& e : h.store->finished_errors) {
    if (e["code"] == "internal_error") {
      found = true;
      EXPECT_EQ(e["message"], "out of memory");
    }
  }
  EXPECT_TRUE(found) << h.store->finished_errors.dump();
}

TEST(RunDriver, RunBudgetStopsEveryTypeWithItsCode) {
  Harness h;
  h.settings.run_budget_s = 1e-9;
  JobResult r = h.run(h.job());
  EXPECT_EQ(r.status, JobStatus::Failed);
  EXPECT_EQ(h.store->types_done["deviceConfiguration"],
            std::make_tuple(std::string("failed"), 0, 0L, std::string("run_budget_exhausted")));
  EXPECT_EQ(h.store->finished_status, "failed");
}

TEST(RunDriver, SameHostNextLinkOutsideTheCollectionIsRefused) {
  for (const std::string bad : {"http://127.0.0.1:9/beta/users?$skiptoken=idx%253d3",
                                "http://127.0.0.1:9/beta/deviceManagement/deviceConfigurations/..;/x?$skiptoken=1",
                                "http://127.0.0.1:9/beta/deviceManagement/deviceConfigurations%2f..%2fx?a=1",
                                "http://127.0.0.1:9/beta/deviceManagement/deviceConfigurations/x"}) {
    Harness h;
    h.graph.link = [bad](const std::string&, int) { return bad; };
    h.run(h.job({"deviceConfiguration"}));
    EXPECT_EQ(h.store->types_done["deviceConfiguration"],
              std::make_tuple(std::string("incomplete"), 1, 3L, std::string("paging_unsafe_link")))
        << bad;
    for (const auto& u : h.graph.urls) EXPECT_NE(u, bad);
  }
}

// ---------------------------------------------------------------- absence checks

namespace {

const std::string kDcUrl = "http://127.0.0.1:9/beta/deviceManagement/deviceConfigurations/";

int count_of(const std::vector<std::string>& v, const std::string& x) {
  return static_cast<int>(std::count(v.begin(), v.end(), x));
}

}  // namespace

TEST(AbsenceChecks, EachCandidateIsAskedForAndItsAnswerRecordedBeforeTheTypeCompletes) {
  Harness h;
  h.store->verification_support = RunStore::Verification::Available;
  h.store->candidates["deviceConfiguration"] = {"gone", "there", "broken", "unreachable", "forbidden", "big"};
  h.graph.item = [](const std::string& id) {
    if (id == "gone") return reply(404, R"({"error":{"code":"ResourceNotFound","message":"not found"}})");
    if (id == "there") return reply(200, R"({"id":"there","displayName":"still here"})");
    if (id == "broken") return reply(500, R"({"error":{"code":"InternalServerError"}})");
    if (id == "unreachable") return transport_error(TransportError::Network, "connection refused");
    if (id == "forbidden") return reply(403, R"({"error":{"code":"Forbidden"}})");
    // A 2xx whose body was cut at the cap still says the object exists.
    HttpResponse r = transport_error(TransportError::TooLarge, "response body larger than 1048576 bytes");
    r.status = 200;
    return r;
  };
  JobResult r = h.run(h.job());
  ASSERT_EQ(h.store->recorded.size(), 1u);
  const auto& [type, ids, statuses] = h.store->recorded[0];
  EXPECT_EQ(type, "deviceConfiguration");
  EXPECT_EQ(ids, (std::vector<std::string>{"gone", "there", "broken", "unreachable", "forbidden", "big"}));
  EXPECT_EQ(statuses, (std::vector<int>{404, 200, 500, 0, 403, 200}));
  // Order: candidates after the last apply, then the checks' record, then the completion.
  const auto& c = h.store->calls;
  const auto cand = std::find(c.begin(), c.end(), "candidates:deviceConfiguration");
  const auto rec = std::find(c.begin(), c.end(), "record:deviceConfiguration");
  const auto done = std::find(c.begin(), c.end(), "complete:deviceConfiguration");
  ASSERT_NE(cand, c.end());
  EXPECT_LT(cand, rec);
  EXPECT_LT(rec, done);
  // The fetcher still reports the listing complete; the database decides.
  EXPECT_EQ(std::get<0>(h.store->types_done["deviceConfiguration"]), "complete");
  // A 200 means the type is recorded incomplete: the run is partial (the
  // other type is complete).
  EXPECT_EQ(r.status, JobStatus::Partial);
  EXPECT_EQ(h.store->finished_status, "partial");
  // Verification answers are no run errors of the fetcher's own.
  EXPECT_TRUE(h.store->finished_errors.empty()) << h.store->finished_errors.dump();
  // One GET for 404, 200, 403; 500 and transport failures are retried twice.
  const auto& got = h.graph.item_ids;
  EXPECT_EQ(count_of(got, "gone"), 1);
  EXPECT_EQ(count_of(got, "there"), 1);
  EXPECT_EQ(count_of(got, "forbidden"), 1);
  EXPECT_EQ(count_of(got, "big"), 1);
  EXPECT_EQ(count_of(got, "broken"), 3);
  EXPECT_EQ(count_of(got, "unreachable"), 3);
  for (const auto& u : h.graph.urls) {
    if (u.find("/deviceConfigurations/") != std::string::npos) {
      EXPECT_EQ(u.rfind(kDcUrl, 0), 0u) << u;
      EXPECT_EQ(u.find('?'), std::string::npos) << u;  // nothing added: no $select, no $expand
    }
  }
  const auto& m = *h.metrics.runs()[0];
  EXPECT_EQ(m.verify_candidates.load(), 6);
  EXPECT_EQ(m.verify_deleted.load(), 1);
  EXPECT_EQ(m.verify_present.load(), 2);
  EXPECT_EQ(m.verify_errors.load(), 3);
  const std::string prom = h.metrics.render();
  EXPECT_NE(prom.find("inventory_fetch_verifications_total{tenant=\"" + std::string(kTenant) +
                      "\",selection=\"ffffffffffff\",result=\"deleted\"} 1"),
            std::string::npos)
      << prom;
  EXPECT_NE(prom.find("inventory_fetch_verify_candidates_total{"), std::string::npos);
  // Counts in the type's line and the summary; no item content in the log.
  EXPECT_NE(h.log_text.find("verified_deleted=1 verified_present=2 verify_errors=3"), std::string::npos)
      << h.log_text;
  EXPECT_NE(h.log_text.find("error=listing_inconsistent"), std::string::npos);
  EXPECT_EQ(h.log_text.find("still here"), std::string::npos);
}

TEST(AbsenceChecks, AllDeletionsVerifiedKeepTheRunSucceeded) {
  Harness h;
  h.store->verification_support = RunStore::Verification::Available;
  h.store->candidates["deviceConfiguration"] = {"a", "b", "c"};
  JobResult r = h.run(h.job());
  EXPECT_EQ(r.status, JobStatus::Succeeded);
  ASSERT_EQ(h.store->recorded.size(), 1u);  // no candidates for the other type: no record call
  EXPECT_EQ(std::get<2>(h.store->recorded[0]), (std::vector<int>{404, 404, 404}));
  EXPECT_EQ(h.graph.item_ids.size(), 3u);  // a 404 is not retried
  EXPECT_NE(std::find(h.store->calls.begin(), h.store->calls.end(), "candidates:settingsCatalogPolicy"),
            h.store->calls.end());
  EXPECT_EQ(h.log_text.find("absence check failed"), std::string::npos);  // 404s are answers, not failures
}

TEST(AbsenceChecks, NeverMoreThanTheLimitPerType) {
  Harness h;
  h.store->verification_support = RunStore::Verification::Available;
  std::vector<std::string> many;
  for (int i = 0; i < 80; ++i) many.push_back("id-" + std::to_string(i));
  h.store->candidates["deviceConfiguration"] = many;
  h.run(h.job({"deviceConfiguration"}));
  EXPECT_EQ(kVerifyMaxPerType, 50);
  EXPECT_EQ(h.graph.item_ids.size(), 50u);
  ASSERT_EQ(h.store->recorded.size(), 1u);
  EXPECT_EQ(std::get<1>(h.store->recorded[0]), std::vector<std::string>(many.begin(), many.begin() + 50));
  EXPECT_NE(h.log_text.find("more absence candidates than verify_max_per_type"), std::string::npos);
}

TEST(AbsenceChecks, NoVerifyAsksNothing) {
  Harness h;
  h.settings.verify = false;
  h.store->verification_support = RunStore::Verification::Available;
  h.store->candidates["deviceConfiguration"] = {"a", "b"};
  JobResult r = h.run(h.job({"deviceConfiguration"}));
  EXPECT_EQ(r.status, JobStatus::Succeeded);
  EXPECT_TRUE(h.graph.item_ids.empty());
  EXPECT_TRUE(h.store->recorded.empty());
  for (const auto& c : h.store->calls) EXPECT_NE(c.rfind("candidates:", 0), 0u) << c;
}

TEST(AbsenceChecks, AnOlderExtensionTurnsThemOffWithOneLine) {
  Harness h;  // verification(): Missing
  h.store->candidates["deviceConfiguration"] = {"a"};
  JobResult r = h.run(h.job());
  EXPECT_EQ(r.status, JobStatus::Succeeded);
  EXPECT_TRUE(h.graph.item_ids.empty());
  for (const auto& c : h.store->calls) EXPECT_NE(c.rfind("candidates:", 0), 0u) << c;
  const std::string line = "absence checks off: the extension has no inventory.absence_candidates";
  const size_t at = h.log_text.find(line);
  EXPECT_NE(at, std::string::npos) << h.log_text;
  EXPECT_EQ(h.log_text.find(line, at + 1), std::string::npos);
  EXPECT_NE(h.log_text.find("INFO " + line), std::string::npos);

  Harness d;
  d.store->verification_support = RunStore::Verification::Denied;
  d.store->candidates["deviceConfiguration"] = {"a"};
  d.run(d.job());
  EXPECT_TRUE(d.graph.item_ids.empty());
  EXPECT_NE(d.log_text.find("absence checks off: this role may not execute"), std::string::npos);
}

TEST(AbsenceChecks, AThrottledCheckIsRetriedLikeAPage) {
  Harness h;
  h.store->verification_support = RunStore::Verification::Available;
  h.store->candidates["deviceConfiguration"] = {"slow"};
  int calls = 0;
  h.graph.item = [&calls](const std::string&) {
    if (calls++ == 0) return reply(429, R"({"error":{"code":"TooManyRequests"}})", "1");
    return reply(404, R"({"error":{"code":"ResourceNotFound"}})");
  };
  h.run(h.job({"deviceConfiguration"}));
  EXPECT_EQ(h.graph.item_ids.size(), 2u);
  ASSERT_EQ(h.store->recorded.size(), 1u);
  EXPECT_EQ(std::get<2>(h.store->recorded[0]), std::vector<int>{404});
  EXPECT_EQ(h.metrics.runs()[0]->throttled.load(), 1);
  // The retry carried Retry-Attempt and waited at least Retry-After.
  bool waited = false;
  for (double s : h.clock.sleeps()) waited |= s >= 1.0;
  EXPECT_TRUE(waited);
}

TEST(AbsenceChecks, ATypeThatIsNotCompleteIsNotChecked) {
  Harness h;
  h.store->verification_support = RunStore::Verification::Available;
  h.store->candidates["deviceConfiguration"] = {"a"};
  h.store->candidates["settingsCatalogPolicy"] = {"b"};
  h.graph.link = [](const std::string& path, int) {
    return "http://127.0.0.1:9/beta/" + path + "?$skiptoken=idx%253d0";  // a loop: incomplete
  };
  h.graph.status_for_path["deviceManagement/configurationPolicies"] = 403;  // failed
  h.run(h.job());
  EXPECT_EQ(std::get<0>(h.store->types_done["deviceConfiguration"]), "incomplete");
  EXPECT_EQ(std::get<0>(h.store->types_done["settingsCatalogPolicy"]), "failed");
  EXPECT_TRUE(h.graph.item_ids.empty());
  EXPECT_TRUE(h.store->recorded.empty());
  for (const auto& c : h.store->calls) EXPECT_NE(c.rfind("candidates:", 0), 0u) << c;
}

TEST(AbsenceChecks, IdsAreOnePercentEncodedSegment) {
  Harness h;
  h.store->verification_support = RunStore::Verification::Available;
  h.store->candidates["deviceConfiguration"] = {"a/b c?d#e%f", "..", "ok_1-2.3~"};
  h.run(h.job({"deviceConfiguration"}));
  EXPECT_EQ(h.graph.item_ids, (std::vector<std::string>{"a%2Fb%20c%3Fd%23e%25f", "ok_1-2.3~"}));
  ASSERT_EQ(h.store->recorded.size(), 1u);
  // ".." cannot be asked for: recorded without a verdict.
  EXPECT_EQ(std::get<2>(h.store->recorded[0]), (std::vector<int>{404, 0, 404}));
}

TEST(AbsenceChecks, StatusClassificationOfCheckAbsences) {
  Harness h;
  auto base = parse_graph_base("http://127.0.0.1:9");
  ASSERT_TRUE(base);
  TokenCache tokens(h.clock, [](const StopToken&, AccessToken& out) {
    out.value = "eyJ0eXAiOiJKV1QifQ.eyJ0aWQiOiJ4In0.c2ln";
    out.lifetime_s = 3599;
    TokenResult r;
    r.ok = true;
    return r;
  });
  StopToken stop;
  RequestContext ctx;
  ctx.tenant = kTenant;
  ctx.tokens = &tokens;
  ctx.stop = &stop;
  h.graph.item = [](const std::string& id) {
    if (id == "a") return reply(204, "");
    if (id == "b") return reply(410, "{}");
    if (id == "c") return transport_error(TransportError::Timeout, "timed out");
    return reply(404, "{}");
  };
  const PolicyType type{"deviceConfiguration", "deviceManagement/deviceConfigurations", "beta",
                        "displayName"};
  AbsenceChecks c = check_absences(h.client, ctx, *base, type, {"a", "b", "c", "d"}, 3);
  EXPECT_EQ(c.statuses, (std::vector<int>{200, 410, 0, 404}));
  EXPECT_EQ(c.deleted, 1);
  EXPECT_EQ(c.present, 1);
  EXPECT_EQ(c.errors, 2);
  EXPECT_EQ(c.not_checked, 0);
  // A stopping run learns nothing: nothing is recorded for what was not asked.
  stop.request_stop();
  AbsenceChecks none = check_absences(h.client, ctx, *base, type, {"a", "b"}, 2);
  EXPECT_TRUE(none.ids.empty());
  EXPECT_EQ(none.not_checked, 2);
}
