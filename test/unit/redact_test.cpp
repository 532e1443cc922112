// Secret redaction: a table of forms that must be masked or left alone, a
// property test with canary secrets in random surroundings, random bytes,
// pathological inputs for the linear-time guarantee, and truncate_utf8.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "redact.h"

namespace {

using tinv::redact_secrets;
using tinv::truncate_utf8;

struct Case {
  const char* name;
  std::string input;
  std::string expected;
};

const std::string kJwt =
    "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL2dyYXBoLm1pY3Jvc29mdC5jb20ifQ."
    "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

const std::vector<Case>& masked_cases() {
  static const std::vector<Case> cases = {
      // Authorization headers
      {"auth_header_bearer_jwt", "Authorization: Bearer " + kJwt, "Authorization: Bearer [REDACTED]"},
      {"auth_header_basic_crlf", "authorization: basic dXNlcjpwYXNz\r\nHost: graph.microsoft.com",
       "authorization: basic [REDACTED]\r\nHost: graph.microsoft.com"},
      {"auth_header_no_scheme", "Authorization: opaque-secret value",
       "Authorization: [REDACTED]"},
      {"auth_header_sas", "Authorization: SharedAccessSignature sr=x&sig=abc&se=1",
       "Authorization: SharedAccessSignature [REDACTED]"},
      {"auth_header_in_quotes", "curl -H \"Authorization: Bearer abc.def\" https://graph.microsoft.com",
       "curl -H \"Authorization: Bearer [REDACTED]\" https://graph.microsoft.com"},
      {"auth_header_escaped_newline", R"({"req":"Authorization: Bearer abc.def\r\nHost: x"})",
       R"({"req":"Authorization: Bearer [REDACTED]\r\nHost: x"})"},
      {"auth_form", "authorization=Bearer%20abc123&x=1", "authorization=Bearer%20[REDACTED]&x=1"},
      {"auth_form_plain", "authorization=abc123&x=1", "authorization=[REDACTED]&x=1"},
      {"auth_json", R"({"Authorization":"Bearer abc.def","x":1})",
       R"({"Authorization":"Bearer [REDACTED]","x":1})"},
      {"auth_json_spaced", R"({ "authorization" : "Basic dXNlcjpwYXNz" })",
       R"({ "authorization" : "Basic [REDACTED]" })"},
      {"proxy_authorization", "Proxy-Authorization: Basic dXNlcjpwYXNz",
       "Proxy-Authorization: Basic [REDACTED]"},
      // Bearer tokens anywhere
      {"bearer_dotted", "token was Bearer abc.def here", "token was Bearer [REDACTED] here"},
      {"bearer_start", "Bearer abc.def", "Bearer [REDACTED]"},
      {"bearer_opaque", "bearer 0123456789abcdef", "bearer [REDACTED]"},
      {"bearer_long_word", "BEARER abcdefghijklmnop", "BEARER [REDACTED]"},
      {"bearer_padding", "Bearer dXNlcjpwYXNz== next", "Bearer [REDACTED] next"},
      {"bearer_then_header", "Bearer Authorization: abc123", "Bearer Authorization: [REDACTED]"},
      // JWTs anywhere
      {"jwt_bare", "token " + kJwt + " end", "token [REDACTED] end"},
      {"jwt_in_url", "https://app.example/cb?state=2&id=" + kJwt + "&x=1",
       "https://app.example/cb?state=2&id=[REDACTED]&x=1"},
      {"jwt_in_json", R"({"assertion":")" + kJwt + R"("})", R"({"assertion":"[REDACTED]"})"},
      {"jwt_unsigned", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.", "[REDACTED]"},
      {"jwt_jwe_five_parts",
       "x eyJhbGciOiJSU0EtT0FFUCJ9.OKOawDo13gRp2ojaHV7LFpZcgV7T6DVZKTyKOMTYUmKoTCVJRgckCL9kiMT03JGe."
       "48V1_ALb6US04U3b.5eym8TW_c8SuK0ltJ3rpYIzOeDQz7TALvtu6UG9oMo4vpzs9tX_EFShS8iB7j6ji.XFBoMYUZodetZdvTiFvSkQ y",
       "x [REDACTED] y"},
      // client_secret and friends: form, query, JSON, header-ish, encoded
      {"client_secret_form", "client_secret=abc123&grant_type=client_credentials",
       "client_secret=[REDACTED]&grant_type=client_credentials"},
      {"client_secret_json", R"({"client_secret":"s3cr3t\"quoted","scope":"x"})",
       R"({"client_secret":"[REDACTED]","scope":"x"})"},
      {"client_secret_json_spaced", "{\n  \"client_secret\" :\t\"abc\",\n  \"x\": 1\n}",
       "{\n  \"client_secret\" :\t\"[REDACTED]\",\n  \"x\": 1\n}"},
      {"client_secret_header", "client_secret: abc123", "client_secret: [REDACTED]"},
      {"client_secret_upper", "CLIENT_SECRET=abc", "CLIENT_SECRET=[REDACTED]"},
      {"client_secret_camel", R"({"clientSecret":"abc"})", R"({"clientSecret":"[REDACTED]"})"},
      {"client_secret_dash", "client-secret: abc", "client-secret: [REDACTED]"},
      {"client_secret_urlencoded", "body=client_secret%3Dabc%2B1%26scope%3Dx",
       "body=client_secret%3D[REDACTED]%26scope%3Dx"},
      {"client_secret_escaped_json", R"({"body":"{\"client_secret\":\"abc\",\"x\":1}"})",
       R"({"body":"{\"client_secret\":\"[REDACTED]\",\"x\":1}"})"},
      {"client_secret_single_quoted", "client_secret='abc def'", "client_secret='[REDACTED]'"},
      {"client_assertion",
       "client_assertion_type=urn%3Aietf%3Aparams%3Aoauth&client_assertion=abc.def.ghi&x",
       "client_assertion_type=urn%3Aietf%3Aparams%3Aoauth&client_assertion=[REDACTED]&x"},
      {"access_token_query", "https://graph.microsoft.com/v1.0/me?access_token=abc.def&x=1",
       "https://graph.microsoft.com/v1.0/me?access_token=[REDACTED]&x=1"},
      {"access_token_fragment", "https://app/#access_token=abc&token_type=Bearer",
       "https://app/#access_token=[REDACTED]&token_type=Bearer"},
      {"access_token_json_response",
       R"({"token_type":"Bearer","expires_in":3599,"access_token":")" + kJwt + R"("})",
       R"({"token_type":"Bearer","expires_in":3599,"access_token":"[REDACTED]"})"},
      {"access_token_header_dash", "Access-Token: abc", "Access-Token: [REDACTED]"},
      {"access_token_camel", R"({"accessToken": "abc"})", R"({"accessToken": "[REDACTED]"})"},
      {"refresh_token", "refresh_token=0.AAAAxyz-_~&x", "refresh_token=[REDACTED]&x"},
      {"id_token", R"("id_token": "abc")", R"("id_token": "[REDACTED]")"},
      {"code_verifier", "code_verifier=abc123;next", "code_verifier=[REDACTED];next"},
      {"password_form", "password=hunter2", "password=[REDACTED]"},
      {"password_header", "Password: hunter2 and more", "Password: [REDACTED] and more"},
      {"password_spaced_equals", "password = hunter2, x", "password = [REDACTED], x"},
      {"password_json_nested",
       R"({"passwordProfile":{"password":"P@ss w0rd!","forceChangePasswordNextSignIn":true}})",
       R"({"passwordProfile":{"password":"[REDACTED]","forceChangePasswordNextSignIn":true}})"},
      {"password_conninfo", "host=db user=app password=s3cret dbname=x",
       "host=db user=app password=[REDACTED] dbname=x"},
      {"password_env", "PGPASSWORD=s3cret", "PGPASSWORD=[REDACTED]"},
      {"password_number", R"({"password": 123456})", R"({"password": [REDACTED]})"},
      {"sas_sig", "https://acct.blob.core.windows.net/c/b?sv=2021-08-06&se=2024-01-01T00%3A00%3A00Z&sr=b&sp=r&sig=AbCd%2BEf%3D",
       "https://acct.blob.core.windows.net/c/b?sv=2021-08-06&se=2024-01-01T00%3A00%3A00Z&sr=b&sp=r&sig=[REDACTED]"},
      {"sas_sig_middle", "https://x/y?sig=abc&sv=1", "https://x/y?sig=[REDACTED]&sv=1"},
      {"storage_account_key", "DefaultEndpointsProtocol=https;AccountName=x;AccountKey=abc+/==;EndpointSuffix=core",
       "DefaultEndpointsProtocol=https;AccountName=x;AccountKey=[REDACTED];EndpointSuffix=core"},
      {"api_key_header", "x-api-key: abc123", "x-api-key: [REDACTED]"},
      // Entra client secret shapes
      {"entra_secret_text", "secret is Abc8Q~abcdefghijklmnopqrstuvwxyzABCDEFGH (expires)",
       "secret is [REDACTED] (expires)"},
      {"entra_secret_31", "k=xyZ1Q~0123456789abcdefghijklmnopqrstu!", "k=[REDACTED]!"},
      {"entra_secret_json", R"({"secretText":"xyZ1Q~0123456789abcdefghijklmnopqrstu.-_~"})",
       R"({"secretText":"[REDACTED]"})"},
      {"entra_secret_in_word", "value:abc8Q~0123456789012345678901234567890123 done",
       "value:[REDACTED] done"},
      // URL user info
      {"userinfo_https", "https://user:pass@host/path", "https://[REDACTED]@host/path"},
      {"userinfo_postgres", "postgresql://app:s3cret@db.example.com:5432/inv",
       "postgresql://[REDACTED]@db.example.com:5432/inv"},
      {"userinfo_token_only", "git clone https://ghp_token123@github.com/x/y",
       "git clone https://[REDACTED]@github.com/x/y"},
      // paging tokens
      {"skiptoken_dollar",
       "https://graph.microsoft.com/beta/deviceManagement/deviceConfigurations?$skiptoken=abcDEF123",
       "https://graph.microsoft.com/beta/deviceManagement/deviceConfigurations?$skiptoken=[REDACTED]"},
      {"skiptoken_encoded", "?%24skiptoken=abc%3D%3D&x=1", "?%24skiptoken=[REDACTED]&x=1"},
      {"skiptoken_plain", "?$top=100&skiptoken=abc", "?$top=100&skiptoken=[REDACTED]"},
      {"skiptoken_mixed_case", "?$skipToken=RFNwdAIAAQAAAD8&$top=5", "?$skipToken=[REDACTED]&$top=5"},
      {"deltatoken_in_json",
       R"({"@odata.deltaLink":"https://graph.microsoft.com/v1.0/users/delta?$deltatoken=oEBwdSP6uehIAxQOWq_3Ksh_TLol6KIm3stvdc6hGhZRi1hQ7Spe__dpvm3U4zReE4CYXC2zOtaKdi7KHlUtC2CbRiBIUwOxPKLa"})",
       R"({"@odata.deltaLink":"https://graph.microsoft.com/v1.0/users/delta?$deltatoken=[REDACTED]"})"},
      {"deltatoken_encoded", "next=%24deltatoken%3Dabc%26x%3D1", "next=%24deltatoken%3D[REDACTED]%26x%3D1"},
      // several in one line, non-ASCII around
      {"several", "password=a&client_secret=b&sig=c&ok=1",
       "password=[REDACTED]&client_secret=[REDACTED]&sig=[REDACTED]&ok=1"},
      {"non_ascii_around", "\xe5\xaf\x86\xe7\xa0\x81 password=\xe7\xa7\x98\xe5\xaf\x86 end",
       "\xe5\xaf\x86\xe7\xa0\x81 password=[REDACTED] end"},
  };
  return cases;
}

