-- Quick check: WAL written by re-syncing N unchanged items (default 100000)
-- through the extension, against the common peer pattern that bumps
-- last_seen_* on every row with INSERT ... ON CONFLICT DO UPDATE.
-- Run with: psql -v n=100000 -f bench/resync_wal.sql (on a database with the
-- extension; it creates and drops its own tenant and baseline table).
\set ON_ERROR_STOP 1
\if :{?n}
\else
\set n 100000
\endif
\set tenant '''00000000-0000-4000-8000-00000000beef'''
\set sel '''{"policy_types": ["deviceConfiguration"]}'''
SET client_min_messages = warning;

CREATE TEMP TABLE wal_figures (what text, wal_bytes numeric, seconds numeric);
CREATE TEMP TABLE src AS
SELECT 'deviceConfiguration'::text AS policy_type, 'id-' || i AS external_id, 'Policy ' || i AS display_name,
       jsonb_build_object('odata_type', '#microsoft.graph.windows10GeneralConfiguration', 'version', (i % 7)::text,
                          'created_at', '2024-01-01T00:00:00Z') AS meta_jsonb,
       encode(sha256(('content' || i)::bytea), 'hex') AS content_hash
  FROM generate_series(1, :n) i;

-- The extension: first sync, then a re-sync of the same rows.
CREATE FUNCTION pg_temp.sync_once(tenant uuid, sel jsonb) RETURNS void LANGUAGE plpgsql AS $$
DECLARE r bigint := inventory.begin_sync_run(tenant, sel);
BEGIN
    INSERT INTO pg_temp.staged_items SELECT * FROM src;
    CALL inventory.apply_staged(r);
    PERFORM inventory.complete_policy_type(r, 'deviceConfiguration', 'complete', 1, 0);
    PERFORM inventory.finish_sync_run(r, 'succeeded');
END $$;
SELECT pg_temp.sync_once(:tenant, :sel);
CHECKPOINT;
SELECT pg_current_wal_lsn() AS lsn0, clock_timestamp() AS t0 \gset
SELECT pg_temp.sync_once(:tenant, :sel);
SELECT pg_current_wal_lsn() AS lsn1, clock_timestamp() AS t1 \gset
INSERT INTO wal_figures VALUES ('extension re-sync (unchanged)', pg_wal_lsn_diff(:'lsn1', :'lsn0'),
                                extract(epoch FROM :'t1'::timestamptz - :'t0'::timestamptz));

-- The baseline: one table, every row's last_seen bumped on every sync.
CREATE TABLE public.wal_baseline_items (
    tenant_id uuid, policy_type text, external_id text, display_name text, meta_jsonb jsonb, content_hash text,
    first_seen_at timestamptz, last_seen_at timestamptz, last_seen_run_id bigint,
    PRIMARY KEY (tenant_id, policy_type, external_id));
CREATE FUNCTION pg_temp.baseline_sync(tenant uuid, run bigint) RETURNS void LANGUAGE sql AS $$
    INSERT INTO public.wal_baseline_items
    SELECT tenant, policy_type, external_id, display_name, meta_jsonb, content_hash, now(), now(), run FROM src
    ON CONFLICT (tenant_id, policy_type, external_id) DO UPDATE
       SET display_name = excluded.display_name, meta_jsonb = excluded.meta_jsonb,
           content_hash = excluded.content_hash, last_seen_at = excluded.last_seen_at,
           last_seen_run_id = excluded.last_seen_run_id
$$;
SELECT pg_temp.baseline_sync(:tenant, 1);
CHECKPOINT;
SELECT pg_current_wal_lsn() AS lsn0, clock_timestamp() AS t0 \gset
SELECT pg_temp.baseline_sync(:tenant, 2);
SELECT pg_current_wal_lsn() AS lsn1, clock_timestamp() AS t1 \gset
INSERT INTO wal_figures VALUES ('baseline re-sync (bump every row)', pg_wal_lsn_diff(:'lsn1', :'lsn0'),
                                extract(epoch FROM :'t1'::timestamptz - :'t0'::timestamptz));

SELECT what, :n AS items, pg_size_pretty(wal_bytes) AS wal, wal_bytes, round(seconds, 3) AS seconds FROM wal_figures;
SELECT round((SELECT wal_bytes FROM wal_figures WHERE what LIKE 'baseline%')
             / greatest((SELECT wal_bytes FROM wal_figures WHERE what LIKE 'extension%'), 1), 1) AS wal_ratio_baseline_over_extension;

DROP TABLE public.wal_baseline_items;
DELETE FROM inventory.type_watermarks WHERE tenant_id = :tenant;
DELETE FROM inventory.item_state WHERE tenant_id = :tenant;
DELETE FROM inventory.inventory_sync_runs WHERE tenant_id = :tenant;
