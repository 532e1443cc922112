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
       i.absent_since_run_id IS NULL AS present
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
       'missing'::text AS state,
       i.last_seen_at,
       i.last_seen_run_id,
       l.run_id AS latest_run_id,
       l.status AS latest_run_status,
       CASE WHEN reasons.r = '{}' THEN 'high' ELSE 'low' END AS confidence,
       reasons.r AS low_confidence_reasons
  FROM inventory.latest_sync_runs l
  JOIN inventory.inventory_items i
    ON i.tenant_id = l.tenant_id
   AND i.policy_type = ANY (l.policy_types)
  LEFT JOIN inventory.inventory_sync_run_types rt
    ON rt.tenant_id = l.tenant_id AND rt.run_id = l.run_id AND rt.policy_type = i.policy_type
 CROSS JOIN LATERAL (
       SELECT array_remove(ARRAY[
                CASE WHEN l.status = 'partial' THEN 'run_partial' END,
                CASE WHEN l.status = 'failed' THEN 'run_failed' END,
                CASE WHEN l.had_errors THEN 'run_had_errors' END,
                CASE WHEN rt.status IS DISTINCT FROM 'complete' THEN 'policy_type_incomplete' END
              ], NULL) AS r) reasons
 WHERE i.last_seen_run_id < l.run_id;
COMMENT ON VIEW inventory.missing_items IS
'Items that the latest finished run of a tenant and selection did not observe (neither did any run started after it), for the policy types of that selection. confidence is high only when that run succeeded without errors and enumerated the type completely.';
COMMENT ON COLUMN inventory.missing_items.tenant_id IS 'Entra tenant id.';
COMMENT ON COLUMN inventory.missing_items.selection_hash IS 'Selection the item is missing for.';
COMMENT ON COLUMN inventory.missing_items.policy_type IS 'Policy type.';
COMMENT ON COLUMN inventory.missing_items.external_id IS 'Graph object id.';
COMMENT ON COLUMN inventory.missing_items.display_name IS 'Name as last observed.';
COMMENT ON COLUMN inventory.missing_items.item_id IS 'Item id (inventory.inventory_items.id).';
COMMENT ON COLUMN inventory.missing_items.state IS 'Always missing; the state deleted is reserved and not produced.';
COMMENT ON COLUMN inventory.missing_items.last_seen_at IS 'When the item was last observed.';
COMMENT ON COLUMN inventory.missing_items.last_seen_run_id IS 'Run that last observed the item.';
COMMENT ON COLUMN inventory.missing_items.latest_run_id IS 'Latest finished run of the tenant and selection.';
COMMENT ON COLUMN inventory.missing_items.latest_run_status IS 'Its status.';
COMMENT ON COLUMN inventory.missing_items.confidence IS 'high or low.';
COMMENT ON COLUMN inventory.missing_items.low_confidence_reasons IS 'Why confidence is low: run_partial, run_failed, run_had_errors, policy_type_incomplete (empty when high).';

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
       a.finished_runs
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
              GROUP BY l.tenant_id) e ON e.tenant_id = a.tenant_id;
COMMENT ON VIEW inventory.tenant_sync_health IS
'Sync health per tenant: last success, last failure, consecutive failures and the error codes of the latest run of each selection.';
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
       i.policy_type,
       i.external_id,
       i.display_name,
       i.id AS item_id,
       CASE c.change WHEN 'gone' THEN l.finished_at ELSE i.content_changed_at END AS changed_at
  FROM inventory.latest_sync_runs l
  JOIN inventory.item_state i
    ON i.tenant_id = l.tenant_id AND i.policy_type = ANY (l.policy_types)
 CROSS JOIN LATERAL (
       SELECT CASE WHEN i.first_seen_run_id = l.run_id THEN 'new'
                   WHEN i.absent_since_run_id = l.run_id THEN 'gone'
                   WHEN i.content_changed_run_id = l.run_id THEN 'changed' END AS change) c
 WHERE c.change IS NOT NULL;
COMMENT ON VIEW inventory.latest_run_changes IS
'What the latest finished run of each tenant and selection changed: items it saw first (new), whose content it saw change (changed) and that its complete enumerations no longer listed (gone).';
COMMENT ON COLUMN inventory.latest_run_changes.tenant_id IS 'Entra tenant id.';
COMMENT ON COLUMN inventory.latest_run_changes.selection_hash IS 'Selection of the run.';
COMMENT ON COLUMN inventory.latest_run_changes.run_id IS 'The latest finished run.';
COMMENT ON COLUMN inventory.latest_run_changes.change IS 'new, changed or gone.';
COMMENT ON COLUMN inventory.latest_run_changes.policy_type IS 'Policy type.';
COMMENT ON COLUMN inventory.latest_run_changes.external_id IS 'Graph object id.';
COMMENT ON COLUMN inventory.latest_run_changes.display_name IS 'Name as last observed.';
COMMENT ON COLUMN inventory.latest_run_changes.item_id IS 'Item id.';
COMMENT ON COLUMN inventory.latest_run_changes.changed_at IS 'When the change was recorded.';

--------------------------------------------------------------------------------
