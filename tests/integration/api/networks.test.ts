/**
 * /v1/networks: create, list, get, patch, delete and the live pcap capture, with each error a
 * client can cause; and NICs on machines (POST /v1/vms with nics): default MACs, static
 * addresses and what the server refuses. No machine is booted: NICs are records until the
 * guest side exists, and captured frames are injected into the network's switch from here.
 */
import { execFileSync } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import type { IncomingMessage } from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventView, MachineView, NetworkView } from '../../../src/host/types.js';
import { formatMac, nicMac } from '../../../src/switch/ethernet.js';
import { parsePcap } from '../../../src/switch/pcap.js';
import { expectProblem, startServer } from './helpers.js';
import type { TestServer } from './helpers.js';

let s: TestServer;
beforeAll(async () => {
  s = await startServer({ image: true, limits: { maxMachines: 20 } });
});
afterAll(async () => {
  await s?.close();
});

const createNet = (body: unknown) =>
  s.http
    .post('/v1/networks')
    .set(s.auth)
    .send(body as object);
const createVm = (body: unknown) =>
  s.http
    .post('/v1/vms')
    .set(s.auth)
    .send(body as object);

/** An ARP request "who has `target`" from `src` (a 42-byte frame; the switch does not pad). */
function arpFrame(src: Uint8Array, target: [number, number, number, number]): Uint8Array {
  const f = new Uint8Array(42);
  f.fill(0xff, 0, 6); // broadcast
  f.set(src, 6);
  f.set([0x08, 0x06], 12);
  f.set([0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x01], 14); // Ethernet/IPv4, request
  f.set(src, 22);
  f.set([10, 9, 0, 2], 28);
  f.set(target, 38);
  return f;
}

describe('auth', () => {
  it('refuses every network route without a token (401)', async () => {
    expectProblem(await s.http.get('/v1/networks'), 401, /Authorization: Bearer/);
    expectProblem(await s.http.post('/v1/networks').send({ name: 'x', cidr: '10.0.0.0/24' }), 401);
    expectProblem(await s.http.get('/v1/networks/x'), 401);
    expectProblem(await s.http.patch('/v1/networks/x').send({ dns: false }), 401);
    expectProblem(await s.http.delete('/v1/networks/x'), 401);
    expectProblem(await s.http.get('/v1/networks/x/capture'), 401);
  });
});

