/**
 * The server's state (machines, images, the event log, API tokens) through Prisma: SQLite at
 * <dataDir>/labvisor.db by default, or the database DATABASE_URL names (file: or postgresql://).
 * Migrations are applied when the store opens. Only this file and src/host/db touch Prisma.
 */
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { BaseLogger } from 'pino';
import { HostError } from './errors.js';
import { openDb, redactUrl, type Db, type DbKind } from './db/client.js';
import { applyMigrations } from './db/migrate.js';
import type { EventView, ImageRecord, MachineRecord, MachineState } from './types.js';

/** What the host needs of a logger (pino and fastify's logger fit). */
export type Logger = Pick<BaseLogger, 'info' | 'warn' | 'error' | 'debug'>;

export type EventSubject = EventView['subject'];

type MachineRow = Awaited<ReturnType<Db['machine']['findFirstOrThrow']>>;
type ImageRow = Awaited<ReturnType<Db['image']['findFirstOrThrow']>>;
type EventRow = Awaited<ReturnType<Db['event']['findFirstOrThrow']>>;

function toMachine(r: MachineRow): MachineRecord {
  return { ...r, state: r.state as MachineState };
}

function toImage(r: ImageRow): ImageRecord {
  return {
    ...r,
    format: r.format as ImageRecord['format'],
    source: r.source as ImageRecord['source'],
    sizeBytes: Number(r.sizeBytes),
  };
}

function toEvent(r: EventRow): EventView {
  return { ...r, at: r.at.toISOString(), subject: r.subject as EventSubject };
}

/** Prisma's error code, when `e` is a known request error (P2002 unique violation, P2025 record not found). */
function prismaCode(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^P\d{4}$/.test(code) ? code : undefined;
}

/** Which unique field a P2002 names (`meta.target` is a field list, or the index name with some adapters). */
function uniqueTarget(e: unknown): string {
  const meta = (e as { meta?: { target?: unknown; driverAdapterError?: unknown } }).meta;
  const t = meta?.target;
  if (Array.isArray(t)) return t.join(',');
  if (typeof t === 'string') return t;
  return JSON.stringify(meta ?? {});
}

export class Store {
  private closed = false;

  private constructor(
    private readonly db: Db,
    readonly kind: DbKind,
    private readonly log?: Logger,
  ) {}

  /**
   * Open the database (`databaseUrl`, else $DATABASE_URL, else SQLite at <dataDir>/labvisor.db) and
   * apply pending migrations. Throws (the server must not start) on a bad URL, an unreachable database
   * or a migration problem.
   */
  static async open(opts: { dataDir: string; databaseUrl?: string; log?: Logger }): Promise<Store> {
    const url =
      opts.databaseUrl || process.env.DATABASE_URL || 'file:' + path.join(path.resolve(opts.dataDir), 'labvisor.db');
    fs.mkdirSync(opts.dataDir, { recursive: true });
    const { db, kind } = await openDb(url);
    try {
      const applied = await applyMigrations(db, kind, {
        log: { info: (m) => opts.log?.info(m), warn: (m) => opts.log?.warn(m) },
      });
      opts.log?.info(
        `database ${redactUrl(url)} (${kind}) is up to date${applied.length ? ` (applied ${applied.join(', ')})` : ''}`,
      );
    } catch (e) {
      await db.$disconnect().catch(() => {});
      throw e;
    }
    return new Store(db, kind, opts.log);
  }

  // ---------------------------------------------------------------------------------------------
  // Machines
  // ---------------------------------------------------------------------------------------------

  async createMachine(m: Omit<MachineRecord, 'createdAt' | 'updatedAt'>): Promise<MachineRecord> {
    try {
      return toMachine(await this.db.machine.create({ data: { ...m } }));
    } catch (e) {
      throw this.mapUnique(e, 'machine', m.name);
    }
  }

  async getMachine(idOrName: string): Promise<MachineRecord | null> {
    const r =
      (await this.db.machine.findUnique({ where: { id: idOrName } })) ??
      (await this.db.machine.findUnique({ where: { name: idOrName } }));
    return r ? toMachine(r) : null;
  }

  /** Oldest first (a stable order for pagination), with the total matching the filter. */
  async listMachines(q: {
    state?: MachineState;
    limit: number;
    offset: number;
  }): Promise<{ items: MachineRecord[]; total: number }> {
    const where = q.state ? { state: q.state } : {};
    const [rows, total] = await this.db.$transaction([
      this.db.machine.findMany({
        where,
        orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
        skip: q.offset,
        take: q.limit,
      }),
      this.db.machine.count({ where }),
    ]);
    return { items: rows.map(toMachine), total };
  }

