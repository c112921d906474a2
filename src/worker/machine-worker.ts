/**
 * The machine worker: the one place that wires the machine (RAM, hart, clock, character
 * streams) to the kernel and both to the host's messages (DESIGN.md, "worker/").
 *
 * Started by the host with a MachineConfig as workerData. Guest output is batched and
 * posted in order (stdout, stderr and host diagnostics interleaved as they happened): a batch
 * goes out when it reaches FLUSH_BYTES or when the event loop next turns (the kernel yields
 * every few milliseconds). Stdin is pulled: the worker asks for a chunk only when the guest
 * waits for input, so the host never pushes more than the guest reads.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { PhysicalMemory } from '../machine/memory.js';
import { Clock } from '../machine/dev/clock.js';
import { BufferedCharStream, type CharStream } from '../machine/dev/char-stream.js';
import { Hart } from '../machine/cpu/hart.js';
import { startKernel } from '../kernel/init/main.js';
import { DiskImage } from '../machine/dev/disk.js';
import type { HostHandle } from '../kernel/init/main.js';
import type {
  ExecMachineConfig,
  HostToWorker,
  MachineConfig,
  RunMachineConfig,
  WorkerToHost,
} from '../protocol/messages.js';

const FLUSH_BYTES = 64 * 1024;

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
 * One boot's view of the serial line. A kernel that has stopped may still have a reader
 * waiting on its console (the tty's input pump): once `detach()`ed, the view gives it nothing
 * and drops its output, so the next boot's console alone gets the host's input.
 */
class BootConsole implements CharStream {
  private attached = true;
  constructor(private readonly line: PulledInput) {}
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
  detach(): void {
    this.attached = false;
  }
}

/**
 * A booted machine (`labvisor run`): the disk image with its overlay as /dev/vda, the
 * console on one serial line. A reboot boots the kernel again, in this worker, on fresh RAM
 * and the same overlay; power-off, halt, a panic or init's exit end the worker.
 */
async function runBoot(cfg: RunMachineConfig): Promise<void> {
  const out = new OutputQueue();
  // The serial line: output is fd 1 of the host, input is pulled as for exec's stdin.
  const line = new PulledInput(cfg.console.isTty, (d) => out.write(1, d));
  line.rows = cfg.console.rows;
  line.cols = cfg.console.cols;
  let host: HostHandle | null = null;
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
    let status;
    try {
      status = await startKernel({
        mem,
        hart,
        clock,
        console: (l) => out.console(l + '\n'),
        strace: cfg.strace,
        debug: cfg.debug,
        nodename: cfg.nodename,
        disk,
        cmdline: cfg.cmdline,
        consoleStream,
        initArgs: cfg.initArgs,
        onHost: (h) => (host = h),
      });
    } finally {
      consoleStream.detach();
      host = null;
      instret += hart.instret;
      disk.close();
    }
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
(cfg.kind === 'run' ? runBoot(cfg) : runExec(cfg)).catch((e: unknown) => {
  post({
    type: 'exit',
    code: null,
    signal: null,
    errorText: e instanceof Error ? (e.stack ?? e.message) : String(e),
  });
  port.close();
});
