/**
 * The `labvisor` command line.
 *
 *   labvisor exec [--mem MiB] [--strace] [--debug] [-L DIR] PROG [ARGS…]
 *
 * runs one riscv64 Linux program the way `qemu-riscv64-static PROG ARGS` does: the terminal's
 * stdin/stdout/stderr, the host environment as its environment, its exit status (128+N when a
 * signal N killed it). The machine runs in a worker_thread, as the server will run machines.
 *
 *   labvisor run [--image NAME|FILE] [--name NAME] [--reset] [--mem MiB] [--cmdline STR] [-- CMD ARGS…]
 *   labvisor image build [--name NAME] [--size MiB] [--busybox FILE]
 *   labvisor image list
 *
 * boots a whole machine from a disk image (run.ts).
 */
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  realpathSync,
  rmSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type {
  ExecMachineConfig,
  HostToWorker,
  RunMachineConfig,
  StdioInfo,
  WorkerToHost,
} from './protocol/messages.js';
import { signalDescription } from './kernel/signal/signum.js';
import { MACHINE_WORKER } from './host/worker-url.js';

/** A worker that throws, or exits before reporting its machine's end: exit status 70 (EX_SOFTWARE). */
function onWorkerFailure(worker: Worker, finished: () => boolean, finish: (code: number) => void): void {
  worker.on('error', (e) => {
    process.stderr.write(`labvisor: machine worker failed: ${e.stack ?? e.message}\n`);
    finish(70);
  });
  worker.on('exit', (code) => {
    if (!finished()) {
      process.stderr.write(`labvisor: machine worker exited unexpectedly (code ${code})\n`);
      finish(70);
    }
  });
}

const USAGE = `usage: labvisor exec [--mem MiB] [--strace] [--debug] [-L DIR] PROG [ARGS...]
       labvisor run [--image NAME|FILE] [--name NAME] [--reset] [--mem MiB] [--cmdline STR] [-- CMD [ARGS...]]
       labvisor image build [--name NAME] [--size MiB] [--busybox FILE]
       labvisor image list
       labvisor serve [--host ADDR] [--port N] [--data DIR] [--no-auth] ...  (labvisor serve --help)

exec: run a riscv64 Linux program on an emulated machine, as qemu-riscv64-static would.

  --mem MiB    guest RAM (default 256)
  --strace     print each system call to stderr (as qemu -strace)
  --debug      print kernel messages to stderr
  -L DIR       show host directory DIR read-only under the guest's / (ELF interpreter
               prefix for dynamically linked programs, as qemu -L)

run: boot a machine from a disk image to its init (busybox init and a shell on the console).
The disk is the image plus a copy-on-write overlay kept per machine, so the image never
changes and the machine's files survive a reboot or the next run.

  --image NAME|FILE  disk image: NAME is $LABVISOR_HOME/images/NAME.ext4 (default busybox)
  --name NAME        machine name, for its overlay in $LABVISOR_HOME/machines/NAME/ (default: the image's)
  --reset            discard the machine's overlay first (back to the image as built)
  --mem MiB          guest RAM (default 256)
  --cmdline STR      more kernel parameters (after root=/dev/vda rw console=ttyS0)
  -- CMD ARGS        run CMD as init (init=CMD) instead of the image's init; run exits with
                     its status when it ends
  Without CMD the console is interactive until the guest powers off (poweroff); with a
  terminal, Ctrl-A x kills the machine, Ctrl-A p asks it to power off, Ctrl-A h helps.

image build: make $LABVISOR_HOME/images/NAME.ext4 (default busybox; --size default 512,
sparse) from build/guest/busybox
and the skeleton in images/busybox. image list: the images and machines there.
$LABVISOR_HOME defaults to ~/.local/share/labvisor.
`;

const DEFAULT_MEM_MIB = 256;
const MAX_MEM_MIB = 4095;

/** Options that take a value (so their value is not mistaken for PROG). */
const VALUE_OPTIONS = new Set(['--mem', '-L']);

/** Split `exec` arguments at PROG: everything after it belongs to the guest, even `-c`. */
function splitAtProgram(args: string[]): { opts: string[]; rest: string[] } {
  let i = 0;
  while (i < args.length) {
    const a = args[i]!;
    if (a === '--') return { opts: args.slice(0, i), rest: args.slice(i + 1) };
    if (!a.startsWith('-') || a === '-') break;
    i += VALUE_OPTIONS.has(a) ? 2 : 1;
  }
  return { opts: args.slice(0, i), rest: args.slice(i) };
}

