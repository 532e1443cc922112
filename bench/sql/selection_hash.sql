-- Row 1: inventory.selection_hash against the same canonical form in PL/pgSQL
-- (bench.pl_selection_hash) and two floors that do not canonicalize at all:
-- sha256(doc::text) and jsonb_hash_extended(doc, 0).
-- Variables: n (documents), reps (timed repetitions), reps_slow (for the baseline).
\set ON_ERROR_STOP 1
SET client_min_messages = warning;

CREATE TABLE bench.sel_docs AS SELECT * FROM bench.make_selections(:n);
VACUUM ANALYZE bench.sel_docs;

-- The baseline is only a baseline if it computes the same thing: identical
-- hex on every document.
DO $$
DECLARE
    bad   bigint;
    total bigint;
    ex    jsonb;
BEGIN
    SELECT count(*) FILTER (WHERE inventory.selection_hash(doc) IS DISTINCT FROM bench.pl_selection_hash(doc)),
           count(*)
      INTO bad, total FROM bench.sel_docs;
    IF bad > 0 OR total = 0 THEN
        SELECT doc INTO ex FROM bench.sel_docs
         WHERE inventory.selection_hash(doc) IS DISTINCT FROM bench.pl_selection_hash(doc) LIMIT 1;
        RAISE EXCEPTION 'selection_hash and the PL/pgSQL baseline differ on % of % documents, e.g. %', bad, total, ex;
    END IF;
    PERFORM bench.put('sel.docs', total);
    PERFORM bench.put('sel.equal_docs', total - bad);
END
$$;

SELECT bench.put('sel.ours',
       bench.time_query('SELECT sum(length(inventory.selection_hash(doc))) FROM bench.sel_docs', :reps));
SELECT bench.put('sel.plpgsql',
       bench.time_query('SELECT sum(length(bench.pl_selection_hash(doc))) FROM bench.sel_docs', :reps_slow));
SELECT bench.put('sel.sha256',
       bench.time_query($q$SELECT sum(length(sha256(convert_to(doc::text, 'UTF8')))) FROM bench.sel_docs$q$, :reps));
SELECT bench.put('sel.jsonb_hash',
       bench.time_query('SELECT sum(jsonb_hash_extended(doc, 0)) FROM bench.sel_docs', :reps));