describe('POST /v1/networks', () => {
  it('creates a network with the defaults (gateway: the first host address; DHCP and DNS on)', async () => {
    const res = await createNet({ name: 'lab', cidr: '10.9.0.0/24' });
    expect(res.status, res.text).toBe(201);
    const net = res.body as NetworkView;
    expect(net).toMatchObject({
      name: 'lab',
      cidr: '10.9.0.0/24',
      gateway: '10.9.0.1',
      dhcp: true,
      dns: true,
      nics: 0,
    });
    expect(res.headers['location']).toBe(`/v1/networks/${net.id}`);
    const other = await createNet({ name: 'other', cidr: '172.16.0.0/12', gateway: '172.31.255.254', dhcp: false });
    expect(other.status, other.text).toBe(201);
    expect(other.body).toMatchObject({ gateway: '172.31.255.254', dhcp: false, dns: true });
  });

  it('answers malformed JSON, unknown fields and wrong types with 400 naming the problem', async () => {
    const bad = await s.http.post('/v1/networks').set(s.auth).set('Content-Type', 'application/json').send('{"name":');
    expect(expectProblem(bad, 400, /not valid JSON/)['type']).toBe('/problems.html#malformed-json');
    expectProblem(
      await createNet({ name: 'n1', cidr: '10.1.0.0/24', mtu: 9000 }),
      400,
      /unknown field 'mtu'.*allowed: name, cidr, gateway, dhcp, dns/,
    );
    expectProblem(await createNet({ name: 'n1', cidr: 24 }), 400, /field 'cidr' must be a string, got 24/);
    expectProblem(
      await createNet({ name: 'n1', cidr: '10.1.0.0/24', dhcp: 'yes' }),
      400,
      /field 'dhcp' must be a boolean/,
    );
    expectProblem(await createNet({ name: 'n1' }), 400, /missing the required field 'cidr'/);
    expectProblem(await createNet({ name: 'has space', cidr: '10.1.0.0/24' }), 400, /field 'name' must match/);
  });

  it('answers a bad CIDR with 400 that says what to write', async () => {
    expectProblem(await createNet({ name: 'n1', cidr: '10.1.0.0' }), 400, /not an IPv4 CIDR.*10\.0\.0\.0\/24/);
    expectProblem(await createNet({ name: 'n1', cidr: '10.1.0.256/24' }), 400, /not an IPv4 CIDR/);
    expectProblem(await createNet({ name: 'n1', cidr: 'fd00::/64' }), 400, /not an IPv4 CIDR/);
    expectProblem(await createNet({ name: 'n1', cidr: '10.1.0.0/31' }), 400, /prefix must be 8 to 30.*got \/31/);
    expectProblem(await createNet({ name: 'n1', cidr: '10.0.0.0/4' }), 400, /prefix must be 8 to 30/);
    expectProblem(
      await createNet({ name: 'n1', cidr: '10.1.0.5/24' }),
      400,
      /not aligned: a \/24 starts at 10\.1\.0\.0; write 10\.1\.0\.0\/24/,
    );
  });

  it('answers a gateway outside the network, or its network or broadcast address, with 400', async () => {
    expectProblem(
      await createNet({ name: 'n1', cidr: '10.1.0.0/24', gateway: '10.2.0.1' }),
      400,
      /gateway 10\.2\.0\.1 is outside the network 10\.1\.0\.0\/24; use an address from 10\.1\.0\.1 to 10\.1\.0\.254/,
    );
    expectProblem(
      await createNet({ name: 'n1', cidr: '10.1.0.0/24', gateway: '10.1.0.0' }),
      400,
      /is the network address/,
    );
    expectProblem(
      await createNet({ name: 'n1', cidr: '10.1.0.0/24', gateway: '10.1.0.255' }),
      400,
      /is the broadcast address/,
    );
    expectProblem(await createNet({ name: 'n1', cidr: '10.1.0.0/24', gateway: 'router' }), 400, /not an IPv4 address/);
  });

  it('answers a taken name with 409 name-taken', async () => {
    const p = expectProblem(await createNet({ name: 'lab', cidr: '10.3.0.0/24' }), 409, /a network named 'lab'/);
    expect(p['type']).toBe('/problems.html#name-taken');
  });
});

describe('GET, PATCH and DELETE /v1/networks/{id}', () => {
  it('lists by name and gets by id or name; 404 for an unknown one', async () => {
    const list = await s.http.get('/v1/networks').set(s.auth);
    expect(list.status, list.text).toBe(200);
    const items = (list.body as { items: NetworkView[] }).items;
    expect(items.map((n) => n.name)).toEqual(['lab', 'other']);
    const byName = await s.http.get('/v1/networks/lab').set(s.auth);
    expect(byName.status, byName.text).toBe(200);
    const byId = await s.http.get(`/v1/networks/${(byName.body as NetworkView).id}`).set(s.auth);
    expect(byId.body).toEqual(byName.body);
    expectProblem(await s.http.get('/v1/networks/nosuch').set(s.auth), 404, /no network with id or name 'nosuch'/);
    expectProblem(await s.http.patch('/v1/networks/nosuch').set(s.auth).send({ dns: false }), 404);
    expectProblem(await s.http.delete('/v1/networks/nosuch').set(s.auth), 404);
  });

  it('renames, switches services and moves an unused network; refuses bad changes', async () => {
    const r = await s.http.patch('/v1/networks/other').set(s.auth).send({ name: 'spare', dns: false });
    expect(r.status, r.text).toBe(200);
    expect(r.body).toMatchObject({ name: 'spare', dns: false, dhcp: false });
    // A new CIDR moves a gateway that no longer fits to the first host address.
    const moved = await s.http.patch('/v1/networks/spare').set(s.auth).send({ cidr: '192.168.7.0/24' });
    expect(moved.body).toMatchObject({ cidr: '192.168.7.0/24', gateway: '192.168.7.1' });
    const gw = await s.http.patch('/v1/networks/spare').set(s.auth).send({ gateway: '192.168.7.254' });
    expect(gw.body).toMatchObject({ gateway: '192.168.7.254' });
    expectProblem(await s.http.patch('/v1/networks/spare').set(s.auth).send({ gateway: '10.0.0.1' }), 400, /outside/);
    expectProblem(await s.http.patch('/v1/networks/spare').set(s.auth).send({ cidr: '192.168.7.0/33' }), 400);
    expectProblem(await s.http.patch('/v1/networks/spare').set(s.auth).send({}), 400, /at least 1 field/);
    expectProblem(await s.http.patch('/v1/networks/spare').set(s.auth).send({ id: 'x' }), 400, /unknown field 'id'/);
    expectProblem(await s.http.patch('/v1/networks/spare').set(s.auth).send({ name: 'lab' }), 409, /'lab'/);
  });

  it('deletes an unused network (204, then 404)', async () => {
    const del = await s.http.delete('/v1/networks/spare').set(s.auth);
    expect(del.status, del.text).toBe(204);
    expectProblem(await s.http.get('/v1/networks/spare').set(s.auth), 404);
  });
});

