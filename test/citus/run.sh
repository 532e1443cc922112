#!/usr/bin/env bash
# The extension on a three-node Citus cluster (a coordinator and two workers,
# scripts/citus.sh), its tables distributed by tenant_id with exactly the SQL
# of the README's "Scale-out (Citus)" section:
#   - the README's distribution SQL runs and leaves the layout it describes,
#   - pg_regress (test/sql) and the isolation specs (test/specs) against the
#     coordinator (alternative expected outputs for Citus: test/citus/expected),
#   - an end-to-end sync of several tenants (inventory-fetch against the mock
#     Graph) on Citus and on a plain PostgreSQL cluster: every view gives the
#     same rows (ids and timestamps normalised),
#   - every per-tenant statement is single-shard: the syncs and the
#     tenant-scoped reads run with citus.multi_task_query_log_level = error
#     (a statement touching more than one shard fails them), EXPLAIN of the
#     tenant-scoped views shows one task.
#
#   test/citus/run.sh            (BUILD_DIR=... as for test/e2e/run.sh)
#
# Citus must be installed (scripts/citus.sh build), or CITUS_SOURCE must name
# its source archive: the layer builds it then. Without either it fails.
# Environment: BUILD_DIR (default ./build), CITUS_BASEPORT (default 55200:
# coordinator, workers on +1 and +2, the plain cluster on +3), CITUS_KEEP=1
# keeps the work directory (clusters stopped), CITUS_ONLY="readme regress
# isolation sync shards" runs a subset.
#
# Prints one line per check and "N passed, N failed".
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILD_DIR=$(cd "${BUILD_DIR:-$ROOT/build}" 2>/dev/null && pwd) || {
  echo "citus: build directory not found: ${BUILD_DIR:-$ROOT/build}" >&2
  echo "0 passed, 1 failed"
  exit 2
}
FETCH=$BUILD_DIR/fetcher/inventory-fetch
MOCK=$BUILD_DIR/mock/inventory-mock-graph
for bin in "$FETCH" "$MOCK"; do
  [ -x "$bin" ] || { echo "citus: missing binary $bin (build first)" >&2; echo "0 passed, 1 failed"; exit 2; }
done
for tool in curl jq psql; do
  command -v "$tool" >/dev/null || { echo "citus: $tool is required" >&2; echo "0 passed, 1 failed"; exit 2; }
done

HARNESS_VERBOSE=1
HARNESS_RETRY_SCALE=0.05
# shellcheck source=../lib/harness.sh
. "$ROOT/test/lib/harness.sh"

BASE=${CITUS_BASEPORT:-55200}
PLAIN_PORT=$((BASE + 3))
WORK=$(mktemp -d /tmp/tinv-citus.XXXXXX)
chmod 755 "$WORK"
CDIR=$WORK/citus
PDIR=$WORK/plain
SECRET_FILE=$WORK/secret
HARNESS_MOCK_SECRET="citus-Mock-Secret-7c2e"
CLIENT_ID=4e5f6a7b-8c9d-4e0f-8a1b-2c3d4e5f6a7b
CASE=setup
T0=$SECONDS

