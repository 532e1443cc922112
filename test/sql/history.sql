-- docs/design.md §12: history and trust. Every observed change of an item is
-- one row of inventory.item_changes, written with the item rows; a complete
-- enumeration that would make too many items absent is held by the
-- mass-missing guard; Graph's answers for the items a listing left out make
-- verified deletions or an inconsistent listing; stale_inventory tells which
-- types were not enumerated completely for too long.

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
-- Stages n items dc-<from>..dc-<to> named Item <n>, content hash of n.
CREATE OR REPLACE FUNCTION regress.stage_range(p_from integer, p_to integer, p_type text DEFAULT 'deviceConfiguration')
    RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO pg_temp.staged_items (policy_type, external_id, display_name, meta_jsonb, content_hash)
    SELECT p_type, 'dc-' || n, 'Item ' || n, '{"platform": "windows10"}', lpad(to_hex(n), 64, '0')
      FROM generate_series(p_from, p_to) n;
END
$$;
-- What one run of a tenant wrote to the history.
CREATE OR REPLACE FUNCTION regress.history(p_tenant uuid, p_run bigint)
    RETURNS TABLE (change text, external_id text, old_name text, new_name text,
                   hash_changed boolean, meta_changes jsonb)
    LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY
    SELECT h.change, h.external_id, h.old_display_name, h.new_display_name,
           h.old_content_hash IS DISTINCT FROM h.new_content_hash, h.meta_changes
      FROM inventory.item_history h WHERE h.tenant_id = p_tenant AND h.run_id = p_run
     ORDER BY h.external_id COLLATE "C", h.change_id;
END
$$;

\set t1 '00000000-0000-4000-8000-0000000000f1'
\set sel '{"policy_types": ["deviceConfiguration"]}'

-- Run 1: twelve new items, one history row each.
SELECT inventory.begin_sync_run(:'t1', :'sel') AS r1 \gset
SELECT regress.stage_range(1, 12);
CALL inventory.apply_staged(:r1);
SELECT inventory.complete_policy_type(:r1, 'deviceConfiguration', 'complete', 1, 12);
SELECT inventory.finish_sync_run(:r1, 'succeeded');
SELECT change, count(*), count(*) FILTER (WHERE new_display_name IS NOT NULL AND new_content_hash IS NOT NULL
                                            AND old_display_name IS NULL AND meta_changes = '{}') AS with_values
  FROM inventory.item_history WHERE tenant_id = :'t1' GROUP BY 1;

-- Run 2: dc-1 renamed, dc-2 new content, dc-3 new meta, dc-4 a new
-- fingerprint only (no change), dc-12 not listed (gone); the rest unchanged.
SELECT inventory.begin_sync_run(:'t1', :'sel') AS r2 \gset
SELECT regress.stage_range(5, 11);
INSERT INTO pg_temp.staged_items (policy_type, external_id, display_name, meta_jsonb, content_hash, row_fp) VALUES
 ('deviceConfiguration', 'dc-1', 'Item 1 (renamed)', '{"platform": "windows10"}', lpad(to_hex(1), 64, '0'), NULL),
 ('deviceConfiguration', 'dc-2', 'Item 2', '{"platform": "windows10"}', lpad(to_hex(222), 64, '0'), NULL),
 ('deviceConfiguration', 'dc-3', 'Item 3', '{"platform": "macOS", "version": "2"}', lpad(to_hex(3), 64, '0'), NULL),
 ('deviceConfiguration', 'dc-4', 'Item 4', '{"platform": "windows10"}', lpad(to_hex(4), 64, '0'), '0000000000000000000000000000000a');
CALL inventory.apply_staged(:r2);
SELECT inventory.complete_policy_type(:r2, 'deviceConfiguration', 'complete', 1, 11);
SELECT inventory.finish_sync_run(:r2, 'succeeded');
SELECT * FROM regress.history(:'t1', :r2);
-- latest_run_changes reads the same rows.
SELECT change, external_id, display_name FROM inventory.latest_run_changes
 WHERE tenant_id = :'t1' ORDER BY external_id COLLATE "C";

