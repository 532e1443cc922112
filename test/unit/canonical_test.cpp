// Canonical JSON building blocks: number layout, number parsing, string
// escaping, UTF-16 key order, objects and arrays-as-sets.
#include <gtest/gtest.h>

#include <cinttypes>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "canonical.h"
#include "canonical_nlohmann.h"

namespace {

using tinv::append_json_number;
using tinv::compare_utf16;
using tinv::NumberOutOfRange;
using tinv::parse_json_number;

double from_bits(uint64_t bits) {
  double d;
  std::memcpy(&d, &bits, sizeof d);
  return d;
}

std::string number_text(double v) {
  std::string out;
  append_json_number(out, v);
  return out;
}

std::string string_text(std::string_view s) {
  std::string out;
  tinv::append_json_string(out, s);
  return out;
}

// ---- number layout -------------------------------------------------------

// RFC 8785 Appendix B: IEEE-754 bit patterns and their canonical text.
TEST(NumberLayout, Rfc8785AppendixB) {
  const struct {
    uint64_t bits;
    const char* text;
  } cases[] = {
      {0x0000000000000000, "0"},
      {0x8000000000000000, "0"},
      {0x0000000000000001, "5e-324"},
      {0x8000000000000001, "-5e-324"},
      {0x7fefffffffffffff, "1.7976931348623157e+308"},
      {0xffefffffffffffff, "-1.7976931348623157e+308"},
      {0x4340000000000000, "9007199254740992"},
      {0xc340000000000000, "-9007199254740992"},
      {0x4430000000000000, "295147905179352830000"},
      {0x44b52d02c7e14af5, "9.999999999999997e+22"},
      {0x44b52d02c7e14af6, "1e+23"},
      {0x44b52d02c7e14af7, "1.0000000000000001e+23"},
      {0x444b1ae4d6e2ef4e, "999999999999999700000"},
      {0x444b1ae4d6e2ef4f, "999999999999999900000"},
      {0x444b1ae4d6e2ef50, "1e+21"},
      {0x3eb0c6f7a0b5ed8c, "9.999999999999997e-7"},
      {0x3eb0c6f7a0b5ed8d, "0.000001"},
      {0x41b3de4355555553, "333333333.3333332"},
      {0x41b3de4355555554, "333333333.33333325"},
      {0x41b3de4355555555, "333333333.3333333"},
      {0x41b3de4355555556, "333333333.3333334"},
      {0x41b3de4355555557, "333333333.33333343"},
      {0xbecbf647612f3696, "-0.0000033333333333333333"},
      {0x43143ff3c1cb0959, "1424953923781206.2"},
  };
  for (const auto& c : cases) {
    char hex[32];
    std::snprintf(hex, sizeof hex, "%016" PRIx64, c.bits);
    EXPECT_EQ(number_text(from_bits(c.bits)), c.text) << "bits " << hex;
  }
}

// RFC 8785 Appendix B also lists NaN and Infinity: they must be rejected.
TEST(NumberLayout, NonFiniteIsOutOfRange) {
  EXPECT_THROW(number_text(from_bits(0x7fffffffffffffff)), NumberOutOfRange);
  EXPECT_THROW(number_text(from_bits(0x7ff0000000000000)), NumberOutOfRange);
  EXPECT_THROW(number_text(-std::numeric_limits<double>::infinity()), NumberOutOfRange);
  EXPECT_THROW(number_text(std::numeric_limits<double>::quiet_NaN()), NumberOutOfRange);
}

// Each layout branch of Number.prototype.toString and its boundaries.
TEST(NumberLayout, EcmaScriptLayoutRules) {
  const struct {
    double v;
    const char* text;
  } cases[] = {
      // k <= n <= 21: integer digits padded with zeros
      {1, "1"},
      {-1, "-1"},
      {100, "100"},
      {4294967295.0, "4294967295"},
      {9007199254740991.0, "9007199254740991"},
      {123456789012345680000.0, "123456789012345680000"},
      {1e20, "100000000000000000000"},
      {18446744073709551616.0, "18446744073709552000"},
      {12345678901234567890.0, "12345678901234567000"},
      // n > 21: exponent form
      {1e21, "1e+21"},
      {1e23, "1e+23"},
      {1e30, "1e+30"},
      {-1.5e300, "-1.5e+300"},
      {1.7976931348623157e308, "1.7976931348623157e+308"},
      // 0 < n <= 21: decimal point inside the digits
      {4.5, "4.5"},
      {4.35, "4.35"},
      {-0.5e1, "-5"},
      {333333333.3333333, "333333333.3333333"},
      {0.1 + 0.2, "0.30000000000000004"},
      {123456789012345.67, "123456789012345.67"},
      {1.5, "1.5"},
      // -6 < n <= 0: leading "0."
      {0.5, "0.5"},
      {0.1, "0.1"},
      {0.002, "0.002"},
      {0.000001, "0.000001"},
      {0.0000012, "0.0000012"},
      {-0.00001, "-0.00001"},
      {0.000123456789, "0.000123456789"},
      // n <= -6: exponent form with negative exponent
      {1e-7, "1e-7"},
      {-1e-7, "-1e-7"},
      {1.5e-7, "1.5e-7"},
      {1.23e-18, "1.23e-18"},
      {1e-27, "1e-27"},
      {5e-324, "5e-324"},
      {2.2250738585072014e-308, "2.2250738585072014e-308"},
      // zero
      {0.0, "0"},
      {-0.0, "0"},
  };
  for (const auto& c : cases) EXPECT_EQ(number_text(c.v), c.text) << "value " << c.text;
}

TEST(NumberLayout, AppendsToExistingText) {
  std::string out = "[1,";
  append_json_number(out, 2.5);
  EXPECT_EQ(out, "[1,2.5");
}

// A few thousand doubles and their String(value) from a JavaScript engine.
TEST(NumberLayout, MatchesJavaScriptOnRecordedSample) {
  std::ifstream in(TINV_UNIT_DATA_DIR "/es_number_tostring.txt");
  ASSERT_TRUE(in) << "missing data file";
  std::string line;
  int checked = 0;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    std::string hex;
    std::string expected;
    fields >> hex >> expected;
    const uint64_t bits = std::stoull(hex, nullptr, 16);
    EXPECT_EQ(number_text(from_bits(bits)), expected) << "bits " << hex;
    ++checked;
  }
  EXPECT_GE(checked, 2500);
}

