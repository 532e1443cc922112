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
  std::mutex mu;
  std::vector<std::string> urls;

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
