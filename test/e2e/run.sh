#!/usr/bin/env bash
# End-to-end tests of inventory-fetch: the real binary against the mock Graph
# server (inventory-mock-graph) and a throwaway PostgreSQL cluster with the
# tenant_inventory extension.
#
#   test/e2e/run.sh [BUILD_DIR]          (or: BUILD_DIR=... test/e2e/run.sh)
#
# BUILD_DIR is the CMake build directory holding fetcher/inventory-fetch and
# mock/inventory-mock-graph (default: ./build). The extension must be
# installed for the pg_config on PATH (make && make install). Needs curl, jq,
# openssl, psql, pg_dump. Environment: E2E_PGPORT (default 55439, the socket
# lives in a private directory), E2E_KEEP=1 keeps the work directory,
# E2E_ONLY=name runs one case.
#
# Prints one line per check and a final "N passed, N failed"; exits non-zero
# when any check failed.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD_DIR=$(cd "${1:-${BUILD_DIR:-$ROOT/build}}" 2>/dev/null && pwd) || {
  echo "e2e: build directory not found: ${1:-${BUILD_DIR:-$ROOT/build}}" >&2
  exit 2
}
FETCH=$BUILD_DIR/fetcher/inventory-fetch
MOCK=$BUILD_DIR/mock/inventory-mock-graph
for bin in "$FETCH" "$MOCK"; do
  [ -x "$bin" ] || { echo "e2e: missing binary $bin (build first)" >&2; exit 2; }
done
for tool in curl jq openssl psql pg_dump; do
  command -v "$tool" >/dev/null || { echo "e2e: $tool is required" >&2; exit 2; }
done

# say, pass, fail, check, expect_*, sql, new_db, wait_for, the mock helpers,
# fetch and fetch_bg: test/lib/harness.sh (every passing check is printed).
HARNESS_VERBOSE=1
HARNESS_RETRY_SCALE=0.05
HARNESS_MOCK_THREADS=64
# shellcheck source=../lib/harness.sh
. "$ROOT/test/lib/harness.sh"

WORK=$(mktemp -d /tmp/tinv-e2e.XXXXXX)
chmod 755 "$WORK"
PGDIR=$WORK/pg
PGPORT_E2E=${E2E_PGPORT:-55439}
PASSED=0
FAILED=0
FAILED_NAMES=()
MOCK_PID=
BG_PIDS=()

