/**
 * The server's machines (docs/CONTRACTS.md, "VmManager" and "State machine"): records in the
 * Store, one MachineProcess (worker) per running or paused machine, one ConsoleHub per machine
 * that has been looked at or run, and the state machine
 *
 *   created --start--> running --pause--> paused --resume--> running
 *   running|paused --stop--> (guest powers off; after stopTimeoutMs: kill) --> stopped
 *   running|paused --kill--> stopped          running --reboot--> running (bootCount+1)
 *   stopped|crashed --start--> running        worker error/exit without power-off --> crashed
 *   guest poweroff/halt/init exit --> stopped guest reboot --> running (bootCount+1)
 *   kernel panic --> crashed (the guest crashed; its panic text is lastExit)
 *
 * Every state change updates an in-memory copy first (so metrics() and the next action see it
 * at once), is written to the Store in order, logged as an event (actor: the API token's name,
 * or 'system' for what the guest or the worker did) and emitted as 'state'. Actions on one
 * machine run one at a time; a worker's death never throws into the caller of anything else.
 */
import { EventEmitter } from 'node:events';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import type { ResourceLimits } from 'node:worker_threads';
import type {
  CreateVmSpec,
  EventView,
  ImageView,
  Limits,
  MachineRecord,
  MachineState,
  MachineView,
  NicRecord,
  NicSpec,
  NicView,
  VmAction,
  VmStats,
} from './types.js';
import { MACHINE_STATES } from './types.js';
import type { Store, Logger, NewNic } from './store.js';
import type { NetworkManager } from './network-manager.js';
import { formatMac, isMulticastAt, isZeroAt, nicMac, parseMac } from '../switch/ethernet.js';
import type { Switch, SwitchPort } from '../switch/switch.js';
import { HostError } from './errors.js';
import { ConsoleHub, type ConsoleHubOptions } from './console-hub.js';
import { MachineProcess, type MachineExit } from './machine-process.js';
import type { VmMachineConfig } from '../protocol/messages.js';

/** What the manager needs of the image store (src/host/image-store.ts's ImageStore has it). */
export interface VmImages {
  get(idOrName: string): Promise<ImageView>;
  path(name: string): string;
}

/** What the manager needs of the Store. */
export type VmStore = Pick<
  Store,
  | 'createMachine'
  | 'getMachine'
  | 'listMachines'
  | 'updateMachine'
  | 'deleteMachine'
  | 'machineTotals'
  | 'addEvent'
  | 'listEvents'
  | 'listNics'
  | 'findNicByMac'
>;

/**
 * What the manager needs of the networks (NetworkManager has it): resolving and checking NICs,
 * and each network's switch, where a running machine's NICs are ports.
 */
export type VmNetworks = Pick<NetworkManager, 'record' | 'checkNicIp' | 'switchOf'>;

/** Most NICs a machine may have (openapi.yaml's CreateVm says the same). */
export const MAX_NICS = 8;
/** Generated MACs tried per NIC before giving up (a collision is ~1e-6 likely; 16 in a row is not). */
const MAC_ATTEMPTS = 16;

export interface VmManagerOptions {
  store: VmStore;
  images: VmImages;
  dataDir: string;
  limits: Limits;
  log: Logger;
  /** How long a stop waits for the guest to power off before killing it (default 10 s). */
  stopTimeoutMs?: number;
  /** Worker heap and stack limits (MachineProcess's defaults, from memMiB, otherwise). */
  resourceLimits?: (memMiB: number) => ResourceLimits | undefined;
  /** Console flow-control settings (ConsoleHub's defaults otherwise). */
  console?: ConsoleHubOptions;
  /** The server's networks; without them a machine cannot have NICs. */
  networks?: VmNetworks;
}

/** Kernel parameters every machine starts with (as `labvisor run`). */
const BASE_CMDLINE = 'root=/dev/vda rw console=ttyS0';
/** The console is xterm.js in the browser. */
const CONSOLE_TERM = 'xterm';
/** How often the guest instruction counts of running machines are refreshed for metrics(). */
const METRICS_POLL_MS = 5000;

/** A running or paused machine's worker and what is happening to it. */
interface Runtime {
  proc: MachineProcess;
  bootedAt: Date;
  /** An orderly stop asked for by `actor` (its kill timer armed). */
  stop: { actor: string; timer: NodeJS.Timeout | null } | null;
  /** Set when the host ended the worker itself: what lastExit says and who did it. */
  killed: { note: string; actor: string; kind: string } | null;
  /** A reboot asked for by `actor`: resolved when the guest rebooted. */
  reboot: { actor: string; done: () => void } | null;
  /** Its NICs' switch ports (attached at start, kept across guest reboots, removed when the worker ends). */
  ports: Array<{ nic: number; sw: Switch; port: SwitchPort }>;
  /** Resolves once the worker is gone and the record says so. */
  ended: Promise<void>;
  resolveEnded: () => void;
}

