// Small helpers of the mock Graph server: hashing, encodings, GUIDs, time.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace tinv::mock {

using Sha256 = std::array<unsigned char, 32>;

Sha256 sha256(std::string_view data);
std::string hex(const unsigned char *data, size_t len);
std::string sha256_hex(std::string_view data);
Sha256 hmac_sha256(std::string_view key, std::string_view data);

// Standard (RFC 4648 section 4) base64 with padding, and base64url without padding.
std::string base64_encode(std::string_view data);
std::string base64url_encode(std::string_view data);
// Decodes base64url (padding optional, '+' and '/' rejected). False on bad input.
bool base64url_decode(std::string_view in, std::string &out);
// Decodes standard base64 with mandatory padding. False on bad input.
bool base64_decode(std::string_view in, std::string &out);

// A UUID string (8-4-4-4-12, lowercase) shaped like version 4 from the first 16 bytes.
std::string uuid_from_bytes(const unsigned char *bytes16);
// Deterministic UUID: uuid_from_bytes(sha256(label)).
std::string derived_uuid(std::string_view label);
// A fresh random UUID (version 4).
std::string random_uuid();
// Random bytes as lowercase hex (2*n chars).
std::string random_hex(size_t n);
// True for a canonical 36-char UUID (any case).
bool is_uuid(std::string_view s);
std::string to_lower(std::string_view s);

// Percent-decoding. form=true also turns '+' into a space. Invalid escapes are kept literally.
std::string percent_decode(std::string_view s, bool form);
// Parses application/x-www-form-urlencoded text into a map (last value wins).
std::map<std::string, std::string> parse_form(std::string_view body);

// Time.
int64_t now_ms();  // wall clock, milliseconds since the epoch
// "2024-05-06T07:08:09.1234567Z" from seconds since the epoch and 100 ns ticks (0 = no fraction).
std::string iso8601(int64_t epoch_seconds, uint32_t ticks_100ns, bool with_fraction);
// "2024-05-06T07:08:09" (the innerError.date form).
std::string iso8601_plain(int64_t epoch_seconds);
// IMF-fixdate, e.g. "Sun, 06 Nov 1994 08:49:37 GMT".
std::string http_date(int64_t epoch_seconds);

// Reads/writes whole files. write_file_atomic writes FILE.tmp then renames it over FILE.
bool read_file(const std::string &path, std::string &out);
bool write_file_atomic(const std::string &path, const std::string &data);

}  // namespace tinv::mock
