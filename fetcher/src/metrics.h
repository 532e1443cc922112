// Counters per tenant run, shown on the progress line and written to
// --metrics-file in the Prometheus text exposition format (atomically, so
// a node_exporter textfile collector never reads half a file).
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace fetch {

struct RunMetrics {
  std::string tenant;
  std::string selection;  // first 12 hex chars of the selection hash
  std::atomic<long> items{0};
  std::atomic<long> pages{0};
  std::atomic<long> requests{0};
  std::atomic<long> retries{0};
  std::atomic<long> throttled{0};
  std::atomic<long> token_requests{0};
  // Absence checks of complete types (single-object GETs): items asked
  // for, and their answers: 404 (deletion verified), 2xx (the listing left
  // out an existing item), anything else (no verdict).
  std::atomic<long> verify_candidates{0};
  std::atomic<long> verify_deleted{0};
  std::atomic<long> verify_present{0};
  std::atomic<long> verify_errors{0};
  std::atomic<int> types_total{0};
  std::atomic<int> types_done{0};

  void add_error(const std::string& code);
  void set_current_type(const std::string& type, bool active);
  void finish(const std::string& status, double duration_s, long long run_id, double end_unix);

  // Snapshot for output.
  std::map<std::string, long> errors() const;
  std::vector<std::string> current_types() const;
  std::string status() const;
  double duration_s() const;
  long long run_id() const;
  double end_unix() const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, long> errors_;
  std::map<std::string, int> active_types_;
  std::string status_ = "running";
  double duration_s_ = 0;
  long long run_id_ = 0;
  double end_unix_ = 0;
};

class MetricsRegistry {
 public:
  std::shared_ptr<RunMetrics> add_run(const std::string& tenant, const std::string& selection);
  std::vector<std::shared_ptr<RunMetrics>> runs() const;
  void set_max_in_flight(int n) { max_in_flight_ = n; }

  // The whole exposition text.
  std::string render() const;
  // Writes render() to `path` via a temporary file and rename. Returns false
  // (and sets `err`) on failure.
  bool write_file(const std::string& path, std::string& err) const;

 private:
  mutable std::mutex mu_;
  std::vector<std::shared_ptr<RunMetrics>> runs_;
  std::atomic<int> max_in_flight_{0};
};

// Escapes a Prometheus label value (backslash, quote, newline).
std::string prom_label_escape(const std::string& v);

}  // namespace fetch