describe('NICs on machines', () => {
  let lab: NetworkView;
  beforeAll(async () => {
    lab = (await s.http.get('/v1/networks/lab').set(s.auth)).body as NetworkView;
  });

  it('creates a machine without NICs as before (nics: [])', async () => {
    const res = await createVm({ name: 'plain' });
    expect(res.status, res.text).toBe(201);
    expect((res.body as MachineView).nics).toEqual([]);
  });

  it('gives NICs stable default MACs (nicMac of the machine id and index), unique across machines', async () => {
    const a = await createVm({ name: 'vm-a', nics: [{ network: 'lab' }, { network: lab.id, ip: '10.9.0.10' }] });
    expect(a.status, a.text).toBe(201);
    const va = a.body as MachineView;
    expect(va.nics).toEqual([
      { index: 0, network: lab.id, mac: formatMac(nicMac(va.id, 0)), ip: null },
      { index: 1, network: lab.id, mac: formatMac(nicMac(va.id, 1)), ip: '10.9.0.10' },
    ]);
    expect(va.nics[0]!.mac).toMatch(/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
    const b = await createVm({ name: 'vm-b', nics: [{ network: 'lab' }] });
    const vb = b.body as MachineView;
    expect(vb.nics[0]!.mac).toBe(formatMac(nicMac(vb.id, 0)));
    expect(new Set([...va.nics, ...vb.nics].map((n) => n.mac)).size).toBe(3);
    // The same MACs on every read, in the list too.
    expect(((await s.http.get('/v1/vms/vm-a').set(s.auth)).body as MachineView).nics).toEqual(va.nics);
    const list = (await s.http.get('/v1/vms').set(s.auth)).body as { items: MachineView[] };
    expect(list.items.find((m) => m.name === 'vm-b')?.nics).toEqual(vb.nics);
    expect(((await s.http.get('/v1/networks/lab').set(s.auth)).body as NetworkView).nics).toBe(3);
  });

  it('keeps NICs across a restart of the manager (loaded from the Store)', async () => {
    const { VmManager } = await import('../../../src/host/vm-manager.js');
    const quiet = { info() {}, warn() {}, error() {}, debug() {} };
    const fresh = new VmManager({
      store: s.store,
      images: s.images,
      networks: s.networks,
      dataDir: s.dataDir,
      limits: { maxMemMiB: 256, maxTotalMemMiB: 512, maxMachines: 20, maxBodyBytes: 1 << 20, maxImageBytes: 1 << 30 },
      log: quiet,
    });
    await fresh.init();
    const before = ((await s.http.get('/v1/vms/vm-a').set(s.auth)).body as MachineView).nics;
    expect((await fresh.get('vm-a')).nics).toEqual(before);
    await fresh.shutdown();
  });

  it('re-rolls a default MAC another NIC already has (nicMac attempt 1, 2, ...)', async () => {
    const { VmManager } = await import('../../../src/host/vm-manager.js');
    // The Store, except that the first two generated MACs asked about are "taken".
    let asked = 0;
    const store = Object.create(s.store) as typeof s.store;
    store.findNicByMac = async (mac: string) =>
      asked++ < 2
        ? { id: 'x', machineId: 'y', networkId: 'z', index: 0, mac, ip: null, createdAt: new Date() }
        : s.store.findNicByMac(mac);
    const quiet = { info() {}, warn() {}, error() {}, debug() {} };
    const limits = {
      maxMemMiB: 256,
      maxTotalMemMiB: 512,
      maxMachines: 20,
      maxBodyBytes: 1 << 20,
      maxImageBytes: 1 << 30,
    };
    const vms = new VmManager({
      store,
      images: s.images,
      networks: s.networks,
      dataDir: s.dataDir,
      limits,
      log: quiet,
    });
    const vm = await vms.create(
      { name: 'rerolled', image: 'busybox', memMiB: 64, vcpus: 1, cmdline: '', init: '', nics: [{ network: 'lab' }] },
      'tester',
    );
    expect(vm.nics[0]!.mac).toBe(formatMac(nicMac(vm.id, 0, 2)));
    await vms.remove(vm.id, { keepDisk: false }, 'tester');
    await vms.shutdown();
  });

  it('takes a MAC given by the client, normalised; refuses a bad, multicast or taken one', async () => {
    const res = await createVm({ name: 'vm-mac', nics: [{ network: 'lab', mac: '02-AA-BB-CC-DD-EE' }] });
    expect(res.status, res.text).toBe(201);
    expect((res.body as MachineView).nics[0]!.mac).toBe('02:aa:bb:cc:dd:ee');
    expectProblem(
      await createVm({ name: 'x1', nics: [{ network: 'lab', mac: 'nope' }] }),
      400,
      /nics\[0\]\.mac.*not a MAC address/,
    );
    expectProblem(
      await createVm({ name: 'x1', nics: [{ network: 'lab', mac: '01:00:5e:00:00:01' }] }),
      400,
      /multicast address; a NIC needs a unicast address/,
    );
    const taken = expectProblem(
      await createVm({ name: 'x1', nics: [{ network: 'lab', mac: '02:aa:bb:cc:dd:ee' }] }),
      409,
      /MAC address 02:aa:bb:cc:dd:ee is already another NIC's/,
    );
    expect(taken['type']).toBe('/problems.html#mac-taken');
    expectProblem(
      await createVm({
        name: 'x1',
        nics: [
          { network: 'lab', mac: '02:00:00:00:00:09' },
          { network: 'lab', mac: '02:00:00:00:00:09' },
        ],
      }),
      409,
      /given to two NICs/,
    );
    // Nothing was left behind by the refusals.
    expectProblem(await s.http.get('/v1/vms/x1').set(s.auth), 404);
  });

  it('checks static addresses: inside the network, not network/broadcast/gateway, unique per network', async () => {
    expectProblem(
      await createVm({ name: 'x2', nics: [{ network: 'lab', ip: '10.8.0.5' }] }),
      400,
      /ip 10\.8\.0\.5 is outside the network 10\.9\.0\.0\/24/,
    );
    expectProblem(
      await createVm({ name: 'x2', nics: [{ network: 'lab', ip: '10.9.0.255' }] }),
      400,
      /broadcast address/,
    );
    expectProblem(await createVm({ name: 'x2', nics: [{ network: 'lab', ip: '10.9.0.0' }] }), 400, /network address/);
    expectProblem(
      await createVm({ name: 'x2', nics: [{ network: 'lab', ip: '10.9.0.1.2' }] }),
      400,
      /not an IPv4 address/,
    );
    const gw = expectProblem(
      await createVm({ name: 'x2', nics: [{ network: 'lab', ip: '10.9.0.1' }] }),
      409,
      /is the gateway of network 'lab'/,
    );
    expect(gw['type']).toBe('/problems.html#ip-taken');
    const dup = expectProblem(
      await createVm({ name: 'x2', nics: [{ network: 'lab', ip: '10.9.0.10' }] }),
      409,
      /IP address 10\.9\.0\.10 is already another NIC's on that network/,
    );
    expect(dup['type']).toBe('/problems.html#ip-taken');
    // The same address on another network is fine.
    await createNet({ name: 'lab2', cidr: '10.9.0.0/24' });
    const ok = await createVm({ name: 'x2', nics: [{ network: 'lab2', ip: '10.9.0.10' }] });
    expect(ok.status, ok.text).toBe(201);
    expectProblem(await s.http.get('/v1/vms/x3').set(s.auth), 404);
  });

  it('answers an unknown network with 404, bad nics with 400, too many with 400', async () => {
    expectProblem(await createVm({ name: 'x4', nics: [{ network: 'nowhere' }] }), 404, /no network .*'nowhere'/);
    expectProblem(await createVm({ name: 'x4', nics: [{}] }), 400, /missing 'network'/);
    expectProblem(await createVm({ name: 'x4', nics: [{ network: 'lab', vlan: 3 }] }), 400, /unknown field 'vlan'/);
    expectProblem(await createVm({ name: 'x4', nics: 'lab' }), 400, /field 'nics' must be an array/);
    expectProblem(
      await createVm({ name: 'x4', nics: Array(9).fill({ network: 'lab' }) }),
      400,
      /'nics' must NOT have more than 8/,
    );
  });

  it('replaces the NICs of a stopped machine (PATCH nics), checked as at creation', async () => {
    const made = await createVm({ name: 'vm-p', nics: [{ network: 'lab' }] });
    const vm = made.body as MachineView;
    const mac0 = formatMac(nicMac(vm.id, 0));
    // Add eth1 with an address: eth0 keeps its MAC (same index, no mac given).
    const add = await s.http
      .patch('/v1/vms/vm-p')
      .set(s.auth)
      .send({ nics: [{ network: 'lab' }, { network: 'lab2', ip: '10.9.0.20' }] });
    expect(add.status, add.text).toBe(200);
    expect((add.body as MachineView).nics).toEqual([
      { index: 0, network: vm.nics[0]!.network, mac: mac0, ip: null },
      { index: 1, network: expect.any(String), mac: formatMac(nicMac(vm.id, 1)), ip: '10.9.0.20' },
    ]);
    // A clash changes nothing (one statement): name and NICs stay as they were.
    expectProblem(
      await s.http
        .patch('/v1/vms/vm-p')
        .set(s.auth)
        .send({ name: 'vm-p2', nics: [{ network: 'lab2', ip: '10.9.0.10' }] }),
      409,
      /IP address 10\.9\.0\.10 is already another NIC's/,
    );
    expectProblem(
      await s.http
        .patch('/v1/vms/vm-p')
        .set(s.auth)
        .send({ nics: [{ network: 'gone' }] }),
      404,
    );
    expectProblem(
      await s.http
        .patch('/v1/vms/vm-p')
        .set(s.auth)
        .send({ nics: [{ network: 'lab', ip: '1.2.3.4' }] }),
      400,
      /outside/,
    );
    const now = (await s.http.get('/v1/vms/vm-p').set(s.auth)).body as MachineView;
    expect(now.nics).toEqual((add.body as MachineView).nics);
    // Remove them all.
    const none = await s.http.patch('/v1/vms/vm-p').set(s.auth).send({ nics: [] });
    expect((none.body as MachineView).nics).toEqual([]);
    expect((await s.http.delete('/v1/vms/vm-p').set(s.auth)).status).toBe(204);
  });

  it('refuses to delete or re-address a network with NICs (409 network-in-use); deleting the machines frees it', async () => {
    const p = expectProblem(
      await s.http.delete('/v1/networks/lab').set(s.auth),
      409,
      /has 4 NICs plugged in; delete the machines/,
    );
    expect(p['type']).toBe('/problems.html#network-in-use');
    expect(p['nics']).toBe(4);
    expectProblem(
      await s.http.patch('/v1/networks/lab').set(s.auth).send({ cidr: '10.10.0.0/24' }),
      409,
      /cannot change the cidr/,
    );
    expectProblem(
      await s.http.patch('/v1/networks/lab').set(s.auth).send({ gateway: '10.9.0.10' }),
      409,
      /is a NIC's address/,
    );
    for (const name of ['vm-a', 'vm-b', 'vm-mac'])
      expect((await s.http.delete(`/v1/vms/${name}`).set(s.auth)).status).toBe(204);
    expect(((await s.http.get('/v1/networks/lab').set(s.auth)).body as NetworkView).nics).toBe(0);
    // The MACs are free again.
    const again = await createVm({ name: 'vm-mac2', nics: [{ network: 'lab2', mac: '02:aa:bb:cc:dd:ee' }] });
    expect(again.status, again.text).toBe(201);
  });
});

/** A streaming GET of a capture: the response, and everything received so far. */
function openCapture(
  path: string,
): Promise<{ res: IncomingMessage; data: () => Buffer; ended: Promise<Buffer>; close: () => void }> {
  return new Promise((resolve, reject) => {
    const u = new URL(s.url);
    const req = httpRequest({ host: u.hostname, port: u.port, path, headers: s.auth });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      const ended = new Promise<Buffer>((done, fail) => {
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => done(Buffer.concat(chunks)));
        res.on('error', fail);
      });
      // A capture the test closes itself ends in 'aborted': not an error then.
      ended.catch(() => {});
      resolve({ res, data: () => Buffer.concat(chunks), ended, close: () => req.destroy() });
    });
    req.on('error', reject);
    req.end();
  });
}

