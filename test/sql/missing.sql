-- docs/design.md §7: missing items, derived relative to the latest finished run of the
-- same tenant and selection, with a confidence.

CREATE SCHEMA IF NOT EXISTS regress;
-- One whole sync in one call: rows is a JSON array of staged rows, types maps
-- each policy type to its outcome (complete, incomplete, failed or absent =
-- never reported). Returns the run id.
CREATE OR REPLACE FUNCTION regress.sync(tenant uuid, selection jsonb, rows jsonb, types jsonb,
                                        final_status text DEFAULT 'succeeded', errors jsonb DEFAULT '[]')
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    v_run bigint := inventory.begin_sync_run(tenant, selection);
    v_type text;
    v_status text;
BEGIN
    INSERT INTO pg_temp.staged_items (policy_type, external_id, display_name, meta_jsonb, content_hash)
    SELECT r.policy_type, r.external_id, r.display_name, coalesce(r.meta, '{}'), r.content_hash
      FROM jsonb_to_recordset(rows) AS r(policy_type text, external_id text, display_name text, meta jsonb, content_hash text);
    CALL inventory.apply_staged(v_run);
    FOR v_type, v_status IN SELECT key, value #>> '{}' FROM jsonb_each(types) ORDER BY key LOOP
        PERFORM inventory.complete_policy_type(v_run, v_type, v_status, 1, 0,
                    CASE WHEN v_status <> 'complete' THEN 'graph_forbidden' END);
    END LOOP;
    PERFORM inventory.finish_sync_run(v_run, final_status, errors);
    RETURN v_run;
END $$;
CREATE OR REPLACE FUNCTION regress.row(policy_type text, external_id text, content text DEFAULT 'v1')
RETURNS jsonb LANGUAGE sql AS $$
    SELECT jsonb_build_object('policy_type', policy_type, 'external_id', external_id,
                              'display_name', 'Name of ' || external_id,
                              'content_hash', encode(sha256(convert_to(external_id || content, 'UTF8')), 'hex'))
$$;
CREATE TABLE IF NOT EXISTS regress.run_label (label text PRIMARY KEY, id bigint NOT NULL);
SET client_min_messages = error;  -- Citus warns that this object stays on the coordinator
CREATE OR REPLACE VIEW regress.missing AS
SELECT m.tenant_id, m.selection_hash, m.policy_type, m.external_id, l.label AS last_seen, lr.label AS latest_run,
       m.latest_run_status, m.confidence, m.low_confidence_reasons, m.state
  FROM inventory.missing_items m
  LEFT JOIN regress.run_label l ON l.id = m.last_seen_run_id
  LEFT JOIN regress.run_label lr ON lr.id = m.latest_run_id;
RESET client_min_messages;

\set t2 '00000000-0000-4000-8000-0000000000b2'
\set t3 '00000000-0000-4000-8000-0000000000b3'
\set sel_a '{"policy_types": ["deviceConfiguration", "configurationPolicy"]}'
\set sel_b '{"policy_types": ["deviceConfiguration"]}'
CREATE TEMP TABLE sel AS SELECT inventory.selection_hash(:'sel_a') AS a, inventory.selection_hash(:'sel_b') AS b;

-- a1: selection A sees dc-1, dc-2 and cp-1.
INSERT INTO regress.run_label SELECT 'a1', regress.sync(:'t2', :'sel_a',
    jsonb_build_array(regress.row('deviceConfiguration', 'dc-1'), regress.row('deviceConfiguration', 'dc-2'),
                      regress.row('configurationPolicy', 'cp-1')),
    '{"deviceConfiguration": "complete", "configurationPolicy": "complete"}');
SELECT count(*) AS missing_after_first_sync FROM inventory.missing_items WHERE tenant_id = :'t2';

-- b1: selection B lists only dc-1. dc-2 is missing for B, with high
-- confidence; for A nothing is missing (selection isolation), and cp-1 is
-- not B's business at all.
INSERT INTO regress.run_label SELECT 'b1', regress.sync(:'t2', :'sel_b',
    jsonb_build_array(regress.row('deviceConfiguration', 'dc-1')), '{"deviceConfiguration": "complete"}');
SELECT CASE selection_hash WHEN (SELECT a FROM sel) THEN 'A' WHEN (SELECT b FROM sel) THEN 'B' END AS selection,
       policy_type, external_id, last_seen, latest_run, latest_run_status, confidence, low_confidence_reasons, state
  FROM regress.missing WHERE tenant_id = :'t2' ORDER BY 1, 2, 3;

-- a2 is partial: deviceConfiguration complete with dc-1 only,
-- configurationPolicy forbidden. Now dc-2 is missing for A with confidence
-- low (the run is partial), cp-1 low for two reasons more.
INSERT INTO regress.run_label SELECT 'a2', regress.sync(:'t2', :'sel_a',
    jsonb_build_array(regress.row('deviceConfiguration', 'dc-1')),
    '{"deviceConfiguration": "complete", "configurationPolicy": "failed"}', 'partial',
    '[{"code": "graph_forbidden", "policy_type": "configurationPolicy", "http_status": 403}]');
