-- docs/design.md §8: row-level security by tenant, a least-privilege sync role, nothing
-- granted to PUBLIC, pinned search_path, staging that cannot be hijacked.

CREATE SCHEMA IF NOT EXISTS regress;
CREATE OR REPLACE FUNCTION regress.try(stmt text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE stmt;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END $$;
GRANT USAGE ON SCHEMA regress TO PUBLIC;
GRANT EXECUTE ON FUNCTION regress.try(text) TO PUBLIC;

\set ta '00000000-0000-4000-8000-0000000000c1'
\set tb '00000000-0000-4000-8000-0000000000c2'
\set sel '{"policy_types": ["deviceConfiguration"]}'

-- Nothing in the schema is granted to PUBLIC but the row-level security
-- check (it tells a role only about its own grants) and the shared rules and
-- limits: pure expressions over their arguments that read no table.
SELECT kind, name FROM (
    SELECT 'relation' AS kind, c.relname::text AS name FROM pg_class c, aclexplode(c.relacl) a WHERE c.relnamespace = 'inventory'::regnamespace AND a.grantee = 0
    UNION ALL
    SELECT 'function', p.oid::regprocedure::text FROM pg_proc p, aclexplode(p.proacl) a WHERE p.pronamespace = 'inventory'::regnamespace AND a.grantee = 0
    UNION ALL
    SELECT 'schema', n.nspname::text FROM pg_namespace n, aclexplode(n.nspacl) a WHERE n.oid = 'inventory'::regnamespace AND a.grantee = 0) g
 ORDER BY 1, 2;
SELECT count(*) AS functions_without_acl FROM pg_proc p
 WHERE p.pronamespace = 'inventory'::regnamespace AND p.proacl IS NULL;
-- Every SQL and PL/pgSQL function pins its search_path, except the shared
-- rules (sql/src/rules.sql, _staged_row_problem, _rejected_sample): expression
-- helpers that must stay inlinable (a SET clause prevents inlining), reference
-- built-ins and one another only, with schema-qualified names.
SELECT p.proname FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
 WHERE p.pronamespace = 'inventory'::regnamespace AND l.lanname IN ('sql', 'plpgsql')
   AND NOT coalesce(p.proconfig, '{}') @> ARRAY['search_path=inventory, pg_catalog, pg_temp']
 ORDER BY 1;
-- Only the lifecycle entry points run as the owner.
SELECT p.proname FROM pg_proc p WHERE p.pronamespace = 'inventory'::regnamespace AND p.prosecdef ORDER BY 1;

-- Roles: a sync role and two tenant readers.
CREATE ROLE regress_tinv_sync LOGIN;
CREATE ROLE regress_tinv_reader_a LOGIN;
CREATE ROLE regress_tinv_team_b NOLOGIN;
CREATE ROLE regress_tinv_reader_b LOGIN IN ROLE regress_tinv_team_b;
CREATE ROLE regress_tinv_nobody LOGIN;
SELECT inventory.grant_sync_role('regress_tinv_sync');
SELECT inventory.grant_reader_role('regress_tinv_reader_a');
SELECT inventory.grant_reader_role('regress_tinv_team_b');
SELECT inventory.grant_tenant_access('regress_tinv_sync', :'ta');
SELECT inventory.grant_tenant_access('regress_tinv_reader_a', :'ta');
SELECT inventory.grant_tenant_access('regress_tinv_team_b', :'tb');
SELECT regress.try($$SELECT inventory.grant_tenant_access('regress_tinv_no_such_role', '00000000-0000-4000-8000-0000000000c1')$$) AS unknown_role;

-- The sync role runs a whole sync of its tenant with nothing but EXECUTE
-- and the INSERT on staging that begin_sync_run gives it.
SET ROLE regress_tinv_sync;
SELECT inventory.begin_sync_run(:'ta', :'sel') AS run_a \gset
COPY pg_temp.staged_items (policy_type, external_id, display_name, meta_jsonb, content_hash) FROM stdin;
deviceConfiguration	a-1	Tenant A policy	{}	\N
\.
CALL inventory.apply_staged(:run_a);
SELECT inventory.complete_policy_type(:run_a, 'deviceConfiguration', 'complete', 1, 1);
SELECT inventory.finish_sync_run(:run_a, 'succeeded');
-- ... and nothing else.
SELECT regress.try(format('SELECT inventory.begin_sync_run(%L, %L)', :'tb', :'sel')) AS ungranted_tenant;
SELECT regress.try('SELECT count(*) FROM inventory.inventory_items') AS read_items,
       regress.try('SELECT count(*) FROM inventory.inventory_sync_runs') AS read_runs,
       regress.try($$INSERT INTO inventory.item_state (tenant_id, policy_type, external_id, first_seen_at, first_seen_run_id, seen_at, seen_run_id, content_changed_at, write_seq)
                    VALUES ('00000000-0000-4000-8000-0000000000c1', 'deviceConfiguration', 'forged', now(), 1, now(), 1, now(), 1)$$) AS write_items,
       regress.try('UPDATE inventory.inventory_sync_runs SET status = ''succeeded''') AS write_runs;
SELECT regress.try(format('SELECT inventory._apply_staged(r) FROM inventory.inventory_sync_runs r WHERE id = %s', :run_a)) AS internal_function,
       regress.try($$SELECT inventory.grant_tenant_access('regress_tinv_sync', '00000000-0000-4000-8000-0000000000c2')$$) AS self_grant,
       regress.try('SELECT inventory.reap_abandoned_runs()') AS reap;
SELECT count(*) AS registry_rows_visible FROM inventory.policy_types WHERE enabled;
RESET ROLE;

-- Data for tenant B, synced by the owner.
SELECT inventory.begin_sync_run(:'tb', :'sel') AS run_b \gset
COPY pg_temp.staged_items (policy_type, external_id, display_name, meta_jsonb, content_hash) FROM stdin;
deviceConfiguration	b-1	Tenant B policy	{}	\N
deviceConfiguration	b-2	Tenant B other	{}	\N
\.
SELECT inventory.complete_policy_type(:run_b, 'deviceConfiguration', 'complete', 1, 2);
SELECT inventory.finish_sync_run(:run_b, 'succeeded');
SELECT inventory.begin_sync_run(:'tb', :'sel') AS run_b2 \gset
SELECT inventory.complete_policy_type(:run_b2, 'deviceConfiguration', 'complete', 1, 0);
SELECT inventory.finish_sync_run(:run_b2, 'succeeded');

-- Readers see their tenants' rows only, through every table and view.
CREATE FUNCTION regress.visible() RETURNS TABLE (relation text, tenants text) LANGUAGE sql AS $$
    SELECT 'inventory_items', string_agg(DISTINCT right(tenant_id::text, 2), ',') FROM inventory.inventory_items
    UNION ALL SELECT 'item_state', string_agg(DISTINCT right(tenant_id::text, 2), ',') FROM inventory.item_state
    UNION ALL SELECT 'inventory_sync_runs', string_agg(DISTINCT right(tenant_id::text, 2), ',') FROM inventory.inventory_sync_runs
    UNION ALL SELECT 'inventory_sync_run_types', string_agg(DISTINCT right(tenant_id::text, 2), ',') FROM inventory.inventory_sync_run_types
    UNION ALL SELECT 'type_watermarks', string_agg(DISTINCT right(tenant_id::text, 2), ',') FROM inventory.type_watermarks
    UNION ALL SELECT 'latest_sync_runs', string_agg(DISTINCT right(tenant_id::text, 2), ',') FROM inventory.latest_sync_runs
    UNION ALL SELECT 'missing_items', string_agg(DISTINCT right(tenant_id::text, 2), ',') FROM inventory.missing_items
    UNION ALL SELECT 'tenant_sync_health', string_agg(DISTINCT right(tenant_id::text, 2), ',') FROM inventory.tenant_sync_health
    UNION ALL SELECT 'tenant_access', string_agg(DISTINCT right(tenant_id::text, 2), ',') FROM inventory.tenant_access
$$;
GRANT EXECUTE ON FUNCTION regress.visible() TO PUBLIC;
SET ROLE regress_tinv_reader_a;
SELECT * FROM regress.visible();
SELECT inventory.visible_tenants();
SELECT count(*) AS b_rows_by_id FROM inventory.inventory_items WHERE tenant_id = :'tb';
SELECT regress.try(format('SELECT inventory.begin_sync_run(%L, %L)', :'ta', :'sel')) AS reader_cannot_sync;
SELECT regress.try('DELETE FROM inventory.inventory_sync_runs') AS reader_cannot_delete;
RESET ROLE;
-- Membership counts: team B's grant reaches its member.
SET ROLE regress_tinv_reader_b;
SELECT * FROM regress.visible();
SELECT count(*) AS missing_for_b FROM inventory.missing_items(:'tb', :'sel');
RESET ROLE;
-- A role with no grant sees nothing and cannot read at all.
SET ROLE regress_tinv_nobody;
SELECT regress.try('SELECT count(*) FROM inventory.inventory_items') AS no_privileges;
RESET ROLE;
-- A reader set up by hand, without grant_reader_role (schema usage and
-- SELECT on every table and view), sees exactly its tenant everywhere.
CREATE ROLE regress_tinv_byhand LOGIN;
GRANT USAGE ON SCHEMA inventory TO regress_tinv_byhand;
GRANT SELECT ON ALL TABLES IN SCHEMA inventory TO regress_tinv_byhand;
SELECT inventory.grant_tenant_access('regress_tinv_byhand', :'tb');
SET ROLE regress_tinv_byhand;
SELECT * FROM regress.visible();
RESET ROLE;
-- The owner sees every tenant.
SELECT relation, tenants FROM regress.visible() WHERE relation IN ('inventory_items', 'inventory_sync_runs');

-- Staging cannot be hijacked: a table of the same name created by the
-- caller in its own temporary schema makes begin_sync_run refuse.
\c
SET ROLE regress_tinv_sync;
CREATE TEMP TABLE inventory_run_seen (policy_type text, item_id bigint);
SELECT regress.try(format('SELECT inventory.begin_sync_run(%L, %L)', :'ta', :'sel')) AS hijacked_staging;
DROP TABLE pg_temp.inventory_run_seen;
-- Objects in public or pg_temp named like the extension's functions change nothing.
RESET ROLE;
CREATE FUNCTION public.sync_lock_key(uuid, text) RETURNS bigint LANGUAGE sql AS 'SELECT 42::bigint';
CREATE FUNCTION public.canonical_json(jsonb) RETURNS text LANGUAGE sql AS 'SELECT ''{}''::text';
CREATE FUNCTION public._owned_run(bigint) RETURNS inventory.inventory_sync_runs LANGUAGE sql AS 'SELECT NULL::inventory.inventory_sync_runs';
GRANT EXECUTE ON FUNCTION public.sync_lock_key(uuid, text), public.canonical_json(jsonb), public._owned_run(bigint) TO PUBLIC;
SET ROLE regress_tinv_sync;
SET search_path = public, pg_temp;
SELECT inventory.begin_sync_run(:'ta', :'sel') AS run_h \gset
SELECT count(*) AS lock_under_real_key FROM pg_locks
 WHERE locktype = 'advisory' AND pid = pg_backend_pid()
   AND ((classid::bigint << 32) | objid::bigint) = inventory.sync_lock_key(:'ta', inventory.selection_hash(:'sel'));
SELECT inventory.finish_sync_run(:run_h, 'failed', '[{"code": "cancelled"}]');
RESET search_path;
RESET ROLE;
SELECT selection_payload FROM inventory.inventory_sync_runs WHERE id = :run_h;
DROP FUNCTION public.sync_lock_key(uuid, text), public.canonical_json(jsonb), public._owned_run(bigint);

-- Clean up the roles.
SELECT count(*) AS revoked FROM inventory.tenant_access a
 WHERE a.role LIKE 'regress_tinv_%' AND inventory.revoke_tenant_access(a.role, a.tenant_id);
DO $$
BEGIN
    EXECUTE format('DROP ROLE %I, %I', inventory.tenant_role('00000000-0000-4000-8000-0000000000c1'),
                   inventory.tenant_role('00000000-0000-4000-8000-0000000000c2'));
END
$$;
DROP OWNED BY regress_tinv_sync, regress_tinv_reader_a, regress_tinv_team_b, regress_tinv_reader_b, regress_tinv_nobody, regress_tinv_byhand;
DROP ROLE regress_tinv_sync, regress_tinv_reader_a, regress_tinv_reader_b, regress_tinv_team_b, regress_tinv_nobody, regress_tinv_byhand;
