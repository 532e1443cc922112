-- Composes the results table from bench.measure: one line per docs/design.md §10
-- target (and a few informative lines), each a ratio of two figures measured
-- in the same run on the same cluster.
-- Variable: format (table or markdown).
\set ON_ERROR_STOP 1
SET client_min_messages = warning;

CREATE TEMP VIEW m AS SELECT key, value, note FROM bench.measure;

CREATE FUNCTION pg_temp.v(k text) RETURNS double precision
    LANGUAGE sql STABLE AS $$ SELECT value FROM bench.measure WHERE key = k $$;

CREATE FUNCTION pg_temp.fmt(x double precision, unit text) RETURNS text
    LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
             WHEN x IS NULL THEN '-'
             WHEN unit = 's' AND x >= 1 THEN to_char(x, 'FM999990.00') || ' s'
             WHEN unit = 's' AND x >= 0.001 THEN to_char(x * 1e3, 'FM999990.0') || ' ms'
             WHEN unit = 's' THEN to_char(x * 1e6, 'FM999990') || ' us'
             WHEN unit = 'B' THEN pg_size_pretty(x::bigint)
             ELSE x::text || ' ' || unit END
$$;

-- kind: 'faster' = baseline/ours >= target; 'within' = ours/baseline <= target;
-- 'zero' = ours must be 0; 'info' = no target.
CREATE TEMP TABLE rows (
    no        text,
    what      text,
    baseline  text,
    b         double precision,
    o         double precision,
    unit      text,
    kind      text,
    target    double precision,
    note      text
);

