// Random (version 4) UUIDs for client-request-id and correlation ids.
#pragma once

#include <string>
#include <string_view>

namespace fetch {

std::string random_uuid();
// True for the 8-4-4-4-12 hex form (any version, any case).
bool is_uuid(std::string_view s);

}  // namespace fetch
