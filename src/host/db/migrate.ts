/**
 * Applies the Prisma migrations at server start without the Prisma CLI (which is a dev dependency and
 * cannot run `migrate` against PostgreSQL here): prisma/migrations/<name>/migration.sql for SQLite,
 * prisma/postgres/migrations/<name>/migration.sql for PostgreSQL, in name order, each in one transaction.
 * Applied migrations are recorded in `_prisma_migrations` exactly as Prisma records them (same table,
 * sha256 checksum of the file, ISO timestamps, applied_steps_count 1), so `prisma migrate status` and
 * `prisma migrate dev` agree with what the server did.
 */
import { createHash, randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Db, DbKind } from './client.js';

export interface Migration {
  /** Directory name, e.g. 20261126001404_init (sorted by name = by time). */
  name: string;
  sql: string;
  /** sha256 hex of the file's bytes, as Prisma computes it. */
  checksum: string;
}

export interface MigrateLog {
  info(msg: string): void;
  warn(msg: string): void;
}

/** The Prisma advisory lock key (prisma-engines uses the same), so a CLI and a server never migrate at once. */
const PG_MIGRATION_LOCK = 72707369;

/**
 * The package root: the nearest directory above this file holding package.json. Works from src/host/db
 * (tsx), dist/host/db (npm run build) and an installed copy (the Docker image), whatever the cwd is.
 */
export function packageRoot(from = path.dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(path.join(dir, 'prisma'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no package root with prisma/ above ${from}`);
  }
}

export function migrationsDir(kind: DbKind): string {
  const root = packageRoot();
  return kind === 'sqlite'
    ? path.join(root, 'prisma', 'migrations')
    : path.join(root, 'prisma', 'postgres', 'migrations');
}

/** The migrations in `dir`, in the order Prisma applies them (directory names sorted). */
export function readMigrations(dir: string): Migration[] {
  if (!fs.existsSync(dir))
    throw new Error(`migrations directory ${dir} is missing (is prisma/ shipped with the server?)`);
  const out: Migration[] = [];
  for (const name of fs.readdirSync(dir).sort()) {
    const file = path.join(dir, name, 'migration.sql');
    if (!fs.existsSync(file)) continue; // migration_lock.toml and stray files
    const bytes = fs.readFileSync(file);
    out.push({ name, sql: bytes.toString('utf8'), checksum: createHash('sha256').update(bytes).digest('hex') });
  }
  return out;
}

/**
 * Split a migration script into statements. Prisma writes `;`-terminated statements with `--` comments;
 * hand-edited migrations may also hold block comments, quoted strings and identifiers containing `;`,
 * PostgreSQL dollar-quoted bodies and SQLite triggers (`BEGIN ...; ...; END;`), all kept whole here.
 * Comments are dropped; statements that are only comments disappear.
 */
export function splitSql(sql: string): string[] {
  const out: string[] = [];
  let cur = '';
  let words: string[] = []; // upper-cased keywords of the current statement (first few and the running depth)
  let depth = 0; // BEGIN/CASE ... END nesting, tracked inside CREATE TRIGGER only
  const n = sql.length;
  let i = 0;
  const isTrigger = (): boolean => {
    const w = words.slice(0, 4);
    return w[0] === 'CREATE' && (w[1] === 'TRIGGER' || (/^TEMP(ORARY)?$/.test(w[1] ?? '') && w[2] === 'TRIGGER'));
  };
  const finish = (): void => {
    const s = cur.trim();
    if (s) out.push(s);
    cur = '';
    words = [];
    depth = 0;
  };
  const quoted = (q: string, what: string, backslash = false): void => {
    // Copies a quoted run starting at sql[i] (the opening quote); a doubled quote is an escaped quote.
    let j = i + 1;
    for (;;) {
      if (j >= n) throw new Error(`unterminated ${what} starting at offset ${i}`);
      if (backslash && sql[j] === '\\') {
        j += 2;
        continue;
      }
      if (sql[j] === q) {
        if (sql[j + 1] === q) {
          j += 2;
          continue;
        }
        break;
      }
      j++;
    }
    cur += sql.slice(i, j + 1);
    i = j + 1;
  };
  while (i < n) {
    const c = sql[i]!;
    if (c === '-' && sql[i + 1] === '-') {
      const nl = sql.indexOf('\n', i);
      i = nl < 0 ? n : nl;
      continue;
    }
    if (c === '/' && sql[i + 1] === '*') {
      // PostgreSQL nests block comments; SQLite does not, but nesting never appears in its scripts.
      let level = 1;
      let j = i + 2;
      while (level > 0) {
        if (j >= n) throw new Error(`unterminated /* comment starting at offset ${i}`);
        if (sql[j] === '*' && sql[j + 1] === '/') {
          level--;
          j += 2;
        } else if (sql[j] === '/' && sql[j + 1] === '*') {
          level++;
          j += 2;
        } else j++;
      }
      cur += ' ';
      i = j;
      continue;
    }
    if (c === "'") {
      // E'...' strings (PostgreSQL) take backslash escapes.
      const eString = /(^|[^A-Za-z0-9_$])[Ee]$/.test(cur);
      quoted("'", 'string', eString);
      continue;
    }
    if (c === '"' || c === '`') {
      quoted(c, 'quoted identifier');
      continue;
    }
    if (c === '$') {
      const m = /^\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(i, i + 64));
      if (m && !/[A-Za-z0-9_]$/.test(cur)) {
        const tag = m[0];
        const end = sql.indexOf(tag, i + tag.length);
        if (end < 0) throw new Error(`unterminated ${tag} quoted body starting at offset ${i}`);
        cur += sql.slice(i, end + tag.length);
        i = end + tag.length;
        continue;
      }
    }
    if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_$]*/.exec(sql.slice(i, i + 256))!;
      const w = m[0].toUpperCase();
      if (words.length < 4) words.push(w);
      if (isTrigger()) {
        if (w === 'BEGIN' || w === 'CASE') depth++;
        else if (w === 'END') depth--;
      }
      cur += m[0];
      i += m[0].length;
      continue;
    }
    if (c === ';' && !(isTrigger() && depth > 0)) {
      finish();
      i++;
      continue;
    }
    cur += c;
    i++;
  }
  finish();
  return out;
}

