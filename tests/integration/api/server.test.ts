/**
 * The rest of the server: /healthz, /metrics, rate limits, --no-auth, 500s that leak nothing, the
 * UI's static files, and a restart that finds the machines again.
 */
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MachineView } from '../../../src/host/types.js';
import { expectProblem, startServer } from './helpers.js';
import type { TestServer } from './helpers.js';

let s: TestServer;
beforeAll(async () => {
  s = await startServer({ image: true });
});
afterAll(async () => {
  await s?.close();
});

describe('/healthz', () => {
  it('answers without a token, with the machines by state', async () => {
    await s.http.post('/v1/vms').set(s.auth).send({ name: 'h1', memMiB: 32 });
    const res = await s.http.get('/healthz');
    expect(res.status, res.text).toBe(200);
    expect(res.body).toEqual({ status: 'ok', machines: { created: 1, running: 0, paused: 0, stopped: 0, crashed: 0 } });
  });
});

describe('/metrics', () => {
  it('needs a token', async () => {
    expectProblem(await s.http.get('/metrics'), 401);
  });

  it('has machines by state, guest instructions, console bytes and the API latency histogram', async () => {
    await s.http.get('/v1/vms').set(s.auth);
    const res = await s.http.get('/metrics').set(s.auth);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    expect(res.text).toMatch(/^labvisor_machines\{state="created"\} 1$/m);
    expect(res.text).toMatch(/^labvisor_machines\{state="running"\} 0$/m);
    expect(res.text).toMatch(/^labvisor_guest_instructions_total \d+$/m);
    expect(res.text).toMatch(/^labvisor_console_bytes_total\{direction="out"\} \d+$/m);
    expect(res.text).toMatch(/^labvisor_console_bytes_total\{direction="in"\} \d+$/m);
    expect(res.text).toMatch(
      /^labvisor_http_request_duration_seconds_count\{route="\/v1\/vms",method="GET",status="200"\} [1-9]\d*$/m,
    );
    expect(res.text).toMatch(/^# TYPE labvisor_http_request_duration_seconds histogram$/m);
  });
});

describe('errors nobody planned for', () => {
  it('answers 500 with a request id, logs the error, and leaks no stack or path', async () => {
    const list = s.vms.list.bind(s.vms);
    s.vms.list = async () => {
      throw new Error('boom in /work/main/src/host/vm-manager.ts:253 at Store.listMachines');
    };
    try {
      const res = await s.http.get('/v1/vms').set(s.auth);
      const p = expectProblem(res, 500, /request id [0-9a-f-]{36}/);
      expect(p['type']).toBe('/problems.html#internal');
      expect(p['requestId']).toBe(res.headers['x-request-id']);
      expect(res.text).not.toMatch(/boom|vm-manager|Store/);
    } finally {
      s.vms.list = list;
    }
  });
});

describe('rate limit', () => {
  it('answers 429 problem+json with Retry-After past the limit, per token', async () => {
    const r = await startServer({ rateLimitPerMinute: 3, publicDir: null });
    try {
      for (let i = 0; i < 3; i++) expect((await r.http.get('/v1/images').set(r.auth)).status).toBe(200);
      const res = await r.http.get('/v1/images').set(r.auth);
      const p = expectProblem(res, 429, /more than 3 requests per minute from this client \(token\); retry in/);
      expect(p['type']).toBe('/problems.html#rate-limited');
      expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
      // Another token has its own budget; the health check is not limited.
      const { issueToken } = await import('../../../src/server/auth.js');
      const other = await issueToken(r.store, 'other');
      expect((await r.http.get('/v1/images').set('Authorization', `Bearer ${other}`)).status).toBe(200);
      for (let i = 0; i < 5; i++) expect((await r.http.get('/healthz')).status).toBe(200);
    } finally {
      await r.close();
    }
  });
});

describe('--no-auth', () => {
  it('needs no token, and the actor of events is local', async () => {
    const n = await startServer({ auth: false, image: true, publicDir: null });
    try {
      const res = await n.http.post('/v1/vms').send({ name: 'open', memMiB: 32 });
      expect(res.status, res.text).toBe(201);
      const ev = await n.http.get('/v1/vms/open/events');
      expect((ev.body as { items: Array<{ kind: string; actor: string }> }).items[0]).toMatchObject({
        kind: 'created',
        actor: 'local',
      });
    } finally {
      await n.close();
    }
  });
});

describe('the web UI', () => {
  it('serves public/ at / and xterm.js under /vendor/ without a token', async () => {
    const index = await s.http.get('/');
    expect(index.status).toBe(200);
    expect(index.headers['content-type']).toMatch(/^text\/html/);
    const xterm = await s.http.get('/vendor/xterm/xterm.js');
    expect(xterm.status).toBe(200);
    expect(xterm.headers['content-type']).toMatch(/javascript/);
    const css = await s.http.get('/vendor/xterm/xterm.css');
    expect(css.status).toBe(200);
    expect(css.headers['content-type']).toMatch(/^text\/css/);
    expect((await s.http.get('/vendor/xterm-addon-fit/addon-fit.js')).status).toBe(200);
    // Only the built files: not the package's sources.
    expectProblem(await s.http.get('/vendor/xterm/package.json'), 404);
  });
});

describe('a restart', () => {
  it('finds the machines again, and boots the ones that were running', async () => {
    const a = await startServer({ image: true, publicDir: null });
    const dataDir = a.dataDir;
    let b: TestServer | null = null;
    try {
      const vm = (await a.http.post('/v1/vms').set(a.auth).send({ name: 'keeper', memMiB: 32 })).body as MachineView;
      expect((await a.http.post('/v1/vms/keeper/start').set(a.auth)).status).toBe(200);
      await a.close({ keepData: true });
      b = await startServer({ dataDir, publicDir: null });
      const res = await b.http.get('/v1/vms/keeper').set(b.auth);
      expect(res.status, res.text).toBe(200);
      expect(res.body).toMatchObject({ id: vm.id, state: 'running', bootCount: 2 });
      expect((await b.http.post('/v1/vms/keeper/kill').set(b.auth)).body).toMatchObject({ state: 'stopped' });
    } finally {
      await b?.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
