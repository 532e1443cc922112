#include "handlers.h"

#include "connection.h"
#include "paging.h"
#include "util.h"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <set>

namespace tinv::mock {

using httplib::Request;
using httplib::Response;
using nlohmann::json;

namespace {

const char kGraphContentType[] =
    "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;"
    "charset=utf-8";
const char kJson[] = "application/json";
const char kGraphAppId[] = "00000003-0000-0000-c000-000000000000";
const size_t kMaxIndexesPerCall = 1000000;

// Per-request bookkeeping. A connection is served start to end on one pool thread,
// so the pre-routing handler, the route handler and the logger of a request share it.
struct Scope {
  bool graph = false;
  bool token = false;
  std::string tenant;
  TokenCheck auth = TokenCheck::Missing;
  bool had_auth = false;
  std::string fault;
  bool reset = false;  // connection aborted: no status reached the client
  bool finished = false;  // accounted for (before the response was written)
  int64_t start_ms = 0;
};
thread_local Scope tl_scope;

bool printable_header_value(const std::string &v) {
  if (v.empty() || v.size() > 200) return false;
  for (unsigned char c : v)
    if (c < 0x20 || c > 0x7e) return false;
  return true;
}

struct Ids {
  std::string request_id;
  std::string client_request_id;
};

// request-id (new per response) and client-request-id (echoed, or new).
Ids set_id_headers(const Request &req, Response &res) {
  Ids ids;
  ids.request_id = random_uuid();
  std::string crid = req.get_header_value("client-request-id");
  ids.client_request_id = printable_header_value(crid) ? crid : random_uuid();
  res.set_header("request-id", ids.request_id);
  res.set_header("client-request-id", ids.client_request_id);
  res.set_header("Date", http_date(now_ms() / 1000));
  return ids;
}

template <class Json>
void set_json(Response &res, int status, const Json &body, const char *content_type = kJson) {
  res.status = status;
  res.set_content(body.dump(-1, ' ', false, Json::error_handler_t::replace), content_type);
}
void set_json(Response &res, int status, const json &body) { set_json<json>(res, status, body); }

// Bodies that mirror real responses keep their key order (ordered_json).
ojson graph_error(const std::string &code, const std::string &message, const Ids &ids) {
  return {{"error",
           {{"code", code},
            {"message", message},
            {"innerError",
             {{"date", iso8601_plain(now_ms() / 1000)},
              {"request-id", ids.request_id},
              {"client-request-id", ids.client_request_id}}}}}};
}

ojson aad_error(const std::string &error, int code, const std::string &description,
                const std::string &correlation_id) {
  const std::string trace = random_uuid();
  const int64_t now = now_ms() / 1000;
  std::string ts = iso8601_plain(now);
  ts[10] = ' ';
  ts += "Z";
  const std::string aadsts = "AADSTS" + std::to_string(code);
  return {{"error", error},
          {"error_description", aadsts + ": " + description + "\r\nTrace ID: " + trace +
                                    "\r\nCorrelation ID: " + correlation_id +
                                    "\r\nTimestamp: " + ts},
          {"error_codes", ojson::array({code})},
          {"timestamp", ts},
          {"trace_id", trace},
          {"correlation_id", correlation_id},
          {"error_uri", "https://login.microsoftonline.com/error?code=" + std::to_string(code)}};
}

// Retry-After value for a rule ("" = omit the header).
std::string retry_after_value(const FaultRule &rule, const std::string &fallback) {
  std::string v = rule.param_string("retry_after", fallback);
  if (v.empty() || v == "none") return "";
  if (v.rfind("http-date:", 0) == 0) {
    double offset = std::atof(v.c_str() + 10);
    double at = std::ceil(double(now_ms()) / 1000.0 + offset);
    return http_date(static_cast<int64_t>(at));
  }
  return v;
}

std::string host_of(const Request &req, int port) {
  std::string host = req.get_header_value("Host");
  bool ok = !host.empty() && host.size() < 256;
  for (char c : host) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == ':' ||
          c == '[' || c == ']' || c == '_'))
      ok = false;
  }
  if (ok) return host;
  std::string addr = req.local_addr.empty() ? std::string("127.0.0.1") : req.local_addr;
  if (addr.find(':') != std::string::npos) addr = "[" + addr + "]";
  return addr + ":" + std::to_string(req.local_port > 0 ? req.local_port : port);
}

