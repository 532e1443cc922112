// Secret redaction: a table of forms that must be masked or left alone, a
// property test with canary secrets in random surroundings, random bytes,
// pathological inputs for the linear-time guarantee, and truncate_utf8.
#include <gtest/gtest.h>

#include <algorithm>
#include <iostream>
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
      // A password may hold commas: its unquoted value runs to whitespace.
      {"password_spaced_equals", "password = hunter2, x", "password = [REDACTED] x"},
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
      // "code" is a secret key only as a query/form parameter
      "error_code=AADSTS70011 statuscode=ABC123 errorcode=Xyz1",
      "{\"error\":{\"code\":\"Request_ResourceNotFound\",\"message\":\"Resource 'x' does not exist\"}}",
      "WARN graph request failed tenant=contoso code=graph_throttled status=429 attempts=3",
      "code=db_error",
      "postal code: 12345",
      "?code=&state=1",
      // certificates and public keys are not secrets
      "-----BEGIN CERTIFICATE-----\nMIIDdzCCAl+gAwIBAgIEAgAAuTANBgkqhkiG9w0BAQUFADBa\n-----END CERTIFICATE-----",
      "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----",
      "-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----",
      // ordinary Graph texts
      "#microsoft.graph.windows10GeneralConfiguration",
      "displayName: Pwd policy - Windows 10 (passphrase rules)",
      "subscriptionId=4b5e0f4a-7a66-4f5c-bb33-1b7c02b79b1c",
      "signature=none; %2Fsigning",
      "eyJhbGciOiJIUzI1NiJ9. Next sentence.",
      "the password:\nis not shown",
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

// ---- forms from the security review (issue 12) --------------------------------

void expect_redacts(const std::vector<std::pair<std::string, std::string>>& cases) {
  for (const auto& [in, expected] : cases) EXPECT_EQ(redact_secrets(in), expected) << in;
}

TEST(RedactReview, JwtSplitByWhitespaceAroundDots) {
  expect_redacts({
      {"eyJhbGciOiJIUzI1NiJ9\n.eyJzdWIiOiIxIn0\n.c2lnbmF0dXJl end", "[REDACTED] end"},
      {"eyJhbGciOiJIUzI1NiJ9.\neyJzdWIiOiIxIn0.\nc2lnbmF0dXJl end", "[REDACTED] end"},
      {"x eyJhbGciOiJIUzI1NiJ9. eyJzdWIiOiIxIn0 .\tc2lnbmF0dXJl", "x [REDACTED]"},
      {"eyJhbGciOiJIUzI1NiJ9\r\n.eyJzdWIiOiIxIn0\r\n.c2lnbmF0dXJl", "[REDACTED]"},
      // JSON escapes of a newline, and a token right after one
      {R"({"t":"eyJhbGciOiJIUzI1NiJ9\n.eyJzdWIiOiIxIn0\n.c2ln"})", R"({"t":"[REDACTED]"})"},
      {R"({"msg":"token:\neyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln"})", R"({"msg":"token:\n[REDACTED]"})"},
      // unsigned, split
      {"eyJhbGciOiJub25lIn0.\neyJzdWIiOiJ4In0.\n", "[REDACTED]\n"},
  });
}