const std::vector<std::string>& untouched_cases() {
  static const std::vector<std::string> cases = {
      "",
      "plain text without secrets",
      "Bearer",
      "the Bearer",
      "Authorization: Bearer",
      "Bearer token is missing",
      "The bearer token was rejected",
      "WWW-Authenticate: Bearer realm=\"\", error=\"invalid_token\", authorization_uri=\"https://login/x\"",
      "request-id: 8c5f1f7a-0f6f-4d2e-9b1d-2b9c3f0e7a11",
      "client-request-id=4b5e0f4a-7a66-4f5c-bb33-1b7c02b79b1c&x=1",
      "password policy",
      "the password is weak",
      "passwordPolicy=strict",
      "forceChangePasswordNextSignIn: true",
      R"({"password": null, "secret": true, "sig": false})",
      R"({"password": ""})",
      R"({"passwordProfile": {"forceChangePasswordNextSignIn": true}})",
      "signature verification failed",
      "signin=1&sigma=2",
      "sig=",
      "password:",
      "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request "
      "is the client secret value, not the client secret ID",
      "Access token validation failure. Invalid audience.",
      "eyJ",
      "eyJhbGciOiJIUzI1NiJ9",
      "eyJhbGciOiJIUzI1NiJ9.x",
      "monkeyJumpedOverTheFence.ab.cd",
      "ab1Q~short",
      "Abc8Q~012345678901234567890123456789",  // 30 chars after Q~
      "https://graph.microsoft.com/v1.0/users/john@contoso.com",
      "mailto:john@contoso.com",
      "https://graph.microsoft.com/beta/deviceManagement/deviceConfigurations?$top=100&$select=id",
      R"({"error":{"code":"InvalidAuthenticationToken","message":"Access token has expired or is not yet valid.","innerError":{"date":"2022-03-15T13:50:50","request-id":"0b5b3e6e"}}})",
      "{\"@odata.context\":\"https://graph.microsoft.com/v1.0/$metadata#deviceManagement/deviceConfigurations\",\"value\":[]}",
      "tokens=5 secretary=bob",
  };
  return cases;
}

