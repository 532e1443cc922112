// A scripted Transport: answers from a queue (or a function) and records
// every request it was given.
#pragma once

#include <deque>
#include <functional>
#include <mutex>
#include <vector>

#include "http_transport.h"

namespace fetch::testing {

inline HttpResponse reply(long status, std::string body, std::string retry_after = {},
                          std::string request_id = "req-1") {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  r.retry_after = std::move(retry_after);
  r.request_id = std::move(request_id);
  return r;
}

inline HttpResponse transport_error(TransportError e, std::string msg) {
  HttpResponse r;
  r.error = e;
  r.error_message = std::move(msg);
  return r;
}

inline std::string header(const HttpRequest& r, const std::string& name) {
  for (const auto& h : r.headers) {
    if (h.size() > name.size() && h.compare(0, name.size(), name) == 0 && h[name.size()] == ':') {
      return h.substr(name.size() + 2);
    }
  }
  return {};
}

class FakeTransport final : public Transport {
 public:
  using Handler = std::function<HttpResponse(const HttpRequest&)>;
  explicit FakeTransport(Handler h = nullptr) : handler_(std::move(h)) {}

  void push(HttpResponse r) {
    std::lock_guard<std::mutex> lock(mu_);
    script_.push_back(std::move(r));
  }
  HttpResponse perform(const HttpRequest& request) override {
    std::lock_guard<std::mutex> lock(mu_);
    requests_.push_back(request);
    if (handler_) return handler_(request);
    if (script_.empty()) return reply(500, "{\"error\":{\"code\":\"script_empty\"}}");
    HttpResponse r = std::move(script_.front());
    script_.pop_front();
    return r;
  }
  std::vector<HttpRequest> requests() const {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }

 private:
  mutable std::mutex mu_;
  Handler handler_;
  std::deque<HttpResponse> script_;
  std::vector<HttpRequest> requests_;
};

}  // namespace fetch::testing
