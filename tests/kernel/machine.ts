/**
 * A driver for booted machines in tests: spawns `node bin/labvisor.js run …` with its own
 * LABVISOR_HOME, types into the console (its stdin, a pipe), and waits for patterns in the
 * console output (its stdout) with timeouts — expect(1) style, with a cursor so each wait
 * looks only at output after the previous match.
 *
 *   const m = Machine.start({ home, args: ['--image', 'busybox'] });
 *   await m.expect(PROMPT);
 *   m.send('echo $((6*7))\n');
 *   await m.expect(/^42$/m);
 *   m.send('poweroff\n');
 *   const r = await m.wait();   // { code: 0, ... }
 *
 * Output is kept with "\r\n" turned into "\n" (the console's n_tty writes CR LF).
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const LABVISOR_BIN = join(REPO_ROOT, 'bin', 'labvisor.js');
/**
 * A shell prompt ending in "# " or "$ " at the end of the output so far, maybe followed by the
 * cursor-position query (ESC [ 6 n) busybox's line editor sends after it.
 */
export const PROMPT = /[#$] (?:\x1b\[6n)?$/;

export interface MachineOptions {
  /** LABVISOR_HOME for the run (images/, machines/). */
  home: string;
  /** Arguments after `run` (e.g. ['--image', 'busybox', '--', '/bin/sh', '-c', 'true']). */
  args?: string[];
  /** Extra environment. */
  env?: Record<string, string>;
}

export interface MachineResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Console output (CR LF → LF). */
  stdout: string;
  stderr: string;
}

export class MachineTimeout extends Error {
  override name = 'MachineTimeout';
}

export class Machine {
  private out = '';
  private err = '';
  /** Where the next expect() starts looking. */
  private cursor = 0;
  private waiters: Array<() => void> = [];
  private exited: Promise<MachineResult>;
  private done = false;
  readonly startedMs = performance.now();

  private constructor(readonly child: ChildProcessWithoutNullStreams) {
    child.stdout.on('data', (b: Buffer) => {
      this.out += b.toString('latin1').replace(/\r\n/g, '\n');
      this.wake();
    });
    child.stderr.on('data', (b: Buffer) => {
      this.err += b.toString('latin1');
      this.wake();
    });
    child.stdin.on('error', () => {
      // the machine went away while we typed
    });
    this.exited = new Promise((resolve) => {
      child.on('close', (code, signal) => {
        this.done = true;
        this.wake();
        resolve({ code, signal, stdout: this.out, stderr: this.err });
      });
    });
  }

  static start(opts: MachineOptions): Machine {
    const child = spawn(process.execPath, [LABVISOR_BIN, 'run', ...(opts.args ?? [])], {
      cwd: REPO_ROOT,
      env: { ...process.env, LABVISOR_HOME: opts.home, TERM: 'vt100', ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    return new Machine(child);
  }

  /** Console output so far (CR LF → LF). */
  get stdout(): string {
    return this.out;
  }
  get stderr(): string {
    return this.err;
  }

  /** Type into the console. */
  send(text: string | Uint8Array): void {
    this.child.stdin.write(text);
  }

  /** Close the console's input (EOF). */
  endInput(): void {
    this.child.stdin.end();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /**
   * Wait until `pattern` shows in the output after the cursor; move the cursor past it.
   * Rejects with MachineTimeout (with the output tail) after `timeoutMs`, or when the machine
   * exits first.
   */
  async expect(pattern: RegExp | string, timeoutMs = 60_000): Promise<RegExpExecArray> {
    const re =
      typeof pattern === 'string'
        ? new RegExp(pattern.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
        : new RegExp(pattern.source, pattern.flags.replace('g', ''));
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const rest = this.out.slice(this.cursor);
      const m = re.exec(rest);
      if (m) {
        this.cursor += m.index + m[0].length;
        return m;
      }
      if (this.done) throw new MachineTimeout(`machine exited before ${re}: ${this.tail()}`);
      const left = deadline - performance.now();
      if (left <= 0) throw new MachineTimeout(`no ${re} within ${timeoutMs} ms: ${this.tail()}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Run one shell command at the prompt and return its output (between the command and the next prompt). */
  async command(cmd: string, timeoutMs = 60_000): Promise<string> {
    const mark = `__m${Math.floor(Math.random() * 1e9)}`;
    // The marker is printed by the command line itself, so an echo of the typed line (n_tty
    // ECHO) never matches: ${m}x… only appears in the output of printf.
    this.send(`${cmd}; printf '%s_%s\\n' ${mark} done\n`);
    const start = this.cursor;
    await this.expect(new RegExp(`${mark}_done\\n`), timeoutMs);
    const text = this.out.slice(start, this.cursor - `${mark}_done\n`.length);
    // Drop the echoed command line, when the console echoes.
    const i = text.indexOf(`${mark} done`);
    return i >= 0 ? text.slice(text.indexOf('\n', i) + 1) : text;
  }

  private tail(): string {
    return `\n--- stdout (tail) ---\n${this.out.slice(-1500)}\n--- stderr (tail) ---\n${this.err.slice(-1500)}`;
  }

  /** Wait for the run to end (the machine powered off, init exited, …). */
  async wait(timeoutMs = 60_000): Promise<MachineResult> {
    let timer: NodeJS.Timeout | undefined;
    const t = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new MachineTimeout(`still running after ${timeoutMs} ms: ${this.tail()}`)),
        timeoutMs,
      );
    });
    try {
      return await Promise.race([this.exited, t]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Kill the host process (and so the machine). */
  kill(): void {
    if (!this.done) this.child.kill('SIGKILL');
  }
}

/** `labvisor ARGS…` to completion (for image build, run -- CMD). */
export function runLabvisor(
  args: string[],
  opts: { home: string; input?: string; timeoutMs?: number; env?: Record<string, string> },
): Promise<MachineResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [LABVISOR_BIN, ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, LABVISOR_HOME: opts.home, TERM: 'vt100', ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString('latin1')));
    child.stderr.on('data', (b: Buffer) => (err += b.toString('latin1')));
    child.stdin.on('error', () => {});
    child.stdin.end(opts.input ?? '');
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new MachineTimeout(`labvisor ${args.join(' ')}: timed out\n${out.slice(-1500)}\n${err.slice(-1500)}`));
    }, opts.timeoutMs ?? 120_000);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout: out.replace(/\r\n/g, '\n'), stderr: err });
    });
  });
}
