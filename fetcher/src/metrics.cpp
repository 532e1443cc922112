#include "metrics.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>
#include <fstream>
#include <sstream>

#include "secret_sink.h"

namespace fetch {

void RunMetrics::add_error(const std::string& code) {
  std::lock_guard<std::mutex> lock(mu_);
  ++errors_[code];
}

void RunMetrics::set_current_type(const std::string& type, bool active) {
  std::lock_guard<std::mutex> lock(mu_);
  if (active) {
    ++active_types_[type];
  } else if (--active_types_[type] <= 0) {
    active_types_.erase(type);
  }
}

void RunMetrics::finish(const std::string& status, double duration_s, long long run_id, double end_unix) {
  std::lock_guard<std::mutex> lock(mu_);
  status_ = status;
  duration_s_ = duration_s;
  run_id_ = run_id;
  end_unix_ = end_unix;
}

std::map<std::string, long> RunMetrics::errors() const {
  std::lock_guard<std::mutex> lock(mu_);
  return errors_;
}
std::vector<std::string> RunMetrics::current_types() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> out;
  for (const auto& [t, n] : active_types_) out.push_back(t);
  return out;
}
std::string RunMetrics::status() const {
  std::lock_guard<std::mutex> lock(mu_);
  return status_;
}
double RunMetrics::duration_s() const {
  std::lock_guard<std::mutex> lock(mu_);
  return duration_s_;
}
long long RunMetrics::run_id() const {
  std::lock_guard<std::mutex> lock(mu_);
  return run_id_;
}
double RunMetrics::end_unix() const {
  std::lock_guard<std::mutex> lock(mu_);
  return end_unix_;
}

std::shared_ptr<RunMetrics> MetricsRegistry::add_run(const std::string& tenant,
                                                     const std::string& selection) {
  auto m = std::make_shared<RunMetrics>();
  m->tenant = tenant;
  m->selection = selection;
  std::lock_guard<std::mutex> lock(mu_);
  runs_.push_back(m);
  return m;
}

std::vector<std::shared_ptr<RunMetrics>> MetricsRegistry::runs() const {
  std::lock_guard<std::mutex> lock(mu_);
  return runs_;
}

std::string prom_label_escape(const std::string& raw) {
  // Through the sink first (secrets out, cut), then escaped; other control
  // bytes become '?' so a label can never end the line.
  const std::string v = sink_text(raw, 256);
  std::string out;
  for (char c : v) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else if (u < 0x20 || u == 0x7f)
      out += '?';
    else
      out += c;
  }
  return out;
}

