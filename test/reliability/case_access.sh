# Access control with real data of three tenants: a reader granted one
# tenant sees nothing of the others through any table, view, function,
# EXPLAIN (every option), a leaky function in WHERE, or pg_stats; a sync
# role granted one tenant cannot start runs for others, cannot write to
# another session's or tenant's run, cannot touch anything but its own
# staging by INSERT, and the other tenants' rows stay bit for bit the same.
# shellcheck shell=bash

access_running() {
  [ "$(sql "$1" "SELECT count(*) FROM inventory.inventory_sync_runs WHERE tenant_id = '$2' AND status = 'running'")" = 1 ]
}

case_access() {
  local db=rel_access
  new_db $db || { fail "database"; return; }
  reset_mock
  local ta=c0000006-0000-4000-8000-00000000000a tb=c0000006-0000-4000-8000-00000000000b
  local tc=c0000006-0000-4000-8000-00000000000c
  local sel='{"policy_types":["deviceConfiguration","configurationPolicy"]}'
  local mark_a mark_b mark_c t m
  mark_a="MarkA$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')"
  mark_b="MarkB$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')"
  mark_c="MarkC$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')"
  for t in $ta $tb $tc; do
    case $t in $ta) m=$mark_a ;; $tb) m=$mark_b ;; *) m=$mark_c ;; esac
    set_items $t deviceManagement/deviceConfigurations 60
    set_items $t deviceManagement/configurationPolicies 40
    mutate $t rename "{\"path\":\"deviceManagement/deviceConfigurations\",\"range\":[0,60],\"suffix\":\" $m\"}"
    mutate $t rename "{\"path\":\"deviceManagement/configurationPolicies\",\"range\":[0,40],\"suffix\":\" $m\"}"
    fetch "access-$t-1" $db $t "$sel"
    [ "$RC" = 0 ] || fail "setup sync of $t"
    # Something missing too, with low confidence for B (a failed type).
    mutate $t delete '{"path":"deviceManagement/deviceConfigurations","indexes":[1,2]}'
    [ $t = "$tb" ] && set_faults "[{\"tenant\":\"$tb\",\"path\":\"deviceManagement/configurationPolicies\",\"kind\":\"forbidden\",\"times\":1}]"
    fetch "access-$t-2" $db $t "$sel"
    reset_mock
  done
  sql $db "ANALYZE"
  psql -XAtq -d $db >/dev/null <<SQL
