#!/usr/bin/env bash
# Throughput and memory of inventory-fetch against the local mock (not a
# test: prints figures). For each tenant size N it runs a first sync and an
# unchanged re-sync under /usr/bin/time -v, then a bare COPY of the same rows
# into a plain table as the baseline.
#
#   test/e2e/measure.sh [BUILD_DIR] [N ...]     (default N: 1000 10000 100000)
#
# Environment: MEASURE_PAGE_SIZE ($top, default 0 = the mock's page sizes of
# 25-50 like Intune), MEASURE_TYPES (policy types the items are spread over,
# default 4), MEASURE_LATENCY_MS (mock latency per response, default 0),
# E2E_PGPORT (default 55438).
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD_DIR=$(cd "${1:-${BUILD_DIR:-$ROOT/build}}" && pwd) || exit 2
shift || true
SIZES=("$@")
[ ${#SIZES[@]} -gt 0 ] || SIZES=(1000 10000 100000)
FETCH=$BUILD_DIR/fetcher/inventory-fetch
MOCK=$BUILD_DIR/mock/inventory-mock-graph
PAGE=${MEASURE_PAGE_SIZE:-0}
NTYPES=${MEASURE_TYPES:-4}
LATENCY=${MEASURE_LATENCY_MS:-0}

WORK=$(mktemp -d /tmp/tinv-measure.XXXXXX)
chmod 755 "$WORK"
MOCK_PID=
cleanup() {
  [ -n "$MOCK_PID" ] && kill "$MOCK_PID" 2>/dev/null
  "$ROOT/scripts/pgcluster.sh" stop "$WORK/pg" >/dev/null 2>&1
  [ "${MEASURE_KEEP:-0}" = 1 ] && echo "kept $WORK" || rm -rf "$WORK"
}
trap cleanup EXIT

eval "$("$ROOT/scripts/pgcluster.sh" start "$WORK/pg" "${E2E_PGPORT:-55438}")" || exit 1
export PGHOST PGPORT PGUSER PGDATABASE
printf 'measure-secret\n' >"$WORK/secret"
"$MOCK" --port 0 --port-file "$WORK/port" --tenants 0 --client-secret measure-secret >"$WORK/mock.log" 2>&1 &
MOCK_PID=$!
for _ in $(seq 100); do [ -s "$WORK/port" ] && break; sleep 0.1; done
URL="http://127.0.0.1:$(cat "$WORK/port")"
curl -sf -d "{\"delay_ms\":$LATENCY}" "$URL/_mock/latency" >/dev/null

ALL_TYPES=(deviceConfiguration:deviceManagement/deviceConfigurations
  configurationPolicy:deviceManagement/configurationPolicies
  mobileApp:deviceAppManagement/mobileApps
  deviceCompliancePolicy:deviceManagement/deviceCompliancePolicies
  groupPolicyConfiguration:deviceManagement/groupPolicyConfigurations
  intent:deviceManagement/intents)

# run_fetch LABEL DB TENANT SELECTION -> prints "seconds rss_kb exit"
run_fetch() {
  /usr/bin/time -v "$FETCH" sync --tenant "$3" --selection "$4" --db "dbname=$2" \
    --client-id measure --client-secret-file "$WORK/secret" --graph-url "$URL" --login-url "$URL" \
    --page-size "$PAGE" --no-progress --log-level info >"$WORK/$1.out" 2>"$WORK/$1.err"
  local rc=$?
  local wall rss
  wall=$(grep 'Elapsed (wall clock)' "$WORK/$1.err" | awk '{print $NF}')
  rss=$(grep 'Maximum resident set size' "$WORK/$1.err" | awk '{print $NF}')
  # m:ss.xx -> seconds
  local secs
  secs=$(awk -F: '{ if (NF == 3) print $1*3600 + $2*60 + $3; else print $1*60 + $2 }' <<<"$wall")
  echo "$secs $rss $rc"
}

printf '%-8s %-10s %9s %10s %10s %9s %12s %9s\n' items sync seconds items/s rss_MB exit copy_s ratio
i=0
for n in "${SIZES[@]}"; do
  i=$((i + 1))
  db=measure_$n
  tenant=$(printf 'd00d%04x-0000-4000-8000-%012d' "$i" "$n")
  psql -XAtq -d postgres -c "CREATE DATABASE $db" && psql -XAtq -d "$db" -c "CREATE EXTENSION tenant_inventory"
  types=()
  left=$n
  for k in $(seq 0 $((NTYPES - 1))); do
    entry=${ALL_TYPES[$k]}
    share=$((n / NTYPES))
    [ "$k" -eq $((NTYPES - 1)) ] && share=$left
    left=$((left - share))
    curl -sf -d "{\"path\":\"${entry#*:}\",\"count\":$share}" "$URL/_mock/tenant/$tenant/items" >/dev/null
    types+=("\"${entry%%:*}\"")
  done
  sel="{\"policy_types\":[$(IFS=,; echo "${types[*]}")]}"
  read -r s1 r1 c1 <<<"$(run_fetch "first-$n" "$db" "$tenant" "$sel")"
  read -r s2 r2 c2 <<<"$(run_fetch "again-$n" "$db" "$tenant" "$sel")"
  # Baseline: a bare COPY of the same rows into a plain table.
  psql -XAtq -d "$db" -c "COPY (SELECT policy_type, external_id, display_name, meta_jsonb, content_hash
                                  FROM inventory.inventory_items) TO STDOUT" >"$WORK/rows-$n.copy"
  psql -XAtq -d "$db" -c "CREATE TABLE bare (policy_type text, external_id text, display_name text,
                                             meta_jsonb jsonb, content_hash text)"
  ms=$(psql -XAt -d "$db" -c '\timing on' -c "\\copy bare FROM '$WORK/rows-$n.copy'" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p')
  cs=$(awk -v m="$ms" 'BEGIN { printf "%.3f", m / 1000 }')
  for row in "first $s1 $r1 $c1" "re-sync $s2 $r2 $c2"; do
    read -r kind s r c <<<"$row"
    printf '%-8s %-10s %9.2f %10.0f %10.1f %9s %12s %9.1f\n' "$n" "$kind" "$s" \
      "$(awk -v n="$n" -v s="$s" 'BEGIN { print (s > 0 ? n / s : 0) }')" \
      "$(awk -v r="$r" 'BEGIN { print r / 1024 }')" "$c" "$cs" \
      "$(awk -v s="$s" -v c="$cs" 'BEGIN { print (c > 0 ? s / c : 0) }')"
  done
done
echo "(page size: ${PAGE:-server default}; types: $NTYPES; mock latency: ${LATENCY} ms; ratio = fetcher seconds / bare COPY seconds)"
