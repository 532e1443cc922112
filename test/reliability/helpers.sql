SET client_min_messages = warning;
-- Test scaffolding of the reliability suite, loaded into each of its
-- databases (schema reltest, owned by the test superuser; never part of the
-- extension).
--
--  * Ground truth: reltest.truth holds what the mock Graph server listed,
--    snapshot by snapshot, with the display name and content hash the
--    fetcher must store (computed here, in SQL, from the raw objects: a
--    second implementation of the volatile-key stripping and the extension's
--    canonical JSON).
--  * Invariants: reltest.check_* compare inventory.inventory_items with the
--    truth and with the previous round, and return the violations.
--  * Kill points: reltest.wait_for() polls pg_stat_activity (or any
--    condition) every millisecond, so the shell can kill -9 the fetcher
--    while it is inside a given statement.
--  * Windows: reltest.widen() adds triggers that make apply_staged,
--    complete_policy_type and finish_sync_run last a little longer, so the
--    kills land inside them (they only sleep: the statements are unchanged).

CREATE SCHEMA IF NOT EXISTS reltest;

-- Graph pages as listed (one row per page), loaded by the shell.
CREATE TABLE IF NOT EXISTS reltest.raw_pages (
    policy_type text NOT NULL,
    page_no     integer NOT NULL,
    body        jsonb NOT NULL
);

CREATE TABLE IF NOT EXISTS reltest.truth (
    snap         integer NOT NULL,
    tenant_id    uuid NOT NULL,
    policy_type  text NOT NULL,
    pos          integer NOT NULL,
    external_id  text NOT NULL,
    display_name text,
    content_hash text NOT NULL,
    odata_type   text
);
CREATE INDEX IF NOT EXISTS truth_key ON reltest.truth (tenant_id, policy_type, external_id, snap);

-- Items as they were after the previous check (for monotonicity).
CREATE TABLE IF NOT EXISTS reltest.prev_items (
    tenant_id          uuid NOT NULL,
    policy_type        text NOT NULL,
    external_id        text NOT NULL,
    first_seen_run_id  bigint NOT NULL,
    last_seen_run_id   bigint NOT NULL,
    last_seen_at       timestamptz NOT NULL,
    content_changed_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, policy_type, external_id)
);

-- The object without what the fetcher leaves out of the content hash:
-- every key containing "@odata." at any depth, and the volatile top-level keys.
CREATE OR REPLACE FUNCTION reltest.strip_annotations(doc jsonb) RETURNS jsonb
    LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE jsonb_typeof(doc)
        WHEN 'object' THEN coalesce((SELECT jsonb_object_agg(e.key, reltest.strip_annotations(e.value))
                                       FROM jsonb_each(doc) e WHERE strpos(e.key, '@odata.') = 0), '{}'::jsonb)
        WHEN 'array' THEN coalesce((SELECT jsonb_agg(reltest.strip_annotations(e.value) ORDER BY e.n)
                                      FROM jsonb_array_elements(doc) WITH ORDINALITY e(value, n)), '[]'::jsonb)
        ELSE doc END
$$;

CREATE OR REPLACE FUNCTION reltest.expected_hash(doc jsonb) RETURNS text
    LANGUAGE sql IMMUTABLE AS $$
    SELECT encode(sha256(convert_to(inventory.canonical_json(
               reltest.strip_annotations(doc) - ARRAY['lastModifiedDateTime', 'modifiedDateTime', 'version',
                   'isAssigned', 'lastSyncDateTime', 'usedLicenseCount', 'totalLicenseCount',
                   'dependentAppCount', 'supersedingAppCount', 'supersededAppCount']), 'UTF8')), 'hex')
$$;

-- The display name the fetcher stages: the registry's name field, else
-- displayName or name; NULL when that is not a string.
CREATE OR REPLACE FUNCTION reltest.expected_name(doc jsonb, name_field text) RETURNS text
    LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN jsonb_typeof(v) = 'string' THEN v #>> '{}' END
      FROM (SELECT coalesce(nullif(doc->name_field, 'null'), nullif(doc->'displayName', 'null'),
                            nullif(doc->'name', 'null')) AS v) x
$$;

-- Moves reltest.raw_pages into snapshot `snap` of the truth of `tenant`.
CREATE OR REPLACE FUNCTION reltest.load_truth(snap integer, tenant uuid) RETURNS bigint
    LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
