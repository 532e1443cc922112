// One HTTP exchange, as plain data, and the interface that performs it.
// The real implementation is CurlMultiTransport; tests use scripted fakes.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "clock.h"

namespace fetch {

struct HttpRequest {
  std::string method = "GET";        // GET or POST
  std::string url;                   // sent byte for byte
  std::vector<std::string> headers;  // "Name: value"
  std::string body;                  // POST body (form encoded)
  double timeout_s = 100.0;          // whole exchange
  double connect_timeout_s = 10.0;
  size_t max_body_bytes = 64u << 20;  // larger bodies fail the attempt
  const StopToken* stop = nullptr;    // aborts the transfer when requested
};

enum class TransportError { None, Timeout, Network, TooLarge, Cancelled };

struct HttpResponse {
  long status = 0;  // 0 when no response arrived (TooLarge: the status line's, if any)
  std::string body;
  std::string request_id;         // "request-id" header
  std::string client_request_id;  // "client-request-id" header
  std::string retry_after;        // "Retry-After" header, raw
  std::string content_type;
  TransportError error = TransportError::None;
  std::string error_message;  // libcurl's text (may contain the URL)
};

class Transport {
 public:
  virtual ~Transport() = default;
  // Blocks until the exchange is over (response, error or stop).
  virtual HttpResponse perform(const HttpRequest& request) = 0;
};

}  // namespace fetch
