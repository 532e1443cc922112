// Secret redaction: one forward pass over the bytes, no regular expressions.
//
// The scanner visits every byte once and, at a few trigger bytes, tries the
// rules below. A rule that matches marks a span [start, end) of the input as
// secret; overlapping or adjacent spans merge into one [REDACTED]. Rules also
// fire inside spans already marked, so a key hidden in another rule's value
// (e.g. "Bearer Authorization: x") still has its own value masked. The input
// is copied lazily up to the start of each new span.
//
// Linear time: a rule looks ahead only over (a) a bounded number of bytes
// (key names, escapes, PEM headers), (b) a blank run or word right after its
// trigger, which only the triggers just before it can reach, (c) a quoted
// value, which ends at the first closing quote, so scans of different keys do
// not overlap, or (d) a run whose result is remembered (value delimiter scans
// per mode, the search for a PEM END line, JWT and Entra runs), so later
// triggers inside it do not scan it again. Every byte read is counted
// (redact_scan_work) so tests can check the total stays proportional to the
// input.
//
// Rules (see redact.h for the list of forms):
//  - key/value: a known key (case-insensitive; '_' in a key name also matches
//    '-' or nothing, so client_secret, client-secret and clientSecret are the
//    same key; every key character may also be written %XX, %25XX, \u00XX
//    or \\u00XX) followed by '=', ':', "%3D" or "%253D", possibly after the
//    closing quote of a JSON key ("key": / \"key\": / 'key':). After a quoted
//    key, blanks, newlines (and \n \r \t escapes after \"key\") may surround
//    the separator. The value is a quoted string ("..." with JSON escapes,
//    \"...\" inside an escaped JSON string, '...') or unquoted. Objects,
//    arrays, null, true, false and empty values are left alone.
//  - unquoted values of most keys end at whitespace, & " ' , ; } a control
//    byte, \" or \u0026 (after an encoded separator also at %26 %20 %22 %2C
//    %3B, and after "%253D" at their %25-encoded forms too).
//  - password-like keys (password, passwd, pwd, passphrase) take a wider
//    unquoted value, because a password may hold any printable byte: it runs
//    to whitespace, a control byte, & ; " \" or \u0026 (encoded: also %26
//    %20 %3B), so "password=ab,cd}" loses "ab,cd}". In a connection string (the key
//    follows a ';') it runs to ';', '"' or the end of the line, spaces
//    included. "Pwd={...}" (ODBC braces) runs to the first '}'. A JSON number
//    after "password": ends like any other value.
//  - code (OAuth authorization code): only as a query/form parameter, i.e.
//    the key follows the start of the text, ? & # or whitespace (also
//    encoded), and only with '=' (or an encoded '='). A value made only of
//    lowercase letters and '_' (up to 64 bytes) is an error code such as
//    "db_error" and stays visible; an authorization code is random and
//    always has an uppercase letter, a digit or punctuation in practice.
//  - Authorization: as a key, but a leading scheme word (Bearer, Basic, ...)
//    stays visible, and in header form (Authorization: ...) the value runs to
//    the end of the line (or a quote, or an escaped \r / \n).
//  - "Bearer <token68>": a token of 8+ characters, or one that contains a
//    non-letter; "Bearer realm=..." style auth-params are not tokens.
//  - JWT/JWE: "eyJ" + base64url (10+ chars), '.', segment, '.', segment
//    (possibly empty), up to five segments; whitespace (and \n \r \t
//    escapes) may stand on either side of each dot.
//  - Entra client secrets: 3 chars + digit + "Q~" + 31 or more of
//    [A-Za-z0-9_~.-].
//  - URL user info: scheme://<userinfo>@host -> scheme://[REDACTED]@host.
//  - PEM private keys: "-----BEGIN <words> PRIVATE KEY[ BLOCK]-----": the
//    body up to the next "-----END" line (or the end of the text), without
//    the whitespace around it; both armor lines stay visible.
//
// Idempotence (redacting the output again changes nothing): the second pass
// sees [REDACTED] where a span was, so the first pass acts as it will:
//  - a key's value that another span (a JWT over lines, a PEM body) extends
//    goes on after that span as it would after [REDACTED];
//  - right after a span is a word start (the output has ']' there);
//  - no span covers the "-----END" of a PEM block whose header stays
//    visible (a span over it is cut in two), so the block ends in the same
//    place the second time.
#include "redact.h"

