# Shared helpers of the reliability suite (sourced by run.sh and the cases).
# shellcheck shell=bash

say() { printf '%s\n' "$*"; }

pass() { PASSED=$((PASSED + 1)); [ "${RELIABILITY_VERBOSE:-0}" = 1 ] && say "  ok   $CASE: $1"; return 0; }
fail() {
  FAILED=$((FAILED + 1))
  FAILED_NAMES+=("$CASE: $1")
  say "  FAIL $CASE: $1${2:+ ($2)}"
  return 0
}
check() {
  local what=$1
  shift
  if "$@"; then pass "$what"; else fail "$what"; fi
}
expect_eq() { if [ "$2" = "$3" ]; then pass "$1"; else fail "$1" "got '$2', want '$3'"; fi; }
expect_le() { if [ "$2" -le "$3" ] 2>/dev/null; then pass "$1"; else fail "$1" "got '$2', want <= $3"; fi; }
expect_ge() { if [ "$2" -ge "$3" ] 2>/dev/null; then pass "$1"; else fail "$1" "got '$2', want >= $3"; fi; }

# record CASE_NAME TRIES OUTCOME LOST: one row of the results table.
record() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >>"$WORK/results.tsv"; }

# Runs a case function; the result row says "pass" when no check of it failed.
run_case() {
  local name=$1 fn=$2 before=$FAILED t0=$SECONDS
  CASE=$name
  CASE_FAILED0=$FAILED
  say "--- $name"
  # Stderr goes through a file, not a process substitution: a server the
  # case restarts would inherit the pipe, and the suite would wait for the
  # filter to see its end for ever. (Bash reports each fetcher the case kills
  # on purpose; those lines go.)
  "$fn" 2>"$WORK/case-$name.stderr"
  grep -v -E '^[^ ]+: line [0-9]+: +[0-9]+ (Killed|Terminated) ' "$WORK/case-$name.stderr" >&2
  say "    $name: $((SECONDS - t0)) s, $((FAILED - before)) failed checks"
}

sql() { psql -XAtq -v ON_ERROR_STOP=1 -d "$1" -c "$2"; }
sql_file() { psql -XAtq -v ON_ERROR_STOP=1 -d "$1" -f "$2"; }

new_db() {
  psql -XAtq -d postgres -c "DROP DATABASE IF EXISTS $1" &&
    psql -XAtq -d postgres -c "CREATE DATABASE $1" &&
    sql "$1" "CREATE EXTENSION tenant_inventory" &&
    psql -XAtq -v ON_ERROR_STOP=1 -d "$1" -f "$HERE/helpers.sql" >/dev/null
}

wait_for() {  # wait_for SECONDS command...   (polls every 50 ms)
  local deadline=$((SECONDS + $1))
  shift
  while [ $SECONDS -le $deadline ]; do
    "$@" && return 0
    sleep 0.05
  done
  return 1
}

# ---------------------------------------------------------------- mock

MOCK_URL=
mock_get() { curl -sf "$MOCK_URL$1"; }
mock_post() { curl -sf -H 'Content-Type: application/json' --data-binary "$2" "$MOCK_URL$1" >/dev/null; }
set_faults() { mock_post /_mock/faults "$1" || fail "installing faults" "$(printf '%.200s' "$1")"; }
set_faults_file() {
  curl -sf -H 'Content-Type: application/json' --data-binary "@$1" "$MOCK_URL/_mock/faults" >/dev/null ||
    fail "installing faults from $(basename "$1")"
}
set_latency() { mock_post /_mock/latency "{\"delay_ms\":$1}"; }
set_items() { mock_post "/_mock/tenant/$1/items" "{\"path\":\"$2\",\"count\":$3}"; }
mutate() { mock_post "/_mock/tenant/$1/$2" "$3"; }  # mutate TENANT delete|restore|rename|touch JSON
reset_mock() {
  set_faults '[]'
  set_latency 0
  mock_post /_mock/reset-stats '{}'
}

# start_mock LABEL [options...]: a mock Graph server; sets MOCK_PID, MOCK_URL.
start_mock() {
  local label=$1
  shift
  rm -f "$WORK/$label.port"
  "$MOCK" --port 0 --port-file "$WORK/$label.port" --client-secret "$CANARY_SECRET" --threads 96 "$@" \
    >"$WORK/$label.log" 2>&1 &
  MOCK_PID=$!
  BG_PIDS+=("$MOCK_PID")
  wait_for 10 test -s "$WORK/$label.port" || { say "the mock did not start"; cat "$WORK/$label.log"; return 1; }
  MOCK_URL="http://127.0.0.1:$(cat "$WORK/$label.port")"
}

stop_mock() {
  [ -n "${MOCK_PID:-}" ] || return 0
  kill "$MOCK_PID" 2>/dev/null
  wait "$MOCK_PID" 2>/dev/null
  MOCK_PID=
}

# An access token from the mock, for listing the truth directly.
mock_token() {
  curl -sf "$MOCK_URL/$1/oauth2/v2.0/token" \
    --data-urlencode grant_type=client_credentials --data-urlencode "client_id=$CLIENT_ID" \
    --data-urlencode "client_secret@$SECRET_FILE" \
    --data-urlencode scope=https://graph.microsoft.com/.default | jq -r .access_token
}

