#!/usr/bin/env bash
# Makes the migrations for a change of prisma/schema.prisma, for both databases, without a database:
#   prisma/migrations/<stamp>_<name>/migration.sql           (SQLite)
#   prisma/postgres/migrations/<stamp>_<name>/migration.sql  (PostgreSQL)
# as `prisma migrate diff --from-schema-datamodel BASE --to-schema-datamodel prisma/schema.prisma --script`.
# BASE is the schema the last migrations were made from: by default prisma/schema.prisma as committed (HEAD).
#
# Why not `prisma migrate dev`: with the better-sqlite3 adapter (Prisma 6.19) it replays the existing
# migrations into its shadow database as one multi-statement call, which better-sqlite3 refuses
# (P3006 "failed to apply cleanly to the shadow database"), and `prisma migrate` cannot run against
# PostgreSQL here at all (prisma/orm#27403). The server applies both sets itself (src/host/db/migrate.ts).
#
# usage: prisma/new-migration.sh NAME [BASE_SCHEMA]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

die() {
  echo "new-migration: $*" >&2
  exit 1
}
name="${1:-}"
[[ "$name" =~ ^[a-z0-9_]+$ ]] || die "usage: prisma/new-migration.sh NAME [BASE_SCHEMA] (NAME: lower-case letters, digits, _)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
if [ -n "${2:-}" ]; then
  cp "$2" "$tmp/base.prisma"
else
  git show HEAD:prisma/schema.prisma >"$tmp/base.prisma" || die "no committed prisma/schema.prisma; give BASE_SCHEMA"
fi

# The PostgreSQL schemas are the SQLite ones with another provider (as scripts/prisma-generate.sh makes them).
bash scripts/prisma-generate.sh >/dev/null
sed -e 's/provider = "sqlite"/provider = "postgresql"/' "$tmp/base.prisma" >"$tmp/base-pg.prisma"

export DATABASE_URL="${DATABASE_URL:-file:./.data/dev.db}"
npx --no-install prisma migrate diff --from-schema-datamodel "$tmp/base.prisma" \
  --to-schema-datamodel prisma/schema.prisma --script >"$tmp/sqlite.sql" 2>"$tmp/err" || {
  cat "$tmp/err" >&2
  die "prisma migrate diff (SQLite) failed"
}
# With the adapter, the CLI connects to a PostgreSQL server even to compare two schema files (it only
# reads): LABVISOR_TEST_POSTGRES_URL, else the throwaway server of scripts/postgres-test-server.sh.
pgurl="${LABVISOR_TEST_POSTGRES_URL:-$(bash scripts/postgres-test-server.sh)}"
DATABASE_URL="$pgurl" npx --no-install prisma migrate diff --config prisma/postgres/prisma.config.ts \
  --from-schema-datamodel "$tmp/base-pg.prisma" --to-schema-datamodel prisma/postgres/schema.prisma \
  --script >"$tmp/pg.sql" 2>"$tmp/err" || {
  cat "$tmp/err" >&2
  die "prisma migrate diff (PostgreSQL) failed"
}
if grep -q '^-- This is an empty migration' "$tmp/sqlite.sql" && grep -q '^-- This is an empty migration' "$tmp/pg.sql"; then
  die "prisma/schema.prisma does not differ from the base schema: nothing to migrate"
fi

stamp="$(date -u +%Y%m%d%H%M%S)_$name"
mkdir -p "prisma/migrations/$stamp" "prisma/postgres/migrations/$stamp"
cp "$tmp/sqlite.sql" "prisma/migrations/$stamp/migration.sql"
cp "$tmp/pg.sql" "prisma/postgres/migrations/$stamp/migration.sql"
echo "prisma/migrations/$stamp/migration.sql"
echo "prisma/postgres/migrations/$stamp/migration.sql"
echo "Review both, then run: npx vitest run tests/unit/host/migrate.test.ts tests/unit/host/store.test.ts"