#include <algorithm>
#include <cstddef>

namespace tinv {

namespace {

inline bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
inline bool is_alpha(unsigned char c) { return (c | 0x20) >= 'a' && (c | 0x20) <= 'z'; }
inline bool is_alnum(unsigned char c) { return is_alpha(c) || is_digit(c); }
inline bool is_hex(unsigned char c) { return is_digit(c) || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f'); }
inline unsigned hex_value(unsigned char c) {
  return is_digit(c) ? static_cast<unsigned>(c - '0')
                     : static_cast<unsigned>((c | 0x20) - 'a' + 10);
}
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
inline bool is_space(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
inline bool is_value_delim(unsigned char c) {
  return c <= 0x20 || c == 0x7f || c == '&' || c == '"' || c == '\'' || c == ',' || c == ';' ||
         c == '}';
}

enum class KeyKind { Secret, Password, Authorization, Code };

struct KeySpec {
  const char* name;  // lowercase; '_' matches '_', '-' or nothing
  bool any_prefix;   // also matches at the end of a longer word (PGPASSWORD)
  KeyKind kind;
};

// A key that is a prefix of another comes first; a failed separator check
// moves on to the longer key.
constexpr KeySpec kKeys[] = {
    {"access_token", false, KeyKind::Secret},
    {"account_key", false, KeyKind::Secret},
    {"api_key", false, KeyKind::Secret},
    {"authorization", false, KeyKind::Authorization},
    {"client_assertion", false, KeyKind::Secret},
    {"client_secret", false, KeyKind::Secret},
    {"code", false, KeyKind::Code},
    {"code_verifier", false, KeyKind::Secret},
    {"deltatoken", false, KeyKind::Secret},
    {"id_token", false, KeyKind::Secret},
    {"passphrase", true, KeyKind::Password},
    {"passwd", true, KeyKind::Password},
    {"password", true, KeyKind::Password},
    {"pwd", false, KeyKind::Password},
    {"refresh_token", false, KeyKind::Secret},
    {"secret", false, KeyKind::Secret},
    {"secret_text", false, KeyKind::Secret},
    {"shared_access_key", false, KeyKind::Secret},
    {"sig", false, KeyKind::Secret},
    {"skiptoken", false, KeyKind::Secret},
    {"subscription_key", false, KeyKind::Secret},
};

// Authorization schemes that stay visible in front of a redacted credential.
constexpr const char* kSchemes[] = {"bearer",    "basic", "digest",
                                    "negotiate", "ntlm",  "pop",
                                    "sharedkey", "mac",   "sharedaccesssignature"};

struct TriggerTable {
  bool t[256] = {};
  bool key_start[256] = {};  // lowercase first letters of key names
  constexpr TriggerTable() {
    for (const auto& k : kKeys) {
      const auto c = static_cast<unsigned char>(k.name[0]);
      key_start[c] = true;
      t[c] = true;
      t[c & ~0x20u] = true;  // uppercase
    }
    t[static_cast<unsigned char>('%')] = true;   // %73ig=, %2573ig=
    t[static_cast<unsigned char>('\\')] = true;  // \u0073ig
    t[static_cast<unsigned char>('b')] = t[static_cast<unsigned char>('B')] = true;  // Bearer
    t[static_cast<unsigned char>('e')] = true;                                        // eyJ
    t[static_cast<unsigned char>(':')] = true;                                        // ://
    t[static_cast<unsigned char>('~')] = true;                                        // Q~
    t[static_cast<unsigned char>('-')] = true;                                        // -----BEGIN
  }
};
constexpr TriggerTable kTriggers{};

enum class Quote { None, Double, EscapedDouble, Single };

// How an unquoted value ends (see the rules above). Whether a byte ends a
// value depends only on the mode and its position, so scans are cached.
enum Mode : int {
  kPlain,      // most keys
  kPlainEnc1,  // after %3D
  kPlainEnc2,  // after %253D
  kPw,         // password-like keys
  kPwEnc1,
  kPwEnc2,
  kConn,     // password-like key in a connection string (after ';')
  kLine,     // Authorization: header, to the end of the line
  kBrace,    // Pwd={...}
  kPemEnd,   // the next -----END line
  kModes
};

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

  size_t work() const { return work_; }

 private:
  unsigned char byte(size_t i) const {
    ++work_;
    return static_cast<unsigned char>(t_[i]);
  }
  // Byte at i, or 0 past the end (0 never completes a match).
  unsigned char at(size_t i) const { return i < n_ ? byte(i) : 0; }

  bool starts_with_ci(size_t i, std::string_view word) const {
    if (i > n_ || n_ - i < word.size()) return false;
    for (size_t k = 0; k < word.size(); ++k)
      if (lower(byte(i + k)) != static_cast<unsigned char>(word[k])) return false;
    return true;
  }

  // Marks [start, end) as secret, except the "-----END" of the PEM block
  // being redacted: a span over it is cut in two, so that redacting the
  // output again finds the same END line (idempotence).
  bool redact(size_t start, size_t end) {
    if (start < guard_end_ && end > guard_start_) {
      if (start < guard_start_) mark(start, guard_start_);
      if (end > guard_end_) mark(guard_end_, end);
      return true;
    }
    return mark(start, end);
  }

  // Spans arrive in increasing start order; one that overlaps or touches the
  // previous span extends it.
  // When a later span extends a key's value span (a JWT split over lines, a
  // PEM body), the value continues after it as it would when the output is
  // redacted again, where the value starts with [REDACTED].
  bool mark(size_t start, size_t end) {
    if (redacted_ && start <= copied_) {
      if (end > copied_) {
        copied_ = end;
        if (cont_ && !in_cont_) {
          in_cont_ = true;
          const size_t more = value_end(copied_, cont_quote_, cont_mode_);
          if (more > copied_) redact(copied_, more);
          in_cont_ = false;
        }
      }
      return true;
    }
    out_.append(t_.data() + copied_, start - copied_);
    out_.append(kRedacted.data(), kRedacted.size());
    copied_ = end;
    redacted_ = true;
    cont_ = false;
    return true;
  }

  // Redacts a key's value [start, end) and remembers how it ends.
  bool redact_value(size_t start, size_t end, Quote quote, Mode mode) {
    const bool fresh = !(redacted_ && start <= copied_);
    redact(start, end);
    if (fresh) {
      cont_ = true;
      cont_quote_ = quote;
      cont_mode_ = mode;
    }
    return true;
  }

  // One character at p, literal or escaped: %XX, %25XX (double-encoded),
  // \u00XX or \\u00XX (JSON, and JSON inside a JSON string). Returns the
  // position after it (p when there is none) and the character in c.
  size_t char_at(size_t p, unsigned char& c) const {
    const unsigned char b = at(p);
    if (b == '%') {
      size_t q = p + 1;
      if (at(q) == '2' && at(q + 1) == '5' && is_hex(at(q + 2)) && is_hex(at(q + 3))) q += 2;
      if (!is_hex(at(q)) || !is_hex(at(q + 1))) return p;
      c = static_cast<unsigned char>(hex_value(at(q)) * 16 + hex_value(at(q + 1)));
      return q + 2;
    }
    if (b == '\\') {
      size_t q = p + 1;
      if (at(q) == '\\') ++q;
      if (at(q) != 'u' || at(q + 1) != '0' || at(q + 2) != '0' || !is_hex(at(q + 3)) ||
          !is_hex(at(q + 4)))
        return p;
      c = static_cast<unsigned char>(hex_value(at(q + 3)) * 16 + hex_value(at(q + 4)));
      return q + 5;
    }
    if (p >= n_) return p;
    c = b;
    return p + 1;
  }

  // The character that ends just before i, decoding an escape (%XX, %25XX,
  // \u00XX) that ends there. False at the start of the text.
  bool char_before(size_t i, unsigned char& c) const {
    if (i == 0) return false;
    if (i >= 5 && byte(i - 5) == '%' && byte(i - 4) == '2' && byte(i - 3) == '5' &&
        is_hex(byte(i - 2)) && is_hex(byte(i - 1))) {
      c = static_cast<unsigned char>(hex_value(byte(i - 2)) * 16 + hex_value(byte(i - 1)));
      return true;
    }
    if (i >= 3 && byte(i - 3) == '%' && is_hex(byte(i - 2)) && is_hex(byte(i - 1))) {
      c = static_cast<unsigned char>(hex_value(byte(i - 2)) * 16 + hex_value(byte(i - 1)));
      return true;
    }
    if (i >= 6 && byte(i - 6) == '\\' && byte(i - 5) == 'u' && byte(i - 4) == '0' &&
        byte(i - 3) == '0' && is_hex(byte(i - 2)) && is_hex(byte(i - 1))) {
      c = static_cast<unsigned char>(hex_value(byte(i - 2)) * 16 + hex_value(byte(i - 1)));
      return true;
    }
    c = byte(i - 1);
    return true;
  }

  // A key may start here: start of text, or after a character (literal or
  // escaped, such as %26 for '&') that is not a letter or digit.
  // Right after a redacted span is a start too: there the output has ']'.
  bool word_start(size_t i) const {
    if (redacted_ && i == copied_) return true;
    unsigned char c = 0;
    return !char_before(i, c) || !is_alnum(c);
  }

  // A query/form parameter may start here: start of text, or after
  // ? & # or whitespace (literal or escaped).
  bool param_start(size_t i) const {
    unsigned char c = 0;
    if (!char_before(i, c)) return true;
    return c == '?' || c == '&' || c == '#' || is_space(c);
  }

  void try_at(size_t i) {
    const unsigned char c = byte(i);
    if (c == ':') {
      try_userinfo(i);
    } else if (c == '~') {
      try_entra(i);
    } else if (c == '-') {
      try_pem(i);
    } else if (!(c == 'e' && try_jwt(i)) && !(lower(c) == 'b' && try_bearer(i))) {
      try_keys(i);
    }
  }

  // ---- key/value forms ---------------------------------------------------

  // End of `name` matched at i, or 0.
  size_t match_name(size_t i, const char* name) const {
    size_t p = i;
    for (const char* q = name; *q != '\0'; ++q) {
      unsigned char c = 0;
      const size_t e = char_at(p, c);
      if (*q == '_') {
        if (e > p && (c == '_' || c == '-')) p = e;
        continue;
      }
      if (e == p || lower(c) != static_cast<unsigned char>(*q)) return 0;
      p = e;
    }
    return p;
  }

  bool try_keys(size_t i) {
    unsigned char c = 0;
    if (char_at(i, c) == i) return false;
    c = lower(c);
    if (!kTriggers.key_start[c]) return false;
    const bool ws = word_start(i);
    for (const auto& key : kKeys) {
      if (static_cast<unsigned char>(key.name[0]) != c) continue;
      if (!key.any_prefix && !ws) continue;
      const size_t end = match_name(i, key.name);
      if (end != 0 && try_value(i, end, key.kind)) return true;
    }
    return false;
  }

  // Blanks around a separator; after a quoted key also newlines, after an
  // escaped \"key\" also the escapes \n \r \t.
  size_t skip_gap(size_t p, bool quoted_key, bool escaped_key) const {
    for (;;) {
      const unsigned char c = at(p);
      if (is_blank(c) || (quoted_key && (c == '\n' || c == '\r'))) {
        ++p;
      } else if (escaped_key && c == '\\' &&
                 (at(p + 1) == 'n' || at(p + 1) == 'r' || at(p + 1) == 't')) {
        p += 2;
      } else {
        return p;
      }
    }
  }

  // The key ends at a ';' of a connection string (blanks may follow it).
  bool after_semicolon(size_t i) const {
    while (i > 0 && is_blank(byte(i - 1))) --i;
    return i > 0 && byte(i - 1) == ';';
  }

  // After a key [key_start, p): separator, then the value.
  bool try_value(size_t key_start, size_t p, KeyKind kind) {
    const bool code = kind == KeyKind::Code;
    bool quoted_key = false;
    bool escaped_key = false;
    if (!code) {
      // closing quote of a quoted key
      if (at(p) == '\\' && at(p + 1) == '"') {
        p += 2;
        quoted_key = escaped_key = true;
      } else if (at(p) == '"' || at(p) == '\'') {
        ++p;
        quoted_key = true;
      }
      p = skip_gap(p, quoted_key, escaped_key);
    }
    int level = 0;  // how often the separator was percent-encoded
    bool colon = false;
    if (at(p) == ':' && !code) {
      colon = true;
      ++p;
    } else if (at(p) == '=') {
      ++p;
    } else if (at(p) == '%' && at(p + 1) == '3' && lower(at(p + 2)) == 'd') {
      level = 1;
      p += 3;
    } else if (at(p) == '%' && at(p + 1) == '2' && at(p + 2) == '5' && at(p + 3) == '3' &&
               lower(at(p + 4)) == 'd') {
      level = 2;
      p += 5;
    } else {
      return false;
    }
    if (code) {
      if (!param_start(key_start)) return false;
    } else {
      p = skip_gap(p, quoted_key, escaped_key);
    }

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
      if (v == '{' && kind == KeyKind::Password && !colon && level == 0) {
        // ODBC style Pwd={...}
        const size_t end = scan(kBrace, p + 1);
        return end > p + 1 && redact_value(p + 1, end, Quote::None, kBrace);
      }
      if (v == '{' || v == '[') return false;
      for (const char* lit : {"null", "true", "false"}) {
        const std::string_view w(lit);
        if (starts_with_ci(p, w) && !is_alnum(at(p + w.size()))) return false;
      }
    }

    const bool header_line = kind == KeyKind::Authorization && colon;
    Mode mode = static_cast<Mode>(kPlain + level);
    if (header_line) {
      mode = kLine;
    } else if (kind == KeyKind::Password && !(quoted_key && colon)) {
      mode = level == 0 && after_semicolon(key_start) ? kConn : static_cast<Mode>(kPw + level);
    }

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
        } else if (value_end(w, quote, mode) == w) {
          return false;  // the scheme alone ("Authorization: Bearer") is no secret
        }
      }
    }
    const size_t end = value_end(p, quote, mode);
    if (end <= p) return false;
    if (code && end - p <= 64) {
      // a lowercase word such as "db_error" is an error code, not a credential
      bool word = true;
      for (size_t k = p; k < end && word; ++k) {
        const unsigned char v = byte(k);
        word = (v >= 'a' && v <= 'z') || v == '_';
      }
      if (word) return false;
    }
    return redact_value(p, end, quote, mode);
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

