// inventory.filter_meta(meta, allowed) and inventory.filter_meta_counted(...).
//
// Keeps the whitelisted keys of `meta` whose values have the declared kind and
// fit the limits (core/meta_rules.h); drops everything else and never raises
// for any jsonb input. When nothing is dropped the input datum is returned as
// is, without copying.
//
// The whitelist is parsed once per call site: it is cached in fn_extra with a
// copy of the `allowed` datum's bytes and parsed again only when those bytes
// change. jsonb stores an object's keys sorted by length, then bytes, in both
// documents, so one merge walk over the two key lists finds every listed key.
// Keys and values are read through the containers' JEntry arrays
// (jsonb_raw.h); a result that drops something is assembled by copying the
// kept keys' and values' bytes into a new object container, laid out exactly
// as jsonb's own serializer lays it out.
//
// This file creates no C++ objects with destructors, so PostgreSQL errors
// (only out-of-memory is possible here) may propagate normally.
#include "pg_bridge.h"

extern "C" {
#include "access/htup_details.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
}

#include <cstring>
#include <string_view>

#include "jsonb_raw.h"
#include "meta_rules.h"

namespace {

using tinv::pg::jsonb_raw::Child;
using tinv::pg::jsonb_raw::Cursor;

// One whitelisted key with a known kind, pointing into Whitelist::datum.
struct AllowedKey {
  const char* key;
  uint32 len;
  tinv::MetaKind kind;
};

// The parsed `allowed` argument: its keys of a known kind, in jsonb key order.
struct Whitelist {
  Size datum_size;  // VARSIZE of the datum the whitelist was parsed from
  char* datum;      // a copy of that datum
  uint32 count;
  AllowedKey* keys;
};

// What a call site keeps in fn_extra.
struct CallCache {
  Whitelist* whitelist;  // of the last `allowed` seen, or nullptr
  TupleDesc result_desc;  // filter_meta_counted: the blessed result row type
};

// jsonb's key order: shorter keys first, then bytes.
inline int compare_keys(const char* a, uint32 alen, const char* b, uint32 blen) {
  if (alen != blen) return alen < blen ? -1 : 1;
  return std::memcmp(a, b, alen);
}

// Parses `allowed` (an object mapping key -> kind) into memory of `mcxt`.
Whitelist* parse_whitelist(const Jsonb* allowed, MemoryContext mcxt) {
  const Size size = VARSIZE(allowed);
  const uint32 n = JB_ROOT_IS_OBJECT(allowed) ? JsonContainerSize(&allowed->root) : 0;
  char* mem = static_cast<char*>(
      MemoryContextAlloc(mcxt, MAXALIGN(sizeof(Whitelist)) + MAXALIGN(sizeof(AllowedKey) * n) + size));
  auto* wl = reinterpret_cast<Whitelist*>(mem);
  wl->keys = reinterpret_cast<AllowedKey*>(mem + MAXALIGN(sizeof(Whitelist)));
  wl->datum = mem + MAXALIGN(sizeof(Whitelist)) + MAXALIGN(sizeof(AllowedKey) * n);
  wl->datum_size = size;
  std::memcpy(wl->datum, allowed, size);
  wl->count = 0;
  if (n == 0) return wl;

  const JsonbContainer* root = &reinterpret_cast<const Jsonb*>(wl->datum)->root;
  Cursor keys(root);
  Cursor values(root);
  values.skip(n);
  for (uint32 i = 0; i < n; i++) {
    const Child k = keys.next();
    const Child v = values.next();
    const tinv::MetaKind kind = v.is_string() ? tinv::parse_meta_kind(v.str()) : tinv::MetaKind::Unknown;
    if (kind == tinv::MetaKind::Unknown) continue;  // a key that keeps nothing
    wl->keys[wl->count++] = AllowedKey{k.data, k.len, kind};
  }
  return wl;
}

// The call site's cache (nullptr when called without an FmgrInfo).
CallCache* call_cache(FunctionCallInfo fcinfo) {
  if (fcinfo->flinfo == nullptr) return nullptr;
  auto* cache = static_cast<CallCache*>(fcinfo->flinfo->fn_extra);
  if (cache == nullptr) {
    cache = static_cast<CallCache*>(MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(CallCache)));
    fcinfo->flinfo->fn_extra = cache;
  }
  return cache;
}

