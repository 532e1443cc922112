// Fuzz target: the canonical JSON writer (core/canonical*) against a simple,
// independent reference written from the specification (RFC 8785 with
// arrays as sets: UTF-16 code unit order by decoding, escapes byte by byte,
// shortest round-trip digits found with printf and strtod, the ECMAScript
// layout rules). Also: the fast string writers equal the reference, the
// UTF-16 comparison is a total order and agrees with decoding, the sort-key
// prefix never contradicts it, number parsing equals strtod, and the
// canonical form is idempotent and invariant under key and element order.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "canonical.h"
#include "canonical_nlohmann.h"

#include "fuzz_util.h"

namespace {

using tinv_fuzz::valid_utf8;

using json = nlohmann::json;

[[noreturn]] void fail(const char* what, const std::string& a, const std::string& b) {
  std::fprintf(stderr, "MISMATCH %s\n  got:  %s\n  want: %s\n", what, a.c_str(), b.c_str());
  std::abort();
}

// ---- reference ------------------------------------------------------------

std::string ref_escape(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
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
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

// ECMAScript Number::toString of a finite double.
std::string ref_number(double v) {
  if (v == 0) return "0";
  if (v < 0) return "-" + ref_number(-v);
  // The fewest digits s (with exponent) whose value rounds to v; of several,
  // the closest to v. printf gives the closest p-digit decimal; when it does
  // not round-trip a neighbour still may (just above a power of two the
  // rounding interval is lopsided), so those are tried as well.
  std::string digits;
  int exp10 = 0;
  for (int p = 1; p <= 17 && digits.empty(); ++p) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*e", p - 1, v);
    const char* e = std::strchr(buf, 'e');
    std::string d;
    for (const char* q = buf; q < e; ++q)
      if (*q != '.') d += *q;
    const long long s0 = std::stoll(d);
    const int x = std::atoi(e + 1) - (p - 1);  // value = s * 10^x
    for (long long s : {s0, s0 - 1, s0 + 1}) {
      if (s <= 0) continue;
      char cand[64];
      std::snprintf(cand, sizeof cand, "%llde%d", s, x);
      if (std::strtod(cand, nullptr) != v) continue;
      digits = std::to_string(s);
      exp10 = x + static_cast<int>(digits.size()) - 1;
      if (static_cast<int>(digits.size()) > p) digits.clear();  // carried to p+1 digits: not this length
      else break;
    }
  }
  while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
  const int k = static_cast<int>(digits.size());
  const int n = exp10 + 1;
  if (k <= n && n <= 21) return digits + std::string(static_cast<size_t>(n - k), '0');
  if (0 < n && n <= 21) return digits.substr(0, static_cast<size_t>(n)) + "." + digits.substr(static_cast<size_t>(n));
  if (-6 < n && n <= 0) return "0." + std::string(static_cast<size_t>(-n), '0') + digits;
  std::string out = digits.substr(0, 1);
  if (k > 1) out += "." + digits.substr(1);
  const int e = n - 1;
  return out + "e" + (e < 0 ? "-" : "+") + std::to_string(e < 0 ? -e : e);
}

// UTF-8 (valid) to UTF-16 code units.
std::u16string utf16(std::string_view s) {
  std::u16string out;
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    uint32_t cp;
    size_t len;
    if (c < 0x80) {
      cp = c;
      len = 1;
    } else if (c < 0xE0) {
      cp = c & 0x1Fu;
      len = 2;
    } else if (c < 0xF0) {
      cp = c & 0x0Fu;
      len = 3;
    } else {
      cp = c & 0x07u;
      len = 4;
    }
    for (size_t k = 1; k < len && i + k < s.size(); ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3Fu);
    i += len;
    if (cp >= 0x10000) {
      cp -= 0x10000;
      out += static_cast<char16_t>(0xD800 + (cp >> 10));
      out += static_cast<char16_t>(0xDC00 + (cp & 0x3FF));
    } else {
      out += static_cast<char16_t>(cp);
    }
  }
  return out;
}


