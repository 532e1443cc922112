// Every log line (text and JSON, any level) passes through redaction.
#include "log.h"

#include <gtest/gtest.h>

using namespace fetch;

namespace {

const char* kJwt =
    "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJ0aWQiOiJ0ZW5hbnQiLCJub25jZSI6IjEyMyJ9.QUJDREVGR0hJSktMTU5P";
const char* kSecret = "Kx8Q~abcdefghijklmnopqrstuvwxyz0123456789";

std::string capture(LogFormat f, const std::function<void(Logger&)>& body) {
  std::string out;
  Logger log(f, LogLevel::Trace, [&](std::string_view s) { out += s; });
  body(log);
  return out;
}

void expect_clean(const std::string& out) {
  EXPECT_EQ(out.find(kJwt), std::string::npos) << out;
  EXPECT_EQ(out.find("eyJ0eXAi"), std::string::npos) << out;
  EXPECT_EQ(out.find(kSecret), std::string::npos) << out;
  EXPECT_EQ(out.find("abcdefghijklmnopqrstuvwxyz0123456789"), std::string::npos) << out;
  EXPECT_EQ(out.find("hunter2"), std::string::npos) << out;
  EXPECT_EQ(out.find("SKIPTOKENVALUE"), std::string::npos) << out;
}

void log_everything(Logger& log) {
  const std::string jwt = kJwt;
  const std::string secret = kSecret;
  log.error("Authorization: Bearer " + jwt);
  log.warn("token " + jwt + " in the middle");
  log.info("form", {{"body", "grant_type=client_credentials&client_secret=" + secret + "&scope=x"}});
  log.debug("json", {{"response", "{\"access_token\":\"" + jwt + "\",\"expires_in\":3599}"}});
  log.log(LogLevel::Trace, "url", {{"url", "https://graph.microsoft.com/beta/x?$skiptoken=SKIPTOKENVALUE"}});
  log.info("db", {{"conninfo", "host=db password=hunter2 dbname=x"}});
  log.info("userinfo", {{"url", "postgresql://app:hunter2@db/inventory"}});
  log.info("nested", {{"obj", nlohmann::json{{"k", {"Bearer " + jwt}}}}});
  log.info(std::string("key ") + "client_secret", {{std::string("client_secret=") + secret, 1}});
}

}  // namespace

TEST(Log, TextLinesAreRedacted) {
  const std::string out = capture(LogFormat::Text, log_everything);
  expect_clean(out);
  EXPECT_NE(out.find("[REDACTED]"), std::string::npos);
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 9);
}

TEST(Log, JsonLinesAreRedactedAndValid) {
  const std::string out = capture(LogFormat::Json, log_everything);
  expect_clean(out);
  size_t start = 0, lines = 0;
  while (start < out.size()) {
    const size_t nl = out.find('\n', start);
    const std::string line = out.substr(start, nl - start);
    auto j = nlohmann::json::parse(line, nullptr, false);
    EXPECT_TRUE(j.is_object()) << line;
    EXPECT_TRUE(j.contains("ts") && j.contains("level") && j.contains("msg")) << line;
    ++lines;
    start = nl + 1;
  }
  EXPECT_EQ(lines, 9u);
}

TEST(Log, LevelFilter) {
  std::string out;
  Logger log(LogFormat::Text, LogLevel::Warn, [&](std::string_view s) { out += s; });
  log.info("hidden");
  log.debug("hidden");
  log.warn("shown");
  EXPECT_EQ(out.find("hidden"), std::string::npos);
  EXPECT_NE(out.find("WARN shown"), std::string::npos);
}

TEST(Log, MultiLineMessagesStayOneLine) {
  std::string out;
  Logger log(LogFormat::Text, LogLevel::Info, [&](std::string_view s) { out += s; });
  log.info("a\nb\r\nc", {{"k", "x\ny"}});
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1);
}

TEST(Log, ParseOptions) {
  LogLevel l;
  LogFormat f;
  EXPECT_TRUE(parse_log_level("debug", l));
  EXPECT_EQ(l, LogLevel::Debug);
  EXPECT_FALSE(parse_log_level("loud", l));
  EXPECT_TRUE(parse_log_format("json", f));
  EXPECT_EQ(f, LogFormat::Json);
  EXPECT_FALSE(parse_log_format("xml", f));
}
