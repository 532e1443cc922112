#include "faults.h"

#include "util.h"

namespace tinv::mock {

using nlohmann::json;

namespace {

struct KindName {
  FaultKind kind;
  const char *name;
  bool token;  // allowed on the token endpoint
  bool graph;  // allowed on Graph paths
};

const KindName kKinds[] = {
    {FaultKind::Throttle, "throttle", true, true},
    {FaultKind::Unavailable, "unavailable", true, true},
    {FaultKind::GatewayTimeout, "gateway_timeout", true, true},
    {FaultKind::ServerError, "server_error", true, true},
    {FaultKind::BadGateway, "bad_gateway", true, true},
    {FaultKind::Nested400, "nested_400", false, true},
    {FaultKind::Forbidden, "forbidden", false, true},
    {FaultKind::Unauthorized, "unauthorized", false, true},
    {FaultKind::NotFound, "not_found", false, true},
    {FaultKind::Slow, "slow", true, true},
    {FaultKind::Truncated, "truncated", true, true},
    {FaultKind::Reset, "reset", true, true},
    {FaultKind::Hang, "hang", true, true},
    {FaultKind::ForeignNextLink, "foreign_next_link", false, true},
    {FaultKind::LoopNextLink, "loop_next_link", false, true},
    {FaultKind::Canary, "canary", false, true},
    {FaultKind::PageBody, "page_body", true, true},
    {FaultKind::Endless, "endless", false, true},
    {FaultKind::TokenThrottle, "token_throttle", true, false},
    {FaultKind::TokenError, "token_error", true, false},
};

const KindName *find_kind(FaultKind kind) {
  for (const auto &k : kKinds)
    if (k.kind == kind) return &k;
  return nullptr;
}

bool valid_retry_after(const std::string &v) {
  if (v == "none") return true;
  std::string rest = v;
  if (rest.rfind("http-date:", 0) == 0) {
    rest = rest.substr(10);
    if (!rest.empty() && (rest[0] == '+' || rest[0] == '-')) rest = rest.substr(1);
  }
  if (rest.empty()) return false;
  bool dot = false;
  for (char c : rest) {
    if (c == '.') {
      if (dot) return false;
      dot = true;
    } else if (c < '0' || c > '9') {
      return false;
    }
  }
  return rest.front() != '.' && rest.back() != '.';
}

std::string normalize_path(std::string p) {
  while (!p.empty() && p.front() == '/') p.erase(p.begin());
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  return p;
}

}  // namespace

const char *fault_kind_name(FaultKind kind) {
  const KindName *k = find_kind(kind);
  return k ? k->name : "unknown";
}

std::optional<FaultKind> parse_fault_kind(const std::string &name) {
  for (const auto &k : kKinds)
    if (name == k.name) return k.kind;
  return std::nullopt;
}

std::string FaultRule::param_string(const char *key, const std::string &fallback) const {
  if (params.contains(key)) {
    const json &v = params[key];
    if (v.is_string()) return v.get<std::string>();
    if (v.is_number()) return v.dump();
  }
  return fallback;
}

int64_t FaultRule::param_int(const char *key, int64_t fallback) const {
  if (params.contains(key) && params[key].is_number_integer()) return params[key].get<int64_t>();
  return fallback;
}

bool FaultSet::replace(const json &rules, std::string &error) {
  const json *list = &rules;
  if (rules.is_object() && rules.contains("faults")) list = &rules["faults"];
  if (!list->is_array()) {
    error = "expected a JSON array of fault rules";
    return false;
  }
  std::vector<FaultRule> parsed;
  size_t n = 0;
  for (const auto &r : *list) {
    const std::string where = "fault rule " + std::to_string(n++) + ": ";
    if (!r.is_object()) {
      error = where + "must be an object";
      return false;
    }
    FaultRule rule;
    rule.params = r;
    if (!r.contains("kind") || !r["kind"].is_string()) {
      error = where + "missing string \"kind\"";
      return false;
    }
    auto kind = parse_fault_kind(r["kind"].get<std::string>());
    if (!kind) {
      error = where + "unknown kind \"" + r["kind"].get<std::string>() + "\"";
      return false;
    }
    rule.kind = *kind;
    if (r.contains("tenant")) {
      if (!r["tenant"].is_string() ||
          (r["tenant"] != "*" && !is_uuid(r["tenant"].get<std::string>()))) {
        error = where + "\"tenant\" must be \"*\" or a tenant UUID";
        return false;
      }
      rule.tenant = to_lower(r["tenant"].get<std::string>());
    }
    if (r.contains("path")) {
      if (!r["path"].is_string() || r["path"].get<std::string>().empty()) {
        error = where + "\"path\" must be a non-empty string";
        return false;
      }
      rule.path = normalize_path(r["path"].get<std::string>());
    }
    if (r.contains("request")) {
      const json &q = r["request"];
      if (!q.is_string() || (q != "any" && q != "list" && q != "item")) {
        error = where + "\"request\" must be \"any\", \"list\" or \"item\"";
        return false;
      }
      rule.request = q.get<std::string>();
    }
    const bool token_path = rule.path == "token";
    const KindName *k = find_kind(rule.kind);
    if (token_path && !k->token) {
      error = where + "kind \"" + k->name + "\" does not apply to the token endpoint";
      return false;
    }
    if (!token_path && !k->graph) {
      error = where + "kind \"" + k->name + "\" needs \"path\": \"token\"";
      return false;
    }
    if (r.contains("times")) {
      if (!r["times"].is_number_integer() || r["times"].get<int64_t>() < -1) {
        error = where + "\"times\" must be an integer >= -1";
        return false;
      }
      rule.times = r["times"].get<int64_t>();
    }
    if (r.contains("after_pages")) {
      if (!r["after_pages"].is_number_integer() || r["after_pages"].get<int64_t>() < 0) {
        error = where + "\"after_pages\" must be an integer >= 0";
        return false;
      }
      rule.after_pages = r["after_pages"].get<int64_t>();
    }
    if (r.contains("retry_after")) {
      std::string ra = r["retry_after"].is_string()   ? r["retry_after"].get<std::string>()
                       : r["retry_after"].is_number() ? r["retry_after"].dump()
                                                      : std::string();
      if (!valid_retry_after(ra)) {
        error = where +
                "\"retry_after\" must be seconds (\"2\", \"0.5\"), \"http-date:+N\" or \"none\"";
        return false;
      }
    }
    if (r.contains("delay_ms") &&
        (!r["delay_ms"].is_number_integer() || r["delay_ms"].get<int64_t>() < 0 ||
         r["delay_ms"].get<int64_t>() > 3600000)) {
      error = where + "\"delay_ms\" must be an integer in 0..3600000";
      return false;
    }
    if (r.contains("variant")) {
      const json &v = r["variant"];
      if (!v.is_string() || (v != "host" && v != "scheme" && v != "version")) {
        error = where + "\"variant\" must be \"host\", \"scheme\" or \"version\"";
        return false;
      }
    }
    for (const char *key : {"canary", "body", "content_type", "body_base64"}) {
      if (r.contains(key) && !r[key].is_string()) {
        error = where + "\"" + key + "\" must be a string";
        return false;
      }
    }
    if (r.contains("body_base64")) {
      std::string raw;
      if (!base64_decode(r["body_base64"].get<std::string>(), raw)) {
        error = where + "\"body_base64\" must be standard base64 with padding";
        return false;
      }
    }
    if (rule.kind == FaultKind::PageBody && !r.contains("body") && !r.contains("body_base64")) {
      error = where + "kind \"page_body\" needs \"body\" or \"body_base64\"";
      return false;
    }
    if (r.contains("interval_ms") &&
        (!r["interval_ms"].is_number_integer() || r["interval_ms"].get<int64_t>() < 0 ||
         r["interval_ms"].get<int64_t>() > 60000)) {
      error = where + "\"interval_ms\" must be an integer in 0..60000";
      return false;
    }
    if (r.contains("chunk_bytes") &&
        (!r["chunk_bytes"].is_number_integer() || r["chunk_bytes"].get<int64_t>() < 1 ||
         r["chunk_bytes"].get<int64_t>() > 1048576)) {
      error = where + "\"chunk_bytes\" must be an integer in 1..1048576";
      return false;
    }
    parsed.push_back(std::move(rule));
  }
  std::lock_guard lock(mutex_);
  rules_ = std::move(parsed);
  return true;
}

void FaultSet::clear() {
  std::lock_guard lock(mutex_);
  rules_.clear();
}

json FaultSet::to_json() const {
  std::lock_guard lock(mutex_);
  json out = json::array();
  for (const auto &r : rules_) {
    json e = r.params;
    e["kind"] = fault_kind_name(r.kind);
    e["tenant"] = r.tenant;
    e["path"] = r.path;
    e["request"] = r.request;
    e["times"] = r.times;
    e["after_pages"] = r.after_pages;
    e["seen"] = r.seen;
    e["fired"] = r.fired;
    out.push_back(std::move(e));
  }
  return out;
}

std::optional<FaultRule> FaultSet::take(const std::string &tenant, const std::string &path,
                                        bool token_endpoint, bool item) {
  std::lock_guard lock(mutex_);
  std::optional<FaultRule> chosen;
  for (auto &r : rules_) {
    const bool path_match = token_endpoint ? r.path == "token" : (r.path == "*" || r.path == path);
    if (!path_match) continue;
    if (!token_endpoint && (r.request == (item ? "list" : "item"))) continue;
    if (r.tenant != "*" && r.tenant != tenant) continue;
    if (r.seen < r.after_pages) {
      ++r.seen;
      continue;
    }
    ++r.seen;
    if (chosen) continue;
    if (r.times >= 0 && r.fired >= r.times) continue;
    ++r.fired;
    chosen = r;
  }
  return chosen;
}

void FaultRule::apply_headers(httplib::Response &res, const std::string &bearer,
                              const std::string &client_secret) const {
  auto it = params.find("headers");
  if (it == params.end() || !it->is_object()) return;
  for (auto h = it->begin(); h != it->end(); ++h) {
    if (!h.value().is_string()) continue;
    std::string v = h.value().get<std::string>();
    for (const auto &[mark, with] : {std::pair<std::string, const std::string &>{"{{bearer}}", bearer},
                                     std::pair<std::string, const std::string &>{"{{client_secret}}",
                                                                                 client_secret}}) {
      for (size_t at = v.find(mark); at != std::string::npos; at = v.find(mark, at + with.size()))
        v.replace(at, mark.size(), with);
    }
    res.headers.erase(h.key());
    res.set_header(h.key(), v);
  }
}

}  // namespace tinv::mock
