// Migrations applied by the server itself (src/host/db/migrate.ts): the tables appear, `_prisma_migrations`
// holds what Prisma's own CLI expects (`prisma migrate status` says up to date), a second start applies
// nothing, an edited migration is refused, a failing one leaves the database as it was.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDb, type Db } from '../../../src/host/db/client.js';
import {
  MigrationError,
  applyMigrations,
  migrationsDir,
  readMigrations,
  splitSql,
} from '../../../src/host/db/migrate.js';

const root = resolve(import.meta.dirname, '..', '..', '..');
const tmp = mkdtempSync(join(tmpdir(), 'labvisor-migrate-'));
const dbs: Db[] = [];
afterAll(async () => {
  for (const db of dbs) await db.$disconnect();
  rmSync(tmp, { recursive: true, force: true });
});

async function fresh(name: string): Promise<{ db: Db; url: string }> {
  const url = `file:${join(tmp, name, 'labvisor.db')}`;
  const { db } = await openDb(url);
  dbs.push(db);
  return { db, url };
}

async function tables(db: Db): Promise<string[]> {
  const rows = await db.$queryRawUnsafe<{ name: string }[]>(
    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
  );
  return rows.map((r) => r.name);
}

/** A copy of the SQLite migrations that a test may edit. */
function copyMigrations(name: string): string {
  const dir = join(tmp, name, 'migrations');
  mkdirSync(dir, { recursive: true });
  cpSync(migrationsDir('sqlite'), dir, { recursive: true });
  return dir;
}

describe('applyMigrations (SQLite)', () => {
  it('creates the tables and records the migrations as Prisma does; prisma migrate status agrees', async () => {
    const { db, url } = await fresh('a');
    const applied = await applyMigrations(db, 'sqlite');
    const files = readMigrations(migrationsDir('sqlite'));
    expect(applied).toEqual(files.map((m) => m.name));
    expect(await tables(db)).toEqual([
      'ApiToken',
      'DhcpLease',
      'Event',
      'Image',
      'Machine',
      'Network',
      'Nic',
      'PortForward',
      '_prisma_migrations',
    ]);

    const rows = await db.$queryRawUnsafe<Record<string, unknown>[]>(
      'SELECT * FROM "_prisma_migrations" ORDER BY "migration_name"',
    );
    expect(rows).toHaveLength(files.length);
    for (const [i, m] of files.entries()) {
      const r = rows[i]!;
      const sql = readFileSync(join(migrationsDir('sqlite'), m.name, 'migration.sql'));
      expect(r.migration_name).toBe(m.name);
      expect(r.checksum).toBe(createHash('sha256').update(sql).digest('hex'));
      expect(r.id).toMatch(/^[0-9a-f-]{36}$/);
      expect(r.finished_at).not.toBeNull();
      expect(r.rolled_back_at).toBeNull();
      expect(r.logs).toBeNull();
      expect(Number(r.applied_steps_count)).toBe(1);
    }

    // Prisma's own view of the same database.
    const st = spawnSync('npx', ['--no-install', 'prisma', 'migrate', 'status'], {
      cwd: root,
      env: { ...process.env, DATABASE_URL: url },
      encoding: 'utf8',
      timeout: 60_000,
    });
    const out = `${st.stdout}${st.stderr}`;
    expect(out, out).toMatch(/Database schema is up to date!/);
    expect(st.status, out).toBe(0);
  });

  it('applies nothing on a second start', async () => {
    const { db } = await fresh('b');
    expect((await applyMigrations(db, 'sqlite')).length).toBeGreaterThan(0);
    expect(await applyMigrations(db, 'sqlite')).toEqual([]);
    const n = await db.$queryRawUnsafe<{ n: bigint }[]>('SELECT COUNT(*) AS n FROM "_prisma_migrations"');
    expect(Number(n[0]!.n)).toBe(readMigrations(migrationsDir('sqlite')).length);
  });

  it('refuses to start when an applied migration was edited', async () => {
    const { db } = await fresh('c');
    const dir = copyMigrations('c');
    await applyMigrations(db, 'sqlite', { dir });
    const first = readMigrations(dir)[0]!;
    appendFileSync(join(dir, first.name, 'migration.sql'), '\n-- edited afterwards\n');
    const err = await applyMigrations(db, 'sqlite', { dir }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MigrationError);
    expect((err as Error).message).toMatch(
      new RegExp(
        `migration ${first.name} was modified after it was applied: .* has sha256 [0-9a-f]{64}, the database recorded ${first.checksum}`,
      ),
    );
  });

  it('refuses to start when a recorded checksum was tampered with', async () => {
    const { db } = await fresh('d');
    await applyMigrations(db, 'sqlite');
    await db.$executeRawUnsafe(`UPDATE "_prisma_migrations" SET "checksum" = '${'0'.repeat(64)}'`);
    await expect(applyMigrations(db, 'sqlite')).rejects.toThrow(/was modified after it was applied/);
  });

  it('applies a new migration with comments, strings and a trigger; a failing one is rolled back', async () => {
    const { db } = await fresh('e');
    const dir = copyMigrations('e');
    await applyMigrations(db, 'sqlite', { dir });
    mkdirSync(join(dir, '20991231000000_extra'));
    writeFileSync(
      join(dir, '20991231000000_extra', 'migration.sql'),
      [
        '-- a hand-written migration; with a comment; and semicolons',
        'CREATE TABLE "Note" ("id" INTEGER PRIMARY KEY, "text" TEXT NOT NULL DEFAULT \'a;b\'); /* block; comment */',
        'CREATE TABLE "NoteLog" ("n" INTEGER);',
        'CREATE TRIGGER "note_log" AFTER INSERT ON "Note" BEGIN',
        '  INSERT INTO "NoteLog" ("n") VALUES (CASE WHEN NEW."id" > 0 THEN 1 ELSE 0 END);',
        '  INSERT INTO "NoteLog" ("n") VALUES (2);',
        'END;',
        'INSERT INTO "Note" ("id", "text") VALUES (1, \'it\'\'s; fine\');',
      ].join('\n'),
    );
    expect(await applyMigrations(db, 'sqlite', { dir })).toEqual(['20991231000000_extra']);
    expect(await db.$queryRawUnsafe('SELECT "text" FROM "Note"')).toEqual([{ text: "it's; fine" }]);
    expect((await db.$queryRawUnsafe<unknown[]>('SELECT * FROM "NoteLog"')).length).toBe(2);

    mkdirSync(join(dir, '20991231000001_broken'));
    writeFileSync(
      join(dir, '20991231000001_broken', 'migration.sql'),
      'CREATE TABLE "Half" ("id" INTEGER);\nCREATE TABLE "Note" ("again" INTEGER);\n',
    );
    await expect(applyMigrations(db, 'sqlite', { dir })).rejects.toThrow(
      /^migration 20991231000001_broken failed and was rolled back: statement 2 \(CREATE TABLE "Note" \("again" INTEGER\)\): table "Note" already exists \(\/.*migration.sql\)$/,
    );
    expect(await tables(db)).not.toContain('Half');
    const names = await db.$queryRawUnsafe<{ migration_name: string }[]>(
      'SELECT "migration_name" FROM "_prisma_migrations"',
    );
    expect(names.map((r) => r.migration_name)).not.toContain('20991231000001_broken');
  });
});