-- Run 3 lists the same as run 2: no history row, and the run's counters
-- agree.
SELECT count(*) AS rows_before FROM inventory.item_changes WHERE tenant_id = :'t1' \gset
SELECT inventory.begin_sync_run(:'t1', :'sel') AS r3 \gset
SELECT regress.stage_range(5, 11);
INSERT INTO pg_temp.staged_items (policy_type, external_id, display_name, meta_jsonb, content_hash, row_fp) VALUES
 ('deviceConfiguration', 'dc-1', 'Item 1 (renamed)', '{"platform": "windows10"}', lpad(to_hex(1), 64, '0'), NULL),
 ('deviceConfiguration', 'dc-2', 'Item 2', '{"platform": "windows10"}', lpad(to_hex(222), 64, '0'), NULL),
 ('deviceConfiguration', 'dc-3', 'Item 3', '{"platform": "macOS", "version": "2"}', lpad(to_hex(3), 64, '0'), NULL),
 ('deviceConfiguration', 'dc-4', 'Item 4', '{"platform": "windows10"}', lpad(to_hex(4), 64, '0'), '0000000000000000000000000000000a');
CALL inventory.apply_staged(:r3);
SELECT inventory.complete_policy_type(:r3, 'deviceConfiguration', 'complete', 1, 11);
SELECT inventory.finish_sync_run(:r3, 'succeeded');
SELECT count(*) - :rows_before AS history_rows_added FROM inventory.item_changes WHERE tenant_id = :'t1';
SELECT count(*) AS latest_run_changes FROM inventory.latest_run_changes WHERE tenant_id = :'t1';

-- Run 4: dc-12 comes back (renamed while away); dc-11 is left out, and
-- Graph answers 404 for it: a verified deletion.
SELECT inventory.begin_sync_run(:'t1', :'sel') AS r4 \gset
SELECT regress.stage_range(1, 10);
INSERT INTO pg_temp.staged_items (policy_type, external_id, display_name, meta_jsonb, content_hash) VALUES
 ('deviceConfiguration', 'dc-12', 'Item 12 (back)', '{"platform": "windows10"}', lpad(to_hex(12), 64, '0'));
CALL inventory.apply_staged(:r4);
SELECT * FROM inventory.absence_candidates(:r4, 'deviceConfiguration');
SELECT inventory.record_verifications(:r4, 'deviceConfiguration', '{dc-11,no-such-item}', '{404,404}');
SELECT inventory.complete_policy_type(:r4, 'deviceConfiguration', 'complete', 1, 11);
SELECT inventory.finish_sync_run(:r4, 'succeeded');
SELECT change, external_id, old_name, new_name FROM regress.history(:'t1', :r4);
SELECT external_id, state, confidence, deleted_at IS NOT NULL AS has_deleted_at
  FROM inventory.missing_items(:'t1', :'sel') ORDER BY 1;
SELECT status, verified_deleted, verified_present, absent_marked, mass_missing
  FROM inventory.inventory_sync_run_types WHERE run_id = :r4;

-- Run 5: the listing leaves out dc-9 and dc-10, and Graph answers 200 for
-- dc-10 and 500 for dc-9: the listing was wrong. The type is recorded
-- incomplete (listing_inconsistent), nothing goes absent, dc-10 is observed,
-- and the 500 is a run error.
SELECT inventory.begin_sync_run(:'t1', :'sel') AS r5 \gset
SELECT regress.stage_range(1, 8);
INSERT INTO pg_temp.staged_items (policy_type, external_id, display_name, meta_jsonb, content_hash) VALUES
 ('deviceConfiguration', 'dc-12', 'Item 12 (back)', '{"platform": "windows10"}', lpad(to_hex(12), 64, '0'));
SELECT external_id FROM inventory.absence_candidates(:r5, 'deviceConfiguration') ORDER BY 1;
SELECT inventory.record_verifications(:r5, 'deviceConfiguration', '{dc-10,dc-9}', '{200,500}');
SELECT inventory.complete_policy_type(:r5, 'deviceConfiguration', 'complete', 1, 9);
-- Repeating the call the client made is a no-op.
SELECT inventory.complete_policy_type(:r5, 'deviceConfiguration', 'complete', 1, 9);
SELECT inventory.finish_sync_run(:r5, 'succeeded');
SELECT status, error_code, verified_present, absent_marked
  FROM inventory.inventory_sync_run_types WHERE run_id = :r5;
