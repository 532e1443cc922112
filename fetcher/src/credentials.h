// Application credentials for the client-credentials grant: a client secret
// (read from a file or an environment variable, never from argv) or a
// certificate (client_assertion: an RS256 JWT signed with the private key,
// x5t = base64url SHA-1 thumbprint of the certificate).
#pragma once

#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

namespace fetch {

class CredentialError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A secret string that wipes its memory when destroyed.
class SecretString {
 public:
  SecretString() = default;
  explicit SecretString(std::string s) : value_(std::move(s)) {}
  SecretString(const SecretString&) = default;
  SecretString& operator=(const SecretString&) = default;
  ~SecretString();
  const std::string& reveal() const { return value_; }
  bool empty() const { return value_.empty(); }

 private:
  std::string value_;
};

// Longest secret file (and secret variable) accepted, bytes.
inline constexpr size_t kMaxSecretFileBytes = 64 * 1024;

// Reads a secret file: trailing whitespace/newlines are dropped. Throws
// CredentialError when missing, unreadable, empty, not a regular file or
// larger than kMaxSecretFileBytes. `loose_mode` (optional) is set when
// the group or others have any permission on the file.
SecretString read_secret_file(const std::string& path, bool* loose_mode = nullptr);
// Reads an environment variable. Throws CredentialError when unset/empty.
SecretString read_secret_env(const std::string& name);

// A loaded certificate credential.
class CertificateCredential {
 public:
  // `cert_file` holds the certificate (PEM); `key_file` the RSA private key
  // (PEM); both may be the same file. `passphrase` for an encrypted key.
  static std::shared_ptr<CertificateCredential> load(const std::string& cert_file,
                                                     const std::string& key_file,
                                                     const SecretString& passphrase);
  ~CertificateCredential();
  CertificateCredential(const CertificateCredential&) = delete;
  CertificateCredential& operator=(const CertificateCredential&) = delete;

  // base64url(SHA-1(DER certificate)), the JWT "x5t" header.
  const std::string& x5t() const { return x5t_; }
  // Signed client assertion for `audience` (the token endpoint URL).
  std::string make_assertion(const std::string& client_id, const std::string& audience, long long now_unix,
                             const std::string& jti) const;

 private:
  CertificateCredential() = default;
  void* key_ = nullptr;  // EVP_PKEY*
  std::string x5t_;
};

struct ClientCredential {
  std::string client_id;
  SecretString secret;                                 // secret flow
  std::shared_ptr<CertificateCredential> certificate;  // certificate flow
  bool uses_certificate() const { return certificate != nullptr; }
};

std::string base64url(std::string_view bytes);

// application/x-www-form-urlencoded encoding of one value.
std::string form_encode(std::string_view value);

// The token request body for the client-credentials grant.
std::string token_request_body(const ClientCredential& cred, const std::string& scope,
                               const std::string& token_url, long long now_unix, const std::string& jti);

}  // namespace fetch
