--------------------------------------------------------------------------------
-- Tenant access and row-level security
--
-- A role may see a tenant when it is a member of the tenant's role,
-- inventory.tenant_role(tenant) (inventory.grant_tenant_access creates and
-- grants it); the owner and superusers see all. The check reads only the role
-- catalogs, never a table: it answers the same on a Citus worker, and a grant
-- follows the role itself (a dropped role's memberships go with it; a new role
-- of the same name starts with none).
--------------------------------------------------------------------------------

-- The tenant roles of this database: the one place that reads tenant ids out
-- of role names (inventory.tenant_role is the one place that makes them).
CREATE OR REPLACE FUNCTION inventory._tenant_roles(OUT tenant_id uuid, OUT role_oid oid, OUT role name)
    RETURNS SETOF record
    LANGUAGE sql STABLE PARALLEL SAFE
    SET search_path = inventory, pg_catalog, pg_temp
    AS $$
    SELECT t.tenant_id, r.oid, r.rolname
      FROM pg_catalog.pg_roles r
     CROSS JOIN LATERAL (SELECT CASE WHEN r.rolname ~ '^tinv_t_[0-9a-f]{32}_[0-9a-f]{8}$'
                                     THEN pg_catalog.substr(r.rolname, 8, 32)::uuid END AS tenant_id) t
     WHERE t.tenant_id IS NOT NULL
       AND inventory.tenant_role(t.tenant_id) = r.rolname
$$;
COMMENT ON FUNCTION inventory._tenant_roles() IS
'Internal: the tenant roles of this database (inventory.tenant_role) with their tenants.';

CREATE OR REPLACE VIEW inventory.tenant_access WITH (security_invoker = true) AS
SELECT m.rolname AS role,
       t.tenant_id,
       t.role AS tenant_role
  FROM inventory._tenant_roles() t
  JOIN pg_catalog.pg_auth_members am ON am.roleid = t.role_oid
  JOIN pg_catalog.pg_roles m ON m.oid = am.member
 WHERE pg_catalog.pg_has_role(m.oid, 'MEMBER');
COMMENT ON VIEW inventory.tenant_access IS
'Which roles are granted which tenants in this database (direct members of each tenant''s role; members of those roles inherit the grant), as far as they concern current_user: the grants of roles it is a member of (all, for superusers). Change it with inventory.grant_tenant_access and inventory.revoke_tenant_access.';
COMMENT ON COLUMN inventory.tenant_access.role IS 'Role granted the tenant (its members inherit it).';
COMMENT ON COLUMN inventory.tenant_access.tenant_id IS 'Entra tenant id.';
COMMENT ON COLUMN inventory.tenant_access.tenant_role IS 'The tenant''s role (inventory.tenant_role(tenant_id)).';

CREATE OR REPLACE FUNCTION inventory.visible_tenants() RETURNS uuid[]
    LANGUAGE sql STABLE PARALLEL SAFE
    SET search_path = inventory, pg_catalog, pg_temp
    AS $$
    SELECT coalesce(array_agg(DISTINCT t.tenant_id ORDER BY t.tenant_id), '{}')
      FROM inventory._tenant_roles() t
     WHERE pg_catalog.pg_has_role(t.role_oid, 'MEMBER')
$$;
COMMENT ON FUNCTION inventory.visible_tenants() IS
'Tenants granted to current_user (directly or through its roles) in this database. Owners and superusers see every tenant regardless.';

-- The policies call inventory.tenant_visible(tenant_id) (C, catalog only).
ALTER TABLE inventory.inventory_sync_runs ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS runs_by_tenant ON inventory.inventory_sync_runs;
CREATE POLICY runs_by_tenant ON inventory.inventory_sync_runs
    FOR SELECT USING (inventory.tenant_visible(tenant_id));

ALTER TABLE inventory.inventory_sync_run_types ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS run_types_by_tenant ON inventory.inventory_sync_run_types;
CREATE POLICY run_types_by_tenant ON inventory.inventory_sync_run_types
    FOR SELECT USING (inventory.tenant_visible(tenant_id));

ALTER TABLE inventory.type_watermarks ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS watermarks_by_tenant ON inventory.type_watermarks;
CREATE POLICY watermarks_by_tenant ON inventory.type_watermarks
    FOR SELECT USING (inventory.tenant_visible(tenant_id));

ALTER TABLE inventory.item_state ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS items_by_tenant ON inventory.item_state;
CREATE POLICY items_by_tenant ON inventory.item_state
    FOR SELECT USING (inventory.tenant_visible(tenant_id));

ALTER TABLE inventory.item_changes ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS changes_by_tenant ON inventory.item_changes;
CREATE POLICY changes_by_tenant ON inventory.item_changes
    FOR SELECT USING (inventory.tenant_visible(tenant_id));

ALTER TABLE inventory.item_verifications ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS verifications_by_tenant ON inventory.item_verifications;
CREATE POLICY verifications_by_tenant ON inventory.item_verifications
    FOR SELECT USING (inventory.tenant_visible(tenant_id));

-- Rows for all tenants (NULL) are everyone's; a tenant's rows its readers'.
ALTER TABLE inventory.trust_settings ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS settings_by_tenant ON inventory.trust_settings;
CREATE POLICY settings_by_tenant ON inventory.trust_settings
    FOR SELECT USING (tenant_id IS NULL OR inventory.tenant_visible(tenant_id));

-- Row-level security does not cover planner statistics: PostgreSQL uses them
-- for any leakproof operator (uuid, text and bigint '=' are), so a reader's
-- EXPLAIN would show how many rows another tenant has per policy type, how
-- many runs it had, or that a name or id exists elsewhere. No column of a
-- tenant table has statistics gathered; every query of the extension reaches
-- tenant rows through an index led by tenant_id and needs none. (A table's
-- total size, pg_class.reltuples, stays visible to everyone, as for any
-- table.)
DO $$
DECLARE
    v_col record;
BEGIN
    FOR v_col IN
        SELECT a.attrelid::regclass AS rel, a.attname
          FROM pg_catalog.pg_attribute a
         WHERE a.attrelid IN ('inventory.inventory_sync_runs'::regclass, 'inventory.inventory_sync_run_types'::regclass,
                              'inventory.type_watermarks'::regclass, 'inventory.item_state'::regclass,
                              'inventory.item_changes'::regclass, 'inventory.item_verifications'::regclass,
                              'inventory.trust_settings'::regclass)
           AND a.attnum > 0 AND NOT a.attisdropped AND a.attstattarget <> 0
    LOOP
        EXECUTE pg_catalog.format('ALTER TABLE %s ALTER COLUMN %I SET STATISTICS 0', v_col.rel, v_col.attname);
    END LOOP;
END
$$;
