// UDP and the device ioctls: the kernel UDP API between two namespaces joined by labnics
// (the host's DHCP/DNS path, broadcasts with an output device), UDP sockets through the
// system calls, /proc/net/udp, and the ifconfig/route ioctls (SIOCSIFADDR …, SIOCADDRT).
import { describe, expect, it } from 'vitest';
import * as E from '../../../../src/kernel/errno.js';
import * as N from '../../../../src/kernel/syscall/numbers.js';
import { NicDevice } from '../../../../src/machine/dev/nic.js';
import { createNetNs } from '../../../../src/kernel/net/init.js';
import type { NetNs } from '../../../../src/kernel/net/netns.js';
import { labnicProbe } from '../../../../src/kernel/drivers/net/labnic.js';
import { devChangeFlags } from '../../../../src/kernel/net/core/dev.js';
import { IFF_BROADCAST, IFF_RUNNING, IFF_UP, type NetDevice } from '../../../../src/kernel/net/core/netdevice.js';
import { inetAddAddr } from '../../../../src/kernel/net/ipv4/devinet.js';
import { makeSockaddrIn, parseIp } from '../../../../src/kernel/net/ipv4/inet_addr.js';
import {
  udpKernelClose,
  udpKernelOpen,
  udpKernelSend,
  type UdpDatagramInfo,
} from '../../../../src/kernel/net/ipv4/udp.js';
import { udpSeqShow } from '../../../../src/kernel/net/ipv4/udp_proc.js';
import '../../../../src/kernel/net/ipv4/af_inet.js';
import { socketOfFile } from '../../../../src/kernel/net/syscalls.js';
import {
  SIOCADDRT,
  SIOCDARP,
  SIOCDELRT,
  SIOCGARP,
  SIOCSARP,
  SIOCGIFADDR,
  SIOCGIFBRDADDR,
  SIOCGIFCONF,
  SIOCGIFFLAGS,
  SIOCGIFNETMASK,
  SIOCSIFADDR,
  SIOCSIFFLAGS,
  SIOCSIFMTU,
  SIOCSIFNAME,
  SIOCSIFNETMASK,
  sockGetBindToDevice,
  sockSetBindToDevice,
} from '../../../../src/kernel/net/core/dev_ioctl.js';
import { makeNetEnv, makeNs, BUF, ADDR, LEN, OPT } from '../netlink/helpers.js';
import { UBUF } from '../../fs/helpers.js';
import type { Kernel } from '../../../../src/kernel/kernel.js';

const ip = (s: string): number => parseIp(s)!;
/** Wait until `cond` holds (frames cross the labnic pair at setImmediate turns; ARP first), at most 5 s. */
async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
}

function env(seed: number) {
  let t = 1_000_000_000;
  let r = seed;
  return {
    nowNs: () => (t += 1000),
    realtimeNs: () => t,
    random32: () => (r = (Math.imul(r, 1103515245) + 12345) >>> 0),
    log: () => {},
  };
}

/** Two namespaces, eth0 in each, cabled back to back; `tap` sees every frame. */
function pair(tap?: (from: 'a' | 'b', f: Uint8Array) => Uint8Array | null) {
  const a = createNetNs(env(1));
  const b = createNetNs(env(2));
  const nics: { a?: NicDevice; b?: NicDevice } = {};
  const nicA = new NicDevice(new Uint8Array([2, 0, 0, 0, 0, 1]), (fs) => {
    for (const f of fs) {
      const g = tap ? tap('a', f) : f;
      if (g) nics.b!.deliver(g);
    }
  });
  const nicB = new NicDevice(new Uint8Array([2, 0, 0, 0, 0, 2]), (fs) => {
    for (const f of fs) {
      const g = tap ? tap('b', f) : f;
      if (g) nics.a!.deliver(g);
    }
  });
  nics.a = nicA;
  nics.b = nicB;
  const up = (ns: NetNs, nic: NicDevice, addr: string): NetDevice => {
    const dev = labnicProbe(ns, nic, 'eth0');
    expect(devChangeFlags(dev, dev.flags | IFF_UP)).toBe(0);
    expect(inetAddAddr(ns, dev, { address: ip(addr), prefixLen: 24, broadcast: ip('10.0.0.255') })).toBe(0);
    return dev;
  };
  const devA = up(a, nicA, '10.0.0.1');
  const devB = up(b, nicB, '10.0.0.2');
  return { a, b, devA, devB };
}