/** --mem: guest RAM in MiB (default DEFAULT_MEM_MIB), a whole number from `min` to MAX_MEM_MIB. */
function memOption(value: string | undefined, min: number): number {
  const memMiB = value === undefined ? DEFAULT_MEM_MIB : Number(value);
  if (!Number.isInteger(memMiB) || memMiB < min || memMiB > MAX_MEM_MIB) {
    fail(`--mem must be a whole number of MiB between ${min} and ${MAX_MEM_MIB}, got '${value}'`, 2);
  }
  return memMiB;
}

function fail(msg: string, code = 1): never {
  process.stderr.write(`labvisor: ${msg}\n`);
  process.exit(code);
}

function stdioInfo(fd: 0 | 1 | 2): StdioInfo {
  const s = fd === 0 ? process.stdin : fd === 1 ? process.stdout : process.stderr;
  const tty = 'isTTY' in s && s.isTTY === true;
  const ws = process.stdout as NodeJS.WriteStream;
  return { isTty: tty, rows: (tty && ws.rows) || 24, cols: (tty && ws.columns) || 80 };
}

const ERRNO_TEXT: Record<number, string> = {
  2: 'No such file or directory',
  7: 'Argument list too long',
  8: 'Exec format error',
  12: 'Cannot allocate memory',
  13: 'Permission denied',
  14: 'Bad address',
  20: 'Not a directory',
  22: 'Invalid argument',
  40: 'Too many levels of symbolic links',
  80: 'Accessing a corrupted shared library',
};

