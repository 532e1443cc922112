--------------------------------------------------------------------------------
-- Run lifecycle (internal helpers)
--------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION inventory.filter_meta(meta jsonb) RETURNS jsonb
    LANGUAGE sql STABLE PARALLEL SAFE
    SET search_path = inventory, pg_catalog, pg_temp
    AS $$
    SELECT inventory.filter_meta(meta,
        (SELECT coalesce(jsonb_object_agg(k.key, k.kind), '{}'::jsonb) FROM inventory.meta_keys k))
$$;
COMMENT ON FUNCTION inventory.filter_meta(jsonb) IS
'inventory.filter_meta(meta, allowed) with the whitelist of table inventory.meta_keys.';


-- Validates a selection and returns its policy types (sorted, distinct).
CREATE OR REPLACE FUNCTION inventory._selection_policy_types(selection jsonb) RETURNS text[]
    LANGUAGE plpgsql STABLE
    SET search_path = inventory, pg_catalog, pg_temp
    AS $$
DECLARE
    v_types text[];
    v_bad   text;
    v_row   inventory.policy_types;
BEGIN
    IF selection IS NULL THEN
        RAISE EXCEPTION 'selection must not be null' USING ERRCODE = '22023';
    END IF;
    IF jsonb_typeof(selection) <> 'object' THEN
        RAISE EXCEPTION 'selection must be a JSON object, not %', jsonb_typeof(selection)
            USING ERRCODE = '22023',
                  HINT = 'Example: {"policy_types": ["deviceConfiguration", "configurationPolicy"]}';
    END IF;
    IF NOT selection ? 'policy_types' THEN
        RAISE EXCEPTION 'selection has no policy_types'
            USING ERRCODE = '22023',
                  HINT = 'Example: {"policy_types": ["deviceConfiguration", "configurationPolicy"]}';
    END IF;
    IF jsonb_typeof(selection->'policy_types') <> 'array' THEN
        RAISE EXCEPTION 'selection policy_types must be an array, not %', jsonb_typeof(selection->'policy_types')
            USING ERRCODE = '22023';
    END IF;
    IF jsonb_array_length(selection->'policy_types') = 0 THEN
        RAISE EXCEPTION 'selection policy_types must not be empty' USING ERRCODE = '22023';
    END IF;
    SELECT e::text INTO v_bad
      FROM jsonb_array_elements(selection->'policy_types') e
     WHERE jsonb_typeof(e) <> 'string' LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'selection policy_types must contain only strings, found %', v_bad
            USING ERRCODE = '22023';
    END IF;
    SELECT array_agg(DISTINCT t ORDER BY t) INTO v_types
      FROM jsonb_array_elements_text(selection->'policy_types') t;
    FOR i IN 1 .. array_length(v_types, 1) LOOP
        SELECT * INTO v_row FROM inventory.policy_types p WHERE p.policy_type = v_types[i];
        IF NOT FOUND THEN
            RAISE EXCEPTION 'selection names unknown policy type "%"', v_types[i]
                USING ERRCODE = '22023',
                      HINT = 'Registered types are listed in inventory.policy_types; adding one is an INSERT.';
        END IF;
        IF NOT v_row.enabled THEN
            RAISE EXCEPTION 'selection names disabled policy type "%"', v_types[i]
                USING ERRCODE = '22023';
        END IF;
    END LOOP;
    RETURN v_types;
END
$$;
COMMENT ON FUNCTION inventory._selection_policy_types(jsonb) IS
'Internal: validates a selection (SQLSTATE 22023 naming the problem) and returns its policy types, sorted and distinct.';

-- The run this session owns, checked on every lifecycle call; SQLSTATE 55000
-- otherwise. The session's claim lives in backend memory (set only by
-- begin_sync_run), so the message is the same whether a run of another id
-- exists or not, and whoever it belongs to.
CREATE OR REPLACE FUNCTION inventory._owned_run(p_run_id bigint, p_need_staging boolean DEFAULT true)
    RETURNS inventory.inventory_sync_runs
    LANGUAGE plpgsql
    SET search_path = inventory, pg_catalog, pg_temp
    AS $$
DECLARE
    v_run    inventory.inventory_sync_runs;
    v_tenant uuid := inventory._session_tenant();
    -- Values, not calls: on Citus a call in a statement on a distributed
    -- table runs on the worker, whose backend is not this one.
    v_pid    integer := pg_catalog.pg_backend_pid();
BEGIN
    IF p_run_id IS NULL THEN
        RAISE EXCEPTION 'run id must not be null' USING ERRCODE = '22004';
    END IF;
    IF p_run_id IS DISTINCT FROM inventory._session_run_id() THEN
        RAISE EXCEPTION 'sync run % is not the running run of this session', p_run_id
            USING ERRCODE = '55000',
                  HINT = 'Only the session that called begin_sync_run may write to its run.';
    END IF;
    SELECT * INTO v_run FROM inventory.inventory_sync_runs r
     WHERE r.tenant_id = v_tenant AND r.id = p_run_id AND r.owner_pid = v_pid;
    IF NOT FOUND THEN
        -- begin_sync_run's transaction did not commit.
        RAISE EXCEPTION 'sync run % is not the running run of this session', p_run_id
            USING ERRCODE = '55000',
                  HINT = 'Only the session that called begin_sync_run may write to its run.';
    END IF;
    IF v_run.status <> 'running' THEN
        RAISE EXCEPTION 'sync run % is not running (status %)', p_run_id, v_run.status
            USING ERRCODE = '55000',
                  DETAIL = CASE WHEN 'run_abandoned' = ANY (v_run.error_codes)
                                THEN 'The run was marked abandoned because its session no longer held the run lock.'
                                ELSE pg_catalog.format('The run finished at %s.', v_run.finished_at) END;
    END IF;
    IF NOT inventory._run_lock(v_run.tenant_id, v_run.selection_hash, false) THEN
        RAISE EXCEPTION 'this session no longer holds the lock of sync run %', p_run_id
            USING ERRCODE = '55000',
                  DETAIL = 'The run lock was released (pg_advisory_unlock_all or DISCARD ALL release it too); another session may take the run over.',
                  HINT = 'Begin a new run.';
    END IF;
    IF NOT inventory._may_sync(v_run.tenant_id) THEN
        RAISE EXCEPTION 'role "%" may no longer sync tenant %', inventory._outer_user(), v_run.tenant_id
            USING ERRCODE = '42501';
    END IF;
    IF p_need_staging AND NOT inventory._staging_intact() THEN
        RAISE EXCEPTION 'the staging tables of sync run % were dropped or replaced', p_run_id
            USING ERRCODE = '55000',
                  DETAIL = 'Only the tables begin_sync_run created are read (DISCARD TEMP drops them).',
                  HINT = 'finish_sync_run records the run as failed (staging_lost); then begin a new run.';
    END IF;
    RETURN v_run;
