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
       AND c.relname IN ('staged_items', 'staged_keys', 'inventory_run_seen', 'inventory_pending')
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
            content_hash text,
            row_fp       text
        );
    END IF;
    IF pg_catalog.to_regclass('pg_temp.staged_keys') IS NULL THEN
        CREATE TEMP TABLE staged_keys (
            policy_type  text,
            external_id  text,
            row_fp       text
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
            content_hash text,
            row_fp       text,
            dropped      integer NOT NULL DEFAULT 0
        );
    END IF;
    TRUNCATE pg_temp.staged_items, pg_temp.staged_keys, pg_temp.inventory_run_seen, pg_temp.inventory_pending;
    IF caller <> current_user
       AND NOT (pg_catalog.has_table_privilege(caller, 'pg_temp.staged_items', 'INSERT')
                AND pg_catalog.has_table_privilege(caller, 'pg_temp.staged_keys', 'INSERT')) THEN
        EXECUTE pg_catalog.format('GRANT INSERT ON pg_temp.staged_items, pg_temp.staged_keys TO %I', caller);
    END IF;
END
$$;
COMMENT ON FUNCTION inventory._prepare_staging(name) IS
'Internal: creates or empties pg_temp.staged_items and pg_temp.staged_keys (the COPY targets) and the run''s private bookkeeping tables, as the extension owner; refuses tables of those names that begin_sync_run did not create.';

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
                                             row_fp text, run_types text[], done_types text[]) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    SELECT CASE
             WHEN external_id IS NULL OR external_id = '' THEN 'empty external_id'
             -- A key a B-tree cannot hold would fail the whole batch (54000).
             WHEN octet_length(external_id) > inventory._limit('external_id_max_bytes')
               THEN 'external_id longer than ' || inventory._limit('external_id_max_bytes')::text || ' bytes'
             WHEN policy_type IS NULL OR NOT policy_type = ANY (run_types)
               THEN 'policy type not in the run''s selection'
             WHEN policy_type = ANY (done_types) THEN 'policy type already completed in this run'
             WHEN content_hash IS NOT NULL
                  AND (length(content_hash) <> 64 OR content_hash COLLATE "C" ~ '[^0-9a-fA-F]')
               THEN 'content_hash is not 64 hex digits'
             WHEN row_fp IS NOT NULL AND (length(row_fp) <> 32 OR row_fp COLLATE "C" ~ '[^0-9a-f]')
               THEN 'row_fp is not 32 lower-case hex digits'
           END
$$;
COMMENT ON FUNCTION inventory._staged_row_problem(text, text, text, text, text[], text[]) IS
'Internal: why a staged row or key cannot be applied (NULL when it can): empty or over-long external_id (inventory.limits()), a policy type outside the run''s selection or already completed, a malformed content hash or fingerprint.';

-- Samples of rejected staged rows or keys, as run errors (at most 5).
CREATE OR REPLACE FUNCTION inventory._rejected_sample(policy_type text, external_id text, problem text)
    RETURNS jsonb
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    SELECT jsonb_build_object('code', 'bad_staged_row', 'policy_type', left(policy_type, 100),
                              'external_id', left(external_id, 200), 'message', problem)
$$;
COMMENT ON FUNCTION inventory._rejected_sample(text, text, text) IS
'Internal: the run error recorded for a rejected staged row or key.';

-- Adds what one apply or settle step observed to the run's counters, and
-- samples of the rows it rejected to its errors.
CREATE OR REPLACE FUNCTION inventory._count_run(p_tenant uuid, p_run_id bigint, p_observed bigint, p_created bigint,
                                                p_updated bigint, p_dropped bigint, p_rejected bigint,
                                                p_errors jsonb, p_codes text[])
    RETURNS void
    LANGUAGE plpgsql
    SET search_path = inventory, pg_catalog, pg_temp
    AS $$
DECLARE
    v_errors jsonb := CASE WHEN p_errors IS NULL OR p_errors = '[]' THEN NULL
                           ELSE inventory._sanitize_errors(p_errors) END;
BEGIN
    UPDATE inventory.inventory_sync_runs r
       SET items_observed = r.items_observed + p_observed,
           items_created = r.items_created + p_created,
           items_updated = r.items_updated + p_updated,
           items_unchanged = r.items_unchanged + (p_observed - p_created - p_updated),
           meta_keys_dropped = r.meta_keys_dropped + p_dropped,
           items_rejected = r.items_rejected + p_rejected,
           errors = CASE WHEN v_errors IS NOT NULL AND jsonb_array_length(r.errors) < 20
                         THEN r.errors || v_errors ELSE r.errors END,
           error_codes = ARRAY(SELECT DISTINCT c FROM unnest(r.error_codes || coalesce(p_codes, '{}')) c ORDER BY c)
     WHERE r.tenant_id = p_tenant AND r.id = p_run_id;
END
$$;
COMMENT ON FUNCTION inventory._count_run(uuid, bigint, bigint, bigint, bigint, bigint, bigint, jsonb, text[]) IS
'Internal: adds one step''s counts to its run, with error samples and codes.';

-- Applies every row of pg_temp.staged_items to the run. The batch's good
-- rows are deduplicated and filtered once into the run's private pending
-- table; a batch of items the tenant does not hold yet (a first sync) is then
-- inserted in one statement, with only the primary key's own uniqueness
-- check; any other batch is classified by primary key and only new, changed,
-- returning or late-seen items are written. Returns the staged rows consumed.
CREATE OR REPLACE FUNCTION inventory._apply_staged(v_run inventory.inventory_sync_runs) RETURNS bigint
    LANGUAGE plpgsql
    SET search_path = inventory, pg_catalog, pg_temp
    -- Plans are made for the batch at hand (a generic plan would be made for
    -- a guessed tenant size); item rows are only ever reached through their
    -- primary key: the tenant tables keep no statistics, and a hash join
    -- that looks cheap for a guessed 5,000 rows reads the whole tenant.
    SET plan_cache_mode = force_custom_plan
    SET enable_hashjoin = off
    SET enable_mergejoin = off
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
    v_created  bigint := 0;
    v_inserted bigint;
    v_pending  bigint;
    v_updated  bigint := 0;
    v_written  bigint;
    v_dropped  bigint;
    v_rejected bigint := 0;
    v_bad      bigint;
    v_lost     bigint;
    v_good     bigint;
    v_redo     bigint;
    v_samples  jsonb;
    v_s_type   text[];
    v_s_id     text[];
    v_p_type   text[];
    v_p_id     text[];
    v_p_name   text[];
    v_p_meta   jsonb[];
    v_p_hash   text[];
    v_p_fp     text[];
