// Canonical JSON of an nlohmann::json document: the same text the extension
// writes for the equivalent jsonb value.
#include "canonical_nlohmann.h"

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "canonical.h"

namespace tinv {

namespace {

using json = nlohmann::json;

void append_object(std::string& out, const json::object_t& obj) {
  // std::map orders keys by bytes, which is not UTF-16 order for keys with
  // supplementary characters, so sort pointers to the members.
  std::vector<const json::object_t::value_type*> members;
  members.reserve(obj.size());
  for (const auto& m : obj) members.push_back(&m);
  std::sort(members.begin(), members.end(), [](const auto* x, const auto* y) {
    return compare_utf16(x->first, y->first) < 0;
  });
  out.push_back('{');
  bool first = true;
  for (const auto* m : members) {
    if (!first) out.push_back(',');
    first = false;
    append_json_string(out, m->first);
    out.push_back(':');
    append_canonical_json(out, m->second);
  }
  out.push_back('}');
}

void append_array(std::string& out, const json::array_t& arr) {
  std::vector<std::string> elements;
  elements.reserve(arr.size());
  for (const auto& e : arr) {
    std::string text;
    append_canonical_json(text, e);
    elements.push_back(std::move(text));
  }
  append_canonical_array(out, elements);
}

}  // namespace

void append_canonical_json(std::string& out, const json& doc) {
  switch (doc.type()) {
    case json::value_t::null:
      out.append("null");
      return;
    case json::value_t::boolean:
      out.append(doc.get<bool>() ? "true" : "false");
      return;
    case json::value_t::number_integer:
      // Integers and floats denote the same number when equal: 1 and 1.0 both
      // become the nearest double and are written "1".
      append_json_number(out, static_cast<double>(doc.get<std::int64_t>()));
      return;
    case json::value_t::number_unsigned:
      append_json_number(out, static_cast<double>(doc.get<std::uint64_t>()));
      return;
    case json::value_t::number_float:
      append_json_number(out, doc.get<double>());
      return;
    case json::value_t::string:
      append_json_string(out, doc.get_ref<const std::string&>());
      return;
    case json::value_t::object:
      append_object(out, doc.get_ref<const json::object_t&>());
      return;
    case json::value_t::array:
      append_array(out, doc.get_ref<const json::array_t&>());
      return;
    case json::value_t::binary:
    case json::value_t::discarded:
      break;
  }
  throw std::invalid_argument("value has no JSON text form");
}

std::string canonical_json(const json& doc) {
  std::string out;
  append_canonical_json(out, doc);
  return out;
}

}  // namespace tinv
