/**
 * The `labvisor` command line.
 *
 *   labvisor exec [--mem MiB] [--strace] [--debug] [-L DIR] PROG [ARGS…]
 *
 * runs one riscv64 Linux program the way `qemu-riscv64-static PROG ARGS` does: the terminal's
 * stdin/stdout/stderr, the host environment as its environment, its exit status (128+N when a
 * signal N killed it). The machine runs in a worker_thread, as the server will run machines.
 */
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { readFileSync, realpathSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { ExecMachineConfig, HostToWorker, StdioInfo, WorkerToHost } from './protocol/messages.js';
import { signalDescription } from './kernel/signal/signum.js';

const USAGE = `usage: labvisor exec [--mem MiB] [--strace] [--debug] [-L DIR] PROG [ARGS...]

Run a riscv64 Linux program on an emulated machine, as qemu-riscv64-static would.

  --mem MiB    guest RAM (default 256)
  --strace     print each system call to stderr (as qemu -strace)
  --debug      print kernel messages to stderr
  -L DIR       show host directory DIR read-only under the guest's / (ELF interpreter
               prefix for dynamically linked programs, as qemu -L)
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
  const memMiB = values.mem === undefined ? DEFAULT_MEM_MIB : Number(values.mem);
  if (!Number.isInteger(memMiB) || memMiB < 4 || memMiB > MAX_MEM_MIB) {
    fail(`--mem must be a whole number of MiB between 4 and ${MAX_MEM_MIB}, got '${values.mem}'`, 2);
  }
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
    const worker = new Worker(new URL('./worker/bootstrap.mjs', import.meta.url), {
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
    worker.on('error', (e) => {
      process.stderr.write(`labvisor: machine worker failed: ${e.stack ?? e.message}\n`);
      finish(70);
    });
    worker.on('exit', (code) => {
      if (!finished) {
        process.stderr.write(`labvisor: machine worker exited unexpectedly (code ${code})\n`);
        finish(70);
      }
    });
  });
}

export async function main(argv: string[]): Promise<void> {
  const [cmd, ...args] = argv;
  switch (cmd) {
    case 'exec':
      await cmdExec(args);
      return;
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      process.stdout.write(USAGE);
      return;
    default:
      fail(`unknown command '${cmd}' (only 'exec' exists so far)\n${USAGE}`, 2);
  }
}

await main(process.argv.slice(2));
// A worker's stdin listener may keep the loop alive after the guest is gone.
process.exit(process.exitCode ?? 0);