BEGIN
    SELECT coalesce(array_agg(t.policy_type), '{}') INTO v_done
      FROM inventory.inventory_sync_run_types t
     WHERE t.tenant_id = v_tenant AND t.run_id = v_run_id;

    -- One pass over the batch counts its rows and finds its types (hashed:
    -- a batch is mostly one type). Writers of a (tenant, type) share its
    -- lock; a completing enumeration takes it exclusively. Taken in sorted
    -- order.
    v_rows := 0;
    -- It also counts the meta keys the good rows lose to the whitelist (a
    -- batch of new items needs no other pass).
    SELECT coalesce(jsonb_object_agg(k.key, k.kind), '{}'::jsonb) INTO v_allowed FROM inventory.meta_keys k;
    v_dropped := 0;
    FOR v_type, v_count, v_bad, v_lost IN
        SELECT x.policy_type, x.n, x.bad, x.lost
          FROM (SELECT s.policy_type, count(*) AS n, count(*) FILTER (WHERE s.problem IS NOT NULL) AS bad,
                       coalesce(sum((inventory.filter_meta_counted(s.meta_jsonb, v_allowed)).dropped)
                                    FILTER (WHERE s.problem IS NULL), 0) AS lost
                  FROM (SELECT s.policy_type, s.meta_jsonb,
                               inventory._staged_row_problem(s.policy_type, s.external_id, s.content_hash, s.row_fp,
                                                             v_types, v_done) AS problem
                          FROM pg_temp.staged_items s) s
                 GROUP BY s.policy_type) x
         ORDER BY x.policy_type
    LOOP
        v_rows := v_rows + v_count;
        v_rejected := v_rejected + v_bad;
        v_dropped := v_dropped + v_lost;
        IF v_type = ANY (v_types) AND NOT v_type = ANY (v_done) THEN
            PERFORM inventory._lock_policy_type(v_tenant, v_type, false);
        END IF;
    END LOOP;
    IF v_rows = 0 THEN
        RETURN 0;
    END IF;
    v_seq := nextval('inventory.write_seq');

    v_good := v_rows - v_rejected;
    IF v_rejected > 0 THEN
        SELECT jsonb_agg(inventory._rejected_sample(y.policy_type, y.external_id, y.problem)) INTO v_samples
          FROM (SELECT x.* FROM (SELECT s.policy_type, s.external_id,
                                        inventory._staged_row_problem(s.policy_type, s.external_id, s.content_hash,
                                                                      s.row_fp, v_types, v_done) AS problem
                                   FROM pg_temp.staged_items s) x
                 WHERE x.problem IS NOT NULL LIMIT 5) y;
    END IF;

    -- A batch of new items (a first sync): when the tenant holds none of the
    -- batch's first keys, the good rows go straight from staging into
    -- item_state, keys that exist after all (or repeat) being left alone;
    -- only when some were left does the classification below run.
    v_observed := v_good;
    IF v_good > 0 THEN
        SELECT array_agg(k.policy_type), array_agg(k.external_id) INTO v_s_type, v_s_id
          FROM (SELECT s.policy_type, s.external_id FROM pg_temp.staged_items s
                 WHERE inventory._staged_row_problem(s.policy_type, s.external_id, s.content_hash, s.row_fp,
                                                     v_types, v_done) IS NULL
                 LIMIT 4) k;
        IF NOT EXISTS (SELECT 1 FROM inventory.item_state i
                         JOIN unnest(v_s_type, v_s_id) k(policy_type, external_id)
                           ON i.policy_type = k.policy_type AND i.external_id = k.external_id
                        WHERE i.tenant_id = v_tenant) THEN
            -- Counted from RETURNING: on Citus the row count of an INSERT ...
            -- SELECT is the rows sent, not the rows inserted.
            WITH ins AS (
                INSERT INTO inventory.item_state AS i
                       (tenant_id, policy_type, external_id, display_name, meta_jsonb, content_hash, row_fp,
                        first_seen_at, first_seen_run_id, seen_at, seen_run_id, content_changed_at,
                        content_changed_run_id, write_seq)
                SELECT v_tenant, s.policy_type, s.external_id, s.display_name,
                       inventory.filter_meta(s.meta_jsonb, v_allowed), lower(s.content_hash COLLATE "C"), s.row_fp,
                       v_now, v_run_id, v_now, v_run_id, v_now, v_run_id, v_seq
                  FROM pg_temp.staged_items s
                 WHERE inventory._staged_row_problem(s.policy_type, s.external_id, s.content_hash, s.row_fp,
                                                     v_types, v_done) IS NULL
                ON CONFLICT (tenant_id, policy_type, external_id) DO NOTHING
                RETURNING i.id, i.policy_type, i.external_id, i.display_name, i.content_hash
            ), hist AS (
                -- A new item's history row (its first meta is what its
                -- first change, or its row, shows as old).
                INSERT INTO inventory.item_changes
                       (tenant_id, run_id, policy_type, external_id, item_id, changed_at, change,
                        new_display_name, new_content_hash)
                SELECT v_tenant, v_run_id, n.policy_type, n.external_id, n.id, v_now, 'new',
                       n.display_name, n.content_hash
                  FROM ins n)
            SELECT count(*) INTO v_created FROM ins;
        END IF;
    END IF;

    IF v_created < v_good THEN
        -- The good rows, the last of a key winning, meta filtered once per
        -- key. Byte order: keys are only compared for equality here, and a
        -- sort in "C" uses abbreviated keys (a sort in a libc locale does
        -- not).
        TRUNCATE pg_temp.inventory_pending;
        INSERT INTO pg_temp.inventory_pending
               (policy_type, external_id, display_name, meta_jsonb, content_hash, row_fp, dropped)
        SELECT g.policy_type, g.external_id, g.display_name, fm.meta, g.content_hash, g.row_fp, fm.dropped
          FROM (SELECT DISTINCT ON (s.policy_type COLLATE "C", s.external_id COLLATE "C")
                       s.policy_type, s.external_id, s.display_name, lower(s.content_hash COLLATE "C") AS content_hash,
                       s.row_fp, s.meta_jsonb
                  FROM pg_temp.staged_items s
                 WHERE inventory._staged_row_problem(s.policy_type, s.external_id, s.content_hash, s.row_fp,
                                                     v_types, v_done) IS NULL
                 ORDER BY s.policy_type COLLATE "C", s.external_id COLLATE "C", s.ctid DESC) g
         CROSS JOIN LATERAL inventory.filter_meta_counted(g.meta_jsonb, v_allowed) fm;
        GET DIAGNOSTICS v_observed = ROW_COUNT;
        -- Counted once per key.
        SELECT coalesce(sum(p.dropped), 0) INTO v_dropped FROM pg_temp.inventory_pending p;
    END IF;
    TRUNCATE pg_temp.staged_items;

    IF v_created < v_good THEN
        -- One primary-key probe per row. Rows this call has just inserted
        -- (write_seq = v_seq) are written again only when the key repeated
        -- in the batch with another row (the last one wins); they stay
        -- counted as created.
        WITH wm AS MATERIALIZED (
            SELECT w.policy_type, w.run_id, w.seq FROM inventory.type_watermarks w WHERE w.tenant_id = v_tenant
        ), cls AS (
            SELECT p.policy_type, p.external_id, p.display_name, p.meta_jsonb, p.content_hash, p.row_fp,
                   i.id AS item_id, i.write_seq = v_seq AS just_inserted,
                   coalesce(inventory._needs_write(i.absent_since_run_id, i.seen_run_id, i.write_seq,
                                                       w.run_id, w.seq, v_run_id,
                                                       i.display_name, i.meta_jsonb, i.content_hash, i.row_fp,
                                                       p.display_name, p.meta_jsonb, p.content_hash, p.row_fp),
                            false) AS needs_write
              FROM pg_temp.inventory_pending p
              LEFT JOIN LATERAL (SELECT i.* FROM inventory.item_state i
                                  WHERE i.tenant_id = v_tenant AND i.policy_type = p.policy_type
                                    AND i.external_id = p.external_id OFFSET 0) i ON true
              LEFT JOIN wm w ON w.policy_type = p.policy_type
        ), ins AS (
            INSERT INTO inventory.item_state AS i
                   (tenant_id, policy_type, external_id, display_name, meta_jsonb, content_hash, row_fp,
                    first_seen_at, first_seen_run_id, seen_at, seen_run_id, content_changed_at,
                    content_changed_run_id, write_seq)
            SELECT v_tenant, c.policy_type, c.external_id, c.display_name, c.meta_jsonb, c.content_hash, c.row_fp,
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
                   row_fp = excluded.row_fp,
                   content_changed_at = CASE WHEN i.content_hash IS DISTINCT FROM excluded.content_hash
                                             THEN excluded.content_changed_at ELSE i.content_changed_at END,
                   content_changed_run_id = CASE WHEN i.content_hash IS DISTINCT FROM excluded.content_hash
                                                 THEN excluded.content_changed_run_id ELSE i.content_changed_run_id END,
                   seen_at = excluded.seen_at,
                   seen_run_id = excluded.seen_run_id,
                   write_seq = excluded.write_seq
             WHERE i.seen_run_id < excluded.seen_run_id AND i.absent_since_run_id IS NULL
            RETURNING (i.xmax = 0) AS inserted, i.id, i.policy_type, i.external_id, i.display_name, i.content_hash
        ), hist AS (
            INSERT INTO inventory.item_changes
                   (tenant_id, run_id, policy_type, external_id, item_id, changed_at, change,
                    new_display_name, new_content_hash)
            SELECT v_tenant, v_run_id, n.policy_type, n.external_id, n.id, v_now, 'new', n.display_name, n.content_hash
              FROM ins n WHERE n.inserted
        ), seen AS (
            INSERT INTO pg_temp.inventory_run_seen (policy_type, item_id)
            SELECT c.policy_type, c.item_id FROM cls c WHERE c.item_id IS NOT NULL AND NOT c.just_inserted
        )
        -- The rows to write (as many as changed), as values: on Citus a
        -- modification cannot join this session's temporary tables.
        SELECT (SELECT count(*) FROM ins WHERE inserted),
               (SELECT count(*) FROM ins WHERE NOT inserted),
               x.n, x.t, x.e, x.d, x.m, x.h, x.f, x.r
          INTO v_inserted, v_written, v_pending, v_p_type, v_p_id, v_p_name, v_p_meta, v_p_hash, v_p_fp, v_redo
          FROM (SELECT count(*) AS n,
                       array_agg(c.policy_type ORDER BY c.policy_type COLLATE "C", c.external_id COLLATE "C") AS t,
                       array_agg(c.external_id ORDER BY c.policy_type COLLATE "C", c.external_id COLLATE "C") AS e,
                       array_agg(c.display_name ORDER BY c.policy_type COLLATE "C", c.external_id COLLATE "C") AS d,
                       array_agg(c.meta_jsonb ORDER BY c.policy_type COLLATE "C", c.external_id COLLATE "C") AS m,
                       array_agg(c.content_hash ORDER BY c.policy_type COLLATE "C", c.external_id COLLATE "C") AS h,
                       array_agg(c.row_fp ORDER BY c.policy_type COLLATE "C", c.external_id COLLATE "C") AS f,
                       count(*) FILTER (WHERE c.just_inserted) AS r
                  FROM cls c WHERE c.needs_write) x;
        v_created := v_created + v_inserted;
        v_updated := v_written + v_pending - v_redo;

        IF v_pending > 0 THEN
            -- Lock them in key order (concurrent runs of a tenant cannot
            -- deadlock), then write them; the rule is checked again on the
            -- current row versions.
            PERFORM 1 FROM inventory.item_state i
              JOIN unnest(v_p_type, v_p_id) k(policy_type, external_id)
                ON i.policy_type = k.policy_type AND i.external_id = k.external_id
             WHERE i.tenant_id = v_tenant
             ORDER BY i.policy_type COLLATE "C", i.external_id COLLATE "C"
               FOR UPDATE OF i;

            -- The rows are locked: the item row joined a second time (o)
            -- is the version this statement overwrites, and the history
            -- records both (one more primary-key probe per changed row, no
            -- join of the returned rows).
            WITH upd AS (
                UPDATE inventory.item_state i
                   SET display_name = p.display_name,
                       meta_jsonb = p.meta_jsonb,
                       content_hash = p.content_hash,
                       row_fp = p.row_fp,
                       content_changed_at = CASE WHEN i.content_hash IS DISTINCT FROM p.content_hash
                                                 THEN v_now ELSE i.content_changed_at END,
                       content_changed_run_id = CASE WHEN i.content_hash IS DISTINCT FROM p.content_hash
                                                     THEN v_run_id ELSE i.content_changed_run_id END,
                       seen_at = v_now,
                       seen_run_id = v_run_id,
                       absent_since_run_id = CASE WHEN i.absent_since_run_id < v_run_id
                                                  THEN NULL ELSE i.absent_since_run_id END,
                       deleted_at = CASE WHEN i.absent_since_run_id < v_run_id THEN NULL ELSE i.deleted_at END,
                       deleted_run_id = CASE WHEN i.absent_since_run_id < v_run_id
                                             THEN NULL ELSE i.deleted_run_id END,
                       write_seq = v_seq
                  FROM unnest(v_p_type, v_p_id, v_p_name, v_p_meta, v_p_hash, v_p_fp)
                       AS p(policy_type, external_id, display_name, meta_jsonb, content_hash, row_fp)
                  JOIN inventory.item_state o
                    ON o.tenant_id = v_tenant AND o.policy_type = p.policy_type AND o.external_id = p.external_id
                  LEFT JOIN inventory.type_watermarks w
                         ON w.tenant_id = v_tenant AND w.policy_type = p.policy_type
                 WHERE i.tenant_id = v_tenant AND i.policy_type = p.policy_type
                   AND i.external_id = p.external_id
                   AND inventory._needs_write(i.absent_since_run_id, i.seen_run_id, i.write_seq, w.run_id, w.seq,
                                              v_run_id, i.display_name, i.meta_jsonb, i.content_hash, i.row_fp,
                                              p.display_name, p.meta_jsonb, p.content_hash, p.row_fp)
                RETURNING i.id, i.policy_type, i.external_id, i.display_name, i.meta_jsonb, i.content_hash,
                          i.absent_since_run_id, o.display_name AS old_name, o.meta_jsonb AS old_meta,
                          o.content_hash AS old_hash, o.absent_since_run_id AS old_absent
            ), hist AS (
                -- An item that comes back, or whose name, meta or content
                -- changed (a new fingerprint alone is no change).
                INSERT INTO inventory.item_changes
                       (tenant_id, run_id, policy_type, external_id, item_id, changed_at, change,
                        old_display_name, new_display_name, old_content_hash, new_content_hash, meta_changes)
                SELECT v_tenant, v_run_id, u.policy_type, u.external_id, u.id, v_now,
                       CASE WHEN u.old_absent IS NOT NULL AND u.absent_since_run_id IS NULL
                            THEN 'back' ELSE 'changed' END,
                       u.old_name, u.display_name, u.old_hash, u.content_hash,
                       inventory._meta_changes(u.old_meta, u.meta_jsonb)
                  FROM upd u
                 WHERE (u.old_absent IS NOT NULL AND u.absent_since_run_id IS NULL)
                    OR inventory._is_change(u.old_name, u.old_meta, u.old_hash,
                                            u.display_name, u.meta_jsonb, u.content_hash)
            )
            SELECT count(*) INTO v_written FROM upd;
            -- Rows found not to need the write after all (a concurrent run
            -- wrote them first) count as unchanged.
            v_updated := v_updated - (v_pending - v_written);
        END IF;
    END IF;
    TRUNCATE pg_temp.inventory_pending;

    PERFORM inventory._count_run(v_tenant, v_run_id, v_observed, v_created, v_updated, v_dropped, v_rejected,
                                 v_samples, CASE WHEN v_rejected > 0 THEN '{bad_staged_row}'::text[] END);
    RETURN v_rows;
