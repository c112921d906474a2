/**
 * /v1/vms/{id}/ports (host TCP ports forwarded to a machine, as docker -p) and
 * /v1/networks/{id}/leases: each answer and each error a client can cause. A forward listens
 * from its creation, and a connection to it while the machine is not running is reset at once;
 * the last test boots a machine (its address from the host's DHCP server) and goes through a
 * forward into a guest `nc`, both ways, then stops the machine under an open connection.
 */
import * as net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MachineView, NetworkView } from '../../../src/host/types.js';
import { expectProblem, openConsole, startServer } from './helpers.js';
import type { TestServer } from './helpers.js';

let s: TestServer;
let vm: MachineView;
let bare: MachineView;
let netw: NetworkView;

beforeAll(async () => {
  s = await startServer({ image: true });
  netw = (await s.http.post('/v1/networks').set(s.auth).send({ name: 'fwd', cidr: '10.44.0.0/24' }))
    .body as NetworkView;
  const r = await s.http
    .post('/v1/vms')
    .set(s.auth)
    .send({ name: 'web', nics: [{ network: 'fwd', ip: '10.44.0.10' }] });
  expect(r.status, r.text).toBe(201);
  vm = r.body as MachineView;
  bare = (await s.http.post('/v1/vms').set(s.auth).send({ name: 'nonic' })).body as MachineView;
});
afterAll(async () => {
  await s?.close();
});

/** What a TCP client sees connecting to `port` on 127.0.0.1: 'reset', 'refused', 'closed', or 'open'. */
function probe(port: number): Promise<string> {
  return new Promise((resolve) => {
    const c = net.connect({ port, host: '127.0.0.1' });
    c.on('error', (e: NodeJS.ErrnoException) =>
      resolve(e.code === 'ECONNRESET' ? 'reset' : e.code === 'ECONNREFUSED' ? 'refused' : (e.code ?? 'error')),
    );
    c.on('close', () => resolve('closed'));
    c.on('data', () => resolve('open'));
  });
}

/** A port the system has free now (listen on 0, read it, close). */
async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

describe('auth', () => {
  it('refuses the port and lease routes without a token (401)', async () => {
    expectProblem(await s.http.get('/v1/vms/web/ports'), 401);
    expectProblem(await s.http.post('/v1/vms/web/ports').send({ guestPort: 80 }), 401);
    expectProblem(await s.http.delete('/v1/vms/web/ports/8080'), 401);
    expectProblem(await s.http.get('/v1/networks/fwd/leases'), 401);
  });
});

