// Executes logical requests against Graph and the login endpoint: gate
// (caps, tenant pause), attempt, classification, retry policy, token
// refresh on 401, and the error record when it gives up.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "clock.h"
#include "error_record.h"
#include "http_transport.h"
#include "log.h"
#include "metrics.h"
#include "page_parser.h"
#include "retry_policy.h"
#include "throttle_gate.h"
#include "token_cache.h"

namespace fetch {

struct GraphClientConfig {
  RetryConfig retry;
  double request_timeout_s = 100.0;  // one attempt
  double connect_timeout_s = 10.0;
  size_t max_body_bytes = 64u << 20;
  PageLimits page_limits;
};

// Longest header value kept from a response (request-id, ...), characters.
inline constexpr size_t kMaxHeaderChars = 256;
// Largest token endpoint answer read (bytes), and longest access token.
inline constexpr size_t kMaxTokenResponseBytes = 1u << 20;
inline constexpr size_t kMaxTokenBytes = 16384;
// Largest body read from a single-object GET (an absence check needs only the
// status: a larger 2xx body still says the object exists).
inline constexpr size_t kMaxItemResponseBytes = 1u << 20;

// An RFC 6750 b64token (the only characters a bearer token may have, so it
// can never end or add a header line), at most kMaxTokenBytes.
bool is_b64token(std::string_view token);

// What a request needs to know about the tenant run it belongs to.
struct RequestContext {
  std::string tenant;             // gate key and log field
  TokenCache* tokens = nullptr;   // Graph requests only
  RunMetrics* metrics = nullptr;  // may be null
  const StopToken* stop = nullptr;
};

struct JsonResult {
  bool ok = false;
  nlohmann::json body;  // token requests: the parsed JSON object (2xx)
  std::string raw;      // Graph requests: the page's bytes (2xx) ...
  PageScan scan;        // ... checked by scan_page (status Ok or a page-level problem)
  ErrorRecord error;    // when !ok
  bool fatal = false;   // the tenant cannot go on (credentials rejected)
  int attempts = 0;
  std::string request_id;
};

// The answer to one single-object GET (an absence check: verified
// deletions, run_driver.h): `status` is 404 (gone), 200 (any 2xx: it exists), any other
// final HTTP status once the retries are over, or 0 for a transport
// failure or a give-up without a status (timeout, budget).
struct ItemCheck {
  long status = 0;
  bool cancelled = false;  // the run is stopping: nothing was learned
  int attempts = 0;
  ErrorRecord error;  // when status is not 200 or 404
};

class GraphClient {
 public:
  GraphClient(Transport& transport, Clock& clock, ThrottleGate& gate, Logger& log, GraphClientConfig config,
              Uniform uniform);

  // GET `url` (sent byte for byte) with the tenant's bearer token.
  JsonResult get(const RequestContext& ctx, const std::string& url, const std::string& policy_type);

  // GET one object `url` (built by item_url) with the tenant's bearer token,
  // through the same gate, retry policy and budgets as a page; a 404 is an
  // answer, not retried and not logged as a failure. The body is read up to
  // kMaxItemResponseBytes and dropped.
  ItemCheck check_item(const RequestContext& ctx, const std::string& url, const std::string& policy_type);

  // POST a client-credentials token request. `make_body` is called for every
  // attempt (a certificate assertion is signed fresh each time).
  TokenResult fetch_token(const RequestContext& ctx, const std::string& token_url,
                          const std::function<std::string()>& make_body, AccessToken& out);

  const GraphClientConfig& config() const { return config_; }

 private:
  enum class Kind { Graph, Token, Item };
  JsonResult execute(const RequestContext& ctx, Kind kind, const std::string& url,
                     const std::string& policy_type, const std::function<std::string()>& make_body);

  Transport& transport_;
  Clock& clock_;
  ThrottleGate& gate_;
  Logger& log_;
  GraphClientConfig config_;
  Uniform uniform_;
};

}  // namespace fetch