SELECT CASE selection_hash WHEN (SELECT a FROM sel) THEN 'A' WHEN (SELECT b FROM sel) THEN 'B' END AS selection,
       policy_type, external_id, last_seen, latest_run, latest_run_status, confidence, low_confidence_reasons
  FROM regress.missing WHERE tenant_id = :'t2' ORDER BY 1, 2, 3;

-- b2 sees dc-2 again: a run started after a2 observed it, so it is no
-- longer missing for A either.
INSERT INTO regress.run_label SELECT 'b2', regress.sync(:'t2', :'sel_b',
    jsonb_build_array(regress.row('deviceConfiguration', 'dc-1'), regress.row('deviceConfiguration', 'dc-2')),
    '{"deviceConfiguration": "complete"}');
SELECT CASE selection_hash WHEN (SELECT a FROM sel) THEN 'A' WHEN (SELECT b FROM sel) THEN 'B' END AS selection,
       policy_type, external_id, last_seen, latest_run, confidence, low_confidence_reasons
  FROM regress.missing WHERE tenant_id = :'t2' ORDER BY 1, 2, 3;

-- A succeeded run that rejected a staged row had errors: low confidence.
INSERT INTO regress.run_label SELECT 'a3', regress.sync(:'t2', :'sel_a',
    jsonb_build_array(regress.row('deviceConfiguration', 'dc-1'), regress.row('configurationPolicy', ''),
                      regress.row('configurationPolicy', 'cp-2')),
    '{"deviceConfiguration": "complete", "configurationPolicy": "complete"}');
SELECT status, had_errors, error_codes FROM inventory.inventory_sync_runs WHERE id = (SELECT id FROM regress.run_label WHERE label = 'a3');
SELECT policy_type, external_id, last_seen, latest_run, latest_run_status, confidence, low_confidence_reasons
  FROM regress.missing WHERE tenant_id = :'t2' AND selection_hash = (SELECT a FROM sel) ORDER BY 1, 2;

-- A failed run is a finished run too: everything it did not see is missing, low.
INSERT INTO regress.run_label SELECT 'a4', regress.sync(:'t2', :'sel_a', '[]',
    '{"deviceConfiguration": "failed", "configurationPolicy": "failed"}', 'failed', '[{"code": "auth_failed"}]');
SELECT policy_type, external_id, last_seen, latest_run, latest_run_status, confidence, low_confidence_reasons
  FROM regress.missing WHERE tenant_id = :'t2' AND selection_hash = (SELECT a FROM sel) ORDER BY 1, 2;

-- A running run is not finished: the view still answers from a4.
SELECT inventory.begin_sync_run(:'t2', :'sel_a') AS running \gset
SELECT DISTINCT latest_run FROM regress.missing WHERE tenant_id = :'t2' AND selection_hash = (SELECT a FROM sel);
SELECT inventory.finish_sync_run(:running, 'failed', '[{"code": "cancelled"}]') AS finished_running;
INSERT INTO regress.run_label VALUES ('a5', :running);

-- The function form accepts any spelling of the selection.
SELECT m.policy_type, m.external_id, lr.label AS latest_run, m.confidence
  FROM inventory.missing_items(:'t2', '{"policy_types": ["configurationPolicy", "deviceConfiguration", "deviceConfiguration"]}') m
  JOIN regress.run_label lr ON lr.id = m.latest_run_id
 ORDER BY 1, 2;

-- Other tenants are unaffected: t3 with the same selection and ids.
INSERT INTO regress.run_label SELECT 't3a', regress.sync(:'t3', :'sel_b',
    jsonb_build_array(regress.row('deviceConfiguration', 'dc-1')), '{"deviceConfiguration": "complete"}');
SELECT tenant_id = :'t3' AS is_t3, count(*) FROM inventory.missing_items GROUP BY 1 ORDER BY 1;

-- The reserved state deleted is never produced.
SELECT count(*) AS not_missing_state FROM inventory.missing_items WHERE state <> 'missing';
-- latest_sync_runs: one row per tenant and selection, the latest finished run.
SELECT CASE l.selection_hash WHEN (SELECT a FROM sel) THEN 'A' WHEN (SELECT b FROM sel) THEN 'B' END AS selection,
       lr.label, l.status, l.had_errors, l.error_codes
  FROM inventory.latest_sync_runs l JOIN regress.run_label lr ON lr.id = l.run_id
 WHERE l.tenant_id = :'t2' ORDER BY 1;
-- tenant_sync_health: last success, last failure, consecutive failures, current codes.
SELECT s.label AS last_success, f.label AS last_failure, h.consecutive_failures, h.current_error_codes, h.running_runs, h.finished_runs
  FROM inventory.tenant_sync_health h
  LEFT JOIN regress.run_label s ON s.id = h.last_success_run_id
  LEFT JOIN regress.run_label f ON f.id = h.last_failure_run_id
 WHERE h.tenant_id = :'t2';
