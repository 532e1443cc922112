#!/usr/bin/env bash
# The main job on an embedded default: a throwaway PostgreSQL cluster, the
# bundled mock Microsoft Graph upstream with three generated tenants, two
# syncs of every tenant with inventory-fetch (the upstream changes in between:
# objects deleted and renamed, one type forbidden for one tenant, throttling
# on), then a report from the views.
#
#   scripts/demo.sh            build what is missing, run the demo, print the report;
#                              the cluster stays up for exploring with psql
#   scripts/demo.sh --check    the same, then fail unless the report has missing
#                              items of both confidences; stops everything after
#   scripts/demo.sh stop       stop everything the demo started and remove its files
#
# Environment: DEMO_DIR (default /tmp/tenant_inventory_demo), DEMO_PORT
# (default 54390), DEMO_SHORT=1 for a small upstream (used by the tests).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
dir=${DEMO_DIR:-/tmp/tenant_inventory_demo}
port=${DEMO_PORT:-54390}
db=inventory_demo
mode=${1:-run}

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

stop_mock() {
  if [ -f "$dir/mock.pid" ]; then
    kill "$(cat "$dir/mock.pid")" 2>/dev/null || true
    rm -f "$dir/mock.pid"
  fi
}

if [ "$mode" = stop ]; then
  stop_mock
  scripts/pgcluster.sh stop "$dir/pg" || true
  rm -rf "$dir"
  echo "demo stopped and removed ($dir)"
  exit 0
fi
case "$mode" in run|--check) ;; *) echo "usage: $0 [--check|stop]" >&2; exit 2 ;; esac

sudo=""
if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi

say "dependencies and build"
scripts/deps.sh
make -s -j"$(nproc)" >/dev/null
$sudo make -s install >/dev/null
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target inventory-fetch inventory-mock-graph >/dev/null
fetch=build/fetcher/inventory-fetch
mock=build/mock/inventory-mock-graph

say "PostgreSQL cluster ($dir/pg, port $port)"
mkdir -p "$dir"
chmod 755 "$dir"
eval "$(scripts/pgcluster.sh start "$dir/pg" "$port")"
if ! psql -X -qAt -d postgres -c "SELECT 1 FROM pg_database WHERE datname = '$db'" | grep -q 1; then
  psql -X -q -d postgres -c "CREATE DATABASE $db"
fi
psql -X -q -d "$db" -c "CREATE EXTENSION IF NOT EXISTS tenant_inventory"
export PGDATABASE=$db

say "mock Microsoft Graph upstream"
stop_mock
if [ ! -f "$dir/client_secret" ]; then
  (umask 077; openssl rand -base64 30 | tr -d '\n' >"$dir/client_secret")
fi
if [ "${DEMO_SHORT:-0}" = 1 ]; then per_type=12; else per_type=40; fi
rm -f "$dir/mock.port"
"$mock" --port 0 --port-file "$dir/mock.port" --foreign-port -1 --tenants 3 --tenant-seed demo \
  --items-per-type "$per_type" --client-secret "$(cat "$dir/client_secret")" >"$dir/mock.log" 2>&1 &
echo $! >"$dir/mock.pid"
for _ in $(seq 1 100); do [ -s "$dir/mock.port" ] && break; sleep 0.1; done
[ -s "$dir/mock.port" ] || { echo "the mock did not start:"; cat "$dir/mock.log"; exit 1; }
url="http://127.0.0.1:$(cat "$dir/mock.port")"
mapfile -t tenants < <(curl -fsS "$url/_mock/tenants" | jq -r '.tenants[]')
contoso=${tenants[0]} fabrikam=${tenants[1]} northwind=${tenants[2]}
admin() { curl -fsS -X POST -H 'Content-Type: application/json' -d "$2" "$url/_mock/$1" >/dev/null; }
# Tenants of different sizes: a few types are larger in some tenants.
admin "tenant/$contoso/items" "{\"path\":\"deviceManagement/configurationPolicies\",\"count\":$((per_type * 3))}"
admin "tenant/$fabrikam/items" "{\"path\":\"deviceAppManagement/mobileApps\",\"count\":$((per_type * 2))}"
admin "tenant/$northwind/items" "{\"path\":\"deviceManagement/deviceConfigurations\",\"count\":$((per_type * 2))}"
admin "tenant/$northwind/items" "{\"path\":\"deviceManagement/assignmentFilters\",\"count\":5}"
# A little network latency, as a real upstream has.
admin latency '{"delay_ms":15}'
echo "upstream $url: Contoso $contoso, Fabrikam $fabrikam, Northwind $northwind"

