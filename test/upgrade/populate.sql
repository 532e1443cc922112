-- A database synced under an earlier version: two tenants, several runs per
-- tenant (a complete one, a partial one, one with bad rows and errors, an
-- abandoned one), items that changed, went missing and came back, and
-- tenant grants (one of them naming a role that no longer exists).
\set ON_ERROR_STOP 1
\set ta '00000000-0000-4000-8000-00000000a001'
\set tb '00000000-0000-4000-8000-00000000b001'
\set sel '{"policy_types": ["deviceConfiguration", "configurationPolicy"]}'

SET check_function_bodies = off;
CREATE FUNCTION pg_temp.stage(t text, prefix text, n int, name_suffix text DEFAULT '') RETURNS void
    LANGUAGE sql AS $$
    INSERT INTO pg_temp.staged_items
    SELECT t, prefix || i, 'Item ' || i || name_suffix,
           jsonb_build_object('platform', 'windows10', 'version', i::text, 'setting_count', i, 'junk', 'x'),
           encode(sha256(convert_to(prefix || i || name_suffix, 'UTF8')), 'hex')
      FROM generate_series(1, n) i $$;

-- Tenant A: three runs.
SELECT inventory.begin_sync_run(:'ta', :'sel') AS r \gset
SELECT pg_temp.stage('deviceConfiguration', 'dc-', 300);
SELECT pg_temp.stage('configurationPolicy', 'cp-', 120);
CALL inventory.apply_staged(:r);
SELECT inventory.complete_policy_type(:r, 'deviceConfiguration', 'complete', 1, 300);
SELECT inventory.complete_policy_type(:r, 'configurationPolicy', 'complete', 1, 120);
SELECT inventory.finish_sync_run(:r, 'succeeded');

SELECT inventory.begin_sync_run(:'ta', :'sel') AS r \gset
SELECT pg_temp.stage('deviceConfiguration', 'dc-', 280, ' (renamed)');
SELECT pg_temp.stage('configurationPolicy', 'cp-', 60);
INSERT INTO pg_temp.staged_items VALUES ('deviceConfiguration', '', 'bad row', '{}', NULL);
CALL inventory.apply_staged(:r);
SELECT inventory.complete_policy_type(:r, 'deviceConfiguration', 'complete', 3, 280);
SELECT inventory.complete_policy_type(:r, 'configurationPolicy', 'incomplete', 1, 60, 'graph_throttled');
SELECT inventory.finish_sync_run(:r, 'partial',
       '[{"code": "graph_throttled", "http_status": 429, "message": "retry after client_secret=abc123"}]');

SELECT inventory.begin_sync_run(:'ta', '{"policy_types": ["deviceConfiguration"]}') AS r \gset
SELECT pg_temp.stage('deviceConfiguration', 'dc-', 290, ' (renamed)');
CALL inventory.apply_staged(:r);
SELECT inventory.complete_policy_type(:r, 'deviceConfiguration', 'complete', 3, 290);
SELECT inventory.finish_sync_run(:r, 'succeeded');

-- Tenant B: one run, then one abandoned by its session.
SELECT inventory.begin_sync_run(:'tb', :'sel') AS r \gset
SELECT pg_temp.stage('deviceConfiguration', 'b-dc-', 50);
CALL inventory.apply_staged(:r);
SELECT inventory.complete_policy_type(:r, 'deviceConfiguration', 'complete', 1, 50);
SELECT inventory.finish_sync_run(:r, 'failed', '[{"code": "graph_forbidden", "http_status": 403}]');
\c
\set tb '00000000-0000-4000-8000-00000000b001'
\set sel '{"policy_types": ["deviceConfiguration", "configurationPolicy"]}'
SELECT inventory.begin_sync_run(:'tb', :'sel') IS NOT NULL AS abandoned_run_started;
\c

-- Grants.
CREATE ROLE upgrade_reader_a LOGIN;
CREATE ROLE upgrade_team_b NOLOGIN;
CREATE ROLE upgrade_reader_b LOGIN IN ROLE upgrade_team_b;
CREATE ROLE upgrade_sync LOGIN;
CREATE ROLE upgrade_gone LOGIN;
SELECT inventory.grant_reader_role('upgrade_reader_a');
SELECT inventory.grant_reader_role('upgrade_team_b');
SELECT inventory.grant_sync_role('upgrade_sync');
SELECT inventory.grant_tenant_access('upgrade_reader_a', '00000000-0000-4000-8000-00000000a001');
SELECT inventory.grant_tenant_access('upgrade_team_b', '00000000-0000-4000-8000-00000000b001');
SELECT inventory.grant_tenant_access('upgrade_sync', '00000000-0000-4000-8000-00000000a001');
SELECT inventory.grant_tenant_access('upgrade_gone', '00000000-0000-4000-8000-00000000b001');
DROP ROLE upgrade_gone;
