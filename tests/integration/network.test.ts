/**
 * Issue 6's must-shows, as a lab user meets them: a real `labvisor serve`, networks and machines
 * with NICs created through the REST API, and every command typed into the machines' consoles
 * over WebSockets. Four machines: vm-a and vm-b on lab1, vm-c on lab2, and vm-r on both,
 * routing between them. Addresses are reserved through the API (NicSpec.ip) and handed out by
 * the network's DHCP server, so each check knows what is true:
 *
 *   lab1 10.60.0.0/24, gateway 10.60.0.1: vm-a .11, vm-b .12, vm-r .20
 *   lab2 10.61.0.0/24, gateway 10.61.0.1: vm-c .13, vm-r .20 (eth1)
 *
 * Loss and hostile frames use the server's test hooks (tests/integration/net-hooks.ts), which
 * the server registers when started with LABVISOR_TEST_HOOKS=1.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROMPT } from '../kernel/machine.js';
import { ConsoleClient } from './console-client.js';
import { parseSnmp, Shell } from './guest-shell.js';
import { hostileFrames, spoofedSyn } from './net-frames.js';
import { NetHooks } from './net-hooks.js';
import { ServerProcess } from './server-process.js';

const dataDir = mkdtempSync(join(tmpdir(), 'labvisor-it-network-'));
let server: ServerProcess | null = null;
let token = '';
let hooks: NetHooks;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON bodies of several shapes, checked by expect()
async function api(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const r = await fetch(server!.url + path, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  const text = await r.text();
  return { status: r.status, json: text ? JSON.parse(text) : null };
}

interface Vm {
  id: string;
  name: string;
  macs: string[];
  shell: Shell;
}
const vms: Record<string, Vm> = {};
const nets: Record<string, string> = {};
const sh = (name: string): Shell => vms[name]!.shell;

async function counters(name: string): Promise<Record<string, Record<string, number>>> {
  const text = await sh(name).ok('cat /proc/net/snmp /proc/net/netstat');
  return parseSnmp(text);
}

/** The sha256 of a file in a machine. */
async function sha(name: string, path: string, timeoutMs = 120_000): Promise<string> {
  const out = await sh(name).ok(`sha256sum ${path}`, timeoutMs);
  const m = /^([0-9a-f]{64})\s/m.exec(out);
  expect(m, `${name}: sha256sum ${path}:\n${out}`).not.toBeNull();
  return m![1]!;
}

/**
 * Moves `path` from `from` to `to` with busybox nc (listener on `to`, in the foreground of its
 * console, until the sender's half-close ends it), and checks the sha256 on both sides.
 * Returns the transfer's wall time in seconds.
 */
async function ncTransfer(from: string, to: string, dest: string, port: number, path: string, timeoutMs: number) {
  const want = await sha(from, path);
  const listening = sh(to).start(`nc -l -p ${port} > /tmp/rx; ls -l /tmp/rx`);
  listening.catch(() => {}); // awaited below; not an unhandled rejection if the sender fails first
  const t0 = performance.now();
  // The listener may not be up yet: retry a refused connection.
  const sent = await sh(from).run(
    `for i in $(seq 1 30); do nc ${dest} ${port} < ${path} && break; sleep 1; false; done`,
    timeoutMs,
  );
  expect(sent.rc, `${from}: nc ${dest} ${port}:\n${sent.out}`).toBe(0);
  const got = await listening;
  const seconds = (performance.now() - t0) / 1000;
  expect(got.rc, `${to}: nc -l:\n${got.out}`).toBe(0);
  expect(await sha(to, '/tmp/rx')).toBe(want);
  return seconds;
}

/** A pcap stream cut by our abort may end inside a record: keep the whole records (tshark rejects a torn one). */
function wholeRecords(buf: Buffer): Buffer {
  if (buf.length < 24) throw new Error(`the capture is ${buf.length} bytes, shorter than a pcap header`);
  const le = buf.readUInt32LE(0) === 0xa1b2c3d4 || buf.readUInt32LE(0) === 0xa1b23c4d;
  let off = 24;
  while (off + 16 <= buf.length) {
    const incl = le ? buf.readUInt32LE(off + 8) : buf.readUInt32BE(off + 8);
    if (off + 16 + incl > buf.length) break;
    off += 16 + incl;
  }
  return buf.subarray(0, off);
}

