# The fetcher built with AddressSanitizer and UndefinedBehaviorSanitizer
# (ASAN_BUILD_DIR, -DTINV_SANITIZE=ON) through the failure paths of the
# other cases: throttling, resets, truncated and never-ending responses,
# hostile pages, a database error, SIGTERM, rejected credentials. Its unit
# tests run under the same sanitizers in the test suite's asan layer; this
# adds the real binary against the mock and PostgreSQL. Any sanitizer report
# fails the case.
# shellcheck shell=bash

case_sanitizers() {
  local bin=${ASAN_BUILD_DIR:+$ASAN_BUILD_DIR/fetcher/inventory-fetch}
  if [ -z "$bin" ] || [ ! -x "$bin" ]; then
    # Not a failure: the test suite's asan layer builds it; without that
    # layer there is nothing to run (the table says so).
    say "    no sanitizer build of the fetcher (ASAN_BUILD_DIR): skipped"
    record "fetcher under ASan/UBSan" 0 "NOT RUN (no ASAN_BUILD_DIR with fetcher/inventory-fetch)" "-"
    return
  fi
  local db=rel_sanitizers t=c0000008-0000-4000-8000-000000000001 t2=c0000008-0000-4000-8000-000000000002
  local sel='{"policy_types":["deviceConfiguration","configurationPolicy","mobileApp","deviceCompliancePolicy"]}'
  new_db $db || { fail "database"; return; }
  reset_mock
  for x in $t $t2; do
    set_items $x deviceManagement/deviceConfigurations 120
    set_items $x deviceManagement/configurationPolicies 60
    set_items $x deviceAppManagement/mobileApps 100
    set_items $x deviceManagement/deviceCompliancePolicies 100
  done
  local bad
  bad=$(jq -cn '{"@odata.nextLink": "{{next_link}}", value: [{id: 5}, "x", null, {id: "ok-1", displayName: 42,
    technologies: {a: 1}, settingCount: "x", roleScopeTagIds: [1, {}]}, {id: ("n" * 2000)}]} | tojson')
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1
  local runs=0
  # 1. Everything at once on one run.
  set_faults "[
    {\"tenant\":\"$t\",\"path\":\"deviceManagement/deviceConfigurations\",\"kind\":\"throttle\",\"retry_after\":\"0.2\",\"times\":1},
    {\"tenant\":\"$t\",\"path\":\"deviceManagement/deviceConfigurations\",\"kind\":\"page_body\",\"after_pages\":2,\"body\":$bad,\"times\":1},
    {\"tenant\":\"$t\",\"path\":\"deviceManagement/configurationPolicies\",\"kind\":\"truncated\",\"after_pages\":1,\"times\":1},
    {\"tenant\":\"$t\",\"path\":\"deviceManagement/configurationPolicies\",\"kind\":\"reset\",\"after_pages\":2,\"times\":1},
    {\"tenant\":\"$t\",\"path\":\"deviceAppManagement/mobileApps\",\"kind\":\"endless\",\"interval_ms\":0,\"chunk_bytes\":262144,\"after_pages\":1,\"times\":-1},
    {\"tenant\":\"$t\",\"path\":\"deviceManagement/deviceCompliancePolicies\",\"kind\":\"canary\",\"canary\":\"$CANARY_FAULT\",\"times\":-1}]"
  FETCH_BIN=$bin fetch asan-faults $db $t "$sel" --log-level trace
  runs=$((runs + 1))
  expect_eq "sanitized fetcher, every fault at once: exit 1 (partial)" "$RC" 1
  expect_eq "sanitized fetcher: the codes" "$(run_field $db "$(last_run $db $t)" "status || ' ' || array_to_string(error_codes, ',')")" \
    "partial bad_item,graph_bad_request,graph_bad_response"
  # 2. A clean run, then SIGTERM in the middle of one.
  reset_mock
  FETCH_BIN=$bin fetch asan-clean $db $t2 "$sel"
  runs=$((runs + 1))
  expect_eq "sanitized fetcher, clean run: exit 0" "$RC" 0
  set_latency 150
  mock_post /_mock/reset-stats '{}'
  FETCH_BIN=$bin fetch_bg asan-term $db $t2 "$sel" --batch-size 40
  local pid=$BG
  wait_for 20 tenant_requests_at_least $t2 4
  kill -TERM "$pid"
  wait_exit "$pid" 20
  runs=$((runs + 1))
  expect_eq "sanitized fetcher, SIGTERM: exit 1" "$RC" 1
  set_latency 0
  # 3. The database goes away under it: the session is terminated mid-run.
  set_latency 100
  # Whole rows (the tenant is known: with the manifest its unchanged items
  # would travel as keys, in one COPY at the end of each type).
  FETCH_BIN=$bin fetch_bg asan-dbgone $db $t2 "$sel" --batch-size 40 --no-manifest
  pid=$BG
  [ "$(sql $db "SELECT reltest.wait_for(\$q\$reltest.fetcher_in('COPY%') OR reltest.fetcher_in('CALL%')\$q\$, 20)")" = t ] ||
    fail "sanitized fetcher: never reached the database"
  sql $db "SELECT count(pg_terminate_backend(p)) FROM unnest(reltest.fetcher_pids()) p" >/dev/null
  wait_exit "$pid" 30
  runs=$((runs + 1))
  expect_eq "sanitized fetcher, session terminated: exit 1" "$RC" 1
  check "sanitized fetcher, session terminated: db_error logged" grep -q 'db_error\|database error' "$WORK/asan-dbgone.err"
  set_latency 0
  # 4. Rejected credentials.
  set_faults "[{\"tenant\":\"$t2\",\"path\":\"token\",\"kind\":\"token_error\",\"times\":-1}]"
  FETCH_BIN=$bin fetch asan-auth $db $t2 "$sel"
  runs=$((runs + 1))
  expect_eq "sanitized fetcher, rejected credentials: exit 1" "$RC" 1
  reset_mock
  unset ASAN_OPTIONS UBSAN_OPTIONS
  local reports
  reports=$(grep -l -E 'ERROR: (Address|Leak)Sanitizer|runtime error:|SUMMARY: (Address|Undefined)' "$WORK"/asan-*.err 2>/dev/null | wc -l)
  expect_eq "no sanitizer report in any run" "$reports" 0
  [ "$reports" = 0 ] || grep -h -m3 -E 'ERROR: |runtime error:' "$WORK"/asan-*.err | sed 's/^/      /'
  record "fetcher under ASan/UBSan: faults, hostile page, SIGTERM, session killed, bad credentials" "$runs" \
    "$([ "$reports" = 0 ] && echo "no sanitizer report, expected outcomes" || echo "SANITIZER REPORTS in $reports runs")" 0
}
