#include "curl_transport.h"

#include <curl/curl.h>
#include <openssl/crypto.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <future>
#include <vector>

namespace fetch {

struct CurlMultiTransport::Transfer {
  const HttpRequest* request = nullptr;
  HttpResponse response;
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  char error_buffer[CURL_ERROR_SIZE] = {0};
  bool too_large = false;
  std::promise<void> done;
};

namespace {

constexpr size_t kMaxHeaderBytes = 32 * 1024;

size_t on_body(char* data, size_t size, size_t nmemb, void* user) {
  auto* t = static_cast<CurlMultiTransport::Transfer*>(user);
  const size_t n = size * nmemb;
  if (t->response.body.size() + n > t->request->max_body_bytes) {
    t->too_large = true;
    return 0;  // makes libcurl fail the transfer with CURLE_WRITE_ERROR
  }
  try {  // no exception may cross libcurl's C frames
    t->response.body.append(data, n);
  } catch (const std::exception&) {
    t->too_large = true;
    return 0;
  }
  return n;
}

bool header_is(std::string_view line, std::string_view name) {
  if (line.size() <= name.size() || line[name.size()] != ':') return false;
  for (size_t i = 0; i < name.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(line[i])) != name[i]) return false;
  }
  return true;
}

std::string header_value(std::string_view line, size_t name_len) {
  std::string_view v = line.substr(name_len + 1);
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == '\r' || v.back() == '\n' || v.back() == ' ')) v.remove_suffix(1);
  // Kept long enough that a secret echoed in a header is whole when the
  // sink looks for it; the sink cuts it for the log afterwards.
  return std::string(v.substr(0, kMaxHeaderBytes));
}

void read_header(CurlMultiTransport::Transfer* t, std::string_view line) {
  if (line.rfind("HTTP/", 0) == 0) {
    // A new response (e.g. after "100 Continue"): forget earlier headers.
    t->response.request_id.clear();
    t->response.client_request_id.clear();
    t->response.retry_after.clear();
    t->response.content_type.clear();
  } else if (header_is(line, "request-id")) {
    t->response.request_id = header_value(line, 10);
  } else if (header_is(line, "client-request-id")) {
    t->response.client_request_id = header_value(line, 17);
  } else if (header_is(line, "retry-after")) {
    t->response.retry_after = header_value(line, 11);
  } else if (header_is(line, "content-type")) {
    t->response.content_type = header_value(line, 12);
  }
}

size_t on_header(char* data, size_t size, size_t nmemb, void* user) {
  auto* t = static_cast<CurlMultiTransport::Transfer*>(user);
  const size_t n = size * nmemb;
  try {
    read_header(t, std::string_view(data, n));
  } catch (const std::exception&) {
    return 0;
  }
  return n;
}

// Wipes and frees a header list (it held the Authorization header).
void free_headers(curl_slist* list) {
  for (curl_slist* h = list; h != nullptr; h = h->next) {
    if (h->data) OPENSSL_cleanse(h->data, std::strlen(h->data));
  }
  curl_slist_free_all(list);
}

bool header_line_safe(const std::string& h) {
  return h.find_first_of(std::string("\r\n\0", 3)) == std::string::npos;
}

long to_ms(double s) { return static_cast<long>(std::ceil(std::max(0.001, s) * 1000.0)); }

}  // namespace

void curl_global_setup() { curl_global_init(CURL_GLOBAL_DEFAULT); }

CurlMultiTransport::CurlMultiTransport(CurlOptions options) : options_(std::move(options)) {
  multi_ = curl_multi_init();
  curl_multi_setopt(static_cast<CURLM*>(multi_), CURLMOPT_MAX_HOST_CONNECTIONS, 0L);
  thread_ = std::thread([this] { loop(); });
}

CurlMultiTransport::~CurlMultiTransport() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    shutting_down_ = true;
  }
  curl_multi_wakeup(static_cast<CURLM*>(multi_));
  thread_.join();
  curl_multi_cleanup(static_cast<CURLM*>(multi_));
}