// The written text reads back as the same double (shortest round trip), and
// never carries more digits than %.17g needs.
TEST(NumberLayout, RoundTripsRandomDoubles) {
  std::mt19937_64 rng(20240611);
  for (int i = 0; i < 200000; ++i) {
    const double v = from_bits(rng());
    if (!std::isfinite(v)) continue;
    const std::string text = number_text(v);
    const double back = parse_json_number(text);
    ASSERT_EQ(std::memcmp(&back, &v, sizeof v) == 0 || (v == 0 && back == 0), true) << text;
  }
}

// ---- number parsing ------------------------------------------------------

TEST(ParseJsonNumber, NearestDouble) {
  EXPECT_EQ(parse_json_number("0"), 0.0);
  EXPECT_EQ(parse_json_number("-1"), -1.0);
  EXPECT_EQ(parse_json_number("4.50"), 4.5);
  EXPECT_EQ(parse_json_number("2e-3"), 0.002);
  EXPECT_EQ(parse_json_number("1E30"), 1e30);
  EXPECT_EQ(parse_json_number("1e+23"), 1e23);
  EXPECT_EQ(parse_json_number("333333333.33333329"), 333333333.3333333);
  EXPECT_EQ(parse_json_number("0.000000000000000000000000001"), 1e-27);
  EXPECT_EQ(parse_json_number("9007199254740993"), 9007199254740992.0);  // ties to even
  EXPECT_EQ(parse_json_number("1.7976931348623157e308"), 1.7976931348623157e308);
  EXPECT_EQ(parse_json_number("2.4703282292062328e-324"), 5e-324);
  const double neg_zero = parse_json_number("-0");
  EXPECT_EQ(neg_zero, 0.0);
  EXPECT_TRUE(std::signbit(neg_zero));
}