const LAB1 = { name: 'lab1', cidr: '10.60.0.0/24', gateway: '10.60.0.1' };
const LAB2 = { name: 'lab2', cidr: '10.61.0.0/24', gateway: '10.61.0.1' };
const IP = { a: '10.60.0.11', b: '10.60.0.12', r1: '10.60.0.20', r2: '10.61.0.20', c: '10.61.0.13' };

beforeAll(async () => {
  process.env['LABVISOR_TEST_HOOKS'] = '1';
  server = await ServerProcess.start(dataDir);
  token = server.token() ?? '';
  expect(token, `first start prints the token:\n${server.output}`).toMatch(/^lvt_/);
  hooks = new NetHooks(server.url, token);

  for (const n of [LAB1, LAB2]) {
    const r = await api('POST', '/v1/networks', { ...n, dhcp: true, dns: true });
    expect(r.status, JSON.stringify(r.json)).toBe(201);
    nets[n.name] = r.json.id;
  }
  const specs: Array<[string, number, Array<{ network: string; ip: string }>]> = [
    ['vm-a', 160, [{ network: 'lab1', ip: IP.a }]],
    ['vm-b', 160, [{ network: 'lab1', ip: IP.b }]],
    [
      'vm-r',
      96,
      [
        { network: 'lab1', ip: IP.r1 },
        { network: 'lab2', ip: IP.r2 },
      ],
    ],
    ['vm-c', 96, [{ network: 'lab2', ip: IP.c }]],
  ];
  for (const [name, memMiB, nics] of specs) {
    const r = await api('POST', '/v1/vms', { name, memMiB, nics });
    expect(r.status, JSON.stringify(r.json)).toBe(201);
    expect(r.json.nics).toHaveLength(nics.length);
    vms[name] = { id: r.json.id, name, macs: r.json.nics.map((n: { mac: string }) => n.mac), shell: null as never };
  }
  await Promise.all(
    Object.values(vms).map(async (vm) => {
      const started = await api('POST', `/v1/vms/${vm.id}/start`);
      expect(started.status, JSON.stringify(started.json)).toBe(200);
      const con = await ConsoleClient.open(`${server!.url.replace('http', 'ws')}/v1/vms/${vm.id}/console`, token);
      con.resize(250, 50); // long command lines must not wrap
      con.send('\n');
      await con.expect(PROMPT, 240_000);
      vm.shell = new Shell(vm.name, con);
      // DHCP: wait until eth0 has its address (the default image runs udhcpc at boot).
      const out = await vm.shell.ok(
        'for i in $(seq 1 120); do ip -4 addr show dev eth0 2>/dev/null | grep -q "inet " && break; sleep 1; done; ip -4 addr show dev eth0',
        180_000,
      );
      const want = vm.name === 'vm-a' ? IP.a : vm.name === 'vm-b' ? IP.b : vm.name === 'vm-r' ? IP.r1 : IP.c;
      expect(out, `${vm.name} eth0 got its reserved address by DHCP`).toContain(`inet ${want}/24`);
    }),
  );
}, 420_000);

afterAll(async () => {
  for (const vm of Object.values(vms)) vm.shell?.con.close();
  await server?.stop(120_000);
  rmSync(dataDir, { recursive: true, force: true });
});