int depth_of(const json& j) {
  if (!j.is_structured()) return 0;
  int d = 0;
  for (const auto& e : j) d = std::max(d, depth_of(e));
  return d + 1;
}

std::string ref_canonical(const json& j) {
  switch (j.type()) {
    case json::value_t::null: return "null";
    case json::value_t::boolean: return j.get<bool>() ? "true" : "false";
    case json::value_t::number_integer: return ref_number(static_cast<double>(j.get<int64_t>()));
    case json::value_t::number_unsigned: return ref_number(static_cast<double>(j.get<uint64_t>()));
    case json::value_t::number_float: return ref_number(j.get<double>());
    case json::value_t::string: return ref_escape(j.get_ref<const std::string&>());
    case json::value_t::object: {
      std::vector<std::pair<std::u16string, std::string>> members;
      for (auto it = j.begin(); it != j.end(); ++it)
        members.emplace_back(utf16(it.key()), ref_escape(it.key()) + ":" + ref_canonical(it.value()));
      std::sort(members.begin(), members.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
      std::string out = "{";
      for (size_t i = 0; i < members.size(); ++i) out += (i ? "," : "") + members[i].second;
      return out + "}";
    }
    case json::value_t::array: {
      std::vector<std::pair<std::u16string, std::string>> elements;
      for (const auto& e : j) {
        std::string text = ref_canonical(e);
        elements.emplace_back(utf16(text), text);
      }
      std::sort(elements.begin(), elements.end());
      elements.erase(std::unique(elements.begin(), elements.end()), elements.end());
      std::string out = "[";
      for (size_t i = 0; i < elements.size(); ++i) out += (i ? "," : "") + elements[i].second;
      return out + "]";
    }
    default: return "";
  }
}

// The same document with every object's members and every array's elements
// in reverse order, and every scalar element of an array repeated (only
// scalars: repeating a nested array at each level would double the document
// per level).
json scrambled(const json& j) {
  if (j.is_array()) {
    json out = json::array();
    for (auto it = j.rbegin(); it != j.rend(); ++it) {
      out.push_back(scrambled(*it));
      if (!it->is_structured()) out.push_back(*it);
    }
    return out;
  }
  if (j.is_object()) {
    json out = json::object();
    std::vector<std::string> keys;
    for (auto it = j.begin(); it != j.end(); ++it) keys.push_back(it.key());
    for (auto k = keys.rbegin(); k != keys.rend(); ++k) out[*k] = scrambled(j.at(*k));
    return out;
  }
  return j;
}

int sign(int v) { return (v > 0) - (v < 0); }

bool is_json_number_text(std::string_view t) {
  size_t i = 0;
  const size_t n = t.size();
  auto digit = [&](size_t k) { return k < n && t[k] >= '0' && t[k] <= '9'; };
  if (i < n && t[i] == '-') ++i;
  if (!digit(i)) return false;
  if (t[i] == '0') {
    ++i;
  } else {
    while (digit(i)) ++i;
  }
  if (i < n && t[i] == '.') {
    ++i;
    if (!digit(i)) return false;
    while (digit(i)) ++i;
  }
  if (i < n && (t[i] == 'e' || t[i] == 'E')) {
    ++i;
    if (i < n && (t[i] == '+' || t[i] == '-')) ++i;
    if (!digit(i)) return false;
    while (digit(i)) ++i;
  }
  return i == n;
}

void check_number(double v) {
  if (!std::isfinite(v)) {
    std::string out;
    try {
      tinv::append_json_number(out, v);
    } catch (const tinv::NumberOutOfRange&) {
      return;
    }
    fail("non-finite number accepted", out, "NumberOutOfRange");
  }
  std::string got;
  tinv::append_json_number(got, v);
  const std::string want = ref_number(v);
  if (got != want) fail("number", got, want);
  char buf[tinv::kJsonNumberMaxSize];
  char* end = tinv::write_json_number(buf, v);
  if (std::string(buf, end) != want) fail("write_json_number", std::string(buf, end), want);
  if (std::strtod(got.c_str(), nullptr) != v && !(v == 0)) fail("number round trip", got, ref_number(v));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string s(reinterpret_cast<const char*>(data), size);

  // Strings: fast writers against the byte-by-byte reference, any bytes.
  {
    std::string got;
    tinv::append_json_string(got, s);
    const std::string want = ref_escape(s);
    if (got != want) fail("append_json_string", got, want);
    std::vector<char> buf(tinv::json_string_max_size(s.size()));
    char* end = tinv::write_json_string(buf.data(), s);
    if (std::string(buf.data(), end) != want) fail("write_json_string", std::string(buf.data(), end), want);
  }

  // UTF-16 order: a total order on any bytes, equal to decoding on valid UTF-8,
  // and the sort-key prefix never contradicts it.
  if (size >= 1) {
    const size_t cut = data[0] % (size + 1);
    const std::string_view a(s.data(), cut);
    const std::string_view b(s.data() + cut, size - cut);
    const int ab = tinv::compare_utf16(a, b);
    if (sign(ab) != -sign(tinv::compare_utf16(b, a))) fail("compare_utf16 antisymmetric", s, "");
    if ((ab == 0) != (a == b)) fail("compare_utf16 equality", s, "");
    if (valid_utf8(a) && valid_utf8(b)) {
      const std::u16string ua = utf16(a);
      const std::u16string ub = utf16(b);
      const int want = ua < ub ? -1 : (ub < ua ? 1 : 0);
      if (sign(ab) != want) fail("compare_utf16 vs UTF-16 code units", std::to_string(ab), std::to_string(want));
    }
    size_t common = 0;
    while (common < a.size() && common < b.size() && a[common] == b[common]) ++common;
    const size_t from = std::min(common, static_cast<size_t>(size > 1 ? data[1] : 0));
    const uint64_t ka = tinv::utf16_order_prefix(a, from);
    const uint64_t kb = tinv::utf16_order_prefix(b, from);
    if ((ka < kb && ab >= 0) || (kb < ka && ab <= 0)) fail("utf16_order_prefix contradicts compare_utf16", s, "");
  }

  // Numbers: parsing equals strtod; any finite double's text equals the reference.
  if (is_json_number_text(s)) {
    const double want = std::strtod(s.c_str(), nullptr);
    try {
      const double got = tinv::parse_json_number(s);
      if (!(got == want) || std::signbit(got) != std::signbit(want))
        fail("parse_json_number", std::to_string(got), s);
      check_number(got);
    } catch (const tinv::NumberOutOfRange&) {
      if (std::isfinite(want)) fail("parse_json_number overflow", s, "finite");
    }
  } else {
    try {
      (void)tinv::parse_json_number(s);
      fail("parse_json_number accepted a non-number", s, "invalid_argument");
    } catch (const std::invalid_argument&) {
    } catch (const tinv::NumberOutOfRange&) {
      fail("parse_json_number overflow for a non-number", s, "invalid_argument");
    }
  }
  if (size >= 8) {
    double v;
    std::memcpy(&v, data, 8);
    check_number(v);
  }

  // Documents.
  const json doc = json::parse(s, nullptr, false);
  if (doc.is_discarded() || depth_of(doc) > 500) return 0;
  const std::string got = tinv::canonical_json(doc);
  const std::string want = ref_canonical(doc);
  if (got != want) fail("canonical_json", got, want);
  const json again = json::parse(got, nullptr, false);
  if (again.is_discarded()) fail("canonical text is not JSON", got, "");
  if (tinv::canonical_json(again) != got) fail("canonical_json idempotent", tinv::canonical_json(again), got);
  if (tinv::canonical_json(scrambled(doc)) != got) fail("canonical_json order-invariant", tinv::canonical_json(scrambled(doc)), got);
  return 0;
}