DROP ROLE IF EXISTS rel_reader_a;
DROP ROLE IF EXISTS rel_sync_a;
CREATE ROLE rel_reader_a LOGIN;
CREATE ROLE rel_sync_a LOGIN;
SELECT inventory.grant_reader_role('rel_reader_a');
SELECT inventory.grant_tenant_access('rel_reader_a', '$ta');
SELECT inventory.grant_sync_role('rel_sync_a');
SELECT inventory.grant_tenant_access('rel_sync_a', '$ta');
SQL
  expect_eq "setup: B has missing items" \
    "$(sql $db "SELECT count(*) > 0 FROM inventory.missing_items WHERE tenant_id = '$tb'")" t

  # The reader.
  local forbidden="($tb|$tc|$mark_b|$mark_c)" names="($mark_b|$mark_c)" out leaks known
  out=$(PGOPTIONS="$PGOPTIONS -c reltest.ta=$ta -c reltest.tb=$tb -c reltest.forbidden=$forbidden -c reltest.names=$names" \
    psql -XAtq -d $db -U rel_reader_a -f "$HERE/access_reader.sql" 2>&1) || fail "reader checks did not run" "$out"
  printf '%s\n' "$out" >"$WORK/access-reader.txt"
  leaks=$(grep -c '^LEAK' <<<"$out")
  known=$(grep '^KNOWN' <<<"$out")
  expect_eq "a reader sees nothing of other tenants (tables, views, functions, EXPLAIN, leaky WHERE, pg_stats)" "$leaks" 0
  grep '^LEAK' <<<"$out" | head -n 5 | sed 's/^/      /'
  # The checks are not vacuous: the owner, who sees every tenant, fails them.
  local owner_leaks
  owner_leaks=$(PGOPTIONS="$PGOPTIONS -c reltest.ta=$ta -c reltest.tb=$tb -c reltest.forbidden=$forbidden -c reltest.names=$names -c reltest.skip_writes=on" \
    psql -XAtq -d $db -f "$HERE/access_reader.sql" 2>&1 | grep -c '^LEAK')
  expect_ge "the same checks run as the owner do find the other tenants" "$owner_leaks" 10
  # The reader does see its own tenant.
  expect_eq "the reader sees its own tenant's items" \
    "$(psql -XAtq -d $db -U rel_reader_a -c "SELECT count(*) FROM inventory.inventory_items WHERE display_name LIKE '%$mark_a'")" 100
  [ -n "$known" ] && printf '%s\n' "$known" >>"$WORK/known-issues.txt"

  # The sync role, while the owner runs tenant B in another session.
  local sum_before sum_after run_b done_b hold
  done_b=$(last_run $db $tb)
  psql -XAtq -d $db -c "SELECT inventory.begin_sync_run('$tb', '$sel')" -c "SELECT pg_sleep(60)" >/dev/null 2>&1 &
  hold=$!
  BG_PIDS+=("$hold")
  wait_for 10 access_running $db $tb || fail "setup: B's run did not start"
  run_b=$(sql $db "SELECT id FROM inventory.inventory_sync_runs WHERE tenant_id = '$tb' AND status = 'running'")
  local checksum="SELECT md5(string_agg(x::text, '|' ORDER BY x::text)) FROM (
      SELECT i::text AS x FROM inventory.item_state i WHERE tenant_id <> '$ta'
      UNION ALL SELECT r::text FROM inventory.inventory_sync_runs r WHERE tenant_id <> '$ta'
      UNION ALL SELECT t::text FROM inventory.inventory_sync_run_types t WHERE tenant_id <> '$ta'
      UNION ALL SELECT w::text FROM inventory.type_watermarks w WHERE tenant_id <> '$ta') s"
  sum_before=$(sql $db "$checksum")
  out=$(PGOPTIONS="$PGOPTIONS -c reltest.ta=$ta -c reltest.tb=$tb -c reltest.run_b=$run_b -c reltest.done_b=$done_b" \
    psql -XAtq -d $db -U rel_sync_a -f "$HERE/access_sync.sql" 2>&1) || fail "sync role checks did not run" "$out"
  printf '%s\n' "$out" >"$WORK/access-sync.txt"
  sum_after=$(sql $db "$checksum")
  sql $db "SELECT pg_terminate_backend(owner_pid) FROM inventory.inventory_sync_runs WHERE id = $run_b" >/dev/null
  kill "$hold" 2>/dev/null
  { wait "$hold"; } 2>/dev/null
  local sync_leaks run_a
  sync_leaks=$(grep -c '^LEAK' <<<"$out")
  expect_eq "the sync role cannot write outside its own run" "$sync_leaks" 0
  grep '^LEAK' <<<"$out" | head -n 5 | sed 's/^/      /'
  expect_eq "other tenants' rows are unchanged" "$sum_after" "$sum_before"
  run_a=$(sed -n 's/^RUN //p' <<<"$out")
  expect_eq "the smuggled row of an unselected type was refused, the own row applied" \
    "$(run_field $db "${run_a:-0}" "items_rejected || ' ' || items_observed || ' ' || status")" "1 1 failed"
  expect_eq "nothing smuggled arrived" "$(sql $db "SELECT count(*) FROM inventory.item_state WHERE external_id = 'sync-smuggled-1'")" 0
  grep '^KNOWN' <<<"$out" | sort -u >>"$WORK/known-issues.txt"
  record "tenant-scoped reader: tables, views, functions, EXPLAIN, leaky function, pg_stats" 1 \
    "$([ "$leaks" = 0 ] && echo "nothing of other tenants visible$([ -n "$known" ] && echo " (known: planner estimates, see below)")" || echo "LEAKS: $leaks")" 0
  record "sync role: ungranted tenants, other sessions' runs, tables, staging" 1 \
    "$([ "$sync_leaks" = 0 ] && [ "$sum_after" = "$sum_before" ] && echo "refused (42501 / 55000), other tenants bit for bit unchanged" || echo "FAILED")" 0
}
