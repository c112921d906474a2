/**
 * The machine worker: the one place that wires the machine (RAM, hart, clock, character
 * streams) to the kernel and both to the host's messages (DESIGN.md, "worker/").
 *
 * Started by the host with a MachineConfig as workerData. Guest output is batched and
 * posted in order (stdout, stderr and host diagnostics interleaved as they happened): a batch
 * goes out when it reaches FLUSH_BYTES or when the event loop next turns (the kernel yields
 * every few milliseconds). Stdin is pulled: the worker asks for a chunk only when the guest
 * waits for input, so the host never pushes more than the guest reads.
 *
 * A server's machine (`vm`) differs in its console: input is pushed by the host whenever a
 * viewer types (queued here up to CONSOLE_INPUT_QUEUE, beyond that dropped as a UART overrun
 * would), and output is flow-controlled: bytes posted and not yet acknowledged by the host
 * (`console-ack`) count against CONSOLE_WINDOW; at the window the serial port reports no
 * room, so the guest's console writers sleep in n_tty_write until acks make room.
 *
 * A `vm` machine's NICs (NicDevice, one per `cfg.nics` entry) are wired to the host's switch
 * ports by NetLink: transmitted batches go out as `net-tx`, frames from the switch come in as
 * `net-rx`, and each direction keeps at most NET_WINDOW unacknowledged frames in flight.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { PhysicalMemory } from '../machine/memory.js';
import { Clock } from '../machine/dev/clock.js';
import { BufferedCharStream, type CharStream } from '../machine/dev/char-stream.js';
import { Hart } from '../machine/cpu/hart.js';
import { startKernel } from '../kernel/init/main.js';
import { DiskImage } from '../machine/dev/disk.js';
import { NicDevice } from '../machine/dev/nic.js';
import { parseMac } from '../switch/ethernet.js';
import type { HostHandle } from '../kernel/init/main.js';
import type { MachineStats } from '../kernel/sys/stats.js';
import type { VmStats } from '../host/types.js';
import {
  CONSOLE_INPUT_QUEUE,
  CONSOLE_WINDOW,
  NET_WINDOW,
  type ExecMachineConfig,
  type HostToWorker,
  type MachineConfig,
  type RunMachineConfig,
  type VmMachineConfig,
  type WorkerToHost,
} from '../protocol/messages.js';

const FLUSH_BYTES = 64 * 1024;
/**
 * Console bytes a `vm` machine may post beyond the window: n_tty's writers stop at the window,
 * but printk (kernel messages) does not wait for room; past this slack it is dropped.
 */
const PRINTK_SLACK = 64 * 1024;

if (!parentPort) throw new Error('machine-worker must run in a worker_thread');
const port = parentPort;

function post(m: WorkerToHost, transfer?: ArrayBuffer[]): void {
  port.postMessage(m, transfer ?? []);
}

/** Ordered, batched output to the host. */
class OutputQueue {
  private items: Array<{ fd: 1 | 2; chunks: Uint8Array[]; bytes: number } | { text: string }> = [];
  private bytes = 0;
  private scheduled = false;

  write(fd: 1 | 2, data: Uint8Array): void {
    const last = this.items[this.items.length - 1];
    if (last && 'fd' in last && last.fd === fd) {
      last.chunks.push(data);
      last.bytes += data.length;
    } else {
      this.items.push({ fd, chunks: [data], bytes: data.length });
    }
    this.bytes += data.length;
    if (this.bytes >= FLUSH_BYTES) this.flush();
    else this.schedule();
  }

  console(text: string): void {
    this.items.push({ text });
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  flush(): void {
    this.scheduled = false;
    const items = this.items;
    this.items = [];
    this.bytes = 0;
    for (const it of items) {
      if ('text' in it) {
        post({ type: 'console', text: it.text });
        continue;
      }
      const data = new Uint8Array(it.bytes);
      let o = 0;
      for (const c of it.chunks) {
        data.set(c, o);
        o += c.length;
      }
      post({ type: 'output', fd: it.fd, data }, [data.buffer as ArrayBuffer]);
    }
  }
}

/** The guest's stdin: input arrives from the host on request, one chunk per request. */
class PulledInput extends BufferedCharStream {
  private requested = false;
  private ended = false;