describe('POST, GET and DELETE /v1/vms/{id}/ports', () => {
  let picked: number;

  it('forwards a free port the server picks when hostPort is left out; the machine lists it', async () => {
    const r = await s.http.post('/v1/vms/web/ports').set(s.auth).send({ guestPort: 80 });
    expect(r.status, r.text).toBe(201);
    picked = r.body.hostPort as number;
    expect(r.body).toEqual({
      hostPort: picked,
      guestPort: 80,
      nic: 0,
      address: '127.0.0.1',
      listening: true,
      createdAt: expect.any(String),
    });
    expect(picked).toBeGreaterThan(0);
    expect(r.headers['location']).toBe(`/v1/vms/web/ports/${picked}`);
    const list = await s.http.get(`/v1/vms/${vm.id}/ports`).set(s.auth);
    expect(list.status, list.text).toBe(200);
    expect(list.body.items).toEqual([r.body]);
    const ev = await s.http.get(`/v1/vms/${vm.id}/events`).set(s.auth);
    expect(ev.body.items[0]).toMatchObject({ kind: 'port-forward-added' });
    expect(ev.body.items[0].message).toContain(`127.0.0.1:${picked}`);
  });

  it('listens at once; a connection while the machine is not running is reset', async () => {
    expect(await probe(picked)).toBe('reset');
  });

  it('forwards a given host port', async () => {
    const port = await freePort();
    const r = await s.http.post('/v1/vms/web/ports').set(s.auth).send({ hostPort: port, guestPort: 22, nic: 0 });
    expect(r.status, r.text).toBe(201);
    expect(r.body).toMatchObject({ hostPort: port, guestPort: 22 });
    const list = await s.http.get('/v1/vms/web/ports').set(s.auth);
    expect(list.body.items.map((f: { hostPort: number }) => f.hostPort)).toEqual([picked, port].sort((a, b) => a - b));
  });

  it('answers a host port another forward has with 409 port-taken', async () => {
    const p = expectProblem(
      await s.http.post('/v1/vms/web/ports').set(s.auth).send({ hostPort: picked, guestPort: 81 }),
      409,
      new RegExp(`host port ${picked} is already forwarded`),
    );
    expect(p['type']).toBe('/problems.html#port-taken');
    expect(p['hostPort']).toBe(picked);
  });

  it('answers a host port another program listens on with 409 port-taken', async () => {
    const other = net.createServer();
    await new Promise<void>((r) => other.listen(0, '127.0.0.1', () => r()));
    const port = (other.address() as net.AddressInfo).port;
    try {
      const p = expectProblem(
        await s.http.post('/v1/vms/web/ports').set(s.auth).send({ hostPort: port, guestPort: 80 }),
        409,
        /in use by another program/,
      );
      expect(p['type']).toBe('/problems.html#port-taken');
    } finally {
      await new Promise<void>((r) => other.close(() => r()));
    }
    // Nothing was stored for it.
    const list = await s.http.get('/v1/vms/web/ports').set(s.auth);
    expect(list.body.items.some((f: { hostPort: number }) => f.hostPort === port)).toBe(false);
  });

  it('answers a machine without that NIC with 400, and an unknown machine with 404', async () => {
    expectProblem(
      await s.http.post('/v1/vms/nonic/ports').set(s.auth).send({ guestPort: 80 }),
      400,
      /machine 'nonic' has no NIC to forward to/,
    );
    expectProblem(
      await s.http.post('/v1/vms/web/ports').set(s.auth).send({ guestPort: 80, nic: 3 }),
      400,
      /has no NIC 3 \(eth3\); its NICs are 0/,
    );
    expectProblem(await s.http.post('/v1/vms/ghost/ports').set(s.auth).send({ guestPort: 80 }), 404, /ghost/);
    expectProblem(await s.http.get('/v1/vms/ghost/ports').set(s.auth), 404);
    expect((await s.http.get(`/v1/vms/${bare.id}/ports`).set(s.auth)).body).toEqual({ items: [] });
  });

  it('answers bad bodies with 400 naming the field', async () => {
    const post = (body: object) => s.http.post('/v1/vms/web/ports').set(s.auth).send(body);
    expectProblem(await post({}), 400, /missing the required field 'guestPort'/);
    expectProblem(await post({ guestPort: 0 }), 400, /guestPort/);
    expectProblem(await post({ guestPort: 70000 }), 400, /guestPort/);
    expectProblem(await post({ guestPort: '80' }), 400, /guestPort/);
    expectProblem(await post({ guestPort: 80, hostPort: 0 }), 400, /hostPort/);
    expectProblem(await post({ guestPort: 80, proto: 'udp' }), 400, /unknown field 'proto'/);
    expectProblem(await s.http.delete('/v1/vms/web/ports/notaport').set(s.auth), 400, /hostPort/);
    expectProblem(await s.http.delete('/v1/vms/web/ports/0').set(s.auth), 400, /hostPort/);
  });

  it('deletes a forward: 204, the port closes, a second delete is 404', async () => {
    const del = await s.http.delete(`/v1/vms/web/ports/${picked}`).set(s.auth);
    expect(del.status, del.text).toBe(204);
    expect(await probe(picked)).toBe('refused');
    expectProblem(
      await s.http.delete(`/v1/vms/web/ports/${picked}`).set(s.auth),
      404,
      new RegExp(`machine 'web' has no forward of host port ${picked}`),
    );
    // Another machine's forward is not this machine's to delete.
    const list = await s.http.get('/v1/vms/web/ports').set(s.auth);
    const kept = list.body.items[0].hostPort as number;
    expectProblem(await s.http.delete(`/v1/vms/nonic/ports/${kept}`).set(s.auth), 404);
  });

  it('keeps forwards across a restart of the server, and drops them with their machine', async () => {
    const before = (await s.http.get('/v1/vms/web/ports').set(s.auth)).body.items as Array<{ hostPort: number }>;
    expect(before).toHaveLength(1);
    const port = before[0]!.hostPort;
    const dataDir = s.dataDir;
    await s.close({ keepData: true });
    expect(await probe(port)).toBe('refused');

    // A restart with a forward address that is not the host's: the stored forward cannot listen
    // (shown as such), and a new one is refused with 409 port-unavailable. 192.0.2.1 is
    // TEST-NET-1 (RFC 5737), never an address of this host: listen() fails with EADDRNOTAVAIL.
    s = await startServer({ dataDir, forwardAddress: '192.0.2.1' });
    const down = await s.http.get('/v1/vms/web/ports').set(s.auth);
    expect(down.body.items).toEqual([
      expect.objectContaining({ hostPort: port, address: '192.0.2.1', listening: false }),
    ]);
    const p = expectProblem(
      await s.http.post('/v1/vms/web/ports').set(s.auth).send({ guestPort: 80 }),
      409,
      /cannot listen on 192\.0\.2\.1.*--forward-address/,
    );
    expect(p['type']).toBe('/problems.html#port-unavailable');
    await s.close({ keepData: true });

    s = await startServer({ dataDir });
    const after = await s.http.get('/v1/vms/web/ports').set(s.auth);
    expect(after.body.items).toEqual([
      expect.objectContaining({ hostPort: port, guestPort: 22, address: '127.0.0.1', listening: true }),
    ]);
    expect(await probe(port)).toBe('reset');
    expect((await s.http.delete('/v1/vms/web').set(s.auth)).status).toBe(204);
    expect(await probe(port)).toBe('refused');
  });
});

