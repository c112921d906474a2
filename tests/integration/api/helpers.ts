/**
 * A real server for API tests: a temporary data directory, the real Store (SQLite), ImageStore and
 * VmManager, the app with response validation on, and a token. Requests go through supertest to the
 * listening server (an ephemeral port on 127.0.0.1, which the WebSocket tests need too).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import supertest from 'supertest';
import { expect } from 'vitest';
import { ImageStore } from '../../../src/host/image-store.js';
import { NetworkManager } from '../../../src/host/network-manager.js';
import { Store } from '../../../src/host/store.js';
import type { Limits } from '../../../src/host/types.js';
import { VmManager } from '../../../src/host/vm-manager.js';
import { buildApp } from '../../../src/server/app.js';
import { issueToken } from '../../../src/server/auth.js';
import { defaultLimits } from '../../../src/server/config.js';

export interface TestServer {
  app: FastifyInstance;
  store: Store;
  vms: VmManager;
  networks: NetworkManager;
  images: ImageStore;
  dataDir: string;
  token: string;
  /** The listening server's base URL (http://127.0.0.1:PORT). */
  url: string;
  /** supertest bound to the server. */
  http: ReturnType<typeof supertest>;
  auth: { Authorization: string };
  /** Stops the server; the data directory is removed unless `keepData` (or it was given). */
  close(opts?: { keepData?: boolean }): Promise<void>;
}

const silent = { info() {}, warn() {}, error() {}, debug() {}, trace() {}, fatal() {}, child: () => silent };

export interface ServerOptions {
  auth?: boolean;
  limits?: Partial<Limits>;
  rateLimitPerMinute?: number;
  /** Build the default image (busybox) first. */
  image?: boolean;
  /** Reuse a data directory (a restart). */
  dataDir?: string;
  publicDir?: string | null;
  /** The host address port forwards listen on (serve --forward-address). */
  forwardAddress?: string;
}

export async function startServer(o: ServerOptions = {}): Promise<TestServer> {
  const dataDir = o.dataDir ?? mkdtempSync(join(tmpdir(), 'labvisor-api-'));
  const limits: Limits = { ...defaultLimits(), maxMemMiB: 256, maxTotalMemMiB: 512, maxMachines: 8, ...o.limits };
  const store = await Store.open({ dataDir, log: silent });
  const images = new ImageStore({ dataDir, store, log: silent as never });
  if (o.image) await images.ensureDefault();
  const networks = new NetworkManager({ store, log: silent });
  const vms = new VmManager({ store, images, networks, dataDir, limits, log: silent as never, stopTimeoutMs: 5000 });
  const app = await buildApp({
    store,
    vms,
    networks,
    images,
    limits,
    auth: o.auth ?? true,
    // API_TEST_LOG=1 shows the server's log (errors behind a 500, say).
    logger: process.env['API_TEST_LOG'] === '1',
    validateResponses: true,
    ...(o.rateLimitPerMinute !== undefined ? { rateLimitPerMinute: o.rateLimitPerMinute } : {}),
    ...(o.publicDir !== undefined ? { publicDir: o.publicDir } : {}),
    ...(o.forwardAddress !== undefined ? { forwardAddress: o.forwardAddress } : {}),
  });
  // A restart on the same data directory gets a token of its own.
  const token = await issueToken(store, o.dataDir ? `tester-${Date.now()}` : 'tester');
  await vms.init();
  await app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.server.address();
  if (addr === null || typeof addr === 'string') throw new Error('no address');
  const url = `http://127.0.0.1:${addr.port}`;
  return {
    app,
    store,
    vms,
    networks,
    images,
    dataDir,
    token,
    url,
    http: supertest(url),
    auth: { Authorization: `Bearer ${token}` },
    async close(c = {}) {
      const t = Date.now();
      const dbg = (m: string): void =>
        void (process.env['API_TEST_DEBUG'] && console.log(`close: ${m} ${Date.now() - t}ms`));
      await app.close();
      dbg('app');
      await vms.shutdown();
      dbg('vms');
      await store.close();
      dbg('store');
      if (!o.dataDir && !c.keepData) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** What every error answer must be: problem+json with a useful detail and nothing of the server's insides. */
/** The server's page of problem types, which every problem+json `type` points into. */
const PROBLEM_PAGE = readFileSync(new URL('../../../public/problems.html', import.meta.url), 'utf8');

export function expectProblem(
  res: { status: number; headers: Record<string, string>; body: unknown; text: string },
  status: number,
  detail?: RegExp,
): Record<string, unknown> {
  expect(res.status, res.text).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  const p = res.body as Record<string, unknown>;
  expect(p['status']).toBe(status);
  // The type resolves to its entry in the server's own page of problems (public/problems.html).
  const code = /^\/problems\.html#([a-z-]+)$/.exec(String(p['type']))?.[1];
  expect(code, `problem type ${String(p['type'])}`).toBeDefined();
  expect(PROBLEM_PAGE, `public/problems.html documents '${code}'`).toContain(`id="${code}"`);
  expect(typeof p['title']).toBe('string');
  expect(typeof p['instance']).toBe('string');
  expect(typeof p['detail']).toBe('string');
  expect((p['detail'] as string).length).toBeGreaterThan(10);
  if (detail) expect(p['detail']).toMatch(detail);
  // No stack frames, no file paths.
  expect(res.text).not.toMatch(/\n\s+at |\bat \S+ \(|file:\/\/|\.[tj]s:\d+|\/src\/|node_modules|"stack"/);
  return p;
}

/** A console WebSocket client that collects what the guest prints. */
export class ConsoleClient {
  text = '';
  readonly controls: Array<Record<string, unknown>> = [];
  closed: { code: number; reason: string } | null = null;
  private waiters: Array<() => void> = [];

  constructor(readonly ws: import('ws').WebSocket) {
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) this.text += data.toString('latin1');
      else this.controls.push(JSON.parse(data.toString('utf8')) as Record<string, unknown>);
      this.wake();
    });
    ws.on('close', (code: number, reason: Buffer) => {
      this.closed = { code, reason: reason.toString() };
      this.wake();
    });
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Resolves when `test` holds (checked on every frame), rejects after `ms` with what arrived. */
  async until(test: () => boolean, what: string, ms = 30_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!test()) {
      if (Date.now() > deadline)
        throw new Error(`timed out waiting for ${what}; console so far:\n${this.text.slice(-2000)}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 200);
      });
    }
  }

  /** Waits for `re` in what arrived after `from` (an offset into text). */
  async expect(re: RegExp, from = 0, ms = 30_000): Promise<RegExpMatchArray> {
    await this.until(() => re.test(this.text.slice(from)), String(re), ms);
    return this.text.slice(from).match(re)!;
  }

  type(s: string): void {
    this.ws.send(Buffer.from(s, 'utf8'), { binary: true });
  }
}

/** Opens a console; resolves once open (rejects with the HTTP status when the upgrade is refused). */
export async function openConsole(
  url: string,
  id: string,
  opts: { protocols?: string[]; headers?: Record<string, string> } = {},
): Promise<ConsoleClient> {
  const { WebSocket } = await import('ws');
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/v1/vms/${id}/console`, opts.protocols ?? [], {
    headers: opts.headers ?? {},
  });
  const client = new ConsoleClient(ws);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('unexpected-response', (req, res) => {
      req.destroy();
      reject(new Error(`upgrade refused: ${res.statusCode}`));
    });
    ws.once('error', reject);
  });
  return client;
}
