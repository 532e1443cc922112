#!/usr/bin/env bash
# Hostile upstream and hostile neighbours: the real inventory-fetch against a
# malicious login endpoint and Graph (the mock Graph server's hostile modes,
# on 127.0.0.1 only), a real PostgreSQL, and a local user's tricks. One
# function per numbered case of the security review:
#   1 secrets echoed in response headers      6 a secret straddling the error cut
#   2 a 5,000,000-item page (memory)          7 CR/LF in the access token
#   3 plain http to a "127." host name        8 core files while secrets are held
#   4 the metrics file through a symlink      9 secret file checks, misspelled
#   5 log lines forged by nextLinks             options, endless and off-path nextLinks
#
#   test/hostile/run.sh                  (BUILD_DIR=... , default ./build)
#
# Environment: BUILD_DIR, HOSTILE_PGPORT (default 55131), HOSTILE_KEEP=1 keeps
# the work directory, HOSTILE_ONLY="1 5" runs some cases. The extension must
# be installed. Needs curl, jq, psql, python3, /usr/bin/time.
# Prints one line per check and "N passed, N failed"; exits non-zero on failure.
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILD_DIR=$(cd "${BUILD_DIR:-$ROOT/build}" 2>/dev/null && pwd) || {
  echo "hostile: build directory not found: ${BUILD_DIR:-$ROOT/build}" >&2
  exit 2
}
FETCH=$BUILD_DIR/fetcher/inventory-fetch
MOCK=$BUILD_DIR/mock/inventory-mock-graph
for bin in "$FETCH" "$MOCK"; do
  [ -x "$bin" ] || { echo "hostile: missing binary $bin (build first)" >&2; exit 2; }
done
for tool in curl jq psql python3 /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "hostile: $tool is required" >&2; exit 2; }
done

HARNESS_VERBOSE=1
HARNESS_RETRY_SCALE=0.02
HARNESS_MOCK_THREADS=16
# A client secret of no known shape: only the verbatim scrub can catch it.
SECRET="hostileCanary$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')zz"
HARNESS_MOCK_SECRET=$SECRET
if [ -f "$ROOT/test/lib/harness.sh" ]; then
  # shellcheck source=../lib/harness.sh
  . "$ROOT/test/lib/harness.sh"
else
  # shellcheck source=../reliability/lib.sh
  . "$ROOT/test/reliability/lib.sh"
fi

WORK=$(mktemp -d /tmp/tinv-hostile.XXXXXX)
chmod 755 "$WORK"
PGDIR=$WORK/pg
PASSED=0
FAILED=0
FAILED_NAMES=()
BG_PIDS=()
MOCK_PID=
CLIENT_ID=5a6b7c8d-1111-4222-8333-9abcdef01234
SECRET_FILE=$WORK/secret
(umask 077 && printf '%s\n' "$SECRET" >"$SECRET_FILE")
DB=hostile
CHECK_LOG=$HERE/check_log.py

