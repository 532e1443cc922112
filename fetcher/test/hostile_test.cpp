// A hostile upstream and hostile neighbours, at the unit level: the secret
// sink, unforgeable log lines (with a deterministic randomized run), pages
// read without a tree of the body, strict loopback, safe files, tokens and
// usage errors that echo nothing.
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <random>
#include <thread>

#include "bounded_queue.h"
#include "cli.h"
#include "config.h"
#include "credentials.h"
#include "error_record.h"
#include "graph_client.h"
#include "graph_error.h"
#include "log.h"
#include "metrics.h"
#include "page_parser.h"
#include "secret_sink.h"

using namespace fetch;

namespace {

// An opaque secret and token: no shape the pattern redactor knows.
const std::string kSecret = "opaqueSecretValue0123456789abcdefXYZ";
const std::string kToken = "opaqueTokenValue9876543210fedcba+/==";

struct Registered {
  Registered() {
    SecretRegistry::instance().clear();
    SecretRegistry::instance().add(kSecret, true);
    SecretRegistry::instance().add(kToken);
  }
  ~Registered() { SecretRegistry::instance().clear(); }
};

bool holds_part_of(const std::string& text, const std::string& secret, size_t part = 8) {
  for (size_t i = 0; i + part <= secret.size(); ++i) {
    if (text.find(secret.substr(i, part)) != std::string::npos) return true;
  }
  return false;
}

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/tinv-hostile-test.XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { std::system(("rm -rf '" + path + "'").c_str()); }
};

}  // namespace

// ---------------------------------------------------------------- the sink

TEST(SecretSink, RemovesRegisteredValuesInEveryForm) {
  Registered r;
  const std::string forms[] = {kToken, percent_encode(kToken, true), percent_encode(kToken, false),
                               "opaqueTokenValue9876543210fedcba+\\/=="};
  for (const auto& f : forms) {
    const std::string out = sink_text("request-id: rid-" + f + " end", 512);
    EXPECT_FALSE(holds_part_of(out, kToken, 12)) << out;
    EXPECT_NE(out.find("rid-[REDACTED] end"), std::string::npos) << out;
  }
  EXPECT_EQ(sink_text("x" + kSecret + "y", 512), "x[REDACTED]y");
}

TEST(SecretSink, ScrubsBeforeTheCut) {
  Registered r;
  // The secret straddles the cut: none of it may remain.
  for (size_t before = 480; before < 512; ++before) {
    const std::string out = sink_text(std::string(before, 'a') + kSecret + std::string(100, 'b'), 512);
    EXPECT_FALSE(holds_part_of(out, kSecret, 4)) << before << ": " << out;
  }
  // ... also with multi-byte characters and a secret at the 1,024th byte.
  std::string body;
  for (int i = 0; i < 328; ++i) body += "\xE2\x82\xAC";
  body += "x" + kSecret + " tail";
  const std::string out = safe_message("token request failed: HTTP 500: " + body);
  EXPECT_FALSE(holds_part_of(out, kSecret, 4)) << out;
  EXPECT_NE(out.find("x[REDACTED] tail"), std::string::npos);
}

TEST(SecretSink, PartialSecretAtTheWindowEdgeIsMasked) {
  Registered r;
  // Longer than the window: the beginning of the secret at the cut goes.
  const std::string text = std::string(20, 'a') + kSecret.substr(0, 10);
  const std::string out = sink_text(text, 25);
  EXPECT_FALSE(holds_part_of(out, kSecret, 4)) << out;
}

TEST(SecretSink, HugeInputsAreCutQuickly) {
  Registered r;
  const std::string big(50u << 20, 'p');
  EXPECT_EQ(sink_text(big, 1024).size(), 1024u);
}

TEST(SecretSink, AsciiEscaping) {
  EXPECT_EQ(json_escape_ascii("a\"b\\c\n\x01\x7f"), "a\\\"b\\\\c\\n\\u0001\\u007f");
  EXPECT_EQ(json_escape_ascii("\xC2\x9B"), "\\u009b");  // C1 CSI
  EXPECT_EQ(json_escape_ascii("\xE2\x80\xA8"), "\\u2028");
  EXPECT_EQ(json_escape_ascii("\xF0\x9F\x98\x80"), "\\ud83d\\ude00");
  EXPECT_EQ(json_escape_ascii("\xff\xc0\x80"), "\\ufffd\\ufffd\\ufffd");
  EXPECT_EQ(json_escape_ascii("\xED\xA0\x80"), "\\ufffd\\ufffd\\ufffd");  // a surrogate
}

