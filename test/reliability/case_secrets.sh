# Secret canaries: the client secret the mock accepts (a plain string no
# pattern knows), the bearer tokens it issues (JWTs), and the canary the mock
# embeds in error bodies as Bearer token, client_secret=, sig= and
# access_token= values must never appear in a pg_dump, the server log, or
# the fetcher's stdout, stderr (every level, text and JSON) and metrics, in
# any failure mode: the ones provoked here (a token endpoint echoing the
# secret, canary error bodies, nextLinks carrying user info and SAS
# signatures, 401 refreshes, SIGTERM) and every run of the other cases
# (kill -9, PostgreSQL restarts, network faults, hostile pages, load).
# shellcheck shell=bash

case_secrets() {
  local db=rel_secrets
  new_db $db || { fail "database"; return; }
  reset_mock
  local sel='{"policy_types":["deviceConfiguration","configurationPolicy","mobileApp"]}'
  local t1=c0000005-0000-4000-8000-000000000001 t2=c0000005-0000-4000-8000-000000000002
  local t3=c0000005-0000-4000-8000-000000000003 t4=c0000005-0000-4000-8000-000000000004
  local t5=c0000005-0000-4000-8000-000000000005 t
  for t in $t1 $t2 $t3 $t4 $t5; do
    set_items $t deviceManagement/deviceConfigurations 90
    set_items $t deviceManagement/configurationPolicies 50
    set_items $t deviceAppManagement/mobileApps 100
  done
  local echo_body
  echo_body=$(jq -Rn --arg s "$CANARY_SECRET" '{error: "invalid_client",
    error_description: ("AADSTS7000215: Invalid client secret provided: " + $s + " (request: grant_type=client_credentials&client_secret=" + $s + ")")} | tojson')

  # 1. Token endpoint echoing the secret: rejected (4xx) and transient (5xx, retried).
  local mode
  for mode in token_error server_error; do
    set_faults "[{\"tenant\":\"$t1\",\"path\":\"token\",\"kind\":\"$mode\",\"times\":-1,\"body\":$echo_body,\"content_type\":\"application/json\"}]"
    fetch "secrets-echo-$mode" $db $t1 "$sel" --log-level trace --log-format json
    expect_eq "secret echoed by the token endpoint ($mode): exit 1" "$RC" 1
    expect_eq "secret echoed by the token endpoint ($mode): auth_failed" \
      "$(run_field $db "$(last_run $db $t1)" "status || ' ' || array_to_string(error_codes, ',')")" "failed auth_failed"
    check "secret echoed by the token endpoint ($mode): the stored message says what happened" \
      grep -q 'Invalid client secret provided: \[REDACTED\]' <(run_field $db "$(last_run $db $t1)" "errors::text")
  done

  # 2. Canary error bodies; nextLinks with user info, SAS signature and secrets.
  reset_mock
  local port=${MOCK_URL##*:} link_body
  link_body=$(jq -cn --arg c "$CANARY_FAULT" --arg p "$port" '{
    "@odata.nextLink": ("http://user:" + $c + "@127.0.0.1:" + $p + "/beta/deviceManagement/deviceConfigurations?sig=" + $c
                        + "&client_secret=" + $c + "&access_token=" + $c + "&$skiptoken=" + $c),
    value: [{id: "s-1", displayName: "first"}]} | tojson')
  local sas_body
  sas_body=$(jq -cn --arg c "$CANARY_FAULT" '{"@odata.nextLink": ("{{next_link}}&sv=2022-11-02&sr=b&sig=" + $c),
    value: [{id: "s-2", displayName: "second"}]} | tojson')
  local canary_faults="[
    {\"tenant\":\"$t2\",\"path\":\"deviceManagement/configurationPolicies\",\"kind\":\"canary\",\"canary\":\"$CANARY_FAULT\",\"times\":-1},
    {\"tenant\":\"$t2\",\"path\":\"deviceManagement/deviceConfigurations\",\"kind\":\"page_body\",\"body\":$link_body,\"times\":1},
    {\"tenant\":\"$t2\",\"path\":\"deviceAppManagement/mobileApps\",\"kind\":\"page_body\",\"body\":$sas_body,\"times\":1}]"
  for mode in text json; do
    set_faults "$canary_faults"
    fetch "secrets-canary-$mode" $db $t2 "$sel" --log-level trace --log-format $mode
    expect_eq "canary bodies and links ($mode logs): exit 1" "$RC" 1
  done
  local run
  run=$(last_run $db $t2)
  expect_eq "canary run: the codes" "$(run_field $db "$run" "array_to_string(error_codes, ',')")" \
    "graph_bad_request,paging_unsafe_link"
  expect_eq "the refused link was never followed" "$(mock_get /_mock/stats | jq '.foreign_requests | length')" 0

  # 3. 401 then a token refresh, at trace level.
  set_faults "[{\"tenant\":\"$t3\",\"path\":\"*\",\"kind\":\"unauthorized\",\"after_pages\":1,\"times\":2}]"
  fetch secrets-401 $db $t3 "$sel" --log-level trace --log-format json
  expect_eq "401 refresh at trace level: exit 0" "$RC" 0

  # 4. SIGTERM in the middle of a run at trace level.
  reset_mock
  set_latency 300
  fetch_bg secrets-term $db $t4 "$sel" --log-level trace
  local pid=$BG
  wait_for 10 tenant_requests_at_least $t4 3 || fail "SIGTERM: the run did not get under way"
  kill -TERM "$pid"
  wait_exit "$pid" 10
  expect_eq "SIGTERM at trace level: exit 1" "$RC" 1
  set_latency 0

  # 5. A configuration with the secret in a variable, throttling, metrics.
  set_faults "[{\"tenant\":\"$t5\",\"path\":\"*\",\"kind\":\"throttle\",\"retry_after\":\"0.2\",\"times\":2}]"
  INVENTORY_CLIENT_SECRET=$CANARY_SECRET "$FETCH" sync --tenant $t5 --selection "$sel" --db "dbname=$db" \
    --client-id "$CLIENT_ID" --graph-url "$MOCK_URL" --login-url "$MOCK_URL" --retry-scale 0.02 --no-progress \
    --log-level trace --metrics-file "$WORK/secrets-env.prom" >"$WORK/secrets-env.out" 2>"$WORK/secrets-env.err"
  expect_eq "secret from the environment: exit 0" "$?" 0

  # The scan: every database of the suite, the whole cluster, the server
  # log, and everything every fetcher of every case printed or wrote.
  local files=() d f hits=0
  for d in $(psql -XAtq -d postgres -c "SELECT datname FROM pg_database WHERE datname LIKE 'rel_%'"); do
    pg_dump -d "$d" >"$WORK/dump-$d.sql" 2>"$WORK/dump-$d.err" || fail "pg_dump $d"
    files+=("$WORK/dump-$d.sql")
  done
  pg_dumpall >"$WORK/dumpall.sql" 2>/dev/null || fail "pg_dumpall"
  files+=("$WORK/dumpall.sql" "$PGDIR/server.log")
  for f in "$WORK"/*.out "$WORK"/*.err "$WORK"/*.prom; do [ -f "$f" ] && files+=("$f"); done
  check "the dumps hold the stored errors" grep -q 'paging_unsafe_link' "$WORK/dump-$db.sql"
  for f in "${files[@]}"; do
    if grep -qF -- "$CANARY_SECRET" "$f"; then fail "client secret canary in $(basename "$f")"; hits=$((hits + 1)); fi
    if grep -qF -- "$CANARY_FAULT" "$f"; then fail "fault canary (sig=, client_secret=, access_token=, bearer) in $(basename "$f")"; hits=$((hits + 1)); fi
    if grep -qE -- 'eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{2,}' "$f"; then fail "a JWT in $(basename "$f")"; hits=$((hits + 1)); fi
  done
  expect_ge "files scanned" "${#files[@]}" 20
  record "secret canaries: client secret (plain), bearer tokens, sig=/client_secret=/access_token= values, URL user info" \
    "${#files[@]} files" \
    "$([ $hits = 0 ] && echo "none in pg_dump, pg_dumpall, server log, fetcher stdout/stderr/metrics (echo by the token endpoint, canary bodies, unsafe links, 401, SIGTERM, and every other case)" || echo "LEAKED in $hits")" \
    0
}