TEST(RedactReview, JsonWhitespaceAndNewlinesAroundColon) {
  for (const char* key : {"client_secret", "client_assertion", "access_token", "refresh_token",
                          "id_token", "password", "passwd", "pwd", "passphrase", "sig",
                          "code_verifier", "secret", "api_key", "Ocp-Apim-Subscription-Key",
                          "$skiptoken", "Authorization"}) {
    const std::string k = key;
    expect_redacts({
        {"{\"" + k + "\":\n \"x\"}", "{\"" + k + "\":\n \"[REDACTED]\"}"},
        {"{\"" + k + "\"\n  :\n\t\"x y\",\n\"n\":1}", "{\"" + k + "\"\n  :\n\t\"[REDACTED]\",\n\"n\":1}"},
        {"{\"" + k + "\"\r\n:\r\n\"x\"}", "{\"" + k + "\"\r\n:\r\n\"[REDACTED]\"}"},
        {"{'" + k + "':\n 'x'}", "{'" + k + "':\n '[REDACTED]'}"},
        // pretty-printed JSON inside a JSON string
        {"\"{\\n  \\\"" + k + "\\\":\\n  \\\"x\\\"\\n}\"", "\"{\\n  \\\"" + k + "\\\":\\n  \\\"[REDACTED]\\\"\\n}\""},
    });
  }
  // an unquoted key does not reach over a line break
  EXPECT_EQ(redact_secrets("password:\nnext line"), "password:\nnext line");
}

TEST(RedactReview, PercentEncodedKeysAndSeparators) {
  expect_redacts({
      {"client%5Fsecret=abc&x=1", "client%5Fsecret=[REDACTED]&x=1"},
      {"client%5fsecret=abc&x=1", "client%5fsecret=[REDACTED]&x=1"},
      {"client%255Fsecret=abc&x=1", "client%255Fsecret=[REDACTED]&x=1"},
      {"client%2Dsecret=abc", "client%2Dsecret=[REDACTED]"},
      {"%63lient%5F%73ecret=abc", "%63lient%5F%73ecret=[REDACTED]"},
      {"?%73ig=abc&sv=1", "?%73ig=[REDACTED]&sv=1"},
      {"?%53%49%47=abc&sv=1", "?%53%49%47=[REDACTED]&sv=1"},
      {"?%2573ig=abc&sv=1", "?%2573ig=[REDACTED]&sv=1"},
      {"?s%69g=abc&sv=1", "?s%69g=[REDACTED]&sv=1"},
      {"body=client_secret%3Dabc%26scope%3Dx", "body=client_secret%3D[REDACTED]%26scope%3Dx"},
      {"body=client_secret%253Dabc%2526scope%253Dx", "body=client_secret%253D[REDACTED]%2526scope%253Dx"},
      {"next=sig%253DAbC%252Bd%2526se%253D1", "next=sig%253D[REDACTED]%2526se%253D1"},
      {"next=sig%3DAbC%2Bd%26se%3D1", "next=sig%3D[REDACTED]%26se%3D1"},
      {"client%255Fsecret%253Dabc%2526x", "client%255Fsecret%253D[REDACTED]%2526x"},
      {"x%26client%5Fsecret%3Dabc%26y", "x%26client%5Fsecret%3D[REDACTED]%26y"},
      {"%2526client_secret%253Dabc", "%2526client_secret%253D[REDACTED]"},
      {"p%61ssword%3Da%2Cb%26x", "p%61ssword%3D[REDACTED]%26x"},
  });
  // a letter written as an escape still joins the word before it
  EXPECT_EQ(redact_secrets("x%41sig=abc"), "x%41sig=abc");
}

TEST(RedactReview, JsonUnicodeEscapesInKeys) {
  expect_redacts({
      {R"("client\u005fsecret": "x")", R"("client\u005fsecret": "[REDACTED]")"},
      {R"("client\u005Fsecret": "x")", R"("client\u005Fsecret": "[REDACTED]")"},
      {R"("\u0063lient_secret":"x")", R"("\u0063lient_secret":"[REDACTED]")"},
      {R"("\u0070\u0061ssword": "a b")", R"("\u0070\u0061ssword": "[REDACTED]")"},
      {R"({"s\u0069g":"abc"})", R"({"s\u0069g":"[REDACTED]"})"},
      {R"("access\u002dtoken":"x")", R"("access\u002dtoken":"[REDACTED]")"},
      // inside an escaped JSON string
      {R"({\"client\\u005fsecret\":\"x\"})", R"({\"client\\u005fsecret\":\"[REDACTED]\"})"},
  });
}

