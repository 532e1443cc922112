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

-- Sync roles (those that may begin a run) may read the manifest, as
-- grant_sync_role now gives.
DO $$
DECLARE
    v_grantee text;
BEGIN
    FOR v_grantee IN SELECT DISTINCT a.grantee::regrole::text
                       FROM pg_catalog.pg_proc p, pg_catalog.aclexplode(p.proacl) a
                      WHERE p.oid = 'inventory.begin_sync_run(uuid, jsonb, uuid)'::regprocedure
                        AND a.privilege_type = 'EXECUTE' AND a.grantee <> 0 AND a.grantee <> p.proowner LOOP
        EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION inventory.sync_manifest(bigint), '
                                  'inventory.fingerprint_salt(), inventory.limits() TO %s', v_grantee);
    END LOOP;
END
$$;
