// Lock keys and lock helpers of the sync run lifecycle. All of the
// extension's locks are defined here.
//
// 1. Run lock: a session-level lock held by the session that owns the running
//    run of (tenant, selection). It lives in the extension's own advisory lock
//    space (pg_locks: locktype 'advisory', objsubid 29801), which no SQL
//    function reaches: pg_advisory_lock() and friends take objsubid 1 or 2
//    only, so no role can take, hold or wait for a run lock except through
//    begin_sync_run. Key = inventory.sync_lock_key(tenant_id, selection_hash)
//    = the first 8 bytes (big endian, signed) of
//    SHA-256("tenant_inventory/sync/<tenant uuid>/<selection hash>"); in
//    pg_locks classid/objid are its high/low 32 bits:
//      SELECT * FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 29801
//        AND ((classid::bigint << 32) | objid::bigint) = inventory.sync_lock_key(...)
// 2. Policy type lock: transaction-level lock on (tenant, policy type)
//    (objsubid 29802, classid/objid = the first 8 bytes of
//    SHA-256("tenant_inventory/type/<tenant uuid>/<policy type>")).
//    apply_staged takes it SHARE for each type in a batch (sorted), and
//    complete_policy_type takes it EXCLUSIVE, so the absence bookkeeping of a
//    completed enumeration never races with items being written.
#include "pg_bridge.h"
#include "locks.h"

extern "C" {
#include "miscadmin.h"
#include "utils/builtins.h"
}

#include <cstdint>
#include <string>

#include "sha256.h"

namespace tinv::locks {

void uuid_hex32(const pg_uuid_t* u, char out[33]) {
  static const char* hex = "0123456789abcdef";
  for (int i = 0; i < UUID_LEN; i++) {
    out[2 * i] = hex[u->data[i] >> 4];
    out[2 * i + 1] = hex[u->data[i] & 0xF];
  }
  out[32] = '\0';
}

}  // namespace tinv::locks

namespace {

std::string uuid_text(const pg_uuid_t* u) {
  char hex[33];
  tinv::locks::uuid_hex32(u, hex);
  std::string s;
  s.reserve(36);
  for (int i = 0; i < 32; i++) {
    if (i == 8 || i == 12 || i == 16 || i == 20) s.push_back('-');
    s.push_back(hex[i]);
  }
  return s;
}

int64_t key_of(const std::string& material) {
  tinv::Sha256Digest d = tinv::sha256(material);
  uint64_t k = 0;
  for (int i = 0; i < 8; i++) k = (k << 8) | d[static_cast<size_t>(i)];
  return static_cast<int64_t>(k);
}

int64_t run_key(const pg_uuid_t* tenant, const char* hash, size_t hash_len) {
  return key_of("tenant_inventory/sync/" + uuid_text(tenant) + "/" + std::string(hash, hash_len));
}

LOCKTAG tag_of(int64 key, uint16 space) {
  LOCKTAG tag;
  SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, static_cast<uint32>(static_cast<uint64>(key) >> 32),
                       static_cast<uint32>(key), space);
  return tag;
}

}  // namespace

namespace tinv::locks {

LOCKTAG run_lock_tag(const pg_uuid_t* tenant, const char* hash, size_t hash_len) {
  return tag_of(run_key(tenant, hash, hash_len), kRunLockSpace);
}

}  // namespace tinv::locks

extern "C" {

PG_FUNCTION_INFO_V1(tinv_sync_lock_key);
Datum tinv_sync_lock_key(PG_FUNCTION_ARGS) {
  pg_uuid_t* tenant = PG_GETARG_UUID_P(0);
  text* hash = PG_GETARG_TEXT_PP(1);
  return tinv::pg::sql_entry([&]() -> Datum {
    return Int64GetDatum(run_key(tenant, VARDATA_ANY(hash), VARSIZE_ANY_EXHDR(hash)));
  });
}

// Version 0.1.0's _holds_sync_lock(bigint): true when this session holds the
// run lock `key`. Kept so that a database still at 0.1.0 loads this library;
// 0.2.0 asks inventory._run_lock() instead.
PG_FUNCTION_INFO_V1(tinv_holds_sync_lock);
Datum tinv_holds_sync_lock(PG_FUNCTION_ARGS) {
  LOCKTAG tag = tag_of(PG_GETARG_INT64(0), 1);
  PG_RETURN_BOOL(LockHeldByMe(&tag, ExclusiveLock));
}

// Takes the transaction-level policy type lock (SHARE or EXCLUSIVE).
PG_FUNCTION_INFO_V1(tinv_lock_policy_type);
Datum tinv_lock_policy_type(PG_FUNCTION_ARGS) {
  pg_uuid_t* tenant = PG_GETARG_UUID_P(0);
  text* type = PG_GETARG_TEXT_PP(1);
  bool exclusive = PG_GETARG_BOOL(2);
  int64 key = 0;
  Datum ignored = tinv::pg::sql_entry([&]() -> Datum {
    std::string material = "tenant_inventory/type/" + uuid_text(tenant) + "/" +
                           std::string(VARDATA_ANY(type), VARSIZE_ANY_EXHDR(type));
    key = key_of(material);
    return (Datum)0;
  });
  (void)ignored;
  LOCKTAG tag = tag_of(key, tinv::locks::kTypeLockSpace);
  (void)LockAcquire(&tag, exclusive ? ExclusiveLock : ShareLock, false, false);
  PG_RETURN_VOID();
}

// The role that called into the extension from outside any SECURITY DEFINER
// function (current_user as the caller sees it).
PG_FUNCTION_INFO_V1(tinv_outer_user);
Datum tinv_outer_user(PG_FUNCTION_ARGS) {
  Oid role = GetOuterUserId();
  PG_RETURN_DATUM(DirectFunctionCall1(namein, CStringGetDatum(GetUserNameFromId(role, false))));
}

}  // extern "C"