SELECT status, error_codes, errors -> 0 ->> 'code' AS code, errors -> 0 ->> 'http_status' AS http_status
  FROM inventory.inventory_sync_runs WHERE id = :r5;
SELECT external_id, last_seen_run_id = :r5 AS seen_by_r5, present
  FROM inventory.inventory_items WHERE tenant_id = :'t1' AND external_id IN ('dc-9', 'dc-10') ORDER BY 1;
SELECT count(*) AS high_confidence_missing
  FROM inventory.missing_items(:'t1', :'sel') WHERE confidence = 'high';
SELECT count(*) AS history_rows_of_r5 FROM inventory.item_changes WHERE run_id = :r5;

-- Bad input to the verification calls.
SELECT inventory.begin_sync_run(:'t1', :'sel') AS r6 \gset
SELECT regress.try(format('SELECT inventory.record_verifications(%s, %L, %L, %L)', :r6, 'deviceConfiguration', '{a,b}', '{404}'));
SELECT regress.try(format('SELECT inventory.record_verifications(%s, %L, %L, %L)', :r6, 'deviceConfiguration', '{a}', '{1000}'));
SELECT regress.try(format('SELECT inventory.record_verifications(%s, %L, %L, %L)', :r6, 'deviceConfiguration',
                          array(SELECT 'x' || n FROM generate_series(1, 51) n), array(SELECT 404 FROM generate_series(1, 51))));
SELECT regress.try(format('SELECT inventory.record_verifications(%s, %L, %L, %L)', :r6, 'mobileApp', '{a}', '{404}'));
SELECT regress.try(format('SELECT * FROM inventory.absence_candidates(%s, %L)', :r6 + 1000, 'deviceConfiguration'));
SELECT inventory.finish_sync_run(:r6, 'failed');

-- The mass-missing guard. t2 holds 40 items; a complete listing of 16 would
-- make 24 (60%) absent: held. missing_items shows them low (mass_missing),
-- tenant_sync_health names the type, and an acceptance makes them high.
\set t2 '00000000-0000-4000-8000-0000000000f2'
SELECT inventory.begin_sync_run(:'t2', :'sel') AS g1 \gset
SELECT regress.stage_range(1, 40);
SELECT inventory.complete_policy_type(:g1, 'deviceConfiguration', 'complete', 1, 40);
SELECT inventory.finish_sync_run(:g1, 'succeeded');
SELECT inventory.begin_sync_run(:'t2', :'sel') AS g2 \gset
SELECT regress.stage_range(1, 16);
SELECT inventory.complete_policy_type(:g2, 'deviceConfiguration', 'complete', 1, 16);
SELECT inventory.finish_sync_run(:g2, 'succeeded');
SELECT status, absent_marked, present_before, mass_missing FROM inventory.inventory_sync_run_types WHERE run_id = :g2;
SELECT confidence, low_confidence_reasons, count(*) FROM inventory.missing_items(:'t2', :'sel') GROUP BY 1, 2;
SELECT mass_missing_held FROM inventory.tenant_sync_health WHERE tenant_id = :'t2';
SELECT count(*) AS gone_rows FROM inventory.item_changes WHERE run_id = :g2 AND change = 'gone';
-- Another tenant's run or a type without a held verdict: the same refusal.
SELECT regress.try(format('SELECT inventory.accept_mass_missing(%s, %L)', :g1, 'deviceConfiguration')) ~ 'has no held mass-missing verdict' AS refused_g1;
SELECT regress.try(format('SELECT inventory.accept_mass_missing(%s, %L)', :g2, 'mobileApp')) ~ 'has no held mass-missing verdict' AS refused_type;
SELECT inventory.accept_mass_missing(:g2, 'deviceConfiguration') AS accepted_items;
SELECT mass_missing, mass_missing_resolved_by = current_user AS by_me FROM inventory.inventory_sync_run_types WHERE run_id = :g2;
SELECT confidence, count(*) FROM inventory.missing_items(:'t2', :'sel') GROUP BY 1;
SELECT mass_missing_held FROM inventory.tenant_sync_health WHERE tenant_id = :'t2';