# list_truth DB TENANT SNAP TYPE...: what the mock lists now for these policy
# types (faults and latency must be off) becomes truth snapshot SNAP.
list_truth() {
  local db=$1 tenant=$2 snap=$3
  shift 3
  local token type path version url page n f=$WORK/truth.$$.pages
  token=$(mock_token "$tenant") || { fail "truth: no token"; return 1; }
  : >"$f"
  for type in "$@"; do
    IFS='|' read -r path version <<<"$(sql "$db" "SELECT graph_path || '|' || api_version FROM inventory.policy_types WHERE policy_type = '$type'")"
    url="$MOCK_URL/$version/$path"
    n=0
    while [ -n "$url" ] && [ "$url" != null ]; do
      page=$(curl -sf -H "Authorization: Bearer $token" "$url") || { fail "truth: listing $type failed"; return 1; }
      printf '%s\002%s\002%s\n' "$type" "$n" "$(tr -d '\n\r' <<<"$page")" >>"$f"
      url=$(jq -r '."@odata.nextLink" // empty' <<<"$page")
      n=$((n + 1))
    done
  done
  psql -XAtq -v ON_ERROR_STOP=1 -d "$db" \
    -c "\\copy reltest.raw_pages (policy_type, page_no, body) FROM '$f' WITH (FORMAT csv, DELIMITER E'\\002', QUOTE E'\\001')" \
    -c "SELECT reltest.load_truth($snap, '$tenant')" >/dev/null || { fail "truth: loading failed"; return 1; }
  rm -f "$f"
}

# ---------------------------------------------------------------- fetcher

# fetch LABEL DB TENANT SELECTION [extra args...]: foreground; sets RC.
fetch() {
  local label=$1 db=$2 tenant=$3 selection=$4
  shift 4
  "${FETCH_BIN:-$FETCH}" sync --tenant "$tenant" --selection "$selection" --db "dbname=$db" \
    --client-id "$CLIENT_ID" --client-secret-file "$SECRET_FILE" \
    --graph-url "$MOCK_URL" --login-url "$MOCK_URL" \
    --retry-scale 0.02 --request-timeout 5 --no-progress --log-level debug \
    --metrics-file "$WORK/$label.prom" "$@" \
    >"$WORK/$label.out" 2>"$WORK/$label.err"
  RC=$?
}

# Same in the background; sets BG.
fetch_bg() {
  local label=$1 db=$2 tenant=$3 selection=$4
  shift 4
  "${FETCH_BIN:-$FETCH}" sync --tenant "$tenant" --selection "$selection" --db "dbname=$db" \
    --client-id "$CLIENT_ID" --client-secret-file "$SECRET_FILE" \
    --graph-url "$MOCK_URL" --login-url "$MOCK_URL" \
    --retry-scale 0.02 --request-timeout 5 --no-progress --log-level debug \
    --metrics-file "$WORK/$label.prom" "$@" \
    >"$WORK/$label.out" 2>"$WORK/$label.err" &
  BG=$!
  BG_PIDS+=("$BG")
}

# wait_exit PID SECONDS: waits for a background fetcher; sets RC (124 when it
# had to be killed).
wait_exit() {
  local pid=$1 deadline=$((SECONDS + $2))
  while kill -0 "$pid" 2>/dev/null && [ $SECONDS -le $deadline ]; do sleep 0.05; done
  if kill -0 "$pid" 2>/dev/null; then
    kill -9 "$pid" 2>/dev/null
    { wait "$pid"; } 2>/dev/null
    RC=124
  else
    { wait "$pid"; } 2>/dev/null
    RC=$?
  fi
}

last_run() { sql "$1" "SELECT coalesce(max(id), 0) FROM inventory.inventory_sync_runs WHERE tenant_id = '$2'"; }
run_field() { sql "$1" "SELECT $3 FROM inventory.inventory_sync_runs WHERE id = $2"; }
fetcher_sessions() { sql "$1" "SELECT cardinality(reltest.fetcher_pids())"; }
no_fetcher_session() { [ "$(fetcher_sessions "$1")" = 0 ]; }

# violations DB SQL-returning-(check,detail): prints a count; details to the log.
violations() {
  local out
  out=$(psql -XAtq -v ON_ERROR_STOP=1 -d "$1" -F ' ' -c "$2" 2>&1) || { say "    query failed: $out"; echo 999999; return; }
  if [ -n "$out" ]; then
    printf '%s\n' "$out" | head -n 8 | sed 's/^/      /' >&2
    printf '%s\n' "$out" | wc -l
  else
    echo 0
  fi
}

report_table() {
  say ""
  say "| case | tries | outcome | data lost |"
  say "|---|---|---|---|"
  while IFS=$'\t' read -r name tries outcome lost; do
    say "| $name | $tries | $outcome | $lost |"
  done <"$WORK/results.tsv"
}

remember() { sql "$1" "SELECT reltest.remember('$2')" >/dev/null; }
tenant_requests_at_least() {
  [ "$(mock_get /_mock/stats | jq --arg t "$1" '.requests_by_tenant[$t] // 0')" -ge "$2" ]
}
