#!/usr/bin/env bash
# Row 6 of bench/run.sh: inventory-fetch against the local mock Graph server.
#
# One tenant with FETCH_LARGE items of one policy type is synced by the real
# fetcher (wall time, items/s, peak RSS from /usr/bin/time -v); the rows it
# wrote are then exported and loaded again with one bare COPY into an
# unlogged table (the floor). A tenant of FETCH_SMALL items gives the peak RSS
# to compare with: memory must not grow with the tenant's size.
#
# Called by run.sh with the PG* environment of the benchmark database and
# BUILD_DIR, BENCH_WORK_DIR, FETCH_SMALL, FETCH_LARGE; writes bench.measure.
set -euo pipefail

build_dir=${BUILD_DIR:?}
work=${BENCH_WORK_DIR:?}/fetcher
small=${FETCH_SMALL:?}
large=${FETCH_LARGE:?}
fetch=$build_dir/fetcher/inventory-fetch
mock=$build_dir/mock/inventory-mock-graph
mkdir -p "$work"
chmod 755 "$work"

for tool in curl /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "fetcher bench: $tool is required" >&2; exit 2; }
done

pq() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }
put() { pq -c "SELECT bench.put('$1', $2)" >/dev/null; }

secret=bench-Mock-Secret-7f3a
printf '%s\n' "$secret" >"$work/secret"
"$mock" --port 0 --port-file "$work/mock.port" --tenants 0 --client-secret "$secret" \
  >"$work/mock.log" 2>&1 &
mock_pid=$!
trap 'kill "$mock_pid" 2>/dev/null; wait "$mock_pid" 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  [ -s "$work/mock.port" ] && break
  sleep 0.1
done
[ -s "$work/mock.port" ] || { cat "$work/mock.log" >&2; echo "fetcher bench: the mock did not start" >&2; exit 1; }
url=http://127.0.0.1:$(cat "$work/mock.port")
path=deviceManagement/deviceConfigurations
selection='{"policy_types":["deviceConfiguration"]}'

# sync_tenant TENANT ITEMS LABEL: prints "seconds peak_rss_bytes"
sync_tenant() {
  local tenant=$1 items=$2 label=$3 t0 t1 rss
  curl -sf -H 'Content-Type: application/json' -d "{\"path\":\"$path\",\"count\":$items}" \
    "$url/_mock/tenant/$tenant/items" >/dev/null
  t0=$(date +%s.%N)
  /usr/bin/time -v -o "$work/time.$label" \
    "$fetch" sync --tenant "$tenant" --selection "$selection" --db "dbname=$PGDATABASE" \
      --client-id bench-client --client-secret-file "$work/secret" \
      --graph-url "$url" --login-url "$url" --no-progress --log-level warn \
      >"$work/fetch.$label.log" 2>&1 || { cat "$work/fetch.$label.log" >&2; return 1; }
  t1=$(date +%s.%N)
  rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$work/time.$label")
  awk -v a="$t0" -v b="$t1" -v r="$rss" 'BEGIN { printf "%.3f %d\n", b - a, r * 1024 }'
}

small_tenant=00000000-0000-4000-8000-0000000f0001
large_tenant=00000000-0000-4000-8000-0000000f0002
read -r _ rss_small < <(sync_tenant "$small_tenant" "$small" small)
read -r seconds rss_large < <(sync_tenant "$large_tenant" "$large" large)
stored=$(psql -X -Atq -c "SELECT count(*) FROM inventory.inventory_items WHERE tenant_id = '$large_tenant'")
[ "$stored" = "$large" ] || { echo "fetcher bench: $stored of $large items stored" >&2; exit 1; }
echo "  fetcher: $large items in $seconds s, peak RSS $((rss_large / 1024)) kB ($small items: $((rss_small / 1024)) kB)"

# The floor: the same rows, one COPY from a file into an unlogged table.
pq >/dev/null <<SQL
\copy (SELECT policy_type, external_id, display_name, meta_jsonb, content_hash FROM inventory.inventory_items WHERE tenant_id = '$large_tenant') TO '$work/rows.tsv'
CREATE UNLOGGED TABLE bench.fetch_floor (policy_type text, external_id text, display_name text, meta_jsonb jsonb, content_hash text);
SELECT clock_timestamp() AS t0 \gset
\copy bench.fetch_floor FROM '$work/rows.tsv'
SELECT bench.put('fetch.copy', extract(epoch FROM clock_timestamp() - :'t0'::timestamptz));
SQL

put fetch.items "$large"
put fetch.items_small "$small"
put fetch.ours "$seconds"
put fetch.rss_small "$rss_small"
put fetch.rss_large "$rss_large"
