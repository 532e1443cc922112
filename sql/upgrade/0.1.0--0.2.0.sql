--------------------------------------------------------------------------------
-- 0.1.0 -> 0.2.0: what the replaceable sources (functions, access, views,
-- lifecycle, grants, privileges) cannot do themselves. Runs after the C
-- functions are (re)declared and before the rest.
--------------------------------------------------------------------------------

-- Runs under way keep their 0.1.0 ownership (a setting and a lock in the
-- public advisory space) which 0.2.0 no longer honours: refuse to update
-- while any is running, so that none is silently abandoned.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM inventory.inventory_sync_runs WHERE status = 'running'
                AND owner_pid IN (SELECT pid FROM pg_catalog.pg_stat_activity)) THEN
        RAISE EXCEPTION 'sync runs are in progress'
            USING ERRCODE = '55006',
                  HINT = 'Update when no inventory-fetch is running (SELECT * FROM inventory.inventory_sync_runs WHERE status = ''running'').';
    END IF;
END
$$;

-- Tenant grants move from rows keyed by role name to membership in the
-- tenant's role: a grant now belongs to the role, not to whoever carries its
-- name later. Rows naming a role that no longer exists are dropped.
DO $$
DECLARE
    v_grant record;
    v_tenant_role name;
BEGIN
    FOR v_grant IN SELECT a.role, a.tenant_id FROM inventory.tenant_access a
                    WHERE EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolname = a.role)
                    ORDER BY a.tenant_id, a.role LOOP
        v_tenant_role := inventory.tenant_role(v_grant.tenant_id);
        IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolname = v_tenant_role) THEN
            EXECUTE pg_catalog.format('CREATE ROLE %I NOLOGIN NOINHERIT', v_tenant_role);
        END IF;
        IF NOT pg_catalog.pg_has_role(v_grant.role, v_tenant_role, 'MEMBER') THEN
            EXECUTE pg_catalog.format('GRANT %I TO %I', v_tenant_role, v_grant.role);
        END IF;
    END LOOP;
END
$$;
-- The table's readers get the view of the same name (0.1.0--0.2.0.post.sql).
SELECT pg_catalog.set_config('tenant_inventory.upgrade_readers',
       coalesce((SELECT string_agg(pg_catalog.quote_ident(a.grantee::regrole::text), ',')
                   FROM pg_catalog.pg_class c, pg_catalog.aclexplode(c.relacl) a
                  WHERE c.oid = 'inventory.tenant_access'::regclass AND a.privilege_type = 'SELECT'
                    AND a.grantee <> 0 AND a.grantee <> c.relowner), ''), true);
ALTER EXTENSION tenant_inventory DROP TABLE inventory.tenant_access;
DROP TABLE inventory.tenant_access;

-- 0.1.0's ownership and access helpers.
DROP FUNCTION inventory._owned_run(bigint);
DROP FUNCTION inventory._run_lock_key(inventory.inventory_sync_runs);
DROP FUNCTION inventory._may_access_tenant(name, uuid);
DROP FUNCTION inventory._holds_sync_lock(bigint);
DROP FUNCTION inventory._is_member_of(name);
DROP POLICY IF EXISTS runs_by_tenant ON inventory.inventory_sync_runs;
DROP POLICY IF EXISTS run_types_by_tenant ON inventory.inventory_sync_run_types;
DROP POLICY IF EXISTS watermarks_by_tenant ON inventory.type_watermarks;
DROP POLICY IF EXISTS items_by_tenant ON inventory.item_state;
