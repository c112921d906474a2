/**
 * The host's services on the kernel's own stack, end to end without an emulator: a network's
 * switch with the host stack (gateway, DHCP, DNS) on one port and a "guest" namespace on another
 * (createNetNs + labnic over a NicDevice, as a machine's kernel has it). The guest runs a DHCP
 * client exchange the way busybox udhcpc does (raw frames out, a packet tap in), configures the
 * address it got, resolves machine names with UDP queries to the gateway, and serves TCP that a
 * host port forward reaches. Leases live in a real Store (SQLite in a temporary directory).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Store } from '../../../../src/host/store.js';
import { labnicProbe } from '../../../../src/kernel/drivers/net/labnic.js';
import { devAddPack, devChangeFlags, devQueueXmit } from '../../../../src/kernel/net/core/dev.js';
import { IFF_UP, type NetDevice } from '../../../../src/kernel/net/core/netdevice.js';
import { allocSkb, PACKET_OUTGOING } from '../../../../src/kernel/net/core/skbuff.js';
import { ipFastCsum, tcpUdpChecksum } from '../../../../src/kernel/net/core/checksum.js';
import { createNetNs, netExit } from '../../../../src/kernel/net/init.js';
import { inetAddAddr } from '../../../../src/kernel/net/ipv4/devinet.js';
import { parseIp } from '../../../../src/kernel/net/ipv4/inet_addr.js';
import {
  tcpAcceptNext,
  tcpBind,
  tcpClose,
  tcpKernelSocket,
  tcpListen,
  tcpRead,
  tcpShutdown,
  tcpWrite,
} from '../../../../src/kernel/net/ipv4/tcp.js';
import type { TcpSock } from '../../../../src/kernel/net/ipv4/tcp_sock.js';
import { udpKernelClose, udpKernelOpen, udpKernelSend } from '../../../../src/kernel/net/ipv4/udp.js';
import type { NetNs } from '../../../../src/kernel/net/netns.js';
import { NicDevice } from '../../../../src/machine/dev/nic.js';
import { formatMac, parseMac } from '../../../../src/switch/ethernet.js';
import {
  BOOTREQUEST,
  DHCPACK,
  DHCPDISCOVER,
  DHCPNAK,
  DHCPOFFER,
  DHCPRELEASE,
  DHCPREQUEST,
  OPT_BROADCAST,
  OPT_DNS,
  OPT_DOMAIN_NAME,
  OPT_HOSTNAME,
  OPT_LEASE_TIME,
  OPT_REQUESTED_IP,
  OPT_ROUTER,
  OPT_SERVER_ID,
  OPT_SUBNET_MASK,
  addrOption,
  buildDhcp,
  byteOption,
  dhcpMessageType,
  optionAddr,
  optionText,
  parseDhcp,
  type DhcpMessage,
} from '../../../../src/switch/services/dhcp-message.js';
import { TYPE_A, TYPE_AAAA, buildQuery, parseResponse } from '../../../../src/switch/services/dns-message.js';
import { hostNetEnv } from '../../../../src/switch/services/host-stack.js';
import { NetworkServices } from '../../../../src/switch/services/network-services.js';
import { PortForwarder } from '../../../../src/switch/services/port-forward.js';
import { Switch } from '../../../../src/switch/switch.js';

const silent = { info() {}, warn() {}, error() {}, debug() {} };
const MAC_A = '02:00:00:00:0a:01';
const MAC_B = '02:00:00:00:0b:01';
const GW = parseIp('10.7.0.1')!;

let dir: string;
let store: Store;
let networkId: string;
let sw: Switch;
let services: NetworkServices;
const logs: string[] = [];
/** Frames the host stack put on the switch. */
const hostFrames: Uint8Array[] = [];

/** A guest's namespace with eth0 on a port of the switch (the worker transport's copy included). */
class Guest {
  readonly ns: NetNs;
  readonly dev: NetDevice;
  readonly nic: NicDevice;
  /** IP packets the guest's packet tap saw arriving (udhcpc's AF_PACKET socket, SOCK_DGRAM). */
  readonly rx: Uint8Array[] = [];
  private waiters: Array<() => void> = [];

