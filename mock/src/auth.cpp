#include "auth.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <memory>
#include <nlohmann/json.hpp>

#include "util.h"

namespace tinv::mock {

using nlohmann::json;

namespace {

bool split_jwt(const std::string &jwt, std::string &header_b64, std::string &payload_b64,
               std::string &sig_b64) {
  size_t a = jwt.find('.');
  if (a == std::string::npos) return false;
  size_t b = jwt.find('.', a + 1);
  if (b == std::string::npos || jwt.find('.', b + 1) != std::string::npos) return false;
  header_b64 = jwt.substr(0, a);
  payload_b64 = jwt.substr(a + 1, b - a - 1);
  sig_b64 = jwt.substr(b + 1);
  return !header_b64.empty() && !payload_b64.empty();
}

bool decode_json_segment(const std::string &b64, json &out) {
  std::string raw;
  if (!base64url_decode(b64, raw)) return false;
  out = json::parse(raw, nullptr, false);
  return !out.is_discarded() && out.is_object();
}

bool verify_rs256(const std::string &signed_part, const std::string &signature,
                  const std::string &pem, std::string &why) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
  if (!bio) {
    why = "cannot read the registered key";
    return false;
  }
  EVP_PKEY *raw_key = nullptr;
  if (pem.find("BEGIN CERTIFICATE") != std::string::npos) {
    X509 *cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr);
    if (cert != nullptr) {
      raw_key = X509_get_pubkey(cert);
      X509_free(cert);
    }
  } else {
    raw_key = PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr);
  }
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(raw_key, EVP_PKEY_free);
  if (!key) {
    why = "the registered public key PEM cannot be parsed";
    return false;
  }
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.get()) != 1) {
    why = "cannot initialise signature verification";
    return false;
  }
  int rc = EVP_DigestVerify(
      ctx.get(), reinterpret_cast<const unsigned char *>(signature.data()), signature.size(),
      reinterpret_cast<const unsigned char *>(signed_part.data()), signed_part.size());
  if (rc != 1) {
    why = "Client assertion failed signature validation.";
    return false;
  }
  return true;
}

}  // namespace

TokenIssuer::TokenIssuer(int64_t ttl_seconds, bool opaque)
    : ttl_seconds_(ttl_seconds), opaque_(opaque), key_(random_hex(32)) {}

namespace {

std::string to_hex(const std::string &bytes) {
  static const char *hex = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += hex[c >> 4];
    out += hex[c & 15];
  }
  return out;
}

bool from_hex(const std::string &text, std::string &out) {
  if (text.size() % 2 != 0) return false;
  auto val = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  out.clear();
  for (size_t i = 0; i < text.size(); i += 2) {
    const int hi = val(text[i]), lo = val(text[i + 1]);
    if (hi < 0 || lo < 0) return false;
    out += static_cast<char>(hi * 16 + lo);
  }
  return true;
}

}  // namespace

std::string TokenIssuer::issue(const std::string &tenant, const std::string &client_id) const {
  const int64_t now = now_ms();
  json header = {{"typ", "JWT"}, {"alg", "RS256"}, {"x5t", "mock-graph"}, {"kid", "mock-graph"}};
  json payload = {{"aud", "https://graph.microsoft.com"},
                  {"iss", "https://sts.windows.net/" + tenant + "/"},
                  {"iat", now / 1000},
                  {"nbf", now / 1000},
                  {"exp", now / 1000 + ttl_seconds_},
                  {"appid", client_id},
                  {"idtyp", "app"},
                  {"roles", json::array({"DeviceManagementConfiguration.Read.All",
                                         "DeviceManagementApps.Read.All"})},
                  {"tid", tenant},
                  {"nonce", random_hex(16)},
                  {"xms_mock_exp_ms", now + ttl_seconds_ * 1000}};
  std::string signed_part =
      base64url_encode(header.dump()) + "." + base64url_encode(payload.dump());
  Sha256 mac = hmac_sha256(key_, signed_part);
  const std::string jwt =
      signed_part + "." +
      base64url_encode(std::string(reinterpret_cast<const char *>(mac.data()), mac.size()));
  return opaque_ ? to_hex(jwt) : jwt;
}

