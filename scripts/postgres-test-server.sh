#!/usr/bin/env bash
# Starts a throwaway PostgreSQL server (Debian's postgresql package) on 127.0.0.1:${PGPORT:-55432}
# for the PostgreSQL tests, and prints its DATABASE_URL. `stop` stops it. The cluster lives in
# ${PGDATA_DIR:-/tmp/labvisor-pg}; PostgreSQL refuses to run as root, so as root it runs as the
# `postgres` user (created by the package) through runuser. Idempotent: a running server is reused,
# and two callers starting it at once both get its URL.
set -euo pipefail
port="${PGPORT:-55432}"
dir="${PGDATA_DIR:-/tmp/labvisor-pg}"
bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)"
if [ -z "$bin" ] || [ ! -x "$bin/pg_ctl" ]; then
  echo "postgres-test-server: no PostgreSQL under /usr/lib/postgresql (apt-get install postgresql)" >&2
  exit 1
fi
# fd 9 (the setup lock below) is closed for PostgreSQL's processes, or the server would hold it forever.
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@" 9>&-; else "$@" 9>&-; fi; }
if [ "${1:-start}" = stop ]; then
  as_pg "$bin/pg_ctl" -D "$dir" stop -m fast >/dev/null 2>&1 || true
  exit 0
fi
# One caller at a time sets up and starts the cluster (vitest may run several test files at once).
exec 9>"$dir.lock"
flock 9
if [ ! -f "$dir/PG_VERSION" ]; then
  mkdir -p "$dir"
  if [ "$(id -u)" = 0 ]; then chown postgres: "$dir"; fi
  as_pg "$bin/initdb" -D "$dir" -U labvisor --auth=trust >/dev/null
fi
if ! as_pg "$bin/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
  if ! as_pg "$bin/pg_ctl" -D "$dir" -l "$dir/server.log" -w \
    -o "-p $port -k /tmp -c listen_addresses=127.0.0.1" start >/dev/null; then
    # Someone else may have started it meanwhile; otherwise say why it did not come up.
    if ! as_pg "$bin/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
      echo "postgres-test-server: PostgreSQL did not start; the end of $dir/server.log:" >&2
      tail -20 "$dir/server.log" >&2 || true
      exit 1
    fi
  fi
fi
echo "postgresql://labvisor@127.0.0.1:$port/postgres"
