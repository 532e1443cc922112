#include "log.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>

#include "redact.h"

namespace fetch {

bool parse_log_level(std::string_view s, LogLevel& out) {
  if (s == "error")
    out = LogLevel::Error;
  else if (s == "warn" || s == "warning")
    out = LogLevel::Warn;
  else if (s == "info")
    out = LogLevel::Info;
  else if (s == "debug")
    out = LogLevel::Debug;
  else if (s == "trace")
    out = LogLevel::Trace;
  else
    return false;
  return true;
}

bool parse_log_format(std::string_view s, LogFormat& out) {
  if (s == "text")
    out = LogFormat::Text;
  else if (s == "json")
    out = LogFormat::Json;
  else
    return false;
  return true;
}

const char* log_level_name(LogLevel l) {
  switch (l) {
    case LogLevel::Error:
      return "error";
    case LogLevel::Warn:
      return "warn";
    case LogLevel::Info:
      return "info";
    case LogLevel::Debug:
      return "debug";
    case LogLevel::Trace:
      return "trace";
  }
  return "info";
}

namespace {

std::string timestamp_ms() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[48];
  std::snprintf(out, sizeof out, "%s.%03dZ", buf, static_cast<int>(ms));
  return out;
}

std::string dump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// Text form of a field value: strings bare unless they need quoting.
std::string text_value(const nlohmann::json& v) {
  if (!v.is_string()) return dump(v);
  const auto& s = v.get_ref<const std::string&>();
  bool quote = s.empty();
  for (char c : s) {
    if (c == ' ' || c == '"' || c == '=' || static_cast<unsigned char>(c) < 0x20) {
      quote = true;
      break;
    }
  }
  return quote ? dump(v) : s;
}

// Redacts every string inside a JSON value (before it is laid out).
nlohmann::json redact_json(const nlohmann::json& v) {
  if (v.is_string()) return tinv::redact_secrets(v.get_ref<const std::string&>());
  if (v.is_object()) {
    nlohmann::json o = nlohmann::json::object();
    for (auto it = v.begin(); it != v.end(); ++it)
      o[tinv::redact_secrets(it.key())] = redact_json(it.value());
    return o;
  }
  if (v.is_array()) {
    nlohmann::json a = nlohmann::json::array();
    for (const auto& e : v) a.push_back(redact_json(e));
    return a;
  }
  return v;
}

}  // namespace

Logger::Logger(LogFormat format, LogLevel level, bool progress)
    : format_(format), level_(level), progress_(progress && isatty(STDERR_FILENO) == 1) {
  sink_ = [](std::string_view chunk) {
    std::fwrite(chunk.data(), 1, chunk.size(), stderr);
    std::fflush(stderr);
  };
}

Logger::Logger(LogFormat format, LogLevel level, Sink sink)
    : format_(format), level_(level), progress_(false), sink_(std::move(sink)) {}

std::string Logger::format_line(LogLevel l, std::string_view msg, const LogFields& fields) const {
  if (format_ == LogFormat::Json) {
    nlohmann::json j = nlohmann::json::object();
    j["ts"] = timestamp_ms();
    j["level"] = log_level_name(l);
    j["msg"] = tinv::redact_secrets(msg);
    for (const auto& [k, v] : fields) j[k] = redact_json(v);
    return dump(j);
  }
  std::string line = timestamp_ms();
  line += ' ';
  std::string lvl = log_level_name(l);
  for (auto& c : lvl) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  line += lvl;
  line += ' ';
  line += msg;
  for (const auto& [k, v] : fields) {
    line += ' ';
    line += k;
    line += '=';
    line += text_value(v);
  }
  return line;
}

void Logger::log(LogLevel l, std::string_view msg, const LogFields& fields) {
  if (!enabled(l)) return;
  std::string line = tinv::redact_secrets(format_line(l, msg, fields));
  // One line per record, whatever the message contained.
  for (char& c : line) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  line += '\n';
  std::lock_guard<std::mutex> lock(mu_);
  if (progress_ && !progress_line_.empty()) {
    write("\r\033[K" + line + progress_line_);
  } else {
    write(line);
  }
}

void Logger::progress(std::string_view line) {
  if (!progress_) return;
  std::string redacted = tinv::redact_secrets(line);
  std::lock_guard<std::mutex> lock(mu_);
  progress_line_ = redacted;
  write("\r\033[K" + progress_line_);
}

void Logger::end_progress() {
  if (!progress_) return;
  std::lock_guard<std::mutex> lock(mu_);
  if (!progress_line_.empty()) write("\r\033[K");
  progress_line_.clear();
}

void Logger::write(std::string_view chunk) { sink_(chunk); }

}  // namespace fetch
