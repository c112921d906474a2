/**
 * ICMP (net/ipv4/icmp.c, RFC 792): echo requests answered in the kernel (icmp_echo),
 * timestamps (icmp_timestamp), errors received delivered to the protocol that sent the
 * offending packet (icmp_unreach → err_handler), and errors generated about packets we
 * received (icmp_send), rate limited globally (icmp_msgs_per_sec/burst) and per
 * destination (icmp_ratelimit with inet_peer's token bucket) for the types of
 * icmp_ratemask. Every message is counted in Icmp: and IcmpMsg:.
 */
import type { NetNs } from '../netns.js';
import { allocSkb, PACKET_HOST, type SkBuff } from '../core/skbuff.js';
import { csumFold, csumPartial } from '../core/checksum.js';
import { IFF_LOOPBACK } from '../core/netdevice.js';
import { inetAddrType, inetSelectAddr } from './devinet.js';
import { RT_SCOPE_LINK, RTN_BROADCAST, RTN_LOCAL } from './fib.js';
import { INADDR_BROADCAST, isMulticast, isZeronet, readAddr } from './inet_addr.js';
import { ipRouteOutput } from './route.js';
import { ipSend, IP_HLEN, IP_OFFSET } from './ip_output.js';
import { inetAddProtocol, inetProtocol, IPPROTO_ICMP, rawIcmpError, type IcmpErr } from './protocol.js';

// Types (include/uapi/linux/icmp.h).
export const ICMP_ECHOREPLY = 0;
export const ICMP_DEST_UNREACH = 3;
export const ICMP_SOURCE_QUENCH = 4;
export const ICMP_REDIRECT = 5;
export const ICMP_ECHO = 8;
export const ICMP_TIME_EXCEEDED = 11;
export const ICMP_PARAMETERPROB = 12;
export const ICMP_TIMESTAMP = 13;
export const ICMP_TIMESTAMPREPLY = 14;
export const ICMP_INFO_REQUEST = 15;
export const ICMP_INFO_REPLY = 16;
export const ICMP_ADDRESS = 17;
export const ICMP_ADDRESSREPLY = 18;
export const NR_ICMP_TYPES = 18;
// Codes for DEST_UNREACH.
export const ICMP_NET_UNREACH = 0;
export const ICMP_HOST_UNREACH = 1;
export const ICMP_PROT_UNREACH = 2;
export const ICMP_PORT_UNREACH = 3;
export const ICMP_FRAG_NEEDED = 4;
export const ICMP_SR_FAILED = 5;
export const ICMP_NET_UNKNOWN = 6;
export const ICMP_HOST_UNKNOWN = 7;
export const ICMP_HOST_ISOLATED = 8;
export const ICMP_NET_ANO = 9;
export const ICMP_HOST_ANO = 10;
export const ICMP_NET_UNR_TOS = 11;
export const ICMP_HOST_UNR_TOS = 12;
export const ICMP_PKT_FILTERED = 13;
export const NR_ICMP_UNREACH = 15;
// Codes for TIME_EXCEEDED.
export const ICMP_EXC_TTL = 0;
export const ICMP_EXC_FRAGTIME = 1;
export const ICMP_HLEN = 8;

/** Which types are errors (icmp_pointers[].error). */
function isIcmpError(type: number): boolean {
  return (
    type === ICMP_DEST_UNREACH ||
    type === ICMP_SOURCE_QUENCH ||
    type === ICMP_REDIRECT ||
    type === ICMP_TIME_EXCEEDED ||
    type === ICMP_PARAMETERPROB
  );
}

/** sysctl icmp_ratemask default: DEST_UNREACH, SOURCE_QUENCH, TIME_EXCEEDED, PARAMETERPROB. */
const ICMP_RATEMASK = 0x1818;
/** icmp_msgs_per_sec and icmp_msgs_burst. */
const ICMP_MSGS_PER_SEC = 1000;
const ICMP_MSGS_BURST = 50;
/** XRLIM_BURST_FACTOR of inet_peer_xrlim_allow. */
const XRLIM_BURST_FACTOR = 6;

/** Per-namespace limiter state (net->ipv4.icmp_global and the inet_peer tokens). */
interface IcmpState {
  globalCredit: number;
  globalStampNs: number;
  peers: Map<number, { tokensMs: number; lastNs: number }>;
}
const states = new WeakMap<NetNs, IcmpState>();
function stateOf(ns: NetNs): IcmpState {
  let s = states.get(ns);
  if (!s) states.set(ns, (s = { globalCredit: ICMP_MSGS_BURST, globalStampNs: ns.env.nowNs(), peers: new Map() }));
  return s;
}