bool is_graph_path(const std::string &path) {
  return path.rfind("/v1.0/", 0) == 0 || path.rfind("/beta/", 0) == 0 || path == "/v1.0" ||
         path == "/beta";
}

// Indexes of an admin mutation body: "indexes": [...] and/or "range": [start, end).
bool read_indexes(const json &body, std::vector<uint64_t> &out, std::string &error) {
  if (body.contains("indexes")) {
    if (!body["indexes"].is_array()) {
      error = "\"indexes\" must be an array of non-negative integers";
      return false;
    }
    for (const auto &i : body["indexes"]) {
      if (!i.is_number_unsigned()) {
        error = "\"indexes\" must be an array of non-negative integers";
        return false;
      }
      out.push_back(i.get<uint64_t>());
    }
  }
  if (body.contains("range")) {
    const json &r = body["range"];
    if (!r.is_array() || r.size() != 2 || !r[0].is_number_unsigned() ||
        !r[1].is_number_unsigned() || r[0].get<uint64_t>() > r[1].get<uint64_t>()) {
      error = "\"range\" must be [start, end) with 0 <= start <= end";
      return false;
    }
    uint64_t a = r[0].get<uint64_t>(), b = r[1].get<uint64_t>();
    if (b - a > kMaxIndexesPerCall) {
      error = "\"range\" covers too many items for one call";
      return false;
    }
    for (uint64_t i = a; i < b; ++i) out.push_back(i);
  }
  if (out.size() > kMaxIndexesPerCall) {
    error = "too many indexes for one call";
    return false;
  }
  if (!body.contains("indexes") && !body.contains("range")) {
    error = "expected \"indexes\" (array) or \"range\" ([start, end))";
    return false;
  }
  return true;
}

bool parse_body(const Request &req, Response &res, json &body) {
  body = json::parse(req.body.empty() ? std::string("{}") : req.body, nullptr, false);
  if (body.is_discarded()) {
    set_json(res, 400, {{"error", "request body is not valid JSON"}});
    return false;
  }
  return true;
}

std::string normalize_graph_path(std::string p) {
  while (!p.empty() && p.front() == '/') p.erase(p.begin());
  while (!p.empty() && p.back() == '/') p.pop_back();
  return p;
}

// The status of the kinds that answer with an error, 0 for the others.
int error_status(FaultKind kind) {
  switch (kind) {
    case FaultKind::Throttle: return 429;
    case FaultKind::Unavailable: return 503;
    case FaultKind::GatewayTimeout: return 504;
    case FaultKind::ServerError: return 500;
    case FaultKind::BadGateway: return 502;
    case FaultKind::Nested400: return 400;
    case FaultKind::Forbidden: return 403;
    case FaultKind::Unauthorized: return 401;
    case FaultKind::NotFound: return 404;
    case FaultKind::Canary: return 400;
    default: return 0;
  }
}

std::string token_check_message(TokenCheck c) {
  switch (c) {
    case TokenCheck::Missing: return "Access token is empty.";
    case TokenCheck::Malformed: return "IDX14100: JWT is not well formed.";
    case TokenCheck::BadSignature: return "Access token validation failure. Invalid audience.";
    case TokenCheck::Expired: return "Access token has expired or is not yet valid.";
    case TokenCheck::Ok: break;
  }
  return "";
}

}  // namespace

Service::Service(const Config &config)
    : config_(config),
      generator_(config.tenant_seed, config.items_per_type, config.types),
      store_(generator_, config.tenants, config.state_file),
      tokens_(config.token_ttl) {}

bool Service::load_state(std::string &error) { return store_.load(error); }

bool Service::wait_for_client(int64_t ms, const Request &req, int &fd) {
  if (ms <= 0) return !stopping_;
  if (fd < 0 && ms >= 100)
    fd = find_connection_socket(req.local_addr, req.local_port, req.remote_addr, req.remote_port);
  return interruptible_wait(ms, stopping_, fd);
}

void Service::reset_connection(const Request &req, Response &res) {
  int fd = find_connection_socket(req.local_addr, req.local_port, req.remote_addr, req.remote_port);
  tl_scope.reset = true;
  if (fd >= 0) {
    abort_connection(fd);
    res.status = 500;  // never reaches the client: the socket is already shut down
    res.set_header("Connection", "close");
    return;
  }
  // Fallback (socket not found): status line only, then the connection drops.
  res.status = 500;
  res.set_content_provider(
      1, "text/plain", [](size_t, size_t, httplib::DataSink &) { return false; });
}

