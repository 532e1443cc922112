// COPY ... FROM STDIN text format for pg_temp.staged_items
// (policy_type, external_id, display_name, meta_jsonb, content_hash).
#pragma once

#include <string>
#include <string_view>

#include "mapper.h"

namespace fetch {

// Appends `value` escaped for a COPY text field (backslash, tab, newline,
// carriage return; other bytes as they are).
void append_copy_field(std::string& out, std::string_view value);

// Appends one complete line (with the trailing newline).
void append_copy_row(std::string& out, const std::string& policy_type, const StagedRow& row);

}  // namespace fetch
