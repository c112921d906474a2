/**
 * The server's state (machines and their NICs, networks, images, the event log, API tokens) through Prisma: SQLite at
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
import type { EventView, ImageRecord, MachineRecord, MachineState, NetworkRecord, NicRecord } from './types.js';

/** What the host needs of a logger (pino and fastify's logger fit). */
export type Logger = Pick<BaseLogger, 'info' | 'warn' | 'error' | 'debug'>;

export type EventSubject = EventView['subject'];

type MachineRow = Awaited<ReturnType<Db['machine']['findFirstOrThrow']>>;
type ImageRow = Awaited<ReturnType<Db['image']['findFirstOrThrow']>>;
type EventRow = Awaited<ReturnType<Db['event']['findFirstOrThrow']>>;

/** A NIC to create with its machine (the machine's id is filled in). */
export type NewNic = Omit<NicRecord, 'machineId' | 'createdAt'>;

/** An address the DHCP server of a network gave a client (one per MAC per network). */
export interface DhcpLeaseRecord {
  networkId: string;
  /** Lower case, colon-separated. */
  mac: string;
  ip: string;
  hostname: string | null;
  expiresAt: Date;
}

/** A host TCP port forwarded to a machine's port (docker -p hostPort:guestPort). */
export interface PortForwardRecord {
  id: string;
  machineId: string;
  hostPort: number;
  guestPort: number;
  /** The NIC whose address the forward connects to (0 for eth0). */
  nic: number;
  createdAt: Date;
}