BEGIN
    DELETE FROM reltest.truth t WHERE t.snap = load_truth.snap AND t.tenant_id = tenant;
    INSERT INTO reltest.truth (snap, tenant_id, policy_type, pos, external_id, display_name, content_hash, odata_type)
    SELECT load_truth.snap, tenant, r.policy_type, (r.page_no * 100000 + e.n)::integer, e.doc->>'id',
           reltest.expected_name(e.doc, p.name_field), reltest.expected_hash(e.doc), e.doc->>'@odata.type'
      FROM reltest.raw_pages r
      JOIN inventory.policy_types p ON p.policy_type = r.policy_type
     CROSS JOIN LATERAL jsonb_array_elements(r.body->'value') WITH ORDINALITY e(doc, n);
    GET DIAGNOSTICS n = ROW_COUNT;
    TRUNCATE reltest.raw_pages;
    RETURN n;
END
$$;

-- Waits up to `timeout_s` seconds for `cond` (a boolean SQL expression) to
-- hold, polling every millisecond with a fresh activity snapshot.
CREATE OR REPLACE FUNCTION reltest.wait_for(cond text, timeout_s double precision) RETURNS boolean
    LANGUAGE plpgsql AS $$
DECLARE
    deadline timestamptz := clock_timestamp() + make_interval(secs => timeout_s);
    ok boolean;
BEGIN
    LOOP
        PERFORM pg_stat_clear_snapshot();
        EXECUTE 'SELECT (' || cond || ')' INTO ok;
        IF ok THEN RETURN true; END IF;
        IF clock_timestamp() > deadline THEN RETURN false; END IF;
        PERFORM pg_sleep(0.001);
    END LOOP;
END
$$;

-- The fetcher's session in this database is running a statement like `pattern`.
CREATE OR REPLACE FUNCTION reltest.fetcher_in(pattern text) RETURNS boolean
    LANGUAGE sql AS $$
    SELECT EXISTS (SELECT 1 FROM pg_stat_activity a
                    WHERE a.datname = current_database() AND a.application_name = 'inventory-fetch'
                      AND a.state = 'active' AND a.query LIKE pattern)
$$;

CREATE OR REPLACE FUNCTION reltest.fetcher_pids() RETURNS integer[]
    LANGUAGE sql AS $$
    SELECT coalesce(array_agg(a.pid), '{}') FROM pg_stat_activity a
     WHERE a.datname = current_database() AND a.application_name = 'inventory-fetch'
$$;

-- Sleeps that widen the windows of the lifecycle statements.
CREATE OR REPLACE FUNCTION reltest.sleep_trigger() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_sleep(TG_ARGV[0]::double precision);
    RETURN NEW;
END
$$;

-- widen(what, seconds): what is apply, complete or finish ('' removes all).
CREATE OR REPLACE FUNCTION reltest.widen(what text, seconds double precision) RETURNS void
    LANGUAGE plpgsql AS $$
