#!/usr/bin/env bash
# Upgrade layer: a database populated under the last release (0.1.0) is
# updated with ALTER EXTENSION tenant_inventory UPDATE and must
#   - read the same (items, runs, watermarks, missing verdicts, views),
#   - keep its tenant grants (as role memberships; a grant naming a dropped
#     role is not carried over) and its readers' row-level security,
#   - end with the same schema as a fresh install of the current version,
#   - sync on, under the current version's rules.
# Needs the extension installed and PGHOST/PGPORT/PGUSER of a running cluster.
# Ends with "N passed, N failed".
set -uo pipefail
export PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning"
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /tmp/tinv-upgrade.XXXXXX)
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT
PASSED=0
FAILED=0
pass() { PASSED=$((PASSED + 1)); echo "  ok   $1"; }
fail() { FAILED=$((FAILED + 1)); echo "  FAIL $1"; [ $# -gt 1 ] && printf '%s\n' "$2" | head -n 40 | sed 's/^/       /'; return 0; }
expect_eq() { if [ "$2" = "$3" ]; then pass "$1"; else fail "$1" "got '$2', want '$3'"; fi; }
sql() { psql -XAtq -v ON_ERROR_STOP=1 -d "$1" -c "$2"; }
old=0.1.0
new=$(sed -n "s/^default_version = '\(.*\)'/\1/p" "$here/../../tenant_inventory.control")

db=tinv_upgrade
fresh=tinv_upgrade_fresh
for d in $db $fresh; do psql -XAtq -d postgres -c "DROP DATABASE IF EXISTS $d" -c "CREATE DATABASE $d" >/dev/null; done
psql -XAtq -d postgres -c "DROP ROLE IF EXISTS upgrade_reader_a, upgrade_reader_b, upgrade_team_b, upgrade_sync, upgrade_gone" >/dev/null

echo "== populate under $old"
sql $db "CREATE EXTENSION tenant_inventory VERSION '$old'" >/dev/null
if ! psql -XAtq -v ON_ERROR_STOP=1 -d $db -f "$here/populate.sql" >"$work/populate.log" 2>&1; then
  cat "$work/populate.log"; echo "0 passed, 1 failed"; exit 1
fi
psql -XAtq -d $db -v out="$work/before.txt" -f "$here/snapshot.sql"
expect_eq "populated: items" "$(sql $db "SELECT count(*) FROM inventory.inventory_items")" 470
expect_eq "populated: an abandoned run is left running" "$(sql $db "SELECT count(*) FROM inventory.inventory_sync_runs WHERE status = 'running'")" 1

echo "== ALTER EXTENSION tenant_inventory UPDATE ($old -> $new)"
if out=$(sql $db "ALTER EXTENSION tenant_inventory UPDATE" 2>&1); then pass "update runs"; else fail "update runs" "$out"; fi
expect_eq "version after update" "$(sql $db "SELECT extversion FROM pg_extension WHERE extname = 'tenant_inventory'")" "$new"
psql -XAtq -d $db -v out="$work/after.txt" -f "$here/snapshot.sql"
if d=$(diff "$work/before.txt" "$work/after.txt"); then
  pass "items, runs, run types, watermarks, missing verdicts and views read the same ($(wc -l <"$work/before.txt") rows)"
else
  fail "items, runs, run types, watermarks, missing verdicts and views read the same" "$d"
fi
expect_eq "grants carried over as role memberships (the dropped role's is not)" \
  "$(sql $db "SELECT string_agg(role || ':' || right(tenant_id::text, 4), ',' ORDER BY role) FROM inventory.tenant_access")" \
  "upgrade_reader_a:a001,upgrade_sync:a001,upgrade_team_b:b001"
expect_eq "reader A sees tenant A only" \
  "$(psql -XAtq -d $db -c "SET ROLE upgrade_reader_a" -c "SELECT string_agg(DISTINCT right(tenant_id::text, 4), ',') FROM inventory.inventory_items")" "a001"
expect_eq "a member of team B sees tenant B only (missing verdicts too)" \
  "$(psql -XAtq -d $db -c "SET ROLE upgrade_reader_b" -c "SELECT string_agg(DISTINCT right(tenant_id::text, 4), ',') FROM inventory.inventory_items UNION ALL SELECT count(*)::text FROM inventory.missing_items WHERE tenant_id <> '00000000-0000-4000-8000-00000000b001'")" "b001
0"
expect_eq "the old readers may read the tenant_access view" \
  "$(psql -XAtq -d $db -c "SET ROLE upgrade_reader_a" -c "SELECT count(*) FROM inventory.tenant_access")" 1
expect_eq "the history starts with each item's first observation, last content change and absence" \
  "$(sql $db "SELECT (SELECT count(*) FROM inventory.item_changes WHERE change = 'new') = (SELECT count(*) FROM inventory.item_state)
                 AND (SELECT count(*) FROM inventory.item_changes WHERE change = 'changed') = (SELECT count(*) FROM inventory.item_state WHERE content_changed_run_id <> first_seen_run_id)
                 AND (SELECT count(*) FROM inventory.item_changes WHERE change = 'gone') = (SELECT count(*) FROM inventory.item_state WHERE absent_since_run_id IS NOT NULL)
                 AND (SELECT count(*) FROM inventory.item_changes) > 0")" t
expect_eq "the old readers may read the history and freshness views (their tenants only)" \
  "$(psql -XAtq -d $db -c "SET ROLE upgrade_reader_a" -c "SELECT string_agg(DISTINCT right(tenant_id::text, 4), ',') FROM inventory.item_history UNION ALL SELECT count(*)::text FROM inventory.stale_inventory WHERE tenant_id <> '00000000-0000-4000-8000-00000000a001'")" "a001
0"

echo "== same schema as a fresh install of $new"
sql $fresh "CREATE EXTENSION tenant_inventory" >/dev/null
schema() {  # the extension's objects, their definitions, comments and privileges (but the test roles')
  psql -XAtq -d "$1" <<'SQL'
SELECT 'rel', c.relname, c.relkind, coalesce(c.reloptions::text, ''), c.relrowsecurity,
       coalesce(obj_description(c.oid, 'pg_class'), ''), coalesce(array(SELECT x::text FROM unnest(c.relacl) x WHERE x::text !~ '^upgrade_')::text, ''),
       CASE WHEN c.relkind = 'v' THEN pg_get_viewdef(c.oid) ELSE '' END
  FROM pg_class c WHERE c.relnamespace = 'inventory'::regnamespace ORDER BY 2;
SELECT 'col', c.relname, a.attnum, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
       a.attstattarget, coalesce(pg_get_expr(d.adbin, d.adrelid), ''), coalesce(col_description(c.oid, a.attnum), '')
  FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
  LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
 WHERE c.relnamespace = 'inventory'::regnamespace ORDER BY 2, 3;
SELECT 'con', conrelid::regclass::text, conname, pg_get_constraintdef(oid)
  FROM pg_constraint WHERE connamespace = 'inventory'::regnamespace ORDER BY 2, 3;
SELECT 'idx', indexrelid::regclass::text, pg_get_indexdef(indexrelid)
  FROM pg_index WHERE indrelid IN (SELECT oid FROM pg_class WHERE relnamespace = 'inventory'::regnamespace) ORDER BY 2;
SELECT 'pol', tablename, policyname, cmd, qual FROM pg_policies WHERE schemaname = 'inventory' ORDER BY 2, 3;
SELECT 'fn', p.oid::regprocedure::text, p.prosecdef, p.provolatile, p.proparallel, p.proisstrict,
       coalesce(p.proconfig::text, ''), coalesce(array(SELECT x::text FROM unnest(p.proacl) x WHERE x::text !~ '^upgrade_')::text, ''), coalesce(obj_description(p.oid, 'pg_proc'), ''),
       md5(pg_get_functiondef(p.oid))
  FROM pg_proc p WHERE p.pronamespace = 'inventory'::regnamespace ORDER BY 2;
SELECT 'member', classid::regclass::text, count(*) FROM pg_depend
 WHERE refobjid = (SELECT oid FROM pg_extension WHERE extname = 'tenant_inventory') AND deptype = 'e'
 GROUP BY 2 ORDER BY 2;
SELECT 'config', array_length(extconfig, 1), extcondition::text FROM pg_extension WHERE extname = 'tenant_inventory';
SQL
}
schema $db >"$work/schema-upgraded.txt"
schema $fresh >"$work/schema-fresh.txt"
if d=$(diff "$work/schema-fresh.txt" "$work/schema-upgraded.txt"); then
  pass "upgraded schema equals a fresh install ($(wc -l <"$work/schema-fresh.txt") catalog rows)"
else
  fail "upgraded schema equals a fresh install" "$d"
fi

echo "== syncs on under $new"
out=$(psql -XAtq -v ON_ERROR_STOP=1 -d $db 2>&1 <<'SQL'
SET ROLE upgrade_sync;
SELECT inventory.begin_sync_run('00000000-0000-4000-8000-00000000a001', '{"policy_types": ["deviceConfiguration"]}') AS r \gset
INSERT INTO pg_temp.staged_items SELECT 'deviceConfiguration', 'dc-' || i, 'Item ' || i || ' (renamed)',
       jsonb_build_object('platform', 'windows10', 'version', i::text, 'setting_count', i),
       encode(sha256(convert_to('dc-' || i || ' (renamed)', 'UTF8')), 'hex') FROM generate_series(1, 250) i;
CALL inventory.apply_staged(:r);
SELECT inventory.complete_policy_type(:r, 'deviceConfiguration', 'complete', 1, 250);
SELECT inventory.finish_sync_run(:r, 'succeeded');
SQL
)
expect_eq "a sync by the carried-over sync role succeeds" "$(printf '%s' "$out" | tail -n1)" "succeeded"
expect_eq "its complete enumeration makes 50 items missing with high confidence" \
  "$(sql $db "SELECT count(*) FROM inventory.missing_items WHERE tenant_id = '00000000-0000-4000-8000-00000000a001' AND policy_type = 'deviceConfiguration' AND confidence = 'high'")" 50
expect_eq "tenant B's abandoned run is taken over by the next begin" \
  "$(psql -XAtq -v ON_ERROR_STOP=1 -d $db -c "SELECT inventory.finish_sync_run(inventory.begin_sync_run('00000000-0000-4000-8000-00000000b001', '{\"policy_types\": [\"deviceConfiguration\", \"configurationPolicy\"]}'), 'failed')" -c "SELECT string_agg(status, ',' ORDER BY id) FROM inventory.inventory_sync_runs WHERE tenant_id = '00000000-0000-4000-8000-00000000b001'")" "failed
failed,failed,failed"
expect_eq "the 0.1.0 session setting no longer claims a run" \
  "$(psql -XAtq -d $db -c "SET ROLE upgrade_sync" -c "SET inventory.session_run = '1'" -c "CALL inventory.apply_staged(1)" 2>&1 | grep -c 'not the running run of this session')" 1

# Tenant roles are cluster-wide: drop the ones this test made.
sql $db "DO \$\$ BEGIN EXECUTE format('DROP ROLE IF EXISTS %I, %I', inventory.tenant_role('00000000-0000-4000-8000-00000000a001'), inventory.tenant_role('00000000-0000-4000-8000-00000000b001')); END \$\$" >/dev/null
for d in $db $fresh; do psql -XAtq -d postgres -c "DROP DATABASE $d" >/dev/null; done
psql -XAtq -d postgres -c "DROP ROLE IF EXISTS upgrade_reader_a, upgrade_reader_b, upgrade_team_b, upgrade_sync" >/dev/null
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
