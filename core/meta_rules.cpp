// Value rules of the meta whitelist (docs/design.md §4).
#include "meta_rules.h"

namespace tinv {

MetaKind parse_meta_kind(std::string_view kind) {
  if (kind == "string") return MetaKind::String;
  if (kind == "number") return MetaKind::Number;
  if (kind == "boolean") return MetaKind::Boolean;
  if (kind == "string_array") return MetaKind::StringArray;
  if (kind == "timestamp") return MetaKind::Timestamp;
  return MetaKind::Unknown;
}

size_t utf8_length(std::string_view s) {
  // Every code point has exactly one byte that is not a continuation byte
  // (10xxxxxx). For invalid input this counts lead and ASCII bytes only.
  size_t n = 0;
  for (const char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

namespace {

class Cursor {
 public:
  explicit Cursor(std::string_view s) : s_(s) {}

  bool done() const { return i_ == s_.size(); }
  bool peek(char c) const { return i_ < s_.size() && s_[i_] == c; }
  bool take(char c) {
    if (!peek(c)) return false;
    ++i_;
    return true;
  }
  bool peek_digit() const { return i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9'; }

  // Exactly `count` digits as a number in [lo, hi].
  bool number(int count, int lo, int hi, int& value) {
    value = 0;
    for (int k = 0; k < count; ++k) {
      if (!peek_digit()) return false;
      value = value * 10 + (s_[i_++] - '0');
    }
    return value >= lo && value <= hi;
  }

 private:
  std::string_view s_;
  size_t i_ = 0;
};

bool is_leap(int year) { return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0; }

int days_in_month(int year, int month) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && is_leap(year) ? 29 : kDays[month - 1];
}

}  // namespace

// Accepted (extended ISO 8601 / RFC 3339 as Graph writes it):
//   YYYY-MM-DD
//   YYYY-MM-DDTHH:MM[:SS[.fraction]][zone]
// zone: Z, +HH:MM or -HH:MM (offset hours 00-15 as PostgreSQL accepts them,
// minutes 00-59), or absent:
// Graph omits the zone in a few places (e.g. innerError.date), and such a
// value is still a valid ISO 8601 local date-time. Year 0001-9999, month
// 01-12, day valid for the month (Gregorian leap years), hour 00-23, minute
// and second 00-59 (no leap second, no 24:00), fraction of one or more
// digits. No spaces, no lowercase 't'/'z', no basic (separator-less) format.
// Everything accepted here is also accepted by PostgreSQL's timestamptz input.
bool is_iso8601_timestamp(std::string_view s) {
  Cursor c(s);
  int year = 0;
  int month = 0;
  int day = 0;
  int v = 0;
  if (!c.number(4, 1, 9999, year) || !c.take('-') || !c.number(2, 1, 12, month) || !c.take('-') ||
      !c.number(2, 1, 31, day) || day > days_in_month(year, month)) {
    return false;
  }
  if (c.done()) return true;
  if (!c.take('T')) return false;
  if (!c.number(2, 0, 23, v) || !c.take(':') || !c.number(2, 0, 59, v)) return false;
  if (c.take(':')) {
    if (!c.number(2, 0, 59, v)) return false;
    if (c.take('.')) {
      if (!c.peek_digit()) return false;
      while (c.peek_digit()) c.number(1, 0, 9, v);
    }
  }
  if (c.done()) return true;
  if (c.take('Z')) return c.done();
  if (!c.take('+') && !c.take('-')) return false;
  if (!c.number(2, 0, 15, v) || !c.take(':') || !c.number(2, 0, 59, v)) return false;
  return c.done();
}

}  // namespace tinv
