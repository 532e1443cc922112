#include "graph_client.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <vector>

#include "graph_error.h"
#include "secret_sink.h"
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

// client_assertion values of a form body: registered with the sink for as
// long as a server could echo them back.
void register_form_secrets(const std::string& body) {
  size_t p = 0;
  while (p < body.size()) {
    size_t amp = body.find('&', p);
    if (amp == std::string::npos) amp = body.size();
    const std::string_view pair(body.data() + p, amp - p);
    const size_t eq = pair.find('=');
    if (eq != std::string_view::npos) {
      const std::string_view key = pair.substr(0, eq);
      if (key == "client_secret" || key == "client_assertion") {
        const std::string_view raw = pair.substr(eq + 1);
        std::string decoded;
        for (size_t i = 0; i < raw.size(); ++i) {
          if (raw[i] == '+') {
            decoded += ' ';
          } else if (raw[i] == '%' && i + 2 < raw.size() && std::isxdigit(static_cast<unsigned char>(raw[i + 1])) &&
                     std::isxdigit(static_cast<unsigned char>(raw[i + 2]))) {
            decoded += static_cast<char>(std::stoi(std::string(raw.substr(i + 1, 2)), nullptr, 16));
            i += 2;
          } else {
            decoded += raw[i];
          }
        }
        SecretRegistry::instance().add(raw, key == "client_secret");
        SecretRegistry::instance().add(decoded, key == "client_secret");
        OPENSSL_cleanse(decoded.data(), decoded.size());
      }
    }
    p = amp + 1;
  }
}

}  // namespace

