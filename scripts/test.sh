#!/usr/bin/env bash
# The whole test suite on a throwaway cluster:
#   1. installs missing Debian packages (scripts/deps.sh),
#   2. builds and installs the extension, builds the C++ targets (plain and
#      with AddressSanitizer + UndefinedBehaviorSanitizer),
#   3. starts its own PostgreSQL cluster (as the postgres user when root),
#   4. runs every layer: C++ unit tests (ctest, both builds), pg_regress,
#      isolation specs, the upgrade from 0.1.0, end-to-end tests (fetcher +
#      mock Graph + PostgreSQL), reliability, a hostile upstream, a
#      three-node Citus cluster, the short demo and the short benchmark,
#   5. stops what it started and prints "N passed, N failed" (layers).
#
# Environment: TEST_PORT (default 54391), TEST_LAYERS (space separated
# subset of: packaging unit asan regress isolation upgrade e2e reliability
# hostile citus demo bench), KEEP_CLUSTER=1, CITUS_SOURCE (the Citus source archive the
# citus layer builds Citus from when it is not installed).
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
port=${TEST_PORT:-54391}
layers=${TEST_LAYERS:-"packaging unit asan regress isolation upgrade e2e reliability hostile citus demo bench"}
jobs=$(nproc 2>/dev/null || echo 2)
work=$(mktemp -d /tmp/tinv-test.XXXXXX)
chmod 755 "$work"
cluster="$work/pg"
passed=0
failed=0
failed_names=()

started=$(date +%s)
log() { printf '\n=== [%4ds] %s\n' "$(( $(date +%s) - started ))" "$*"; }
record() {  # name status
  if [ "$2" = 0 ]; then passed=$((passed + 1)); echo "--- layer $1: passed";
  else failed=$((failed + 1)); failed_names+=("$1"); echo "--- layer $1: FAILED"; fi
}
want() { case " $layers " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

cleanup() {
  if [ "${KEEP_CLUSTER:-0}" != 1 ]; then
    scripts/pgcluster.sh stop "$cluster" || true
    rm -rf "$work"
  fi
}
trap cleanup EXIT

log "dependencies"
scripts/deps.sh || { echo "could not install dependencies"; exit 1; }

log "build: extension"
if ! { make -s -j"$jobs" && make -s install; } >"$work/make.log" 2>&1; then
  cat "$work/make.log"; echo "0 passed, 1 failed"; exit 1
fi
if want unit || want e2e || want reliability || want hostile || want citus || want demo || want bench; then
  log "build: C++ (RelWithDebInfo)"
  if ! { cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null && cmake --build build -j"$jobs"; } >"$work/cmake.log" 2>&1; then
    tail -n 60 "$work/cmake.log"; echo "0 passed, 1 failed"; exit 1
  fi
fi
if want asan; then
  log "build: C++ (ASan + UBSan)"
  if ! { cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DTINV_SANITIZE=ON >/dev/null && cmake --build build-asan -j"$jobs"; } >"$work/cmake-asan.log" 2>&1; then
    tail -n 60 "$work/cmake-asan.log"; record asan-build 1
  fi
fi
if want citus; then
  log "build: Citus (when not installed: from CITUS_SOURCE)"
  scripts/citus.sh build || echo "Citus is not available: the citus layer will fail"
fi

if want packaging; then
log "layer: packaging (META.json matches the control file, make dist)"
{ make -s check-meta && make -s dist >/dev/null && unzip -Z1 "tenant_inventory-$(make -s -f Makefile --eval='print-version: ; @echo $(EXTVERSION)' print-version).zip" | grep "sql/tenant_inventory--" >/dev/null; }
record packaging $?
fi

if want unit; then
  log "layer: C++ unit tests"
  ctest --test-dir build --output-on-failure -j"$jobs"
  record unit $?
fi
if want asan && [ -d build-asan ]; then
  log "layer: C++ unit tests under ASan/UBSan"
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --test-dir build-asan --output-on-failure -j"$jobs"
  record asan $?
fi

log "cluster"
eval "$(scripts/pgcluster.sh start "$cluster" "$port")" || { echo "cluster did not start"; echo "$passed passed, $((failed + 1)) failed"; exit 1; }

if want regress; then
  log "layer: pg_regress"
  rm -rf results regression.diffs regression.out
  make -s installcheck REGRESS_OPTS="--inputdir=test --load-extension=tenant_inventory --dbname=tinv_regress" ISOLATION= 
  status=$?
  [ $status = 0 ] || { [ -f regression.diffs ] && cat regression.diffs; }
  record regress $status
fi
if want isolation; then
  log "layer: isolation specs"
  rm -rf output_iso
  make -s installcheck REGRESS= ISOLATION_OPTS="--inputdir=test --load-extension=tenant_inventory --dbname=tinv_isolation"
  status=$?
  [ $status = 0 ] || { [ -f output_iso/regression.diffs ] && cat output_iso/regression.diffs; }
  record isolation $status
fi
if want upgrade && [ -x test/upgrade/run.sh ]; then
  log "layer: upgrade (a database populated under 0.1.0 updated to the current version)"
  test/upgrade/run.sh
  record upgrade $?
fi
if want e2e && [ -x test/e2e/run.sh ]; then
  log "layer: end-to-end (fetcher + mock Graph + PostgreSQL)"
  BUILD_DIR="$root/build" test/e2e/run.sh
  record e2e $?
fi
if want reliability && [ -x test/reliability/run.sh ]; then
  log "layer: reliability (crash, load, hostile input, secrets; short variant)"
  BUILD_DIR="$root/build" ASAN_BUILD_DIR="$root/build-asan" RELIABILITY_SIZE=ci test/reliability/run.sh
  record reliability $?
fi
if want hostile && [ -x test/hostile/run.sh ]; then
  log "layer: hostile upstream and neighbours (secrets, memory, loopback, files, log lines)"
  BUILD_DIR="$root/build" test/hostile/run.sh
  record hostile $?
fi
if want citus; then
  log "layer: Citus (3 nodes: README distribution, pg_regress, isolation, sync vs plain PostgreSQL, single-shard)"
  BUILD_DIR="$root/build" test/citus/run.sh
  record citus $?
fi
if want demo && [ -x scripts/demo.sh ]; then
  log "layer: short demo"
  DEMO_SHORT=1 DEMO_DIR="$work/demo" DEMO_PORT=$((port + 1)) scripts/demo.sh --check
  record demo $?
fi
if want bench && [ -x bench/run.sh ]; then
  log "layer: short benchmark (harness check, no timing assertions)"
  BENCH_SIZE=ci bench/run.sh >"$work/bench.log" 2>&1
  status=$?
  tail -n 40 "$work/bench.log"
  record bench $status
fi

echo
echo "suite time: $(( $(date +%s) - started )) s"
if [ $failed -gt 0 ]; then echo "failed layers: ${failed_names[*]}"; fi
echo "$passed passed, $failed failed"
[ $failed = 0 ]
