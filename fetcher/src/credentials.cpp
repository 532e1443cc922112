#include "credentials.h"

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <vector>

namespace fetch {

SecretString::~SecretString() {
  if (!value_.empty()) OPENSSL_cleanse(value_.data(), value_.size());
}

SecretString read_secret_file(const std::string& path, bool* loose_mode) {
  // A regular file of at most kMaxSecretFileBytes: a device (/dev/zero), a
  // FIFO or a huge file is refused before anything is read.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) throw CredentialError("cannot read secret file " + path);
  struct FdClose {
    int fd;
    ~FdClose() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw CredentialError("cannot read secret file " + path);
  if (!S_ISREG(st.st_mode)) throw CredentialError("secret file " + path + " is not a regular file");
  if (st.st_size > static_cast<off_t>(kMaxSecretFileBytes)) {
    throw CredentialError("secret file " + path + " is larger than " + std::to_string(kMaxSecretFileBytes) +
                          " bytes");
  }
  if (loose_mode) *loose_mode = (st.st_mode & (S_IRWXG | S_IRWXO)) != 0;
  std::string s(kMaxSecretFileBytes + 1, '\0');
  size_t got = 0;
  while (got < s.size()) {
    const ssize_t n = ::read(fd, &s[got], s.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      OPENSSL_cleanse(s.data(), s.size());
      throw CredentialError("cannot read secret file " + path);
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  if (got > kMaxSecretFileBytes) {
    OPENSSL_cleanse(s.data(), s.size());
    throw CredentialError("secret file " + path + " is larger than " + std::to_string(kMaxSecretFileBytes) +
                          " bytes");
  }
  s.resize(got);
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ' || s.back() == '\t')) {
    s.pop_back();
  }
  if (s.empty()) throw CredentialError("secret file " + path + " is empty");
  SecretString secret(s);
  OPENSSL_cleanse(s.data(), s.capacity());
  return secret;
}

SecretString read_secret_env(const std::string& name) {
  const char* v = std::getenv(name.c_str());
  if (!v || !*v) throw CredentialError("environment variable " + name + " is not set");
  if (std::strlen(v) > kMaxSecretFileBytes) {
    throw CredentialError("environment variable " + name + " is longer than " +
                          std::to_string(kMaxSecretFileBytes) + " bytes");
  }
  return SecretString(v);
}

std::string base64url(std::string_view bytes) {
  static const char* tbl = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  const auto b = [&](size_t k) { return static_cast<unsigned>(static_cast<unsigned char>(bytes[k])); };
  for (; i + 2 < bytes.size(); i += 3) {
    const unsigned v = (b(i) << 16) | (b(i + 1) << 8) | b(i + 2);
    out += tbl[(v >> 18) & 63];
    out += tbl[(v >> 12) & 63];
    out += tbl[(v >> 6) & 63];
    out += tbl[v & 63];
  }
  if (i + 1 == bytes.size()) {
    const unsigned v = b(i) << 16;
    out += tbl[(v >> 18) & 63];
    out += tbl[(v >> 12) & 63];
  } else if (i + 2 == bytes.size()) {
    const unsigned v = (b(i) << 16) | (b(i + 1) << 8);
    out += tbl[(v >> 18) & 63];
    out += tbl[(v >> 12) & 63];
    out += tbl[(v >> 6) & 63];
  }
  return out;
}

std::string form_encode(std::string_view value) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  out.reserve(value.size() * 3);
  for (char c : value) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += c;
    } else {
      out += '%';
      out += hex[u >> 4];
      out += hex[u & 15];
    }
  }
  return out;
}

namespace {

std::string openssl_error() {
  const unsigned long e = ERR_get_error();
  if (e == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return buf;
}

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};

int passphrase_cb(char* buf, int size, int, void* user) {
  const auto* pass = static_cast<const SecretString*>(user);
  if (!pass || pass->empty()) return 0;
  const int n = static_cast<int>(std::min<size_t>(pass->reveal().size(), static_cast<size_t>(size)));
  std::memcpy(buf, pass->reveal().data(), static_cast<size_t>(n));
  return n;
}

}  // namespace

