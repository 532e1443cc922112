// SHA-256 through OpenSSL 3 EVP.
//
// Called for every selection_hash / content hash, so the digest is fetched
// from the provider once per process and each thread reuses one EVP_MD_CTX.
// No global constructors: both live in function-local statics.
#include "sha256.h"

#include <openssl/err.h>
#include <openssl/evp.h>

#include <memory>
#include <new>
#include <stdexcept>

namespace tinv {

namespace {

const EVP_MD* sha256_md() {
  // Fetched once and kept for the life of the process. If the explicit fetch
  // is impossible (no default provider loaded), fall back to the implicitly
  // fetched legacy handle, which OpenSSL resolves on each init.
  static const EVP_MD* const md = [] {
    const EVP_MD* fetched = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    if (fetched == nullptr) {
      ERR_clear_error();
      fetched = EVP_sha256();
    }
    return fetched;
  }();
  return md;
}

struct CtxDeleter {
  void operator()(EVP_MD_CTX* ctx) const noexcept { EVP_MD_CTX_free(ctx); }
};

EVP_MD_CTX* thread_ctx() {
  thread_local std::unique_ptr<EVP_MD_CTX, CtxDeleter> ctx;
  if (!ctx) {
    ctx.reset(EVP_MD_CTX_new());
    if (!ctx) throw std::bad_alloc();
  }
  return ctx.get();
}

[[noreturn]] void openssl_failure(const char* what) {
  ERR_clear_error();  // leave no stale errors for other OpenSSL users
  throw std::runtime_error(what);
}

}  // namespace

Sha256Digest sha256(std::string_view data) {
  const EVP_MD* md = sha256_md();
  if (md == nullptr) openssl_failure("OpenSSL: SHA-256 is not available");
  EVP_MD_CTX* ctx = thread_ctx();
  Sha256Digest digest{};
  unsigned int len = 0;
  if (EVP_DigestInit_ex2(ctx, md, nullptr) != 1 ||
      EVP_DigestUpdate(ctx, data.data(), data.size()) != 1 ||
      EVP_DigestFinal_ex(ctx, digest.data(), &len) != 1 || len != digest.size()) {
    openssl_failure("OpenSSL: SHA-256 computation failed");
  }
  return digest;
}

std::string to_hex(const unsigned char* data, size_t len) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(len * 2, '\0');
  for (size_t i = 0; i < len; ++i) {
    out[2 * i] = kHex[data[i] >> 4];
    out[2 * i + 1] = kHex[data[i] & 0xF];
  }
  return out;
}

std::string sha256_hex(std::string_view data) {
  const Sha256Digest d = sha256(data);
  return to_hex(d.data(), d.size());
}

}  // namespace tinv
