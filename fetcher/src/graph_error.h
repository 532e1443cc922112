// Parsing of error bodies from Graph and from the login endpoint into the
// fields of an ErrorRecord, and the mapping of HTTP statuses to error codes.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace fetch {

struct GraphErrorInfo {
  std::string code;               // error.code (Graph) or error (OAuth)
  std::string inner_code;         // innermost innerError.code, if any
  std::string message;            // human message, unwrapped (not yet redacted)
  std::string request_id;         // innerError.request-id
  std::string client_request_id;  // innerError.client-request-id
  bool parsed = false;            // the body was a recognised error envelope
};

// Understands:
//  - Graph: {"error":{"code","message","innerError":{"request-id",
//    "client-request-id","code","innerError":{...}}}};
//  - Intune's JSON-inside-message envelope, where error.message is itself a
//    JSON document {"_version","Message","CustomApiErrorPhrase",...}: the
//    inner "Message" (and the phrase, when set) becomes the message;
//  - OAuth (login endpoint): {"error":"invalid_client","error_description":
//    "AADSTS7000215: ...","error_codes":[7000215]} -> code "invalid_client",
//    inner_code "AADSTS7000215".
// Anything else: parsed = false and message = the start of the body (its
// first kMaxParsedErrorBody bytes; the sink cuts it after the scrub).
// Bodies larger than kMaxParsedErrorBody are never parsed into a tree.
inline constexpr size_t kMaxParsedErrorBody = 64 * 1024;
GraphErrorInfo parse_error_body(std::string_view body);

// Error code of the taxonomy for a failed Graph request with this status.
const char* error_code_for_status(long http_status);

}  // namespace fetch