  constructor(mac: string) {
    this.ns = createNetNs(hostNetEnv(() => {}));
    const port = sw.addPort({
      name: `guest ${mac}`,
      onEgress: (p) => {
        for (let f = p.dequeue(); f !== null; f = p.dequeue()) this.nic.deliver(f.slice());
      },
    });
    this.nic = new NicDevice(parseMac(mac), (frames) => {
      for (const f of frames) port.input(f);
    });
    this.dev = labnicProbe(this.ns, this.nic, 'eth0');
    expect(devChangeFlags(this.dev, this.dev.flags | IFF_UP)).toBe(0);
    devAddPack(this.ns, {
      type: 3, // ETH_P_ALL
      dev: this.dev,
      func: (skb) => {
        if (skb.pktType === PACKET_OUTGOING) return;
        if (skb.protocol === 0x0800) this.rx.push(skb.buf.slice(skb.networkHeader, skb.tail));
        for (const w of this.waiters.splice(0)) w();
      },
    });
  }

  /** Sends a DHCP message from 0.0.0.0:68 to 255.255.255.255:67 as a raw frame (udhcp_send_raw_packet). */
  sendDhcp(m: Uint8Array): void {
    const udpLen = 8 + m.length;
    const f = new Uint8Array(14 + 20 + udpLen);
    f.fill(0xff, 0, 6);
    f.set(this.dev.addr, 6);
    f.set([0x08, 0x00], 12);
    f.set(
      [0x45, 0x00, (20 + udpLen) >> 8, (20 + udpLen) & 0xff, 0, 0, 0, 0, 64, 17, 0, 0, 0, 0, 0, 0, 255, 255, 255, 255],
      14,
    );
    const ipSum = ipFastCsum(f, 14, 20);
    f[24] = ipSum >> 8;
    f[25] = ipSum & 0xff;
    f.set([0, 68, 0, 67, udpLen >> 8, udpLen & 0xff, 0, 0], 34);
    f.set(m, 42);
    const sum = tcpUdpChecksum(f, 34, udpLen, 0, 0xffffffff, 17) || 0xffff;
    f[40] = sum >> 8;
    f[41] = sum & 0xff;
    const skb = allocSkb(f.length);
    skb.buf.set(f, skb.put(f.length));
    skb.dev = this.dev;
    skb.protocol = 0x0800;
    expect(devQueueXmit(skb)).toBe(0);
  }

  /** The next DHCP reply (UDP to port 68) the tap sees. */
  async dhcpReply(xid: number, ms = 5000): Promise<{ msg: DhcpMessage; packet: Uint8Array }> {
    const deadline = Date.now() + ms;
    for (;;) {
      while (this.rx.length) {
        const p = this.rx.shift()!;
        if (p[9] !== 17) continue;
        const u = (p[0]! & 0xf) * 4;
        if (((p[u + 2]! << 8) | p[u + 3]!) !== 68) continue;
        const msg = parseDhcp(p.subarray(u + 8));
        if (msg && msg.xid === xid) return { msg, packet: p };
      }
      if (Date.now() > deadline) throw new Error('no DHCP reply');
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 100);
      });
    }
  }

  close(): void {
    netExit(this.ns);
  }
}

function dhcpMsg(
  type: number,
  mac: string,
  xid: number,
  extra: Array<[number, Uint8Array]> = [],
  ciaddr = 0,
): Uint8Array {
  return buildDhcp({
    op: BOOTREQUEST,
    xid,
    ciaddr,
    chaddr: parseMac(mac),
    options: [byteOption(53, type), ...extra],
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'labvisor-hoststack-'));
  store = await Store.open({ dataDir: dir, log: silent });
  const netRec = await store.createNetwork({
    id: 'n1',
    name: 'lab',
    cidr: '10.7.0.0/24',
    gateway: '10.7.0.1',
    dhcp: true,
    dns: true,
  });
  networkId = netRec.id;
  const base = {
    image: 'busybox',
    memMiB: 64,
    vcpus: 1,
    cmdline: '',
    init: '',
    state: 'created' as const,
    lastExit: null,
    bootCount: 0,
  };
  await store.createMachine({ ...base, id: 'ma', name: 'vm-a' }, [
    { id: 'nic-a', networkId, index: 0, mac: MAC_A, ip: null },
  ]);
  await store.createMachine({ ...base, id: 'mb', name: 'vm-b' }, [
    { id: 'nic-b', networkId, index: 0, mac: MAC_B, ip: '10.7.0.50' },
  ]);
  sw = new Switch();
  services = new NetworkServices(
    sw,
    { cidr: '10.7.0.0/24', gateway: '10.7.0.1', dhcp: true, dns: true, mac: parseMac('02:00:00:00:00:01') },
    {
      hosts: () => store.networkHosts(networkId),
      leases: () => store.listLeases(networkId),
      saveLease: (l) => store.saveLease({ networkId, ...l }),
      deleteLease: (mac) => store.deleteLease(networkId, mac),
    },
    hostNetEnv((m) => logs.push(m)),
  );
  sw.addTap((frame, port) => {
    if (port === services.hostStack!.port) hostFrames.push(frame.slice());
  });
});

