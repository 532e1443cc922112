#include "copy_format.h"

namespace fetch {

void append_copy_field(std::string& out, std::string_view value) {
  for (char c : value) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        out += c;
    }
  }
}

void append_copy_row(std::string& out, const std::string& policy_type, const StagedRow& row) {
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
  append_copy_field(out, row.meta.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  out += '\t';
  out += row.content_hash;
  out += '\n';
}

}  // namespace fetch