-- Held again (16 drop to 4: 75%), then the next complete listing agrees
-- (still 4; not held itself): the verdict is confirmed.
SELECT inventory.begin_sync_run(:'t2', :'sel') AS g3 \gset
SELECT regress.stage_range(1, 4);
SELECT inventory.complete_policy_type(:g3, 'deviceConfiguration', 'complete', 1, 4);
SELECT inventory.finish_sync_run(:g3, 'succeeded');
SELECT mass_missing FROM inventory.inventory_sync_run_types WHERE run_id = :g3;
SELECT confidence, low_confidence_reasons, count(*) FROM inventory.missing_items(:'t2', :'sel') GROUP BY 1, 2 ORDER BY 1;
SELECT inventory.begin_sync_run(:'t2', :'sel') AS g4 \gset
SELECT regress.stage_range(1, 4);
SELECT inventory.complete_policy_type(:g4, 'deviceConfiguration', 'complete', 1, 4);
SELECT inventory.finish_sync_run(:g4, 'succeeded');
SELECT mass_missing, mass_missing_resolved_by = 'run ' || :g4 AS by_g4 FROM inventory.inventory_sync_run_types WHERE run_id = :g3;
SELECT confidence, count(*) FROM inventory.missing_items(:'t2', :'sel') GROUP BY 1;

-- Thresholds per tenant and type (the most specific row wins): t3 holds
-- when more than 20% and at least 2 go; others keep the default.
\set t3 '00000000-0000-4000-8000-0000000000f3'
INSERT INTO inventory.trust_settings (tenant_id, policy_type, mass_missing_fraction, mass_missing_min_items) VALUES
 (NULL, NULL, 0.9, 50),
 (:'t3', NULL, 0.2, NULL),
 (:'t3', 'deviceConfiguration', NULL, 2);
SELECT * FROM inventory.trust_settings_for(:'t3', 'deviceConfiguration');
SELECT * FROM inventory.trust_settings_for(:'t3', 'mobileApp');
SELECT * FROM inventory.trust_settings_for(:'t1', 'deviceConfiguration');
SELECT left(regress.try($$INSERT INTO inventory.trust_settings (tenant_id, policy_type, max_age) VALUES (NULL, NULL, '1 hour')$$), 42) AS one_row_for_all;
SELECT left(regress.try($$INSERT INTO inventory.trust_settings (tenant_id, mass_missing_fraction) VALUES ('00000000-0000-4000-8000-0000000000f9', 1.5)$$), 40) AS fraction_above_1;
SELECT inventory.begin_sync_run(:'t3', :'sel') AS s1 \gset
SELECT regress.stage_range(1, 10);
SELECT inventory.complete_policy_type(:s1, 'deviceConfiguration', 'complete', 1, 10);
SELECT inventory.finish_sync_run(:s1, 'succeeded');
SELECT inventory.begin_sync_run(:'t3', :'sel') AS s2 \gset
SELECT regress.stage_range(1, 7);
SELECT inventory.complete_policy_type(:s2, 'deviceConfiguration', 'complete', 1, 7);
SELECT inventory.finish_sync_run(:s2, 'succeeded');
SELECT absent_marked, present_before, mass_missing FROM inventory.inventory_sync_run_types WHERE run_id = :s2;
DELETE FROM inventory.trust_settings;

-- Freshness: t1's last complete enumeration is r4 (r5 was inconsistent).
-- With a max age of one hour for t1 and the clock of the watermark moved
-- back two hours, t1 is stale; t2 (default 26 hours) is not.
INSERT INTO inventory.trust_settings (tenant_id, policy_type, max_age) VALUES (:'t1', NULL, '1 hour');
SELECT tenant_id = :'t1' AS is_t1, policy_type, last_complete_run_id = :r4 AS last_complete_is_r4, max_age,
       stale_for > interval '0' AS stale
  FROM inventory.stale_inventory WHERE tenant_id IN (:'t1', :'t2');
UPDATE inventory.type_watermarks SET observed_at = now() - interval '2 hours' WHERE tenant_id = :'t1';
SELECT tenant_id = :'t1' AS is_t1, policy_type, max_age, stale_for > interval '59 minutes' AS stale_an_hour,
       stale_since < now() AS since_past
  FROM inventory.stale_inventory WHERE tenant_id IN (:'t1', :'t2');