describe('kernel UDP API between two namespaces', () => {
  it('broadcast with oif, unicast replies, NoPorts, close', async () => {
    const { a, b, devA, devB } = pair();
    const atA: Array<[string, UdpDatagramInfo]> = [];
    const atB: Array<[string, UdpDatagramInfo]> = [];
    const server = udpKernelOpen(a, {
      addr: 0,
      port: 67,
      onDatagram: (d, i) => atA.push([Buffer.from(d).toString(), i]),
    });
    const client = udpKernelOpen(b, {
      addr: 0,
      port: 68,
      onDatagram: (d, i) => atB.push([Buffer.from(d).toString(), i]),
    });
    if (typeof server === 'number' || typeof client === 'number') throw new Error('open failed');

    // The client broadcasts out of its eth0 (as a DHCP DISCOVER would).
    expect(udpKernelSend(client, new TextEncoder().encode('discover'), 0xffffffff, 67, { oif: devB.ifindex })).toBe(8);
    await until(() => atA.length > 0);
    expect(atA).toEqual([['discover', { saddr: ip('10.0.0.2'), sport: 68, daddr: 0xffffffff, ifindex: devA.ifindex }]]);

    // The server answers by broadcast on its device, then by unicast (ARP resolves first).
    expect(udpKernelSend(server, new TextEncoder().encode('offer'), 0xffffffff, 68, { oif: devA.ifindex })).toBe(5);
    expect(udpKernelSend(server, new TextEncoder().encode('ack'), ip('10.0.0.2'), 68)).toBe(3);
    await until(() => atB.length >= 2);
    expect(atB.map(([d, i]) => [d, i.daddr, i.saddr, i.sport])).toEqual([
      ['offer', 0xffffffff, ip('10.0.0.1'), 67],
      ['ack', ip('10.0.0.2'), ip('10.0.0.1'), 67],
    ]);

    // Nobody on port 9 of A: counted, and answered with port unreachable.
    const before = a.mib.icmp.OutMsgs;
    expect(udpKernelSend(client, new Uint8Array([1]), ip('10.0.0.1'), 9)).toBe(1);
    await until(() => a.mib.udp.NoPorts > 0 && a.mib.icmp.OutMsgs > before);
    expect(a.mib.udp.NoPorts).toBe(1);
    expect(a.mib.icmpMsgOut[3]).toBe(1);
    expect(a.mib.icmp.OutMsgs - before).toBe(1);
    expect(b.mib.udp.OutDatagrams).toBe(2);
    expect(a.mib.udp.InDatagrams).toBe(1);

    udpKernelClose(client);
    expect(udpKernelSend(client, new Uint8Array([1]), ip('10.0.0.1'), 67)).toBe(-E.EBADF);
    // The port is free again.
    const again = udpKernelOpen(b, { addr: 0, port: 68, onDatagram: () => {} });
    expect(typeof again).not.toBe('number');
  });

  it('drops datagrams with a bad checksum (InCsumErrors) and accepts checksum 0', async () => {
    let corrupt: 'no' | 'bad' | 'zero' = 'no';
    const { a, b } = pair((from, f) => {
      // Ethernet 14 + IP 20 + UDP 8: corrupt the payload or clear the checksum of b's datagrams.
      if (from !== 'b' || f.length < 43 || f[23] !== 17) return f;
      const g = f.slice();
      if (corrupt === 'bad') g[42]! ^= 0xff;
      if (corrupt === 'zero') {
        g[40] = 0;
        g[41] = 0;
      }
      return g;
    });
    const got: string[] = [];
    const s = udpKernelOpen(a, { addr: 0, port: 53, onDatagram: (d) => got.push(Buffer.from(d).toString()) });
    const c = udpKernelOpen(b, { addr: 0, port: 0, onDatagram: () => {} });
    if (typeof s === 'number' || typeof c === 'number') throw new Error('open');
    const send = async (mode: typeof corrupt, text: string, done: () => boolean): Promise<void> => {
      corrupt = mode;
      expect(udpKernelSend(c, new TextEncoder().encode(text), ip('10.0.0.1'), 53)).toBe(text.length);
      await until(done);
    };
    await send('no', 'one', () => got.length === 1);
    await send('bad', 'two', () => a.mib.udp.InCsumErrors === 1);
    await send('zero', 'three', () => got.length === 2);
    expect(got).toEqual(['one', 'three']);
    expect(a.mib.udp.InCsumErrors).toBe(1);
    expect(a.mib.udp.InErrors).toBe(1);
  });
});