cleanup() {
  local pid
  stop_mock
  for pid in "${BG_PIDS[@]}"; do kill -9 "$pid" 2>/dev/null; done
  "$ROOT/scripts/pgcluster.sh" stop "$PGDIR" >/dev/null 2>&1 </dev/null
  if [ "${HOSTILE_KEEP:-0}" = 1 ]; then echo "hostile: work directory kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

want() { [ -z "${HOSTILE_ONLY:-}" ] || [[ " $HOSTILE_ONLY " == *" $1 "* ]]; }

# run FETCH_LABEL TENANT TYPES [extra args]: one run of the real binary; RC set.
sel() { local t out=""; for t in "$@"; do out+="\"$t\","; done; printf '{"policy_types":[%s]}' "${out%,}"; }
run() {
  local label=$1 tenant=$2 types=$3
  shift 3
  fetch "$label" "$DB" "$tenant" "$(sel $types)" --log-level info "$@"
}
last_run() { sql "$DB" "SELECT coalesce(max(id), 0) FROM inventory.inventory_sync_runs WHERE tenant_id = '$1'"; }
run_errors() { sql "$DB" "SELECT coalesce(errors::text, '') FROM inventory.inventory_sync_runs WHERE id = $1"; }
run_status() { sql "$DB" "SELECT status || ' ' || array_to_string(error_codes, ',') FROM inventory.inventory_sync_runs WHERE id = $1"; }

# no_secret WHAT FILE...: the client secret, or any 8 characters of it, in none of the files.
no_secret() {
  local what=$1
  shift
  if python3 - "$SECRET" "$@" <<'PY'; then pass "$what"; else fail "$what"; fi
import sys
secret = sys.argv[1].encode()
parts = {secret[i:i + 8] for i in range(len(secret) - 7)}
bad = 0
for path in sys.argv[2:]:
    data = open(path, 'rb').read()
    for p in parts:
        if p in data:
            print('    %s holds %r' % (path, p.decode()))
            bad = 1
            break
sys.exit(bad)
PY
}
# no_token WHAT FILE...: no echoed opaque token (the mock's are long hex runs) after "rid-".
no_token() {
  local what=$1
  shift
  if grep -E -q 'rid-[0-9a-f]{8}' "$@"; then fail "$what" "$(grep -E -o -h 'rid-[0-9a-f]{8}' "$@" | head -1)"; else pass "$what"; fi
}
log_ok() {  # log_ok WHAT text|json FILE [check_log options]
  local what=$1
  shift
  if python3 "$CHECK_LOG" "$@"; then pass "$what"; else fail "$what"; fi
}
store_dump() { sql "$DB" "SELECT coalesce(string_agg(errors::text, E'\n'), '') FROM inventory.inventory_sync_runs" >"$WORK/$1.db"; }

# ---------------------------------------------------------------- 1
case_1() {
  CASE="1 header echo"
  local t=a1000000-0000-4000-8000-000000000001
  reset_mock
  # The token endpoint answers 429 twice with the client secret in request-id.
  set_faults '[{"tenant":"*","path":"token","kind":"token_throttle","retry_after":"0","times":2,
                "headers":{"request-id":"rid-{{client_secret}}"}}]'
  run h1-token $t deviceConfiguration
  expect_eq "token 429 x2 then success: exit 0" "$RC" 0
  check "the throttled lines are logged" grep -q "throttled, retrying" "$WORK/h1-token.err"
  check "their request_id is redacted" grep -q 'request_id=rid-\[REDACTED\]' "$WORK/h1-token.err"
  no_secret "no part of the client secret in the text log" "$WORK/h1-token.err" "$WORK/h1-token.out"
  log_ok "text lines parse" text "$WORK/h1-token.err"
  # Graph echoes the (opaque) bearer token on a 429, a 401 and, at debug, a 200.
  reset_mock
  set_faults '[{"tenant":"*","path":"deviceManagement/deviceConfigurations","kind":"throttle","retry_after":"0","times":1,
                "headers":{"request-id":"rid-{{bearer}}","Retry-After":"0 {{bearer}}"}},
               {"tenant":"*","path":"deviceManagement/deviceConfigurations","kind":"unauthorized","times":1,
                "headers":{"request-id":"rid-{{bearer}}"}},
               {"tenant":"*","path":"deviceManagement/deviceConfigurations","kind":"slow","delay_ms":0,"times":-1,
                "headers":{"request-id":"rid-{{bearer}}"}}]'
  run h1-graph $t deviceConfiguration --log-level debug --log-format json
  expect_eq "graph 429, 401, 200 echoing the token: exit 0" "$RC" 0
  check "the debug http lines are logged" grep -q '"msg":"http"' "$WORK/h1-graph.err"
  no_token "no opaque token in the JSON log" "$WORK/h1-graph.err"
  no_secret "no part of the client secret in the JSON log" "$WORK/h1-graph.err"
  log_ok "JSON lines parse" json "$WORK/h1-graph.err"
  store_dump h1
  no_token "no opaque token stored" "$WORK/h1.db"
}

