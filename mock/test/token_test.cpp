// Token endpoint: client secret and client assertion flows, errors, expiry.
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <thread>

#include "support.h"
#include "util.h"

namespace tinv::mock::test {
namespace {

const std::string kScope = "scope=https%3A%2F%2Fgraph.microsoft.com%2F.default";
const std::string kClient = "11111111-2222-3333-4444-555555555555";

class TokenTest : public MockFixture {};

std::string token_path(const std::string &tenant) { return "/" + tenant + "/oauth2/v2.0/token"; }

TEST_F(TokenTest, SecretFlowIssuesJwtShapedTokenForTheTenant) {
  Reply r = post_form(token_path(tenant()), "client_id=" + kClient + "&client_secret=mock-secret&" +
                                                kScope + "&grant_type=client_credentials");
  ASSERT_EQ(r.status, 200) << r.body;
  json j = r.body_json();
  EXPECT_EQ(j["token_type"], "Bearer");
  EXPECT_EQ(j["expires_in"], 3599);
  EXPECT_EQ(j["ext_expires_in"], 3599);
  const std::string token = j["access_token"];
  ASSERT_EQ(token.rfind("eyJ", 0), 0u);
  size_t a = token.find('.'), b = token.find('.', a + 1);
  ASSERT_NE(b, std::string::npos);
  EXPECT_EQ(token.find('.', b + 1), std::string::npos);
  std::string payload;
  ASSERT_TRUE(base64url_decode(token.substr(a + 1, b - a - 1), payload));
  json claims = json::parse(payload);
  EXPECT_EQ(claims["tid"], tenant());
  EXPECT_EQ(claims["appid"], kClient);
  EXPECT_EQ(claims["nonce"].get<std::string>().size(), 32u);
  // Two tokens differ (random nonce), both work.
  std::string other = token_for(tenant());
  EXPECT_NE(other, token);
  EXPECT_EQ(get("/beta/deviceManagement/deviceConfigurations", token).status, 200);
  EXPECT_EQ(get("/beta/deviceManagement/deviceConfigurations", other).status, 200);
}

TEST_F(TokenTest, WrongSecretIs401InvalidClientWithoutEchoingTheSecret) {
  Reply r = post_form(token_path(tenant()),
                      "client_id=" + kClient + "&client_secret=WRONG-s3cr3t-value&" + kScope +
                          "&grant_type=client_credentials",
                      {{"client-request-id", "5be327fc-93cb-4bef-ab4e-0373f11a8017"}});
  ASSERT_EQ(r.status, 401);
  json j = r.body_json();
  EXPECT_EQ(j["error"], "invalid_client");
  EXPECT_EQ(j["error_codes"], json::array({7000215}));
  EXPECT_EQ(j["correlation_id"], "5be327fc-93cb-4bef-ab4e-0373f11a8017");
  EXPECT_NE(j["error_description"].get<std::string>().find("AADSTS7000215"), std::string::npos);
  EXPECT_NE(r.body.find(kClient), std::string::npos);
  EXPECT_EQ(r.body.find("WRONG-s3cr3t-value"), std::string::npos);
  EXPECT_EQ(r.header("client-request-id"), "5be327fc-93cb-4bef-ab4e-0373f11a8017");
}

TEST_F(TokenTest, RequestErrors) {
  auto post = [&](const std::string &tenant, const std::string &form) {
    return post_form(token_path(tenant), form);
  };
  const std::string ok_tail =
      "&client_secret=mock-secret&" + kScope + "&grant_type=client_credentials";
  Reply r =
      post(tenant(), "client_secret=mock-secret&" + kScope + "&grant_type=client_credentials");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body_json()["error"], "invalid_request");
  r = post(tenant(), "client_id=" + kClient + "&client_secret=mock-secret&" + kScope +
                         "&grant_type=password");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body_json()["error"], "unsupported_grant_type");
  r = post(tenant(),
           "client_id=" + kClient +
               "&client_secret=mock-secret&scope=User.Read&grant_type=client_credentials");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body_json()["error"], "invalid_scope");
  r = post(tenant(), "client_id=" + kClient + "&" + kScope + "&grant_type=client_credentials");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.body_json()["error_codes"][0], 7000216);
  r = post("not-a-tenant", "client_id=" + kClient + ok_tail);
  EXPECT_EQ(r.status, 400);
  // Garbage bodies never break the endpoint.
  r = post(tenant(), std::string("\x01\x02%zz&&==&%", 12));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(post(tenant(), "client_id=" + kClient + ok_tail).status, 200);
}