describe('UDP datagrams larger than the MTU', () => {
  it('are fragmented (no DF) and reassembled; small ones carry DF (IP_PMTUDISC_WANT)', async () => {
    const frames: Uint8Array[] = [];
    const { a, b } = pair((from, f) => {
      if (from === 'b' && f[23] === 17) frames.push(f);
      return f;
    });
    const got: number[] = [];
    const s = udpKernelOpen(a, { addr: 0, port: 7000, onDatagram: (d) => got.push(d.length, d[3999] ?? -1) });
    const c = udpKernelOpen(b, { addr: 0, port: 0, onDatagram: () => {} });
    if (typeof s === 'number' || typeof c === 'number') throw new Error('open');
    expect(udpKernelSend(c, new Uint8Array(1000), ip('10.0.0.1'), 7000)).toBe(1000);
    await until(() => got.length === 2);
    const big = new Uint8Array(4000);
    big[3999] = 0x5a;
    expect(udpKernelSend(c, big, ip('10.0.0.1'), 7000)).toBe(4000);
    await until(() => got.length === 4);
    expect(got).toEqual([1000, -1, 4000, 0x5a]);
    // Frame 0: the small datagram with DF; then 3 fragments of the big one without DF.
    expect(frames.map((f) => f[20]! & 0x40)).toEqual([0x40, 0, 0, 0]);
    expect(frames.slice(1).every((f) => f.length <= 1514)).toBe(true);
  });
});

describe('UDP sockets through the system calls', () => {
  it('echo over lo, FIONREAD, MSG_TRUNC, /proc/net/udp', () => {
    const t = makeNetEnv({ ns: createNetNs(env(5)) });
    const a = t.call(N.SYS_socket, 2, 2, 0);
    const b = t.call(N.SYS_socket, 2, 2, 0);
    expect(a).toBeGreaterThanOrEqual(0);
    t.put(makeSockaddrIn(0x7f000001, 5000), ADDR - UBUF);
    expect(t.call(N.SYS_bind, a, ADDR, 16)).toBe(0);
    t.put(new TextEncoder().encode('hello world'), BUF - UBUF);
    expect(t.call(N.SYS_sendto, b, BUF, 11, 0, ADDR, 16)).toBe(11);
    expect(t.call(N.SYS_ioctl, a, 0x541b, LEN)).toBe(0);
    expect(new DataView(t.get(LEN, 4).buffer).getInt32(0, true)).toBe(11);
    const text = udpSeqShow(t.kernel as unknown as Kernel);
    const lines = text.split('\n');
    expect(lines[0]).toBe(
      '   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops'.padEnd(
        127,
      ),
    );
    expect(lines.some((l) => l.includes('0100007F:1388 00000000:0000 07'))).toBe(true);
    // recvfrom 5 bytes with MSG_TRUNC: the real length.
    const from = UBUF + 0x1200;
    t.put(new Uint8Array([16, 0, 0, 0]), OPT - UBUF);
    expect(t.call(N.SYS_recvfrom, a, BUF + 0x400, 5, 0x20, from, OPT)).toBe(11);
    expect(Buffer.from(t.get(BUF + 0x400, 5)).toString()).toBe('hello');
    const name = t.get(from, 16);
    expect([...name.subarray(0, 2)]).toEqual([2, 0]);
    expect([...name.subarray(4, 8)]).toEqual([127, 0, 0, 1]);
    // The sender was autobound to an ephemeral port.
    const port = (name[2]! << 8) | name[3]!;
    expect(port).toBeGreaterThanOrEqual(32768);
    expect(t.call(N.SYS_recvfrom, a, BUF, 100, 0x40, 0, 0)).toBe(-E.EAGAIN);
  });
});

