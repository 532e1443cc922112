// Read-only walking of a jsonb container through its JEntry array.
//
// The binary layout is the one utils/jsonb.h documents: a container header
// (count and flags), one JEntry per child (for an object: the keys in key
// order, then the values in the same order), then the children's data. A
// JEntry holds the child's type and either its length or, every few
// children (JENTRY_HAS_OFF), the end offset of its data; numerics and nested
// containers start at the next int-aligned offset. Nothing here calls
// PostgreSQL, allocates or can raise an error, so these helpers may run
// between live C++ objects without any guard.
#pragma once

extern "C" {
#include "postgres.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"
}

#include <string_view>

namespace tinv::pg::jsonb_raw {

// One child of a container (a plain aggregate: trivially constructible).
struct Child {
  uint32 type;       // one of the JENTRY_IS* values
  const char* data;  // strings: the bytes; numerics, containers: the aligned datum
  uint32 len;        // bytes at `data`

  bool is_string() const { return type == JENTRY_ISSTRING; }
  bool is_container() const { return type == JENTRY_ISCONTAINER; }
  std::string_view str() const { return std::string_view(data, len); }
  const JsonbContainer* container() const { return reinterpret_cast<const JsonbContainer*>(data); }
  Numeric numeric() const { return reinterpret_cast<Numeric>(const_cast<char*>(data)); }
};

// Number of JEntries of a container: elements of an array, 2 per object pair.
inline uint32 entry_count(const JsonbContainer* jc) {
  const uint32 n = JsonContainerSize(jc);
  return JsonContainerIsObject(jc) ? 2 * n : n;
}

// Visits the children of a container in storage order. For an object the
// first JsonContainerSize() children are the keys, the rest the values.
class Cursor {
 public:
  Cursor() = default;
  explicit Cursor(const JsonbContainer* jc)
      : jc_(jc), base_(reinterpret_cast<const char*>(&jc->children[entry_count(jc)])) {}

  Child next() {
    const JEntry je = jc_->children[index_++];
    const uint32 start = offset_;
    JBE_ADVANCE_OFFSET(offset_, je);
    Child c;
    c.type = je & JENTRY_TYPEMASK;
    if (c.type == JENTRY_ISNUMERIC || c.type == JENTRY_ISCONTAINER) {
      const uint32 aligned = INTALIGN(start);
      c.data = base_ + aligned;
      c.len = offset_ - aligned;
    } else {
      c.data = base_ + start;
      c.len = offset_ - start;
    }
    return c;
  }

  // Skips `count` children.
  void skip(uint32 count) {
    for (uint32 k = 0; k < count; ++k) JBE_ADVANCE_OFFSET(offset_, jc_->children[index_++]);
  }

 private:
  const JsonbContainer* jc_ = nullptr;
  const char* base_ = nullptr;
  uint32 index_ = 0;
  uint32 offset_ = 0;
};

}  // namespace tinv::pg::jsonb_raw