TokenCheck TokenIssuer::check_header(const std::string &authorization, std::string &tenant) const {
  if (authorization.empty()) return TokenCheck::Missing;
  if (authorization.size() < 7 || to_lower(authorization.substr(0, 7)) != "bearer ")
    return TokenCheck::Malformed;
  size_t start = 7;
  while (start < authorization.size() && authorization[start] == ' ') ++start;
  std::string token = authorization.substr(start);
  while (!token.empty() && token.back() == ' ') token.pop_back();
  if (token.empty()) return TokenCheck::Missing;
  return check_token(token, tenant);
}

TokenCheck TokenIssuer::check_token(const std::string &token, std::string &tenant) const {
  if (opaque_ && token.rfind("eyJ", 0) != 0) {
    std::string jwt;
    if (!from_hex(token, jwt)) return TokenCheck::Malformed;
    TokenIssuer plain(ttl_seconds_, false);
    plain.key_ = key_;
    return plain.check_token(jwt, tenant);
  }
  std::string h, p, s;
  if (!split_jwt(token, h, p, s)) return TokenCheck::Malformed;
  Sha256 mac = hmac_sha256(key_, token.substr(0, h.size() + 1 + p.size()));
  std::string expected =
      base64url_encode(std::string(reinterpret_cast<const char *>(mac.data()), mac.size()));
  if (expected != s) return TokenCheck::BadSignature;
  json payload;
  if (!decode_json_segment(p, payload)) return TokenCheck::Malformed;
  if (!payload.contains("tid") || !payload["tid"].is_string() ||
      !payload.contains("xms_mock_exp_ms") || !payload["xms_mock_exp_ms"].is_number_integer())
    return TokenCheck::Malformed;
  if (now_ms() >= payload["xms_mock_exp_ms"].get<int64_t>()) return TokenCheck::Expired;
  tenant = payload["tid"].get<std::string>();
  return TokenCheck::Ok;
}

AssertionResult check_client_assertion(const std::string &jwt, const std::string &client_id,
                                       const std::optional<std::string> &public_key_pem) {
  AssertionResult r;
  auto fail = [&](const char *code, const std::string &msg) {
    r.ok = false;
    r.aadsts = code;
    r.message = msg;
    return r;
  };
  std::string h, p, s;
  json header, payload;
  if (!split_jwt(jwt, h, p, s) || !decode_json_segment(h, header) ||
      !decode_json_segment(p, payload))
    return fail("AADSTS50027", "JWT token is invalid or malformed.");
  if (!header.contains("alg") || header["alg"] != "RS256")
    return fail("AADSTS5002738", "Invalid JWT token. 'RS256' is the only supported algorithm.");
  for (const char *claim : {"aud", "iss", "sub", "exp", "jti"}) {
    if (!payload.contains(claim))
      return fail("AADSTS50027",
                  std::string("JWT token is invalid or malformed: missing claim '") + claim + "'.");
  }
  if (!payload["iss"].is_string() || !payload["sub"].is_string() ||
      payload["iss"] != payload["sub"])
    return fail("AADSTS700021",
                "Client assertion application identifier doesn't match "
                "'client_id' parameter: 'iss' and 'sub' must both be the client id.");
  if (!client_id.empty() && payload["sub"].get<std::string>() != client_id)
    return fail("AADSTS700021",
                "Client assertion application identifier doesn't match "
                "'client_id' parameter.");
  if (!payload["exp"].is_number() || payload["exp"].get<double>() * 1000.0 <= double(now_ms()))
    return fail("AADSTS700024", "Client assertion is not within its valid time range.");
  std::string signature;
  if (s.empty() || !base64url_decode(s, signature))
    return fail("AADSTS50027", "JWT token is invalid or malformed: bad signature encoding.");
  if (public_key_pem) {
    std::string why;
    if (!verify_rs256(jwt.substr(0, h.size() + 1 + p.size()), signature, *public_key_pem, why))
      return fail("AADSTS700027", why);
  }
  r.ok = true;
  return r;
}

}  // namespace tinv::mock
