--------------------------------------------------------------------------------
-- C++ functions: canonical JSON, hashing, meta whitelist, redaction, lock keys
--------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION inventory.canonical_json(doc jsonb) RETURNS text
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'tinv_canonical_json';
COMMENT ON FUNCTION inventory.canonical_json(jsonb) IS
'Canonical text of a JSON document: RFC 8785 (JCS) with arrays treated as sets (sorted by canonical text, duplicates removed). Numbers outside the double range raise SQLSTATE 22003.';

CREATE OR REPLACE FUNCTION inventory.selection_hash(selection jsonb) RETURNS text
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'tinv_selection_hash';
COMMENT ON FUNCTION inventory.selection_hash(jsonb) IS
'Lowercase hex SHA-256 of inventory.canonical_json(selection): equal for selections that differ only in key order, whitespace, array order or duplicates.';

CREATE OR REPLACE FUNCTION inventory.filter_meta(meta jsonb, allowed jsonb) RETURNS jsonb
    LANGUAGE c IMMUTABLE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'tinv_filter_meta';
COMMENT ON FUNCTION inventory.filter_meta(jsonb, jsonb) IS
'Keeps the keys of meta that allowed (key -> kind: string, number, boolean, string_array, timestamp) lists and whose values have that kind and fit its limits. Never raises: NULL or a non-object gives {}.';

CREATE OR REPLACE FUNCTION inventory.filter_meta_counted(meta jsonb, allowed jsonb, OUT meta jsonb, OUT dropped integer)
    LANGUAGE c IMMUTABLE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'tinv_filter_meta_counted';
COMMENT ON FUNCTION inventory.filter_meta_counted(jsonb, jsonb) IS
'inventory.filter_meta(meta, allowed) together with the number of top-level keys it dropped (a non-object meta counts as one).';

CREATE OR REPLACE FUNCTION inventory.redact_secrets(message text) RETURNS text
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'tinv_redact_secrets';
COMMENT ON FUNCTION inventory.redact_secrets(text) IS
'Masks secrets in a text: Authorization headers, bearer tokens, JWTs, client_secret/client_assertion/access_token/password/sig values (form, query and JSON forms), Entra client-secret shapes, URL user info and paging tokens.';

CREATE OR REPLACE FUNCTION inventory.sync_lock_key(tenant_id uuid, selection_hash text) RETURNS bigint
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'tinv_sync_lock_key';
COMMENT ON FUNCTION inventory.sync_lock_key(uuid, text) IS
'Key of the run lock of (tenant, selection hash), held by the session that owns its running run. It lives in the extension''s own lock space, which pg_advisory_lock() cannot reach. In pg_locks: locktype advisory, objsubid 29801, (classid << 32) | objid = key.';

CREATE OR REPLACE FUNCTION inventory._lock_policy_type(tenant_id uuid, policy_type text, exclusive boolean) RETURNS void
    LANGUAGE c VOLATILE STRICT PARALLEL RESTRICTED
    AS 'MODULE_PATHNAME', 'tinv_lock_policy_type';
COMMENT ON FUNCTION inventory._lock_policy_type(uuid, text, boolean) IS
'Internal: transaction-level lock on (tenant, policy type), SHARE for writers of items, EXCLUSIVE for the completion of an enumeration (advisory lock in the extension''s own space, objsubid 29802).';

CREATE OR REPLACE FUNCTION inventory._outer_user() RETURNS name
    LANGUAGE c STABLE PARALLEL RESTRICTED
    AS 'MODULE_PATHNAME', 'tinv_outer_user';
COMMENT ON FUNCTION inventory._outer_user() IS
'Internal: the role that called into the extension (current_user outside any SECURITY DEFINER function).';


-- Run ownership, staging integrity and tenant access (extension/session.cpp).
-- The state they keep lives in the session's backend memory; only code
-- running as the extension owner can change it.