  // A percent-encoded delimiter at q: %26 (&), %20, %3B (;), and for most
  // keys also %22 (") and %2C (,). Level 2 also accepts the %25XX forms.
  bool encoded_delim(size_t q, int level, bool password) const {
    if (at(q) != '%') return false;
    size_t h = q + 1;
    if (level == 2 && at(h) == '2' && at(h + 1) == '5' && at(h + 2) != 0 && at(h + 3) != 0) h += 2;
    const unsigned char a = at(h);
    const unsigned char b = lower(at(h + 1));
    if ((a == '2' && (b == '6' || b == '0')) || (a == '3' && b == 'b')) return true;
    return !password && a == '2' && (b == '2' || b == 'c');
  }

  bool escaped_quote(size_t k) const { return byte(k) == '\\' && at(k + 1) == '"'; }

  // \u0026 ('&' as JSON writers such as Go's and .NET's escape it in URLs)
  bool escaped_amp(size_t k) const {
    return byte(k) == '\\' && at(k + 1) == 'u' && at(k + 2) == '0' && at(k + 3) == '0' &&
           at(k + 4) == '2' && at(k + 5) == '6';
  }

  // Does the byte at k end a value in `mode`? (k < n_)
  bool ends(Mode mode, size_t k) const {
    const unsigned char c = byte(k);
    switch (mode) {
      case kPlain:
      case kPlainEnc1:
      case kPlainEnc2:
        return is_value_delim(c) || escaped_quote(k) || escaped_amp(k) ||
               (mode != kPlain && encoded_delim(k, mode - kPlain, false));
      case kPw:
      case kPwEnc1:
      case kPwEnc2:
        return c <= 0x20 || c == 0x7f || c == '&' || c == ';' || c == '"' || escaped_quote(k) ||
               escaped_amp(k) ||
               (mode != kPw && encoded_delim(k, mode - kPw, true));
      case kConn:
        return (c < 0x20 && c != '\t') || c == 0x7f || c == ';' || c == '"' || escaped_quote(k);
      case kLine:
        return c == '\n' || c == '\r' || c == '"' ||
               (c == '\\' && (at(k + 1) == 'r' || at(k + 1) == 'n'));
      case kBrace:
        return c == '}';
      case kPemEnd:
        return c == '-' && starts_with_ci(k, "-----end");
      case kModes:
        break;
    }
    return true;
  }