// The whitelist of `allowed` (nullptr for SQL NULL), from the call site's
// cache when the datum's bytes are the ones it was parsed from.
const Whitelist* whitelist_for(FunctionCallInfo fcinfo, CallCache* cache, const Jsonb* allowed) {
  if (allowed == nullptr) return nullptr;
  if (cache == nullptr) return parse_whitelist(allowed, CurrentMemoryContext);
  const Whitelist* wl = cache->whitelist;
  if (wl != nullptr && wl->datum_size == VARSIZE(allowed) && std::memcmp(wl->datum, allowed, wl->datum_size) == 0)
    return wl;
  if (cache->whitelist != nullptr) {
    pfree(cache->whitelist);
    cache->whitelist = nullptr;
  }
  cache->whitelist = parse_whitelist(allowed, fcinfo->flinfo->fn_mcxt);
  return cache->whitelist;
}

bool string_array_ok(const Child& v) {
  if (!v.is_container()) return false;
  const JsonbContainer* c = v.container();
  if (!JsonContainerIsArray(c) || JsonContainerIsScalar(c)) return false;
  const uint32 n = JsonContainerSize(c);
  if (n > tinv::kMetaArrayMaxItems) return false;
  Cursor items(c);
  for (uint32 i = 0; i < n; i++) {
    const Child e = items.next();
    if (!e.is_string()) return false;
    // A string has at most as many characters as bytes.
    if (e.len > tinv::kMetaArrayItemMaxChars && tinv::utf8_length(e.str()) > tinv::kMetaArrayItemMaxChars)
      return false;
  }
  return true;
}

bool value_fits(tinv::MetaKind kind, const Child& v) {
  switch (kind) {
    case tinv::MetaKind::String:
      return v.is_string() &&
             (v.len <= tinv::kMetaStringMaxChars || tinv::utf8_length(v.str()) <= tinv::kMetaStringMaxChars);
    case tinv::MetaKind::Number:
      return v.type == JENTRY_ISNUMERIC;
    case tinv::MetaKind::Boolean:
      return v.type == JENTRY_ISBOOL_TRUE || v.type == JENTRY_ISBOOL_FALSE;
    case tinv::MetaKind::Timestamp:
      return v.is_string() && tinv::is_iso8601_timestamp(v.str());
    case tinv::MetaKind::StringArray:
      return string_array_ok(v);
    case tinv::MetaKind::Unknown:
      return false;
  }
  return false;
}

// An object container of no pairs.
Jsonb* empty_object() {
  auto* res = static_cast<Jsonb*>(palloc(VARHDRSZ + sizeof(uint32)));
  SET_VARSIZE(res, VARHDRSZ + sizeof(uint32));
  res->root.header = JB_FOBJECT;
  return res;
}

// One member of the result.
struct KeptPair {
  Child key;
  Child value;
};

// JEntry of a child of `len` data bytes ending at `end`, at position `index`
// of its container: every JB_OFFSET_STRIDE'th child stores its end offset,
// the others their length (as convertJsonbObject writes them).
inline JEntry make_jentry(uint32 type, uint32 index, uint32 len, uint32 end) {
  return (index % JB_OFFSET_STRIDE) == 0 ? (type | JENTRY_HAS_OFF | end) : (type | len);
}

// A new object of the `count` kept pairs (in key order), copied byte for byte.
Jsonb* build_object(const KeptPair* kept, uint32 count) {
  Size data_bound = 0;
  for (uint32 i = 0; i < count; i++) data_bound += kept[i].key.len + kept[i].value.len + (ALIGNOF_INT - 1);
  const Size head = VARHDRSZ + sizeof(uint32) + sizeof(JEntry) * 2 * count;
  auto* res = static_cast<Jsonb*>(palloc(head + data_bound));
  res->root.header = count | JB_FOBJECT;
  JEntry* entries = res->root.children;
  char* const data = reinterpret_cast<char*>(res) + head;
  uint32 off = 0;
  for (uint32 i = 0; i < count; i++) {
    const Child& k = kept[i].key;
    std::memcpy(data + off, k.data, k.len);
    off += k.len;
    entries[i] = make_jentry(JENTRY_ISSTRING, i, k.len, off);
  }
  for (uint32 i = 0; i < count; i++) {
    const Child& v = kept[i].value;
    uint32 len = v.len;
    if (v.type == JENTRY_ISNUMERIC || v.type == JENTRY_ISCONTAINER) {
      // Padding to an int boundary counts as part of the child's data.
      const uint32 pad = INTALIGN(off) - off;
      std::memset(data + off, 0, pad);
      off += pad;
      len += pad;
    }
    std::memcpy(data + off, v.data, v.len);
    off += v.len;
    entries[count + i] = make_jentry(v.type, count + i, len, off);
  }
  SET_VARSIZE(res, head + off);
  return res;
}