afterAll(async () => {
  services?.close();
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('DHCP on the host stack', () => {
  let guest: Guest;
  afterAll(() => guest?.close());

  it('answers DISCOVER with an OFFER and REQUEST with an ACK, broadcast, and stores the lease', async () => {
    guest = new Guest(MAC_A);
    const xid = 0x11223344;
    guest.sendDhcp(dhcpMsg(DHCPDISCOVER, MAC_A, xid));
    const offer = await guest.dhcpReply(xid);
    expect(dhcpMessageType(offer.msg)).toBe(DHCPOFFER);
    // Broadcast at both layers (the switch saw it leave the host's port), from the gateway's port 67.
    expect([...offer.packet.subarray(12, 22)]).toEqual([10, 7, 0, 1, 255, 255, 255, 255, 0, 67]);
    const fromHost = hostFrames.filter((f) => f[23] === 17 && f[37] === 68);
    expect(fromHost.length).toBeGreaterThan(0);
    expect(formatMac(fromHost[0]!.subarray(0, 6))).toBe('ff:ff:ff:ff:ff:ff');
    const yiaddr = offer.msg.yiaddr;
    expect(yiaddr).toBe(parseIp('10.7.0.2')); // the lowest free address (vm-b's .50 is static)
    expect(optionAddr(offer.msg, OPT_SERVER_ID)).toBe(GW);
    expect(optionAddr(offer.msg, OPT_SUBNET_MASK)).toBe(0xffffff00);
    expect(optionAddr(offer.msg, OPT_ROUTER)).toBe(GW);
    expect(optionAddr(offer.msg, OPT_DNS)).toBe(GW);
    expect(optionAddr(offer.msg, OPT_BROADCAST)).toBe(parseIp('10.7.0.255'));
    expect(optionText(offer.msg, OPT_DOMAIN_NAME)).toBe('lab');
    expect(optionText(offer.msg, OPT_HOSTNAME)).toBe('vm-a');
    expect(offer.msg.options.get(OPT_LEASE_TIME)).toEqual(new Uint8Array([0, 0, 0x0e, 0x10]));

    guest.sendDhcp(
      dhcpMsg(DHCPREQUEST, MAC_A, xid, [addrOption(OPT_REQUESTED_IP, yiaddr), addrOption(OPT_SERVER_ID, GW)]),
    );
    const ack = await guest.dhcpReply(xid);
    expect(dhcpMessageType(ack.msg)).toBe(DHCPACK);
    expect(ack.msg.yiaddr).toBe(yiaddr);
    const leases = await store.listLeases(networkId);
    expect(leases).toMatchObject([{ mac: MAC_A, ip: '10.7.0.2', hostname: 'vm-a' }]);
    expect(leases[0]!.expiresAt.getTime()).toBeGreaterThan(Date.now() + 3500_000);
  });

  it('gives a NIC with a static address that address, and NAKs a request for another', async () => {
    const g = new Guest(MAC_B);
    try {
      const xid = 0x5150;
      g.sendDhcp(dhcpMsg(DHCPDISCOVER, MAC_B, xid));
      expect((await g.dhcpReply(xid)).msg.yiaddr).toBe(parseIp('10.7.0.50'));
      g.sendDhcp(dhcpMsg(DHCPREQUEST, MAC_B, xid + 1, [addrOption(OPT_REQUESTED_IP, parseIp('10.7.0.9')!)]));
      const nak = await g.dhcpReply(xid + 1);
      expect(dhcpMessageType(nak.msg)).toBe(DHCPNAK);
      expect(nak.msg.yiaddr).toBe(0);
    } finally {
      g.close();
    }
  });

  it('lets the guest use its address: DNS for machine names at the gateway', async () => {
    expect(inetAddAddr(guest.ns, guest.dev, { address: parseIp('10.7.0.2')!, prefixLen: 24 })).toBe(0);
    const answers: Uint8Array[] = [];
    const us = udpKernelOpen(guest.ns, { addr: 0, port: 0, onDatagram: (d) => void answers.push(d.slice()) });
    if (typeof us === 'number') throw new Error(`udp open ${us}`);
    const ask = async (name: string, qtype = TYPE_A, id = 1): Promise<ReturnType<typeof parseResponse>> => {
      answers.length = 0;
      expect(
        udpKernelSend(us, buildQuery({ id, name, qtype, edns: { udpSize: 1232 } }), GW, 53),
      ).toBeGreaterThanOrEqual(0);
      const deadline = Date.now() + 5000;
      while (answers.length === 0) {
        if (Date.now() > deadline) throw new Error(`no DNS answer for ${name}`);
        await new Promise((r) => setTimeout(r, 10));
      }
      return parseResponse(answers[0]!);
    };
    try {
      const b = await ask('vm-b.lab', TYPE_A, 7);
      expect(b.id).toBe(7);
      expect(b.rcode).toBe(0);
      expect(b.answers.map((a) => [...a.data])).toEqual([[10, 7, 0, 50]]);
      // The leased one, by its bare name, in another case.
      const a = await ask('VM-A');
      expect(a.answers.map((x) => [...x.data])).toEqual([[10, 7, 0, 2]]);
      expect(a.question!.labels).toEqual(['VM-A']);
      const aaaa = await ask('vm-b', TYPE_AAAA);
      expect(aaaa.rcode).toBe(0);
      expect(aaaa.answers).toEqual([]);
      expect((await ask('nobody.lab')).rcode).toBe(3);
    } finally {
      udpKernelClose(us);
    }
  });

  it('forwards a host TCP port to the guest, both ways, with half-close and backpressure', async () => {
    // A guest server that sends back everything it reads, uppercased... in bulk, and closes after the client's FIN.
    const listener = tcpKernelSocket(guest.ns);
    expect(tcpBind(listener, 0, 8080)).toBe(0);
    expect(tcpListen(listener, 16)).toBe(0);
    const conns: TcpSock[] = [];
    let guestRead = 0;
    const serve = (c: TcpSock): void => {
      conns.push(c);
      const out: Uint8Array[] = [];
      let eof = false;
      const pump = (): void => {
        for (;;) {
          const r = tcpRead(c, 65536);
          if (typeof r === 'number') {
            if (r === 0) eof = true;
            break;
          }
          out.push(r);
          guestRead += r.length;
        }
        while (out.length) {
          const n = tcpWrite(c, out[0]!);
          if (n <= 0) break;
          out[0] = out[0]!.subarray(n);
          if (out[0]!.length === 0) out.shift();
        }
        if (eof && out.length === 0) {
          tcpShutdown(c, 1);
          c.onData = c.onWriteSpace = null;
        }
      };
      c.onData = pump;
      c.onWriteSpace = pump;
      pump();
    };
    listener.onData = () => {
      for (let c = tcpAcceptNext(listener); c; c = tcpAcceptNext(listener)) serve(c);
    };
    const fwd = new PortForwarder({
      hostPort: 0,
      target: async () => ({ stack: services.hostStack!, addr: parseIp('10.7.0.2')!, port: 8080 }),
    });
    const port = await fwd.listen();
    try {
      // 1 MiB each way: more than any socket buffer, so both directions must wait for the other side.
      const data = Buffer.alloc(1 << 20);
      for (let i = 0; i < data.length; i++) data[i] = (i * 7 + (i >> 9)) & 0xff;
      const got = await new Promise<Buffer>((resolve, reject) => {
        const c = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
        const parts: Buffer[] = [];
        c.on('data', (b) => parts.push(b));
        c.on('end', () => {
          c.end();
          resolve(Buffer.concat(parts));
        });
        c.on('error', reject);
        c.end(data);
      });
      expect(guestRead).toBe(data.length);
      expect(got.length).toBe(data.length);
      expect(got.equals(data)).toBe(true);

      // A guest port nobody listens on: the guest's RST resets the host connection.
      const refused = new PortForwarder({
        hostPort: 0,
        target: async () => ({ stack: services.hostStack!, addr: parseIp('10.7.0.2')!, port: 9 }),
      });
      const rport = await refused.listen();
      const err = await new Promise<string>((resolve) => {
        const c = net.connect({ port: rport, host: '127.0.0.1' });
        c.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
        c.on('close', () => resolve('closed'));
      });
      expect(err).toBe('ECONNRESET');
      await refused.close();
    } finally {
      await fwd.close();
      for (const c of conns) tcpClose(c);
      tcpClose(listener);
    }
  });

  it('takes a RELEASE: the lease is gone', async () => {
    guest.sendDhcp(dhcpMsg(DHCPRELEASE, MAC_A, 0x77, [addrOption(OPT_SERVER_ID, GW)], parseIp('10.7.0.2')!));
    const deadline = Date.now() + 5000;
    while ((await store.listLeases(networkId)).length > 0) {
      if (Date.now() > deadline) throw new Error('lease not released');
      await new Promise((r) => setTimeout(r, 20));
    }
  });

  it('resets forwarded connections when the services stop, and restarts without DHCP and DNS', async () => {
    const listener = tcpKernelSocket(guest.ns);
    expect(tcpBind(listener, 0, 8081)).toBe(0);
    expect(tcpListen(listener, 4)).toBe(0);
    const accepted: TcpSock[] = [];
    listener.onData = () => {
      for (let c = tcpAcceptNext(listener); c; c = tcpAcceptNext(listener)) accepted.push(c);
    };
    const fwd = new PortForwarder({
      hostPort: 0,
      target: async () => ({ stack: services.hostStack!, addr: parseIp('10.7.0.2')!, port: 8081 }),
    });
    const port = await fwd.listen();
    try {
      const c = net.connect({ port, host: '127.0.0.1' });
      const ended = new Promise<string>((resolve) => {
        c.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
        c.on('close', () => resolve('closed'));
      });
      const deadline = Date.now() + 5000;
      while (accepted.length === 0) {
        if (Date.now() > deadline) throw new Error('the guest never accepted');
        await new Promise((r) => setTimeout(r, 10));
      }
      services.close();
      expect(await ended).toBe('ECONNRESET');
      // The guest got the RST the host stack sent on its way out.
      await new Promise((r) => setTimeout(r, 50));
      expect(tcpRead(accepted[0]!, 10)).toBeLessThan(0);
    } finally {
      await fwd.close();
      for (const c of accepted) tcpClose(c);
      tcpClose(listener);
    }

    services = new NetworkServices(
      sw,
      { cidr: '10.7.0.0/24', gateway: '10.7.0.1', dhcp: false, dns: false, mac: parseMac('02:00:00:00:00:01') },
      {
        hosts: () => store.networkHosts(networkId),
        leases: () => store.listLeases(networkId),
        saveLease: (l) => store.saveLease({ networkId, ...l }),
        deleteLease: (mac) => store.deleteLease(networkId, mac),
      },
      hostNetEnv((m) => logs.push(m)),
    );
    expect(services.hostStack).not.toBeNull();
    expect(services.dhcpServer).toBeNull();
    expect(services.dnsServer).toBeNull();
    guest.sendDhcp(dhcpMsg(DHCPDISCOVER, MAC_A, 0x99));
    await expect(guest.dhcpReply(0x99, 500)).rejects.toThrow(/no DHCP reply/);
    // Nothing listens on 67: the host stack drops the broadcast, counted as Linux counts it
    // (__udp4_lib_mcast_deliver with no socket: UDP_MIB_IGNOREDMULTI, no ICMP for a broadcast).
    expect(services.hostStack!.ns.mib.udp.IgnoredMulti).toBe(1);
    expect(services.hostStack!.ns.mib.udp.InDatagrams).toBe(0);
  });
});