END
$$;
COMMENT ON FUNCTION inventory._owned_run(bigint, boolean) IS
'Internal fencing: returns the run when it is this session''s running run, the session still holds its lock, the caller may still sync its tenant and (unless told otherwise) the staging tables are the ones begin_sync_run created; raises SQLSTATE 55000 (42501 for a revoked tenant) otherwise.';

-- Creates (once per session) and empties the session's staging tables, as
-- the extension owner: the calling role gets INSERT on staged_items only, so
-- it cannot attach triggers, rules, policies, constraints, defaults or
-- indexes to them. Tables of these names that anyone else created are
-- refused; _bind_run pins the OIDs and every later call checks them.
CREATE OR REPLACE FUNCTION inventory._prepare_staging(caller name) RETURNS void
    LANGUAGE plpgsql
    SET search_path = inventory, pg_catalog, pg_temp
    AS $$
DECLARE
    v_foreign text;
BEGIN
    SELECT string_agg(c.relname, ', ' ORDER BY c.relname) INTO v_foreign
      FROM pg_catalog.pg_class c
     WHERE c.relnamespace = pg_catalog.pg_my_temp_schema()
       AND c.relname IN ('staged_items', 'inventory_run_seen', 'inventory_pending')
       AND (c.relowner <> (SELECT r.oid FROM pg_catalog.pg_roles r WHERE r.rolname = current_user)
            OR c.relkind <> 'r' OR c.relhastriggers OR c.relhasrules OR c.relrowsecurity
            OR c.relchecks > 0 OR c.relhasindex);
    IF v_foreign IS NOT NULL THEN
        RAISE EXCEPTION 'temporary relation(s) % exist and were not created by begin_sync_run', v_foreign
            USING ERRCODE = '42501',
                  HINT = 'Drop them; begin_sync_run creates the staging tables itself.';
    END IF;
    IF pg_catalog.to_regclass('pg_temp.staged_items') IS NULL THEN
        CREATE TEMP TABLE staged_items (
            policy_type  text,
            external_id  text,
            display_name text,
            meta_jsonb   jsonb,
            content_hash text
        );
    END IF;
    IF pg_catalog.to_regclass('pg_temp.inventory_run_seen') IS NULL THEN
        CREATE TEMP TABLE inventory_run_seen (
            policy_type  text NOT NULL,
            item_id      bigint NOT NULL
        );
    END IF;
    IF pg_catalog.to_regclass('pg_temp.inventory_pending') IS NULL THEN
        CREATE TEMP TABLE inventory_pending (
            policy_type  text NOT NULL,
            external_id  text NOT NULL,
            display_name text,
            meta_jsonb   jsonb NOT NULL,
            content_hash text
        );
    END IF;
    TRUNCATE pg_temp.staged_items, pg_temp.inventory_run_seen, pg_temp.inventory_pending;
    IF caller <> current_user
       AND NOT pg_catalog.has_table_privilege(caller, 'pg_temp.staged_items', 'INSERT') THEN
        EXECUTE pg_catalog.format('GRANT INSERT ON pg_temp.staged_items TO %I', caller);
    END IF;
END
$$;
COMMENT ON FUNCTION inventory._prepare_staging(name) IS
'Internal: creates or empties pg_temp.staged_items (the COPY target) and the run''s private bookkeeping tables, as the extension owner; refuses tables of those names that begin_sync_run did not create.';

-- Marks the running runs of (tenant, selection) failed with run_abandoned.
-- The caller holds their run lock, so their sessions are gone.
CREATE OR REPLACE FUNCTION inventory._abandon_runs(p_tenant uuid, p_hash text) RETURNS integer
    LANGUAGE plpgsql
    SET search_path = inventory, pg_catalog, pg_temp
    AS $$
DECLARE
    v_now timestamptz := clock_timestamp();
    v_n   integer;
BEGIN
    INSERT INTO inventory.inventory_sync_run_types AS t
           (tenant_id, run_id, policy_type, status, error_code, completed_at)
    SELECT r.tenant_id, r.id, pt, 'failed', 'run_abandoned', v_now
      FROM inventory.inventory_sync_runs r, unnest(r.policy_types) pt
     WHERE r.tenant_id = p_tenant AND r.selection_hash = p_hash AND r.status = 'running'
    ON CONFLICT DO NOTHING;
    UPDATE inventory.inventory_sync_runs r
       SET status = 'failed',
           had_errors = true,
           finished_at = v_now,
           error_codes = ARRAY(SELECT DISTINCT c FROM unnest(r.error_codes || 'run_abandoned'::text) c ORDER BY c),
           errors = r.errors || jsonb_build_array(jsonb_build_object(
               'code', 'run_abandoned',
               'message', 'the session that owned the run ended before finishing it',
               'at', to_jsonb(v_now)))
     WHERE r.tenant_id = p_tenant AND r.selection_hash = p_hash AND r.status = 'running';
    GET DIAGNOSTICS v_n = ROW_COUNT;
    RETURN v_n;
END
$$;
COMMENT ON FUNCTION inventory._abandon_runs(uuid, text) IS
'Internal: marks the running runs of a tenant and selection failed with run_abandoned (the caller holds their run lock); returns how many.';

