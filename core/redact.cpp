// Secret redaction: one forward pass over the bytes, no regular expressions.
//
// The scanner visits every byte once and, at a few trigger bytes, tries the
// rules below. A rule that matches marks a span [start, end) of the input as
// secret; overlapping or adjacent spans merge into one [REDACTED]. Rules also
// fire inside spans already marked, so a key hidden in another rule's value
// (e.g. "Bearer Authorization: x") still has its own value masked. The input
// is copied lazily up to the start of each new span.
//
// Linear time: a rule looks ahead only over (a) a bounded number of bytes,
// (b) a blank run or word right after its trigger, which only the triggers
// just before it can reach, (c) a quoted value, which ends at the first
// closing quote, so scans of different keys do not overlap, or (d) a run
// whose result is remembered (value delimiter scans, JWT and Entra runs), so
// later triggers inside it do not scan it again.
//
// Rules (see redact.h):
//  - key/value: a known key (case-insensitive; '_' in a key name also matches
//    '-' or nothing, so client_secret, client-secret and clientSecret are the
//    same key) followed by '=', ':' or "%3D", possibly after the closing quote
//    of a JSON key ("key": / \"key\":). The value is a quoted string ("..."
//    with JSON escapes, \"...\" inside an escaped JSON string, '...') or runs
//    to the next delimiter (whitespace, & " ' , ; } or a control byte; after an
//    encoded "%3D" also %26 %20 %22 %2C %3B). Objects, arrays, null, true,
//    false and empty values are left alone.
//  - Authorization: as a key, but a leading scheme word (Bearer, Basic, ...)
//    stays visible, and in header form (Authorization: ...) the value runs to
//    the end of the line (or a quote, or an escaped \r / \n).
//  - "Bearer <token68>": a token of 8+ characters, or one that contains a
//    non-letter; "Bearer realm=..." style auth-params are not tokens.
//  - JWT/JWE: "eyJ" + base64url (10+ chars), '.', segment, '.', segment
//    (possibly empty), up to five segments.
//  - Entra client secrets: 3 chars + digit + "Q~" + 31 or more of
//    [A-Za-z0-9_~.-].
//  - URL user info: scheme://<userinfo>@host -> scheme://[REDACTED]@host.
#include "redact.h"

#include <algorithm>
#include <cstddef>