TEST(Redact, MasksKnownForms) {
  for (const auto& c : masked_cases()) EXPECT_EQ(redact_secrets(c.input), c.expected) << c.name;
}

TEST(Redact, LeavesOrdinaryTextAlone) {
  for (const auto& s : untouched_cases()) EXPECT_EQ(redact_secrets(s), s);
}

TEST(Redact, TableIsLarge) {
  EXPECT_GE(masked_cases().size() + untouched_cases().size(), 80u);
}

TEST(Redact, KeyNamesAreCaseInsensitive) {
  for (const char* key : {"client_secret", "Client_Secret", "CLIENT_SECRET", "ClientSecret",
                          "access_token", "Access_Token", "REFRESH_TOKEN", "Id_Token", "PASSWORD",
                          "Sig", "Code_Verifier", "Client_Assertion", "$SkipToken", "$DELTATOKEN"}) {
    const std::string in = std::string(key) + "=canary12345&next=1";
    EXPECT_EQ(redact_secrets(in), std::string(key) + "=[REDACTED]&next=1") << key;
  }
}

TEST(Redact, InvalidUtf8AndNulBytesPassThrough) {
  const char in[] = "\xff\xfe\x00password=abc\x00\xc3 tail \x80";
  const char expected[] = "\xff\xfe\x00password=[REDACTED]\x00\xc3 tail \x80";
  EXPECT_EQ(redact_secrets(std::string_view(in, sizeof in - 1)),
            std::string(expected, sizeof expected - 1));
  const std::string only_bytes("\x00\x01\xff\xc0\xaf", 5);
  EXPECT_EQ(redact_secrets(only_bytes), only_bytes);
}