CREATE OR REPLACE FUNCTION inventory._run_lock(tenant_id uuid, selection_hash text, take boolean) RETURNS boolean
    LANGUAGE c VOLATILE STRICT PARALLEL RESTRICTED
    AS 'MODULE_PATHNAME', 'tinv_run_lock';
COMMENT ON FUNCTION inventory._run_lock(uuid, text, boolean) IS
'Internal: whether this session holds the run lock of (tenant, selection hash); with take, takes it without waiting (false when another session holds it). A lock taken by a transaction that rolls back, or for a run the transaction does not keep, is released at its end.';

CREATE OR REPLACE FUNCTION inventory._bind_run(run_id bigint, tenant_id uuid, selection_hash text) RETURNS void
    LANGUAGE c VOLATILE STRICT PARALLEL UNSAFE
    AS 'MODULE_PATHNAME', 'tinv_bind_run';
COMMENT ON FUNCTION inventory._bind_run(bigint, uuid, text) IS
'Internal: makes the run this session''s run (needs its run lock) and pins the session''s staging tables by OID.';

CREATE OR REPLACE FUNCTION inventory._unbind_run(run_id bigint) RETURNS void
    LANGUAGE c VOLATILE STRICT PARALLEL UNSAFE
    AS 'MODULE_PATHNAME', 'tinv_unbind_run';
COMMENT ON FUNCTION inventory._unbind_run(bigint) IS
'Internal: the session no longer owns the run; its run lock is released when the transaction commits.';

CREATE OR REPLACE FUNCTION inventory._session_run_id() RETURNS bigint
    LANGUAGE c VOLATILE PARALLEL RESTRICTED
    AS 'MODULE_PATHNAME', 'tinv_session_run_id';
COMMENT ON FUNCTION inventory._session_run_id() IS
'Internal: the run this session owns (NULL when none).';

CREATE OR REPLACE FUNCTION inventory._session_tenant() RETURNS uuid
    LANGUAGE c VOLATILE PARALLEL RESTRICTED
    AS 'MODULE_PATHNAME', 'tinv_session_tenant';
COMMENT ON FUNCTION inventory._session_tenant() IS
'Internal: the tenant of the run this session owns (NULL when none).';

CREATE OR REPLACE FUNCTION inventory._staging_intact() RETURNS boolean
    LANGUAGE c VOLATILE PARALLEL RESTRICTED
    AS 'MODULE_PATHNAME', 'tinv_staging_intact';
COMMENT ON FUNCTION inventory._staging_intact() IS
'Internal: whether the session''s staging tables are still the ones begin_sync_run created (same OIDs, owner, no triggers, rules, policies, checks or indexes).';

CREATE OR REPLACE FUNCTION inventory.tenant_role(tenant_id uuid) RETURNS name
    LANGUAGE c STABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'tinv_tenant_role';
COMMENT ON FUNCTION inventory.tenant_role(uuid) IS
'The role whose members may see (and, with the sync grants, sync) a tenant in this database: tinv_t_<tenant hex>_<database tag>. inventory.grant_tenant_access creates it and grants it.';

CREATE OR REPLACE FUNCTION inventory._may_sync(tenant_id uuid) RETURNS boolean
    LANGUAGE c STABLE STRICT PARALLEL RESTRICTED
    AS 'MODULE_PATHNAME', 'tinv_may_sync';
COMMENT ON FUNCTION inventory._may_sync(uuid) IS
'Internal: whether the role that called into the extension (outside any SECURITY DEFINER function) may act on the tenant: superusers, members of the extension owner, members of the tenant''s role.';

CREATE OR REPLACE FUNCTION inventory.tenant_visible(tenant_id uuid) RETURNS boolean
    LANGUAGE c STABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'tinv_tenant_visible';
COMMENT ON FUNCTION inventory.tenant_visible(uuid) IS
'Whether current_user may see the tenant''s rows (the row-level security check): superusers, members of the extension owner, members of inventory.tenant_role(tenant). Reads only the role catalogs. Executable by everyone: it tells a role only about its own grants.';
