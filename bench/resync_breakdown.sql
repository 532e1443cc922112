-- Where the time of an unchanged re-sync goes (BENCHMARKS.md, row 4): N items
-- of one policy type (default 1,000,000) are synced through the lifecycle in
-- batches of B staged rows (default 5,000, the fetcher's), then re-synced
-- unchanged; the re-sync's apply_staged and complete/finish times are
-- printed, then the cost of the two ways of finding the stored rows of the
-- same N keys: one primary-key probe per key, and one hash join with the type.
-- Run with: psql -v n=1000000 -v b=5000 -f bench/resync_breakdown.sql (on a
-- database with the extension; it creates and removes its own tenant).
\set ON_ERROR_STOP 1
\if :{?n}
\else
\set n 1000000
\endif
\if :{?b}
\else
\set b 5000
\endif
\set tenant '''00000000-0000-4000-8000-00000000b4d0'''
\set sel '''{"policy_types": ["deviceConfiguration"]}'''
SET client_min_messages = warning;

CREATE TEMP TABLE src AS
SELECT i AS rn, 'deviceConfiguration'::text AS policy_type, md5('id-' || i) AS external_id,
       'Policy ' || i AS display_name,
       jsonb_build_object('odata_type', '#microsoft.graph.windows10GeneralConfiguration', 'version', (i % 7)::text,
                          'created_at', '2024-01-01T00:00:00Z') AS meta_jsonb,
       encode(sha256(('content' || i)::bytea), 'hex') AS content_hash
  FROM generate_series(1, :n) i;
CREATE INDEX ON src (rn);
ANALYZE src;

CREATE FUNCTION pg_temp.sync_once(tenant uuid, sel jsonb, b int, OUT apply_s numeric, OUT settle_s numeric)
LANGUAGE plpgsql AS $$
DECLARE
    r bigint := inventory.begin_sync_run(tenant, sel);
    n bigint := (SELECT count(*) FROM src);
    lo bigint := 0;
    t0 timestamptz;
BEGIN
    apply_s := 0;
    WHILE lo < n LOOP
        INSERT INTO pg_temp.staged_items
        SELECT policy_type, external_id, display_name, meta_jsonb, content_hash FROM src WHERE rn > lo AND rn <= lo + b;
        t0 := clock_timestamp();
        CALL inventory.apply_staged(r);
        apply_s := apply_s + extract(epoch FROM clock_timestamp() - t0);
        lo := lo + b;
    END LOOP;
    t0 := clock_timestamp();
    PERFORM inventory.complete_policy_type(r, 'deviceConfiguration', 'complete', 1, n::int);
    PERFORM inventory.finish_sync_run(r, 'succeeded');
    settle_s := extract(epoch FROM clock_timestamp() - t0);
END $$;

CREATE TEMP TABLE figures (what text, seconds numeric);
INSERT INTO figures SELECT 'first sync: apply_staged', apply_s FROM pg_temp.sync_once(:tenant, :sel, :b);
VACUUM ANALYZE inventory.item_state;
SELECT * FROM pg_temp.sync_once(:tenant, :sel, :b) \gset
INSERT INTO figures VALUES ('unchanged re-sync: apply_staged', :apply_s),
                           ('unchanged re-sync: complete_policy_type + finish_sync_run', :settle_s);

-- The two ways of finding the stored rows of the same keys.
CREATE TEMP TABLE keys AS SELECT policy_type, external_id FROM src;
CREATE FUNCTION pg_temp.seconds(q text) RETURNS numeric LANGUAGE plpgsql AS $$
DECLARE t0 timestamptz := clock_timestamp(); BEGIN EXECUTE q; RETURN extract(epoch FROM clock_timestamp() - t0); END $$;
INSERT INTO figures SELECT 'one primary-key probe per key', pg_temp.seconds(format($q$
    SELECT count(*) FROM keys k CROSS JOIN LATERAL (
        SELECT i.* FROM inventory.item_state i
         WHERE i.tenant_id = %L AND i.policy_type = k.policy_type AND i.external_id = k.external_id OFFSET 0) i$q$, :tenant));
SET enable_nestloop = off;
INSERT INTO figures SELECT 'one hash join with the type', pg_temp.seconds(format($q$
    SELECT count(*) FROM keys k JOIN inventory.item_state i
        ON i.tenant_id = %L AND i.policy_type = k.policy_type AND i.external_id = k.external_id$q$, :tenant));
RESET enable_nestloop;
INSERT INTO figures SELECT 'the batch checks (_staged_row_problem)', pg_temp.seconds($q$
    SELECT count(*) FROM src s
     WHERE inventory._staged_row_problem(s.policy_type, s.external_id, s.content_hash, NULL, '{deviceConfiguration}', '{}') IS NULL$q$)
     - pg_temp.seconds('SELECT count(*) FROM src');

SELECT what, :n AS items, :b AS batch, round(seconds, 2) AS seconds, round(seconds * 1e6 / :n, 2) AS us_per_item
  FROM figures;

DELETE FROM inventory.type_watermarks WHERE tenant_id = :tenant;
DELETE FROM inventory.item_state WHERE tenant_id = :tenant;
DELETE FROM inventory.inventory_sync_runs WHERE tenant_id = :tenant;