cleanup() {
  local pid
  stop_mock
  for pid in "${BG_PIDS[@]}"; do kill -9 "$pid" 2>/dev/null; done
  "$ROOT/scripts/pgcluster.sh" stop "$PGDIR" >/dev/null 2>&1
  if [ "${E2E_KEEP:-0}" = 1 ]; then
    echo "e2e: work directory kept: $WORK"
  else
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- helpers

item_id() { mock_get "/_mock/tenant/$1/item?path=$2&index=$3" | jq -r '.item.id'; }

SECRET_FILE=$WORK/secret
MOCK_SECRET="e2e-Mock-Secret-5b1d"
HARNESS_MOCK_SECRET=$MOCK_SECRET
CLIENT_ID=9f0b8a11-5c2e-4d6a-9a57-2f4b0c1d3e5f

run_count() { sql "$1" "SELECT count(*) FROM inventory.inventory_sync_runs WHERE tenant_id = '$2' $3"; }
last_run() { sql "$1" "SELECT id FROM inventory.inventory_sync_runs WHERE tenant_id = '$2' ORDER BY id DESC LIMIT 1"; }
type_row() {
  sql "$1" "SELECT status || ' ' || pages || ' ' || items_seen || ' ' || coalesce(error_code, '-')
              FROM inventory.inventory_sync_run_types WHERE run_id = $2 AND policy_type = '$3'"
}
item_count() { sql "$1" "SELECT count(*) FROM inventory.inventory_items WHERE tenant_id = '$2'"; }
# Conditions for wait_for (evaluated on every poll).
requests_at_least() { [ "$(tenant_requests "$1")" -ge "$2" ]; }
running_runs_are() { [ "$(run_count "$1" "$2" "AND status = 'running'")" = "$3" ]; }
backend_gone() {
  [ "$(sql postgres "SELECT count(*) FROM pg_stat_activity WHERE datname = '$1' AND application_name = 'inventory-fetch'")" = 0 ]
}

DC=deviceManagement/deviceConfigurations
CP=deviceManagement/configurationPolicies
MA=deviceAppManagement/mobileApps
DCP=deviceManagement/deviceCompliancePolicies
GPC=deviceManagement/groupPolicyConfigurations

want_case() { [ -z "${E2E_ONLY:-}" ] || [ "$E2E_ONLY" = "$1" ]; }

# ---------------------------------------------------------------- setup

say "e2e: work directory $WORK"
eval "$("$ROOT/scripts/pgcluster.sh" start "$PGDIR" "$PGPORT_E2E")" || { echo "e2e: cannot start PostgreSQL" >&2; exit 1; }
export PGHOST PGPORT PGUSER PGDATABASE
if ! psql -XAtq -d postgres -c "SELECT 1 FROM pg_available_extensions WHERE name = 'tenant_inventory'" | grep -q 1; then
  echo "e2e: the tenant_inventory extension is not installed (make && make install)" >&2
  exit 1
fi

printf '%s\n' "$MOCK_SECRET" >"$SECRET_FILE"
start_mock mock --foreign-port 0 --tenants 0 >&2 || { echo "e2e: cannot start the mock" >&2; exit 1; }
say "e2e: mock at $MOCK_URL, PostgreSQL socket $PGHOST"
T0=$SECONDS

# ---------------------------------------------------------------- cases

# Several tenants under throttling and failures: all succeed, caps hold,
# a 429 pauses the tenant.
if want_case throttling; then
  CASE=throttling
  reset_mock
  new_db e2e_throttle
  TA=a0000001-0000-4000-8000-000000000001
  TB=a0000001-0000-4000-8000-000000000002
  TC=a0000001-0000-4000-8000-000000000003
  TD=a0000001-0000-4000-8000-000000000004  # no faults: shows other tenants go on
  for t in $TA $TB $TC $TD; do
    set_items $t $DC 90
    set_items $t $CP 75
    set_items $t $MA 100
  done
  set_latency 20
  set_faults "[
    {\"tenant\":\"$TA\",\"path\":\"*\",\"kind\":\"throttle\",\"retry_after\":\"0.5\",\"times\":1},
    {\"tenant\":\"$TA\",\"path\":\"*\",\"kind\":\"throttle\",\"retry_after\":\"none\",\"times\":1,\"after_pages\":2},
    {\"tenant\":\"$TA\",\"path\":\"$MA\",\"kind\":\"bad_gateway\",\"times\":1},
    {\"tenant\":\"$TA\",\"path\":\"$CP\",\"kind\":\"reset\",\"times\":1,\"after_pages\":1},
    {\"tenant\":\"$TB\",\"path\":\"$DC\",\"kind\":\"throttle\",\"retry_after\":\"http-date:+1\",\"times\":1,\"after_pages\":1},
    {\"tenant\":\"$TB\",\"path\":\"$CP\",\"kind\":\"unavailable\",\"retry_after\":\"0.2\",\"times\":1},
    {\"tenant\":\"$TB\",\"path\":\"$MA\",\"kind\":\"server_error\",\"times\":1},
    {\"tenant\":\"$TB\",\"path\":\"$DC\",\"kind\":\"truncated\",\"times\":1,\"after_pages\":2},
    {\"tenant\":\"$TC\",\"path\":\"$CP\",\"kind\":\"throttle\",\"retry_after\":\"1\",\"times\":1,\"after_pages\":2},
    {\"tenant\":\"$TC\",\"path\":\"$DC\",\"kind\":\"gateway_timeout\",\"times\":1},
    {\"tenant\":\"$TC\",\"path\":\"$MA\",\"kind\":\"slow\",\"delay_ms\":300,\"times\":2}
  ]"
  sel='{"policy_types":["deviceConfiguration","configurationPolicy","mobileApp"]}'
  cat >"$WORK/throttle.json" <<JSON
{
  "db": "dbname=e2e_throttle",
  "defaults": {"client_id": "$CLIENT_ID", "client_secret_file": "$SECRET_FILE", "selection": $sel},
  "tenants": [
    {"tenant_id": "$TA", "name": "alpha"},
    {"tenant_id": "$TB", "name": "beta"},
    {"tenant_id": "$TC", "name": "gamma"},
    {"tenant_id": "$TD", "name": "delta"}
  ]
}
JSON
  "$FETCH" sync --config "$WORK/throttle.json" --graph-url "$MOCK_URL" --login-url "$MOCK_URL" \
    --max-concurrency 4 --per-tenant-concurrency 2 --parallel-tenants 4 --retry-scale 0.05 \
    --request-timeout 5 --no-progress --log-level debug --metrics-file "$WORK/throttle.prom" \
    >"$WORK/throttle.out" 2>"$WORK/throttle.err"
  expect_eq "exit code 0 under throttling" "$?" 0
  for t in $TA $TB $TC $TD; do
    expect_eq "tenant ${t: -1} run succeeded without errors" \
      "$(sql e2e_throttle "SELECT status || ' ' || had_errors FROM inventory.inventory_sync_runs WHERE tenant_id = '$t'")" "succeeded false"
    expect_eq "tenant ${t: -1} has every item" "$(item_count e2e_throttle $t)" 265
  done
  stats=$(mock_get /_mock/stats)
  printf '%s\n' "$stats" >"$WORK/throttle.stats.json"
  expect_le "global cap (4) never exceeded" "$(jq '.max_in_flight_total' <<<"$stats")" 4
  expect_ge "requests did run in parallel" "$(jq '.max_in_flight_total' <<<"$stats")" 2
  for t in $TA $TB $TC $TD; do
    expect_le "per-tenant cap (2) never exceeded for ${t: -1}" "$(jq --arg t $t '.max_in_flight_by_tenant[$t] // 0' <<<"$stats")" 2
  done
  expect_ge "429s were served" "$(jq '.responses_by_status["429"] // 0' <<<"$stats")" 4
  expect_ge "retries carried Retry-Attempt" "$(jq '.retry_attempt_headers' <<<"$stats")" 8
  expect_eq "every fault fired" "$(mock_get /_mock/faults | jq '[.[] | select(.fired < .times)] | length')" 0
  # The first request of tenant A got 429 with Retry-After 0.5: no request of
  # A may start in the pause that followed (20 ms of slack each side).
  violations=$(jq --arg t $TA '
    [.requests[] | select(.tenant == $t)] as $r
    | ($r | map(select(.status == 429)) | sort_by(.at_ms) | first) as $th
    | ($th.at_ms + $th.duration_ms) as $paused
    | [$r[] | select(.at_ms > $paused + 20 and .at_ms < $paused + 480)] | length' <<<"$stats")
  expect_eq "a 429 pauses every request of the tenant" "$violations" 0
  others=$(jq --arg t $TA --arg d $TD '
    ([.requests[] | select(.tenant == $t and .status == 429)] | sort_by(.at_ms) | first) as $th
    | ($th.at_ms + $th.duration_ms) as $paused
    | [.requests[] | select(.tenant == $d and .at_ms > $paused + 20 and .at_ms < $paused + 480)] | length' <<<"$stats")
  expect_ge "another tenant kept working meanwhile" "$others" 1
  prom=$WORK/throttle.prom
  expect_eq "metrics: four succeeded runs" "$(grep -c '^inventory_fetch_run_status{.*status="succeeded"} 1$' "$prom")" 4
  expect_eq "metrics: items per tenant" "$(grep '^inventory_fetch_items_total{' "$prom" | awk '{print $2}' | sort -u | tr '\n' ' ')" "265 "
  expect_ge "metrics: throttles counted" "$(grep '^inventory_fetch_throttled_total{' "$prom" | awk '{s+=$2} END {print s}')" 4
  check "metrics: run duration exported" grep -q '^inventory_fetch_run_duration_seconds{tenant="'$TA'"' "$prom"
  check "log names the response request-id" grep -q 'request_id=[0-9a-f-]\{36\}' "$WORK/throttle.err"
fi

# Re-sync after deletions, renames and touches: exactly the deleted items are
# missing with high confidence; renames change the hash; touches do not.
if want_case resync; then
  CASE=resync
  reset_mock
  new_db e2e_resync
  T=b0000001-0000-4000-8000-000000000001
  sel='{"policy_types":["deviceConfiguration","configurationPolicy"]}'
  set_items $T $DC 40
  set_items $T $CP 30
  fetch resync1 e2e_resync $T "$sel"
  expect_eq "first sync exit 0" "$RC" 0
  run1=$(last_run e2e_resync $T)
  expect_eq "first sync stored every item" "$(item_count e2e_resync $T)" 70
  del1=$(item_id $T $DC 3)
  del2=$(item_id $T $DC 7)
  del3=$(item_id $T $CP 0)
  ren=$(item_id $T $DC 5)
  tch=$(item_id $T $DC 9)
  before_ren=$(sql e2e_resync "SELECT content_hash || ' ' || content_changed_at FROM inventory.inventory_items WHERE tenant_id = '$T' AND external_id = '$ren'")
  before_tch=$(sql e2e_resync "SELECT content_hash || ' ' || content_changed_at FROM inventory.inventory_items WHERE tenant_id = '$T' AND external_id = '$tch'")
  mock_post /_mock/tenant/$T/delete "{\"path\":\"$DC\",\"indexes\":[3,7]}"
  mock_post /_mock/tenant/$T/delete "{\"path\":\"$CP\",\"indexes\":[0]}"
  mock_post /_mock/tenant/$T/rename "{\"path\":\"$DC\",\"indexes\":[5]}"
  mock_post /_mock/tenant/$T/touch "{\"path\":\"$DC\",\"indexes\":[9]}"
  fetch resync2 e2e_resync $T "$sel"
  expect_eq "re-sync exit 0" "$RC" 0
  run2=$(last_run e2e_resync $T)
  expect_eq "re-sync succeeded" "$(run_field e2e_resync $run2 status)" succeeded
  missing=$(sql e2e_resync "SELECT string_agg(external_id || ':' || confidence, ' ' ORDER BY external_id)
                              FROM inventory.missing_items('$T', '$sel')")
  want=$(printf '%s\n' "$del1:high" "$del2:high" "$del3:high" | sort | tr '\n' ' ' | sed 's/ $//')
  expect_eq "exactly the deleted items are missing, high confidence" "$missing" "$want"
  expect_eq "missing view agrees" "$(sql e2e_resync "SELECT count(*) FROM inventory.missing_items WHERE tenant_id = '$T'")" 3
  after_ren=$(sql e2e_resync "SELECT content_hash || ' ' || content_changed_at FROM inventory.inventory_items WHERE tenant_id = '$T' AND external_id = '$ren'")
  after_tch=$(sql e2e_resync "SELECT content_hash || ' ' || content_changed_at FROM inventory.inventory_items WHERE tenant_id = '$T' AND external_id = '$tch'")
  check "rename changed the content hash and content_changed_at" test "${before_ren%% *}" != "${after_ren%% *}" -a "${before_ren#* }" != "${after_ren#* }"
  expect_eq "renamed display name" "$(sql e2e_resync "SELECT display_name LIKE '%(renamed)' FROM inventory.inventory_items WHERE tenant_id = '$T' AND external_id = '$ren'")" t
  expect_eq "touch (volatile keys only) kept hash and content_changed_at" "$after_tch" "$before_tch"
  expect_eq "touched item seen by run 2" "$(sql e2e_resync "SELECT last_seen_run_id FROM inventory.inventory_items WHERE tenant_id = '$T' AND external_id = '$tch'")" "$run2"
  expect_eq "deleted item last seen by run 1" "$(sql e2e_resync "SELECT last_seen_run_id FROM inventory.inventory_items WHERE tenant_id = '$T' AND external_id = '$del1'")" "$run1"
  # items_updated counts name, meta or content changes: the rename, and the
  # touch (its last_modified_at/version meta moved, its content hash did not).
  expect_eq "run 2 updated the renamed and the touched item" "$(run_field e2e_resync $run2 items_updated)" 2
  # The manifest (docs/design.md §10): every present row carries the
  # fingerprint the fetcher staged; run 2 staged the 65 unchanged items as
  # narrow keys and wrote exactly the 2 changed and the 3 now missing rows.
  expect_eq "every present row has a 32-hex fingerprint" \
    "$(sql e2e_resync "SELECT count(*) FILTER (WHERE row_fp ~ '^[0-9a-f]{32}$') || '/' || count(*) FROM inventory.item_state WHERE tenant_id = '$T' AND absent_since_run_id IS NULL")" "67/67"
  expect_eq "run 2 wrote the changed and the missing rows only" \
    "$(sql e2e_resync "SELECT count(*) FROM inventory.item_state WHERE tenant_id = '$T' AND (seen_run_id = $run2 OR absent_since_run_id = $run2)")" 5
  expect_eq "run 2 observed every listed item" "$(run_field e2e_resync $run2 items_observed)" 67
  snap=$(sql e2e_resync "SELECT md5(string_agg(external_id || xmin::text, ',' ORDER BY external_id)) FROM inventory.item_state WHERE tenant_id = '$T'")
  fetch resync3 e2e_resync $T "$sel" --log-level debug
  expect_eq "unchanged re-sync exit 0" "$RC" 0
  run3=$(last_run e2e_resync $T)
  check "the fetcher read a manifest of the 67 present items" grep -q 'manifest read.*items=67' "$WORK/resync3.err"
  expect_eq "unchanged re-sync: observed 67, unchanged 67, nothing written" \
    "$(sql e2e_resync "SELECT items_observed || ' ' || items_unchanged || ' ' || items_created || ' ' || items_updated || ' ' || items_rejected FROM inventory.inventory_sync_runs WHERE id = $run3")" "67 67 0 0 0"
  expect_eq "unchanged re-sync rewrote no item row" \
    "$(sql e2e_resync "SELECT md5(string_agg(external_id || xmin::text, ',' ORDER BY external_id)) FROM inventory.item_state WHERE tenant_id = '$T'")" "$snap"
  expect_eq "unchanged re-sync: items last seen by run 3" \
    "$(sql e2e_resync "SELECT count(*) FROM inventory.inventory_items WHERE tenant_id = '$T' AND last_seen_run_id = $run3")" 67
  # The same without the manifest: whole rows, the same verdicts.
  mock_post /_mock/tenant/$T/rename "{\"path\":\"$DC\",\"indexes\":[6]}"
  fetch resync4 e2e_resync $T "$sel" --no-manifest --log-level debug
  expect_eq "--no-manifest re-sync exit 0" "$RC" 0
  run4=$(last_run e2e_resync $T)
  check "--no-manifest reads no manifest" bash -c "! grep -q 'manifest read' '$WORK/resync4.err'"
  expect_eq "--no-manifest re-sync: observed 67, updated the rename only" \
    "$(sql e2e_resync "SELECT items_observed || ' ' || items_updated || ' ' || items_created FROM inventory.inventory_sync_runs WHERE id = $run4")" "67 1 0"
  expect_eq "--no-manifest: still exactly the deleted items missing" \
    "$(sql e2e_resync "SELECT count(*) FROM inventory.missing_items WHERE tenant_id = '$T'")" 3
fi

# A 403 on one type and Intune's nested 400 on another: partial, errors with
# the taxonomy's fields, missing items only with low confidence.
if want_case partial; then
  CASE=partial
  reset_mock
  new_db e2e_partial
  T=c0000001-0000-4000-8000-000000000001
  sel='{"policy_types":["deviceConfiguration","configurationPolicy","mobileApp"]}'
  set_items $T $DC 40
  set_items $T $CP 30
  set_items $T $MA 120
  fetch partial1 e2e_partial $T "$sel"
  expect_eq "baseline sync exit 0" "$RC" 0
  gone=$(item_id $T $DC 1)
  mock_post /_mock/tenant/$T/delete "{\"path\":\"$DC\",\"indexes\":[1]}"
  set_faults "[
    {\"tenant\":\"$T\",\"path\":\"$CP\",\"kind\":\"forbidden\",\"times\":-1},
    {\"tenant\":\"$T\",\"path\":\"$MA\",\"kind\":\"nested_400\",\"times\":-1,\"after_pages\":1}
  ]"
  fetch partial2 e2e_partial $T "$sel"
  expect_eq "partial sync exits 1" "$RC" 1
  run=$(last_run e2e_partial $T)
  expect_eq "run is partial with errors" "$(run_field e2e_partial $run "status || ' ' || had_errors")" "partial true"
  expect_eq "error codes" "$(run_field e2e_partial $run "array_to_string(ARRAY(SELECT unnest(error_codes) ORDER BY 1), ',')")" "graph_bad_request,graph_forbidden"
  expect_eq "deviceConfiguration complete" "$(type_row e2e_partial $run deviceConfiguration)" "complete 2 39 -"
  expect_eq "configurationPolicy failed (403)" "$(type_row e2e_partial $run configurationPolicy)" "failed 0 0 graph_forbidden"
  expect_eq "mobileApp incomplete after one page (400)" "$(type_row e2e_partial $run mobileApp)" "incomplete 1 50 graph_bad_request"
  e403=$(run_field e2e_partial $run "(SELECT e FROM jsonb_array_elements(errors) e WHERE e->>'code' = 'graph_forbidden')")
  expect_eq "403 error: type and status" "$(jq -r '.policy_type + " " + (.http_status|tostring)' <<<"$e403")" "configurationPolicy 403"
  expect_eq "403 error: Graph error code" "$(jq -r '.graph_error_code' <<<"$e403")" "Authorization_RequestDenied"
  check "403 error: request-id and client-request-id" jq -e '(.request_id|length) == 36 and (.client_request_id|length) == 36' <<<"$e403" >/dev/null
  e400=$(run_field e2e_partial $run "(SELECT e FROM jsonb_array_elements(errors) e WHERE e->>'code' = 'graph_bad_request')")
  expect_eq "nested 400: Graph error code" "$(jq -r '.graph_error_code' <<<"$e400")" "BadRequest"
  check "nested 400: inner message unwrapped" jq -e '(.message | contains("An error has occurred")) and (.message | contains("_version") | not) and (.message | length) <= 512' <<<"$e400" >/dev/null
  expect_eq "deleted item missing with low confidence (run_partial)" \
    "$(sql e2e_partial "SELECT confidence || ' ' || ('run_partial' = ANY(low_confidence_reasons)) FROM inventory.missing_items('$T', '$sel') WHERE external_id = '$gone'")" "low true"
  expect_eq "no missing item has high confidence" "$(sql e2e_partial "SELECT count(*) FROM inventory.missing_items('$T', '$sel') WHERE confidence = 'high'")" 0
fi

# Bad credentials: failed / auth_failed, and no secret or token anywhere; a
# 400 body full of secret-looking canaries is stored and logged redacted.
if want_case secrets; then
  CASE=secrets
  reset_mock
  new_db e2e_secrets
  T=d0000001-0000-4000-8000-000000000001
  T2=d0000001-0000-4000-8000-000000000002
  CANARY_SECRET="E2eCanary8Q~xY7zW6vU5tS4rQ3pO2nM1lK0jI9hG"
  CANARY_FAULT="CanaryFault0e2eA1B2C3D4E5F6"
  printf '%s\n' "$CANARY_SECRET" >"$WORK/bad-secret"
  sel='{"policy_types":["deviceConfiguration","configurationPolicy"]}'
  set_items $T $DC 10
  fetch secrets-bad e2e_secrets $T "$sel" --client-secret-file "$WORK/bad-secret" --log-level trace --log-format json
  expect_eq "bad credentials exit 1" "$RC" 1
  run=$(last_run e2e_secrets $T)
  expect_eq "run failed with auth_failed only" "$(run_field e2e_secrets $run "status || ' ' || array_to_string(error_codes, ',')")" "failed auth_failed"
  expect_eq "every type failed with auth_failed" \
    "$(sql e2e_secrets "SELECT string_agg(DISTINCT status || '/' || error_code, ',') FROM inventory.inventory_sync_run_types WHERE run_id = $run")" "failed/auth_failed"
  e=$(run_field e2e_secrets $run "errors->0")
  expect_eq "auth error carries the OAuth error code and status" "$(jq -r '.graph_error_code + " " + (.http_status|tostring)' <<<"$e")" "invalid_client/AADSTS7000215 401"
  check "json logs are valid JSON lines" jq -e . "$WORK/secrets-bad.err" >/dev/null
  expect_eq "one token request for rejected credentials" "$(mock_get /_mock/stats | jq --arg t $T '.token_requests_by_tenant[$t]')" 1

  set_items $T2 $DC 30
  set_items $T2 $CP 30
  set_faults "[{\"tenant\":\"$T2\",\"path\":\"$CP\",\"kind\":\"canary\",\"canary\":\"$CANARY_FAULT\",\"times\":-1}]"
  fetch secrets-canary e2e_secrets $T2 "$sel" --log-level trace --metrics-file "$WORK/secrets.prom"
  expect_eq "canary body: partial, exit 1" "$RC" 1
  run=$(last_run e2e_secrets $T2)
  expect_eq "canary run partial" "$(run_field e2e_secrets $run status)" partial
  pg_dump -d e2e_secrets >"$WORK/secrets.dump"
  pg_dumpall --data-only >"$WORK/all.dump" 2>/dev/null
  check "pg_dump holds the run errors" grep -q 'auth_failed' "$WORK/secrets.dump"
  for f in "$WORK/secrets.dump" "$WORK/all.dump" "$WORK"/secrets-*.out "$WORK"/secrets-*.err "$WORK/secrets.prom"; do
    check "no canary secret in $(basename "$f")" bash -c '! grep -qF -- "$1" "$2"' _ "$CANARY_SECRET" "$f"
    check "no mock secret in $(basename "$f")" bash -c '! grep -qF -- "$1" "$2"' _ "$MOCK_SECRET" "$f"
    check "no fault canary in $(basename "$f")" bash -c '! grep -qF -- "$1" "$2"' _ "$CANARY_FAULT" "$f"
    check "no JWT / access token in $(basename "$f")" bash -c '! grep -q "eyJ[A-Za-z0-9_-]\{8,\}" "$1"' _ "$f"
  done
fi

# Unsafe nextLinks (other host, scheme, API version) are refused without
# sending anything there; a nextLink loop is detected.
if want_case unsafe_link; then
  CASE=unsafe_link
  reset_mock
  new_db e2e_unsafe
  T=e0000001-0000-4000-8000-000000000001
  sel='{"policy_types":["deviceConfiguration","configurationPolicy","mobileApp","deviceCompliancePolicy","groupPolicyConfiguration"]}'
  set_items $T $DC 90
  set_items $T $CP 75
  set_items $T $MA 150
  set_items $T $DCP 150
  set_items $T $GPC 60
  set_faults "[
    {\"tenant\":\"$T\",\"path\":\"$DC\",\"kind\":\"foreign_next_link\",\"variant\":\"host\",\"after_pages\":1,\"times\":1},
    {\"tenant\":\"$T\",\"path\":\"$CP\",\"kind\":\"foreign_next_link\",\"variant\":\"scheme\",\"times\":1},
    {\"tenant\":\"$T\",\"path\":\"$MA\",\"kind\":\"foreign_next_link\",\"variant\":\"version\",\"after_pages\":1,\"times\":1},
    {\"tenant\":\"$T\",\"path\":\"$DCP\",\"kind\":\"loop_next_link\",\"after_pages\":1,\"times\":1}
  ]"
  fetch unsafe e2e_unsafe $T "$sel"
  expect_eq "exit 1" "$RC" 1
  run=$(last_run e2e_unsafe $T)
  expect_eq "run partial" "$(run_field e2e_unsafe $run status)" partial
  expect_eq "other host refused after 2 pages" "$(type_row e2e_unsafe $run deviceConfiguration)" "incomplete 2 60 paging_unsafe_link"
  expect_eq "other scheme refused after 1 page" "$(type_row e2e_unsafe $run configurationPolicy)" "incomplete 1 25 paging_unsafe_link"
  expect_eq "other API version refused after 2 pages" "$(type_row e2e_unsafe $run mobileApp)" "incomplete 2 100 paging_unsafe_link"
  expect_eq "loop detected after 2 pages" "$(type_row e2e_unsafe $run deviceCompliancePolicy)" "incomplete 2 100 paging_loop"
  expect_eq "clean type complete" "$(type_row e2e_unsafe $run groupPolicyConfiguration)" "complete 2 60 -"
  stats=$(mock_get /_mock/stats)
  expect_eq "the foreign host got no request at all" "$(jq '.foreign_requests | length' <<<"$stats")" 0
  expect_eq "no request to the other API version" "$(jq --arg t $T '[.requests[] | select(.tenant == $t and .api_version != "beta")] | length' <<<"$stats")" 0
  expect_eq "the looping page was requested once" "$(jq --arg t $T --arg p $DCP '[.requests[] | select(.tenant == $t and .path == $p)] | length' <<<"$stats")" 2
  check "stored error does not reveal the paging token" bash -c '! psql -XAtq -d e2e_unsafe -c "SELECT errors::text FROM inventory.inventory_sync_runs" | grep -q "skiptoken=[^\[]"'
fi

# A second fetcher for the same tenant and selection exits 75 and creates no run.
if want_case concurrent; then
  CASE=concurrent
  reset_mock
  new_db e2e_conc
  T=f0000001-0000-4000-8000-000000000001
  sel='{"policy_types":["deviceConfiguration"]}'
  set_items $T $DC 150
  set_latency 250
  fetch_bg conc-a e2e_conc $T "$sel"
  pid=$BG
  check "first run is running" wait_for 10 running_runs_are e2e_conc $T 1
  fetch conc-b e2e_conc $T "$sel"
  expect_eq "second fetcher exits 75" "$RC" 75
  check "it says a run is in progress" grep -q 'already in progress' "$WORK/conc-b.err"
  wait "$pid"
  expect_eq "first fetcher exits 0" "$?" 0
  expect_eq "only one run row" "$(run_count e2e_conc $T "")" 1
  # A different selection of the same tenant is not blocked.
  set_latency 0
  fetch conc-c e2e_conc $T '{"policy_types":["deviceConfiguration"],"purpose":"other"}'
  expect_eq "another selection runs" "$RC" 0
fi

# kill -9 mid-run: the next run marks the dead one abandoned and repairs the
# inventory; SIGTERM finishes the run as failed / cancelled.
if want_case crash; then
  CASE=crash
  reset_mock
  new_db e2e_crash
  T=a1000001-0000-4000-8000-000000000001
  sel='{"policy_types":["deviceConfiguration","configurationPolicy"]}'
  set_items $T $DC 300
  set_items $T $CP 250
  set_latency 120
  fetch_bg crash-1 e2e_crash $T "$sel" --batch-size 30
  pid=$BG
  # Pages of 30 and 25 rows with --batch-size 30: after 8 pages several
  # apply_staged calls have run.
  check "several pages staged before the kill" wait_for 15 requests_at_least $T 8
  kill -9 "$pid"
  wait "$pid" 2>/dev/null
  dead=$(last_run e2e_crash $T)
  expect_eq "killed run left running" "$(run_field e2e_crash $dead status)" running
  check "its session is gone" wait_for 10 backend_gone e2e_crash
  set_latency 0
  fetch crash-2 e2e_crash $T "$sel"
  expect_eq "next run exit 0" "$RC" 0
  expect_eq "dead run marked abandoned" "$(run_field e2e_crash $dead "status || ' ' || array_to_string(error_codes, ',')")" "failed run_abandoned"
  run=$(last_run e2e_crash $T)
  expect_eq "next run succeeded" "$(run_field e2e_crash $run status)" succeeded
  expect_eq "every item present once" "$(sql e2e_crash "SELECT count(*) || ' ' || count(DISTINCT external_id) FROM inventory.inventory_items WHERE tenant_id = '$T'")" "550 550"
  expect_eq "nothing missing" "$(sql e2e_crash "SELECT count(*) FROM inventory.missing_items('$T', '$sel')")" 0
  expect_eq "every item last seen by the repairing run" "$(sql e2e_crash "SELECT count(*) FROM inventory.inventory_items WHERE tenant_id = '$T' AND last_seen_run_id = $run")" 550

  set_latency 150
  mock_post /_mock/reset-stats '{}'
  fetch_bg crash-term e2e_crash $T "$sel"
  pid=$BG
  check "run under way before SIGTERM" wait_for 10 requests_at_least $T 4
  kill -TERM "$pid"
  t_kill=$SECONDS
  wait "$pid"
  expect_eq "SIGTERM exits 1" "$?" 1
  expect_le "shut down promptly" $((SECONDS - t_kill)) 3
  run=$(last_run e2e_crash $T)
  expect_eq "run finished failed / cancelled" "$(run_field e2e_crash $run "status || ' ' || ('cancelled' = ANY(error_codes)) || ' ' || (finished_at IS NOT NULL)")" "failed true true"
  check "the signal is logged" grep -q 'signal received' "$WORK/crash-term.err"
fi

# Certificate credentials (client_assertion): the right key works, another
# key is rejected.
if want_case certificate; then
  CASE=certificate
  reset_mock
  new_db e2e_cert
  T=a2000001-0000-4000-8000-000000000001
  sel='{"policy_types":["deviceConfiguration"]}'
  set_items $T $DC 20
  for k in good other; do
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$WORK/$k.key" -out "$WORK/$k.crt" -days 1 \
      -subj "/CN=e2e-$k" >/dev/null 2>&1
  done
  cat "$WORK/good.key" "$WORK/good.crt" >"$WORK/good.pem"
  pub=$(openssl x509 -in "$WORK/good.crt" -pubkey -noout | jq -Rs .)
  mock_post /_mock/tenant/$T/credentials "{\"public_key_pem\":$pub}"
  fetch cert-1 e2e_cert $T "$sel" --certificate-file "$WORK/good.crt" --private-key-file "$WORK/good.key"
  expect_eq "certificate + key file: exit 0" "$RC" 0
  fetch cert-2 e2e_cert $T "$sel" --certificate-file "$WORK/good.pem"
  expect_eq "one PEM with both: exit 0" "$RC" 0
  fetch cert-3 e2e_cert $T "$sel" --certificate-file "$WORK/other.crt" --private-key-file "$WORK/other.key"
  expect_eq "another key: exit 1" "$RC" 1
  expect_eq "another key: auth_failed" "$(run_field e2e_cert "$(last_run e2e_cert $T)" "array_to_string(error_codes, ',')")" auth_failed
  fetch cert-4 e2e_cert $T "$sel" --certificate-file "$WORK/good.crt" --private-key-file "$WORK/other.key"
  expect_eq "mismatched key and certificate: exit 2" "$RC" 2
  check "assertion never logged" bash -c '! grep -q "eyJ[A-Za-z0-9_-]\{8,\}" "$@"' _ "$WORK"/cert-*.err
fi

# The fetcher works as a least-privilege sync role, and only for the tenants
# that role is granted.
if want_case least_privilege; then
  CASE=least_privilege
  reset_mock
  new_db e2e_lp
  T=a4000001-0000-4000-8000-000000000001
  T2=a4000001-0000-4000-8000-000000000002
  sel='{"policy_types":["deviceConfiguration","configurationPolicy"]}'
  set_items $T $DC 40
  set_items $T $CP 30
  sql e2e_lp "DO \$\$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'e2e_sync') THEN CREATE ROLE e2e_sync LOGIN; END IF; END \$\$"
  sql e2e_lp "SELECT inventory.grant_sync_role('e2e_sync')" >/dev/null
  sql e2e_lp "SELECT inventory.grant_tenant_access('e2e_sync', '$T')" >/dev/null
  "$FETCH" sync --tenant $T --selection "$sel" --db "dbname=e2e_lp user=e2e_sync" \
    --client-id "$CLIENT_ID" --client-secret-file "$SECRET_FILE" --graph-url "$MOCK_URL" --login-url "$MOCK_URL" \
    --no-progress >"$WORK/lp-1.out" 2>"$WORK/lp-1.err"
  expect_eq "sync role: exit 0" "$?" 0
  expect_eq "sync role: run succeeded with every item" \
    "$(sql e2e_lp "SELECT r.status || ' ' || (SELECT count(*) FROM inventory.inventory_items i WHERE i.tenant_id = '$T') FROM inventory.inventory_sync_runs r WHERE r.tenant_id = '$T'")" "succeeded 70"
  "$FETCH" sync --tenant $T2 --selection "$sel" --db "dbname=e2e_lp user=e2e_sync" \
    --client-id "$CLIENT_ID" --client-secret-file "$SECRET_FILE" --graph-url "$MOCK_URL" --login-url "$MOCK_URL" \
    --no-progress >"$WORK/lp-2.out" 2>"$WORK/lp-2.err"
  expect_eq "ungranted tenant: configuration error, exit 2" "$?" 2
  expect_eq "ungranted tenant: no run, no Graph request" \
    "$(run_count e2e_lp $T2 "") $(tenant_requests $T2)" "0 0"
fi

# 401 refreshes the token once; a hanging server times out; usage errors exit 2.
if want_case misc; then
  CASE=misc
  reset_mock
  new_db e2e_misc
  T=a3000001-0000-4000-8000-000000000001
  T2=a3000001-0000-4000-8000-000000000002
  sel='{"policy_types":["deviceConfiguration","configurationPolicy"]}'
  set_items $T $DC 60
  set_items $T $CP 25
  set_faults "[{\"tenant\":\"$T\",\"path\":\"$DC\",\"kind\":\"unauthorized\",\"after_pages\":1,\"times\":1}]"
  fetch misc-401 e2e_misc $T "$sel"
  expect_eq "401 then refresh: exit 0" "$RC" 0
  expect_eq "two token requests" "$(mock_get /_mock/stats | jq --arg t $T '.token_requests_by_tenant[$t]')" 2

  set_items $T2 $DC 30
  set_items $T2 $CP 25
  set_faults "[{\"tenant\":\"$T2\",\"path\":\"$DC\",\"kind\":\"hang\",\"delay_ms\":3000,\"times\":3}]"
  fetch misc-hang e2e_misc $T2 "$sel" --request-timeout 1
  expect_eq "hang: exit 1" "$RC" 1
  run=$(last_run e2e_misc $T2)
  expect_eq "hanging type failed with timeout" "$(type_row e2e_misc $run deviceConfiguration)" "failed 0 0 timeout"
  expect_eq "other type complete" "$(type_row e2e_misc $run configurationPolicy)" "complete 1 25 -"

  # The limits the fetcher shares with the extension are the extension's
  # (inventory.limits() is their source; the fetcher holds copies).
  limits=$("$FETCH" --print-limits)
  expect_eq "the fetcher's limits are inventory.limits()" \
    "$(jq -cS 'del(.meta_kinds)' <<<"$limits")" \
    "$(sql e2e_misc "SELECT jsonb_object_agg(name, value) FROM inventory.limits()" | jq -cS .)"
  expect_ge "the fetcher names the meta keys it writes" "$(jq '.meta_kinds | length' <<<"$limits")" 10
  expect_eq "every meta key the fetcher writes is in inventory.meta_keys with the same kind" \
    "$(sql e2e_misc "SELECT coalesce(string_agg(f.key || ':' || f.value, ' '), 'none')
                       FROM jsonb_each_text('$(jq -c '.meta_kinds' <<<"$limits")'::jsonb) f
                       LEFT JOIN inventory.meta_keys k ON k.key = f.key AND k.kind = f.value
                      WHERE k.key IS NULL")" none

  reset_mock
  fetch misc-sel e2e_misc $T '{"policy_types":["noSuchType"]}'
  expect_eq "unknown policy type: exit 2" "$RC" 2
  expect_eq "no run for a rejected selection" "$(run_count e2e_misc $T "AND selection_payload::text LIKE '%noSuchType%'")" 0
  "$FETCH" sync --selection '{"policy_types":["a"]}' >/dev/null 2>&1
  expect_eq "missing --tenant: exit 2" "$?" 2
  "$FETCH" sync --tenant $T --client-secret "$MOCK_SECRET" >"$WORK/misc-argv.out" 2>"$WORK/misc-argv.err"
  expect_eq "secret on argv refused: exit 2" "$?" 2
  check "and not echoed" bash -c '! grep -qF -- "$1" "$2" "$3"' _ "$MOCK_SECRET" "$WORK/misc-argv.out" "$WORK/misc-argv.err"
  "$FETCH" sync --help >/dev/null
  expect_eq "--help exits 0" "$?" 0
fi

# History and trust (issue 11): test/e2e/trust.sh, same cluster and mock.
. "$ROOT/test/e2e/trust.sh"

say ""
say "e2e: finished in $((SECONDS - T0)) s"
harness_summary