TEST(SecretSink, HardenProcess) {
  EXPECT_TRUE(harden_process());
  EXPECT_EQ(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 0);
  prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);  // the test runner may need it back
}

// ---------------------------------------------------------------- log lines

namespace {

// The pieces hostile values are made of: quotes, escapes, field-like text,
// controls, C1, invalid UTF-8, redactor triggers, the secret and the token.
std::string random_value(std::mt19937& rng) {
  static const std::vector<std::string> parts = {
      "\"", "\\", "\\\"", " ", "=", " level=ERROR ", "\",\"level\":\"error\",\"x\":\"", "password=", "$skiptoken=",
      "Authorization:'", "Authorization: Bearer ", "client_secret=", "sig=", "\n", "\r", "\t", "\x01", "\x1b[2J",
      "\xC2\x9B", "\xE2\x80\xA8", "\xff", "\xc3", "\xF0\x9F\x98", "}", "{", "[", "'", "&", "%22", "%3D", "\\u0022",
      "eyJhbGciOiJIUzI1NiJ9", ".", "abc", "ts", "msg", kSecret, kToken, kSecret.substr(0, 10), "\x00"};
  std::uniform_int_distribution<size_t> pick(0, parts.size() - 1);
  std::uniform_int_distribution<int> len(0, 24);
  std::string out;
  const int n = len(rng);
  for (int i = 0; i < n; ++i) {
    const std::string& p = parts[pick(rng)];
    out += p.empty() ? std::string(1, '\0') : p;
  }
  return out;
}

bool printable_ascii(const std::string& s) {
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7f) return false;
  }
  return true;
}

}  // namespace

TEST(LogLines, RandomHostileValuesNeverBreakOrForgeALine) {
  Registered r;
  std::mt19937 rng(20261126);
  for (int round = 0; round < 3000; ++round) {
    const std::string msg = random_value(rng);
    const std::string v1 = random_value(rng), v2 = random_value(rng);
    for (LogFormat f : {LogFormat::Json, LogFormat::Text}) {
      std::string out;
      Logger log(f, LogLevel::Trace, [&](std::string_view s) { out += s; });
      log.warn(msg, {{"link", v1}, {"request_id", v2}, {"n", round}});
      ASSERT_FALSE(out.empty());
      ASSERT_EQ(out.back(), '\n');
      const std::string line = out.substr(0, out.size() - 1);
      ASSERT_TRUE(printable_ascii(line)) << line;
      ASSERT_EQ(line.find(kSecret), std::string::npos) << line;
      ASSERT_EQ(line.find(kToken), std::string::npos) << line;
      if (f == LogFormat::Json) {
        auto j = nlohmann::json::parse(line, nullptr, false);
        ASSERT_TRUE(j.is_object()) << line;
        ASSERT_EQ(j["level"], "warn") << line;
        ASSERT_TRUE(j["ts"].is_string() && j["msg"].is_string()) << line;
        ASSERT_EQ(j.size(), 6u) << line;  // ts level msg link request_id n
        ASSERT_EQ(j["n"], round);
      } else {
        // "<ts> WARN " then the rest; the level appears once, and every
        // value is bare or a JSON string that parses.
        ASSERT_EQ(line.find(" WARN "), 24u) << line;
        const size_t link = line.find(" link=");
        ASSERT_NE(link, std::string::npos) << line;
        std::string rest = line.substr(link + 1);
        for (const char* key : {"link=", "request_id=", "n="}) {
          ASSERT_EQ(rest.rfind(key, 0), 0u) << line;
          rest = rest.substr(std::strlen(key));
          size_t end;
          if (!rest.empty() && rest[0] == '"') {
            end = 1;
            while (end < rest.size() && rest[end] != '"') end += rest[end] == '\\' ? 2 : 1;
            ++end;
            ASSERT_TRUE(nlohmann::json::parse(rest.substr(0, end), nullptr, false).is_string()) << line;
          } else {
            end = rest.find(' ');
            if (end == std::string::npos) end = rest.size();
            ASSERT_EQ(rest.substr(0, end).find_first_of("\"=\\"), std::string::npos) << line;
          }
          rest = end < rest.size() ? rest.substr(end + 1) : std::string();
        }
        ASSERT_EQ(rest, "") << line;
      }
    }
  }
}

TEST(LogLines, EveryValueIsCapped) {
  std::string out;
  Logger log(LogFormat::Json, LogLevel::Info, [&](std::string_view s) { out += s; });
  log.warn(std::string(100000, 'm'), {{"link", std::string(50u << 20, 'l')}});
  EXPECT_LT(out.size(), 4096u);
  EXPECT_TRUE(nlohmann::json::parse(out).is_object());
}

