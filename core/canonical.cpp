// Canonical JSON building blocks (RFC 8785 with arrays as sets).
//
// Compiled into the PostgreSQL extension as well as the fetcher: no
// PostgreSQL headers, no global constructors, and every allocation goes
// through std::string / std::vector so failures surface as std::bad_alloc.
#include "canonical.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <new>
#include <system_error>

namespace tinv {

namespace {

constexpr char kHexLower[] = "0123456789abcdef";

inline bool needs_escape(unsigned char c) { return c < 0x20 || c == '"' || c == '\\'; }

// True when one of the 8 bytes of `w` is < 0x20, '"' or '\\' (the classic
// SWAR "has a zero byte" / "has a byte less than n" tests, exact for "any").
inline bool word_needs_escape(uint64_t w) {
  constexpr uint64_t kOnes = 0x0101010101010101ULL;
  constexpr uint64_t kHigh = 0x8080808080808080ULL;
  const uint64_t quote = w ^ (kOnes * '"');
  const uint64_t backslash = w ^ (kOnes * '\\');
  const uint64_t control = (w - kOnes * 0x20) & ~w;
  const uint64_t is_quote = (quote - kOnes) & ~quote;
  const uint64_t is_backslash = (backslash - kOnes) & ~backslash;
  return ((control | is_quote | is_backslash) & kHigh) != 0;
}

// Writes the escape of `c` (needs_escape(c)) at `dst`; returns the end.
char* write_escape(char* dst, unsigned char c) {
  *dst++ = '\\';
  switch (c) {
    case '"': *dst++ = '"'; break;
    case '\\': *dst++ = '\\'; break;
    case '\b': *dst++ = 'b'; break;
    case '\f': *dst++ = 'f'; break;
    case '\n': *dst++ = 'n'; break;
    case '\r': *dst++ = 'r'; break;
    case '\t': *dst++ = 't'; break;
    default:
      dst[0] = 'u';
      dst[1] = '0';
      dst[2] = '0';
      dst[3] = kHexLower[c >> 4];
      dst[4] = kHexLower[c & 0xF];
      dst += 5;
  }
  return dst;
}

void append_escape(std::string& out, unsigned char c) {
  char esc[6];
  out.append(esc, static_cast<size_t>(write_escape(esc, c) - esc));
}

}  // namespace

char* write_json_string(char* dst, std::string_view s) {
  *dst++ = '"';
  const char* p = s.data();
  const char* const end = p + s.size();
  // Copy 8 bytes at a time while none of them needs an escape.
  while (end - p >= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    if (!word_needs_escape(w)) {
      std::memcpy(dst, &w, 8);
      dst += 8;
      p += 8;
      continue;
    }
    for (const char* const stop = p + 8; p != stop; ++p) {
      const auto c = static_cast<unsigned char>(*p);
      if (needs_escape(c)) {
        dst = write_escape(dst, c);
      } else {
        *dst++ = static_cast<char>(c);
      }
    }
  }
  for (; p != end; ++p) {
    const auto c = static_cast<unsigned char>(*p);
    if (needs_escape(c)) {
      dst = write_escape(dst, c);
    } else {
      *dst++ = static_cast<char>(c);
    }
  }
  *dst++ = '"';
  return dst;
}

void append_json_string(std::string& out, std::string_view s) {
  out.push_back('"');
  const char* p = s.data();
  const char* const end = p + s.size();
  const char* run = p;  // start of the pending run of verbatim bytes
  while (p != end) {
    const size_t left = static_cast<size_t>(end - p);
    if (left >= 8) {
      uint64_t w;
      std::memcpy(&w, p, 8);
      if (!word_needs_escape(w)) {  // 8 verbatim bytes
        p += 8;
        continue;
      }
    }
    const char* const stop = p + (left < 8 ? left : 8);
    for (; p != stop; ++p) {
      const auto c = static_cast<unsigned char>(*p);
      if (!needs_escape(c)) continue;
      out.append(run, static_cast<size_t>(p - run));
      append_escape(out, c);
      run = p + 1;
    }
  }
  out.append(run, static_cast<size_t>(end - run));
  out.push_back('"');
}

void append_json_number(std::string& out, double v) {
  char buf[kJsonNumberMaxSize];
  out.append(buf, static_cast<size_t>(write_json_number(buf, v) - buf));
}

char* write_json_number(char* dst, double v) {
  if (!std::isfinite(v)) throw NumberOutOfRange("number is not finite");
  if (v == 0) {  // +0 and -0
    *dst++ = '0';
    return dst;
  }

  // Shortest round-trip digits in scientific form: [-]d[.ddd]e(+|-)xx.
  char sci[40];
  const auto res = std::to_chars(sci, sci + sizeof sci, v, std::chars_format::scientific);
  // Cannot fail: 40 bytes exceed the longest double in scientific form.
  const char* p = sci;
  const char* const sci_end = res.ptr;

  char* const buf = dst;  // at most 25 bytes, e.g. "-0.00000" + 17 digits
  size_t len = 0;
  if (*p == '-') {
    buf[len++] = '-';
    ++p;
  }

  char digits[20];
  int k = 0;  // number of significant digits
  digits[k++] = *p++;
  if (p != sci_end && *p == '.') {
    ++p;
    while (p != sci_end && *p != 'e') digits[k++] = *p++;
  }
  // p is at 'e'
  ++p;
  bool neg_exp = false;
  if (*p == '-' || *p == '+') neg_exp = (*p++ == '-');
  int exp10 = 0;
  while (p != sci_end) exp10 = exp10 * 10 + (*p++ - '0');
  if (neg_exp) exp10 = -exp10;

  // ECMAScript: value = digits * 10^(n - k)
  const int n = exp10 + 1;
  if (k <= n && n <= 21) {
    std::memcpy(buf + len, digits, static_cast<size_t>(k));
    len += static_cast<size_t>(k);
    for (int z = k; z < n; ++z) buf[len++] = '0';
  } else if (0 < n && n <= 21) {
    std::memcpy(buf + len, digits, static_cast<size_t>(n));
    len += static_cast<size_t>(n);
    buf[len++] = '.';
    std::memcpy(buf + len, digits + n, static_cast<size_t>(k - n));
    len += static_cast<size_t>(k - n);
  } else if (-6 < n && n <= 0) {
    buf[len++] = '0';
    buf[len++] = '.';
    for (int z = 0; z < -n; ++z) buf[len++] = '0';
    std::memcpy(buf + len, digits, static_cast<size_t>(k));
    len += static_cast<size_t>(k);
  } else {
    buf[len++] = digits[0];
    if (k > 1) {
      buf[len++] = '.';
      std::memcpy(buf + len, digits + 1, static_cast<size_t>(k - 1));
      len += static_cast<size_t>(k - 1);
    }
    buf[len++] = 'e';
    int e = n - 1;
    buf[len++] = e < 0 ? '-' : '+';
    if (e < 0) e = -e;
    char ebuf[4];
    int elen = 0;
    do {
      ebuf[elen++] = static_cast<char>('0' + e % 10);
      e /= 10;
    } while (e != 0);
    while (elen > 0) buf[len++] = ebuf[--elen];
  }
  return buf + len;
}

namespace {

inline bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Decimal exponent of the leading significant digit plus one, i.e. the value
// lies in [10^(m-1), 10^m). Only used to tell overflow from underflow, so the
// exponent is clamped well outside the double range.
long magnitude(std::string_view text) {
  size_t i = 0;
  if (i < text.size() && text[i] == '-') ++i;
  long lead = 0;
  bool found = false;
  long int_digits = 0;
  while (i < text.size() && is_digit(text[i])) {
    if (!found && text[i] != '0') found = true;
    if (found) ++int_digits;
    ++i;
  }
  if (found) {
    lead = int_digits;
  } else if (i < text.size() && text[i] == '.') {
    ++i;
    long zeros = 0;
    while (i < text.size() && text[i] == '0') {
      ++zeros;
      ++i;
    }
    lead = -zeros;
  }
  while (i < text.size() && text[i] != 'e' && text[i] != 'E') ++i;
  long exp10 = 0;
  if (i < text.size()) {
    ++i;
    bool neg = false;
    if (i < text.size() && (text[i] == '+' || text[i] == '-')) neg = text[i++] == '-';
    while (i < text.size() && is_digit(text[i])) {
      if (exp10 < 100000000) exp10 = exp10 * 10 + (text[i] - '0');
      ++i;
    }
    if (neg) exp10 = -exp10;
  }
  if (lead > 100000000) lead = 100000000;
  if (lead < -100000000) lead = -100000000;
  return lead + exp10;
}

// RFC 8259 number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
bool is_json_number(std::string_view t) {
  size_t i = 0;
  const size_t n = t.size();
  if (i < n && t[i] == '-') ++i;
  if (i >= n) return false;
  if (t[i] == '0') {
    ++i;
  } else if (t[i] >= '1' && t[i] <= '9') {
    while (i < n && is_digit(t[i])) ++i;
  } else {
    return false;
  }
  if (i < n && t[i] == '.') {
    ++i;
    if (i >= n || !is_digit(t[i])) return false;
    while (i < n && is_digit(t[i])) ++i;
  }
  if (i < n && (t[i] == 'e' || t[i] == 'E')) {
    ++i;
    if (i < n && (t[i] == '+' || t[i] == '-')) ++i;
    if (i >= n || !is_digit(t[i])) return false;
    while (i < n && is_digit(t[i])) ++i;
  }
  return i == n;
}

}  // namespace

double parse_json_number(std::string_view text) {
  if (!is_json_number(text)) throw std::invalid_argument("not a JSON number");
  double v = 0;
  const char* const end = text.data() + text.size();
  const auto res = std::from_chars(text.data(), end, v, std::chars_format::general);
  if (res.ec == std::errc() && res.ptr == end) return v;
  if (res.ec == std::errc::result_out_of_range) {
    if (magnitude(text) > 0) throw NumberOutOfRange("number is out of the double range");
    return text[0] == '-' ? -0.0 : 0.0;
  }
  if (res.ec == std::errc::not_enough_memory) throw std::bad_alloc();
  throw std::invalid_argument("not a JSON number");
}

void append_canonical_object(std::string& out,
                             std::vector<std::pair<std::string_view, std::string>>& members) {
  std::sort(members.begin(), members.end(), [](const auto& x, const auto& y) {
    return compare_utf16(x.first, y.first) < 0;
  });
  size_t need = 2;
  for (const auto& m : members) need += m.first.size() + m.second.size() + 4;
  out.reserve(out.size() + need);
  out.push_back('{');
  bool first = true;
  for (const auto& m : members) {
    if (!first) out.push_back(',');
    first = false;
    append_json_string(out, m.first);
    out.push_back(':');
    out.append(m.second);
  }
  out.push_back('}');
}

void append_canonical_array(std::string& out, std::vector<std::string>& elements) {
  std::sort(elements.begin(), elements.end(),
            [](const std::string& x, const std::string& y) { return compare_utf16(x, y) < 0; });
  elements.erase(std::unique(elements.begin(), elements.end()), elements.end());
  size_t need = 2;
  for (const auto& e : elements) need += e.size() + 1;
  out.reserve(out.size() + need);
  out.push_back('[');
  bool first = true;
  for (const auto& e : elements) {
    if (!first) out.push_back(',');
    first = false;
    out.append(e);
  }
  out.push_back(']');
}

}  // namespace tinv