/** A kernel command-line word, double-quoted when it has spaces (as cli.ts's cmdlineWord). */
function cmdlineWord(w: string): string {
  if (w.includes('"') || w.includes('\n'))
    throw new HostError(
      400,
      'invalid',
      `init '${w}' cannot be passed as init= (it contains a double quote or newline)`,
    );
  return /\s/.test(w) ? `"${w}"` : w;
}

/** The kernel command line of a machine: ours, init=, the console's TERM, then the user's words. */
export function machineCmdline(rec: Pick<MachineRecord, 'init' | 'cmdline'>): string {
  const words = [BASE_CMDLINE];
  if (rec.init !== '') words.push(`init=${cmdlineWord(rec.init)}`);
  // init's environment gets TERM from the command line; the user's own TERM= wins.
  if (!/(^|\s)TERM=/.test(rec.cmdline)) words.push(`TERM=${CONSOLE_TERM}`);
  if (rec.cmdline.trim() !== '') words.push(rec.cmdline.trim());
  return words.join(' ');
}

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

function checkName(name: string): void {
  if (!NAME_RE.test(name))
    throw new HostError(
      400,
      'invalid',
      `bad machine name '${name}': use 1 to 63 letters, digits, '.', '_' or '-', starting with a letter or digit`,
    );
}

/** What an action in the wrong state should say to do instead. */
function wrongState(action: VmAction, name: string, state: MachineState): HostError {
  const head = `cannot ${action} machine '${name}': it is ${state}`;
  let hint: string;
  const off = state === 'created' || state === 'stopped' || state === 'crashed';
  switch (action) {
    case 'start':
      hint = state === 'paused' ? 'resume it instead' : 'it is already running';
      return new HostError(409, 'wrong-state', state === 'paused' ? `${head}; ${hint}` : `${head} already`);
    case 'pause':
      hint = off ? 'start it first' : 'it is already paused';
      return new HostError(409, 'wrong-state', state === 'paused' ? `${head} already` : `${head}; ${hint}`);
    case 'resume':
      return new HostError(409, 'wrong-state', off ? `${head}; start it first` : `${head}, not paused; pause it first`);
    case 'reboot':
      return new HostError(409, 'wrong-state', off ? `${head}; start it instead` : `${head}; resume it first`);
    case 'stop':
    case 'kill':
      return new HostError(409, 'wrong-state', `${head}; it is not running, so there is nothing to ${action}`);
  }
}

function exitText(e: MachineExit): { state: MachineState; lastExit: string } {
  switch (e.reason) {
    case 'poweroff':
      return { state: 'stopped', lastExit: 'powered off by the guest' };
    case 'halt':
      return { state: 'stopped', lastExit: 'halted by the guest' };
    case 'panic':
      return { state: 'crashed', lastExit: `kernel panic: ${e.panicText ?? 'unknown'}` };
    case 'init-exit':
      return {
        state: 'stopped',
        lastExit:
          e.signal !== null
            ? `init was killed by signal ${e.signal}`
            : `init exited with status ${e.code ?? 0}${e.panicText ? ` (${e.panicText})` : ''}`,
      };
    case 'reboot':
    case 'error':
      return { state: 'crashed', lastExit: 'the machine worker stopped without a reason' };
  }
}

export class VmManager extends EventEmitter {
  private readonly store: VmStore;
  private readonly images: VmImages;
  private readonly dataDir: string;
  private readonly limits: Limits;
  private readonly log: Logger;
  readonly stopTimeoutMs: number;
  /** Every machine's record, by id (loaded by init(), kept current by every change). */
  private readonly records = new Map<string, MachineRecord>();
  /** Every machine's NICs by machine id, index order (loaded by init(), kept current by create, update and remove). */
  private readonly nics = new Map<string, NicRecord[]>();
  private readonly runtimes = new Map<string, Runtime>();
  private readonly hubs = new Map<string, ConsoleHub>();
  /** Per-machine action queue (one action at a time) and Store write queue (in order). */
  private readonly locks = new Map<string, Promise<unknown>>();
  private readonly writes = new Map<string, Promise<unknown>>();
  /** Instructions and console bytes of machines no longer running (metrics are counters). */
  private retiredInstructions = 0;
  private retiredBytesOut = 0;
  private retiredBytesIn = 0;
  private shuttingDown = false;
  private poll: NodeJS.Timeout | null = null;

  constructor(private readonly opts: VmManagerOptions) {
    super();
    this.store = opts.store;
    this.images = opts.images;
    this.dataDir = opts.dataDir;
    this.limits = opts.limits;
    this.log = opts.log;
    this.stopTimeoutMs = opts.stopTimeoutMs ?? 10_000;
  }