describe('SO_BINDTODEVICE (sockSetBindToDevice, for sk_setsockopt)', () => {
  it('binds, limits delivery to the device, unbinds; ENODEV; EPERM to rebind unprivileged', () => {
    const ns = createNetNs(env(9));
    const nic = new NicDevice(new Uint8Array([2, 0, 0, 0, 0, 9]), () => {});
    labnicProbe(ns, nic, 'eth0');
    const t = makeNetEnv({ ns });
    const a = t.call(N.SYS_socket, 2, 2, 0);
    const b = t.call(N.SYS_socket, 2, 2, 0);
    const sock = socketOfFile(t.task.files.get(a)!)!;
    const name = (s: string): Uint8Array => new TextEncoder().encode(s + '\0');
    expect(sockSetBindToDevice(sock, t.task, name('nosuch0'))).toBe(-E.ENODEV);
    expect(sockSetBindToDevice(sock, t.task, name('eth0'))).toBe(0);
    expect(Buffer.from(sockGetBindToDevice(sock, t.task, 16) as Uint8Array).toString('latin1')).toBe('eth0\0');
    expect(sockGetBindToDevice(sock, t.task, 8)).toBe(-E.EINVAL);
    t.put(makeSockaddrIn(0, 6000), ADDR - UBUF);
    expect(t.call(N.SYS_bind, a, ADDR, 16)).toBe(0);
    // A datagram over lo does not reach a socket bound to eth0.
    t.put(makeSockaddrIn(0x7f000001, 6000), ADDR - UBUF);
    t.put(new Uint8Array([1, 2, 3]), BUF - UBUF);
    expect(t.call(N.SYS_sendto, b, BUF, 3, 0, ADDR, 16)).toBe(3);
    expect(t.call(N.SYS_recvfrom, a, BUF, 10, 0x40, 0, 0)).toBe(-E.EAGAIN);
    expect(ns.mib.udp.NoPorts).toBe(1);
    // Unbound again (a zero-length name), it does.
    expect(sockSetBindToDevice(sock, t.task, new Uint8Array(0))).toBe(0);
    expect(sockGetBindToDevice(sock, t.task, 16)).toEqual(new Uint8Array(0));
    expect(t.call(N.SYS_sendto, b, BUF, 3, 0, ADDR, 16)).toBe(3);
    expect(t.call(N.SYS_recvfrom, a, BUF, 10, 0x40, 0, 0)).toBe(3);
    const u = makeNetEnv({ ns, uid: 1000 });
    const c = u.call(N.SYS_socket, 2, 2, 0);
    const cs = socketOfFile(u.task.files.get(c)!)!;
    expect(sockSetBindToDevice(cs, u.task, name('eth0'))).toBe(0);
    expect(sockSetBindToDevice(cs, u.task, name('lo'))).toBe(-E.EPERM);
  });
});

/** struct ifreq for `name` with a sockaddr_in or an int/short at offset 16. */
function ifreq(name: string, u?: Uint8Array): Uint8Array {
  const r = new Uint8Array(40);
  for (let i = 0; i < name.length; i++) r[i] = name.charCodeAt(i);
  if (u) r.set(u, 16);
  return r;
}

