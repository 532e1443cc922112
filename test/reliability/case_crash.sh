# Crash and restart of the fetcher: kill -9 at chosen points of a run (inside
# COPY, inside apply_staged, inside complete_policy_type, between two policy
# types, inside finish_sync_run, at a random moment), with and without the
# database session being cut at the same time, while the upstream changes
# between rounds. After every kill and after every repairing run the
# invariants are checked against the mock's listing.
# shellcheck shell=bash

CRASH_TYPES=(deviceConfiguration configurationPolicy mobileApp)
CRASH_PATHS=(deviceManagement/deviceConfigurations deviceManagement/configurationPolicies deviceAppManagement/mobileApps)
CRASH_SEL='{"policy_types":["deviceConfiguration","configurationPolicy","mobileApp"]}'

# crash_mutate TENANT: random upstream changes (deletes, restores, renames,
# touches, new items) between two rounds.
crash_mutate() {
  local t=$1 i p n idx
  for i in 0 1 2; do
    p=${CRASH_PATHS[$i]}
    n=${CRASH_COUNT[$i]}
    case $((RANDOM % 5)) in
      0) mutate "$t" delete "{\"path\":\"$p\",\"indexes\":[$((RANDOM % n)),$((RANDOM % n))]}" ;;
      1) idx=$((RANDOM % n)); mutate "$t" restore "{\"path\":\"$p\",\"range\":[$idx,$((idx + 40))]}" ;;
      2) mutate "$t" rename "{\"path\":\"$p\",\"indexes\":[$((RANDOM % n)),$((RANDOM % n)),$((RANDOM % n))]}" ;;
      3) mutate "$t" touch "{\"path\":\"$p\",\"indexes\":[$((RANDOM % n)),$((RANDOM % n))]}" ;;
      4) CRASH_COUNT[$i]=$((n + 1 + RANDOM % 15)); set_items "$t" "$p" "${CRASH_COUNT[$i]}" ;;
    esac
  done
}

# crash_wait_point DB POINT: returns when the fetcher is at POINT (0), or not (1).
crash_wait_point() {
  local db=$1 cond
  case $2 in
    copy) cond="reltest.fetcher_in('COPY%')" ;;
    apply) cond="reltest.fetcher_in('CALL inventory.apply_staged%')" ;;
    complete) cond="reltest.fetcher_in('SELECT inventory.complete_policy_type%')" ;;
    finish) cond="reltest.fetcher_in('SELECT inventory.finish_sync_run%')" ;;
    between)
      cond="EXISTS (SELECT 1 FROM inventory.inventory_sync_run_types t JOIN inventory.inventory_sync_runs r
                     ON r.tenant_id = t.tenant_id AND r.id = t.run_id WHERE r.status = 'running')
            AND NOT reltest.fetcher_in('%')"
      ;;
    random)
      sleep "0.$((RANDOM % 10))$((RANDOM % 10))"
      return 0
      ;;
  esac
  [ "$(sql "$db" "SELECT reltest.wait_for(\$q\$$cond\$q\$, 20)")" = t ]
}