namespace {

std::string labels(const RunMetrics& m, const std::string& extra = {}) {
  std::string s =
      "{tenant=\"" + prom_label_escape(m.tenant) + "\",selection=\"" + prom_label_escape(m.selection) + "\"";
  if (!extra.empty()) s += "," + extra;
  return s + "}";
}

std::string num(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

}  // namespace

std::string MetricsRegistry::render() const {
  const auto all = runs();
  std::ostringstream o;
  auto counter = [&](const char* name, const char* help, const char* type, auto get) {
    o << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n';
    for (const auto& m : all) o << name << labels(*m) << ' ' << get(*m) << '\n';
  };
  counter("inventory_fetch_items_total", "Items observed (staged) by the run.", "counter",
          [](const RunMetrics& m) { return m.items.load(); });
  counter("inventory_fetch_pages_total", "Graph pages read by the run.", "counter",
          [](const RunMetrics& m) { return m.pages.load(); });
  counter("inventory_fetch_requests_total", "HTTP requests sent to Graph and the login endpoint.", "counter",
          [](const RunMetrics& m) { return m.requests.load(); });
  counter("inventory_fetch_retries_total", "Requests repeated after a retryable failure.", "counter",
          [](const RunMetrics& m) { return m.retries.load(); });
  counter("inventory_fetch_throttled_total", "Responses with HTTP 429.", "counter",
          [](const RunMetrics& m) { return m.throttled.load(); });
  counter("inventory_fetch_token_requests_total", "Access token requests.", "counter",
          [](const RunMetrics& m) { return m.token_requests.load(); });
  counter("inventory_fetch_verify_candidates_total",
          "Items a complete listing would have made absent, asked for one by one.", "counter",
          [](const RunMetrics& m) { return m.verify_candidates.load(); });
  o << "# HELP inventory_fetch_verifications_total Answers to the absence checks: deleted (404), present "
       "(2xx: the listing left the item out), error (no verdict).\n"
       "# TYPE inventory_fetch_verifications_total counter\n";
  for (const auto& m : all) {
    o << "inventory_fetch_verifications_total" << labels(*m, "result=\"deleted\"") << ' '
      << m->verify_deleted.load() << '\n';
    o << "inventory_fetch_verifications_total" << labels(*m, "result=\"present\"") << ' '
      << m->verify_present.load() << '\n';
    o << "inventory_fetch_verifications_total" << labels(*m, "result=\"error\"") << ' '
      << m->verify_errors.load() << '\n';
  }
  counter("inventory_fetch_run_duration_seconds", "Wall time of the run.", "gauge",
          [](const RunMetrics& m) { return num(m.duration_s()); });
  counter("inventory_fetch_run_id", "Id of the run in inventory.inventory_sync_runs (0: none).", "gauge",
          [](const RunMetrics& m) { return m.run_id(); });
  counter("inventory_fetch_run_end_timestamp_seconds", "Unix time the run ended.", "gauge",
          [](const RunMetrics& m) { return num(m.end_unix()); });

  o << "# HELP inventory_fetch_run_status Outcome of the run (1 for the current status).\n"
       "# TYPE inventory_fetch_run_status gauge\n";
  for (const auto& m : all) {
    const std::string st = m->status();
    for (const char* s : {"succeeded", "partial", "failed", "skipped", "running"}) {
      o << "inventory_fetch_run_status" << labels(*m, std::string("status=\"") + s + "\"") << ' '
        << (st == s ? 1 : 0) << '\n';
    }
  }
  o << "# HELP inventory_fetch_errors_total Errors recorded by the run, by code.\n"
       "# TYPE inventory_fetch_errors_total counter\n";
  for (const auto& m : all) {
    for (const auto& [code, n] : m->errors()) {
      o << "inventory_fetch_errors_total" << labels(*m, "code=\"" + prom_label_escape(code) + "\"") << ' '
        << n << '\n';
    }
  }
  o << "# HELP inventory_fetch_max_in_flight Highest number of requests in flight at once.\n"
       "# TYPE inventory_fetch_max_in_flight gauge\n"
    << "inventory_fetch_max_in_flight " << max_in_flight_.load() << '\n';
  return o.str();
}

bool MetricsRegistry::write_file(const std::string& path, std::string& err) const {
  // A fresh file with an unpredictable name in the target's directory
  // (mkstemp: O_CREAT|O_EXCL, so no symlink or existing file is ever
  // opened), then rename over the target: a symlink at the target is
  // replaced, never followed.
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  const std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  if (base.empty()) {
    err = "the metrics file name is empty";
    return false;
  }
  std::string tmpl = (dir == "/" ? "" : dir) + "/." + base + ".XXXXXX";
  std::vector<char> name(tmpl.begin(), tmpl.end());
  name.push_back('\0');
  const int fd = ::mkstemp(name.data());
  if (fd < 0) {
    err = "cannot create a temporary file in " + dir + ": " + std::strerror(errno);
    return false;
  }
  const std::string tmp(name.data());
  auto give_up = [&](const std::string& what) {
    err = what;
    ::close(fd);
    ::unlink(tmp.c_str());
    return false;
  };
  // Readable by the collector (node_exporter runs as another user).
  if (::fchmod(fd, 0644) != 0) return give_up("cannot set the mode of " + tmp);
  const std::string text = render();
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return give_up("write to " + tmp + " failed");
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) return give_up("fsync of " + tmp + " failed");
  if (::close(fd) != 0) {
    ::unlink(tmp.c_str());
    err = "close of " + tmp + " failed";
    return false;
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    err = "cannot rename " + tmp + " to " + path + ": " + std::strerror(errno);
    ::unlink(tmp.c_str());
    return false;
  }
  return true;
}

}  // namespace fetch