async function until(test: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!test()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('GET /v1/networks/{id}/capture', () => {
  it('streams a pcap header, then the frames entering the switch; tshark reads it', async () => {
    const cap = await openCapture('/v1/networks/lab/capture?maxFrames=2');
    expect(cap.res.statusCode).toBe(200);
    expect(cap.res.headers['content-type']).toBe('application/vnd.tcpdump.pcap');
    await until(() => cap.data().length >= 24, 'the pcap header');
    const head = cap.data().subarray(0, 24);
    expect(head.readUInt32LE(0)).toBe(0xa1b2c3d4);
    expect(head.readUInt32LE(20)).toBe(1); // LINKTYPE_ETHERNET

    // A test port on the network's switch, as a machine's NIC will be.
    const sw = await s.networks.switchOf('lab');
    const port = sw.addPort({ name: 'test/eth0' });
    const src = new Uint8Array([0x02, 0, 0, 0, 0, 0x42]);
    port.input(arpFrame(src, [10, 9, 0, 1]));
    port.input(arpFrame(src, [10, 9, 0, 7]));
    const file = await cap.ended; // maxFrames=2: the server ends the stream
    sw.removePort(port);
    const pcap = parsePcap(file);
    expect(pcap.linktype).toBe(1);
    expect(pcap.packets.map((p) => p.data.length)).toEqual([42, 42]);
    const path = join(s.dataDir, 'lab.pcap');
    writeFileSync(path, file);
    const out = execFileSync('tshark', ['-r', path, '-T', 'fields', '-e', 'eth.src', '-e', 'arp.dst.proto_ipv4'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    expect(out.trim().split('\n')).toEqual(['02:00:00:00:00:42\t10.9.0.1', '02:00:00:00:00:42\t10.9.0.7']);
  });

  it('stops tapping the switch when the client disconnects', async () => {
    const sw = await s.networks.switchOf('lab');
    const before = sw.tapCount;
    const cap = await openCapture('/v1/networks/lab/capture');
    await until(() => cap.data().length >= 24, 'the pcap header');
    expect(sw.tapCount).toBe(before + 1);
    cap.close();
    await until(() => sw.tapCount === before, 'the capture to end');
  });

  it('answers an unknown network with 404 and a bad maxFrames with 400', async () => {
    expectProblem(await s.http.get('/v1/networks/nosuch/capture').set(s.auth), 404);
    expectProblem(
      await s.http.get('/v1/networks/lab/capture?maxFrames=0').set(s.auth),
      400,
      /'maxFrames' must be >= 1/,
    );
    expectProblem(
      await s.http.get('/v1/networks/lab/capture?snaplen=1').set(s.auth),
      400,
      /unknown query parameter 'snaplen'/,
    );
  });

  it('ends live captures when the network is deleted', async () => {
    await createNet({ name: 'brief', cidr: '10.77.0.0/16' });
    const cap = await openCapture('/v1/networks/brief/capture');
    await until(() => cap.data().length >= 24, 'the pcap header');
    expect((await s.http.delete('/v1/networks/brief').set(s.auth)).status).toBe(204);
    expect(parsePcap(await cap.ended).packets).toEqual([]);
  });
});

describe('events', () => {
  it('logs network creation, changes and deletion with the actor', async () => {
    const res = await s.http.get('/v1/events?limit=500').set(s.auth);
    const net = (res.body as { items: EventView[] }).items.filter((e) => e.subject === 'network');
    const kinds = new Set(net.map((e) => e.kind));
    expect([...kinds].sort()).toEqual(['created', 'deleted', 'updated']);
    expect(net.every((e) => e.actor === 'tester')).toBe(true);
    expect(net.find((e) => e.kind === 'deleted')?.message).toMatch(/network 'brief' deleted/);
  });
});