  // ---- life of the manager ----

  /** Load the machines; boot those stored as running or paused (the server stopped under them). */
  async init(): Promise<void> {
    for (let offset = 0; ;) {
      const page = await this.store.listMachines({ limit: 200, offset });
      for (const r of page.items) this.records.set(r.id, { ...r });
      offset += page.items.length;
      if (page.items.length === 0 || offset >= page.total) break;
    }
    for (const n of await this.store.listNics()) {
      const list = this.nics.get(n.machineId);
      if (list) list.push(n);
      else this.nics.set(n.machineId, [n]);
    }
    this.poll = setInterval(() => this.refreshInstructions(), METRICS_POLL_MS);
    this.poll.unref();
    for (const rec of [...this.records.values()]) {
      if (rec.state !== 'running' && rec.state !== 'paused') continue;
      await this.withLock(rec.id, async () => {
        try {
          await this.boot(rec, 'system', `booted again after server restart (it was ${rec.state})`);
        } catch (e) {
          const why = e instanceof Error ? e.message : String(e);
          this.log.error(`machine ${rec.name}: cannot boot it again: ${why}`);
          await this.change(
            rec.id,
            { state: 'crashed', lastExit: `could not boot after server restart: ${why}` },
            {
              actor: 'system',
              kind: 'crashed',
              message: `could not boot after server restart: ${why}`,
            },
          );
        }
      });
    }
  }

  /**
   * Graceful stop of the server: every machine is asked to power off (killed after the stop
   * timeout) so its disk is consistent; the stored states stay running/paused so init() boots
   * them again at the next start.
   */
  async shutdown(): Promise<void> {
    this.shuttingDown = true;
    if (this.poll) clearInterval(this.poll);
    this.poll = null;
    await Promise.all(
      [...this.runtimes.entries()].map(async ([id, rt]) => {
        const rec = this.records.get(id);
        rt.proc.resume();
        rt.proc.power('poweroff');
        const timer = setTimeout(() => {
          rt.killed = { note: 'killed at server shutdown', actor: 'system', kind: 'killed' };
          void rt.proc.kill().then(() => this.ended(id, rt, null, null));
        }, this.stopTimeoutMs);
        await rt.ended;
        clearTimeout(timer);
        this.log.info(`machine ${rec?.name ?? id}: stopped for server shutdown`);
      }),
    );
    await Promise.all([...this.writes.values()].map((p) => p.catch(() => {})));
    for (const hub of this.hubs.values()) hub.closeAll(1001, 'server shutting down');
  }

  // ---- queries ----

  async list(q: {
    state?: MachineState;
    limit: number;
    offset: number;
  }): Promise<{ items: MachineView[]; total: number }> {
    // Served from memory: init() loaded every record and every change goes through this manager
    // (write-through to the Store), so the map is the table. GET /v1/vms is the hottest route (the
    // UI polls it) and a database round trip per call cost ~1.5 ms of CPU. Same order as the Store.
    const all = [...this.records.values()].filter((r) => !q.state || r.state === q.state);
    all.sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return { items: all.slice(q.offset, q.offset + q.limit).map((r) => this.view(r)), total: all.length };
  }

  async get(idOrName: string): Promise<MachineView> {
    return this.view(await this.record(idOrName));
  }

  async events(idOrName: string, q: { limit: number; beforeId?: number }): Promise<EventView[]> {
    const rec = await this.record(idOrName);
    return this.store.listEvents({
      subject: 'machine',
      subjectId: rec.id,
      limit: q.limit,
      ...(q.beforeId !== undefined ? { beforeId: q.beforeId } : {}),
    });
  }

  async console(idOrName: string): Promise<ConsoleHub> {
    const rec = await this.record(idOrName);
    return this.hub(rec.id);
  }

  async stats(idOrName: string): Promise<VmStats> {
    const rec = await this.record(idOrName);
    const rt = this.runtimes.get(rec.id);
    if (!rt || (rec.state !== 'running' && rec.state !== 'paused'))
      throw new HostError(
        409,
        'wrong-state',
        `machine '${rec.name}' is ${rec.state}: figures exist only while it runs; start it first`,
      );
    try {
      return await rt.proc.stats();
    } catch (e) {
      throw new HostError(
        503,
        'unavailable',
        `machine '${rec.name}' did not report its figures: ${e instanceof Error ? e.message : String(e)}`,
      );
    }
  }

