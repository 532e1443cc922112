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

// Nesting limit of the recursive walk, far beyond any Graph document, so a
// hostile document cannot exhaust the stack.
constexpr int kMaxDepth = 1000;

void append_value(std::string& out, const json& doc, int depth);

void append_object(std::string& out, const json::object_t& obj, int depth) {
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
    append_value(out, m->second, depth);
  }
  out.push_back('}');
}

void append_array(std::string& out, const json::array_t& arr, int depth) {
  std::vector<std::string> elements;
  elements.reserve(arr.size());
  for (const auto& e : arr) {
    std::string text;
    append_value(text, e, depth);
    elements.push_back(std::move(text));
  }
  append_canonical_array(out, elements);
}

void append_value(std::string& out, const json& doc, int depth) {
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
    case json::value_t::array:
      if (depth >= kMaxDepth) throw std::invalid_argument("JSON nesting is too deep");
      if (doc.is_object()) {
        append_object(out, doc.get_ref<const json::object_t&>(), depth + 1);
      } else {
        append_array(out, doc.get_ref<const json::array_t&>(), depth + 1);
      }
      return;
    case json::value_t::binary:
    case json::value_t::discarded:
      break;
  }
  throw std::invalid_argument("value has no JSON text form");
}

}  // namespace

// Throws NumberOutOfRange for non-finite numbers, std::invalid_argument for
// binary values and for nesting deeper than kMaxDepth.
void append_canonical_json(std::string& out, const json& doc) { append_value(out, doc, 0); }

std::string canonical_json(const json& doc) {
  std::string out;
  append_canonical_json(out, doc);
  return out;
}

}  // namespace tinv
