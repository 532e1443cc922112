// inventory.filter_meta(meta, allowed) and inventory.filter_meta_counted(...).
//
// Keeps the whitelisted keys of `meta` whose values have the declared kind and
// fit the limits (core/meta_rules.h); drops everything else and never raises
// for any jsonb input. When nothing is dropped the input datum is returned as
// is, without copying.
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

#include <string_view>

#include "meta_rules.h"

namespace {

std::string_view sv(const JsonbValue& v) {
  return std::string_view(v.val.string.val, static_cast<size_t>(v.val.string.len));
}

bool string_array_ok(const JsonbValue& v) {
  if (v.type != jbvBinary) return false;
  JsonbContainer* c = v.val.binary.data;
  if (!JsonContainerIsArray(c) || JsonContainerIsScalar(c)) return false;
  uint32 n = JsonContainerSize(c);
  if (n > tinv::kMetaArrayMaxItems) return false;
  for (uint32 i = 0; i < n; i++) {
    JsonbValue* e = getIthJsonbValueFromContainer(c, i);
    bool ok = e != nullptr && e->type == jbvString && tinv::utf8_length(sv(*e)) <= tinv::kMetaArrayItemMaxChars;
    if (e != nullptr) pfree(e);
    if (!ok) return false;
  }
  return true;
}

bool value_fits(tinv::MetaKind kind, const JsonbValue& v) {
  switch (kind) {
    case tinv::MetaKind::String:
      return v.type == jbvString && tinv::utf8_length(sv(v)) <= tinv::kMetaStringMaxChars;
    case tinv::MetaKind::Number:
      return v.type == jbvNumeric;
    case tinv::MetaKind::Boolean:
      return v.type == jbvBool;
    case tinv::MetaKind::Timestamp:
      return v.type == jbvString && tinv::is_iso8601_timestamp(sv(v));
    case tinv::MetaKind::StringArray:
      return string_array_ok(v);
    case tinv::MetaKind::Unknown:
      return false;
  }
  return false;
}

// Kind the whitelist gives `key`, or Unknown when the key is not listed.
tinv::MetaKind allowed_kind(Jsonb* allowed, const JsonbValue& key) {
  if (allowed == nullptr || !JB_ROOT_IS_OBJECT(allowed)) return tinv::MetaKind::Unknown;
  JsonbValue* kind = findJsonbValueFromContainer(&allowed->root, JB_FOBJECT, const_cast<JsonbValue*>(&key));
  if (kind == nullptr) return tinv::MetaKind::Unknown;
  tinv::MetaKind k = kind->type == jbvString ? tinv::parse_meta_kind(sv(*kind)) : tinv::MetaKind::Unknown;
  pfree(kind);
  return k;
}

Jsonb* empty_object() {
  JsonbParseState* st = nullptr;
  pushJsonbValue(&st, WJB_BEGIN_OBJECT, nullptr);
  JsonbValue* res = pushJsonbValue(&st, WJB_END_OBJECT, nullptr);
  return JsonbValueToJsonb(res);
}

// Filters `meta` (may be NULL) by `allowed` (may be NULL); *dropped receives
// the number of top-level keys removed (a non-object meta counts as one).
Jsonb* filter_meta_impl(Jsonb* meta, Jsonb* allowed, int32* dropped) {
  *dropped = 0;
  if (meta == nullptr) return empty_object();
  if (!JB_ROOT_IS_OBJECT(meta)) {
    *dropped = 1;
    return empty_object();
  }
  const uint32 n = JsonContainerSize(&meta->root);
  if (n == 0) return meta;

  // First pass: decide which keys stay (at most n flags).
  bool* keep = static_cast<bool*>(palloc(sizeof(bool) * n));
  JsonbIterator* it = JsonbIteratorInit(&meta->root);
  JsonbValue key, val;
  JsonbIteratorToken tok;
  uint32 idx = 0;
  int32 kept = 0;
  while ((tok = JsonbIteratorNext(&it, &key, true)) != WJB_DONE) {
    if (tok != WJB_KEY) continue;
    tok = JsonbIteratorNext(&it, &val, true);
    bool ok = value_fits(allowed_kind(allowed, key), val);
    keep[idx++] = ok;
    if (ok) kept++;
  }
  *dropped = static_cast<int32>(n) - kept;
  if (*dropped == 0) {
    pfree(keep);
    return meta;
  }

  // Second pass: build the object of the kept members.
  JsonbParseState* st = nullptr;
  pushJsonbValue(&st, WJB_BEGIN_OBJECT, nullptr);
  it = JsonbIteratorInit(&meta->root);
  idx = 0;
  while ((tok = JsonbIteratorNext(&it, &key, true)) != WJB_DONE) {
    if (tok != WJB_KEY) continue;
    tok = JsonbIteratorNext(&it, &val, true);
    if (keep[idx++]) {
      pushJsonbValue(&st, WJB_KEY, &key);
      pushJsonbValue(&st, WJB_VALUE, &val);
    }
  }
  JsonbValue* res = pushJsonbValue(&st, WJB_END_OBJECT, nullptr);
  pfree(keep);
  return JsonbValueToJsonb(res);
}

}  // namespace

extern "C" {

PG_FUNCTION_INFO_V1(tinv_filter_meta);
Datum tinv_filter_meta(PG_FUNCTION_ARGS) {
  Jsonb* meta = PG_ARGISNULL(0) ? nullptr : PG_GETARG_JSONB_P(0);
  Jsonb* allowed = PG_ARGISNULL(1) ? nullptr : PG_GETARG_JSONB_P(1);
  int32 dropped;
  PG_RETURN_JSONB_P(filter_meta_impl(meta, allowed, &dropped));
}

PG_FUNCTION_INFO_V1(tinv_filter_meta_counted);
Datum tinv_filter_meta_counted(PG_FUNCTION_ARGS) {
  Jsonb* meta = PG_ARGISNULL(0) ? nullptr : PG_GETARG_JSONB_P(0);
  Jsonb* allowed = PG_ARGISNULL(1) ? nullptr : PG_GETARG_JSONB_P(1);
  TupleDesc desc;
  if (get_call_result_type(fcinfo, nullptr, &desc) != TYPEFUNC_COMPOSITE)
    ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                    errmsg("filter_meta_counted must be called in a context that accepts a record")));
  desc = BlessTupleDesc(desc);
  int32 dropped;
  Datum values[2];
  bool nulls[2] = {false, false};
  values[0] = JsonbPGetDatum(filter_meta_impl(meta, allowed, &dropped));
  values[1] = Int32GetDatum(dropped);
  HeapTuple tup = heap_form_tuple(desc, values, nulls);
  PG_RETURN_DATUM(HeapTupleGetDatum(tup));
}

}  // extern "C"
