#include "graph_client.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <vector>

#include "graph_error.h"
#include "uuid.h"

namespace fetch {

namespace {

const char* give_up_text(GiveUpReason r) {
  switch (r) {
    case GiveUpReason::AttemptsExhausted:
      return "retries exhausted";
    case GiveUpReason::BudgetExhausted:
      return "request time budget exhausted";
    case GiveUpReason::Cancelled:
      return "cancelled";
    default:
      return "not retryable";
  }
}

// The URL without its query, for log lines (the query holds paging tokens;
// redaction would mask them anyway).
std::string url_for_log(const std::string& url) { return url.substr(0, url.find('?')); }

// The credentials a request carried, kept (and wiped at the end) only to be
// cut out of whatever the server sends back: a proxy or endpoint that
// echoes the bearer token or the client secret verbatim must not get them
// into an error record or a log line, whatever their shape.
class SentSecrets {
 public:
  SentSecrets() = default;
  SentSecrets(const SentSecrets&) = delete;
  SentSecrets& operator=(const SentSecrets&) = delete;
  ~SentSecrets() { clear(); }

  void clear() {
    for (auto& v : values_) OPENSSL_cleanse(v.data(), v.size());
    values_.clear();
  }
  // Shorter values would mask ordinary words; real credentials are long.
  void add(std::string v) {
    if (v.size() >= 8) values_.push_back(std::move(v));
  }
  // client_secret and client_assertion of a form body, as sent and decoded.
  void add_from_form(const std::string& body) {
    size_t p = 0;
    while (p <= body.size()) {
      size_t amp = body.find('&', p);
      if (amp == std::string::npos) amp = body.size();
      const std::string pair = body.substr(p, amp - p);
      const size_t eq = pair.find('=');
      const std::string key = pair.substr(0, eq);
      if (eq != std::string::npos && (key == "client_secret" || key == "client_assertion")) {
        std::string raw = pair.substr(eq + 1);
        add(percent_decode(raw));
        add(std::move(raw));
      }
      p = amp + 1;
    }
  }
  void scrub(std::string& text) const {
    for (const auto& v : values_) {
      for (size_t at = text.find(v); at != std::string::npos; at = text.find(v, at)) {
        text.replace(at, v.size(), "[REDACTED]");
      }
    }
  }

 private:
  static std::string percent_decode(const std::string& s) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
      if (s[i] == '+') {
        out += ' ';
      } else if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
                 std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
        out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
        i += 2;
      } else {
        out += s[i];
      }
    }
    return out;
  }
  std::vector<std::string> values_;
};

}  // namespace

GraphClient::GraphClient(Transport& transport, Clock& clock, ThrottleGate& gate, Logger& log,
                         GraphClientConfig config, Uniform uniform)
    : transport_(transport),
      clock_(clock),
      gate_(gate),
      log_(log),
      config_(config),
      uniform_(std::move(uniform)) {}

JsonResult GraphClient::get(const RequestContext& ctx, const std::string& url,
                            const std::string& policy_type) {
  return execute(ctx, Kind::Graph, url, policy_type, nullptr);
}

TokenResult GraphClient::fetch_token(const RequestContext& ctx, const std::string& token_url,
                                     const std::function<std::string()>& make_body, AccessToken& out) {
  if (ctx.metrics) ++ctx.metrics->token_requests;
  JsonResult r = execute(ctx, Kind::Token, token_url, "", make_body);
  TokenResult t;
  if (!r.ok) {
    t.error = std::move(r.error);
    t.permanent = r.fatal;
    return t;
  }
  const auto& b = r.body;
  auto tok = b.find("access_token");
  auto exp = b.find("expires_in");
  double lifetime = 0;
  if (exp != b.end()) {
    if (exp->is_number())
      lifetime = exp->get<double>();
    else if (exp->is_string())
      lifetime = std::atof(exp->get_ref<const std::string&>().c_str());
  }
  if (tok == b.end() || !tok->is_string() || tok->get_ref<const std::string&>().empty() || !(lifetime > 0)) {
    t.error.code = codes::kAuthFailed;
    t.error.message = "token response without access_token/expires_in";
    t.error.request_id = r.request_id;
    t.error.attempts = r.attempts;
    t.error.at = utc_timestamp_now();
    return t;
  }
  out.value = tok->get<std::string>();
  out.lifetime_s = lifetime;
  out.expires_at = add_seconds(clock_.now(), lifetime);
  t.ok = true;
  t.token = out.value;
  return t;
}

