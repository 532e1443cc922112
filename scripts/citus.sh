#!/usr/bin/env bash
# Citus for the tests: builds it from a source archive and runs a throwaway
# three-node cluster (a coordinator and two workers) on one machine.
#
#   scripts/citus.sh build                   build and install Citus from $CITUS_SOURCE
#                                            unless citus.so is already installed
#   scripts/citus.sh start DIR BASEPORT      coordinator on BASEPORT, workers on BASEPORT+1
#                                            and BASEPORT+2; prints the coordinator's env lines
#   scripts/citus.sh createdb DIR DB         DB on every node with the citus extension, the
#                                            coordinator and both workers registered in it
#   scripts/citus.sh stop DIR                stop the three nodes
#   scripts/citus.sh env DIR                 print the coordinator's env lines (PGHOST, ...)
#                                            and CITUS_NODES="SOCKDIR:PORT ..." (coordinator first)
#
# CITUS_SOURCE is the path of the Citus source archive (citus-13.0.5.tar.xz;
# Citus is not packaged by Debian). `build` installs the Debian packages the
# build needs when they are missing (root or sudo).
#
# Each node is a scripts/pgcluster.sh cluster (DIR/coordinator, DIR/worker1,
# DIR/worker2): private unix socket directory, no TCP listener, run as the
# postgres user when root. The nodes reach each other through those sockets
# (a node's name in pg_dist_node is its socket directory). Citus's anonymous
# statistics collection is switched off: the nodes never reach the network.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cmd=${1:?usage: citus.sh build | start DIR BASEPORT | createdb DIR DB | stop DIR | env DIR}

die() { echo "citus: $*" >&2; exit 1; }

as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

NODES=(coordinator worker1 worker2)

build() {
  local libdir sharedir
  libdir=$(pg_config --pkglibdir) || die "pg_config not found (postgresql-server-dev-15)"
  sharedir=$(pg_config --sharedir)
  if [ -f "$libdir/citus.so" ] && [ -f "$sharedir/extension/citus.control" ]; then
    echo "citus: already installed ($(sed -n "s/^default_version = '\(.*\)'/\1/p" "$sharedir/extension/citus.control"))"
    return 0
  fi
  [ -n "${CITUS_SOURCE:-}" ] ||
    die "Citus is not installed and CITUS_SOURCE is not set: set it to the path of the Citus 13.0.5 source archive (citus-13.0.5.tar.xz)"
  [ -f "$CITUS_SOURCE" ] || die "CITUS_SOURCE=$CITUS_SOURCE: no such file"

  local packages=(postgresql-server-dev-15 libcurl4-openssl-dev libzstd-dev liblz4-dev libkrb5-dev libssl-dev
    make gcc xz-utils) missing=() p sudo=
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "citus: installing ${missing[*]}" >&2
    [ "$(id -u)" = 0 ] || sudo=sudo
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -q >/dev/null
    $sudo apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
  fi

  local work src jobs t0=$SECONDS
  jobs=$(nproc 2>/dev/null || echo 2)
  work=$(mktemp -d /tmp/tinv-citus-build.XXXXXX)
  tar -xJf "$CITUS_SOURCE" -C "$work" || die "cannot unpack $CITUS_SOURCE"
  src=$(find "$work" -mindepth 1 -maxdepth 1 -type d | head -n1)
  [ -x "$src/configure" ] || die "$CITUS_SOURCE holds no configure script"
  echo "citus: building $(basename "$src") from $CITUS_SOURCE" >&2
  # with_llvm=no: no JIT bitcode (it would double the build time).
  if ! (cd "$src" && ./configure && make -j"$jobs" with_llvm=no && make install with_llvm=no) >"$work/build.log" 2>&1; then
    tail -n 40 "$work/build.log" >&2
    die "the build failed (log: $work/build.log)"
  fi
  rm -rf "$work"
  [ -f "$libdir/citus.so" ] || die "the build finished but $libdir/citus.so is missing"
  echo "citus: built and installed in $((SECONDS - t0)) s"
}

node_port() {  # node_port DIR NAME
  local base
  base=$(cat "$1/baseport" 2>/dev/null) || die "$1: not a Citus cluster directory (no baseport)"
  case $2 in coordinator) echo "$base" ;; worker1) echo $((base + 1)) ;; worker2) echo $((base + 2)) ;; esac
}

# psql on one node as the postgres user (trust on the node's socket).
node_sql() {  # node_sql DIR NAME DB SQL
  psql -XAtq -v ON_ERROR_STOP=1 -h "$1/$2/sock" -p "$(node_port "$1" "$2")" -U postgres -d "$3" -c "$4"
}

print_env() {
  local dir=$1 n nodes=()
  for n in "${NODES[@]}"; do nodes+=("$dir/$n/sock:$(node_port "$dir" "$n")"); done
  echo "export PGHOST=$dir/coordinator/sock PGPORT=$(node_port "$dir" coordinator) PGUSER=postgres PGDATABASE=postgres"
  echo "export CITUS_NODES=\"${nodes[*]}\""
}

start() {
  local dir base=$2 n conf
  mkdir -p "$1"
  dir=$(cd "$1" && pwd)
  pg_config --pkglibdir >/dev/null && [ -f "$(pg_config --pkglibdir)/citus.so" ] ||
    die "Citus is not installed (scripts/citus.sh build, with CITUS_SOURCE set)"
  chmod 755 "$dir"
  echo "$base" >"$dir/baseport"
  conf="shared_preload_libraries = 'citus'
citus.enable_statistics_collection = off
max_prepared_transactions = 200
wal_level = logical"
  for n in "${NODES[@]}"; do
    PGCLUSTER_EXTRA_CONF=$conf "$root/scripts/pgcluster.sh" start "$dir/$n" "$(node_port "$dir" "$n")" >/dev/null ||
      die "node $n did not start (log: $dir/$n/server.log)"
  done
  print_env "$dir"
}

createdb() {
  local dir=$1 db=$2 n
  for n in "${NODES[@]}"; do
    node_sql "$dir" "$n" postgres "CREATE DATABASE $db" >/dev/null || die "CREATE DATABASE $db on $n failed"
    node_sql "$dir" "$n" "$db" "CREATE EXTENSION citus" >/dev/null || die "CREATE EXTENSION citus in $db on $n failed"
  done
  node_sql "$dir" coordinator "$db" \
    "SELECT citus_set_coordinator_host('$dir/coordinator/sock', $(node_port "$dir" coordinator))" >/dev/null ||
    die "citus_set_coordinator_host failed in $db"
  for n in worker1 worker2; do
    node_sql "$dir" coordinator "$db" "SELECT citus_add_node('$dir/$n/sock', $(node_port "$dir" "$n"))" >/dev/null ||
      die "citus_add_node($n) failed in $db"
  done
  [ "$(node_sql "$dir" coordinator "$db" "SELECT count(*) FROM citus_get_active_worker_nodes()")" = 2 ] ||
    die "$db: the coordinator does not see two active workers"
}

stop() {
  local dir=$1 n
  for n in "${NODES[@]}"; do
    [ -d "$dir/$n" ] && "$root/scripts/pgcluster.sh" stop "$dir/$n" || true
  done
}

case "$cmd" in
  build) build ;;
  start) start "${2:?cluster directory}" "${3:?base port}" ;;
  createdb) createdb "$(cd "${2:?cluster directory}" && pwd)" "${3:?database name}" ;;
  stop) stop "${2:?cluster directory}" ;;
  env) print_env "$(cd "${2:?cluster directory}" && pwd)" ;;
  *) die "unknown command: $cmd" ;;
esac