// ---------------------------------------------------------------- pages

TEST(PageParser, ItemsAreThoseOfTheTree) {
  const std::string body =
      R"({"@odata.context":"x","value":[{"id":"a","n":{"deep":[1,2,{"k":null}]},"dup":1,"dup":2},"str",null,[1,[2]],{"id":"b","x@odata.type":"#y","f":1.5e3,"u":18446744073709551615,"i":-3}],"@odata.nextLink":"https://graph.microsoft.com/beta/x?$skiptoken=1"})";
  PageScan s = scan_page(body);
  ASSERT_EQ(s.status, PageStatus::Ok) << s.error;
  EXPECT_EQ(s.items, 5u);
  EXPECT_TRUE(s.has_next);
  EXPECT_EQ(s.next_link, "https://graph.microsoft.com/beta/x?$skiptoken=1");
  std::vector<nlohmann::json> items;
  ASSERT_TRUE(for_each_item(body, [&](nlohmann::json&& j) {
    items.push_back(std::move(j));
    return true;
  }));
  const auto tree = nlohmann::json::parse(body)["value"];
  ASSERT_EQ(items.size(), tree.size());
  for (size_t i = 0; i < items.size(); ++i) EXPECT_EQ(items[i], tree[i]) << i;
}

TEST(PageParser, StatusesAndCaps) {
  EXPECT_EQ(scan_page("{\"value\":[1,2").status, PageStatus::Syntax);
  EXPECT_EQ(scan_page("[1]").status, PageStatus::NotObject);
  EXPECT_EQ(scan_page("{\"value\":{}}").status, PageStatus::NoValueArray);
  EXPECT_EQ(scan_page("{\"x\":[]}").status, PageStatus::NoValueArray);
  EXPECT_EQ(scan_page("{\"value\":[],\"value\":[]}").status, PageStatus::DuplicateKey);
  // Invalid JSON after a duplicate key is invalid JSON (retried like any).
  EXPECT_EQ(scan_page("{\"value\":[],\"value\":[] x}").status, PageStatus::Syntax);
  EXPECT_EQ(scan_page("{\"value\":[{\"x\":1e400}]}").status, PageStatus::Syntax);
  EXPECT_EQ(scan_page(std::string("{\"value\":[\"a\xff\"]}")).status, PageStatus::Syntax);
  PageScan n = scan_page("{\"value\":[],\"@odata.nextLink\":12}");
  EXPECT_TRUE(n.has_next && n.next_not_string);
  EXPECT_FALSE(scan_page("{\"value\":[],\"@odata.nextLink\":null}").has_next);
  PageLimits lim;
  lim.max_items = 3;
  lim.max_item_values = 5;
  lim.max_next_link_bytes = 4;
  EXPECT_EQ(scan_page("{\"value\":[1,2,3]}", lim).status, PageStatus::Ok);
  EXPECT_EQ(scan_page("{\"value\":[1,2,3,{}]}", lim).status, PageStatus::TooManyItems);
  EXPECT_EQ(scan_page("{\"value\":[{\"a\":[1,2]}]}", lim).status, PageStatus::Ok);
  EXPECT_EQ(scan_page("{\"value\":[{\"a\":[1,2,3]}]}", lim).status, PageStatus::ItemTooLarge);
  PageScan l = scan_page("{\"value\":[],\"@odata.nextLink\":\"https://x\"}", lim);
  EXPECT_TRUE(l.has_next && l.next_too_long);
}

TEST(PageParser, FiveMillionItemsStopAtTheCapWithoutATree) {
  std::string body = "{\"value\":[";
  body.reserve(55u << 20);
  for (int i = 0; i < 5000000; ++i) body += i ? ",{\"id\":\"a\"}" : "{\"id\":\"a\"}";
  body += "]}";
  PageScan s = scan_page(body);
  EXPECT_EQ(s.status, PageStatus::TooManyItems);
  EXPECT_EQ(s.items, PageLimits().max_items + 1);
}

// ---------------------------------------------------------------- loopback

TEST(Loopback, DecidedOnTheParsedHost) {
  for (const char* h : {"localhost", "127.0.0.1", "127.255.0.9", "[::1]", "[0:0:0:0:0:0:0:1]"})
    EXPECT_TRUE(is_loopback_host(h)) << h;
  for (const char* h : {"127.attacker.example", "127.0.0.1.attacker.example", "localhost.attacker.example",
                        "127.1", "2130706433", "0x7f.0.0.1", "[::ffff:127.0.0.1]", "[::2]", "128.0.0.1",
                        "localhost.", "127.0.0.01"})
    EXPECT_FALSE(is_loopback_host(h)) << h;
  Settings s;
  s.login_url = "http://127.attacker.example";
  EXPECT_THROW(validate_settings(s), ConfigError);
  s.login_url = "http://127.0.0.1:8080";
  s.graph_url = "http://[::1]:8080";
  EXPECT_NO_THROW(validate_settings(s));
}

