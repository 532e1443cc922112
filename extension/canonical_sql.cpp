// inventory.canonical_json(jsonb) and inventory.selection_hash(jsonb).
//
// Walks the jsonb's binary containers directly (jsonb_raw.h) and writes the
// canonical text with the shared core (core/canonical.h), so the fetcher and
// the database produce the same bytes for the same document.
//
// All text goes into one arena. An object's members are written in key order
// straight away (its keys are sorted as views into the jsonb); an array's
// elements are written one after the other, sorted and deduplicated as
// (offset, length) spans of the arena, and the array is then laid out in
// their order where its first element began. The walk keeps its own stack, so
// nesting depth costs heap, not C stack. The only PostgreSQL calls are
// numeric_out for numbers and the result's allocation, each through pg_call.
#include "pg_bridge.h"

extern "C" {
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"
}

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "canonical.h"
#include "jsonb_raw.h"
#include "sha256.h"

namespace {

using tinv::pg::pg_call;
using tinv::pg::jsonb_raw::Child;
using tinv::pg::jsonb_raw::Cursor;

// A growable byte buffer that hands out room to write into directly.
class Arena {
 public:
  size_t size() const { return size_; }
  char* data() { return buf_.get(); }
  const char* data() const { return buf_.get(); }
  size_t capacity() const { return cap_; }

  // A pointer to at least `n` writable bytes at the end; end the write with
  // commit().
  char* room(size_t n) {
    if (cap_ - size_ < n) grow(n);
    return buf_.get() + size_;
  }
  void commit(const char* end) { size_ = static_cast<size_t>(end - buf_.get()); }
  void put(char c) { *room(1) = c, ++size_; }
  void put(const char* s, size_t n) {
    std::memcpy(room(n), s, n);
    size_ += n;
  }
  void truncate(size_t n) { size_ = n; }
  void release() {
    buf_.reset();
    size_ = cap_ = 0;
  }

 private:
  void grow(size_t n) {
    size_t cap = std::max<size_t>(cap_ * 2, 256);
    while (cap - size_ < n) cap *= 2;
    std::unique_ptr<char[]> bigger(new char[cap]);
    if (size_ != 0) std::memcpy(bigger.get(), buf_.get(), size_);
    buf_ = std::move(bigger);
    cap_ = cap;
  }

  std::unique_ptr<char[]> buf_;
  size_t size_ = 0;
  size_t cap_ = 0;
};

// The sort key of a string's first 8 bytes (tinv::utf16_order_prefix), so
// most comparisons in a sort are one integer comparison.
struct SortKey {
  uint64_t k0;

  static SortKey of(std::string_view s) { return SortKey{tinv::utf16_order_prefix(s, 0)}; }
};

// a < b in UTF-16 code unit order; sa, sb are the strings the keys were made of.
inline bool utf16_less(const SortKey& a, std::string_view sa, const SortKey& b, std::string_view sb) {
  if (a.k0 != b.k0) return a.k0 < b.k0;
  // Equal keys: two strings of 8 or more bytes share their first 8.
  return sa.size() >= 8 && sb.size() >= 8 ? tinv::compare_utf16(sa.substr(8), sb.substr(8)) < 0
                                          : tinv::compare_utf16(sa, sb) < 0;
}

class Canonicalizer {
 public:
  // Canonical text of the document rooted at `root`; valid until the next call.
  std::string_view run(const JsonbContainer* root, size_t size_hint) {
    trim();
    stack_.clear();
    members_.clear();
    spans_.clear();
    out_.truncate(0);
    out_.room(size_hint);
    if (JsonContainerIsScalar(root)) {  // a raw scalar: a one-element pseudo array
      Cursor cur(root);
      write_scalar(cur.next());
      return std::string_view(out_.data(), out_.size());
    }
    open(root);
    while (!stack_.empty()) {
      Frame& f = stack_.back();
      if (f.next == f.count) {
        close();
        continue;
      }
      Child c;
      if (f.is_object) {
        const Member& m = members_[f.first + f.next];
        if (f.next != 0) out_.put(',');
        write_string(m.key);
        out_.put(':');
        c = m.value;
      } else {
        c = f.cursor.next();
        f.element_start = out_.size();
      }
      ++f.next;
      if (c.is_container()) {
        open(c.container());  // `f` is invalid from here on
        continue;
      }
      write_scalar(c);
      value_done();
    }
    return std::string_view(out_.data(), out_.size());
  }

