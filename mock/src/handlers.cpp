#include "handlers.h"

#include <cstdio>

#include "connection.h"
#include "request_scope.h"
#include "responses.h"
#include "util.h"

namespace tinv::mock {

using httplib::Request;
using httplib::Response;
using nlohmann::json;

RequestScope &request_scope() {
  thread_local RequestScope scope;
  return scope;
}

namespace {

bool is_graph_path(const std::string &path) {
  return path.rfind("/v1.0/", 0) == 0 || path.rfind("/beta/", 0) == 0 || path == "/v1.0" ||
         path == "/beta";
}

}  // namespace

Service::Service(const Config &config)
    : config_(config),
      generator_(config.tenant_seed, config.items_per_type, config.types),
      store_(generator_, config.tenants, config.state_file),
      tokens_(config.token_ttl, config.opaque_tokens) {}

bool Service::load_state(std::string &error) { return store_.load(error); }

bool Service::wait_for_client(int64_t ms, const Request &req, int &fd) {
  if (ms <= 0) return !stopping_;
  if (fd < 0 && ms >= 100)
    fd = find_connection_socket(req.local_addr, req.local_port, req.remote_addr, req.remote_port);
  return interruptible_wait(ms, stopping_, fd);
}

void Service::reset_connection(const Request &req, Response &res) {
  int fd = find_connection_socket(req.local_addr, req.local_port, req.remote_addr, req.remote_port);
  request_scope().reset = true;
  if (fd >= 0) {
    // The client sees the drop the moment the socket goes, before this handler
    // returns: the request stops counting as in flight first, so a client that
    // retries at once is never counted twice.
    finish_graph(req, res);
    abort_connection(fd);
    res.status = 500;  // never reaches the client: the socket is already shut down
    res.set_header("Connection", "close");
    return;
  }
  // Fallback (socket not found): status line only, then the connection drops.
  res.status = 500;
  res.set_content_provider(1, "text/plain",
                           [](size_t, size_t, httplib::DataSink &) { return false; });
}

void Service::send_truncated(Response &res, std::string body, const std::string &content_type) {
  auto shared = std::make_shared<std::string>(std::move(body));
  const size_t total = shared->size();
  res.set_content_provider(total, content_type,
                           [shared](size_t offset, size_t, httplib::DataSink &sink) {
                             // Half the body, then fail: cpp-httplib closes the connection.
                             size_t half = shared->size() / 2;
                             if (offset < half) sink.write(shared->data() + offset, half - offset);
                             return false;
                           });
}

void Service::send_endless(Response &res, std::string body, const std::string &content_type,
                           int64_t interval_ms, int64_t chunk_bytes) {
  body.resize(body.size() / 2);
  auto head = std::make_shared<std::string>(std::move(body));
  auto filler = std::make_shared<std::string>(static_cast<size_t>(chunk_bytes), ' ');
  res.set_chunked_content_provider(
      content_type, [this, head, filler, interval_ms](size_t offset, httplib::DataSink &sink) {
        if (stopping_) return false;
        if (offset == 0 && !head->empty()) return sink.write(head->data(), head->size());
        if (interval_ms > 0 && !interruptible_wait(interval_ms, stopping_, -1)) return false;
        return sink.is_writable() && sink.write(filler->data(), filler->size());
      });
}

// Ends the in-flight interval of a Graph request and records it. Called when its
// handler returns, i.e. before the response is written: a client cannot see the
// response (and send its next request) before the request stopped counting, so the
// maxima never exceed the client's real concurrency.
void Service::finish_graph(const Request &req, const Response &res) {
  RequestScope &scope = request_scope();
  if (!scope.graph || scope.finished) return;
  scope.finished = true;
  stats_.graph_end(scope.tenant);
  RequestRecord r;
  r.method = req.method;
  r.tenant = scope.tenant;
  r.api_version = req.path.rfind("/beta", 0) == 0 ? "beta" : "v1.0";
  r.path =
      normalize_graph_path(req.path.substr(std::min(req.path.size(), r.api_version.size() + 1)));
  r.status = scope.reset ? 0 : res.status;
  r.item = scope.item;
  r.client_request_id = req.get_header_value("client-request-id");
  if (req.has_header("Retry-Attempt")) r.retry_attempt = req.get_header_value("Retry-Attempt");
  r.had_auth = scope.had_auth;
  r.fault = scope.fault;
  r.at_ms = scope.start_ms;
  r.duration_ms = now_ms() - scope.start_ms;
  stats_.record_graph(std::move(r));
}

void Service::register_main(httplib::Server &server) {
  // Arrival: a Graph request starts counting once its headers are read.
  server.set_pre_routing_handler([this](const Request &req, Response &) {
    RequestScope &scope = request_scope();
    if (scope.graph && !scope.finished) stats_.graph_end(scope.tenant);  // never finished
    scope = RequestScope{};
    scope.start_ms = now_ms();
    if (is_graph_path(req.path)) {
      scope.graph = true;
      scope.had_auth = req.has_header("Authorization");
      std::string tenant;
      scope.auth = tokens_.check_header(req.get_header_value("Authorization"), tenant);
      if (scope.auth == TokenCheck::Ok) scope.tenant = tenant;
      stats_.graph_begin(scope.tenant);
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });

  server.set_logger([this](const Request &req, const Response &res) {
    RequestScope &scope = request_scope();
    // Requests no Graph handler finished (e.g. an unrouted method) are accounted here.
    finish_graph(req, res);
    if (config_.log_requests) {
      // Path only: no query (paging tokens), no headers (Authorization), no body (secrets).
      const long long ms = scope.start_ms ? now_ms() - scope.start_ms : 0;
      std::fprintf(stderr, "[mock] %s %s %d %lldms%s%s%s%s\n", req.method.c_str(), req.path.c_str(),
                   scope.reset ? 0 : res.status, ms,
                   scope.tenant.empty() ? "" : " tenant=", scope.tenant.c_str(),
                   scope.fault.empty() ? "" : " fault=", scope.fault.c_str());
    }
    scope = RequestScope{};
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

  server.set_error_handler(
      httplib::Server::HandlerWithResponse([](const Request &req, Response &res) {
        if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
        if (res.status == 404 && req.path.rfind("/_mock", 0) == 0) {
          set_json(res, 404, {{"error", "no such admin endpoint: " + req.method + " " + req.path}});
        } else if (res.status == 404) {
          Ids ids{random_uuid(), random_uuid()};
          set_json(res, 404,
                   graph_error("BadRequest",
                               "Resource not found for the segment '" + req.path + "'.", ids));
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
    set_json(
        res, 405,
        graph_error("Request_BadRequest",
                    "The request method '" + req.method + "' is not supported by the mock.", ids));
    finish_graph(req, res);
  };
  server.Post(R"(/(v1\.0|beta)(/.*)?)", not_allowed);
  server.Put(R"(/(v1\.0|beta)(/.*)?)", not_allowed);
  server.Patch(R"(/(v1\.0|beta)(/.*)?)", not_allowed);
  server.Delete(R"(/(v1\.0|beta)(/.*)?)", not_allowed);

  register_admin(server);
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