std::shared_ptr<CertificateCredential> CertificateCredential::load(const std::string& cert_file,
                                                                   const std::string& key_file,
                                                                   const SecretString& passphrase) {
  std::shared_ptr<CertificateCredential> cred(new CertificateCredential());
  std::unique_ptr<BIO, BioFree> cbio(BIO_new_file(cert_file.c_str(), "r"));
  if (!cbio) throw CredentialError("cannot read certificate file " + cert_file);
  std::unique_ptr<X509, X509Free> cert(PEM_read_bio_X509(cbio.get(), nullptr, nullptr, nullptr));
  if (!cert) throw CredentialError("no PEM certificate in " + cert_file + ": " + openssl_error());

  const std::string& kf = key_file.empty() ? cert_file : key_file;
  std::unique_ptr<BIO, BioFree> kbio(BIO_new_file(kf.c_str(), "r"));
  if (!kbio) throw CredentialError("cannot read private key file " + kf);
  EVP_PKEY* key =
      PEM_read_bio_PrivateKey(kbio.get(), nullptr, passphrase_cb, const_cast<SecretString*>(&passphrase));
  if (!key) throw CredentialError("no usable PEM private key in " + kf + ": " + openssl_error());
  cred->key_ = key;
  if (EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA) {
    throw CredentialError("the private key in " + kf + " is not an RSA key (RS256 needs RSA)");
  }
  if (X509_check_private_key(cert.get(), key) != 1) {
    ERR_clear_error();
    throw CredentialError("the private key does not match the certificate in " + cert_file);
  }
  unsigned char der_sha1[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (X509_digest(cert.get(), EVP_sha1(), der_sha1, &n) != 1) {
    throw CredentialError("cannot compute the certificate thumbprint: " + openssl_error());
  }
  cred->x5t_ = base64url(std::string_view(reinterpret_cast<const char*>(der_sha1), n));
  return cred;
}

CertificateCredential::~CertificateCredential() {
  if (key_) EVP_PKEY_free(static_cast<EVP_PKEY*>(key_));
}

std::string CertificateCredential::make_assertion(const std::string& client_id, const std::string& audience,
                                                  long long now_unix, const std::string& jti) const {
  const nlohmann::json header = {{"alg", "RS256"}, {"typ", "JWT"}, {"x5t", x5t_}};
  const nlohmann::json payload = {{"aud", audience},      {"iss", client_id},     {"sub", client_id},
                                  {"jti", jti},           {"nbf", now_unix - 60}, {"iat", now_unix},
                                  {"exp", now_unix + 600}};
  const std::string signing_input = base64url(header.dump()) + "." + base64url(payload.dump());

  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (!ctx) throw CredentialError("out of memory");
  std::vector<unsigned char> sig;
  size_t sig_len = 0;
  bool ok =
      EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, static_cast<EVP_PKEY*>(key_)) == 1 &&
      EVP_DigestSign(ctx, nullptr, &sig_len, reinterpret_cast<const unsigned char*>(signing_input.data()),
                     signing_input.size()) == 1;
  if (ok) {
    sig.resize(sig_len);
    ok = EVP_DigestSign(ctx, sig.data(), &sig_len,
                        reinterpret_cast<const unsigned char*>(signing_input.data()),
                        signing_input.size()) == 1;
  }
  EVP_MD_CTX_free(ctx);
  if (!ok) throw CredentialError("signing the client assertion failed: " + openssl_error());
  sig.resize(sig_len);
  return signing_input + "." +
         base64url(std::string_view(reinterpret_cast<const char*>(sig.data()), sig.size()));
}

std::string token_request_body(const ClientCredential& cred, const std::string& scope,
                               const std::string& token_url, long long now_unix, const std::string& jti) {
  std::string body = "grant_type=client_credentials&client_id=" + form_encode(cred.client_id) +
                     "&scope=" + form_encode(scope);
  if (cred.uses_certificate()) {
    body +=
        "&client_assertion_type=" + form_encode("urn:ietf:params:oauth:client-assertion-type:jwt-bearer") +
        "&client_assertion=" +
        form_encode(cred.certificate->make_assertion(cred.client_id, token_url, now_unix, jti));
  } else {
    body += "&client_secret=" + form_encode(cred.secret.reveal());
  }
  return body;
}

}  // namespace fetch
