// Response helpers shared by the endpoints: id headers, JSON bodies, Graph and
// Entra ID error envelopes, Retry-After values.
#pragma once

#include <httplib.h>

#include <nlohmann/json.hpp>
#include <string>

#include "faults.h"
#include "generator.h"

namespace tinv::mock {

inline constexpr char kJson[] = "application/json";
inline constexpr char kGraphContentType[] =
    "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;"
    "charset=utf-8";
// The WWW-Authenticate value Graph sends with a 401.
inline constexpr char kGraphWwwAuthenticate[] =
    "Bearer realm=\"\", authorization_uri=\"https://login.microsoftonline.com/common/oauth2/"
    "authorize\", client_id=\"00000003-0000-0000-c000-000000000000\"";

struct Ids {
  std::string request_id;
  std::string client_request_id;
};

// Sets request-id (new per response), client-request-id (echoed when printable, else
// new) and Date.
Ids set_id_headers(const httplib::Request &req, httplib::Response &res);

template <class Json>
void set_json(httplib::Response &res, int status, const Json &body,
              const char *content_type = kJson) {
  res.status = status;
  res.set_content(body.dump(-1, ' ', false, Json::error_handler_t::replace), content_type);
}
inline void set_json(httplib::Response &res, int status, const nlohmann::json &body) {
  set_json<nlohmann::json>(res, status, body);
}

// {"error":{"code","message","innerError":{"date","request-id","client-request-id"}}}
ojson graph_error(const std::string &code, const std::string &message, const Ids &ids);
// Entra ID token endpoint error: error, error_description ("AADSTSnnn: ..."), error_codes, ...
ojson aad_error(const std::string &error, int code, const std::string &description,
                const std::string &correlation_id);

// Retry-After header value of a rule ("" = omit the header).
std::string retry_after_value(const FaultRule &rule, const std::string &fallback);

// The authority for links: the Host header when it looks like one, else the local address.
std::string host_of(const httplib::Request &req, int port);

// "/deviceManagement/x/" -> "deviceManagement/x".
std::string normalize_graph_path(std::string p);

// Parses a JSON request body (empty = {}); on failure answers 400 and returns false.
bool parse_body(const httplib::Request &req, httplib::Response &res, nlohmann::json &body);

}  // namespace tinv::mock
