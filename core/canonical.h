// Canonical JSON (RFC 8785 / JCS with arrays treated as sets) building blocks.
//
// Plain C++17: no PostgreSQL headers. The extension drives these from jsonb,
// the fetcher from nlohmann::json (see canonical_nlohmann.h), so both produce
// byte-identical canonical text for the same document.
#pragma once

#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tinv {

// Raised when a number is outside the finite IEEE-754 double range
// (the SQL layer maps it to SQLSTATE 22003).
class NumberOutOfRange : public std::runtime_error {
 public:
  explicit NumberOutOfRange(const std::string& what) : std::runtime_error(what) {}
};

// Appends `s` (valid UTF-8) as a JSON string literal with RFC 8785 escaping:
// only \" \\ \b \f \n \r \t and \u00xx (lowercase hex) for other controls;
// everything else, '/' included, is copied verbatim.
void append_json_string(std::string& out, std::string_view s);

// Appends `v` laid out as ECMAScript Number.prototype.toString (RFC 8785
// section 3.2.2.3), using the shortest round-trip digits of std::to_chars.
// -0 is written as 0. Throws NumberOutOfRange for NaN or infinity.
void append_json_number(std::string& out, double v);

// The same two writers for a caller-managed buffer: each writes at `dst`,
// which must have room for the stated maximum, and returns the end of what it
// wrote. write_json_string needs json_string_max_size(s.size()) bytes,
// write_json_number kJsonNumberMaxSize.
constexpr size_t json_string_max_size(size_t bytes) { return 6 * bytes + 2; }
inline constexpr size_t kJsonNumberMaxSize = 32;
char* write_json_string(char* dst, std::string_view s);
char* write_json_number(char* dst, double v);

// Parses the text of a JSON number (as jsonb's numeric output or a JSON
// document spells it) to the nearest double. Throws NumberOutOfRange when the
// value overflows the finite double range; values that underflow become 0.
// Throws std::invalid_argument when `text` is not a number.
double parse_json_number(std::string_view text);

namespace detail {

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

}  // namespace detail

// Compares two UTF-8 strings as sequences of UTF-16 code units
// (RFC 8785 section 3.2.3). Returns <0, 0 or >0. Inline: it is the
// comparison of every sort of the canonical form.
inline int compare_utf16(std::string_view a, std::string_view b) {
  const size_t n = a.size() < b.size() ? a.size() : b.size();
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
  return detail::utf16_rank(pa[i]) < detail::utf16_rank(pb[i]) ? -1 : 1;
}

namespace detail {

// The 8 bytes at `p` as a big-endian number (the first byte most significant).
inline uint64_t load_be64(const unsigned char* p) {
#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  uint64_t v;
  std::memcpy(&v, p, 8);
  return __builtin_bswap64(v);
#else
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | p[i];
  return v;
#endif
}

inline uint32_t load_be32(const unsigned char* p) {
#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  uint32_t v;
  std::memcpy(&v, p, 4);
  return __builtin_bswap32(v);
#else
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
#endif
}

}  // namespace detail

// A sort key of the bytes [from, from + 8) of `s` (bytes past its end count
// as 0) consistent with compare_utf16: for strings a and b that are equal
// before `from`, utf16_order_prefix(a, from) < utf16_order_prefix(b, from)
// implies compare_utf16(a, b) < 0. Equal keys decide nothing. Sorting on
// these keys first spares most full comparisons.
inline uint64_t utf16_order_prefix(std::string_view s, size_t from) {
  const size_t avail = from < s.size() ? s.size() - from : 0;
  const auto* p = reinterpret_cast<const unsigned char*>(s.data()) + from;
  uint64_t key;
  if (avail >= 8) {
    key = detail::load_be64(p);
  } else if (avail >= 4) {  // two overlapping loads: bytes [0, 4) and [avail - 4, avail)
    key = (uint64_t{detail::load_be32(p)} << 32) | (uint64_t{detail::load_be32(p + avail - 4)} << (8 * (8 - avail)));
  } else {
    key = 0;
    for (size_t i = 0; i < avail; ++i) key |= uint64_t{p[i]} << (56 - 8 * i);
  }
  if ((key & 0x8080808080808080ULL) != 0) {  // some byte >= 0x80: rank every byte
    uint64_t ranked = 0;
    for (int shift = 56; shift >= 0; shift -= 8)
      ranked = (ranked << 8) | detail::utf16_rank(static_cast<unsigned char>(key >> shift));
    key = ranked;
  }
  return key;
}

// Writes an object whose member values are already canonical text:
// members sorted by key with compare_utf16, no whitespace. Keys must be unique.
void append_canonical_object(std::string& out,
                             std::vector<std::pair<std::string_view, std::string>>& members);

// Writes an array whose elements are already canonical text, treated as a set:
// sorted with compare_utf16 on the canonical text, duplicates removed.
void append_canonical_array(std::string& out, std::vector<std::string>& elements);

}  // namespace tinv
