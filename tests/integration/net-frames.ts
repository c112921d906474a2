/**
 * Hand-built Ethernet/IPv4/TCP/UDP/ICMP/ARP frames for network tests: well-formed ones (with
 * correct checksums, computed here independently of the kernel's own code) and the hostile
 * variants issue 6 asks the guest to survive (truncated, wrong checksums, bogus lengths, bad
 * options, hostile fragments). Addresses are strings ("10.0.0.5", "02:00:00:00:00:0a").
 */

export const ETH_P_IP = 0x0800;
export const ETH_P_ARP = 0x0806;
export const IPPROTO_ICMP = 1;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;

export function macBytes(mac: string): Uint8Array {
  const parts = mac.split(/[:-]/).map((h) => parseInt(h, 16));
  if (parts.length !== 6 || parts.some((p) => !(p >= 0 && p <= 255))) throw new Error(`bad MAC ${mac}`);
  return Uint8Array.from(parts);
}

export function ipBytes(ip: string): Uint8Array {
  const parts = ip.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !(Number.isInteger(p) && p >= 0 && p <= 255)))
    throw new Error(`bad IPv4 address ${ip}`);
  return Uint8Array.from(parts);
}

/** The Internet checksum (RFC 1071) over `parts`, concatenated. */
export function inetChecksum(...parts: Uint8Array[]): number {
  let sum = 0;
  let odd = false;
  let carry = 0;
  for (const p of parts) {
    for (let i = 0; i < p.length; i++) {
      if (odd) sum += carry | p[i]!;
      else carry = p[i]! << 8;
      odd = !odd;
    }
  }
  if (odd) sum += carry;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

function put16(b: Uint8Array, off: number, v: number): void {
  b[off] = (v >>> 8) & 0xff;
  b[off + 1] = v & 0xff;
}

function put32(b: Uint8Array, off: number, v: number): void {
  put16(b, off, (v >>> 16) & 0xffff);
  put16(b, off + 2, v & 0xffff);
}

/** An Ethernet frame, padded to the 60-byte minimum unless `noPad`. */
export function ether(dst: string, src: string, type: number, payload: Uint8Array, noPad = false): Uint8Array {
  const len = noPad ? 14 + payload.length : Math.max(60, 14 + payload.length);
  const f = new Uint8Array(len);
  f.set(macBytes(dst), 0);
  f.set(macBytes(src), 6);
  put16(f, 12, type);
  f.set(payload, 14);
  return f;
}

export interface Ipv4Options {
  src: string;
  dst: string;
  protocol: number;
  payload: Uint8Array;
  ttl?: number;
  id?: number;
  /** Flags and fragment offset in 8-byte units, as the 16-bit field (0x2000 = MF, 0x4000 = DF). */
  fragField?: number;
  /** IP options (padded by the caller to a multiple of 4). */
  options?: Uint8Array;
  /** Overrides for hostile packets. */
  version?: number;
  ihl?: number;
  totalLength?: number;
  badChecksum?: boolean;
}

export function ipv4(o: Ipv4Options): Uint8Array {
  const opts = o.options ?? new Uint8Array(0);
  const hlen = 20 + opts.length;
  const p = new Uint8Array(hlen + o.payload.length);
  p[0] = ((o.version ?? 4) << 4) | (o.ihl ?? hlen / 4);
  put16(p, 2, o.totalLength ?? p.length);
  put16(p, 4, o.id ?? 0x1234);
  put16(p, 6, o.fragField ?? 0x4000);
  p[8] = o.ttl ?? 64;
  p[9] = o.protocol;
  p.set(ipBytes(o.src), 12);
  p.set(ipBytes(o.dst), 16);
  p.set(opts, 20);
  let c = inetChecksum(p.subarray(0, hlen));
  if (o.badChecksum) c ^= 0x5a5a;
  put16(p, 10, c);
  p.set(o.payload, hlen);
  return p;
}

function pseudoHeader(src: string, dst: string, protocol: number, len: number): Uint8Array {
  const ph = new Uint8Array(12);
  ph.set(ipBytes(src), 0);
  ph.set(ipBytes(dst), 4);
  ph[9] = protocol;
  put16(ph, 10, len);
  return ph;
}

export interface TcpOptions {
  src: string;
  dst: string;
  sport: number;
  dport: number;
  seq: number;
  ack?: number;
  flags: number;
  window?: number;
  options?: Uint8Array;
  payload?: Uint8Array;
  /** Data offset override (hostile). */
  doff?: number;
  badChecksum?: boolean;
}

/** A TCP segment (header + options + payload) with its checksum over the pseudo-header. */
export function tcp(o: TcpOptions): Uint8Array {
  const opts = o.options ?? new Uint8Array(0);
  const payload = o.payload ?? new Uint8Array(0);
  const hlen = 20 + opts.length;
  const s = new Uint8Array(hlen + payload.length);
  put16(s, 0, o.sport);
  put16(s, 2, o.dport);
  put32(s, 4, o.seq >>> 0);
  put32(s, 8, (o.ack ?? 0) >>> 0);
  s[12] = (o.doff ?? hlen / 4) << 4;
  s[13] = o.flags;
  put16(s, 14, o.window ?? 64240);
  s.set(opts, 20);
  s.set(payload, hlen);
  let c = inetChecksum(pseudoHeader(o.src, o.dst, IPPROTO_TCP, s.length), s);
  if (o.badChecksum) c ^= 0x1111;
  put16(s, 16, c);
  return s;
}

export function udp(o: {
  src: string;
  dst: string;
  sport: number;
  dport: number;
  payload: Uint8Array;
  length?: number;
  badChecksum?: boolean;
}): Uint8Array {
  const d = new Uint8Array(8 + o.payload.length);
  put16(d, 0, o.sport);
  put16(d, 2, o.dport);
  put16(d, 4, o.length ?? d.length);
  d.set(o.payload, 8);
  let c = inetChecksum(pseudoHeader(o.src, o.dst, IPPROTO_UDP, d.length), d);
  if (c === 0) c = 0xffff;
  if (o.badChecksum) c ^= 0x2222;
  put16(d, 6, c);
  return d;
}

/** An ICMP echo request (type 8). */
export function icmpEcho(id: number, seq: number, payload: Uint8Array, badChecksum = false): Uint8Array {
  const m = new Uint8Array(8 + payload.length);
  m[0] = 8;
  put16(m, 4, id);
  put16(m, 6, seq);
  m.set(payload, 8);
  let c = inetChecksum(m);
  if (badChecksum) c ^= 0x3333;
  put16(m, 2, c);
  return m;
}

/** An ARP packet (Ethernet/IPv4 unless overridden). */
export function arp(o: {
  op: number;
  sha: string;
  spa: string;
  tha: string;
  tpa: string;
  hlen?: number;
  plen?: number;
}): Uint8Array {
  const a = new Uint8Array(28);
  put16(a, 0, 1);
  put16(a, 2, ETH_P_IP);
  a[4] = o.hlen ?? 6;
  a[5] = o.plen ?? 4;
  put16(a, 6, o.op);
  a.set(macBytes(o.sha), 8);
  a.set(ipBytes(o.spa), 14);
  a.set(macBytes(o.tha), 18);
  a.set(ipBytes(o.tpa), 24);
  return a;
}

/**
 * The hostile frames of issue 6 addressed to one machine (`dstMac`/`dstIp`) from a made-up host
 * (`srcMac`/`srcIp`) on its network: each is malformed in one way a receive path must check.
 * Returned with a name for messages.
 */
export function hostileFrames(
  srcMac: string,
  srcIp: string,
  dstMac: string,
  dstIp: string,
): Array<[string, Uint8Array]> {
  const e = (payload: Uint8Array, type = ETH_P_IP, noPad = false) => ether(dstMac, srcMac, type, payload, noPad);
  const echo = icmpEcho(0x4242, 1, new Uint8Array(32).fill(0x61));
  const base = { src: srcIp, dst: dstIp };
  const syn = (over: Partial<TcpOptions> = {}) =>
    tcp({ ...base, sport: 40000, dport: 80, seq: 1000, flags: TCP_SYN, ...over });
  const out: Array<[string, Uint8Array]> = [];
  out.push(['runt frame of 10 bytes', e(new Uint8Array(0), ETH_P_IP, true).subarray(0, 10)]);
  out.push(['Ethernet header only', e(new Uint8Array(0), ETH_P_IP, true)]);
  out.push([
    'IPv4 header cut at 12 bytes',
    e(ipv4({ ...base, protocol: IPPROTO_ICMP, payload: echo }).subarray(0, 12), ETH_P_IP, true),
  ]);
  out.push([
    'IPv4 bad header checksum',
    e(ipv4({ ...base, protocol: IPPROTO_ICMP, payload: echo, badChecksum: true })),
  ]);
  out.push(['IPv4 version 6', e(ipv4({ ...base, protocol: IPPROTO_ICMP, payload: echo, version: 6 }))]);
  out.push(['IPv4 IHL 4', e(ipv4({ ...base, protocol: IPPROTO_ICMP, payload: echo, ihl: 4 }))]);
  out.push([
    'IPv4 IHL 15 in a 40-byte packet',
    e(ipv4({ ...base, protocol: IPPROTO_ICMP, payload: echo.subarray(0, 20), ihl: 15 })),
  ]);
  out.push([
    'IPv4 total length beyond the frame',
    e(ipv4({ ...base, protocol: IPPROTO_ICMP, payload: echo, totalLength: 1400 })),
  ]);
  out.push([
    'IPv4 total length shorter than its header',
    e(ipv4({ ...base, protocol: IPPROTO_ICMP, payload: echo, totalLength: 12 })),
  ]);
  out.push(['IPv4 total length 0', e(ipv4({ ...base, protocol: IPPROTO_ICMP, payload: echo, totalLength: 0 }))]);
  // Options: a zero option length (a parser that advances by it loops forever), and one running past the header.
  out.push([
    'IPv4 option of length 0',
    e(ipv4({ ...base, protocol: IPPROTO_ICMP, payload: echo, options: Uint8Array.from([0x07, 0x00, 0x04, 0x00]) })),
  ]);
  out.push([
    'IPv4 option longer than the header',
    e(ipv4({ ...base, protocol: IPPROTO_ICMP, payload: echo, options: Uint8Array.from([0x44, 0x28, 0x05, 0x00]) })),
  ]);
  out.push([
    'ICMP bad checksum',
    e(ipv4({ ...base, protocol: IPPROTO_ICMP, payload: icmpEcho(1, 1, new Uint8Array(8), true) })),
  ]);
  out.push(['ICMP of 4 bytes', e(ipv4({ ...base, protocol: IPPROTO_ICMP, payload: echo.subarray(0, 4) }))]);
  out.push(['TCP bad checksum', e(ipv4({ ...base, protocol: IPPROTO_TCP, payload: syn({ badChecksum: true }) }))]);
  out.push([
    'TCP data offset 15 in a 20-byte segment',
    e(ipv4({ ...base, protocol: IPPROTO_TCP, payload: syn({ doff: 15 }) })),
  ]);
  out.push(['TCP data offset 2', e(ipv4({ ...base, protocol: IPPROTO_TCP, payload: syn({ doff: 2 }) }))]);
  out.push(['TCP of 12 bytes', e(ipv4({ ...base, protocol: IPPROTO_TCP, payload: syn().subarray(0, 12) }))]);
  out.push([
    'TCP option of length 0',
    e(ipv4({ ...base, protocol: IPPROTO_TCP, payload: syn({ options: Uint8Array.from([0x02, 0x00, 0x05, 0xb4]) }) })),
  ]);
  out.push([
    'TCP options running past the header',
    e(ipv4({ ...base, protocol: IPPROTO_TCP, payload: syn({ options: Uint8Array.from([0x01, 0x03, 0xff, 0x0e]) }) })),
  ]);
  out.push([
    'TCP SYN+FIN+RST+URG',
    e(ipv4({ ...base, protocol: IPPROTO_TCP, payload: syn({ flags: TCP_SYN | TCP_FIN | TCP_RST | 0x20 }) })),
  ]);
  out.push([
    'land: SYN from the machine to itself',
    e(
      ipv4({
        src: dstIp,
        dst: dstIp,
        protocol: IPPROTO_TCP,
        payload: tcp({ src: dstIp, dst: dstIp, sport: 80, dport: 80, seq: 1, flags: TCP_SYN }),
      }),
    ),
  ]);
  const u = (over: { length?: number; badChecksum?: boolean }) =>
    udp({ ...base, sport: 5353, dport: 9999, payload: new Uint8Array(16).fill(0x75), ...over });
  out.push(['UDP length beyond the packet', e(ipv4({ ...base, protocol: IPPROTO_UDP, payload: u({ length: 600 }) }))]);
  out.push(['UDP length 4', e(ipv4({ ...base, protocol: IPPROTO_UDP, payload: u({ length: 4 }) }))]);
  out.push(['UDP bad checksum', e(ipv4({ ...base, protocol: IPPROTO_UDP, payload: u({ badChecksum: true }) }))]);
  // Fragments: a "ping of death" whose last fragment ends past 65535, and overlapping fragments (teardrop).
  const big = new Uint8Array(1480).fill(0x50);
  for (let off = 0; off < 65000; off += 1480) {
    out.push([
      `ping of death fragment at ${off}`,
      e(
        ipv4({
          ...base,
          protocol: IPPROTO_ICMP,
          id: 0x0bad,
          fragField: 0x2000 | (off >> 3),
          payload: off === 0 ? Uint8Array.from([...icmpEcho(7, 7, new Uint8Array(0)), ...big.subarray(8)]) : big,
        }),
      ),
    ]);
  }
  // The last fragment, contiguous with the others at offset 65120, ends at 20 + 65120 + 1000 > 65535 (the largest
  // IPv4 datagram): reassembly must refuse it.
  out.push([
    'ping of death last fragment past 65535',
    e(ipv4({ ...base, protocol: IPPROTO_ICMP, id: 0x0bad, fragField: 65120 >> 3, payload: big.subarray(0, 1000) })),
  ]);
  out.push([
    'teardrop fragment 1',
    e(ipv4({ ...base, protocol: IPPROTO_UDP, id: 0x7ead, fragField: 0x2000, payload: u({}).subarray(0, 24).slice() })),
  ]);
  out.push([
    'teardrop fragment 2 (overlapping, inside the first)',
    e(ipv4({ ...base, protocol: IPPROTO_UDP, id: 0x7ead, fragField: 1, payload: new Uint8Array(4).fill(0x33) })),
  ]);
  out.push([
    'fragment with offset 8191 and MF',
    e(ipv4({ ...base, protocol: IPPROTO_UDP, id: 0x1fff, fragField: 0x3fff, payload: new Uint8Array(64) })),
  ]);
  // ARP: wrong address lengths, truncated, a request claiming the machine's own address.
  out.push([
    'ARP with hlen 0 and plen 99',
    e(arp({ op: 1, sha: srcMac, spa: srcIp, tha: '00:00:00:00:00:00', tpa: dstIp, hlen: 0, plen: 99 }), ETH_P_ARP),
  ]);
  out.push([
    'ARP of 8 bytes',
    e(arp({ op: 1, sha: srcMac, spa: srcIp, tha: '00:00:00:00:00:00', tpa: dstIp }).subarray(0, 8), ETH_P_ARP, true),
  ]);
  out.push([
    'ARP opcode 99',
    e(arp({ op: 99, sha: srcMac, spa: srcIp, tha: '00:00:00:00:00:00', tpa: dstIp }), ETH_P_ARP),
  ]);
  out.push(['unknown EtherType 0x88b5', e(new Uint8Array(46).fill(1), 0x88b5)]);
  out.push(['oversize frame of 3000 bytes', e(new Uint8Array(2986).fill(0x45))]);
  return out;
}

/** A SYN from a spoofed address in 198.18.0.0/15 (RFC 2544's benchmarking range) with a random port. */
export function spoofedSyn(srcMac: string, dstMac: string, dstIp: string, dport: number, n: number): Uint8Array {
  const src = `198.${18 + ((n >>> 16) & 1)}.${(n >>> 8) & 255}.${n & 255 || 1}`;
  const seg = tcp({
    src,
    dst: dstIp,
    sport: 1024 + (n % 60000),
    dport,
    seq: Math.imul(n, 2654435761) >>> 0,
    flags: TCP_SYN,
    options: Uint8Array.from([0x02, 0x04, 0x05, 0xb4]), // MSS 1460
  });
  return ether(
    dstMac,
    srcMac,
    ETH_P_IP,
    ipv4({ src, dst: dstIp, protocol: IPPROTO_TCP, payload: seg, id: n & 0xffff }),
  );
}
