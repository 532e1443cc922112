#include "stats.h"

namespace tinv::mock {

using nlohmann::json;

void Stats::graph_begin(const std::string &tenant) {
  std::lock_guard lock(mutex_);
  ++in_flight_total_;
  if (in_flight_total_ > max_in_flight_total_) max_in_flight_total_ = in_flight_total_;
  if (!tenant.empty()) {
    int64_t &n = in_flight_by_tenant_[tenant];
    ++n;
    int64_t &m = max_in_flight_by_tenant_[tenant];
    if (n > m) m = n;
  }
}

void Stats::graph_end(const std::string &tenant) {
  std::lock_guard lock(mutex_);
  if (in_flight_total_ > 0) --in_flight_total_;
  if (!tenant.empty()) {
    auto it = in_flight_by_tenant_.find(tenant);
    if (it != in_flight_by_tenant_.end()) {
      if (--it->second <= 0) in_flight_by_tenant_.erase(it);
    }
  }
}

void Stats::record_graph(RequestRecord record) {
  std::lock_guard lock(mutex_);
  ++requests_total_;
  if (!record.tenant.empty()) ++requests_by_tenant_[record.tenant];
  ++responses_by_status_[std::to_string(record.status)];
  if (record.retry_attempt) ++retry_attempt_headers_;
  if (!record.fault.empty()) ++faults_fired_[record.fault];
  if (record.item) {
    ++item_gets_;
    if (!record.tenant.empty()) ++item_gets_by_tenant_[record.tenant];
    ++item_get_responses_by_status_[std::to_string(record.status)];
  }
  requests_.push_back(std::move(record));
  while (requests_.size() > kMaxRecords) requests_.pop_front();
}

void Stats::record_token(const std::string &tenant, int status) {
  std::lock_guard lock(mutex_);
  ++token_requests_;
  if (!tenant.empty()) ++token_requests_by_tenant_[tenant];
  ++token_responses_by_status_[std::to_string(status)];
}

void Stats::record_foreign(ForeignRecord record) {
  std::lock_guard lock(mutex_);
  foreign_.push_back(std::move(record));
  while (foreign_.size() > kMaxRecords) foreign_.pop_front();
}

json Stats::to_json() const {
  std::lock_guard lock(mutex_);
  json out = json::object();
  out["requests_total"] = requests_total_;
  out["requests_by_tenant"] = requests_by_tenant_;
  out["max_in_flight_total"] = max_in_flight_total_;
  out["max_in_flight_by_tenant"] = max_in_flight_by_tenant_;
  out["in_flight_total"] = in_flight_total_;
  out["in_flight_by_tenant"] = in_flight_by_tenant_;
  out["responses_by_status"] = responses_by_status_;
  out["item_gets"] = item_gets_;
  out["item_gets_by_tenant"] = item_gets_by_tenant_;
  out["item_get_responses_by_status"] = item_get_responses_by_status_;
  out["token_requests"] = token_requests_;
  out["token_requests_by_tenant"] = token_requests_by_tenant_;
  out["token_responses_by_status"] = token_responses_by_status_;
  out["retry_attempt_headers"] = retry_attempt_headers_;
  out["faults_fired"] = faults_fired_;
  json foreign = json::array();
  for (const auto &f : foreign_) {
    foreign.push_back({{"method", f.method},
                       {"path", f.path},
                       {"target", f.target},
                       {"had_auth", f.had_auth},
                       {"authorization", f.had_auth ? json(f.authorization) : json(nullptr)},
                       {"at_ms", f.at_ms}});
  }
  out["foreign_requests"] = std::move(foreign);
  json requests = json::array();
  for (const auto &r : requests_) {
    requests.push_back({{"method", r.method},
                        {"tenant", r.tenant.empty() ? json(nullptr) : json(r.tenant)},
                        {"api_version", r.api_version},
                        {"path", r.path},
                        {"item", r.item},
                        {"status", r.status},
                        {"client_request_id",
                         r.client_request_id.empty() ? json(nullptr) : json(r.client_request_id)},
                        {"retry_attempt", r.retry_attempt ? json(*r.retry_attempt) : json(nullptr)},
                        {"had_auth", r.had_auth},
                        {"fault", r.fault.empty() ? json(nullptr) : json(r.fault)},
                        {"at_ms", r.at_ms},
                        {"duration_ms", r.duration_ms}});
  }
  out["requests"] = std::move(requests);
  return out;
}

void Stats::reset() {
  std::lock_guard lock(mutex_);
  requests_total_ = 0;
  requests_by_tenant_.clear();
  responses_by_status_.clear();
  max_in_flight_total_ = in_flight_total_;
  max_in_flight_by_tenant_.clear();
  for (const auto &[t, n] : in_flight_by_tenant_) max_in_flight_by_tenant_[t] = n;
  item_gets_ = 0;
  item_gets_by_tenant_.clear();
  item_get_responses_by_status_.clear();
  token_requests_ = 0;
  token_requests_by_tenant_.clear();
  token_responses_by_status_.clear();
  retry_attempt_headers_ = 0;
  faults_fired_.clear();
  requests_.clear();
  foreign_.clear();
}

}  // namespace tinv::mock
