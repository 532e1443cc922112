// Secret redaction shared by the extension (inventory.redact_secrets) and the
// fetcher (every log line, error message and metric label passes through it).
// Plain C++17, no PostgreSQL headers.
#pragma once

#include <string>
#include <string_view>

namespace tinv {

// The text that replaces a secret value.
inline constexpr std::string_view kRedacted = "[REDACTED]";

// Masks, in any text (log lines, HTTP error bodies, URLs, JSON):
//  - "Authorization: <value>" headers (to end of line) and "Bearer <token>";
//  - JWTs (three base64url segments starting with "eyJ");
//  - values of client_secret, client_assertion, access_token, refresh_token,
//    id_token, password, sig, code_verifier, in form/query (k=v), JSON ("k":"v")
//    and header-ish (k: v) forms, key names case-insensitive;
//  - Entra client-secret shapes (e.g. "abc1Q~" followed by 31+ secret chars);
//  - URL user info (scheme://user:pass@host -> scheme://[REDACTED]@host);
//  - paging tokens ($skiptoken, $deltatoken, skiptoken, deltatoken values).
// The key or prefix stays visible, only the value becomes [REDACTED].
// Never throws on any byte sequence (invalid UTF-8 included) and runs in time
// linear in the input length.
std::string redact_secrets(std::string_view text);

// Cuts `text` to at most `max_chars` UTF-8 characters without splitting a
// multi-byte sequence (invalid bytes count as one character each).
std::string truncate_utf8(std::string_view text, size_t max_chars);

}  // namespace tinv