async function cmdExec(args: string[]): Promise<void> {
  const { opts, rest } = splitAtProgram(args);
  let values: { mem?: string; strace?: boolean; debug?: boolean; L?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: opts,
      options: {
        mem: { type: 'string' },
        strace: { type: 'boolean' },
        debug: { type: 'boolean' },
        L: { type: 'string', short: 'L' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    fail(`${(e as Error).message}\n${USAGE}`, 2);
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  if (rest.length === 0) fail(`exec: missing PROG\n${USAGE}`, 2);
  const memMiB = memOption(values.mem, 4);
  let hostLibDir: string | undefined;
  if (values.L !== undefined) {
    hostLibDir = resolve(values.L);
    try {
      if (!statSync(hostLibDir).isDirectory()) fail(`-L ${values.L}: not a directory`, 2);
    } catch {
      fail(`-L ${values.L}: no such directory`, 2);
    }
  }

  const filename = rest[0]!;
  const path = resolve(filename);
  let bytes: Uint8Array;
  let mode: number;
  let realPath: string;
  try {
    const st = statSync(path);
    if (!st.isFile()) fail(`${filename}: not a regular file`);
    mode = st.mode & 0o7777;
    bytes = new Uint8Array(readFileSync(path));
    realPath = realpathSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    fail(
      `${filename}: ${code === 'ENOENT' ? 'No such file or directory' : code === 'EACCES' ? 'Permission denied' : (e as Error).message}`,
    );
  }

  const cfg: ExecMachineConfig = {
    kind: 'exec',
    memMiB,
    program: { path, realPath, bytes, mode },
    filename,
    argv: rest,
    env: Object.entries(process.env).map(([k, v]) => `${k}=${v ?? ''}`),
    cwd: process.cwd(),
    hostLibDir,
    strace: values.strace ?? false,
    debug: values.debug ?? false,
    stdio: [stdioInfo(0), stdioInfo(1), stdioInfo(2)],
    uid: process.getuid?.() ?? 0,
    gid: process.getgid?.() ?? 0,
  };
  const status = await runMachine(cfg);
  process.exitCode = status;
}

/** Run the machine in a worker; resolves with the shell-style exit status. */
function runMachine(cfg: ExecMachineConfig): Promise<number> {
  return new Promise((resolvePromise) => {
    const worker = new Worker(MACHINE_WORKER, {
      workerData: cfg,
      transferList: [cfg.program.bytes.buffer as ArrayBuffer],
    });
    const send = (m: HostToWorker, transfer?: ArrayBuffer[]): void => worker.postMessage(m, transfer ?? []);
    let stdinAttached = false;
    let stdinEnded = false;
    const stdin = process.stdin;
    const onData = (chunk: Buffer): void => {
      stdin.pause();
      const data = new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength).slice();
      send({ type: 'stdin', data }, [data.buffer]);
    };
    const onEnd = (): void => {
      stdinEnded = true;
      send({ type: 'stdin-end' });
    };
    const requestInput = (): void => {
      if (stdinEnded) {
        send({ type: 'stdin-end' });
        return;
      }
      if (!stdinAttached) {
        stdinAttached = true;
        stdin.on('data', onData);
        stdin.on('end', onEnd);
        stdin.on('error', onEnd);
      }
      stdin.resume();
    };
    if (process.stdout.isTTY) {
      process.stdout.on('resize', () =>
        send({ type: 'resize', rows: process.stdout.rows, cols: process.stdout.columns }),
      );
    }
    // The reader of our stdout went away (`labvisor exec … | head`): under qemu the guest's next
    // write gets SIGPIPE and it dies of it, silently (status 141). Do the same.
    for (const s of [process.stdout, process.stderr]) {
      s.on('error', (e: NodeJS.ErrnoException) => {
        if (e.code !== 'EPIPE') throw e;
        void worker.terminate();
        process.exit(128 + 13);
      });
    }
    let finished = false;
    const finish = (status: number): void => {
      if (finished) return;
      finished = true;
      stdin.pause();
      stdin.removeListener('data', onData);
      if (stdin.isTTY && stdin.isRaw) stdin.setRawMode(false);
      // Exit once everything written has reached the host's stdout and stderr.
      process.stdout.write('', () => process.stderr.write('', () => resolvePromise(status)));
    };
    worker.on('message', (m: WorkerToHost) => {
      switch (m.type) {
        case 'output':
          (m.fd === 1 ? process.stdout : process.stderr).write(m.data);
          break;
        case 'console':
          process.stderr.write(m.text);
          break;
        case 'stdin-request':
          requestInput();
          break;
        case 'tty-mode':
          if (stdin.isTTY) stdin.setRawMode(m.raw);
          break;
        case 'exit':
          if (m.stats && process.env['LABVISOR_STATS'] === '1') {
            process.stderr.write(`labvisor: instret=${m.stats.instret} seconds=${m.stats.seconds.toFixed(3)}\n`);
          }
          if (m.errorText !== undefined) {
            process.stderr.write(`labvisor: internal error: ${m.errorText}\n`);
            finish(70);
          } else if (m.execError !== undefined) {
            process.stderr.write(`labvisor: ${cfg.filename}: ${ERRNO_TEXT[m.execError] ?? `error ${m.execError}`}\n`);
            finish(1);
          } else if (m.signal !== null) {
            // qemu-user itself dies of the signal and the shell reports it; we say it here.
            process.stderr.write(`labvisor: guest killed by signal ${m.signal} (${signalDescription(m.signal)})\n`);
            finish(128 + m.signal);
          } else {
            finish(m.code ?? 0);
          }
          break;
      }
    });
    onWorkerFailure(worker, () => finished, finish);
  });
}

// ---- labvisor run / image: booted machines ----

/** The repository root (for build/guest/busybox and the images/ skeletons). */
const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));

/** The data directory: $LABVISOR_HOME, else ~/.local/share/labvisor. */
export function dataDir(): string {
  const h = process.env['LABVISOR_HOME'];
  return h !== undefined && h !== '' ? resolve(h) : join(homedir(), '.local', 'share', 'labvisor');
}

/** Kernel parameters every `run` starts with. */
const BASE_CMDLINE = 'root=/dev/vda rw console=ttyS0';
/** How long a machine asked to power off (SIGTERM to `labvisor run`) has before it is killed. */
const STOP_GRACE_MS = 15_000;
/** Ctrl-A: the host escape key on an interactive console (as qemu's -nographic). */
const ESCAPE = 0x01;

/** A word for the kernel command line, double-quoted when it has spaces; null if it cannot be carried. */
function cmdlineWord(w: string): string | null {
  if (w.includes('"') || w.includes('\n')) return null;
  return w === '' || /\s/.test(w) ? `"${w}"` : w;
}

