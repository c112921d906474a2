/**
 * /v1/vms: create, list, get, patch, delete, the life-cycle actions, stats, events and the console,
 * with each error a client can cause. One machine is booted (and its console used); the rest stay
 * created, which costs nothing.
 */
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MachineView } from '../../../src/host/types.js';
import { expectProblem, openConsole, startServer } from './helpers.js';
import type { TestServer } from './helpers.js';

let s: TestServer;
beforeAll(async () => {
  s = await startServer({ image: true, limits: { maxMachines: 6, maxMemMiB: 128, maxTotalMemMiB: 100 } });
});
afterAll(async () => {
  await s?.close();
});

const create = (body: unknown) =>
  s.http
    .post('/v1/vms')
    .set(s.auth)
    .send(body as object);

describe('auth', () => {
  it('refuses a request without a token: 401 with WWW-Authenticate and how to get one', async () => {
    const res = await s.http.get('/v1/vms');
    expectProblem(res, 401, /Authorization: Bearer/);
    expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
  });

  it('refuses a wrong token and a malformed header', async () => {
    expectProblem(await s.http.get('/v1/vms').set('Authorization', 'Bearer lvt_nope'), 401, /not valid/);
    expectProblem(await s.http.get('/v1/vms').set('Authorization', `Bearer ${s.token}x`), 401, /not valid/);
    expectProblem(await s.http.get('/v1/vms').set('Authorization', s.token), 401, /must be 'Bearer <token>'/);
    expectProblem(await s.http.post('/v1/vms').send({ name: 'x' }), 401);
  });
});