# ---------------------------------------------------------------- 2
case_2() {
  CASE="2 memory"
  local t=a2000000-0000-4000-8000-000000000002 body=$WORK/big.json rule=$WORK/big-rule.json
  reset_mock
  # 55 MB: 5,000,000 items {"id":"a"}.
  { printf '{"value":['; yes '{"id":"a"}' | head -n 5000000 | paste -sd, | tr -d '\n'; printf ']}'; } >"$body"
  { printf '[{"tenant":"%s","path":"deviceManagement/deviceConfigurations","kind":"page_body","times":1,"body_base64":"' "$t"
    base64 -w0 "$body"; printf '"}]'; } >"$rule"
  set_faults_file "$rule"
  rm -f "$body" "$rule"
  /usr/bin/time -f '%M' -o "$WORK/h2.rss" "$FETCH" sync --tenant $t --selection "$(sel deviceConfiguration)" \
    --db "dbname=$DB" --client-id "$CLIENT_ID" --client-secret-file "$SECRET_FILE" \
    --graph-url "$MOCK_URL" --login-url "$MOCK_URL" --retry-scale 0.02 --request-timeout 30 --no-progress \
    >"$WORK/h2.out" 2>"$WORK/h2.err"
  RC=$?
  local rss
  rss=$(tail -n 1 "$WORK/h2.rss")
  say "    peak RSS with the 5,000,000-item page: $((rss / 1024)) MB"
  expect_eq "5,000,000-item page: exit 1 (no crash)" "$RC" 1
  expect_le "peak RSS under 256 MB" "$rss" 262144
  local run
  run=$(last_run $t)
  expect_eq "the run is finished as failed with graph_page_too_large" "$(run_status "$run")" "failed graph_page_too_large"
  expect_eq "nothing of the page staged" \
    "$(sql $DB "SELECT count(*) FROM inventory.inventory_items WHERE tenant_id = '$t'")" 0
}

# ---------------------------------------------------------------- 3
case_3() {
  CASE="3 loopback"
  local t=a3000000-0000-4000-8000-000000000003 url
  reset_mock
  for url in http://127.attacker.example http://127.0.0.1.attacker.example http://localhost.attacker.example \
    http://127.1 http://2130706433 http://0x7f.0.0.1 http://[::ffff:127.0.0.1] http://[::2]; do
    "$FETCH" sync --tenant $t --selection "$(sel deviceConfiguration)" --db "dbname=$DB" --client-id "$CLIENT_ID" \
      --client-secret-file "$SECRET_FILE" --graph-url "$MOCK_URL" --login-url "$url" --no-progress \
      >"$WORK/h3.out" 2>"$WORK/h3.err"
    RC=$?
    expect_eq "--login-url $url refused (exit 2)" "$RC" 2
    check "  ... saying https is needed" grep -q "must use https" "$WORK/h3.err"
  done
  expect_eq "no token request was made" "$(mock_get /_mock/stats | jq '.token_requests')" 0
  run h3-ok $t deviceConfiguration --login-url "http://127.0.0.1:${MOCK_URL##*:}"
  expect_eq "http://127.0.0.1 (loopback literal) accepted" "$RC" 0
}

# ---------------------------------------------------------------- 4
case_4() {
  CASE="4 metrics file"
  local t=a4000000-0000-4000-8000-000000000004 d=$WORK/textfile victim=$WORK/victim
  mkdir -p "$d"
  chmod 1777 "$d"
  printf 'precious\n' >"$victim"
  chmod 600 "$victim"
  ln -s "$victim" "$d/x.prom.tmp"
  reset_mock
  run h4a $t deviceConfiguration --metrics-file "$d/x.prom"
  expect_eq "run with a planted x.prom.tmp symlink: exit 0" "$RC" 0
  expect_eq "the symlink's target is untouched" "$(cat "$victim")" precious
  check "x.prom is a regular file" test -f "$d/x.prom" -a ! -L "$d/x.prom"
  check "x.prom holds the metrics" grep -q '^inventory_fetch_items_total{' "$d/x.prom"
  expect_eq "x.prom is mode 644" "$(stat -c %a "$d/x.prom")" 644
  expect_eq "no temporary file left" "$(find "$d" -name '.x.prom.*' | wc -l)" 0
  # A symlink at the target itself is replaced, not followed.
  rm -f "$d/x.prom"
  ln -s "$victim" "$d/x.prom"
  run h4b $t deviceConfiguration --metrics-file "$d/x.prom"
  expect_eq "target planted as a symlink: the victim is untouched" "$(cat "$victim")" precious
  check "the symlink was replaced by the metrics file" test -f "$d/x.prom" -a ! -L "$d/x.prom"
}

