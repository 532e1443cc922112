// Command line: `inventory-fetch sync ...` (CLI11), turned into Settings and
// jobs (one from the options, or many from --config).
#pragma once

#include <exception>
#include <string>
#include <vector>

#include "config.h"

namespace fetch {

struct CommandLine {
  int exit_code = -1;  // >= 0: stop now with this code (help, usage error)
  Settings settings;
  std::vector<Job> jobs;
};

// Parses `args` (args[0] is the program name). Help and usage errors are
// printed to stdout/stderr and reported through exit_code (0 or 2).
// Configuration errors throw ConfigError.
CommandLine parse_command_line(const std::vector<std::string>& args);

// {"external_id_max_bytes":...,"error_message_max_chars":...,"errors_max":...,
// "verify_max_per_type":...,
// "meta_kinds":{key: kind}}: the fetcher's copies of what inventory.limits()
// and inventory.meta_keys hold.
std::string limits_json();

// A usage error's text without any argument value (option names only).
std::string usage_error_text(const std::exception& e, const std::vector<std::string>& args);

}  // namespace fetch
