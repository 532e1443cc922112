-- The seed's guardrail: a sync never creates snapshots or backups; it writes
-- the inventory tables only, and a re-sync that finds nothing changed writes
-- no item row at all.

CREATE TABLE public.policy_snapshots (id serial PRIMARY KEY, body jsonb);
CREATE TABLE public.policy_backups (id serial PRIMARY KEY, body jsonb);
-- Rows the current transaction wrote (inserted or updated), per table, in
-- every non-temporary schema.
SET client_min_messages = error;  -- Citus warns that this object stays on the coordinator
CREATE FUNCTION pg_temp.written_here() RETURNS TABLE (relation text, rows_written bigint) LANGUAGE plpgsql AS $$
DECLARE r record; n bigint;
BEGIN
    FOR r IN SELECT c.oid::regclass AS rel FROM pg_class c JOIN pg_namespace ns ON ns.oid = c.relnamespace
              WHERE c.relkind = 'r' AND ns.nspname NOT IN ('pg_catalog', 'information_schema')
                AND ns.nspname NOT LIKE 'pg_temp%' AND ns.nspname NOT LIKE 'pg_toast%'
              ORDER BY c.oid::regclass::text LOOP
        EXECUTE format('SELECT count(*) FROM %s WHERE xmin = pg_current_xact_id()::xid', r.rel) INTO n;
        IF n > 0 THEN relation := r.rel::text; rows_written := n; RETURN NEXT; END IF;
    END LOOP;
END $$;
RESET client_min_messages;
\set t '00000000-0000-4000-8000-0000000000e1'
\set sel '{"policy_types": ["deviceConfiguration", "mobileApp"]}'

-- One whole sync in one transaction, then the tables it wrote.
BEGIN;
SELECT inventory.begin_sync_run(:'t', :'sel') AS r \gset
INSERT INTO pg_temp.staged_items
SELECT CASE WHEN i % 2 = 0 THEN 'deviceConfiguration' ELSE 'mobileApp' END, 'obj-' || i, 'Object ' || i,
       jsonb_build_object('platform', 'windows10', 'version', i::text), encode(sha256(('c' || i)::bytea), 'hex')
  FROM generate_series(1, 500) i;
CALL inventory.apply_staged(:r);
SELECT inventory.complete_policy_type(:r, 'deviceConfiguration', 'complete', 2, 250);
SELECT inventory.complete_policy_type(:r, 'mobileApp', 'complete', 2, 250);
SELECT inventory.finish_sync_run(:r, 'succeeded');
SELECT * FROM pg_temp.written_here();
COMMIT;
SELECT (SELECT count(*) FROM public.policy_snapshots) AS snapshots, (SELECT count(*) FROM public.policy_backups) AS backups;
SELECT count(*) AS snapshot_like_tables FROM pg_class
 WHERE relnamespace = 'inventory'::regnamespace AND relname ~ '(snapshot|backup)';

-- Re-sync of the same 500 objects: no item row written (only the run's own rows).
BEGIN;
SELECT inventory.begin_sync_run(:'t', :'sel') AS r \gset
INSERT INTO pg_temp.staged_items
SELECT CASE WHEN i % 2 = 0 THEN 'deviceConfiguration' ELSE 'mobileApp' END, 'obj-' || i, 'Object ' || i,
       jsonb_build_object('platform', 'windows10', 'version', i::text), encode(sha256(('c' || i)::bytea), 'hex')
  FROM generate_series(1, 500) i;
CALL inventory.apply_staged(:r);
SELECT inventory.complete_policy_type(:r, 'deviceConfiguration', 'complete', 2, 250);
SELECT inventory.complete_policy_type(:r, 'mobileApp', 'complete', 2, 250);
SELECT inventory.finish_sync_run(:r, 'succeeded');
SELECT * FROM pg_temp.written_here();
COMMIT;
SELECT count(*) AS items, count(*) FILTER (WHERE last_seen_run_id = :r) AS seen_by_resync FROM inventory.inventory_items WHERE tenant_id = :'t';
SELECT items_observed, items_created, items_updated, items_unchanged FROM inventory.inventory_sync_runs WHERE id = :r;

-- One object renamed, one gone: exactly two item rows written.
BEGIN;
SELECT inventory.begin_sync_run(:'t', :'sel') AS r \gset
INSERT INTO pg_temp.staged_items
SELECT CASE WHEN i % 2 = 0 THEN 'deviceConfiguration' ELSE 'mobileApp' END, 'obj-' || i,
       CASE WHEN i = 7 THEN 'Renamed' ELSE 'Object ' || i END,
       jsonb_build_object('platform', 'windows10', 'version', i::text), encode(sha256(('c' || i)::bytea), 'hex')
  FROM generate_series(1, 500) i WHERE i <> 8;
CALL inventory.apply_staged(:r);
SELECT inventory.complete_policy_type(:r, 'deviceConfiguration', 'complete', 2, 249);
SELECT inventory.complete_policy_type(:r, 'mobileApp', 'complete', 2, 250);
SELECT inventory.finish_sync_run(:r, 'succeeded');
SELECT * FROM pg_temp.written_here();
COMMIT;
SELECT external_id, display_name, confidence FROM inventory.missing_items WHERE tenant_id = :'t';
DROP TABLE public.policy_snapshots, public.policy_backups;