  /**
   * The switch port NIC `nic` of a running or paused machine is plugged into (named
   * `<machine>/eth<nic>` when it started), or null when the machine is off or has no such NIC.
   * For diagnostics and the network test hooks (loss on one machine's link).
   */
  async nicPort(idOrName: string, nic: number): Promise<SwitchPort | null> {
    const rec = await this.record(idOrName);
    return this.runtimes.get(rec.id)?.ports.find((p) => p.nic === nic)?.port ?? null;
  }

  metrics(): {
    byState: Record<MachineState, number>;
    instructions: number;
    consoleBytesOut: number;
    consoleBytesIn: number;
  } {
    const byState = Object.fromEntries(MACHINE_STATES.map((s) => [s, 0])) as Record<MachineState, number>;
    for (const r of this.records.values()) byState[r.state]++;
    let instructions = this.retiredInstructions;
    for (const rt of this.runtimes.values()) instructions += rt.proc.instructions;
    let consoleBytesOut = this.retiredBytesOut;
    let consoleBytesIn = this.retiredBytesIn;
    for (const h of this.hubs.values()) {
      consoleBytesOut += h.bytesOut;
      consoleBytesIn += h.bytesIn;
    }
    return { byState, instructions, consoleBytesOut, consoleBytesIn };
  }

  // ---- changes ----

  async create(spec: CreateVmSpec, actor: string): Promise<MachineView> {
    checkName(spec.name);
    if (spec.memMiB > this.limits.maxMemMiB)
      throw new HostError(
        422,
        'over-limit',
        `memMiB ${spec.memMiB} is over this server's limit of ${this.limits.maxMemMiB} MiB per machine; ask for less`,
        { limit: this.limits.maxMemMiB },
      );
    if (spec.vcpus !== 1)
      throw new HostError(422, 'over-limit', `vcpus ${spec.vcpus}: machines have one hart for now; use vcpus 1`);
    machineCmdline(spec); // rejects an init= that cannot be carried
    await this.images.get(spec.image); // 404 for an unknown image
    if ((await this.store.machineTotals()).count >= this.limits.maxMachines)
      throw new HostError(
        429,
        'quota-exceeded',
        `this server holds at most ${this.limits.maxMachines} machines; delete one first`,
        { limit: this.limits.maxMachines },
      );
    const id = randomUUID();
    const fields = {
      id,
      name: spec.name,
      image: spec.image,
      memMiB: spec.memMiB,
      vcpus: spec.vcpus,
      cmdline: spec.cmdline,
      init: spec.init,
      state: 'created' as const,
      lastExit: null,
      bootCount: 0,
    };
    let rec: MachineRecord;
    for (let round = 0; ; round++) {
      const nics = await this.planNics(id, spec.nics ?? []);
      try {
        rec = await this.store.createMachine(fields, nics);
        break;
      } catch (e) {
        // Another machine took a generated MAC between the check and the insert: plan again
        // (the check now sees it). A MAC the client chose is its own problem: 409 as it is.
        const generated = (spec.nics ?? []).some((n) => n.mac === undefined);
        if (!(e instanceof HostError && e.code === 'mac-taken' && generated && round < 2)) throw e;
      }
    }
    this.records.set(rec.id, { ...rec });
    this.nics.set(rec.id, await this.store.listNics({ machineId: rec.id }));
    await this.event(rec.id, actor, 'created', `created from image '${rec.image}' with ${rec.memMiB} MiB`);
    const view = this.view(rec);
    this.emit('state', view);
    return view;
  }

  /**
   * Rename, change the memory (not while running or paused), or replace the NICs (only while
   * stopped: the guest's devices are fixed for a boot). `nics` is the new list, eth0 first, as
   * at creation: a NIC without a MAC gets nicMac(id, index), so a NIC kept at its index keeps its address.
   */
  async update(
    idOrName: string,
    patch: { name?: string; memMiB?: number; nics?: NicSpec[] },
    actor: string,
  ): Promise<MachineView> {
    const id = (await this.record(idOrName)).id;
    return this.withLock(id, async () => {
      const rec = this.current(id);
      if (patch.name !== undefined) checkName(patch.name);
      if (patch.nics !== undefined && (rec.state === 'running' || rec.state === 'paused'))
        throw new HostError(
          409,
          'wrong-state',
          `cannot change the NICs of machine '${rec.name}': it is ${rec.state}; stop it first`,
        );
      if (patch.memMiB !== undefined) {
        if (rec.state === 'running' || rec.state === 'paused')
          throw new HostError(
            409,
            'wrong-state',
            `cannot change the memory of machine '${rec.name}': it is ${rec.state}; stop it first`,
          );
        if (patch.memMiB > this.limits.maxMemMiB)
          throw new HostError(
            422,
            'over-limit',
            `memMiB ${patch.memMiB} is over this server's limit of ${this.limits.maxMemMiB} MiB per machine; ask for less`,
            { limit: this.limits.maxMemMiB },
          );
      }
      const changes: Partial<MachineRecord> = {};
      if (patch.name !== undefined && patch.name !== rec.name) changes.name = patch.name;
      if (patch.memMiB !== undefined && patch.memMiB !== rec.memMiB) changes.memMiB = patch.memMiB;
      const nics = patch.nics !== undefined ? await this.planNics(id, patch.nics) : undefined;
      if (Object.keys(changes).length === 0 && nics === undefined) return this.view(rec);
      // The Store decides about name, MAC and IP clashes (409) before anything changes here.
      const saved = await this.store.updateMachine(id, changes, nics);
      Object.assign(rec, changes, { updatedAt: saved.updatedAt });
      if (nics !== undefined) this.nics.set(id, await this.store.listNics({ machineId: id }));
      const what = [
        ...Object.entries(changes).map(([k, v]) => `${k} ${String(v)}`),
        ...(nics === undefined
          ? []
          : [
              `nics ${nics.length ? nics.map((n) => `eth${n.index} ${n.mac}${n.ip ? ` ${n.ip}` : ''}`).join(', ') : 'none'}`,
            ]),
      ].join(', ');
      await this.event(id, actor, 'updated', `changed ${what}`);
      const view = this.view(rec);
      this.emit('state', view);
      return view;
    });
  }

