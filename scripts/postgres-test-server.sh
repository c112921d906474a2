#!/usr/bin/env bash
# Starts a throwaway PostgreSQL server (Debian's postgresql package) on 127.0.0.1:${PGPORT:-55432}
# for the PostgreSQL tests, and prints its DATABASE_URL. `stop` stops it. The cluster lives in
# ${PGDATA_DIR:-/tmp/labvisor-pg}; PostgreSQL refuses to run as root, so it runs as `postgres`.
set -euo pipefail
port="${PGPORT:-55432}"
dir="${PGDATA_DIR:-/tmp/labvisor-pg}"
bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
if [ "${1:-start}" = stop ]; then
  as_pg "$bin/pg_ctl" -D "$dir" stop -m fast >/dev/null 2>&1 || true
  exit 0
fi
if [ ! -f "$dir/PG_VERSION" ]; then
  mkdir -p "$dir"
  [ "$(id -u)" = 0 ] && chown postgres: "$dir"
  as_pg "$bin/initdb" -D "$dir" -U labvisor --auth=trust >/dev/null
fi
if ! as_pg "$bin/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
  as_pg "$bin/pg_ctl" -D "$dir" -l "$dir/server.log" -w \
    -o "-p $port -k /tmp -c listen_addresses=127.0.0.1" start >/dev/null
fi
echo "postgresql://labvisor@127.0.0.1:$port/postgres"
