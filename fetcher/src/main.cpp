// inventory-fetch: entry point. Parses the command line, starts the HTTP
// event loop, runs the tenant jobs (--parallel-tenants at once), handles
// SIGINT/SIGTERM, writes metrics and maps the outcomes to the exit code.
#include <pthread.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

#include "cli.h"
#include "curl_transport.h"
#include "graph_client.h"
#include "log.h"
#include "metrics.h"
#include "run_driver.h"
#include "secret_sink.h"
#include "throttle_gate.h"
#include "version.h"

using namespace fetch;

namespace {

// Renders the progress line from the metrics of the runs in progress.
std::string progress_text(const MetricsRegistry& metrics, size_t jobs_total, size_t jobs_done) {
  std::ostringstream o;
  o << "[" << jobs_done << "/" << jobs_total << " tenants]";
  for (const auto& m : metrics.runs()) {
    if (m->status() != "running") continue;
    o << "  " << m->tenant.substr(0, 8) << " " << m->types_done.load() << "/" << m->types_total.load()
      << " types";
    const auto types = m->current_types();
    if (!types.empty()) {
      o << " (";
      for (size_t i = 0; i < types.size(); ++i) o << (i ? "," : "") << types[i];
      o << ")";
    }
    o << " pages " << m->pages.load() << " items " << m->items.load();
    if (m->retries.load() > 0) o << " retries " << m->retries.load();
    if (m->throttled.load() > 0) o << " 429s " << m->throttled.load();
  }
  std::string s = o.str();
  winsize ws{};
  size_t cols = 120;
  if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 10) cols = ws.ws_col;
  if (s.size() >= cols) s = s.substr(0, cols - 1);
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  // Secrets and tokens live in this process: no core file, no ptrace by
  // other users, no /proc/<pid>/mem for them, from before any is read.
  harden_process();
  // Signals are taken by one thread (below); every other thread inherits
  // the blocked mask.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGUSR1);  // internal: wakes the signal thread at exit
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  signal(SIGPIPE, SIG_IGN);

  CommandLine cl;
  try {
    cl = parse_command_line(std::vector<std::string>(argv, argv + argc));
  } catch (const std::exception& e) {
    // Through the sink like every other line (the secrets loaded so far
    // are known to it), one line of printable ASCII.
    std::string text = sink_text(e.what(), 1024);
    for (char& c : text) {
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
    }
    std::cerr << "inventory-fetch: " << text << "\n";
    return 2;
  }
  if (cl.exit_code >= 0) return cl.exit_code;
  const Settings& s = cl.settings;

  Logger log(s.log_format, s.log_level, s.progress);
  curl_global_setup();
  for (const auto& job : cl.jobs) {
    for (const auto& w : job.warnings) log.warn(w, {{"tenant", job.tenant}});
  }

  StopToken process_stop;
  std::atomic<bool> all_done{false};
  std::thread signal_thread([&] {
    int received = 0;
    while (!all_done.load()) {
      timespec ts{0, 200 * 1000 * 1000};
      const int sig = sigtimedwait(&sigs, nullptr, &ts);
      if (sig <= 0 || sig == SIGUSR1) continue;
      if (++received == 1) {
        log.warn("signal received: stopping, the runs in progress finish as failed (cancelled)",
                 {{"signal", sig == SIGINT ? "SIGINT" : "SIGTERM"}});
        process_stop.request_stop();
      } else {
        log.error("second signal: exiting without finishing the runs (the next run marks them abandoned)");
        _exit(130);
      }
    }
  });

  log.info("inventory-fetch starting", {{"version", kFetchVersion},
                                        {"tenants", cl.jobs.size()},
                                        {"graph_url", s.graph_url},
                                        {"max_concurrency", s.max_concurrency},
                                        {"per_tenant_concurrency", s.per_tenant_concurrency},
                                        {"parallel_tenants", s.parallel_tenants}});

  MetricsRegistry metrics;
  std::vector<JobResult> results(cl.jobs.size());
  {
    CurlOptions copt;
    copt.ca_file = s.ca_file;
    copt.user_agent = std::string("inventory-fetch/") + kFetchVersion;
    CurlMultiTransport transport(copt);
    Clock& clock = SystemClock::instance();
    ThrottleGate gate(clock, s.max_concurrency, s.per_tenant_concurrency);
    GraphClientConfig gcfg;
    gcfg.retry.budget_s = s.request_budget_s;
    gcfg.retry.scale = s.retry_scale;
    gcfg.request_timeout_s = s.request_timeout_s;
    gcfg.connect_timeout_s = s.connect_timeout_s;
    std::mutex rng_mu;
    std::mt19937_64 rng(std::random_device{}());
    Uniform uniform = [&] {
      std::lock_guard<std::mutex> lock(rng_mu);
      return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
    };
    GraphClient client(transport, clock, gate, log, gcfg, uniform);
    Services services{client, log, clock, process_stop, metrics};
    const StoreFactory make_store = [&] { return std::make_unique<PgRunStore>(s.conninfo); };

    std::atomic<size_t> next{0};
    std::atomic<size_t> finished{0};
    std::vector<std::thread> workers;
    const size_t n_workers = std::min<size_t>(cl.jobs.size(), static_cast<size_t>(s.parallel_tenants));
    for (size_t w = 0; w < n_workers; ++w) {
      workers.emplace_back([&] {
        for (;;) {
          const size_t i = next.fetch_add(1);
          if (i >= cl.jobs.size()) return;
          try {
            results[i] = run_job(cl.jobs[i], s, services, make_store);
          } catch (const std::exception& e) {
            log.error("tenant run aborted", {{"tenant", cl.jobs[i].tenant}, {"detail", e.what()}});
            results[i].status = JobStatus::Failed;
          }
          ++finished;
        }
      });
    }
    std::thread progress;
    std::atomic<bool> jobs_done{false};
    if (log.progress_enabled()) {
      progress = std::thread([&] {
        while (!jobs_done.load()) {
          log.progress(progress_text(metrics, cl.jobs.size(), finished.load()));
          std::this_thread::sleep_for(std::chrono::milliseconds(250));
        }
      });
    }
    for (auto& t : workers) t.join();
    jobs_done = true;
    if (progress.joinable()) progress.join();
    log.end_progress();
    metrics.set_max_in_flight(gate.stats().global_max_in_flight);
  }

  if (!s.metrics_file.empty()) {
    std::string err;
    if (!metrics.write_file(s.metrics_file, err))
      log.error("cannot write the metrics file", {{"detail", err}});
  }
  const int rc = exit_code_for(results);
  size_t counts[5] = {0, 0, 0, 0, 0};
  for (const auto& r : results) ++counts[static_cast<int>(r.status)];
  log.info("inventory-fetch done", {{"succeeded", counts[0]},
                                    {"partial", counts[1]},
                                    {"failed", counts[2]},
                                    {"skipped", counts[3]},
                                    {"config_errors", counts[4]},
                                    {"exit_code", rc}});
  all_done = true;
  pthread_kill(signal_thread.native_handle(), SIGUSR1);
  signal_thread.join();
  return rc;
}