case_crash() {
  local db=rel_crash t=c0000001-0000-4000-8000-000000000001
  local rounds=12 points=(copy apply complete between finish random)
  [ "$SIZE" = soak ] && rounds=300
  rounds=${RELIABILITY_CRASH_ROUNDS:-$rounds}
  new_db $db || { fail "database"; return; }
  reset_mock
  CRASH_COUNT=(300 250 150)
  local i
  for i in 0 1 2; do set_items $t "${CRASH_PATHS[$i]}" "${CRASH_COUNT[$i]}"; done
  list_truth $db $t 0 "${CRASH_TYPES[@]}"
  fetch crash-initial $db $t "$CRASH_SEL"
  expect_eq "initial sync exit 0" "$RC" 0
  expect_eq "initial sync is clean" \
    "$(violations $db "SELECT * FROM reltest.check_clean('$t', 0, $(last_run $db $t), '{${CRASH_TYPES[*]// /,}}')")" 0
  remember $db $t

  declare -A tries=() hits=() lost=() abandoned=()
  local r point cut dead rc_dead v v_total run hit detail widen snap
  for ((r = 1; r <= rounds; r++)); do
    point=${points[$(((r - 1) % ${#points[@]}))]}
    cut=$((r / ${#points[@]} % 2))  # every other pass also cuts the database session
    reset_mock
    crash_mutate $t
    list_truth $db $t "$((2 * r))" "${CRASH_TYPES[@]}" || return
    # Soak: the upstream also changes while the doomed run is under way.
    local mid=0
    [ "$SIZE" = soak ] && [ $((RANDOM % 3)) = 0 ] && mid=1
    set_latency 25
    case $point in apply | complete | finish) widen=$point ;; *) widen='' ;; esac
    sql $db "SELECT reltest.widen('$widen', 0.15)" >/dev/null
    fetch_bg "crash-$r" $db $t "$CRASH_SEL" --batch-size 90 --per-tenant-concurrency $((1 + r % 2))
    local pid=$BG
    [ $mid = 1 ] && crash_mutate $t
    hit=0
    crash_wait_point $db "$point" && hit=1
    kill -9 "$pid" 2>/dev/null
    [ $cut = 1 ] && sql $db "SELECT count(pg_terminate_backend(p)) FROM unnest(reltest.fetcher_pids()) p" >/dev/null
    { wait "$pid"; } 2>/dev/null
    rc_dead=$?
    [ $rc_dead = 137 ] || hit=0  # the run ended before the kill
    wait_for 20 no_fetcher_session $db || fail "round $r: the dead fetcher's session did not end"
    sql $db "SELECT reltest.widen('', 0)" >/dev/null
    dead=$(last_run $db $t)
    set_latency 0
    snap=$((2 * r))
    # The doomed run saw the upstream before or after the change made while
    # it ran: both are truth snapshots.
    if [ $mid = 1 ]; then
      snap=$((2 * r + 1))
      list_truth $db $t $snap "${CRASH_TYPES[@]}" || return
    fi
    v_total=0
    v=$(violations $db "SELECT * FROM reltest.check_always('$t')")
    [ "$v" = 0 ] || fail "round $r ($point): invariants after the kill" "$v violations"
    v_total=$((v_total + v))
    remember $db $t

    # The repairing run, against the upstream as it is now.
    fetch "crash-$r-repair" $db $t "$CRASH_SEL" --batch-size 200
    [ "$RC" = 0 ] || fail "round $r ($point): repairing run exit $RC"
    run=$(last_run $db $t)
    v=$(violations $db "SELECT * FROM reltest.check_always('$t')
                        UNION ALL SELECT * FROM reltest.check_clean('$t', $snap, $run, '{${CRASH_TYPES[*]// /,}}')")
    [ "$v" = 0 ] || fail "round $r ($point): invariants after the repairing run" "$v violations"
    v_total=$((v_total + v))
    detail=$(run_field $db "$dead" "status || '/' || array_to_string(error_codes, ',')")
    if [ $rc_dead = 137 ]; then
      case "$detail" in
        failed/*run_abandoned*) abandoned[$point]=$((${abandoned[$point]:-0} + 1)) ;;
        succeeded/ | partial/*) ;;  # finish_sync_run had committed before the session went
        *) fail "round $r ($point): the killed run is $detail, not finished nor abandoned"; v_total=$((v_total + 1)) ;;
      esac
    fi
    remember $db $t
    tries[$point]=$((${tries[$point]:-0} + 1))
    hits[$point]=$((${hits[$point]:-0} + hit))
    lost[$point]=$((${lost[$point]:-0} + v_total))
  done
  local stuck
  stuck=$(sql $db "SELECT count(*) FROM inventory.inventory_sync_runs WHERE status = 'running'")
  expect_eq "no run left running" "$stuck" 0
  for point in "${points[@]}"; do
    [ -n "${tries[$point]:-}" ] || continue
    expect_ge "kill point $point reached at least once" "${hits[$point]}" 1
    record "kill -9 fetcher: $point" "${tries[$point]} (${hits[$point]} inside)" \
      "$([ "${lost[$point]}" = 0 ] && echo "invariants held; ${abandoned[$point]:-0} runs abandoned, next run succeeded" || echo "VIOLATIONS")" \
      "${lost[$point]}"
  done
}