/** A NIC of a network with its machine's name (what DHCP and DNS serve). */
export interface NetworkHostRecord {
  machineId: string;
  name: string;
  mac: string;
  ip: string | null;
}

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

  /**
   * A machine and its NICs, in one statement (all or nothing). Unique violations: name-taken,
   * mac-taken (the MAC is on another NIC), ip-taken (the address is another NIC's on that network).
   */
  async createMachine(m: Omit<MachineRecord, 'createdAt' | 'updatedAt'>, nics: NewNic[] = []): Promise<MachineRecord> {
    try {
      const data = nics.length ? { ...m, nics: { create: nics.map((n) => ({ ...n })) } } : { ...m };
      return toMachine(await this.db.machine.create({ data }));
    } catch (e) {
      // A network deleted between the caller's check and this insert (the foreign key caught it).
      if (prismaCode(e) === 'P2003')
        throw new HostError(404, 'not-found', `a network in nics was deleted meanwhile; list the networks and retry`);
      throw this.mapUnique(e, 'machine', m.name, nics);
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

  /**
   * Updates the given fields (id, createdAt and updatedAt are not patchable). 404 for an unknown id.
   * `nics`, when given, replaces the machine's NICs in the same statement (all or nothing).
   */
  async updateMachine(id: string, patch: Partial<MachineRecord>, nics?: NewNic[]): Promise<MachineRecord> {
    const { id: _id, createdAt: _c, updatedAt: _u, ...fields } = patch;
    const data = nics ? { ...fields, nics: { deleteMany: {}, create: nics.map((n) => ({ ...n })) } } : fields;
    try {
      return toMachine(await this.db.machine.update({ where: { id }, data }));
    } catch (e) {
      if (prismaCode(e) === 'P2025') throw new HostError(404, 'not-found', `no machine with id '${id}'`);
      if (prismaCode(e) === 'P2003')
        throw new HostError(404, 'not-found', `a network in nics was deleted meanwhile; list the networks and retry`);
      throw this.mapUnique(e, 'machine', fields.name ?? '', nics);
    }
  }

  /**
   * Removes the record and its NICs; deleting one that is already gone is not an error. The NICs
   * are deleted explicitly (the schema also cascades) since SQLite only cascades with foreign_keys on.
   */
  async deleteMachine(id: string): Promise<void> {
    await this.db.$transaction([
      this.db.nic.deleteMany({ where: { machineId: id } }),
      this.db.portForward.deleteMany({ where: { machineId: id } }),
      this.db.machine.deleteMany({ where: { id } }),
    ]);
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
  // NICs (created with their machine, deleted with it)
  // ---------------------------------------------------------------------------------------------

  /** NICs of one machine, of one network, or all: by machine, then index. */
  async listNics(q: { machineId?: string; networkId?: string } = {}): Promise<NicRecord[]> {
    return this.db.nic.findMany({
      where: {
        ...(q.machineId !== undefined ? { machineId: q.machineId } : {}),
        ...(q.networkId !== undefined ? { networkId: q.networkId } : {}),
      },
      orderBy: [{ machineId: 'asc' }, { index: 'asc' }],
    });
  }

  async findNicByMac(mac: string): Promise<NicRecord | null> {
    return this.db.nic.findUnique({ where: { mac } });
  }

  /** NICs per network id (networks without NICs are absent). */
  async nicCounts(): Promise<Map<string, number>> {
    const rows = await this.db.nic.groupBy({ by: ['networkId'], _count: { _all: true } });
    return new Map(rows.map((r) => [r.networkId, r._count._all]));
  }

  async countNics(networkId: string): Promise<number> {
    return this.db.nic.count({ where: { networkId } });
  }

  // ---------------------------------------------------------------------------------------------
  // Networks
  // ---------------------------------------------------------------------------------------------

  async createNetwork(r: Omit<NetworkRecord, 'createdAt' | 'updatedAt'>): Promise<NetworkRecord> {
    try {
      return await this.db.network.create({ data: { ...r } });
    } catch (e) {
      throw this.mapUnique(e, 'network', r.name);
    }
  }

  async getNetwork(idOrName: string): Promise<NetworkRecord | null> {
    return (
      (await this.db.network.findUnique({ where: { id: idOrName } })) ??
      (await this.db.network.findUnique({ where: { name: idOrName } }))
    );
  }

  /** By name. */
  async listNetworks(): Promise<NetworkRecord[]> {
    return this.db.network.findMany({ orderBy: { name: 'asc' } });
  }

  /** Updates the given fields (id, createdAt and updatedAt are not patchable). 404 for an unknown id. */
  async updateNetwork(id: string, patch: Partial<NetworkRecord>): Promise<NetworkRecord> {
    const { id: _id, createdAt: _c, updatedAt: _u, ...data } = patch;
    try {
      return await this.db.network.update({ where: { id }, data });
    } catch (e) {
      if (prismaCode(e) === 'P2025') throw new HostError(404, 'not-found', `no network with id '${id}'`);
      throw this.mapUnique(e, 'network', data.name ?? '');
    }
  }

  /**
   * Removes a network no NIC is plugged into (409 network-in-use otherwise, decided in the same
   * transaction so a machine created meanwhile cannot be left with a NIC on nothing); gone already is not an error.
   */
  async deleteNetwork(id: string): Promise<void> {
    try {
      await this.db.$transaction(async (tx) => {
        const n = await tx.nic.count({ where: { networkId: id } });
        if (n > 0) throw networkInUse(id, n);
        // Its leases go with it (the schema cascades too, but SQLite only with foreign_keys on).
        await tx.dhcpLease.deleteMany({ where: { networkId: id } });
        await tx.network.deleteMany({ where: { id } });
      });
    } catch (e) {
      // The foreign key (Restrict) catches what the count could not see (PostgreSQL, read committed).
      if (prismaCode(e) === 'P2003') throw networkInUse(id, await this.countNics(id));
      throw e;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // DHCP leases (src/switch/services/dhcp-server.ts) and what DHCP and DNS serve
  // ---------------------------------------------------------------------------------------------

  /** The NICs of a network with their machines' names, by machine name then NIC index. */
  async networkHosts(networkId: string): Promise<NetworkHostRecord[]> {
    const rows = await this.db.nic.findMany({
      where: { networkId },
      select: { machineId: true, mac: true, ip: true, machine: { select: { name: true } } },
      orderBy: [{ machineId: 'asc' }, { index: 'asc' }],
    });
    return rows
      .map((r) => ({ machineId: r.machineId, name: r.machine.name, mac: r.mac, ip: r.ip }))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** The leases of a network (expired ones included: a client gets its old address back), by address. */
  async listLeases(networkId: string): Promise<DhcpLeaseRecord[]> {
    const rows = await this.db.dhcpLease.findMany({ where: { networkId } });
    // Numerically (10.0.0.9 before 10.0.0.10), which the text column cannot sort by.
    const key = (ip: string): number => ip.split('.').reduce((a, o) => a * 256 + Number(o), 0);
    return rows
      .map((r) => ({ networkId: r.networkId, mac: r.mac, ip: r.ip, hostname: r.hostname, expiresAt: r.expiresAt }))
      .sort((a, b) => key(a.ip) - key(b.ip));
  }

  /**
   * Creates or replaces the lease of (network, mac). Another client's lease on the same address
   * (expired: the DHCP server never gives out a live one twice) is removed in the same transaction.
   */
  async saveLease(l: DhcpLeaseRecord): Promise<void> {
    await this.db.$transaction([
      this.db.dhcpLease.deleteMany({ where: { networkId: l.networkId, ip: l.ip, NOT: { mac: l.mac } } }),
      this.db.dhcpLease.upsert({
        where: { networkId_mac: { networkId: l.networkId, mac: l.mac } },
        create: { id: randomUUID(), ...l },
        update: { ip: l.ip, hostname: l.hostname, expiresAt: l.expiresAt },
      }),
    ]);
  }

  async deleteLease(networkId: string, mac: string): Promise<void> {
    await this.db.dhcpLease.deleteMany({ where: { networkId, mac } });
  }

  /** Removes every lease of a network (its addressing changed). */
  async clearLeases(networkId: string): Promise<number> {
    return (await this.db.dhcpLease.deleteMany({ where: { networkId } })).count;
  }

  // ---------------------------------------------------------------------------------------------
  // Port forwards
  // ---------------------------------------------------------------------------------------------

  /** A forward; 409 port-taken when another forward has the host port. */
  async createPortForward(r: Omit<PortForwardRecord, 'createdAt'>): Promise<PortForwardRecord> {
    try {
      return await this.db.portForward.create({ data: { ...r } });
    } catch (e) {
      if (prismaCode(e) === 'P2002')
        throw new HostError(
          409,
          'port-taken',
          `host port ${r.hostPort} is already forwarded to a machine; choose another, or delete that forward`,
          { hostPort: r.hostPort },
        );
      if (prismaCode(e) === 'P2003' || prismaCode(e) === 'P2025')
        throw new HostError(404, 'not-found', `the machine was deleted meanwhile`);
      throw e;
    }
  }

  /** Forwards of one machine, or all: by host port. */
  async listPortForwards(q: { machineId?: string } = {}): Promise<PortForwardRecord[]> {
    return this.db.portForward.findMany({
      where: q.machineId !== undefined ? { machineId: q.machineId } : {},
      orderBy: { hostPort: 'asc' },
    });
  }

  async getPortForward(hostPort: number): Promise<PortForwardRecord | null> {
    return this.db.portForward.findUnique({ where: { hostPort } });
  }

  async deletePortForward(hostPort: number): Promise<boolean> {
    return (await this.db.portForward.deleteMany({ where: { hostPort } })).count > 0;
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

  /** The tokens' names and dates, oldest first (the hashes stay here). */
  async listTokens(): Promise<Array<{ name: string; createdAt: Date; lastUsedAt: Date | null }>> {
    return this.db.apiToken.findMany({
      orderBy: [{ createdAt: 'asc' }, { name: 'asc' }],
      select: { name: true, createdAt: true, lastUsedAt: true },
    });
  }

  /** Deletes the token named `name`; false when there is none. */
  async deleteToken(name: string): Promise<boolean> {
    return (await this.db.apiToken.deleteMany({ where: { name } })).count > 0;
  }

  async touchToken(id: string): Promise<void> {
    await this.db.apiToken.updateMany({ where: { id }, data: { lastUsedAt: new Date() } });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.db.$disconnect();
  }

  /** A unique-constraint violation becomes the 409 a client can act on; anything else is rethrown. */
  private mapUnique(
    e: unknown,
    what: 'machine' | 'image' | 'network' | 'token',
    name: string,
    nics: NewNic[] = [],
  ): unknown {
    if (prismaCode(e) !== 'P2002') return e;
    const target = uniqueTarget(e);
    // NIC constraints first: the adapters' error text may also mention the machine's name column.
    if (nics.length && /\bmac\b|Nic_mac_key/i.test(target)) {
      const macs = nics.map((n) => n.mac);
      return new HostError(
        409,
        'mac-taken',
        `${macs.length === 1 ? `MAC address ${macs[0]}` : `one of the MAC addresses ${macs.join(', ')}`} is already another NIC's; choose another, or leave mac out for a generated one`,
      );
    }
    if (nics.length && /\bip\b|Nic_networkId_ip_key/i.test(target)) {
      const ips = nics.flatMap((n) => (n.ip === null ? [] : [n.ip]));
      return new HostError(
        409,
        'ip-taken',
        `${ips.length === 1 ? `IP address ${ips[0]}` : `one of the IP addresses ${ips.join(', ')}`} is already another NIC's on that network; choose another, or leave ip out`,
      );
    }
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

function networkInUse(id: string, n: number): HostError {
  return new HostError(
    409,
    'network-in-use',
    `network '${id}' has ${n} NIC${n === 1 ? '' : 's'} plugged in; delete the machines that use it first`,
    { nics: n },
  );
}