  // First k >= p where the value ends in `mode` (or n_). The last scan per
  // mode is remembered: a start inside it has the same end.
  struct ScanCache {
    size_t start = 1;
    size_t end = 0;  // empty: start > end
  };

  size_t scan(Mode mode, size_t p) {
    ScanCache& cache = caches_[mode];
    if (p >= cache.start && p <= cache.end) return cache.end;
    size_t q = p;
    while (q < n_ && !ends(mode, q)) ++q;
    cache.start = p;
    cache.end = q;
    return q;
  }

  size_t value_end(size_t p, Quote quote, Mode mode) {
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
        return std::min(q, n_);
      case Quote::EscapedDouble:
        while (q < n_ && !(byte(q) == '\\' && at(q + 1) == '"') && byte(q) != '\n') ++q;
        return q;
      case Quote::Single:
        while (q < n_ && byte(q) != '\'' && byte(q) != '\n') ++q;
        return q;
      case Quote::None:
        break;
    }
    return scan(mode, p);
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

  // Whitespace, or the JSON escapes \n \r \t, around a JWT dot.
  size_t skip_jwt_space(size_t p) const {
    for (;;) {
      if (is_space(at(p))) {
        ++p;
      } else if (at(p) == '\\' && (at(p + 1) == 'n' || at(p + 1) == 'r' || at(p + 1) == 't')) {
        p += 2;
      } else {
        return p;
      }
    }
  }

