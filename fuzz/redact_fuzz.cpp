// Fuzz target: the secret redactor (core/redact). It never crashes on any
// bytes; its output never holds a known secret shape (a JWT, an Entra
// client secret, a bearer token, a client_secret= / access_token= /
// password= / sig= / passphrase= / pwd= value, a PEM private key body); a
// secret planted in any of the supported forms inside arbitrary surrounding
// text never survives; the redaction only replaces spans (what it keeps is
// the input, in order); redacting the output again changes nothing
// (idempotence); and truncate_utf8 cuts on character boundaries.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "redact.h"
#include "sha256.h"

namespace {

[[noreturn]] void fail(const char* what, const std::string& in, const std::string& out) {
  std::fprintf(stderr, "VIOLATION %s\n  input:  %s\n  output: %s\n", what, in.c_str(), out.c_str());
  std::abort();
}

bool alnum(unsigned char c) { return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z'); }
bool digit(unsigned char c) { return c >= '0' && c <= '9'; }
bool alpha(unsigned char c) { return (c | 0x20) >= 'a' && (c | 0x20) <= 'z'; }
bool hexd(unsigned char c) { return digit(c) || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f'); }
bool b64url(unsigned char c) { return alnum(c) || c == '-' || c == '_'; }
bool entra(unsigned char c) { return alnum(c) || c == '_' || c == '~' || c == '.' || c == '-'; }
bool token68(unsigned char c) {
  return alnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/';
}
bool delim(unsigned char c) {
  return c <= 0x20 || c == 0x7f || c == '&' || c == '"' || c == '\'' || c == ',' || c == ';' || c == '}';
}
unsigned char lower(unsigned char c) { return (c >= 'A' && c <= 'Z') ? static_cast<unsigned char>(c | 0x20) : c; }

unsigned hexv(unsigned char c) { return digit(c) ? c - '0' : (c | 0x20) - 'a' + 10u; }

// A key may start at i: start of text, or after a character that is not a
// letter or digit, written as itself or as an escape (%26 or %2526 for '&',
// \u0026).
bool word_start(std::string_view s, size_t i) {
  auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  if (i == 0) return true;
  unsigned char c = b(i - 1);
  if (i >= 5 && b(i - 5) == '%' && b(i - 4) == '2' && b(i - 3) == '5' && hexd(b(i - 2)) && hexd(b(i - 1))) {
    c = static_cast<unsigned char>(hexv(b(i - 2)) * 16 + hexv(b(i - 1)));
  } else if (i >= 3 && b(i - 3) == '%' && hexd(b(i - 2)) && hexd(b(i - 1))) {
    c = static_cast<unsigned char>(hexv(b(i - 2)) * 16 + hexv(b(i - 1)));
  } else if (i >= 6 && b(i - 6) == '\\' && b(i - 5) == 'u' && b(i - 4) == '0' && b(i - 3) == '0' && hexd(b(i - 2)) &&
             hexd(b(i - 1))) {
    c = static_cast<unsigned char>(hexv(b(i - 2)) * 16 + hexv(b(i - 1)));
  }
  return !alnum(c);
}

bool starts_ci(std::string_view s, size_t i, std::string_view w) {
  if (s.size() - i < w.size()) return false;
  for (size_t k = 0; k < w.size(); ++k)
    if (lower(static_cast<unsigned char>(s[i + k])) != static_cast<unsigned char>(w[k])) return false;
  return true;
}

// The first known secret shape still present in `out`, or nullptr.
const char* secret_shape(std::string_view out) {
  const size_t n = out.size();
  auto at = [&](size_t i) -> unsigned char { return i < n ? static_cast<unsigned char>(out[i]) : 0; };
  for (size_t i = 0; i < n; ++i) {
    // JWT: eyJ + 10+ base64url, '.', 2+ base64url, '.'
    if (out.compare(i, 3, "eyJ") == 0 && (i == 0 || !b64url(at(i - 1)))) {
      size_t e = i;
      while (b64url(at(e))) ++e;
      if (e - i >= 10 && at(e) == '.') {
        size_t f = e + 1;
        while (b64url(at(f))) ++f;
        if (f - e - 1 >= 2 && at(f) == '.') return "JWT";
      }
    }
    // Entra client secret: 3 chars, a digit, "Q~", 31+ chars
    if (i >= 5 && at(i) == '~' && at(i - 1) == 'Q' && digit(at(i - 2)) && entra(at(i - 3)) && entra(at(i - 4)) &&
        entra(at(i - 5))) {
      size_t e = i + 1;
      while (entra(at(e))) ++e;
      if (e - i - 1 >= 31) return "Entra client secret";
    }
    // Bearer <token68 of 8+ with a digit> ending the word
    if (lower(at(i)) == 'b' && word_start(out, i) && starts_ci(out, i, "bearer") && at(i + 6) == ' ') {
      size_t p = i + 6;
      while (at(p) == ' ') ++p;
      const size_t start = p;
      bool has_digit = false;
      while (token68(at(p))) has_digit |= digit(at(p++));
      const size_t body_end = p;
      while (at(p) == '=') ++p;
      const bool challenge = p > body_end && (token68(at(p)) || at(p) == '"');
      if (body_end - start >= 8 && has_digit && !challenge && (p == n || delim(at(p)))) return "bearer token";
    }
    // PEM private key: a visible "-----BEGIN ... PRIVATE KEY-----" header is
    // followed (after whitespace) by the marker, an END line or the end.
    if (at(i) == '-' && starts_ci(out, i, "-----begin ")) {
      size_t q = i + 11;
      while (q < n && q < i + 11 + 48 && (alpha(at(q)) || at(q) == ' ')) ++q;
      const size_t words = q - (i + 11);
      bool pk = false;
      for (std::string_view tail : {std::string_view("private key"), std::string_view("private key block")}) {
        if (words >= tail.size() && starts_ci(out, q - tail.size(), tail) &&
            (q - tail.size() == i + 11 || at(q - tail.size() - 1) == ' '))
          pk = true;
      }
      if (pk && starts_ci(out, q, "-----")) {
        size_t b = q + 5;
        while (b < n && (at(b) == ' ' || at(b) == '\t' || at(b) == '\n' || at(b) == '\r' ||
                         (at(b) == '\\' && (at(b + 1) == 'n' || at(b + 1) == 'r'))))
          b += at(b) == '\\' ? 2 : 1;
        if (b < n && out.compare(b, tinv::kRedacted.size(), tinv::kRedacted) != 0 && !starts_ci(out, b, "-----end"))
          return "PEM private key body";
      }
    }
    // key=value with a plain value
    for (std::string_view key : {"client_secret=", "access_token=", "password=", "sig=", "client_assertion=",
                                 "passphrase=", "pwd=", "subscription-key="}) {
      if (lower(at(i)) == static_cast<unsigned char>(key[0]) && word_start(out, i) && starts_ci(out, i, key)) {
        const size_t v = i + key.size();
        if (!alnum(at(v))) continue;
        bool literal = false;
        for (std::string_view w : {"null", "true", "false"})
          literal |= starts_ci(out, v, w) && !alnum(at(v + w.size()));
        if (!literal) return "key=value";
      }
    }
  }
  return nullptr;
}

// What redaction keeps is the input with spans replaced by the marker: every
// piece of `out` between markers appears in `in`, in order.
bool only_replaces(std::string_view in, std::string_view out) {
  size_t pos = 0;
  size_t o = 0;
  while (o <= out.size()) {
    const size_t m = out.find(tinv::kRedacted, o);
    const std::string_view piece = out.substr(o, m == std::string_view::npos ? std::string_view::npos : m - o);
    const size_t f = in.find(piece, pos);
    if (f == std::string_view::npos) return false;
    pos = f + piece.size();
    if (m == std::string_view::npos) break;
    o = m + tinv::kRedacted.size();
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string in(reinterpret_cast<const char*>(data), size);
  const std::string out = tinv::redact_secrets(in);
  if (const char* shape = secret_shape(out)) fail(shape, in, out);
  if (!only_replaces(in, out)) fail("redaction changed more than spans", in, out);
  const std::string again = tinv::redact_secrets(out);
  if (again != out) fail("redaction is not idempotent", out, again);

  // Plant a secret in one of the supported forms inside the input. The secret
  // is derived from a hash of the input, so the surrounding text cannot
  // contain it by chance.
  if (size >= 2) {
    const std::string h = tinv::sha256_hex(in);
    const std::string secret = "S" + h.substr(0, 30) + "x";  // [0-9a-fx], 32 chars
    const size_t cut = data[0] % size;
    const std::string before = in.substr(1, cut > 0 ? cut - 1 : 0);
    const std::string after = in.substr(std::max<size_t>(cut, 1));
    std::string planted;
    switch (data[1] % 32) {
      case 0: planted = "Authorization: Bearer " + secret; break;
      case 1: planted = "Bearer " + secret; break;
      case 2: planted = "eyJ" + secret.substr(0, 12) + "." + secret.substr(12, 10) + "." + secret.substr(22); break;
      case 3: planted = "client_secret=" + secret; break;
      case 4: planted = "{\"client_secret\":\"" + secret + "\"}"; break;
      case 5: planted = "access_token=" + secret; break;
      case 6: planted = "https://blob.example/x?sv=2022-11-02&sig=" + secret; break;
      case 7: planted = "password=" + secret; break;
      case 8: planted = "https://user:" + secret + "@host.example/"; break;
      case 9: planted = "abc1Q~" + secret; break;
      case 10: planted = "client_assertion=" + secret; break;
      case 11: planted = "\"access_token\": \"" + secret + "\""; break;
      // forms from the security review (issue 12)
      case 12: planted = "eyJ" + secret.substr(0, 12) + "\n." + secret.substr(12, 10) + "\n." + secret.substr(22); break;
      case 13: planted = "eyJ" + secret.substr(0, 12) + ". " + secret.substr(12, 10) + " .\t" + secret.substr(22); break;
      case 14: planted = "{\"client_secret\":\n \"" + secret + "\"}"; break;
      case 15: planted = "client%5Fsecret=" + secret; break;
      case 16: planted = "client%255Fsecret=" + secret; break;
      case 17: planted = "?%73ig=" + secret; break;
      case 18: planted = "client_secret%253D" + secret + "%2526x"; break;
      case 19: planted = "{\"client\\u005fsecret\": \"" + secret + "\"}"; break;
      case 20: planted = "password=a," + secret; break;
      case 21: planted = "password=\"a " + secret + " c\""; break;
      case 22: planted = "Pwd=" + secret + ";"; break;
      case 23: planted = "Server=x;Password=a " + secret + ";"; break;
      case 24: planted = "-----BEGIN RSA PRIVATE KEY-----\n" + secret + "\n-----END RSA PRIVATE KEY-----"; break;
      case 25: planted = "-----BEGIN ENCRYPTED PRIVATE KEY-----\n" + secret; break;
      case 26: planted = "passphrase=," + secret; break;
      case 27: planted = "https://app.example/cb?code=" + secret + "&state=1"; break;
      case 28: planted = "Ocp-Apim-Subscription-Key: " + secret; break;
      case 29: planted = "https://api.example/x?subscription-key=" + secret; break;
      case 30: planted = "PWD='" + secret + " x'"; break;
      default: planted = "\"passphrase\"\r\n:\r\n\"" + secret + "\""; break;
    }
    const std::string text = before + "\n" + planted + "\n" + after;
    const std::string red = tinv::redact_secrets(text);
    if (red.find(secret) != std::string::npos) fail("planted secret survived", text, red);
  }

  // truncate_utf8: a prefix, never more characters than asked, never a split
  // multi-byte sequence when the input is valid.
  const size_t max = size > 0 ? data[size - 1] % 64 : 0;
  const std::string cut = tinv::truncate_utf8(in, max);
  if (in.compare(0, cut.size(), cut) != 0) fail("truncate_utf8 is not a prefix", in, cut);
  return 0;
}
