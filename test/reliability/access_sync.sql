-- Run as a least-privilege sync role granted only tenant reltest.ta while
-- another session runs reltest.run_b of tenant reltest.tb (and reltest.done_b
-- is a finished run of it). Prints "LEAK ..." for anything the role could
-- write that is not its own run, "KNOWN ..." for what it learns about the
-- other tenant, then "RUN <id>" of its own run.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE TEMP TABLE findings (kind text, what text);

-- Another tenant: not even a run can start.
DO $$
BEGIN
    PERFORM inventory.begin_sync_run(current_setting('reltest.tb')::uuid, '{"policy_types":["deviceConfiguration"]}');
    INSERT INTO findings VALUES ('LEAK', 'begin_sync_run for an ungranted tenant succeeded');
EXCEPTION WHEN insufficient_privilege THEN
    NULL;
END $$;

SELECT inventory.begin_sync_run(current_setting('reltest.ta')::uuid,
                                '{"policy_types":["deviceConfiguration","configurationPolicy"]}') AS run_a \gset
SELECT set_config('reltest.run_a', :'run_a', false) IS NOT NULL AS ok \gset

DO $$
DECLARE
    stmt text;
    ok boolean;
    st text;
    msg text;
    det text;
    tb text := current_setting('reltest.tb');
BEGIN
    -- The other tenant's running and finished runs: fenced, whatever the session claims.
    FOREACH stmt IN ARRAY ARRAY[
        'CALL inventory.apply_staged(%s)',
        'SELECT inventory.complete_policy_type(%s, ''deviceConfiguration'', ''complete'', 1, 1)',
        'SELECT inventory.finish_sync_run(%s, ''succeeded'')',
        'SELECT set_config(''inventory.session_run'', ''%s'', false); CALL inventory.apply_staged(%1$s)'] LOOP
        FOR i IN 1 .. 2 LOOP
            BEGIN
                EXECUTE format(stmt, current_setting(CASE i WHEN 1 THEN 'reltest.run_b' ELSE 'reltest.done_b' END));
                ok := true;
            EXCEPTION WHEN OTHERS THEN
                ok := false;
                GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL;
            END;
            PERFORM set_config('inventory.session_run', current_setting('reltest.run_a'), false);
            IF ok THEN
                INSERT INTO findings VALUES ('LEAK', 'the sync role wrote to another tenant''s run: ' || stmt);
            ELSIF st <> '55000' THEN
                INSERT INTO findings VALUES ('LEAK', format('unexpected SQLSTATE %s for %s', st, stmt));
            ELSIF msg || ' ' || coalesce(det, '') ~ tb THEN
                INSERT INTO findings VALUES ('LEAK', format('fencing error names the other tenant (%s): %s', st, left(msg || ' DETAIL: ' || det, 160)));
            END IF;
        END LOOP;
    END LOOP;

    -- Nothing but its own staging, and only by INSERT.
    FOREACH stmt IN ARRAY ARRAY[
        'INSERT INTO pg_temp.inventory_pending VALUES (''deviceConfiguration'', ''x'', ''x'', ''{}'', NULL)',
        'INSERT INTO pg_temp.inventory_run_seen VALUES (''deviceConfiguration'', 1)',
        'SELECT count(*) FROM pg_temp.staged_items',
        'DELETE FROM pg_temp.staged_items',
        'ALTER TABLE pg_temp.staged_items ADD COLUMN tenant_id uuid',
        'DROP TABLE pg_temp.staged_items',
        'CREATE RULE r AS ON INSERT TO pg_temp.staged_items DO INSTEAD NOTHING',
        'CREATE TRIGGER t BEFORE INSERT ON pg_temp.staged_items FOR EACH ROW EXECUTE FUNCTION inventory.reap_abandoned_runs()',
        'INSERT INTO inventory.item_state (tenant_id, policy_type, external_id, first_seen_at, first_seen_run_id, seen_at, seen_run_id, content_changed_at, content_changed_run_id, write_seq) VALUES (gen_random_uuid(), ''x'', ''x'', now(), 1, now(), 1, now(), 1, 1)',
        'UPDATE inventory.item_state SET display_name = ''x''',
        'DELETE FROM inventory.inventory_sync_runs',
        'UPDATE inventory.type_watermarks SET run_id = 1',
        'INSERT INTO inventory.tenant_access (role, tenant_id) VALUES (current_user, gen_random_uuid())',
        format('SELECT inventory.grant_tenant_access(current_user, %L)', tb),
        'SELECT inventory.reap_abandoned_runs()',
        'SELECT inventory._apply_staged(r) FROM inventory.inventory_sync_runs r WHERE r.id = 1',
        'SELECT inventory._settle_policy_type(r, ''deviceConfiguration'', true, false, NULL, NULL) FROM inventory.inventory_sync_runs r LIMIT 1',
        'INSERT INTO inventory.item_changes (tenant_id, run_id, policy_type, external_id, item_id, changed_at, change) VALUES (gen_random_uuid(), 1, ''x'', ''x'', 1, now(), ''gone'')',
        'DELETE FROM inventory.item_changes',
        'INSERT INTO inventory.item_verifications VALUES (gen_random_uuid(), 1, ''x'', ''x'', 404, now())',
        'INSERT INTO inventory.trust_settings (mass_missing_fraction) VALUES (1)',
        'SELECT inventory.accept_mass_missing(1, ''deviceConfiguration'')',
        'SELECT inventory.prune_history(''0 days'')',
        'SELECT inventory.prune_runs(''0 days'')',
        'SELECT count(*) FROM inventory.item_history',
        'SELECT inventory._prepare_staging(current_user)',
        'SELECT count(*) FROM inventory.inventory_items',
        'SELECT count(*) FROM inventory.inventory_sync_runs'] LOOP
        BEGIN
            EXECUTE stmt;
            ok := true;
        EXCEPTION WHEN insufficient_privilege OR wrong_object_type OR object_not_in_prerequisite_state THEN
            ok := false;
        END;
        IF ok THEN
            INSERT INTO findings VALUES ('LEAK', 'the sync role could run: ' || stmt);
        END IF;
    END LOOP;
END $$;

-- Its own run: a row of a type outside the selection is refused, not applied.
COPY pg_temp.staged_items (policy_type, external_id, display_name, meta_jsonb, content_hash) FROM stdin;
deviceConfiguration	sync-own-1	own item	{}	\N
mobileApp	sync-smuggled-1	smuggled	{}	\N
\.
CALL inventory.apply_staged(:run_a);
SELECT inventory.complete_policy_type(:run_a, 'deviceConfiguration', 'incomplete', 1, 1, 'graph_throttled');
SELECT inventory.finish_sync_run(:run_a, 'partial') AS finished \gset
SELECT kind || ' ' || what FROM findings ORDER BY 1;
SELECT 'RUN ' || :run_a;
