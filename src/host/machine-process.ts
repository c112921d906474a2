/**
 * One running machine of the server: its worker_thread (src/worker/machine-worker.ts, kind
 * 'vm') and the messages to and from it. The host side never blocks on the guest and never
 * lets a worker's failure escape: a worker that throws, runs out of heap or exits without
 * saying why becomes one 'crash' event, and every method is a no-op on a dead worker.
 *
 * Events:
 *   'output' (data: Uint8Array)            console bytes (acknowledge them with ack())
 *   'reboot' (boot: number)                the guest rebooted; the same worker boots it again
 *   'exit'   (info: MachineExit)           the guest stopped (power-off, halt, panic, init's exit)
 *   'crash'  (info: { reason: string })    the worker died without an orderly exit
 *   'log'    (text: string)                kernel and worker diagnostics (for the server log)
 * Exactly one of 'exit' and 'crash' is emitted, once, unless kill() ended the worker (then
 * neither: the caller knows why it ended).
 *
 * NICs: the owner adds a switch port per NIC (with `onEgress: () => proc.nicEgress(nic)`) and
 * hands it over with attachNic(); it removes the ports from their switches itself when the
 * machine ends (a guest reboot keeps them: the worker lives on). Frames the guest sends arrive
 * as `net-tx` and go into `port.input` as they are (the worker transferred its own copy);
 * frames the switch queues for a port are dequeued in batches at the next turn of the event loop
 * and posted as `net-rx`, structured-cloned (a flooded frame is one object on several queues, so
 * it is copied, never transferred). At most NET_WINDOW frames per NIC are in the worker's hands
 * unacknowledged; beyond that they wait in the port's bounded queue (and drop there, counted as
 * queueFull), so a slow guest never makes the host queue without bound.
 */
import { EventEmitter } from 'node:events';
import { Worker, type ResourceLimits } from 'node:worker_threads';
import type { VmStats } from './types.js';
import type { ExitReason, HostToWorker, PowerAction, VmMachineConfig, WorkerToHost } from '../protocol/messages.js';
import { NET_WINDOW } from '../protocol/messages.js';
import type { SwitchPort } from '../switch/switch.js';
import { MACHINE_WORKER } from './worker-url.js';

/** How long a worker has to answer a stats request. */
export const STATS_TIMEOUT_MS = 2000;

/**
 * V8 heap of a machine worker. Guest RAM is an ArrayBuffer outside the V8 heap, so the heap
 * holds only the kernel's objects (tasks, inodes and dentries, page-cache maps, the module
 * code, and tsx's transpiled sources in development). A busybox machine with 64 MiB of RAM
 * that booted and ran `find /` and `ls -R /` ten times fits in a 24 MB old generation (16 MB
 * does not); the limit is a ceiling, not a reservation, so it leaves ample room for guests
 * that touch many more files: a base plus half the guest RAM's size.
 */
const HEAP_BASE_MB = 128;
/**
 * The young generation (V8's scavenged nursery) stays small: the CPU loop allocates nothing and
 * the kernel's short-lived objects fit, while an idle machine's RSS follows this size (bench:server
 * measured 36.8 MiB per idle machine with 32 MB, 28.8 MiB with 8 MB, boot time unchanged).
 */
const YOUNG_GENERATION_MB = 8;

export function defaultResourceLimits(memMiB: number): ResourceLimits {
  return {
    maxOldGenerationSizeMb: HEAP_BASE_MB + Math.ceil(memMiB / 2),
    maxYoungGenerationSizeMb: YOUNG_GENERATION_MB,
    stackSizeMb: 8,
  };
}

export interface MachineExit {
  reason: ExitReason | 'error';
  /** init's exit status (reason 'init-exit'). */
  code: number | null;
  signal: number | null;
  panicText?: string;
  /** Instructions the machine retired over all its boots. */
  instructions: number;
}

export interface MachineProcessOptions {
  config: VmMachineConfig;
  /** Overrides of the worker's heap and stack limits (defaultResourceLimits(memMiB) otherwise). */
  resourceLimits?: ResourceLimits;
}

export class MachineProcess extends EventEmitter {
  private worker: Worker | null = null;
  private ended = false;
  private killed = false;
  private nextStatsId = 1;
  private readonly statsWaiters = new Map<
    number,
    { resolve: (s: VmStats) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }
  >();
  /** Instructions of finished boots (the current boot's are in its stats). */
  private finishedInstructions = 0;
  /** The current boot's instructions as last reported. */
  private currentInstructions = 0;
  /** Boots so far (1 once started; +1 per guest reboot). */
  boot = 0;
  /** Each NIC's switch port, by NIC index (attachNic). */
  private readonly ports: Array<SwitchPort | null> = [];
  /** Per NIC: frames posted as net-rx that the worker has not acknowledged yet. */
  private readonly rxInFlight: number[] = [];
  /** Per NIC: net-tx frames taken into the switch, to acknowledge at the next turn. */
  private readonly txTaken: number[] = [];
  /** NICs whose port may have frames to post. */
  private readonly egressPending = new Set<number>();
  private netScheduled = false;

