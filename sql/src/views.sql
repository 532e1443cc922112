--------------------------------------------------------------------------------
-- Views
--------------------------------------------------------------------------------

CREATE OR REPLACE VIEW inventory.inventory_items WITH (security_invoker = true) AS
SELECT i.id,
       i.tenant_id,
       i.policy_type,
       i.external_id,
       i.display_name,
       i.meta_jsonb,
       i.content_hash,
       i.first_seen_at,
       i.first_seen_run_id,
       inventory._last_seen_at(i.absent_since_run_id, i.seen_run_id, i.write_seq, i.seen_at,
                               w.run_id, w.seq, w.observed_at) AS last_seen_at,
       inventory._last_seen_run(i.absent_since_run_id, i.seen_run_id, i.write_seq, w.run_id, w.seq) AS last_seen_run_id,
       i.content_changed_at,
       i.content_changed_run_id,
       i.absent_since_run_id IS NULL AS present,
       i.absent_since_run_id,
       i.deleted_at,
       i.deleted_run_id
  FROM inventory.item_state i
  LEFT JOIN inventory.type_watermarks w
         ON w.tenant_id = i.tenant_id AND w.policy_type = i.policy_type;
COMMENT ON VIEW inventory.inventory_items IS
'Every item ever observed per tenant, policy type and Graph id, as last observed.';
COMMENT ON COLUMN inventory.inventory_items.id IS 'Item id.';
COMMENT ON COLUMN inventory.inventory_items.tenant_id IS 'Entra tenant id.';
COMMENT ON COLUMN inventory.inventory_items.policy_type IS 'Policy type (inventory.policy_types).';
COMMENT ON COLUMN inventory.inventory_items.external_id IS 'Graph object id.';
COMMENT ON COLUMN inventory.inventory_items.display_name IS 'Name as last observed.';
COMMENT ON COLUMN inventory.inventory_items.meta_jsonb IS 'Whitelisted meta as last observed (inventory.meta_keys).';
COMMENT ON COLUMN inventory.inventory_items.content_hash IS 'SHA-256 of the canonical object without volatile keys, as last observed.';
COMMENT ON COLUMN inventory.inventory_items.first_seen_at IS 'When the item was first observed.';
COMMENT ON COLUMN inventory.inventory_items.first_seen_run_id IS 'Run that first observed the item.';
COMMENT ON COLUMN inventory.inventory_items.last_seen_at IS 'When the newest run that observed the item observed it.';
COMMENT ON COLUMN inventory.inventory_items.last_seen_run_id IS 'Newest run that observed the item (never moves back to an older run).';
COMMENT ON COLUMN inventory.inventory_items.content_changed_at IS 'When the content hash last changed (first_seen_at if never).';
COMMENT ON COLUMN inventory.inventory_items.content_changed_run_id IS 'Run that observed the current content first.';
COMMENT ON COLUMN inventory.inventory_items.present IS 'False once a complete enumeration of the type no longer listed the item (until it is observed again).';
COMMENT ON COLUMN inventory.inventory_items.absent_since_run_id IS 'Run whose complete enumeration first no longer listed the item (NULL while present).';
COMMENT ON COLUMN inventory.inventory_items.deleted_at IS 'When Graph answered 404 for the absent item (a verified deletion; NULL otherwise).';
COMMENT ON COLUMN inventory.inventory_items.deleted_run_id IS 'Run that verified the deletion.';

CREATE OR REPLACE VIEW inventory.latest_sync_runs WITH (security_invoker = true) AS
SELECT DISTINCT ON (r.tenant_id, r.selection_hash)
       r.tenant_id,
       r.selection_hash,
       r.id AS run_id,
       r.status,
       r.had_errors,
       r.started_at,
       r.finished_at,
       r.finished_at - r.started_at AS duration,
       r.selection_payload,
       r.policy_types,
       r.items_observed,
       r.items_created,
       r.items_updated,
       r.items_unchanged,
       r.items_rejected,
       r.meta_keys_dropped,
       r.error_codes,
       r.correlation_id
  FROM inventory.inventory_sync_runs r
 WHERE r.status <> 'running'
 ORDER BY r.tenant_id, r.selection_hash, r.id DESC;
