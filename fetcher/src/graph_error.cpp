#include "graph_error.h"

#include <nlohmann/json.hpp>

#include "error_record.h"

namespace fetch {

namespace {

std::string str_member(const nlohmann::json& obj, const char* key) {
  auto it = obj.find(key);
  if (it != obj.end() && it->is_string()) return it->get<std::string>();
  return {};
}

// Intune wraps its own error document, as a string, inside error.message.
bool unwrap_intune_message(const std::string& message, std::string& out) {
  size_t i = message.find_first_not_of(" \t\r\n");
  if (i == std::string::npos || message[i] != '{') return false;
  nlohmann::json inner = nlohmann::json::parse(message, nullptr, false);
  if (!inner.is_object()) return false;
  std::string text = str_member(inner, "Message");
  if (text.empty()) text = str_member(inner, "message");
  const std::string phrase = str_member(inner, "CustomApiErrorPhrase");
  if (text.empty() && phrase.empty()) return false;
  out = text;
  if (!phrase.empty()) out += (out.empty() ? "" : " (") + phrase + (text.empty() ? "" : ")");
  return true;
}

}  // namespace

GraphErrorInfo parse_error_body(std::string_view body) {
  GraphErrorInfo info;
  // Error bodies are small; a large one is not parsed into a tree (memory),
  // its beginning is kept as text. Nothing is cut shorter here: the sink
  // takes the secrets out of the whole text before it cuts the message.
  nlohmann::json doc;
  if (body.size() <= kMaxParsedErrorBody) doc = nlohmann::json::parse(body.begin(), body.end(), nullptr, false);
  if (doc.is_object()) {
    auto err = doc.find("error");
    if (err != doc.end() && err->is_object()) {
      info.parsed = true;
      info.code = str_member(*err, "code");
      info.message = str_member(*err, "message");
      std::string unwrapped;
      if (unwrap_intune_message(info.message, unwrapped)) info.message = unwrapped;
      // Walk the innerError chain: ids usually sit on the first level, the
      // most specific code on the last.
      const nlohmann::json* inner = err->contains("innerError")   ? &(*err)["innerError"]
                                    : err->contains("innererror") ? &(*err)["innererror"]
                                                                  : nullptr;
      int depth = 0;
      while (inner && inner->is_object() && depth++ < 8) {
        if (info.request_id.empty()) info.request_id = str_member(*inner, "request-id");
        if (info.client_request_id.empty()) info.client_request_id = str_member(*inner, "client-request-id");
        const std::string c = str_member(*inner, "code");
        if (!c.empty()) info.inner_code = c;
        if (info.message.empty()) info.message = str_member(*inner, "message");
        auto next = inner->find("innerError");
        inner = next != inner->end() ? &*next : nullptr;
      }
      return info;
    }
    if (err != doc.end() && err->is_string()) {
      info.parsed = true;
      info.code = err->get<std::string>();
      info.message = str_member(doc, "error_description");
      // "AADSTS7000215: Invalid client secret ..." -> AADSTS7000215
      if (info.message.rfind("AADSTS", 0) == 0) {
        info.inner_code = info.message.substr(0, info.message.find(':'));
      }
      // Entra's description carries trace/correlation lines; keep the first.
      const size_t eol = info.message.find_first_of("\r\n");
      if (eol != std::string::npos) info.message.resize(eol);
      info.request_id = str_member(doc, "trace_id");
      info.client_request_id = str_member(doc, "correlation_id");
      return info;
    }
  }
  info.message = std::string(body.substr(0, kMaxParsedErrorBody));
  return info;
}

const char* error_code_for_status(long s) {
  switch (s) {
    case 400:
      return codes::kGraphBadRequest;
    case 401:
      return codes::kGraphUnauthorized;
    case 403:
      return codes::kGraphForbidden;
    case 404:
      return codes::kGraphNotFound;
    case 408:
      return codes::kTimeout;
    case 429:
      return codes::kGraphThrottled;
    case 503:
    case 504:
      return codes::kGraphUnavailable;
    default:
      break;
  }
  if (s >= 500) return codes::kGraphServerError;
  if (s >= 400) return codes::kGraphBadRequest;
  return codes::kGraphBadResponse;  // 1xx/3xx/unexpected
}

}  // namespace fetch