  override read(max: number): Uint8Array | null {
    const r = super.read(max);
    if (r === null) this.request();
    return r;
  }

  override whenReadable(): Promise<void> {
    const p = super.whenReadable();
    this.request();
    return p;
  }

  override push(data: Uint8Array): void {
    this.requested = false;
    super.push(data);
  }

  override end(): void {
    this.requested = false;
    this.ended = true;
    super.end();
  }

  /**
   * Host terminal mode for this stream: the tty layer calls this when the guest's termios
   * turns ICANON or ECHO off (raw) or back on, so the host terminal stops (or resumes) its own
   * line editing and echo.
   */
  setHostRawMode(raw: boolean): void {
    if (raw === this.raw) return;
    this.raw = raw;
    post({ type: 'tty-mode', raw });
  }
  private raw = false;

  private request(): void {
    if (this.requested || this.ended) return;
    this.requested = true;
    post({ type: 'stdin-request' });
  }
}

async function runExec(cfg: ExecMachineConfig): Promise<void> {
  const out = new OutputQueue();
  const mem = new PhysicalMemory(cfg.memMiB * 1024 * 1024);
  const clock = new Clock();
  const hart = new Hart(mem, clock);
  const stdin = new PulledInput(cfg.stdio[0].isTty, () => {});
  const stdout = new BufferedCharStream(cfg.stdio[1].isTty, (d) => out.write(1, d));
  const stderr = new BufferedCharStream(cfg.stdio[2].isTty, (d) => out.write(2, d));
  const streams = [stdin, stdout, stderr];
  cfg.stdio.forEach((s, i) => {
    streams[i]!.rows = s.rows;
    streams[i]!.cols = s.cols;
  });

  port.on('message', (m: HostToWorker) => {
    switch (m.type) {
      case 'stdin':
        stdin.push(m.data);
        break;
      case 'stdin-end':
        stdin.end();
        break;
      case 'resize':
        for (const s of streams) {
          s.rows = m.rows;
          s.cols = m.cols;
        }
        break;
    }
  });

  const enc = new TextEncoder();
  const bootMs = performance.now();
  const status = await startKernel({
    mem,
    hart,
    clock,
    console: (line) => out.console(line + '\n'),
    strace: cfg.strace,
    debug: cfg.debug,
    stdio: [stdin, stdout, stderr],
    hostLibDir: cfg.hostLibDir,
    files: [
      { path: cfg.program.path, data: cfg.program.bytes, mode: cfg.program.mode },
      ...(cfg.program.realPath !== cfg.program.path
        ? [{ path: cfg.program.realPath, data: cfg.program.bytes, mode: cfg.program.mode }]
        : []),
    ],
    dirs: [cfg.cwd],
    cwd: cfg.cwd,
    init: {
      filename: cfg.filename,
      argv: cfg.argv.map((a) => enc.encode(a)),
      envp: cfg.env.map((e) => enc.encode(e)),
      exePath: cfg.program.realPath,
    },
    uid: cfg.uid,
    gid: cfg.gid,
  });
  out.flush();
  const stats = { instret: hart.instret, seconds: (performance.now() - bootMs) / 1000 };
  post({ type: 'exit', code: status.code, signal: status.signal, execError: status.execError, stats });
  port.close();
}

/**
 * The serial line of a server's machine (`vm`): input pushed by the host into a bounded queue
 * (held back while the machine is paused, so the line discipline does not even echo), output
 * counted against the console window until the host acknowledges it.
 */
class VmConsoleLine extends BufferedCharStream {
  /** Input bytes pushed and not yet read by the guest's tty. */
  private queued = 0;
  /** Output bytes posted to the host and not yet acknowledged. */
  private unacked = 0;
  private writers: Array<() => void> = [];
  private overrunWarned = false;
  private held = false;
  private releaseWaiters: Array<() => void> = [];

  constructor(private readonly out: OutputQueue) {
    super(true, (d) => {
      this.unacked += d.length;
      out.write(1, d);
    });
  }