# ---------------------------------------------------------------- 5
case_5() {
  CASE="5 log forging"
  local t=a5000000-0000-4000-8000-000000000005 f=$WORK/h5-rules.json big=$WORK/h5-big
  local types=(deviceConfiguration deviceCompliancePolicy configurationPolicy compliancePolicy intent mobileApp)
  local paths=(deviceManagement/deviceConfigurations deviceManagement/deviceCompliancePolicies
    deviceManagement/configurationPolicies deviceManagement/compliancePolicies deviceManagement/intents
    deviceAppManagement/mobileApps)
  # nextLinks to another host, each trying to forge or break the line.
  local links=(
    'https://evil.example/x?password=" level=ERROR forged=1 x="'
    'https://evil.example/x?$skiptoken=a","level":"error","forged":"1'
    "https://evil.example/x?Authorization:' level=ERROR forged=1 \\\" tenant=other"
    $'https://evil.example/x?a=\u009b31m\e[2J\u2028\r\n2026-01-01T00:00:00.000Z ERROR forged=1'
    'https://evil.example/x?client_secret=\\" forged=1'
  )
  python3 - "$big" <<'PY'
import sys
open(sys.argv[1], 'w').write('{"@odata.nextLink":"https://evil.example/' + 'password=x&' * 5000000 + '","value":[]}')
PY
  {
    printf '['
    local i
    for i in "${!links[@]}"; do
      printf '{"tenant":"*","path":"%s","kind":"page_body","times":-1,"body":%s},' "${paths[$i]}" \
        "$(jq -cn --arg l "${links[$i]}" --arg id "ok-$i" '{"@odata.nextLink":$l,"value":[{"id":$id}]} | tostring')"
    done
    printf '{"tenant":"*","path":"%s","kind":"page_body","times":-1,"body_base64":"%s"}]' "${paths[5]}" "$(base64 -w0 "$big")"
  } >"$f"
  rm -f "$big"
  reset_mock
  set_faults_file "$f"
  run h5-text $t "${types[*]}"
  expect_eq "text: every type refuses its link (exit 1)" "$RC" 1
  expect_eq "text: six refusals logged" "$(grep -c 'refusing unsafe nextLink' "$WORK/h5-text.err")" 6
  log_ok "text: every line parses, no forged field, no control byte, lines <= 16 KiB" text "$WORK/h5-text.err" --forbid forged
  check "text: no line at level ERROR" bash -c "! grep -E -q '^[^ ]+ ERROR ' '$WORK/h5-text.err'"
  run h5-json $t "${types[*]}" --log-format json
  expect_eq "json: exit 1" "$RC" 1
  log_ok "json: every line is one valid object, no forged key, lines <= 16 KiB" json "$WORK/h5-json.err" --forbid forged
  check "json: no line at level error" bash -c "! jq -e 'select(.level == \"error\")' '$WORK/h5-json.err' | grep -q ."
  local run
  run=$(last_run $t)
  expect_eq "the run stored six paging_unsafe_link errors" \
    "$(sql $DB "SELECT count(*) FROM inventory.inventory_sync_runs r, jsonb_array_elements(r.errors) e WHERE r.id = $run AND e->>'code' = 'paging_unsafe_link'")" 6
  expect_le "stored messages are at most 512 characters" \
    "$(sql $DB "SELECT max(length(e->>'message')) FROM inventory.inventory_sync_runs r, jsonb_array_elements(r.errors) e WHERE r.id = $run")" 512
}

# ---------------------------------------------------------------- 6
case_6() {
  CASE="6 straddling secret"
  local t=a6000000-0000-4000-8000-000000000006 body
  # 984 bytes of 3-byte characters and one 'x': the secret starts at byte 985
  # and straddles byte 1024, inside the 512-character message.
  body=$(python3 -c "import sys; print('\u20ac' * 328 + 'x' + sys.argv[1] + ' tail', end='')" "$SECRET")
  reset_mock
  set_faults "$(jq -cn --arg b "$body" '[{"tenant":"*","path":"token","kind":"server_error","times":-1,"body":$b,"content_type":"text/plain"}]')"
  run h6 $t deviceConfiguration --log-format json
  expect_eq "token endpoint 500 with the secret in its body: exit 1" "$RC" 1
  local run
  run=$(last_run $t)
  expect_eq "run failed with auth_failed" "$(run_status "$run")" "failed auth_failed"
  run_errors "$run" >"$WORK/h6.db"
  check "the stored message keeps the body up to the secret" grep -q 'x\[REDACTED\]' "$WORK/h6.db"
  no_secret "no 8 characters of the secret stored" "$WORK/h6.db"
  no_secret "no 8 characters of the secret logged" "$WORK/h6.err"
}