describe('GET /v1/networks/{id}/leases', () => {
  it('lists the leases the DHCP server stored, by address (numerically); 404 for an unknown network', async () => {
    const empty = await s.http.get(`/v1/networks/fwd/leases`).set(s.auth);
    expect(empty.status, empty.text).toBe(200);
    expect(empty.body).toEqual({ items: [] });
    const expiresAt = new Date(Date.now() + 3600_000);
    await s.store.saveLease({
      networkId: netw.id,
      mac: '02:00:00:00:00:09',
      ip: '10.44.0.9',
      hostname: null,
      expiresAt,
    });
    await s.store.saveLease({
      networkId: netw.id,
      mac: '02:00:00:00:00:03',
      ip: '10.44.0.30',
      hostname: 'a',
      expiresAt,
    });
    // A new lease on an address takes it from the client that had it (its lease had expired).
    await s.store.saveLease({
      networkId: netw.id,
      mac: '02:00:00:00:00:04',
      ip: '10.44.0.9',
      hostname: 'b',
      expiresAt,
    });
    const r = await s.http.get(`/v1/networks/${netw.id}/leases`).set(s.auth);
    expect(r.body.items).toEqual([
      { mac: '02:00:00:00:00:04', ip: '10.44.0.9', hostname: 'b', expiresAt: expiresAt.toISOString() },
      { mac: '02:00:00:00:00:03', ip: '10.44.0.30', hostname: 'a', expiresAt: expiresAt.toISOString() },
    ]);
    expectProblem(await s.http.get('/v1/networks/ghost/leases').set(s.auth), 404, /ghost/);
  });
});

describe('a forward into a booted machine', () => {
  it('joins a host connection to a guest port both ways, and resets it when the machine stops', async () => {
    const created = await s.http
      .post('/v1/vms')
      .set(s.auth)
      .send({ name: 'svc', nics: [{ network: 'fwd', ip: '10.44.0.20' }] });
    expect(created.status, created.text).toBe(201);
    const id = (created.body as MachineView).id;
    const fwd = await s.http.post('/v1/vms/svc/ports').set(s.auth).send({ guestPort: 7000 });
    expect(fwd.status, fwd.text).toBe(201);
    const port = fwd.body.hostPort as number;
    expect((await s.http.post(`/v1/vms/${id}/start`).set(s.auth)).status).toBe(200);
    const con = await openConsole(s.url, id, { headers: s.auth });
    try {
      // The boot's DHCP exchange gives the NIC its static address (the host's DHCP server), then the prompt.
      await con.expect(/lease of 10\.44\.0\.20 obtained from 10\.44\.0\.1[\s\S]*:~# /, 0, 120_000);
      let from = con.text.length;
      con.type('echo from-guest | nc -l -p 7000 > /tmp/got & sleep 1; echo listening\n');
      await con.expect(/^listening/m, from);

      // Both directions, and the client's FIN reaches the guest (nc exits and writes the file).
      const reply = await new Promise<string>((resolve, reject) => {
        const c = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
        let text = '';
        c.on('data', (d) => (text += d.toString()));
        c.on('end', () => {
          c.end();
          resolve(text);
        });
        c.on('error', reject);
        c.end('from-host\n');
      });
      expect(reply).toBe('from-guest\n');
      from = con.text.length;
      con.type('sleep 1; cat /tmp/got\n');
      await con.expect(/^from-host/m, from);

      // An open connection is reset when the machine stops.
      from = con.text.length;
      con.type('nc -l -p 7000 > /dev/null & sleep 1; echo listening-again\n');
      await con.expect(/^listening-again/m, from);
      const ended = new Promise<string>((resolve) => {
        const c = net.connect({ port, host: '127.0.0.1' });
        c.on('connect', () => c.write('x'));
        c.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
        c.on('close', () => resolve('closed'));
      });
      await new Promise((r) => setTimeout(r, 500));
      expect((await s.http.post(`/v1/vms/${id}/kill`).set(s.auth)).status).toBe(200);
      expect(await ended).toBe('ECONNRESET');
      // Stopped: the port still listens (it is the machine's) but resets every connection.
      expect(await probe(port)).toBe('reset');
    } finally {
      con.ws.close();
    }
  });
});
