/**
 * IPv4 output (net/ipv4/ip_output.c): a transport segment gets its IP header
 * (ip_build_and_send_pkt / __ip_queue_xmit), is routed, fragmented when larger than the
 * path MTU (ip_fragment / ip_do_fragment), and handed to the neighbour layer for its
 * link-layer header (ip_finish_output2 → neigh_output → dev_queue_xmit). Local
 * destinations route through `lo`, which brings the packet back in through ip_rcv.
 */
import * as E from '../../errno.js';
import type { NetNs } from '../netns.js';
import { IFF_LOOPBACK, IFF_NOARP, type NetDevice } from '../core/netdevice.js';
import { allocSkb, MAX_HEADER, PACKET_LOOPBACK, type SkBuff } from '../core/skbuff.js';
import { ipFastCsum } from '../core/checksum.js';
import { devQueueXmit, NET_XMIT_SUCCESS, netifRx } from '../core/dev.js';
import { ETH_P_IP, ethHeader } from '../core/ethernet.js';
import { neighResolveOutput } from '../core/neighbour.js';
import { ipRouteOutput, type Rtable } from './route.js';
import { RTN_BROADCAST, RTN_MULTICAST } from './fib.js';
import { INADDR_BROADCAST, isMulticast, readAddr, writeAddr } from './inet_addr.js';

export const IPVERSION = 4;
export const IP_HLEN = 20;
/** frag_off bits. */
export const IP_CE = 0x8000;
export const IP_DF = 0x4000;
export const IP_MF = 0x2000;
export const IP_OFFSET = 0x1fff;
/** The most an IPv4 datagram can be. */
export const IP_MAX_MTU = 0xffff;

export interface IpSendOpts {
  saddr: number;
  daddr: number;
  protocol: number;
  ttl?: number;
  tos?: number;
  /** Don't fragment: the DF bit, and -EMSGSIZE rather than fragmenting. */
  df?: boolean;
  oif?: number;
  /** A route the caller already has (a connected socket's cached dst). */
  rt?: Rtable;
  /** SO_DONTROUTE / MSG_DONTROUTE: only destinations on a link. */
  dontRoute?: boolean;
  /** The IP identification to use (a socket's inet_id); the namespace counter otherwise. */
  id?: number;
}

/** ip_select_ident: the next identification value of the namespace. */
export function ipSelectIdent(ns: NetNs): number {
  const id = ns.ipId & 0xffff;
  ns.ipId = (ns.ipId + 1) & 0xffff;
  return id;
}

/** ip_send_check: recompute the header checksum in place (header at `off`). */
export function ipSendCheck(b: Uint8Array, off: number): void {
  const ihl = (b[off]! & 0x0f) * 4;
  b[off + 10] = 0;
  b[off + 11] = 0;
  const c = ipFastCsum(b, off, ihl);
  b[off + 10] = c >>> 8;
  b[off + 11] = c & 0xff;
}

/**
 * Send a transport segment (skb.data at the transport header) to `daddr`: build the IP
 * header, route (or use `rt`), fragment or fail with -EMSGSIZE under DF, resolve the next
 * hop, queue. 0 or -errno (-ENETUNREACH, -EHOSTUNREACH, -EMSGSIZE, -ENOBUFS, -EINVAL).
 */
export function ipSend(ns: NetNs, skb: SkBuff, o: IpSendOpts): number {
  const mib = ns.mib.ip;
  let rt: Rtable | number;
  if (o.rt) rt = o.rt;
  else rt = ipRouteOutput(ns, { daddr: o.daddr, saddr: o.saddr, oif: o.oif, tos: o.tos, onlink: o.dontRoute });
  if (typeof rt === 'number') {
    mib.OutNoRoutes++;
    return rt;
  }
  const saddr = (o.saddr || rt.src) >>> 0;
  const daddr = o.daddr >>> 0;
  const ttl = o.ttl ?? (isMulticast(daddr) ? 1 : ns.sysctl.ipDefaultTtl);
  if (skb.headroom < IP_HLEN + rt.dev.hardHeaderLen) {
    // Not enough room in front: copy into a buffer with the usual headroom (skb_realloc_headroom).
    const c = skb.copy(MAX_HEADER);
    c.sk = skb.sk;
    skb = c;
  }
  skb.transportHeader = skb.data;
  const at = skb.push(IP_HLEN);
  const b = skb.buf;
  const tot = skb.len;
  if (tot > IP_MAX_MTU) {
    mib.OutDiscards++;
    return -E.EMSGSIZE;
  }
  b[at] = (IPVERSION << 4) | 5;
  b[at + 1] = (o.tos ?? 0) & 0xff;
  b[at + 2] = tot >>> 8;
  b[at + 3] = tot & 0xff;
  const id = o.id !== undefined ? o.id & 0xffff : ipSelectIdent(ns);
  b[at + 4] = id >>> 8;
  b[at + 5] = id & 0xff;
  const fo = o.df ? IP_DF : 0;
  b[at + 6] = fo >>> 8;
  b[at + 7] = 0;
  b[at + 8] = ttl & 0xff;
  b[at + 9] = o.protocol & 0xff;
  writeAddr(b, at + 12, saddr);
  writeAddr(b, at + 16, daddr);
  ipSendCheck(b, at);
  skb.networkHeader = at;
  skb.saddr = saddr;
  skb.daddr = daddr;
  skb.protocol = ETH_P_IP;
  skb.dev = rt.dev;
  skb.priority ||= rtTosToPriority(o.tos ?? 0);
  mib.OutRequests++;
  ns.mib.ipExt.OutOctets += tot;
  if (rt.type === RTN_BROADCAST) ns.mib.ipExt.OutBcastPkts++;
  else if (rt.type === RTN_MULTICAST) ns.mib.ipExt.OutMcastPkts++;
  return ipOutput(ns, skb, rt, o.df ?? false);
}

