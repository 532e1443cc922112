# Load: 200 tenants synced at once (one fetcher, --parallel-tenants 200)
# against a mock that throttles (429 with every Retry-After form, 503) and
# cuts connections. The caps are never exceeded, every run finishes, each
# retry answers exactly one injected fault, and peak memory does not grow
# with tenant size. Meanwhile reporting queries read the views without
# blocking the syncs and never see a half-applied batch.
# shellcheck shell=bash

# load_faults TENANTS...: one fault per tenant, of varied kinds and places.
load_faults() {
  local i=0 t kinds=('"kind":"throttle","retry_after":"0.3"' '"kind":"throttle","retry_after":"none"'
    '"kind":"throttle","retry_after":"http-date:+1"' '"kind":"unavailable","retry_after":"0.2"'
    '"kind":"throttle","retry_after":"1"' '"kind":"reset"' '"kind":"truncated"' '"kind":"gateway_timeout"')
  printf '['
  for t in "$@"; do
    [ $i -gt 0 ] && printf ','
    printf '{"tenant":"%s","path":"*",%s,"after_pages":%d,"times":1}' "$t" "${kinds[$((i % ${#kinds[@]}))]}" $((i % 3))
    i=$((i + 1))
  done
  printf ']'
}

# load_readers DB SECONDS-FILE: starts the reporting readers; they stop when
# FILE disappears. Each writes one line per violation to $WORK/load.readers.
load_readers() {
  local db=$1 flag=$2
  (
    export PGAPPNAME=reltest-reader-consistency
    while [ -e "$flag" ]; do
      # A batch is one transaction: the run's counters and its items change
      # together, so no snapshot may see one without the other.
      psql -XAtq -d "$db" -c "
        SELECT 'half-applied: run ' || r.id || ' counts ' || r.items_created || ' created, sees ' || c.n
          FROM inventory.inventory_sync_runs r
          CROSS JOIN LATERAL (SELECT count(*) AS n FROM inventory.item_state i
                               WHERE i.tenant_id = r.tenant_id AND i.first_seen_run_id = r.id) c
         WHERE r.items_created <> c.n" >>"$WORK/load.readers" 2>>"$WORK/load.readers.err"
    done
  ) &
  BG_PIDS+=($!)
  (
    export PGAPPNAME=reltest-reader-views
    while [ -e "$flag" ]; do
      psql -XAtq -d "$db" >/dev/null 2>>"$WORK/load.readers.err" <<'SQL'
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT count(*), sum(consecutive_failures) FROM inventory.tenant_sync_health;
SELECT count(*) FROM inventory.missing_items;
SELECT sum(items), sum(present) FROM inventory.item_counts;
SELECT count(*) FROM inventory.latest_run_changes;
SELECT policy_type, count(*) FROM inventory.inventory_items GROUP BY 1;
SELECT pg_sleep(0.3);
SELECT count(*) FROM inventory.inventory_items;
COMMIT;
SQL
    done
  ) &
  BG_PIDS+=($!)
  (
    export PGAPPNAME=reltest-reader-monitor
    while [ -e "$flag" ]; do
      psql -XAtq -d "$db" -c "
        SELECT 'blocked: fetcher ' || a.pid || ' waits for reader ' || r.pid || ' (' || r.application_name || ')'
          FROM pg_stat_activity a
          CROSS JOIN LATERAL unnest(pg_blocking_pids(a.pid)) b(pid)
          JOIN pg_stat_activity r ON r.pid = b.pid
         WHERE a.application_name = 'inventory-fetch' AND r.application_name LIKE 'reltest-reader%'" \
        >>"$WORK/load.readers" 2>>"$WORK/load.readers.err"
      echo x >>"$WORK/load.samples"
      sleep 0.02
    done
  ) &
  BG_PIDS+=($!)
}

