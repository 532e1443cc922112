#include "server.h"

#include <httplib.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <thread>

#include "handlers.h"

namespace tinv::mock {

namespace {

constexpr int kBacklog = 1024;

// cpp-httplib as packaged listens with a backlog of 5; a burst of connections then
// waits for SYN retransmits. The listening socket is protected, so a subclass can
// raise the backlog (listen() again on a listening socket just updates it).
class Listener : public httplib::Server {
 public:
  bool raise_backlog(int backlog) {
    socket_t s = svr_sock_;
    return s != INVALID_SOCKET && ::listen(s, backlog) == 0;
  }
};

bool wait_running(const Listener &l) {
  for (int i = 0; i < 500; ++i) {
    if (l.is_running()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return l.is_running();
}

}  // namespace

struct MockServer::Impl {
  Config config;
  Service service;
  Listener main;
  Listener foreign;
  std::thread main_thread;
  std::thread foreign_thread;
  int port = -1;
  int foreign_port = -1;
  std::atomic<bool> stopping{false};
  bool started = false;
  std::function<void()> failure;

  explicit Impl(Config c) : config(std::move(c)), service(config) {}

  void configure(Listener &l, size_t threads) {
    l.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
    l.set_keep_alive_max_count(1000);
    l.set_keep_alive_timeout(3);
    l.set_read_timeout(10);
    l.set_write_timeout(10);
    // Fault rules may carry whole hostile pages (page_body with 10 MB objects).
    l.set_payload_max_length(128u << 20);
    l.set_tcp_nodelay(true);
  }

  bool bind(Listener &l, int wanted, int &bound, std::string &error) {
    bound = wanted == 0 ? l.bind_to_any_port(config.host)
                        : (l.bind_to_port(config.host, wanted) ? wanted : -1);
    if (bound <= 0) {
      error = "cannot listen on " + config.host + ":" + std::to_string(wanted);
      return false;
    }
    l.raise_backlog(kBacklog);
    return true;
  }

  void run(Listener &l) {
    bool ok = l.listen_after_bind();
    if (!ok && !stopping && failure) failure();
  }
};

MockServer::MockServer(Config config) : impl_(std::make_unique<Impl>(std::move(config))) {}

MockServer::~MockServer() { stop(); }

void MockServer::on_failure(std::function<void()> callback) {
  impl_->failure = std::move(callback);
}

bool MockServer::start(std::string &error) {
  Impl &m = *impl_;
  if (m.started) {
    error = "already started";
    return false;
  }
  // Writes to a peer that went away must fail with EPIPE, not kill the process.
  std::signal(SIGPIPE, SIG_IGN);
  if (!m.service.load_state(error)) return false;
  m.configure(m.main, m.config.threads < 4 ? 4 : m.config.threads);
  m.service.register_main(m.main);
  if (!m.bind(m.main, m.config.port, m.port, error)) return false;
  if (m.config.foreign_port >= 0) {
    m.configure(m.foreign, 8);
    m.service.register_foreign(m.foreign);
    if (!m.bind(m.foreign, m.config.foreign_port, m.foreign_port, error)) {
      m.main.stop();
      return false;
    }
  }
  m.service.set_ports(m.port, m.foreign_port);
  m.main_thread = std::thread([&m] { m.run(m.main); });
  if (m.foreign_port > 0) m.foreign_thread = std::thread([&m] { m.run(m.foreign); });
  m.started = true;
  if (!wait_running(m.main) || (m.foreign_port > 0 && !wait_running(m.foreign))) {
    error = "listener did not start";
    stop();
    return false;
  }
  return true;
}

void MockServer::stop() {
  Impl &m = *impl_;
  if (!m.started) return;
  m.started = false;
  m.stopping = true;
  m.service.begin_shutdown();
  m.main.stop();
  if (m.foreign_port > 0) m.foreign.stop();
  if (m.main_thread.joinable()) m.main_thread.join();
  if (m.foreign_thread.joinable()) m.foreign_thread.join();
  std::string error;
  m.service.save_state(error);
}

int MockServer::port() const { return impl_->port; }
int MockServer::foreign_port() const { return impl_->foreign_port; }

}  // namespace tinv::mock
