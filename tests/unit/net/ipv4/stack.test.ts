import { afterEach, describe, expect, it } from 'vitest';
import { addNic, echoRequest, ip, makeHost, payloadSkb, settle, wire, type Host } from './helpers.js';
import { netExit } from '../../../../src/kernel/net/init.js';
import { ipSend } from '../../../../src/kernel/net/ipv4/ip_output.js';
import {
  inetAddProtocol,
  inetDelProtocol,
  inetSetRawDeliver,
  type IcmpErr,
} from '../../../../src/kernel/net/ipv4/protocol.js';
import {
  fibAddRoute,
  fibDelRoute,
  makeRoute,
  RTN_LOCAL,
  RTN_UNICAST,
  RTN_BROADCAST,
  RT_TABLE_LOCAL,
  RT_TABLE_MAIN,
  RTPROT_KERNEL,
} from '../../../../src/kernel/net/ipv4/fib.js';
import { ipRouteOutput } from '../../../../src/kernel/net/ipv4/route.js';
import { inetAddrType, inetSelectAddr, ipDevFindByAddr, inetDelAddr } from '../../../../src/kernel/net/ipv4/devinet.js';
import {
  NUD_DELAY,
  NUD_FAILED,
  NUD_REACHABLE,
  NUD_PERMANENT,
  neighUpdate,
  neighDelete,
} from '../../../../src/kernel/net/core/neighbour.js';
import { formatProcNetArp } from '../../../../src/kernel/net/ipv4/arp.js';
import { formatProcNetRoute } from '../../../../src/kernel/net/ipv4/fib.js';
import {
  formatProcNetDev,
  formatProcNetSnmp,
  formatProcNetNetstat,
} from '../../../../src/kernel/net/core/net-procfs.js';
import { readAddr, writeAddr } from '../../../../src/kernel/net/ipv4/inet_addr.js';
import { ipFastCsum } from '../../../../src/kernel/net/core/checksum.js';
import type { SkBuff } from '../../../../src/kernel/net/core/skbuff.js';
import type { NetNs } from '../../../../src/kernel/net/netns.js';
import * as E from '../../../../src/kernel/errno.js';

const PROTO_TEST = 253; // RFC 3692 experimentation

const hosts: Host[] = [];
function host(): Host {
  const h = makeHost();
  hosts.push(h);
  return h;
}
afterEach(() => {
  for (const h of hosts.splice(0)) netExit(h.ns);
  inetSetRawDeliver(null);
});

/** Two hosts on one link: A 10.0.0.1/24, B 10.0.0.2/24. */
function pair(): { a: Host; b: Host; ea: ReturnType<typeof addNic>; eb: ReturnType<typeof addNic> } {
  const a = host();
  const b = host();
  const ea = addNic(a, 'eth0', '10.0.0.1/24');
  const eb = addNic(b, 'eth0', '10.0.0.2/24');
  wire(ea, eb);
  return { a, b, ea, eb };
}

/** Record ICMP packets delivered in `ns` (type, code, data) through the raw-deliver hook. */
function icmpLog(): { seen: { ns: NetNs; type: number; code: number; ttl: number; saddr: number; skb: SkBuff }[] } {
  const log = { seen: [] as { ns: NetNs; type: number; code: number; ttl: number; saddr: number; skb: SkBuff }[] };
  inetSetRawDeliver((ns, skb, protocol) => {
    if (protocol !== 1) return false;
    log.seen.push({
      ns,
      type: skb.buf[skb.data]!,
      code: skb.buf[skb.data + 1]!,
      ttl: skb.buf[skb.networkHeader + 8]!,
      saddr: skb.saddr,
      skb: skb.copy(),
    });
    return false;
  });
  return log;
}