TEST(Redact, GraphOAuthSuccessVectorLosesItsToken) {
  std::ifstream in(TINV_TEST_VECTORS_DIR "/graph/oauth_token_success_client_credentials.json",
                   std::ios::binary);
  ASSERT_TRUE(in);
  std::stringstream s;
  s << in.rdbuf();
  const std::string body = s.str();
  const auto key = body.find("\"access_token\"");
  ASSERT_NE(key, std::string::npos);
  const auto open = body.find('"', body.find(':', key) + 1);
  const auto close = body.find('"', open + 1);
  const std::string token = body.substr(open + 1, close - open - 1);
  ASSERT_GT(token.size(), 10u);
  const std::string red = redact_secrets(body);
  EXPECT_EQ(red.find(token), std::string::npos);
  EXPECT_NE(red.find("\"access_token\""), std::string::npos);
  EXPECT_NE(red.find("[REDACTED]"), std::string::npos);
}

// Real Graph and token endpoint bodies: only the paging token and the access
// token are secrets; every other sample passes through byte for byte.
TEST(Redact, GraphSampleBodies) {
  namespace fs = std::filesystem;
  int unchanged = 0;
  for (const auto& entry : fs::directory_iterator(fs::path(TINV_TEST_VECTORS_DIR) / "graph")) {
    if (entry.path().extension() != ".json") continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    const std::string body = s.str();
    const std::string out = redact_secrets(body);
    const std::string name = entry.path().filename().string();
    if (name == "batch_response_json_batching_doc.json") {
      EXPECT_NE(out.find("$skiptoken=[REDACTED]\""), std::string::npos) << name;
      EXPECT_EQ(out.find("RFNwdAoAAQAAAAAAAAAAFAAAA"), std::string::npos) << name;
    } else if (name == "oauth_token_success_client_credentials.json") {
      EXPECT_NE(out, body) << name;
    } else {
      EXPECT_EQ(out, body) << name;
      ++unchanged;
    }
  }
  EXPECT_GE(unchanged, 10);
}

