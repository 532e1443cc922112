#!/usr/bin/env bash
# Reliability and security suite: crashes and restarts, network faults, load,
# hostile input, secret canaries, access control, fuzzing. Proves that
# nothing is lost and nothing leaks.
#
#   test/reliability/run.sh                      (RELIABILITY_SIZE=ci, a few minutes)
#   RELIABILITY_SIZE=soak test/reliability/run.sh (the long version, 30+ minutes)
#
# Environment:
#   BUILD_DIR        CMake build with fetcher/inventory-fetch and mock/inventory-mock-graph
#                    (default ./build)
#   ASAN_BUILD_DIR   the same built with -DTINV_SANITIZE=ON (optional: the sanitizer
#                    case runs the fetcher from it)
#   FUZZ_BUILD_DIR   where the libFuzzer targets are built (default BUILD_DIR/../build-fuzz)
#   RELIABILITY_SIZE ci | soak
#   RELIABILITY_ONLY space-separated case names (crash restart network hostile load
#                    access hijack regressions sanitizers secrets fuzz)
#   RELIABILITY_PGPORT (default 55441), RELIABILITY_KEEP=1 keeps the work directory,
#   RELIABILITY_REPORT=FILE writes the results table (markdown) there,
#   RELIABILITY_SEED (default 1) seeds the random choices, RELIABILITY_VERBOSE=1
#   prints every passing check.
#
# The extension must be installed for the pg_config on PATH (make && make install).
# Needs curl, jq, psql, pg_dump, /usr/bin/time; clang with libFuzzer for the fuzz case.
# Prints a results table (case, tries, outcome, data lost) and "N passed, N failed".
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILD_DIR=$(cd "${BUILD_DIR:-$ROOT/build}" 2>/dev/null && pwd) || {
  echo "reliability: build directory not found: ${BUILD_DIR:-$ROOT/build}" >&2
  exit 2
}
ASAN_BUILD_DIR=${ASAN_BUILD_DIR:-}
FUZZ_BUILD_DIR=${FUZZ_BUILD_DIR:-$(dirname "$BUILD_DIR")/build-fuzz}
SIZE=${RELIABILITY_SIZE:-ci}
case "$SIZE" in ci | soak) ;; *) echo "reliability: RELIABILITY_SIZE must be ci or soak" >&2; exit 2 ;; esac
FETCH=$BUILD_DIR/fetcher/inventory-fetch
MOCK=$BUILD_DIR/mock/inventory-mock-graph
for bin in "$FETCH" "$MOCK"; do
  [ -x "$bin" ] || { echo "reliability: missing binary $bin (build first)" >&2; exit 2; }
done
for tool in curl jq psql pg_dump pg_dumpall; do
  command -v "$tool" >/dev/null || { echo "reliability: $tool is required" >&2; exit 2; }
done

WORK=$(mktemp -d /tmp/tinv-reliability.XXXXXX)
chmod 755 "$WORK"
PGDIR=$WORK/pg
PGPORT_REL=${RELIABILITY_PGPORT:-55441}
PASSED=0
FAILED=0
FAILED_NAMES=()
BG_PIDS=()
MOCK_PID=
RANDOM=${RELIABILITY_SEED:-1}

# Canaries: the client secret the mock accepts (not an Entra shape, so only an
# exact search finds it), and the marker the mock's canary fault embeds as a
# bearer token, client_secret=, sig= and access_token= values.
CANARY_SECRET="RelCanarySecret-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
CANARY_FAULT="RelCanaryFault$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
CLIENT_ID=7c1d2e3f-4a5b-4c6d-8e7f-8091a2b3c4d5
SECRET_FILE=$WORK/secret

# shellcheck source=lib.sh
. "$HERE/lib.sh"
for f in "$HERE"/case_*.sh; do
  # shellcheck disable=SC1090
  . "$f"
done

cleanup() {
  local pid
  # The server first: nothing may outlive the suite holding its output open.
  "$ROOT/scripts/pgcluster.sh" stop "$PGDIR" >/dev/null 2>&1 </dev/null
  { for pid in "${BG_PIDS[@]}" $(jobs -p); do kill -9 "$pid"; done; } 2>/dev/null
  for pid in "${BG_PIDS[@]}" $(jobs -p); do { wait "$pid"; } 2>/dev/null; done
  if [ "${RELIABILITY_KEEP:-0}" = 1 ]; then
    echo "reliability: work directory kept: $WORK"
  else
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

want() {
  declare -F "case_$1" >/dev/null || return 1
  [ -z "${RELIABILITY_ONLY:-}" ] || [[ " $RELIABILITY_ONLY " == *" $1 "* ]]
}

say "reliability: size $SIZE, work directory $WORK"
printf '%s' "$CANARY_SECRET" >"$SECRET_FILE"
: >"$WORK/results.tsv"
T0=$SECONDS

eval "$("$ROOT/scripts/pgcluster.sh" start "$PGDIR" "$PGPORT_REL")" || { echo "reliability: cannot start PostgreSQL" >&2; exit 1; }
export PGHOST PGPORT PGUSER PGDATABASE
export PGOPTIONS="-c client_min_messages=warning"
if ! psql -XAtq -d postgres -c "SELECT 1 FROM pg_available_extensions WHERE name = 'tenant_inventory'" | grep -q 1; then
  echo "reliability: the tenant_inventory extension is not installed (make && make install)" >&2
  exit 1
fi
start_mock mock --tenants 0 --foreign-port 0 || exit 1
say "reliability: mock at $MOCK_URL, PostgreSQL socket $PGHOST"

# The fuzzers build in the background while the database cases run.
want fuzz && fuzz_build_start

want crash && run_case crash case_crash
want restart && run_case restart case_restart
want network && run_case network case_network
want hostile && run_case hostile case_hostile
want load && run_case load case_load
want access && run_case access case_access
want hijack && run_case hijack case_hijack
want regressions && run_case regressions case_regressions
want sanitizers && run_case sanitizers case_sanitizers
# Last among the database cases: scans everything the others left behind.
want secrets && run_case secrets case_secrets
want fuzz && run_case fuzz case_fuzz

say ""
say "reliability: finished in $((SECONDS - T0)) s"
report_table | tee "$WORK/report.md"
if [ -s "$WORK/known-issues.txt" ]; then
  say ""
  say "Known issues (reported, not failing the suite):"
  sort -u "$WORK/known-issues.txt" | sed 's/^KNOWN /- /' | tee -a "$WORK/report.md"
fi
[ -n "${RELIABILITY_REPORT:-}" ] && cp "$WORK/report.md" "$RELIABILITY_REPORT"
harness_summary