// jsonb's numeric output never uses an exponent: 1e400 arrives as 401 digits.
TEST(ParseJsonNumber, LongNumericText) {
  const std::string huge = "1" + std::string(400, '0');
  EXPECT_THROW(parse_json_number(huge), NumberOutOfRange);
  EXPECT_THROW(parse_json_number("-" + huge), NumberOutOfRange);
  EXPECT_THROW(parse_json_number(huge + ".5"), NumberOutOfRange);
  const std::string tiny = "0." + std::string(400, '0') + "1";
  EXPECT_EQ(parse_json_number(tiny), 0.0);
  EXPECT_EQ(parse_json_number("-" + tiny), 0.0);
  // 1e22 written out, then with 300 fractional digits of noise
  EXPECT_EQ(parse_json_number("10000000000000000000000"), 1e22);
  EXPECT_EQ(parse_json_number("1." + std::string(300, '0') + "1"), 1.0);
  // exactly representable with many digits: 2^-30
  EXPECT_EQ(parse_json_number("0.000000000931322574615478515625"), std::ldexp(1.0, -30));
  // max double written out in full rounds to itself; just above halfway overflows
  EXPECT_EQ(parse_json_number("17976931348623157" + std::string(292, '0')),
            1.7976931348623157e308);
  EXPECT_THROW(parse_json_number("17976931348623159" + std::string(292, '0')),
               NumberOutOfRange);
}

TEST(ParseJsonNumber, ExponentRange) {
  EXPECT_THROW(parse_json_number("1e400"), NumberOutOfRange);
  EXPECT_THROW(parse_json_number("-1e400"), NumberOutOfRange);
  EXPECT_THROW(parse_json_number("1e99999999999999999999"), NumberOutOfRange);
  EXPECT_THROW(parse_json_number("1.7976931348623159e308"), NumberOutOfRange);
  EXPECT_THROW(parse_json_number("0.001e312"), NumberOutOfRange);
  EXPECT_EQ(parse_json_number("1e-400"), 0.0);
  EXPECT_EQ(parse_json_number("-1e-400"), 0.0);
  EXPECT_EQ(parse_json_number("1e-99999999999999999999"), 0.0);
  EXPECT_EQ(parse_json_number("2.4703282292062327e-324"), 0.0);
  EXPECT_EQ(parse_json_number("1000e-326"), 1e-323);
  EXPECT_EQ(parse_json_number("0e999999"), 0.0);
}

TEST(ParseJsonNumber, RejectsNonNumbers) {
  for (const char* bad : {"", "-", "+1", "01", "-01", "1.", ".5", "1e", "1e+", "1.e5", "NaN",
                          "Infinity", "-Infinity", "inf", "0x10", " 1", "1 ", "1,5", "1_000",
                          "--1", "1e5.5", "true"}) {
    EXPECT_THROW(parse_json_number(bad), std::invalid_argument) << '"' << bad << '"';
  }
}

// ---- strings ---------------------------------------------------------------

TEST(JsonString, Rfc8785Escaping) {
  EXPECT_EQ(string_text(""), R"("")");
  EXPECT_EQ(string_text("plain"), R"("plain")");
  EXPECT_EQ(string_text("a\"b\\c"), R"("a\"b\\c")");
  EXPECT_EQ(string_text("\b\f\n\r\t"), R"("\b\f\n\r\t")");
  EXPECT_EQ(string_text(std::string_view("\0\x01\x1f", 3)), R"("\u0000\u0001\u001f")");
  EXPECT_EQ(string_text("\x0b\x0e\x1a"), R"("\u000b\u000e\u001a")");
  EXPECT_EQ(string_text("/</script>"), R"("/</script>")");
  EXPECT_EQ(string_text("\x7f"), "\"\x7f\"");
  EXPECT_EQ(string_text("\xe2\x82\xac$\xf0\x9f\x98\x82 \xc3\xb6"), "\"\xe2\x82\xac$\xf0\x9f\x98\x82 \xc3\xb6\"");
  EXPECT_EQ(string_text(std::string_view("x\0y", 3)), R"("x\u0000y")");
}

TEST(JsonString, EveryControlCharacter) {
  for (int c = 0; c < 0x20; ++c) {
    const std::string in(1, static_cast<char>(c));
    const std::string text = string_text(in);
    if (c == '\b' || c == '\f' || c == '\n' || c == '\r' || c == '\t') {
      EXPECT_EQ(text.size(), 4u) << c;
    } else {
      char expected[16];
      std::snprintf(expected, sizeof expected, "\"\\u%04x\"", c);
      EXPECT_EQ(text, expected);
    }
  }
  for (int c = 0x20; c < 0x100; ++c) {
    if (c == '"' || c == '\\') continue;
    const std::string in(1, static_cast<char>(c));
    EXPECT_EQ(string_text(in), "\"" + in + "\"") << c;
  }
}