CREATE OR REPLACE FUNCTION inventory._staged_row_problem(policy_type text, external_id text, content_hash text,
                                             run_types text[], done_types text[]) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    SELECT CASE
             WHEN external_id IS NULL OR external_id = '' THEN 'empty external_id'
             -- A key a B-tree cannot hold would fail the whole batch (54000).
             WHEN octet_length(external_id) > 1024 THEN 'external_id longer than 1024 bytes'
             WHEN policy_type IS NULL OR NOT policy_type = ANY (run_types)
               THEN 'policy type not in the run''s selection'
             WHEN policy_type = ANY (done_types) THEN 'policy type already completed in this run'
             WHEN content_hash IS NOT NULL
                  AND (length(content_hash) <> 64 OR content_hash ~ '[^0-9a-fA-F]')
               THEN 'content_hash is not 64 hex digits'
           END
$$;
COMMENT ON FUNCTION inventory._staged_row_problem(text, text, text, text[], text[]) IS
'Internal: why a staged row cannot be applied (NULL when it can): empty or over-long (> 1024 bytes) external_id, a policy type outside the run''s selection or already completed, a malformed content hash.';

-- Applies every row of pg_temp.staged_items to the run. One set-based
-- statement classifies the rows; only new, changed, returning or late-seen
-- items are written. Returns the number of staged rows consumed.
CREATE OR REPLACE FUNCTION inventory._apply_staged(v_run inventory.inventory_sync_runs) RETURNS bigint
    LANGUAGE plpgsql
    SET search_path = inventory, pg_catalog, pg_temp
    -- Plans are made for the batch at hand (a generic plan would be made for
    -- a guessed tenant size); the statements below are written so that item
    -- rows are only ever reached through their primary key.
    SET plan_cache_mode = force_custom_plan
    AS $$
DECLARE
    -- Plain variables: record fields would be fetched again for every row.
    v_tenant   uuid := v_run.tenant_id;
    v_run_id   bigint := v_run.id;
    v_types    text[] := v_run.policy_types;
    v_allowed  jsonb;
    v_done     text[];
    v_type     text;
    v_seq      bigint;
    v_now      timestamptz := clock_timestamp();
    v_rows     bigint;
    v_count    bigint;
    v_observed bigint;
    v_created  bigint;
    v_pending  bigint;
    v_updated  bigint;
    v_written  bigint;
    v_dropped  bigint;
    v_rejected bigint;
    v_samples  jsonb;
    v_p_type   text[];
    v_p_id     text[];
    v_p_name   text[];
    v_p_meta   jsonb[];
    v_p_hash   text[];