  /** Updates the given fields (id, createdAt and updatedAt are not patchable). 404 for an unknown id. */
  async updateMachine(id: string, patch: Partial<MachineRecord>): Promise<MachineRecord> {
    const { id: _id, createdAt: _c, updatedAt: _u, ...data } = patch;
    try {
      return toMachine(await this.db.machine.update({ where: { id }, data }));
    } catch (e) {
      if (prismaCode(e) === 'P2025') throw new HostError(404, 'not-found', `no machine with id '${id}'`);
      throw this.mapUnique(e, 'machine', data.name ?? '');
    }
  }

  /** Removes the record; deleting one that is already gone is not an error. */
  async deleteMachine(id: string): Promise<void> {
    await this.db.machine.deleteMany({ where: { id } });
  }

  /**
   * `count`: machines that exist (the maxMachines limit); `memMiB`: the memory of running and paused
   * machines (what the maxTotalMemMiB limit counts).
   */
  async machineTotals(): Promise<{ count: number; memMiB: number }> {
    const [count, mem] = await this.db.$transaction([
      this.db.machine.count(),
      this.db.machine.aggregate({ where: { state: { in: ['running', 'paused'] } }, _sum: { memMiB: true } }),
    ]);
    return { count, memMiB: mem._sum.memMiB ?? 0 };
  }

  async machinesUsingImage(name: string): Promise<number> {
    return this.db.machine.count({ where: { image: name } });
  }

  // ---------------------------------------------------------------------------------------------
  // Images
  // ---------------------------------------------------------------------------------------------

  async createImage(r: ImageRecord): Promise<ImageRecord> {
    try {
      return toImage(await this.db.image.create({ data: { ...r, sizeBytes: BigInt(r.sizeBytes) } }));
    } catch (e) {
      throw this.mapUnique(e, 'image', r.name);
    }
  }

  async getImage(idOrName: string): Promise<ImageRecord | null> {
    const r =
      (await this.db.image.findUnique({ where: { id: idOrName } })) ??
      (await this.db.image.findUnique({ where: { name: idOrName } }));
    return r ? toImage(r) : null;
  }

  /** By name. */
  async listImages(): Promise<ImageRecord[]> {
    return (await this.db.image.findMany({ orderBy: { name: 'asc' } })).map(toImage);
  }

  async deleteImage(id: string): Promise<void> {
    await this.db.image.deleteMany({ where: { id } });
  }

  // ---------------------------------------------------------------------------------------------
  // Events
  // ---------------------------------------------------------------------------------------------

  async addEvent(e: {
    subject: EventSubject;
    subjectId?: string | null;
    actor: string;
    kind: string;
    message: string;
  }): Promise<void> {
    await this.db.event.create({
      data: { subject: e.subject, subjectId: e.subjectId ?? null, actor: e.actor, kind: e.kind, message: e.message },
    });
  }

  /** Newest first; `beforeId` pages backwards (the ids of the previous page's last item). */
  async listEvents(q: {
    subject?: string;
    subjectId?: string;
    limit: number;
    beforeId?: number;
  }): Promise<EventView[]> {
    const rows = await this.db.event.findMany({
      where: {
        ...(q.subject !== undefined ? { subject: q.subject } : {}),
        ...(q.subjectId !== undefined ? { subjectId: q.subjectId } : {}),
        ...(q.beforeId !== undefined ? { id: { lt: q.beforeId } } : {}),
      },
      orderBy: { id: 'desc' },
      take: q.limit,
    });
    return rows.map(toEvent);
  }

  // ---------------------------------------------------------------------------------------------
  // Tokens (only SHA-256 hashes are stored)
  // ---------------------------------------------------------------------------------------------

  async countTokens(): Promise<number> {
    return this.db.apiToken.count();
  }

  async createToken(name: string, hash: string): Promise<void> {
    try {
      await this.db.apiToken.create({ data: { id: randomUUID(), name, hash } });
    } catch (e) {
      throw this.mapUnique(e, 'token', name);
    }
  }

  async findTokenByHash(hash: string): Promise<{ id: string; name: string } | null> {
    return this.db.apiToken.findUnique({ where: { hash }, select: { id: true, name: true } });
  }

  async touchToken(id: string): Promise<void> {
    await this.db.apiToken.updateMany({ where: { id }, data: { lastUsedAt: new Date() } });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.db.$disconnect();
  }

  /** A unique-constraint violation on a name becomes the 409 a client can act on; anything else is rethrown. */
  private mapUnique(e: unknown, what: 'machine' | 'image' | 'token', name: string): unknown {
    if (prismaCode(e) !== 'P2002') return e;
    const target = uniqueTarget(e);
    if (/name/i.test(target)) {
      const a = what === 'image' ? 'an' : 'a';
      return new HostError(409, 'name-taken', `${a} ${what} named '${name}' already exists; choose another name`, {
        name,
      });
    }
    this.log?.error(`unexpected unique violation on ${what} (${target})`);
    return e;
  }
}