describe('routing tables and addresses', () => {
  it('an address gives local, broadcast and prefix routes as fib_add_ifaddr does', () => {
    const a = host();
    const { dev } = addNic(a, 'eth0', '192.168.1.10/24');
    const local = a.ns.fib.routes(RT_TABLE_LOCAL).map((r) => [r.dst, r.prefixLen, r.type, r.dev?.name]);
    expect(local).toContainEqual([ip('192.168.1.10'), 32, RTN_LOCAL, 'eth0']);
    expect(local).toContainEqual([ip('192.168.1.255'), 32, RTN_BROADCAST, 'eth0']);
    expect(local).toContainEqual([ip('127.0.0.1'), 32, RTN_LOCAL, 'lo']);
    expect(local).toContainEqual([ip('127.0.0.0'), 8, RTN_LOCAL, 'lo']);
    const main = a.ns.fib.routes(RT_TABLE_MAIN);
    expect(main).toHaveLength(1);
    expect(main[0]).toMatchObject({
      dst: ip('192.168.1.0'),
      prefixLen: 24,
      type: RTN_UNICAST,
      protocol: RTPROT_KERNEL,
      prefsrc: ip('192.168.1.10'),
    });
    expect(inetAddrType(a.ns, ip('192.168.1.10'))).toBe(RTN_LOCAL);
    expect(inetAddrType(a.ns, ip('127.3.4.5'))).toBe(RTN_LOCAL);
    expect(inetAddrType(a.ns, ip('192.168.1.255'))).toBe(RTN_BROADCAST);
    expect(inetAddrType(a.ns, ip('8.8.8.8'))).toBe(RTN_UNICAST);
    expect(ipDevFindByAddr(a.ns, ip('192.168.1.10'))).toBe(dev);
    expect(inetSelectAddr(dev, ip('192.168.1.77'), 0)).toBe(ip('192.168.1.10'));
    // A default route needs a reachable gateway.
    expect(fibAddRoute(a.ns, makeRoute({ dst: 0, prefixLen: 0, gateway: ip('10.9.9.9') }))).toBe(-E.ENETUNREACH);
    expect(fibAddRoute(a.ns, makeRoute({ dst: 0, prefixLen: 0, gateway: ip('192.168.1.1') }))).toBe(0);
    expect(fibAddRoute(a.ns, makeRoute({ dst: 0, prefixLen: 0, gateway: ip('192.168.1.1') }))).toBe(-E.EEXIST);
    const rt = ipRouteOutput(a.ns, { daddr: ip('8.8.8.8') });
    expect(rt).toMatchObject({ gateway: ip('192.168.1.1'), src: ip('192.168.1.10'), dev });
    const lrt = ipRouteOutput(a.ns, { daddr: ip('192.168.1.10') });
    expect(typeof lrt !== 'number' && lrt.dev.name).toBe('lo');
    // Down: routes through the device go; up again: the address's routes come back (not the static one).
    expect(inetDelAddr(a.ns, dev, ip('192.168.1.10'), 24)).toBe(0);
    expect(a.ns.fib.routes(RT_TABLE_MAIN)).toHaveLength(0);
    expect(inetAddrType(a.ns, ip('192.168.1.10'))).toBe(RTN_UNICAST);
  });

  it('looks up the longest prefix, then the lowest metric; replaces and deletes', () => {
    const a = host();
    const { dev } = addNic(a, 'eth0', '10.0.0.1/24');
    const { dev: dev1 } = addNic(a, 'eth1', '10.0.1.1/24');
    expect(
      fibAddRoute(a.ns, makeRoute({ dst: ip('172.16.0.0'), prefixLen: 12, gateway: ip('10.0.0.254'), priority: 10 })),
    ).toBe(0);
    expect(
      fibAddRoute(a.ns, makeRoute({ dst: ip('172.16.0.0'), prefixLen: 12, gateway: ip('10.0.1.254'), priority: 5 })),
    ).toBe(0);
    expect(
      fibAddRoute(a.ns, makeRoute({ dst: ip('172.16.5.0'), prefixLen: 24, gateway: ip('10.0.0.253'), priority: 100 })),
    ).toBe(0);
    expect(fibAddRoute(a.ns, makeRoute({ dst: ip('172.16.5.1'), prefixLen: 24 }))).toBe(-E.EINVAL); // host bits
    const via = (d: string): number | null => {
      const r = ipRouteOutput(a.ns, { daddr: ip(d) });
      return typeof r === 'number' ? r : r.gateway;
    };
    expect(via('172.16.5.9')).toBe(ip('10.0.0.253'));
    expect(via('172.17.0.1')).toBe(ip('10.0.1.254'));
    expect(via('8.8.8.8')).toBe(-E.ENETUNREACH);
    // With an output device only its routes count; without one, on link.
    const r0 = ipRouteOutput(a.ns, { daddr: ip('172.17.0.1'), oif: dev.ifindex });
    expect(typeof r0 !== 'number' && r0.gateway).toBe(ip('10.0.0.254'));
    const r1 = ipRouteOutput(a.ns, { daddr: ip('8.8.8.8'), oif: dev1.ifindex });
    expect(typeof r1 !== 'number' && [r1.gateway, r1.src]).toEqual([0, ip('10.0.1.1')]);
    // replace keeps one route per (prefix, tos, metric).
    expect(
      fibAddRoute(
        a.ns,
        makeRoute({ dst: ip('172.16.0.0'), prefixLen: 12, gateway: ip('10.0.0.9'), priority: 5 }),
        true,
      ),
    ).toBe(0);
    expect(via('172.17.0.1')).toBe(ip('10.0.0.9'));
    expect(fibDelRoute(a.ns, { dst: ip('172.16.0.0'), prefixLen: 12, priority: 5 })).toBe(0);
    expect(via('172.17.0.1')).toBe(ip('10.0.0.254'));
    expect(fibDelRoute(a.ns, { dst: ip('172.16.0.0'), prefixLen: 13 })).toBe(-E.ESRCH);
  });

  it('/proc/net/route is the main table in Linux format', () => {
    const a = host();
    addNic(a, 'eth0', '10.0.2.15/24');
    fibAddRoute(a.ns, makeRoute({ dst: 0, prefixLen: 0, gateway: ip('10.0.2.2'), priority: 100 }));
    const pad = (s: string): string => `${s.padEnd(127)}\n`;
    expect(formatProcNetRoute(a.ns)).toBe(
      pad('Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT') +
        pad('eth0\t0002000A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0') +
        pad('eth0\t00000000\t0202000A\t0003\t0\t0\t100\t00000000\t0\t0\t0'),
    );
  });
});