// ---------------------------------------------------------------- tokens

TEST(Tokens, OnlyRfc6750Characters) {
  EXPECT_TRUE(is_b64token("abc.DEF-_~+/123=="));
  EXPECT_TRUE(is_b64token("eyJ0eXAiOiJKV1QifQ.eyJ0aWQiOiJ4In0.c2ln"));
  for (const std::string& bad : {std::string("a\r\nX-Injected: 1"), std::string("a b"), std::string("a\"b"),
                                std::string(""), std::string("==abc"), std::string("ab=c"),
                                std::string("a\0b", 3), std::string(kMaxTokenBytes + 1, 'a')})
    EXPECT_FALSE(is_b64token(bad)) << bad;
}

// ---------------------------------------------------------------- files

TEST(Files, MetricsNeverFollowASymlink) {
  TempDir d;
  const std::string victim = d.path + "/victim", target = d.path + "/x.prom";
  std::ofstream(victim) << "precious\n";
  ASSERT_EQ(symlink(victim.c_str(), (target + ".tmp").c_str()), 0);
  ASSERT_EQ(symlink(victim.c_str(), target.c_str()), 0);
  MetricsRegistry m;
  m.add_run("t", "s");
  std::string err;
  ASSERT_TRUE(m.write_file(target, err)) << err;
  std::ifstream in(victim);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text, "precious\n");
  struct stat st {};
  ASSERT_EQ(lstat(target.c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0644u);
}

TEST(Files, SecretFileChecks) {
  TempDir d;
  EXPECT_THROW(read_secret_file("/dev/zero"), CredentialError);
  const std::string big = d.path + "/big";
  std::ofstream(big) << std::string(kMaxSecretFileBytes + 1, 's');
  EXPECT_THROW(read_secret_file(big), CredentialError);
  const std::string loose = d.path + "/loose";
  std::ofstream(loose) << "a-secret-value\n";
  chmod(loose.c_str(), 0644);
  bool is_loose = false;
  EXPECT_EQ(read_secret_file(loose, &is_loose).reveal(), "a-secret-value");
  EXPECT_TRUE(is_loose);
  chmod(loose.c_str(), 0600);
  read_secret_file(loose, &is_loose);
  EXPECT_FALSE(is_loose);
}

// ---------------------------------------------------------------- usage errors

TEST(Usage, MisspelledOptionsNeverEchoTheirValues) {
  const std::string v = "MySecretValue123";
  for (const std::vector<std::string>& extra :
       {std::vector<std::string>{"--client_secret", v}, {"--clientsecret=" + v}, {"--client-secrets", v},
        {"--secret", v}, {"--page-size", v}, {v}}) {
    std::vector<std::string> args = {"inventory-fetch", "sync", "--tenant", "6f1c2b3a-0000-4000-8000-000000000001"};
    args.insert(args.end(), extra.begin(), extra.end());
    ::testing::internal::CaptureStderr();
    ::testing::internal::CaptureStdout();
    CommandLine cl = parse_command_line(args);
    const std::string err = ::testing::internal::GetCapturedStderr() + ::testing::internal::GetCapturedStdout();
    EXPECT_EQ(cl.exit_code, 2) << extra[0];
    EXPECT_EQ(err.find(v), std::string::npos) << err;
    EXPECT_FALSE(err.empty());
  }
}

// ---------------------------------------------------------------- queue

TEST(Queue, BoundedInBytes) {
  BoundedQueue<std::string> q(100, 1000);
  StopToken stop;
  EXPECT_TRUE(q.push(std::string(600, 'a'), stop, false, 600));
  std::thread t([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_TRUE(q.pop(std::chrono::milliseconds(1000)).has_value());
  });
  // 600 + 600 > 1000: waits until the first is taken.
  EXPECT_TRUE(q.push(std::string(600, 'b'), stop, false, 600));
  t.join();
  EXPECT_LE(q.peak_bytes(), 1000u);
  // One item larger than the cap still goes through alone.
  EXPECT_TRUE(q.pop(std::chrono::milliseconds(10)).has_value());
  EXPECT_TRUE(q.push(std::string(5000, 'c'), stop, false, 5000));
}
