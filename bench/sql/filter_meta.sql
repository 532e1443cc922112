-- Row 2: inventory.filter_meta(meta, allowed) against the best plain-SQL
-- whitelist, meta minus the array of its keys that are not allowed (two
-- spellings; the faster one is the baseline). The SQL versions only filter
-- keys; filter_meta also checks every kept value's kind and limits.
-- Variables: n (documents), reps.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;

CREATE TABLE bench.meta_docs AS SELECT * FROM bench.make_meta(:n);
VACUUM ANALYZE bench.meta_docs;

SELECT jsonb_object_agg(key, kind) AS allowed, array_agg(key ORDER BY key)::text AS allowed_keys
  FROM inventory.meta_keys \gset

-- Same job: filter_meta keeps a subset of what the key filter keeps (the
-- values it drops have the wrong kind), and drops something on every document.
DO $$
DECLARE
    allowed jsonb := (SELECT jsonb_object_agg(key, kind) FROM inventory.meta_keys);
    bad     bigint;
    same    bigint;
BEGIN
    SELECT count(*) FILTER (WHERE NOT (meta - ARRAY(SELECT k FROM jsonb_object_keys(meta) k WHERE NOT allowed ? k))
                                      @> inventory.filter_meta(meta, allowed)),
           count(*) FILTER (WHERE inventory.filter_meta(meta, allowed) = meta)
      INTO bad, same FROM bench.meta_docs;
    IF bad > 0 OR same > 0 THEN
        RAISE EXCEPTION 'filter_meta and the SQL key filter disagree (% not contained, % unfiltered)', bad, same;
    END IF;
    PERFORM bench.put('meta.docs', (SELECT count(*) FROM bench.meta_docs));
    PERFORM bench.put('meta.avg_keys', (SELECT avg((SELECT count(*) FROM jsonb_object_keys(meta))) FROM bench.meta_docs));
END
$$;

SELECT bench.put('meta.ours', bench.time_query(format(
       'SELECT sum(pg_column_size(inventory.filter_meta(meta, %L::jsonb))) FROM bench.meta_docs', :'allowed'), :reps));
SELECT bench.put('meta.sql_jsonb', bench.time_query(format(
       'SELECT sum(pg_column_size(meta - ARRAY(SELECT k FROM jsonb_object_keys(meta) k WHERE NOT %L::jsonb ? k))) FROM bench.meta_docs',
       :'allowed'), :reps));
SELECT bench.put('meta.sql_array', bench.time_query(format(
       'SELECT sum(pg_column_size(meta - ARRAY(SELECT k FROM jsonb_object_keys(meta) k WHERE k <> ALL (%L::text[])))) FROM bench.meta_docs',
       :'allowed_keys'), :reps));
SELECT bench.put('meta.sql',
       least((SELECT value FROM bench.measure WHERE key = 'meta.sql_jsonb'),
             (SELECT value FROM bench.measure WHERE key = 'meta.sql_array')),
       CASE WHEN (SELECT value FROM bench.measure WHERE key = 'meta.sql_jsonb')
                 <= (SELECT value FROM bench.measure WHERE key = 'meta.sql_array')
            THEN 'meta - ARRAY(keys WHERE NOT allowed ? key)' ELSE 'meta - ARRAY(keys WHERE key <> ALL (allowed keys))' END);
SELECT bench.put('meta.scan', bench.time_query(
       'SELECT sum(pg_column_size(meta)) FROM bench.meta_docs', :reps));
