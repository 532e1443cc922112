// inventory.canonical_json(jsonb) and inventory.selection_hash(jsonb).
//
// Walks the jsonb with its iterator and builds the canonical text with the
// shared core (core/canonical.h), so the fetcher and the database produce the
// same bytes for the same document.
#include "pg_bridge.h"

extern "C" {
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"
}

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "canonical.h"
#include "sha256.h"

namespace {

using tinv::pg::pg_call;

// One open container while walking the document.
struct Frame {
  bool is_object = false;
  std::string_view pending_key;
  std::vector<std::pair<std::string_view, std::string>> members;
  std::vector<std::string> elements;
};

void append_scalar(std::string& out, const JsonbValue& v) {
  switch (v.type) {
    case jbvNull:
      out += "null";
      break;
    case jbvBool:
      out += v.val.boolean ? "true" : "false";
      break;
    case jbvString:
      tinv::append_json_string(out, std::string_view(v.val.string.val, static_cast<size_t>(v.val.string.len)));
      break;
    case jbvNumeric: {
      Numeric num = v.val.numeric;
      const char* text = pg_call([num]() -> const char* {
        return DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(num)));
      });
      double d = tinv::parse_json_number(text);
      tinv::append_json_number(out, d);
      break;
    }
    default:
      throw std::logic_error("unexpected jsonb scalar type");
  }
}

// Canonical text of a whole jsonb document.
std::string canonicalize(Jsonb* jb) {
  JsonbIterator* it = pg_call([jb]() { return JsonbIteratorInit(&jb->root); });
  std::vector<Frame> stack;
  std::string result;
  bool raw_scalar = false;
  JsonbValue v;

  // Hands a finished value (canonical text) to the enclosing container.
  auto emit = [&](std::string&& text) {
    if (stack.empty()) {
      result = std::move(text);
      return;
    }
    Frame& top = stack.back();
    if (top.is_object)
      top.members.emplace_back(top.pending_key, std::move(text));
    else
      top.elements.push_back(std::move(text));
  };

  for (;;) {
    JsonbIteratorToken tok = pg_call([&it, &v]() { return JsonbIteratorNext(&it, &v, false); });
    if (tok == WJB_DONE) break;
    switch (tok) {
      case WJB_BEGIN_OBJECT:
        stack.emplace_back();
        stack.back().is_object = true;
        break;
      case WJB_BEGIN_ARRAY:
        if (v.val.array.rawScalar && stack.empty()) {
          raw_scalar = true;
          stack.emplace_back();
        } else {
          stack.emplace_back();
        }
        break;
      case WJB_KEY:
        stack.back().pending_key = std::string_view(v.val.string.val, static_cast<size_t>(v.val.string.len));
        break;
      case WJB_VALUE:
      case WJB_ELEM: {
        std::string text;
        append_scalar(text, v);
        emit(std::move(text));
        break;
      }
      case WJB_END_OBJECT: {
        Frame frame = std::move(stack.back());
        stack.pop_back();
        std::string text;
        tinv::append_canonical_object(text, frame.members);
        emit(std::move(text));
        break;
      }
      case WJB_END_ARRAY: {
        Frame frame = std::move(stack.back());
        stack.pop_back();
        if (raw_scalar && stack.empty()) {
          result = frame.elements.empty() ? std::string() : std::move(frame.elements.front());
        } else {
          std::string text;
          tinv::append_canonical_array(text, frame.elements);
          emit(std::move(text));
        }
        break;
      }
      default:
        throw std::logic_error("unexpected jsonb iterator token");
    }
  }
  return result;
}

text* to_text(const std::string& s) {
  return pg_call([&s]() { return cstring_to_text_with_len(s.data(), static_cast<int>(s.size())); });
}

}  // namespace

extern "C" {

PG_FUNCTION_INFO_V1(tinv_canonical_json);
Datum tinv_canonical_json(PG_FUNCTION_ARGS) {
  Jsonb* jb = PG_GETARG_JSONB_P(0);
  return tinv::pg::sql_entry([&]() -> Datum {
    std::string canon = canonicalize(jb);
    return PointerGetDatum(to_text(canon));
  });
}

PG_FUNCTION_INFO_V1(tinv_selection_hash);
Datum tinv_selection_hash(PG_FUNCTION_ARGS) {
  Jsonb* jb = PG_GETARG_JSONB_P(0);
  return tinv::pg::sql_entry([&]() -> Datum {
    std::string canon = canonicalize(jb);
    return PointerGetDatum(to_text(tinv::sha256_hex(canon)));
  });
}


}  // extern "C"
