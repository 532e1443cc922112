--------------------------------------------------------------------------------
-- The rules the sync engine and the views share, each written once
-- (docs/design.md §5). Plain SQL expressions without settings, so that the
-- planner inlines them into every statement that uses them: they cost what
-- the expression costs, and an index or a hash join sees through them.
--------------------------------------------------------------------------------

-- An item row that the type's watermark run observed without writing it: the
-- item is present, the row was written before the watermark's enumeration
-- completed, by an older run. Such an item was last seen by the watermark run.
CREATE OR REPLACE FUNCTION inventory._watermark_covers(absent_since_run_id bigint, seen_run_id bigint,
                                                       write_seq bigint, wm_run_id bigint, wm_seq bigint)
    RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    SELECT absent_since_run_id IS NULL AND wm_seq > write_seq AND wm_run_id > seen_run_id
$$;
COMMENT ON FUNCTION inventory._watermark_covers(bigint, bigint, bigint, bigint, bigint) IS
'Internal rule: true when the type''s watermark run (wm_run_id, wm_seq) observed a present item row written before it by an older run; its last observation is then the watermark''s.';

-- The newest run that observed an item ("effective last seen").
CREATE OR REPLACE FUNCTION inventory._last_seen_run(absent_since_run_id bigint, seen_run_id bigint,
                                                    write_seq bigint, wm_run_id bigint, wm_seq bigint)
    RETURNS bigint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    SELECT CASE WHEN inventory._watermark_covers(absent_since_run_id, seen_run_id, write_seq, wm_run_id, wm_seq)
                THEN wm_run_id ELSE seen_run_id END
$$;
COMMENT ON FUNCTION inventory._last_seen_run(bigint, bigint, bigint, bigint, bigint) IS
'Internal rule: the newest run that observed an item: the watermark run when it covers the row, else the row''s own seen_run_id.';

-- When that run observed it.
CREATE OR REPLACE FUNCTION inventory._last_seen_at(absent_since_run_id bigint, seen_run_id bigint, write_seq bigint,
                                                   seen_at timestamptz, wm_run_id bigint, wm_seq bigint,
                                                   wm_observed_at timestamptz)
    RETURNS timestamptz
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    SELECT CASE WHEN inventory._watermark_covers(absent_since_run_id, seen_run_id, write_seq, wm_run_id, wm_seq)
                THEN wm_observed_at ELSE seen_at END
$$;
COMMENT ON FUNCTION inventory._last_seen_at(bigint, bigint, bigint, timestamptz, bigint, bigint, timestamptz) IS
'Internal rule: when the newest run that observed an item observed it (see inventory._last_seen_run).';

-- Whether an observation is a change the history records: the name, the
-- whitelisted meta or the content differ (a new fingerprint alone is not).
CREATE OR REPLACE FUNCTION inventory._is_change(old_name text, old_meta jsonb, old_hash text,
                                                new_name text, new_meta jsonb, new_hash text)
    RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    SELECT old_name IS DISTINCT FROM new_name OR old_meta IS DISTINCT FROM new_meta
           OR old_hash IS DISTINCT FROM new_hash
$$;
COMMENT ON FUNCTION inventory._is_change(text, jsonb, text, text, jsonb, text) IS
'Internal rule: whether an item''s name, whitelisted meta or content hash changed.';

-- Whether run `run_id`'s observation of an item (name, meta, content hash,
-- fingerprint) must be written to its row: the item comes back (it is
-- absent, and the run is not older than the absence, or the row's
-- observation is older than the run), or it is present, no newer run has
-- observed it, and what the run saw differs from the row. A fingerprint is
-- compared only when the run gave one.
CREATE OR REPLACE FUNCTION inventory._needs_write(absent_since_run_id bigint, seen_run_id bigint, write_seq bigint,
                                                  wm_run_id bigint, wm_seq bigint, run_id bigint,
                                                  old_name text, old_meta jsonb, old_hash text, old_fp text,
                                                  new_name text, new_meta jsonb, new_hash text, new_fp text)
    RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    SELECT CASE WHEN absent_since_run_id IS NOT NULL
                THEN absent_since_run_id < run_id OR seen_run_id < run_id
                ELSE inventory._last_seen_run(absent_since_run_id, seen_run_id, write_seq, wm_run_id, wm_seq) <= run_id
                     AND (inventory._is_change(old_name, old_meta, old_hash, new_name, new_meta, new_hash)
                          OR (new_fp IS NOT NULL AND old_fp IS DISTINCT FROM new_fp)) END
