-- 0.1.0 -> 0.2.0, after the replaceable sources: the tenant grants of the
-- old table become role memberships (a row naming a role that no longer
-- exists is dropped: a grant belongs to a role, not to a name), and the
-- table's readers may read the view that replaces it.
DO $$
DECLARE
    v_grant record;
BEGIN
    FOR v_grant IN SELECT a.role, a.tenant_id FROM inventory.tenant_access_0_1_0 a
                    WHERE EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolname = a.role)
                    ORDER BY a.tenant_id, a.role LOOP
        PERFORM inventory.grant_tenant_access(v_grant.role, v_grant.tenant_id);
    END LOOP;
    FOR v_grant IN SELECT DISTINCT a.grantee::regrole::text AS grantee
                     FROM pg_catalog.pg_class c, pg_catalog.aclexplode(c.relacl) a
                    WHERE c.oid = 'inventory.tenant_access_0_1_0'::regclass AND a.privilege_type = 'SELECT'
                      AND a.grantee <> 0 AND a.grantee <> c.relowner LOOP
        EXECUTE pg_catalog.format('GRANT SELECT ON inventory.tenant_access TO %s', v_grant.grantee);
    END LOOP;
END
$$;
ALTER EXTENSION tenant_inventory DROP TABLE inventory.tenant_access_0_1_0;
DROP TABLE inventory.tenant_access_0_1_0;

-- Sync roles (those that may begin a run) may read the manifest and report
-- verifications, as grant_sync_role now gives.
DO $$
DECLARE
    v_grantee text;
BEGIN
    FOR v_grantee IN SELECT DISTINCT a.grantee::regrole::text
                       FROM pg_catalog.pg_proc p, pg_catalog.aclexplode(p.proacl) a
                      WHERE p.oid = 'inventory.begin_sync_run(uuid, jsonb, uuid)'::regprocedure
                        AND a.privilege_type = 'EXECUTE' AND a.grantee <> 0 AND a.grantee <> p.proowner LOOP
        EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION inventory.sync_manifest(bigint), '
                                  'inventory.fingerprint_salt(), inventory.limits(), '
                                  'inventory.absence_candidates(bigint, text), '
                                  'inventory.record_verifications(bigint, text, text[], integer[]) TO %s', v_grantee);
    END LOOP;
END
$$;

-- Readers (those that may read missing_items) may read the history, the
-- freshness view and the trust settings, as grant_reader_role now gives.
DO $$
DECLARE
    v_grantee text;
BEGIN
    FOR v_grantee IN SELECT DISTINCT a.grantee::regrole::text
                       FROM pg_catalog.pg_class c, pg_catalog.aclexplode(c.relacl) a
                      WHERE c.oid = 'inventory.missing_items'::regclass AND a.privilege_type = 'SELECT'
                        AND a.grantee <> 0 AND a.grantee <> c.relowner LOOP
        EXECUTE pg_catalog.format('GRANT SELECT ON inventory.item_history, inventory.tenant_changes, '
                                  'inventory.stale_inventory, inventory.item_changes, inventory.item_verifications, '
                                  'inventory.trust_settings TO %s', v_grantee);
        EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION inventory.trust_settings_for(uuid, text) TO %s',
                                  v_grantee);
    END LOOP;
END
$$;

-- The history starts with what the item rows know: each item's first
-- observation (new), its last content change (changed, old values unknown)
-- and its absence (gone). latest_run_changes shows the same as before.
INSERT INTO inventory.item_changes
       (tenant_id, run_id, policy_type, external_id, item_id, changed_at, change,
        new_display_name, new_content_hash)
SELECT i.tenant_id, i.first_seen_run_id, i.policy_type, i.external_id, i.id, i.first_seen_at, 'new',
       CASE WHEN i.content_changed_run_id = i.first_seen_run_id THEN i.display_name END,
       CASE WHEN i.content_changed_run_id = i.first_seen_run_id THEN i.content_hash END
  FROM inventory.item_state i
 ORDER BY i.tenant_id, i.first_seen_at, i.id;
INSERT INTO inventory.item_changes
       (tenant_id, run_id, policy_type, external_id, item_id, changed_at, change,
        new_display_name, new_content_hash)
SELECT i.tenant_id, i.content_changed_run_id, i.policy_type, i.external_id, i.id, i.content_changed_at, 'changed',
       i.display_name, i.content_hash
  FROM inventory.item_state i
 WHERE i.content_changed_run_id <> i.first_seen_run_id
 ORDER BY i.tenant_id, i.content_changed_at, i.id;
INSERT INTO inventory.item_changes
       (tenant_id, run_id, policy_type, external_id, item_id, changed_at, change,
        old_display_name, old_content_hash)
SELECT i.tenant_id, i.absent_since_run_id, i.policy_type, i.external_id, i.id,
       coalesce(r.finished_at, i.seen_at), 'gone', i.display_name, i.content_hash
  FROM inventory.item_state i
  LEFT JOIN inventory.inventory_sync_runs r ON r.tenant_id = i.tenant_id AND r.id = i.absent_since_run_id
 WHERE i.absent_since_run_id IS NOT NULL
 ORDER BY i.tenant_id, i.absent_since_run_id, i.id;