// ---- properties ---------------------------------------------------------------

const char* const kCanary = "Zq9Xk2Lm7Pw4Rt8Vb3Nc";

std::string with_canary(std::string form) {
  for (size_t at = form.find("{C}"); at != std::string::npos; at = form.find("{C}"))
    form.replace(at, 3, kCanary);
  return form;
}

const std::vector<std::string>& canary_forms() {
  static const std::vector<std::string> forms = {
      "Authorization: Bearer {C}",
      "Authorization: {C}",
      "authorization={C}",
      R"({"Authorization":"Bearer {C}"})",
      "Bearer {C}",
      "client_secret={C}&x=1",
      R"({"client_secret":"{C}"})",
      R"(\"client_secret\":\"{C}\")",
      "client_secret: {C}",
      "clientSecret={C}",
      "client_secret%3D{C}%26x",
      "client_assertion={C}",
      "?access_token={C}&x=1",
      R"("access_token" : "{C}")",
      "refresh_token={C}",
      "id_token={C}",
      "code_verifier={C}",
      "sig={C}",
      "https://a.blob.core.windows.net/c?sv=1&sig={C}&se=2",
      "password={C}",
      R"("password": "{C}")",
      "password: {C}",
      "https://user:{C}@host/",
      "https://{C}@host/",
      "$skiptoken={C}",
      "%24skiptoken={C}",
      "skiptoken={C}",
      "$deltatoken={C}",
      "%24deltatoken={C}",
      "eyJ{C}.eyJ{C}.{C}",
      "eyJhbGciOiJub25lIn0.{C}.",
      "Abc8Q~{C}{C}",
  };
  return forms;
}

