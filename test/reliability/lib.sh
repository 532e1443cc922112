# Shared helpers of the reliability suite (sourced by run.sh and the cases).
# The generic ones (say, pass/fail/check/expect_*, sql, sql_file, new_db,
# wait_for, run_field, the mock helpers, start_mock/stop_mock, fetch, fetch_bg,
# wait_exit) are test/lib/harness.sh's; this file sets its knobs and adds
# what only this suite uses.
# shellcheck shell=bash

HARNESS_VERBOSE=${RELIABILITY_VERBOSE:-0}  # passing checks printed only when asked
HARNESS_RETRY_SCALE=0.02
HARNESS_FETCH_METRICS=1                    # every fetch writes WORK/LABEL.prom
HARNESS_DB_RECREATE=1
HARNESS_DB_SETUP="$HERE/helpers.sql"
HARNESS_DETAIL_MAX=200
HARNESS_MOCK_SECRET=$CANARY_SECRET
HARNESS_MOCK_THREADS=96
# shellcheck source=../lib/harness.sh
. "$ROOT/test/lib/harness.sh"

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

# ---------------------------------------------------------------- mock

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

last_run() { sql "$1" "SELECT coalesce(max(id), 0) FROM inventory.inventory_sync_runs WHERE tenant_id = '$2'"; }
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
tenant_requests_at_least() { [ "$(tenant_requests "$1")" -ge "$2" ]; }