END
$$;
COMMENT ON FUNCTION inventory._apply_staged(inventory.inventory_sync_runs) IS
'Internal: the set-based upsert of pg_temp.staged_items into the run.';

-- Records what run `v_run` observed of one policy type when its enumeration
-- ends (complete, incomplete or failed). What it observed: the rows it wrote
-- (seen_run_id), the whole rows it found unchanged (pg_temp.inventory_run_seen)
-- and the keys staged for the type (pg_temp.staged_keys: items the client
-- found unchanged in inventory.sync_manifest). One pass over the type's rows
-- joined with the keys finds all that matters: a key the tenant does not hold
-- is rejected; a key whose fingerprint no longer matches the row (another run
-- wrote it since the manifest was read) counts as observed without content
-- (stale_staged_key); a present item nothing observed is absent after a
-- complete enumeration; an observed item whose row does not say so yet (it
-- was absent, or this observation will not be the type's watermark) is
-- written.
CREATE OR REPLACE FUNCTION inventory._settle_policy_type(v_run inventory.inventory_sync_runs, v_type text,
                                                          v_complete boolean, p_plan_only boolean,
                                                          p_seen text[], p_deleted text[],
                                                          OUT absent_ids text[], OUT absent_marked bigint,
                                                          OUT deleted_marked bigint, OUT present_before bigint,
                                                          OUT held boolean)
    LANGUAGE plpgsql
    SET search_path = inventory, pg_catalog, pg_temp
    -- Bulk set operations over a whole policy type: a nested loop chosen on a
    -- stale row estimate (fresh temp tables have no statistics) would be
    -- quadratic; hash joins are always right here. A type of a million
    -- items is hashed in memory.
    SET enable_nestloop = off
    SET enable_hashjoin = on
    SET enable_mergejoin = on
    SET work_mem = '64MB'
    SET plan_cache_mode = force_custom_plan
    AS $$
DECLARE
    v_tenant   uuid := v_run.tenant_id;
    v_run_id   bigint := v_run.id;
    v_now      timestamptz := clock_timestamp();
    v_w        inventory.type_watermarks;
    v_seq      bigint;
    v_keys     bigint;
    v_found    bigint;
    v_stale    bigint;
    v_unknown  bigint;
    v_absent   text[];
    v_mark     text[];
    v_back     text[];
    v_samples  jsonb;
    v_fraction numeric;
    v_min      integer;
BEGIN
    absent_marked := 0;
    deleted_marked := 0;
    held := false;
    p_seen := coalesce(p_seen, '{}');
    p_deleted := coalesce(p_deleted, '{}');
    -- No item of this type is written by anyone else until commit.
    PERFORM inventory._lock_policy_type(v_tenant, v_type, true);
    SELECT * INTO v_w FROM inventory.type_watermarks w
     WHERE w.tenant_id = v_tenant AND w.policy_type = v_type;

    -- The keys and the unchanged whole rows are read once each (on Citus
    -- they travel to the tenant's shard as intermediate results: a
    -- statement there cannot read this session's temporary tables).
    WITH k AS (
        SELECT k.external_id, k.row_fp FROM pg_temp.staged_keys k WHERE k.policy_type = v_type
    ), s AS MATERIALIZED (
        SELECT DISTINCT s.item_id FROM pg_temp.inventory_run_seen s WHERE s.policy_type = v_type
    ), x AS (
        -- Seen whole: an unchanged row staged whole, or an item Graph
        -- answered for by id (inventory.record_verifications).
        SELECT i.id, i.external_id, i.row_fp AS stored_fp, k.external_id AS key_id, k.row_fp AS key_fp,
               (s.item_id IS NOT NULL OR coalesce(i.external_id = ANY (p_seen), false)) AS seen_whole,
               i.absent_since_run_id,
               inventory._last_seen_run(i.absent_since_run_id, i.seen_run_id, i.write_seq,
                                        v_w.run_id, v_w.seq) AS last_seen
          FROM (SELECT i.id, i.external_id, i.row_fp, i.absent_since_run_id, i.seen_run_id, i.write_seq
                  FROM inventory.item_state i
                 WHERE i.tenant_id = v_tenant AND i.policy_type = v_type) i
          FULL JOIN k ON k.external_id = i.external_id
          LEFT JOIN s ON s.item_id = i.id
    )
    SELECT count(x.key_id),
           count(DISTINCT x.id) FILTER (WHERE x.key_id IS NOT NULL AND NOT x.seen_whole
                                          AND x.last_seen IS DISTINCT FROM v_run_id),
           count(*) FILTER (WHERE x.key_id IS NOT NULL AND x.id IS NOT NULL AND x.last_seen <> v_run_id
                              AND x.stored_fp IS DISTINCT FROM x.key_fp),
           count(*) FILTER (WHERE x.key_id IS NOT NULL AND x.id IS NULL),
           array_agg(x.external_id) FILTER (WHERE v_complete AND x.id IS NOT NULL AND x.key_id IS NULL
                                              AND NOT x.seen_whole AND x.absent_since_run_id IS NULL
                                              AND x.last_seen < v_run_id),
           array_agg(DISTINCT x.external_id) FILTER (WHERE x.id IS NOT NULL AND (x.key_id IS NOT NULL OR x.seen_whole)
                                              AND x.last_seen < v_run_id
                                              AND (x.absent_since_run_id IS NOT NULL
                                                   OR NOT v_complete
                                                   OR v_w.run_id > v_run_id)),
           array_agg(DISTINCT x.external_id) FILTER (WHERE x.id IS NOT NULL AND (x.key_id IS NOT NULL OR x.seen_whole)
                                              AND x.last_seen < v_run_id
                                              AND x.absent_since_run_id < v_run_id)
      INTO v_keys, v_found, v_stale, v_unknown, v_absent, v_mark, v_back
      FROM x;
    absent_ids := coalesce(v_absent, '{}');

    -- The guard: only asked when enough items would go (a count by key).
    IF v_complete AND v_absent IS NOT NULL THEN
        SELECT t.mass_missing_fraction, t.mass_missing_min_items INTO v_fraction, v_min
          FROM inventory.trust_settings_for(v_tenant, v_type) t;
        IF cardinality(v_absent) >= v_min THEN
            SELECT count(*) INTO present_before FROM inventory.item_state i
             WHERE i.tenant_id = v_tenant AND i.policy_type = v_type AND i.absent_since_run_id IS NULL;
            held := inventory._mass_missing(cardinality(v_absent), present_before, v_fraction, v_min);
        END IF;
    END IF;
    IF p_plan_only THEN
        RETURN;
    END IF;
    v_seq := nextval('inventory.write_seq');

    -- The rows to write are few (what changed): reached through their
    -- primary key with the keys as one array (an index scan, whatever the
    -- planner guesses: the tenant tables keep no statistics, and a join with
    -- the keys could scan them once per row of the type). Restored when the
    -- function returns.
    PERFORM pg_catalog.set_config('enable_nestloop', 'on', true),
            pg_catalog.set_config('enable_hashjoin', 'off', true),
            pg_catalog.set_config('enable_mergejoin', 'off', true);

    IF v_complete AND v_absent IS NOT NULL THEN
        -- Present items that neither this run nor a newer one observed are
        -- absent from now on; their last observation is written down, and
        -- those Graph answered 404 for are verified deletions.
        WITH gone AS (
            UPDATE inventory.item_state i
               SET absent_since_run_id = v_run_id,
                   seen_run_id = inventory._last_seen_run(i.absent_since_run_id, i.seen_run_id, i.write_seq,
                                                          v_w.run_id, v_w.seq),
                   seen_at = inventory._last_seen_at(i.absent_since_run_id, i.seen_run_id, i.write_seq, i.seen_at,
                                                     v_w.run_id, v_w.seq, v_w.observed_at),
                   deleted_at = CASE WHEN i.external_id = ANY (p_deleted) THEN v_now END,
                   deleted_run_id = CASE WHEN i.external_id = ANY (p_deleted) THEN v_run_id END,
                   write_seq = v_seq
             WHERE i.tenant_id = v_tenant AND i.policy_type = v_type AND i.external_id = ANY (v_absent)
               AND i.absent_since_run_id IS NULL
               AND inventory._last_seen_run(i.absent_since_run_id, i.seen_run_id, i.write_seq,
                                            v_w.run_id, v_w.seq) < v_run_id
            RETURNING i.id, i.external_id, i.display_name, i.content_hash, i.deleted_run_id IS NOT NULL AS deleted
        ), hist AS (
            INSERT INTO inventory.item_changes
                   (tenant_id, run_id, policy_type, external_id, item_id, changed_at, change,
                    old_display_name, old_content_hash)
            SELECT v_tenant, v_run_id, v_type, g.external_id, g.id, v_now,
                   CASE WHEN g.deleted THEN 'deleted' ELSE 'gone' END, g.display_name, g.content_hash
              FROM gone g
        )
        SELECT count(*), count(*) FILTER (WHERE g.deleted) INTO absent_marked, deleted_marked FROM gone g;
    END IF;

    IF v_mark IS NOT NULL THEN
        -- Items this run observed whose rows do not say so yet; those that
        -- were absent are back.
        WITH marked AS (
            UPDATE inventory.item_state i
               SET seen_run_id = v_run_id,
                   seen_at = v_now,
                   absent_since_run_id = CASE WHEN i.absent_since_run_id < v_run_id
                                              THEN NULL ELSE i.absent_since_run_id END,
                   deleted_at = CASE WHEN i.absent_since_run_id < v_run_id THEN NULL ELSE i.deleted_at END,
                   deleted_run_id = CASE WHEN i.absent_since_run_id < v_run_id THEN NULL ELSE i.deleted_run_id END,
                   write_seq = v_seq
             WHERE i.tenant_id = v_tenant AND i.policy_type = v_type AND i.external_id = ANY (v_mark)
               AND inventory._last_seen_run(i.absent_since_run_id, i.seen_run_id, i.write_seq,
                                            v_w.run_id, v_w.seq) < v_run_id
            RETURNING i.id, i.external_id, i.display_name, i.content_hash
        )
        INSERT INTO inventory.item_changes
               (tenant_id, run_id, policy_type, external_id, item_id, changed_at, change,
                old_display_name, new_display_name, old_content_hash, new_content_hash)
        SELECT v_tenant, v_run_id, v_type, m.external_id, m.id, v_now, 'back',
               m.display_name, m.display_name, m.content_hash, m.content_hash
          FROM marked m
         WHERE m.external_id = ANY (coalesce(v_back, '{}'));
    END IF;

    IF v_complete AND NOT held THEN
        -- Earlier held verdicts of the type: this enumeration, not held
        -- itself, agrees with the absences it did not undo.
        UPDATE inventory.inventory_sync_run_types t
           SET mass_missing = 'confirmed',
               mass_missing_resolved_at = v_now,
               mass_missing_resolved_by = 'run ' || v_run_id::text
         WHERE t.tenant_id = v_tenant AND t.policy_type = v_type AND t.mass_missing = 'held'
           AND t.run_id < v_run_id;
    END IF;

    IF v_complete AND (v_w.run_id IS NULL OR v_w.run_id < v_run_id) THEN
        INSERT INTO inventory.type_watermarks AS w (tenant_id, policy_type, run_id, observed_at, seq)
        VALUES (v_tenant, v_type, v_run_id, v_now, nextval('inventory.write_seq'))
        ON CONFLICT (tenant_id, policy_type) DO UPDATE
           SET run_id = excluded.run_id, observed_at = excluded.observed_at, seq = excluded.seq;
    END IF;

    IF v_keys > 0 THEN
        IF v_unknown > 0 THEN
            -- Samples of the rejected keys, with the reason.
            WITH k AS MATERIALIZED (
                SELECT k.external_id, k.row_fp FROM pg_temp.staged_keys k WHERE k.policy_type = v_type
            )
            SELECT jsonb_agg(inventory._rejected_sample(v_type, u.external_id,
                       coalesce(inventory._staged_row_problem(v_type, u.external_id, NULL, u.row_fp,
                                                              v_run.policy_types, '{}'),
                                'staged key of an item the tenant does not hold')))
              INTO v_samples
              FROM (SELECT k.external_id, k.row_fp FROM k
                      LEFT JOIN inventory.item_state i
                        ON i.tenant_id = v_tenant AND i.policy_type = v_type AND i.external_id = k.external_id
                     WHERE i.id IS NULL LIMIT 5) u;
        END IF;
        IF v_stale > 0 THEN
            v_samples := coalesce(v_samples, '[]') || jsonb_build_array(jsonb_build_object(
                'code', 'stale_staged_key', 'policy_type', v_type, 'count', v_stale,
                'message', pg_catalog.format('%s staged key(s) named a row written since the manifest was read: counted as observed; the next run stages such items whole', v_stale)));
        END IF;
        PERFORM inventory._count_run(v_tenant, v_run_id, v_found, 0, 0, 0, v_unknown, v_samples,
                                     array_remove(ARRAY[CASE WHEN v_unknown > 0 THEN 'bad_staged_row' END,
                                                        CASE WHEN v_stale > 0 THEN 'stale_staged_key' END], NULL));
        IF EXISTS (SELECT 1 FROM pg_temp.staged_keys k WHERE k.policy_type <> v_type) THEN
            DELETE FROM pg_temp.staged_keys k WHERE k.policy_type = v_type;
        ELSE
            TRUNCATE pg_temp.staged_keys;
        END IF;
    END IF;

    IF EXISTS (SELECT 1 FROM pg_temp.inventory_run_seen s WHERE s.policy_type <> v_type) THEN
        DELETE FROM pg_temp.inventory_run_seen s WHERE s.policy_type = v_type;
    ELSE
        TRUNCATE pg_temp.inventory_run_seen;
    END IF;
END
$$;
COMMENT ON FUNCTION inventory._settle_policy_type(inventory.inventory_sync_runs, text, boolean, boolean, text[], text[]) IS
'Internal: when a run''s enumeration of a policy type ends, takes its staged keys and the items Graph answered for (p_seen) as observations, marks unobserved items absent (complete enumerations only; p_deleted: verified deletions), writes observations the rows do not carry yet with their history, applies the mass-missing guard, confirms earlier held verdicts and moves the type watermark. p_plan_only: only returns what it would make absent.';

-- Staged keys no enumeration settled (their type completed before they were
-- staged, or is not in the selection) are rejected when the run finishes.
CREATE OR REPLACE FUNCTION inventory._reject_leftover_keys(v_run inventory.inventory_sync_runs) RETURNS void
    LANGUAGE plpgsql
    SET search_path = inventory, pg_catalog, pg_temp
    AS $$
DECLARE
    v_n       bigint;
    v_samples jsonb;
    v_done    text[];
BEGIN
    SELECT count(*) INTO v_n FROM pg_temp.staged_keys;
    IF v_n = 0 THEN
        RETURN;
    END IF;
    SELECT coalesce(array_agg(t.policy_type), '{}') INTO v_done
      FROM inventory.inventory_sync_run_types t
     WHERE t.tenant_id = v_run.tenant_id AND t.run_id = v_run.id;
    SELECT jsonb_agg(x.s) INTO v_samples
      FROM (SELECT inventory._rejected_sample(k.policy_type, k.external_id,
                       coalesce(inventory._staged_row_problem(k.policy_type, k.external_id, NULL, k.row_fp,
                                                              v_run.policy_types, v_done),
                                'staged key left unsettled')) AS s
              FROM pg_temp.staged_keys k LIMIT 5) x;
    TRUNCATE pg_temp.staged_keys;
    PERFORM inventory._count_run(v_run.tenant_id, v_run.id, 0, 0, 0, 0, v_n, v_samples, '{bad_staged_row}');
END
$$;
COMMENT ON FUNCTION inventory._reject_leftover_keys(inventory.inventory_sync_runs) IS
'Internal: counts the staged keys that no policy type settled as rejected (bad_staged_row).';

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
'Applies the rows COPYed into pg_temp.staged_items to the run in one set-based pass: idempotent, duplicates collapse (last row wins), meta filtered by the whitelist, bad rows counted as bad_staged_row, only new/changed items written; staging is emptied. Call as often as you like. Keys staged into pg_temp.staged_keys wait for their type''s complete_policy_type.';

-- The manifest (docs/design.md §6): what the run's tenant holds of its
-- selection, so that a client can stage unchanged items as keys.
CREATE OR REPLACE FUNCTION inventory.sync_manifest(run_id bigint)
    RETURNS TABLE (policy_type text, external_id text, row_fp text)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = inventory, pg_catalog, pg_temp
    AS $$
DECLARE
    v_run    inventory.inventory_sync_runs := inventory._owned_run(sync_manifest.run_id);
    v_tenant uuid := v_run.tenant_id;
    v_types  text[] := v_run.policy_types;
BEGIN
    RETURN QUERY
    SELECT i.policy_type, i.external_id, i.row_fp
      FROM inventory.item_state i
     WHERE i.tenant_id = v_tenant AND i.policy_type = ANY (v_types)
       AND i.absent_since_run_id IS NULL AND i.row_fp IS NOT NULL;
END
$$;
COMMENT ON FUNCTION inventory.sync_manifest(bigint) IS
'For the session''s running run: every present item of its tenant and selection whose row was written from a staged row with a fingerprint (row_fp). An item staged again with the same fingerprint may be staged as its key alone, into pg_temp.staged_keys.';

-- Changes whenever what a fingerprint stands for could: the meta whitelist
-- or the extension's version. Clients mix it into every fingerprint, so a
-- change makes every item staged in full once.
CREATE OR REPLACE FUNCTION inventory.fingerprint_salt() RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = inventory, pg_catalog, pg_temp
    AS $$
    SELECT md5(coalesce((SELECT e.extversion FROM pg_catalog.pg_extension e WHERE e.extname = 'tenant_inventory'), '')
               || '/' || coalesce((SELECT string_agg(k.key || '=' || k.kind, ',' ORDER BY k.key)
                                     FROM inventory.meta_keys k), ''))
$$;
COMMENT ON FUNCTION inventory.fingerprint_salt() IS
'The value clients mix into row fingerprints (pg_temp.staged_items.row_fp): it changes with the meta whitelist and the extension version.';

-- The policy type a lifecycle call names must be one of its run's.
CREATE OR REPLACE FUNCTION inventory._run_policy_type(v_run inventory.inventory_sync_runs, v_type text,
                                                      p_must_be_open boolean)
    RETURNS inventory.inventory_sync_run_types
    LANGUAGE plpgsql
    SET search_path = inventory, pg_catalog, pg_temp
    AS $$
DECLARE
    v_prev inventory.inventory_sync_run_types;
BEGIN
    IF v_type IS NULL OR NOT v_type = ANY (v_run.policy_types) THEN
        RAISE EXCEPTION 'policy type "%" is not part of the selection of run %', v_type, v_run.id
            USING ERRCODE = '22023',
                  DETAIL = format('The run''s policy types are %s.', array_to_string(v_run.policy_types, ', '));
    END IF;
    SELECT * INTO v_prev FROM inventory.inventory_sync_run_types t
     WHERE t.tenant_id = v_run.tenant_id AND t.run_id = v_run.id AND t.policy_type = v_type;
    IF FOUND AND p_must_be_open THEN
        RAISE EXCEPTION 'policy type "%" of run % was already recorded as %', v_type, v_run.id, v_prev.status
            USING ERRCODE = '55000';
    END IF;
    RETURN v_prev;
END
$$;
COMMENT ON FUNCTION inventory._run_policy_type(inventory.inventory_sync_runs, text, boolean) IS
'Internal: raises 22023 unless the policy type is in the run''s selection (and 55000 when p_must_be_open and its outcome is recorded); returns its recorded outcome, if any.';

CREATE OR REPLACE FUNCTION inventory.complete_policy_type(run_id bigint, policy_type text, status text,
                                               pages integer, items_seen integer, error_code text DEFAULT NULL)
    RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = inventory, pg_catalog, pg_temp
    AS $$
DECLARE
    v_run     inventory.inventory_sync_runs := inventory._owned_run(complete_policy_type.run_id);
    v_prev    inventory.inventory_sync_run_types;
    v_type    text := complete_policy_type.policy_type;
    v_status  text := complete_policy_type.status;
    v_code    text := complete_policy_type.error_code;
    v_deleted text[];
    v_present text[];
    v_settled record;
BEGIN
    v_prev := inventory._run_policy_type(v_run, v_type, false);
    IF v_status IS NULL OR v_status NOT IN ('complete', 'incomplete', 'failed') THEN
        RAISE EXCEPTION 'invalid policy type status "%"', v_status
            USING ERRCODE = '22023', HINT = 'Use complete, incomplete or failed.';
    END IF;
    IF coalesce(pages, 0) < 0 OR coalesce(items_seen, 0) < 0 THEN
        RAISE EXCEPTION 'pages and items_seen must not be negative' USING ERRCODE = '22023';
    END IF;
    IF v_code IS NOT NULL AND v_code !~ '^[a-z][a-z0-9_]{0,62}$' THEN
        RAISE EXCEPTION 'invalid error code "%"', left(inventory.redact_secrets(v_code), 80)
            USING ERRCODE = '22023', HINT = 'Error codes are lower-case identifiers such as graph_forbidden.';
    END IF;
    IF v_prev.status IS NOT NULL THEN
        IF v_prev.status = v_status
           OR (v_status = 'complete' AND v_prev.error_code = 'listing_inconsistent') THEN
            RETURN;  -- repeated call: nothing to do
        END IF;
        RAISE EXCEPTION 'policy type "%" of run % was already recorded as %', v_type, v_run.id, v_prev.status
            USING ERRCODE = '55000';
    END IF;

    -- Rows of this type still in staging belong to the enumeration.
    PERFORM inventory._apply_staged(v_run);

    -- What Graph answered for the items the listing left out: a 404 is a
    -- verified deletion; a 200 shows the listing was wrong, so it is not a
    -- complete enumeration (and the item was observed).
    IF v_status = 'complete' THEN
        SELECT array_agg(v.external_id) FILTER (WHERE v.http_status = 404),
               array_agg(v.external_id) FILTER (WHERE v.http_status BETWEEN 200 AND 299)
          INTO v_deleted, v_present
          FROM inventory.item_verifications v
         WHERE v.tenant_id = v_run.tenant_id AND v.run_id = v_run.id AND v.policy_type = v_type;
        IF v_present IS NOT NULL THEN
            v_status := 'incomplete';
            v_code := 'listing_inconsistent';
        END IF;
    END IF;
    SELECT * INTO v_settled
      FROM inventory._settle_policy_type(v_run, v_type, v_status = 'complete', false, v_present, v_deleted);

    INSERT INTO inventory.inventory_sync_run_types
           (tenant_id, run_id, policy_type, status, pages, items_seen, error_code,
            absent_marked, present_before, verified_deleted, verified_present, mass_missing)
    VALUES (v_run.tenant_id, v_run.id, v_type, v_status, coalesce(pages, 0), coalesce(items_seen, 0),
            CASE WHEN v_status = 'complete' THEN v_code
                 ELSE coalesce(v_code, 'policy_type_' || v_status) END,
            v_settled.absent_marked, v_settled.present_before, v_settled.deleted_marked,
            coalesce(cardinality(v_present), 0), CASE WHEN v_settled.held THEN 'held' END);
END
$$;
COMMENT ON FUNCTION inventory.complete_policy_type(bigint, text, text, integer, integer, text) IS
'Records the outcome of one policy type of a run: complete (every page read: items not listed become absent), incomplete or failed. Applies any rows still staged first. A complete enumeration for which Graph answered 200 for an item it left out (inventory.record_verifications) is recorded incomplete with error code listing_inconsistent; items it answered 404 for become verified deletions. A complete enumeration that would make more than the threshold of present items absent is recorded with mass_missing = held. Repeating the same call is a no-op.';

-- Verified deletions (docs/design.md §12), step 1: the items a complete
-- enumeration of the type ending now would make absent, at most
-- verify_max_per_type of them (inventory.limits()), in an order of their own
-- per run. The client asks Graph for each, then calls record_verifications,
-- then complete_policy_type.
CREATE OR REPLACE FUNCTION inventory.absence_candidates(run_id bigint, policy_type text)
    RETURNS TABLE (external_id text)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = inventory, pg_catalog, pg_temp
    AS $$
DECLARE
    v_run    inventory.inventory_sync_runs := inventory._owned_run(absence_candidates.run_id);
    v_type   text := absence_candidates.policy_type;
    v_ids    text[];
    v_run_id bigint := v_run.id;
BEGIN
    PERFORM inventory._run_policy_type(v_run, v_type, true);
    PERFORM inventory._apply_staged(v_run);
    SELECT s.absent_ids INTO v_ids
      FROM inventory._settle_policy_type(v_run, v_type, true, true, NULL, NULL) s;
    RETURN QUERY
    SELECT a.id FROM unnest(v_ids) a(id)
     ORDER BY md5(a.id || '/' || v_run_id::text), a.id
     LIMIT inventory._limit('verify_max_per_type');
END
$$;
COMMENT ON FUNCTION inventory.absence_candidates(bigint, text) IS
'For the session''s running run: up to verify_max_per_type (inventory.limits()) items of the policy type that completing its enumeration now would make absent (rows still staged are applied first). Ask Graph for each (GET <graph_path>/{id}) and report the answers with inventory.record_verifications before complete_policy_type.';

-- Verified deletions, step 2: Graph's answers.
CREATE OR REPLACE FUNCTION inventory.record_verifications(run_id bigint, policy_type text, external_ids text[],
                                                          http_statuses integer[])
    RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = inventory, pg_catalog, pg_temp
    AS $$
DECLARE
    v_run     inventory.inventory_sync_runs := inventory._owned_run(record_verifications.run_id);
    v_type    text := record_verifications.policy_type;
    v_tenant  uuid := v_run.tenant_id;
    v_run_id  bigint := v_run.id;
    v_now     timestamptz := clock_timestamp();
    v_n       integer;
    v_failed  integer;
    v_samples jsonb;
BEGIN
    PERFORM inventory._run_policy_type(v_run, v_type, true);
    IF external_ids IS NULL OR http_statuses IS NULL
       OR cardinality(external_ids) <> cardinality(http_statuses) THEN
        RAISE EXCEPTION 'external_ids and http_statuses must be arrays of the same length' USING ERRCODE = '22023';
    END IF;
    IF cardinality(external_ids) > inventory._limit('verify_max_per_type') THEN
        RAISE EXCEPTION 'at most % verifications per policy type and run', inventory._limit('verify_max_per_type')
            USING ERRCODE = '22023';
    END IF;
    IF EXISTS (SELECT 1 FROM unnest(http_statuses) s WHERE s IS NULL OR s NOT BETWEEN 0 AND 999) THEN
        RAISE EXCEPTION 'http_statuses must be HTTP status codes (0: no answer)' USING ERRCODE = '22023';
    END IF;
    -- Only items of the run's tenant and type are recorded (the last answer
    -- for an id wins); other ids are ignored.
    WITH v AS (
        SELECT DISTINCT ON (u.external_id) u.external_id, u.http_status
          FROM unnest(external_ids, http_statuses) WITH ORDINALITY u(external_id, http_status, n)
         WHERE u.external_id IS NOT NULL
         ORDER BY u.external_id, u.n DESC
    ), ins AS (
        INSERT INTO inventory.item_verifications AS r
               (tenant_id, run_id, policy_type, external_id, http_status, checked_at)
        SELECT v_tenant, v_run_id, v_type, i.external_id, v.http_status, v_now
          FROM v
          JOIN inventory.item_state i
            ON i.tenant_id = v_tenant AND i.policy_type = v_type AND i.external_id = v.external_id
        ON CONFLICT ON CONSTRAINT item_verifications_pkey DO UPDATE
           SET http_status = excluded.http_status, checked_at = excluded.checked_at
        RETURNING r.external_id, r.http_status
    )
    SELECT count(*), count(*) FILTER (WHERE ins.http_status <> 404 AND ins.http_status NOT BETWEEN 200 AND 299),
           jsonb_agg(jsonb_build_object('code', 'verification_failed', 'policy_type', v_type,
                                        'external_id', ins.external_id, 'http_status', ins.http_status,
                                        'message', CASE WHEN ins.http_status = 0
                                                        THEN 'Graph did not answer for an item the listing left out'
                                                        ELSE 'Graph answered ' || ins.http_status
                                                             || ' for an item the listing left out' END))
               FILTER (WHERE ins.http_status <> 404 AND ins.http_status NOT BETWEEN 200 AND 299)
      INTO v_n, v_failed, v_samples
      FROM ins;
    IF v_failed > 0 THEN
        -- Other answers change nothing; they are the run's errors.
        PERFORM inventory._count_run(v_tenant, v_run_id, 0, 0, 0, 0, 0,
                                     (SELECT jsonb_agg(e) FROM (SELECT e FROM jsonb_array_elements(v_samples) e
                                                                 LIMIT 5) x),
                                     '{verification_failed}');
    END IF;
    RETURN v_n;
END
$$;
COMMENT ON FUNCTION inventory.record_verifications(bigint, text, text[], integer[]) IS
'For the session''s running run, before complete_policy_type of the type: records Graph''s answers (HTTP status, 0 for none) to GET <graph_path>/{id} for items of inventory.absence_candidates. 404: the item becomes a verified deletion when the type completes; 2xx: the listing was wrong, and the type is recorded incomplete (listing_inconsistent) with the item observed; any other answer changes nothing and is recorded as a run error (verification_failed). Ids that are not items of the tenant and type are ignored. Returns the answers recorded.';

-- An operator's verdict on a held mass-missing enumeration.
CREATE OR REPLACE FUNCTION inventory.accept_mass_missing(run_id bigint, policy_type text)
    RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = inventory, pg_catalog, pg_temp
    AS $$
DECLARE
    v_rt     inventory.inventory_sync_run_types;
    v_n      integer;
    v_now    timestamptz;
    v_caller name := inventory._outer_user();
BEGIN
    SELECT * INTO v_rt FROM inventory.inventory_sync_run_types t
     WHERE t.run_id = accept_mass_missing.run_id AND t.policy_type = accept_mass_missing.policy_type
       AND t.mass_missing = 'held';
    -- The same answer whether the run is another tenant's or none.
    IF NOT FOUND OR NOT inventory._may_sync(v_rt.tenant_id) THEN
        RAISE EXCEPTION 'run % has no held mass-missing verdict for policy type "%"',
              accept_mass_missing.run_id, accept_mass_missing.policy_type
            USING ERRCODE = '22023',
                  HINT = 'Held verdicts: SELECT * FROM inventory.inventory_sync_run_types WHERE mass_missing = ''held''.';
    END IF;
    -- The time is a value (Citus runs no volatile function in an UPDATE).
    v_now := clock_timestamp();
    UPDATE inventory.inventory_sync_run_types t
       SET mass_missing = 'accepted',
           mass_missing_resolved_at = v_now,
           mass_missing_resolved_by = v_caller
     WHERE t.tenant_id = v_rt.tenant_id AND t.run_id = v_rt.run_id AND t.policy_type = v_rt.policy_type
       AND t.mass_missing = 'held';
    SELECT count(*) INTO v_n FROM inventory.item_state i
     WHERE i.tenant_id = v_rt.tenant_id AND i.policy_type = v_rt.policy_type
       AND i.absent_since_run_id = v_rt.run_id;
    RETURN v_n;
END
$$;
COMMENT ON FUNCTION inventory.accept_mass_missing(bigint, text) IS
'Accepts a held mass-missing verdict (inventory_sync_run_types.mass_missing = held) of a run and policy type: its absences are trusted from now on (confidence high). Returns how many items are still absent since that run. Granted to nobody by default; the caller must have the tenant (grant_tenant_access), like a sync role.';

-- Normalizes, redacts and bounds an errors document (at most errors_max
-- entries, messages of at most error_message_max_chars: inventory.limits()).
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
    v_max   integer := inventory._limit('errors_max');
    v_chars integer := inventory._limit('error_message_max_chars');
BEGIN
    IF jsonb_typeof(v_in) <> 'array' THEN
        v_in := jsonb_build_array(v_in);
    END IF;
    v_total := jsonb_array_length(v_in);
    FOR v_e IN SELECT e FROM jsonb_array_elements(v_in) e LOOP
        v_n := v_n + 1;
        EXIT WHEN v_n > v_max;
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
                                       CASE WHEN v_key = 'message' THEN v_chars ELSE 200 END));
            ELSIF jsonb_typeof(v_val) IN ('object', 'array') THEN
                v_val := to_jsonb(left(inventory.redact_secrets(v_val::text), v_chars));
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
    IF v_total > v_max THEN
        v_out := v_out || jsonb_build_array(jsonb_build_object(
            'code', 'errors_truncated', 'count', v_total - v_max,
            'message', format('%s more errors were not stored', v_total - v_max)));
    END IF;
    RETURN v_out;