void Service::send_truncated(Response &res, std::string body, const std::string &content_type) {
  auto shared = std::make_shared<std::string>(std::move(body));
  const size_t total = shared->size();
  res.set_content_provider(
      total, content_type, [shared](size_t offset, size_t, httplib::DataSink &sink) {
        // Half the body, then fail: cpp-httplib closes the connection.
        size_t half = shared->size() / 2;
        if (offset < half) sink.write(shared->data() + offset, half - offset);
        return false;
      });
}

// Ends the in-flight interval of a Graph request and records it. Called when its
// handler returns, i.e. before the response is written: a client cannot see the
// response (and send its next request) before the request stopped counting, so the
// maxima never exceed the client's real concurrency.
void Service::finish_graph(const Request &req, const Response &res) {
  if (!tl_scope.graph || tl_scope.finished) return;
  tl_scope.finished = true;
  stats_.graph_end(tl_scope.tenant);
  RequestRecord r;
  r.method = req.method;
  r.tenant = tl_scope.tenant;
  r.api_version = req.path.rfind("/beta", 0) == 0 ? "beta" : "v1.0";
  r.path = normalize_graph_path(req.path.substr(std::min(req.path.size(), r.api_version.size() + 1)));
  r.status = tl_scope.reset ? 0 : res.status;
  r.client_request_id = req.get_header_value("client-request-id");
  if (req.has_header("Retry-Attempt")) r.retry_attempt = req.get_header_value("Retry-Attempt");
  r.had_auth = tl_scope.had_auth;
  r.fault = tl_scope.fault;
  r.at_ms = tl_scope.start_ms;
  r.duration_ms = now_ms() - tl_scope.start_ms;
  stats_.record_graph(std::move(r));
}

