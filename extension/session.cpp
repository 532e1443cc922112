// Run ownership, staging integrity and tenant access: what the SECURITY
// DEFINER run lifecycle relies on to treat its caller as hostile.
//
//  - The run a session owns is kept here, in backend memory, not in a setting
//    a caller could set. Only code running as the extension owner (the
//    lifecycle functions) can claim, bind or release it.
//  - The run lock is a session-level lock in the extension's private lock
//    space (locks.h): a lock taken by a transaction that rolls back is
//    released, and a run released by finish_sync_run keeps its lock until
//    that transaction commits.
//  - The staging tables are created by begin_sync_run as the extension owner;
//    their OIDs are pinned here, and every lifecycle call checks that the
//    relations of those names in the session's temporary schema are still
//    exactly those (same OID, owner, no triggers, rules, policies, checks or
//    indexes), so no object the caller creates is ever read, written or
//    truncated by definer code.
//  - Tenant access is role membership: the tenant's role is
//    tinv_t_<tenant hex>_<database tag> (inventory.tenant_role()). A catalog
//    lookup answers it on any node (no table is read), and a grant follows
//    the role's OID: dropping a role drops its memberships.
#include "pg_bridge.h"
#include "locks.h"

extern "C" {
#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_namespace.h"
#include "commands/dbcommands.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"
}

#include <cstring>

#include "sha256.h"

namespace {

// ---------------------------------------------------------------------------
// Who may call the internal functions
// ---------------------------------------------------------------------------

Oid schema_owner() {
  Oid nsp = get_namespace_oid("inventory", false);
  HeapTuple tup = SearchSysCache1(NAMESPACEOID, ObjectIdGetDatum(nsp));
  if (!HeapTupleIsValid(tup)) elog(ERROR, "cache lookup failed for schema inventory");
  Oid owner = ((Form_pg_namespace)GETSTRUCT(tup))->nspowner;
  ReleaseSysCache(tup);
  return owner;
}

// The internal state may only be changed by code running as the extension
// owner (the SECURITY DEFINER lifecycle), never by a caller directly.
void require_owner_context(const char* what) {
  if (!has_privs_of_role(GetUserId(), schema_owner()))
    ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
                    errmsg("%s is internal to the inventory run lifecycle", what)));
}

// ---------------------------------------------------------------------------
// Session state
// ---------------------------------------------------------------------------

// staged_items and staged_keys are the caller's COPY targets; the other two
// are the run's private bookkeeping.
constexpr int kStaging = 4;
const char* const kStagingNames[kStaging] = {"staged_items", "staged_keys", "inventory_run_seen",
                                             "inventory_pending"};

struct Binding {
  int64 run_id = 0;  // 0: none
  pg_uuid_t tenant{};
  LOCKTAG tag{};
  Oid staging[kStaging] = {InvalidOid, InvalidOid, InvalidOid, InvalidOid};
  Oid staging_owner = InvalidOid;
};

Binding s_bound;  // the session's run

// Per transaction: what to undo on abort or finish on commit.
LOCKTAG* x_taken = nullptr;  // run locks taken by this transaction (TopMemoryContext)
int x_ntaken = 0;
int x_captaken = 0;
bool x_changed = false;      // s_bound changed in this transaction
Binding x_before;            // s_bound as it was at the first change
bool x_release = false;      // release x_release_tag at commit
LOCKTAG x_release_tag;
bool s_callback = false;

bool same_tag(const LOCKTAG& a, const LOCKTAG& b) { return std::memcmp(&a, &b, sizeof a) == 0; }

void release(const LOCKTAG& tag) {
  LOCKTAG t = tag;
  while (LockHeldByMe(&t, ExclusiveLock)) LockRelease(&t, ExclusiveLock, true);
}