  async remove(idOrName: string, opts: { keepDisk: boolean }, actor: string): Promise<void> {
    const id = (await this.record(idOrName)).id;
    await this.withLock(id, async () => {
      const rec = this.current(id);
      if (this.runtimes.has(id)) await this.stopLocked(rec, actor);
      await this.writes.get(id)?.catch(() => {});
      if (!opts.keepDisk) rmSync(this.machineDir(id), { recursive: true, force: true });
      await this.store.deleteMachine(id);
      this.records.delete(id);
      this.nics.delete(id);
      const hub = this.hubs.get(id);
      if (hub) {
        this.retiredBytesOut += hub.bytesOut;
        this.retiredBytesIn += hub.bytesIn;
        hub.closeAll(4404, 'machine deleted');
        this.hubs.delete(id);
      }
      await this.store
        .addEvent({
          subject: 'machine',
          subjectId: id,
          actor,
          kind: 'deleted',
          message: `machine '${rec.name}' deleted${opts.keepDisk ? ' (its disk is kept)' : ' with its disk'}`,
        })
        .catch((e: unknown) => this.log.error(`event for machine ${rec.name}: ${String(e)}`));
    });
  }

  /** Do `action`; resolves once the state changed (see the state machine above). */
  async action(idOrName: string, action: VmAction, actor: string): Promise<MachineView> {
    const id = (await this.record(idOrName)).id;
    return this.withLock(id, async () => {
      const rec = this.current(id);
      const rt = this.runtimes.get(id);
      const s = rec.state;
      switch (action) {
        case 'start':
          if (s === 'running' || s === 'paused') throw wrongState(action, rec.name, s);
          await this.boot(rec, actor, 'started');
          break;
        case 'pause':
          if (s !== 'running' || !rt) throw wrongState(action, rec.name, s);
          rt.proc.pause();
          await this.change(id, { state: 'paused' }, { actor, kind: 'paused', message: 'paused' });
          break;
        case 'resume':
          if (s !== 'paused' || !rt) throw wrongState(action, rec.name, s);
          rt.proc.resume();
          await this.change(id, { state: 'running' }, { actor, kind: 'resumed', message: 'resumed' });
          break;
        case 'stop':
          if (!rt) throw wrongState(action, rec.name, s);
          await this.stopLocked(rec, actor);
          break;
        case 'kill':
          if (!rt) throw wrongState(action, rec.name, s);
          rt.killed = { note: 'killed', actor, kind: 'killed' };
          await rt.proc.kill();
          await this.ended(id, rt, null, null);
          break;
        case 'reboot':
          if (s !== 'running' || !rt) throw wrongState(action, rec.name, s);
          await this.rebootLocked(rec, rt, actor);
          break;
      }
      return this.view(this.current(id));
    });
  }

  // ---- internals ----

  private machineDir(id: string): string {
    return join(this.dataDir, 'machines', id);
  }

  private hub(id: string): ConsoleHub {
    let h = this.hubs.get(id);
    if (!h) this.hubs.set(id, (h = new ConsoleHub(this.opts.console)));
    return h;
  }

  /** The cached record of an existing machine. */
  private current(id: string): MachineRecord {
    const r = this.records.get(id);
    if (!r) throw new HostError(404, 'not-found', `no machine '${id}' (it was deleted)`);
    return r;
  }

