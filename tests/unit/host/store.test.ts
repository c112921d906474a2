// The Store (src/host/store.ts) against both databases it supports: SQLite in a temporary directory and
// PostgreSQL in a fresh database per run (labvisor_test_<random>, dropped afterwards). PostgreSQL comes from
// LABVISOR_TEST_POSTGRES_URL (any database on a server where we may CREATE DATABASE), else from
// scripts/postgres-test-server.sh, which starts Debian's PostgreSQL on 127.0.0.1:55432. Without either the
// PostgreSQL block fails, so CI cannot silently stop testing it.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HostError } from '../../../src/host/errors.js';
import { openDb } from '../../../src/host/db/client.js';
import { migrationsDir, readMigrations } from '../../../src/host/db/migrate.js';
import { Store } from '../../../src/host/store.js';
import type { MachineRecord } from '../../../src/host/types.js';

const root = resolve(import.meta.dirname, '..', '..', '..');

/** The URL of a PostgreSQL server to make test databases on. */
function postgresServerUrl(): string {
  const given = process.env.LABVISOR_TEST_POSTGRES_URL;
  if (given) return given;
  const base = '/usr/lib/postgresql';
  const bins = existsSync(base) ? readdirSync(base).filter((v) => existsSync(join(base, v, 'bin', 'pg_ctl'))) : [];
  if (bins.length === 0) {
    throw new Error(
      'PostgreSQL tests need a server: set LABVISOR_TEST_POSTGRES_URL=postgresql://user@host:port/db, ' +
        "or install Debian's postgresql package (apt-get install postgresql) so scripts/postgres-test-server.sh can start one",
    );
  }
  return execFileSync('bash', [join(root, 'scripts', 'postgres-test-server.sh')], {
    encoding: 'utf8',
    timeout: 120_000,
  }).trim();
}

function withDatabase(url: string, db: string): string {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
}

interface Backend {
  url: string;
  dataDir: string;
  cleanup: () => Promise<void>;
}

const backends: Record<'sqlite' | 'postgresql', () => Promise<Backend>> = {
  async sqlite() {
    const dataDir = mkdtempSync(join(tmpdir(), 'labvisor-store-'));
    return {
      url: `file:${join(dataDir, 'labvisor.db')}`,
      dataDir,
      cleanup: async () => rmSync(dataDir, { recursive: true, force: true }),
    };
  },
  async postgresql() {
    const server = postgresServerUrl();
    const name = `labvisor_test_${randomBytes(6).toString('hex')}`;
    const { db: admin } = await openDb(server);
    await admin.$executeRawUnsafe(`CREATE DATABASE "${name}"`);
    const dataDir = mkdtempSync(join(tmpdir(), 'labvisor-store-pg-'));
    return {
      url: withDatabase(server, name),
      dataDir,
      cleanup: async () => {
        try {
          await admin.$executeRawUnsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
        } finally {
          await admin.$disconnect();
          rmSync(dataDir, { recursive: true, force: true });
        }
      },
    };
  },
};

function machine(name: string, over: Partial<MachineRecord> = {}): Omit<MachineRecord, 'createdAt' | 'updatedAt'> {
  return {
    id: `id-${name}-${randomBytes(4).toString('hex')}`,
    name,
    image: 'busybox',
    memMiB: 64,
    vcpus: 1,
    cmdline: '',
    init: '',
    state: 'created',
    lastExit: null,
    bootCount: 0,
    ...over,
  };
}

async function hostError(p: Promise<unknown>): Promise<HostError> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(HostError);
  return e as HostError;
}