void xact_callback(XactEvent event, void*) {
  switch (event) {
    case XACT_EVENT_COMMIT:
    case XACT_EVENT_PREPARE:
      // Locks this transaction took for runs it did not keep (a run bound
      // and finished, or a reaped run) go; the bound run's lock stays.
      for (int i = 0; i < x_ntaken; i++)
        if (s_bound.run_id == 0 || !same_tag(x_taken[i], s_bound.tag)) release(x_taken[i]);
      if (x_release && (s_bound.run_id == 0 || !same_tag(x_release_tag, s_bound.tag))) release(x_release_tag);
      break;
    case XACT_EVENT_ABORT:
      if (x_changed) s_bound = x_before;
      for (int i = 0; i < x_ntaken; i++)
        if (s_bound.run_id == 0 || !same_tag(x_taken[i], s_bound.tag)) release(x_taken[i]);
      break;
    default:
      return;
  }
  x_ntaken = 0;
  x_changed = false;
  x_release = false;
}

void ensure_callback() {
  if (!s_callback) {
    RegisterXactCallback(xact_callback, nullptr);
    s_callback = true;
  }
}

void remember_change() {
  ensure_callback();
  if (!x_changed) {
    x_before = s_bound;
    x_changed = true;
  }
}

LOCKTAG tag_from_args(FunctionCallInfo fcinfo) {
  pg_uuid_t* tenant = PG_GETARG_UUID_P(0);
  text* hash = PG_GETARG_TEXT_PP(1);
  return tinv::locks::run_lock_tag(tenant, VARDATA_ANY(hash), VARSIZE_ANY_EXHDR(hash));
}

Oid my_temp_relation(const char* name) {
  Oid nsp = LookupExplicitNamespace("pg_temp", true);
  if (!OidIsValid(nsp)) return InvalidOid;
  return get_relname_relid(name, nsp);
}

// The relation is a plain temporary table of this session owned by `owner`,
// with nothing attached that could run code or change what is written.
bool relation_is_clean(Oid rel, Oid owner) {
  HeapTuple tup = SearchSysCache1(RELOID, ObjectIdGetDatum(rel));
  if (!HeapTupleIsValid(tup)) return false;
  Form_pg_class c = (Form_pg_class)GETSTRUCT(tup);
  bool ok = c->relowner == owner && c->relkind == RELKIND_RELATION &&
            c->relpersistence == RELPERSISTENCE_TEMP && isTempNamespace(c->relnamespace) &&
            !c->relhastriggers && !c->relhasrules && !c->relrowsecurity && c->relchecks == 0 &&
            !c->relhasindex && !c->relhassubclass && !c->relispartition;
  ReleaseSysCache(tup);
  return ok;
}

// ---------------------------------------------------------------------------
// Tenant roles
// ---------------------------------------------------------------------------

// tinv_t_<32 hex of the tenant>_<8 hex of SHA-256(database name)>: 48 bytes.
// The database tag keeps grants of one database from reaching another of the
// same cluster; every node of a Citus cluster has the same database name.
void tenant_role_name(const pg_uuid_t* tenant, char out[NAMEDATALEN]) {
  char hex[33];
  tinv::locks::uuid_hex32(tenant, hex);
  const char* db = get_database_name(MyDatabaseId);
  tinv::Sha256Digest d = tinv::sha256(std::string_view(db, std::strlen(db)));
  static const char* digits = "0123456789abcdef";
  char tag[9];
  for (int i = 0; i < 4; i++) {
    tag[2 * i] = digits[d[static_cast<size_t>(i)] >> 4];
    tag[2 * i + 1] = digits[d[static_cast<size_t>(i)] & 0xF];
  }
  tag[8] = '\0';
  snprintf(out, NAMEDATALEN, "tinv_t_%s_%s", hex, tag);
}

Oid tenant_role_oid(const pg_uuid_t* tenant) {
  char name[NAMEDATALEN];
  tenant_role_name(tenant, name);
  return get_role_oid(name, true);
}