  bool try_jwt(size_t i) {
    if (i < jwt_seen_ || at(i + 1) != 'y' || at(i + 2) != 'J') return false;
    // "\neyJ..." inside a JSON string: the 'n' belongs to the escape
    const bool after_escape = i >= 2 && byte(i - 2) == '\\' &&
                              (byte(i - 1) == 'n' || byte(i - 1) == 'r' || byte(i - 1) == 't');
    if (i > 0 && is_b64url(byte(i - 1)) && !after_escape) return false;
    const size_t e1 = scan_b64url(i);
    jwt_seen_ = e1;  // no JWT can start inside this run
    if (e1 - i < 10) return false;
    size_t d = skip_jwt_space(e1);
    if (at(d) != '.') return false;
    const size_t s2 = skip_jwt_space(d + 1);
    const size_t e2 = scan_b64url(s2);
    if (e2 - s2 < 2) return false;
    d = skip_jwt_space(e2);
    if (at(d) != '.') return false;
    size_t end = d + 1;  // an unsigned JWT ends with its dot
    const size_t s3 = skip_jwt_space(d + 1);
    if (is_b64url(at(s3))) end = scan_b64url(s3);
    // JWE has five segments
    for (int seg = 3; seg < 5; ++seg) {
      d = skip_jwt_space(end);
      if (at(d) != '.') break;
      const size_t s = skip_jwt_space(d + 1);
      if (!is_b64url(at(s))) break;
      end = scan_b64url(s);
    }
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

  // ---- PEM private key --------------------------------------------------

  // Whitespace or \n \r escapes at the edges of a PEM body.
  bool pem_space_at(size_t k) const {
    return is_space(byte(k)) || (byte(k) == '\\' && (at(k + 1) == 'n' || at(k + 1) == 'r'));
  }

  bool try_pem(size_t i) {
    if (!starts_with_ci(i, "-----begin ")) return false;
    const size_t words = i + 11;
    const size_t limit = std::min(n_, words + 48);
    size_t q = words;
    while (q < limit && (is_alpha(byte(q)) || byte(q) == ' ')) ++q;
    bool private_key = false;
    for (std::string_view tail :
         {std::string_view("private key"), std::string_view("private key block")}) {
      if (q - words < tail.size()) continue;
      const size_t s = q - tail.size();
      private_key = private_key || (starts_with_ci(s, tail) && (s == words || byte(s - 1) == ' '));
    }
    if (!private_key || !starts_with_ci(q, "-----")) return false;
    size_t start = q + 5;
    while (start < n_ && pem_space_at(start)) start += byte(start) == '\\' ? 2 : 1;
    const size_t marker = scan(kPemEnd, start);
    // The body ends before the whitespace in front of the END line; this
    // trim is remembered per END line, which many headers may share.
    if (pem_trim_marker_ != marker + 1) {
      size_t e = marker;
      for (;;) {
        if (e > 0 && is_space(byte(e - 1))) {
          --e;
        } else if (e > 1 && byte(e - 2) == '\\' && (byte(e - 1) == 'n' || byte(e - 1) == 'r')) {
          e -= 2;
        } else {
          break;
        }
      }
      pem_trim_marker_ = marker + 1;
      pem_trim_end_ = e;
    }
    const size_t end = marker < n_ ? pem_trim_end_ : n_;
    // The END line is kept out of other spans only while the header stays
    // visible, i.e. while redacting the output again finds this block.
    if (marker < n_ && !(redacted_ && i < copied_)) {
      guard_start_ = marker;
      guard_end_ = marker + 8;
    }
    return end > start && redact(start, end);
  }

  std::string_view t_;
  size_t n_;
  std::string out_;
  size_t copied_ = 0;      // input bytes before this are in out_ (or redacted)
  bool redacted_ = false;  // out_ ends with the marker for a span ending at copied_
  ScanCache caches_[kModes];
  size_t jwt_seen_ = 0;    // base64url run already tried as a JWT header
  size_t entra_seen_ = 0;  // secret-shaped run already tried
  size_t pem_trim_marker_ = 0;  // END position + 1 whose trimmed end is remembered
  size_t pem_trim_end_ = 0;
  bool cont_ = false;     // the open span is a key's value that may continue
  bool in_cont_ = false;
  Quote cont_quote_ = Quote::None;
  Mode cont_mode_ = kPlain;
  size_t guard_start_ = 0;  // "-----END" bytes no span may cover
  size_t guard_end_ = 0;
  mutable size_t work_ = 0;  // bytes read, for redact_scan_work
};

}  // namespace

std::string redact_secrets(std::string_view text) { return Redactor(text).run(); }

size_t redact_scan_work(std::string_view text) {
  Redactor r(text);
  r.run();
  return r.work();
}

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
