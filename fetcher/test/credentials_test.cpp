// Secrets from files/env and certificate client assertions (RS256, x5t).
#include "credentials.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

using namespace fetch;

namespace {

std::string b64url_decode(const std::string& in) {
  std::string s = in;
  for (auto& c : s) c = c == '-' ? '+' : c == '_' ? '/' : c;
  while (s.size() % 4) s += '=';
  std::string out(s.size(), '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(s.data()), static_cast<int>(s.size()));
  out.resize(static_cast<size_t>(n) - std::count(in.begin(), in.end(), '=') - (s.size() - in.size()));
  return out;
}

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/fetch-cred-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { std::system(("rm -rf " + path).c_str()); }
};

// A fresh RSA key and a self-signed certificate, written as PEM files.
struct TestCert {
  EVP_PKEY* key = nullptr;
  X509* cert = nullptr;
  std::string cert_file, key_file, both_file;
  explicit TestCert(const std::string& dir) {
    key = EVP_RSA_gen(2048);
    cert = X509_new();
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 7);
    X509_gmtime_adj(X509_getm_notBefore(cert), 0);
    X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
    X509_set_pubkey(cert, key);
    X509_NAME* name = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("fetch-test"),
                               -1, -1, 0);
    X509_set_issuer_name(cert, name);
    X509_sign(cert, key, EVP_sha256());
    cert_file = dir + "/cert.pem";
    key_file = dir + "/key.pem";
    both_file = dir + "/both.pem";
    write(cert_file, false, true);
    write(key_file, true, false);
    write(both_file, true, true);
  }
  void write(const std::string& path, bool with_key, bool with_cert) const {
    FILE* f = fopen(path.c_str(), "w");
    if (with_key) PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
    if (with_cert) PEM_write_X509(f, cert);
    fclose(f);
  }
  ~TestCert() {
    X509_free(cert);
    EVP_PKEY_free(key);
  }
};

}  // namespace

TEST(Base64Url, NoPaddingUrlAlphabet) {
  EXPECT_EQ(base64url(""), "");
  EXPECT_EQ(base64url("f"), "Zg");
  EXPECT_EQ(base64url("fo"), "Zm8");
  EXPECT_EQ(base64url("foo"), "Zm9v");
  EXPECT_EQ(base64url("\xfb\xff\xbf"), "-_-_");
}

TEST(FormEncode, EncodesReservedCharacters) {
  EXPECT_EQ(form_encode("a b+c/d=e&f~g"), "a%20b%2Bc%2Fd%3De%26f~g");
  EXPECT_EQ(form_encode("https://graph.microsoft.com/.default"),
            "https%3A%2F%2Fgraph.microsoft.com%2F.default");
}

TEST(Secrets, FileIsTrimmedAndEnvIsRead) {
  TempDir dir;
  const std::string p = dir.path + "/secret";
  std::ofstream(p) << "s3cr3t~value\n\n";
  EXPECT_EQ(read_secret_file(p).reveal(), "s3cr3t~value");
  std::ofstream(dir.path + "/empty") << "\n";
  EXPECT_THROW(read_secret_file(dir.path + "/empty"), CredentialError);
  EXPECT_THROW(read_secret_file(dir.path + "/missing"), CredentialError);
  setenv("FETCH_TEST_SECRET", "from-env", 1);
  EXPECT_EQ(read_secret_env("FETCH_TEST_SECRET").reveal(), "from-env");
  unsetenv("FETCH_TEST_SECRET");
  EXPECT_THROW(read_secret_env("FETCH_TEST_SECRET"), CredentialError);
}

TEST(Certificate, AssertionIsAVerifiableRs256JwtWithThumbprint) {
  TempDir dir;
  TestCert tc(dir.path);
  auto cred = CertificateCredential::load(tc.cert_file, tc.key_file, SecretString());
  // x5t = base64url(SHA-1 of the DER certificate).
  unsigned char sha1[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  X509_digest(tc.cert, EVP_sha1(), sha1, &n);
  ASSERT_EQ(n, 20u);
  EXPECT_EQ(cred->x5t(), base64url(std::string(reinterpret_cast<char*>(sha1), n)));

  const std::string aud = "https://login.example/tenant/oauth2/v2.0/token";
  const std::string jwt = cred->make_assertion("client-1", aud, 1764158400, "jti-1");
  const size_t d1 = jwt.find('.'), d2 = jwt.rfind('.');
  ASSERT_NE(d1, d2);
  const auto header = nlohmann::json::parse(b64url_decode(jwt.substr(0, d1)));
  const auto payload = nlohmann::json::parse(b64url_decode(jwt.substr(d1 + 1, d2 - d1 - 1)));
  EXPECT_EQ(header["alg"], "RS256");
  EXPECT_EQ(header["typ"], "JWT");
  EXPECT_EQ(header["x5t"], cred->x5t());
  EXPECT_EQ(payload["aud"], aud);
  EXPECT_EQ(payload["iss"], "client-1");
  EXPECT_EQ(payload["sub"], "client-1");
  EXPECT_EQ(payload["jti"], "jti-1");
  EXPECT_EQ(payload["iat"], 1764158400);
  EXPECT_GT(payload["exp"].get<long long>(), 1764158400);
  EXPECT_LE(payload["nbf"].get<long long>(), 1764158400);

  // The signature verifies with the certificate's public key.
  const std::string input = jwt.substr(0, d2);
  const std::string sig = b64url_decode(jwt.substr(d2 + 1));
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  ASSERT_EQ(EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, X509_get0_pubkey(tc.cert)), 1);
  EXPECT_EQ(EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                             reinterpret_cast<const unsigned char*>(input.data()), input.size()),
            1);
  EVP_MD_CTX_free(ctx);
}

TEST(Certificate, OneFileWithKeyAndCertificate) {
  TempDir dir;
  TestCert tc(dir.path);
  auto cred = CertificateCredential::load(tc.both_file, "", SecretString());
  EXPECT_FALSE(cred->x5t().empty());
}

TEST(Certificate, MismatchedKeyIsRejected) {
  TempDir dir;
  TestCert a(dir.path);
  TempDir dir2;
  TestCert b(dir2.path);
  EXPECT_THROW(CertificateCredential::load(a.cert_file, b.key_file, SecretString()), CredentialError);
  EXPECT_THROW(CertificateCredential::load(a.key_file, "", SecretString()), CredentialError);  // no cert
}

TEST(TokenBody, SecretAndAssertionForms) {
  ClientCredential c;
  c.client_id = "app id";
  c.secret = SecretString("a+b/c=");
  const std::string body = token_request_body(c, "https://graph.microsoft.com/.default", "u", 0, "j");
  EXPECT_EQ(
      body,
      "grant_type=client_credentials&client_id=app%20id&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default"
      "&client_secret=a%2Bb%2Fc%3D");
  TempDir dir;
  TestCert tc(dir.path);
  c.certificate = CertificateCredential::load(tc.cert_file, tc.key_file, SecretString());
  const std::string cb = token_request_body(c, "s", "https://login/t/oauth2/v2.0/token", 100, "j");
  EXPECT_NE(cb.find("client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer"),
            std::string::npos);
  EXPECT_NE(cb.find("&client_assertion=eyJ"), std::string::npos);
  EXPECT_EQ(cb.find("client_secret"), std::string::npos);
}
