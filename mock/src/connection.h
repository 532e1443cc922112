// Socket-level helpers for faults that cpp-httplib has no API for: closing a
// connection without a response, and noticing that a client gave up waiting.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

namespace tinv::mock {

// The accepted socket serving a request, found by its local and remote address
// (the request's handler runs on the thread that owns it). -1 when not found.
int find_connection_socket(const std::string &local_addr, int local_port,
                           const std::string &remote_addr, int remote_port);

// Aborts a connection: no response is sent, the peer sees the connection drop.
void abort_connection(int fd);

// True when the peer closed or reset the connection.
bool peer_gone(int fd);

// Sleeps up to `ms` milliseconds in short slices. Returns early (false) when `stop`
// becomes true or the peer behind `fd` (if >= 0) goes away; true when the time passed.
bool interruptible_wait(int64_t ms, const std::atomic<bool> &stop, int fd);

}  // namespace tinv::mock
