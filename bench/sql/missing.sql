-- Row 5: inventory.missing_items(tenant, selection) for one tenant among
-- :tenants_large tenants, against the same tenant and query when the database
-- holds :tenants_small tenants. Every tenant is synced twice through the run
-- lifecycle; the second run does not list 2% of the items, so each tenant
-- has missing items. The measured tenant and its rows are the same in both.
-- Variables: tenants_small, tenants_large, items (per tenant), reps.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;

CREATE FUNCTION bench.tenant_uuid(k integer) RETURNS uuid
    LANGUAGE sql IMMUTABLE AS $$ SELECT ('00000000-0000-4000-8000-' || lpad(to_hex(k), 12, '0'))::uuid $$;

-- Two runs per tenant (all items, then all but 2%), one transaction each.
CREATE PROCEDURE bench.sync_tenants(first_tenant integer, last_tenant integer, items integer)
    LANGUAGE plpgsql AS $$
DECLARE
    sel   jsonb := '{"policy_types": ["deviceConfiguration", "configurationPolicy", "mobileApp"]}';
    types text[] := ARRAY['deviceConfiguration', 'configurationPolicy', 'mobileApp'];
    run   bigint;
    t     uuid;
BEGIN
    FOR k IN first_tenant .. last_tenant LOOP
        t := bench.tenant_uuid(k);
        FOR round IN 1 .. 2 LOOP
            run := inventory.begin_sync_run(t, sel);
            INSERT INTO pg_temp.staged_items (policy_type, external_id, display_name, meta_jsonb, content_hash)
            SELECT types[1 + i % 3], md5(k || ':' || i)::uuid::text, 'Policy ' || i,
                   jsonb_build_object('odata_type', '#microsoft.graph.' || types[1 + i % 3],
                                      'platform', 'windows10AndLater', 'version', (i % 7)::text,
                                      'created_at', '2024-05-01T10:00:00Z', 'is_assigned', i % 2 = 0),
                   encode(sha256(convert_to(k || ':' || i, 'UTF8')), 'hex')
              FROM generate_series(1, items) i
             WHERE round = 1 OR (i * 7 + k) % 50 <> 0;
            CALL inventory.apply_staged(run);
            FOR j IN 1 .. 3 LOOP
                PERFORM inventory.complete_policy_type(run, types[j], 'complete', 1, items / 3);
            END LOOP;
            PERFORM inventory.finish_sync_run(run, 'succeeded');
            COMMIT;
        END LOOP;
    END LOOP;
END
$$;

\set measured_tenant 'bench.tenant_uuid(greatest(:tenants_small / 2, 1))'
\set selection '''{"policy_types": ["mobileApp", "deviceConfiguration", "configurationPolicy"]}'''

-- 1. the small database
SELECT clock_timestamp() AS t0 \gset
CALL bench.sync_tenants(1, :tenants_small, :items);
ANALYZE;
SELECT bench.put('missing.build_small_s', extract(epoch FROM clock_timestamp() - :'t0'::timestamptz));
SELECT bench.put('missing.rows_small', count(*)) FROM inventory.missing_items(:measured_tenant, :selection);
SELECT bench.put('missing.items_small', count(*)) FROM inventory.item_state;
SELECT bench.put('missing.small', bench.time_query(format(
       'SELECT * FROM inventory.missing_items(%L::uuid, %L::jsonb)', :measured_tenant, :selection), :reps));
SELECT bench.put('missing.view_small', bench.time_query(format(
       'SELECT * FROM inventory.missing_items WHERE tenant_id = %L::uuid', :measured_tenant), :reps));

-- 2. the same tenant among all the others
SELECT clock_timestamp() AS t0 \gset
CALL bench.sync_tenants(:tenants_small + 1, :tenants_large, :items);
ANALYZE;
SELECT bench.put('missing.build_large_s', extract(epoch FROM clock_timestamp() - :'t0'::timestamptz));
SELECT bench.put('missing.rows_large', count(*)) FROM inventory.missing_items(:measured_tenant, :selection);
SELECT bench.put('missing.items_large', count(*)) FROM inventory.item_state;
SELECT bench.put('missing.large', bench.time_query(format(
       'SELECT * FROM inventory.missing_items(%L::uuid, %L::jsonb)', :measured_tenant, :selection), :reps));
SELECT bench.put('missing.view_large', bench.time_query(format(
       'SELECT * FROM inventory.missing_items WHERE tenant_id = %L::uuid', :measured_tenant), :reps));

DO $$
BEGIN
    IF (SELECT value FROM bench.measure WHERE key = 'missing.rows_small') = 0
       OR (SELECT value FROM bench.measure WHERE key = 'missing.rows_small')
          <> (SELECT value FROM bench.measure WHERE key = 'missing.rows_large') THEN
        RAISE EXCEPTION 'missing_items of the measured tenant changed with the database size (or is empty)';
    END IF;
END
$$;