namespace tinv {

namespace {

inline bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
inline bool is_alpha(unsigned char c) { return (c | 0x20) >= 'a' && (c | 0x20) <= 'z'; }
inline bool is_alnum(unsigned char c) { return is_alpha(c) || is_digit(c); }
inline bool is_hex(unsigned char c) { return is_digit(c) || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f'); }
inline unsigned char lower(unsigned char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<unsigned char>(c | 0x20) : c;
}
inline bool is_b64url(unsigned char c) { return is_alnum(c) || c == '-' || c == '_'; }
inline bool is_token68(unsigned char c) {
  return is_alnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/';
}
inline bool is_entra(unsigned char c) {
  return is_alnum(c) || c == '_' || c == '~' || c == '.' || c == '-';
}
inline bool is_blank(unsigned char c) { return c == ' ' || c == '\t'; }
inline bool is_value_delim(unsigned char c) {
  return c <= 0x20 || c == 0x7f || c == '&' || c == '"' || c == '\'' || c == ',' || c == ';' ||
         c == '}';
}

enum class KeyKind { Secret, Authorization };

struct KeySpec {
  const char* name;  // lowercase; '_' matches '_', '-' or nothing
  bool any_prefix;   // also matches at the end of a longer word (PGPASSWORD)
  KeyKind kind;
};

constexpr KeySpec kKeys[] = {
    {"access_token", false, KeyKind::Secret},
    {"account_key", false, KeyKind::Secret},
    {"api_key", false, KeyKind::Secret},
    {"authorization", false, KeyKind::Authorization},
    {"client_assertion", false, KeyKind::Secret},
    {"client_secret", false, KeyKind::Secret},
    {"code_verifier", false, KeyKind::Secret},
    {"deltatoken", false, KeyKind::Secret},
    {"id_token", false, KeyKind::Secret},
    {"passwd", true, KeyKind::Secret},
    {"password", true, KeyKind::Secret},
    {"refresh_token", false, KeyKind::Secret},
    {"secret", false, KeyKind::Secret},
    {"secret_text", false, KeyKind::Secret},
    {"shared_access_key", false, KeyKind::Secret},
    {"sig", false, KeyKind::Secret},
    {"skiptoken", false, KeyKind::Secret},
};

// Authorization schemes that stay visible in front of a redacted credential.
constexpr const char* kSchemes[] = {"bearer",    "basic", "digest",
                                    "negotiate", "ntlm",  "pop",
                                    "sharedkey", "mac",   "sharedaccesssignature"};

struct TriggerTable {
  bool t[256] = {};
  constexpr TriggerTable() {
    for (const auto& k : kKeys) {
      const auto c = static_cast<unsigned char>(k.name[0]);
      t[c] = true;
      t[c & ~0x20u] = true;  // uppercase
    }
    t[static_cast<unsigned char>('b')] = t[static_cast<unsigned char>('B')] = true;  // Bearer
    t[static_cast<unsigned char>('e')] = true;                                        // eyJ
    t[static_cast<unsigned char>(':')] = true;                                        // ://
    t[static_cast<unsigned char>('~')] = true;                                        // Q~
  }
};
constexpr TriggerTable kTriggers{};

enum class Quote { None, Double, EscapedDouble, Single };

class Redactor {
 public:
  explicit Redactor(std::string_view text) : t_(text), n_(text.size()) {}

  std::string run() {
    out_.reserve(n_ + 16);
    for (size_t i = 0; i < n_; ++i)
      if (kTriggers.t[byte(i)]) try_at(i);
    out_.append(t_.data() + copied_, n_ - copied_);
    return std::move(out_);
  }

 private:
  unsigned char byte(size_t i) const { return static_cast<unsigned char>(t_[i]); }
  // Byte at i, or 0 past the end (0 never completes a match).
  unsigned char at(size_t i) const { return i < n_ ? byte(i) : 0; }

  bool starts_with_ci(size_t i, std::string_view word) const {
    if (n_ - i < word.size()) return false;
    for (size_t k = 0; k < word.size(); ++k)
      if (lower(byte(i + k)) != static_cast<unsigned char>(word[k])) return false;
    return true;
  }

  // Marks [start, end) as secret. Spans arrive in increasing start order;
  // one that overlaps or touches the previous span extends it.
  bool redact(size_t start, size_t end) {
    if (redacted_ && start <= copied_) {
      copied_ = std::max(copied_, end);
      return true;
    }
    out_.append(t_.data() + copied_, start - copied_);
    out_.append(kRedacted.data(), kRedacted.size());
    copied_ = end;
    redacted_ = true;
    return true;
  }

  // A key may start here: start of text, after a non-alphanumeric byte, or
  // right after a percent-escape such as %24 ($) or %26 (&).
  bool word_start(size_t i) const {
    if (i == 0 || !is_alnum(byte(i - 1))) return true;
    return i >= 3 && byte(i - 3) == '%' && is_hex(byte(i - 2)) && is_hex(byte(i - 1));
  }

  void try_at(size_t i) {
    const unsigned char c = byte(i);
    if (c == ':') {
      try_userinfo(i);
    } else if (c == '~') {
      try_entra(i);
    } else if (!(c == 'e' && try_jwt(i)) && !(lower(c) == 'b' && try_bearer(i))) {
      try_keys(i);
    }
  }

  // ---- key/value forms ---------------------------------------------------

  // End of `name` matched at i, or 0.
  size_t match_name(size_t i, const char* name) const {
    size_t p = i;
    for (const char* q = name; *q != '\0'; ++q) {
      if (*q == '_') {
        if (p < n_ && (byte(p) == '_' || byte(p) == '-')) ++p;
        continue;
      }
      if (p >= n_ || lower(byte(p)) != static_cast<unsigned char>(*q)) return 0;
      ++p;
    }
    return p;
  }

  bool try_keys(size_t i) {
    const unsigned char c = lower(byte(i));
    for (const auto& key : kKeys) {
      if (static_cast<unsigned char>(key.name[0]) != c) continue;
      if (!key.any_prefix && !word_start(i)) continue;
      const size_t end = match_name(i, key.name);
      if (end != 0 && try_value(end, key.kind)) return true;
    }
    return false;
  }

  // After a key ending at p: separator, then the value.
  bool try_value(size_t p, KeyKind kind) {
    // closing quote of a quoted key
    if (at(p) == '\\' && at(p + 1) == '"') {
      p += 2;
    } else if (at(p) == '"' || at(p) == '\'') {
      ++p;
    }
    while (is_blank(at(p))) ++p;
    bool encoded = false;
    bool colon = false;
    if (at(p) == ':') {
      colon = true;
      ++p;
    } else if (at(p) == '=') {
      ++p;
    } else if (at(p) == '%' && at(p + 1) == '3' && lower(at(p + 2)) == 'd') {
      encoded = true;
      p += 3;
    } else {
      return false;
    }
    while (is_blank(at(p))) ++p;

    Quote quote = Quote::None;
    if (at(p) == '\\' && at(p + 1) == '"') {
      quote = Quote::EscapedDouble;
      p += 2;
    } else if (at(p) == '"') {
      quote = Quote::Double;
      ++p;
    } else if (at(p) == '\'') {
      quote = Quote::Single;
      ++p;
    } else {
      const unsigned char v = at(p);
      if (v == '{' || v == '[') return false;
      for (const char* lit : {"null", "true", "false"}) {
        const std::string_view w(lit);
        if (starts_with_ci(p, w) && !is_alnum(at(p + w.size()))) return false;
      }
    }

    const bool header_line = kind == KeyKind::Authorization && colon;
    if (kind == KeyKind::Authorization) {
      // "Bearer <credential>": the scheme stays visible.
      const size_t w = scheme_end(p);
      if (w > p) {
        size_t q = w;
        for (;;) {
          if (is_blank(at(q)) || at(q) == '+') {
            ++q;
          } else if (at(q) == '%' && at(q + 1) == '2' && at(q + 2) == '0') {
            q += 3;
          } else {
            break;
          }
        }
        if (q > w) {
          p = q;
        } else if (value_end(w, quote, header_line, encoded) == w) {
          return false;  // the scheme alone ("Authorization: Bearer") is no secret
        }
      }
    }
    const size_t end = value_end(p, quote, header_line, encoded);
    return end > p && redact(p, end);
  }

  // End of a known authorization scheme word at p, or p.
  size_t scheme_end(size_t p) const {
    size_t w = p;
    while (w < n_ && is_alpha(byte(w))) ++w;
    for (const char* s : kSchemes) {
      const std::string_view scheme(s);
      if (scheme.size() == w - p && starts_with_ci(p, scheme)) return w;
    }
    return p;
  }

  bool encoded_delim(size_t q) const {
    if (at(q) != '%') return false;
    const unsigned char a = at(q + 1);
    const unsigned char b = lower(at(q + 2));
    return (a == '2' && (b == '6' || b == '0' || b == '2' || b == 'c')) || (a == '3' && b == 'b');
  }

  // End of an unquoted value starting at p. Whether a byte ends a value
  // depends only on its position, so the last scan per mode is remembered:
  // a start inside it has the same end.
  struct ScanCache {
    size_t start = 1;
    size_t end = 0;  // empty: start > end
  };

  template <typename IsEnd>
  size_t scan_until(size_t p, ScanCache& cache, IsEnd is_end) const {
    if (p >= cache.start && p <= cache.end) return cache.end;
    size_t q = p;
    while (q < n_ && !is_end(q)) ++q;
    cache.start = p;
    cache.end = q;
    return q;
  }

  size_t value_end(size_t p, Quote quote, bool header_line, bool encoded) {
    size_t q = p;
    switch (quote) {
      case Quote::Double:
        while (q < n_) {
          const unsigned char c = byte(q);
          if (c == '"' || c == '\n' || c == '\r') break;
          if (c == '\\' && q + 1 < n_ && byte(q + 1) != '\n') {
            q += 2;
          } else {
            ++q;
          }
        }
        return q;
      case Quote::EscapedDouble:
        while (q < n_ && !(byte(q) == '\\' && at(q + 1) == '"') && byte(q) != '\n') ++q;
        return q;
      case Quote::Single:
        while (q < n_ && byte(q) != '\'' && byte(q) != '\n') ++q;
        return q;
      case Quote::None:
        break;
    }
    if (header_line) {
      return scan_until(p, line_cache_, [this](size_t k) {
        const unsigned char c = byte(k);
        return c == '\n' || c == '\r' || c == '"' ||
               (c == '\\' && (at(k + 1) == 'r' || at(k + 1) == 'n'));
      });
    }
    if (encoded) {
      return scan_until(p, encoded_cache_, [this](size_t k) {
        return is_value_delim(byte(k)) || encoded_delim(k);
      });
    }
    return scan_until(p, value_cache_, [this](size_t k) { return is_value_delim(byte(k)); });
  }

  // ---- Bearer <token> ---------------------------------------------------

  bool try_bearer(size_t i) {
    if (!word_start(i) || !starts_with_ci(i, "bearer")) return false;
    size_t p = i + 6;
    const size_t blanks = p;
    for (;;) {
      if (is_blank(at(p))) {
        ++p;
      } else if (at(p) == '%' && at(p + 1) == '2' && at(p + 2) == '0') {
        p += 3;
      } else {
        break;
      }
    }
    if (p == blanks) return false;
    const size_t start = p;
    bool letters_only = true;
    while (p < n_ && is_token68(byte(p))) {
      letters_only = letters_only && is_alpha(byte(p));
      ++p;
    }
    const size_t body_end = p;
    if (body_end == start) return false;
    while (at(p) == '=') ++p;
    // "Bearer realm="x", error=..." is a challenge with auth-params.
    if (p > body_end && (is_token68(at(p)) || at(p) == '"')) return false;
    // A credential ends the word: "Bearer Authorization: x" is no token.
    const unsigned char after = at(p);
    if (p < n_ && !is_value_delim(after) && after != ')' && after != ']' && after != '>' &&
        after != '<' && after != '\\')
      return false;
    if (letters_only && body_end - start < 8) return false;  // an English word
    return redact(start, p);
  }

  // ---- JWT --------------------------------------------------------------

  size_t scan_b64url(size_t p) const {
    while (p < n_ && is_b64url(byte(p))) ++p;
    return p;
  }

  bool try_jwt(size_t i) {
    if (i < jwt_seen_ || at(i + 1) != 'y' || at(i + 2) != 'J') return false;
    if (i > 0 && is_b64url(byte(i - 1))) return false;
    const size_t e1 = scan_b64url(i);
    jwt_seen_ = e1;  // no JWT can start inside this run
    if (e1 - i < 10 || at(e1) != '.') return false;
    const size_t e2 = scan_b64url(e1 + 1);
    if (e2 - (e1 + 1) < 2 || at(e2) != '.') return false;
    size_t end = scan_b64url(e2 + 1);
    // JWE has five segments
    for (int seg = 3; seg < 5 && at(end) == '.' && is_b64url(at(end + 1)); ++seg)
      end = scan_b64url(end + 1);
    return redact(i, end);
  }

  // ---- Entra client secret ---------------------------------------------

  bool try_entra(size_t i) {
    if (i < 5 || i < entra_seen_) return false;
    if (byte(i - 1) != 'Q' || !is_digit(byte(i - 2))) return false;
    for (size_t k = i - 5; k < i - 2; ++k)
      if (!is_entra(byte(k))) return false;
    size_t end = i + 1;
    while (end < n_ && is_entra(byte(end))) ++end;
    entra_seen_ = end;  // any later "Q~" in this run has a shorter tail
    if (end - (i + 1) < 31) return false;
    return redact(i - 5, end);
  }

  // ---- URL user info ----------------------------------------------------

  bool try_userinfo(size_t i) {
    if (at(i + 1) != '/' || at(i + 2) != '/') return false;
    const size_t start = i + 3;
    size_t p = start;
    while (p < n_) {
      const unsigned char c = byte(p);
      if (c == '@' || c <= 0x20 || c == 0x7f || c == '/' || c == '?' || c == '#' || c == '\\' ||
          c == '"' || c == '\'' || c == '<' || c == '>' || c == '[' || c == ']')
        break;
      ++p;
    }
    if (at(p) != '@' || p == start) return false;
    return redact(start, p);
  }

  std::string_view t_;
  size_t n_;
  std::string out_;
  size_t copied_ = 0;      // input bytes before this are in out_ (or redacted)
  bool redacted_ = false;  // out_ ends with the marker for a span ending at copied_
  ScanCache value_cache_;
  ScanCache encoded_cache_;
  ScanCache line_cache_;
  size_t jwt_seen_ = 0;    // base64url run already tried as a JWT header
  size_t entra_seen_ = 0;  // secret-shaped run already tried
};

}  // namespace

std::string redact_secrets(std::string_view text) { return Redactor(text).run(); }

std::string truncate_utf8(std::string_view text, size_t max_chars) {
  size_t i = 0;
  size_t chars = 0;
  const size_t n = text.size();
  while (i < n && chars < max_chars) {
    const auto c = static_cast<unsigned char>(text[i]);
    size_t len = 1;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
    }
    if (len > 1) {
      // A lead byte without all its continuation bytes is one invalid char.
      if (n - i < len) {
        len = 1;
      } else {
        for (size_t k = 1; k < len; ++k) {
          if ((static_cast<unsigned char>(text[i + k]) & 0xC0) != 0x80) {
            len = 1;
            break;
          }
        }
      }
    }
    i += len;
    ++chars;
  }
  return std::string(text.substr(0, i));
}

}  // namespace tinv