  constructor(private readonly opts: MachineProcessOptions) {
    super();
  }

  /** Is the worker alive (started, not exited, crashed or killed)? */
  get alive(): boolean {
    return this.worker !== null && !this.ended;
  }

  /** Guest instructions over all boots, as far as the host has heard (stats answers and exits). */
  get instructions(): number {
    return this.finishedInstructions + this.currentInstructions;
  }

  /** Start the worker. Failures to start come as a 'crash' event, never as a throw. */
  start(): void {
    if (this.worker) return;
    const cfg = this.opts.config;
    let w: Worker;
    try {
      w = new Worker(MACHINE_WORKER, {
        workerData: cfg,
        resourceLimits: this.opts.resourceLimits ?? defaultResourceLimits(cfg.memMiB),
      });
    } catch (e) {
      this.ended = true;
      queueMicrotask(() => this.emit('crash', { reason: `worker did not start: ${errorText(e)}` }));
      return;
    }
    this.worker = w;
    this.boot = 1;
    // Messages posted now wait in the worker's port until it listens.
    if (this.egressPending.size > 0) this.scheduleNet();
    w.on('message', (m: WorkerToHost) => this.onMessage(m));
    w.on('error', (e: Error) => {
      const code = (e as NodeJS.ErrnoException).code;
      this.fail(
        code === 'ERR_WORKER_OUT_OF_MEMORY'
          ? `worker exceeded its heap limit (${e.message})`
          : `worker error: ${e.stack ?? e.message}`,
      );
    });
    w.on('exit', (code) => {
      this.fail(`worker exited with code ${code} without the machine stopping`);
    });
  }

  private onMessage(m: WorkerToHost): void {
    switch (m.type) {
      case 'output':
        this.emit('output', m.data);
        break;
      case 'console':
        this.emit('log', m.text);
        break;
      case 'stats': {
        const w = this.statsWaiters.get(m.id);
        if (!w) break;
        this.statsWaiters.delete(m.id);
        clearTimeout(w.timer);
        this.currentInstructions = m.stats.instructions;
        w.resolve(m.stats);
        break;
      }
      case 'reboot':
        this.boot = m.boot;
        // The new boot's hart starts from 0: what the old one did is in the total now.
        this.finishedInstructions += this.currentInstructions;
        this.currentInstructions = 0;
        this.emit('reboot', m.boot);
        break;
      case 'exit': {
        if (this.ended) break;
        this.ended = true;
        this.rejectStats('the machine stopped');
        if (m.stats) {
          this.finishedInstructions = m.stats.instret;
          this.currentInstructions = 0;
        }
        if (m.errorText !== undefined) {
          this.emit('crash', { reason: `machine worker failed: ${m.errorText}` });
          break;
        }
        const info: MachineExit = {
          reason: m.reason ?? 'error',
          code: m.code,
          signal: m.signal,
          instructions: this.instructions,
          ...(m.panicText !== undefined ? { panicText: m.panicText } : {}),
        };
        this.emit('exit', info);
        break;
      }
      case 'net-tx':
        this.onNetTx(m.nic, m.frames);
        break;
      case 'net-ack':
        if (m.nic in this.rxInFlight) {
          this.rxInFlight[m.nic] = Math.max(0, this.rxInFlight[m.nic]! - m.frames);
          // The window may have stopped a drain with frames still queued (onEgress does not fire again).
          if ((this.ports[m.nic]?.queued ?? 0) > 0) this.nicEgress(m.nic);
        }
        break;
      case 'stdin-request':
      case 'tty-mode':
        // Only for `run`'s host terminal; a vm's console is pushed and has no host line mode.
        break;
    }
  }

  /**
   * NIC `nic`'s switch port (made by the owner with `onEgress: () => proc.nicEgress(nic)`).
   * Frames already queued on it are posted once the worker is running.
   */
  attachNic(nic: number, port: SwitchPort): void {
    this.ports[nic] = port;
    this.rxInFlight[nic] = 0;
    this.txTaken[nic] = 0;
    if (port.queued > 0) this.nicEgress(nic);
  }

  /** Frames posted to NIC `nic` that the worker has not acknowledged yet (at most NET_WINDOW). */
  netInFlight(nic: number): number {
    return this.rxInFlight[nic] ?? 0;
  }

  /** The switch queued frames on NIC `nic`'s port: post them at the next turn, in one batch. */
  nicEgress(nic: number): void {
    this.egressPending.add(nic);
    this.scheduleNet();
  }

  private scheduleNet(): void {
    if (this.netScheduled) return;
    this.netScheduled = true;
    setImmediate(() => this.netTurn());
  }