TEST_F(TokenTest, UnknownTenantUuidIsCreatedOnDemand) {
  const std::string t = "0a1b2c3d-0000-4000-8000-00000000abcd";
  std::string token = token_for(t);
  ASSERT_FALSE(token.empty());
  Reply r = get("/v1.0/deviceManagement/deviceCompliancePolicies", token);
  ASSERT_EQ(r.status, 200);
  json tenants = admin_get("/_mock/tenants").body_json()["tenants"];
  EXPECT_NE(std::find(tenants.begin(), tenants.end(), t), tenants.end());
}

TEST_F(TokenTest, PerTenantSecretAndClientIdOverrides) {
  Reply r = admin_post("/_mock/tenant/" + tenant() + "/credentials",
                       {{"client_secret", "tenant-specific"}, {"client_id", kClient}});
  ASSERT_EQ(r.status, 200) << r.body;
  r = post_form(token_path(tenant()), "client_id=" + kClient + "&client_secret=mock-secret&" +
                                          kScope + "&grant_type=client_credentials");
  EXPECT_EQ(r.status, 401);
  r = post_form(token_path(tenant()), "client_id=" + kClient + "&client_secret=tenant-specific&" +
                                          kScope + "&grant_type=client_credentials");
  EXPECT_EQ(r.status, 200);
  r = post_form(token_path(tenant()), "client_id=other-app&client_secret=tenant-specific&" +
                                          kScope + "&grant_type=client_credentials");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body_json()["error"], "unauthorized_client");
  // Another tenant keeps the default secret.
  json tenants = admin_get("/_mock/tenants").body_json()["tenants"];
  EXPECT_FALSE(token_for(tenants[1]).empty());
}

TEST_F(TokenTest, GraphRejectsMissingForgedAndForeignTokens) {
  Reply r = get("/beta/deviceManagement/deviceConfigurations");
  ASSERT_EQ(r.status, 401);
  EXPECT_EQ(r.body_json()["error"]["code"], "InvalidAuthenticationToken");
  EXPECT_NE(r.header("WWW-Authenticate").find("Bearer"), std::string::npos);
  EXPECT_EQ(get("/beta/deviceManagement/deviceConfigurations", "not.a.jwt").status, 401);
  // A token with its payload swapped for another tenant's fails the signature.
  std::string token = token_for(tenant());
  size_t a = token.find('.'), b = token.find('.', a + 1);
  std::string payload;
  ASSERT_TRUE(base64url_decode(token.substr(a + 1, b - a - 1), payload));
  json claims = json::parse(payload);
  claims["tid"] = "0a1b2c3d-0000-4000-8000-00000000abcd";
  std::string forged = token.substr(0, a + 1) + base64url_encode(claims.dump()) + token.substr(b);
  EXPECT_EQ(get("/beta/deviceManagement/deviceConfigurations", forged).status, 401);
  // Tokens of one server instance are not valid for another.
  Config c = config_;
  MockServer other(c);
  std::string error;
  ASSERT_TRUE(other.start(error)) << error;
  httplib::Client cli("127.0.0.1", other.port());
  auto res = cli.Get("/beta/deviceManagement/deviceConfigurations",
                     {{"Authorization", "Bearer " + token}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 401);
  other.stop();
}

class ShortTokenTest : public MockFixture {
  void configure(Config &c) override { c.token_ttl = 1; }
};

TEST_F(ShortTokenTest, TokensExpireAfterTtl) {
  std::string token = token_for(tenant());
  EXPECT_EQ(get("/beta/deviceManagement/deviceConfigurations", token).status, 200);
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  Reply r = get("/beta/deviceManagement/deviceConfigurations", token);
  ASSERT_EQ(r.status, 401);
  EXPECT_EQ(r.body_json()["error"]["message"], "Access token has expired or is not yet valid.");
}

// --- client_assertion (certificate) flow ---

struct Key {
  EVP_PKEY *pkey = nullptr;
  Key() { pkey = EVP_RSA_gen(2048); }
  ~Key() { EVP_PKEY_free(pkey); }
  std::string public_pem() const {
    BIO *bio = BIO_new(BIO_s_mem());
    PEM_write_bio_PUBKEY(bio, pkey);
    char *data = nullptr;
    long n = BIO_get_mem_data(bio, &data);
    std::string out(data, static_cast<size_t>(n));
    BIO_free(bio);
    return out;
  }
  std::string sign(const std::string &input) const {
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, pkey);
    size_t len = 0;
    EVP_DigestSign(ctx, nullptr, &len, reinterpret_cast<const unsigned char *>(input.data()),
                   input.size());
    std::string sig(len, '\0');
    EVP_DigestSign(ctx, reinterpret_cast<unsigned char *>(sig.data()), &len,
                   reinterpret_cast<const unsigned char *>(input.data()), input.size());
    sig.resize(len);
    EVP_MD_CTX_free(ctx);
    return sig;
  }
};

