#include "copy_format.h"

namespace fetch {

void append_copy_field(std::string& out, std::string_view value) {
  // Plain runs are appended whole; only the four special bytes are escaped.
  const char* p = value.data();
  const char* const end = p + value.size();
  while (p < end) {
    const char* run = p;
    while (p < end && *p != '\\' && *p != '\t' && *p != '\n' && *p != '\r') ++p;
    out.append(run, static_cast<size_t>(p - run));
    if (p == end) break;
    switch (*p) {
      case '\\':
        out += "\\\\";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += "\\r";
    }
    ++p;
  }
}

std::string meta_text(const nlohmann::json& meta) {
  return meta.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void append_copy_row(std::string& out, std::string_view policy_type, const StagedRow& row,
                     std::string_view meta_json, const RowFingerprint* fp) {
  append_copy_field(out, policy_type);
  out += '\t';
  append_copy_field(out, row.external_id);
  out += '\t';
  if (row.display_name) {
    append_copy_field(out, *row.display_name);
  } else {
    out += "\\N";
  }
  out += '\t';
  // JSON text never contains raw tabs or newlines (they are escaped inside
  // strings), but backslashes must be doubled for COPY.
  append_copy_field(out, meta_json);
  out += '\t';
  out += row.content_hash;
  if (fp) {
    out += '\t';
    fp->append_hex(out);
  }
  out += '\n';
}

void append_copy_row(std::string& out, const std::string& policy_type, const StagedRow& row) {
  append_copy_row(out, policy_type, row, meta_text(row.meta), nullptr);
}

void append_key_row(std::string& out, std::string_view policy_type, std::string_view external_id,
                    const RowFingerprint& fp) {
  append_copy_field(out, policy_type);
  out += '\t';
  append_copy_field(out, external_id);
  out += '\t';
  fp.append_hex(out);
  out += '\n';
}

}  // namespace fetch