bool may_access(Oid who, const pg_uuid_t* tenant) {
  if (superuser_arg(who) || has_privs_of_role(who, schema_owner())) return true;
  Oid role = tenant_role_oid(tenant);
  return OidIsValid(role) && is_member_of_role(who, role);
}

// A small per-call-site cache for the row-level security check, which is
// evaluated once per row: rows come grouped by tenant.
struct VisibleCache {
  Oid user;
  int n;
  pg_uuid_t tenant[8];
  bool visible[8];
};

}  // namespace

extern "C" {

// inventory._run_lock(tenant, selection_hash, take boolean) RETURNS boolean
//   take = false: whether this session holds the run lock.
//   take = true: takes it without waiting; false when another session holds it.
PG_FUNCTION_INFO_V1(tinv_run_lock);
Datum tinv_run_lock(PG_FUNCTION_ARGS) {
  require_owner_context("inventory._run_lock()");
  LOCKTAG tag = tag_from_args(fcinfo);
  bool take = PG_GETARG_BOOL(2);
  if (LockHeldByMe(&tag, ExclusiveLock)) PG_RETURN_BOOL(true);
  if (!take) PG_RETURN_BOOL(false);
  ensure_callback();
  if (x_ntaken == x_captaken) {  // room first: once the lock is taken, nothing may fail
    int cap = x_captaken == 0 ? 16 : 2 * x_captaken;
    x_taken = static_cast<LOCKTAG*>(
        x_taken == nullptr ? MemoryContextAlloc(TopMemoryContext, sizeof(LOCKTAG) * static_cast<size_t>(cap))
                           : repalloc(x_taken, sizeof(LOCKTAG) * static_cast<size_t>(cap)));
    x_captaken = cap;
  }
  if (LockAcquire(&tag, ExclusiveLock, true, true) == LOCKACQUIRE_NOT_AVAIL) PG_RETURN_BOOL(false);
  x_taken[x_ntaken++] = tag;
  PG_RETURN_BOOL(true);
}

// inventory._bind_run(run_id, tenant, selection_hash): makes run_id the
// session's run and pins its staging tables (created just before, owned by
// the current role). Needs the run lock.
PG_FUNCTION_INFO_V1(tinv_bind_run);
Datum tinv_bind_run(PG_FUNCTION_ARGS) {
  require_owner_context("inventory._bind_run()");
  int64 run_id = PG_GETARG_INT64(0);
  pg_uuid_t* tenant = PG_GETARG_UUID_P(1);
  text* hash = PG_GETARG_TEXT_PP(2);
  Binding b;
  b.run_id = run_id;
  b.tenant = *tenant;
  b.tag = tinv::locks::run_lock_tag(tenant, VARDATA_ANY(hash), VARSIZE_ANY_EXHDR(hash));
  if (!LockHeldByMe(&b.tag, ExclusiveLock))
    ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                    errmsg("this session does not hold the run lock")));
  b.staging_owner = GetUserId();
  for (int i = 0; i < kStaging; i++) {
    b.staging[i] = my_temp_relation(kStagingNames[i]);
    if (!OidIsValid(b.staging[i]) || !relation_is_clean(b.staging[i], b.staging_owner))
      ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
                      errmsg("staging table pg_temp.%s is not the one begin_sync_run created", kStagingNames[i])));
  }
  remember_change();
  s_bound = b;
  PG_RETURN_VOID();
}

// inventory._unbind_run(run_id): the session no longer owns the run; its
// lock is released when the transaction commits.
PG_FUNCTION_INFO_V1(tinv_unbind_run);
Datum tinv_unbind_run(PG_FUNCTION_ARGS) {
  require_owner_context("inventory._unbind_run()");
  int64 run_id = PG_GETARG_INT64(0);
  if (s_bound.run_id != run_id) PG_RETURN_VOID();
  remember_change();
  x_release = true;
  x_release_tag = s_bound.tag;
  Binding none;
  none.staging_owner = s_bound.staging_owner;
  for (int i = 0; i < kStaging; i++) none.staging[i] = s_bound.staging[i];
  s_bound = none;
  PG_RETURN_VOID();
}