interface AppliedRow {
  migration_name: string;
  checksum: string;
  finished_at: unknown;
  rolled_back_at: unknown;
}

const CREATE_TABLE: Record<DbKind, string> = {
  // The exact DDL prisma-engines uses for each provider.
  sqlite: `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    TEXT PRIMARY KEY NOT NULL,
    "checksum"              TEXT NOT NULL,
    "finished_at"           DATETIME,
    "migration_name"        TEXT NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        DATETIME,
    "started_at"            DATETIME NOT NULL DEFAULT current_timestamp,
    "applied_steps_count"   INTEGER UNSIGNED NOT NULL DEFAULT 0
)`,
  postgresql: `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)`,
};

/** Prisma's SQLite timestamp text: 2026-11-26T00:17:28.607+00:00. */
function sqliteTime(d: Date): string {
  return d.toISOString().replace('Z', '+00:00');
}

async function appliedRows(db: Db): Promise<AppliedRow[]> {
  return db.$queryRawUnsafe<AppliedRow[]>(
    'SELECT "migration_name", "checksum", "finished_at", "rolled_back_at" FROM "_prisma_migrations" ORDER BY "started_at", "migration_name"',
  );
}

/** The database's own words from a Prisma error (without its "Invalid `prisma.$executeRawUnsafe()` invocation:" preamble). */
function dbMessage(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.replace(/^\s*Invalid `[^`]*` invocation:?\s*/s, '').trim();
}

export class MigrationError extends Error {
  override name = 'MigrationError';
}

/**
 * Bring the database up to date. Throws MigrationError (the server must not start) when an applied
 * migration's file changed, an earlier migration failed half-way, or a migration fails now (its
 * transaction is rolled back, so the database is as before). Returns the names applied.
 */
export async function applyMigrations(
  db: Db,
  kind: DbKind,
  opts: { dir?: string; log?: MigrateLog } = {},
): Promise<string[]> {
  const dir = opts.dir ?? migrationsDir(kind);
  const files = readMigrations(dir);
  if (kind === 'postgresql') {
    // Two servers starting on a fresh database would race on CREATE TABLE IF NOT EXISTS (a duplicate
    // pg_type row); under the migration lock the second one finds the table.
    await db.$transaction(async (tx) => {
      await tx.$executeRawUnsafe(`SELECT pg_advisory_xact_lock(${PG_MIGRATION_LOCK})`);
      await tx.$executeRawUnsafe(CREATE_TABLE[kind]);
    });
  } else await db.$executeRawUnsafe(CREATE_TABLE[kind]);

  const rows = await appliedRows(db);
  const byName = new Map(files.map((m) => [m.name, m]));
  for (const r of rows) {
    if (r.rolled_back_at !== null) continue;
    if (r.finished_at === null) {
      throw new MigrationError(
        `migration ${r.migration_name} was started but did not finish (recorded in _prisma_migrations); ` +
          `fix the database by hand, then mark it with: npx prisma migrate resolve --rolled-back ${r.migration_name}`,
      );
    }
    const m = byName.get(r.migration_name);
    if (!m) {
      opts.log?.warn(
        `database has migration ${r.migration_name}, which ${dir} does not have (was it made by a newer labvisor?)`,
      );
      continue;
    }
    if (m.checksum !== r.checksum) {
      throw new MigrationError(
        `migration ${m.name} was modified after it was applied: ${path.join(dir, m.name, 'migration.sql')} ` +
          `has sha256 ${m.checksum}, the database recorded ${r.checksum}. Restore the original file ` +
          `(migrations are never edited; add a new one for a change)`,
      );
    }
  }
  const done = new Set(rows.filter((r) => r.rolled_back_at === null).map((r) => r.migration_name));
  const applied: string[] = [];
  for (const m of files) {
    if (done.has(m.name)) continue;
    let statements: string[];
    try {
      statements = splitSql(m.sql);
    } catch (e) {
      throw new MigrationError(`migration ${m.name}: ${(e as Error).message}`);
    }
    const started = new Date();
    try {
      const ran = await db.$transaction(
        async (tx) => {
          if (kind === 'postgresql') {
            // Held until this transaction ends; a second server (or `prisma migrate`) waits here.
            await tx.$executeRawUnsafe(`SELECT pg_advisory_xact_lock(${PG_MIGRATION_LOCK})`);
          }
          // Another process may have applied it between our read and the lock.
          const again = await tx.$queryRawUnsafe<{ n: unknown }[]>(
            kind === 'sqlite'
              ? 'SELECT COUNT(*) AS n FROM "_prisma_migrations" WHERE "migration_name" = ? AND "rolled_back_at" IS NULL'
              : 'SELECT COUNT(*) AS n FROM "_prisma_migrations" WHERE "migration_name" = $1 AND "rolled_back_at" IS NULL',
            m.name,
          );
          if (Number(again[0]?.n ?? 0) > 0) return false;
          for (const [k, s] of statements.entries()) {
            try {
              await tx.$executeRawUnsafe(s);
            } catch (e) {
              const head = s.replace(/\s+/g, ' ').slice(0, 80);
              throw new Error(`statement ${k + 1} (${head}${s.length > 80 ? '…' : ''}): ${dbMessage(e)}`);
            }
          }
          const finished = new Date();
          if (kind === 'sqlite') {
            await tx.$executeRawUnsafe(
              'INSERT INTO "_prisma_migrations" ("id", "checksum", "finished_at", "migration_name", "logs", "rolled_back_at", "started_at", "applied_steps_count") VALUES (?, ?, ?, ?, NULL, NULL, ?, 1)',
              randomUUID(),
              m.checksum,
              sqliteTime(finished),
              m.name,
              sqliteTime(started),
            );
          } else {
            await tx.$executeRawUnsafe(
              'INSERT INTO "_prisma_migrations" ("id", "checksum", "finished_at", "migration_name", "logs", "rolled_back_at", "started_at", "applied_steps_count") VALUES ($1, $2, $3::timestamptz, $4, NULL, NULL, $5::timestamptz, 1)',
              randomUUID(),
              m.checksum,
              finished.toISOString(),
              m.name,
              started.toISOString(),
            );
          }
          return true;
        },
        // Schema changes on a big table can take long; the defaults (2 s wait, 5 s run) are for requests.
        { maxWait: 60_000, timeout: 30 * 60_000 },
      );
      if (ran) {
        applied.push(m.name);
        opts.log?.info(`applied migration ${m.name} (${statements.length} statements)`);
      }
    } catch (e) {
      throw new MigrationError(
        `migration ${m.name} failed and was rolled back: ${dbMessage(e)} ` +
          `(${path.join(dir, m.name, 'migration.sql')})`,
      );
    }
  }
  return applied;
}