BEGIN
    SELECT coalesce(array_agg(t.policy_type), '{}') INTO v_done
      FROM inventory.inventory_sync_run_types t
     WHERE t.tenant_id = v_tenant AND t.run_id = v_run_id;

    -- One pass over the batch counts its rows and finds its types (hashed:
    -- a batch is mostly one type). Writers of a (tenant, type) share its
    -- lock; a completing enumeration takes it exclusively. Taken in sorted
    -- order.
    v_rows := 0;
    FOR v_type, v_count IN
        SELECT x.policy_type, x.n
          FROM (SELECT s.policy_type, count(*) AS n FROM pg_temp.staged_items s GROUP BY s.policy_type) x
         ORDER BY x.policy_type
    LOOP
        v_rows := v_rows + v_count;
        IF v_type = ANY (v_types) AND NOT v_type = ANY (v_done) THEN
            PERFORM inventory._lock_policy_type(v_tenant, v_type, false);
        END IF;
    END LOOP;
    IF v_rows = 0 THEN
        RETURN 0;
    END IF;
    SELECT coalesce(jsonb_object_agg(k.key, k.kind), '{}'::jsonb) INTO v_allowed FROM inventory.meta_keys k;
    v_seq := nextval('inventory.write_seq');

    WITH wm AS MATERIALIZED (
        SELECT w.policy_type, w.run_id, w.seq FROM inventory.type_watermarks w WHERE w.tenant_id = v_tenant
    ), good AS (
        -- The last row of a key wins; DISTINCT ON keeps filter_meta_counted
        -- to one call per row.
        -- Byte order: keys are only compared for equality here, and a sort
        -- in "C" uses abbreviated keys (a sort in a libc locale does not).
        SELECT DISTINCT ON (g.policy_type COLLATE "C", g.external_id COLLATE "C")
               g.policy_type, g.external_id, g.display_name, lower(g.content_hash COLLATE "C") AS content_hash,
               g.meta_jsonb
          FROM pg_temp.staged_items g
         WHERE inventory._staged_row_problem(g.policy_type, g.external_id, g.content_hash, v_types, v_done) IS NULL
         ORDER BY g.policy_type COLLATE "C", g.external_id COLLATE "C", g.ctid DESC
    ), good_fm AS (
        -- One whitelist call per key, its two results as columns (an
        -- anonymous record crossing CTEs cannot be shipped by Citus).
        SELECT g.policy_type, g.external_id, g.display_name, g.content_hash, fm.meta, fm.dropped
          FROM good g
         CROSS JOIN LATERAL inventory.filter_meta_counted(g.meta_jsonb, v_allowed) fm
    ), cls AS (
        SELECT g.policy_type, g.external_id, g.display_name, g.meta, g.dropped, g.content_hash,
               i.id AS item_id,
               (i.id IS NOT NULL AND (
                   (i.absent_since_run_id IS NOT NULL
                     AND (i.absent_since_run_id < v_run_id OR i.seen_run_id < v_run_id))
                OR (i.absent_since_run_id IS NULL
                     AND CASE WHEN w.seq > i.write_seq AND w.run_id > i.seen_run_id
                              THEN w.run_id ELSE i.seen_run_id END <= v_run_id
                     AND (i.display_name IS DISTINCT FROM g.display_name
                          OR i.meta_jsonb IS DISTINCT FROM g.meta
                          OR i.content_hash IS DISTINCT FROM g.content_hash))
               )) AS needs_write
          FROM good_fm g
          -- One primary-key probe per staged row, whatever the statistics say.
          LEFT JOIN LATERAL (SELECT i.* FROM inventory.item_state i
                              WHERE i.tenant_id = v_tenant AND i.policy_type = g.policy_type
                                AND i.external_id = g.external_id OFFSET 0) i ON true
          LEFT JOIN wm w ON w.policy_type = g.policy_type
    ), ins AS (
        INSERT INTO inventory.item_state AS i
               (tenant_id, policy_type, external_id, display_name, meta_jsonb, content_hash,
                first_seen_at, first_seen_run_id, seen_at, seen_run_id, content_changed_at,
                content_changed_run_id, write_seq)
        SELECT v_tenant, c.policy_type, c.external_id, c.display_name, c.meta, c.content_hash,
               v_now, v_run_id, v_now, v_run_id, v_now, v_run_id, v_seq
          FROM cls c
         WHERE c.item_id IS NULL
         ORDER BY c.policy_type, c.external_id
        -- Another run of the tenant inserted the item since this statement
        -- started: record this observation when it is the newer one.
        ON CONFLICT (tenant_id, policy_type, external_id) DO UPDATE
           SET display_name = excluded.display_name,
               meta_jsonb = excluded.meta_jsonb,
               content_hash = excluded.content_hash,
               content_changed_at = CASE WHEN i.content_hash IS DISTINCT FROM excluded.content_hash
                                         THEN excluded.content_changed_at ELSE i.content_changed_at END,
               content_changed_run_id = CASE WHEN i.content_hash IS DISTINCT FROM excluded.content_hash
                                             THEN excluded.content_changed_run_id ELSE i.content_changed_run_id END,
               seen_at = excluded.seen_at,
               seen_run_id = excluded.seen_run_id,
               write_seq = excluded.write_seq
         WHERE i.seen_run_id < excluded.seen_run_id AND i.absent_since_run_id IS NULL
        RETURNING (i.xmax = 0) AS inserted
    ), seen AS (
        INSERT INTO pg_temp.inventory_run_seen (policy_type, item_id)
        SELECT c.policy_type, c.item_id FROM cls c WHERE c.item_id IS NOT NULL
    ), pend AS (
        INSERT INTO pg_temp.inventory_pending (policy_type, external_id, display_name, meta_jsonb, content_hash)
        SELECT c.policy_type, c.external_id, c.display_name, c.meta, c.content_hash
          FROM cls c WHERE c.needs_write
    )
    SELECT (SELECT count(*) FROM cls),
           (SELECT count(*) FROM ins WHERE inserted),
           (SELECT count(*) FROM cls WHERE needs_write) + (SELECT count(*) FROM ins WHERE NOT inserted),
           (SELECT coalesce(sum(dropped), 0) FROM cls)
      INTO v_observed, v_created, v_updated, v_dropped;
    SELECT count(*) INTO v_pending FROM pg_temp.inventory_pending;

    -- Rows that cannot be applied are counted and sampled into the run's
    -- errors. Only a batch with fewer good keys than rows (bad rows or
    -- repeated keys) needs the second look.
    v_rejected := 0;
    IF v_observed < v_rows THEN
        SELECT count(*) INTO v_rejected FROM pg_temp.staged_items s
         WHERE inventory._staged_row_problem(s.policy_type, s.external_id, s.content_hash, v_types, v_done) IS NOT NULL;
    END IF;
    IF v_rejected > 0 THEN
        SELECT jsonb_agg(jsonb_build_object('code', 'bad_staged_row', 'policy_type', left(x.policy_type, 100),
                                            'external_id', left(x.external_id, 200), 'message', x.problem))
          INTO v_samples
          FROM (SELECT y.* FROM (SELECT s.policy_type, s.external_id,
                                        inventory._staged_row_problem(s.policy_type, s.external_id, s.content_hash,
                                                                      v_types, v_done) AS problem
                                   FROM pg_temp.staged_items s) y
                 WHERE y.problem IS NOT NULL LIMIT 5) x;
    END IF;

    IF v_pending > 0 THEN
        -- The rows to write (as many as changed), as values: on Citus a
        -- modification cannot join this session's temporary tables.
        SELECT array_agg(p.policy_type ORDER BY p.policy_type COLLATE "C", p.external_id COLLATE "C"),
               array_agg(p.external_id ORDER BY p.policy_type COLLATE "C", p.external_id COLLATE "C"),
               array_agg(p.display_name ORDER BY p.policy_type COLLATE "C", p.external_id COLLATE "C"),
               array_agg(p.meta_jsonb ORDER BY p.policy_type COLLATE "C", p.external_id COLLATE "C"),
               array_agg(p.content_hash ORDER BY p.policy_type COLLATE "C", p.external_id COLLATE "C")
          INTO v_p_type, v_p_id, v_p_name, v_p_meta, v_p_hash
          FROM pg_temp.inventory_pending p;
        TRUNCATE pg_temp.inventory_pending;
        -- Lock them in key order (concurrent runs of a tenant cannot
        -- deadlock), then write them; the conditions are re-checked on the
        -- current row versions.
        PERFORM 1 FROM inventory.item_state i
          JOIN unnest(v_p_type, v_p_id) k(policy_type, external_id)
            ON i.policy_type = k.policy_type AND i.external_id = k.external_id
         WHERE i.tenant_id = v_tenant
         ORDER BY i.policy_type COLLATE "C", i.external_id COLLATE "C"
           FOR UPDATE OF i;

        UPDATE inventory.item_state i
           SET display_name = p.display_name,
               meta_jsonb = p.meta_jsonb,
               content_hash = p.content_hash,
               content_changed_at = CASE WHEN i.content_hash IS DISTINCT FROM p.content_hash
                                         THEN v_now ELSE i.content_changed_at END,
               content_changed_run_id = CASE WHEN i.content_hash IS DISTINCT FROM p.content_hash
                                             THEN v_run_id ELSE i.content_changed_run_id END,
               seen_at = v_now,
               seen_run_id = v_run_id,
               absent_since_run_id = CASE WHEN i.absent_since_run_id < v_run_id
                                          THEN NULL ELSE i.absent_since_run_id END,
               write_seq = v_seq
          FROM unnest(v_p_type, v_p_id, v_p_name, v_p_meta, v_p_hash)
               AS p(policy_type, external_id, display_name, meta_jsonb, content_hash)
          LEFT JOIN inventory.type_watermarks w
                 ON w.tenant_id = v_tenant AND w.policy_type = p.policy_type
         WHERE i.tenant_id = v_tenant AND i.policy_type = p.policy_type
           AND i.external_id = p.external_id
           AND ((i.absent_since_run_id IS NOT NULL
                  AND (i.absent_since_run_id < v_run_id OR i.seen_run_id < v_run_id))
             OR (i.absent_since_run_id IS NULL
                  AND CASE WHEN w.seq > i.write_seq AND w.run_id > i.seen_run_id
                           THEN w.run_id ELSE i.seen_run_id END <= v_run_id
                  AND (i.display_name IS DISTINCT FROM p.display_name
                       OR i.meta_jsonb IS DISTINCT FROM p.meta_jsonb
                       OR i.content_hash IS DISTINCT FROM p.content_hash)));
        GET DIAGNOSTICS v_written = ROW_COUNT;
        -- Rows found not to need the write after all (a concurrent run
        -- wrote them first) count as unchanged.
        v_updated := v_updated - (v_pending - v_written);
    END IF;

    TRUNCATE pg_temp.staged_items;

    UPDATE inventory.inventory_sync_runs r
       SET items_observed = r.items_observed + v_observed,
           items_created = r.items_created + v_created,
           items_updated = r.items_updated + v_updated,
           items_unchanged = r.items_unchanged + (v_observed - v_created - v_updated),
           meta_keys_dropped = r.meta_keys_dropped + v_dropped,
           items_rejected = r.items_rejected + v_rejected,
           errors = CASE WHEN v_rejected > 0 AND jsonb_array_length(r.errors) < 20
                         THEN r.errors || inventory._sanitize_errors(v_samples) ELSE r.errors END,
           error_codes = CASE WHEN v_rejected > 0 AND NOT 'bad_staged_row' = ANY (r.error_codes)
                              THEN r.error_codes || 'bad_staged_row'::text ELSE r.error_codes END
     WHERE r.tenant_id = v_tenant AND r.id = v_run_id;
    RETURN v_rows;
