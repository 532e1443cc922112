// Secret redaction shared by the extension (inventory.redact_secrets) and the
// fetcher (every log line, error message and metric label passes through it).
// Plain C++17, no PostgreSQL headers.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace tinv {

// The text that replaces a secret value.
inline constexpr std::string_view kRedacted = "[REDACTED]";

// Masks, in any text (log lines, HTTP error bodies, URLs, JSON, connection
// strings). The key or prefix stays visible, only the value becomes
// [REDACTED]:
//  - "Authorization: <value>" headers (to end of line; a scheme word such as
//    Bearer or Basic stays visible) and "Bearer <token>" anywhere;
//  - JWTs and JWEs (three to five base64url segments, the first starting
//    with "eyJ"), also when whitespace or newlines (or \n escapes) stand
//    before or after a dot;
//  - values of access_token, account_key, api_key, authorization,
//    client_assertion, client_secret, code_verifier, id_token, passphrase,
//    passwd, password (also at the end of a word: PGPASSWORD), pwd,
//    refresh_token, secret, secret_text, shared_access_key, sig,
//    skiptoken, deltatoken, subscription_key (Ocp-Apim-Subscription-Key,
//    subscription-key), in these forms:
//      form/query k=v, header-ish k: v, JSON "k":"v" (blanks and newlines
//      allowed around the colon), escaped JSON \"k\":\"v\", quoted values
//      k="v", k='v' (spaces inside kept in the secret);
//      key names case-insensitive, '_' also written '-' or left out
//      (client-secret, clientSecret);
//      any key character percent-encoded once or twice (client%5Fsecret,
//      client%255Fsecret, %73ig) or as a JSON escape \u00XX;
//      the separator '=' also encoded as %3D or %253D (the value then also
//      ends at an encoded & space ; " , or their double-encoded forms);
//  - unquoted values end at whitespace, & " ' , ; } or a control byte,
//    except for password-like keys (password, passwd, pwd, passphrase),
//    whose value may hold any printable byte: it runs to whitespace, & ; "
//    or the end (password=ab,cd -> password=[REDACTED]); in a connection
//    string (key after ';', as in "Server=x;Password=a b;") to the next ';'
//    or the end of the line; Pwd={...} to the closing brace;
//  - OAuth authorization codes: code=<value> as a query/form parameter only
//    (after the start of the text, ? & # or whitespace, also encoded), so
//    error_code= or statuscode= stay; a value of only lowercase letters and
//    '_' (an error code such as db_error) stays visible;
//  - PEM private keys: the body between "-----BEGIN [RSA |EC |ENCRYPTED |
//    OPENSSH |...]PRIVATE KEY-----" and the next "-----END" line, or to the
//    end of the text when the END line is missing (armor lines stay);
//  - Entra client-secret shapes (e.g. "abc1Q~" followed by 31+ secret chars);
//  - URL user info (scheme://user:pass@host -> scheme://[REDACTED]@host);
//  - paging tokens ($skiptoken, $deltatoken, skiptoken, deltatoken values).
// Guarantees: never throws on any byte sequence (invalid UTF-8 included);
// runs in time linear in the input length; idempotent (redacting the output
// again changes nothing); ordinary Graph text (error codes, request ids,
// OData types, display names) passes through unchanged.
std::string redact_secrets(std::string_view text);

// The number of input bytes redact_secrets(text) reads (for tests of the
// linear-time guarantee: it stays within a constant factor of text.size()).
size_t redact_scan_work(std::string_view text);

// Cuts `text` to at most `max_chars` UTF-8 characters without splitting a
// multi-byte sequence (invalid bytes count as one character each).
std::string truncate_utf8(std::string_view text, size_t max_chars);

}  // namespace tinv
