// One entry of a run's error list (docs/design.md §9 taxonomy), as sent to
// inventory.finish_sync_run.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace fetch {

// The fixed taxonomy of error codes.
namespace codes {
inline constexpr const char* kGraphThrottled = "graph_throttled";
inline constexpr const char* kGraphUnavailable = "graph_unavailable";
inline constexpr const char* kGraphForbidden = "graph_forbidden";
inline constexpr const char* kGraphUnauthorized = "graph_unauthorized";
inline constexpr const char* kGraphNotFound = "graph_not_found";
inline constexpr const char* kGraphBadResponse = "graph_bad_response";
inline constexpr const char* kGraphBadRequest = "graph_bad_request";
inline constexpr const char* kGraphServerError = "graph_server_error";
inline constexpr const char* kNetworkError = "network_error";
inline constexpr const char* kTimeout = "timeout";
inline constexpr const char* kAuthFailed = "auth_failed";
inline constexpr const char* kPagingUnsafeLink = "paging_unsafe_link";
inline constexpr const char* kPagingLoop = "paging_loop";
inline constexpr const char* kDbError = "db_error";
inline constexpr const char* kCancelled = "cancelled";
inline constexpr const char* kBadItem = "bad_item";
// A page over the item or size caps (page_parser.h): the type stops.
inline constexpr const char* kGraphPageTooLarge = "graph_page_too_large";
// The run's wall-clock budget (--run-budget) ran out.
inline constexpr const char* kRunBudgetExhausted = "run_budget_exhausted";
// The fetcher itself failed (out of memory, an unexpected exception).
inline constexpr const char* kInternalError = "internal_error";
// A complete listing left out items that a single-object GET still finds
// (recorded on the type by inventory.record_verifications; the fetcher only
// mirrors it in its own outcome).
inline constexpr const char* kListingInconsistent = "listing_inconsistent";
}  // namespace codes

inline constexpr size_t kMaxErrorMessageChars = 512;
// Entries of a run's error list sent to finish_sync_run (the database
// keeps as many; `inventory-fetch --print-limits` shows both for a check).
inline constexpr size_t kMaxStoredErrors = 100;

struct ErrorRecord {
  std::string code;
  std::string policy_type;  // empty: not tied to a type
  long http_status = 0;     // 0: no HTTP status
  std::string graph_error_code;
  std::string request_id;
  std::string client_request_id;
  std::string message;  // redacted and cut when serialized
  int attempts = 0;
  std::string at;  // RFC 3339 UTC

  // JSON object for finish_sync_run; the message passes through
  // tinv::redact_secrets and is cut to 512 characters.
  nlohmann::json to_json() const;
};

// Redacts and bounds a free-form message (the only way text from Graph, the
// login endpoint or the database reaches an error record); drops NUL
// characters, which PostgreSQL text and jsonb cannot hold.
std::string safe_message(std::string_view text);

// "2026-11-26T12:00:00Z" for now.
std::string utc_timestamp_now();

}  // namespace fetch
