// Value rules of the meta whitelist (docs/design.md §4). Plain C++17.
#pragma once

#include <cstddef>
#include <string_view>

namespace tinv {

enum class MetaKind { String, Number, Boolean, StringArray, Timestamp, Unknown };

MetaKind parse_meta_kind(std::string_view kind);

inline constexpr size_t kMetaStringMaxChars = 1024;
inline constexpr size_t kMetaArrayMaxItems = 256;
inline constexpr size_t kMetaArrayItemMaxChars = 256;

// Number of UTF-8 characters (code points) in `s`.
size_t utf8_length(std::string_view s);

// True for an ISO 8601 date-time as Graph writes it: YYYY-MM-DDTHH:MM[:SS[.f+]]
// optionally followed by Z or +HH:MM / -HH:MM (Graph omits the zone in some
// places, e.g. innerError.date); a date alone, YYYY-MM-DD, is accepted too.
// Field ranges are checked (month 1-12, day valid for the month, hour 0-23,
// no leap second, offset hours 0-15).
bool is_iso8601_timestamp(std::string_view s);

}  // namespace tinv
