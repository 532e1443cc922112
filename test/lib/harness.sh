# Shared helpers of the shell test layers (test/e2e, test/reliability,
# test/citus). Sourced, never run:  . "$ROOT/test/lib/harness.sh"
# shellcheck shell=bash
#
# The sourcing script provides, before it calls the helpers:
#   WORK                  its work directory (fetcher output, mock port files)
#   FETCH, MOCK           inventory-fetch and inventory-mock-graph (FETCH_BIN, when
#                         set, overrides FETCH for fetch and fetch_bg)
#   CLIENT_ID, SECRET_FILE the credentials the fetcher presents
#   CASE                  the name printed before each check
# and may set these knobs (defaults in brackets):
#   HARNESS_VERBOSE=1|0      pass() prints an "ok" line for every passing check [1]
#   HARNESS_RETRY_SCALE      --retry-scale of fetch and fetch_bg [0.05]
#   HARNESS_FETCH_METRICS=1  fetch and fetch_bg write WORK/LABEL.prom [0]
#   HARNESS_DB_RECREATE=1    new_db drops the database first when it exists [0]
#   HARNESS_DB_SETUP         SQL files new_db runs in each new database, space separated []
#   HARNESS_DETAIL_MAX       set_faults cuts the faults it reports to N characters (0: all) [0]
#   HARNESS_MOCK_SECRET      the client secret start_mock makes the mock accept
#   HARNESS_MOCK_THREADS     the mock's --threads [96]
# Counters and state it keeps: PASSED FAILED FAILED_NAMES BG_PIDS MOCK_PID MOCK_URL RC BG.

PASSED=${PASSED:-0}
FAILED=${FAILED:-0}
[ -n "${FAILED_NAMES+x}" ] || FAILED_NAMES=()
[ -n "${BG_PIDS+x}" ] || BG_PIDS=()
MOCK_PID=${MOCK_PID:-}
MOCK_URL=${MOCK_URL:-}

# ---------------------------------------------------------------- checks

say() { printf '%s\n' "$*"; }

pass() { PASSED=$((PASSED + 1)); [ "${HARNESS_VERBOSE:-1}" = 1 ] && say "  ok   $CASE: $1"; return 0; }
fail() {
  FAILED=$((FAILED + 1))
  FAILED_NAMES+=("$CASE: $1")
  say "  FAIL $CASE: $1${2:+ ($2)}"
  return 0
}

# check "what" command...   (passes when the command succeeds)
check() {
  local what=$1
  shift
  if "$@"; then pass "$what"; else fail "$what"; fi
}

# expect_eq "what" actual expected; expect_le "what" actual max; expect_ge "what" actual min
expect_eq() { if [ "$2" = "$3" ]; then pass "$1"; else fail "$1" "got '$2', want '$3'"; fi; }
expect_le() { if [ "$2" -le "$3" ] 2>/dev/null; then pass "$1"; else fail "$1" "got '$2', want <= $3"; fi; }
expect_ge() { if [ "$2" -ge "$3" ] 2>/dev/null; then pass "$1"; else fail "$1" "got '$2', want >= $3"; fi; }

# harness_summary: the names of the failed checks and "N passed, N failed";
# returns non-zero when a check failed.
harness_summary() {
  local n
  for n in "${FAILED_NAMES[@]}"; do say "  failed: $n"; done
  say "$PASSED passed, $FAILED failed"
  [ "$FAILED" -eq 0 ]
}

# wait_for SECONDS command...   polls every 50 ms
wait_for() {
  local deadline=$((SECONDS + $1))
  shift
  while [ $SECONDS -le $deadline ]; do
    "$@" && return 0
    sleep 0.05
  done
  return 1
}

# ---------------------------------------------------------------- PostgreSQL

sql() { psql -XAtq -v ON_ERROR_STOP=1 -d "$1" -c "$2"; }
sql_file() { psql -XAtq -v ON_ERROR_STOP=1 -d "$1" -f "$2"; }

