-- docs/design.md §5-§6: the sync run lifecycle: begin_sync_run, COPY into staging,
-- apply_staged, complete_policy_type, finish_sync_run; fencing; bad input.

CREATE SCHEMA regress;
-- Runs a statement and reports its SQLSTATE and message instead of failing.
CREATE FUNCTION regress.try(stmt text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE stmt;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END $$;
CREATE TABLE regress.run_label (label text PRIMARY KEY, id bigint NOT NULL);
SET client_min_messages = error;  -- Citus warns that this object stays on the coordinator
CREATE VIEW regress.items AS
SELECT i.tenant_id, i.policy_type, i.external_id, i.display_name,
       f.label AS first_seen, l.label AS last_seen,
       i.content_changed_at > i.first_seen_at AS content_changed,
       i.meta_jsonb
  FROM inventory.inventory_items i
  LEFT JOIN regress.run_label f ON f.id = i.first_seen_run_id
  LEFT JOIN regress.run_label l ON l.id = i.last_seen_run_id;
RESET client_min_messages;

\set t1 '00000000-0000-4000-8000-0000000000a1'
\set sel '{"policy_types": ["deviceConfiguration", "configurationPolicy"]}'

-- Invalid selections are rejected with SQLSTATE 22023 naming the problem; nothing is written.
SELECT s AS selection, regress.try(format('SELECT inventory.begin_sync_run(%L, %L)', :'t1', s)) AS result
  FROM (VALUES ('[]'), ('"deviceConfiguration"'), ('{}'), ('{"types": ["deviceConfiguration"]}'),
               ('{"policy_types": "deviceConfiguration"}'), ('{"policy_types": []}'),
               ('{"policy_types": ["deviceConfiguration", 7]}'), ('{"policy_types": ["noSuchType"]}'),
               ('{"policy_types": ["deviceConfiguration"], "n": 1e400}')) v(s);
SELECT regress.try(format('SELECT inventory.begin_sync_run(NULL, %L)', :'sel')) AS null_tenant,
       regress.try(format('SELECT inventory.begin_sync_run(%L, NULL)', :'t1')) AS null_selection;
UPDATE inventory.policy_types SET enabled = false WHERE policy_type = 'intent';
SELECT regress.try(format('SELECT inventory.begin_sync_run(%L, %L)', :'t1', '{"policy_types": ["intent"]}')) AS disabled_type;
UPDATE inventory.policy_types SET enabled = true WHERE policy_type = 'intent';
SELECT count(*) AS runs_after_bad_input FROM inventory.inventory_sync_runs;
SELECT count(*) AS advisory_locks_after_bad_input FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid();

-- A run starts: canonical selection stored, run lock held by this session.
SELECT pg_backend_pid() AS my_pid \gset
SELECT inventory.begin_sync_run(:'t1', :'sel', '6f9619ff-8b86-d011-b42d-00c04fc964ff') AS r1 \gset
INSERT INTO regress.run_label VALUES ('r1', :r1);
SELECT status, selection_payload, policy_types, selection_hash = inventory.selection_hash(:'sel') AS hash_ok,
       correlation_id, owner_role = current_user AS owner_ok, owner_pid = :my_pid AS pid_ok, finished_at IS NULL AS open
  FROM inventory.inventory_sync_runs WHERE id = :r1;
SELECT count(*) AS run_lock_held FROM pg_locks
 WHERE locktype = 'advisory' AND objsubid = 29801 AND pid = pg_backend_pid() AND granted
   AND ((classid::bigint << 32) | objid::bigint) = inventory.sync_lock_key(:'t1', inventory.selection_hash(:'sel'));
-- A session owns at most one running run.
SELECT regress.try(format('SELECT inventory.begin_sync_run(%L, %L)', :'t1', '{"policy_types": ["mobileApp"]}')) AS second_run_same_session;
SELECT regress.try(format('SELECT inventory.begin_sync_run(%L, %L)', :'t1', :'sel')) AS same_key_same_session;

-- Staging: rows carry no tenant and no run. Text with tabs, newlines,
-- backslashes, quotes and emoji; duplicates; bad rows.
COPY pg_temp.staged_items (policy_type, external_id, display_name, meta_jsonb, content_hash) FROM stdin;
deviceConfiguration	dc-1	Baseline\tWindows	{"odata_type": "#microsoft.graph.windows10GeneralConfiguration", "platform": "windows10", "description": "dropped"}	1111111111111111111111111111111111111111111111111111111111111111
deviceConfiguration	dc-2	Line\nbreak "quoted" back\\slash 😀	{"version": "1"}	2222222222222222222222222222222222222222222222222222222222222222
deviceConfiguration	dc-3	first copy	{}	3333333333333333333333333333333333333333333333333333333333333333
deviceConfiguration	dc-3	second copy wins	{}	3333333333333333333333333333333333333333333333333333333333333333
configurationPolicy	cp-1	Settings catalog	{"technologies": ["mdm"], "setting_count": 12, "junk": true}	AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
mobileApp	app-1	not selected	{}	\N
deviceConfiguration		empty id	{}	\N
deviceConfiguration	\N	null id	{}	\N
deviceConfiguration	dc-bad	bad hash	{}	not-a-hash
deviceConfiguration	dc-4	\N	\N	\N
\.
-- An id no B-tree key can hold is refused like the other bad rows.
INSERT INTO pg_temp.staged_items (policy_type, external_id, display_name)
VALUES ('deviceConfiguration', repeat('x', 3000), 'over-long id');
CALL inventory.apply_staged(:r1);
SELECT count(*) AS staged_left FROM pg_temp.staged_items;
SELECT policy_type, external_id, display_name, first_seen, last_seen, content_changed, meta_jsonb
  FROM regress.items WHERE tenant_id = :'t1' ORDER BY 1, 2;
SELECT display_name = E'Line\nbreak "quoted" back\\slash 😀' AS verbatim FROM inventory.inventory_items WHERE external_id = 'dc-2';
SELECT content_hash FROM inventory.inventory_items WHERE external_id = 'cp-1';
SELECT items_observed, items_created, items_updated, items_unchanged, items_rejected, meta_keys_dropped, error_codes
  FROM inventory.inventory_sync_runs WHERE id = :r1;
SELECT e->>'code' AS code, e->>'policy_type' AS policy_type, left(e->>'external_id', 12) AS external_id,
       length(e->>'external_id') AS id_length, e->>'message' AS message
  FROM inventory.inventory_sync_runs, jsonb_array_elements(errors) e WHERE id = :r1 ORDER BY 5, 3;

-- Idempotent: the same rows again change nothing (not even a row version).
CREATE TEMP TABLE before AS SELECT external_id, xmin::text AS row_version, display_name, meta_jsonb, content_hash FROM inventory.item_state WHERE tenant_id = :'t1';
COPY pg_temp.staged_items (policy_type, external_id, display_name, meta_jsonb, content_hash) FROM stdin;
deviceConfiguration	dc-1	Baseline\tWindows	{"odata_type": "#microsoft.graph.windows10GeneralConfiguration", "platform": "windows10", "description": "dropped"}	1111111111111111111111111111111111111111111111111111111111111111
deviceConfiguration	dc-3	second copy wins	{}	3333333333333333333333333333333333333333333333333333333333333333
\.
CALL inventory.apply_staged(:r1);
SELECT count(*) AS rows_rewritten FROM inventory.item_state s JOIN before b USING (external_id)
 WHERE s.tenant_id = :'t1' AND s.xmin::text <> b.row_version;
SELECT count(*) AS items FROM inventory.item_state WHERE tenant_id = :'t1';

-- Per-type outcomes; bad input is refused, a repeated call is a no-op.
SELECT inventory.complete_policy_type(:r1, 'deviceConfiguration', 'complete', 1, 6);
SELECT inventory.complete_policy_type(:r1, 'deviceConfiguration', 'complete', 1, 6) AS repeated;
SELECT regress.try(format('SELECT inventory.complete_policy_type(%s, %L, %L, 1, 1)', :r1, 'deviceConfiguration', 'failed')) AS conflicting,
       regress.try(format('SELECT inventory.complete_policy_type(%s, %L, %L, 1, 1)', :r1, 'mobileApp', 'complete')) AS not_selected,
       regress.try(format('SELECT inventory.complete_policy_type(%s, %L, %L, 1, 1)', :r1, 'configurationPolicy', 'done')) AS bad_status,
       regress.try(format('SELECT inventory.complete_policy_type(%s, %L, %L, -1, 1)', :r1, 'configurationPolicy', 'complete')) AS negative_pages,
       regress.try(format('SELECT inventory.complete_policy_type(%s, %L, %L, 1, 1, %L)', :r1, 'configurationPolicy', 'failed', 'Bearer abc')) AS bad_error_code;
-- Rows of a type already completed in this run are not applied.
COPY pg_temp.staged_items (policy_type, external_id, display_name, meta_jsonb, content_hash) FROM stdin;
deviceConfiguration	dc-late	late row	{}	\N
\.
SELECT inventory.complete_policy_type(:r1, 'configurationPolicy', 'complete', 1, 1);
SELECT count(*) AS late_row_applied FROM inventory.item_state WHERE external_id = 'dc-late';
SELECT policy_type, status, pages, items_seen, error_code FROM inventory.inventory_sync_run_types WHERE run_id = :r1 ORDER BY 1;
SELECT regress.try(format('SELECT inventory.finish_sync_run(%s, %L)', :r1, 'done')) AS bad_run_status;
SELECT inventory.finish_sync_run(:r1, 'succeeded');
SELECT status, had_errors, error_codes, items_rejected, finished_at >= started_at AS finished
  FROM inventory.inventory_sync_runs WHERE id = :r1;
SELECT count(*) AS run_locks_left FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid();

-- Fencing: a finished run takes no more writes (SQLSTATE 55000).
SELECT regress.try(format('CALL inventory.apply_staged(%s)', :r1)) AS apply_after_finish,
       regress.try(format('SELECT inventory.complete_policy_type(%s, %L, %L, 1, 1)', :r1, 'deviceConfiguration', 'complete')) AS complete_after_finish,
       regress.try(format('SELECT inventory.finish_sync_run(%s, %L)', :r1, 'failed')) AS finish_twice,
       regress.try('CALL inventory.apply_staged(987654321)') AS unknown_run;

-- Second run: dc-1 content changed, dc-2 renamed (same content hash), dc-3
-- unchanged, dc-4 gone, cp-1 unchanged, dc-5 new. Unchanged items are not
-- rewritten, yet every observed item reads last_seen = r2.
SELECT inventory.begin_sync_run(:'t1', '{"policy_types": ["configurationPolicy", "deviceConfiguration", "configurationPolicy"]}') AS r2 \gset
INSERT INTO regress.run_label VALUES ('r2', :r2);
SELECT selection_hash = inventory.selection_hash(:'sel') AS same_selection FROM inventory.inventory_sync_runs WHERE id = :r2;
DROP TABLE before;
CREATE TEMP TABLE before AS SELECT external_id, xmin::text AS row_version FROM inventory.item_state WHERE tenant_id = :'t1';
COPY pg_temp.staged_items (policy_type, external_id, display_name, meta_jsonb, content_hash) FROM stdin;
deviceConfiguration	dc-1	Baseline\tWindows	{"odata_type": "#microsoft.graph.windows10GeneralConfiguration", "platform": "windows10"}	1111111111111111111111111111111111111111111111111111111111111112
deviceConfiguration	dc-2	Renamed	{"version": "1"}	2222222222222222222222222222222222222222222222222222222222222222
deviceConfiguration	dc-3	second copy wins	{}	3333333333333333333333333333333333333333333333333333333333333333
deviceConfiguration	dc-5	New one	{}	5555555555555555555555555555555555555555555555555555555555555555
configurationPolicy	cp-1	Settings catalog	{"technologies": ["mdm"], "setting_count": 12}	aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
\.
CALL inventory.apply_staged(:r2);
SELECT inventory.complete_policy_type(:r2, 'deviceConfiguration', 'complete', 1, 4);
SELECT inventory.complete_policy_type(:r2, 'configurationPolicy', 'complete', 1, 1);
SELECT inventory.finish_sync_run(:r2, 'succeeded');
SELECT policy_type, external_id, display_name, first_seen, last_seen, content_changed
  FROM regress.items WHERE tenant_id = :'t1' ORDER BY 1, 2;
SELECT b.external_id, s.xmin::text <> b.row_version AS rewritten
  FROM before b JOIN inventory.item_state s ON s.tenant_id = :'t1' AND s.external_id = b.external_id ORDER BY 1;
SELECT status, had_errors, items_observed, items_created, items_updated, items_unchanged, meta_keys_dropped
  FROM inventory.inventory_sync_runs WHERE id = :r2;
-- Reporting: what r2 changed, and counts per type.
SELECT change, policy_type, external_id, display_name FROM inventory.latest_run_changes
 WHERE tenant_id = :'t1' AND run_id = :r2 ORDER BY 1, 2, 3;
SELECT policy_type, items, present, absent FROM inventory.item_counts WHERE tenant_id = :'t1' ORDER BY 1;

-- Third run: deviceConfiguration stops after its first page (incomplete);
-- what it saw moves forward, the rest keeps its last observation. The
-- caller's 'succeeded' cannot hide the incomplete type.
SELECT inventory.begin_sync_run(:'t1', :'sel') AS r3 \gset
INSERT INTO regress.run_label VALUES ('r3', :r3);
COPY pg_temp.staged_items (policy_type, external_id, display_name, meta_jsonb, content_hash) FROM stdin;
deviceConfiguration	dc-3	second copy wins	{}	3333333333333333333333333333333333333333333333333333333333333333
configurationPolicy	cp-1	Settings catalog	{"technologies": ["mdm"], "setting_count": 12}	aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
\.
CALL inventory.apply_staged(:r3);
SELECT inventory.complete_policy_type(:r3, 'deviceConfiguration', 'incomplete', 1, 1, 'graph_throttled');
SELECT inventory.complete_policy_type(:r3, 'configurationPolicy', 'complete', 1, 1);
SELECT inventory.finish_sync_run(:r3, 'succeeded', '[{"code": "graph_throttled", "policy_type": "deviceConfiguration", "http_status": 429}]');
SELECT policy_type, external_id, first_seen, last_seen FROM regress.items WHERE tenant_id = :'t1' ORDER BY 1, 2;
SELECT status, had_errors, error_codes FROM inventory.inventory_sync_runs WHERE id = :r3;

-- A type never reported is recorded as failed, and what the run staged of
-- it is still applied; with no type complete the run is failed.
SELECT inventory.begin_sync_run(:'t1', :'sel') AS r4 \gset
INSERT INTO regress.run_label VALUES ('r4', :r4);
COPY pg_temp.staged_items (policy_type, external_id, display_name, meta_jsonb, content_hash) FROM stdin;
deviceConfiguration	dc-1	Baseline\tWindows	{"odata_type": "#microsoft.graph.windows10GeneralConfiguration", "platform": "windows10"}	1111111111111111111111111111111111111111111111111111111111111112
\.
SELECT inventory.finish_sync_run(:r4, 'succeeded');
SELECT policy_type, status, error_code FROM inventory.inventory_sync_run_types WHERE run_id = :r4 ORDER BY 1;
SELECT status, error_codes FROM inventory.inventory_sync_runs WHERE id = :r4;
SELECT external_id, last_seen FROM regress.items WHERE external_id = 'dc-1';

-- Errors are stored redacted, bounded and normalized (the seed's "safe error persistence").
SELECT inventory.begin_sync_run(:'t1', :'sel') AS r5 \gset
SELECT inventory.finish_sync_run(:r5, 'failed', jsonb_build_array(
    jsonb_build_object('code', 'graph_unauthorized', 'http_status', 401, 'policy_type', 'deviceConfiguration',
                       'message', 'request with Authorization: Bearer eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJ0aWQiOiJ4In0.c2ln failed',
                       'request_id', 'r-1', 'client_request_id', 'c-1', 'graph_error_code', 'InvalidAuthenticationToken',
                       'extra_key', 'not stored'),
    jsonb_build_object('code', 'auth_failed', 'message', 'POST body client_id=x&client_secret=Zz9Q~abcdefghijklmnopqrstuvwxyz0123456'),
    jsonb_build_object('code', 'network_error', 'message', repeat('x', 2000)),
    jsonb_build_object('code', 'Not A Code', 'message', 'bad code'),
    'plain string error',
    jsonb_build_object('code', 'graph_bad_response', 'message', jsonb_build_object('access_token', 'tok'))));
SELECT jsonb_pretty(e - 'message') AS entry, left(e->>'message', 80) AS message, length(e->>'message') AS message_length
  FROM inventory.inventory_sync_runs, jsonb_array_elements(errors) e WHERE id = :r5;
SELECT status, had_errors, error_codes FROM inventory.inventory_sync_runs WHERE id = :r5;
SELECT count(*) AS runs_with_bearer_token FROM inventory.inventory_sync_runs
 WHERE errors::text ~* '(bearer\s+ey|client_secret=[^\[]|"tok")';
-- At most 100 entries are kept, and the cut is recorded.
SELECT inventory.begin_sync_run(:'t1', :'sel') AS r6 \gset
SELECT inventory.finish_sync_run(:r6, 'failed', (SELECT jsonb_agg(jsonb_build_object('code', 'graph_throttled', 'message', 'n' || i)) FROM generate_series(1, 150) i));
SELECT jsonb_array_length(errors) AS stored, errors->100 AS last_entry FROM inventory.inventory_sync_runs WHERE id = :r6;
-- An errors argument that is not an array is still stored.
SELECT inventory.begin_sync_run(:'t1', :'sel') AS r7 \gset
SELECT inventory.finish_sync_run(:r7, 'failed', '{"code": "cancelled", "message": "SIGTERM"}');
SELECT errors, error_codes FROM inventory.inventory_sync_runs WHERE id = :r7;

-- Abandoned runs: when the owning session no longer holds the run lock
-- (here released by hand, as a dead session's would be), the next
-- begin_sync_run of the same tenant and selection marks the run failed.
SELECT inventory.begin_sync_run(:'t1', :'sel') AS r8 \gset
SELECT pg_advisory_unlock_all();
SELECT regress.try(format('CALL inventory.apply_staged(%s)', :r8)) AS fenced_without_lock;
SELECT inventory.begin_sync_run(:'t1', :'sel') AS r9 \gset
SELECT id = :r8 AS is_r8, status, had_errors, error_codes, errors->0->>'code' AS first_error, finished_at IS NOT NULL AS finished
  FROM inventory.inventory_sync_runs WHERE id IN (:r8, :r9) ORDER BY id;
SELECT policy_type, status, error_code FROM inventory.inventory_sync_run_types WHERE run_id = :r8 ORDER BY 1;
SELECT inventory.finish_sync_run(:r9, 'failed', '[{"code": "cancelled"}]');
-- reap_abandoned_runs does the same for every tenant.
SELECT inventory.begin_sync_run(:'t1', '{"policy_types": ["mobileApp"]}') AS r10 \gset
SELECT pg_advisory_unlock_all();
SELECT inventory.reap_abandoned_runs() AS reaped;
SELECT status, error_codes FROM inventory.inventory_sync_runs WHERE id = :r10;
SELECT inventory.reap_abandoned_runs() AS reaped_again;
-- Many at once (each reaped run's lock is held until the end of the reap).
DO $$
BEGIN
    FOR i IN 1 .. 40 LOOP
        PERFORM inventory.begin_sync_run('00000000-0000-4000-8000-0000000000a1',
                                         jsonb_build_object('policy_types', jsonb_build_array('mobileApp'), 'n', i));
        PERFORM pg_advisory_unlock_all();
    END LOOP;
END
$$;
SELECT inventory.reap_abandoned_runs() AS reaped_many;
SELECT count(*) AS still_running FROM inventory.inventory_sync_runs WHERE status = 'running';

-- Items always reference runs of their own tenant.
SELECT count(*) AS dangling_references FROM inventory.inventory_items i
 WHERE NOT EXISTS (SELECT 1 FROM inventory.inventory_sync_runs r WHERE r.tenant_id = i.tenant_id AND r.id = i.last_seen_run_id)
    OR NOT EXISTS (SELECT 1 FROM inventory.inventory_sync_runs r WHERE r.tenant_id = i.tenant_id AND r.id = i.first_seen_run_id);
