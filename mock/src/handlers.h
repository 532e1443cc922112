// HTTP handlers: the token endpoint, Graph list endpoints, the /_mock admin API,
// and the foreign listener.
#pragma once

#include <httplib.h>

#include <atomic>
#include <cstdint>
#include <string>

#include "auth.h"
#include "config.h"
#include "faults.h"
#include "generator.h"
#include "responses.h"
#include "stats.h"
#include "store.h"

namespace tinv::mock {

class Service {
 public:
  explicit Service(const Config &config);

  // Loads the state file (if any). False with a message when it is unreadable.
  bool load_state(std::string &error);
  bool save_state(std::string &error) const { return store_.save(error); }

  void register_main(httplib::Server &server);
  void register_foreign(httplib::Server &server);

  void set_ports(int port, int foreign_port) {
    port_ = port;
    foreign_port_ = foreign_port;
  }
  // Makes waiting handlers (latency, slow, hang) return promptly.
  void begin_shutdown() { stopping_ = true; }

 private:
  void handle_token(const httplib::Request &req, httplib::Response &res);
  void handle_graph(const httplib::Request &req, httplib::Response &res);
  // Answers with the fault's response; false when the normal listing should follow
  // (slow, truncated and the nextLink kinds shape it instead).
  bool answer_graph_fault(const FaultRule &fault, const httplib::Request &req,
                          httplib::Response &res, const Ids &ids, const std::string &path, int &fd);
  void list_page(const httplib::Request &req, httplib::Response &res, const Ids &ids,
                 const std::string &path, const FaultRule *fault);
  // GET of one object: /{version}/{collection}/{id}: 200 with the item (listed or
  // hidden), 404 when it was deleted or never generated.
  void get_item(const httplib::Request &req, httplib::Response &res, const Ids &ids,
                const std::string &collection, const std::string &id, const FaultRule *fault);
  void register_admin(httplib::Server &server);
  void handle_admin_tenant(const httplib::Request &req, httplib::Response &res);
  void handle_admin_item(const httplib::Request &req, httplib::Response &res);
  void finish_graph(const httplib::Request &req, const httplib::Response &res);

  bool wait_for_client(int64_t ms, const httplib::Request &req, int &fd);
  void reset_connection(const httplib::Request &req, httplib::Response &res);
  void send_truncated(httplib::Response &res, std::string body, const std::string &content_type);
  // A 200 whose body never ends: the first half of `body`, then `chunk_bytes` of
  // whitespace every `interval_ms` until the client goes away or the server stops.
  void send_endless(httplib::Response &res, std::string body, const std::string &content_type,
                    int64_t interval_ms, int64_t chunk_bytes);

  const Config &config_;
  Generator generator_;
  Store store_;
  FaultSet faults_;
  Stats stats_;
  TokenIssuer tokens_;
  std::atomic<int64_t> latency_ms_{0};
  std::atomic<bool> stopping_{false};
  std::atomic<int> port_{0};
  std::atomic<int> foreign_port_{-1};
};

}  // namespace tinv::mock