// Filters `meta` (may be NULL) by `wl` (NULL: nothing is allowed); *dropped
// receives the number of top-level keys removed (a non-object meta counts as
// one).
Jsonb* filter_meta_impl(Jsonb* meta, const Whitelist* wl, int32* dropped) {
  *dropped = 0;
  if (meta == nullptr) return empty_object();
  if (!JB_ROOT_IS_OBJECT(meta)) {
    *dropped = 1;
    return empty_object();
  }
  const uint32 n = JsonContainerSize(&meta->root);
  if (n == 0) return meta;

  constexpr uint32 kOnStack = 32;
  KeptPair on_stack[kOnStack];
  KeptPair* kept = n <= kOnStack ? on_stack : static_cast<KeptPair*>(palloc(sizeof(KeptPair) * n));
  uint32 count = 0;
  if (wl != nullptr && wl->count != 0) {
    Cursor keys(&meta->root);
    Cursor values(&meta->root);
    values.skip(n);
    const AllowedKey* a = wl->keys;
    const AllowedKey* const a_end = a + wl->count;
    for (uint32 i = 0; i < n && a != a_end; i++) {
      const Child k = keys.next();
      const Child v = values.next();
      int cmp;
      while ((cmp = compare_keys(a->key, a->len, k.data, k.len)) < 0 && ++a != a_end) {
      }
      if (a == a_end) break;
      if (cmp == 0 && value_fits(a->kind, v)) kept[count++] = KeptPair{k, v};
    }
  }
  *dropped = static_cast<int32>(n - count);
  Jsonb* res = count == n ? meta : build_object(kept, count);
  if (kept != on_stack) pfree(kept);
  return res;
}

}  // namespace

extern "C" {

PG_FUNCTION_INFO_V1(tinv_filter_meta);
Datum tinv_filter_meta(PG_FUNCTION_ARGS) {
  Jsonb* meta = PG_ARGISNULL(0) ? nullptr : PG_GETARG_JSONB_P(0);
  Jsonb* allowed = PG_ARGISNULL(1) ? nullptr : PG_GETARG_JSONB_P(1);
  int32 dropped;
  PG_RETURN_JSONB_P(filter_meta_impl(meta, whitelist_for(fcinfo, call_cache(fcinfo), allowed), &dropped));
}

PG_FUNCTION_INFO_V1(tinv_filter_meta_counted);
Datum tinv_filter_meta_counted(PG_FUNCTION_ARGS) {
  Jsonb* meta = PG_ARGISNULL(0) ? nullptr : PG_GETARG_JSONB_P(0);
  Jsonb* allowed = PG_ARGISNULL(1) ? nullptr : PG_GETARG_JSONB_P(1);
  CallCache* cache = call_cache(fcinfo);
  const Whitelist* wl = whitelist_for(fcinfo, cache, allowed);
  TupleDesc desc = cache != nullptr ? cache->result_desc : nullptr;
  if (desc == nullptr) {
    MemoryContext old = cache != nullptr ? MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt) : CurrentMemoryContext;
    if (get_call_result_type(fcinfo, nullptr, &desc) != TYPEFUNC_COMPOSITE)
      ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                      errmsg("filter_meta_counted must be called in a context that accepts a record")));
    desc = BlessTupleDesc(desc);
    MemoryContextSwitchTo(old);
    if (cache != nullptr) cache->result_desc = desc;
  }
  int32 dropped;
  Datum values[2];
  bool nulls[2] = {false, false};
  values[0] = JsonbPGetDatum(filter_meta_impl(meta, wl, &dropped));
  values[1] = Int32GetDatum(dropped);
  HeapTuple tup = heap_form_tuple(desc, values, nulls);
  PG_RETURN_DATUM(HeapTupleGetDatum(tup));
}

}  // extern "C"
