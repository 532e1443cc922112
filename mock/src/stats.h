// Request counters of the mock, served by GET /_mock/stats.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace tinv::mock {

// One Graph API request as recorded in stats["requests"].
struct RequestRecord {
  std::string method;
  std::string tenant;  // empty when the token was missing or invalid
  std::string api_version;
  std::string path;
  bool item = false;              // a GET of one object (<collection>/<id>)
  int status = 0;                 // 0 = no response (connection reset)
  std::string client_request_id;  // as sent by the client (empty when absent)
  std::optional<std::string> retry_attempt;
  bool had_auth = false;
  std::string fault;  // fault kind that fired, empty when none
  int64_t at_ms = 0;
  int64_t duration_ms = 0;
};

// One request that reached the foreign listener.
struct ForeignRecord {
  std::string method;
  std::string path;
  std::string target;
  bool had_auth = false;
  std::string authorization;  // the value as received (tests check it never carries a token)
  int64_t at_ms = 0;
};

class Stats {
 public:
  static constexpr size_t kMaxRecords = 1000;

  // In-flight accounting of Graph requests: begin on arrival, end once the response is sent.
  void graph_begin(const std::string &tenant);
  void graph_end(const std::string &tenant);

  void record_graph(RequestRecord record);
  void record_token(const std::string &tenant, int status);
  void record_foreign(ForeignRecord record);

  nlohmann::json to_json() const;
  // Zeroes every counter; in-flight numbers stay (they are live) and the maxima restart from them.
  void reset();

 private:
  mutable std::mutex mutex_;
  uint64_t requests_total_ = 0;
  std::map<std::string, uint64_t> requests_by_tenant_;
  std::map<std::string, uint64_t> responses_by_status_;
  int64_t in_flight_total_ = 0;
  int64_t max_in_flight_total_ = 0;
  std::map<std::string, int64_t> in_flight_by_tenant_;
  std::map<std::string, int64_t> max_in_flight_by_tenant_;
  uint64_t item_gets_ = 0;
  std::map<std::string, uint64_t> item_gets_by_tenant_;
  std::map<std::string, uint64_t> item_get_responses_by_status_;
  uint64_t token_requests_ = 0;
  std::map<std::string, uint64_t> token_requests_by_tenant_;
  std::map<std::string, uint64_t> token_responses_by_status_;
  uint64_t retry_attempt_headers_ = 0;
  std::map<std::string, uint64_t> faults_fired_;
  std::deque<RequestRecord> requests_;
  std::deque<ForeignRecord> foreign_;
};

}  // namespace tinv::mock
