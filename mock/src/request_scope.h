// Per-request bookkeeping shared by the hooks and handlers of one request.
#pragma once

#include <cstdint>
#include <string>

#include "auth.h"

namespace tinv::mock {

// A connection is served start to end on one pool thread, so the pre-routing hook,
// the route handler and the logger of a request share this thread-local record.
struct RequestScope {
  bool graph = false;  // a Graph API request (counted in stats)
  bool item = false;   // a GET of one object (<collection>/<id>)
  std::string tenant;  // from the bearer token; empty when it was not valid
  TokenCheck auth = TokenCheck::Missing;
  bool had_auth = false;
  std::string fault;      // fault kind that fired
  bool reset = false;     // connection aborted: no status reached the client
  bool finished = false;  // accounted for (before the response was written)
  int64_t start_ms = 0;
};

RequestScope &request_scope();

}  // namespace tinv::mock
