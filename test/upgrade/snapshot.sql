-- Everything a user reads, in a stable order: compared before and after an
-- update (psql -v out=FILE).
\set ON_ERROR_STOP 1
\pset format unaligned
\pset pager off
\o :out
SELECT 'items', i.* FROM inventory.inventory_items i ORDER BY tenant_id, policy_type, external_id;
SELECT 'runs', r.* FROM inventory.inventory_sync_runs r ORDER BY id;
SELECT 'run_types', t.* FROM inventory.inventory_sync_run_types t ORDER BY run_id, policy_type;
SELECT 'watermarks', w.* FROM inventory.type_watermarks w ORDER BY tenant_id, policy_type;
SELECT 'missing', m.* FROM inventory.missing_items m ORDER BY tenant_id, selection_hash, policy_type, external_id;
SELECT 'latest', l.* FROM inventory.latest_sync_runs l ORDER BY tenant_id, selection_hash;
SELECT 'health', h.* FROM inventory.tenant_sync_health h ORDER BY tenant_id;
SELECT 'counts', c.* FROM inventory.item_counts c ORDER BY tenant_id, policy_type;
SELECT 'changes', c.* FROM inventory.latest_run_changes c ORDER BY tenant_id, selection_hash, policy_type, external_id;
SELECT 'registry', p.* FROM inventory.policy_types p ORDER BY 1;
SELECT 'meta_keys', k.* FROM inventory.meta_keys k ORDER BY 1;
SELECT 'sequences', last_value FROM inventory.run_id_seq UNION ALL SELECT 'item_seq', last_value FROM inventory.item_id_seq;
\o