  /** A machine by id or name (404 otherwise). */
  private async record(idOrName: string): Promise<MachineRecord> {
    const byId = this.records.get(idOrName);
    if (byId) return byId;
    for (const r of this.records.values()) if (r.name === idOrName) return r;
    const stored = await this.store.getMachine(idOrName);
    if (!stored) throw new HostError(404, 'not-found', `no machine with id or name '${idOrName}'`);
    const cached = this.records.get(stored.id);
    if (cached) return cached;
    this.records.set(stored.id, { ...stored });
    return this.records.get(stored.id)!;
  }

  private view(r: MachineRecord): MachineView {
    const rt = this.runtimes.get(r.id);
    return {
      id: r.id,
      name: r.name,
      image: r.image,
      memMiB: r.memMiB,
      vcpus: r.vcpus,
      cmdline: r.cmdline,
      init: r.init,
      state: r.state,
      lastExit: r.lastExit,
      bootCount: r.bootCount,
      createdAt: r.createdAt.toISOString(),
      updatedAt: r.updatedAt.toISOString(),
      bootedAt: rt && (r.state === 'running' || r.state === 'paused') ? rt.bootedAt.toISOString() : null,
      consoleUrl: `/v1/vms/${r.id}/console`,
      nics: (this.nics.get(r.id) ?? []).map((n): NicView => ({
        index: n.index,
        network: n.networkId,
        mac: n.mac,
        ip: n.ip,
      })),
    };
  }

  /**
   * The NICs of a new machine `id`, checked: each network exists (404), each ip is a host address
   * of its network and not its gateway, each MAC given is a unicast address; a MAC not given is
   * nicMac(id, index), re-rolled while another NIC (or one of this request) has it.
   */
  private async planNics(id: string, specs: NonNullable<CreateVmSpec['nics']>): Promise<NewNic[]> {
    if (specs.length === 0) return [];
    if (specs.length > MAX_NICS)
      throw new HostError(422, 'over-limit', `${specs.length} NICs: a machine has at most ${MAX_NICS}`, {
        limit: MAX_NICS,
      });
    const networks = this.opts.networks;
    if (!networks) throw new HostError(400, 'invalid', 'this server has no networks, so machines cannot have NICs');
    const out: NewNic[] = [];
    const chosen = new Set<string>();
    for (const [index, s] of specs.entries()) {
      const net = await networks.record(s.network);
      if (s.ip !== undefined) networks.checkNicIp(net, s.ip);
      let mac: string;
      if (s.mac !== undefined) {
        let bytes: Uint8Array;
        try {
          bytes = parseMac(s.mac);
        } catch (e) {
          throw new HostError(400, 'invalid', `nics[${index}].mac: ${(e as Error).message}`);
        }
        if (isMulticastAt(bytes, 0) || isZeroAt(bytes, 0))
          throw new HostError(
            400,
            'invalid',
            `nics[${index}].mac ${s.mac} is ${isZeroAt(bytes, 0) ? 'all zeros' : 'a multicast address'}; a NIC needs a unicast address (first octet even), e.g. 02:00:00:00:00:01`,
          );
        mac = formatMac(bytes);
        if (chosen.has(mac))
          throw new HostError(409, 'mac-taken', `nics[${index}].mac ${mac} is given to two NICs of this machine`);
      } else {
        let attempt = 0;
        for (;;) {
          mac = formatMac(nicMac(id, index, attempt));
          // The machine's own NICs do not count: they are being replaced (PATCH).
          const holder = chosen.has(mac) ? null : await this.store.findNicByMac(mac);
          if (!chosen.has(mac) && (!holder || holder.machineId === id)) break;
          if (++attempt >= MAC_ATTEMPTS)
            throw new HostError(
              503,
              'unavailable',
              `no free MAC address for NIC ${index} after ${attempt} tries; retry`,
            );
        }
      }
      chosen.add(mac);
      out.push({ id: randomUUID(), networkId: net.id, index, mac, ip: s.ip ?? null });
    }
    return out;
  }

