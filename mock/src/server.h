// One running mock: the main listener (token endpoint, Graph, /_mock admin API)
// and the foreign listener, each served by its own thread pool.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "config.h"

namespace tinv::mock {

class MockServer {
 public:
  explicit MockServer(Config config);
  ~MockServer();
  MockServer(const MockServer &) = delete;
  MockServer &operator=(const MockServer &) = delete;

  // Loads the state file, binds both listeners and starts serving. Returns once both
  // accept connections; false with a message on failure.
  bool start(std::string &error);
  // Stops both listeners, waits for their threads and saves the state file.
  void stop();

  int port() const;
  int foreign_port() const;  // -1 when disabled

  // Called (from a server thread) if a listener stops on its own.
  void on_failure(std::function<void()> callback);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tinv::mock
