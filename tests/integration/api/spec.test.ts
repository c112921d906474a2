/**
 * openapi.yaml and the routes agree; the spec is served and rendered; routing errors (404, 405)
 * and the command line's flags.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { loadSpec } from '../../../src/server/openapi.js';
import { ConfigError, defaultLimits, isLoopback, parseServeArgs } from '../../../src/server/config.js';
import { expectProblem, startServer } from './helpers.js';
import type { TestServer } from './helpers.js';

let s: TestServer;
beforeAll(async () => {
  s = await startServer();
});
afterAll(async () => {
  await s?.close();
});

describe('openapi.yaml and the routes', () => {
  it('every operation has a route and every API route is in the spec, with the same method', () => {
    const spec = loadSpec();
    const specRoutes = new Set([...spec.operations.values()].map((o) => `${o.method} ${o.url}`));
    const appRoutes = new Set(
      s.app.routeTable
        .filter((r) => r.method !== 'HEAD')
        .filter((r) => r.url === '/healthz' || r.url === '/metrics' || r.url.startsWith('/v1'))
        .map((r) => `${r.method} ${r.url}`),
    );
    const missingRoutes = [...specRoutes].filter((r) => !appRoutes.has(r));
    const missingInSpec = [...appRoutes].filter((r) => !specRoutes.has(r));
    expect(missingRoutes, 'operations in openapi.yaml without a route').toEqual([]);
    expect(missingInSpec, 'routes missing from openapi.yaml').toEqual([]);
    // And each route is bound to its operation (so it takes that operation's schemas).
    for (const r of s.app.routeTable.filter((r) => specRoutes.has(`${r.method} ${r.url}`))) {
      const op = spec.operations.get(r.operationId ?? '');
      expect(op && `${op.method} ${op.url}`, `${r.method} ${r.url}`).toBe(`${r.method} ${r.url}`);
    }
  });

  it('serves the spec at /openapi.yaml without a token', async () => {
    const res = await s.http.get('/openapi.yaml');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/yaml/);
    const doc = parseYaml(res.text) as { openapi: string; paths: Record<string, unknown> };
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toContain('/v1/vms/{id}/console');
  });

  it('renders it at /docs, without a CDN', async () => {
    const res = await s.http.get('/docs/').redirects(2);
    expect(res.status).toBe(200);
    expect(res.text).toMatch(/swagger/i);
    expect(res.text).not.toMatch(/https?:\/\/(unpkg|cdn|cdnjs)/);
    expect(res.headers['content-security-policy']).toMatch(/script-src 'self'/);
    expect(res.headers['content-security-policy']).not.toMatch(/upgrade-insecure-requests|validator\.swagger\.io/);
    const bundle = await s.http.get('/docs/static/swagger-ui-bundle.js');
    expect(bundle.status).toBe(200);
    expect(bundle.headers['content-type']).toMatch(/javascript/);
    const json = await s.http.get('/docs/json');
    expect(json.status).toBe(200);
    expect((json.body as { info: { title: string } }).info.title).toBe('Labvisor API');
  });

  it('answers an unknown route with 404 problem+json', async () => {
    const res = await s.http.get('/v1/nothing-here').set(s.auth);
    expectProblem(res, 404, /GET \/v1\/nothing-here; the API is described in \/docs/);
    const top = await s.http.get('/no/such/page');
    expectProblem(top, 404);
  });

  it('answers a malformed or over-long URL with problem+json', async () => {
    expectProblem(await s.http.get('/v1/vms/%E0%A4%A').set(s.auth), 400, /malformed/);
    expectProblem(
      await s.http.get(`/v1/vms/${'x'.repeat(300)}`).set(s.auth),
      414,
      /too long; ids and names are at most 128/,
    );
    expectProblem(
      await s.http.get(`/v1/vms/${'x'.repeat(200)}`).set(s.auth),
      400,
      /path parameter 'id' must be at most 128/,
    );
  });

  it('answers a known path with the wrong method with 405 and Allow', async () => {
    const res = await s.http.put('/v1/vms').set(s.auth).send({});
    const p = expectProblem(res, 405, /PUT is not allowed on \/v1\/vms; use GET, POST/);
    expect(p['type']).toBe('/problems.html#method-not-allowed');
    expect(res.headers['allow']).toBe('GET, POST');
    const res2 = await s.http.post('/v1/vms/abc').set(s.auth);
    expectProblem(res2, 405, /use GET, DELETE, PATCH/);
  });
});

describe('response validation', () => {
  it('rejects a response that does not match the spec, or a status it does not declare', async () => {
    const { RouteBinder, ResponseValidationError, makeValidators } = await import('../../../src/server/openapi.js');
    const spec = loadSpec();
    const bind = new RouteBinder({ spec, validators: makeValidators(), validateResponses: true }, s.app);
    const op = bind.operation('getVm');
    const now = new Date().toISOString();
    const vm: Record<string, unknown> = {
      id: 'x',
      name: 'shape',
      image: 'busybox',
      memMiB: 64,
      vcpus: 1,
      cmdline: '',
      init: '',
      state: 'created',
      lastExit: null,
      bootCount: 0,
      createdAt: now,
      updatedAt: now,
      bootedAt: null,
      consoleUrl: '/v1/vms/x/console',
      nics: [{ index: 0, network: 'n', mac: '02:00:00:00:00:01', ip: null }],
    };
    expect(() => bind.checkResponse(op, 200, vm)).not.toThrow();
    const { consoleUrl: _c, ...missing } = vm;
    expect(() => bind.checkResponse(op, 200, missing)).toThrow(ResponseValidationError);
    expect(() => bind.checkResponse(op, 200, { ...vm, extra: 1 })).toThrow(/must NOT have additional properties/);
    expect(() => bind.checkResponse(op, 200, { ...vm, createdAt: 'yesterday' })).toThrow(/createdAt/);
    expect(() =>
      bind.checkResponse(op, 200, { ...vm, nics: [{ index: 0, network: 'n', mac: 'x', ip: null }] }),
    ).toThrow(/nics\/0\/mac/);
    expect(() => bind.checkResponse(op, 201, vm)).toThrow(/answered 201, which openapi.yaml does not declare/);
    expect(() => bind.checkResponse(bind.operation('deleteVm'), 204, undefined)).not.toThrow();
  });
});

describe('labvisor serve flags', () => {
  it('has defaults from the host', () => {
    const c = parseServeArgs([], { LABVISOR_HOME: '/tmp/lv' });
    expect(c).toMatchObject({ host: '127.0.0.1', port: 8080, dataDir: '/tmp/lv', auth: true });
    expect(c.limits).toEqual(defaultLimits());
    expect(c.limits.maxMemMiB).toBeLessThanOrEqual(c.limits.maxTotalMemMiB);
    expect(defaultLimits(8 * 1024 ** 3)).toMatchObject({ maxTotalMemMiB: 4096, maxMemMiB: 2048 });
  });

  it('takes limits and a port', () => {
    const c = parseServeArgs(
      ['--port', '9000', '--max-machines', '3', '--max-total-mem-mib', '1024', '--max-mem-mib', '512', '--data', '/d'],
      {},
    );
    expect(c).toMatchObject({ port: 9000, dataDir: '/d' });
    expect(c.limits).toMatchObject({ maxMachines: 3, maxTotalMemMiB: 1024, maxMemMiB: 512 });
    expect(parseServeArgs(['--new-token', 'ci'], {}).newToken).toBe('ci');
  });

  it('refuses --no-auth off loopback, and bad numbers, with a clear message', () => {
    expect(parseServeArgs(['--no-auth'], {}).auth).toBe(false);
    expect(parseServeArgs(['--no-auth', '--host', '::1'], {}).auth).toBe(false);
    expect(() => parseServeArgs(['--no-auth', '--host', '0.0.0.0'], {})).toThrow(/only allowed on a loopback address/);
    expect(() => parseServeArgs(['--port', 'http'], {})).toThrow(ConfigError);
    expect(() => parseServeArgs(['--max-mem-mib', '4000', '--max-total-mem-mib', '100'], {})).toThrow(/no machine/);
    expect(() => parseServeArgs(['--bogus'], {})).toThrow(ConfigError);
    expect(isLoopback('127.0.0.2')).toBe(true);
    expect(isLoopback('10.0.0.1')).toBe(false);
    expect(isLoopback('localhost')).toBe(true);
  });

  it('takes the address port forwards listen on (loopback by default)', () => {
    expect(parseServeArgs([], {}).forwardAddress).toBe('127.0.0.1');
    expect(parseServeArgs(['--forward-address', '0.0.0.0'], {}).forwardAddress).toBe('0.0.0.0');
    expect(parseServeArgs(['--forward-address', '[::1]'], {}).forwardAddress).toBe('::1');
    expect(() => parseServeArgs(['--forward-address', 'example.org'], {})).toThrow(/must be an IP address/);
  });
});