COMMENT ON VIEW inventory.latest_sync_runs IS
'The latest finished run (succeeded, partial or failed) of each tenant and selection.';
COMMENT ON COLUMN inventory.latest_sync_runs.tenant_id IS 'Entra tenant id.';
COMMENT ON COLUMN inventory.latest_sync_runs.selection_hash IS 'Selection hash.';
COMMENT ON COLUMN inventory.latest_sync_runs.run_id IS 'The latest finished run.';
COMMENT ON COLUMN inventory.latest_sync_runs.status IS 'succeeded, partial or failed.';
COMMENT ON COLUMN inventory.latest_sync_runs.had_errors IS 'Whether the run recorded errors.';
COMMENT ON COLUMN inventory.latest_sync_runs.started_at IS 'Start of the run.';
COMMENT ON COLUMN inventory.latest_sync_runs.finished_at IS 'End of the run.';
COMMENT ON COLUMN inventory.latest_sync_runs.duration IS 'finished_at - started_at.';
COMMENT ON COLUMN inventory.latest_sync_runs.selection_payload IS 'Canonical selection.';
COMMENT ON COLUMN inventory.latest_sync_runs.policy_types IS 'Policy types of the selection.';
COMMENT ON COLUMN inventory.latest_sync_runs.items_observed IS 'Staged rows applied.';
COMMENT ON COLUMN inventory.latest_sync_runs.items_created IS 'New items.';
COMMENT ON COLUMN inventory.latest_sync_runs.items_updated IS 'Changed or returned items.';
COMMENT ON COLUMN inventory.latest_sync_runs.items_unchanged IS 'Unchanged items.';
COMMENT ON COLUMN inventory.latest_sync_runs.items_rejected IS 'Rejected staged rows.';
COMMENT ON COLUMN inventory.latest_sync_runs.meta_keys_dropped IS 'Meta keys dropped by the whitelist.';
COMMENT ON COLUMN inventory.latest_sync_runs.error_codes IS 'Distinct error codes.';
COMMENT ON COLUMN inventory.latest_sync_runs.correlation_id IS 'Caller-supplied correlation id.';

CREATE OR REPLACE VIEW inventory.missing_items WITH (security_invoker = true) AS
SELECT l.tenant_id,
       l.selection_hash,
       i.policy_type,
       i.external_id,
       i.display_name,
       i.id AS item_id,
       CASE WHEN i.deleted_run_id IS NOT NULL THEN 'deleted' ELSE 'missing' END AS state,
       i.last_seen_at,
       i.last_seen_run_id,
       l.run_id AS latest_run_id,
       l.status AS latest_run_status,
       CASE WHEN reasons.r = '{}' THEN 'high' ELSE 'low' END AS confidence,
       reasons.r AS low_confidence_reasons,
       i.deleted_at
  FROM inventory.latest_sync_runs l
  JOIN inventory.inventory_items i
    ON i.tenant_id = l.tenant_id
   AND i.policy_type = ANY (l.policy_types)
  LEFT JOIN inventory.inventory_sync_run_types rt
    ON rt.tenant_id = l.tenant_id AND rt.run_id = l.run_id AND rt.policy_type = i.policy_type
  -- The enumeration that made the item absent, when the guard held it.
  LEFT JOIN inventory.inventory_sync_run_types h
    ON h.tenant_id = i.tenant_id AND h.run_id = i.absent_since_run_id AND h.policy_type = i.policy_type
   AND h.mass_missing = 'held'
 CROSS JOIN LATERAL (
       SELECT array_remove(ARRAY[
                CASE WHEN l.status = 'partial' THEN 'run_partial' END,
                CASE WHEN l.status = 'failed' THEN 'run_failed' END,
                CASE WHEN l.had_errors THEN 'run_had_errors' END,
                CASE WHEN rt.status IS DISTINCT FROM 'complete' THEN 'policy_type_incomplete' END,
                CASE WHEN h.run_id IS NOT NULL AND i.deleted_run_id IS NULL THEN 'mass_missing' END
              ], NULL) AS r) reasons
 WHERE i.last_seen_run_id < l.run_id;