  // Gives back the buffers of an unusually large document.
  void trim() {
    constexpr size_t kKeepBytes = size_t{1} << 20;
    if (out_.capacity() > kKeepBytes) out_.release();
    if (members_.capacity() * sizeof(Member) > kKeepBytes) std::vector<Member>().swap(members_);
    if (spans_.capacity() * sizeof(Span) > kKeepBytes) std::vector<Span>().swap(spans_);
    if (stack_.capacity() * sizeof(Frame) > kKeepBytes) std::vector<Frame>().swap(stack_);
  }

 private:
  struct Member {
    std::string_view key;
    SortKey order;
    Child value;
  };
  struct Span {
    size_t offset;
    size_t length;
    SortKey order;
  };
  struct Frame {
    bool is_object;
    uint32 count;          // members or elements
    uint32 next;           // next member / element to write
    size_t first;          // objects: index into members_; arrays: into spans_
    size_t text_start;     // arrays: arena offset of the first element
    size_t element_start;  // arrays: arena offset of the element being written
    Cursor cursor;         // arrays: the elements in storage order
  };

  void open(const JsonbContainer* jc) {
    Frame f{};
    f.count = JsonContainerSize(jc);
    if (JsonContainerIsObject(jc)) {
      f.is_object = true;
      f.first = members_.size();
      members_.resize(f.first + f.count);
      Member* const m = members_.data() + f.first;
      Cursor cur(jc);
      for (uint32 i = 0; i < f.count; ++i) m[i].key = cur.next().str();
      for (uint32 i = 0; i < f.count; ++i) m[i].value = cur.next();
      // jsonb stores keys by length, then bytes; the canonical order is UTF-16.
      if (f.count > 1) {
        for (uint32 i = 0; i < f.count; ++i) m[i].order = SortKey::of(m[i].key);
        std::sort(m, m + f.count,
                  [](const Member& a, const Member& b) { return utf16_less(a.order, a.key, b.order, b.key); });
      }
      out_.put('{');
    } else {
      f.is_object = false;
      f.first = spans_.size();
      f.text_start = out_.size();
      f.cursor = Cursor(jc);
    }
    stack_.push_back(f);
  }

  // Ends the innermost container and hands it to its parent.
  void close() {
    const Frame f = stack_.back();
    stack_.pop_back();
    if (f.is_object) {
      out_.put('}');
      members_.resize(f.first);
    } else {
      close_array(f);
      spans_.resize(f.first);
    }
    if (!stack_.empty()) value_done();
  }

  // The value just written is complete: an array element becomes a span.
  void value_done() {
    const Frame& f = stack_.back();
    if (f.is_object) return;
    spans_.push_back(Span{f.element_start, out_.size() - f.element_start, SortKey{}});
  }

  // Replaces the element texts written since f.text_start by the array: the
  // distinct texts in UTF-16 order, comma-separated, in brackets.
  void close_array(const Frame& f) {
    Span* const begin = spans_.data() + f.first;
    Span* end = spans_.data() + spans_.size();
    const char* const arena = out_.data();
    auto view = [arena](const Span& s) { return std::string_view(arena + s.offset, s.length); };
    if (end - begin > 1) {
      for (Span* s = begin; s != end; ++s) s->order = SortKey::of(view(*s));
    }
    std::sort(begin, end,
              [&view](const Span& a, const Span& b) { return utf16_less(a.order, view(a), b.order, view(b)); });
    end = std::unique(begin, end, [&view](const Span& a, const Span& b) { return view(a) == view(b); });

    size_t total = 2;
    for (const Span* s = begin; s != end; ++s) total += s->length + 1;
    if (begin != end) --total;
    // Assemble the array after the elements, then move it in their place.
    char* const array = out_.room(total);
    char* const buf = out_.data();
    char* w = array;
    *w++ = '[';
    for (const Span* s = begin; s != end; ++s) {
      if (s != begin) *w++ = ',';
      std::memcpy(w, buf + s->offset, s->length);
      w += s->length;
    }
    *w = ']';
    std::memmove(buf + f.text_start, array, total);
    out_.truncate(f.text_start + total);
  }

