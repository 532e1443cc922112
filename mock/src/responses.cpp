#include "responses.h"

#include <cctype>
#include <cmath>
#include <cstdlib>

#include "util.h"

namespace tinv::mock {

namespace {
bool printable_header_value(const std::string &v) {
  if (v.empty() || v.size() > 200) return false;
  for (unsigned char c : v)
    if (c < 0x20 || c > 0x7e) return false;
  return true;
}
}  // namespace

Ids set_id_headers(const httplib::Request &req, httplib::Response &res) {
  Ids ids;
  ids.request_id = random_uuid();
  std::string crid = req.get_header_value("client-request-id");
  ids.client_request_id = printable_header_value(crid) ? crid : random_uuid();
  res.set_header("request-id", ids.request_id);
  res.set_header("client-request-id", ids.client_request_id);
  res.set_header("Date", http_date(now_ms() / 1000));
  return ids;
}

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
  std::string ts = iso8601_plain(now_ms() / 1000);
  ts[10] = ' ';
  ts += "Z";
  const std::string aadsts = "AADSTS" + std::to_string(code);
  return {
      {"error", error},
      {"error_description", aadsts + ": " + description + "\r\nTrace ID: " + trace +
                                "\r\nCorrelation ID: " + correlation_id + "\r\nTimestamp: " + ts},
      {"error_codes", ojson::array({code})},
      {"timestamp", ts},
      {"trace_id", trace},
      {"correlation_id", correlation_id},
      {"error_uri", "https://login.microsoftonline.com/error?code=" + std::to_string(code)}};
}

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

std::string host_of(const httplib::Request &req, int port) {
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

std::string normalize_graph_path(std::string p) {
  while (!p.empty() && p.front() == '/') p.erase(p.begin());
  while (!p.empty() && p.back() == '/') p.pop_back();
  return p;
}

bool parse_body(const httplib::Request &req, httplib::Response &res, nlohmann::json &body) {
  body = nlohmann::json::parse(req.body.empty() ? std::string("{}") : req.body, nullptr, false);
  if (body.is_discarded()) {
    set_json(res, 400, {{"error", "request body is not valid JSON"}});
    return false;
  }
  return true;
}

}  // namespace tinv::mock
