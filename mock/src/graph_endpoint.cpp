// Graph endpoints: GET /{v1.0|beta}/{path} lists with paging, $top, $select and the
// fault kinds that shape a Graph answer; GET /{v1.0|beta}/{path}/{id} reads one object.
#include <algorithm>
#include <atomic>
#include <set>

#include "connection.h"
#include "handlers.h"
#include "json_writer.h"
#include "paging.h"
#include "request_scope.h"
#include "responses.h"
#include "util.h"

namespace tinv::mock {

using httplib::Request;
using httplib::Response;
using nlohmann::json;

namespace {

// The collections the mock lists: two segments (deviceManagement/...,
// deviceAppManagement/...), or identity/conditionalAccess/policies.
bool listing_path(const std::string &path) {
  const size_t segments = static_cast<size_t>(std::count(path.begin(), path.end(), '/')) + 1;
  return segments == 2 || (segments == 3 && to_lower(path) == "identity/conditionalaccess/policies");
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

std::set<std::string> parse_select(const std::string &s) {
  std::set<std::string> out;
  size_t p = 0;
  while (p <= s.size()) {
    size_t comma = s.find(',', p);
    if (comma == std::string::npos) comma = s.size();
    std::string f = s.substr(p, comma - p);
    while (!f.empty() && f.front() == ' ') f.erase(f.begin());
    while (!f.empty() && f.back() == ' ') f.pop_back();
    if (!f.empty()) out.insert(f);
    p = comma + 1;
  }
  return out;
}

// $top: an integer in 1..999.
bool parse_top(const std::string &top, size_t &value) {
  if (top.empty() || top.size() > 3) return false;
  size_t v = 0;
  for (char c : top) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + size_t(c - '0');
  }
  value = v;
  return v >= 1;
}

// Keeps id, @odata.type and the selected properties of each item ($select is rare:
// it goes through a parsed copy).
std::string select_fields(const std::string &values, const std::set<std::string> &select) {
  ojson parsed = ojson::parse(values);
  ojson out = ojson::array();
  for (auto &item : parsed) {
    ojson picked = ojson::object();
    for (auto it = item.begin(); it != item.end(); ++it) {
      if (it.key() == "@odata.type" || it.key() == "id" || select.count(it.key()))
        picked[it.key()] = std::move(it.value());
    }
    out.push_back(std::move(picked));
  }
  return out.dump(-1, ' ', false, ojson::error_handler_t::replace);
}

}  // namespace

void Service::handle_graph(const Request &req, Response &res) {
  const Ids ids = set_id_headers(req, res);
  RequestScope &scope = request_scope();
  if (scope.auth != TokenCheck::Ok) {
    res.set_header("WWW-Authenticate", kGraphWwwAuthenticate);
    set_json(res, 401,
             graph_error("InvalidAuthenticationToken", token_check_message(scope.auth), ids));
    return;
  }
  const std::string path = normalize_graph_path(req.matches[2]);
  if (path.empty()) {
    set_json(res, 400, graph_error("BadRequest", "Invalid request: no resource path.", ids));
    return;
  }
  // A GET of one object: the last segment is a GUID (every generated id is one),
  // or any id one segment below a collection the mock lists (an id a hostile
  // page made up: Graph answers 404 for an id it does not know); the rest is
  // its collection.
  const size_t slash = path.rfind('/');
  const bool item = slash != std::string::npos && slash > 0 &&
                    (is_uuid(path.substr(slash + 1)) ||
                     (!listing_path(path) && listing_path(path.substr(0, slash))));
  const std::string collection = item ? path.substr(0, slash) : path;
  scope.item = item;
  int fd = -1;
  if (!wait_for_client(latency_ms_.load(), req, fd)) {
    scope.reset = true;
    res.status = 500;
    return;
  }
  // The rules of the collection apply to its objects too ("request" narrows that).
  auto fault = faults_.take(scope.tenant, collection, false, item);
  if (fault) {
    scope.fault = fault_kind_name(fault->kind);
    const std::string auth = req.get_header_value("Authorization");
    fault->apply_headers(res, auth.size() > 7 ? auth.substr(7) : std::string(), "");
    if (answer_graph_fault(*fault, req, res, ids, path, fd)) return;
  }
  if (item) {
    get_item(req, res, ids, collection, path.substr(slash + 1), fault ? &*fault : nullptr);
    return;
  }
  list_page(req, res, ids, path, fault ? &*fault : nullptr);
}

void Service::get_item(const Request &req, Response &res, const Ids &ids,
                       const std::string &collection, const std::string &id,
                       const FaultRule *fault) {
  const std::string tenant = request_scope().tenant;
  const std::string api_version = req.matches[1];
  const bool beta = api_version == "beta";
  const PathProfile profile = generator_.profile(collection);
  std::string text;
  if (const std::optional<uint64_t> index = store_.index_of(tenant, collection, id)) {
    store_.read_path(tenant, collection, [&](uint64_t count, const PathState *ps) {
      const ItemMutation *m = nullptr;
      if (ps) {
        auto it = ps->mutations.find(*index);
        if (it != ps->mutations.end()) m = &it->second;
      }
      if (*index >= count || (m && m->deleted)) return;  // hidden items are found
      std::string body;
      generator_.write_item(body, tenant, collection, profile, *index, m, beta);
      const std::string context = "http://" + host_of(req, port_.load()) + "/" + api_version +
                                  "/$metadata#" + collection + "/$entity";
      text = "{\"@odata.context\":" + ojson(context).dump() + (body.size() > 2 ? "," : "") +
             body.substr(1);
    });
  }
  if (text.empty()) {
    const std::string seg = collection.substr(
        collection.rfind('/') == std::string::npos ? 0 : collection.rfind('/') + 1);
    set_json(
        res, 404,
        graph_error("ResourceNotFound", "Resource not found for the segment '" + seg + "'.", ids));
    return;
  }
  res.set_header("OData-Version", "4.0");
  res.set_header("Cache-Control", "no-cache");
  res.status = 200;
  if (fault != nullptr && fault->kind == FaultKind::Truncated) {
    send_truncated(res, std::move(text), kGraphContentType);
    return;
  }
  if (fault != nullptr && fault->kind == FaultKind::PageBody) {
    std::string body = fault->param_string("body", "");
    if (fault->params.contains("body_base64"))
      base64_decode(fault->param_string("body_base64", ""), body);
    res.set_content(std::move(body),
                    fault->param_string("content_type", kGraphContentType).c_str());
    return;
  }
  if (fault != nullptr && fault->kind == FaultKind::Endless) {
    send_endless(res, std::move(text), kGraphContentType, fault->param_int("interval_ms", 200),
                 fault->param_int("chunk_bytes", 16));
    return;
  }
  res.set_content(std::move(text), kGraphContentType);
}

bool Service::answer_graph_fault(const FaultRule &fault, const Request &req, Response &res,
                                 const Ids &ids, const std::string &path, int &fd) {
  const std::string seg =
      path.substr(path.rfind('/') == std::string::npos ? 0 : path.rfind('/') + 1);
  if (fault.params.contains("body")) {
    // A raw body override (e.g. an HTML page from a gateway) for the error kinds.
    const int status = error_status(fault.kind);
    if (status != 0) {
      std::string ra = retry_after_value(fault, "");
      if (!ra.empty()) res.set_header("Retry-After", ra);
      res.status = status;
      res.set_content(fault.param_string("body", ""),
                      fault.param_string("content_type", "text/html").c_str());
      return true;
    }
  }
  switch (fault.kind) {
    case FaultKind::Throttle: {
      std::string ra = retry_after_value(fault, "1");
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
      return true;
    }
    case FaultKind::Unavailable: {
      std::string ra = retry_after_value(fault, "");
      if (!ra.empty()) res.set_header("Retry-After", ra);
      set_json(res, 503,
               graph_error("ServiceUnavailable",
                           "The service is temporarily unavailable. Please retry later.", ids));
      return true;
    }
    case FaultKind::GatewayTimeout:
      set_json(res, 504,
               graph_error(
                   "GatewayTimeout",
                   "The gateway did not receive a timely response from the upstream server.", ids));
      return true;
    case FaultKind::ServerError:
      set_json(res, 500,
               graph_error("InternalServerError", "An internal server error occurred.", ids));
      return true;
    case FaultKind::BadGateway:
      set_json(
          res, 502,
          graph_error("BadGateway",
                      "The server received an invalid response from an upstream server.", ids));
      return true;
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
      return true;
    }
    case FaultKind::Forbidden:
      set_json(res, 403,
               graph_error("Authorization_RequestDenied",
                           "Insufficient privileges to complete the operation.", ids));
      return true;
    case FaultKind::Unauthorized:
      res.set_header("WWW-Authenticate", kGraphWwwAuthenticate);
      set_json(res, 401,
               graph_error("InvalidAuthenticationToken",
                           "Access token has expired or is not yet valid.", ids));
      return true;
    case FaultKind::NotFound:
      set_json(res, 404,
               graph_error("ResourceNotFound", "Resource not found for the segment '" + seg + "'.",
                           ids));
      return true;
    case FaultKind::Canary: {
      const std::string c = fault.param_string("canary", "CANARY-SECRET-7f3a9c");
      std::string message =
          "Upstream call failed. Request: Authorization: Bearer "
          "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9." +
          base64url_encode("{\"canary\":\"" + c + "\"}") + "." + c +
          " body: client_id=11111111-2222-3333-4444-555555555555&client_secret=" + c +
          "&grant_type=client_credentials export: https://stmock.blob.core.windows.net/exports/"
          "report.csv?sv=2022-11-02&se=2030-01-01T00%3A00%3A00Z&sr=b&sp=r&sig=" +
          c + " access_token=" + c;
      set_json(res, 400, graph_error("BadRequest", message, ids));
      return true;
    }
    case FaultKind::Reset: reset_connection(req, res); return true;
    case FaultKind::Hang:
      if (!wait_for_client(fault.param_int("delay_ms", 600000), req, fd)) {
        request_scope().reset = true;
        res.status = 500;
        return true;
      }
      set_json(res, 504, graph_error("GatewayTimeout", "The request timed out.", ids));
      return true;
    case FaultKind::Slow:
      if (!wait_for_client(fault.param_int("delay_ms", 1000), req, fd)) {
        request_scope().reset = true;
        res.status = 500;
        return true;
      }
      return false;         // then the normal answer
    default: return false;  // truncated and the nextLink kinds shape the normal answer
  }
}

