// COPY ... FROM STDIN text format for pg_temp.staged_items
// (policy_type, external_id, display_name, meta_jsonb, content_hash
// [, row_fp]) and pg_temp.staged_keys (policy_type, external_id, row_fp).
#pragma once

#include <string>
#include <string_view>

#include "manifest.h"
#include "mapper.h"

namespace fetch {

// Appends `value` escaped for a COPY text field (backslash, tab, newline,
// carriage return; other bytes as they are).
void append_copy_field(std::string& out, std::string_view value);

// The meta column's JSON text (what is staged, and what the row
// fingerprint covers).
std::string meta_text(const nlohmann::json& meta);

// Appends one complete line (with the trailing newline).
void append_copy_row(std::string& out, const std::string& policy_type, const StagedRow& row);

// The same with the meta text already made; with `fp`, the row
// fingerprint is a sixth field.
void append_copy_row(std::string& out, std::string_view policy_type, const StagedRow& row,
                     std::string_view meta_json, const RowFingerprint* fp);

// One line of pg_temp.staged_keys.
void append_key_row(std::string& out, std::string_view policy_type, std::string_view external_id,
                    const RowFingerprint& fp);

}  // namespace fetch
