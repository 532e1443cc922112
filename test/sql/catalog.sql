-- docs/design.md §2, §5: the objects users see: the seeded registry, comments on every
-- table, view, column and function, labels on every function.

-- The registry is seeded with the common Intune types.
SELECT policy_type, graph_path, api_version, name_field, enabled FROM inventory.policy_types ORDER BY policy_type;
-- Adding a type is an INSERT; paths and versions are checked.
INSERT INTO inventory.policy_types (policy_type, graph_path, api_version) VALUES ('deviceCategory', 'deviceManagement/deviceCategories', 'beta');
SELECT inventory.selection_hash('{"policy_types": ["deviceCategory"]}') ~ '^[0-9a-f]{64}$' AS new_type_usable;
DELETE FROM inventory.policy_types WHERE policy_type = 'deviceCategory';
\set VERBOSITY sqlstate
INSERT INTO inventory.policy_types (policy_type, graph_path, api_version) VALUES ('x', 'deviceManagement/x?$expand=assignments', 'beta');
INSERT INTO inventory.policy_types (policy_type, graph_path, api_version) VALUES ('x', 'https://evil.example/x', 'beta');
INSERT INTO inventory.policy_types (policy_type, graph_path, api_version) VALUES ('x', 'deviceManagement/x', 'v2');
\set VERBOSITY default

-- Every table, view, sequence, column and function users see has a comment.
SELECT c.relkind, c.relname FROM pg_class c
 WHERE c.relnamespace = 'inventory'::regnamespace AND c.relkind IN ('r', 'v', 'S')
   AND obj_description(c.oid, 'pg_class') IS NULL ORDER BY 2;
SELECT c.relname, a.attname FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
 WHERE c.relnamespace = 'inventory'::regnamespace AND c.relkind IN ('r', 'v')
   AND a.attnum > 0 AND NOT a.attisdropped AND col_description(c.oid, a.attnum) IS NULL ORDER BY 1, 2;
SELECT p.oid::regprocedure FROM pg_proc p
 WHERE p.pronamespace = 'inventory'::regnamespace AND obj_description(p.oid, 'pg_proc') IS NULL;
-- Views run with the caller's rights, so row-level security holds through them.
SELECT c.relname, c.reloptions FROM pg_class c
 WHERE c.relnamespace = 'inventory'::regnamespace AND c.relkind = 'v' ORDER BY 1;
-- Tables with tenant data have row-level security on.
SELECT c.relname, c.relrowsecurity FROM pg_class c
 WHERE c.relnamespace = 'inventory'::regnamespace AND c.relkind = 'r' ORDER BY 1;
-- Every key of tenant data is led by tenant_id.
SELECT c.relname, pg_get_indexdef(i.indexrelid) LIKE '%(tenant_id%' AS led_by_tenant
  FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
 WHERE c.relnamespace = 'inventory'::regnamespace AND i.indisunique
   AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'tenant_id')
 ORDER BY 1, 2;
-- Volatility, strictness and parallel labels of the C functions.
SELECT p.proname, p.provolatile, p.proisstrict, p.proparallel FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
 WHERE p.pronamespace = 'inventory'::regnamespace AND l.lanname = 'c' ORDER BY 1;
-- pg_dump keeps user data: every table is registered as extension configuration.
SELECT c.relname FROM pg_class c
 WHERE c.relnamespace = 'inventory'::regnamespace AND c.relkind IN ('r', 'S')
   AND NOT c.oid = ANY ((SELECT extconfig FROM pg_extension WHERE extname = 'tenant_inventory')::oid[]) ORDER BY 1;