$$;
COMMENT ON FUNCTION inventory._needs_write(bigint, bigint, bigint, bigint, bigint, bigint, text, jsonb, text, text, text, jsonb, text, text) IS
'Internal rule: whether a run''s observation of an existing item must be written to its row (it comes back, or it changed and no newer run observed it).';

-- The limits a staged row, a stored error and a run's error list are held
-- to. Clients that check rows before staging them (inventory-fetch does)
-- read them here; a test pins the fetcher's copies to these values.
CREATE OR REPLACE FUNCTION inventory.limits()
    RETURNS TABLE (name text, value bigint)
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    VALUES ('external_id_max_bytes'::text, 1024::bigint),
           ('error_message_max_chars', 512),
           ('errors_max', 100),
           ('verify_max_per_type', 50)
$$;
COMMENT ON FUNCTION inventory.limits() IS
'The limits rows and errors are held to: external_id_max_bytes (a longer external_id is a bad_staged_row), error_message_max_chars (stored error messages are cut there), errors_max (errors stored per call of finish_sync_run), verify_max_per_type (items of a type a run asks Graph for by id: inventory.absence_candidates).';

-- One limit, for the statements below (folded to a constant when planned).
CREATE OR REPLACE FUNCTION inventory._limit(limit_name text) RETURNS bigint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    SELECT l.value FROM inventory.limits() l WHERE l.name = limit_name
$$;
COMMENT ON FUNCTION inventory._limit(text) IS 'Internal: one value of inventory.limits().';

--------------------------------------------------------------------------------
-- History and trust (docs/design.md §12)
--------------------------------------------------------------------------------

-- The whitelisted meta keys whose values differ, with both values (null for
-- a key not set): what a history row records of meta.
CREATE OR REPLACE FUNCTION inventory._meta_changes(old_meta jsonb, new_meta jsonb)
    RETURNS jsonb
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    SELECT coalesce(jsonb_object_agg(k.key, jsonb_build_object('old', old_meta -> k.key, 'new', new_meta -> k.key)),
                    '{}'::jsonb)
      FROM (SELECT jsonb_object_keys(coalesce(old_meta, '{}'::jsonb))
            UNION
            SELECT jsonb_object_keys(coalesce(new_meta, '{}'::jsonb))) k(key)
     WHERE (old_meta -> k.key) IS DISTINCT FROM (new_meta -> k.key)
$$;
COMMENT ON FUNCTION inventory._meta_changes(jsonb, jsonb) IS
'Internal rule: {"key": {"old": v, "new": v}} for every meta key whose value differs ({} when none).';

-- The mass-missing guard: a complete enumeration that would make `absent`
-- of `present` items absent is held when that is more than `fraction` of
-- them and at least `min_items`.
CREATE OR REPLACE FUNCTION inventory._mass_missing(absent bigint, present bigint, fraction numeric, min_items integer)
    RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    SELECT absent >= min_items AND absent > fraction * present
$$;
COMMENT ON FUNCTION inventory._mass_missing(bigint, bigint, numeric, integer) IS
'Internal rule: whether making `absent` of `present` items absent trips the mass-missing guard (more than `fraction` of them and at least `min_items`).';

-- Which row of inventory.trust_settings gives a setting: the most specific
-- one that sets it (rank 0: tenant and type, 1: tenant, 2: type, 3: all).
CREATE OR REPLACE FUNCTION inventory._setting_rank(row_tenant uuid, row_type text, tenant uuid, policy_type text)
    RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    SELECT CASE WHEN (row_tenant IS NULL OR row_tenant = tenant) AND (row_type IS NULL OR row_type = policy_type)
                THEN (row_tenant IS NULL)::integer * 2 + (row_type IS NULL)::integer END
$$;
COMMENT ON FUNCTION inventory._setting_rank(uuid, text, uuid, text) IS
'Internal rule: NULL when a trust_settings row does not apply to (tenant, policy_type), else its precedence (0 first: tenant and type, tenant, type, all).';