describe('device ioctls: what ifconfig and route do', () => {
  function withEth0(uid = 0) {
    const ns = makeNs(7);
    const nic = new NicDevice(new Uint8Array([2, 0, 0, 0, 0, 9]), () => {});
    const dev = labnicProbe(ns, nic, 'eth0');
    const t = makeNetEnv({ ns, uid });
    const s = t.call(N.SYS_socket, 2, 2, 0);
    return { ns, dev, t, s };
  }
  const IFR = 0x1000;
  const IFRA = 0x10000000 + IFR;

  it('ifconfig eth0 10.0.0.2 netmask 255.255.255.0 up; route add default gw 10.0.0.1', () => {
    const { ns, dev, t, s } = withEth0();
    t.put(ifreq('eth0', makeSockaddrIn(ip('10.0.0.2'), 0)), IFR);
    expect(t.call(N.SYS_ioctl, s, SIOCSIFADDR, IFRA)).toBe(0);
    expect(dev.ip4!.addrs.map((x) => [x.local, x.prefixLen, x.broadcast])).toEqual([
      [ip('10.0.0.2'), 8, ip('10.255.255.255')],
    ]);
    t.put(ifreq('eth0', makeSockaddrIn(ip('255.255.255.0'), 0)), IFR);
    expect(t.call(N.SYS_ioctl, s, SIOCSIFNETMASK, IFRA)).toBe(0);
    expect(dev.ip4!.addrs.map((x) => [x.local, x.prefixLen, x.broadcast])).toEqual([
      [ip('10.0.0.2'), 24, ip('10.0.0.255')],
    ]);
    // up (busybox reads the flags, ORs IFF_UP|IFF_RUNNING, writes them back)
    t.put(ifreq('eth0'), IFR);
    expect(t.call(N.SYS_ioctl, s, SIOCGIFFLAGS, IFRA)).toBe(0);
    const f0 = new DataView(t.get(IFRA + 16, 2).buffer).getUint16(0, true);
    t.put(ifreq('eth0', new Uint8Array([(f0 | IFF_UP | IFF_RUNNING) & 0xff, (f0 | IFF_UP | IFF_RUNNING) >> 8])), IFR);
    expect(t.call(N.SYS_ioctl, s, SIOCSIFFLAGS, IFRA)).toBe(0);
    expect(dev.isUp).toBe(true);
    t.put(ifreq('eth0'), IFR);
    t.call(N.SYS_ioctl, s, SIOCGIFFLAGS, IFRA);
    const f1 = new DataView(t.get(IFRA + 16, 2).buffer).getUint16(0, true);
    expect(f1 & (IFF_UP | IFF_BROADCAST | IFF_RUNNING)).toBe(IFF_UP | IFF_BROADCAST | IFF_RUNNING);
    expect(ns.fib.routes(254).some((r) => r.dst === ip('10.0.0.0') && r.prefixLen === 24 && r.dev === dev)).toBe(true);
    // getters
    t.put(ifreq('eth0'), IFR);
    expect(t.call(N.SYS_ioctl, s, SIOCGIFADDR, IFRA)).toBe(0);
    expect([...t.get(IFRA + 16, 8)]).toEqual([2, 0, 0, 0, 10, 0, 0, 2]);
    t.call(N.SYS_ioctl, s, SIOCGIFNETMASK, IFRA);
    expect([...t.get(IFRA + 20, 4)]).toEqual([255, 255, 255, 0]);
    t.call(N.SYS_ioctl, s, SIOCGIFBRDADDR, IFRA);
    expect([...t.get(IFRA + 20, 4)]).toEqual([10, 0, 0, 255]);

    // route add default gw 10.0.0.1: struct rtentry (120 bytes).
    const rt = new Uint8Array(120);
    rt.set(makeSockaddrIn(0, 0), 8);
    rt.set(makeSockaddrIn(ip('10.0.0.1'), 0), 24);
    rt.set(makeSockaddrIn(0, 0), 40);
    rt[56] = 0x3; // RTF_UP | RTF_GATEWAY
    t.put(rt, 0x2000);
    expect(t.call(N.SYS_ioctl, s, SIOCADDRT, 0x10002000)).toBe(0);
    const def = ns.fib.routes(254).find((r) => r.prefixLen === 0);
    expect(def && [def.gateway, def.dev?.name, def.protocol, def.scope]).toEqual([ip('10.0.0.1'), 'eth0', 3, 0]);
    expect(t.call(N.SYS_ioctl, s, SIOCADDRT, 0x10002000)).toBe(-E.EEXIST);
    expect(t.call(N.SYS_ioctl, s, SIOCDELRT, 0x10002000)).toBe(0);
    expect(ns.fib.routes(254).some((r) => r.prefixLen === 0)).toBe(false);
    expect(t.call(N.SYS_ioctl, s, SIOCDELRT, 0x10002000)).toBe(-E.ESRCH);
    // A gateway no route reaches.
    rt.set(makeSockaddrIn(ip('192.168.9.1'), 0), 24);
    t.put(rt, 0x2000);
    expect(t.call(N.SYS_ioctl, s, SIOCADDRT, 0x10002000)).toBe(-E.ENETUNREACH);

    // SIOCGIFCONF lists lo and eth0.
    const ifc = new Uint8Array(16);
    new DataView(ifc.buffer).setInt32(0, 400, true);
    new DataView(ifc.buffer).setUint32(8, 0x10003000, true);
    t.put(ifc, 0x2800);
    expect(t.call(N.SYS_ioctl, s, SIOCGIFCONF, 0x10002800)).toBe(0);
    expect(new DataView(t.get(0x10002800, 4).buffer).getInt32(0, true)).toBe(80);
    const names = [0, 40].map((o) =>
      Buffer.from(t.get(0x10003000 + o, 16))
        .toString('latin1')
        .replace(/\0.*$/s, ''),
    );
    expect(names).toEqual(['lo', 'eth0']);

    // arp -s 10.0.0.7 02:00:00:00:00:07 (SIOCSARP, ATF_PERM|ATF_COM), arp -d (SIOCDARP).
    const arp = new Uint8Array(68);
    arp.set(makeSockaddrIn(ip('10.0.0.7'), 0), 0);
    arp.set([1, 0, 2, 0, 0, 0, 0, 7], 16);
    new DataView(arp.buffer).setInt32(32, 0x06, true);
    t.put(arp, 0x2000);
    expect(t.call(N.SYS_ioctl, s, SIOCSARP, 0x10002000)).toBe(0);
    const q = new Uint8Array(68);
    q.set(makeSockaddrIn(ip('10.0.0.7'), 0), 0);
    q.set([101, 116, 104, 48], 52); // "eth0"
    t.put(q, 0x2000);
    expect(t.call(N.SYS_ioctl, s, SIOCGARP, 0x10002000)).toBe(0);
    const got = t.get(0x10002000, 68);
    expect([...got.subarray(16, 24)]).toEqual([1, 0, 2, 0, 0, 0, 0, 7]);
    expect(new DataView(got.buffer, got.byteOffset).getInt32(32, true)).toBe(0x06);
    expect(t.call(N.SYS_ioctl, s, SIOCDARP, 0x10002000)).toBe(0);
    expect(t.call(N.SYS_ioctl, s, SIOCGARP, 0x10002000)).toBe(-E.ENXIO);
    expect(t.call(N.SYS_ioctl, s, SIOCDARP, 0x10002000)).toBe(-E.ENXIO);

    // Renaming needs the device down; ifconfig eth0 0.0.0.0 removes the address.
    t.put(ifreq('eth0', ifreq('net0').subarray(0, 16)), IFR);
    expect(t.call(N.SYS_ioctl, s, SIOCSIFNAME, IFRA)).toBe(-E.EBUSY);
    t.put(ifreq('eth0', makeSockaddrIn(0, 0)), IFR);
    expect(t.call(N.SYS_ioctl, s, SIOCSIFADDR, IFRA)).toBe(0);
    expect(dev.ip4!.addrs).toEqual([]);
    t.put(ifreq('eth0', new Uint8Array([0, 0])), IFR);
    expect(t.call(N.SYS_ioctl, s, SIOCSIFFLAGS, IFRA)).toBe(0);
    t.put(ifreq('eth0', ifreq('net0').subarray(0, 16)), IFR);
    expect(t.call(N.SYS_ioctl, s, SIOCSIFNAME, IFRA)).toBe(0);
    expect(dev.name).toBe('net0');
  });

  it('needs CAP_NET_ADMIN for the set commands; ENODEV, EFAULT', () => {
    const { t, s } = withEth0(1000);
    t.put(ifreq('eth0', makeSockaddrIn(ip('10.0.0.2'), 0)), IFR);
    expect(t.call(N.SYS_ioctl, s, SIOCSIFADDR, IFRA)).toBe(-E.EPERM);
    t.put(ifreq('eth0', new Uint8Array([0xdc, 5, 0, 0])), IFR);
    expect(t.call(N.SYS_ioctl, s, SIOCSIFMTU, IFRA)).toBe(-E.EPERM);
    expect(t.call(N.SYS_ioctl, s, SIOCADDRT, 0x10002000)).toBe(-E.EPERM);
    t.put(ifreq('eth9'), IFR);
    expect(t.call(N.SYS_ioctl, s, SIOCGIFFLAGS, IFRA)).toBe(-E.ENODEV);
    expect(t.call(N.SYS_ioctl, s, SIOCGIFFLAGS, 8)).toBe(-E.EFAULT);
    t.put(ifreq('eth0'), IFR);
    expect(t.call(N.SYS_ioctl, s, SIOCGIFADDR, IFRA)).toBe(-E.EADDRNOTAVAIL);
  });
});