// Byte-at-a-time reference of the RFC 8785 escaping rules.
std::string reference_string_text(std::string_view s) {
  std::string out = "\"";
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out.push_back(ch);
        }
    }
  }
  return out + "\"";
}

// The writer skips 8 plain bytes at a time: specials at every offset, next to
// high bytes, in strings of every length around the word size.
TEST(JsonString, MatchesReferenceOnRandomStrings) {
  std::mt19937 rng(3);
  const unsigned char specials[] = {0x00, 0x01, 0x08, 0x0a, 0x1f, 0x20, 0x21, '"',  '\\',
                                    '/',  0x5b, 0x5d, 0x7f, 0x80, 0x9f, 0xa2, 0xdc, 0xff};
  for (int i = 0; i < 100000; ++i) {
    std::string s(rng() % 40, '\0');
    for (auto& ch : s) {
      ch = static_cast<char>(rng() % 4 == 0 ? specials[rng() % sizeof specials]
                                            : (rng() % 2 ? 'a' + rng() % 26 : rng() % 256));
    }
    ASSERT_EQ(string_text(s), reference_string_text(s));
  }
  for (size_t len = 1; len <= 24; ++len) {
    for (size_t pos = 0; pos < len; ++pos) {
      for (const unsigned char sp : specials) {
        std::string s(len, '\xc3');
        s[pos] = static_cast<char>(sp);
        ASSERT_EQ(string_text(s), reference_string_text(s)) << len << " " << pos;
      }
    }
  }
}

TEST(JsonString, LongRunsAndAppend) {
  std::string big(100000, 'x');
  big[50000] = '\n';
  std::string out = "prefix:";
  tinv::append_json_string(out, big);
  EXPECT_EQ(out.size(), 7 + 2 + 100000 + 1);
  EXPECT_EQ(out.substr(0, 8), "prefix:\"");
  EXPECT_EQ(out.substr(7 + 1 + 50000, 2), "\\n");
}

// ---- UTF-16 order ------------------------------------------------------------

int sign(int v) { return (v > 0) - (v < 0); }

TEST(CompareUtf16, AsciiAndPrefixes) {
  EXPECT_EQ(compare_utf16("", ""), 0);
  EXPECT_LT(compare_utf16("", "a"), 0);
  EXPECT_GT(compare_utf16("a", ""), 0);
  EXPECT_LT(compare_utf16("a", "b"), 0);
  EXPECT_LT(compare_utf16("A", "a"), 0);
  EXPECT_LT(compare_utf16("1", "10"), 0);
  EXPECT_LT(compare_utf16("10", "2"), 0);
  EXPECT_EQ(compare_utf16("policy_types", "policy_types"), 0);
  EXPECT_LT(compare_utf16("abcdefghijklmnop", "abcdefghijklmnopq"), 0);
  EXPECT_GT(compare_utf16("abcdefghijklmnopr", "abcdefghijklmnopq"), 0);
  EXPECT_LT(compare_utf16(std::string_view("a\0b", 3), std::string_view("a\0c", 3)), 0);
  EXPECT_LT(compare_utf16(std::string_view("a", 1), std::string_view("a\0", 2)), 0);
}

TEST(CompareUtf16, BmpCharacters) {
  EXPECT_LT(compare_utf16("z", "\xc3\xb6"), 0);                 // z < U+00F6
  EXPECT_LT(compare_utf16("\xc3\xb6", "\xe2\x82\xac"), 0);      // U+00F6 < U+20AC
  EXPECT_LT(compare_utf16("\xe2\x82\xac", "\xef\xac\xb3"), 0);  // U+20AC < U+FB33
  EXPECT_LT(compare_utf16("\xed\x9f\xbf", "\xee\x80\x80"), 0);  // U+D7FF < U+E000
  EXPECT_LT(compare_utf16("peach", "p\xc3\xa9" "ch\xc3\xa9"), 0);
  EXPECT_LT(compare_utf16("p\xc3\xa9" "ch\xc3\xa9", "p\xc3\xaa" "che"), 0);
}

