/**
 * Opens the Prisma client that fits a database URL: the SQLite client (src/generated/prisma) over
 * better-sqlite3 for `file:` URLs, the PostgreSQL client (src/generated/prisma-pg) over node-postgres
 * for `postgres://` / `postgresql://`. Both are generated from the same models (scripts/prisma-generate.sh),
 * so the rest of the host uses one client type.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { PrismaClient } from '../../generated/prisma/client.js';

export type Db = PrismaClient;
export type DbKind = 'sqlite' | 'postgresql';

/** How long a SQLite statement waits for another connection's lock before failing (better-sqlite3 `timeout`). */
const SQLITE_BUSY_TIMEOUT_MS = 5000;

/** Which database a URL names; a clear error for anything else. */
export function dbKind(url: string): DbKind {
  if (url.startsWith('file:')) return 'sqlite';
  if (/^postgres(ql)?:\/\//.test(url)) return 'postgresql';
  throw new Error(
    `DATABASE_URL '${redactUrl(url)}' is not supported: use file:/path/to/labvisor.db (SQLite) or postgresql://user@host:port/db`,
  );
}

/**
 * The file a `file:` URL names, resolved against the working directory (as the adapter does), without
 * Prisma-style query parameters (`?connection_limit=1`), which better-sqlite3 would take as part of the name.
 */
export function sqlitePath(url: string): string {
  const p = url.slice('file:'.length).replace(/\?.*$/, '');
  if (!p) throw new Error(`DATABASE_URL '${url}' names no file`);
  return path.resolve(p);
}

/** The URL with any password replaced, for logs and error messages. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z]+:\/\/[^:/@]*):[^@/]*@/i, '$1:***@');
}

/** Connect to `url` (applying no migrations: see migrate.ts). */
export async function openDb(url: string): Promise<{ db: Db; kind: DbKind }> {
  const kind = dbKind(url);
  if (kind === 'sqlite') {
    const file = sqlitePath(url);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const [{ PrismaClient: Client }, { PrismaBetterSQLite3 }] = await Promise.all([
      import('../../generated/prisma/client.js'),
      import('@prisma/adapter-better-sqlite3'),
    ]);
    const db = new Client({
      adapter: new PrismaBetterSQLite3({ url: `file:${file}`, timeout: SQLITE_BUSY_TIMEOUT_MS }),
    });
    try {
      // WAL: readers never wait for the writer and a commit is one sequential append; with WAL,
      // synchronous=NORMAL stays consistent after a power loss (only the last commits can be lost).
      await db.$queryRawUnsafe('PRAGMA journal_mode = WAL');
      await db.$executeRawUnsafe('PRAGMA synchronous = NORMAL');
    } catch (e) {
      await db.$disconnect();
      throw new Error(`cannot open SQLite database ${file}: ${(e as Error).message}`);
    }
    return { db, kind };
  }
  const [{ PrismaClient: Client }, { PrismaPg }] = await Promise.all([
    import('../../generated/prisma-pg/client.js'),
    import('@prisma/adapter-pg'),
  ]);
  // The PostgreSQL client has the same models and methods; its type differs only in provider-specific
  // query options the host does not use.
  const db = new Client({ adapter: new PrismaPg({ connectionString: url }) }) as unknown as Db;
  try {
    await db.$queryRawUnsafe('SELECT 1');
  } catch (e) {
    await db.$disconnect().catch(() => {});
    throw new Error(`cannot connect to PostgreSQL at ${redactUrl(url)}: ${(e as Error).message}`);
  }
  return { db, kind };
}
