// The one sink every string leaving the process passes (log lines of every
// level and format, metrics labels, errors stored with the run): the
// process's own secrets (client secrets, access tokens, client assertions)
// are cut out verbatim, in every form they could come back in (raw, URL-
// and JSON-escaped), before anything is cut, redacted by pattern or
// escaped. A server that echoes a secret in a header or a body, whatever
// its shape, gets [REDACTED] in its place.
#pragma once

#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace fetch {

class SecretRegistry {
 public:
  // Values shorter than this are not registered (they would mask ordinary
  // words); credentials shorter than it are refused where they are loaded.
  static constexpr size_t kMinLength = 8;
  // At most this many values are remembered; the oldest non-permanent ones
  // (tokens, assertions) go first.
  static constexpr size_t kMaxValues = 4096;

  // The process-wide registry.
  static SecretRegistry& instance();

  // Registers `value` and its escaped forms. `permanent`: client secrets
  // (never evicted); tokens and assertions are not.
  void add(std::string_view value, bool permanent = false);
  // Forgets everything (tests).
  void clear();
  size_t size() const;

  // Replaces every occurrence of a registered value in `text` with
  // [REDACTED]. Returns the number of replacements.
  size_t scrub(std::string& text) const;
  // True when `tail` (the end of a cut text) is the beginning of a
  // registered value (at least 4 characters of it).
  size_t partial_tail(std::string_view text) const;
  // Longest registered value (bytes).
  size_t max_length() const;

  ~SecretRegistry();

 private:
  struct Entry {
    std::string value;
    bool permanent;
  };
  void add_one(std::string value, bool permanent);
  mutable std::mutex mu_;
  std::vector<Entry> values_;
  size_t max_len_ = 0;
};

// The sink: known secrets out (over the whole text, before any cut), then
// the pattern redactor (tinv::redact_secrets), then NUL bytes dropped, then
// cut to `max_chars` UTF-8 characters; a cut that ends in the beginning of
// a known secret loses that beginning too. Never throws on any bytes.
std::string sink_text(std::string_view text, size_t max_chars);

// Escapes for log output: every byte that is not printable ASCII (C0, DEL,
// C1 and all non-ASCII, invalid UTF-8 included) becomes a JSON escape
// (\n, \t, \uXXXX; invalid bytes U+FFFD), and '"' and '\' are escaped.
// The result is the inside of a JSON string literal, pure printable ASCII.
std::string json_escape_ascii(std::string_view text);

// Percent-encoding of every byte outside [A-Za-z0-9-._~] with upper- or
// lowercase hex.
std::string percent_encode(std::string_view text, bool upper);

// No core file and no ptrace or /proc/<pid>/mem access for other users:
// PR_SET_DUMPABLE 0 and RLIMIT_CORE 0, for the whole life of the process
// (secrets are read at start-up). Returns false if either call failed.
bool harden_process();

}  // namespace fetch