DELETE FROM inventory.trust_settings;

-- tenant_changes: counts per day, type and change.
SELECT change, sum(changes) FROM inventory.tenant_changes WHERE tenant_id = :'t1' GROUP BY 1 ORDER BY 1;
-- item_history of one item, newest first.
SELECT change, display_name FROM inventory.item_history
 WHERE tenant_id = :'t1' AND policy_type = 'deviceConfiguration' AND external_id = 'dc-12';

-- Retention. t1 gets a last run that renames dc-1 and three runs of another
-- selection that find nothing; then everything is made old. Pruning keeps
-- every run an item, a watermark or a history row names and the latest run
-- of each selection.
SELECT inventory.begin_sync_run(:'t1', :'sel') AS r7 \gset
SELECT regress.stage_range(2, 10);
INSERT INTO pg_temp.staged_items (policy_type, external_id, display_name, meta_jsonb, content_hash) VALUES
 ('deviceConfiguration', 'dc-1', 'Item 1 (last name)', '{"platform": "windows10"}', lpad(to_hex(1), 64, '0')),
 ('deviceConfiguration', 'dc-12', 'Item 12 (back)', '{"platform": "windows10"}', lpad(to_hex(12), 64, '0'));
SELECT inventory.complete_policy_type(:r7, 'deviceConfiguration', 'complete', 1, 11);
SELECT inventory.finish_sync_run(:r7, 'succeeded');
SELECT change, external_id, old_name, new_name FROM regress.history(:'t1', :r7);
SELECT inventory.begin_sync_run(:'t1', '{"policy_types": ["mobileApp"]}') AS m1 \gset
SELECT inventory.finish_sync_run(:m1, 'succeeded');
SELECT inventory.begin_sync_run(:'t1', '{"policy_types": ["mobileApp"]}') AS m2 \gset
SELECT inventory.complete_policy_type(:m2, 'mobileApp', 'complete', 1, 0);
SELECT inventory.finish_sync_run(:m2, 'succeeded');
SELECT inventory.begin_sync_run(:'t1', '{"policy_types": ["mobileApp"]}') AS m3 \gset
SELECT inventory.complete_policy_type(:m3, 'mobileApp', 'complete', 1, 0);
SELECT inventory.finish_sync_run(:m3, 'succeeded');
UPDATE inventory.inventory_sync_runs SET started_at = now() - interval '401 days',
       finished_at = now() - interval '400 days' WHERE tenant_id = :'t1';
UPDATE inventory.item_changes SET changed_at = now() - interval '400 days' WHERE tenant_id = :'t1';
SELECT count(*) AS runs_before FROM inventory.inventory_sync_runs WHERE tenant_id = :'t1';
-- m1, m2 and r6 (failed, nothing names it) go; r1 to r5 are still named by
-- an item or a history row.
SELECT inventory.prune_runs('30 days') AS pruned_runs;
SELECT count(*) AS left_of_m1_m2_r6 FROM inventory.inventory_sync_runs WHERE id IN (:m1, :m2, :r6);
SELECT count(*) AS their_run_types FROM inventory.inventory_sync_run_types WHERE run_id IN (:m1, :m2, :r6);
SELECT count(*) AS r1_to_r5_left FROM inventory.inventory_sync_runs WHERE id BETWEEN :r1 AND :r5 AND tenant_id = :'t1';
-- Every reference still resolves.
SELECT count(*) AS dangling
  FROM inventory.item_state i
 CROSS JOIN LATERAL (VALUES (i.first_seen_run_id), (i.seen_run_id), (i.content_changed_run_id),
                            (i.absent_since_run_id), (i.deleted_run_id)) x(run_id)
 WHERE i.tenant_id = :'t1' AND x.run_id IS NOT NULL
   AND NOT EXISTS (SELECT 1 FROM inventory.inventory_sync_runs r WHERE r.tenant_id = i.tenant_id AND r.id = x.run_id);
SELECT count(*) AS dangling_history
  FROM inventory.item_changes c WHERE c.tenant_id = :'t1'
   AND NOT EXISTS (SELECT 1 FROM inventory.inventory_sync_runs r WHERE r.tenant_id = c.tenant_id AND r.id = c.run_id);