cat >"$dir/tenants.json" <<JSON
{
  "db": "dbname=$db",
  "graph_url": "$url",
  "login_url": "$url",
  "parallel_tenants": 3,
  "per_tenant_concurrency": 4,
  "max_concurrency": 8,
  "defaults": {
    "client_id": "11111111-2222-4333-8444-555555555555",
    "client_secret_file": "$dir/client_secret",
    "selection": {"policy_types": ["deviceConfiguration", "deviceCompliancePolicy", "configurationPolicy",
                                   "compliancePolicy", "groupPolicyConfiguration", "deviceManagementScript",
                                   "deviceHealthScript", "windowsAutopilotDeploymentProfile",
                                   "deviceEnrollmentConfiguration", "mobileApp", "managedAppPolicy",
                                   "assignmentFilter"]}
  },
  "tenants": [
    {"tenant_id": "$contoso", "name": "Contoso"},
    {"tenant_id": "$fabrikam", "name": "Fabrikam"},
    {"tenant_id": "$northwind", "name": "Northwind"}
  ]
}
JSON

sync() {
  local rc=0
  "$fetch" sync --config "$dir/tenants.json" --log-level info --metrics-file "$dir/metrics-$1.prom" || rc=$?
  echo "inventory-fetch exit code: $rc (0 all succeeded, 1 some partial or failed)"
}

say "sync 1: every tenant, twelve policy types"
sync 1

say "the upstream changes"
echo "Contoso:   3 device configurations deleted, 2 settings catalog policies renamed"
admin "tenant/$contoso/delete" '{"path":"deviceManagement/deviceConfigurations","indexes":[1,4,7]}'
admin "tenant/$contoso/rename" '{"path":"deviceManagement/configurationPolicies","indexes":[0,2],"suffix":" (v2)"}'
echo "Fabrikam:  apps forbidden (403), 2 compliance policies deleted"
admin "tenant/$fabrikam/delete" '{"path":"deviceManagement/deviceCompliancePolicies","indexes":[0,3]}'
echo "Northwind: throttled (429 with Retry-After on its first requests), 4 scripts deleted"
admin "tenant/$northwind/delete" '{"path":"deviceManagement/deviceManagementScripts","indexes":[0,1,2,3]}'
admin faults "[{\"tenant\":\"$fabrikam\",\"path\":\"deviceAppManagement/mobileApps\",\"kind\":\"forbidden\",\"times\":-1},
               {\"tenant\":\"$northwind\",\"path\":\"*\",\"kind\":\"throttle\",\"retry_after\":\"1\",\"times\":6}]"

say "sync 2"
sync 2
stats=$(curl -fsS "$url/_mock/stats")
echo "upstream saw $(jq .requests_total <<<"$stats") Graph requests, $(jq '.responses_by_status["429"] // 0' <<<"$stats") throttled;" \
     "max in flight: $(jq .max_in_flight_total <<<"$stats") overall"
stop_mock

say "report"
psql -X -q -v contoso="$contoso" -v fabrikam="$fabrikam" -v northwind="$northwind" -f scripts/demo_report.sql

if [ "$mode" = --check ]; then
  high=$(psql -X -qAt -c "SELECT count(*) FROM inventory.missing_items WHERE confidence = 'high'")
  low=$(psql -X -qAt -c "SELECT count(*) FROM inventory.missing_items WHERE confidence = 'low'")
  scripts/pgcluster.sh stop "$dir/pg" || true
  rm -rf "$dir"
  echo "missing items: $high high confidence, $low low confidence"
  if [ "$high" -gt 0 ] && [ "$low" -gt 0 ]; then echo "demo check passed"; exit 0; fi
  echo "demo check FAILED: expected missing items of both confidences"; exit 1
fi

say "explore"
echo "The cluster keeps running:  psql -h $dir/pg/sock -p $port -U postgres $db"
echo "Run the demo again:         scripts/demo.sh     (reuses the cluster and the build)"
echo "Remove everything:          scripts/demo.sh stop"