TEST(RedactReview, PasswordValuesWithCommasAndSpaces) {
  expect_redacts({
      {"password=ab,cd", "password=[REDACTED]"},
      {"password=ab,cd next", "password=[REDACTED] next"},
      {"password=ab,cd&x=1", "password=[REDACTED]&x=1"},
      {"password=ab,cd;x=1", "password=[REDACTED];x=1"},
      {"Password: a,b}c) more", "Password: [REDACTED] more"},
      {"{user=bob, password=ab,cd}", "{user=bob, password=[REDACTED]"},
      {R"({"msg":"login password=ab,cd"})", R"({"msg":"login password=[REDACTED]"})"},
      {"password=\"a b c\" next", "password=\"[REDACTED]\" next"},
      {"password='a b' next", "password='[REDACTED]' next"},
      {R"("password": "a b")", R"("password": "[REDACTED]")"},
      {R"({"password": 123456, "x": 1})", R"({"password": [REDACTED], "x": 1})"},
      {"passwd=a,b", "passwd=[REDACTED]"},
      // other keys keep the narrow rule
      {"client_secret=abc,def", "client_secret=[REDACTED],def"},
  });
}

TEST(RedactReview, ConnectionStringPasswords) {
  expect_redacts({
      {"Pwd=abc;x=1", "Pwd=[REDACTED];x=1"},
      {"pwd=abc", "pwd=[REDACTED]"},
      {"PWD=abc", "PWD=[REDACTED]"},
      {"Driver={ODBC Driver 18};Server=x;UID=u;PWD=a,b;", "Driver={ODBC Driver 18};Server=x;UID=u;PWD=[REDACTED];"},
      {"Driver={ODBC};Uid=u;Pwd={p;w d};Encrypt=yes", "Driver={ODBC};Uid=u;Pwd={[REDACTED]};Encrypt=yes"},
      {"Server=tcp:x,1433;User ID=u;Password=a b,c;Database=d",
       "Server=tcp:x,1433;User ID=u;Password=[REDACTED];Database=d"},
      {"Server=x; Password=a b\nnext line", "Server=x; Password=[REDACTED]\nnext line"},
      {R"({"cs":"Server=x;Password=a b"})", R"({"cs":"Server=x;Password=[REDACTED]"})"},
      {"Data Source=x;Password=abc;", "Data Source=x;Password=[REDACTED];"},
  });
  EXPECT_EQ(redact_secrets("cwd=/tmp pwdx=1 getpwd=2"), "cwd=/tmp pwdx=1 getpwd=2");
}

TEST(RedactReview, PemPrivateKeys) {
  const std::string body = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj\n";
  for (const char* kind : {"", "RSA ", "EC ", "ENCRYPTED ", "OPENSSH ", "DSA "}) {
    const std::string begin = std::string("-----BEGIN ") + kind + "PRIVATE KEY-----";
    const std::string end = std::string("-----END ") + kind + "PRIVATE KEY-----";
    EXPECT_EQ(redact_secrets("key:\n" + begin + "\n" + body + end + "\ntail"),
              "key:\n" + begin + "\n[REDACTED]\n" + end + "\ntail")
        << kind;
    // no END line: everything to the end of the text
    EXPECT_EQ(redact_secrets(begin + "\n" + body + "tail cut off"), begin + "\n[REDACTED]") << kind;
  }
  expect_redacts({
      {"-----BEGIN PRIVATE KEY-----MIIabc-----END PRIVATE KEY-----",
       "-----BEGIN PRIVATE KEY-----[REDACTED]-----END PRIVATE KEY-----"},
      {R"({"key":"-----BEGIN EC PRIVATE KEY-----\nMHcCAQEE\n-----END EC PRIVATE KEY-----\n"})",
       R"({"key":"-----BEGIN EC PRIVATE KEY-----\n[REDACTED]\n-----END EC PRIVATE KEY-----\n"})"},
      {"-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nlQOYBF\n-----END PGP PRIVATE KEY BLOCK-----",
       "-----BEGIN PGP PRIVATE KEY BLOCK-----\n\n[REDACTED]\n-----END PGP PRIVATE KEY BLOCK-----"},
      {"a -----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY----- b -----BEGIN RSA PRIVATE KEY-----\ny",
       "a -----BEGIN PRIVATE KEY-----\n[REDACTED]\n-----END PRIVATE KEY----- b -----BEGIN RSA PRIVATE KEY-----\n[REDACTED]"},
  });
}