describe('POST /v1/vms', () => {
  it('creates a machine with the defaults and answers 201 with it', async () => {
    const res = await create({ name: 'alpha' });
    expect(res.status, res.text).toBe(201);
    const vm = res.body as MachineView;
    expect(vm).toMatchObject({
      name: 'alpha',
      image: 'busybox',
      memMiB: 64,
      vcpus: 1,
      cmdline: '',
      init: '',
      state: 'created',
      lastExit: null,
      bootCount: 0,
      bootedAt: null,
      consoleUrl: `/v1/vms/${vm.id}/console`,
    });
    expect(res.headers['location']).toBe(`/v1/vms/${vm.id}`);
  });

  it('answers malformed JSON with 400 saying so', async () => {
    const res = await s.http.post('/v1/vms').set(s.auth).set('Content-Type', 'application/json').send('{"name": "b",}');
    const p = expectProblem(res, 400, /not valid JSON: .*position 13/);
    expect(p['type']).toBe('/problems.html#malformed-json');
    const poisoned = await s.http
      .post('/v1/vms')
      .set(s.auth)
      .set('Content-Type', 'application/json')
      .send('{"name": "b", "__proto__": {"admin": true}}');
    expectProblem(poisoned, 400, /forbidden key \(__proto__/);
  });

  it('answers an unknown field with 400 naming it and the allowed ones', async () => {
    const res = await create({ name: 'b', memory: 64 });
    expectProblem(res, 400, /unknown field 'memory'.*allowed: name, image, memMiB, vcpus, cmdline, init/);
  });

  it('answers a wrong type with 400 naming the field and the type', async () => {
    expectProblem(await create({ name: 'b', memMiB: '64' }), 400, /field 'memMiB' must be an integer, got '64'/);
    expectProblem(await create({ name: 5 }), 400, /field 'name' must be a string, got 5/);
    expectProblem(await create([{ name: 'b' }]), 400, /the body must be an object/);
  });

  it('answers a missing or bad field with 400 that says what is expected', async () => {
    expectProblem(await create({}), 400, /missing the required field 'name'/);
    expectProblem(await create({ name: 'has space' }), 400, /field 'name' must match .*Letters, digits/);
    expectProblem(await create({ name: 'b', memMiB: 4 }), 400, /field 'memMiB' must be >= 16/);
    expectProblem(await create({ name: 'b', vcpus: 2 }), 400, /field 'vcpus' must be <= 1/);
    expectProblem(await s.http.post('/v1/vms').set(s.auth), 400, /needs a JSON body/);
  });

  it('answers memory over the per-machine limit with 422', async () => {
    const p = expectProblem(await create({ name: 'big', memMiB: 4096 }), 422, /over this server's limit of 128 MiB/);
    expect(p['type']).toBe('/problems.html#over-limit');
    expect(p['limit']).toBe(128);
  });

  it('answers an unknown image with 404 and a taken name with 409', async () => {
    expectProblem(await create({ name: 'b', image: 'nosuch' }), 404, /nosuch/);
    const p = expectProblem(await create({ name: 'alpha' }), 409, /alpha/);
    expect(p['type']).toBe('/problems.html#name-taken');
  });

  it('answers a body that is not JSON with 415 naming what to send', async () => {
    const res = await s.http.post('/v1/vms').set(s.auth).set('Content-Type', 'text/plain').send('name=b');
    expectProblem(res, 415, /text\/plain.*send application\/json/);
  });

  it('answers a body over the size limit with 413', async () => {
    const res = await create({ name: 'b', cmdline: 'x'.repeat(1024 * 1024 + 10) });
    const p = expectProblem(res, 413, /larger than this server accepts \(1048576 bytes/);
    expect(p['type']).toBe('/problems.html#too-large');
  });

  it('answers 429 once the server holds its maximum of machines', async () => {
    const made: string[] = [];
    for (let i = 0; ; i++) {
      const res = await create({ name: `fill${i}` });
      if (res.status === 429) {
        const p = expectProblem(res, 429, /at most 6 machines; delete one first/);
        expect(p['type']).toBe('/problems.html#quota-exceeded');
        break;
      }
      expect(res.status, res.text).toBe(201);
      made.push((res.body as MachineView).id);
      expect(i).toBeLessThan(10);
    }
    for (const id of made) expect((await s.http.delete(`/v1/vms/${id}`).set(s.auth)).status).toBe(204);
  });
});

describe('GET /v1/vms', () => {
  it('lists with pagination and a state filter', async () => {
    await create({ name: 'beta', memMiB: 32 });
    await create({ name: 'gamma', memMiB: 32 });
    const all = await s.http.get('/v1/vms').set(s.auth);
    expect(all.status, all.text).toBe(200);
    expect(all.body).toMatchObject({ total: 3, limit: 50, offset: 0 });
    const page = await s.http.get('/v1/vms?limit=2&offset=1').set(s.auth);
    expect(page.body).toMatchObject({ total: 3, limit: 2, offset: 1 });
    expect((page.body as { items: MachineView[] }).items.map((m) => m.name)).toEqual(['beta', 'gamma']);
    const running = await s.http.get('/v1/vms?state=running').set(s.auth);
    expect(running.body).toMatchObject({ items: [], total: 0 });
  });

  it('answers bad query parameters with 400 naming them', async () => {
    expectProblem(
      await s.http.get('/v1/vms?state=asleep').set(s.auth),
      400,
      /query parameter 'state' must be one of 'created'/,
    );
    expectProblem(await s.http.get('/v1/vms?limit=0').set(s.auth), 400, /query parameter 'limit' must be >= 1/);
    expectProblem(await s.http.get('/v1/vms?limit=500').set(s.auth), 400, /'limit' must be <= 200/);
    expectProblem(
      await s.http.get('/v1/vms?limit=ten').set(s.auth),
      400,
      /query parameter 'limit' must be an integer, got 'ten'/,
    );
    expectProblem(
      await s.http.get('/v1/vms?sort=name').set(s.auth),
      400,
      /unknown query parameter 'sort'.*allowed: state, limit, offset/,
    );
  });
});

describe('GET, PATCH, DELETE /v1/vms/{id}', () => {
  it('gets a machine by id or by name, 404 otherwise', async () => {
    const byName = await s.http.get('/v1/vms/beta').set(s.auth);
    expect(byName.status).toBe(200);
    const id = (byName.body as MachineView).id;
    const byId = await s.http.get(`/v1/vms/${id}`).set(s.auth);
    expect((byId.body as MachineView).name).toBe('beta');
    const p = expectProblem(await s.http.get('/v1/vms/nobody').set(s.auth), 404, /nobody/);
    expect(p['type']).toBe('/problems.html#not-found');
  });

  it('renames and resizes a stopped machine', async () => {
    const res = await s.http.patch('/v1/vms/gamma').set(s.auth).send({ name: 'delta', memMiB: 48 });
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({ name: 'delta', memMiB: 48 });
  });

  it('answers bad patches with 400, 404, 409 and 422', async () => {
    expectProblem(
      await s.http.patch('/v1/vms/delta').set(s.auth).send({}),
      400,
      /at least 1 field \(name, memMiB, nics\)/,
    );
    expectProblem(await s.http.patch('/v1/vms/delta').set(s.auth).send({ image: 'x' }), 400, /unknown field 'image'/);
    expectProblem(
      await s.http.patch('/v1/vms/delta').set(s.auth).send({ memMiB: 1.5 }),
      400,
      /'memMiB' must be an integer/,
    );
    expectProblem(await s.http.patch('/v1/vms/nobody').set(s.auth).send({ memMiB: 32 }), 404);
    expectProblem(await s.http.patch('/v1/vms/delta').set(s.auth).send({ name: 'beta' }), 409, /beta/);
    expectProblem(await s.http.patch('/v1/vms/delta').set(s.auth).send({ memMiB: 1024 }), 422, /limit of 128 MiB/);
  });

  it('deletes a machine (204), then it is gone (404)', async () => {
    expectProblem(
      await s.http.delete('/v1/vms/delta?keepDisk=perhaps').set(s.auth),
      400,
      /'keepDisk' must be a boolean/,
    );
    expect((await s.http.delete('/v1/vms/delta?keepDisk=false').set(s.auth)).status).toBe(204);
    expectProblem(await s.http.get('/v1/vms/delta').set(s.auth), 404);
    expectProblem(await s.http.delete('/v1/vms/delta').set(s.auth), 404);
  });
});

describe('actions, stats, events and the console of a booted machine', () => {
  it('answers an action that does not fit the state with 409 saying what to do', async () => {
    const p = expectProblem(
      await s.http.post('/v1/vms/alpha/pause').set(s.auth),
      409,
      /cannot pause machine 'alpha': it is created/,
    );
    expect(p['type']).toBe('/problems.html#wrong-state');
    expectProblem(await s.http.post('/v1/vms/alpha/stop').set(s.auth), 409);
    expectProblem(await s.http.get('/v1/vms/alpha/stats').set(s.auth), 409);
    expectProblem(await s.http.post('/v1/vms/nobody/start').set(s.auth), 404);
  });

  it('boots, pauses, resumes, reboots; reports stats; the console runs a command; stops', async () => {
    // Content-Type JSON with no body, as browsers' fetch often sends: accepted.
    const start = await s.http.post('/v1/vms/alpha/start').set(s.auth).set('Content-Type', 'application/json');
    expect(start.status, start.text).toBe(200);
    expect(start.body).toMatchObject({ state: 'running', bootCount: 1 });
    expect((start.body as MachineView).bootedAt).not.toBeNull();

    // Total guest RAM: 64 of 100 MiB used, so another 64 MiB machine cannot start.
    await create({ name: 'second', memMiB: 64 });
    const p = expectProblem(await s.http.post('/v1/vms/second/start').set(s.auth), 429, /MiB/);
    expect(p['type']).toBe('/problems.html#quota-exceeded');
    expectProblem(await s.http.patch('/v1/vms/alpha').set(s.auth).send({ memMiB: 32 }), 409, /stop it first/);
    expectProblem(
      await s.http.patch('/v1/vms/alpha').set(s.auth).send({ nics: [] }),
      409,
      /cannot change the NICs of machine 'alpha': it is running; stop it first/,
    );

    const con = await openConsole(s.url, 'alpha', { protocols: ['labvisor.console.v1', `bearer.${s.token}`] });
    expect(con.ws.protocol).toBe('labvisor.console.v1');
    // busybox ash's prompt on this image (PS1 from the image's profile): root@labvisor:~#
    await con.expect(/~ ?# /, 0, 60_000);
    let mark = con.text.length;
    con.type('echo $((6*7))\n');
    await con.expect(/\r?\n42\r?\n/, mark);
    // A second viewer gets the scrollback first; input from either reaches the guest, output both.
    const con2 = await openConsole(s.url, (start.body as MachineView).id, { headers: s.auth });
    await con2.expect(/\r?\n42\r?\n/);
    mark = con.text.length;
    const mark2 = con2.text.length;
    con2.type('echo two-$((1+1))\n');
    await con.expect(/\r?\ntwo-2\r?\n/, mark);
    await con2.expect(/\r?\ntwo-2\r?\n/, mark2);
    con2.ws.close();
    con.ws.send(JSON.stringify({ type: 'resize', cols: 100, rows: 30 }));
    mark = con.text.length;
    con.type('stty size\n');
    await con.expect(/30 100/, mark);

    const stats = await s.http.get('/v1/vms/alpha/stats').set(s.auth);
    expect(stats.status, stats.text).toBe(200);
    expect((stats.body as { instructions: number }).instructions).toBeGreaterThan(1000);
    expect((stats.body as { memory: { totalKiB: number } }).memory.totalKiB).toBeGreaterThan(0);

    const paused = await s.http.post('/v1/vms/alpha/pause').set(s.auth);
    expect(paused.body).toMatchObject({ state: 'paused' });
    await con.until(() => con.controls.some((c) => c['state'] === 'paused'), 'a state message');
    expectProblem(await s.http.post('/v1/vms/alpha/pause').set(s.auth), 409, /it is paused/);
    expect((await s.http.post('/v1/vms/alpha/resume').set(s.auth)).body).toMatchObject({ state: 'running' });
    mark = con.text.length;
    const reboot = await s.http.post('/v1/vms/alpha/reboot').set(s.auth);
    expect(reboot.status, reboot.text).toBe(200);
    expect(reboot.body).toMatchObject({ state: 'running', bootCount: 2 });
    await con.expect(/~ ?# /, mark, 60_000);

    // A control message that is not understood closes the console with 4400 and the reason.
    const bad = await openConsole(s.url, 'alpha', { headers: s.auth });
    bad.ws.send(JSON.stringify({ type: 'resize', cols: 0, rows: 30 }));
    await bad.until(() => bad.closed !== null, 'close');
    expect(bad.closed).toEqual({ code: 4400, reason: 'resize: cols must be a whole number from 1 to 1000' });

    const stop = await s.http.post('/v1/vms/alpha/stop').set(s.auth);
    expect(stop.status, stop.text).toBe(200);
    expect(stop.body).toMatchObject({ state: 'stopped' });
    await con.until(() => con.controls.some((c) => c['state'] === 'stopped'), 'the stopped state message');
    con.ws.close();
  });

  it('refuses a console for an unknown machine (4404) or without a valid token (401)', async () => {
    const unknown = await openConsole(s.url, 'nobody', { headers: s.auth });
    await unknown.until(() => unknown.closed !== null, 'close');
    expect(unknown.closed?.code).toBe(4404);
    await expect(openConsole(s.url, 'alpha')).rejects.toThrow(/401/);
    await expect(
      openConsole(s.url, 'alpha', { protocols: ['labvisor.console.v1', 'bearer.lvt_wrong'] }),
    ).rejects.toThrow(/401/);
    // The refusal is problem+json, and the server closes the connection after it.
    const refused = await new Promise<{ status: number; type: string; body: string; closed: boolean }>(
      (resolve, reject) => {
        const u = new URL(s.url);
        const req = httpRequest({
          host: u.hostname,
          port: u.port,
          path: '/v1/vms/alpha/console',
          headers: {
            connection: 'Upgrade',
            upgrade: 'websocket',
            'sec-websocket-version': '13',
            'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
          },
        });
        req.on('response', (res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString()));
          res.socket.on('close', () =>
            resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body, closed: true }),
          );
        });
        req.on('error', reject);
        req.end();
      },
    );
    expect(refused).toMatchObject({ status: 401, closed: true });
    expect(refused.type).toMatch(/^application\/problem\+json/);
    expect(JSON.parse(refused.body)).toMatchObject({ status: 401, type: '/problems.html#unauthorized' });
    const plain = await s.http.get('/v1/vms/alpha/console').set(s.auth);
    expectProblem(plain, 426, /WebSocket/);
  });

  it('lists the machine events, newest first, with the token name as actor', async () => {
    const res = await s.http.get('/v1/vms/alpha/events?limit=100').set(s.auth);
    expect(res.status, res.text).toBe(200);
    const items = (res.body as { items: Array<{ id: number; kind: string; actor: string }> }).items;
    const kinds = items.map((e) => e.kind);
    expect(kinds).toContain('created');
    expect(items.find((e) => e.kind === 'created')?.actor).toBe('tester');
    expect(items[0]!.id).toBeGreaterThan(items[items.length - 1]!.id);
    const older = await s.http.get(`/v1/vms/alpha/events?limit=1&before=${items[0]!.id}`).set(s.auth);
    expect((older.body as { items: Array<{ id: number }> }).items[0]!.id).toBeLessThan(items[0]!.id);
    expectProblem(await s.http.get('/v1/vms/alpha/events?before=0').set(s.auth), 400, /'before' must be >= 1/);
    expectProblem(await s.http.get('/v1/vms/nobody/events').set(s.auth), 404);
  });

  it('lists all events under /v1/events', async () => {
    const res = await s.http.get('/v1/events?limit=5').set(s.auth);
    expect(res.status, res.text).toBe(200);
    expect((res.body as { items: unknown[] }).items.length).toBe(5);
    expectProblem(await s.http.get('/v1/events?limit=1000').set(s.auth), 400, /'limit' must be <= 500/);
  });
});