COMMENT ON VIEW inventory.missing_items IS
'Items that the latest finished run of a tenant and selection did not observe (neither did any run started after it), for the policy types of that selection. confidence is high only when that run succeeded without errors and enumerated the type completely, and the enumeration that made the item absent was not held by the mass-missing guard (or its verdict was accepted or confirmed, or Graph verified the deletion).';
COMMENT ON COLUMN inventory.missing_items.tenant_id IS 'Entra tenant id.';
COMMENT ON COLUMN inventory.missing_items.selection_hash IS 'Selection the item is missing for.';
COMMENT ON COLUMN inventory.missing_items.policy_type IS 'Policy type.';
COMMENT ON COLUMN inventory.missing_items.external_id IS 'Graph object id.';
COMMENT ON COLUMN inventory.missing_items.display_name IS 'Name as last observed.';
COMMENT ON COLUMN inventory.missing_items.item_id IS 'Item id (inventory.inventory_items.id).';
COMMENT ON COLUMN inventory.missing_items.state IS 'deleted when Graph answered 404 for the item (a verified deletion), else missing.';
COMMENT ON COLUMN inventory.missing_items.last_seen_at IS 'When the item was last observed.';
COMMENT ON COLUMN inventory.missing_items.last_seen_run_id IS 'Run that last observed the item.';
COMMENT ON COLUMN inventory.missing_items.latest_run_id IS 'Latest finished run of the tenant and selection.';
COMMENT ON COLUMN inventory.missing_items.latest_run_status IS 'Its status.';
COMMENT ON COLUMN inventory.missing_items.confidence IS 'high or low.';
COMMENT ON COLUMN inventory.missing_items.low_confidence_reasons IS 'Why confidence is low: run_partial, run_failed, run_had_errors, policy_type_incomplete, mass_missing (empty when high).';
COMMENT ON COLUMN inventory.missing_items.deleted_at IS 'When the deletion was verified (state deleted).';

-- PL/pgSQL, not SQL: Citus plans no query with the parameters of a SQL
-- function that it cannot inline; here the tenant is a value and the query
-- goes to its one shard.
CREATE OR REPLACE FUNCTION inventory.missing_items(tenant_id uuid, selection jsonb)
    RETURNS SETOF inventory.missing_items
    LANGUAGE plpgsql STABLE
    SET search_path = inventory, pg_catalog, pg_temp
    SET plan_cache_mode = auto
    AS $$
DECLARE
    -- A value: on Citus the query runs on a worker, where only what is
    -- granted to PUBLIC may be called.
    v_hash text := inventory.selection_hash(selection);
BEGIN
    -- The tenant tables keep no statistics, so a plan made for one tenant is
    -- the plan for any: planned once per session rather than on every call
    -- (Citus plans its router queries with the values; it keeps auto).
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_extension e WHERE e.extname = 'citus') THEN
        PERFORM pg_catalog.set_config('plan_cache_mode', 'force_generic_plan', true);
    END IF;
    RETURN QUERY
    SELECT m.* FROM inventory.missing_items m
     WHERE m.tenant_id = missing_items.tenant_id
       AND m.selection_hash = v_hash;
END
$$;
COMMENT ON FUNCTION inventory.missing_items(uuid, jsonb) IS
'inventory.missing_items for one tenant and selection (given as JSON; any equivalent spelling works).';