BEGIN
    DROP TRIGGER IF EXISTS reltest_apply_window ON inventory.inventory_sync_runs;
    DROP TRIGGER IF EXISTS reltest_finish_window ON inventory.inventory_sync_runs;
    DROP TRIGGER IF EXISTS reltest_complete_window ON inventory.inventory_sync_run_types;
    IF what = 'apply' THEN
        -- apply_staged ends with the counters of the run: its item writes are
        -- done (not committed) while this sleeps.
        EXECUTE format('CREATE TRIGGER reltest_apply_window BEFORE UPDATE ON inventory.inventory_sync_runs
                        FOR EACH ROW WHEN (OLD.items_observed IS DISTINCT FROM NEW.items_observed)
                        EXECUTE FUNCTION reltest.sleep_trigger(%L)', seconds);
    ELSIF what = 'finish' THEN
        EXECUTE format('CREATE TRIGGER reltest_finish_window BEFORE UPDATE ON inventory.inventory_sync_runs
                        FOR EACH ROW WHEN (OLD.status = ''running'' AND NEW.status <> ''running'')
                        EXECUTE FUNCTION reltest.sleep_trigger(%L)', seconds);
    ELSIF what = 'complete' THEN
        EXECUTE format('CREATE TRIGGER reltest_complete_window BEFORE INSERT ON inventory.inventory_sync_run_types
                        FOR EACH ROW WHEN (NEW.error_code IS DISTINCT FROM ''run_abandoned'')
                        EXECUTE FUNCTION reltest.sleep_trigger(%L)', seconds);
    END IF;
END
$$;

-- Violations of the invariants that hold at every moment (after a crash too),
-- for one tenant: (check, detail) rows; none when all is well.
--   duplicate      an item listed twice
--   invented       an item (or a name/hash of it) the upstream never listed
--   lost           an item stored before is gone
--   seen_backwards last_seen_run_id / last_seen_at moved to an older run
--   first_changed  first_seen_run_id changed
--   changed_back   content_changed_at moved backwards
CREATE OR REPLACE FUNCTION reltest.check_always(tenant uuid) RETURNS TABLE (check_name text, detail text)
    LANGUAGE sql AS $$
    SELECT 'duplicate', i.policy_type || '/' || i.external_id
      FROM inventory.inventory_items i WHERE i.tenant_id = tenant
     GROUP BY i.policy_type, i.external_id HAVING count(*) > 1
    UNION ALL
    SELECT 'invented', i.policy_type || '/' || i.external_id || ' ' || coalesce(i.display_name, '<null>')
      FROM inventory.inventory_items i
     WHERE i.tenant_id = tenant
       AND NOT EXISTS (SELECT 1 FROM reltest.truth t
                        WHERE t.tenant_id = tenant AND t.policy_type = i.policy_type
                          AND t.external_id = i.external_id
                          AND t.display_name IS NOT DISTINCT FROM i.display_name
                          AND t.content_hash = i.content_hash)
    UNION ALL
    SELECT 'lost', p.policy_type || '/' || p.external_id
      FROM reltest.prev_items p
     WHERE p.tenant_id = tenant
       AND NOT EXISTS (SELECT 1 FROM inventory.inventory_items i
                        WHERE i.tenant_id = p.tenant_id AND i.policy_type = p.policy_type
                          AND i.external_id = p.external_id)
    UNION ALL
    SELECT CASE WHEN i.first_seen_run_id <> p.first_seen_run_id THEN 'first_changed'
                WHEN i.content_changed_at < p.content_changed_at THEN 'changed_back'
                ELSE 'seen_backwards' END,
           p.policy_type || '/' || p.external_id || ' run ' || p.last_seen_run_id || ' -> ' || i.last_seen_run_id
      FROM reltest.prev_items p
      JOIN inventory.inventory_items i
        ON i.tenant_id = p.tenant_id AND i.policy_type = p.policy_type AND i.external_id = p.external_id
     WHERE p.tenant_id = tenant
       AND (i.last_seen_run_id < p.last_seen_run_id OR i.last_seen_at < p.last_seen_at
            OR i.first_seen_run_id <> p.first_seen_run_id OR i.content_changed_at < p.content_changed_at)
    UNION ALL
    -- The history holds each applied change once and nothing else: one new
    -- row per item, by the run that first saw it; no change twice in a run;
    -- the newest row of an item says what its row says (name, content,
    -- present or not).
    SELECT 'history_duplicate', c.policy_type || '/' || c.external_id || ' ' || c.change || ' run ' || c.run_id
      FROM inventory.item_changes c WHERE c.tenant_id = tenant
     GROUP BY c.policy_type, c.external_id, c.change, c.run_id HAVING count(*) > 1
    UNION ALL
    SELECT 'history_no_new', i.policy_type || '/' || i.external_id
      FROM inventory.inventory_items i
     WHERE i.tenant_id = tenant
       AND NOT EXISTS (SELECT 1 FROM inventory.item_changes c
                        WHERE c.tenant_id = i.tenant_id AND c.item_id = i.id AND c.change = 'new'
                          AND c.run_id = i.first_seen_run_id)
    UNION ALL
    SELECT 'history_disagrees', i.policy_type || '/' || i.external_id || ' newest ' || h.change
      FROM inventory.inventory_items i
      JOIN (SELECT DISTINCT ON (c.item_id) c.item_id, c.change, c.new_display_name, c.new_content_hash
              FROM inventory.item_changes c WHERE c.tenant_id = tenant
             ORDER BY c.item_id, c.id DESC) h ON h.item_id = i.id
     WHERE i.tenant_id = tenant
       AND (CASE WHEN h.change IN ('gone', 'deleted') THEN i.present
                 ELSE NOT i.present OR h.new_display_name IS DISTINCT FROM i.display_name
                      OR h.new_content_hash IS DISTINCT FROM i.content_hash END)
$$;

-- Violations after a clean run `run` of `tenant` whose upstream was truth
-- snapshot `snap`, for the policy types `types` (which the run enumerated
-- completely; with must_succeed the run itself must have succeeded):
--   not_present    a listed item missing, stored twice, or not marked present
--   wrong_content  display name, content hash or odata type differ
--   not_seen       a listed item whose last_seen_run_id is not the run
--   present_gone   an item the upstream no longer lists is still present
--   missing_wrong  the missing_items view disagrees (set or confidence)
--   run_state      a run of the tenant is still running, or this run did not succeed
CREATE OR REPLACE FUNCTION reltest.check_clean(tenant uuid, snap integer, run bigint, types text[],
                                               must_succeed boolean DEFAULT true)
    RETURNS TABLE (check_name text, detail text)
    LANGUAGE sql AS $$
    WITH t AS (SELECT * FROM reltest.truth t WHERE t.tenant_id = tenant AND t.snap = check_clean.snap
                                             AND t.policy_type = ANY (types)),
         i AS (SELECT * FROM inventory.inventory_items i WHERE i.tenant_id = tenant AND i.policy_type = ANY (types)),
         sel AS (SELECT r.selection_hash FROM inventory.inventory_sync_runs r WHERE r.id = run)
    SELECT 'not_present', t.policy_type || '/' || t.external_id
      FROM t WHERE (SELECT count(*) FROM i WHERE i.policy_type = t.policy_type AND i.external_id = t.external_id
                                          AND i.present) <> 1
    UNION ALL
    SELECT 'wrong_content', t.policy_type || '/' || t.external_id || ': ' || coalesce(i.display_name, '<null>')
           || ' / ' || coalesce(t.display_name, '<null>')
      FROM t JOIN i ON i.policy_type = t.policy_type AND i.external_id = t.external_id
     WHERE i.display_name IS DISTINCT FROM t.display_name OR i.content_hash IS DISTINCT FROM t.content_hash
        OR i.meta_jsonb->>'odata_type' IS DISTINCT FROM t.odata_type
    UNION ALL
    SELECT 'not_seen', t.policy_type || '/' || t.external_id || ' last seen by ' || i.last_seen_run_id
      FROM t JOIN i ON i.policy_type = t.policy_type AND i.external_id = t.external_id
     WHERE i.last_seen_run_id <> run
    UNION ALL
    SELECT 'present_gone', i.policy_type || '/' || i.external_id
      FROM i WHERE i.present AND NOT EXISTS (SELECT 1 FROM t WHERE t.policy_type = i.policy_type
                                                              AND t.external_id = i.external_id)
    UNION ALL
    (SELECT 'missing_wrong', i.policy_type || '/' || i.external_id
       FROM i WHERE NOT EXISTS (SELECT 1 FROM t WHERE t.policy_type = i.policy_type AND t.external_id = i.external_id)
     EXCEPT
     SELECT 'missing_wrong', m.policy_type || '/' || m.external_id
       FROM inventory.missing_items m, sel
      WHERE m.tenant_id = tenant AND m.selection_hash = sel.selection_hash
        AND (m.confidence = 'high' OR NOT must_succeed) AND m.latest_run_id = run)
    UNION ALL
    SELECT 'missing_wrong', m.policy_type || '/' || m.external_id || ' listed but missing'
      FROM inventory.missing_items m, sel, t
     WHERE m.tenant_id = tenant AND m.selection_hash = sel.selection_hash
       AND t.policy_type = m.policy_type AND t.external_id = m.external_id
    UNION ALL
    SELECT 'run_state', 'run ' || r.id || ' ' || r.status
      FROM inventory.inventory_sync_runs r
     WHERE r.tenant_id = tenant AND (r.status = 'running' OR (must_succeed AND r.id = run AND r.status <> 'succeeded'))
$$;

-- Remembers the items of `tenant` for the next check_always.
CREATE OR REPLACE FUNCTION reltest.remember(tenant uuid) RETURNS void
    LANGUAGE sql AS $$
    DELETE FROM reltest.prev_items p WHERE p.tenant_id = tenant;
    INSERT INTO reltest.prev_items
    SELECT i.tenant_id, i.policy_type, i.external_id, i.first_seen_run_id, i.last_seen_run_id, i.last_seen_at,
           i.content_changed_at
      FROM inventory.inventory_items i WHERE i.tenant_id = tenant;
$$;
