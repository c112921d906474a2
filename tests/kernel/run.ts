// Helpers for guest tests: run a command with given stdin, env and cwd, and capture stdout, stderr and the exit
// status as Buffers/numbers; and the two ways of running a riscv64 program that tests compare — the oracle
// (`qemu-riscv64-static`, Linux's behaviour) and ours (`node bin/labvisor.js exec`).
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '..', '..');
export const GUEST_DIR = join(ROOT, 'build/guest');
export const GUEST_BIN = join(GUEST_DIR, 'bin');
export const BUSYBOX = join(GUEST_DIR, 'busybox');
/** The CLI under test; LABVISOR_CLI overrides it (e.g. to try the harness against another build). */
export const LABVISOR_CLI = process.env.LABVISOR_CLI
  ? resolve(process.env.LABVISOR_CLI)
  : join(ROOT, 'bin/labvisor.js');
/** The riscv64 sysroot of Debian's cross toolchain: the `-L` prefix for dynamically linked guests. */
export const RISCV_SYSROOT = '/usr/riscv64-linux-gnu';

/** The fixed environment both runs get (env -i style), so outputs are comparable. */
export const BASE_ENV: Readonly<Record<string, string>> = Object.freeze({ PATH: '/bin', HOME: '/', LANG: 'C' });

export interface RunOptions {
  /** Bytes written to the program's stdin through a pipe (then closed). Default: empty stdin. */
  stdin?: Buffer | string;
  /** A host file opened as the program's stdin (`prog < file`): the guest sees a regular file. */
  stdinFile?: string;
  /** The complete environment (nothing is inherited). Default: BASE_ENV. */
  env?: Record<string, string>;
  cwd?: string;
  /** Kill the process after this many ms (then `timedOut` is true). Default 100 s. */
  timeoutMs?: number;
}

export interface RunResult {
  stdout: Buffer;
  stderr: Buffer;
  /** Exit status as a shell reports it: the exit code, or 128+N when killed by signal N. */
  status: number;
  /** The signal name when the process was killed by a signal. */
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  ms: number;
}

/** Run `cmd args` and collect everything it prints. Never rejects for a failing program, only for spawn errors. */
export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const started = performance.now();
  return new Promise((resolvePromise, reject) => {
    const stdinFd = opts.stdinFile === undefined ? null : openSync(opts.stdinFile, 'r');
    const child = spawn(cmd, args, {
      cwd: opts.cwd ?? ROOT,
      env: opts.env ?? { ...BASE_ENV },
      stdio: [stdinFd ?? 'pipe', 'pipe', 'pipe'],
    });
    if (stdinFd !== null) closeSync(stdinFd);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs ?? 100_000);
    child.stdout!.on('data', (b: Buffer) => out.push(b));
    child.stderr!.on('data', (b: Buffer) => err.push(b));
    if (child.stdin) {
      // A program that exits without reading its stdin makes the write fail with EPIPE: not an error here.
      child.stdin.on('error', () => {});
      child.stdin.end(opts.stdin ?? '');
    }
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const signo = signal ? osConstants.signals[signal] : 0;
      resolvePromise({
        stdout: Buffer.concat(out),
        stderr: Buffer.concat(err),
        status: signal ? 128 + signo : (code ?? -1),
        signal,
        timedOut,
        ms: performance.now() - started,
      });
    });
  });
}

let qemuPath: string | undefined;
/** Absolute path of qemu-riscv64-static (looked up once in the test runner's PATH, not the guest's fixed one). */
export function qemuBinary(): string {
  if (qemuPath === undefined) {
    const r = spawnSync('sh', ['-c', 'command -v qemu-riscv64-static'], { encoding: 'utf8' });
    const p = r.stdout.trim();
    if (r.status !== 0 || !p) {
      throw new Error('qemu-riscv64-static not found: apt-get install qemu-user-static (it is the test oracle)');
    }
    qemuPath = p;
  }
  return qemuPath;
}

export interface GuestRun extends RunOptions {
  /** qemu's -L / labvisor's -L: where the guest's ELF interpreter and libraries are looked up. */
  prefix?: string;
}

/** The oracle: `qemu-riscv64-static [-L prefix] prog args…`. */
export function runQemu(prog: string, args: readonly string[], opts: GuestRun = {}): Promise<RunResult> {
  const pre = opts.prefix ? ['-L', opts.prefix] : [];
  return run(qemuBinary(), [...pre, prog, ...args], opts);
}

export function labvisorAvailable(): boolean {
  return existsSync(LABVISOR_CLI);
}

/** Ours: `node bin/labvisor.js exec [-L prefix] prog args…`. */
export function runLabvisor(prog: string, args: readonly string[], opts: GuestRun = {}): Promise<RunResult> {
  if (!labvisorAvailable()) {
    return Promise.reject(new Error(`${LABVISOR_CLI} does not exist yet: cannot run labvisor exec`));
  }
  const pre = opts.prefix ? ['-L', opts.prefix] : [];
  return run(process.execPath, [LABVISOR_CLI, 'exec', ...pre, prog, ...args], opts);
}

export function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

/** Where two buffers first differ, with a little context, for assertion messages on large or binary output. */
export function firstDifference(a: Buffer, b: Buffer): string | null {
  if (a.equals(b)) return null;
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  const show = (x: Buffer) => JSON.stringify(x.subarray(Math.max(0, i - 40), i + 40).toString('latin1'));
  return `lengths ${a.length} vs ${b.length}; first difference at byte ${i}: ${show(a)} vs ${show(b)}`;
}

/** Deterministic pseudo-random bytes (xorshift32), so inputs are the same on every run and machine. */
export function deterministicBytes(length: number, seed = 0x2545f491): Buffer {
  const buf = Buffer.alloc(length);
  let x = seed | 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    buf[i] = x & 0xff;
  }
  return buf;
}

/** Deterministic text made of words and numbers in lines: compresses like real text. */
export function deterministicText(length: number, seed = 0x9e3779b9): Buffer {
  const words = [
    'the',
    'kernel',
    'page',
    'table',
    'hart',
    'trap',
    'sched',
    'fork',
    'exec',
    'signal',
    'pipe',
    'inode',
    'block',
    'tcp',
    'socket',
    'buddy',
    'slab',
    'vma',
    'tlb',
    'riscv',
    'labvisor',
    'machine',
    'console',
    'lorem',
    'ipsum',
    'dolor',
    'sit',
    'amet',
  ];
  let x = seed | 0 || 1;
  const next = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
  const parts: string[] = [];
  let size = 0;
  while (size < length) {
    const n = 4 + (next() % 12);
    const line: string[] = [];
    for (let i = 0; i < n; i++) line.push(next() % 9 === 0 ? String(next() % 100000) : words[next() % words.length]);
    const s = line.join(' ') + '\n';
    parts.push(s);
    size += s.length;
  }
  return Buffer.from(parts.join('')).subarray(0, length);
}
