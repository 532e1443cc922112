// Fault rules: which request gets which failure, and how often.
#pragma once

#include <httplib.h>

#include <cstdint>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace tinv::mock {

enum class FaultKind {
  Throttle,         // 429, Retry-After per "retry_after"
  Unavailable,      // 503 (optional Retry-After)
  GatewayTimeout,   // 504
  ServerError,      // 500
  BadGateway,       // 502
  Nested400,        // 400 with Intune's JSON-inside-message body
  Forbidden,        // 403
  Unauthorized,     // 401 InvalidAuthenticationToken
  NotFound,         // 404
  Slow,             // answer normally after "delay_ms"
  Truncated,        // full Content-Length, half the body, connection closed
  Reset,            // connection closed without a response
  Hang,             // no answer within "delay_ms" (default 600000)
  ForeignNextLink,  // nextLink to another host / scheme / api version
  LoopNextLink,     // nextLink points back to the same page
  Canary,           // 400 whose body embeds secret-looking canaries
  PageBody,         // 200 page whose body is "body" / "body_base64" (hostile input)
  Endless,          // 200 whose body never ends (slow trickle or a flood)
  TokenThrottle,    // token endpoint: 429
  TokenError,       // token endpoint: 400 invalid_scope
};

const char *fault_kind_name(FaultKind kind);
std::optional<FaultKind> parse_fault_kind(const std::string &name);

struct FaultRule {
  std::string tenant = "*";  // "*" or a lowercase tenant id
  std::string path = "*";    // "*" (every Graph path), a Graph path, or "token"
  // Which Graph requests of the path: "any" (listing pages and GETs of one
  // object, <path>/<id>), "list" (pages only) or "item" (object GETs only).
  std::string request = "any";
  FaultKind kind = FaultKind::ServerError;
  int64_t times = 1;        // -1 = forever
  int64_t after_pages = 0;  // matching requests let through before the rule fires
  nlohmann::json params = nlohmann::json::object();  // the rule as given (kind-specific keys)
  int64_t seen = 0;                                  // matching requests so far
  int64_t fired = 0;                                 // requests the rule hit

  std::string param_string(const char *key, const std::string &fallback) const;
  // Extra response headers of the rule ("headers": {"name": "value"}), set over
  // the normal ones; "{{bearer}}" becomes the request's bearer token and
  // "{{client_secret}}" the client_secret of a token request (a hostile echo).
  void apply_headers(httplib::Response &res, const std::string &bearer,
                     const std::string &client_secret) const;
  int64_t param_int(const char *key, int64_t fallback) const;
};

// The current list of rules, replaced as a whole by POST /_mock/faults.
class FaultSet {
 public:
  // Validates and installs `rules` (a JSON array). On error nothing changes.
  bool replace(const nlohmann::json &rules, std::string &error);
  void clear();
  nlohmann::json to_json() const;

  // The rule that fires for this request, if any (a copy taken after counting it).
  // Every matching rule counts the request towards its "after_pages"; the first rule
  // past its after_pages with hits left fires. `token_endpoint` selects path "token".
  // A GET of one object (`item`) matches the rules of its collection `path`.
  std::optional<FaultRule> take(const std::string &tenant, const std::string &path,
                                bool token_endpoint, bool item = false);

 private:
  mutable std::mutex mutex_;
  std::vector<FaultRule> rules_;
};

}  // namespace tinv::mock
