#!/usr/bin/env bash
# Rows 4 (through the fetcher) and 6 of bench/run.sh: inventory-fetch against
# the local mock Graph server, pages of 999 items (Graph's largest $top).
#
# 6. One tenant with FETCH_LARGE items of one policy type is synced by the
#    real fetcher: wall time, the database time it reports (db_seconds: COPY,
#    apply_staged, complete_policy_type), peak RSS (/usr/bin/time -v). The
#    rows it wrote are then exported and loaded again with one bare COPY into
#    an unlogged table (information). A tenant of FETCH_SMALL items gives the
#    peak RSS to compare with: memory must not grow with the tenant's size.
# 4. The large tenant is re-synced after 1% of its items were renamed in the
#    mock (the manifest path: unchanged items staged as keys), then once more
#    with nothing changed: wall time, database time, WAL, item table growth.
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
# Pages of up to 999 items (the mock's default page sizes are Graph's
# defaults for a request without $top).
printf '[{"path": "deviceManagement/deviceConfigurations", "page_size": 999}]\n' >"$work/types.json"
"$mock" --port 0 --port-file "$work/mock.port" --tenants 0 --client-secret "$secret" \
  --types-file "$work/types.json" >"$work/mock.log" 2>&1 &
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

lsn() { psql -X -Atq -c "SELECT pg_current_wal_lsn()"; }
wal_since() { psql -X -Atq -c "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '$1')"; }
item_bytes() { psql -X -Atq -c "SELECT pg_total_relation_size('inventory.item_state')"; }

# sync_tenant TENANT LABEL [ARGS]: prints "seconds db_seconds peak_rss_bytes"
sync_tenant() {
  local tenant=$1 label=$2 t0 t1 rss db
  shift 2
  t0=$(date +%s.%N)
  /usr/bin/time -v -o "$work/time.$label" \
    "$fetch" sync --tenant "$tenant" --selection "$selection" --db "dbname=$PGDATABASE" \
      --client-id bench-client --client-secret-file "$work/secret" --page-size 999 \
      --graph-url "$url" --login-url "$url" --no-progress --log-level info "$@" \
      >"$work/fetch.$label.log" 2>&1 || { cat "$work/fetch.$label.log" >&2; return 1; }
  t1=$(date +%s.%N)
  rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$work/time.$label")
  db=$(sed -n 's/.*run finished.* db_seconds=\([0-9.]*\).*/\1/p' "$work/fetch.$label.log" | tail -n1)
  [ -n "$db" ] || { cat "$work/fetch.$label.log" >&2; echo "fetcher bench: no db_seconds in the log" >&2; return 1; }
  awk -v a="$t0" -v b="$t1" -v d="$db" -v r="$rss" 'BEGIN { printf "%.3f %s %d\n", b - a, d, r * 1024 }'
}
set_items() {
  curl -sf -H 'Content-Type: application/json' -d "{\"path\":\"$path\",\"count\":$2}" \
    "$url/_mock/tenant/$1/items" >/dev/null
}
# check_last_run TENANT CREATED UPDATED: the run saw every item and wrote what changed
check_last_run() {
  local got
  got=$(psql -X -Atq -c "SELECT items_observed || ' ' || items_created || ' ' || items_updated || ' ' || status
                           FROM inventory.inventory_sync_runs WHERE tenant_id = '$1' ORDER BY id DESC LIMIT 1")
  [ "$got" = "$large $2 $3 succeeded" ] || { echo "fetcher bench: last run of $1: '$got', want '$large $2 $3 succeeded'" >&2; exit 1; }
}

small_tenant=00000000-0000-4000-8000-0000000f0001
large_tenant=00000000-0000-4000-8000-0000000f0002
set_items "$small_tenant" "$small"
set_items "$large_tenant" "$large"
read -r _ _ rss_small < <(sync_tenant "$small_tenant" small)
read -r seconds db_seconds rss_large < <(sync_tenant "$large_tenant" large)
check_last_run "$large_tenant" "$large" 0
echo "  fetcher, first sync: $large items in $seconds s (database $db_seconds s), peak RSS $((rss_large / 1024)) kB ($small items: $((rss_small / 1024)) kB)"
put fetch.db "$db_seconds"

# Row 4 through the fetcher: 1% renamed, then nothing changed. The whole
# database is vacuumed first (outside the timings), so that no autovacuum of
# an earlier row's tables writes WAL or takes a core during the steps.
psql -X -q -c "VACUUM ANALYZE" >/dev/null
changed=$((large / 100))
step=$((large / changed))
indexes=$(awk -v n="$changed" -v s="$step" 'BEGIN { for (i = 0; i < n; i++) printf "%s%d", (i ? "," : ""), i * s }')
curl -sf -H 'Content-Type: application/json' -d "{\"path\":\"$path\",\"indexes\":[$indexes]}" \
  "$url/_mock/tenant/$large_tenant/rename" >/dev/null
psql -X -q -c "CHECKPOINT" >/dev/null
start=$(lsn)
read -r r_wall r_db r_rss < <(sync_tenant "$large_tenant" resync_changed)
r_wal=$(wal_since "$start")
check_last_run "$large_tenant" 0 "$changed"
echo "  fetcher, re-sync with $changed of $large renamed: $r_wall s (database $r_db s), WAL $((r_wal / 1024)) kB, peak RSS $((r_rss / 1024)) kB"
put resync.fetch_changed "$r_wall"
put resync.fetch_changed_db "$r_db"
put resync.fetch_changed_wal "$r_wal"
put resync.fetch_rss "$r_rss"
psql -X -q -c "VACUUM ANALYZE" -c "CHECKPOINT" >/dev/null
before=$(item_bytes)
start=$(lsn)
read -r s_wall s_db _ < <(sync_tenant "$large_tenant" resync_same)
s_wal=$(wal_since "$start")
check_last_run "$large_tenant" 0 0
echo "  fetcher, re-sync with nothing changed: $s_wall s (database $s_db s), WAL $((s_wal / 1024)) kB"
put resync.fetch_same "$s_wall"
put resync.fetch_same_db "$s_db"
put resync.fetch_same_wal "$s_wal"
put resync.fetch_same_growth "$(( $(item_bytes) - before ))"

# What this design cannot do without, for the same tenant: one read of its
# item rows (the manifest's and the settle's scan each cost about this),
# the manifest out of the database and the keys back in.
pq >/dev/null <<SQL
SELECT clock_timestamp() AS t0 \gset
SELECT count(*) FROM inventory.item_state
 WHERE tenant_id = '$large_tenant' AND absent_since_run_id IS NULL AND row_fp IS NOT NULL;
SELECT bench.put('resync.floor_scan', extract(epoch FROM clock_timestamp() - :'t0'::timestamptz));
SELECT clock_timestamp() AS t0 \gset
\copy (SELECT policy_type, external_id, row_fp FROM inventory.item_state WHERE tenant_id = '$large_tenant' AND absent_since_run_id IS NULL) TO '$work/keys.tsv'
SELECT bench.put('resync.floor_out', extract(epoch FROM clock_timestamp() - :'t0'::timestamptz));
CREATE TEMP TABLE floor_keys (policy_type text, external_id text, row_fp text);
SELECT clock_timestamp() AS t0 \gset
\copy floor_keys FROM '$work/keys.tsv'
SELECT bench.put('resync.floor_in', extract(epoch FROM clock_timestamp() - :'t0'::timestamptz));
SQL
rm -f "$work/keys.tsv"

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