describe('applyMigrations (SQLite), a table redefinition as prisma migrate diff writes it', () => {
  it('keeps the rows (PRAGMAs, copy, drop, rename inside one transaction)', async () => {
    const { db } = await fresh('f');
    const dir = copyMigrations('f');
    await applyMigrations(db, 'sqlite', { dir });
    await db.apiToken.create({ data: { id: 't1', name: 'admin', hash: 'h1' } });
    mkdirSync(join(dir, '20991231000000_token_note'));
    // `prisma/new-migration.sh` output for a new column `note String @default("")` on ApiToken.
    writeFileSync(
      join(dir, '20991231000000_token_note', 'migration.sql'),
      `-- RedefineTables
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_ApiToken" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "name" TEXT NOT NULL,
    "hash" TEXT NOT NULL,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "lastUsedAt" DATETIME,
    "note" TEXT NOT NULL DEFAULT ''
);
INSERT INTO "new_ApiToken" ("createdAt", "hash", "id", "lastUsedAt", "name") SELECT "createdAt", "hash", "id", "lastUsedAt", "name" FROM "ApiToken";
DROP TABLE "ApiToken";
ALTER TABLE "new_ApiToken" RENAME TO "ApiToken";
CREATE UNIQUE INDEX "ApiToken_name_key" ON "ApiToken"("name");
CREATE UNIQUE INDEX "ApiToken_hash_key" ON "ApiToken"("hash");
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;
`,
    );
    expect(await applyMigrations(db, 'sqlite', { dir })).toEqual(['20991231000000_token_note']);
    expect(await db.$queryRawUnsafe('SELECT "id", "name", "note" FROM "ApiToken"')).toEqual([
      { id: 't1', name: 'admin', note: '' },
    ]);
  });
});

describe('splitSql', () => {
  it("splits Prisma's files into statements and drops comments", () => {
    const m = readMigrations(migrationsDir('sqlite'))[0]!;
    const s = splitSql(m.sql);
    expect(s.length).toBe((m.sql.match(/;\s*$/gm) ?? []).length);
    expect(s.every((x) => !x.includes('--') && !x.endsWith(';'))).toBe(true);
  });

  it('keeps strings, quoted identifiers, dollar quotes and block comments whole', () => {
    expect(splitSql('SELECT \'a;b\', "c;d" /* x; y */; SELECT 1;\n-- only a comment;\n')).toEqual([
      'SELECT \'a;b\', "c;d"',
      'SELECT 1',
    ]);
    expect(splitSql("SELECT E'it\\'s;'; SELECT 2")).toEqual(["SELECT E'it\\'s;'", 'SELECT 2']);
    expect(
      splitSql('CREATE FUNCTION f() RETURNS int AS $body$ BEGIN RETURN 1; END; $body$ LANGUAGE plpgsql; SELECT $1;'),
    ).toEqual(['CREATE FUNCTION f() RETURNS int AS $body$ BEGIN RETURN 1; END; $body$ LANGUAGE plpgsql', 'SELECT $1']);
    expect(() => splitSql("SELECT 'open")).toThrow(/unterminated string/);
  });

  it('PostgreSQL migrations split too', () => {
    for (const m of readMigrations(migrationsDir('postgresql'))) {
      expect(splitSql(m.sql).length).toBe((m.sql.match(/;\s*$/gm) ?? []).length);
    }
  });
});
