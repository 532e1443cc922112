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
-- tenant's role (0.1.0--0.2.0.post.sql, with the new grant_tenant_access):
-- the old table steps aside until then.
ALTER TABLE inventory.tenant_access RENAME TO tenant_access_0_1_0;
ALTER TABLE inventory.tenant_access_0_1_0 DISABLE ROW LEVEL SECURITY;
DROP POLICY tenant_access_own ON inventory.tenant_access_0_1_0;

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

-- The manifest (docs/design.md §6): the fingerprint of the row an item was
-- last written from.
ALTER TABLE inventory.item_state ADD COLUMN row_fp text;
-- Room on every page for a changed row's new version (HOT updates); applies
-- to pages written from now on.
ALTER TABLE inventory.item_state SET (fillfactor = 90);
COMMENT ON COLUMN inventory.item_state.row_fp IS 'Fingerprint the client gave the staged row this row was last written from (NULL when it gave none); inventory.sync_manifest hands it back so that unchanged items can be staged as keys.';

-- Internal helpers whose arguments changed.
DROP FUNCTION inventory._staged_row_problem(text, text, text, text[], text[]);
DROP FUNCTION inventory._settle_policy_type(inventory.inventory_sync_runs, text, boolean);

-- History and trust: sql/src/history.sql (the same file as a fresh install)
-- follows this one.
