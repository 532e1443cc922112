#!/usr/bin/env bash
# Randomized equivalence check of the C++ functions canonical_json,
# selection_hash, filter_meta and filter_meta_counted against a reference
# build of the same functions from another revision (by default the last
# revision before their rewrite on raw jsonb containers).
#
#   test/equivalence/run.sh                 100000 documents of each kind
#   EQUIV_DOCS=5000 test/equivalence/run.sh
#   EQUIV_REF=<commit> test/equivalence/run.sh
#
# The installed tenant_inventory extension is the candidate (make install
# first). The reference is compiled here from `git show REF:<file>` into a
# private shared library (its C++ namespace renamed, bound symbolically, so
# the two libraries never resolve each other's functions) and its functions
# are created in schema equiv_ref. Cluster: the one of PGHOST/PGPORT if set,
# otherwise a throwaway one from scripts/pgcluster.sh. Exit status 0 only when
# every output is identical, byte for byte, errors included.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
ref=${EQUIV_REF:-fec4e4fefd83f68d85b7b40cc6d209a6a1c77933}
docs=${EQUIV_DOCS:-100000}
db=${EQUIV_DB:-tinv_equivalence}
work=$(mktemp -d /tmp/tinv-equiv.XXXXXX)
chmod 755 "$work"
own_cluster=
cleanup() {
  if [ -n "$own_cluster" ]; then "$root/scripts/pgcluster.sh" stop "$own_cluster" >/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# ---------------------------------------------------------------- reference
headers=$(git -C "$root" ls-tree --name-only "$ref" extension/ core/ | grep '\.h$')
files="$headers extension/module.cpp extension/canonical_sql.cpp extension/meta_filter.cpp
       core/canonical.cpp core/meta_rules.cpp core/sha256.cpp"
for f in $files; do
  mkdir -p "$work/src/$(dirname "$f")"
  git -C "$root" show "$ref:$f" >"$work/src/$f"
done
srcs=$(for f in $files; do case $f in *.cpp) echo "$work/src/$f" ;; esac; done)
# shellcheck disable=SC2086
${CXX:-g++} -std=c++17 -O2 -fPIC -fno-strict-aliasing -w -shared -Wl,-Bsymbolic -Dtinv=tinv_equiv_ref \
  -I"$(pg_config --includedir-server)" -I"$work/src/core" -I"$work/src/extension" \
  -o "$work/tinv_equiv_ref.so" $srcs -lcrypto
chmod 755 "$work/tinv_equiv_ref.so"
echo "reference: $ref"

# ---------------------------------------------------------------- cluster
if [ -z "${PGHOST:-}${PGPORT:-}" ]; then
  own_cluster=$work/pg
  eval "$("$root/scripts/pgcluster.sh" start "$own_cluster" "${EQUIV_PORT:-55479}")"
fi
export PGOPTIONS="${PGOPTIONS:-} -c max_parallel_workers_per_gather=0"
psql -X -q -d postgres -v ON_ERROR_STOP=1 -c "SET client_min_messages = warning" \
  -c "DROP DATABASE IF EXISTS \"$db\"" -c "CREATE DATABASE \"$db\"" >/dev/null
status=0
psql -X -q -d "$db" -v ON_ERROR_STOP=1 -v ref_module="$work/tinv_equiv_ref.so" -v docs="$docs" \
  -f "$root/test/equivalence/equivalence.sql" || status=$?
psql -X -q -d postgres -c "DROP DATABASE IF EXISTS \"$db\"" >/dev/null 2>&1 || true
if [ $status = 0 ]; then echo "equivalence: all outputs identical"; else echo "equivalence: FAILED" >&2; fi
exit $status
