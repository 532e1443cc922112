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

void append_escape(std::string& out, unsigned char c) {
  switch (c) {
    case '"': out.append("\\\"", 2); break;
    case '\\': out.append("\\\\", 2); break;
    case '\b': out.append("\\b", 2); break;
    case '\f': out.append("\\f", 2); break;
    case '\n': out.append("\\n", 2); break;
    case '\r': out.append("\\r", 2); break;
    case '\t': out.append("\\t", 2); break;
    default: {
      const char esc[6] = {'\\', 'u', '0', '0', kHexLower[c >> 4], kHexLower[c & 0xF]};
      out.append(esc, sizeof esc);
    }
  }
}

}  // namespace

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
  if (!std::isfinite(v)) throw NumberOutOfRange("number is not finite");
  if (v == 0) {  // +0 and -0
    out.push_back('0');
    return;
  }

  // Shortest round-trip digits in scientific form: [-]d[.ddd]e(+|-)xx.
  char sci[40];
  const auto res = std::to_chars(sci, sci + sizeof sci, v, std::chars_format::scientific);
  // Cannot fail: 40 bytes exceed the longest double in scientific form.
  const char* p = sci;
  const char* const sci_end = res.ptr;

  char buf[48];  // laid-out result; longest is "-0.000000" + 17 digits
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
  out.append(buf, len);
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

namespace {

// Lexicographic order on UTF-8 bytes equals code point order. UTF-16 code
// unit order differs only in that supplementary code points (4-byte UTF-8,
// lead byte F0..F4, surrogates D800..DFFF) sort before U+E000..U+FFFF
// (lead bytes EE, EF). At the first differing byte the two strings share the
// bytes before it, so this byte decides; remapping the lead bytes F0..FF below
// EE..EF gives UTF-16 order for valid UTF-8 and a total order for any bytes.
inline unsigned utf16_rank(unsigned char c) {
  if (c >= 0xF0) return c - 0xF0u + 0xEEu;  // F0..FF -> EE..FD
  if (c >= 0xEE) return c + 0x10u;          // EE, EF -> FE, FF
  return c;
}

}  // namespace

int compare_utf16(std::string_view a, std::string_view b) {
  const size_t n = std::min(a.size(), b.size());
  const auto* pa = reinterpret_cast<const unsigned char*>(a.data());
  const auto* pb = reinterpret_cast<const unsigned char*>(b.data());
  size_t i = 0;
  // Skip equal 8-byte blocks, then find the differing byte.
  while (i + 8 <= n) {
    uint64_t wa;
    uint64_t wb;
    std::memcpy(&wa, pa + i, 8);
    std::memcpy(&wb, pb + i, 8);
    if (wa != wb) break;
    i += 8;
  }
  while (i < n && pa[i] == pb[i]) ++i;
  if (i == n) return a.size() < b.size() ? -1 : (a.size() > b.size() ? 1 : 0);
  return utf16_rank(pa[i]) < utf16_rank(pb[i]) ? -1 : 1;
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