INSERT INTO rows VALUES
 ('1', format('selection_hash, %s selection documents', pg_temp.v('sel.docs')),
       'PL/pgSQL canonical form + sha256 (identical hex on every document)',
       pg_temp.v('sel.plpgsql'), pg_temp.v('sel.ours'), 's', 'faster', 30, NULL),
 ('1', 'selection_hash', 'sha256(doc::text)', pg_temp.v('sel.sha256'), pg_temp.v('sel.ours'), 's', 'within', 1.5, NULL),
 ('1', 'selection_hash', 'jsonb_hash_extended(doc, 0)', pg_temp.v('sel.jsonb_hash'), pg_temp.v('sel.ours'), 's', 'info', NULL, NULL),
 ('2', format('filter_meta, %s documents of %s keys on average', pg_temp.v('meta.docs'), round(pg_temp.v('meta.avg_keys')::numeric, 1)),
       (SELECT coalesce(note, 'SQL key filter') FROM m WHERE key = 'meta.sql'),
       pg_temp.v('meta.sql'), pg_temp.v('meta.ours'), 's', 'faster', 5, NULL),
 ('3', format('first sync, %s items (COPY + apply_staged per %s rows + complete + finish; fsync %s)',
              pg_temp.v('sync.items'), pg_temp.v('sync.batch'), current_setting('fsync')),
       'COPY of the same rows into a logged table with the same primary key (the physical floor)',
       pg_temp.v('sync.copy_logged'), pg_temp.v('sync.first'), 's', 'within', 1.5, NULL),
 ('3', 'first sync', 'bare COPY of the same rows into an unlogged table',
       pg_temp.v('sync.copy'), pg_temp.v('sync.first'), 's', 'info', NULL, NULL),
 ('3', 'first sync',
       format('INSERT ... ON CONFLICT per item, one transaction each%s',
              CASE WHEN pg_temp.v('sync.perrow_items') < pg_temp.v('sync.items')
                   THEN format(' (%s items, scaled x%s)', pg_temp.v('sync.perrow_items'),
                               round((pg_temp.v('sync.items') / pg_temp.v('sync.perrow_items'))::numeric, 1)) ELSE '' END),
       pg_temp.v('sync.perrow_autocommit') * pg_temp.v('sync.items') / pg_temp.v('sync.perrow_items'),
       pg_temp.v('sync.first'), 's', 'faster', 30, NULL),
 ('3', 'first sync',
       format('INSERT ... ON CONFLICT per item, all in one transaction%s',
              CASE WHEN pg_temp.v('sync.perrow_items') < pg_temp.v('sync.items')
                   THEN ' (scaled)' ELSE '' END),
       pg_temp.v('sync.perrow_tx') * pg_temp.v('sync.items') / pg_temp.v('sync.perrow_items'),
       pg_temp.v('sync.first'), 's', 'info', NULL, NULL),
 ('4', format('re-sync through the fetcher (manifest), %s items, 1%% changed: database time', pg_temp.v('fetch.items')),
       format('peer: COPY to staging + INSERT ... ON CONFLICT DO UPDATE bumping last_seen_* on every row (%s items, 1%% changed)',
              pg_temp.v('sync.items')),
       pg_temp.v('resync.peer_changed'), pg_temp.v('resync.fetch_changed_db'), 's', 'faster', 5, NULL),
 ('4', 're-sync through the fetcher, 1% changed: wall time (Graph paging included)', 'same peer (database only)',
       pg_temp.v('resync.peer_changed'), pg_temp.v('resync.fetch_changed'), 's', 'faster', 5, NULL),
 ('4', 're-sync through the fetcher: what the manifest design cannot do without (two reads of the type''s rows, the manifest out, the keys in)',
       'same peer', pg_temp.v('resync.peer_changed'),
       2 * pg_temp.v('resync.floor_scan') + pg_temp.v('resync.floor_out') + pg_temp.v('resync.floor_in'),
       's', 'info', NULL, NULL),
 ('4', 're-sync through the fetcher, 1% changed: WAL', 'same peer',
       pg_temp.v('resync.peer_changed_wal'), pg_temp.v('resync.fetch_changed_wal'), 'B', 'faster', 10, NULL),
 ('4', 're-sync through the fetcher, nothing changed: database time', 'same peer, nothing changed',
       pg_temp.v('resync.peer_same'), pg_temp.v('resync.fetch_same_db'), 's', 'info', NULL, NULL),
 ('4', 're-sync through the fetcher, nothing changed: WAL', 'same peer',
       pg_temp.v('resync.peer_same_wal'), pg_temp.v('resync.fetch_same_wal'), 'B', 'info', NULL, NULL),
 ('4', 're-sync through the fetcher, nothing changed: item table growth', 'same peer',
       pg_temp.v('resync.peer_same_growth'), pg_temp.v('resync.fetch_same_growth'), 'B', 'zero', 0, NULL),
 ('4', 're-sync by an SQL client staging whole rows, 1% changed: time', 'same peer',
       pg_temp.v('resync.peer_changed'), pg_temp.v('resync.ours_changed'), 's', 'info', NULL, NULL),
 ('4', 're-sync by an SQL client staging whole rows, 1% changed: WAL', 'same peer',
       pg_temp.v('resync.peer_changed_wal'), pg_temp.v('resync.ours_changed_wal'), 'B', 'faster', 10, NULL),
 ('4', 're-sync by an SQL client staging whole rows, nothing changed: time', 'same peer',
       pg_temp.v('resync.peer_same'), pg_temp.v('resync.ours_same'), 's', 'info', NULL, NULL),
 ('4', 're-sync by an SQL client staging whole rows, nothing changed: WAL', 'same peer',
       pg_temp.v('resync.peer_same_wal'), pg_temp.v('resync.ours_same_wal'), 'B', 'info', NULL, NULL),
 ('4', 're-sync by an SQL client staging whole rows, nothing changed: item table growth', 'same peer',
       pg_temp.v('resync.peer_same_growth'), pg_temp.v('resync.ours_same_growth'), 'B', 'zero', 0, NULL),
 ('5', format('missing_items(tenant, selection), one tenant among %s (%s items)',
              pg_temp.v('missing.tenants_large'), pg_temp.v('missing.items_large')),
       format('same query, %s tenants (%s items)', pg_temp.v('missing.tenants_small'), pg_temp.v('missing.items_small')),
       pg_temp.v('missing.small'), pg_temp.v('missing.large'), 's', 'within', 1.5, NULL),
 ('5', 'missing_items view, WHERE tenant_id = one tenant', 'same query on the smaller database',
       pg_temp.v('missing.view_small'), pg_temp.v('missing.view_large'), 's', 'info', NULL, NULL),
 ('6', format('fetcher first sync, %s items of one tenant from the local mock (pages of 999): wall time',
              coalesce(pg_temp.v('fetch.items')::text, 'N')),
       'the database time of the same run (COPY, apply_staged, complete, finish)',
       pg_temp.v('fetch.db'), pg_temp.v('fetch.ours'), 's', 'within', 1.5,
       CASE WHEN pg_temp.v('fetch.ours') IS NOT NULL
            THEN format('%s items/s', round(pg_temp.v('fetch.items') / pg_temp.v('fetch.ours'))) END),
 ('6', 'fetcher first sync: wall time', 'bare COPY of the same rows into an unlogged table',
       pg_temp.v('fetch.copy'), pg_temp.v('fetch.ours'), 's', 'info', NULL, NULL),
 ('6', format('fetcher peak RSS, %s items', coalesce(pg_temp.v('fetch.items')::text, 'N')),
       format('peak RSS at %s items', coalesce(pg_temp.v('fetch.items_small')::text, 'n')),
       pg_temp.v('fetch.rss_small'), pg_temp.v('fetch.rss_large'), 'B', 'within', 1.5, NULL);

