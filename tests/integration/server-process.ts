/**
 * The real server as a child process (`node bin/labvisor.js serve`), the way a user starts it:
 * its own data directory and port, the API token read from its first-start output, stopped with
 * SIGTERM (graceful shutdown) and started again on the same data directory.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { LABVISOR_BIN } from '../kernel/machine.js';

/** A TCP port nobody listens on now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (a && typeof a === 'object' ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

export class ServerProcess {
  output = '';
  private exited: Promise<number | null>;

  private constructor(
    readonly child: ChildProcess,
    readonly url: string,
  ) {
    const add = (b: Buffer): void => {
      this.output += b.toString();
    };
    child.stdout!.on('data', add);
    child.stderr!.on('data', add);
    this.exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  }

  /** Starts `labvisor serve` on dataDir and waits until /healthz answers. */
  static async start(dataDir: string, extraArgs: string[] = [], timeoutMs = 300_000): Promise<ServerProcess> {
    const port = await freePort();
    const child = spawn(
      process.execPath,
      [LABVISOR_BIN, 'serve', '--host', '127.0.0.1', '--port', String(port), '--data', dataDir, ...extraArgs],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LABVISOR_HOME: dataDir } },
    );
    const s = new ServerProcess(child, `http://127.0.0.1:${port}`);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`labvisor serve exited ${child.exitCode}:\n${s.output}`);
      try {
        const r = await fetch(`${s.url}/healthz`);
        if (r.ok) return s;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`labvisor serve did not answer /healthz in ${timeoutMs} ms:\n${s.output}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** The token printed on first start (`lvt_…`), or null when this start printed none. */
  token(): string | null {
    return /\b(lvt_[A-Za-z0-9_-]+)/.exec(this.output)?.[1] ?? null;
  }

  /** SIGTERM (graceful shutdown); resolves with the exit code. */
  async stop(timeoutMs = 60_000): Promise<number | null> {
    if (this.child.exitCode !== null) return this.child.exitCode;
    this.child.kill('SIGTERM');
    const t = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    const code = await this.exited;
    clearTimeout(t);
    return code;
  }
}
