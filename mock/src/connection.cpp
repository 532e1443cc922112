#include "connection.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <thread>

namespace tinv::mock {

namespace {

bool address_of(const sockaddr_storage &ss, std::string &addr, int &port) {
  char buf[INET6_ADDRSTRLEN] = {0};
  if (ss.ss_family == AF_INET) {
    const auto *in = reinterpret_cast<const sockaddr_in *>(&ss);
    if (!inet_ntop(AF_INET, &in->sin_addr, buf, sizeof buf)) return false;
    port = ntohs(in->sin_port);
  } else if (ss.ss_family == AF_INET6) {
    const auto *in6 = reinterpret_cast<const sockaddr_in6 *>(&ss);
    if (!inet_ntop(AF_INET6, &in6->sin6_addr, buf, sizeof buf)) return false;
    port = ntohs(in6->sin6_port);
  } else {
    return false;
  }
  addr = buf;
  return true;
}

bool same_address(const std::string &a, const std::string &b) {
  if (a == b) return true;
  // IPv4-mapped IPv6 ("::ffff:127.0.0.1") against its IPv4 form.
  const std::string mapped = "::ffff:";
  if (a.rfind(mapped, 0) == 0 && a.substr(mapped.size()) == b) return true;
  if (b.rfind(mapped, 0) == 0 && b.substr(mapped.size()) == a) return true;
  return false;
}

}  // namespace

int find_connection_socket(const std::string &local_addr, int local_port,
                           const std::string &remote_addr, int remote_port) {
  DIR *dir = opendir("/proc/self/fd");
  if (dir == nullptr) return -1;
  int found = -1;
  while (dirent *e = readdir(dir)) {
    char *end = nullptr;
    long fd = std::strtol(e->d_name, &end, 10);
    if (end == e->d_name || *end != '\0' || fd == dirfd(dir)) continue;
    struct stat st {};
    if (fstat(static_cast<int>(fd), &st) != 0 || !S_ISSOCK(st.st_mode)) continue;
    sockaddr_storage local{}, peer{};
    socklen_t llen = sizeof local, plen = sizeof peer;
    if (getsockname(static_cast<int>(fd), reinterpret_cast<sockaddr *>(&local), &llen) != 0 ||
        getpeername(static_cast<int>(fd), reinterpret_cast<sockaddr *>(&peer), &plen) != 0)
      continue;
    std::string la, pa;
    int lp = 0, pp = 0;
    if (!address_of(local, la, lp) || !address_of(peer, pa, pp)) continue;
    if (lp == local_port && pp == remote_port && same_address(pa, remote_addr) &&
        (local_addr.empty() || same_address(la, local_addr))) {
      found = static_cast<int>(fd);
      break;
    }
  }
  closedir(dir);
  return found;
}

void abort_connection(int fd) {
  if (fd < 0) return;
  linger l{};
  l.l_onoff = 1;
  l.l_linger = 0;  // the final close() sends a reset
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  // shutdown, not close: the server still owns the descriptor and closes it itself,
  // so the number can never be reused under it.
  shutdown(fd, SHUT_RDWR);
}

bool peer_gone(int fd) {
  if (fd < 0) return false;
  pollfd p{};
  p.fd = fd;
  p.events = POLLRDHUP;
  if (poll(&p, 1, 0) <= 0) return false;
  return (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}

bool interruptible_wait(int64_t ms, const std::atomic<bool> &stop, int fd) {
  using clock = std::chrono::steady_clock;
  const auto deadline = clock::now() + std::chrono::milliseconds(ms);
  while (true) {
    if (stop.load()) return false;
    if (peer_gone(fd)) return false;
    auto now = clock::now();
    if (now >= deadline) return true;
    auto slice = std::min<clock::duration>(deadline - now, std::chrono::milliseconds(20));
    std::this_thread::sleep_for(slice);
  }
}

}  // namespace tinv::mock