TEST(RedactReview, Passphrase) {
  expect_redacts({
      {"passphrase=abc,def next", "passphrase=[REDACTED] next"},
      {"PASSPHRASE: abc", "PASSPHRASE: [REDACTED]"},
      {R"({"passphrase": "x y"})", R"({"passphrase": "[REDACTED]"})"},
      {R"({\"passphrase\":\"x\"})", R"({\"passphrase\":\"[REDACTED]\"})"},
      {"KEY_PASSPHRASE=abc", "KEY_PASSPHRASE=[REDACTED]"},
      {"sslpassphrase='a b'", "sslpassphrase='[REDACTED]'"},
      {"passphrase%3Dabc%26x", "passphrase%3D[REDACTED]%26x"},
      {"pass%70hrase=abc", "pass%70hrase=[REDACTED]"},
  });
}

TEST(RedactReview, OAuthAuthorizationCodeAsParameterOnly) {
  expect_redacts({
      {"https://app/cb?code=0.AXoAabc-DEF_1&state=xyz", "https://app/cb?code=[REDACTED]&state=xyz"},
      {"https://app/cb?state=1&code=0.AXoAabc", "https://app/cb?state=1&code=[REDACTED]"},
      {"https://app/cb#code=M.C107_BAY.2.abc&state=1", "https://app/cb#code=[REDACTED]&state=1"},
      {"code=M.C107_BAY.2.abc", "code=[REDACTED]"},
      {"POST body: grant_type=authorization_code code=AbC123 x", "POST body: grant_type=authorization_code code=[REDACTED] x"},
      {"grant_type=authorization_code&code=4/0AX4XfWh&redirect_uri=x",
       "grant_type=authorization_code&code=[REDACTED]&redirect_uri=x"},
      {"redirect=https%3A%2F%2Fapp%2Fcb%3Fcode%3DAbC1%26state%3D1",
       "redirect=https%3A%2F%2Fapp%2Fcb%3Fcode%3D[REDACTED]%26state%3D1"},
      {R"({"url":"https://app/cb?x=1\u0026code=AbC123\u0026state=1"})",
       R"({"url":"https://app/cb?x=1\u0026code=[REDACTED]\u0026state=1"})"},
      {"?code=a1b2c3d4e5f6a7b8c9d0", "?code=[REDACTED]"},
  });
  // Not parameters, or error codes: untouched, the error_code key visible.
  for (const char* s : {"error_code=AbC123", "statuscode=AbC123", "errorCode=AbC123",
                        "x_code=AbC123", "{\"code\":\"AbC123\"}", "code: AbC123",
                        "code = 42", "WARN x code=graph_throttled status=429",
                        "?code=timeout&x"}) {
    EXPECT_EQ(redact_secrets(s), s);
  }
}

TEST(RedactReview, ApimSubscriptionKey) {
  expect_redacts({
      {"Ocp-Apim-Subscription-Key: 0123456789abcdef0123456789abcdef\r\nHost: x",
       "Ocp-Apim-Subscription-Key: [REDACTED]\r\nHost: x"},
      {"ocp-apim-subscription-key:abc", "ocp-apim-subscription-key:[REDACTED]"},
      {R"({"Ocp-Apim-Subscription-Key":"abc"})", R"({"Ocp-Apim-Subscription-Key":"[REDACTED]"})"},
      {"Ocp-Apim-Subscription-Key=abc&x=1", "Ocp-Apim-Subscription-Key=[REDACTED]&x=1"},
      {"https://api.example/x?subscription-key=abc123&x=1", "https://api.example/x?subscription-key=[REDACTED]&x=1"},
      {"subscriptionKey=abc", "subscriptionKey=[REDACTED]"},
      {"subscription%2Dkey%3Dabc%26x", "subscription%2Dkey%3D[REDACTED]%26x"},
  });
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
      // forms from the security review
      "eyJ{C}\n.eyJ{C}\n.{C}",
      "eyJ{C}. eyJ{C} .\t{C}",
      "{\"client_secret\":\n \"{C}\"}",
      "{\"password\"\r\n:\r\n\"a {C} b\"}",
      "client%5Fsecret={C}",
      "client%255Fsecret={C}",
      "%73ig={C}",
      "client_secret%253D{C}%2526x",
      "sig%253D{C}",
      "\"client\\u005fsecret\": \"{C}\"",
      "password=ab,{C}",
      "password=\"a {C} c\"",
      "password='a {C}'",
      "Pwd={C}",
      "PWD={C};",
      "Server=x;Password=a {C};",
      "-----BEGIN RSA PRIVATE KEY-----\n{C}\n{C}\n-----END RSA PRIVATE KEY-----",
      "-----BEGIN ENCRYPTED PRIVATE KEY-----\n{C}",
      "passphrase=,{C}",
      "?code={C}&state=1",
      "&code={C}",
      "Ocp-Apim-Subscription-Key: {C}",
      "subscription-key={C}",
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

// Fragments of every rule, whole and cut short: random texts built from them
// hit the edges between rules (a key inside another value, a JWT next to a
// key, a PEM header without its END line, escapes cut in half).
const std::vector<std::string>& dangerous_fragments() {
  static const std::vector<std::string> f = {
      "eyJhbGciOiJIUzI1NiJ9", "eyJzdWIiOiIxIn0", ".", "\n.", ".\n", " . ", "\\n", "\\n.",
      "c2lnbmF0dXJl", "client_secret", "\"client_secret\"", ":", ":\n ", "\"x\"", "\"a b\"",
      "client%5Fsecret", "client%255Fsecret", "%73ig", "%2573ig", "sig", "=", "%3D", "%253D",
      "%26", "%2526", "&", "?", "#", ";", ",", " ", "\t", "\n", "\r\n", "\"", "'", "\\\"", "\\",
      "client\\u005fsecret", "\\u0070assword", "\\u0026", "password", "Password", "passwd",
      "passphrase", "Pwd", "pwd", "PWD", "ab,cd", "a b c", "{", "}", "[REDACTED]",
      "Server=x;", "-----BEGIN PRIVATE KEY-----", "-----BEGIN RSA PRIVATE KEY-----",
      "-----END PRIVATE KEY-----", "-----BEGIN ", "PRIVATE KEY", "-----", "MIIEvQIBADAN",
      "code", "code=", "error_code=", "statuscode=", "db_error", "AbC123", "0.AXoA-x_y",
      "Ocp-Apim-Subscription-Key", "subscription-key", "Authorization: ", "Bearer ",
      "Basic ", "abc1Q~", "0123456789abcdefghijklmnopqrstuvwxyz", "https://", "user:pw@",
      "$skiptoken", "null", "true", "42", "\xc3\xa9", "\xff", "%2", "%25", "\\u00",
  };
  return f;
}

std::string random_fragments(std::mt19937& rng, size_t count) {
  const auto& f = dangerous_fragments();
  std::string s;
  for (size_t k = 0; k < count; ++k) {
    const std::string& piece = f[rng() % f.size()];
    // sometimes only a prefix of the fragment
    s += (rng() % 5 == 0) ? piece.substr(0, rng() % (piece.size() + 1)) : piece;
  }
  return s;
}

// Redacting twice gives the same text as redacting once.
TEST(RedactProperty, Idempotent) {
  std::mt19937 rng(2024);
  int changed = 0;
  for (int i = 0; i < 20000; ++i) {
    const std::string in = random_fragments(rng, 1 + rng() % 24);
    const std::string once = redact_secrets(in);
    changed += once != in;
    ASSERT_EQ(redact_secrets(once), once) << "input  " << in << "\nonce   " << once;
    ASSERT_TRUE(is_redaction_of(once, in)) << in << "\n" << once;
  }
  // the fragments do build secrets often: the property is not vacuous
  EXPECT_GT(changed, 5000);
  for (const auto& c : masked_cases()) EXPECT_EQ(redact_secrets(c.expected), c.expected) << c.name;
  for (const auto& form : canary_forms()) {
    const std::string once = redact_secrets(with_canary(form));
    EXPECT_EQ(redact_secrets(once), once) << form;
  }
}

// Inputs that make a naive scanner quadratic: repeated near-matches of every
// rule. The scanner must read each byte only a bounded number of times
// (counted by redact_scan_work, not timed), so a quadratic path fails here
// whatever the machine's speed: at 64 KiB per pattern a scan to the end
// from every repetition reads each byte thousands of times. Then all the
// patterns together, in one 1 MiB text.
TEST(RedactProperty, LinearTimeOnPathologicalInput) {
  const size_t n = 1 << 16;
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
      // forms added for the security review
      repeat("eyJabcdefghij \n"),                    repeat("eyJabcdefghij\n.\n"),
      "eyJabcdefghij." + repeat(" ") + "x",          repeat("eyJabcdefghij.\\n"),
      repeat("password=a,"),                         repeat("password=,"),
      repeat(";Password=a "),                        ";Password=" + repeat("a "),
      repeat("Pwd={"),                               repeat("pwd={a;"),
      repeat("-----BEGIN PRIVATE KEY-----"),         repeat("-----BEGIN RSA PRIVATE KEY-----\n"),
      repeat("-----BEGIN PRIVATE KEY-----") + "-----END PRIVATE KEY-----",
      repeat("-----BEGIN PRIVATE KEY-----\n ") + repeat("\n") + "-----END",
      repeat("-----BEGIN "),                         repeat("-----BEGIN AAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
      repeat("client%5F"),   repeat("client%255Fsecret"),                repeat("%73i"),
      repeat("%2573ig%253D"),                        repeat("sig%253Da"),
      repeat("\\u0073ig"),   repeat("\"client\\u005fsecret\":\n"),       repeat("\\u00"),
      repeat("?code="),      repeat("?code=a"),      "?code=" + repeat("a?code="),
      repeat("&code=abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmno?"),
      repeat("Ocp-Apim-Subscription-Key: "),         repeat("subscription-key"),
      repeat("passphrase"),  repeat("{\"password\"\n:\n"),               "\"password\":" + repeat("\n"),
      repeat("%"),           repeat("%25"),          repeat("\\"),       repeat("-"),
  };
  size_t max_ratio = 0;
  std::string all;
  for (const auto& in : inputs) {
    // runs the whole redaction, counting every byte it reads
    const size_t work = tinv::redact_scan_work(in);
    EXPECT_LE(work, 64 * in.size()) << in.substr(0, 40);
    max_ratio = std::max(max_ratio, work / in.size());
    all += in.substr(0, (1u << 20) / inputs.size() + 1);
  }
  all.resize(1u << 20, 'x');
  const size_t work = tinv::redact_scan_work(all);
  EXPECT_LE(work, 64 * all.size());
  max_ratio = std::max(max_ratio, work / all.size());
  // The output stays proportional to the input too.
  EXPECT_LE(redact_secrets(all).size(), all.size() * 4 + 16);
  std::cout << "most bytes read per input byte: " << max_ratio << "\n";
  // The counter does count: a plain text is read at least once per byte.
  EXPECT_GE(tinv::redact_scan_work(std::string(1000, 'x')), 1000u);
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
