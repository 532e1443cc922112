#pragma once

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

namespace fetch::testing {

inline std::string read_vector(const std::string& name) {
  std::ifstream in(std::string(TINV_GRAPH_VECTORS) + "/" + name, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline nlohmann::json vector_json(const std::string& name) {
  return nlohmann::json::parse(read_vector(name));
}

}  // namespace fetch::testing