cleanup() {
  local pid
  stop_mock
  for pid in "${BG_PIDS[@]}"; do kill -9 "$pid" 2>/dev/null; done
  "$ROOT/scripts/citus.sh" stop "$CDIR" >/dev/null 2>&1
  "$ROOT/scripts/pgcluster.sh" stop "$PDIR" >/dev/null 2>&1
  if [ "${CITUS_KEEP:-0}" = 1 ]; then
    echo "citus: work directory kept: $WORK"
  else
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

want() { [ -z "${CITUS_ONLY:-}" ] || [[ " $CITUS_ONLY " == *" $1 "* ]]; }
# Connection options of the coordinator and of the plain cluster.
C_OPTS=()
P_OPTS=()
csql() { psql -XAtq -v ON_ERROR_STOP=1 "${C_OPTS[@]}" -d "$1" -c "$2"; }
psql_plain() { psql -XAtq -v ON_ERROR_STOP=1 "${P_OPTS[@]}" -d "$1" -c "$2"; }
# first_error FILE: the first ERROR line of a psql or pg_regress output, for a failure detail.
first_error() { grep -m1 -E 'ERROR|FATAL' "$1" | cut -c1-300; }

# ---------------------------------------------------------------- Citus

if [ ! -f "$(pg_config --pkglibdir)/citus.so" ]; then
  if [ -z "${CITUS_SOURCE:-}" ]; then
    fail "Citus is installed" "citus.so is not installed and CITUS_SOURCE is not set: set CITUS_SOURCE to the Citus 13.0.5 source archive (scripts/citus.sh build)"
    harness_summary
    exit 1
  fi
  say "citus: building Citus from $CITUS_SOURCE"
  "$ROOT/scripts/citus.sh" build || { fail "building Citus" "scripts/citus.sh build failed"; harness_summary; exit 1; }
fi
say "citus: work directory $WORK"
env_lines=$("$ROOT/scripts/citus.sh" start "$CDIR" "$BASE") || {
  fail "the Citus cluster starts" "$(tail -n 5 "$CDIR"/*/server.log 2>/dev/null | tr '\n' ' ')"
  harness_summary
  exit 1
}
eval "$env_lines"
export PGHOST PGPORT PGUSER PGDATABASE
C_OPTS=(-h "$PGHOST" -p "$PGPORT" -U postgres)
eval "$("$ROOT/scripts/pgcluster.sh" start "$PDIR" "$PLAIN_PORT" | sed 's/^export /PLAIN_/; s/ PG/ PLAIN_PG/g')" || {
  fail "the plain PostgreSQL cluster starts"
  harness_summary
  exit 1
}
P_OPTS=(-h "$PLAIN_PGHOST" -p "$PLAIN_PGPORT" -U postgres)
export PGOPTIONS="-c client_min_messages=warning"
say "citus: coordinator $PGHOST:$PGPORT, workers on $((BASE + 1)) and $((BASE + 2)); plain PostgreSQL on $PLAIN_PORT"
say "citus: $(csql postgres "SELECT 'PostgreSQL ' || current_setting('server_version') || ', Citus ' || default_version FROM pg_available_extensions WHERE name = 'citus'")"
if ! csql postgres "SELECT 1 FROM pg_available_extensions WHERE name = 'tenant_inventory'" | grep -q 1; then
  fail "the tenant_inventory extension is installed" "make && make install"
  harness_summary
  exit 1
fi

# The README's distribution SQL, between its marker comments.
README_SQL=$WORK/readme-distribute.sql
awk '/-- citus-distribute:end/ {on = 0} on {print} /-- citus-distribute:begin/ {on = 1}' "$ROOT/README.md" >"$README_SQL"

# citus_db DB: a database on every node with citus and the extension, its
# tables distributed by the README's SQL. Output in WORK/DB.setup.log.
citus_db() {
  local db=$1 log=$WORK/$1.setup.log
  "$ROOT/scripts/citus.sh" createdb "$CDIR" "$db" >"$log" 2>&1 &&
    csql "$db" "CREATE EXTENSION tenant_inventory" >>"$log" 2>&1 &&
    psql -XAtq -v ON_ERROR_STOP=1 "${C_OPTS[@]}" -d "$db" -f "$README_SQL" >>"$log" 2>&1
}

# ---------------------------------------------------------------- README

CASE=readme
DISTRIBUTED=0
if want readme || want regress || want isolation || want sync || want shards; then
  check "the README's Scale-out section has the marked SQL block" grep -q "create_distributed_table" "$README_SQL"
  if citus_db citus_layout; then
    pass "the README's distribution SQL runs on a fresh database"
    DISTRIBUTED=1
  else
    fail "the README's distribution SQL runs on a fresh database" "$(first_error "$WORK/citus_layout.setup.log")"
  fi
  # (citus_tables and citus_shards leave out tables that belong to an extension.)
  layout=$(csql citus_layout "SELECT string_agg(logicalrelid::text || ':' || CASE partmethod WHEN 'h' THEN 'distributed' WHEN 'n' THEN 'reference' ELSE partmethod::text END
                                                || ':' || coalesce(column_to_column_name(logicalrelid, partkey), '-'), ' ' ORDER BY logicalrelid::text)
                                FROM pg_dist_partition WHERE logicalrelid::text LIKE 'inventory.%'" 2>&1)
  expect_eq "tenant tables distributed by tenant_id, registries reference tables" "$layout" \
    "inventory.inventory_sync_run_types:distributed:tenant_id inventory.inventory_sync_runs:distributed:tenant_id inventory.item_changes:distributed:tenant_id inventory.item_state:distributed:tenant_id inventory.item_verifications:distributed:tenant_id inventory.meta_keys:reference:- inventory.policy_types:reference:- inventory.trust_settings:reference:- inventory.type_watermarks:distributed:tenant_id"
  expect_eq "the tenant tables are co-located" \
    "$(csql citus_layout "SELECT count(DISTINCT colocationid) || '/' || count(*) FROM pg_dist_partition WHERE logicalrelid::text LIKE 'inventory.%' AND partmethod = 'h'" 2>&1)" 1/6
  expect_eq "their shards are spread over both workers" \
    "$(csql citus_layout "SELECT count(DISTINCT n.nodeport) FROM pg_dist_shard s JOIN pg_dist_placement p USING (shardid) JOIN pg_dist_node n USING (groupid)
                           WHERE s.logicalrelid = 'inventory.item_state'::regclass" 2>&1)" 2
  expect_eq "the extension exists on every worker" \
    "$(csql citus_layout "SELECT string_agg(result, ',') FROM run_command_on_workers(\$\$SELECT extversion FROM pg_extension WHERE extname = 'tenant_inventory'\$\$)" 2>&1)" \
    "$(csql citus_layout "SELECT extversion || ',' || extversion FROM pg_extension WHERE extname = 'tenant_inventory'")"
fi

# ---------------------------------------------------------------- pg_regress and isolation

PGXS_DIR=$(pg_config --pkglibdir)/pgxs
# An input directory of our own: test/sql and test/specs as they are, the
# expected outputs of test/expected plus the Citus alternatives.
INPUT=$WORK/input
mkdir -p "$INPUT/expected"
ln -s "$ROOT/test/sql" "$INPUT/sql"
ln -s "$ROOT/test/specs" "$INPUT/specs"
cp "$ROOT"/test/expected/*.out "$INPUT/expected/"
if compgen -G "$HERE/expected/*.out" >/dev/null; then cp "$HERE"/expected/*.out "$INPUT/expected/"; fi

# regress_run KIND DB TESTS...: runs pg_regress or pg_isolation_regress on the
# coordinator in DB (prepared, --use-existing); one check per test.
regress_run() {
  local kind=$1 db=$2 bin out t line
  shift 2
  if [ "$kind" = regress ]; then bin=$PGXS_DIR/src/test/regress/pg_regress; else bin=$PGXS_DIR/src/test/isolation/pg_isolation_regress; fi
  out=$WORK/$kind-out
  mkdir -p "$out"
  # From the repository root, as `make installcheck` runs them (tests read
  # test/vectors), with the client's default messages (no PGOPTIONS).
  (cd "$ROOT" && PGOPTIONS= "$bin" --inputdir="$INPUT" --outputdir="$out" --use-existing --dbname="$db" \
    --host="$PGHOST" --port="$PGPORT" --user=postgres "$@" >"$out/run.log" 2>&1)
  for t in "$@"; do
    line=$(grep -E "^(not ok|ok|test)? *[0-9]* *[-]? *$t( |\$).*(\.\.\.|ok|FAILED|failed)" "$out/run.log" | head -n1)
    if [[ "$line" == *"... ok"* ]] || [[ "$line" =~ ^ok ]]; then
      pass "$t"
    else
      local diff=
      [ -f "$out/regression.diffs" ] && diff=$(awk -v t="/$t.out" 'index($0, "diff ") == 1 {on = index($0, t) > 0} on && /^[+-][^+-]/ {print; n++} n >= 4 {exit}' "$out/regression.diffs" | tr '\n' ' ' | cut -c1-400)
      fail "$t" "${diff:-${line:-no result line}}"
    fi
  done
}

if want regress; then
  CASE=regress
  if [ $DISTRIBUTED = 1 ] && citus_db tinv_regress; then
    mapfile -t tests < <(cd "$ROOT/test/sql" && ls *.sql | sed 's/\.sql$//' | sort)
    regress_run regress tinv_regress "${tests[@]}"
  else
    fail "pg_regress on the distributed schema" "the database could not be prepared: $(first_error "$WORK/tinv_regress.setup.log" 2>/dev/null || first_error "$WORK/citus_layout.setup.log")"
  fi
fi

if want isolation; then
  CASE=isolation
  if [ $DISTRIBUTED = 1 ] && citus_db tinv_isolation; then
    # The isolation tester sees a session as waiting only when it waits on a
    # lock of the coordinator; Citus's own check also sees it waiting on a
    # worker (what its own isolation suite installs the same way).
    csql tinv_isolation "ALTER FUNCTION pg_catalog.pg_isolation_test_session_is_blocked(integer, integer[])
                           RENAME TO old_pg_isolation_test_session_is_blocked;
                         ALTER FUNCTION pg_catalog.citus_isolation_test_session_is_blocked(integer, integer[])
                           RENAME TO pg_isolation_test_session_is_blocked" >/dev/null
    mapfile -t specs < <(cd "$ROOT/test/specs" && ls *.spec | sed 's/\.spec$//' | sort)
    regress_run isolation tinv_isolation "${specs[@]}"
  else
    fail "isolation specs on the distributed schema" "the database could not be prepared: $(first_error "$WORK/tinv_isolation.setup.log" 2>/dev/null || first_error "$WORK/citus_layout.setup.log")"
  fi
fi

# ---------------------------------------------------------------- sync: Citus against plain PostgreSQL

DC=deviceManagement/deviceConfigurations
CP=deviceManagement/configurationPolicies
MA=deviceAppManagement/mobileApps
TENANTS=(c1000001-0000-4000-8000-000000000001 c1000001-0000-4000-8000-000000000002
  c1000001-0000-4000-8000-000000000003 c1000001-0000-4000-8000-000000000004)
SEL='{"policy_types":["deviceConfiguration","configurationPolicy","mobileApp"]}'

# sync_config DB-CONNINFO FILE: a fetcher config syncing every tenant.
sync_config() {
  local t list=
  for t in "${TENANTS[@]}"; do list+="${list:+,}{\"tenant_id\": \"$t\"}"; done
  cat >"$2" <<JSON
{
  "db": "$1",
  "defaults": {"client_id": "$CLIENT_ID", "client_secret_file": "$SECRET_FILE", "selection": $SEL},
  "tenants": [$list]
}
JSON
}

# sync_all LABEL CONNINFO: one fetcher run over every tenant (4 in parallel); sets RC.
sync_all() {
  sync_config "$2" "$WORK/$1.json"
  "$FETCH" sync --config "$WORK/$1.json" --graph-url "$MOCK_URL" --login-url "$MOCK_URL" \
    --parallel-tenants 4 --retry-scale 0.05 --request-timeout 5 --no-progress --log-level debug \
    >"$WORK/$1.out" 2>"$WORK/$1.err"
  RC=$?
}

# run_statuses PSQL-FUNCTION DB: "status=count ..." of every run.
run_statuses() {
  $1 "$2" "SELECT string_agg(status || '=' || n, ' ' ORDER BY status)
             FROM (SELECT status, count(*) n FROM inventory.inventory_sync_runs GROUP BY status) x" 2>&1 | head -n1 | cut -c1-200
}

VIEWS=(inventory_items missing_items latest_sync_runs tenant_sync_health item_counts latest_run_changes
       item_history tenant_changes)

# dump_views PSQL-FUNCTION DB PREFIX: every view as sorted JSON lines, run
# ids replaced by "tenant#n" (the n-th run of the tenant), item ids and
# timestamps removed (and correlation ids: the fetcher makes them up).
# PREFIX.VIEW.json, errors in PREFIX.VIEW.err.
dump_views() {
  local q=$1 db=$2 prefix=$3 v map
  map=$($q "$db" "SELECT coalesce(json_object_agg(id, tenant_id::text || '#' || n), '{}')
                    FROM (SELECT id, tenant_id, row_number() OVER (PARTITION BY tenant_id ORDER BY id) AS n
                            FROM inventory.inventory_sync_runs) r" 2>"$prefix.map.err") || map='{}'
  for v in "${VIEWS[@]}"; do
    $q "$db" "SELECT row_to_json(v) FROM inventory.$v v" 2>"$prefix.$v.err" |
      jq -cS --argjson m "$map" '
        def run: if . == null then null else ($m[tostring] // "unknown-run") end;
        with_entries(
          if (.key | test("^(id|item_id|change_id|correlation_id)$")) then empty
          elif (.key | test("(_at|^duration)$")) then .value |= (if . == null then null else "t" end)
          elif (.key | test("run_id$")) then .value |= run
          else . end)' | LC_ALL=C sort >"$prefix.$v.json"
  done
}

if want sync || want shards; then
  printf '%s\n' "$HARNESS_MOCK_SECRET" >"$SECRET_FILE"
  start_mock mock --foreign-port 0 --tenants 0 || { fail "the mock starts"; harness_summary; exit 1; }
  for t in "${TENANTS[@]}"; do
    set_items "$t" $DC 60
    set_items "$t" $CP 35
    set_items "$t" $MA 45
  done
  # The third tenant's settings catalog is forbidden: its runs are partial.
  set_faults "[{\"tenant\":\"${TENANTS[2]}\",\"path\":\"$CP\",\"kind\":\"forbidden\",\"times\":-1}]"
fi

if want sync; then
  CASE=sync
  if [ $DISTRIBUTED = 1 ] && citus_db citus_sync; then
    psql_plain postgres "CREATE DATABASE plain_sync" >/dev/null && psql_plain plain_sync "CREATE EXTENSION tenant_inventory" >/dev/null ||
      fail "plain PostgreSQL database"
    CONN_C="host=$PGHOST port=$PGPORT user=postgres dbname=citus_sync"
    CONN_P="host=$PLAIN_PGHOST port=$PLAIN_PGPORT user=postgres dbname=plain_sync"
    # Round 1: every tenant from scratch; round 2 after deletions, a rename
    # and a touch in the mock.
    sync_all citus-1 "$CONN_C"
    expect_eq "round 1 on Citus: exit 1 (one tenant partial)" "$RC" 1
    sync_all plain-1 "$CONN_P"
    expect_eq "round 1 on plain PostgreSQL: exit 1 (one tenant partial)" "$RC" 1
    expect_eq "round 1 on plain PostgreSQL: 3 runs succeeded, 1 partial" "$(run_statuses psql_plain plain_sync)" "partial=1 succeeded=3"
    expect_eq "round 1 on Citus: 3 runs succeeded, 1 partial" "$(run_statuses csql citus_sync)" "partial=1 succeeded=3"
    check "round 1 on Citus: no database error in the fetcher's log" bash -c '! grep -q "database error" "$1"' _ "$WORK/citus-1.err"
    for t in "${TENANTS[@]}"; do
      mutate "$t" delete "{\"path\":\"$DC\",\"indexes\":[2,5]}"
      mutate "$t" delete "{\"path\":\"$MA\",\"indexes\":[0]}"
      mutate "$t" rename "{\"path\":\"$DC\",\"indexes\":[7]}"
      mutate "$t" touch "{\"path\":\"$MA\",\"indexes\":[3]}"
    done
    sync_all citus-2 "$CONN_C"
    expect_eq "round 2 on Citus: exit 1" "$RC" 1
    sync_all plain-2 "$CONN_P"
    expect_eq "round 2 on plain PostgreSQL: exit 1" "$RC" 1
    expect_eq "round 2 on Citus: runs per status" "$(run_statuses csql citus_sync)" "partial=2 succeeded=6"
    check "round 2 on Citus: no database error in the fetcher's log" bash -c '! grep -q "database error" "$1"' _ "$WORK/citus-2.err"
    expect_eq "Citus: items stored" "$(csql citus_sync "SELECT count(*) FROM inventory.item_state" 2>&1)" \
      "$(psql_plain plain_sync "SELECT count(*) FROM inventory.item_state")"
    dump_views csql citus_sync "$WORK/views-citus"
    dump_views psql_plain plain_sync "$WORK/views-plain"
    check "plain PostgreSQL: every view reads without error" bash -c '! cat "$@" | grep -q .' _ "$WORK"/views-plain.*.err
    for v in "${VIEWS[@]}"; do
      n=$(wc -l <"$WORK/views-plain.$v.json")
      if [ -s "$WORK/views-citus.$v.err" ]; then
        fail "$v: same rows on Citus as on PostgreSQL ($n rows)" "$(grep -m1 ERROR "$WORK/views-citus.$v.err" | cut -c1-300)"
      elif [ "$n" -gt 0 ] && cmp -s "$WORK/views-citus.$v.json" "$WORK/views-plain.$v.json"; then
        pass "$v: same rows on Citus as on PostgreSQL ($n rows)"
      else
        fail "$v: same rows on Citus as on PostgreSQL ($n rows)" \
          "$(diff "$WORK/views-plain.$v.json" "$WORK/views-citus.$v.json" | head -n 3 | cut -c1-200 | tr '\n' ' ')"
      fi
    done
    expect_eq "missing items: 3 per tenant, low confidence for the partial tenant only" \
      "$(csql citus_sync "SELECT string_agg(confidence || '=' || n, ' ' ORDER BY confidence) FROM (SELECT confidence, count(*) n FROM inventory.missing_items GROUP BY confidence) x" 2>&1)" \
      "high=9 low=3"
  else
    fail "sync on the distributed schema" "the database could not be prepared: $(first_error "$WORK/citus_sync.setup.log" 2>/dev/null || first_error "$WORK/citus_layout.setup.log")"
  fi
fi

# ---------------------------------------------------------------- single-shard statements

# With citus.multi_task_query_log_level = error, Citus refuses any statement
# that would run on more than one shard ("multi-task query about to be
# executed"); statements on one shard (router) or on the coordinator alone
# run as usual.
if want shards; then
  CASE=shards
  if [ $DISTRIBUTED = 1 ] && citus_db citus_shards; then
    fence="SET citus.multi_task_query_log_level = error;"
    out=$(psql -XAtq "${C_OPTS[@]}" -d citus_shards -c "$fence SELECT count(*) FROM inventory.item_state" 2>&1)
    check "control: a statement over every tenant is refused" grep -q "multi-task query about to be executed" <<<"$out"
    csql citus_shards "ALTER DATABASE citus_shards SET citus.multi_task_query_log_level = error" >/dev/null
    CONN_S="host=$PGHOST port=$PGPORT user=postgres dbname=citus_shards"
    sync_all shards-1 "$CONN_S"
    expect_eq "every tenant syncs with multi-shard statements refused (exit 1: one tenant partial)" "$RC" 1
    # (The layer's own checks over every tenant lift the fence.)
    expect_eq "and its runs: 3 succeeded, 1 partial" "$(PGOPTIONS="$PGOPTIONS -c citus.multi_task_query_log_level=off" run_statuses csql citus_shards)" "partial=1 succeeded=3"
    for t in "${TENANTS[@]}"; do mutate "$t" delete "{\"path\":\"$CP\",\"indexes\":[1]}"; done
    sync_all shards-2 "$CONN_S"
    expect_eq "a re-sync too (exit 1)" "$RC" 1
    if ! grep -q "run finished" "$WORK"/shards-*.err; then
      fail "no lifecycle statement fans out" "the fetcher finished no run"
    elif grep -q "database error" "$WORK"/shards-*.err; then
      fail "no lifecycle statement fans out" "$(grep -m1 -h "database error" "$WORK"/shards-*.err | cut -c1-300)"
    elif grep -q "multi-task query" "$WORK"/shards-*.err; then
      fail "no lifecycle statement fans out" "$(grep -m1 -h "multi-task query" "$WORK"/shards-*.err | cut -c1-300)"
    else
      pass "no lifecycle statement fans out"
    fi
    expect_eq "the runs were recorded" \
      "$(PGOPTIONS="$PGOPTIONS -c citus.multi_task_query_log_level=off" csql citus_shards "SELECT count(*) FROM inventory.inventory_sync_runs WHERE status <> 'running'" 2>&1)" 8
    t=${TENANTS[0]}
    for v in "${VIEWS[@]}" stale_inventory; do
      out=$(csql citus_shards "SELECT count(*) FROM inventory.$v WHERE tenant_id = '$t'" 2>&1)
      if [[ "$out" =~ ^[0-9]+$ ]]; then pass "$v for one tenant is single-shard ($out rows)"; else fail "$v for one tenant is single-shard" "$(head -n1 <<<"$out" | cut -c1-300)"; fi
    done
    out=$(csql citus_shards "SELECT count(*) FROM inventory.missing_items('$t', '$SEL')" 2>&1)
    if [[ "$out" =~ ^[0-9]+$ ]]; then pass "missing_items(tenant, selection) is single-shard ($out rows)"; else fail "missing_items(tenant, selection) is single-shard" "$(head -n1 <<<"$out" | cut -c1-300)"; fi
    for v in inventory_items latest_sync_runs item_counts item_history; do
      out=$(csql citus_shards "EXPLAIN (COSTS OFF) SELECT * FROM inventory.$v WHERE tenant_id = '$t'" 2>&1)
      expect_eq "EXPLAIN $v for one tenant: one task" "$(grep -o 'Task Count: [0-9]*' <<<"$out" | sort -u | tr '\n' ' ')" "Task Count: 1 "
    done
  else
    fail "single-shard checks on the distributed schema" "the database could not be prepared: $(first_error "$WORK/citus_shards.setup.log" 2>/dev/null || first_error "$WORK/citus_layout.setup.log")"
  fi
fi

# ---------------------------------------------------------------- bench (on request only)
# CITUS_ONLY=bench: the same sync of many tenants (CITUS_BENCH_TENANTS,
# default 100, each with CITUS_BENCH_ITEMS items in each of 3 types, default
# 200) on the Citus cluster and on the plain cluster, one fetcher run each
# (4 tenants in parallel), timed. Prints the ratio; checks only that both
# runs succeed (timing belongs to benchmarks, not to tests).
if [ -n "${CITUS_ONLY:-}" ] && want bench; then
  CASE=bench
  n_t=${CITUS_BENCH_TENANTS:-100}
  n_i=${CITUS_BENCH_ITEMS:-200}
  mapfile -t TENANTS < <(for ((i = 1; i <= n_t; i++)); do printf 'b%07x-0000-4000-8000-%012x\n' "$i" "$i"; done)
  printf '%s\n' "$HARNESS_MOCK_SECRET" >"$SECRET_FILE"
  [ -n "${MOCK_URL:-}" ] || start_mock mock --foreign-port 0 --tenants 0 || { fail "the mock starts"; harness_summary; exit 1; }
  for t in "${TENANTS[@]}"; do set_items "$t" $DC "$n_i"; set_items "$t" $CP "$n_i"; set_items "$t" $MA "$n_i"; done
  if [ $DISTRIBUTED = 1 ] && citus_db citus_bench; then
    psql_plain postgres "CREATE DATABASE plain_bench" >/dev/null && psql_plain plain_bench "CREATE EXTENSION tenant_inventory" >/dev/null
    declare -A took=()
    for target in citus plain; do
      if [ $target = citus ]; then conn="host=$PGHOST port=$PGPORT user=postgres dbname=citus_bench"
      else conn="host=$PLAIN_PGHOST port=$PLAIN_PGPORT user=postgres dbname=plain_bench"; fi
      t0=$(date +%s.%N)
      sync_all "bench-$target" "$conn"
      took[$target]=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
      expect_eq "$n_t tenants synced on $target (fetcher exit)" "$RC" 0
    done
    say "  bench: $n_t tenants x 3 types x $n_i items, one fetcher run (4 tenants in parallel):"
    say "  bench:   Citus (coordinator + 2 workers, one machine) ${took[citus]} s, plain PostgreSQL ${took[plain]} s, ratio $(awk -v a="${took[citus]}" -v b="${took[plain]}" 'BEGIN { printf "%.2f", a / b }')x"
  else
    fail "bench database" "$(first_error "$WORK/citus_bench.setup.log" 2>/dev/null)"
  fi
fi

say ""
say "citus: finished in $((SECONDS - T0)) s"
harness_summary