  /** Frames the guest put on NIC `nic`'s wire: into the switch. */
  private onNetTx(nic: number, frames: Uint8Array[]): void {
    if (!(nic in this.txTaken)) return;
    const port = this.ports[nic];
    if (port?.attached) for (const f of frames) port.input(f);
    // Acknowledged even when the port is gone: the worker's window must not close for good.
    this.txTaken[nic]! += frames.length;
    this.scheduleNet();
  }

  /** One turn of the NIC transport: acknowledgements out, queued frames out (within the windows). */
  private netTurn(): void {
    this.netScheduled = false;
    if (this.ended) {
      this.egressPending.clear();
      return;
    }
    // Not started yet: what is pending goes once start() made the worker.
    if (!this.worker) return;
    for (let nic = 0; nic < this.txTaken.length; nic++) {
      const n = this.txTaken[nic];
      if (!n) continue; // nothing taken, or no NIC at this index
      this.txTaken[nic] = 0;
      this.send({ type: 'net-ack', nic, frames: n });
    }
    for (const nic of this.egressPending) {
      this.egressPending.delete(nic);
      const port = this.ports[nic];
      if (!port?.attached) continue;
      let room = NET_WINDOW - this.rxInFlight[nic]!;
      if (room <= 0) continue; // the worker's net-ack reopens the window
      const frames: Uint8Array[] = [];
      for (let f: Uint8Array | null; room > 0 && (f = port.dequeue()) !== null; room--) {
        // Cloning a view copies its whole buffer: a frame that is part of a larger buffer
        // (a host-side sender's pool) is cut out first.
        frames.push(f.byteOffset === 0 && f.byteLength === f.buffer.byteLength ? f : f.slice());
      }
      if (frames.length === 0) continue;
      this.rxInFlight[nic]! += frames.length;
      this.send({ type: 'net-rx', nic, frames });
    }
  }

  /** The worker died without an orderly exit message. */
  private fail(reason: string): void {
    if (this.ended) return;
    this.ended = true;
    this.rejectStats('the machine worker died');
    if (this.killed) return;
    this.emit('crash', { reason });
  }

  private rejectStats(why: string): void {
    for (const [id, w] of this.statsWaiters) {
      clearTimeout(w.timer);
      w.reject(new Error(why));
      this.statsWaiters.delete(id);
    }
  }

  private send(m: HostToWorker, transfer?: ArrayBuffer[]): boolean {
    if (!this.worker || this.ended) return false;
    try {
      this.worker.postMessage(m, transfer ?? []);
      return true;
    } catch {
      return false;
    }
  }

  /** Ask the guest to power off / reboot / halt (through init, as a power button would). */
  power(action: PowerAction): void {
    this.send({ type: 'power', action });
  }

  pause(): void {
    this.send({ type: 'pause' });
  }

  resume(): void {
    this.send({ type: 'resume' });
  }

  /** Console input (the worker queues what the guest has not read, up to CONSOLE_INPUT_QUEUE). */
  input(data: Uint8Array): void {
    if (data.length === 0) return;
    const copy = data.slice();
    this.send({ type: 'stdin', data: copy }, [copy.buffer]);
  }

  resize(cols: number, rows: number): void {
    this.send({ type: 'resize', rows, cols });
  }

  /** The host is done with `bytes` console output bytes (flow control, CONSOLE_WINDOW). */
  ack(bytes: number): void {
    if (bytes > 0) this.send({ type: 'console-ack', bytes });
  }

  /** The machine's figures; rejects when the worker is gone or does not answer within STATS_TIMEOUT_MS. */
  stats(timeoutMs = STATS_TIMEOUT_MS): Promise<VmStats> {
    return new Promise((resolve, reject) => {
      const id = this.nextStatsId++;
      const timer = setTimeout(() => {
        this.statsWaiters.delete(id);
        reject(new Error(`the machine did not answer a stats request within ${timeoutMs} ms`));
      }, timeoutMs);
      timer.unref();
      this.statsWaiters.set(id, { resolve, reject, timer });
      if (!this.send({ type: 'stats-request', id })) {
        clearTimeout(timer);
        this.statsWaiters.delete(id);
        reject(new Error('the machine is not running'));
      }
    });
  }

  /**
   * Pull the plug: terminate the worker (no 'exit' or 'crash' event follows). Resolves when
   * the thread is gone. The disk overlay holds whatever was written back before.
   */
  async kill(): Promise<void> {
    const w = this.worker;
    if (!w) return;
    this.killed = true;
    const wasEnded = this.ended;
    this.ended = true;
    if (!wasEnded) this.rejectStats('the machine was killed');
    try {
      await w.terminate();
    } catch {
      // already gone
    }
  }

  /** For tests and diagnostics: the worker thread (null before start). */
  get thread(): Worker | null {
    return this.worker;
  }
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
