--------------------------------------------------------------------------------
-- Roles
--------------------------------------------------------------------------------

-- A tenant grant is membership in the tenant's role (inventory.tenant_role),
-- created here on first use: NOLOGIN, no privileges of its own. Run these as
-- a role that may create roles and grant them (a superuser, or the owner with
-- CREATEROLE).
CREATE OR REPLACE FUNCTION inventory.grant_tenant_access(role name, tenant_id uuid) RETURNS void
    LANGUAGE plpgsql
    SET search_path = inventory, pg_catalog, pg_temp
    AS $$
DECLARE
    v_role name := grant_tenant_access.role;
    v_tenant_role name;
BEGIN
    IF v_role IS NULL OR grant_tenant_access.tenant_id IS NULL THEN
        RAISE EXCEPTION 'role and tenant_id must not be null' USING ERRCODE = '22004';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolname = v_role) THEN
        RAISE EXCEPTION 'role "%" does not exist', v_role USING ERRCODE = '42704';
    END IF;
    v_tenant_role := inventory.tenant_role(grant_tenant_access.tenant_id);
    IF v_role = v_tenant_role THEN
        RAISE EXCEPTION 'role "%" is the tenant''s own role', v_role USING ERRCODE = '22023';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolname = v_tenant_role) THEN
        EXECUTE pg_catalog.format('CREATE ROLE %I NOLOGIN NOINHERIT', v_tenant_role);
        EXECUTE pg_catalog.format('COMMENT ON ROLE %I IS %L', v_tenant_role,
                                  pg_catalog.format('tenant_inventory: members may see tenant %s in database %s',
                                                    grant_tenant_access.tenant_id, pg_catalog.current_database()));
    END IF;
    IF NOT pg_catalog.pg_has_role(v_role, v_tenant_role, 'MEMBER') THEN
        EXECUTE pg_catalog.format('GRANT %I TO %I', v_tenant_role, v_role);
    END IF;
END
$$;
COMMENT ON FUNCTION inventory.grant_tenant_access(name, uuid) IS
'Lets a role (and its members) see a tenant''s inventory and, if it is a sync role, sync it: grants it the tenant''s role (inventory.tenant_role), created on first use. The grant belongs to the role itself: a dropped role''s grants go with it.';

CREATE OR REPLACE FUNCTION inventory.revoke_tenant_access(role name, tenant_id uuid) RETURNS boolean
    LANGUAGE plpgsql
    SET search_path = inventory, pg_catalog, pg_temp
    AS $$
DECLARE
    v_tenant_role name := inventory.tenant_role(revoke_tenant_access.tenant_id);
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_auth_members am
                     JOIN pg_catalog.pg_roles r ON r.oid = am.roleid
                     JOIN pg_catalog.pg_roles m ON m.oid = am.member
                    WHERE r.rolname = v_tenant_role AND m.rolname = revoke_tenant_access.role) THEN
        RETURN false;
    END IF;
    EXECUTE pg_catalog.format('REVOKE %I FROM %I', v_tenant_role, revoke_tenant_access.role);
    RETURN true;
END
$$;
COMMENT ON FUNCTION inventory.revoke_tenant_access(name, uuid) IS
'Removes a tenant grant (the role''s membership in the tenant''s role); returns whether one existed. A run the role has under way fails its next lifecycle call.';

CREATE OR REPLACE FUNCTION inventory.grant_sync_role(role name) RETURNS void
    LANGUAGE plpgsql
    SET search_path = inventory, pg_catalog, pg_temp
    AS $$
BEGIN
    EXECUTE format('GRANT USAGE ON SCHEMA inventory TO %I', role);
    EXECUTE format('GRANT SELECT ON inventory.policy_types TO %I', role);
    EXECUTE format('GRANT EXECUTE ON FUNCTION inventory.begin_sync_run(uuid, jsonb, uuid), '
                   'inventory.complete_policy_type(bigint, text, text, integer, integer, text), '
                   'inventory.finish_sync_run(bigint, text, jsonb), '
                   'inventory.canonical_json(jsonb), inventory.selection_hash(jsonb), '
                   'inventory.sync_lock_key(uuid, text), inventory.redact_secrets(text), '
                   'inventory.sync_manifest(bigint), inventory.fingerprint_salt(), inventory.limits(), '
                   'inventory.absence_candidates(bigint, text), '
                   'inventory.record_verifications(bigint, text, text[], integer[]) TO %I', role);
    EXECUTE format('GRANT EXECUTE ON PROCEDURE inventory.apply_staged(bigint) TO %I', role);
END
$$;
COMMENT ON FUNCTION inventory.grant_sync_role(name) IS
'Gives a role what inventory-fetch needs and nothing more: EXECUTE on the run lifecycle, manifest, verification and hashing functions and SELECT on the policy type registry. INSERT on its session''s staging tables comes with begin_sync_run. Grant it tenants with grant_tenant_access.';

CREATE OR REPLACE FUNCTION inventory.grant_reader_role(role name) RETURNS void
    LANGUAGE plpgsql
    SET search_path = inventory, pg_catalog, pg_temp
    AS $$
BEGIN
    EXECUTE format('GRANT USAGE ON SCHEMA inventory TO %I', role);
    EXECUTE format('GRANT SELECT ON inventory.inventory_items, inventory.missing_items, '
                   'inventory.latest_sync_runs, inventory.tenant_sync_health, '
                   'inventory.item_counts, inventory.latest_run_changes, '
                   'inventory.item_state, inventory.type_watermarks, '
                   'inventory.inventory_sync_runs, inventory.inventory_sync_run_types, '
                   'inventory.policy_types, inventory.meta_keys, inventory.tenant_access, '
                   'inventory.item_history, inventory.tenant_changes, inventory.stale_inventory, '
                   'inventory.item_changes, inventory.item_verifications, inventory.trust_settings TO %I', role);
    EXECUTE format('GRANT EXECUTE ON FUNCTION inventory.missing_items(uuid, jsonb), '
                   'inventory.trust_settings_for(uuid, text), '
                   'inventory.visible_tenants(), '
                   'inventory.canonical_json(jsonb), inventory.selection_hash(jsonb), '
                   'inventory.filter_meta(jsonb), inventory.filter_meta(jsonb, jsonb) TO %I', role);
END
$$;
COMMENT ON FUNCTION inventory.grant_reader_role(name) IS
'Gives a role read access to the inventory views and tables; row-level security limits it to the tenants granted with grant_tenant_access.';
