// Settings of one mock server instance (the command line maps onto this).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "generator.h"

namespace tinv::mock {

struct Config {
  std::string host = "127.0.0.1";
  int port = 0;          // 0 = pick a free port
  int foreign_port = 0;  // 0 = pick a free port, -1 = no foreign listener
  size_t tenants = 3;    // generated tenants
  std::string tenant_seed = "mock";
  uint64_t items_per_type = 60;
  std::vector<TypeOverride> types;
  std::string client_id;  // empty = any client id is accepted
  std::string client_secret = "mock-secret";
  int64_t token_ttl = 3599;  // seconds
  bool opaque_tokens = false;  // issue opaque (non-JWT) access tokens
  std::string state_file;    // empty = no persistence
  bool log_requests = false;
  size_t threads = 64;
};

}  // namespace tinv::mock
