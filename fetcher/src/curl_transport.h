// Transport over one libcurl multi handle driven by one event-loop thread.
// Callers on any thread submit requests and block on their completion; all
// transfers share the multi handle's connection pool.
#pragma once

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "http_transport.h"

namespace fetch {

struct CurlOptions {
  std::string ca_file;  // CURLOPT_CAINFO when set
  std::string user_agent = "inventory-fetch";
};

class CurlMultiTransport final : public Transport {
 public:
  explicit CurlMultiTransport(CurlOptions options);
  ~CurlMultiTransport() override;
  CurlMultiTransport(const CurlMultiTransport&) = delete;
  CurlMultiTransport& operator=(const CurlMultiTransport&) = delete;

  HttpResponse perform(const HttpRequest& request) override;

  struct Transfer;  // one request in the loop (defined in the .cpp)

 private:
  void loop();

  CurlOptions options_;
  void* multi_ = nullptr;  // CURLM*
  std::mutex mu_;
  std::deque<Transfer*> pending_;
  bool shutting_down_ = false;
  std::thread thread_;
};

// curl_global_init once per process (call from main before any thread).
void curl_global_setup();

}  // namespace fetch