/** icmp_global_allow: the namespace-wide token bucket. */
function icmpGlobalAllow(ns: NetNs, s: IcmpState): boolean {
  const now = ns.env.nowNs();
  const delta = Math.min(now - s.globalStampNs, 1e9);
  if (delta >= 1e6) {
    s.globalCredit = Math.min(ICMP_MSGS_BURST, s.globalCredit + Math.floor((delta * ICMP_MSGS_PER_SEC) / 1e9));
    s.globalStampNs = now;
  }
  if (s.globalCredit <= 0) return false;
  s.globalCredit--;
  return true;
}

/** inet_peer_xrlim_allow for `daddr` with icmp_ratelimit. */
function icmpPeerAllow(ns: NetNs, s: IcmpState, daddr: number): boolean {
  const timeoutMs = ns.sysctl.icmpRatelimit;
  if (timeoutMs <= 0) return true;
  const now = ns.env.nowNs();
  let p = s.peers.get(daddr);
  if (!p) {
    if (s.peers.size > 4096) s.peers.clear(); // inet_peer's gc, coarsely
    s.peers.set(daddr, (p = { tokensMs: XRLIM_BURST_FACTOR * timeoutMs, lastNs: now }));
  }
  p.tokensMs = Math.min(XRLIM_BURST_FACTOR * timeoutMs, p.tokensMs + (now - p.lastNs) / 1e6);
  p.lastNs = now;
  if (p.tokensMs >= timeoutMs) {
    p.tokensMs -= timeoutMs;
    return true;
  }
  return false;
}

/** icmp_out_count: a message of `type` leaves (ping sockets call it too). */
export function icmpOutCount(ns: NetNs, type: number): void {
  ns.mib.icmpMsgOut[type & 0xff]!++;
  ns.mib.icmp.OutMsgs++;
}

/** Build an ICMP message (header + data) and send it through IP. */
function icmpPush(
  ns: NetNs,
  type: number,
  code: number,
  rest: number,
  data: Uint8Array,
  saddr: number,
  daddr: number,
  tos: number,
  oif = 0,
): number {
  const skb = allocSkb(ICMP_HLEN + data.length);
  const at = skb.put(ICMP_HLEN + data.length);
  const b = skb.buf;
  b[at] = type;
  b[at + 1] = code;
  b[at + 2] = 0;
  b[at + 3] = 0;
  b[at + 4] = rest >>> 24;
  b[at + 5] = (rest >>> 16) & 0xff;
  b[at + 6] = (rest >>> 8) & 0xff;
  b[at + 7] = rest & 0xff;
  b.set(data, at + ICMP_HLEN);
  const c = csumFold(csumPartial(b, at, ICMP_HLEN + data.length));
  b[at + 2] = c >>> 8;
  b[at + 3] = c & 0xff;
  icmpOutCount(ns, type);
  const r = ipSend(ns, skb, { saddr, daddr, protocol: IPPROTO_ICMP, tos, oif });
  if (r < 0) ns.mib.icmp.OutErrors++;
  return r;
}

/**
 * icmp_send (__icmp_send): tell the sender of `skbIn` (skb.networkHeader at its IP header)
 * about a problem with it. Never about an ICMP error, a non-first fragment, a broadcast or
 * multicast, or a packet from a non-unicast source; rate limited.
 */