-- One grouped pass over a tenant's runs (a CTE read twice is a join Citus
-- cannot push down), the error codes of its latest runs joined to it.
CREATE OR REPLACE VIEW inventory.tenant_sync_health WITH (security_invoker = true) AS
SELECT a.tenant_id,
       a.last_success_at,
       a.last_success_run_id,
       a.last_failure_at,
       a.last_failure_run_id,
       a.last_finished_at,
       a.consecutive_failures,
       coalesce(e.codes, '{}') AS current_error_codes,
       a.running_runs,
       a.finished_runs,
       coalesce(m.held, '{}') AS mass_missing_held
  FROM (SELECT r.tenant_id,
               max(r.finished_at) FILTER (WHERE r.status = 'succeeded') AS last_success_at,
               max(r.id) FILTER (WHERE r.status = 'succeeded') AS last_success_run_id,
               max(r.finished_at) FILTER (WHERE r.status = 'failed') AS last_failure_at,
               max(r.id) FILTER (WHERE r.status = 'failed') AS last_failure_run_id,
               max(r.finished_at) AS last_finished_at,
               count(*) FILTER (WHERE r.status = 'failed' AND r.id > coalesce(r.last_non_failed_run_id, 0)) AS consecutive_failures,
               count(*) FILTER (WHERE r.status = 'running') AS running_runs,
               count(*) FILTER (WHERE r.status <> 'running') AS finished_runs
          FROM (SELECT x.tenant_id, x.id, x.status, x.finished_at,
                       max(x.id) FILTER (WHERE x.status NOT IN ('failed', 'running'))
                           OVER (PARTITION BY x.tenant_id) AS last_non_failed_run_id
                  FROM inventory.inventory_sync_runs x) r
         GROUP BY r.tenant_id
        HAVING count(*) FILTER (WHERE r.status <> 'running') > 0) a
  LEFT JOIN (SELECT l.tenant_id, array_agg(DISTINCT c ORDER BY c) AS codes
               FROM inventory.latest_sync_runs l, unnest(l.error_codes) c
              GROUP BY l.tenant_id) e ON e.tenant_id = a.tenant_id
  LEFT JOIN (SELECT t.tenant_id, array_agg(DISTINCT t.policy_type ORDER BY t.policy_type) AS held
               FROM inventory.inventory_sync_run_types t
              WHERE t.mass_missing = 'held'
              GROUP BY t.tenant_id) m ON m.tenant_id = a.tenant_id;
COMMENT ON VIEW inventory.tenant_sync_health IS
'Sync health per tenant: last success, last failure, consecutive failures, the error codes of the latest run of each selection and the policy types whose mass-missing verdict is held.';
COMMENT ON COLUMN inventory.tenant_sync_health.tenant_id IS 'Entra tenant id.';
COMMENT ON COLUMN inventory.tenant_sync_health.last_success_at IS 'End of the last succeeded run (any selection).';
COMMENT ON COLUMN inventory.tenant_sync_health.last_success_run_id IS 'Last succeeded run.';
COMMENT ON COLUMN inventory.tenant_sync_health.last_failure_at IS 'End of the last failed run.';
COMMENT ON COLUMN inventory.tenant_sync_health.last_failure_run_id IS 'Last failed run.';
COMMENT ON COLUMN inventory.tenant_sync_health.last_finished_at IS 'End of the last finished run.';
COMMENT ON COLUMN inventory.tenant_sync_health.consecutive_failures IS 'Failed runs since the last run that did not fail.';
COMMENT ON COLUMN inventory.tenant_sync_health.current_error_codes IS 'Error codes of the latest finished run of each selection.';
COMMENT ON COLUMN inventory.tenant_sync_health.running_runs IS 'Runs currently marked running.';
COMMENT ON COLUMN inventory.tenant_sync_health.finished_runs IS 'Finished runs recorded.';
COMMENT ON COLUMN inventory.tenant_sync_health.mass_missing_held IS 'Policy types with a held mass-missing verdict waiting for inventory.accept_mass_missing or a confirming enumeration.';

CREATE OR REPLACE VIEW inventory.item_counts WITH (security_invoker = true) AS
SELECT i.tenant_id,
       i.policy_type,
       count(*) AS items,
       count(*) FILTER (WHERE i.present) AS present,
       count(*) FILTER (WHERE NOT i.present) AS absent,
       max(i.last_seen_at) AS last_seen_at,
       max(i.content_changed_at) AS last_content_change_at
  FROM inventory.inventory_items i
 GROUP BY i.tenant_id, i.policy_type;
