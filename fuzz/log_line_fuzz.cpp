// libFuzzer target: operator log lines built from hostile values. Whatever
// the message and the field values (quotes, escapes, controls, C1, invalid
// UTF-8, redactor triggers, the process's own secret), a line is one line
// of printable ASCII; a JSON line is one valid object with ts, level, msg
// and exactly the fields given; the registered secret never appears.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "log.h"
#include "secret_sink.h"

namespace {

const std::string kSecret = "fuzzOpaqueSecret0123456789";

[[noreturn]] void fail(const char* what, const std::string& line) {
  std::fprintf(stderr, "log_line_fuzz: %s\n%s\n", what, line.c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool registered = [] {
    fetch::SecretRegistry::instance().add(kSecret, true);
    return true;
  }();
  (void)registered;
  // Input: msg \x00 value1 \x00 value2 (a secret marker '\x01' becomes the secret).
  std::string in(reinterpret_cast<const char*>(data), size);
  std::string parts[3];
  size_t k = 0;
  for (char c : in) {
    if (c == '\0' && k < 2) {
      ++k;
    } else if (c == '\x01') {
      parts[k] += kSecret;
    } else {
      parts[k] += c;
    }
  }
  for (fetch::LogFormat f : {fetch::LogFormat::Json, fetch::LogFormat::Text}) {
    std::string out;
    fetch::Logger log(f, fetch::LogLevel::Trace, [&](std::string_view s) { out += s; });
    log.error(parts[0], {{"link", parts[1]}, {"request_id", parts[2]}});
    if (out.empty() || out.back() != '\n') fail("no line", out);
    const std::string line = out.substr(0, out.size() - 1);
    for (char c : line) {
      const auto u = static_cast<unsigned char>(c);
      if (u < 0x20 || u >= 0x7f) fail("byte outside printable ASCII", line);
    }
    if (line.find(kSecret) != std::string::npos) fail("secret in the line", line);
    if (line.size() > 16384) fail("line longer than 16 KiB", line);
    if (f == fetch::LogFormat::Json) {
      const auto j = nlohmann::json::parse(line, nullptr, false);
      if (!j.is_object() || j.size() != 5 || !j.contains("ts") || j["level"] != "error" || !j["msg"].is_string() ||
          !j["link"].is_string() || !j["request_id"].is_string())
        fail("not the one JSON object expected", line);
    } else if (line.compare(24, 7, " ERROR ") != 0 || line.find(" link=") == std::string::npos) {
      fail("text line without its level or fields", line);
    }
  }
  return 0;
}
