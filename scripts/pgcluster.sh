#!/usr/bin/env bash
# Throwaway PostgreSQL cluster for tests, the demo and benchmarks.
#
#   scripts/pgcluster.sh start DIR PORT   initdb (if needed) and start; prints env lines
#   scripts/pgcluster.sh stop DIR         stop (fast) if running
#   scripts/pgcluster.sh env DIR PORT     print PGHOST/PGPORT/PGUSER export lines
#
# PostgreSQL refuses to run as root, so as root the cluster runs as the
# `postgres` system user (created by the postgresql package). The socket lives
# in DIR/sock, so nothing collides with a system cluster.
#
# PGCLUSTER_EXTRA_CONF, when set, is appended to postgresql.conf when the
# cluster is created (e.g. shared_preload_libraries = 'citus').
set -euo pipefail

cmd=${1:?usage: pgcluster.sh start|stop|env DIR [PORT]}
dir=${2:?cluster directory}
port=${3:-54329}

pgbin=$(pg_config --bindir 2>/dev/null || true)
if [ -z "$pgbin" ] || [ ! -x "$pgbin/initdb" ]; then
  pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
fi

as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

print_env() {
  echo "export PGHOST=$dir/sock PGPORT=$port PGUSER=postgres PGDATABASE=postgres"
}

case "$cmd" in
  start)
    mkdir -p "$dir"
    if [ "$(id -u)" = 0 ]; then chown postgres: "$dir"; fi
    if [ ! -f "$dir/data/PG_VERSION" ]; then
      as_owner "$pgbin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; exit 1; }
      cat >>"$dir/data/postgresql.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$dir/sock'
port = $port
max_connections = 300
shared_buffers = 512MB
max_wal_size = 4GB
fsync = off
synchronous_commit = off
full_page_writes = on
log_min_messages = warning
log_line_prefix = '%m [%p] %q%u@%d '
max_locks_per_transaction = 256
CONF
      if [ -n "${PGCLUSTER_EXTRA_CONF:-}" ]; then
        printf '%s\n' "$PGCLUSTER_EXTRA_CONF" >>"$dir/data/postgresql.conf"
      fi
    fi
    as_owner mkdir -p "$dir/sock"
    if ! as_owner "$pgbin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
      # The server lives on after this script: it must not inherit any pipe
      # of the caller (whoever reads that pipe would wait for its end).
      for fd in /proc/$$/fd/*; do
        fd=${fd##*/}
        if [ "$fd" -gt 2 ] 2>/dev/null && [ "$fd" -lt 255 ]; then eval "exec $fd>&-" 2>/dev/null || true; fi
      done
      as_owner "$pgbin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start </dev/null >/dev/null \
        || { cat "$dir/server.log" >&2; exit 1; }
    fi
    print_env
    ;;
  stop)
    if [ -f "$dir/data/PG_VERSION" ]; then
      as_owner "$pgbin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
    fi
    ;;
  env)
    print_env
    ;;
  *)
    echo "unknown command: $cmd" >&2; exit 2 ;;
esac