COMMENT ON VIEW inventory.item_counts IS
'Items per tenant and policy type: ever observed, present (listed by the latest complete enumeration or seen since) and absent.';
COMMENT ON COLUMN inventory.item_counts.tenant_id IS 'Entra tenant id.';
COMMENT ON COLUMN inventory.item_counts.policy_type IS 'Policy type.';
COMMENT ON COLUMN inventory.item_counts.items IS 'Items ever observed.';
COMMENT ON COLUMN inventory.item_counts.present IS 'Items not absent.';
COMMENT ON COLUMN inventory.item_counts.absent IS 'Items a complete enumeration no longer listed.';
COMMENT ON COLUMN inventory.item_counts.last_seen_at IS 'Newest observation of any item of the type.';
COMMENT ON COLUMN inventory.item_counts.last_content_change_at IS 'Newest content change of any item of the type.';

CREATE OR REPLACE VIEW inventory.latest_run_changes WITH (security_invoker = true) AS
SELECT l.tenant_id,
       l.selection_hash,
       l.run_id,
       c.change,
       c.policy_type,
       c.external_id,
       coalesce(c.new_display_name, c.old_display_name) AS display_name,
       c.item_id,
       c.changed_at,
       c.old_display_name,
       c.new_display_name,
       c.old_content_hash,
       c.new_content_hash,
       c.meta_changes
  FROM inventory.latest_sync_runs l
  JOIN inventory.item_changes c
    ON c.tenant_id = l.tenant_id AND c.run_id = l.run_id;
COMMENT ON VIEW inventory.latest_run_changes IS
'What the latest finished run of each tenant and selection changed, from the history (inventory.item_changes): items it saw first (new), whose name, whitelisted meta or content changed (changed), that came back (back), that its complete enumerations no longer listed (gone) and whose deletion Graph confirmed (deleted).';
COMMENT ON COLUMN inventory.latest_run_changes.tenant_id IS 'Entra tenant id.';
COMMENT ON COLUMN inventory.latest_run_changes.selection_hash IS 'Selection of the run.';
COMMENT ON COLUMN inventory.latest_run_changes.run_id IS 'The latest finished run.';
COMMENT ON COLUMN inventory.latest_run_changes.change IS 'new, changed, gone, back or deleted.';
COMMENT ON COLUMN inventory.latest_run_changes.policy_type IS 'Policy type.';
COMMENT ON COLUMN inventory.latest_run_changes.external_id IS 'Graph object id.';
COMMENT ON COLUMN inventory.latest_run_changes.display_name IS 'Name after the change (before it, for gone and deleted).';
COMMENT ON COLUMN inventory.latest_run_changes.item_id IS 'Item id.';
COMMENT ON COLUMN inventory.latest_run_changes.changed_at IS 'When the change was recorded.';
COMMENT ON COLUMN inventory.latest_run_changes.old_display_name IS 'Name before the change.';
COMMENT ON COLUMN inventory.latest_run_changes.new_display_name IS 'Name after the change.';
COMMENT ON COLUMN inventory.latest_run_changes.old_content_hash IS 'Content hash before the change.';
COMMENT ON COLUMN inventory.latest_run_changes.new_content_hash IS 'Content hash after the change.';
COMMENT ON COLUMN inventory.latest_run_changes.meta_changes IS 'Whitelisted meta keys that changed: {"key": {"old": v, "new": v}}.';

