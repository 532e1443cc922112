# The mock cuts its connections: reset without a response, a truncated JSON
# body, a response that never ends (a slow trickle, and a flood past the
# fetcher's body limit), and no answer at all. Transient faults are retried
# and the run succeeds with everything; a fault that persists on one policy
# type gives that type a clear error code, the rest of the run is kept, and
# nothing of that type is reported missing with high confidence.
# shellcheck shell=bash

case_network() {
  local db=rel_network t=c0000003-0000-4000-8000-000000000001
  new_db $db || { fail "database"; return; }
  reset_mock
  CRASH_COUNT=(300 250 150)
  local i
  for i in 0 1 2; do set_items $t "${CRASH_PATHS[$i]}" "${CRASH_COUNT[$i]}"; done
  list_truth $db $t 0 "${CRASH_TYPES[@]}"
  fetch net-initial $db $t "$CRASH_SEL"
  expect_eq "initial sync exit 0" "$RC" 0
  remember $db $t

  # name|fault rule (without tenant/path)|error code when it persists
  local faults=(
    'reset|"kind":"reset"|network_error'
    'truncated JSON|"kind":"truncated"|network_error'
    'never-ending response (trickle)|"kind":"endless","interval_ms":100|timeout'
    'never-ending response (flood past the body limit)|"kind":"endless","interval_ms":0,"chunk_bytes":262144|graph_bad_response'
    'no answer (hang)|"kind":"hang","delay_ms":4000|timeout'
  )
  local repeat=1
  [ "$SIZE" = soak ] && repeat=6
  local spec name rule code mode snap=0 k run v lost ok tries rc_want path type
  for spec in "${faults[@]}"; do
    IFS='|' read -r name rule code <<<"$spec"
    for mode in transient persistent; do
      lost=0
      ok=0
      tries=0
      for ((k = 0; k < repeat; k++)); do
        tries=$((tries + 1))
        snap=$((snap + 1))
        reset_mock
        crash_mutate $t
        list_truth $db $t $snap "${CRASH_TYPES[@]}" || return
        i=$((RANDOM % 3))
        path=${CRASH_PATHS[$i]}
        type=${CRASH_TYPES[$i]}
        if [ $mode = transient ]; then
          set_faults "[{\"tenant\":\"$t\",\"path\":\"$path\",$rule,\"after_pages\":1,\"times\":2}]"
          rc_want=0
        else
          set_faults "[{\"tenant\":\"$t\",\"path\":\"$path\",$rule,\"after_pages\":1,\"times\":-1}]"
          rc_want=1
        fi
        fetch "net-$snap" $db $t "$CRASH_SEL" --request-timeout 1
        run=$(last_run $db $t)
        local good=1
        [ "$RC" = $rc_want ] || { fail "$name ($mode): exit $RC, want $rc_want"; good=0; }
        if [ $mode = transient ]; then
          v=$(violations $db "SELECT * FROM reltest.check_always('$t')
                              UNION ALL SELECT * FROM reltest.check_clean('$t', $snap, $run, '{${CRASH_TYPES[*]// /,}}')")
        else
          local others
          others=$(printf '%s\n' "${CRASH_TYPES[@]}" | grep -vx "$type" | paste -sd, -)
          v=$(violations $db "SELECT * FROM reltest.check_always('$t')
                              UNION ALL SELECT * FROM reltest.check_clean('$t', $snap, $run, '{$others}', false)")
          expect_eq "$name (persistent): type outcome" \
            "$(sql $db "SELECT status || ' ' || error_code FROM inventory.inventory_sync_run_types WHERE run_id = $run AND policy_type = '$type'")" \
            "incomplete $code"
          expect_eq "$name (persistent): run partial" "$(run_field $db $run status)" partial
          expect_eq "$name (persistent): nothing of the type missing with high confidence" \
            "$(sql $db "SELECT count(*) FROM inventory.missing_items WHERE tenant_id = '$t' AND policy_type = '$type' AND confidence = 'high'")" 0
        fi
        [ "$v" = 0 ] || { fail "$name ($mode): invariants" "$v violations"; good=0; }
        lost=$((lost + v))
        remember $db $t
        if [ $mode = persistent ]; then
          # The next run, with the fault gone, repairs the type.
          reset_mock
          fetch "net-$snap-repair" $db $t "$CRASH_SEL"
          [ "$RC" = 0 ] || { fail "$name: repairing run exit $RC"; good=0; }
          v=$(violations $db "SELECT * FROM reltest.check_always('$t')
                              UNION ALL SELECT * FROM reltest.check_clean('$t', $snap, $(last_run $db $t), '{${CRASH_TYPES[*]// /,}}')")
          [ "$v" = 0 ] || { fail "$name: invariants after the repairing run" "$v violations"; good=0; }
          lost=$((lost + v))
          remember $db $t
        fi
        ok=$((ok + good))
      done
      if [ $mode = transient ]; then
        record "network: $name, transient" "$tries" \
          "$([ $ok = $tries ] && echo "retried; run succeeded with every item" || echo "FAILED $ok/$tries")" "$lost"
      else
        record "network: $name, on every retry of one type" "$tries" \
          "$([ $ok = $tries ] && echo "type incomplete with $code, other types complete, next run repairs" || echo "FAILED $ok/$tries")" "$lost"
      fi
    done
  done
}