// inventory._session_run_id() / inventory._session_tenant(): the run this
// session owns (NULL when none).
PG_FUNCTION_INFO_V1(tinv_session_run_id);
Datum tinv_session_run_id(PG_FUNCTION_ARGS) {
  if (s_bound.run_id == 0) PG_RETURN_NULL();
  PG_RETURN_INT64(s_bound.run_id);
}

PG_FUNCTION_INFO_V1(tinv_session_tenant);
Datum tinv_session_tenant(PG_FUNCTION_ARGS) {
  if (s_bound.run_id == 0) PG_RETURN_NULL();
  pg_uuid_t* out = static_cast<pg_uuid_t*>(palloc(sizeof(pg_uuid_t)));
  *out = s_bound.tenant;
  PG_RETURN_UUID_P(out);
}

// inventory._staging_intact() RETURNS boolean: the session's staging tables
// are still the ones begin_sync_run created (same OIDs under the same names,
// same owner, nothing attached).
PG_FUNCTION_INFO_V1(tinv_staging_intact);
Datum tinv_staging_intact(PG_FUNCTION_ARGS) {
  if (!OidIsValid(s_bound.staging_owner)) PG_RETURN_BOOL(false);
  for (int i = 0; i < kStaging; i++) {
    Oid now = my_temp_relation(kStagingNames[i]);
    if (now != s_bound.staging[i] || !relation_is_clean(now, s_bound.staging_owner)) PG_RETURN_BOOL(false);
  }
  PG_RETURN_BOOL(true);
}

// inventory.tenant_role(tenant uuid) RETURNS name: the role whose members may
// see (and, with the sync grants, sync) the tenant in this database.
PG_FUNCTION_INFO_V1(tinv_tenant_role);
Datum tinv_tenant_role(PG_FUNCTION_ARGS) {
  char name[NAMEDATALEN];
  tenant_role_name(PG_GETARG_UUID_P(0), name);
  PG_RETURN_DATUM(DirectFunctionCall1(namein, CStringGetDatum(name)));
}

// inventory._may_sync(tenant uuid) RETURNS boolean: whether the role that
// called into the extension (outside any SECURITY DEFINER function) may act
// on the tenant: superusers, members of the extension owner, and members of
// the tenant's role.
PG_FUNCTION_INFO_V1(tinv_may_sync);
Datum tinv_may_sync(PG_FUNCTION_ARGS) {
  PG_RETURN_BOOL(may_access(GetOuterUserId(), PG_GETARG_UUID_P(0)));
}

// inventory.tenant_visible(tenant uuid) RETURNS boolean: whether current_user
// may see the tenant's rows (the row-level security policies). Reads only
// the role catalogs, so it answers on a Citus worker as on the coordinator.
PG_FUNCTION_INFO_V1(tinv_tenant_visible);
Datum tinv_tenant_visible(PG_FUNCTION_ARGS) {
  pg_uuid_t* tenant = PG_GETARG_UUID_P(0);
  Oid user = GetUserId();
  auto* cache = static_cast<VisibleCache*>(fcinfo->flinfo->fn_extra);
  if (cache == nullptr) {
    cache = static_cast<VisibleCache*>(MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(VisibleCache)));
    fcinfo->flinfo->fn_extra = cache;
  }
  if (cache->user != user) {
    cache->user = user;
    cache->n = 0;
  }
  for (int i = 0; i < cache->n; i++)
    if (std::memcmp(&cache->tenant[i], tenant, sizeof(pg_uuid_t)) == 0) PG_RETURN_BOOL(cache->visible[i]);
  bool visible = may_access(user, tenant);
  int slot = cache->n < 8 ? cache->n++ : 7;
  cache->tenant[slot] = *tenant;
  cache->visible[slot] = visible;
  PG_RETURN_BOOL(visible);
}

}  // extern "C"