describe('two machines on one network', () => {
  it('ping -c 3 vm-b from vm-a, by name (DNS) through the switch', async () => {
    const out = await sh('vm-a').ok('ping -c 3 vm-b', 60_000);
    expect(out).toMatch(new RegExp(`PING vm-b \\(${IP.b.replace(/\./g, '\\.')}\\)`));
    expect(out).toMatch(/3 packets transmitted, 3 packets received, 0% packet loss/);
    expect(out).toMatch(/seq=2 ttl=64 time=/);
  }, 90_000);

  it('ip addr, ip route, ip neigh, ifconfig, route -n and /proc/net/arp say what is true', async () => {
    const a = sh('vm-a');
    const macA = vms['vm-a']!.macs[0]!;
    const macB = vms['vm-b']!.macs[0]!;
    const re = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

    const addr = await a.ok('ip addr');
    expect(addr).toMatch(/^\d+: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536/m);
    expect(addr).toContain('inet 127.0.0.1/8');
    expect(addr).toMatch(/^\d+: eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500/m);
    expect(addr).toContain(`link/ether ${macA} brd ff:ff:ff:ff:ff:ff`);
    expect(addr).toMatch(new RegExp(`inet ${re(IP.a)}/24 (?:brd 10\\.60\\.0\\.255 )?.*eth0`));

    const route = await a.ok('ip route');
    expect(route).toMatch(/^default via 10\.60\.0\.1 dev eth0/m);
    expect(route).toMatch(new RegExp(`^10\\.60\\.0\\.0/24 dev eth0 .*src ${re(IP.a)}`, 'm'));

    // ping left a neighbour entry for vm-b with its MAC.
    const neigh = await a.ok('ip neigh');
    expect(neigh).toMatch(
      new RegExp(`^${re(IP.b)} dev eth0 lladdr ${macB}(?: .*)? (REACHABLE|STALE|DELAY|PROBE)`, 'm'),
    );
    const arp = await a.ok('cat /proc/net/arp');
    expect(arp).toMatch(/^IP address\s+HW type\s+Flags\s+HW address\s+Mask\s+Device$/m);
    expect(arp).toMatch(new RegExp(`^${re(IP.b)}\\s+0x1\\s+0x2\\s+${macB}\\s+\\*\\s+eth0$`, 'm'));

    const ifc = await a.ok('ifconfig eth0');
    expect(ifc).toMatch(new RegExp(`^eth0\\s+Link encap:Ethernet\\s+HWaddr ${macA}`, 'mi'));
    expect(ifc).toMatch(new RegExp(`inet addr:${re(IP.a)}\\s+Bcast:10\\.60\\.0\\.255\\s+Mask:255\\.255\\.255\\.0`));
    expect(ifc).toMatch(/UP BROADCAST RUNNING MULTICAST\s+MTU:1500/);
    expect(ifc).toMatch(/RX packets:[1-9]\d*/);
    const lo = await a.ok('ifconfig lo');
    expect(lo).toMatch(/inet addr:127\.0\.0\.1\s+Mask:255\.0\.0\.0/);

    const rt = await a.ok('route -n');
    expect(rt).toMatch(/^0\.0\.0\.0\s+10\.60\.0\.1\s+0\.0\.0\.0\s+UG\s+\d+\s+\d+\s+\d+\s+eth0$/m);
    expect(rt).toMatch(/^10\.60\.0\.0\s+0\.0\.0\.0\s+255\.255\.255\.0\s+U\s+\d+\s+\d+\s+\d+\s+eth0$/m);

    // vm-b learnt vm-a's address from the pings too.
    const neighB = await sh('vm-b').ok('ip neigh show dev eth0');
    expect(neighB).toMatch(new RegExp(`^${re(IP.a)} lladdr ${macA} `, 'm'));
  }, 120_000);

  it('busybox httpd on vm-b serves files that wget on vm-a fetches; netstat -tan shows LISTEN and ESTABLISHED', async () => {
    const b = sh('vm-b');
    const a = sh('vm-a');
    await b.ok(
      'mkdir -p /www && echo "hello from vm-b over TCP" > /www/x && dd if=/dev/urandom of=/www/big bs=1024 count=300 2>/dev/null',
    );
    await b.ok('httpd -p 80 -h /www');
    const listen = await b.ok('netstat -tan');
    expect(listen).toMatch(/^Proto Recv-Q Send-Q Local Address\s+Foreign Address\s+State/m);
    expect(listen).toMatch(/^tcp6?\s+0\s+0\s+(?:0\.0\.0\.0|::):80\s+(?:0\.0\.0\.0|::):\*\s+LISTEN\s*$/m);

    const got = await a.ok('wget -O - http://vm-b/x', 60_000);
    expect(got).toContain('hello from vm-b over TCP');
    const bigB = await sha('vm-b', '/www/big');
    const bigA = await a.ok('wget -q -O - http://vm-b/big | sha256sum', 120_000);
    expect(bigA).toContain(bigB);

    // A connection held open (nc's stdin is a pipe from sleep): both ends list it as ESTABLISHED.
    await a.ok('sleep 30 | nc vm-b 80 > /dev/null &');
    const re = (s: string) => s.replace(/\./g, '\\.');
    let estA = '';
    for (let i = 0; i < 20 && !/ESTABLISHED/.test(estA); i++) estA = await a.ok('sleep 1; netstat -tan');
    expect(estA).toMatch(new RegExp(`^tcp\\s+0\\s+0\\s+${re(IP.a)}:\\d+\\s+${re(IP.b)}:80\\s+ESTABLISHED\\s*$`, 'm'));
    const estB = await b.ok('netstat -tan');
    expect(estB).toMatch(new RegExp(`^tcp\\s+0\\s+0\\s+${re(IP.b)}:80\\s+${re(IP.a)}:\\d+\\s+ESTABLISHED\\s*$`, 'm'));
    expect(estB).toMatch(/:80\s+\S+\s+LISTEN/);
    await a.ok('kill $! 2>/dev/null; true');
  }, 240_000);

  it('nc moves 20 MiB from vm-a to vm-b with the same sha256 on both sides', async () => {
    await sh('vm-a').ok('dd if=/dev/urandom of=/tmp/f bs=1M count=20 2>/dev/null && ls -l /tmp/f', 180_000);
    const s = await ncTransfer('vm-a', 'vm-b', 'vm-b', 9000, '/tmp/f', 300_000);
    const size = await sh('vm-b').ok('wc -c < /tmp/rx');
    expect(size.trim()).toBe(String(20 * 1024 * 1024));
    console.log(`20 MiB vm-a → vm-b through nc: ${s.toFixed(1)} s, ${(20 / s).toFixed(2)} MiB/s`);
  }, 600_000);

  it('a pcap capture of a wget shows the handshake, the GET and the FINs, with no checksum errors', async () => {
    const ac = new AbortController();
    const res = await fetch(`${server!.url}/v1/networks/${nets['lab1']}/capture`, {
      headers: { authorization: `Bearer ${token}` },
      signal: ac.signal,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/vnd\.tcpdump\.pcap/);
    const chunks: Uint8Array[] = [];
    const reading = (async () => {
      const reader = res.body!.getReader();
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          chunks.push(value);
        }
      } catch {
        // aborted: the capture is what arrived until then
      }
    })();
    const got = await sh('vm-a').ok('wget -O - http://vm-b/x', 60_000);
    expect(got).toContain('hello from vm-b over TCP');
    // Let the last ACKs of the close cross the switch, then end the capture.
    await new Promise((r) => setTimeout(r, 2000));
    ac.abort();
    await reading;
    const file = join(dataDir, 'wget.pcap');
    writeFileSync(file, wholeRecords(Buffer.concat(chunks)));

    const tshark = (args: string[]) =>
      execFileSync('tshark', ['-r', file, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const text = tshark(['-Y', 'tcp.port == 80']);
    const A = IP.a.replace(/\./g, '\\.');
    const B = IP.b.replace(/\./g, '\\.');
    const line = (src: string, dst: string, rest: string) =>
      new RegExp(`${src} \\S+ ${dst}\\s+(?:TCP|HTTP)\\s+\\d+\\s+${rest}`, 'm');
    expect(text, text).toMatch(line(A, B, '\\d+ \\S+ 80 \\[SYN\\]'));
    expect(text, text).toMatch(line(B, A, '80 \\S+ \\d+ \\[SYN, ACK\\]'));
    expect(text, text).toMatch(line(A, B, '\\d+ \\S+ 80 \\[ACK\\]'));
    expect(text, text).toMatch(line(A, B, 'GET /x HTTP/1\\.[01]'));
    // The FIN exchange: a FIN may ride on the last data segment (shown as HTTP, not [FIN, …]), so by field.
    const fins = tshark(['-Y', 'tcp.port == 80 && tcp.flags.fin == 1', '-T', 'fields', '-e', 'ip.src']);
    expect(fins.trim().split('\n').sort(), 'FIN from each side').toEqual(expect.arrayContaining([IP.a, IP.b]));

    const check = ['-o', 'tcp.check_checksum:TRUE', '-o', 'ip.check_checksum:TRUE'];
    const bad = tshark([...check, '-Y', 'tcp.checksum.status==Bad || ip.checksum.status==Bad']);
    expect(bad, 'frames with bad checksums').toBe('');
    // …and the checking was on: the same run calls the TCP checksums good.
    const good = tshark([...check, '-Y', 'tcp.port == 80 && tcp.checksum.status==Good && ip.checksum.status==Good']);
    expect(good.trim().split('\n').length).toBeGreaterThanOrEqual(6);
  }, 120_000);
});

describe('three machines on two networks, vm-r routing', () => {
  it('a TCP transfer crosses the router (ip_forward and static routes)', async () => {
    const r = sh('vm-r');
    await r.ok('echo 1 > /proc/sys/net/ipv4/ip_forward');
    expect((await r.ok('cat /proc/sys/net/ipv4/ip_forward')).trim()).toBe('1');
    // eth1 by DHCP if the image configures it, else by hand with its reserved address.
    await r.ok(
      `ip -4 addr show dev eth1 | grep -q "inet " || { ip link set eth1 up && ip addr add ${IP.r2}/24 dev eth1; }`,
    );
    expect(await r.ok('ip -4 addr show dev eth1')).toContain(`inet ${IP.r2}/24`);
    await sh('vm-a').ok(`ip route add 10.61.0.0/24 via ${IP.r1}`);
    await sh('vm-c').ok(`ip route add 10.60.0.0/24 via ${IP.r2}`);
    expect(await sh('vm-a').ok('route -n')).toMatch(
      new RegExp(`^10\\.61\\.0\\.0\\s+${IP.r1.replace(/\./g, '\\.')}\\s+255\\.255\\.255\\.0\\s+UG\\s.*eth0$`, 'm'),
    );

    const before = (await counters('vm-r'))['Ip']!;
    // One hop: the TTL arrives decremented.
    const ping = await sh('vm-a').ok(`ping -c 2 ${IP.c}`, 60_000);
    expect(ping).toMatch(/2 packets received/);
    expect(ping).toMatch(/ttl=63/);

    await sh('vm-a').ok('head -c 4194304 /tmp/f > /tmp/g');
    const s = await ncTransfer('vm-a', 'vm-c', IP.c, 9100, '/tmp/g', 300_000);
    console.log(`4 MiB vm-a → vm-r → vm-c: ${s.toFixed(1)} s`);
    const after = (await counters('vm-r'))['Ip']!;
    expect(after['ForwDatagrams']! - before['ForwDatagrams']!).toBeGreaterThan((4 * 1024 * 1024) / 1500);
  }, 420_000);
});

describe('TCP under 5% loss (test hook on the switch port)', () => {
  it('5 MiB still arrive intact, and /proc/net/snmp counts the retransmissions', async () => {
    await sh('vm-a').ok('head -c 5242880 /tmp/f > /tmp/l');
    const before = (await counters('vm-a'))['Tcp']!;
    await hooks.setLoss(nets['lab1']!, 'vm-b', 0.05, { seed: 6 });
    try {
      const s = await ncTransfer('vm-a', 'vm-b', 'vm-b', 9200, '/tmp/l', 420_000);
      console.log(`5 MiB with 5% loss: ${s.toFixed(1)} s`);
      const ports = await hooks.ports(nets['lab1']!);
      const lost = ports.reduce((n, p) => n + p.stats.rxDropped.loss + p.stats.txDropped.loss, 0);
      expect(lost, JSON.stringify(ports)).toBeGreaterThan(50);
    } finally {
      await hooks.setLoss(nets['lab1']!, 'vm-b', 0);
    }
    const after = (await counters('vm-a'))['Tcp']!;
    expect(after['RetransSegs']! - before['RetransSegs']!).toBeGreaterThan(0);
  }, 600_000);
});

describe('hostile frames', () => {
  it('malformed frames and a SYN flood at 10,000/s are dropped and counted; vm-b and the server stay up', async () => {
    const b = vms['vm-b']!;
    const SRC_MAC = '02:00:00:00:ee:01';
    const SRC_IP = '10.60.0.199';
    const before = await counters('vm-b');
    const port = await hooks.inject(nets['lab1']!);
    try {
      const frames = hostileFrames(SRC_MAC, SRC_IP, b.macs[0]!, IP.b);
      for (let round = 0; round < 3; round++) {
        for (const [, f] of frames) port.send(f);
        await port.flush();
        await new Promise((r) => setTimeout(r, 200));
      }
      // Still answering between the two attacks.
      expect(await sh('vm-b').ok('echo alive-$((40+2))')).toContain('alive-42');
      expect(await sh('vm-a').ok(`ping -c 2 ${IP.b}`, 60_000)).toMatch(/2 packets received/);

      // SYN flood: 10,000 SYNs a second for 3 s at httpd's port, from spoofed sources.
      const RATE = 10_000;
      const SECONDS = 3;
      const t0 = performance.now();
      let sent = 0;
      while (sent < RATE * SECONDS) {
        const due = Math.min(RATE * SECONDS, Math.floor(((performance.now() - t0) / 1000) * RATE));
        for (; sent < due; sent++) port.send(spoofedSyn(SRC_MAC, b.macs[0]!, IP.b, 80, sent + 1));
        await new Promise((r) => setTimeout(r, 5));
      }
      await port.flush();
      const took = (performance.now() - t0) / 1000;
      expect(took, 'the flood was sent at about the asked rate').toBeLessThan(SECONDS * 1.5);
    } finally {
      port.close();
    }

    // The machine's console answers, the server is up, the machine still running.
    expect(await sh('vm-b').ok('echo still-$((40+2))', 60_000)).toContain('still-42');
    expect((await fetch(`${server!.url}/healthz`)).status).toBe(200);
    expect((await api('GET', `/v1/vms/${b.id}`)).json.state).toBe('running');

    // What was dropped was counted, as Linux counts it.
    const after = await counters('vm-b');
    const d = (g: string, k: string) => (after[g]?.[k] ?? 0) - (before[g]?.[k] ?? 0);
    expect(d('Ip', 'InHdrErrors'), 'bad IPv4 headers').toBeGreaterThan(0);
    expect(d('Tcp', 'InCsumErrors'), 'bad TCP checksums').toBeGreaterThan(0);
    expect(d('Icmp', 'InErrors'), 'bad ICMP').toBeGreaterThan(0);
    expect(d('Udp', 'InErrors'), 'bad UDP').toBeGreaterThan(0);
    expect(d('Ip', 'ReasmFails'), 'the oversized reassembly').toBeGreaterThan(0);
    const flood =
      d('TcpExt', 'SyncookiesSent') +
      d('TcpExt', 'ListenOverflows') +
      d('TcpExt', 'ListenDrops') +
      d('TcpExt', 'TCPReqQFullDrop') +
      d('TcpExt', 'TCPReqQFullDoCookies');
    expect(flood, 'the SYN flood overflowed the SYN queue (cookies or drops, counted)').toBeGreaterThan(0);

    // And httpd serves again (at once with SYN cookies; once the half-open entries time out otherwise).
    const again = await sh('vm-a').ok(
      'for i in $(seq 1 40); do wget -q -T 3 -O - http://vm-b/x && break; sleep 2; done',
      150_000,
    );
    expect(again).toContain('hello from vm-b over TCP');
  }, 300_000);
});