// Supplementary characters are surrogate pairs D800..DFFF in UTF-16 and sort
// before U+E000..U+FFFF, although their code points are larger.
TEST(CompareUtf16, AstralBeforeHighBmp) {
  const std::string grin = "\xf0\x9f\x98\x80";    // U+1F600
  const std::string joy = "\xf0\x9f\x98\x82";     // U+1F602
  const std::string fffd = "\xef\xbf\xbd";        // U+FFFD
  const std::string e000 = "\xee\x80\x80";        // U+E000
  const std::string dalet = "\xef\xac\xb3";       // U+FB33
  const std::string d7ff = "\xed\x9f\xbf";        // U+D7FF
  const std::string max = "\xf4\x8f\xbf\xbf";     // U+10FFFF
  const std::string linear_b = "\xf0\x90\x80\x80";  // U+10000
  EXPECT_LT(compare_utf16(grin, fffd), 0);
  EXPECT_GT(compare_utf16(fffd, grin), 0);
  EXPECT_LT(compare_utf16(joy, dalet), 0);
  EXPECT_LT(compare_utf16(max, e000), 0);
  EXPECT_LT(compare_utf16(linear_b, e000), 0);
  EXPECT_GT(compare_utf16(linear_b, d7ff), 0);
  EXPECT_LT(compare_utf16(grin, joy), 0);
  EXPECT_LT(compare_utf16(linear_b, max), 0);
  EXPECT_LT(compare_utf16("x" + grin + "a", "x" + fffd), 0);
  EXPECT_LT(compare_utf16("same-prefix-long-" + grin, "same-prefix-long-" + e000), 0);
}

std::u16string to_utf16(const std::u32string& s) {
  std::u16string out;
  for (char32_t c : s) {
    if (c >= 0x10000) {
      c -= 0x10000;
      out.push_back(static_cast<char16_t>(0xD800 + (c >> 10)));
      out.push_back(static_cast<char16_t>(0xDC00 + (c & 0x3FF)));
    } else {
      out.push_back(static_cast<char16_t>(c));
    }
  }
  return out;
}

std::string to_utf8(const std::u32string& s) {
  std::string out;
  for (char32_t c : s) {
    if (c < 0x80) {
      out.push_back(static_cast<char>(c));
    } else if (c < 0x800) {
      out.push_back(static_cast<char>(0xC0 | (c >> 6)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    } else if (c < 0x10000) {
      out.push_back(static_cast<char>(0xE0 | (c >> 12)));
      out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xF0 | (c >> 18)));
      out.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    }
  }
  return out;
}

// Against a reference: encode random strings to UTF-16 and compare the
// code unit sequences.
TEST(CompareUtf16, AgreesWithUtf16EncodingOnRandomStrings) {
  std::mt19937 rng(7);
  const char32_t pools[][2] = {{0x20, 0x7f},      {0x80, 0x7ff},     {0x800, 0xd7ff},
                               {0xe000, 0xffff},  {0x10000, 0x1ffff}, {0x100000, 0x10ffff}};
  auto random_string = [&] {
    std::u32string s;
    const int len = static_cast<int>(rng() % 6);
    for (int k = 0; k < len; ++k) {
      const auto& p = pools[rng() % 6];
      s.push_back(p[0] + static_cast<char32_t>(rng() % (p[1] - p[0] + 1)));
    }
    return s;
  };
  for (int i = 0; i < 50000; ++i) {
    std::u32string a = random_string();
    std::u32string b = (rng() % 3 == 0) ? a + random_string() : random_string();
    if (rng() % 2) std::swap(a, b);
    const int expected = sign(to_utf16(a).compare(to_utf16(b)));
    ASSERT_EQ(sign(compare_utf16(to_utf8(a), to_utf8(b))), expected);
  }
}

