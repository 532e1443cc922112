-- Run as the sync role: a whole run from a session whose search_path puts
-- pg_temp and public first, with temporary tables and functions named like
-- the extension's. Prints the run id.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
SET search_path = pg_temp, public, pg_catalog;
CREATE TEMP TABLE inventory_sync_runs (id bigint, tenant_id uuid, status text);
CREATE TEMP TABLE tenant_access (role name, tenant_id uuid);
CREATE TEMP TABLE meta_keys (key text, kind text, builtin boolean);
INSERT INTO meta_keys VALUES ('secret', 'string', false);
CREATE TEMP TABLE policy_types (policy_type text, graph_path text, api_version text, name_field text, enabled boolean);
CREATE TEMP TABLE item_state (tenant_id uuid, external_id text);
CREATE FUNCTION pg_temp.canonical_json(jsonb) RETURNS text LANGUAGE sql AS $$ SELECT '{}'::text $$;
CREATE FUNCTION pg_temp.filter_meta_counted(jsonb, jsonb, OUT meta jsonb, OUT dropped integer) LANGUAGE sql AS $$ SELECT $1, 0 $$;
CREATE FUNCTION pg_temp.sync_lock_key(uuid, text) RETURNS bigint LANGUAGE sql AS $$ SELECT 42::bigint $$;
SELECT inventory.begin_sync_run(current_setting('reltest.tenant')::uuid,
                                '{"policy_types":["deviceConfiguration"],"purpose":"hijack"}') AS run \gset
COPY pg_temp.staged_items (policy_type, external_id, display_name, meta_jsonb, content_hash) FROM stdin;
deviceConfiguration	hijack-1	kept	{"platform": "windows10", "secret": "must be dropped"}	\N
deviceConfiguration	hijack-2	kept too	{"state": "on"}	\N
\.
CALL inventory.apply_staged(:run);
SELECT inventory.complete_policy_type(:run, 'deviceConfiguration', 'complete', 1, 2) IS NULL AS completed;
SELECT inventory.finish_sync_run(:run, 'succeeded') AS status;
SELECT 'RUN ' || :run;
