// Operator log: text or JSON lines on stderr, a level filter, and a progress
// line when stderr is a terminal. Every value of every line passes the
// secret sink (secret_sink.h: the process's own secrets out, then the
// pattern redactor, then a length cap) before it is escaped, whatever the
// level; lines are pure printable ASCII, and JSON lines always parse.
#pragma once

#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fetch {

enum class LogLevel { Error = 0, Warn = 1, Info = 2, Debug = 3, Trace = 4 };
enum class LogFormat { Text, Json };

bool parse_log_level(std::string_view s, LogLevel& out);
bool parse_log_format(std::string_view s, LogFormat& out);
const char* log_level_name(LogLevel l);

// Ordered key/value pairs attached to a line.
using LogFields = std::vector<std::pair<std::string, nlohmann::json>>;

class Logger {
 public:
  using Sink = std::function<void(std::string_view)>;  // receives whole chunks

  // Writes to stderr; `progress` enables the terminal progress line.
  Logger(LogFormat format, LogLevel level, bool progress);
  // Writes to `sink` (tests); no progress line.
  Logger(LogFormat format, LogLevel level, Sink sink);

  bool enabled(LogLevel l) const { return static_cast<int>(l) <= static_cast<int>(level_); }
  void log(LogLevel l, std::string_view msg, const LogFields& fields = {});
  void error(std::string_view msg, const LogFields& f = {}) { log(LogLevel::Error, msg, f); }
  void warn(std::string_view msg, const LogFields& f = {}) { log(LogLevel::Warn, msg, f); }
  void info(std::string_view msg, const LogFields& f = {}) { log(LogLevel::Info, msg, f); }
  void debug(std::string_view msg, const LogFields& f = {}) { log(LogLevel::Debug, msg, f); }

  bool progress_enabled() const { return progress_; }
  // Replaces the progress line (no-op without a terminal).
  void progress(std::string_view line);
  // Clears the progress line (at exit).
  void end_progress();

  // The formatted line for `msg` and `fields` (exposed for tests of the
  // format), without the newline.
  std::string format_line(LogLevel l, std::string_view msg, const LogFields& fields) const;

 private:
  void write(std::string_view chunk);

  LogFormat format_;
  LogLevel level_;
  bool progress_ = false;
  Sink sink_;
  std::mutex mu_;
  std::string progress_line_;
};

}  // namespace fetch