void Service::register_main(httplib::Server &server) {
  server.set_pre_routing_handler([this](const Request &req, Response &) {
    if (tl_scope.graph && !tl_scope.finished) stats_.graph_end(tl_scope.tenant);  // never logged
    tl_scope = Scope{};
    tl_scope.start_ms = now_ms();
    if (is_graph_path(req.path)) {
      tl_scope.graph = true;
      std::string auth = req.get_header_value("Authorization");
      tl_scope.had_auth = req.has_header("Authorization");
      std::string tenant;
      tl_scope.auth = tokens_.check_header(auth, tenant);
      if (tl_scope.auth == TokenCheck::Ok) tl_scope.tenant = tenant;
      stats_.graph_begin(tl_scope.tenant);
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });

  server.set_logger([this](const Request &req, const Response &res) {
    const int64_t now = now_ms();
    const int status = tl_scope.reset ? 0 : res.status;
    // Requests no Graph handler finished (e.g. an unrouted method) are accounted here.
    finish_graph(req, res);
    if (config_.log_requests) {
      // Path only: no query (paging tokens), no headers (Authorization), no body (secrets).
      std::fprintf(stderr, "[mock] %s %s %d %lldms%s%s%s%s\n", req.method.c_str(),
                   req.path.c_str(), status,
                   static_cast<long long>(tl_scope.start_ms ? now - tl_scope.start_ms : 0),
                   tl_scope.tenant.empty() ? "" : " tenant=", tl_scope.tenant.c_str(),
                   tl_scope.fault.empty() ? "" : " fault=", tl_scope.fault.c_str());
    }
    tl_scope = Scope{};
  });

  server.set_exception_handler([](const Request &, Response &res, std::exception_ptr ep) {
    std::string what = "unexpected error";
    try {
      if (ep) std::rethrow_exception(ep);
    } catch (const std::exception &e) {
      what = e.what();
    } catch (...) {
    }
    set_json(res, 500, {{"error", {{"code", "InternalServerError"}, {"message", what}}}});
  });

  server.set_error_handler(httplib::Server::HandlerWithResponse([](const Request &req, Response &res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    if (res.status == 404 && req.path.rfind("/_mock", 0) == 0) {
      set_json(res, 404, {{"error", "no such admin endpoint: " + req.method + " " + req.path}});
    } else if (res.status == 404) {
      Ids ids{random_uuid(), random_uuid()};
      set_json(res, 404,
               graph_error("BadRequest", "Resource not found for the segment '" + req.path + "'.",
                           ids));
    } else {
      Ids ids{random_uuid(), random_uuid()};
      set_json(res, res.status, graph_error("BadRequest", "Bad request.", ids));
    }
    return httplib::Server::HandlerResponse::Handled;
  }));

  // --- token endpoint ---
  server.Post(R"(/([^/]+)/oauth2/v2\.0/token)",
              [this](const Request &req, Response &res) { handle_token(req, res); });

  // --- Graph ---
  server.Get(R"(/(v1\.0|beta)(/.*)?)", [this](const Request &req, Response &res) {
    handle_graph(req, res);
    finish_graph(req, res);
  });
  auto not_allowed = [this](const Request &req, Response &res) {
    Ids ids = set_id_headers(req, res);
    set_json(res, 405,
             graph_error("Request_BadRequest",
                         "The request method '" + req.method + "' is not supported by the mock.",
                         ids));
    finish_graph(req, res);
  };
  server.Post(R"(/(v1\.0|beta)(/.*)?)", not_allowed);
  server.Put(R"(/(v1\.0|beta)(/.*)?)", not_allowed);
  server.Patch(R"(/(v1\.0|beta)(/.*)?)", not_allowed);
  server.Delete(R"(/(v1\.0|beta)(/.*)?)", not_allowed);

  // --- admin ---
  server.Get("/_mock/health", [this](const Request &, Response &res) {
    set_json(res, 200,
             {{"ok", true},
              {"port", port_.load()},
              {"foreign_port", foreign_port_.load() > 0 ? json(foreign_port_.load()) : json(nullptr)}});
  });
  server.Get("/_mock/tenants", [this](const Request &, Response &res) {
    set_json(res, 200, {{"tenants", store_.tenants()}});
  });
  server.Get("/_mock/stats", [this](const Request &, Response &res) {
    json s = stats_.to_json();
    s["foreign_port"] = foreign_port_.load() > 0 ? json(foreign_port_.load()) : json(nullptr);
    set_json(res, 200, s);
  });
  server.Post("/_mock/reset-stats", [this](const Request &, Response &res) {
    stats_.reset();
    set_json(res, 200, {{"ok", true}});
  });
  server.Get("/_mock/faults", [this](const Request &, Response &res) {
    set_json(res, 200, faults_.to_json());
  });
  server.Post("/_mock/faults", [this](const Request &req, Response &res) {
    json body;
    if (!parse_body(req, res, body)) return;
    std::string error;
    if (!faults_.replace(body, error)) {
      set_json(res, 400, {{"error", error}});
      return;
    }
    set_json(res, 200, faults_.to_json());
  });
  server.Delete("/_mock/faults", [this](const Request &, Response &res) {
    faults_.clear();
    set_json(res, 200, json::array());
  });
  server.Get("/_mock/latency", [this](const Request &, Response &res) {
    set_json(res, 200, {{"delay_ms", latency_ms_.load()}});
  });
  server.Post("/_mock/latency", [this](const Request &req, Response &res) {
    json body;
    if (!parse_body(req, res, body)) return;
    if (!body.is_object() || !body.contains("delay_ms") || !body["delay_ms"].is_number_integer() ||
        body["delay_ms"].get<int64_t>() < 0 || body["delay_ms"].get<int64_t>() > 600000) {
      set_json(res, 400, {{"error", "expected {\"delay_ms\": integer in 0..600000}"}});
      return;
    }
    latency_ms_ = body["delay_ms"].get<int64_t>();
    set_json(res, 200, {{"delay_ms", latency_ms_.load()}});
  });
  server.Post(R"(/_mock/tenant/([^/]+)/(items|delete|restore|rename|touch|credentials))",
              [this](const Request &req, Response &res) { handle_admin_tenant(req, res); });
  server.Get(R"(/_mock/tenant/([^/]+)/item)",
             [this](const Request &req, Response &res) { handle_admin_item(req, res); });
}

void Service::handle_admin_tenant(const Request &req, Response &res) {
  const std::string tid = req.matches[1];
  const std::string action = req.matches[2];
  if (!is_uuid(tid)) {
    set_json(res, 400, {{"error", "tenant must be a UUID"}});
    return;
  }
  json body;
  if (!parse_body(req, res, body)) return;
  if (!body.is_object()) {
    set_json(res, 400, {{"error", "body must be a JSON object"}});
    return;
  }
  const std::string tenant = store_.ensure_tenant(tid);
  std::string error;
  json result = {{"ok", true}, {"tenant", tenant}};
  if (action == "credentials") {
    if (!store_.set_credentials(tenant, body, error)) {
      set_json(res, 400, {{"error", error}});
      return;
    }
  } else {
    if (!body.contains("path") || !body["path"].is_string() ||
        normalize_graph_path(body["path"].get<std::string>()).empty()) {
      set_json(res, 400, {{"error", "expected a non-empty string \"path\""}});
      return;
    }
    const std::string path = normalize_graph_path(body["path"].get<std::string>());
    result["path"] = path;
    if (action == "items") {
      if (!body.contains("count") || !body["count"].is_number_unsigned() ||
          body["count"].get<uint64_t>() > 1000000000ull) {
        set_json(res, 400, {{"error", "expected \"count\": integer in 0..1000000000"}});
        return;
      }
      store_.set_count(tenant, path, body["count"].get<uint64_t>());
      result["count"] = body["count"];
    } else {
      std::vector<uint64_t> indexes;
      if (!read_indexes(body, indexes, error)) {
        set_json(res, 400, {{"error", error}});
        return;
      }
      Mutation kind = action == "delete"    ? Mutation::Delete
                      : action == "restore" ? Mutation::Restore
                      : action == "rename"  ? Mutation::Rename
                                            : Mutation::Touch;
      std::string suffix = " (renamed)";
      if (kind == Mutation::Rename && body.contains("suffix")) {
        if (!body["suffix"].is_string() || body["suffix"].get<std::string>().empty()) {
          set_json(res, 400, {{"error", "\"suffix\" must be a non-empty string"}});
          return;
        }
        suffix = body["suffix"].get<std::string>();
      }
      result["changed"] = store_.mutate(tenant, path, indexes, kind, suffix);
    }
  }
  if (!store_.save(error)) {
    set_json(res, 500, {{"error", error}});
    return;
  }
  set_json(res, 200, result);
}

void Service::handle_admin_item(const Request &req, Response &res) {
  const std::string tid = req.matches[1];
  if (!is_uuid(tid) || !req.has_param("path") || !req.has_param("index")) {
    set_json(res, 400, {{"error", "expected /_mock/tenant/{uuid}/item?path=...&index=N"}});
    return;
  }
  const std::string tenant = to_lower(tid);
  const std::string path = normalize_graph_path(req.get_param_value("path"));
  const std::string index_text = req.get_param_value("index");
  uint64_t index = 0;
  bool ok = !index_text.empty() && index_text.size() < 19;
  for (char c : index_text) {
    if (c < '0' || c > '9') ok = false;
    else index = index * 10 + uint64_t(c - '0');
  }
  const bool beta = req.get_param_value("api_version") != "v1.0";
  if (!ok || path.empty()) {
    set_json(res, 400, {{"error", "bad path or index"}});
    return;
  }
  PathProfile profile = generator_.profile(path);
  bool listed = false;
  ojson item;
  store_.read_path(tenant, path, [&](uint64_t count, const PathState *ps) {
    const ItemMutation *m = nullptr;
    if (ps) {
      auto it = ps->mutations.find(index);
      if (it != ps->mutations.end()) m = &it->second;
    }
    listed = index < count && !(m && m->deleted);
    item = generator_.item(tenant, path, profile, index, m, beta);
  });
  ojson out = ojson::object();
  out["listed"] = listed;
  out["item"] = std::move(item);
  res.status = 200;
  res.set_content(out.dump(-1, ' ', false, ojson::error_handler_t::replace), kJson);
}

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
    tl_scope.fault = fault_kind_name(fault->kind);
    int fd = -1;
    switch (fault->kind) {
      case FaultKind::Throttle:
      case FaultKind::TokenThrottle: {
        std::string ra = retry_after_value(*fault, "1");
        if (!ra.empty()) res.set_header("Retry-After", ra);
        set_json(res, 429,
                 aad_error("temporarily_unavailable", 90033,
                           "A transient error has occurred. Please try again.",
                           ids.client_request_id));
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
        set_json(res, status,
                 aad_error("temporarily_unavailable", 90033,
                           "A transient error has occurred. Please try again.",
                           ids.client_request_id));
        return;
      }
      case FaultKind::Reset:
        reset_connection(req, res);
        return;
      case FaultKind::Hang:
        if (!wait_for_client(fault->param_int("delay_ms", 600000), req, fd)) {
          tl_scope.reset = true;
          res.status = 500;
          return;
        }
        set_json(res, 504, aad_error("temporarily_unavailable", 90033, "Timed out.",
                                     ids.client_request_id));
        return;
      case FaultKind::Slow:
        wait_for_client(fault->param_int("delay_ms", 1000), req, fd);
        break;
      default:
        break;  // Truncated: handled once the body exists
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
    if (field("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer") {
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

void Service::handle_graph(const Request &req, Response &res) {
  const Ids ids = set_id_headers(req, res);
  const std::string api_version = req.matches[1];
  const bool beta = api_version == "beta";
  if (tl_scope.auth != TokenCheck::Ok) {
    res.set_header("WWW-Authenticate",
                   std::string("Bearer realm=\"\", authorization_uri=\"https://login.microsoftonline.com/"
                               "common/oauth2/authorize\", client_id=\"") +
                       kGraphAppId + "\"");
    set_json(res, 401, graph_error("InvalidAuthenticationToken", token_check_message(tl_scope.auth), ids));
    return;
  }
  const std::string tenant = tl_scope.tenant;
  const std::string path = normalize_graph_path(req.matches[2]);
  if (path.empty()) {
    set_json(res, 400, graph_error("BadRequest", "Invalid request: no resource path.", ids));
    return;
  }

  int fd = -1;
  if (!wait_for_client(latency_ms_.load(), req, fd)) {
    tl_scope.reset = true;
    res.status = 500;
    return;
  }

  auto fault = faults_.take(tenant, path, false);
  if (fault) {
    tl_scope.fault = fault_kind_name(fault->kind);
    const std::string seg = path.substr(path.rfind('/') == std::string::npos ? 0 : path.rfind('/') + 1);
    if (fault->params.contains("body")) {
      // A raw body override (e.g. an HTML page from a gateway) for the error kinds.
      const int status = error_status(fault->kind);
      if (status != 0) {
        std::string ra = retry_after_value(*fault, "");
        if (!ra.empty()) res.set_header("Retry-After", ra);
        res.status = status;
        res.set_content(fault->param_string("body", ""),
                        fault->param_string("content_type", "text/html").c_str());
        return;
      }
    }
    switch (fault->kind) {
      case FaultKind::Throttle: {
        std::string ra = retry_after_value(*fault, "1");
        if (ra.empty()) {
          // Intune often omits Retry-After, with this body.
          ojson body = {{"error",
                         {{"code", "TooManyRequests"},
                         {"message", "An error has occurred."},
                         {"details", ojson::array()},
                         {"innerError",
                          {{"date", iso8601_plain(now_ms() / 1000)},
                           {"request-id", ids.request_id},
                           {"client-request-id", ids.client_request_id}}}}}};
          set_json(res, 429, body);
        } else {
          res.set_header("Retry-After", ra);
          ojson body = {{"error",
                         {{"code", "TooManyRequests"},
                         {"innerError",
                          {{"code", "429"},
                           {"date", iso8601_plain(now_ms() / 1000)},
                           {"message", "Please retry after"},
                           {"request-id", ids.request_id},
                           {"status", "429"}}},
                         {"message", "Please retry again later."}}}};
          set_json(res, 429, body);
        }
        return;
      }
      case FaultKind::Unavailable: {
        std::string ra = retry_after_value(*fault, "");
        if (!ra.empty()) res.set_header("Retry-After", ra);
        set_json(res, 503, graph_error("ServiceUnavailable",
                                       "The service is temporarily unavailable. Please retry later.", ids));
        return;
      }
      case FaultKind::GatewayTimeout:
        set_json(res, 504, graph_error("GatewayTimeout",
                                       "The gateway did not receive a timely response from the upstream server.",
                                       ids));
        return;
      case FaultKind::ServerError:
        set_json(res, 500, graph_error("InternalServerError", "An internal server error occurred.", ids));
        return;
      case FaultKind::BadGateway:
        set_json(res, 502, graph_error("BadGateway",
                                       "The server received an invalid response from an upstream server.", ids));
        return;
      case FaultKind::Nested400: {
        std::string message =
            "{\r\n  \"_version\": 3,\r\n  \"Message\": \"An error has occurred - Operation ID (for "
            "customer support): 00000000-0000-0000-0000-000000000000 - Activity ID: " +
            ids.request_id +
            " - Url: https://fef.msua06.manage.microsoft.com/DeviceConfiguration/"
            "StatelessDeviceConfigurationFEService/" +
            path +
            "?api-version=5023-11-03\",\r\n  \"CustomApiErrorPhrase\": \"\",\r\n  \"RetryAfter\": "
            "null,\r\n  \"ErrorSourceService\": \"\",\r\n  \"HttpHeaders\": \"{}\"\r\n}";
        set_json(res, 400, graph_error("BadRequest", message, ids));
        return;
      }
      case FaultKind::Forbidden:
        set_json(res, 403, graph_error("Authorization_RequestDenied",
                                       "Insufficient privileges to complete the operation.", ids));
        return;
      case FaultKind::Unauthorized:
        res.set_header("WWW-Authenticate",
                       std::string("Bearer realm=\"\", authorization_uri=\"https://login.microsoftonline.com/"
                                   "common/oauth2/authorize\", client_id=\"") +
                           kGraphAppId + "\"");
        set_json(res, 401, graph_error("InvalidAuthenticationToken",
                                       "Access token has expired or is not yet valid.", ids));
        return;
      case FaultKind::NotFound:
        set_json(res, 404, graph_error("ResourceNotFound",
                                       "Resource not found for the segment '" + seg + "'.", ids));
        return;
      case FaultKind::Canary: {
        const std::string c = fault->param_string("canary", "CANARY-SECRET-7f3a9c");
        std::string message =
            "Upstream call failed. Request: Authorization: Bearer eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9." +
            base64url_encode("{\"canary\":\"" + c + "\"}") + "." + c +
            " body: client_id=11111111-2222-3333-4444-555555555555&client_secret=" + c +
            "&grant_type=client_credentials export: https://stmock.blob.core.windows.net/exports/"
            "report.csv?sv=2022-11-02&se=2030-01-01T00%3A00%3A00Z&sr=b&sp=r&sig=" +
            c + " access_token=" + c;
        set_json(res, 400, graph_error("BadRequest", message, ids));
        return;
      }
      case FaultKind::Reset:
        reset_connection(req, res);
        return;
      case FaultKind::Hang:
        if (!wait_for_client(fault->param_int("delay_ms", 600000), req, fd)) {
          tl_scope.reset = true;
          res.status = 500;
          return;
        }
        set_json(res, 504, graph_error("GatewayTimeout", "The request timed out.", ids));
        return;
      case FaultKind::Slow:
        if (!wait_for_client(fault->param_int("delay_ms", 1000), req, fd)) {
          tl_scope.reset = true;
          res.status = 500;
          return;
        }
        break;
      default:
        break;  // truncated / next-link faults shape the normal answer below
    }
  }

  // Query: split the raw target so the skiptoken is checked byte for byte.
  const size_t qpos = req.target.find('?');
  const std::string raw_path = req.target.substr(0, qpos);
  const std::string raw_query = qpos == std::string::npos ? std::string() : req.target.substr(qpos + 1);
  SplitQuery q = split_query(raw_query);
  PageBinding binding{tenant, api_version, path, q.other};
  uint64_t start = 0;
  if (q.suspicious_skiptoken) {
    set_json(res, 400,
             graph_error("BadRequest",
                         "Invalid $skiptoken: the parameter was altered (encoded key or repeated). "
                         "Follow @odata.nextLink exactly as returned.",
                         ids));
    return;
  }
  if (q.skiptoken) {
    SkipTokenStatus st = decode_skiptoken(*q.skiptoken, binding, start);
    if (st == SkipTokenStatus::Altered) {
      set_json(res, 400,
               graph_error("BadRequest",
                           "Invalid $skiptoken: the value does not match the one the service issued "
                           "(it was decoded or re-encoded). Follow @odata.nextLink byte for byte.",
                           ids));
      return;
    }
    if (st == SkipTokenStatus::Invalid) {
      set_json(res, 400,
               graph_error("BadRequest",
                           "Invalid $skiptoken: not issued for this tenant, path and query.", ids));
      return;
    }
  }

  PathProfile profile = generator_.profile(path);
  size_t page_size = profile.page_size;
  if (req.has_param("$top")) {
    const std::string top = req.get_param_value("$top");
    uint64_t v = 0;
    bool ok = !top.empty() && top.size() <= 4;
    for (char c : top) {
      if (c < '0' || c > '9') ok = false;
      else v = v * 10 + uint64_t(c - '0');
    }
    if (!ok || v < 1 || v > 999) {
      set_json(res, 400, graph_error("BadRequest", "Invalid $top value '" + top.substr(0, 32) +
                                                       "': expected an integer in 1..999.",
                                     ids));
      return;
    }
    page_size = std::min<size_t>(page_size, static_cast<size_t>(v));
  }
  std::set<std::string> select;
  if (req.has_param("$select")) {
    std::string s = req.get_param_value("$select");
    size_t p = 0;
    while (p <= s.size()) {
      size_t comma = s.find(',', p);
      if (comma == std::string::npos) comma = s.size();
      std::string f = s.substr(p, comma - p);
      while (!f.empty() && f.front() == ' ') f.erase(f.begin());
      while (!f.empty() && f.back() == ' ') f.pop_back();
      if (!f.empty()) select.insert(f);
      p = comma + 1;
    }
  }

  Page page = build_page(generator_, store_, tenant, path, profile, start, page_size, beta);

  const std::string host = host_of(req, port_.load());
  ojson body = ojson::object();
  body["@odata.context"] = "http://" + host + "/" + api_version + "/$metadata#" + path;
  if (profile.include_count) body["@odata.count"] = page.items.size();

  std::optional<std::string> next_link;
  if (page.next_index) {
    next_link = "http://" + host + raw_path + "?" + (q.other.empty() ? "" : q.other + "&") +
                "$skiptoken=" + encode_skiptoken(*page.next_index, binding);
  }
  if (fault && fault->kind == FaultKind::LoopNextLink) {
    next_link = "http://" + host + req.target;
  } else if (fault && fault->kind == FaultKind::ForeignNextLink) {
    const std::string variant = fault->param_string("variant", "host");
    const std::string token =
        "$skiptoken=" + encode_skiptoken(page.next_index.value_or(start + page.items.size()), binding);
    const std::string query = "?" + (q.other.empty() ? "" : q.other + "&") + token;
    if (variant == "scheme") {
      next_link = "https://" + host + raw_path + query;
    } else if (variant == "version") {
      const std::string other = beta ? "/v1.0" : "/beta";
      next_link = "http://" + host + other + raw_path.substr(api_version.size() + 1) + query;
    } else {
      const int fp = foreign_port_.load();
      next_link = (fp > 0 ? "http://127.0.0.1:" + std::to_string(fp) : std::string("http://foreign.invalid")) +
                  raw_path + query;
    }
  }
  if (next_link) body["@odata.nextLink"] = *next_link;

  ojson values = ojson::array();
  for (auto &item : page.items) {
    if (select.empty()) {
      values.push_back(std::move(item));
      continue;
    }
    ojson picked = ojson::object();
    for (auto it = item.begin(); it != item.end(); ++it) {
      if (it.key() == "@odata.type" || it.key() == "id" || select.count(it.key()))
        picked[it.key()] = std::move(it.value());
    }
    values.push_back(std::move(picked));
  }
  body["value"] = std::move(values);

  res.set_header("OData-Version", "4.0");
  res.set_header("Cache-Control", "no-cache");
  res.set_header("x-ms-ags-diagnostic",
                 "{\"ServerInfo\":{\"DataCenter\":\"Mock\",\"Slice\":\"E\",\"Ring\":\"5\","
                 "\"ScaleUnit\":\"000\",\"RoleInstance\":\"MOCK01\"}}");
  std::string text = body.dump(-1, ' ', false, ojson::error_handler_t::replace);
  if (fault && fault->kind == FaultKind::Truncated) {
    res.status = 200;
    send_truncated(res, std::move(text), kGraphContentType);
    return;
  }
  res.status = 200;
  res.set_content(std::move(text), kGraphContentType);
}

void Service::register_foreign(httplib::Server &server) {
  server.set_pre_routing_handler([this](const Request &req, Response &res) {
    ForeignRecord r;
    r.method = req.method;
    r.path = req.path;
    r.target = req.target;
    r.had_auth = req.has_header("Authorization");
    r.authorization = req.get_header_value("Authorization");
    r.at_ms = now_ms();
    stats_.record_foreign(std::move(r));
    set_id_headers(req, res);
    set_json(res, 200, {{"value", json::array()}});
    return httplib::Server::HandlerResponse::Handled;
  });
  if (config_.log_requests) {
    server.set_logger([](const Request &req, const Response &res) {
      std::fprintf(stderr, "[mock foreign] %s %s %d\n", req.method.c_str(), req.path.c_str(),
                   res.status);
    });
  }
}

}  // namespace tinv::mock