END
$$;
COMMENT ON FUNCTION inventory._sanitize_errors(jsonb) IS
'Internal: the errors a run stores: known keys only, every string through inventory.redact_secrets, messages cut to error_message_max_chars characters (other strings to 200), numbers below 1e15 in magnitude rounded to 3 decimals (others null), at most errors_max entries (inventory.limits()).';

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
            PERFORM inventory._settle_policy_type(v_run, v_type, false, false, NULL, NULL);
        END IF;
        INSERT INTO inventory.inventory_sync_run_types (tenant_id, run_id, policy_type, status, error_code)
        VALUES (v_run.tenant_id, v_run.id, v_type, 'failed', 'policy_type_not_reported');
    END LOOP;

    IF v_staging THEN
        PERFORM inventory._reject_leftover_keys(v_run);
    END IF;

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
        TRUNCATE pg_temp.staged_items, pg_temp.staged_keys, pg_temp.inventory_run_seen, pg_temp.inventory_pending;
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

--------------------------------------------------------------------------------
-- Retention (docs/design.md §12). Maintenance for the extension owner (not
-- granted to anyone): one statement per tenant, each on its own shard on
-- Citus.
--------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION inventory.prune_history(older_than interval) RETURNS bigint
    LANGUAGE plpgsql
    SET search_path = inventory, pg_catalog, pg_temp
    AS $$