  override write(data: Uint8Array): void {
    // n_tty never writes more than writeRoom(); what comes past the window is printk's, and
    // it is bounded here rather than buffered without end.
    if (this.unacked + data.length > CONSOLE_WINDOW + PRINTK_SLACK) return;
    super.write(data);
  }

  writeRoom(): number {
    return Math.max(0, CONSOLE_WINDOW - this.unacked);
  }

  /** Resolves at the host's next acknowledgement (at once when nothing is outstanding). */
  whenWritable(): Promise<void> {
    if (this.unacked === 0) return Promise.resolve();
    return new Promise((resolve) => this.writers.push(resolve));
  }

  /** The host is done with `n` more output bytes. */
  ack(n: number): void {
    this.unacked = Math.max(0, this.unacked - n);
    if (this.writers.length === 0) return;
    const w = this.writers;
    this.writers = [];
    for (const f of w) f();
  }

  /** Input from the host: queued up to CONSOLE_INPUT_QUEUE unread bytes, the rest dropped (an overrun). */
  override push(data: Uint8Array): void {
    const room = CONSOLE_INPUT_QUEUE - this.queued;
    if (data.length > room) {
      if (!this.overrunWarned) {
        this.overrunWarned = true;
        this.out.console(
          `labvisor: console input overrun: the guest is not reading; input beyond ${CONSOLE_INPUT_QUEUE} bytes is dropped\n`,
        );
      }
      if (room <= 0) return;
      data = data.subarray(0, room);
    }
    this.queued += data.length;
    super.push(data);
  }

  override read(max: number): Uint8Array | null {
    if (this.held) return null;
    const r = super.read(max);
    if (r) this.queued -= r.length;
    return r;
  }

  override whenReadable(): Promise<void> {
    if (this.held) return new Promise((resolve) => this.releaseWaiters.push(resolve));
    return super.whenReadable();
  }

  /** While paused, the line delivers nothing to the guest (input waits here). */
  hold(held: boolean): void {
    this.held = held;
    if (held) return;
    const w = this.releaseWaiters;
    this.releaseWaiters = [];
    for (const f of w) f();
  }
}

/**
 * One boot's view of the serial line. A kernel that has stopped may still have a reader
 * waiting on its console (the tty's input pump): once `detach()`ed, the view gives it nothing
 * and drops its output, so the next boot's console alone gets the host's input.
 */
class BootConsole implements CharStream {
  private attached = true;
  constructor(private readonly line: BufferedCharStream & Partial<Pick<CharStream, 'writeRoom' | 'whenWritable'>>) {}
  get isTty(): boolean {
    return this.line.isTty;
  }
  get rows(): number {
    return this.line.rows;
  }
  set rows(v: number) {
    this.line.rows = v;
  }
  get cols(): number {
    return this.line.cols;
  }
  set cols(v: number) {
    this.line.cols = v;
  }
  write(data: Uint8Array): void {
    if (this.attached) this.line.write(data);
  }
  read(max: number): Uint8Array | null {
    return this.attached ? this.line.read(max) : null;
  }
  whenReadable(): Promise<void> {
    if (!this.attached) return new Promise<void>(() => {});
    return this.line.whenReadable();
  }
  writeRoom(): number {
    // A detached view drops its output: it is never full.
    return this.attached && this.line.writeRoom ? this.line.writeRoom() : Number.MAX_SAFE_INTEGER;
  }
  whenWritable(): Promise<void> {
    return this.attached && this.line.whenWritable ? this.line.whenWritable() : Promise.resolve();
  }
  detach(): void {
    this.attached = false;
  }
}

/**
 * The wire between this machine's NICs and their switch ports on the host. Each boot gets
 * fresh NicDevices on the same MAC addresses (a reset NIC has empty rings); the link, its
 * windows and its counters outlive the boots, as the host's ports do.
 *
 * Flow control (NET_WINDOW per NIC and direction): frames posted as `net-tx` count until the
 * host acknowledges them; a batch that does not fit is dropped here, as a NIC whose transmit
 * ring is full (the host is not keeping up, and postMessage would queue without bound).
 * Frames received as `net-rx` are acknowledged in one `net-ack` per NIC at the next turn of the
 * event loop, after they were put in the receive ring (or dropped there when it was full).
 */
class NetLink {
  private readonly macs: Uint8Array[];
  private devices: NicDevice[] = [];
  private readonly txUnacked: number[];
  private txDropWarned = false;
  /** net-rx frames delivered and not yet acknowledged, per NIC. */
  private readonly rxDone: number[];
  private ackScheduled = false;

