-- The demo's report, read from the extension's views only.
\pset border 1
\pset footer off
CREATE TEMP TABLE tenant_name (tenant_id uuid PRIMARY KEY, name text);
INSERT INTO tenant_name VALUES (:'contoso', 'Contoso'), (:'fabrikam', 'Fabrikam'), (:'northwind', 'Northwind');

\echo
\echo '--- Run health per tenant (inventory.tenant_sync_health, inventory.latest_sync_runs)'
SELECT n.name AS tenant, l.status AS latest_run, l.had_errors, l.items_observed AS observed,
       l.items_created AS new, l.items_updated AS changed, l.items_unchanged AS unchanged,
       round(extract(epoch FROM l.duration)::numeric, 2) AS seconds,
       h.consecutive_failures, array_to_string(h.current_error_codes, ', ') AS error_codes
  FROM inventory.latest_sync_runs l
  JOIN inventory.tenant_sync_health h USING (tenant_id)
  JOIN tenant_name n USING (tenant_id)
 ORDER BY 1;

\echo
\echo '--- Items by type (inventory.item_counts: present / ever observed)'
SELECT c.policy_type,
       max(CASE WHEN n.name = 'Contoso' THEN c.present || ' / ' || c.items END) AS "Contoso",
       max(CASE WHEN n.name = 'Fabrikam' THEN c.present || ' / ' || c.items END) AS "Fabrikam",
       max(CASE WHEN n.name = 'Northwind' THEN c.present || ' / ' || c.items END) AS "Northwind"
  FROM inventory.item_counts c JOIN tenant_name n USING (tenant_id)
 GROUP BY c.policy_type ORDER BY 1;

\echo
\echo '--- What the latest run changed (inventory.latest_run_changes)'
SELECT n.name AS tenant, ch.change, ch.policy_type, count(*) AS items,
       left(string_agg(ch.display_name, '; ' ORDER BY ch.display_name), 70) AS examples
  FROM inventory.latest_run_changes ch JOIN tenant_name n USING (tenant_id)
 GROUP BY 1, 2, 3 ORDER BY 1, 2, 3;

\echo
\echo '--- Missing items by confidence (inventory.missing_items)'
SELECT n.name AS tenant, m.confidence, m.policy_type, count(*) AS missing,
       array_to_string(m.low_confidence_reasons, ', ') AS low_confidence_reasons
  FROM inventory.missing_items m JOIN tenant_name n USING (tenant_id)
 GROUP BY 1, 2, 3, 5 ORDER BY 1, 2, 3;

\echo
\echo '--- A few missing items in detail'
SELECT n.name AS tenant, m.policy_type, left(m.display_name, 40) AS display_name, m.confidence,
       to_char(m.last_seen_at, 'HH24:MI:SS') AS last_seen, m.last_seen_run_id, m.latest_run_id
  FROM inventory.missing_items m JOIN tenant_name n USING (tenant_id)
 ORDER BY m.confidence, 1, 2, 3 LIMIT 8;

\echo
\echo '--- Errors of the latest runs (stored redacted)'
SELECT n.name AS tenant, e->>'code' AS code, e->>'policy_type' AS policy_type, e->>'http_status' AS http,
       left(e->>'message', 60) AS message
  FROM inventory.latest_sync_runs l JOIN inventory.inventory_sync_runs r ON r.tenant_id = l.tenant_id AND r.id = l.run_id
  JOIN tenant_name n ON n.tenant_id = l.tenant_id, jsonb_array_elements(r.errors) e
 ORDER BY 1, 2;