/**
 * raw_send_hdrinc: a datagram whose IP header the sender wrote (IP_HDRINCL): the total
 * length and checksum are filled in, a zero id is chosen, then it is routed by its
 * destination and sent like any other.
 */
export function ipSendHdrinc(
  ns: NetNs,
  skb: SkBuff,
  o: { oif?: number; dontRoute?: boolean; rt?: Rtable } = {},
): number {
  const at = skb.data;
  const b = skb.buf;
  if (skb.len < IP_HLEN) return -E.EINVAL;
  const ihl = (b[at]! & 0x0f) * 4;
  if (ihl < IP_HLEN || ihl > skb.len) return -E.EINVAL;
  const daddr = readAddr(b, at + 16);
  let saddr = readAddr(b, at + 12);
  const rt = o.rt ?? ipRouteOutput(ns, { daddr, oif: o.oif, onlink: o.dontRoute });
  if (typeof rt === 'number') {
    ns.mib.ip.OutNoRoutes++;
    return rt;
  }
  if (!saddr) {
    saddr = rt.src;
    writeAddr(b, at + 12, saddr);
  }
  b[at + 2] = skb.len >>> 8;
  b[at + 3] = skb.len & 0xff;
  if (b[at + 4] === 0 && b[at + 5] === 0) {
    const id = ipSelectIdent(ns);
    b[at + 4] = id >>> 8;
    b[at + 5] = id & 0xff;
  }
  ipSendCheck(b, at);
  if (skb.headroom < rt.dev.hardHeaderLen) {
    const c = skb.copy(MAX_HEADER);
    c.sk = skb.sk;
    skb = c;
  }
  skb.networkHeader = skb.data;
  skb.transportHeader = skb.data + ihl;
  skb.saddr = saddr;
  skb.daddr = daddr;
  skb.protocol = ETH_P_IP;
  skb.dev = rt.dev;
  ns.mib.ip.OutRequests++;
  ns.mib.ipExt.OutOctets += skb.len;
  const df = ((b[at + 6]! << 8) & IP_DF) !== 0;
  return ipOutput(ns, skb, rt, df);
}

/** rt_tos2priority: TOS → TC_PRIO (ip_tos2prio), which pfifo_fast maps to a band. */
function rtTosToPriority(tos: number): number {
  const IP_TOS2PRIO = [0, 1, 0, 0, 2, 2, 2, 2, 6, 6, 6, 6, 4, 4, 4, 4];
  return IP_TOS2PRIO[(tos & 0x1e) >> 1]!;
}

/**
 * ip_output → ip_finish_output: the datagram (skb.data at the IP header) fits the MTU and
 * goes to the neighbour layer, or is fragmented (-EMSGSIZE under DF).
 */
export function ipOutput(ns: NetNs, skb: SkBuff, rt: Rtable, df: boolean): number {
  const mtu = Math.min(rt.mtu || rt.dev.mtu, rt.dev.mtu);
  if (skb.len <= mtu) return ipFinishOutput2(ns, skb, rt);
  const at = skb.data;
  const dfBit = ((skb.buf[at + 6]! << 8) & IP_DF) !== 0;
  if (df || dfBit) {
    ns.mib.ip.FragFails++;
    return -E.EMSGSIZE;
  }
  return ipFragment(ns, skb, mtu, (f) => ipFinishOutput2(ns, f, rt));
}

/**
 * ip_do_fragment: cut a datagram (skb.data at the IP header) into pieces of at most `mtu`
 * bytes, each payload a multiple of 8 except the last, with MF on all but the last (and on
 * the last if the datagram was itself a non-final fragment). Options without the copy bit
 * are only in the first fragment (ip_options_fragment turns them into NOPs). Each piece is
 * passed to `output`; returns the first error or 0.
 */
