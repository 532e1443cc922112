// Canonical JSON of an nlohmann::json document (fetcher and unit tests only;
// the extension walks jsonb instead). Same output as inventory.canonical_json.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace tinv {

// Throws NumberOutOfRange for non-finite numbers.
void append_canonical_json(std::string& out, const nlohmann::json& doc);
std::string canonical_json(const nlohmann::json& doc);

}  // namespace tinv