  constructor(
    macs: string[],
    private readonly warn: (text: string) => void,
  ) {
    this.macs = macs.map((m) => parseMac(m));
    this.txUnacked = macs.map(() => 0);
    this.rxDone = macs.map(() => 0);
  }

  /** Fresh devices for a new boot (the previous boot's stop sending: their frames are from a dead kernel). */
  newBoot(): NicDevice[] {
    this.devices = this.macs.map((mac, nic) => {
      const dev: NicDevice = new NicDevice(mac, (frames) => {
        if (this.devices[nic] === dev) this.transmit(nic, frames);
      });
      return dev;
    });
    return this.devices;
  }

  private transmit(nic: number, frames: Uint8Array[]): void {
    if (this.txUnacked[nic]! + frames.length > NET_WINDOW) {
      const room = NET_WINDOW - this.txUnacked[nic]!;
      if (!this.txDropWarned) {
        this.txDropWarned = true;
        this.warn(
          `labvisor: eth${nic}: the host has not taken ${NET_WINDOW} frames yet; frames sent beyond that are dropped\n`,
        );
      }
      if (room <= 0) return;
      frames = frames.slice(0, room);
    }
    this.txUnacked[nic]! += frames.length;
    // Each frame is NicDevice.transmit's own copy, so its buffer can move to the host.
    post(
      { type: 'net-tx', nic, frames },
      frames.map((f) => f.buffer as ArrayBuffer),
    );
  }

  /** The host took `n` more frames of NIC `nic`. */
  txAcked(nic: number, n: number): void {
    if (nic in this.txUnacked) this.txUnacked[nic] = Math.max(0, this.txUnacked[nic]! - n);
  }