describe.each(['sqlite', 'postgresql'] as const)('Store on %s', (kind) => {
  let backend: Backend;
  let store: Store;

  beforeAll(async () => {
    backend = await backends[kind]();
    store = await Store.open({ dataDir: backend.dataDir, databaseUrl: backend.url });
  }, 180_000);

  afterAll(async () => {
    await store?.close();
    await backend?.cleanup();
  });

  it('opens the right kind of database', () => {
    expect(store.kind).toBe(kind);
  });

  it('creates, finds (by id and by name), updates and deletes machines', async () => {
    const m = await store.createMachine(machine('crud', { cmdline: 'quiet', init: '/bin/sh' }));
    expect(m).toMatchObject({ name: 'crud', cmdline: 'quiet', init: '/bin/sh', state: 'created', lastExit: null });
    expect(m.createdAt).toBeInstanceOf(Date);
    expect(await store.getMachine(m.id)).toEqual(m);
    expect(await store.getMachine('crud')).toEqual(m);
    expect(await store.getMachine('nope')).toBeNull();

    await new Promise((r) => setTimeout(r, 5));
    const u = await store.updateMachine(m.id, { state: 'running', bootCount: 1, lastExit: 'poweroff', memMiB: 128 });
    expect(u).toMatchObject({ state: 'running', bootCount: 1, lastExit: 'poweroff', memMiB: 128, name: 'crud' });
    expect(u.updatedAt.getTime()).toBeGreaterThan(m.updatedAt.getTime());
    expect(u.createdAt).toEqual(m.createdAt);
    // Fields that are not the store's to change are ignored.
    const same = await store.updateMachine(m.id, { id: 'other', createdAt: new Date(0), lastExit: null });
    expect(same.id).toBe(m.id);
    expect(same.createdAt).toEqual(m.createdAt);

    expect((await hostError(store.updateMachine('missing', { memMiB: 1 }))).status).toBe(404);
    await store.deleteMachine(m.id);
    expect(await store.getMachine(m.id)).toBeNull();
    await store.deleteMachine(m.id); // already gone: not an error
  });

  it('answers name-taken (409) for a duplicate name, on create and on rename', async () => {
    await store.createMachine(machine('dup'));
    const e = await hostError(store.createMachine(machine('dup')));
    expect(e.status).toBe(409);
    expect(e.code).toBe('name-taken');
    expect(e.message).toBe("a machine named 'dup' already exists; choose another name");

    const other = await store.createMachine(machine('dup2'));
    const r = await hostError(store.updateMachine(other.id, { name: 'dup' }));
    expect([r.status, r.code]).toEqual([409, 'name-taken']);
    expect((await store.getMachine(other.id))!.name).toBe('dup2');
  });

  it('lists machines oldest first with a state filter, pagination and the total', async () => {
    const made: MachineRecord[] = [];
    for (let i = 0; i < 7; i++) {
      made.push(await store.createMachine(machine(`list-${i}`, { state: i % 3 === 0 ? 'stopped' : 'crashed' })));
    }
    const all = await store.listMachines({ limit: 1000, offset: 0 });
    const mine = all.items.filter((m) => m.name.startsWith('list-')).map((m) => m.name);
    expect(mine).toEqual(made.map((m) => m.name));
    expect(all.total).toBe(all.items.length);

    const stopped = await store.listMachines({ state: 'stopped', limit: 2, offset: 0 });
    expect(stopped.total).toBe(3);
    expect(stopped.items.map((m) => m.name)).toEqual(['list-0', 'list-3']);
    const page2 = await store.listMachines({ state: 'stopped', limit: 2, offset: 2 });
    expect(page2.items.map((m) => m.name)).toEqual(['list-6']);
    expect(page2.total).toBe(3);
    const crashed = await store.listMachines({ state: 'crashed', limit: 50, offset: 1 });
    expect(crashed.total).toBe(4);
    expect(crashed.items.map((m) => m.name)).toEqual(['list-2', 'list-4', 'list-5']);
    expect((await store.listMachines({ state: 'paused', limit: 5, offset: 0 })).total).toBe(0);
  });

  it('counts machines per image and totals (machines; memory of running and paused ones)', async () => {
    const before = await store.machineTotals();
    await store.createMachine(machine('tot-a', { image: 'tot-img', memMiB: 100, state: 'running' }));
    await store.createMachine(machine('tot-b', { image: 'tot-img', memMiB: 50, state: 'paused' }));
    await store.createMachine(machine('tot-c', { image: 'other-img', memMiB: 1000, state: 'stopped' }));
    expect(await store.machinesUsingImage('tot-img')).toBe(2);
    expect(await store.machinesUsingImage('other-img')).toBe(1);
    expect(await store.machinesUsingImage('unused')).toBe(0);
    const after = await store.machineTotals();
    expect(after.count - before.count).toBe(3);
    expect(after.memMiB - before.memMiB).toBe(150);
  });

  it('keeps images with sizes beyond 32 bits, by id and name; name-taken on a duplicate', async () => {
    const big = 5 * 1024 ** 3 + 512;
    const rec = {
      id: `img-${randomBytes(4).toString('hex')}`,
      name: 'big',
      format: 'ext4' as const,
      source: 'imported' as const,
      sizeBytes: big,
      sha256: 'ab'.repeat(32),
      createdAt: new Date('2026-01-02T03:04:05.678Z'),
    };
    expect(await store.createImage(rec)).toEqual(rec);
    expect(await store.getImage(rec.id)).toEqual(rec);
    expect(await store.getImage('big')).toEqual(rec);
    expect(typeof (await store.getImage('big'))!.sizeBytes).toBe('number');
    const e = await hostError(store.createImage({ ...rec, id: 'another' }));
    expect([e.status, e.code, e.message]).toEqual([
      409,
      'name-taken',
      "an image named 'big' already exists; choose another name",
    ]);
    await store.createImage({ ...rec, id: 'a-first', name: 'a-first', format: 'ext2', source: 'built' });
    expect((await store.listImages()).map((i) => i.name)).toEqual(['a-first', 'big']);
    await store.deleteImage(rec.id);
    expect(await store.getImage('big')).toBeNull();
    expect((await store.listImages()).map((i) => i.name)).toEqual(['a-first']);
  });

  it('lists events newest first, filtered, paged with beforeId', async () => {
    for (let i = 0; i < 5; i++) {
      await store.addEvent({ subject: 'machine', subjectId: 'ev-m', actor: 'tester', kind: 'state', message: `m${i}` });
      await store.addEvent({ subject: 'image', subjectId: 'ev-i', actor: 'system', kind: 'built', message: `i${i}` });
    }
    await store.addEvent({ subject: 'server', actor: 'system', kind: 'started', message: 'up' });

    const latest = await store.listEvents({ limit: 3 });
    expect(latest.map((e) => e.message)).toEqual(['up', 'i4', 'm4']);
    expect(latest[0]).toMatchObject({ subject: 'server', subjectId: null, actor: 'system', kind: 'started' });
    expect(new Date(latest[0]!.at).toISOString()).toBe(latest[0]!.at);
    expect(latest[0]!.id).toBeGreaterThan(latest[1]!.id);

    const p1 = await store.listEvents({ subject: 'machine', subjectId: 'ev-m', limit: 2 });
    expect(p1.map((e) => e.message)).toEqual(['m4', 'm3']);
    const p2 = await store.listEvents({ subject: 'machine', subjectId: 'ev-m', limit: 2, beforeId: p1[1]!.id });
    expect(p2.map((e) => e.message)).toEqual(['m2', 'm1']);
    const p3 = await store.listEvents({ subject: 'machine', subjectId: 'ev-m', limit: 2, beforeId: p2[1]!.id });
    expect(p3.map((e) => e.message)).toEqual(['m0']);
    expect((await store.listEvents({ subject: 'image', limit: 100 })).map((e) => e.message)).toEqual([
      'i4',
      'i3',
      'i2',
      'i1',
      'i0',
    ]);
  });

  it('keeps only token hashes, finds them by hash and records their use', async () => {
    const before = await store.countTokens();
    await store.createToken('admin', 'h'.repeat(64));
    await store.createToken('ci', 'c'.repeat(64));
    expect(await store.countTokens()).toBe(before + 2);
    const t = await store.findTokenByHash('h'.repeat(64));
    expect(t).toEqual({ id: expect.any(String), name: 'admin' });
    expect(await store.findTokenByHash('x'.repeat(64))).toBeNull();
    await store.touchToken(t!.id);
    await store.touchToken('gone'); // a token deleted meanwhile: not an error
    const e = await hostError(store.createToken('admin', 'z'.repeat(64)));
    expect([e.status, e.code]).toEqual([409, 'name-taken']);
    // Listed by name and dates only; revoking one leaves the others.
    await store.createToken('temp', 't'.repeat(64));
    const names = (await store.listTokens()).map((r) => r.name);
    expect(names).toEqual(expect.arrayContaining(['admin', 'ci', 'temp']));
    expect((await store.listTokens()).find((r) => r.name === 'admin')!.lastUsedAt).toBeInstanceOf(Date);
    expect(await store.deleteToken('temp')).toBe(true);
    expect(await store.deleteToken('temp')).toBe(false);
    expect(await store.findTokenByHash('t'.repeat(64))).toBeNull();
    expect(await store.findTokenByHash('h'.repeat(64))).not.toBeNull();
  });

  it('creates, finds, lists, updates and deletes networks; name-taken (409) on a duplicate', async () => {
    const n = await store.createNetwork({
      id: 'net-a',
      name: 'lab',
      cidr: '10.0.0.0/24',
      gateway: '10.0.0.1',
      dhcp: true,
      dns: false,
    });
    expect(n).toMatchObject({
      id: 'net-a',
      name: 'lab',
      cidr: '10.0.0.0/24',
      gateway: '10.0.0.1',
      dhcp: true,
      dns: false,
    });
    expect(n.createdAt).toBeInstanceOf(Date);
    expect(await store.getNetwork('net-a')).toEqual(n);
    expect(await store.getNetwork('lab')).toEqual(n);
    expect(await store.getNetwork('nope')).toBeNull();
    const e = await hostError(
      store.createNetwork({
        id: 'net-b',
        name: 'lab',
        cidr: '10.1.0.0/24',
        gateway: '10.1.0.1',
        dhcp: true,
        dns: true,
      }),
    );
    expect([e.status, e.code, e.message]).toEqual([
      409,
      'name-taken',
      "a network named 'lab' already exists; choose another name",
    ]);
    await store.createNetwork({
      id: 'net-c',
      name: 'alab',
      cidr: '10.2.0.0/16',
      gateway: '10.2.0.1',
      dhcp: false,
      dns: true,
    });
    expect((await store.listNetworks()).map((x) => x.name)).toEqual(['alab', 'lab']);
    const u = await store.updateNetwork('net-a', { name: 'lab2', dns: true, id: 'ignored' });
    expect(u).toMatchObject({ id: 'net-a', name: 'lab2', dns: true });
    expect([(await hostError(store.updateNetwork('net-a', { name: 'alab' }))).code]).toEqual(['name-taken']);
    expect((await hostError(store.updateNetwork('missing', { dns: true }))).status).toBe(404);
    await store.deleteNetwork('net-c');
    expect(await store.getNetwork('net-c')).toBeNull();
    await store.deleteNetwork('net-c'); // already gone: not an error
  });

  it('creates NICs with their machine and deletes them with it; mac-taken, ip-taken; network-in-use', async () => {
    await store.createNetwork({
      id: 'net-n',
      name: 'nicnet',
      cidr: '192.168.5.0/24',
      gateway: '192.168.5.1',
      dhcp: true,
      dns: true,
    });
    const m = await store.createMachine(machine('withnics'), [
      { id: 'nic-1', networkId: 'net-n', index: 0, mac: '02:00:00:00:00:01', ip: '192.168.5.10' },
      { id: 'nic-2', networkId: 'net-n', index: 1, mac: '02:00:00:00:00:02', ip: null },
    ]);
    const nics = await store.listNics({ machineId: m.id });
    expect(nics.map((n) => [n.index, n.mac, n.ip, n.networkId])).toEqual([
      [0, '02:00:00:00:00:01', '192.168.5.10', 'net-n'],
      [1, '02:00:00:00:00:02', null, 'net-n'],
    ]);
    expect((await store.findNicByMac('02:00:00:00:00:02'))?.id).toBe('nic-2');
    expect(await store.countNics('net-n')).toBe(2);
    expect((await store.nicCounts()).get('net-n')).toBe(2);

    // A second machine whose NIC clashes is not created at all (one statement).
    const mac = await hostError(
      store.createMachine(machine('clash-mac'), [
        { id: 'nic-3', networkId: 'net-n', index: 0, mac: '02:00:00:00:00:01', ip: null },
      ]),
    );
    expect([mac.status, mac.code]).toEqual([409, 'mac-taken']);
    expect(mac.message).toMatch(/02:00:00:00:00:01 .*already another NIC's/);
    expect(await store.getMachine('clash-mac')).toBeNull();
    const ip = await hostError(
      store.createMachine(machine('clash-ip'), [
        { id: 'nic-4', networkId: 'net-n', index: 0, mac: '02:00:00:00:00:04', ip: '192.168.5.10' },
      ]),
    );
    expect([ip.status, ip.code]).toEqual([409, 'ip-taken']);
    expect(await store.getMachine('clash-ip')).toBeNull();
    // NULL addresses do not clash (any number of DHCP NICs per network).
    const m2 = await store.createMachine(machine('dhcp-too'), [
      { id: 'nic-5', networkId: 'net-n', index: 0, mac: '02:00:00:00:00:05', ip: null },
    ]);

    // Replacing a machine's NICs is one statement too: a clash leaves the old ones.
    const clash = await hostError(
      store.updateMachine(m.id, { memMiB: 99 }, [
        { id: 'nic-6', networkId: 'net-n', index: 0, mac: '02:00:00:00:00:05', ip: null },
      ]),
    );
    expect(clash.code).toBe('mac-taken');
    expect((await store.getMachine(m.id))!.memMiB).toBe(64);
    expect((await store.listNics({ machineId: m.id })).map((n) => n.id)).toEqual(['nic-1', 'nic-2']);
    // Its own old MAC may be reused (the old NICs go first).
    await store.updateMachine(m.id, {}, [
      { id: 'nic-7', networkId: 'net-n', index: 0, mac: '02:00:00:00:00:02', ip: '192.168.5.10' },
      { id: 'nic-8', networkId: 'net-n', index: 1, mac: '02:00:00:00:00:08', ip: null },
    ]);
    expect((await store.listNics({ machineId: m.id })).map((n) => [n.id, n.mac])).toEqual([
      ['nic-7', '02:00:00:00:00:02'],
      ['nic-8', '02:00:00:00:00:08'],
    ]);
    const inUse = await hostError(store.deleteNetwork('net-n'));
    expect([inUse.status, inUse.code, inUse.extra]).toEqual([409, 'network-in-use', { nics: 3 }]);
    await store.deleteMachine(m.id);
    expect(await store.listNics({ machineId: m.id })).toEqual([]);
    expect(await store.findNicByMac('02:00:00:00:00:01')).toBeNull();
    await store.deleteMachine(m2.id);
    await store.deleteNetwork('net-n');
    expect(await store.getNetwork('net-n')).toBeNull();
  });

  // Two servers on one SQLite file are not a setup we support (nor would their machines directories be);
  // on PostgreSQL they meet under the migration lock.
  if (kind === 'postgresql') {
    it('lets two servers start on one fresh database at once', async () => {
      const { db: admin } = await openDb(backend.url);
      const name = `labvisor_test_${randomBytes(6).toString('hex')}`;
      await admin.$executeRawUnsafe(`CREATE DATABASE "${name}"`);
      try {
        const url = withDatabase(backend.url, name);
        const both = await Promise.all([
          Store.open({ dataDir: backend.dataDir, databaseUrl: url }),
          Store.open({ dataDir: backend.dataDir, databaseUrl: url }),
        ]);
        await both[0].createMachine(machine('race'));
        expect((await both[1].getMachine('race'))?.name).toBe('race');
        for (const s of both) await s.close();
        const { db } = await openDb(url);
        const rows = await db.$queryRawUnsafe<{ migration_name: string }[]>(
          'SELECT "migration_name" FROM "_prisma_migrations"',
        );
        await db.$disconnect();
        expect(rows.map((r) => r.migration_name)).toEqual(
          readMigrations(migrationsDir('postgresql')).map((m) => m.name),
        );
      } finally {
        await admin.$executeRawUnsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
        await admin.$disconnect();
      }
    });
  }

  it('keeps everything across a restart, and a second open applies no migration', async () => {
    const m = await store.createMachine(machine('persist', { state: 'running' }));
    await store.close();
    store = await Store.open({ dataDir: backend.dataDir, databaseUrl: backend.url });
    expect(await store.getMachine('persist')).toEqual(m);
    expect(await store.findTokenByHash('h'.repeat(64))).not.toBeNull();
    expect((await store.listEvents({ limit: 1 }))[0]!.message).toBe('up');
  });
});

describe('Store.open', () => {
  it('puts SQLite at <dataDir>/labvisor.db by default', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'labvisor-store-default-'));
    const saved = process.env.DATABASE_URL;
    delete process.env.DATABASE_URL;
    try {
      const s = await Store.open({ dataDir: join(dir, 'data') });
      expect(s.kind).toBe('sqlite');
      await s.close();
      expect(existsSync(join(dir, 'data', 'labvisor.db'))).toBe(true);
    } finally {
      if (saved !== undefined) process.env.DATABASE_URL = saved;
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a URL it cannot use, saying what works', async () => {
    await expect(Store.open({ dataDir: tmpdir(), databaseUrl: 'mysql://u:secret@h/db' })).rejects.toThrow(
      /DATABASE_URL 'mysql:\/\/u:\*\*\*@h\/db' is not supported: use file:.* or postgresql:/,
    );
  });
});
