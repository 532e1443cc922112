// Access tokens issued by the mock token endpoint, and client_assertion checks.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace tinv::mock {

enum class TokenCheck { Ok, Missing, Malformed, BadSignature, Expired };

// Issues JWT-shaped access tokens ("eyJ..." three base64url segments) carrying the
// tenant id (tid) and a random nonce, signed with a per-process HMAC key, so any
// token can be verified without keeping a table of them.
class TokenIssuer {
 public:
  // `opaque`: tokens are the hex of the signed JWT (same checks, no JWT shape).
  explicit TokenIssuer(int64_t ttl_seconds, bool opaque = false);

  int64_t ttl_seconds() const { return ttl_seconds_; }
  std::string issue(const std::string &tenant, const std::string &client_id) const;

  // Checks an Authorization header value ("Bearer <token>"); sets tenant on success.
  TokenCheck check_header(const std::string &authorization, std::string &tenant) const;
  TokenCheck check_token(const std::string &token, std::string &tenant) const;

 private:
  int64_t ttl_seconds_;
  bool opaque_;
  std::string key_;
};

struct AssertionResult {
  bool ok = false;
  std::string aadsts;   // e.g. "AADSTS700027" on failure
  std::string message;  // readable reason on failure
};

// Accepts a well-formed JWT whose header alg is RS256 and whose payload has
// aud/iss/sub/exp/jti, with iss == sub (== client_id when given) and exp in the
// future. When public_key_pem is set (a PUBLIC KEY or CERTIFICATE PEM), the RS256
// signature must verify against it.
AssertionResult check_client_assertion(const std::string &jwt, const std::string &client_id,
                                       const std::optional<std::string> &public_key_pem);

}  // namespace tinv::mock
