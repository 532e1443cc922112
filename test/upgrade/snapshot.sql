-- Everything a user of 0.1.0 reads (the columns 0.1.0 has; views and tables
-- may gain columns), in a stable order: compared before and after an update
-- (psql -v out=FILE).
\set ON_ERROR_STOP 1
\pset format unaligned
\pset pager off
\o :out
SELECT 'items', i.id, i.tenant_id, i.policy_type, i.external_id, i.display_name, i.meta_jsonb, i.content_hash,
       i.first_seen_at, i.first_seen_run_id, i.last_seen_at, i.last_seen_run_id, i.content_changed_at,
       i.content_changed_run_id, i.present
  FROM inventory.inventory_items i ORDER BY tenant_id, policy_type, external_id;
SELECT 'runs', r.* FROM inventory.inventory_sync_runs r ORDER BY id;
SELECT 'run_types', t.tenant_id, t.run_id, t.policy_type, t.status, t.pages, t.items_seen, t.error_code, t.completed_at
  FROM inventory.inventory_sync_run_types t ORDER BY run_id, policy_type;
SELECT 'watermarks', w.* FROM inventory.type_watermarks w ORDER BY tenant_id, policy_type;
SELECT 'missing', m.tenant_id, m.selection_hash, m.policy_type, m.external_id, m.display_name, m.item_id, m.state,
       m.last_seen_at, m.last_seen_run_id, m.latest_run_id, m.latest_run_status, m.confidence, m.low_confidence_reasons
  FROM inventory.missing_items m ORDER BY tenant_id, selection_hash, policy_type, external_id;
SELECT 'latest', l.* FROM inventory.latest_sync_runs l ORDER BY tenant_id, selection_hash;
SELECT 'health', h.tenant_id, h.last_success_at, h.last_success_run_id, h.last_failure_at, h.last_failure_run_id,
       h.last_finished_at, h.consecutive_failures, h.current_error_codes, h.running_runs, h.finished_runs
  FROM inventory.tenant_sync_health h ORDER BY tenant_id;
SELECT 'counts', c.* FROM inventory.item_counts c ORDER BY tenant_id, policy_type;
SELECT 'changes', c.tenant_id, c.selection_hash, c.run_id, c.change, c.policy_type, c.external_id, c.display_name,
       c.item_id, c.changed_at
  FROM inventory.latest_run_changes c ORDER BY tenant_id, selection_hash, policy_type, external_id;
SELECT 'registry', p.* FROM inventory.policy_types p ORDER BY 1;
SELECT 'meta_keys', k.* FROM inventory.meta_keys k ORDER BY 1;
SELECT 'sequences', last_value FROM inventory.run_id_seq UNION ALL SELECT 'item_seq', last_value FROM inventory.item_id_seq;
\o