HttpResponse CurlMultiTransport::perform(const HttpRequest& request) {
  Transfer t;
  t.request = &request;
  if (request.stop && request.stop->stop_requested()) {
    t.response.error = TransportError::Cancelled;
    t.response.error_message = "cancelled before sending";
    return std::move(t.response);
  }
  CURL* e = curl_easy_init();
  t.easy = e;
  curl_easy_setopt(e, CURLOPT_URL, request.url.c_str());
  // Send the path exactly as given: no dot-segment squashing. libcurl does
  // not re-encode a URL set with CURLOPT_URL, so a double-encoded skiptoken
  // goes out as received.
  curl_easy_setopt(e, CURLOPT_PATH_AS_IS, 1L);
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);  // a token never follows a redirect
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, to_ms(request.timeout_s));
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                   to_ms(std::min(request.connect_timeout_s, request.timeout_s)));
  curl_easy_setopt(e, CURLOPT_USERAGENT, options_.user_agent.c_str());
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t.error_buffer);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(e, CURLOPT_PRIVATE, &t);
  if (!options_.ca_file.empty()) curl_easy_setopt(e, CURLOPT_CAINFO, options_.ca_file.c_str());
  if (request.method == "POST") {
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, request.body.c_str());
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
  }
  for (const auto& h : request.headers) {
    // A CR, LF or NUL in a header (a token from a hostile endpoint) would
    // end the line and start another header or request: never sent.
    if (!header_line_safe(h)) {
      free_headers(t.headers);
      curl_easy_cleanup(e);
      t.response.error = TransportError::Network;
      t.response.error_message = "refusing to send a header with CR, LF or NUL";
      return std::move(t.response);
    }
    t.headers = curl_slist_append(t.headers, h.c_str());
  }
  t.headers = curl_slist_append(t.headers, "Expect:");
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, t.headers);

  std::future<void> done = t.done.get_future();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (shutting_down_) {
      t.response.error = TransportError::Cancelled;
      t.response.error_message = "transport shut down";
      free_headers(t.headers);
      curl_easy_cleanup(e);
      return std::move(t.response);
    }
    pending_.push_back(&t);
  }
  curl_multi_wakeup(static_cast<CURLM*>(multi_));
  done.wait();
  free_headers(t.headers);
  curl_easy_cleanup(e);
  return std::move(t.response);
}

void CurlMultiTransport::loop() {
  auto* multi = static_cast<CURLM*>(multi_);
  std::vector<Transfer*> active;
  auto finish = [&](Transfer* t, CURLcode rc) {
    curl_multi_remove_handle(multi, t->easy);
    long status = 0;
    curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
    HttpResponse& r = t->response;
    if (rc == CURLE_OK) {
      r.status = status;
    } else {
      r.status = 0;
      if (t->too_large) {
        // The status line did arrive (a caller that needs only the status,
        // an absence check, may use it).
        r.status = status;
        r.error = TransportError::TooLarge;
        r.error_message =
            "response body larger than " + std::to_string(t->request->max_body_bytes) + " bytes";
      } else {
        r.error = rc == CURLE_OPERATION_TIMEDOUT ? TransportError::Timeout : TransportError::Network;
        r.error_message = std::string(curl_easy_strerror(rc));
        if (t->error_buffer[0]) r.error_message += std::string(": ") + t->error_buffer;
      }
      r.body.clear();
    }
    active.erase(std::remove(active.begin(), active.end(), t), active.end());
    t->done.set_value();
  };

  for (;;) {
    std::deque<Transfer*> incoming;
    bool stopping;
    {
      std::lock_guard<std::mutex> lock(mu_);
      incoming.swap(pending_);
      stopping = shutting_down_;
    }
    for (Transfer* t : incoming) {
      curl_multi_add_handle(multi, t->easy);
      active.push_back(t);
    }
    // Abort transfers whose run is stopping, and everything on shutdown.
    for (size_t i = 0; i < active.size();) {
      Transfer* t = active[i];
      if (stopping || (t->request->stop && t->request->stop->stop_requested())) {
        curl_multi_remove_handle(multi, t->easy);
        t->response.status = 0;
        t->response.body.clear();
        t->response.error = TransportError::Cancelled;
        t->response.error_message = "cancelled";
        active.erase(active.begin() + static_cast<long>(i));
        t->done.set_value();
      } else {
        ++i;
      }
    }
    if (stopping && active.empty()) break;

    int running = 0;
    curl_multi_perform(multi, &running);
    int queued = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi, &queued)) {
      if (msg->msg != CURLMSG_DONE) continue;
      void* priv = nullptr;
      curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
      finish(static_cast<Transfer*>(priv), msg->data.result);
    }
    int numfds = 0;
    curl_multi_poll(multi, nullptr, 0, active.empty() ? 1000 : 100, &numfds);
  }
}

}  // namespace fetch