  /** Frames from the switch for NIC `nic`: into its receive ring (a fresh clone each; the device owns it). */
  receive(nic: number, frames: Uint8Array[]): void {
    if (!(nic in this.rxDone)) return;
    const dev = this.devices[nic];
    if (dev) for (const f of frames) dev.deliver(f);
    this.rxDone[nic]! += frames.length;
    if (this.ackScheduled) return;
    this.ackScheduled = true;
    setImmediate(() => {
      this.ackScheduled = false;
      for (let i = 0; i < this.rxDone.length; i++) {
        const n = this.rxDone[i]!;
        if (n === 0) continue;
        this.rxDone[i] = 0;
        post({ type: 'net-ack', nic: i, frames: n });
      }
    });
  }
}

/** The figures of a machine whose kernel is not up (between boots, or before the first). */
function noStats(): MachineStats {
  return {
    uptimeSeconds: 0,
    cpuSeconds: 0,
    instructions: 0,
    mips: 0,
    memory: { totalKiB: 0, freeKiB: 0, usedKiB: 0, cachedKiB: 0 },
    processes: { total: 0, running: 0 },
    loadavg: [0, 0, 0],
    disk: { readOps: 0, readBytes: 0, writeOps: 0, writeBytes: 0 },
  };
}

/**
 * A booted machine (`labvisor run`, or the server's `vm`): the disk image with its overlay as
 * /dev/vda, the console on one serial line. A reboot boots the kernel again, in this worker, on
 * fresh RAM and the same overlay; power-off, halt, a panic or init's exit end the worker.
 */
async function runBoot(cfg: RunMachineConfig | VmMachineConfig): Promise<void> {
  const out = new OutputQueue();
  // The serial line. `run`: output is fd 1 of the host, input is pulled as for exec's stdin.
  // `vm`: input pushed by the server, output under the console window.
  const vmLine = cfg.kind === 'vm' ? new VmConsoleLine(out) : null;
  const line = vmLine ?? new PulledInput(cfg.kind === 'run' ? cfg.console.isTty : true, (d) => out.write(1, d));
  line.rows = cfg.kind === 'vm' ? cfg.rows : cfg.console.rows;
  line.cols = cfg.kind === 'vm' ? cfg.cols : cfg.console.cols;
  let host: HostHandle | null = null;
  let paused = false;
  const net =
    cfg.kind === 'vm' && cfg.nics && cfg.nics.length > 0
      ? new NetLink(
          cfg.nics.map((n) => n.mac),
          (t) => out.console(t),
        )
      : null;
  let last: MachineStats = noStats();
  let lastNet: VmStats['net'] = [];
  const stats = (): VmStats => {
    if (host) {
      try {
        last = host.stats();
      } catch {
        // The kernel is still setting up its memory (before mm_init): the previous figures.
      }
      // The kernel's own counters (struct net_device stats, as /proc/net/dev): what the guest
      // sent and received, after its drops; empty until the network is initialised.
      lastNet = host.netStats().map(({ name, stats: s }) => ({
        name,
        rxBytes: s.rxBytes,
        rxPackets: s.rxPackets,
        txBytes: s.txBytes,
        txPackets: s.txPackets,
      }));
    }
    return { ...last, net: lastNet };
  };
  port.on('message', (m: HostToWorker) => {
    switch (m.type) {
      case 'stdin':
        line.push(m.data);
        break;
      case 'stdin-end':
        line.end();
        break;
      case 'resize':
        line.rows = m.rows;
        line.cols = m.cols;
        host?.resize(m.rows, m.cols);
        break;
      case 'power':
        host?.power(m.action);
        break;
      case 'pause':
        paused = true;
        vmLine?.hold(true);
        host?.pause();
        break;
      case 'resume':
        paused = false;
        vmLine?.hold(false);
        host?.resume();
        break;
      case 'stats-request':
        post({ type: 'stats', id: m.id, stats: stats() });
        break;
      case 'console-ack':
        vmLine?.ack(m.bytes);
        break;
      case 'net-rx':
        net?.receive(m.nic, m.frames);
        break;
      case 'net-ack':
        net?.txAcked(m.nic, m.frames);
        break;
    }
  });

  const t0 = performance.now();
  let instret = 0;
  for (let boot = 1; ; boot++) {
    const disk = DiskImage.open({ base: cfg.image, overlay: cfg.overlay });
    const mem = new PhysicalMemory(cfg.memMiB * 1024 * 1024);
    const clock = new Clock();
    const hart = new Hart(mem, clock);
    const consoleStream = new BootConsole(line);
    // A reset NIC: fresh rings, the same addresses (eth0… are made from them by the kernel).
    const nics = net?.newBoot() ?? [];
    let status;
    try {
      status = await startKernel({
        mem,
        hart,
        clock,
        console: (l) => out.console(l + '\n'),
        strace: cfg.kind === 'run' && cfg.strace,
        debug: cfg.kind === 'run' && cfg.debug,
        nodename: cfg.nodename,
        disk,
        cmdline: cfg.cmdline,
        consoleStream,
        initArgs: cfg.kind === 'run' ? cfg.initArgs : [],
        onHost: (h) => {
          host = h;
          if (paused) h.pause();
        },
        // netInit makes eth0, eth1… from them, in this order.
        nics,
      });
    } finally {
      consoleStream.detach();
      host = null;
      instret += hart.instret;
      disk.close();
    }
    last = noStats();
    lastNet = [];
    if (status.reason === 'reboot') {
      out.flush();
      post({ type: 'reboot', boot: boot + 1 });
      continue;
    }
    out.flush();
    post({
      type: 'exit',
      code: status.code,
      signal: status.signal,
      reason: status.reason,
      ...(status.panicText !== undefined ? { panicText: status.panicText } : {}),
      stats: { instret, seconds: (performance.now() - t0) / 1000 },
    });
    port.close();
    return;
  }
}

const cfg = workerData as MachineConfig;
(cfg.kind === 'exec' ? runExec(cfg) : runBoot(cfg)).catch((e: unknown) => {
  post({
    type: 'exit',
    code: null,
    signal: null,
    errorText: e instanceof Error ? (e.stack ?? e.message) : String(e),
  });
  port.close();
});
