-- Run as a reader granted only tenant reltest.ta (set by the caller with
-- PGOPTIONS, as are reltest.tb, reltest.forbidden: a regular expression of
-- other tenants' ids and names, and reltest.names: of their names only).
-- Prints one line per violation: "LEAK ..." (fails the suite) or
-- "KNOWN ..." (reported).
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE TEMP TABLE findings (kind text, what text);
CREATE TEMP TABLE seen (v text);
-- A "leaky" function: it records every value it is shown. Cheap, so the
-- planner would love to run it first.
CREATE FUNCTION pg_temp.leak(v text) RETURNS boolean LANGUAGE plpgsql COST 0.0000001 AS $$
BEGIN
    INSERT INTO pg_temp.seen VALUES (v);
    RETURN true;
END $$;

DO $$
DECLARE
    ta uuid := current_setting('reltest.ta');
    tb uuid := current_setting('reltest.tb');
    forbidden text := current_setting('reltest.forbidden');
    names text := current_setting('reltest.names');
    r record;
    n bigint;
    txt text;
    line text;
    est_b numeric;
    est_x numeric;
    plan jsonb;
BEGIN
    FOR r IN SELECT c.oid::regclass AS rel,
                    EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'tenant_id') AS has_tenant
               FROM pg_class c
              WHERE c.relnamespace = 'inventory'::regnamespace AND c.relkind IN ('r', 'v', 'm', 'p')
                AND has_table_privilege(c.oid, 'SELECT')
              ORDER BY 1::text LOOP
        -- Rows: only the granted tenant, nothing of the others anywhere in them.
        IF r.has_tenant THEN
            EXECUTE format('SELECT count(*) FROM %s WHERE tenant_id <> %L', r.rel, ta) INTO n;
            IF n > 0 THEN
                INSERT INTO findings VALUES ('LEAK', format('%s: %s rows of other tenants', r.rel, n));
            END IF;
        END IF;
        EXECUTE format('SELECT coalesce(string_agg(x::text, E''\n''), '''') FROM %s x', r.rel) INTO txt;
        IF txt ~ forbidden THEN
            INSERT INTO findings VALUES ('LEAK', format('%s: shows another tenant''s id or names', r.rel));
        END IF;
        -- A cheap function in WHERE never sees another tenant's rows.
        TRUNCATE pg_temp.seen;
        EXECUTE format('SELECT count(*) FROM %s x WHERE pg_temp.leak(x::text)', r.rel) INTO n;
        IF EXISTS (SELECT 1 FROM pg_temp.seen WHERE v ~ forbidden) THEN
            INSERT INTO findings VALUES ('LEAK', format('%s: a function in WHERE saw another tenant''s rows', r.rel));
        END IF;
        -- EXPLAIN, with every option, of the whole relation and of another
        -- tenant's rows asked for by id: no names nor other ids in it.
        txt := '';
        FOR line IN EXECUTE format('EXPLAIN (ANALYZE, VERBOSE, COSTS, BUFFERS, SETTINGS) SELECT * FROM %s', r.rel) LOOP
            txt := txt || line || E'\n';
        END LOOP;
        IF txt ~ forbidden THEN
            INSERT INTO findings VALUES ('LEAK', format('EXPLAIN of %s shows another tenant', r.rel));
        END IF;
        IF r.has_tenant THEN
            txt := '';
            FOR line IN EXECUTE format('EXPLAIN (ANALYZE, VERBOSE, COSTS, BUFFERS) SELECT * FROM %s WHERE tenant_id = %L', r.rel, tb) LOOP
                txt := txt || line || E'\n';
            END LOOP;
            IF txt ~ names THEN
                INSERT INTO findings VALUES ('LEAK', format('EXPLAIN of %s for another tenant shows its names', r.rel));
            END IF;
        END IF;
    END LOOP;

    -- Planner estimates: does asking about another tenant's id estimate its
    -- size (statistics of tenant_id are used through a leakproof =)?
    EXECUTE format('EXPLAIN (FORMAT JSON) SELECT * FROM inventory.item_state WHERE tenant_id = %L', tb) INTO plan;
    est_b := (plan->0->'Plan'->>'Plan Rows')::numeric;
    EXECUTE format('EXPLAIN (FORMAT JSON) SELECT * FROM inventory.item_state WHERE tenant_id = %L', gen_random_uuid()) INTO plan;
    est_x := (plan->0->'Plan'->>'Plan Rows')::numeric;
    IF est_b <> est_x THEN
        INSERT INTO findings VALUES ('LEAK', format('planner estimate reveals another tenant''s size: EXPLAIN SELECT * FROM inventory.item_state WHERE tenant_id = <other tenant> estimates %s rows, %s for an unknown id', est_b, est_x));
    END IF;

    -- Statistics views.
    SELECT coalesce(string_agg(s::text, E'\n'), '') INTO txt FROM pg_stats s WHERE s.schemaname = 'inventory';
    IF txt ~ forbidden THEN
        INSERT INTO findings VALUES ('LEAK', 'pg_stats shows another tenant');
    END IF;

    -- Functions a reader may call.
    SELECT count(*) INTO n FROM inventory.missing_items(tb, '{"policy_types":["deviceConfiguration","configurationPolicy"]}');
    IF n > 0 THEN
        INSERT INTO findings VALUES ('LEAK', 'missing_items(other tenant) returned rows');
    END IF;
    IF inventory.visible_tenants() <> ARRAY[ta] THEN
        INSERT INTO findings VALUES ('LEAK', format('visible_tenants() = %s', inventory.visible_tenants()));
    END IF;
    IF (SELECT array_agg(DISTINCT x.tenant_id) FROM inventory.tenant_access x) IS DISTINCT FROM ARRAY[ta] THEN
        INSERT INTO findings VALUES ('LEAK', 'tenant_access shows other tenants'' grants');
    END IF;
END $$;

-- Nothing a reader may run writes or starts anything (skipped when the
-- caller checks that the visibility checks above are not vacuous).
DO $$
DECLARE
    stmt text;
    ok boolean;
BEGIN
    IF current_setting('reltest.skip_writes', true) = 'on' THEN
        RETURN;
    END IF;
    FOREACH stmt IN ARRAY ARRAY[
        format('SELECT inventory.begin_sync_run(%L, ''{"policy_types":["deviceConfiguration"]}'')', current_setting('reltest.ta')),
        'CALL inventory.apply_staged(1)',
        'SELECT inventory.complete_policy_type(1, ''deviceConfiguration'', ''complete'', 1, 1)',
        'SELECT inventory.finish_sync_run(1, ''failed'')',
        'SELECT inventory.reap_abandoned_runs()',
        format('SELECT inventory.grant_tenant_access(current_user, %L)', current_setting('reltest.tb')),
        'SELECT inventory._apply_staged(r) FROM inventory.inventory_sync_runs r LIMIT 1',
        'DELETE FROM inventory.item_state',
        'UPDATE inventory.inventory_sync_runs SET status = ''failed''',
        'INSERT INTO inventory.tenant_access (role, tenant_id) VALUES (current_user, gen_random_uuid())',
        'TRUNCATE inventory.item_state',
        'UPDATE inventory.policy_types SET enabled = false'] LOOP
        BEGIN
            EXECUTE stmt;
            ok := true;
        EXCEPTION WHEN OTHERS THEN
            ok := false;
        END;
        IF ok THEN
            INSERT INTO findings VALUES ('LEAK', 'a reader could run: ' || stmt);
        END IF;
    END LOOP;
END $$;

SELECT kind || ' ' || what FROM findings ORDER BY 1;