END
$$;
COMMENT ON FUNCTION inventory._apply_staged(inventory.inventory_sync_runs) IS
'Internal: the set-based upsert of pg_temp.staged_items into the run.';

-- Records what run `v_run` observed of one policy type when its enumeration
-- ends (complete, incomplete or failed).
CREATE OR REPLACE FUNCTION inventory._settle_policy_type(v_run inventory.inventory_sync_runs, v_type text, v_complete boolean)
    RETURNS void
    LANGUAGE plpgsql
    SET search_path = inventory, pg_catalog, pg_temp
    -- Bulk set operations over a whole policy type: a nested loop chosen on a
    -- stale row estimate (fresh temp tables have no statistics) would be
    -- quadratic; hash joins are always right here.
    SET enable_nestloop = off
    AS $$
DECLARE
    v_now  timestamptz := clock_timestamp();
    v_w    inventory.type_watermarks;
    v_seq  bigint;
BEGIN
    -- No item of this type is written by anyone else until commit.
    PERFORM inventory._lock_policy_type(v_run.tenant_id, v_type, true);
    SELECT * INTO v_w FROM inventory.type_watermarks w
     WHERE w.tenant_id = v_run.tenant_id AND w.policy_type = v_type;
    v_seq := nextval('inventory.write_seq');

    IF v_complete THEN
        -- Present items that neither this run nor a newer one observed are
        -- absent from now on; their last observation is written down. Found
        -- first (an anti-join with what the run saw), then written by key: on
        -- Citus a modification cannot look into this session's temporary
        -- tables from a subquery.
        INSERT INTO pg_temp.inventory_pending (policy_type, external_id, meta_jsonb)
        SELECT v_type, x.external_id, '{}'::jsonb
          FROM (SELECT i.id, i.external_id FROM inventory.item_state i
                 WHERE i.tenant_id = v_run.tenant_id AND i.policy_type = v_type
                   AND i.absent_since_run_id IS NULL
                   AND CASE WHEN v_w.seq > i.write_seq AND v_w.run_id > i.seen_run_id
                            THEN v_w.run_id ELSE i.seen_run_id END < v_run.id) x
          LEFT JOIN (SELECT DISTINCT s.item_id FROM pg_temp.inventory_run_seen s
                      WHERE s.policy_type = v_type) s ON s.item_id = x.id
         WHERE s.item_id IS NULL;
        UPDATE inventory.item_state i
           SET absent_since_run_id = v_run.id,
               seen_run_id = CASE WHEN v_w.seq > i.write_seq AND v_w.run_id > i.seen_run_id
                                  THEN v_w.run_id ELSE i.seen_run_id END,
               seen_at = CASE WHEN v_w.seq > i.write_seq AND v_w.run_id > i.seen_run_id
                              THEN v_w.observed_at ELSE i.seen_at END,
               write_seq = v_seq
          FROM pg_temp.inventory_pending g
         WHERE i.tenant_id = v_run.tenant_id AND i.policy_type = v_type
           AND i.policy_type = g.policy_type AND i.external_id = g.external_id
           AND i.absent_since_run_id IS NULL
           AND CASE WHEN v_w.seq > i.write_seq AND v_w.run_id > i.seen_run_id
                    THEN v_w.run_id ELSE i.seen_run_id END < v_run.id;
        TRUNCATE pg_temp.inventory_pending;
    END IF;

    -- Items this run observed whose rows do not say so yet: absent ones
    -- (marked by a newer run, or come back), and, when this run's
    -- observation will not be the type's watermark, present ones too.
    UPDATE inventory.item_state i
       SET seen_run_id = v_run.id,
           seen_at = v_now,
           absent_since_run_id = CASE WHEN i.absent_since_run_id < v_run.id
                                      THEN NULL ELSE i.absent_since_run_id END,
           write_seq = v_seq
      FROM (SELECT DISTINCT s.item_id FROM pg_temp.inventory_run_seen s WHERE s.policy_type = v_type) s
     WHERE i.tenant_id = v_run.tenant_id AND i.policy_type = v_type AND i.id = s.item_id
       AND CASE WHEN i.absent_since_run_id IS NULL AND v_w.seq > i.write_seq AND v_w.run_id > i.seen_run_id
                THEN v_w.run_id ELSE i.seen_run_id END < v_run.id
       AND (i.absent_since_run_id IS NOT NULL
            OR NOT v_complete
            OR v_w.run_id > v_run.id);

    IF v_complete AND (v_w.run_id IS NULL OR v_w.run_id < v_run.id) THEN
        INSERT INTO inventory.type_watermarks AS w (tenant_id, policy_type, run_id, observed_at, seq)
        VALUES (v_run.tenant_id, v_type, v_run.id, v_now, nextval('inventory.write_seq'))
        ON CONFLICT (tenant_id, policy_type) DO UPDATE
           SET run_id = excluded.run_id, observed_at = excluded.observed_at, seq = excluded.seq;
    END IF;

    DELETE FROM pg_temp.inventory_run_seen s WHERE s.policy_type = v_type;