std::string make_assertion(const Key &key, const std::string &tenant, json header, json claims) {
  if (header.is_null()) header = {{"alg", "RS256"}, {"typ", "JWT"}, {"x5t", "abc"}};
  if (claims.is_null()) {
    int64_t now = now_ms() / 1000;
    claims = {{"aud", "https://login.microsoftonline.com/" + tenant + "/oauth2/v2.0/token"},
              {"iss", kClient},
              {"sub", kClient},
              {"jti", random_uuid()},
              {"nbf", now},
              {"exp", now + 600}};
  }
  std::string signed_part = base64url_encode(header.dump()) + "." + base64url_encode(claims.dump());
  return signed_part + "." + base64url_encode(key.sign(signed_part));
}

TEST_F(TokenTest, ClientAssertionAcceptedAndVerifiedWhenKeyRegistered) {
  Key key, other_key;
  ASSERT_NE(key.pkey, nullptr);
  auto request = [&](const std::string &assertion) {
    return post_form(token_path(tenant()), "client_id=" + kClient +
                                               "&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%"
                                               "3Aclient-assertion-type%3Ajwt-bearer"
                                               "&client_assertion=" +
                                               assertion + "&" + kScope +
                                               "&grant_type=client_credentials");
  };
  // No key registered: a well-formed RS256 assertion is enough.
  EXPECT_EQ(request(make_assertion(other_key, tenant(), nullptr, nullptr)).status, 200);
  // Malformed ones are not.
  Reply r = request(make_assertion(key, tenant(), {{"alg", "HS256"}}, nullptr));
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.body_json()["error"], "invalid_client");
  json no_jti = {{"aud", "x"}, {"iss", kClient}, {"sub", kClient}, {"exp", now_ms() / 1000 + 600}};
  EXPECT_EQ(request(make_assertion(key, tenant(), nullptr, no_jti)).status, 401);
  json expired = {{"aud", "x"}, {"iss", kClient}, {"sub", kClient}, {"jti", "1"}, {"exp", 1000}};
  EXPECT_EQ(request(make_assertion(key, tenant(), nullptr, expired)).status, 401);
  EXPECT_EQ(request("abc.def").status, 401);

  // Registered key: only signatures by that key pass.
  ASSERT_EQ(admin_post("/_mock/tenant/" + tenant() + "/credentials",
                       {{"public_key_pem", key.public_pem()}})
                .status,
            200);
  r = request(make_assertion(key, tenant(), nullptr, nullptr));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(
      get("/beta/deviceManagement/configurationPolicies", r.body_json()["access_token"]).status,
      200);
  r = request(make_assertion(other_key, tenant(), nullptr, nullptr));
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.body_json()["error_codes"][0], 700027);
}

}  // namespace
}  // namespace tinv::mock::test