// The 8-byte sort key: a smaller key of strings equal before `from` means a
// smaller string in UTF-16 order; equal first 8 bytes give equal keys; bytes
// past the end count as 0 (a prefix sorts first).
TEST(Utf16OrderPrefix, ConsistentWithCompareUtf16) {
  std::mt19937 rng(11);
  const char32_t pools[][2] = {{0x20, 0x7f}, {0x80, 0x7ff}, {0x800, 0xd7ff}, {0xe000, 0xffff}, {0x10000, 0x10ffff}};
  auto random_string = [&](int max_len) {
    std::u32string s;
    const int len = static_cast<int>(rng() % static_cast<unsigned>(max_len + 1));
    for (int k = 0; k < len; ++k) {
      const auto& p = pools[rng() % 5];
      s.push_back(p[0] + static_cast<char32_t>(rng() % (p[1] - p[0] + 1)));
    }
    return s;
  };
  long decided = 0;
  for (int i = 0; i < 100000; ++i) {
    const std::u32string common = random_string(3);
    const std::string a = to_utf8(common + random_string(5));
    const std::string b = to_utf8(common + random_string(5));
    const size_t from = to_utf8(common).size();
    const uint64_t ka = tinv::utf16_order_prefix(a, from), kb = tinv::utf16_order_prefix(b, from);
    const int cmp = sign(compare_utf16(a, b));
    if (ka < kb) {
      ASSERT_EQ(cmp, -1) << i;
      ++decided;
    } else if (ka > kb) {
      ASSERT_EQ(cmp, 1) << i;
      ++decided;
    }
    if (a.size() >= from + 8 && b.size() >= from + 8 && a.compare(from, 8, b, from, 8) == 0) {
      ASSERT_EQ(ka, kb);
    }
  }
  EXPECT_GT(decided, 90000);  // the keys decide almost every pair by themselves
}

TEST(Utf16OrderPrefix, ShortTailsAndPastTheEnd) {
  // Lengths 0..8 of an ASCII string: each key orders it before its one-byte
  // extension; past 8 bytes the key no longer tells them apart.
  const std::string s = "abcdefghi";
  for (size_t n = 0; n < 8; ++n) {
    EXPECT_LT(tinv::utf16_order_prefix(s.substr(0, n), 0), tinv::utf16_order_prefix(s.substr(0, n + 1), 0)) << n;
  }
  EXPECT_EQ(tinv::utf16_order_prefix(s.substr(0, 8), 0), tinv::utf16_order_prefix(s, 0));
  EXPECT_EQ(tinv::utf16_order_prefix("abc", 3), 0u);
  EXPECT_EQ(tinv::utf16_order_prefix("abc", 10), 0u);
  // Lengths 4..7 (two overlapping loads) keep every byte in place.
  EXPECT_EQ(tinv::utf16_order_prefix("abcde", 0), 0x6162636465000000ULL);
  EXPECT_EQ(tinv::utf16_order_prefix("xabcdefg", 1), 0x6162636465666700ULL);
  // U+FF61 (3 bytes, one UTF-16 unit) sorts after U+10000 (4 bytes, a surrogate pair).
  EXPECT_GT(tinv::utf16_order_prefix("\xef\xbd\xa1", 0), tinv::utf16_order_prefix("\xf0\x90\x80\x80", 0));
}

// ---- objects and arrays ------------------------------------------------------

TEST(CanonicalObject, SortsMembersAndEscapesKeys) {
  std::vector<std::pair<std::string_view, std::string>> members = {
      {"b", "2"}, {"a\n", "true"}, {"\xef\xbf\xbd", "null"}, {"\xf0\x9f\x98\x80", "[]"}, {"", "{}"}};
  std::string out = "x";
  tinv::append_canonical_object(out, members);
  EXPECT_EQ(out, "x{\"\":{},\"a\\n\":true,\"b\":2,\"\xf0\x9f\x98\x80\":[],\"\xef\xbf\xbd\":null}");
  std::vector<std::pair<std::string_view, std::string>> none;
  std::string empty;
  tinv::append_canonical_object(empty, none);
  EXPECT_EQ(empty, "{}");
}

TEST(CanonicalArray, SortedSetOfCanonicalTexts) {
  std::vector<std::string> elements = {"\"b\"", "\"a\"", "\"a\"", "1", "null", "\"a\""};
  std::string out;
  tinv::append_canonical_array(out, elements);
  EXPECT_EQ(out, R"(["a","b",1,null])");
  std::vector<std::string> none;
  std::string empty;
  tinv::append_canonical_array(empty, none);
  EXPECT_EQ(empty, "[]");
}

std::string canon(const char* json_text) {
  return tinv::canonical_json(nlohmann::json::parse(json_text));
}