DECLARE
    v_cutoff timestamptz := clock_timestamp() - older_than;
    v_tenant uuid;
    v_keep   bigint[];
    v_n      bigint;
    v_total  bigint := 0;
BEGIN
    IF older_than IS NULL OR older_than < interval '0' THEN
        RAISE EXCEPTION 'older_than must be a positive interval' USING ERRCODE = '22023';
    END IF;
    FOR v_tenant IN SELECT DISTINCT r.tenant_id FROM inventory.inventory_sync_runs r ORDER BY 1 LOOP
        -- What the latest run of each selection changed stays
        -- (inventory.latest_run_changes).
        v_keep := ARRAY(SELECT l.run_id FROM inventory.latest_sync_runs l WHERE l.tenant_id = v_tenant);
        DELETE FROM inventory.item_changes c
         WHERE c.tenant_id = v_tenant AND c.changed_at < v_cutoff AND c.run_id <> ALL (v_keep);
        GET DIAGNOSTICS v_n = ROW_COUNT;
        v_total := v_total + v_n;
    END LOOP;
    RETURN v_total;
END
$$;
COMMENT ON FUNCTION inventory.prune_history(interval) IS
'Deletes history rows (inventory.item_changes) recorded longer ago than older_than, except those of the latest finished run of each tenant and selection (inventory.latest_run_changes); returns how many.';