JsonResult GraphClient::execute(const RequestContext& ctx, Kind kind, const std::string& url,
                                const std::string& policy_type,
                                const std::function<std::string()>& make_body) {
  static const StopToken never_stop;
  const StopToken& stop = ctx.stop ? *ctx.stop : never_stop;
  const RetryConfig& rc = config_.retry;
  const SteadyTime started = clock_.now();
  const std::string client_request_id = random_uuid();
  RetryCounters counters;
  bool refreshed_after_401 = false;
  JsonResult result;

  SentSecrets sent;
  auto fail = [&](const char* code, long status, const HttpResponse* resp, std::string message) {
    result.ok = false;
    ErrorRecord& e = result.error;
    e.code = code;
    e.policy_type = policy_type;
    e.http_status = status;
    e.client_request_id = client_request_id;
    e.attempts = result.attempts;
    e.at = utc_timestamp_now();
    if (resp) {
      e.request_id = resp->request_id;
      if (!resp->body.empty()) {
        GraphErrorInfo info = parse_error_body(resp->body);
        e.graph_error_code = info.code;
        if (!info.inner_code.empty() && info.inner_code != info.code) {
          e.graph_error_code += e.graph_error_code.empty() ? info.inner_code : "/" + info.inner_code;
        }
        if (e.request_id.empty()) e.request_id = info.request_id;
        if (!info.message.empty()) message += ": " + info.message;
      }
      if (!resp->client_request_id.empty()) e.client_request_id = resp->client_request_id;
    }
    sent.scrub(message);
    sent.scrub(e.graph_error_code);
    sent.scrub(e.request_id);
    sent.scrub(e.client_request_id);
    e.message = safe_message(message);
    return result;
  };

  for (;;) {
    if (stop.stop_requested()) return fail(codes::kCancelled, 0, nullptr, "cancelled");
    std::string token;
    if (kind == Kind::Graph) {
      TokenResult tr = ctx.tokens->get(stop);
      if (!tr.ok) {
        result.ok = false;
        result.error = tr.error;
        if (result.error.policy_type.empty()) result.error.policy_type = policy_type;
        result.fatal = tr.permanent;
        return result;
      }
      token = std::move(tr.token);
    }

    HttpRequest req;
    req.url = url;
    req.stop = &stop;
    const double elapsed = seconds_between(started, clock_.now());
    req.timeout_s = std::max(1.0, std::min(config_.request_timeout_s, rc.budget_s - elapsed));
    req.connect_timeout_s = config_.connect_timeout_s;
    req.max_body_bytes = config_.max_body_bytes;
    req.headers.push_back("Accept: application/json");
    req.headers.push_back("client-request-id: " + client_request_id);
    req.headers.push_back("return-client-request-id: true");
    if (counters.total() > 0) req.headers.push_back("Retry-Attempt: " + std::to_string(counters.total()));
    if (kind == Kind::Graph) {
      req.headers.push_back("Authorization: Bearer " + token);
      sent.clear();
      sent.add(token);
    } else {
      req.method = "POST";
      req.headers.push_back("Content-Type: application/x-www-form-urlencoded");
      req.body = make_body();
      sent.clear();
      sent.add_from_form(req.body);
    }

    SteadyTime attempt_started{};
    if (!gate_.acquire(ctx.tenant, stop, &attempt_started)) {
      return fail(codes::kCancelled, 0, nullptr, "cancelled");
    }
    ++result.attempts;
    if (ctx.metrics) ++ctx.metrics->requests;
    HttpResponse resp = transport_.perform(req);
    std::optional<double> ra;
    if (resp.error == TransportError::None) ra = parse_retry_after(resp.retry_after, clock_.wall_now());
    if (kind == Kind::Graph && resp.error == TransportError::None && resp.status == 429) {
      // Pause the whole tenant before this slot frees up: for Retry-After,
      // or for the backoff this request is about to take.
      // A pause longer than a whole request budget is cut to it: no request
      // could wait it out, and a hostile or far-future Retry-After must not
      // hold the tenant's other requests (nor overflow the clock).
      const double pause =
          std::min(ra ? *ra : rc.scale * backoff_delay(rc, counters.total(), 0.0), rc.budget_s);
      gate_.release_throttled(ctx.tenant, attempt_started, pause);
    } else {
      gate_.release(ctx.tenant);
    }
    // The request (with the token or the secret) is no longer needed.
    for (auto& h : req.headers) OPENSSL_cleanse(h.data(), h.size());
    OPENSSL_cleanse(req.body.data(), req.body.size());
    req.headers.clear();
    req.body.clear();

    AttemptClass cls;
    if (resp.error == TransportError::Cancelled) {
      cls = AttemptClass::Cancelled;
    } else if (resp.error != TransportError::None) {
      cls = AttemptClass::Transport;
    } else {
      cls = classify_status(resp.status);
      if (cls == AttemptClass::Success) {
        result.body = nlohmann::json::parse(resp.body, nullptr, false);
        if (result.body.is_object()) {
          result.ok = true;
          result.request_id = resp.request_id;
          if (log_.enabled(LogLevel::Debug)) {
            log_.debug("http",
                       {{"tenant", ctx.tenant},
                        {"type", policy_type},
                        {"status", resp.status},
                        {"url", url_for_log(url)},
                        {"attempt", result.attempts},
                        {"request_id", resp.request_id},
                        {"client_request_id", client_request_id},
                        {"ms", static_cast<long>(seconds_between(attempt_started, clock_.now()) * 1000)}});
          }
          return result;
        }
        result.body = nlohmann::json();
        cls = AttemptClass::BadResponse;
      }
    }
    if (cls == AttemptClass::Cancelled) return fail(codes::kCancelled, 0, nullptr, "cancelled");
    if (cls == AttemptClass::Throttled && ctx.metrics) ++ctx.metrics->throttled;

    if (cls == AttemptClass::Unauthorized && kind == Kind::Graph && !refreshed_after_401) {
      // The token may have expired or been revoked early: get a new one once.
      refreshed_after_401 = true;
      ctx.tokens->invalidate(token);
      log_.info("graph answered 401, refreshing the token once",
                {{"tenant", ctx.tenant}, {"type", policy_type}, {"request_id", resp.request_id}});
      continue;
    }

    const double elapsed_now = seconds_between(started, clock_.now());
    RetryDecision d = decide_retry(rc, cls, ra, elapsed_now, counters, uniform_);
    const std::string what = resp.error != TransportError::None ? resp.error_message
                             : cls == AttemptClass::BadResponse ? "response body is not a JSON object"
                                                                : "HTTP " + std::to_string(resp.status);
    if (d.retry) {
      if (ctx.metrics) ++ctx.metrics->retries;
      log_.info(cls == AttemptClass::Throttled ? "throttled, retrying" : "request failed, retrying",
                {{"tenant", ctx.tenant},
                 {"type", policy_type},
                 {"status", resp.status},
                 {"error", what},
                 {"retry_in_s", std::round(d.delay_s * 1000) / 1000},
                 {"retry_after", resp.retry_after},
                 {"attempt", result.attempts},
                 {"request_id", resp.request_id},
                 {"client_request_id", client_request_id}});
      if (!clock_.sleep_for(Seconds(d.delay_s), stop)) {
        return fail(codes::kCancelled, 0, nullptr, "cancelled");
      }
      continue;
    }

    // Give up.
    const char* code;
    if (kind == Kind::Token) {
      code = codes::kAuthFailed;
      // Rejected credentials (4xx other than 429) will not get better.
      result.fatal = resp.error == TransportError::None && resp.status >= 400 && resp.status < 500 &&
                     resp.status != 429 && resp.status != 408;
    } else if (cls == AttemptClass::Transport) {
      code = resp.error == TransportError::Timeout ? codes::kTimeout : codes::kNetworkError;
      if (resp.error == TransportError::TooLarge) code = codes::kGraphBadResponse;
    } else if (cls == AttemptClass::BadResponse) {
      code = codes::kGraphBadResponse;
    } else {
      code = error_code_for_status(resp.status);
    }
    std::string message = kind == Kind::Token ? "token request failed: " : "";
    message += what;
    if (d.reason == GiveUpReason::AttemptsExhausted || d.reason == GiveUpReason::BudgetExhausted) {
      message += " (" + std::string(give_up_text(d.reason)) + " after " + std::to_string(result.attempts) +
                 " attempts)";
    }
    const bool has_status = resp.error == TransportError::None;
    fail(code, has_status ? resp.status : 0, has_status ? &resp : nullptr, message);
    log_.warn(kind == Kind::Token ? "token request failed" : "graph request failed",
              {{"tenant", ctx.tenant},
               {"type", policy_type},
               {"code", result.error.code},
               {"status", result.error.http_status},
               {"graph_error_code", result.error.graph_error_code},
               {"request_id", result.error.request_id},
               {"client_request_id", result.error.client_request_id},
               {"attempts", result.attempts},
               {"message", result.error.message}});
    return result;
  }
}

}  // namespace fetch