-- ratio: baseline / ours for "faster" and informative lines (above 1 = ours
-- is better), ours / baseline for "within" lines.
CREATE TEMP VIEW report AS
SELECT no AS "#", what, baseline,
       pg_temp.fmt(b, unit) AS "baseline figure",
       pg_temp.fmt(o, unit) AS ours,
       CASE WHEN b IS NULL OR o IS NULL OR kind = 'zero' THEN '-'
            WHEN kind = 'within' THEN to_char(o / b, 'FM999999990.00') || 'x'
            WHEN o = 0 THEN 'inf'
            ELSE to_char(b / o, 'FM999999990.0') || 'x' END AS ratio,
       CASE kind WHEN 'faster' THEN '>= ' || target || 'x'
                 WHEN 'within' THEN '<= ' || target || 'x'
                 WHEN 'zero' THEN '0 B'
                 ELSE '(info)' END AS target,
       CASE WHEN kind = 'info' THEN ''
            WHEN b IS NULL OR o IS NULL THEN 'not run'
            WHEN kind = 'faster' THEN CASE WHEN o = 0 OR b / o >= target THEN 'yes' ELSE 'NO' END
            WHEN kind = 'within' THEN CASE WHEN o / b <= target THEN 'yes' ELSE 'NO' END
            WHEN kind = 'zero' THEN CASE WHEN o = 0 THEN 'yes' ELSE 'NO' END END AS "met?",
       coalesce(note, '') AS note,
       ord
  FROM (SELECT r.*, row_number() OVER (ORDER BY r.ctid) AS ord FROM rows r) r;

\if :{?format}
\else
\set format table
\endif
SELECT :'format' = 'markdown' AS markdown \gset
\if :markdown
\pset format unaligned
\pset tuples_only on
SELECT '| # | what | baseline | baseline figure | ours | ratio | target | met? |';
SELECT '|---|---|---|---|---|---|---|---|';
SELECT format('| %s | %s | %s | %s | %s | %s | %s | %s |', "#", what, baseline, "baseline figure", ours, ratio,
              target, "met?" || CASE WHEN note <> '' THEN ' (' || note || ')' ELSE '' END)
  FROM report ORDER BY ord;
\else
\pset footer off
SELECT "#", what, baseline, "baseline figure", ours, ratio, target, "met?" FROM report ORDER BY ord;
SELECT "#", what, note FROM report WHERE note <> '' ORDER BY ord;
\endif