bool is_b64token(std::string_view t) {
  // RFC 6750: 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
  if (t.empty() || t.size() > kMaxTokenBytes) return false;
  size_t i = 0;
  for (; i < t.size(); ++i) {
    const auto c = static_cast<unsigned char>(t[i]);
    if (!(std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/')) break;
  }
  if (i == 0) return false;
  for (; i < t.size(); ++i) {
    if (t[i] != '=') return false;
  }
  return true;
}

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

ItemCheck GraphClient::check_item(const RequestContext& ctx, const std::string& url,
                                  const std::string& policy_type) {
  JsonResult r = execute(ctx, Kind::Item, url, policy_type, nullptr);
  ItemCheck c;
  c.attempts = r.attempts;
  if (r.ok) {
    c.status = 200;
    return c;
  }
  c.cancelled = r.error.code == codes::kCancelled;
  c.status = r.error.http_status;
  c.error = std::move(r.error);
  return c;
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
  auto& b = r.body;
  auto tok = b.find("access_token");
  auto exp = b.find("expires_in");
  double lifetime = 0;
  if (exp != b.end()) {
    if (exp->is_number())
      lifetime = exp->get<double>();
    else if (exp->is_string())
      lifetime = std::atof(exp->get_ref<const std::string&>().c_str());
  }
  auto wipe_body = [&] {
    if (tok != r.body.end() && tok->is_string()) {
      std::string& v = tok->get_ref<std::string&>();
      OPENSSL_cleanse(v.data(), v.size());
    }
  };
  if (tok == b.end() || !tok->is_string() || tok->get_ref<const std::string&>().empty() || !(lifetime > 0) ||
      !is_b64token(tok->get_ref<const std::string&>())) {
    const bool malformed = tok != b.end() && tok->is_string() && !tok->get_ref<const std::string&>().empty() &&
                           !is_b64token(tok->get_ref<const std::string&>());
    wipe_body();
    t.error.code = codes::kAuthFailed;
    t.error.message = malformed ? "the token endpoint answered an access_token that is not an RFC 6750 token "
                                  "(characters outside A-Z a-z 0-9 - . _ ~ + / =, or too long)"
                                : "token response without access_token/expires_in";
    t.error.request_id = r.request_id;
    t.error.attempts = r.attempts;
    t.error.at = utc_timestamp_now();
    // A malformed token will not get better: the credentials path is broken.
    t.permanent = malformed;
    log_.warn("token request failed", {{"tenant", ctx.tenant},
                                       {"code", t.error.code},
                                       {"request_id", t.error.request_id},
                                       {"message", t.error.message}});
    return t;
  }
  out.value = tok->get<std::string>();
  wipe_body();
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
    // Through the sink (the run's secrets and tokens out, then the cut)
    // before anything is stored or logged: header values are as hostile
    // as bodies.
    e.message = safe_message(message);
    e.graph_error_code = safe_message(e.graph_error_code);
    e.request_id = sink_text(e.request_id, kMaxHeaderChars);
    e.client_request_id = sink_text(e.client_request_id, kMaxHeaderChars);
    return result;
  };

  for (;;) {
    if (stop.stop_requested()) return fail(codes::kCancelled, 0, nullptr, "cancelled");
    std::string token;
    if (kind != Kind::Token) {
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
    struct Wipe {
      std::string& s;
      ~Wipe() { OPENSSL_cleanse(s.data(), s.size()); }
    } wipe_token{token};

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
    if (kind == Kind::Item) req.max_body_bytes = std::min(config_.max_body_bytes, kMaxItemResponseBytes);
    if (kind != Kind::Token) {
      if (!is_b64token(token)) {
        // Never put a token that could end the header line on the wire.
        return fail(codes::kAuthFailed, 0, nullptr, "the access token is not an RFC 6750 token");
      }
      // Known to the sink before anything could echo it (a no-op when the
      // token came through fetch_token, which registered it already).
      SecretRegistry::instance().add(token);
      req.headers.push_back("Authorization: Bearer " + token);
    } else {
      req.method = "POST";
      req.headers.push_back("Content-Type: application/x-www-form-urlencoded");
      req.body = make_body();
      register_form_secrets(req.body);
      req.max_body_bytes = std::min(config_.max_body_bytes, kMaxTokenResponseBytes);
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
    if (kind != Kind::Token && resp.error == TransportError::None && resp.status == 429) {
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

    if (kind == Kind::Item && resp.error == TransportError::TooLarge && resp.status >= 200 &&
        resp.status < 300) {
      // More than an absence check reads: the object is there all the same.
      resp.error = TransportError::None;
    }
    AttemptClass cls;
    if (resp.error == TransportError::Cancelled) {
      cls = AttemptClass::Cancelled;
    } else if (resp.error != TransportError::None) {
      cls = AttemptClass::Transport;
    } else {
      cls = classify_status(resp.status);
      if (cls == AttemptClass::Success) {
        bool good = false;
        if (kind == Kind::Item) {
          // Only the status matters; the object's content is not kept.
          good = true;
          std::string().swap(resp.body);
        } else if (kind == Kind::Token) {
          result.body = nlohmann::json::parse(resp.body, nullptr, false);
          OPENSSL_cleanse(resp.body.data(), resp.body.size());
          good = result.body.is_object();
          if (good) {
            // The token is known to the sink before anything is logged.
            auto tok = result.body.find("access_token");
            if (tok != result.body.end() && tok->is_string()) {
              SecretRegistry::instance().add(tok->get_ref<const std::string&>());
            }
          }
        } else {
          // Checked without building a tree of the page (page_parser.h);
          // the items are read from the bytes by the pager.
          result.scan = scan_page(resp.body, config_.page_limits);
          good = result.scan.status != PageStatus::Syntax && result.scan.status != PageStatus::NotObject;
          if (good) result.raw = std::move(resp.body);
        }
        if (good) {
          result.ok = true;
          result.request_id = sink_text(resp.request_id, kMaxHeaderChars);
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
        result.scan = PageScan();
        cls = AttemptClass::BadResponse;
      }
    }
    if (cls == AttemptClass::Cancelled) return fail(codes::kCancelled, 0, nullptr, "cancelled");
    if (cls == AttemptClass::Throttled && ctx.metrics) ++ctx.metrics->throttled;

    if (cls == AttemptClass::Unauthorized && kind != Kind::Token && !refreshed_after_401) {
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
    if (kind == Kind::Item && has_status && resp.status == 404) {
      // The answer an absence check hopes for (or fears), not a failure.
      if (log_.enabled(LogLevel::Debug)) {
        log_.debug("http", {{"tenant", ctx.tenant},
                            {"type", policy_type},
                            {"status", resp.status},
                            {"attempt", result.attempts},
                            {"request_id", result.error.request_id},
                            {"client_request_id", result.error.client_request_id}});
      }
      return result;
    }
    log_.warn(kind == Kind::Token  ? "token request failed"
              : kind == Kind::Item ? "absence check failed"
                                   : "graph request failed",
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
