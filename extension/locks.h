// The extension's lock tags (defined in locks.cpp, where every lock of the
// extension is described).
#pragma once

extern "C" {
#include "postgres.h"
#include "storage/lock.h"
#include "utils/uuid.h"
}

namespace tinv::locks {

// Lock spaces (the advisory lock tag's fourth field, objsubid in pg_locks).
// PostgreSQL's own pg_advisory_* functions use 1 and 2 only, so no SQL
// caller can take or wait on a lock in these spaces.
inline constexpr uint16 kRunLockSpace = 29801;
inline constexpr uint16 kTypeLockSpace = 29802;

// The run lock of (tenant, selection hash).
LOCKTAG run_lock_tag(const pg_uuid_t* tenant, const char* hash, size_t hash_len);

// 32 lower-case hex digits of a uuid (no dashes) into out[0..32] (NUL-terminated).
void uuid_hex32(const pg_uuid_t* u, char out[33]);

}  // namespace tinv::locks