# new_db DB: a new database with the extension (see HARNESS_DB_RECREATE and
# HARNESS_DB_SETUP).
new_db() {
  local f
  if [ "${HARNESS_DB_RECREATE:-0}" = 1 ]; then
    psql -XAtq -d postgres -c "DROP DATABASE IF EXISTS $1" || return 1
  fi
  psql -XAtq -d postgres -c "CREATE DATABASE $1" &&
    sql "$1" "CREATE EXTENSION tenant_inventory" || return 1
  for f in ${HARNESS_DB_SETUP:-}; do
    sql_file "$1" "$f" >/dev/null || return 1
  done
}

run_field() { sql "$1" "SELECT $3 FROM inventory.inventory_sync_runs WHERE id = $2"; }

# ---------------------------------------------------------------- mock Graph

mock_get() { curl -sf "$MOCK_URL$1"; }
mock_post() { curl -sf -H 'Content-Type: application/json' --data-binary "$2" "$MOCK_URL$1" >/dev/null; }
set_faults() {
  local detail=$1
  [ "${HARNESS_DETAIL_MAX:-0}" -gt 0 ] && detail=$(printf '%.*s' "$HARNESS_DETAIL_MAX" "$1")
  mock_post /_mock/faults "$1" || fail "installing faults" "$detail"
}
set_faults_file() {
  curl -sf -H 'Content-Type: application/json' --data-binary "@$1" "$MOCK_URL/_mock/faults" >/dev/null ||
    fail "installing faults from $(basename "$1")"
}
set_latency() { mock_post /_mock/latency "{\"delay_ms\":$1}"; }
set_items() { mock_post "/_mock/tenant/$1/items" "{\"path\":\"$2\",\"count\":$3}"; }
mutate() { mock_post "/_mock/tenant/$1/$2" "$3"; }  # mutate TENANT delete|restore|rename|touch JSON
tenant_requests() { mock_get /_mock/stats | jq --arg t "$1" '.requests_by_tenant[$t] // 0'; }
reset_mock() {
  set_faults '[]'
  set_latency 0
  mock_post /_mock/reset-stats '{}'
}

# start_mock LABEL [options...]: a mock Graph server on a free loopback port
# accepting HARNESS_MOCK_SECRET; sets MOCK_PID and MOCK_URL (log: WORK/LABEL.log).
start_mock() {
  local label=$1
  shift
  rm -f "$WORK/$label.port"
  "$MOCK" --port 0 --port-file "$WORK/$label.port" --client-secret "${HARNESS_MOCK_SECRET:?}" \
    --threads "${HARNESS_MOCK_THREADS:-96}" "$@" >"$WORK/$label.log" 2>&1 &
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

# ---------------------------------------------------------------- fetcher

_harness_fetch_args() {  # LABEL DB TENANT SELECTION: sets _HARNESS_ARGS, the common options
  _HARNESS_ARGS=(sync --tenant "$3" --selection "$4" --db "dbname=$2"
    --client-id "$CLIENT_ID" --client-secret-file "$SECRET_FILE"
    --graph-url "$MOCK_URL" --login-url "$MOCK_URL"
    --retry-scale "${HARNESS_RETRY_SCALE:-0.05}" --request-timeout 5 --no-progress --log-level debug)
  if [ "${HARNESS_FETCH_METRICS:-0}" = 1 ]; then _HARNESS_ARGS+=(--metrics-file "$WORK/$1.prom"); fi
}

# fetch LABEL DB TENANT SELECTION [extra args...]: foreground; sets RC; output
# in WORK/LABEL.{out,err}.
fetch() {
  local label=$1
  _harness_fetch_args "$@"
  shift 4
  "${FETCH_BIN:-$FETCH}" "${_HARNESS_ARGS[@]}" "$@" >"$WORK/$label.out" 2>"$WORK/$label.err"
  RC=$?
}

# Same in the background; sets BG (pid, also in BG_PIDS).
fetch_bg() {
  local label=$1
  _harness_fetch_args "$@"
  shift 4
  "${FETCH_BIN:-$FETCH}" "${_HARNESS_ARGS[@]}" "$@" >"$WORK/$label.out" 2>"$WORK/$label.err" &
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