  private withLock<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(id) ?? Promise.resolve();
    const run = prev.catch(() => {}).then(fn);
    const tail = run.catch(() => {});
    this.locks.set(id, tail);
    void tail.then(() => {
      if (this.locks.get(id) === tail) this.locks.delete(id);
    });
    return run;
  }

  private async event(id: string, actor: string, kind: string, message: string): Promise<void> {
    try {
      await this.store.addEvent({ subject: 'machine', subjectId: id, actor, kind, message });
    } catch (e) {
      this.log.error(`event for machine ${id} not recorded: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  /**
   * A state change: the cached record at once, then the Store (in order per machine), the
   * event and 'state'. Never throws (a Store failure is logged): it also runs from worker events.
   */
  private async change(
    id: string,
    patch: Partial<Pick<MachineRecord, 'state' | 'lastExit' | 'bootCount'>>,
    ev: { actor: string; kind: string; message: string },
  ): Promise<void> {
    const rec = this.records.get(id);
    if (!rec) return;
    Object.assign(rec, patch, { updatedAt: new Date() });
    this.emit('state', this.view(rec));
    const prev = this.writes.get(id) ?? Promise.resolve();
    const write = prev
      .catch(() => {})
      .then(async () => {
        await this.store.updateMachine(id, patch);
        await this.event(id, ev.actor, ev.kind, ev.message);
      })
      .catch((e: unknown) =>
        this.log.error(`machine ${rec.name}: state not saved: ${e instanceof Error ? e.message : String(e)}`),
      );
    this.writes.set(id, write);
    await write;
    if (this.writes.get(id) === write) this.writes.delete(id);
  }

  /** Start a worker for `rec` (its state: created, stopped, crashed — or running after a restart). */
  private async boot(rec: MachineRecord, actor: string, message: string): Promise<void> {
    let used = 0;
    for (const [id] of this.runtimes) used += this.records.get(id)?.memMiB ?? 0;
    if (used + rec.memMiB > this.limits.maxTotalMemMiB)
      throw new HostError(
        429,
        'quota-exceeded',
        `cannot start machine '${rec.name}': ${rec.memMiB} MiB more would put running machines at ${used + rec.memMiB} MiB, over this server's ${this.limits.maxTotalMemMiB} MiB; stop another machine first`,
        { limit: this.limits.maxTotalMemMiB, used },
      );
    const image = this.images.path(rec.image);
    if (!existsSync(image))
      throw new HostError(
        409,
        'wrong-state',
        `cannot start machine '${rec.name}': its image '${rec.image}' is gone (${image}); create the machine again from an existing image`,
      );
    const dir = this.machineDir(rec.id);
    mkdirSync(dir, { recursive: true });
    const hub = this.hub(rec.id);
    // NIC records are kept in index order with indexes 0..n-1 (planNics), so position = index = ethN.
    const nics = this.nics.get(rec.id) ?? [];
    const config: VmMachineConfig = {
      kind: 'vm',
      memMiB: rec.memMiB,
      image,
      overlay: join(dir, 'disk.overlay'),
      cmdline: machineCmdline(rec),
      rows: hub.rows,
      cols: hub.cols,
      nodename: rec.name,
      ...(nics.length > 0 ? { nics: nics.map((n) => ({ mac: n.mac })) } : {}),
    };
    const limits = this.opts.resourceLimits?.(rec.memMiB);
    const proc = new MachineProcess({ config, ...(limits ? { resourceLimits: limits } : {}) });
    let resolveEnded!: () => void;
    const ended = new Promise<void>((r) => (resolveEnded = r));
    const rt: Runtime = {
      proc,
      bootedAt: new Date(),
      stop: null,
      killed: null,
      reboot: null,
      ports: await this.attachNics(rec, nics, proc),
      ended,
      resolveEnded,
    };
    const id = rec.id;
    proc.on('output', (d: Uint8Array) => hub.output(d));
    proc.on('log', (t: string) => this.log.debug(`machine ${rec.name}: ${t.trimEnd()}`));
    proc.on('reboot', () => void this.rebooted(id, rt));
    proc.on('exit', (e: MachineExit) => void this.ended(id, rt, e, null));
    proc.on('crash', (c: { reason: string }) => void this.ended(id, rt, null, c.reason));
    this.runtimes.set(id, rt);
    hub.connect({ input: (d) => proc.input(d), resize: (c, r) => proc.resize(c, r), ack: (n) => proc.ack(n) });
    proc.start();
    await this.change(
      id,
      { state: 'running', lastExit: null, bootCount: rec.bootCount + 1 },
      {
        actor,
        kind: 'started',
        message,
      },
    );
  }

  /**
   * A port on its network's switch for each NIC of a machine about to start, named
   * `<machine>/eth<N>` (what captures and port counters show), its egress drained by `proc`.
   * All or nothing: a failure removes the ports already made.
   */
  private async attachNics(rec: MachineRecord, nics: NicRecord[], proc: MachineProcess): Promise<Runtime['ports']> {
    const ports: Runtime['ports'] = [];
    if (nics.length === 0) return ports;
    const networks = this.opts.networks;
    if (!networks)
      throw new HostError(
        409,
        'wrong-state',
        `cannot start machine '${rec.name}': it has NICs but this server has no networks; remove its NICs`,
      );
    try {
      for (const n of nics) {
        const sw = await networks.switchOf(n.networkId);
        const nic = n.index;
        const port = sw.addPort({ name: `${rec.name}/eth${nic}`, onEgress: () => proc.nicEgress(nic) });
        ports.push({ nic, sw, port });
        proc.attachNic(nic, port);
      }
    } catch (e) {
      for (const p of ports) p.sw.removePort(p.port);
      throw e;
    }
    return ports;
  }

  /** The guest rebooted itself (or as asked): same worker, next boot. */
  private async rebooted(id: string, rt: Runtime): Promise<void> {
    const rec = this.records.get(id);
    if (!rec || this.runtimes.get(id) !== rt) return;
    rt.bootedAt = new Date();
    const asked = rt.reboot;
    rt.reboot = null;
    await this.change(
      id,
      { bootCount: rec.bootCount + 1 },
      {
        actor: asked?.actor ?? 'system',
        kind: 'rebooted',
        message: asked ? 'rebooted' : 'the guest rebooted',
      },
    );
    asked?.done();
  }

  /** The worker is gone: how, and what the record says now. Runs once per runtime. */
  private async ended(id: string, rt: Runtime, exit: MachineExit | null, crash: string | null): Promise<void> {
    if (this.runtimes.get(id) !== rt) return;
    this.runtimes.delete(id);
    if (rt.stop?.timer) clearTimeout(rt.stop.timer);
    // Unplugged: the switch forgets its addresses and drops what was queued for it.
    for (const p of rt.ports) p.sw.removePort(p.port);
    rt.ports = [];
    this.retiredInstructions += rt.proc.instructions;
    this.hubs.get(id)?.disconnect();
    const rec = this.records.get(id);
    try {
      if (!rec) return;
      let state: MachineState;
      let lastExit: string;
      let kind: string;
      let actor = rt.stop?.actor ?? 'system';
      if (rt.killed) {
        state = 'stopped';
        lastExit = rt.killed.note;
        kind = rt.killed.kind;
        actor = rt.killed.actor;
      } else if (crash !== null) {
        state = 'crashed';
        lastExit = crash;
        kind = 'crashed';
        actor = 'system';
      } else {
        ({ state, lastExit } = exitText(exit!));
        kind = state === 'crashed' ? 'crashed' : 'stopped';
        if (rt.stop && exit!.reason === 'poweroff') lastExit = 'powered off';
      }
      if (this.shuttingDown) {
        // The stored state stays running/paused: init() boots it at the next start.
        await this.event(id, 'system', 'shutdown', `server shutdown: ${lastExit}; it boots again at the next start`);
        return;
      }
      if (state === 'crashed') this.log.warn(`machine ${rec.name} crashed: ${lastExit}`);
      await this.change(id, { state, lastExit }, { actor, kind, message: lastExit });
    } finally {
      rt.reboot?.done();
      rt.resolveEnded();
    }
  }

  /** stop: power off through init; kill after stopTimeoutMs. Resolves once stopped. */
  private async stopLocked(rec: MachineRecord, actor: string): Promise<void> {
    const rt = this.runtimes.get(rec.id);
    if (!rt) return;
    const timer = setTimeout(() => {
      const s = this.stopTimeoutMs / 1000;
      rt.killed = { note: `killed after ${s} s stop timeout`, actor, kind: 'killed' };
      void rt.proc.kill().then(() => this.ended(rec.id, rt, null, null));
    }, this.stopTimeoutMs);
    rt.stop = { actor, timer };
    // A paused machine must run to shut down.
    if (rec.state === 'paused') rt.proc.resume();
    rt.proc.power('poweroff');
    await rt.ended;
  }

  /** reboot: through init (busybox: SIGTERM); a guest that does not within stopTimeoutMs is reset. */
  private async rebootLocked(rec: MachineRecord, rt: Runtime, actor: string): Promise<void> {
    let timer: NodeJS.Timeout | null = null;
    const rebooted = new Promise<boolean>((resolve) => {
      rt.reboot = { actor, done: () => resolve(true) };
      timer = setTimeout(() => resolve(false), this.stopTimeoutMs);
    });
    rt.proc.power('reboot');
    const ok = await rebooted;
    if (timer) clearTimeout(timer);
    if (ok || this.runtimes.get(rec.id) !== rt) return;
    // The guest ignored the request: a hard reset (kill the worker, boot a new one).
    rt.reboot = null;
    rt.killed = { note: `reset after ${this.stopTimeoutMs / 1000} s reboot timeout`, actor, kind: 'reset' };
    await rt.proc.kill();
    await this.ended(rec.id, rt, null, null);
    await this.boot(
      this.current(rec.id),
      actor,
      `booted again after a reset (the guest did not reboot within ${this.stopTimeoutMs / 1000} s)`,
    );
  }

  /** Refresh the instruction counts metrics() reports (stats of running machines). */
  private refreshInstructions(): void {
    for (const [id, rt] of this.runtimes) {
      if (this.records.get(id)?.state !== 'running') continue;
      rt.proc.stats().catch(() => {});
    }
  }
}
