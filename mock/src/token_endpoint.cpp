// The Entra ID token endpoint: POST /{tenant}/oauth2/v2.0/token (client credentials
// with a client secret or an RS256 client assertion).
#include <cstdlib>

#include "handlers.h"
#include "request_scope.h"
#include "responses.h"
#include "util.h"

namespace tinv::mock {

using httplib::Request;
using httplib::Response;
using nlohmann::json;

void Service::handle_token(const Request &req, Response &res) {
  const Ids ids = set_id_headers(req, res);
  res.set_header("Cache-Control", "no-store, no-cache");
  res.set_header("Pragma", "no-cache");
  res.set_header("x-ms-request-id", ids.request_id);
  std::string tid = req.matches[1];
  const bool valid_tenant = is_uuid(tid);
  const std::string tenant = valid_tenant ? store_.ensure_tenant(tid) : std::string();
  struct Record {
    Stats &stats;
    const std::string &tenant;
    Response &res;
    ~Record() { stats.record_token(tenant, res.status); }
  } record{stats_, tenant, res};

  auto fault = faults_.take(tenant, "token", true);
  if (fault) {
    request_scope().fault = fault_kind_name(fault->kind);
    {
      const auto f = parse_form(req.body);
      auto cs = f.find("client_secret");
      fault->apply_headers(res, "", cs == f.end() ? std::string() : cs->second);
    }
    if (fault->kind == FaultKind::PageBody) {
      // A hostile token endpoint: the rule's body as a 200 answer.
      std::string body = fault->param_string("body", "");
      if (fault->params.contains("body_base64"))
        base64_decode(fault->param_string("body_base64", ""), body);
      res.status = 200;
      res.set_content(std::move(body), fault->param_string("content_type", "application/json").c_str());
      return;
    }
    int fd = -1;
    const int body_status = fault->kind == FaultKind::TokenError       ? 400
                            : fault->kind == FaultKind::Throttle       ? 429
                            : fault->kind == FaultKind::TokenThrottle  ? 429
                            : fault->kind == FaultKind::Unavailable    ? 503
                            : fault->kind == FaultKind::GatewayTimeout ? 504
                            : fault->kind == FaultKind::BadGateway     ? 502
                            : fault->kind == FaultKind::ServerError    ? 500
                                                                       : 0;
    if (body_status != 0 && fault->params.contains("body")) {
      // A raw body override, as for Graph errors (e.g. a proxy's page).
      std::string ra = retry_after_value(*fault, "");
      if (!ra.empty()) res.set_header("Retry-After", ra);
      res.status = body_status;
      res.set_content(fault->param_string("body", ""),
                      fault->param_string("content_type", "text/html").c_str());
      return;
    }
    switch (fault->kind) {
      case FaultKind::Throttle:
      case FaultKind::TokenThrottle: {
        std::string ra = retry_after_value(*fault, "1");
        if (!ra.empty()) res.set_header("Retry-After", ra);
        set_json(
            res, 429,
            aad_error("temporarily_unavailable", 90033,
                      "A transient error has occurred. Please try again.", ids.client_request_id));
        return;
      }
      case FaultKind::TokenError:
        set_json(res, 400,
                 aad_error("invalid_scope", 70011,
                           "The provided value for the input parameter 'scope' is not valid. The "
                           "scope https://graph.microsoft.com/.default is not valid.",
                           ids.client_request_id));
        return;
      case FaultKind::Unavailable:
      case FaultKind::GatewayTimeout:
      case FaultKind::ServerError:
      case FaultKind::BadGateway: {
        int status = fault->kind == FaultKind::Unavailable      ? 503
                     : fault->kind == FaultKind::GatewayTimeout ? 504
                     : fault->kind == FaultKind::BadGateway     ? 502
                                                                : 500;
        std::string ra = retry_after_value(*fault, "");
        if (!ra.empty()) res.set_header("Retry-After", ra);
        set_json(
            res, status,
            aad_error("temporarily_unavailable", 90033,
                      "A transient error has occurred. Please try again.", ids.client_request_id));
        return;
      }
      case FaultKind::Reset: reset_connection(req, res); return;
      case FaultKind::Hang:
        if (!wait_for_client(fault->param_int("delay_ms", 600000), req, fd)) {
          request_scope().reset = true;
          res.status = 500;
          return;
        }
        set_json(res, 504,
                 aad_error("temporarily_unavailable", 90033, "Timed out.", ids.client_request_id));
        return;
      case FaultKind::Slow: wait_for_client(fault->param_int("delay_ms", 1000), req, fd); break;
      default: break;  // Truncated: handled once the body exists
    }
  }

  const auto form = parse_form(req.body);
  auto field = [&](const char *key) -> std::string {
    auto it = form.find(key);
    return it == form.end() ? std::string() : it->second;
  };
  auto fail = [&](int status, const char *error, int code, const std::string &description) {
    set_json(res, status, aad_error(error, code, description, ids.client_request_id));
  };

  if (!valid_tenant) {
    fail(400, "invalid_request", 900023,
         "Specified tenant identifier '" + tid.substr(0, 64) +
             "' is neither a valid DNS name, nor a valid external domain.");
    return;
  }
  const std::string grant_type = field("grant_type");
  if (grant_type.empty()) {
    fail(400, "invalid_request", 900144,
         "The request body must contain the following parameter: 'grant_type'.");
    return;
  }
  if (grant_type != "client_credentials") {
    fail(400, "unsupported_grant_type", 70003,
         "The app requested an unsupported grant type '" + grant_type.substr(0, 64) + "'.");
    return;
  }
  const std::string client_id = field("client_id");
  if (client_id.empty()) {
    fail(400, "invalid_request", 900144,
         "The request body must contain the following parameter: 'client_id'.");
    return;
  }
  const TenantCredentials creds = store_.credentials(tenant);
  const std::string required_id = creds.client_id ? *creds.client_id : config_.client_id;
  if (!required_id.empty() && client_id != required_id) {
    fail(400, "unauthorized_client", 700016,
         "Application with identifier '" + client_id.substr(0, 64) +
             "' was not found in the directory '" + tenant + "'.");
    return;
  }
  const std::string scope = field("scope");
  if (scope.empty()) {
    fail(400, "invalid_request", 900144,
         "The request body must contain the following parameter: 'scope'.");
    return;
  }
  if (scope.size() < 9 || scope.compare(scope.size() - 9, 9, "/.default") != 0 ||
      scope.find(' ') != std::string::npos) {
    fail(400, "invalid_scope", 1002012,
         "The provided value for scope " + scope.substr(0, 128) +
             " is not valid. Client credential flows must have a scope value with /.default "
             "suffixed to the resource identifier (application ID URI).");
    return;
  }
  const std::string assertion = field("client_assertion");
  const std::string secret = field("client_secret");
  if (!assertion.empty()) {
    if (field("client_assertion_type") !=
        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer") {
      fail(400, "invalid_request", 50027,
           "The client_assertion_type must be "
           "'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'.");
      return;
    }
    AssertionResult r = check_client_assertion(assertion, client_id, creds.public_key_pem);
    if (!r.ok) {
      int code = std::atoi(r.aadsts.c_str() + 6);
      fail(401, "invalid_client", code, r.message);
      return;
    }
  } else if (secret.empty()) {
    fail(401, "invalid_client", 7000216,
         "'client_assertion', 'client_secret' or 'request' is required for the "
         "'client_credentials' grant type.");
    return;
  } else {
    const std::string expected = creds.client_secret ? *creds.client_secret : config_.client_secret;
    if (secret != expected) {
      // The secret is never echoed; the app id is, as Entra ID does.
      fail(401, "invalid_client", 7000215,
           "Invalid client secret provided. Ensure the secret being sent in the request is the "
           "client secret value, not the client secret ID, for a secret added to app '" +
               client_id.substr(0, 64) + "'.");
      return;
    }
  }
  ojson body = {{"token_type", "Bearer"},
                {"expires_in", tokens_.ttl_seconds()},
                {"ext_expires_in", tokens_.ttl_seconds()},
                {"access_token", tokens_.issue(tenant, client_id)}};
  if (fault && fault->kind == FaultKind::Truncated) {
    res.status = 200;
    send_truncated(res, body.dump(), kJson);
    return;
  }
  set_json(res, 200, body);
}

}  // namespace tinv::mock