SELECT inventory.prune_history('30 days') > 0 AS pruned_some_history;
-- What latest_run_changes shows stays.
SELECT run_id = :r7 AS is_r7, change, external_id FROM inventory.item_changes WHERE tenant_id = :'t1';
SELECT change, external_id FROM inventory.latest_run_changes WHERE tenant_id = :'t1';
-- With the history gone, the runs it named but no item does go too.
SELECT inventory.prune_runs('30 days') > 0 AS pruned_more;
SELECT count(*) AS dangling_after_both
  FROM inventory.item_state i
 CROSS JOIN LATERAL (VALUES (i.first_seen_run_id), (i.seen_run_id), (i.content_changed_run_id),
                            (i.absent_since_run_id), (i.deleted_run_id)) x(run_id)
 WHERE i.tenant_id = :'t1' AND x.run_id IS NOT NULL
   AND NOT EXISTS (SELECT 1 FROM inventory.inventory_sync_runs r WHERE r.tenant_id = i.tenant_id AND r.id = x.run_id);
SELECT count(*) AS missing_still_answers FROM inventory.missing_items(:'t1', :'sel');
SELECT regress.try($$SELECT inventory.prune_runs('-1 day')$$);

-- A sync role may report verifications, not accept verdicts or prune.
CREATE ROLE hist_sync LOGIN;
SELECT inventory.grant_sync_role('hist_sync');
SELECT inventory.grant_tenant_access('hist_sync', :'t1');
SET ROLE hist_sync;
SELECT regress.try(format('SELECT inventory.accept_mass_missing(%s, %L)', :g2, 'deviceConfiguration'));
SELECT regress.try($$SELECT inventory.prune_history('1 day')$$);
SELECT regress.try($$SELECT count(*) FROM inventory.item_changes$$);
RESET ROLE;
SELECT has_function_privilege('hist_sync', 'inventory.record_verifications(bigint, text, text[], integer[])', 'EXECUTE') AS may_record,
       has_function_privilege('hist_sync', 'inventory.absence_candidates(bigint, text)', 'EXECUTE') AS may_ask;
-- An operator granted accept_mass_missing accepts verdicts of its tenants
-- only (t3's held run s2); another tenant's is refused like a missing one.
CREATE ROLE hist_operator LOGIN;
SELECT inventory.grant_reader_role('hist_operator');
SELECT inventory.grant_tenant_access('hist_operator', :'t3');
GRANT EXECUTE ON FUNCTION inventory.accept_mass_missing(bigint, text) TO hist_operator, hist_sync;
SET ROLE hist_sync;
SELECT regress.try(format('SELECT inventory.accept_mass_missing(%s, %L)', :s2, 'deviceConfiguration')) ~ 'has no held mass-missing verdict' AS refused_other_tenant;
RESET ROLE;
SET ROLE hist_operator;
SELECT inventory.accept_mass_missing(:s2, 'deviceConfiguration') AS accepted_by_operator;
SELECT mass_missing, mass_missing_resolved_by FROM inventory.inventory_sync_run_types WHERE run_id = :s2;
SELECT count(DISTINCT tenant_id) AS tenants_in_history_seen FROM inventory.item_history;
RESET ROLE;
DROP OWNED BY hist_sync, hist_operator;
DROP ROLE hist_sync, hist_operator;

-- The other tests start from an empty inventory and their own schema.
DO $$
BEGIN
    EXECUTE format('DROP ROLE %I, %I', inventory.tenant_role('00000000-0000-4000-8000-0000000000f1'),
                   inventory.tenant_role('00000000-0000-4000-8000-0000000000f3'));
END
$$;
DROP SCHEMA regress CASCADE;
TRUNCATE inventory.item_state, inventory.type_watermarks, inventory.inventory_sync_run_types, inventory.inventory_sync_runs, inventory.item_changes, inventory.item_verifications;
ALTER SEQUENCE inventory.run_id_seq RESTART;
ALTER SEQUENCE inventory.item_id_seq RESTART;
ALTER SEQUENCE inventory.write_seq RESTART;
ALTER SEQUENCE inventory.change_id_seq RESTART;