-- The item's key comes from its row: a lookup by (tenant, type, external
-- id) is a primary-key probe, then its new row by the run that first saw it
-- and its other changes by item id (item_changes' two indexes).
CREATE OR REPLACE VIEW inventory.item_history WITH (security_invoker = true) AS
SELECT h.* FROM (
    SELECT i.tenant_id, i.policy_type, i.external_id, c.item_id, c.run_id, c.changed_at, c.change,
           coalesce(c.new_display_name, c.old_display_name) AS display_name,
           c.old_display_name, c.new_display_name, c.old_content_hash, c.new_content_hash, c.meta_changes,
           c.id AS change_id
      FROM inventory.item_state i
      JOIN inventory.item_changes c
        ON c.tenant_id = i.tenant_id AND c.run_id = i.first_seen_run_id AND c.item_id = i.id AND c.change = 'new'
    UNION ALL
    SELECT i.tenant_id, i.policy_type, i.external_id, c.item_id, c.run_id, c.changed_at, c.change,
           coalesce(c.new_display_name, c.old_display_name) AS display_name,
           c.old_display_name, c.new_display_name, c.old_content_hash, c.new_content_hash, c.meta_changes,
           c.id AS change_id
      FROM inventory.item_state i
      JOIN inventory.item_changes c
        ON c.tenant_id = i.tenant_id AND c.item_id = i.id AND c.change <> 'new') h
 ORDER BY h.changed_at DESC, h.change_id DESC;
COMMENT ON VIEW inventory.item_history IS
'Every recorded change of every item, newest first: filter by tenant_id, policy_type and external_id (each lookup uses the index on them).';
COMMENT ON COLUMN inventory.item_history.tenant_id IS 'Entra tenant id.';
COMMENT ON COLUMN inventory.item_history.policy_type IS 'Policy type.';
COMMENT ON COLUMN inventory.item_history.external_id IS 'Graph object id.';
COMMENT ON COLUMN inventory.item_history.item_id IS 'Item id.';
COMMENT ON COLUMN inventory.item_history.run_id IS 'Run that observed the change.';
COMMENT ON COLUMN inventory.item_history.changed_at IS 'When the change was recorded.';
COMMENT ON COLUMN inventory.item_history.change IS 'new, changed, gone, back or deleted.';
COMMENT ON COLUMN inventory.item_history.display_name IS 'Name after the change (before it, for gone and deleted).';
COMMENT ON COLUMN inventory.item_history.old_display_name IS 'Name before the change.';
COMMENT ON COLUMN inventory.item_history.new_display_name IS 'Name after the change.';
COMMENT ON COLUMN inventory.item_history.old_content_hash IS 'Content hash before the change.';
COMMENT ON COLUMN inventory.item_history.new_content_hash IS 'Content hash after the change.';
COMMENT ON COLUMN inventory.item_history.meta_changes IS 'Whitelisted meta keys that changed: {"key": {"old": v, "new": v}}.';
COMMENT ON COLUMN inventory.item_history.change_id IS 'History row id (orders changes recorded at the same time).';

CREATE OR REPLACE VIEW inventory.tenant_changes WITH (security_invoker = true) AS
SELECT c.tenant_id,
       (c.changed_at AT TIME ZONE 'UTC')::date AS day,
       c.policy_type,
       c.change,
       count(*) AS changes
  FROM inventory.item_changes c
 GROUP BY c.tenant_id, (c.changed_at AT TIME ZONE 'UTC')::date, c.policy_type, c.change;
COMMENT ON VIEW inventory.tenant_changes IS
'Changes per tenant, day (UTC), policy type and kind of change.';
COMMENT ON COLUMN inventory.tenant_changes.tenant_id IS 'Entra tenant id.';
COMMENT ON COLUMN inventory.tenant_changes.day IS 'Day the changes were recorded (UTC).';
COMMENT ON COLUMN inventory.tenant_changes.policy_type IS 'Policy type.';
COMMENT ON COLUMN inventory.tenant_changes.change IS 'new, changed, gone, back or deleted.';
COMMENT ON COLUMN inventory.tenant_changes.changes IS 'How many.';

-- The defaults of the trust settings, here and nowhere else.
CREATE OR REPLACE FUNCTION inventory.trust_defaults(OUT mass_missing_fraction numeric, OUT mass_missing_min_items integer,
                                                    OUT max_age interval)
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    SELECT 0.5::numeric, 10, interval '26 hours'
$$;
COMMENT ON FUNCTION inventory.trust_defaults() IS
'The trust settings that apply where inventory.trust_settings sets none: hold a complete enumeration that would make more than 50% and at least 10 present items absent; stale after 26 hours.';

-- The trust settings that apply to a tenant and policy type.
CREATE OR REPLACE FUNCTION inventory.trust_settings_for(tenant_id uuid, policy_type text)
    RETURNS TABLE (mass_missing_fraction numeric, mass_missing_min_items integer, max_age interval)
    LANGUAGE sql STABLE
    SET search_path = inventory, pg_catalog, pg_temp
    AS $$
    -- One pass over the rows that apply, most specific first; each setting
    -- from the first row that sets it.
    SELECT coalesce(x.f, d.mass_missing_fraction), coalesce(x.m, d.mass_missing_min_items), coalesce(x.a, d.max_age)
      FROM inventory.trust_defaults() d,
           (SELECT (array_agg(s.mass_missing_fraction ORDER BY s.r) FILTER (WHERE s.mass_missing_fraction IS NOT NULL))[1] AS f,
                   (array_agg(s.mass_missing_min_items ORDER BY s.r) FILTER (WHERE s.mass_missing_min_items IS NOT NULL))[1] AS m,
                   (array_agg(s.max_age ORDER BY s.r) FILTER (WHERE s.max_age IS NOT NULL))[1] AS a
              FROM (SELECT t.*, inventory._setting_rank(t.tenant_id, t.policy_type, $1, $2) AS r
                      FROM inventory.trust_settings t) s
             WHERE s.r IS NOT NULL) x
$$;
COMMENT ON FUNCTION inventory.trust_settings_for(uuid, text) IS
'The mass-missing threshold (fraction, min_items) and the freshness max_age that apply to a tenant and policy type: the most specific row of inventory.trust_settings that sets each, else inventory.trust_defaults().';

-- Per tenant and policy type of its latest selections: the last complete
-- enumeration, and whether it is older than the maximum age. The settings
-- table is joined, not read by a function: on Citus the view runs on the
-- workers, where a function may not query another table.
CREATE OR REPLACE VIEW inventory.stale_inventory WITH (security_invoker = true) AS
SELECT x.tenant_id,
       x.policy_type,
       x.last_complete_at,
       x.last_complete_run_id,
       x.max_age,
       CASE WHEN x.last_complete_at IS NULL THEN NULL ELSE now() - (x.last_complete_at + x.max_age) END AS stale_for,
       x.last_complete_at + x.max_age AS stale_since
  FROM (SELECT DISTINCT ON (p.tenant_id, p.policy_type)
               p.tenant_id, p.policy_type, w.observed_at AS last_complete_at, w.run_id AS last_complete_run_id,
               coalesce(s.max_age, (inventory.trust_defaults()).max_age) AS max_age
          FROM (SELECT DISTINCT l.tenant_id, pt AS policy_type
                  FROM inventory.latest_sync_runs l, unnest(l.policy_types) pt) p
          LEFT JOIN inventory.type_watermarks w ON w.tenant_id = p.tenant_id AND w.policy_type = p.policy_type
          LEFT JOIN inventory.trust_settings s
                 ON s.max_age IS NOT NULL
                AND inventory._setting_rank(s.tenant_id, s.policy_type, p.tenant_id, p.policy_type) IS NOT NULL
         ORDER BY p.tenant_id, p.policy_type,
                  inventory._setting_rank(s.tenant_id, s.policy_type, p.tenant_id, p.policy_type)) x
 WHERE x.last_complete_at IS NULL OR x.last_complete_at + x.max_age < now();
COMMENT ON VIEW inventory.stale_inventory IS
'Tenant and policy type pairs (of the latest run of each selection) whose last complete enumeration is older than their maximum age (inventory.trust_settings_for, default 26 hours), or that were never enumerated completely: their inventory is the last good data, stale since stale_since.';
COMMENT ON COLUMN inventory.stale_inventory.tenant_id IS 'Entra tenant id.';
COMMENT ON COLUMN inventory.stale_inventory.policy_type IS 'Policy type.';
COMMENT ON COLUMN inventory.stale_inventory.last_complete_at IS 'When the last complete enumeration ended (NULL: never).';
COMMENT ON COLUMN inventory.stale_inventory.last_complete_run_id IS 'Its run.';
COMMENT ON COLUMN inventory.stale_inventory.max_age IS 'Maximum age that applies (inventory.trust_settings_for).';
COMMENT ON COLUMN inventory.stale_inventory.stale_for IS 'How long it has been stale (NULL when never complete).';
COMMENT ON COLUMN inventory.stale_inventory.stale_since IS 'last_complete_at + max_age.';

--------------------------------------------------------------------------------
