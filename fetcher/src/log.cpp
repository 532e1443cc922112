#include "log.h"

#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cstdio>
#include <ctime>

#include "redact.h"
#include "secret_sink.h"

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

// Longest value of one field, and of the message, in characters.
constexpr size_t kMaxFieldChars = 1024;
constexpr size_t kMaxNestedChars = 256;
constexpr size_t kMaxDumpBytes = 4096;

// Every string inside a JSON value through the sink (before it is laid
// out), each with a cap.
nlohmann::json sink_json(const nlohmann::json& v, int depth = 0) {
  if (v.is_string()) return sink_text(v.get_ref<const std::string&>(), kMaxNestedChars);
  if (depth > 8 && (v.is_object() || v.is_array())) return "[...]";
  if (v.is_object()) {
    nlohmann::json o = nlohmann::json::object();
    size_t n = 0;
    for (auto it = v.begin(); it != v.end() && n < 64; ++it, ++n)
      o[sink_text(it.key(), 64)] = sink_json(it.value(), depth + 1);
    return o;
  }
  if (v.is_array()) {
    nlohmann::json a = nlohmann::json::array();
    size_t n = 0;
    for (auto it = v.begin(); it != v.end() && n < 64; ++it, ++n) a.push_back(sink_json(*it, depth + 1));
    return a;
  }
  return v;
}

// A field key: letters, digits, '_', '.', '-' only (after the sink), at
// most 64; the line's own keys cannot be taken by a field.
std::string safe_key(std::string_view key) {
  std::string k = sink_text(key, 64);
  for (char& c : k) {
    const auto u = static_cast<unsigned char>(c);
    if (!(std::isalnum(u) || c == '_' || c == '.' || c == '-')) c = '_';
  }
  if (k.empty()) k = "_";
  if (k == "ts" || k == "level" || k == "msg") k = "field_" + k;
  return k;
}

// The value of a field, through the sink, as JSON text that is pure
// printable ASCII (a JSON string literal for strings).
std::string json_value(const nlohmann::json& v) {
  if (v.is_string()) return "\"" + json_escape_ascii(sink_text(v.get_ref<const std::string&>(), kMaxFieldChars)) + "\"";
  std::string d = sink_json(v).dump(-1, ' ', true, nlohmann::json::error_handler_t::replace);
  if (d.size() > kMaxDumpBytes) {
    d = "\"" + json_escape_ascii(tinv::truncate_utf8(d, kMaxDumpBytes / 4)) + "\"";
  }
  return d;
}

// Text form: bare when printable ASCII without blanks, quotes, '=' or
// backslashes; else a JSON string literal (pure printable ASCII).
std::string text_value(const nlohmann::json& v) {
  if (!v.is_string()) return json_value(v);
  const std::string s = sink_text(v.get_ref<const std::string&>(), kMaxFieldChars);
  bool quote = s.empty();
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f || c == '"' || c == '=' || c == '\\') {
      quote = true;
      break;
    }
  }
  return quote ? "\"" + json_escape_ascii(s) + "\"" : s;
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
  // Every value goes through the sink (secrets out, then cut) before it is
  // escaped; nothing runs over the escaped line, so no value can forge or
  // erase another field, and a JSON line is always valid.
  if (format_ == LogFormat::Json) {
    std::string line = "{\"ts\":\"" + timestamp_ms() + "\",\"level\":\"" + log_level_name(l) + "\",\"msg\":\"" +
                       json_escape_ascii(sink_text(msg, kMaxFieldChars)) + "\"";
    for (const auto& [k, v] : fields) {
      line += ",\"";
      line += safe_key(k);
      line += "\":";
      line += json_value(v);
    }
    line += '}';
    return line;
  }
  std::string line = timestamp_ms();
  line += ' ';
  std::string lvl = log_level_name(l);
  for (auto& c : lvl) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  line += lvl;
  line += ' ';
  // The message: printable ASCII as it is (blanks included), else quoted.
  const std::string m = sink_text(msg, kMaxFieldChars);
  bool plain = !m.empty();
  for (char c : m) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7f || c == '"' || c == '=' || c == '\\') plain = false;
  }
  line += plain ? m : "\"" + json_escape_ascii(m) + "\"";
  for (const auto& [k, v] : fields) {
    line += ' ';
    line += safe_key(k);
    line += '=';
    line += text_value(v);
  }
  return line;
}

void Logger::log(LogLevel l, std::string_view msg, const LogFields& fields) {
  if (!enabled(l)) return;
  std::string line;
  try {
    line = format_line(l, msg, fields);
  } catch (const std::exception&) {
    line = "{\"level\":\"error\",\"msg\":\"log line could not be formatted\"}";
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
  std::string redacted = sink_text(line, 512);
  for (char& c : redacted) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) c = '?';
  }
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
