#pragma once

namespace fetch {
inline constexpr const char* kFetchVersion = "0.1.0";
}  // namespace fetch
