# PostgreSQL restarts in the middle of a run (fast and immediate shutdown,
# inside COPY, inside apply_staged, while the fetcher pages; and a database
# that is down when the fetcher starts). The fetcher must fail the run
# cleanly and exit; the next run marks the old one abandoned and succeeds.
# shellcheck shell=bash

pg_stop_mode() {  # pg_stop_mode fast|immediate
  local pgbin
  pgbin=$(pg_config --bindir)
  if [ "$(id -u)" = 0 ]; then
    runuser -u postgres -- "$pgbin/pg_ctl" -D "$PGDIR/data" -m "$1" -w stop >/dev/null 2>&1
  else
    "$pgbin/pg_ctl" -D "$PGDIR/data" -m "$1" -w stop >/dev/null 2>&1
  fi
}
pg_start() { "$ROOT/scripts/pgcluster.sh" start "$PGDIR" "$PGPORT_REL" >/dev/null 2>>"$WORK/pg-restart.err"; }

case_restart() {
  local db=rel_restart t=c0000002-0000-4000-8000-000000000001
  local rounds=4 points=(copy:fast apply:immediate paging:fast down:fast)
  [ "$SIZE" = soak ] && rounds=24
  new_db $db || { fail "database"; return; }
  # The test cluster commits asynchronously; an immediate shutdown must not
  # lose what the fetcher was told was committed.
  sql $db "ALTER DATABASE $db SET synchronous_commit = on"
  reset_mock
  CRASH_COUNT=(300 250 150)
  local i
  for i in 0 1 2; do set_items $t "${CRASH_PATHS[$i]}" "${CRASH_COUNT[$i]}"; done
  list_truth $db $t 0 "${CRASH_TYPES[@]}"
  fetch restart-initial $db $t "$CRASH_SEL"
  expect_eq "initial sync exit 0" "$RC" 0
  remember $db $t

  declare -A tries=() lost=() clean=()
  local r spec point mode pid t_stop v v_total run dead detail cond ok
  for ((r = 1; r <= rounds; r++)); do
    spec=${points[$(((r - 1) % ${#points[@]}))]}
    point=${spec%%:*}
    mode=${spec#*:}
    [ "$SIZE" = soak ] && [ $((r % 2)) = 0 ] && mode=$([ "$mode" = fast ] && echo immediate || echo fast)
    reset_mock
    crash_mutate $t
    list_truth $db $t "$r" "${CRASH_TYPES[@]}" || return
    dead=$(last_run $db $t)
    v_total=0
    ok=1
    if [ "$point" = down ]; then
      pg_stop_mode "$mode"
      fetch "restart-$r" $db $t "$CRASH_SEL"
      [ "$RC" = 1 ] || { fail "round $r: fetcher against a stopped database exit $RC, want 1"; ok=0; }
      grep -q 'cannot start the run' "$WORK/restart-$r.err" || { fail "round $r: no clear message for a stopped database"; ok=0; }
      pg_start || { fail "round $r: PostgreSQL did not start again"; return; }
      [ "$(last_run $db $t)" = "$dead" ] || { fail "round $r: a run row appeared although the database was down"; ok=0; }
    else
      set_latency 25
      [ "$point" = apply ] && sql $db "SELECT reltest.widen('apply', 0.3)" >/dev/null
      # Whole rows (--no-manifest): with the manifest a known tenant's
      # re-sync stages few rows, its keys in one short COPY per type, and
      # the restart could miss the COPY it aims at.
      fetch_bg "restart-$r" $db $t "$CRASH_SEL" --batch-size 90 --no-manifest
      pid=$BG
      case $point in
        copy) cond="reltest.fetcher_in('COPY%')" ;;
        apply) cond="reltest.fetcher_in('CALL inventory.apply_staged%')" ;;
        paging) cond="EXISTS (SELECT 1 FROM inventory.inventory_sync_runs WHERE status = 'running' AND items_observed > 0)
                      AND NOT reltest.fetcher_in('%')" ;;
      esac
      [ "$(sql $db "SELECT reltest.wait_for(\$q\$$cond\$q\$, 20)")" = t ] || { fail "round $r: $point not reached"; ok=0; }
      dead=$(sql $db "SELECT coalesce(max(id), 0) FROM inventory.inventory_sync_runs WHERE status = 'running'")
      pg_stop_mode "$mode"
      t_stop=$SECONDS
      sleep 0.5
      pg_start || { fail "round $r: PostgreSQL did not start again"; return; }
      wait_exit "$pid" 30
      [ "$RC" = 1 ] || { fail "round $r ($point, $mode): fetcher exit $RC, want 1"; ok=0; }
      [ $((SECONDS - t_stop)) -le 15 ] || { fail "round $r: the fetcher took $((SECONDS - t_stop)) s to give up"; ok=0; }
      grep -q 'code=db_error\|database error' "$WORK/restart-$r.err" || { fail "round $r: no db_error in the log"; ok=0; }
      sql $db "SELECT reltest.widen('', 0)" >/dev/null
      [ "$(run_field $db "$dead" status)" = running ] || { fail "round $r: the interrupted run is not left running"; ok=0; }
    fi
    v=$(violations $db "SELECT * FROM reltest.check_always('$t')")
    v_total=$((v_total + v))
    remember $db $t
    set_latency 0
    fetch "restart-$r-repair" $db $t "$CRASH_SEL"
    [ "$RC" = 0 ] || { fail "round $r: repairing run exit $RC"; ok=0; }
    run=$(last_run $db $t)
    v=$(violations $db "SELECT * FROM reltest.check_always('$t')
                        UNION ALL SELECT * FROM reltest.check_clean('$t', $r, $run, '{${CRASH_TYPES[*]// /,}}')")
    v_total=$((v_total + v))
    [ "$v_total" = 0 ] || fail "round $r ($point, $mode): invariants" "$v_total violations"
    if [ "$point" != down ]; then
      detail=$(run_field $db "$dead" "status || '/' || array_to_string(error_codes, ',')")
      case "$detail" in failed/*run_abandoned*) ;; *) fail "round $r: interrupted run is $detail, not abandoned"; ok=0 ;; esac
    fi
    remember $db $t
    spec=$point:$mode
    tries[$spec]=$((${tries[$spec]:-0} + 1))
    lost[$spec]=$((${lost[$spec]:-0} + v_total))
    clean[$spec]=$((${clean[$spec]:-0} + ok))
  done
  for spec in $(printf "%s\n" "${!tries[@]}" | sort); do
    point=${spec%%:*}
    record "PostgreSQL restart: $([ "$point" = down ] && echo "down when the fetcher starts" || echo "during $point") (${spec#*:})" \
      "${tries[$spec]}" \
      "$([ "${clean[$spec]}" = "${tries[$spec]}" ] && echo "fetcher exit 1 with db_error; run abandoned; next run succeeded" || echo "FAILED ${clean[$spec]}/${tries[$spec]}")" \
      "${lost[$spec]}"
  done
}
