// Lock keys and lock helpers of the sync run lifecycle. All of the
// extension's locks are defined here.
//
// 1. Run lock: session-level advisory lock in PostgreSQL's bigint key space
//    (pg_locks: locktype 'advisory', objsubid 1), key =
//    inventory.sync_lock_key(tenant_id, selection_hash) = the first 8 bytes
//    (big endian, signed) of SHA-256("tenant_inventory/sync/<tenant uuid>/<selection hash>").
//    Held by the session that owns the running run of (tenant, selection);
//    operators can find it with
//      SELECT * FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 1
//        AND ((classid::bigint << 32) | objid::bigint) = inventory.sync_lock_key(...)
//    (classid/objid are the high/low 32 bits).
// 2. Policy type lock: transaction-level lock on (tenant, policy type) in the
//    extension's own advisory space (objsubid 3, classid/objid = the first 8
//    bytes of SHA-256("tenant_inventory/type/<tenant uuid>/<policy type>")).
//    apply_staged takes it SHARE for each type in a batch (sorted), and
//    complete_policy_type takes it EXCLUSIVE, so the absence bookkeeping of a
//    completed enumeration never races with items being written.
#include "pg_bridge.h"

extern "C" {
#include "miscadmin.h"
#include "storage/lock.h"
#include "utils/builtins.h"
#include "utils/uuid.h"
}

#include <cstdint>
#include <string>

#include "sha256.h"

namespace {

std::string uuid_text(const pg_uuid_t* u) {
  static const char* hex = "0123456789abcdef";
  std::string s;
  s.reserve(36);
  for (int i = 0; i < UUID_LEN; i++) {
    if (i == 4 || i == 6 || i == 8 || i == 10) s.push_back('-');
    s.push_back(hex[u->data[i] >> 4]);
    s.push_back(hex[u->data[i] & 0xF]);
  }
  return s;
}

int64_t key_of(const std::string& material) {
  tinv::Sha256Digest d = tinv::sha256(material);
  uint64_t k = 0;
  for (int i = 0; i < 8; i++) k = (k << 8) | d[static_cast<size_t>(i)];
  return static_cast<int64_t>(k);
}

constexpr uint16 kTypeLockSpace = 3;

}  // namespace

extern "C" {

PG_FUNCTION_INFO_V1(tinv_sync_lock_key);
Datum tinv_sync_lock_key(PG_FUNCTION_ARGS) {
  pg_uuid_t* tenant = PG_GETARG_UUID_P(0);
  text* hash = PG_GETARG_TEXT_PP(1);
  return tinv::pg::sql_entry([&]() -> Datum {
    std::string material = "tenant_inventory/sync/" + uuid_text(tenant) + "/" +
                           std::string(VARDATA_ANY(hash), VARSIZE_ANY_EXHDR(hash));
    return Int64GetDatum(key_of(material));
  });
}

// True when this session holds the run lock `key` (session level, exclusive).
PG_FUNCTION_INFO_V1(tinv_holds_sync_lock);
Datum tinv_holds_sync_lock(PG_FUNCTION_ARGS) {
  int64 key = PG_GETARG_INT64(0);
  LOCKTAG tag;
  SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, static_cast<uint32>(static_cast<uint64>(key) >> 32),
                       static_cast<uint32>(key), 1);
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
  LOCKTAG tag;
  SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, static_cast<uint32>(static_cast<uint64>(key) >> 32),
                       static_cast<uint32>(key), kTypeLockSpace);
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