END
$$;
COMMENT ON FUNCTION inventory._settle_policy_type(inventory.inventory_sync_runs, text, boolean) IS
'Internal: when a run''s enumeration of a policy type ends, marks unobserved items absent (complete enumerations only), writes observations the rows do not carry yet, and moves the type watermark.';

--------------------------------------------------------------------------------
-- Run lifecycle (public)
--------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION inventory.begin_sync_run(tenant_id uuid, selection jsonb, correlation_id uuid DEFAULT NULL)
    RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = inventory, pg_catalog, pg_temp
    AS $$
DECLARE
    v_caller  name := inventory._outer_user();
    v_tenant  uuid := begin_sync_run.tenant_id;
    v_types   text[];
    v_canon   text;
    v_hash    text;
    -- Session state as values: on Citus a call inside a statement on a
    -- distributed table runs on a worker, which knows nothing of it.
    v_current bigint := inventory._session_run_id();
    v_current_tenant uuid := inventory._session_tenant();
    v_pid     integer := pg_catalog.pg_backend_pid();  -- a value: see _owned_run
    v_other   inventory.inventory_sync_runs;
    v_run     bigint;
BEGIN
    IF v_tenant IS NULL THEN
        RAISE EXCEPTION 'tenant_id must not be null' USING ERRCODE = '22004';
    END IF;
    IF NOT inventory._may_sync(v_tenant) THEN
        RAISE EXCEPTION 'role "%" may not sync tenant %', v_caller, v_tenant
            USING ERRCODE = '42501',
                  HINT = 'Grant the tenant with inventory.grant_tenant_access(role, tenant_id).';
    END IF;
    v_types := inventory._selection_policy_types(selection);
    v_canon := inventory.canonical_json(selection);
    v_hash := inventory.selection_hash(selection);

    IF v_current IS NOT NULL THEN
        SELECT * INTO v_other FROM inventory.inventory_sync_runs r
         WHERE r.tenant_id = v_current_tenant AND r.id = v_current;
        IF FOUND AND v_other.status = 'running'
           AND inventory._run_lock(v_other.tenant_id, v_other.selection_hash, false) THEN
            RAISE EXCEPTION 'this session already owns running sync run %', v_other.id
                USING ERRCODE = '55000',
                      DETAIL = pg_catalog.format('Tenant %s, selection %s.', v_other.tenant_id, v_other.selection_hash),
                      HINT = 'Finish it with inventory.finish_sync_run() first; a session owns at most one running run.';
        END IF;
    END IF;

    -- The run lock lives in the extension's own lock space: no role can take
    -- or hold it with pg_advisory_lock(). If this transaction does not
    -- commit, the lock is released with it.
    IF NOT inventory._run_lock(v_tenant, v_hash, true) THEN
        SELECT * INTO v_other FROM inventory.inventory_sync_runs r
         WHERE r.tenant_id = v_tenant AND r.selection_hash = v_hash AND r.status = 'running'
         ORDER BY r.id DESC LIMIT 1;
        RAISE EXCEPTION 'sync of tenant % with selection % is already running (run %)',
              v_tenant, v_hash, coalesce(v_other.id::text, 'not yet recorded')
            USING ERRCODE = '55P03',
                  DETAIL = pg_catalog.format('The run lock is held by backend %s.',
                                             coalesce(v_other.owner_pid::text, 'unknown')),
                  HINT = 'Wait for it to finish; a run whose session dies is taken over by the next begin_sync_run.';
    END IF;

    -- Runs of this key still marked running have no live owner: this
    -- session now holds their lock.
    PERFORM inventory._abandon_runs(v_tenant, v_hash);

    INSERT INTO inventory.inventory_sync_runs
           (tenant_id, selection_hash, selection_payload, policy_types, correlation_id, owner_role, owner_pid)
    VALUES (v_tenant, v_hash, v_canon::jsonb, v_types, correlation_id, v_caller, v_pid)
    RETURNING id INTO v_run;

    PERFORM inventory._prepare_staging(v_caller);
    PERFORM inventory._bind_run(v_run, v_tenant, v_hash);
    RETURN v_run;
END
$$;
COMMENT ON FUNCTION inventory.begin_sync_run(uuid, jsonb, uuid) IS
'Starts a sync run of a tenant and selection: validates the selection (22023), takes the run lock (55P03 when another live session runs the same tenant and selection), marks runs of dead sessions failed (run_abandoned), gives the session an empty pg_temp.staged_items and returns the run id.';

CREATE OR REPLACE PROCEDURE inventory.apply_staged(run_id bigint)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = inventory, pg_catalog, pg_temp
    AS $$
BEGIN
    PERFORM inventory._apply_staged(inventory._owned_run(run_id));
END
$$;
COMMENT ON PROCEDURE inventory.apply_staged(bigint) IS
'Applies the rows COPYed into pg_temp.staged_items to the run in one set-based pass: idempotent, duplicates collapse (last row wins), meta filtered by the whitelist, bad rows counted as bad_staged_row, only new/changed items written; staging is emptied. Call as often as you like.';

CREATE OR REPLACE FUNCTION inventory.complete_policy_type(run_id bigint, policy_type text, status text,
                                               pages integer, items_seen integer, error_code text DEFAULT NULL)
    RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = inventory, pg_catalog, pg_temp
    AS $$