describe('two hosts on a wire', () => {
  it('resolves with ARP and answers ping; /proc/net/arp and snmp show it', async () => {
    const { a, b, ea, eb } = pair();
    const log = icmpLog();
    expect(ipSend(a.ns, echoRequest(0x1234, 1), { saddr: 0, daddr: ip('10.0.0.2'), protocol: 1 })).toBe(0);
    await settle(5);
    const replies = log.seen.filter((s) => s.ns === a.ns && s.type === 0);
    expect(replies).toHaveLength(1);
    expect(replies[0]!.saddr).toBe(ip('10.0.0.2'));
    // Identifier and sequence echoed.
    const r = replies[0]!.skb;
    expect((r.buf[r.data + 4]! << 8) | r.buf[r.data + 5]!).toBe(0x1234);
    const na = a.ns.arp.lookup(ip('10.0.0.2'), ea.dev)!;
    expect(na.state).toBe(NUD_REACHABLE);
    expect([...na.lladdr!]).toEqual([...eb.dev.addr]);
    // B learnt A from the request (STALE: not confirmed), then used it for the reply (DELAY).
    expect(b.ns.arp.lookup(ip('10.0.0.1'), eb.dev)!.state).toBe(NUD_DELAY);
    const mac = [...eb.dev.addr].map((x) => x.toString(16).padStart(2, '0')).join(':');
    expect(formatProcNetArp(a.ns)).toBe(
      'IP address       HW type     Flags       HW address            Mask     Device\n' +
        `10.0.0.2         0x1         0x2         ${mac}     *        eth0\n`,
    );
    expect(b.ns.mib.icmpMsgIn[8]).toBe(1);
    expect(b.ns.mib.icmpMsgOut[0]).toBe(1);
    const snmp = formatProcNetSnmp(b.ns).split('\n');
    expect(snmp[0]).toBe(
      'Ip: Forwarding DefaultTTL InReceives InHdrErrors InAddrErrors ForwDatagrams InUnknownProtos InDiscards InDelivers OutRequests OutDiscards OutNoRoutes ReasmTimeout ReasmReqds ReasmOKs ReasmFails FragOKs FragFails FragCreates OutTransmits',
    );
    expect(snmp[1]!.startsWith('Ip: 2 64 1 0 0 0 0 0 1 1 ')).toBe(true);
    expect(snmp[2]).toBe(
      'Icmp: InMsgs InErrors InCsumErrors InDestUnreachs InTimeExcds InParmProbs InSrcQuenchs InRedirects InEchos InEchoReps InTimestamps InTimestampReps InAddrMasks InAddrMaskReps OutMsgs OutErrors OutRateLimitGlobal OutRateLimitHost OutDestUnreachs OutTimeExcds OutParmProbs OutSrcQuenchs OutRedirects OutEchos OutEchoReps OutTimestamps OutTimestampReps OutAddrMasks OutAddrMaskReps',
    );
    expect(snmp[3]).toBe('Icmp: 1 0 0 0 0 0 0 0 1 0 0 0 0 0 1 0 0 0 0 0 0 0 0 0 1 0 0 0 0');
    expect(snmp[4]).toBe('IcmpMsg: InType8 OutType0');
    expect(snmp[5]).toBe('IcmpMsg: 1 1');
    expect(snmp[6]).toBe(
      'Tcp: RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens PassiveOpens AttemptFails EstabResets CurrEstab InSegs OutSegs RetransSegs InErrs OutRsts InCsumErrors',
    );
    expect(snmp[7]).toBe('Tcp: 1 200 120000 -1 0 0 0 0 0 0 0 0 0 0 0');
    expect(snmp[8]).toBe(
      'Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti MemErrors',
    );
    expect(snmp[10]!.startsWith('UdpLite: InDatagrams')).toBe(true);
    expect(snmp[12]).toBe('');
    expect(snmp).toHaveLength(13);
    const ns = formatProcNetNetstat(b.ns).split('\n');
    expect(ns[0]!.startsWith('TcpExt: SyncookiesSent SyncookiesRecv')).toBe(true);
    expect(ns[2]!.startsWith('IpExt: InNoRoutes InTruncatedPkts')).toBe(true);
    expect(ns).toHaveLength(5);
    // /proc/net/dev: both directions counted on eth0.
    const dev = formatProcNetDev(a.ns).split('\n');
    expect(dev[0]).toBe('Inter-|   Receive                            |  Transmit');
    expect(dev[1]).toBe(
      ' face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed',
    );
    expect(dev[2]).toMatch(
      /^ {4}lo: {7}0 {7}0 {4}0 {4}0 {4}0 {5}0 {10}0 {9}0 {8}0 {7}0 {4}0 {4}0 {4}0 {5}0 {7}0 {10}0$/,
    );
    const eth = dev[3]!.trim().split(/\s+/);
    expect(eth[0]).toBe('eth0:');
    expect(Number(eth[2])).toBe(2); // ARP reply + echo reply
    expect(Number(eth[10])).toBe(2); // ARP request + echo request
    expect(ea.dev.stats.txBytes).toBe(60 + 14 + 20 + 64);
  });

  it('delivers a broadcast on the link and loops a copy back to the sender', async () => {
    const { a, b } = pair();
    const got: string[] = [];
    const prot = {
      handler: (ns: NetNs, skb: SkBuff) => got.push(`${ns === a.ns ? 'a' : 'b'}:${skb.daddr.toString(16)}`),
    };
    inetAddProtocol(PROTO_TEST, prot);
    try {
      expect(
        ipSend(a.ns, payloadSkb(20), {
          saddr: 0,
          daddr: ip('255.255.255.255'),
          protocol: PROTO_TEST,
          oif: a.devs[0]!.ifindex,
        }),
      ).toBe(0);
      expect(ipSend(a.ns, payloadSkb(20), { saddr: 0, daddr: ip('10.0.0.255'), protocol: PROTO_TEST })).toBe(0);
      await settle(5);
      expect(got.sort()).toEqual(['a:a0000ff', 'a:ffffffff', 'b:a0000ff', 'b:ffffffff']);
      expect(b.ns.mib.ipExt.InBcastPkts).toBe(2);
      // No ARP was needed for broadcasts.
      expect([...a.ns.arp.entries()]).toHaveLength(0);
    } finally {
      inetDelProtocol(PROTO_TEST, prot);
    }
  });

  it('answers an unknown protocol with protocol unreachable', async () => {
    const { a, b } = pair();
    const errs: IcmpErr[] = [];
    const prot = { handler: () => {}, errHandler: (ns: NetNs, e: IcmpErr) => ns === a.ns && errs.push(e) };
    inetAddProtocol(PROTO_TEST, prot);
    try {
      // B has no handler for 254.
      const raw = payloadSkb(30);
      expect(ipSend(a.ns, raw, { saddr: 0, daddr: ip('10.0.0.2'), protocol: 254 })).toBe(0);
      await settle(5);
      expect(b.ns.mib.ip.InUnknownProtos).toBe(1);
      // The error is about protocol 254, which A's 253 handler does not get.
      expect(errs).toHaveLength(0);
      expect(a.ns.mib.icmpMsgIn[3]).toBe(1);
      expect(b.ns.mib.icmpMsgOut[3]).toBe(1);
    } finally {
      inetDelProtocol(PROTO_TEST, prot);
    }
  });

  it('pings its own address through lo', async () => {
    const a = host();
    addNic(a, 'eth0', '10.0.0.1/24');
    const log = icmpLog();
    expect(ipSend(a.ns, echoRequest(1, 1), { saddr: 0, daddr: ip('10.0.0.1'), protocol: 1 })).toBe(0);
    expect(ipSend(a.ns, echoRequest(1, 2), { saddr: 0, daddr: ip('127.0.0.1'), protocol: 1 })).toBe(0);
    await settle();
    expect(log.seen.filter((s) => s.type === 0).map((s) => s.saddr)).toEqual([ip('10.0.0.1'), ip('127.0.0.1')]);
    expect(a.ns.loopback!.stats.rxPackets).toBe(4);
  });

  it('fragments a 4000-byte datagram and reassembles it', async () => {
    const { a, b } = pair();
    const got: Uint8Array[] = [];
    const prot = {
      handler: (ns: NetNs, skb: SkBuff) => {
        if (ns === b.ns) got.push(skb.bytes().slice());
      },
    };
    inetAddProtocol(PROTO_TEST, prot);
    try {
      const skb = payloadSkb(4000);
      const want = skb.bytes().slice();
      expect(ipSend(a.ns, skb, { saddr: 0, daddr: ip('10.0.0.2'), protocol: PROTO_TEST })).toBe(0);
      await settle(5);
      expect(got).toHaveLength(1);
      expect(got[0]).toEqual(want);
      expect(a.ns.mib.ip.FragCreates).toBe(3);
      expect(a.ns.mib.ip.FragOKs).toBe(1);
      expect(b.ns.mib.ip.ReasmReqds).toBe(3);
      expect(b.ns.mib.ip.ReasmOKs).toBe(1);
      // Under DF it is refused.
      expect(ipSend(a.ns, payloadSkb(4000), { saddr: 0, daddr: ip('10.0.0.2'), protocol: PROTO_TEST, df: true })).toBe(
        -E.EMSGSIZE,
      );
    } finally {
      inetDelProtocol(PROTO_TEST, prot);
    }
  });

  it('reports resolution failure with ICMP host unreachable to the sender', async () => {
    const a = host();
    addNic(a, 'eth0', '10.0.0.1/24');
    a.ns.sysctl.neighRetransMs = 5;
    const errs: IcmpErr[] = [];
    const prot = { handler: () => {}, errHandler: (_ns: NetNs, e: IcmpErr) => errs.push(e) };
    inetAddProtocol(PROTO_TEST, prot);
    try {
      expect(ipSend(a.ns, payloadSkb(100), { saddr: 0, daddr: ip('10.0.0.99'), protocol: PROTO_TEST })).toBe(0);
      await settle(200);
      const n = a.ns.arp.lookup(ip('10.0.0.99'), a.devs[0]!)!;
      expect(n.state).toBe(NUD_FAILED);
      expect(errs).toHaveLength(1);
      expect(errs[0]).toMatchObject({ type: 3, code: 1, daddr: ip('10.0.0.99'), protocol: PROTO_TEST });
      expect(errs[0]!.payload.length).toBeGreaterThanOrEqual(8);
      expect(formatProcNetArp(a.ns).split('\n')[1]).toBe(
        '10.0.0.99        0x1         0x0         00:00:00:00:00:00     *        eth0',
      );
    } finally {
      inetDelProtocol(PROTO_TEST, prot);
    }
  });

  it('takes administrative neighbour entries', () => {
    const a = host();
    const { dev } = addNic(a, 'eth0', '10.0.0.1/24');
    const mac = new Uint8Array([2, 0, 0, 0, 0, 9]);
    expect(neighUpdate(a.ns, ip('10.0.0.9'), dev, mac, NUD_PERMANENT)).toBe(0);
    expect(formatProcNetArp(a.ns).split('\n')[1]).toBe(
      '10.0.0.9         0x1         0x6         02:00:00:00:00:09     *        eth0',
    );
    expect(neighDelete(a.ns, ip('10.0.0.9'), dev)).toBe(0);
    expect(neighDelete(a.ns, ip('10.0.0.9'), dev)).toBe(-E.ENOENT);
  });

  it('counts hostile frames and never throws', async () => {
    const { a, b, eb } = pair();
    // Resolve first so a valid frame template exists.
    ipSend(a.ns, echoRequest(1, 1), { saddr: 0, daddr: ip('10.0.0.2'), protocol: 1 });
    await settle(5);
    const good = new Uint8Array(14 + 28);
    good.set(eb.dev.addr, 0);
    good.set([0x52, 0x54, 0, 0, 0, 0x77], 6);
    good[12] = 0x08;
    good[13] = 0x00;
    const h = 14;
    good[h] = 0x45;
    good[h + 3] = 28;
    good[h + 8] = 64;
    good[h + 9] = 1;
    writeAddr(good, h + 12, ip('10.0.0.1'));
    writeAddr(good, h + 16, ip('10.0.0.2'));
    const fix = (f: Uint8Array): Uint8Array => {
      f[h + 10] = 0;
      f[h + 11] = 0;
      const c = ipFastCsum(f, h, (f[h]! & 15) * 4 <= f.length - h ? (f[h]! & 15) * 4 : 20);
      f[h + 10] = c >> 8;
      f[h + 11] = c & 0xff;
      return f;
    };
    const before = { ...b.ns.mib.ip };
    const ext = { ...b.ns.mib.ipExt };
    const frames: Uint8Array[] = [];
    frames.push(new Uint8Array(10)); // runt
    const v6 = fix(good.slice());
    v6[h] = 0x65;
    frames.push(v6); // bad version (checksum irrelevant)
    const badsum = fix(good.slice());
    badsum[h + 10] ^= 0xff;
    frames.push(badsum);
    const longTot = good.slice();
    longTot[h + 2] = 0x10;
    frames.push(fix(longTot)); // total length 4124 > frame
    const bigIhl = good.slice();
    bigIhl[h] = 0x4f; // 60-byte header in a 28-byte datagram
    frames.push(bigIhl);
    const shortTot = good.slice();
    shortTot[h + 3] = 10;
    frames.push(fix(shortTot)); // total length < header
    const arp = good.slice(0, 20);
    arp[12] = 0x08;
    arp[13] = 0x06;
    frames.push(arp); // truncated ARP
    let seed = 99;
    for (let i = 0; i < 300; i++) {
      const f = new Uint8Array(14 + ((seed = (seed * 1103515245 + 12345) >>> 0) % 200));
      for (let j = 0; j < f.length; j++) f[j] = (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24;
      f.set(eb.dev.addr, 0);
      f[12] = 0x08;
      f[13] = i & 1 ? 0x06 : 0x00;
      frames.push(f);
    }
    for (const f of frames) eb.nic.deliver(f);
    await settle(5);
    expect(eb.dev.stats.rxLengthErrors).toBe(1);
    expect(b.ns.mib.ip.InHdrErrors - before.InHdrErrors).toBeGreaterThanOrEqual(4);
    expect(b.ns.mib.ipExt.InCsumErrors - ext.InCsumErrors).toBeGreaterThanOrEqual(1);
    expect(b.ns.mib.ipExt.InTruncatedPkts - ext.InTruncatedPkts).toBeGreaterThanOrEqual(1);
    expect(b.logs.filter((l) => l.includes('dropped a received frame'))).toEqual([]);
    // Still works afterwards.
    const log = icmpLog();
    ipSend(a.ns, echoRequest(2, 2), { saddr: 0, daddr: ip('10.0.0.2'), protocol: 1 });
    await settle(5);
    expect(log.seen.filter((s) => s.ns === a.ns && s.type === 0)).toHaveLength(1);
  });
});

describe('forwarding through a router', () => {
  function triangle(): { a: Host; r: Host; b: Host } {
    const a = host();
    const r = host();
    const b = host();
    const ea = addNic(a, 'eth0', '10.0.1.2/24');
    const r0 = addNic(r, 'eth0', '10.0.1.1/24');
    const r1 = addNic(r, 'eth1', '10.0.2.1/24');
    const eb = addNic(b, 'eth0', '10.0.2.2/24');
    wire(ea, r0);
    wire(r1, eb);
    expect(fibAddRoute(a.ns, makeRoute({ dst: 0, prefixLen: 0, gateway: ip('10.0.1.1') }))).toBe(0);
    expect(fibAddRoute(b.ns, makeRoute({ dst: 0, prefixLen: 0, gateway: ip('10.0.2.1') }))).toBe(0);
    return { a, r, b };
  }

  it('forwards with the TTL decreased when ip_forward is on', async () => {
    const { a, r, b } = triangle();
    const log = icmpLog();
    ipSend(a.ns, echoRequest(7, 1), { saddr: 0, daddr: ip('10.0.2.2'), protocol: 1 });
    await settle(5);
    // Forwarding off: dropped at the router and counted.
    expect(log.seen.filter((s) => s.ns === b.ns)).toHaveLength(0);
    expect(r.ns.mib.ip.InAddrErrors).toBe(1);
    r.ns.sysctl.ipForward = 1;
    ipSend(a.ns, echoRequest(7, 2), { saddr: 0, daddr: ip('10.0.2.2'), protocol: 1 });
    await settle(5);
    const atB = log.seen.filter((s) => s.ns === b.ns && s.type === 8);
    expect(atB).toHaveLength(1);
    expect(atB[0]!.ttl).toBe(63);
    const reply = log.seen.filter((s) => s.ns === a.ns && s.type === 0);
    expect(reply).toHaveLength(1);
    expect(reply[0]!.ttl).toBe(63);
    expect(r.ns.mib.ip.ForwDatagrams).toBe(2);
  });

  it('answers TTL 1 with time exceeded, and DF over the MTU with frag needed', async () => {
    const { a, r } = triangle();
    r.ns.sysctl.ipForward = 1;
    const errs: IcmpErr[] = [];
    const prot = { handler: () => {}, errHandler: (ns: NetNs, e: IcmpErr) => ns === a.ns && errs.push(e) };
    inetAddProtocol(PROTO_TEST, prot);
    try {
      ipSend(a.ns, payloadSkb(40), { saddr: 0, daddr: ip('10.0.2.2'), protocol: PROTO_TEST, ttl: 1 });
      await settle(5);
      expect(errs).toHaveLength(1);
      expect(errs[0]).toMatchObject({
        type: 11,
        code: 0,
        saddr: ip('10.0.1.2'),
        daddr: ip('10.0.2.2'),
        protocol: PROTO_TEST,
      });
      expect(r.ns.mib.icmpMsgOut[11]).toBe(1);
      // The router's second link has a smaller MTU.
      const { devSetMtu } = await import('../../../../src/kernel/net/core/dev.js');
      expect(devSetMtu(r.devs[1]!, 1000)).toBe(0);
      ipSend(a.ns, payloadSkb(1200), { saddr: 0, daddr: ip('10.0.2.2'), protocol: PROTO_TEST, df: true });
      await settle(5);
      expect(errs).toHaveLength(2);
      expect(errs[1]).toMatchObject({ type: 3, code: 4, info: 1000 });
    } finally {
      inetDelProtocol(PROTO_TEST, prot);
    }
  });

  it('rate limits ICMP errors per destination (6 in a burst at icmp_ratelimit 1000 ms)', async () => {
    const { a, r } = triangle();
    r.ns.sysctl.ipForward = 1;
    const errs: IcmpErr[] = [];
    const prot = { handler: () => {}, errHandler: (ns: NetNs, e: IcmpErr) => ns === a.ns && errs.push(e) };
    inetAddProtocol(PROTO_TEST, prot);
    try {
      for (let i = 0; i < 10; i++)
        ipSend(a.ns, payloadSkb(40), { saddr: 0, daddr: ip('10.0.2.2'), protocol: PROTO_TEST, ttl: 1 });
      await settle(5);
      expect(errs).toHaveLength(6);
      expect(r.ns.mib.icmp.OutRateLimitHost).toBe(4);
      expect(r.ns.mib.ip.InHdrErrors).toBe(10);
    } finally {
      inetDelProtocol(PROTO_TEST, prot);
    }
  });

  it('fragments on the way when the next link is smaller', async () => {
    const { a, r, b } = triangle();
    r.ns.sysctl.ipForward = 1;
    const { devSetMtu } = await import('../../../../src/kernel/net/core/dev.js');
    devSetMtu(r.devs[1]!, 576);
    const got: Uint8Array[] = [];
    const prot = { handler: (ns: NetNs, skb: SkBuff) => ns === b.ns && got.push(skb.bytes().slice()) };
    inetAddProtocol(PROTO_TEST, prot);
    try {
      const skb = payloadSkb(1400);
      const want = skb.bytes().slice();
      ipSend(a.ns, skb, { saddr: 0, daddr: ip('10.0.2.2'), protocol: PROTO_TEST });
      await settle(5);
      expect(got).toEqual([want]);
      expect(r.ns.mib.ip.FragCreates).toBe(3);
    } finally {
      inetDelProtocol(PROTO_TEST, prot);
    }
  });
});

describe('reassembly', () => {
  function fragFrame(
    dst: Uint8Array,
    id: number,
    offset: number,
    more: boolean,
    data: Uint8Array,
    proto = PROTO_TEST,
  ): Uint8Array {
    const f = new Uint8Array(14 + 20 + data.length);
    f.set(dst, 0);
    f.set([0x52, 0x54, 0, 0, 0, 0x55], 6);
    f[12] = 8;
    const h = 14;
    f[h] = 0x45;
    const tot = 20 + data.length;
    f[h + 2] = tot >> 8;
    f[h + 3] = tot & 0xff;
    f[h + 4] = id >> 8;
    f[h + 5] = id & 0xff;
    const fo = (offset >> 3) | (more ? 0x2000 : 0);
    f[h + 6] = fo >> 8;
    f[h + 7] = fo & 0xff;
    f[h + 8] = 64;
    f[h + 9] = proto;
    writeAddr(f, h + 12, ip('10.0.0.1'));
    writeAddr(f, h + 16, ip('10.0.0.2'));
    const c = ipFastCsum(f, h, 20);
    f[h + 10] = c >> 8;
    f[h + 11] = c & 0xff;
    f.set(data, h + 20);
    return f;
  }

  it('kills a queue on overlap and times out an incomplete one with ICMP', async () => {
    const { a, b, eb } = pair();
    // Let A and B know each other (B must reach A for its ICMP).
    ipSend(a.ns, echoRequest(1, 1), { saddr: 0, daddr: ip('10.0.0.2'), protocol: 1 });
    await settle(5);
    const got: number[] = [];
    const prot = { handler: (ns: NetNs, skb: SkBuff) => ns === b.ns && got.push(skb.len) };
    const errs: IcmpErr[] = [];
    const pa = { handler: () => {}, errHandler: (ns: NetNs, e: IcmpErr) => ns === a.ns && errs.push(e) };
    inetAddProtocol(PROTO_TEST, prot);
    try {
      const d = new Uint8Array(64).fill(1);
      // In order, out of order: both complete.
      eb.nic.deliver(fragFrame(eb.dev.addr, 100, 64, false, d));
      eb.nic.deliver(fragFrame(eb.dev.addr, 100, 0, true, d));
      await settle();
      expect(got).toEqual([128]);
      // Overlap: the queue dies.
      eb.nic.deliver(fragFrame(eb.dev.addr, 101, 0, true, d));
      eb.nic.deliver(fragFrame(eb.dev.addr, 101, 32, false, d));
      await settle();
      expect(got).toEqual([128]);
      expect(b.ns.mib.ipExt.ReasmOverlaps).toBe(1);
      // An incomplete datagram times out.
      inetDelProtocol(PROTO_TEST, prot);
      inetAddProtocol(PROTO_TEST, pa);
      b.ns.sysctl.ipfragTime = 0.02;
      eb.nic.deliver(fragFrame(eb.dev.addr, 102, 0, true, d));
      await settle(200);
      expect(b.ns.mib.ip.ReasmTimeout).toBe(1);
      expect(errs).toHaveLength(1);
      expect(errs[0]).toMatchObject({ type: 11, code: 1 });
    } finally {
      inetDelProtocol(PROTO_TEST, prot);
      inetDelProtocol(PROTO_TEST, pa);
    }
  });
});

describe('addresses read back', () => {
  it('readAddr/writeAddr agree (sanity for the frames above)', () => {
    const b = new Uint8Array(4);
    writeAddr(b, 0, ip('1.2.3.4'));
    expect(readAddr(b, 0)).toBe(ip('1.2.3.4'));
  });
});