std::string random_filler(std::mt19937& rng) {
  static const char* const pieces[] = {
      "error", "message", " ", "\n", "\t", ",", ";", "&", "=", ":", "\"", "'", "{", "}", "[", "]",
      "https://graph.microsoft.com/v1.0/", "?", "$top=5", "Bearer", "eyJ", "Q~", "@", "%2", "%3D",
      "\\", "\\\"", "\xc3\xa9", "\xf0\x9f\x98\x80", "\xff", "" /* a NUL byte */,
      "code", "token", "value", "42", "null", "true"};
  std::string s;
  const int n = static_cast<int>(rng() % 8);
  for (int k = 0; k < n; ++k) {
    const char* p = pieces[rng() % (sizeof pieces / sizeof pieces[0])];
    if (*p == '\0') {
      s.push_back('\0');
    } else {
      s += p;
    }
  }
  return s;
}

// Each supported form, wrapped in random text, never shows its secret.
TEST(RedactProperty, CanaryNeverSurvives) {
  std::mt19937 rng(12345);
  for (const auto& form : canary_forms()) {
    const std::string secret_form = with_canary(form);
    const std::string alone = redact_secrets(secret_form);
    EXPECT_EQ(alone.find(kCanary), std::string::npos) << form << " -> " << alone;
    EXPECT_NE(alone.find("[REDACTED]"), std::string::npos) << form;
    for (int i = 0; i < 400; ++i) {
      const char* seps[] = {" ", "\n", "\r\n", "\t", ", ", "; ", " | "};
      const std::string text = random_filler(rng) + seps[rng() % 7] + secret_form +
                               seps[rng() % 7] + random_filler(rng);
      const std::string out = redact_secrets(text);
      ASSERT_EQ(out.find(kCanary), std::string::npos) << "form " << form << "\ninput  " << text
                                                      << "\noutput " << out;
    }
  }
}

// The output is the input with some non-empty spans replaced by the marker:
// the pieces between markers are, in order, a prefix, inner parts and a
// suffix of the input, separated by at least one replaced byte.
bool is_redaction_of(const std::string& out, const std::string& in) {
  std::vector<std::string> pieces;
  size_t pos = 0;
  for (;;) {
    const size_t m = out.find(tinv::kRedacted, pos);
    pieces.push_back(out.substr(pos, m == std::string::npos ? std::string::npos : m - pos));
    if (m == std::string::npos) break;
    pos = m + tinv::kRedacted.size();
  }
  if (pieces.size() == 1) return out == in;
  if (in.compare(0, pieces.front().size(), pieces.front()) != 0) return false;
  size_t from = pieces.front().size();
  for (size_t k = 1; k + 1 < pieces.size(); ++k) {
    const size_t at = in.find(pieces[k], from + 1);
    if (at == std::string::npos) return false;
    from = at + pieces[k].size();
  }
  const std::string& last = pieces.back();
  return in.size() >= from + 1 + last.size() &&
         in.compare(in.size() - last.size(), last.size(), last) == 0;
}

// Random bytes: never crash, never change bytes outside the replaced spans.
TEST(RedactProperty, RandomBytes) {
  std::mt19937 rng(99);
  for (int i = 0; i < 3000; ++i) {
    std::string s(rng() % 512, '\0');
    for (auto& ch : s) ch = static_cast<char>(rng());
    const std::string out = redact_secrets(s);
    if (out.find("[REDACTED]") == std::string::npos) {
      EXPECT_EQ(out, s);
    }
    EXPECT_TRUE(is_redaction_of(out, s));
  }
  // Bytes biased towards the trigger characters of the rules.
  const char alphabet[] = "aAbBcCdDeEiIpPrRsStT_-=:/@?&$%24\"'\\ \n~Q8yJ.{}";
  for (int i = 0; i < 5000; ++i) {
    std::string s(rng() % 256, '\0');
    for (auto& ch : s) ch = alphabet[rng() % (sizeof alphabet - 1)];
    const std::string out = redact_secrets(s);
    ASSERT_TRUE(is_redaction_of(out, s)) << s << "\n" << out;
  }
}