# ---------------------------------------------------------------- 7
case_7() {
  CASE="7 CR/LF token"
  local t=a7000000-0000-4000-8000-000000000007 tok
  for tok in $'abcdefgh12345678\r\nX-Injected: 1' \
    $'abcdefgh12345678\r\n\r\nGET /beta/smuggled HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n' \
    'abcdefgh 12345678' 'abcdefgh"12345678'; do
    reset_mock
    set_faults "$(jq -cn --arg tk "$tok" '[{"tenant":"*","path":"token","kind":"page_body","times":-1,
      "body":({"token_type":"Bearer","expires_in":3599,"access_token":$tk} | tostring)}]')"
    run h7 $t deviceConfiguration
    expect_eq "token $(printf '%q' "$tok" | cut -c1-40): exit 1" "$RC" 1
    expect_eq "  ... run failed with auth_failed" "$(run_status "$(last_run $t)")" "failed auth_failed"
    expect_eq "  ... no Graph request at all (nothing smuggled)" "$(mock_get /_mock/stats | jq '.requests_total')" 0
    check "  ... the log says why" grep -q "not an RFC 6750 token" "$WORK/h7.err"
  done
}

# ---------------------------------------------------------------- 8
case_8() {
  CASE="8 cores"
  local t=a8000000-0000-4000-8000-000000000008 runner=$FETCH secret=$SECRET_FILE
  # The dumpable flag shows in the owner of /proc/<pid>/mem (root when not
  # dumpable), so the fetcher must run as someone else than root.
  if [ "$(id -u)" = 0 ] && id postgres >/dev/null 2>&1; then
    runner=$WORK/as-postgres
    printf '#!/bin/sh\nexec setpriv --reuid=postgres --regid=postgres --init-groups %q "$@"\n' "$FETCH" >"$runner"
    chmod 755 "$runner"
    secret=$WORK/secret-postgres
    (umask 077 && printf '%s\n' "$SECRET" >"$secret") && chown postgres "$secret"
  fi
  reset_mock
  set_faults '[{"tenant":"*","path":"deviceManagement/deviceConfigurations","kind":"hang","delay_ms":60000,"times":1}]'
  FETCH_BIN=$runner SECRET_FILE=$secret fetch_bg h8 "$DB" $t "$(sel deviceConfiguration)" --request-timeout 30
  local pid=$BG
  # Holding the secret and a token, waiting for Graph.
  wait_for 20 grep -q "access token acquired" "$WORK/h8.err" || fail "the fetcher got a token" "$(tail -3 "$WORK/h8.err")"
  expect_eq "core file size limit is 0 while the secret is held" \
    "$(awk '/^Max core file size/ {print $5 " " $6}' "/proc/$pid/limits" 2>/dev/null)" "0 0"
  if [ "$(stat -c %u "/proc/$pid" 2>/dev/null)" != 0 ] || [ "$runner" != "$FETCH" ]; then
    expect_eq "the process is not dumpable (/proc/PID/mem owned by root)" "$(stat -c %u "/proc/$pid/mem" 2>/dev/null)" 0
  else
    say "    (the dumpable check needs the fetcher to run as another user than root; skipped)"
  fi
  kill -TERM "$pid" 2>/dev/null
  wait_exit "$pid" 30
  expect_eq "SIGTERM: exit 1 (cancelled)" "$RC" 1
}