export function icmpSend(ns: NetNs, skbIn: SkBuff, type: number, code: number, info: number): void {
  const b = skbIn.buf;
  const nh = skbIn.networkHeader;
  if (nh < 0 || nh + IP_HLEN > skbIn.buf.length) return;
  const ihl = (b[nh]! & 0x0f) * 4;
  if (ihl < IP_HLEN || nh + ihl > skbIn.buf.length) return;
  const saddr = readAddr(b, nh + 12);
  const daddr = readAddr(b, nh + 16);
  if (skbIn.pktType !== PACKET_HOST) return;
  if (daddr === INADDR_BROADCAST || isMulticast(daddr)) return;
  if (inetAddrType(ns, daddr) === RTN_BROADCAST) return;
  if (isZeronet(saddr) || isMulticast(saddr) || saddr === INADDR_BROADCAST) return;
  const fo = (b[nh + 6]! << 8) | b[nh + 7]!;
  if (fo & IP_OFFSET) return;
  const end = Math.min(skbIn.buf.length, nh + ((b[nh + 2]! << 8) | b[nh + 3]!));
  if (b[nh + 9] === IPPROTO_ICMP && isIcmpError(type)) {
    // Never an error about an error (only about queries, whose type is in the inner header).
    if (nh + ihl >= end) return;
    const inner = b[nh + ihl]!;
    if (inner > NR_ICMP_TYPES || isIcmpError(inner)) return;
  }
  const s = stateOf(ns);
  const limited =
    type <= NR_ICMP_TYPES && ICMP_RATEMASK & (1 << type) && !(type === ICMP_DEST_UNREACH && code === ICMP_FRAG_NEEDED);
  if (limited) {
    if (!icmpGlobalAllow(ns, s)) {
      ns.mib.icmp.OutRateLimitGlobal++;
      return;
    }
  }
  // The reply's source: the address the packet was for when it was ours; else what routing picks.
  const src = inetAddrType(ns, daddr) === RTN_LOCAL ? daddr : 0;
  const rt = ipRouteOutput(ns, { daddr: saddr, saddr: src });
  if (typeof rt === 'number') return;
  if (limited && !(rt.dev.flags & IFF_LOOPBACK) && !icmpPeerAllow(ns, s, saddr)) {
    ns.mib.icmp.OutRateLimitHost++;
    return;
  }
  // As much of the offending packet as fits in 576 bytes.
  const room = Math.max(0, Math.min(rt.mtu, 576) - IP_HLEN - ICMP_HLEN);
  const data = b.slice(nh, Math.min(end, nh + room));
  const tos = ((b[nh + 1]! & 0x1e) | 0xc0) & 0xff;
  icmpPush(ns, type, code, info >>> 0, data, src || rt.src, saddr, tos);
}

// ---- receive ----

/** Where echo replies (and errors about our echo requests) go: ping sockets (piece C's ping_rcv). */
export interface PingHooks {
  /** ping_rcv: true when a socket took it. skb.data at the ICMP header. */
  rcv(ns: NetNs, skb: SkBuff): boolean;
  /** ping_err. */
  err?(ns: NetNs, err: IcmpErr): void;
}
let pingHooks: PingHooks | null = null;
/** Install the ping socket receive path (net/ipv4/ping.c registers through icmp_pointers). */
export function icmpSetPingHooks(h: PingHooks | null): void {
  pingHooks = h;
}

/** icmp_echo: answer with the same identifier, sequence and data. */
function icmpEcho(ns: NetNs, skb: SkBuff, bcast: boolean): void {
  if (ns.sysctl.icmpEchoIgnoreAll) return;
  if (bcast && ns.sysctl.icmpEchoIgnoreBroadcasts) return;
  const b = skb.buf;
  const at = skb.data;
  const rest = readAddr(b, at + 4);
  const data = b.slice(at + ICMP_HLEN, skb.tail);
  icmpReply(ns, skb, ICMP_ECHOREPLY, rest, data, bcast);
}

/** icmp_reply: the answer to a query goes from the address it was sent to (spec_dst). */
function icmpReply(ns: NetNs, skb: SkBuff, type: number, rest: number, data: Uint8Array, bcast: boolean): void {
  const nh = skb.networkHeader;
  const tos = skb.buf[nh + 1]!;
  const src = bcast ? inetSelectAddr(skb.dev, skb.saddr, RT_SCOPE_LINK) : skb.daddr;
  icmpPush(ns, type, 0, rest, data, src, skb.saddr, tos);
}

/** icmp_timestamp: originate copied, receive and transmit = ms since midnight UT. */
function icmpTimestamp(ns: NetNs, skb: SkBuff, bcast: boolean): void {
  if (skb.len < ICMP_HLEN + 12) {
    ns.mib.icmp.InErrors++;
    return;
  }
  if (bcast && ns.sysctl.icmpEchoIgnoreBroadcasts) return;
  const ms = Math.floor(ns.env.realtimeNs() / 1e6) % 86400000;
  const data = new Uint8Array(12);
  data.set(skb.buf.subarray(skb.data + ICMP_HLEN, skb.data + ICMP_HLEN + 4), 0);
  for (const o of [4, 8]) {
    data[o] = ms >>> 24;
    data[o + 1] = (ms >>> 16) & 0xff;
    data[o + 2] = (ms >>> 8) & 0xff;
    data[o + 3] = ms & 0xff;
  }
  icmpReply(ns, skb, ICMP_TIMESTAMPREPLY, readAddr(skb.buf, skb.data + 4), data, bcast);
}

