// Canonical JSON (RFC 8785 / JCS with arrays treated as sets) building blocks.
//
// Plain C++17: no PostgreSQL headers. The extension drives these from jsonb,
// the fetcher from nlohmann::json (see canonical_nlohmann.h), so both produce
// byte-identical canonical text for the same document.
#pragma once

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

// Parses the text of a JSON number (as jsonb's numeric output or a JSON
// document spells it) to the nearest double. Throws NumberOutOfRange when the
// value overflows the finite double range; values that underflow become 0.
// Throws std::invalid_argument when `text` is not a number.
double parse_json_number(std::string_view text);

// Compares two UTF-8 strings as sequences of UTF-16 code units
// (RFC 8785 section 3.2.3). Returns <0, 0 or >0.
int compare_utf16(std::string_view a, std::string_view b);

// Writes an object whose member values are already canonical text:
// members sorted by key with compare_utf16, no whitespace. Keys must be unique.
void append_canonical_object(std::string& out,
                             std::vector<std::pair<std::string_view, std::string>>& members);

// Writes an array whose elements are already canonical text, treated as a set:
// sorted with compare_utf16 on the canonical text, duplicates removed.
void append_canonical_array(std::string& out, std::vector<std::string>& elements);

}  // namespace tinv
