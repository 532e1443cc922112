-- docs/design.md §10: the manifest. A client reads what the database holds
-- (inventory.sync_manifest), stages whole rows only for new and changed items
-- and narrow keys (pg_temp.staged_keys) for the unchanged ones; the database
-- checks each key against the row it names and writes nothing for it.

CREATE SCHEMA IF NOT EXISTS regress;
CREATE OR REPLACE FUNCTION regress.try(stmt text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE stmt;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END $$;
GRANT USAGE ON SCHEMA regress TO PUBLIC;
GRANT EXECUTE ON FUNCTION regress.try(text) TO PUBLIC;

\set t1 '00000000-0000-4000-8000-0000000000d1'
\set sel '{"policy_types": ["deviceConfiguration", "configurationPolicy"]}'

-- First sync: whole rows with their fingerprints (32 lowercase hex); a row
-- with a malformed fingerprint is rejected like any bad row.
SELECT inventory.begin_sync_run(:'t1', :'sel') AS r1 \gset
COPY pg_temp.staged_items (policy_type, external_id, display_name, meta_jsonb, content_hash, row_fp) FROM stdin;
deviceConfiguration	dc-1	One	{}	1111111111111111111111111111111111111111111111111111111111111111	00000000000000000000000000000001
deviceConfiguration	dc-2	Two	{}	1111111111111111111111111111111111111111111111111111111111111111	00000000000000000000000000000002
deviceConfiguration	dc-3	Three	{}	1111111111111111111111111111111111111111111111111111111111111111	00000000000000000000000000000003
deviceConfiguration	dc-4	Four	{}	1111111111111111111111111111111111111111111111111111111111111111	0000000000000000000000000000000G
configurationPolicy	cp-1	Policy	{}	1111111111111111111111111111111111111111111111111111111111111111	00000000000000000000000000000004
configurationPolicy	cp-2	Policy 2	{}	1111111111111111111111111111111111111111111111111111111111111111	\N
\.
CALL inventory.apply_staged(:r1);
SELECT inventory.complete_policy_type(:r1, 'deviceConfiguration', 'complete', 1, 4);
SELECT inventory.complete_policy_type(:r1, 'configurationPolicy', 'complete', 1, 2);
SELECT inventory.finish_sync_run(:r1, 'succeeded');
SELECT policy_type, external_id, row_fp FROM inventory.item_state WHERE tenant_id = :'t1' ORDER BY 1, 2;
SELECT items_observed, items_created, items_rejected, errors -> 0 ->> 'message' AS first_error
  FROM inventory.inventory_sync_runs WHERE id = :r1;

-- The next run's manifest: every present item that has a fingerprint.
SELECT inventory.begin_sync_run(:'t1', :'sel') AS r2 \gset
SELECT * FROM inventory.sync_manifest(:r2) ORDER BY 1, 2;
SELECT inventory.fingerprint_salt() ~ '^[0-9a-f]{32}$' AS salt_is_hex,
       inventory.fingerprint_salt() = inventory.fingerprint_salt() AS salt_is_stable;
CREATE TEMP TABLE before_r2 AS SELECT external_id, xmin::text AS x FROM inventory.item_state WHERE tenant_id = :'t1';

-- Keys: dc-1 and cp-1 unchanged; dc-2 names a fingerprint the row does not
-- have (written since the manifest was read); dc-9 an item the tenant does
-- not hold; one key is malformed; dc-3 comes whole (renamed) and also as an
-- old key. cp-2 (no fingerprint) comes whole and unchanged.
COPY pg_temp.staged_keys (policy_type, external_id, row_fp) FROM stdin;
deviceConfiguration	dc-1	00000000000000000000000000000001
deviceConfiguration	dc-1	00000000000000000000000000000001
deviceConfiguration	dc-2	ffffffffffffffffffffffffffffffff
deviceConfiguration	dc-9	00000000000000000000000000000009
deviceConfiguration	dc-5	not-a-fingerprint
deviceConfiguration	dc-3	00000000000000000000000000000003
configurationPolicy	cp-1	00000000000000000000000000000004
\.
COPY pg_temp.staged_items (policy_type, external_id, display_name, meta_jsonb, content_hash, row_fp) FROM stdin;
deviceConfiguration	dc-3	Three (renamed)	{}	1111111111111111111111111111111111111111111111111111111111111111	00000000000000000000000000000033
configurationPolicy	cp-2	Policy 2	{}	1111111111111111111111111111111111111111111111111111111111111111	00000000000000000000000000000005
\.
CALL inventory.apply_staged(:r2);
SELECT inventory.complete_policy_type(:r2, 'deviceConfiguration', 'complete', 1, 6);
SELECT inventory.complete_policy_type(:r2, 'configurationPolicy', 'complete', 1, 2);
SELECT inventory.finish_sync_run(:r2, 'succeeded');
-- Written: dc-3 (renamed) and cp-2 (its fingerprint is new). Not written: the
-- items named by keys. Every item listed is present and was last seen by r2.
SELECT i.policy_type, i.external_id, i.display_name, s.row_fp, b.x = s.xmin::text AS row_untouched,
       i.present, i.last_seen_run_id = :r2 AS seen_by_r2
  FROM inventory.inventory_items i
  JOIN inventory.item_state s ON s.tenant_id = i.tenant_id AND s.id = i.id
  JOIN pg_temp.before_r2 b ON b.external_id = i.external_id
 WHERE i.tenant_id = :'t1' ORDER BY 1, 2;
SELECT items_observed, items_created, items_updated, items_unchanged, items_rejected, error_codes
  FROM inventory.inventory_sync_runs WHERE id = :r2;
SELECT e ->> 'code' AS code, e ->> 'external_id' AS external_id, e ->> 'message' AS message
  FROM inventory.inventory_sync_runs r, jsonb_array_elements(r.errors) e WHERE r.id = :r2 ORDER BY 1, 2;
SELECT count(*) AS missing FROM inventory.missing_items(:'t1', :'sel');

-- Keys of a type the run does not report are still observations (the type
-- is settled as failed when the run finishes); keys of a type outside the
-- run are rejected.
SELECT inventory.begin_sync_run(:'t1', :'sel') AS r3 \gset
COPY pg_temp.staged_keys (policy_type, external_id, row_fp) FROM stdin;
configurationPolicy	cp-1	00000000000000000000000000000004
mobileApp	ma-1	00000000000000000000000000000004
\.
SELECT inventory.finish_sync_run(:r3, 'partial');
SELECT items_observed, items_rejected, error_codes FROM inventory.inventory_sync_runs WHERE id = :r3;
SELECT last_seen_run_id = :r3 AS cp1_last_seen_by_r3, present FROM inventory.inventory_items
 WHERE tenant_id = :'t1' AND external_id = 'cp-1';
SELECT e ->> 'code' AS code, e ->> 'policy_type' AS policy_type, e ->> 'message' AS message
  FROM inventory.inventory_sync_runs r, jsonb_array_elements(r.errors) e WHERE r.id = :r3 ORDER BY 1, 2;
SELECT count(*) AS keys_left FROM pg_temp.staged_keys;

-- The manifest of a run this session does not hold is refused, and a role
-- without the sync grant cannot call it.
SELECT replace(regress.try(format('SELECT count(*) FROM inventory.sync_manifest(%s)', :r2)), :'r2', 'R2') AS finished_run;
SELECT regress.try('SELECT count(*) FROM inventory.sync_manifest(-1)') AS no_such_run;
CREATE ROLE regress_tinv_manifest_nobody;
SET ROLE regress_tinv_manifest_nobody;
SELECT regress.try(format('SELECT count(*) FROM inventory.sync_manifest(%s)', :r2)) AS not_granted;
RESET ROLE;
DROP ROLE regress_tinv_manifest_nobody;

-- Rows staged without fingerprints (SQL clients as before) stay correct: an
-- unchanged row is not rewritten, and it keeps its fingerprint.
SELECT inventory.begin_sync_run(:'t1', :'sel') AS r4 \gset
CREATE TEMP TABLE before_r4 AS SELECT external_id, xmin::text AS x FROM inventory.item_state WHERE tenant_id = :'t1';
COPY pg_temp.staged_items (policy_type, external_id, display_name, meta_jsonb, content_hash) FROM stdin;
deviceConfiguration	dc-1	One	{}	1111111111111111111111111111111111111111111111111111111111111111
deviceConfiguration	dc-2	Two	{}	1111111111111111111111111111111111111111111111111111111111111111
deviceConfiguration	dc-3	Three (renamed)	{}	2222222222222222222222222222222222222222222222222222222222222222
\.
CALL inventory.apply_staged(:r4);
SELECT inventory.complete_policy_type(:r4, 'deviceConfiguration', 'complete', 1, 3);
SELECT inventory.finish_sync_run(:r4, 'partial');
SELECT i.external_id, i.row_fp, b.x = i.xmin::text AS row_untouched
  FROM inventory.item_state i JOIN pg_temp.before_r4 b USING (external_id)
 WHERE i.tenant_id = :'t1' AND i.policy_type = 'deviceConfiguration' ORDER BY 1;

-- This test's tenant leaves nothing behind for the tests that follow.
DELETE FROM inventory.item_state WHERE tenant_id = :'t1';
DELETE FROM inventory.type_watermarks WHERE tenant_id = :'t1';
DELETE FROM inventory.inventory_sync_run_types WHERE tenant_id = :'t1';
DELETE FROM inventory.inventory_sync_runs WHERE tenant_id = :'t1';