/** icmp_unreach (also for TIME_EXCEEDED, PARAMETERPROB, SOURCE_QUENCH): hand the error to the sender's protocol. */
function icmpUnreach(ns: NetNs, skb: SkBuff): void {
  const b = skb.buf;
  const at = skb.data;
  const type = b[at]!;
  const code = b[at + 1]!;
  const inner = at + ICMP_HLEN;
  if (skb.tail - inner < IP_HLEN) {
    ns.mib.icmp.InErrors++;
    return;
  }
  const ihl = (b[inner]! & 0x0f) * 4;
  if (ihl < IP_HLEN || b[inner]! >> 4 !== 4) {
    ns.mib.icmp.InErrors++;
    return;
  }
  // icmp_socket_deliver needs the inner header and 8 bytes of transport.
  if (skb.tail - inner < ihl + 8) return;
  let info = 0;
  if (type === ICMP_DEST_UNREACH) {
    if (code > NR_ICMP_UNREACH) return;
    if (code === ICMP_FRAG_NEEDED) info = (b[at + 6]! << 8) | b[at + 7]!;
  } else if (type === ICMP_PARAMETERPROB) info = b[at + 4]!;
  const err: IcmpErr = {
    type,
    code,
    info,
    saddr: readAddr(b, inner + 12),
    daddr: readAddr(b, inner + 16),
    protocol: b[inner + 9]!,
    payload: b.slice(inner + ihl, skb.tail),
  };
  rawIcmpError(ns, err);
  if (err.protocol === IPPROTO_ICMP) {
    pingHooks?.err?.(ns, err);
    return;
  }
  inetProtocol(err.protocol)?.errHandler?.(ns, err);
}

/**
 * icmp_rcv: checksum, count, then the handler of the type. Broadcast and multicast
 * packets get only queries answered (and echo only with icmp_echo_ignore_broadcasts off).
 */
export function icmpRcv(ns: NetNs, skb: SkBuff): void {
  const mib = ns.mib.icmp;
  mib.InMsgs++;
  const b = skb.buf;
  const at = skb.data;
  if (csumFold(csumPartial(b, at, skb.len)) !== 0) {
    mib.InCsumErrors++;
    mib.InErrors++;
    return;
  }
  if (skb.len < ICMP_HLEN) {
    mib.InErrors++;
    return;
  }
  const type = b[at]!;
  ns.mib.icmpMsgIn[type]!++;
  if (type > NR_ICMP_TYPES) {
    mib.InErrors++;
    return;
  }
  const bcast =
    skb.daddr === INADDR_BROADCAST || isMulticast(skb.daddr) || inetAddrType(ns, skb.daddr) === RTN_BROADCAST;
  if (bcast && type !== ICMP_ECHO && type !== ICMP_TIMESTAMP && type !== ICMP_ADDRESS && type !== ICMP_ADDRESSREPLY) {
    mib.InErrors++;
    return;
  }
  switch (type) {
    case ICMP_ECHO:
      icmpEcho(ns, skb, bcast);
      return;
    case ICMP_ECHOREPLY:
      pingHooks?.rcv(ns, skb);
      return;
    case ICMP_TIMESTAMP:
      icmpTimestamp(ns, skb, bcast);
      return;
    case ICMP_DEST_UNREACH:
    case ICMP_TIME_EXCEEDED:
    case ICMP_PARAMETERPROB:
    case ICMP_SOURCE_QUENCH:
      icmpUnreach(ns, skb);
      return;
    default:
      // Redirects, timestamp replies and the obsolete address-mask messages: counted, ignored
      // (icmp_discard; redirects are not taken: the routes here are the administrator's).
      return;
  }
}

/** The ICMP protocol entry, registered by icmpInit. */
const icmpProtocol = { handler: icmpRcv };
export function icmpInit(): void {
  inetAddProtocol(IPPROTO_ICMP, icmpProtocol);
}
/** Types counted per direction in the Icmp: line, in Linux's icmpmibmap order. */
export const ICMP_MIB_MAP: [string, number][] = [
  ['DestUnreachs', ICMP_DEST_UNREACH],
  ['TimeExcds', ICMP_TIME_EXCEEDED],
  ['ParmProbs', ICMP_PARAMETERPROB],
  ['SrcQuenchs', ICMP_SOURCE_QUENCH],
  ['Redirects', ICMP_REDIRECT],
  ['Echos', ICMP_ECHO],
  ['EchoReps', ICMP_ECHOREPLY],
  ['Timestamps', ICMP_TIMESTAMP],
  ['TimestampReps', ICMP_TIMESTAMPREPLY],
  ['AddrMasks', ICMP_ADDRESS],
  ['AddrMaskReps', ICMP_ADDRESSREPLY],
];
