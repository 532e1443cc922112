#include "error_record.h"

#include <algorithm>
#include <chrono>
#include <ctime>

#include "secret_sink.h"

namespace fetch {

std::string safe_message(std::string_view text) {
  // The sink: the process's own secrets out over the whole text, then the
  // pattern redactor, NUL characters dropped (jsonb cannot hold them), and
  // only then the cut, so no secret straddling the cut leaves half of it.
  return sink_text(text, kMaxErrorMessageChars);
}

nlohmann::json ErrorRecord::to_json() const {
  nlohmann::json j = nlohmann::json::object();
  j["code"] = code;
  if (!policy_type.empty()) j["policy_type"] = policy_type;
  if (http_status != 0) j["http_status"] = http_status;
  if (!graph_error_code.empty()) j["graph_error_code"] = safe_message(graph_error_code);
  if (!request_id.empty()) j["request_id"] = safe_message(request_id);
  if (!client_request_id.empty()) j["client_request_id"] = safe_message(client_request_id);
  j["message"] = safe_message(message);
  if (attempts > 0) j["attempts"] = attempts;
  j["at"] = at.empty() ? utc_timestamp_now() : at;
  return j;
}

std::string utc_timestamp_now() {
  const std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace fetch