DECLARE
    v_run   inventory.inventory_sync_runs := inventory._owned_run(complete_policy_type.run_id);
    v_prev  inventory.inventory_sync_run_types;
    v_type  text := complete_policy_type.policy_type;
BEGIN
    IF v_type IS NULL OR NOT v_type = ANY (v_run.policy_types) THEN
        RAISE EXCEPTION 'policy type "%" is not part of the selection of run %', v_type, v_run.id
            USING ERRCODE = '22023',
                  DETAIL = format('The run''s policy types are %s.', array_to_string(v_run.policy_types, ', '));
    END IF;
    IF status IS NULL OR status NOT IN ('complete', 'incomplete', 'failed') THEN
        RAISE EXCEPTION 'invalid policy type status "%"', status
            USING ERRCODE = '22023', HINT = 'Use complete, incomplete or failed.';
    END IF;
    IF coalesce(pages, 0) < 0 OR coalesce(items_seen, 0) < 0 THEN
        RAISE EXCEPTION 'pages and items_seen must not be negative' USING ERRCODE = '22023';
    END IF;
    IF error_code IS NOT NULL AND error_code !~ '^[a-z][a-z0-9_]{0,62}$' THEN
        RAISE EXCEPTION 'invalid error code "%"', left(inventory.redact_secrets(error_code), 80)
            USING ERRCODE = '22023', HINT = 'Error codes are lower-case identifiers such as graph_forbidden.';
    END IF;
    SELECT * INTO v_prev FROM inventory.inventory_sync_run_types t
     WHERE t.tenant_id = v_run.tenant_id AND t.run_id = v_run.id AND t.policy_type = v_type;
    IF FOUND THEN
        IF v_prev.status = status THEN
            RETURN;  -- repeated call: nothing to do
        END IF;
        RAISE EXCEPTION 'policy type "%" of run % was already recorded as %', v_type, v_run.id, v_prev.status
            USING ERRCODE = '55000';
    END IF;

    -- Rows of this type still in staging belong to the enumeration.
    PERFORM inventory._apply_staged(v_run);
    PERFORM inventory._settle_policy_type(v_run, v_type, status = 'complete');

    INSERT INTO inventory.inventory_sync_run_types
           (tenant_id, run_id, policy_type, status, pages, items_seen, error_code)
    VALUES (v_run.tenant_id, v_run.id, v_type, status, coalesce(pages, 0), coalesce(items_seen, 0),
            CASE WHEN status = 'complete' THEN error_code
                 ELSE coalesce(error_code, 'policy_type_' || status) END);
END
$$;
COMMENT ON FUNCTION inventory.complete_policy_type(bigint, text, text, integer, integer, text) IS
'Records the outcome of one policy type of a run: complete (every page read: items not listed become absent), incomplete or failed. Applies any rows still staged first. Repeating the same call is a no-op.';

-- Normalizes, redacts and bounds an errors document (at most 100 entries,
-- messages of at most 512 characters).
CREATE OR REPLACE FUNCTION inventory._sanitize_errors(errors jsonb) RETURNS jsonb
    LANGUAGE plpgsql IMMUTABLE
    SET search_path = inventory, pg_catalog, pg_temp
    AS $$
DECLARE
    v_in    jsonb := coalesce(errors, '[]'::jsonb);
    v_out   jsonb := '[]'::jsonb;
    v_e     jsonb;
    v_clean jsonb;
    v_key   text;
    v_val   jsonb;
    v_n     integer := 0;
    v_total integer;