/**
 * A machine's directory lock (machines/NAME/lock holding our pid): two runs of one machine
 * would write one overlay at once. A lock whose process is gone is taken over.
 */
function lockMachine(dir: string): () => void {
  const path = join(dir, 'lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return () => {
        try {
          unlinkSync(path);
        } catch {
          // gone already
        }
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const pid = Number(readFileSync(path, 'utf8').trim());
      let alive = false;
      try {
        if (Number.isInteger(pid) && pid > 0) {
          process.kill(pid, 0);
          alive = true;
        }
      } catch (k) {
        alive = (k as NodeJS.ErrnoException).code === 'EPERM';
      }
      if (alive) fail(`machine ${basename(dir)} is already running (pid ${pid})`);
      unlinkSync(path);
    }
  }
  fail(`cannot lock machine ${basename(dir)}`);
}

export async function cmdRun(args: string[], usage: string): Promise<number> {
  const dd = args.indexOf('--');
  const opts = dd < 0 ? args : args.slice(0, dd);
  const command = dd < 0 ? [] : args.slice(dd + 1);
  let values: {
    image?: string;
    name?: string;
    reset?: boolean;
    mem?: string;
    cmdline?: string;
    strace?: boolean;
    debug?: boolean;
    help?: boolean;
  };
  try {
    ({ values } = parseArgs({
      args: opts,
      options: {
        image: { type: 'string' },
        name: { type: 'string' },
        reset: { type: 'boolean' },
        mem: { type: 'string' },
        cmdline: { type: 'string' },
        strace: { type: 'boolean' },
        debug: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    fail(`${(e as Error).message}\n${usage}`, 2);
  }
  if (values.help) {
    process.stdout.write(usage);
    return 0;
  }
  if (dd >= 0 && command.length === 0) fail(`run: missing CMD after --\n${usage}`, 2);
  const memMiB = memOption(values.mem, 16);
  const home = dataDir();
  const imageArg = values.image ?? 'busybox';
  const isFile = imageArg.includes('/') || imageArg.endsWith('.ext4') || imageArg.endsWith('.img');
  const image = isFile ? resolve(imageArg) : join(home, 'images', `${imageArg}.ext4`);
  if (!existsSync(image)) {
    fail(
      isFile
        ? `image ${imageArg}: no such file`
        : `image '${imageArg}' not found (${image}); build it with: labvisor image build --name ${imageArg}`,
    );
  }
  const name = values.name ?? basename(image).replace(/\.(ext4|img)$/, '');
  if (!/^[A-Za-z0-9._-]+$/.test(name) || name.startsWith('.')) fail(`bad machine name '${name}'`, 2);
  const machineDir = join(home, 'machines', name);
  mkdirSync(machineDir, { recursive: true });
  const unlock = lockMachine(machineDir);
  const overlay = join(machineDir, 'disk.overlay');
  if (values.reset) {
    rmSync(overlay, { force: true });
    rmSync(overlay + '.map', { force: true });
  }

  // The command line: ours, then init= for `-- CMD` (quiet, so only CMD's output shows), the
  // host's TERM for init's environment (unknown name=value parameters go there), then --cmdline.
  const words = [BASE_CMDLINE];
  if (command.length > 0) {
    const w = cmdlineWord(command[0]!);
    if (w === null) fail(`run: CMD '${command[0]}' cannot be passed as init= (it contains a double quote)`, 2);
    words.push('quiet', `init=${w}`);
  }
  const term = process.env['TERM'];
  if (term && /^[A-Za-z0-9._+-]+$/.test(term)) words.push(`TERM=${term}`);
  if (values.cmdline) words.push(values.cmdline);

  const stdinTty = process.stdin.isTTY === true;
  const outTty = process.stdout.isTTY === true;
  const cfg: RunMachineConfig = {
    kind: 'run',
    memMiB,
    image,
    overlay,
    cmdline: words.join(' '),
    initArgs: command.slice(1),
    console: {
      isTty: stdinTty && outTty,
      rows: (outTty && process.stdout.rows) || 24,
      cols: (outTty && process.stdout.columns) || 80,
    },
    nodename: name,
    strace: values.strace ?? false,
    debug: values.debug ?? false,
  };
  try {
    return await runBootedMachine(cfg, command.length === 0 && stdinTty);
  } finally {
    unlock();
  }
}

/** Put the host terminal back as it was (raw mode off) — on every way out. */
let restoreTerminal: () => void = () => {};

function runBootedMachine(cfg: RunMachineConfig, hint: boolean): Promise<number> {
  return new Promise((resolvePromise) => {
    const worker = new Worker(MACHINE_WORKER, { workerData: cfg });
    const send = (m: HostToWorker, transfer?: ArrayBuffer[]): void => worker.postMessage(m, transfer ?? []);
    const stdin = process.stdin;
    const tty = stdin.isTTY === true;

    // The host terminal is the serial line: raw, so every key goes to the guest's n_tty.
    if (tty) {
      stdin.setRawMode(true);
      restoreTerminal = () => {
        if (stdin.isTTY && stdin.isRaw) stdin.setRawMode(false);
      };
      // However we leave, the terminal is not left raw.
      process.on('exit', () => restoreTerminal());
      process.on('uncaughtException', (e) => {
        restoreTerminal();
        process.stderr.write(`labvisor: ${e.stack ?? e.message}\n`);
        process.exit(70);
      });
    }
    // SIGTERM/SIGHUP/SIGINT to us: ask the guest to power off (init shuts down cleanly, so the
    // disk is consistent), and kill it if it has not after STOP_GRACE_MS or on a second signal.
    // SIGQUIT kills at once.
    let stopping: NodeJS.Timeout | null = null;
    const kill = (sig: NodeJS.Signals): void => {
      restoreTerminal();
      void worker.terminate();
      process.exit(128 + (sig === 'SIGHUP' ? 1 : sig === 'SIGINT' ? 2 : sig === 'SIGQUIT' ? 3 : 15));
    };
    const onSignal = (sig: NodeJS.Signals): void => {
      if (sig === 'SIGQUIT' || stopping) kill(sig);
      send({ type: 'power', action: 'poweroff' });
      stopping = setTimeout(() => kill(sig), STOP_GRACE_MS);
      stopping.unref();
    };
    const signals: NodeJS.Signals[] = ['SIGTERM', 'SIGHUP', 'SIGINT', 'SIGQUIT'];
    for (const s of signals) process.on(s, onSignal);
    if (hint)
      process.stderr.write('labvisor: console on this terminal; Ctrl-A x kills the machine, Ctrl-A h for help\r\n');

    // Console input: pulled by the guest. A pipe is read only when asked (flow control, as
    // for exec). A terminal is read all the time so the Ctrl-A escape works while the guest
    // is busy; its bytes wait here until the guest asks.
    const queued: Uint8Array[] = [];
    let requested = false;
    let ended = false;
    let endSent = false;
    let attached = false;
    let escape = false;
    const flush = (): void => {
      if (!requested) return;
      if (queued.length > 0) {
        const data = Buffer.concat(queued.splice(0));
        const u = new Uint8Array(data.byteLength);
        u.set(data);
        requested = false;
        send({ type: 'stdin', data: u }, [u.buffer]);
      } else if (ended && !endSent) {
        endSent = true;
        requested = false;
        send({ type: 'stdin-end' });
      }
    };
    const escapeKey = (k: number): boolean => {
      switch (k) {
        case 0x78: // x
          process.stderr.write('\r\nlabvisor: machine killed (Ctrl-A x)\r\n');
          void worker.terminate();
          finish(1);
          return true;
        case 0x70: // p
          process.stderr.write('\r\nlabvisor: asking the machine to power off (Ctrl-A p)\r\n');
          send({ type: 'power', action: 'poweroff' });
          return true;
        case 0x68: // h
          process.stderr.write(
            '\r\nCtrl-A x  kill the machine\r\nCtrl-A p  ask it to power off\r\nCtrl-A Ctrl-A  send Ctrl-A\r\n',
          );
          return true;
        default:
          return false;
      }
    };
    const onData = (chunk: Buffer): void => {
      if (!tty) {
        stdin.pause();
        queued.push(new Uint8Array(chunk));
        flush();
        return;
      }
      const keep: number[] = [];
      for (const b of chunk) {
        if (escape) {
          escape = false;
          if (b === ESCAPE) keep.push(ESCAPE);
          else if (!escapeKey(b)) keep.push(ESCAPE, b);
        } else if (b === ESCAPE) escape = true;
        else keep.push(b);
      }
      if (keep.length > 0) queued.push(Uint8Array.from(keep));
      flush();
    };
    const onEnd = (): void => {
      ended = true;
      flush();
    };
    const attach = (): void => {
      if (attached) return;
      attached = true;
      stdin.on('data', onData);
      stdin.on('end', onEnd);
      stdin.on('error', onEnd);
    };
    if (tty) attach();
    const requestInput = (): void => {
      requested = true;
      attach();
      if (queued.length > 0 || ended) flush();
      else if (!tty) stdin.resume();
    };
    const onResize = (): void => send({ type: 'resize', rows: process.stdout.rows, cols: process.stdout.columns });
    if (process.stdout.isTTY) process.stdout.on('resize', onResize);
    for (const s of [process.stdout, process.stderr]) {
      s.on('error', (e: NodeJS.ErrnoException) => {
        if (e.code !== 'EPIPE') throw e;
        restoreTerminal();
        void worker.terminate();
        process.exit(128 + 13);
      });
    }

    let finished = false;
    const finish = (status: number): void => {
      if (finished) return;
      finished = true;
      if (stopping) clearTimeout(stopping);
      stdin.pause();
      stdin.removeListener('data', onData);
      for (const s of signals) process.removeListener(s, onSignal);
      if (process.stdout.isTTY) process.stdout.removeListener('resize', onResize);
      restoreTerminal();
      process.stdout.write('', () => process.stderr.write('', () => resolvePromise(status)));
    };
    worker.on('message', (m: WorkerToHost) => {
      switch (m.type) {
        case 'output':
          process.stdout.write(m.data);
          break;
        case 'console':
          process.stderr.write(tty ? m.text.replace(/\n/g, '\r\n') : m.text);
          break;
        case 'stdin-request':
          requestInput();
          break;
        case 'tty-mode':
        case 'reboot':
          break;
        case 'exit':
          if (m.stats && process.env['LABVISOR_STATS'] === '1') {
            process.stderr.write(`labvisor: instret=${m.stats.instret} seconds=${m.stats.seconds.toFixed(3)}\n`);
          }
          if (m.errorText !== undefined) {
            process.stderr.write(`labvisor: internal error: ${m.errorText}\n`);
            finish(70);
          } else if (m.reason === 'panic') {
            process.stderr.write(`labvisor: Kernel panic - not syncing: ${m.panicText ?? '(unknown)'}\n`);
            finish(1);
          } else if (m.reason === 'init-exit') {
            finish(m.signal !== null ? 128 + m.signal : (m.code ?? 0));
          } else {
            finish(0); // poweroff, halt
          }
          break;
      }
    });
    onWorkerFailure(worker, () => finished, finish);
  });
}

/** src/images/build.ts (the images owner's), as `image build` uses it. */
type BuildImageModule = typeof import('./images/build.js');

export async function cmdImage(args: string[], usage: string): Promise<number> {
  const [sub, ...rest] = args;
  const home = dataDir();
  if (sub === 'list') {
    const imgDir = join(home, 'images');
    const machDir = join(home, 'machines');
    const images = existsSync(imgDir) ? readdirSync(imgDir).filter((f) => f.endsWith('.ext4')) : [];
    process.stdout.write(`images in ${imgDir}:\n`);
    if (images.length === 0) process.stdout.write('  (none: labvisor image build)\n');
    for (const f of images.sort()) {
      const st = statSync(join(imgDir, f));
      process.stdout.write(
        `  ${f.replace(/\.ext4$/, '').padEnd(16)} ${(st.size / 1048576).toFixed(0).padStart(6)} MiB  ${st.mtime.toISOString()}\n`,
      );
    }
    const machines = existsSync(machDir) ? readdirSync(machDir).sort() : [];
    if (machines.length > 0) {
      process.stdout.write(`machines in ${machDir}:\n`);
      for (const m of machines) {
        const ov = join(machDir, m, 'disk.overlay');
        const used = existsSync(ov) ? (statSync(ov).blocks * 512) / 1048576 : 0;
        const running = existsSync(join(machDir, m, 'lock')) ? '  (running)' : '';
        process.stdout.write(`  ${m.padEnd(16)} ${used.toFixed(1).padStart(6)} MiB changed${running}\n`);
      }
    }
    return 0;
  }
  if (sub !== 'build') fail(`image: expected 'build' or 'list'\n${usage}`, 2);
  let values: { name?: string; size?: string; busybox?: string };
  try {
    ({ values } = parseArgs({
      args: rest,
      options: { name: { type: 'string' }, size: { type: 'string' }, busybox: { type: 'string' } },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    fail(`${(e as Error).message}\n${usage}`, 2);
  }
  const name = values.name ?? 'busybox';
  if (!/^[A-Za-z0-9._-]+$/.test(name) || name.startsWith('.')) fail(`bad image name '${name}'`, 2);
  const sizeMiB = values.size === undefined ? undefined : Number(values.size);
  if (sizeMiB !== undefined && (!Number.isInteger(sizeMiB) || sizeMiB < 8 || sizeMiB > 65536)) {
    fail(`--size must be MiB between 8 and 65536`, 2);
  }
  const busybox = resolve(values.busybox ?? join(REPO_ROOT, 'build', 'guest', 'busybox'));
  let mod: BuildImageModule;
  try {
    // Loaded only for this command, so `run` and `exec` start without the image builder.
    mod = (await import(new URL('./images/build.js', import.meta.url).href)) as BuildImageModule;
  } catch (e) {
    fail(`image build is not available: ${(e as Error).message}`);
  }
  if (!existsSync(busybox) && values.busybox === undefined) {
    // The default userland: Debian's riscv64 busybox-static, fetched on first use.
    try {
      await mod.ensureBusybox(busybox, (msg) => process.stdout.write(`${msg}\n`));
    } catch (e) {
      fail(`${(e as Error).message}; give one with --busybox FILE`);
    }
  }
  if (!existsSync(busybox)) fail(`${busybox} not found (give a riscv64 busybox with --busybox FILE)`);
  const skeleton = join(REPO_ROOT, 'images', 'busybox');
  const out = join(home, 'images', `${name}.ext4`);
  mkdirSync(join(home, 'images'), { recursive: true });
  let applets: string[];
  try {
    applets = await mod.appletList(busybox);
  } catch (e) {
    fail(`cannot list the applets of ${busybox}: ${(e as Error).message}`);
  }
  try {
    await mod.buildImage({
      busybox,
      skeleton,
      out,
      ...(sizeMiB !== undefined ? { sizeMiB } : {}),
      applets,
      log: (msg) => process.stdout.write(msg + '\n'),
    });
  } catch (e) {
    fail(`image build: ${(e as Error).message}`);
  }
  return 0;
}

export async function main(argv: string[]): Promise<void> {
  const [cmd, ...args] = argv;
  switch (cmd) {
    case 'exec':
      await cmdExec(args);
      return;
    case 'run':
      process.exitCode = await cmdRun(args, USAGE);
      return;
    case 'image':
      process.exitCode = await cmdImage(args, USAGE);
      return;
    case 'serve': {
      // Loaded only for this command, so `run` and `exec` start without fastify and the database.
      const { parseServeArgs, ConfigError, SERVE_USAGE } = await import('./server/config.js');
      if (args.includes('-h') || args.includes('--help')) {
        process.stdout.write(SERVE_USAGE);
        return;
      }
      let cfg;
      try {
        cfg = parseServeArgs(args);
      } catch (e) {
        if (e instanceof ConfigError) fail(`serve: ${e.message}\n${SERVE_USAGE}`, 2);
        throw e;
      }
      const { serve } = await import('./server/serve.js');
      try {
        process.exitCode = await serve(cfg);
      } catch (e) {
        const err = e as NodeJS.ErrnoException;
        fail(
          err.code === 'EADDRINUSE'
            ? `serve: ${cfg.host}:${cfg.port} is in use by another program (choose another with --port)`
            : `serve: ${err.message}`,
        );
      }
      return;
    }
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      process.stdout.write(USAGE);
      return;
    default:
      fail(`unknown command '${cmd}'\n${USAGE}`, 2);
  }
}

await main(process.argv.slice(2));
// A worker's stdin listener may keep the loop alive after the guest is gone.
process.exit(process.exitCode ?? 0);