TEST(CanonicalJson, ArraysAreSets) {
  EXPECT_EQ(canon(R"(["b","a","a"])"), R"(["a","b"])");
  EXPECT_EQ(canon(R"(["b","a","a"])"), canon(R"(["a","b"])"));
  EXPECT_EQ(canon(R"([1, 1.0, 1e0, 10e-1])"), "[1]");
  EXPECT_EQ(canon(R"([[2,1],[1,2,2]])"), "[[1,2]]");
  EXPECT_EQ(canon(R"([{"b":1,"a":2},{"a":2,"b":1}])"), R"([{"a":2,"b":1}])");
  EXPECT_EQ(canon(R"([true, null, 1, "a", {}, [], false, -1])"),
            R"(["a",-1,1,[],false,null,true,{}])");
  EXPECT_EQ(canon(R"([0.002, 1e30, 4.5, 1e-27, 333333333.33333329])"),
            "[0.002,1e+30,1e-27,333333333.3333333,4.5]");
  EXPECT_EQ(canon("[]"), "[]");
  EXPECT_EQ(canon(R"({"a":[{"x":["q","p"]},{"x":["p","q"]}]})"), R"({"a":[{"x":["p","q"]}]})");
}

TEST(CanonicalJson, SpecSelectionExample) {
  const std::string a = canon(R"({"policy_types":["b","a"]})");
  const std::string b = canon(R"({ "policy_types" : ["a","b","a"] })");
  EXPECT_EQ(a, R"({"policy_types":["a","b"]})");
  EXPECT_EQ(a, b);
}

TEST(CanonicalJson, ScalarsAndNumbers) {
  EXPECT_EQ(canon("null"), "null");
  EXPECT_EQ(canon("true"), "true");
  EXPECT_EQ(canon("false"), "false");
  EXPECT_EQ(canon(R"("\u20ac\/\u000F")"), "\"\xe2\x82\xac/\\u000f\"");
  EXPECT_EQ(canon("1.0"), "1");
  EXPECT_EQ(canon("-0"), "0");
  EXPECT_EQ(canon("-0.0"), "0");
  EXPECT_EQ(canon("56.0"), "56");
  EXPECT_EQ(canon("9007199254740993"), "9007199254740992");
  EXPECT_EQ(canon("18446744073709551615"), "18446744073709552000");
  EXPECT_EQ(canon("-9223372036854775808"), "-9223372036854776000");
  EXPECT_EQ(canon("123456789012345678901234567890"), "1.2345678901234568e+29");
  EXPECT_EQ(canon("1e23"), "1e+23");
  EXPECT_EQ(tinv::canonical_json(nlohmann::json(std::uint64_t{1} << 63)), "9223372036854776000");
  EXPECT_EQ(tinv::canonical_json(nlohmann::json(-42)), "-42");
}

TEST(CanonicalJson, ObjectKeysInUtf16Order) {
  // nlohmann keeps keys in byte order; U+1F600 must still precede U+FFFD.
  nlohmann::json doc = {{"\xef\xbf\xbd", 1}, {"\xf0\x9f\x98\x80", 2}, {"a", 3}};
  EXPECT_EQ(tinv::canonical_json(doc), "{\"a\":3,\"\xf0\x9f\x98\x80\":2,\"\xef\xbf\xbd\":1}");
}

TEST(CanonicalJson, NonFiniteAndBinaryRejected) {
  EXPECT_THROW(tinv::canonical_json(nlohmann::json(std::nan(""))), NumberOutOfRange);
  EXPECT_THROW(tinv::canonical_json(nlohmann::json{{"a", {1.0, HUGE_VAL}}}), NumberOutOfRange);
  EXPECT_THROW(tinv::canonical_json(nlohmann::json::binary({1, 2, 3})), std::invalid_argument);
}

TEST(CanonicalJson, NestingLimit) {
  auto nested = [](int depth) {
    std::string text(static_cast<size_t>(depth), '[');
    text += std::string(static_cast<size_t>(depth), ']');
    return nlohmann::json::parse(text);
  };
  const std::string ok = tinv::canonical_json(nested(1000));
  EXPECT_EQ(ok.size(), 2000u);
  EXPECT_THROW(tinv::canonical_json(nested(1001)), std::invalid_argument);
  EXPECT_THROW(tinv::canonical_json(nested(20000)), std::invalid_argument);
}

}  // namespace