export function ipFragment(ns: NetNs, skb: SkBuff, mtu: number, output: (f: SkBuff) => number): number {
  const b = skb.buf;
  const at = skb.data;
  const hlen = (b[at]! & 0x0f) * 4;
  const mib = ns.mib.ip;
  const room = (mtu - hlen) & ~7;
  if (room < 8) {
    mib.FragFails++;
    return -E.EMSGSIZE;
  }
  const fo = (b[at + 6]! << 8) | b[at + 7]!;
  const baseOffset = (fo & IP_OFFSET) * 8;
  const moreAfter = (fo & IP_MF) !== 0;
  const payloadLen = skb.len - hlen;
  // The header of later fragments: options that are not copied become NOPs.
  const laterHdr = b.slice(at, at + hlen);
  for (let i = IP_HLEN; i < hlen;) {
    const t = laterHdr[i]!;
    if (t === 0) break; // end of options
    if (t === 1) {
      i++;
      continue;
    }
    const l = laterHdr[i + 1] ?? 0;
    if (l < 2 || i + l > hlen) break;
    if (!(t & 0x80)) laterHdr.fill(1, i, i + l);
    i += l;
  }
  let err = 0;
  for (let off = 0; off < payloadLen; off += room) {
    const len = Math.min(room, payloadLen - off);
    const last = off + len >= payloadLen;
    const f = allocSkb(hlen + len);
    const fa = f.put(hlen + len);
    const fb = f.buf;
    if (off === 0) fb.set(b.subarray(at, at + hlen), fa);
    else fb.set(laterHdr, fa);
    fb.set(b.subarray(at + hlen + off, at + hlen + off + len), fa + hlen);
    const tot = hlen + len;
    fb[fa + 2] = tot >>> 8;
    fb[fa + 3] = tot & 0xff;
    const nfo = (((baseOffset + off) >>> 3) & IP_OFFSET) | (!last || moreAfter ? IP_MF : 0) | (fo & IP_CE);
    fb[fa + 6] = nfo >>> 8;
    fb[fa + 7] = nfo & 0xff;
    ipSendCheck(fb, fa);
    f.networkHeader = fa;
    f.transportHeader = fa + hlen;
    f.dev = skb.dev;
    f.protocol = skb.protocol;
    f.priority = skb.priority;
    f.saddr = skb.saddr;
    f.daddr = skb.daddr;
    f.sk = skb.sk;
    mib.FragCreates++;
    const r = output(f);
    if (r < 0 && !err) err = r;
  }
  if (err) mib.FragFails++;
  else mib.FragOKs++;
  return err;
}

/** ip_eth_mc_map: 01:00:5e + the low 23 bits of the group. */
function ethMcMap(addr: number): Uint8Array {
  return new Uint8Array([0x01, 0x00, 0x5e, (addr >>> 16) & 0x7f, (addr >>> 8) & 0xff, addr & 0xff]);
}

/**
 * ip_finish_output2: find the link-layer address of the next hop and send. Loopback and
 * NOARP devices need none; broadcasts and multicasts map directly; everything else goes
 * through ARP (which may queue the packet until the reply).
 */
export function ipFinishOutput2(ns: NetNs, skb: SkBuff, rt: Rtable): number {
  const dev: NetDevice = rt.dev;
  skb.dev = dev;
  skb.protocol = ETH_P_IP;
  ns.mib.ip.OutTransmits++;
  const daddr = skb.daddr >>> 0;
  if (dev.flags & IFF_LOOPBACK) return xmit(ns, skb, dev, dev.addr);
  if (rt.type === RTN_BROADCAST || daddr === INADDR_BROADCAST) {
    // ip_mc_output: a broadcast is also for this host; a copy comes back in (dev_loopback_xmit).
    devLoopbackXmit(skb, dev);
    return xmit(ns, skb, dev, dev.broadcast);
  }
  if (isMulticast(daddr)) return xmit(ns, skb, dev, ethMcMap(daddr));
  if (dev.flags & IFF_NOARP) return xmit(ns, skb, dev, dev.addr);
  const nexthop = rt.gateway || daddr;
  return neighResolveOutput(ns, ns.arp, nexthop, dev, skb);
}

/** dev_loopback_xmit: a copy of an outgoing datagram (data at its IP header) received on `dev` as PACKET_LOOPBACK. */
function devLoopbackXmit(skb: SkBuff, dev: NetDevice): void {
  const c = skb.copy();
  c.dev = dev;
  c.protocol = ETH_P_IP;
  c.pktType = PACKET_LOOPBACK;
  c.macHeader = -1;
  c.networkHeader = c.data;
  c.tstampNs = dev.ns?.env.nowNs() ?? 0;
  netifRx(c);
}

function xmit(ns: NetNs, skb: SkBuff, dev: NetDevice, dst: Uint8Array): number {
  ethHeader(skb, dev, ETH_P_IP, dst);
  const r = devQueueXmit(skb);
  if (r === NET_XMIT_SUCCESS) return 0;
  ns.mib.ip.OutDiscards++;
  return r < 0 ? r : -E.ENOBUFS;
}