# load_round LABEL DB ITEMS: a mock with 200 tenants of ITEMS items per type,
# one fetcher for all of them; sets LOAD_RSS (KB) and LOAD_OK.
load_round() {
  local label=$1 db=$2 items=$3 n=${LOAD_TENANTS:-200}
  local saved_url=$MOCK_URL saved_pid=$MOCK_PID
  LOAD_OK=1
  start_mock "load-$label" --tenants "$n" --items-per-type "$items" --tenant-seed "load-$label" --foreign-port -1 ||
    { fail "$label: mock"; LOAD_OK=0; return; }
  local tenants
  mapfile -t tenants < <(mock_get /_mock/tenants | jq -r '.tenants[]')
  [ ${#tenants[@]} = "$n" ] || { fail "$label: mock tenants"; LOAD_OK=0; }
  load_faults "${tenants[@]}" >"$WORK/load-$label.faults.json"
  set_faults_file "$WORK/load-$label.faults.json"
  set_latency 5
  {
    printf '{"db":"dbname=%s","max_concurrency":16,"per_tenant_concurrency":2,"parallel_tenants":%s,' "$db" "$n"
    printf '"defaults":{"client_id":"%s","client_secret_file":"%s","selection":%s},"tenants":[' \
      "$CLIENT_ID" "$SECRET_FILE" '{"policy_types":["deviceConfiguration","configurationPolicy"]}'
    local i
    for i in "${!tenants[@]}"; do
      [ "$i" -gt 0 ] && printf ','
      printf '{"tenant_id":"%s","name":"t%03d"}' "${tenants[$i]}" "$i"
    done
    printf ']}'
  } >"$WORK/load-$label.json"
  local flag=$WORK/load.flag t0=$SECONDS
  : >"$flag"
  load_readers "$db" "$flag"
  /usr/bin/time -f '%M' -o "$WORK/load-$label.rss" "$FETCH" sync --config "$WORK/load-$label.json" \
    --graph-url "$MOCK_URL" --login-url "$MOCK_URL" --retry-scale 0.05 --request-timeout 5 --no-progress \
    --metrics-file "$WORK/load-$label.prom" >"$WORK/load-$label.out" 2>"$WORK/load-$label.err"
  local rc=$?
  local secs=$((SECONDS - t0))
  rm -f "$flag"
  sleep 0.5
  LOAD_RSS=$(tail -n1 "$WORK/load-$label.rss")
  [ $rc = 0 ] || { fail "$label: fetcher exit $rc"; LOAD_OK=0; }
  local stats
  stats=$(mock_get /_mock/stats)
  local max_total max_tenant fired retries metric_max
  max_total=$(jq '.max_in_flight_total' <<<"$stats")
  max_tenant=$(jq '[.max_in_flight_by_tenant[]] | max' <<<"$stats")
  fired=$(mock_get /_mock/faults | jq '[.[].fired] | add')
  retries=$(awk '/^inventory_fetch_retries_total\{/ {s += $2} END {print s + 0}' "$WORK/load-$label.prom")
  metric_max=$(awk '/^inventory_fetch_max_in_flight / {print $2}' "$WORK/load-$label.prom")
  expect_le "$label: global cap 16 never exceeded (mock)" "$max_total" 16
  expect_le "$label: global cap 16 never exceeded (fetcher)" "$metric_max" 16
  expect_ge "$label: requests ran in parallel" "$max_total" 8
  expect_le "$label: per-tenant cap 2 never exceeded" "$max_tenant" 2
  expect_eq "$label: every injected fault fired" "$fired" "$n"
  # One retry per fault; libcurl itself silently repeats a request once when
  # a reused connection turns out closed, so a reset may cost no retry.
  local resets
  resets=$(jq '[.[] | select(.kind == "reset") | .fired] | add' <<<"$(mock_get /_mock/faults)")
  expect_le "$label: retries bounded: at most one per injected fault" "$retries" "$fired"
  expect_ge "$label: every fault but resets was retried" "$retries" $((fired - resets))
  expect_ge "$label: 429s served" "$(jq '.responses_by_status["429"] // 0' <<<"$stats")" $((n / 2))
  local runs
  runs=$(sql "$db" "SELECT count(*) FILTER (WHERE status = 'succeeded' AND NOT had_errors) || '/' || count(*)
                      FROM inventory.inventory_sync_runs r WHERE r.tenant_id IN (SELECT unnest('{$(IFS=,; echo "${tenants[*]}")}'::uuid[]))")
  expect_eq "$label: every run finished and succeeded" "$runs" "$n/$n"
  local counts
  counts=$(sql "$db" "SELECT count(*) FROM (SELECT tenant_id FROM inventory.inventory_items
                        WHERE tenant_id IN (SELECT unnest('{$(IFS=,; echo "${tenants[*]}")}'::uuid[])) AND present
                        GROUP BY tenant_id HAVING count(*) = $((2 * items))) x")
  expect_eq "$label: every tenant has every item" "$counts" "$n"
  # A few tenants in full: ids, names, hashes, last_seen.
  local k t v lost=0
  for k in 0 $((n / 2)) $((n - 1)); do
    t=${tenants[$k]}
    list_truth "$db" "$t" 1 deviceConfiguration configurationPolicy
    v=$(violations "$db" "SELECT * FROM reltest.check_clean('$t', 1, $(last_run "$db" "$t"), '{deviceConfiguration,configurationPolicy}')")
    [ "$v" = 0 ] || fail "$label: tenant $k equals the upstream" "$v"
    lost=$((lost + v))
  done
  LOAD_LOST=$lost
  LOAD_SECS=$secs
  LOAD_RETRIES=$retries
  stop_mock
  MOCK_URL=$saved_url
  MOCK_PID=$saved_pid
}

# load_memory DB ITEMS: peak RSS (LOAD_RSS, KB) of one fetcher syncing 20
# tenants of ITEMS items per type at once, no faults.
load_memory() {
  local db=$1 items=$2
  local saved_url=$MOCK_URL saved_pid=$MOCK_PID tenants
  start_mock "mem-$items" --tenants 20 --items-per-type "$items" --tenant-seed "mem-$items" --foreign-port -1 ||
    { fail "memory: mock"; return; }
  mapfile -t tenants < <(mock_get /_mock/tenants | jq -r '.tenants[]')
  {
    printf '{"db":"dbname=%s","max_concurrency":16,"per_tenant_concurrency":2,"parallel_tenants":20,' "$db"
    printf '"defaults":{"client_id":"%s","client_secret_file":"%s","selection":%s},"tenants":[' \
      "$CLIENT_ID" "$SECRET_FILE" '{"policy_types":["deviceConfiguration","configurationPolicy"]}'
    local i
    for i in "${!tenants[@]}"; do
      [ "$i" -gt 0 ] && printf ','
      printf '{"tenant_id":"%s"}' "${tenants[$i]}"
    done
    printf ']}'
  } >"$WORK/mem-$items.json"
  /usr/bin/time -f '%M' -o "$WORK/mem-$items.rss" "$FETCH" sync --config "$WORK/mem-$items.json" \
    --graph-url "$MOCK_URL" --login-url "$MOCK_URL" --no-progress --metrics-file "$WORK/mem-$items.prom" \
    >"$WORK/mem-$items.out" 2>"$WORK/mem-$items.err"
  [ $? = 0 ] || fail "memory: fetcher exit for $items items"
  LOAD_RSS=$(tail -n1 "$WORK/mem-$items.rss")
  expect_eq "memory: every item of 20 tenants x $items stored" \
    "$(sql "$db" "SELECT count(*) FROM inventory.inventory_items WHERE tenant_id IN (SELECT unnest('{$(IFS=,; echo "${tenants[*]}")}'::uuid[])) AND present")" \
    $((20 * 2 * items))
  stop_mock
  MOCK_URL=$saved_url
  MOCK_PID=$saved_pid
}

case_load() {
  local db=rel_load
  new_db $db || { fail "database"; return; }
  : >"$WORK/load.readers"
  : >"$WORK/load.readers.err"
  : >"$WORK/load.samples"
  local sizes=(100 500) rss=() lost=0 label ok=1 secs=() i
  [ "$SIZE" = soak ] && sizes=(100 500 2000)
  for i in "${!sizes[@]}"; do
    label="r$i-${sizes[$i]}"
    load_round "$label" $db "${sizes[$i]}"
    rss+=("$LOAD_RSS")
    secs+=("$LOAD_SECS")
    lost=$((lost + LOAD_LOST))
    [ "$LOAD_OK" = 1 ] || ok=0
    say "    $label: ${LOAD_SECS} s, peak RSS ${LOAD_RSS} KB, ${LOAD_RETRIES} retries"
  done
  # One fetcher running 200 tenants holds a few pages per running tenant in
  # its queues: bounded by the tenants at once, whatever their size.
  local max_rss=0 r
  for r in "${rss[@]}"; do [ "$r" -gt "$max_rss" ] && max_rss=$r; done
  expect_le "peak RSS of 200 tenants at once stays under 160 MB" "$max_rss" 163840
  # Memory flat in tenant size: 10x the items, the same memory.
  local small=1000 big=10000 rss_small rss_big
  [ "$SIZE" = soak ] && small=2000 big=20000
  load_memory $db $small
  rss_small=$LOAD_RSS
  load_memory $db $big
  rss_big=$LOAD_RSS
  check "peak RSS flat in tenant size: 20 tenants of $small and of $big items per type ($rss_small KB, $rss_big KB)" \
    test "$rss_big" -le $((rss_small * 13 / 10 + 4096))
  record "memory: 20 tenants at once, $small vs $big items per type" 2 \
    "$([ "$rss_big" -le $((rss_small * 13 / 10 + 4096)) ] && echo "peak RSS $rss_small KB vs $rss_big KB" || echo "GREW: $rss_small KB -> $rss_big KB")" 0
  local violations_seen samples
  violations_seen=$(grep -c . "$WORK/load.readers")
  samples=$(grep -c . "$WORK/load.samples")
  expect_eq "readers never blocked a sync nor saw a half-applied batch" "$violations_seen" 0
  [ "$violations_seen" = 0 ] || head -n 5 "$WORK/load.readers"
  expect_ge "the blocking monitor sampled during the syncs" "$samples" 20
  check "reader queries ran without errors" test ! -s "$WORK/load.readers.err"
  record "load: ${LOAD_TENANTS:-200} tenants at once, throttling mock, ${sizes[*]} items per type" "${#sizes[@]}" \
    "$([ $ok = 1 ] && echo "caps held, every run succeeded, retries <= faults, peak RSS ${rss[*]} KB" || echo FAILED)" "$lost"
  record "reporting queries during the load" "$samples samples" \
    "$([ "$violations_seen" = 0 ] && echo "never blocked a sync, never saw a half-applied batch" || echo "VIOLATIONS: $violations_seen")" 0
}