  // Writes `s` as a JSON string literal. Long strings go through a
  // std::string, so that the arena grows by what is written and not by the
  // worst case of six bytes for every byte.
  void write_string(std::string_view s) {
    constexpr size_t kDirectBytes = 64 * 1024;
    if (s.size() <= kDirectBytes) {
      out_.commit(tinv::write_json_string(out_.room(tinv::json_string_max_size(s.size())), s));
      return;
    }
    std::string text;
    tinv::append_json_string(text, s);
    out_.put(text.data(), text.size());
  }

  void write_scalar(const Child& c) {
    switch (c.type) {
      case JENTRY_ISSTRING:
        write_string(c.str());
        break;
      case JENTRY_ISNUMERIC: {
        const Numeric num = c.numeric();
        const char* text = pg_call([num]() -> const char* {
          return DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(num)));
        });
        const double value = tinv::parse_json_number(text);
        out_.commit(tinv::write_json_number(out_.room(tinv::kJsonNumberMaxSize), value));
        break;
      }
      case JENTRY_ISBOOL_FALSE:
        out_.put("false", 5);
        break;
      case JENTRY_ISBOOL_TRUE:
        out_.put("true", 4);
        break;
      case JENTRY_ISNULL:
        out_.put("null", 4);
        break;
      default:
        throw std::logic_error("unexpected jsonb entry type");
    }
  }

  Arena out_;
  std::vector<Frame> stack_;
  std::vector<Member> members_;
  std::vector<Span> spans_;
};

// The walker's buffers live as long as the backend (the functions are not
// reentrant: nothing they call runs SQL), so a call allocates nothing once
// documents of its size have been seen; trim() caps what is kept.
Canonicalizer& scratch() {
  static Canonicalizer c;
  return c;
}

// Canonical text of a whole jsonb document; valid until the next call.
std::string_view canonicalize(const Jsonb* jb) {
  return scratch().run(&jb->root, 2 * static_cast<size_t>(VARSIZE(jb)) + 64);
}

}  // namespace

extern "C" {

PG_FUNCTION_INFO_V1(tinv_canonical_json);
Datum tinv_canonical_json(PG_FUNCTION_ARGS) {
  Jsonb* jb = PG_GETARG_JSONB_P(0);
  return tinv::pg::sql_entry([&]() -> Datum {
    const std::string_view canon = canonicalize(jb);
    text* result = pg_call([canon]() {
      return cstring_to_text_with_len(canon.data(), static_cast<int>(canon.size()));
    });
    scratch().trim();
    return PointerGetDatum(result);
  });
}

PG_FUNCTION_INFO_V1(tinv_selection_hash);
Datum tinv_selection_hash(PG_FUNCTION_ARGS) {
  Jsonb* jb = PG_GETARG_JSONB_P(0);
  return tinv::pg::sql_entry([&]() -> Datum {
    const tinv::Sha256Digest digest = tinv::sha256(canonicalize(jb));
    scratch().trim();
    static constexpr char kHex[] = "0123456789abcdef";
    char hex[2 * sizeof digest];
    for (size_t i = 0; i < digest.size(); ++i) {
      hex[2 * i] = kHex[digest[i] >> 4];
      hex[2 * i + 1] = kHex[digest[i] & 0xF];
    }
    return PointerGetDatum(pg_call([&hex]() { return cstring_to_text_with_len(hex, sizeof hex); }));
  });
}

}  // extern "C"