// Inputs that make a naive scanner quadratic must still finish quickly.
TEST(RedactProperty, LinearTimeOnPathologicalInput) {
  const size_t n = 1 << 20;
  auto repeat = [n](const std::string& unit) {
    std::string s;
    s.reserve(n + unit.size());
    while (s.size() < n) s += unit;
    return s;
  };
  const std::vector<std::string> inputs = {
      repeat("eyJ"),         repeat("eyJa"),         repeat("eyJabcdefghij.a"),
      repeat("1Q~"),         repeat("abc1Q~"),       repeat("://"),
      repeat(":/"),          repeat("password "),    repeat("password="),
      repeat("Bearer "),     repeat("bearer a"),     repeat("authorization:"),
      repeat("\"password\":\"\\"),                   repeat("client_secret%3D"),
      "password=\"" + repeat("a"),                   "https://" + repeat("a:"),
      "abc1Q~" + repeat("a"),                        repeat("a") + "eyJ",
  };
  const auto start = std::chrono::steady_clock::now();
  for (const auto& in : inputs) {
    const std::string out = redact_secrets(in);
    EXPECT_LE(out.size(), in.size() * 4 + 16);
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  // About 18 MiB in total: a linear scan takes well under a second, even
  // under sanitizers; a quadratic one would take hours.
  EXPECT_LT(seconds, 30.0);
}

// ---- truncate_utf8 --------------------------------------------------------------

TEST(TruncateUtf8, CutsAtCharacterBoundaries) {
  EXPECT_EQ(truncate_utf8("", 5), "");
  EXPECT_EQ(truncate_utf8("abc", 0), "");
  EXPECT_EQ(truncate_utf8("abc", 2), "ab");
  EXPECT_EQ(truncate_utf8("abc", 3), "abc");
  EXPECT_EQ(truncate_utf8("abc", 100), "abc");
  EXPECT_EQ(truncate_utf8("\xc3\xa9\xc3\xa9\xc3\xa9", 2), "\xc3\xa9\xc3\xa9");
  EXPECT_EQ(truncate_utf8("a\xe2\x82\xac" "b", 2), "a\xe2\x82\xac");
  EXPECT_EQ(truncate_utf8("\xf0\x9f\x98\x80\xf0\x9f\x98\x82", 1), "\xf0\x9f\x98\x80");
  EXPECT_EQ(truncate_utf8(std::string(600, 'x'), 512), std::string(512, 'x'));
}

TEST(TruncateUtf8, InvalidBytesCountAsOneCharacter) {
  EXPECT_EQ(truncate_utf8("\xff\xfe" "ab", 3), "\xff\xfe" "a");
  EXPECT_EQ(truncate_utf8("\x80\x80\x80", 2), "\x80\x80");
  // A lead byte missing its continuation bytes is one character by itself.
  EXPECT_EQ(truncate_utf8("a\xe2\x82", 2), "a\xe2");
  EXPECT_EQ(truncate_utf8("a\xe2\x82", 3), "a\xe2\x82");
  EXPECT_EQ(truncate_utf8("\xe2" "abc", 2), "\xe2" "a");
  EXPECT_EQ(truncate_utf8(std::string("a\0b", 3), 2), std::string("a\0", 2));
}

TEST(TruncateUtf8, RandomBytesNeverSplitValidSequences) {
  std::mt19937 rng(5);
  const std::string chars[] = {"a", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80"};
  for (int i = 0; i < 2000; ++i) {
    std::string s;
    size_t count = rng() % 40;
    for (size_t k = 0; k < count; ++k) s += chars[rng() % 4];
    const size_t max = rng() % 45;
    const std::string cut = truncate_utf8(s, max);
    ASSERT_EQ(s.compare(0, cut.size(), cut), 0);  // a prefix
    size_t n = 0;
    for (char ch : cut) n += (static_cast<unsigned char>(ch) & 0xC0) != 0x80;
    ASSERT_EQ(n, std::min(max, count));
    // the cut ends on a character boundary
    if (cut.size() < s.size()) {
      ASSERT_NE(static_cast<unsigned char>(s[cut.size()]) & 0xC0, 0x80);
    }
  }
}

}  // namespace
