# search_path hijacking: another role with CREATE on public plants
# functions, operators and tables named like those the extension and the
# fetcher use (with argument types that win overload resolution), the sync
# role's search_path is set to put public first, and a session stocks
# pg_temp with look-alikes. Syncs by the fetcher (as the sync role and as
# the owner) and a manual run from the stocked session come out exactly as
# without any of it, and not one planted object is ever called.
# shellcheck shell=bash

case_hijack() {
  local db=rel_hijack t=c0000007-0000-4000-8000-000000000001 t2=c0000007-0000-4000-8000-000000000002
  local sel='{"policy_types":["deviceConfiguration","configurationPolicy","mobileApp"]}'
  new_db $db || { fail "database"; return; }
  reset_mock
  psql -XAtq -v ON_ERROR_STOP=1 -d $db >/dev/null <<SQL || { fail "setup roles"; return; }
DROP ROLE IF EXISTS rel_attacker;
DROP ROLE IF EXISTS rel_sync_h;
CREATE ROLE rel_attacker LOGIN;
CREATE ROLE rel_sync_h LOGIN;
GRANT CREATE ON SCHEMA public TO rel_attacker;
SELECT inventory.grant_reader_role('rel_attacker');
SELECT inventory.grant_tenant_access('rel_attacker', '$t');
SELECT inventory.grant_sync_role('rel_sync_h');
SELECT inventory.grant_tenant_access('rel_sync_h', '$t');
SELECT inventory.grant_tenant_access('rel_sync_h', '$t2');
ALTER ROLE rel_sync_h IN DATABASE $db SET search_path = public, pg_catalog, pg_temp;
SQL
  psql -XAtq -v ON_ERROR_STOP=1 -d $db -U rel_attacker -f "$HERE/hijack.sql" >/dev/null 2>"$WORK/hijack.err" ||
    { fail "planting the look-alikes" "$(head -c 300 "$WORK/hijack.err")"; return; }
  local calls="SELECT coalesce(string_agg(DISTINCT fn, ','), '') FROM public.hijack_calls"

  set_items $t deviceManagement/deviceConfigurations 90
  set_items $t deviceManagement/configurationPolicies 50
  set_items $t deviceAppManagement/mobileApps 100
  list_truth $db $t 1 deviceConfiguration configurationPolicy mobileApp
  local v lost=0 run
  # The fetcher as the sync role (search_path public first) ...
  "$FETCH" sync --tenant $t --selection "$sel" --db "dbname=$db user=rel_sync_h" \
    --client-id "$CLIENT_ID" --client-secret-file "$SECRET_FILE" --graph-url "$MOCK_URL" --login-url "$MOCK_URL" \
    --no-progress --log-level debug >"$WORK/hijack-sync.out" 2>"$WORK/hijack-sync.err"
  expect_eq "fetcher as the sync role: exit 0" "$?" 0
  v=$(violations $db "SELECT * FROM reltest.check_clean('$t', 1, $(last_run $db $t), '{deviceConfiguration,configurationPolicy,mobileApp}')")
  [ "$v" = 0 ] || fail "fetcher as the sync role: inventory equals the upstream" "$v"
  lost=$((lost + v))
  # ... and as the owner, after a change upstream.
  mutate $t rename '{"path":"deviceManagement/deviceConfigurations","indexes":[1,2,3]}'
  mutate $t delete '{"path":"deviceAppManagement/mobileApps","indexes":[4,5]}'
  list_truth $db $t 2 deviceConfiguration configurationPolicy mobileApp
  fetch hijack-owner "$db options='-c search_path=public,pg_catalog'" $t "$sel"
  expect_eq "fetcher as the owner (session search_path public first): exit 0" "$RC" 0
  run=$(last_run $db $t)
  v=$(violations $db "SELECT * FROM reltest.check_clean('$t', 2, $run, '{deviceConfiguration,configurationPolicy,mobileApp}')")
  [ "$v" = 0 ] || fail "fetcher as the owner: inventory equals the upstream" "$v"
  lost=$((lost + v))
  check "fetcher as the owner: its run summary is the real one" grep -q "run finished.*items_updated=3 " "$WORK/hijack-owner.err"

  # A manual run from a session stocked with pg_temp look-alikes.
  local out
  out=$(PGOPTIONS="$PGOPTIONS -c reltest.tenant=$t2" psql -XAtq -d $db -U rel_sync_h -f "$HERE/hijack_session.sql" 2>&1) ||
    fail "the stocked session's run" "$(printf '%.300s' "$out")"
  run=$(sed -n 's/^RUN //p' <<<"$out")
  expect_eq "stocked session: the run succeeded under its real selection hash" \
    "$(run_field $db "${run:-0}" "status || ' ' || (selection_hash = inventory.selection_hash('{\"policy_types\":[\"deviceConfiguration\"],\"purpose\":\"hijack\"}'))")" \
    "succeeded true"
  expect_eq "stocked session: the real whitelist applied" \
    "$(sql $db "SELECT string_agg(external_id || '=' || meta_jsonb::text, ' ' ORDER BY external_id) FROM inventory.inventory_items WHERE tenant_id = '$t2'")" \
    'hijack-1={"platform": "windows10"} hijack-2={"state": "on"}'
  # A reader whose search_path puts public first reads the same.
  local plain hijacked
  plain=$(psql -XAtq -d $db -U rel_attacker -c "SET search_path = ''" \
    -c "SELECT count(*), md5(string_agg(m::text, '' ORDER BY m::text)) FROM inventory.missing_items('$t', '$sel') m" \
    -c "SELECT md5(string_agg(i::text, '' ORDER BY i::text)) FROM inventory.inventory_items i")
  hijacked=$(psql -XAtq -d $db -U rel_attacker -c "SET search_path = public, pg_catalog" \
    -c "SELECT count(*), md5(string_agg(m::text, '' ORDER BY m::text)) FROM inventory.missing_items('$t', '$sel') m" \
    -c "SELECT md5(string_agg(i::text, '' ORDER BY i::text)) FROM inventory.inventory_items i")
  expect_eq "a reader with public first reads the same" "$hijacked" "$plain"
  local called
  called=$(sql $db "$calls")
  expect_eq "not one planted function or operator was called" "$called" ""
  # The planted objects are live: unqualified statements in such a session call them.
  psql -XAtq -d $db -U rel_attacker -c "SET search_path = public, pg_catalog" \
    -c "SELECT to_jsonb(r) FROM inventory.inventory_sync_runs r LIMIT 1" -c "SELECT 'a'::text = 'b'::text" >/dev/null
  expect_eq "(control) the look-alikes do win where public comes first" "$(sql $db "$calls")" "=(text,text),to_jsonb(run)"
  record "search_path hijacking: look-alikes in public and pg_temp, public first on the path" 4 \
    "$([ -z "$called" ] && [ "$lost" = 0 ] && echo "results identical, no look-alike ever called (fetcher as sync role and owner, SQL session, reader)" || echo "FAILED: ${called:-wrong results}")" \
    "$lost"
}