void Service::list_page(const Request &req, Response &res, const Ids &ids, const std::string &path,
                        const FaultRule *fault) {
  const std::string tenant = request_scope().tenant;
  const std::string api_version = req.matches[1];
  const bool beta = api_version == "beta";
  // Query: split the raw target so the skiptoken is checked byte for byte.
  const size_t qpos = req.target.find('?');
  const std::string raw_path = req.target.substr(0, qpos);
  const std::string raw_query =
      qpos == std::string::npos ? std::string() : req.target.substr(qpos + 1);
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
      set_json(
          res, 400,
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

  const PathProfile profile = generator_.profile(path);
  size_t page_size = profile.page_size;
  if (req.has_param("$top")) {
    const std::string top = req.get_param_value("$top");
    size_t v = 0;
    if (!parse_top(top, v)) {
      set_json(res, 400,
               graph_error(
                   "BadRequest",
                   "Invalid $top value '" + top.substr(0, 32) + "': expected an integer in 1..999.",
                   ids));
      return;
    }
    page_size = std::min(page_size, v);
  }
  const std::set<std::string> select = req.has_param("$select")
                                           ? parse_select(req.get_param_value("$select"))
                                           : std::set<std::string>();

  Page page = build_page(generator_, store_, tenant, path, profile, start, page_size, beta);

  const std::string host = host_of(req, port_.load());
  std::optional<std::string> next_link;
  if (page.next_index) {
    next_link = "http://" + host + raw_path + "?" + (q.other.empty() ? "" : q.other + "&") +
                "$skiptoken=" + encode_skiptoken(*page.next_index, binding);
  }
  if (fault != nullptr && fault->kind == FaultKind::LoopNextLink) {
    next_link = "http://" + host + req.target;
  } else if (fault != nullptr && fault->kind == FaultKind::ForeignNextLink) {
    const std::string variant = fault->param_string("variant", "host");
    const std::string token =
        "$skiptoken=" + encode_skiptoken(page.next_index.value_or(start + page.count), binding);
    const std::string query = "?" + (q.other.empty() ? "" : q.other + "&") + token;
    if (variant == "scheme") {
      next_link = "https://" + host + raw_path + query;
    } else if (variant == "version") {
      const std::string other = beta ? "/v1.0" : "/beta";
      next_link = "http://" + host + other + raw_path.substr(api_version.size() + 1) + query;
    } else {
      const int fp = foreign_port_.load();
      next_link = (fp > 0 ? "http://127.0.0.1:" + std::to_string(fp)
                          : std::string("http://foreign.invalid")) +
                  raw_path + query;
    }
  }

  std::string values = std::move(page.values);
  if (!select.empty()) values = select_fields(values, select);

  std::string text;
  text.reserve(values.size() + 512);
  JsonWriter w(text);
  w.begin_object();
  w.kv("@odata.context", "http://" + host + "/" + api_version + "/$metadata#" + path);
  if (profile.include_count) w.kv_num("@odata.count", static_cast<int64_t>(page.count));
  if (next_link) w.kv("@odata.nextLink", *next_link);
  w.key("value").raw(values);
  w.end_object();

  res.set_header("OData-Version", "4.0");
  res.set_header("Cache-Control", "no-cache");
  res.set_header("x-ms-ags-diagnostic",
                 "{\"ServerInfo\":{\"DataCenter\":\"Mock\",\"Slice\":\"E\",\"Ring\":\"5\","
                 "\"ScaleUnit\":\"000\",\"RoleInstance\":\"MOCK01\"}}");
  if (fault != nullptr && fault->kind == FaultKind::Truncated) {
    res.status = 200;
    send_truncated(res, std::move(text), kGraphContentType);
    return;
  }
  if (fault != nullptr && fault->kind == FaultKind::PageBody) {
    // Hostile input: the rule's bytes instead of the page; "{{next_link}}" becomes
    // this page's real nextLink, so the listing can go on after it.
    std::string body = fault->param_string("body", "");
    if (fault->params.contains("body_base64"))
      base64_decode(fault->param_string("body_base64", ""), body);
    const std::string mark = "{{next_link}}";
    const std::string link = next_link.value_or("");
    for (size_t at = body.find(mark); at != std::string::npos;
         at = body.find(mark, at + link.size()))
      body.replace(at, mark.size(), link);
    // "{{unique_next_link}}": this path with a query never sent before (a
    // listing that never ends and never repeats itself).
    const std::string umark = "{{unique_next_link}}";
    static std::atomic<uint64_t> hops{0};
    for (size_t at = body.find(umark); at != std::string::npos; at = body.find(umark, at + 1)) {
      const std::string u = "http://" + host + raw_path + "?hop=" + std::to_string(++hops);
      body.replace(at, umark.size(), u);
    }
    res.status = 200;
    res.set_content(std::move(body),
                    fault->param_string("content_type", kGraphContentType).c_str());
    return;
  }
  if (fault != nullptr && fault->kind == FaultKind::Endless) {
    res.status = 200;
    send_endless(res, std::move(text), kGraphContentType, fault->param_int("interval_ms", 200),
                 fault->param_int("chunk_bytes", 16));
    return;
  }
  res.status = 200;
  res.set_content(std::move(text), kGraphContentType);
}

}  // namespace tinv::mock