CREATE OR REPLACE FUNCTION inventory.prune_runs(older_than interval) RETURNS bigint
    LANGUAGE plpgsql
    SET search_path = inventory, pg_catalog, pg_temp
    AS $$
DECLARE
    v_cutoff timestamptz := clock_timestamp() - older_than;
    v_tenant uuid;
    v_keep   bigint[];
    v_n      bigint;
    v_total  bigint := 0;
BEGIN
    IF older_than IS NULL OR older_than < interval '0' THEN
        RAISE EXCEPTION 'older_than must be a positive interval' USING ERRCODE = '22023';
    END IF;
    FOR v_tenant IN SELECT DISTINCT r.tenant_id FROM inventory.inventory_sync_runs r
                     WHERE r.status <> 'running' AND r.finished_at < v_cutoff ORDER BY 1 LOOP
        -- Every run something still names: an item row, a watermark, a
        -- history row, or the latest run of a selection (missing_items,
        -- latest_sync_runs).
        v_keep := ARRAY(
            SELECT x.run_id FROM inventory.item_state i
             CROSS JOIN LATERAL (VALUES (i.first_seen_run_id), (i.seen_run_id), (i.content_changed_run_id),
                                        (i.absent_since_run_id), (i.deleted_run_id)) x(run_id)
             WHERE i.tenant_id = v_tenant AND x.run_id IS NOT NULL
            UNION
            SELECT w.run_id FROM inventory.type_watermarks w WHERE w.tenant_id = v_tenant
            UNION
            SELECT c.run_id FROM inventory.item_changes c WHERE c.tenant_id = v_tenant
            UNION
            SELECT l.run_id FROM inventory.latest_sync_runs l WHERE l.tenant_id = v_tenant);
        -- Their run types and verifications go with them (ON DELETE CASCADE).
        DELETE FROM inventory.inventory_sync_runs r
         WHERE r.tenant_id = v_tenant AND r.status <> 'running' AND r.finished_at < v_cutoff
           AND r.id <> ALL (v_keep);
        GET DIAGNOSTICS v_n = ROW_COUNT;
        v_total := v_total + v_n;
    END LOOP;
    RETURN v_total;
END
$$;
COMMENT ON FUNCTION inventory.prune_runs(interval) IS
'Deletes finished runs that ended longer ago than older_than with their run types and verifications, except runs an item row, a type watermark or a history row names and the latest finished run of each tenant and selection (prune the history first to let more go); returns how many.';
