#!/usr/bin/env bash
# Benchmarks of docs/design.md §10: every figure against its baseline, in the
# same run on the same cluster, printed as one table of ratios.
#
#   BENCH_SIZE=full bench/run.sh     (default; a few minutes on 2 cores)
#   BENCH_SIZE=ci bench/run.sh       (seconds; checks that the harness works)
#
# It builds nothing. It needs the tenant_inventory extension installed for
# the pg_config on PATH and, for rows 3 and 4, the load client
# (cmake --build build --target inventory-bench-load). Row 6 runs when the
# fetcher and the mock Graph server are built too.
#
# Cluster: when PGHOST or PGPORT is set, it uses that cluster (as PGUSER, who
# must be allowed to create databases, run CHECKPOINT and create the
# extension); otherwise, or with BENCH_OWN_CLUSTER=1, it starts a throwaway
# one with scripts/pgcluster.sh and stops it at the end.
#
# Environment:
#   BENCH_SIZE         ci | full
#   BENCH_DB           database to create (and drop) for the run (tinv_bench)
#   BENCH_KEEP_DB=1    keep that database afterwards
#   BENCH_OWN_CLUSTER=1, BENCH_PORT (55437), BENCH_WORK (a temporary directory)
#   BUILD_DIR          CMake build directory with the client (build)
#   BENCH_MARKDOWN     also write the results table as Markdown to this file
# The timed parts never decide the exit status; it is non-zero only when the
# harness fails or a baseline does not compute the same result as the
# extension.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bench=$root/bench
size=${BENCH_SIZE:-full}
db=${BENCH_DB:-tinv_bench}
build_dir=${BUILD_DIR:-$root/build}
case "$build_dir" in /*) ;; *) build_dir=$root/$build_dir ;; esac
client=${BENCH_LOAD_CLIENT:-$build_dir/bench/inventory-bench-load}

case "$size" in
  ci)
    sel_docs=300 meta_docs=3000 reps=1 reps_slow=1
    sync_items=10000 perrow_items=2500 batch=5000
    tenants_small=4 tenants_large=40 tenant_items=60 missing_reps=5
    fetch_small=1000 fetch_large=10000 breakdown_items=2000
    ;;
  full)
    sel_docs=20000 meta_docs=200000 reps=7 reps_slow=3
    sync_items=1000000 perrow_items=20000 batch=5000
    tenants_small=100 tenants_large=1000 tenant_items=300 missing_reps=30
    fetch_small=10000 fetch_large=1000000 breakdown_items=1000000
    ;;
  *) echo "bench: BENCH_SIZE must be ci or full, not '$size'" >&2; exit 2 ;;
esac

work=${BENCH_WORK:-$(mktemp -d /tmp/tinv-bench.XXXXXX)}
mkdir -p "$work"
chmod 755 "$work"
own_cluster=
cleanup() {
  local status=$?
  if [ -n "$own_cluster" ]; then
    "$root/scripts/pgcluster.sh" stop "$own_cluster" || true
  elif [ "${BENCH_KEEP_DB:-0}" != 1 ]; then
    psql -X -q -d postgres -c "DROP DATABASE IF EXISTS \"$db\"" >/dev/null 2>&1 || true
  fi
  if [ -z "${BENCH_WORK:-}" ] && [ $status = 0 ]; then rm -rf "$work"; fi
  [ $status = 0 ] || echo "bench: failed; logs in $work" >&2
}
trap cleanup EXIT

main() {
  say() { printf '%s\n' "$*"; }
  step() { printf '\n== %s\n' "$*"; }

  if [ "${BENCH_OWN_CLUSTER:-0}" = 1 ] || [ -z "${PGHOST:-}${PGPORT:-}" ]; then
    own_cluster=$work/pg
    step "starting a throwaway cluster in $own_cluster (fsync and synchronous_commit on, as in production)"
    # The test clusters run without fsync; the write-path rows below are
    # measured as production runs them.
    local env_lines
    env_lines=$(PGCLUSTER_EXTRA_CONF=$'fsync = on\nsynchronous_commit = on' \
                  "$root/scripts/pgcluster.sh" start "$own_cluster" "${BENCH_PORT:-55437}")
    eval "$env_lines"
  fi
  export PGDATABASE=$db
  # Serial plans and no JIT: every query, baseline or not, runs on one core
  # with the same executor.
  export PGOPTIONS="${PGOPTIONS:-} -c max_parallel_workers_per_gather=0 -c jit=off"

  pq() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }
  pqv() { psql -X -Atq -v ON_ERROR_STOP=1 "$@"; }
  put() { pq -c "SELECT bench.put('$1', $2)" >/dev/null; }
  # run_sql NAME FILE [psql args]: runs a section's SQL, its output in a log.
  run_sql() {
    local name=$1 file=$2
    shift 2
    if ! pq "$@" -f "$file" >"$work/$name.log" 2>&1; then
      cat "$work/$name.log" >&2
      echo "bench: section $name failed" >&2
      exit 1
    fi
  }
  kv() { sed -n "s/.*\\b$1=\\([^ ]*\\).*/\\1/p" <<<"$2"; }

  if ! pqv -d postgres -c "SELECT 1 FROM pg_available_extensions WHERE name = 'tenant_inventory'" | grep -q 1; then
    echo "bench: the tenant_inventory extension is not installed on this server (make && make install)" >&2
    exit 2
  fi
  pq -d postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS \"$db\"" -c "CREATE DATABASE \"$db\"" >/dev/null
  pq -c "CREATE EXTENSION tenant_inventory" >/dev/null
  run_sql setup "$bench/sql/setup.sql"

  cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)
  mem=$(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)
  server=$(pqv -c "SELECT current_setting('server_version')")
  settings=$(pqv -c "SELECT string_agg(name || '=' || current_setting(name), ', ' ORDER BY name) FROM pg_settings
                     WHERE name IN ('shared_buffers', 'fsync', 'synchronous_commit', 'full_page_writes', 'wal_level',
                                    'max_wal_size', 'work_mem', 'autovacuum', 'wal_compression', 'checkpoint_timeout')")
  commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
  if [ "$commit" != unknown ] && ! git -C "$root" diff --quiet HEAD -- sql extension core 2>/dev/null; then
    commit="$commit (sql/, extension/ or core/ modified)"
  fi
  say "tenant_inventory benchmarks, size $size, tree $commit"
  say "machine: $(nproc) cores, $mem, $cpu"
  say "PostgreSQL $server; $settings; sessions: max_parallel_workers_per_gather=0, jit=off"

  # ------------------------------------------------------------------ rows 1, 2
  step "1. selection_hash ($sel_docs documents)"
  run_sql selection_hash "$bench/sql/selection_hash.sql" -v n="$sel_docs" -v reps="$reps" -v reps_slow="$reps_slow"
  step "2. filter_meta ($meta_docs documents)"
  run_sql filter_meta "$bench/sql/filter_meta.sql" -v n="$meta_docs" -v reps="$reps"

  # ------------------------------------------------------------------ row 5
  # First, so that the database holds exactly these tenants when it is measured.
  step "5. missing_items ($tenants_small and $tenants_large tenants of $tenant_items items)"
  put missing.tenants_small "$tenants_small"
  put missing.tenants_large "$tenants_large"
  run_sql missing "$bench/sql/missing.sql" -v tenants_small="$tenants_small" -v tenants_large="$tenants_large" \
    -v items="$tenant_items" -v reps="$missing_reps"

  # ------------------------------------------------------------------ rows 3, 4
  tenant=00000000-0000-4000-8000-0000000a0001
  if [ -x "$client" ]; then
    step "3. first sync ($sync_items items; per-row baseline on $perrow_items)"
    pq >/dev/null <<'SQL'
CREATE UNLOGGED TABLE bench.floor_rows (
    policy_type text, external_id text, display_name text, meta_jsonb jsonb, content_hash text);
-- The physical floor of a first sync: the same rows made durable in a logged
-- table with item_state's primary key.
CREATE TABLE bench.floor_logged (
    tenant_id uuid NOT NULL DEFAULT '00000000-0000-4000-8000-0000000a0009',
    policy_type text NOT NULL, external_id text NOT NULL, display_name text, meta_jsonb jsonb, content_hash text,
    PRIMARY KEY (tenant_id, policy_type, external_id));
-- What a peer stores per item: the row the per-row and set-based upserts keep.
CREATE TABLE bench.peer_items (
    tenant_id uuid NOT NULL, policy_type text NOT NULL, external_id text NOT NULL,
    display_name text, meta_jsonb jsonb, content_hash text,
    first_seen_at timestamptz, first_seen_run_id bigint,
    last_seen_at timestamptz, last_seen_run_id bigint, content_changed_at timestamptz,
    PRIMARY KEY (tenant_id, policy_type, external_id));
SQL
    load() { "$client" "$@" --items "$sync_items" --types 4 --batch "$batch" 2>>"$work/client.log"; }
    # check_run RUN_ID CHANGED: the run saw every item and wrote what changed
    check_run() {
      local ok
      ok=$(pqv -c "SELECT items_observed = $sync_items AND items_updated = $2 AND items_created + items_updated + items_unchanged = $sync_items
                          AND status = 'succeeded'
                          AND NOT EXISTS (SELECT 1 FROM inventory.inventory_items i
                                           WHERE i.tenant_id = '$tenant' AND i.last_seen_run_id <> r.id)
                     FROM inventory.inventory_sync_runs r WHERE id = $1")
      if [ "$ok" != t ]; then
        pq -c "SELECT * FROM inventory.inventory_sync_runs WHERE id = $1" >&2
        echo "bench: run $1 did not record what it observed" >&2
        exit 1
      fi
    }
    item_bytes() { pqv -c "SELECT pg_total_relation_size('inventory.item_state')"; }
    peer_bytes() { pqv -c "SELECT pg_total_relation_size('bench.peer_items')"; }

    out=$(load copy --table bench.floor_rows)
    say "  bare COPY, unlogged:  $out"
    put sync.copy "$(kv seconds "$out")"
    pq -c "CHECKPOINT" >/dev/null
    out=$(load copy --table bench.floor_logged)
    say "  COPY, logged + PK:    $out"
    put sync.copy_logged "$(kv seconds "$out")"
    put sync.items "$sync_items"
    put sync.batch "$batch"

    out=$(load sync --tenant "$tenant" --wal)
    say "  extension first sync: $out"
    put sync.first "$(kv seconds "$out")"
    put sync.first_wal "$(kv wal_bytes "$out")"
    check_run "$(kv run_id "$out")" 0

    out=$(load perrow --table bench.peer_items --limit "$perrow_items" --autocommit \
            --tenant 00000000-0000-4000-8000-0000000a0002 --run-id 1)
    say "  per-row, autocommit:  $out"
    put sync.perrow_autocommit "$(kv seconds "$out")"
    put sync.perrow_items "$(kv rows "$out")"
    out=$(load perrow --table bench.peer_items --limit "$perrow_items" \
            --tenant 00000000-0000-4000-8000-0000000a0003 --run-id 1)
    say "  per-row, one tx:      $out"
    put sync.perrow_tx "$(kv seconds "$out")"

    step "4. re-sync ($sync_items items)"
    out=$(load peer-sync --table bench.peer_items --tenant "$tenant" --run-id 1 --wal)
    say "  peer first sync:      $out"
    put resync.peer_first "$(kv seconds "$out")"
    put resync.peer_first_wal "$(kv wal_bytes "$out")"
    pq -c "VACUUM ANALYZE inventory.item_state" -c "VACUUM ANALYZE bench.peer_items" >/dev/null

    before=$(item_bytes)
    out=$(load sync --tenant "$tenant" --wal)
    say "  extension, same:      $out"
    put resync.ours_same "$(kv seconds "$out")"
    put resync.ours_same_wal "$(kv wal_bytes "$out")"
    put resync.ours_same_growth "$(( $(item_bytes) - before ))"
    check_run "$(kv run_id "$out")" 0

    before=$(peer_bytes)
    out=$(load peer-sync --table bench.peer_items --tenant "$tenant" --run-id 2 --wal)
    say "  peer, same:           $out"
    put resync.peer_same "$(kv seconds "$out")"
    put resync.peer_same_wal "$(kv wal_bytes "$out")"
    put resync.peer_same_growth "$(( $(peer_bytes) - before ))"
    # What the peer leaves for autovacuum is not counted against it.
    pq -c "VACUUM ANALYZE inventory.item_state" -c "VACUUM ANALYZE bench.peer_items" >/dev/null

    changed_args=(--changed-permille 10 --generation 1)
    out=$(load sync --tenant "$tenant" --wal "${changed_args[@]}")
    say "  extension, 1% changed: $out"
    put resync.ours_changed "$(kv seconds "$out")"
    put resync.ours_changed_wal "$(kv wal_bytes "$out")"
    check_run "$(kv run_id "$out")" "$(kv changed "$out")"

    out=$(load peer-sync --table bench.peer_items --tenant "$tenant" --run-id 3 --wal "${changed_args[@]}")
    say "  peer, 1% changed:     $out"
    put resync.peer_changed "$(kv seconds "$out")"
    put resync.peer_changed_wal "$(kv wal_bytes "$out")"
  else
    step "3, 4. skipped: load client $client not built (cmake --build build --target inventory-bench-load)"
  fi

  # ------------------------------------------------------------------ row 6
  step "6. fetcher against the local mock"
  if [ -x "$build_dir/fetcher/inventory-fetch" ] && [ -x "$build_dir/mock/inventory-mock-graph" ]; then
    if ! BENCH_WORK_DIR=$work BUILD_DIR=$build_dir FETCH_SMALL=$fetch_small FETCH_LARGE=$fetch_large \
         "$bench/fetcher.sh" >"$work/fetcher.log" 2>&1; then
      tail -n 20 "$work/fetcher.log" >&2
      say "  fetcher benchmark failed (see above); row 6 not measured"
    else
      cat "$work/fetcher.log"
    fi
  else
    say "  skipped: $build_dir/fetcher/inventory-fetch or $build_dir/mock/inventory-mock-graph not built"
  fi

  # ------------------------------------------------------------- row 4 detail
  step "4. where an unchanged re-sync's time goes ($breakdown_items items, batches of $batch)"
  pq -v n="$breakdown_items" -v b="$batch" -f "$bench/resync_breakdown.sql" | sed -n '/^ *what/,/rows)/p'

  # ------------------------------------------------------------------ report
  step "results (ratio: baseline/ours for '>=' targets, ours/baseline for '<=' targets)"
  pq -f "$bench/sql/report.sql"
  if [ -n "${BENCH_MARKDOWN:-}" ]; then
    pq -v format=markdown -f "$bench/sql/report.sql" >"$BENCH_MARKDOWN"
    say "Markdown table written to $BENCH_MARKDOWN"
  fi
}

# The whole script is parsed before it runs (main), so editing it during a
# run cannot change what the run does.
main "$@"
exit