BEGIN
    IF jsonb_typeof(v_in) <> 'array' THEN
        v_in := jsonb_build_array(v_in);
    END IF;
    v_total := jsonb_array_length(v_in);
    FOR v_e IN SELECT e FROM jsonb_array_elements(v_in) e LOOP
        v_n := v_n + 1;
        EXIT WHEN v_n > 100;
        IF jsonb_typeof(v_e) <> 'object' THEN
            v_e := jsonb_build_object('message', CASE WHEN jsonb_typeof(v_e) = 'string'
                                                      THEN v_e #>> '{}' ELSE v_e::text END);
        END IF;
        v_clean := '{}'::jsonb;
        FOR v_key, v_val IN SELECT key, value FROM jsonb_each(v_e) LOOP
            CONTINUE WHEN v_key NOT IN ('code', 'policy_type', 'http_status', 'graph_error_code', 'request_id',
                                        'client_request_id', 'message', 'attempts', 'at', 'external_id', 'count');
            IF jsonb_typeof(v_val) = 'string' THEN
                v_val := to_jsonb(left(inventory.redact_secrets(v_val #>> '{}'),
                                       CASE WHEN v_key = 'message' THEN 512 ELSE 200 END));
            ELSIF jsonb_typeof(v_val) IN ('object', 'array') THEN
                v_val := to_jsonb(left(inventory.redact_secrets(v_val::text), 512));
            ELSIF jsonb_typeof(v_val) = 'number' THEN
                -- Status codes, attempts, counts: a number of a million digits is not one.
                v_val := CASE WHEN abs(v_val::numeric) < 1e15 THEN to_jsonb(trim_scale(round(v_val::numeric, 3)))
                              ELSE 'null'::jsonb END;
            END IF;
            v_clean := v_clean || jsonb_build_object(v_key, v_val);
        END LOOP;
        IF NOT (v_clean ? 'code') OR jsonb_typeof(v_clean->'code') <> 'string'
           OR (v_clean->>'code') !~ '^[a-z][a-z0-9_]{0,62}$' THEN
            v_clean := v_clean || jsonb_build_object('code', 'unspecified');
        END IF;
        v_out := v_out || jsonb_build_array(v_clean);
    END LOOP;
    IF v_total > 100 THEN
        v_out := v_out || jsonb_build_array(jsonb_build_object(
            'code', 'errors_truncated', 'count', v_total - 100,
            'message', format('%s more errors were not stored', v_total - 100)));
    END IF;
    RETURN v_out;
END
$$;
COMMENT ON FUNCTION inventory._sanitize_errors(jsonb) IS
'Internal: the errors a run stores: known keys only, every string through inventory.redact_secrets, messages cut to 512 characters (other strings to 200), numbers below 1e15 in magnitude rounded to 3 decimals (others null), at most 100 entries.';

CREATE OR REPLACE FUNCTION inventory.finish_sync_run(run_id bigint, status text, errors jsonb DEFAULT '[]')
    RETURNS text
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = inventory, pg_catalog, pg_temp
    AS $$
DECLARE
    v_run      inventory.inventory_sync_runs := inventory._owned_run(finish_sync_run.run_id, false);
    v_staging  boolean := inventory._staging_intact();
    v_errors   jsonb;
    v_type     text;
    v_complete integer;
    v_total    integer;
    v_derived  text;
    v_final    text;
    v_codes    text[];
    v_finished timestamptz;
BEGIN
    IF status IS NULL OR status NOT IN ('succeeded', 'partial', 'failed') THEN
        RAISE EXCEPTION 'invalid run status "%"', status
            USING ERRCODE = '22023', HINT = 'Use succeeded, partial or failed.';
    END IF;
    v_errors := inventory._sanitize_errors(errors);
    IF NOT v_staging THEN
        -- Nothing in the replaced tables is read: the run fails.
        v_errors := v_errors || jsonb_build_array(jsonb_build_object(
            'code', 'staging_lost',
            'message', 'the session''s staging tables were dropped or replaced during the run'));
    END IF;

    -- Rows still staged are applied; types never reported are recorded as
    -- failed, and what the run observed of them is kept.
    IF v_staging THEN
        PERFORM inventory._apply_staged(v_run);
    END IF;
    FOR v_type IN
        SELECT pt FROM unnest(v_run.policy_types) pt
         WHERE NOT EXISTS (SELECT 1 FROM inventory.inventory_sync_run_types t
                            WHERE t.tenant_id = v_run.tenant_id AND t.run_id = v_run.id AND t.policy_type = pt)
         ORDER BY 1
    LOOP
        IF v_staging THEN
            PERFORM inventory._settle_policy_type(v_run, v_type, false);
        END IF;
        INSERT INTO inventory.inventory_sync_run_types (tenant_id, run_id, policy_type, status, error_code)
        VALUES (v_run.tenant_id, v_run.id, v_type, 'failed', 'policy_type_not_reported');
    END LOOP;

    SELECT count(*) FILTER (WHERE t.status = 'complete'), count(*) INTO v_complete, v_total
      FROM inventory.inventory_sync_run_types t
     WHERE t.tenant_id = v_run.tenant_id AND t.run_id = v_run.id;
    v_derived := CASE WHEN v_complete = v_total THEN 'succeeded'
                      WHEN v_complete > 0 THEN 'partial' ELSE 'failed' END;
    -- The caller may report worse than the types show (a fatal error), never better.
    v_final := CASE WHEN 'failed' IN (status, v_derived) OR NOT v_staging THEN 'failed'
                    WHEN 'partial' IN (status, v_derived) THEN 'partial'
                    ELSE 'succeeded' END;

    SELECT r.errors || v_errors INTO v_errors
      FROM inventory.inventory_sync_runs r WHERE r.tenant_id = v_run.tenant_id AND r.id = v_run.id;
    SELECT coalesce(array_agg(DISTINCT c ORDER BY c), '{}') INTO v_codes
      FROM (SELECT e->>'code' AS c FROM jsonb_array_elements(v_errors) e
            UNION ALL
            SELECT t.error_code FROM inventory.inventory_sync_run_types t
             WHERE t.tenant_id = v_run.tenant_id AND t.run_id = v_run.id AND t.error_code IS NOT NULL) x
     WHERE c IS NOT NULL;

    -- The time is a value, not a volatile call (Citus evaluates no volatile
    -- function in an UPDATE of a distributed table).
    v_finished := clock_timestamp();
    UPDATE inventory.inventory_sync_runs r
       SET status = v_final,
           finished_at = v_finished,
           errors = v_errors,
           error_codes = v_codes,
           had_errors = cardinality(v_codes) > 0 OR r.items_rejected > 0
     WHERE r.tenant_id = v_run.tenant_id AND r.id = v_run.id;

    IF v_staging THEN
        TRUNCATE pg_temp.staged_items, pg_temp.inventory_run_seen, pg_temp.inventory_pending;
    END IF;
    -- The run lock is released when this transaction commits.
    PERFORM inventory._unbind_run(v_run.id);
    RETURN v_final;
END
$$;
COMMENT ON FUNCTION inventory.finish_sync_run(bigint, text, jsonb) IS
'Finishes a run: applies rows still staged, records unreported types as failed, sets the final status (never better than its policy types show), had_errors, error_codes and finished_at, stores the errors redacted and bounded, and releases the run lock. Returns the final status.';

CREATE OR REPLACE FUNCTION inventory.reap_abandoned_runs() RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = inventory, pg_catalog, pg_temp
    AS $$
DECLARE
    v_key  record;
    v_n    integer := 0;
BEGIN
    -- Only tenants the caller may sync (the owner and superusers: all).
    FOR v_key IN SELECT DISTINCT r.tenant_id, r.selection_hash
                   FROM inventory.inventory_sync_runs r
                  WHERE r.status = 'running'
                  ORDER BY 1, 2 LOOP
        -- Asked here, not in the query: on Citus the query runs on the
        -- workers, as the extension owner.
        CONTINUE WHEN NOT inventory._may_sync(v_key.tenant_id);
        -- This session's own run, or one whose session lives on, stays.
        CONTINUE WHEN inventory._run_lock(v_key.tenant_id, v_key.selection_hash, false);
        CONTINUE WHEN NOT inventory._run_lock(v_key.tenant_id, v_key.selection_hash, true);
        -- The lock is released when this transaction ends.
        v_n := v_n + inventory._abandon_runs(v_key.tenant_id, v_key.selection_hash);
    END LOOP;
    RETURN v_n;
END
$$;
COMMENT ON FUNCTION inventory.reap_abandoned_runs() IS
'Marks running runs whose owning session is gone (nobody holds their run lock) as failed with run_abandoned, for the tenants the caller may sync (the owner and superusers: every tenant); returns how many. begin_sync_run does the same for its own tenant and selection.';

--------------------------------------------------------------------------------