# ---------------------------------------------------------------- 9
case_9() {
  CASE="9 files, options, paging"
  local t=a9000000-0000-4000-8000-000000000009 f=$WORK/loose-secret
  reset_mock
  printf '%s\n' "$SECRET" >"$f"
  chmod 644 "$f"
  SECRET_FILE=$f run h9-loose $t deviceConfiguration
  expect_eq "world-readable secret file: the run goes on (exit 0)" "$RC" 0
  check "  ... with a loud warning" grep -q "WARN the secret file .* is accessible to its group or to others" "$WORK/h9-loose.err"
  SECRET_FILE=/dev/zero run h9-zero $t deviceConfiguration
  expect_eq "/dev/zero as the secret file: exit 2" "$RC" 2
  check "  ... not a regular file" grep -q "not a regular file" "$WORK/h9-zero.err"
  head -c 100000 /dev/urandom | base64 -w0 >"$f" && chmod 600 "$f"
  SECRET_FILE=$f run h9-huge $t deviceConfiguration
  expect_eq "a 130 kB secret file: exit 2" "$RC" 2
  local opt v=MisspelledValue$RANDOM$RANDOM
  for opt in "--client_secret $v" "--clientsecret=$v" "--client-secrets $v" "--secret $v" "--page-size $v"; do
    # shellcheck disable=SC2086
    "$FETCH" sync --tenant $t --selection "$(sel deviceConfiguration)" --client-id "$CLIENT_ID" $opt \
      >"$WORK/h9-opt.out" 2>"$WORK/h9-opt.err"
    RC=$?
    expect_eq "$(printf '%s' "$opt" | sed "s/$v/V/"): exit 2" "$RC" 2
    check "  ... the value is not echoed" bash -c "! grep -q '$v' '$WORK/h9-opt.out' '$WORK/h9-opt.err'"
  done
  # A listing with a new URL on every page stops at the run budget.
  reset_mock
  set_faults '[{"tenant":"*","path":"deviceManagement/deviceConfigurations","kind":"page_body","times":-1,
                "body":"{\"@odata.nextLink\":\"{{unique_next_link}}\",\"value\":[{\"id\":\"loop\"}]}"}]'
  fetch_bg h9-loop "$DB" $t "$(sel deviceConfiguration deviceCompliancePolicy)" --log-level info --run-budget 3
  wait_exit "$BG" 120
  expect_eq "endless nextLinks: exit 1" "$RC" 1
  local run
  run=$(last_run $t)
  expect_eq "  ... the type stops with run_budget_exhausted, the other completes" \
    "$(sql $DB "SELECT string_agg(policy_type || ':' || status || ':' || coalesce(error_code, '-'), ' ' ORDER BY policy_type) FROM inventory.inventory_sync_run_types WHERE run_id = $run")" \
    "deviceCompliancePolicy:complete:- deviceConfiguration:incomplete:run_budget_exhausted"
  # Same-host links outside the collection are refused; nothing is requested there.
  local link verdicts=""
  for link in /beta/users '/beta/deviceManagement/deviceConfigurations/..;/users' \
    /beta/deviceManagement/deviceConfigurations%2f..%2f..%2fusers /beta/deviceManagement/deviceConfigurations/x \
    /beta/deviceManagement/deviceConfigurations/%2e%2e/%2e%2e/users '/beta/deviceManagement/deviceConfigurations;x'; do
    reset_mock
    set_faults "$(jq -cn --arg l "$MOCK_URL$link?\$skiptoken=1" '[{"tenant":"*","path":"deviceManagement/deviceConfigurations","kind":"page_body","times":1,
      "body":({"@odata.nextLink":$l,"value":[{"id":"p1"}]} | tostring)}]')"
    run h9-path $t deviceConfiguration
    verdicts+="$RC:$(run_status "$(last_run $t)") "
    expect_eq "nextLink $link: one Graph request only" "$(mock_get /_mock/stats | jq '.requests_total')" 1
  done
  expect_eq "every off-path link gives paging_unsafe_link" "$verdicts" "$(printf '1:failed paging_unsafe_link %.0s' 1 2 3 4 5 6)"
}

# ---------------------------------------------------------------- main

say "hostile: work directory $WORK"
eval "$("$ROOT/scripts/pgcluster.sh" start "$PGDIR" "${HOSTILE_PGPORT:-55131}")" ||
  { echo "hostile: cannot start PostgreSQL" >&2; exit 1; }
export PGHOST PGPORT PGUSER PGDATABASE
export PGOPTIONS="-c client_min_messages=warning"
new_db $DB || { echo "hostile: cannot create the database (is the extension installed?)" >&2; exit 1; }
start_mock mock --tenants 0 --foreign-port -1 --opaque-tokens || exit 1
T0=$SECONDS
for c in 1 2 3 4 5 6 7 8 9; do
  if want $c; then
    t1=$SECONDS
    "case_$c"
    say "    case $c: $((SECONDS - t1)) s"
  fi
done
say "hostile: $((SECONDS - T0)) s"
harness_summary
