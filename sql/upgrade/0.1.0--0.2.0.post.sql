-- 0.1.0 -> 0.2.0, after the replaceable sources: readers of the old
-- tenant_access table may read the view that replaces it (which asks
-- inventory.tenant_role, as grant_reader_role now grants).
DO $$
DECLARE
    v_readers text := pg_catalog.current_setting('tenant_inventory.upgrade_readers', true);
BEGIN
    IF coalesce(v_readers, '') <> '' THEN
        EXECUTE 'GRANT SELECT ON inventory.tenant_access TO ' || v_readers;
        EXECUTE 'GRANT EXECUTE ON FUNCTION inventory.tenant_role(uuid) TO ' || v_readers;
    END IF;
END
$$;
