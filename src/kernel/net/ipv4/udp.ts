/**
 * UDP (net/ipv4/udp.c, net/ipv4/datagram.c): SOCK_DGRAM sockets of AF_INET and the kernel API
 * the host's DHCP and DNS servers use (udpKernelOpen/Send/Close).
 *
 * Sockets of a namespace live in one table keyed by local port (udptable's hslot); a
 * received datagram goes to the best-scoring socket (__udp4_lib_lookup / compute_score), or
 * to every matching socket when it was sent to a broadcast or multicast address
 * (__udp4_lib_mcast_deliver). Each socket keeps a receive queue bounded by SO_RCVBUF with
 * Linux's accounting (__udp_enqueue_schedule_skb: the truesize of each datagram is charged;
 * a datagram is dropped, RcvbufErrors, when the queue already holds more than sk_rcvbuf).
 *
 * Sending routes first (ip_route_output_flow, to learn the source address and whether the
 * destination is a broadcast, which needs SO_BROADCAST), builds the UDP header with its
 * checksum and hands the datagram to ipSend, which fragments datagrams larger than the MTU.
 */
import * as E from '../../errno.js';
import type { Task } from '../../sched/task.js';
import { putUser32 } from '../../mm/uaccess.js';
import { allocSkb, type SkBuff } from '../core/skbuff.js';
import { tcpUdpChecksum, csumPartial, csumFold, csumTcpUdpNofold } from '../core/checksum.js';
import type { NetNs } from '../netns.js';
import { type ProtoOps, type RecvMsg, type SendMsg, type Socket } from '../socket.js';
import {
  AF_INET,
  AF_UNSPEC,
  MSG_DONTROUTE,
  MSG_OOB,
  SEND_SHUTDOWN,
  SIOCINQ,
  SIOCOUTQ,
  SO_PRIORITY,
  TCP_CLOSE,
  TCP_ESTABLISHED,
} from '../uapi.js';
import { INADDR_ANY, isMulticast, parseSockaddrIn } from './inet_addr.js';
import {
  datagramPoll,
  icmpErrConvert,
  inetGetname,
  inetIcmpError,
  inetShutdownDgram,
  InetSock,
  inetRcvInfo,
  inetDgramRecvmsg,
  ipCmsgSend,
  ipcmInitSk,
  ipGetsockopt,
  ipSetsockopt,
  ICMP_DEST_UNREACH,
  type InetRcvInfo,
  ICMP_PORT_UNREACH,
  IPPROTO_UDP,
  RTN_BROADCAST,
  RTN_LOCAL,
  RTN_MULTICAST,
  SOCK_BINDADDR_LOCK,
  SOCK_BINDPORT_LOCK,
  SOL_IP,
  IP_PMTUDISC_DO,
  IP_PMTUDISC_PROBE,
  IP_PMTUDISC_WANT,
} from './inet_sock.js';
import { ipSend } from './ip_output.js';
import { ipRouteOutput, type Rtable } from './route.js';
import { inetAddProtocol, type IcmpErr } from './protocol.js';
import { icmpSend } from './icmp.js';
import { inetAddrType } from './devinet.js';

/** sizeof(struct udphdr). */
export const UDP_HLEN = 8;
/** The largest UDP payload: 0xFFFF minus the IP and UDP headers (ip_append_data's check). */
export const UDP_MAX_PAYLOAD = 0xffff - 20 - UDP_HLEN;
/** SOL_UDP and its options (include/uapi/linux/udp.h). */
export const SOL_UDP = 17;
export const UDP_CORK = 1;
/** sizeof(struct sk_buff) + sizeof(struct skb_shared_info), aligned: what SKB_TRUESIZE adds to the data. */
const SKB_OVERHEAD = 576;
/** The hslot mask of udptable (UDP_HTABLE_SIZE_MIN - 1) as /proc/net/udp's `sl` column shows it. */
export const UDP_HTABLE_MASK = 255;

/** One queued datagram (the skb on sk_receive_queue with its IP header fields). */
export interface UdpDatagram {
  data: Uint8Array;
  saddr: number;
  sport: number;
  daddr: number;
  ifindex: number;
  ttl: number;
  tos: number;
  /** What the receive control messages need (ip_cmsg_recv, SO_TIMESTAMP). */
  rcv: InetRcvInfo;
  truesize: number;
}

/** Where a kernel socket's datagram came from (udpKernelOpen's onDatagram). */
export interface UdpDatagramInfo {
  saddr: number;
  sport: number;
  daddr: number;
  ifindex: number;
}

/** struct udp_sock. */
export class UdpSock extends InetSock {
  readonly recvQueue: UdpDatagram[] = [];
  /** UDP_CORK: sends are collected into one datagram until it is cleared (as with MSG_MORE). */
  cork = false;
  /** The corked datagram being collected (up->pending with the cork's flow). */
  pending: { daddr: number; dport: number; parts: Uint8Array[]; len: number; opts: SendOpts } | null = null;
  /** Set for kernel sockets: called for each datagram instead of queueing it. */
  onDatagram: ((data: Uint8Array, info: UdpDatagramInfo) => void) | null = null;
  /** Still in the table (not released). */
  hashed = false;
}

/** The kernel socket handle of udpKernelOpen. */
export type UdpKernelSock = UdpSock;

/** udptable of one namespace: sockets by local port, most recently bound first. */
interface UdpTable {
  byPort: Map<number, UdpSock[]>;
}

const tables = new WeakMap<NetNs, UdpTable>();

function udpTable(ns: NetNs): UdpTable {
  let t = tables.get(ns);
  if (!t) {
    t = { byPort: new Map() };
    tables.set(ns, t);
  }
  return t;
}

/** Every UDP socket of a namespace (for /proc/net/udp), in port order. */
export function udpSockets(ns: NetNs): UdpSock[] {
  const t = udpTable(ns);
  const ports = [...t.byPort.keys()].sort((a, b) => (a & UDP_HTABLE_MASK) - (b & UDP_HTABLE_MASK) || a - b);
  const out: UdpSock[] = [];
  for (const p of ports) out.push(...t.byPort.get(p)!);
  return out;
}

function usk(sock: Socket): UdpSock {
  return sock.sk as UdpSock;
}

// ---------------------------------------------------------------------------------------
// Binding (udp_lib_get_port).

/**
 * udp_lib_lport_inuse: does `other` (bound to the same port) forbid `sk` from sharing it?
 * Both SO_REUSEADDR, or both SO_REUSEPORT, let them share; different devices never clash;
 * the addresses clash when either is the wildcard or they are equal.
 */
function conflicts(sk: UdpSock, other: UdpSock, addr: number): boolean {
  if (other === sk) return false;
  if (sk.reuse && other.reuse) return false;
  if (sk.reusePort && other.reusePort && sk.uid === other.uid) return false;
  if (sk.boundDevIf && other.boundDevIf && sk.boundDevIf !== other.boundDevIf) return false;
  return !other.rcvSaddr || !addr || other.rcvSaddr === addr;
}

function portFree(t: UdpTable, sk: UdpSock, port: number, addr: number): boolean {
  const list = t.byPort.get(port);
  if (!list) return true;
  for (const o of list) if (conflicts(sk, o, addr)) return false;
  return true;
}

function hash(t: UdpTable, sk: UdpSock, port: number): void {
  sk.num = port;
  let list = t.byPort.get(port);
  if (!list) {
    list = [];
    t.byPort.set(port, list);
  }
  list.unshift(sk);
  sk.hashed = true;
}

/** udp_lib_unhash. */
function unhash(sk: UdpSock): void {
  if (!sk.hashed) return;
  const t = udpTable(sk.ns);
  const list = t.byPort.get(sk.num);
  if (list) {
    const i = list.indexOf(sk);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) t.byPort.delete(sk.num);
  }
  sk.hashed = false;
  sk.num = 0;
}

/**
 * udp_lib_get_port: take `port`, or with 0 an ephemeral port from ip_local_port_range
 * starting at a random point. -EADDRINUSE when taken (or the range is exhausted).
 */
function udpGetPort(sk: UdpSock, port: number): number {
  const t = udpTable(sk.ns);
  if (port === 0) {
    const [low, high] = sk.ns.sysctl.ipLocalPortRange;
    const remaining = high - low + 1;
    const first = low + (sk.ns.env.random32() % remaining);
    for (let i = 0; i < remaining; i++) {
      const p = low + ((first - low + i) % remaining);
      if (portFree(t, sk, p, sk.rcvSaddr)) {
        hash(t, sk, p);
        return 0;
      }
    }
    return -E.EADDRINUSE;
  }
  if (!portFree(t, sk, port, sk.rcvSaddr)) return -E.EADDRINUSE;
  hash(t, sk, port);
  return 0;
}

/** inet_autobind: an ephemeral port for a socket that sends or connects unbound. */
function autobind(sk: UdpSock): number {
  if (sk.num) return 0;
  return udpGetPort(sk, 0) < 0 ? -E.EAGAIN : 0;
}

/** __inet_bind for UDP. */
export function udpBindAddr(sk: UdpSock, addr: number, port: number, privileged: boolean): number {
  const type = inetAddrType(sk.ns, addr);
  if (!sk.freebind && addr !== INADDR_ANY && type !== RTN_LOCAL && type !== RTN_MULTICAST && type !== RTN_BROADCAST)
    return -E.EADDRNOTAVAIL;
  // inet_port_requires_bind_service: ports below ip_unprivileged_port_start (1024).
  if (port && port < 1024 && !privileged) return -E.EACCES;
  if (sk.skState !== TCP_CLOSE || sk.num) return -E.EINVAL;
  sk.rcvSaddr = addr;
  sk.saddr = type === RTN_MULTICAST || type === RTN_BROADCAST ? 0 : addr;
  if (udpGetPort(sk, port) < 0) {
    sk.saddr = sk.rcvSaddr = 0;
    return -E.EADDRINUSE;
  }
  if (sk.rcvSaddr) sk.userLocks |= SOCK_BINDADDR_LOCK;
  if (port) sk.userLocks |= SOCK_BINDPORT_LOCK;
  sk.daddr = 0;
  sk.dport = 0;
  return 0;
}

function udpBind(sock: Socket, task: Task, uaddr: Uint8Array): number {
  const sk = usk(sock);
  const a = parseSockaddrIn(uaddr);
  if (!a) return -E.EINVAL;
  // Compatibility games of __inet_bind: AF_UNSPEC is taken for AF_INET only with INADDR_ANY.
  if (a.family !== AF_INET && (a.family !== AF_UNSPEC || a.addr !== INADDR_ANY)) return -E.EAFNOSUPPORT;
  return udpBindAddr(sk, a.addr, a.port, task.cred.euid === 0);
}

// ---------------------------------------------------------------------------------------
// Routing for connect and send (ip_route_connect / ip_route_output_flow).

interface Flow {
  daddr: number;
  saddr: number;
  oif: number;
  tos: number;
  /** RTO_ONLINK (SO_DONTROUTE / MSG_DONTROUTE). */
  onlink?: boolean;
}

/** The output flow of a datagram socket: bound device, multicast interface, bound source. */
function flowOf(sk: InetSock, daddr: number, oif: number, saddr: number): Flow {
  let o = oif || sk.boundDevIf;
  let s = saddr || sk.saddr;
  if (isMulticast(daddr)) {
    if (!o) o = sk.mcIf;
    if (!s) s = sk.mcAddr;
  }
  return { daddr, saddr: s, oif: o, tos: sk.tos };
}

export function inetRoute(sk: InetSock, f: Flow): Rtable | number {
  return ipRouteOutput(sk.ns, {
    daddr: f.daddr,
    saddr: f.saddr || undefined,
    oif: f.oif || undefined,
    tos: f.tos,
    onlink: f.onlink || sk.dontRoute,
  });
}

/** __ip4_datagram_connect (with udp's autobind from inet_dgram_connect). */
export function ip4DatagramConnect(sk: InetSock, uaddr: Uint8Array, autobindFn: () => number): number {
  const a = parseSockaddrIn(uaddr);
  if (!a) return -E.EINVAL;
  if (a.family !== AF_INET) return -E.EAFNOSUPPORT;
  if (!sk.num && autobindFn() < 0) return -E.EAGAIN;
  const rt = inetRoute(sk, flowOf(sk, a.addr, 0, 0));
  if (typeof rt === 'number') return rt;
  if (rt.type === RTN_BROADCAST && !sk.broadcastOk) return -E.EACCES;
  if (!sk.saddr) sk.saddr = rt.src;
  if (!sk.rcvSaddr) sk.rcvSaddr = rt.src;
  sk.daddr = a.addr;
  sk.dport = a.port;
  sk.skState = TCP_ESTABLISHED;
  return 0;
}

/** udp_disconnect (connect with AF_UNSPEC): forget the peer, and what connect chose implicitly. */
function udpDisconnect(sk: UdpSock): number {
  sk.skState = TCP_CLOSE;
  sk.daddr = 0;
  sk.dport = 0;
  if (!(sk.userLocks & SOCK_BINDADDR_LOCK)) {
    sk.rcvSaddr = 0;
    sk.saddr = 0;
  }
  if (!(sk.userLocks & SOCK_BINDPORT_LOCK)) unhash(sk);
  return 0;
}

function udpConnect(sock: Socket, _task: Task, uaddr: Uint8Array): number {
  const sk = usk(sock);
  if (uaddr.length < 2) return -E.EINVAL;
  if ((uaddr[0]! | (uaddr[1]! << 8)) === AF_UNSPEC) return udpDisconnect(sk);
  return ip4DatagramConnect(sk, uaddr, () => autobind(sk));
}

// ---------------------------------------------------------------------------------------
// Output (udp_sendmsg, udp_send_skb).

/** Where a datagram goes and from which device/address (the parts of ipcm_cookie we use). */
interface SendOpts {
  oif?: number;
  saddr?: number;
  dontRoute?: boolean;
  /** IP_TTL / IP_TOS control messages of this send (ipc.ttl / ipc.tos); absent = the socket's. */
  ttl?: number;
  tos?: number;
}

/**
 * udp_sendmsg after the payload has been copied in: route, check broadcast permission,
 * build the header and checksum (udp_send_skb), send. Returns the payload length or -errno.
 */
export function udpSendDatagram(sk: UdpSock, data: Uint8Array, daddr: number, dport: number, o: SendOpts): number {
  const ns = sk.ns;
  if (data.length > UDP_MAX_PAYLOAD) return -E.EMSGSIZE;
  if (sk.shutdown & SEND_SHUTDOWN) return -E.EPIPE;
  if (!sk.num && autobind(sk) < 0) return -E.EAGAIN;
  const f = flowOf(sk, daddr, o.oif ?? 0, o.saddr ?? 0);
  f.onlink = o.dontRoute;
  // get_rttos: the route is looked up with the cmsg's TOS when one was given.
  const tos = o.tos ?? sk.tos;
  f.tos = tos;
  const rt = inetRoute(sk, f);
  if (typeof rt === 'number') return rt;
  if (rt.type === RTN_BROADCAST && !sk.broadcastOk) return -E.EACCES;
  const saddr = f.saddr || rt.src;
  const len = UDP_HLEN + data.length;
  const skb = allocSkb(len);
  const at = skb.put(len);
  const b = skb.buf;
  b[at] = sk.num >> 8;
  b[at + 1] = sk.num & 0xff;
  b[at + 2] = dport >> 8;
  b[at + 3] = dport & 0xff;
  b[at + 4] = len >> 8;
  b[at + 5] = len & 0xff;
  b[at + 6] = 0;
  b[at + 7] = 0;
  b.set(data, at + UDP_HLEN);
  // udp4_hwcsum/udp_csum: a computed 0 goes out as 0xffff (0 means "no checksum").
  let check = tcpUdpChecksum(b, at, len, saddr, daddr, IPPROTO_UDP);
  if (check === 0) check = 0xffff;
  b[at + 6] = check >> 8;
  b[at + 7] = check & 0xff;
  skb.transportHeader = at;
  skb.saddr = saddr;
  skb.daddr = daddr;
  skb.sk = sk;
  skb.priority = sk.sock ? (sk.sock.intOpts.get(SO_PRIORITY) ?? 0) : 0;
  const multicast = isMulticast(daddr);
  // ip_dont_fragment: DO/PROBE never fragment; WANT sets DF on what fits and fragments the rest locally.
  const mtu = rt.mtu || 1500;
  const df =
    sk.pmtudisc === IP_PMTUDISC_DO ||
    sk.pmtudisc === IP_PMTUDISC_PROBE ||
    (sk.pmtudisc === IP_PMTUDISC_WANT && len + 20 <= mtu);
  if ((sk.pmtudisc === IP_PMTUDISC_DO || sk.pmtudisc === IP_PMTUDISC_PROBE) && len + 20 > mtu) return -E.EMSGSIZE;
  const e = ipSend(ns, skb, {
    saddr,
    daddr,
    protocol: IPPROTO_UDP,
    ttl: o.ttl ?? sk.ttlFor(multicast),
    tos,
    df,
    oif: f.oif || undefined,
    rt,
    dontRoute: o.dontRoute || sk.dontRoute,
  });
  if (e < 0) {
    if (e === -E.ENOBUFS) ns.mib.udp.SndbufErrors++;
    return e;
  }
  ns.mib.udp.OutDatagrams++;
  return data.length;
}

/** MSG_MORE (include/linux/socket.h). */
const MSG_MORE = 0x8000;

/**
 * udp_push_pending_frames: send what UDP_CORK / MSG_MORE collected as one datagram to the
 * destination of its first part.
 */
function udpPushPending(sk: UdpSock): number {
  const p = sk.pending;
  if (!p) return 0;
  sk.pending = null;
  const data = new Uint8Array(p.len);
  let at = 0;
  for (const part of p.parts) {
    data.set(part, at);
    at += part.length;
  }
  const r = udpSendDatagram(sk, data, p.daddr, p.dport, p.opts);
  return r < 0 ? r : 0;
}

function udpSendmsg(sock: Socket, _task: Task, msg: SendMsg): number {
  const sk = usk(sock);
  const len = msg.iter.count;
  if (len > 0xffff) return -E.EMSGSIZE;
  if (msg.flags & MSG_OOB) return -E.EOPNOTSUPP;
  // ipcm_init_sk + ip_cmsg_send: IP_PKTINFO / IP_TTL / IP_TOS of this send.
  const ipc = ipcmInitSk(sk);
  if (msg.control) {
    const ce = ipCmsgSend(msg.control, ipc);
    if (ce < 0) return ce;
  }
  const corkreq = sk.cork || (msg.flags & MSG_MORE) !== 0;
  let daddr: number;
  let dport: number;
  if (sk.pending) {
    // do_append_data: a corked datagram keeps the destination of its first part.
    daddr = sk.pending.daddr;
    dport = sk.pending.dport;
  } else if (msg.name) {
    const a = parseSockaddrIn(msg.name);
    if (!a) return -E.EINVAL;
    if (a.family !== AF_INET && a.family !== AF_UNSPEC) return -E.EAFNOSUPPORT;
    daddr = a.addr;
    dport = a.port;
    if (dport === 0) return -E.EINVAL;
  } else {
    if (sk.skState !== TCP_ESTABLISHED) return -E.EDESTADDRREQ;
    daddr = sk.daddr;
    dport = sk.dport;
  }
  // sock_alloc_send_skb reports (and clears) a pending error such as an ICMP port unreachable.
  const err = sk.takeErr();
  if (err) {
    sk.pending = null;
    return -err;
  }
  const total = (sk.pending?.len ?? 0) + len;
  if (total > UDP_MAX_PAYLOAD) {
    // ip_append_data fails; udp_flush_pending_frames drops what was collected.
    sk.pending = null;
    return -E.EMSGSIZE;
  }
  const data = msg.iter.copyFrom(len);
  if (typeof data === 'number') return data;
  const dontRoute = (msg.flags & MSG_DONTROUTE) !== 0;
  const opts: SendOpts = {
    oif: ipc.oif,
    saddr: ipc.addr,
    dontRoute,
    ttl: ipc.ttl > 0 ? ipc.ttl : undefined,
    tos: ipc.tos >= 0 ? ipc.tos : undefined,
  };
  if (corkreq || sk.pending) {
    // ip_setup_cork: the first part's ipcm_cookie (source, device, TTL, TOS) holds for the datagram.
    sk.pending ??= { daddr, dport, parts: [], len: 0, opts };
    sk.pending.parts.push(data.slice());
    sk.pending.len += len;
    if (corkreq) return len;
    const r = udpPushPending(sk);
    return r < 0 ? r : len;
  }
  return udpSendDatagram(sk, data.slice(), daddr, dport, opts);
}

// ---------------------------------------------------------------------------------------
// Input (udp_rcv → __udp4_lib_rcv).

/** compute_score: -1 when the socket does not match, higher for more specific bindings. */
function computeScore(sk: UdpSock, saddr: number, sport: number, daddr: number, dif: number): number {
  let score = 2;
  if (sk.rcvSaddr) {
    if (sk.rcvSaddr !== daddr) return -1;
    score += 4;
  }
  if (sk.daddr) {
    if (sk.daddr !== saddr) return -1;
    score += 4;
  }
  if (sk.dport) {
    if (sk.dport !== sport) return -1;
    score += 4;
  }
  if (sk.boundDevIf) {
    // dif < 0: an ICMP error's lookup, which matches on addresses and ports only.
    if (dif >= 0 && sk.boundDevIf !== dif) return -1;
    score += 4;
  }
  return score;
}

/** __udp4_lib_lookup: the best socket for a datagram. */
export function udp4LibLookup(
  ns: NetNs,
  saddr: number,
  sport: number,
  daddr: number,
  dport: number,
  dif: number,
): UdpSock | null {
  const list = udpTable(ns).byPort.get(dport);
  if (!list) return null;
  let best: UdpSock | null = null;
  let bestScore = -1;
  for (const sk of list) {
    const s = computeScore(sk, saddr, sport, daddr, dif);
    if (s > bestScore) {
      best = sk;
      bestScore = s;
    }
  }
  return best;
}

/** __udp_is_mcast_sock (+ ip_mc_sf_allow's membership rule). */
function isMcastSock(sk: UdpSock, saddr: number, sport: number, daddr: number, dif: number): boolean {
  if ((sk.daddr && sk.daddr !== saddr) || (sk.dport && sk.dport !== sport)) return false;
  if (sk.rcvSaddr && sk.rcvSaddr !== daddr) return false;
  if (sk.boundDevIf && sk.boundDevIf !== dif) return false;
  if (isMulticast(daddr) && !sk.mcList.some((m) => m.multiaddr === daddr)) return sk.mcAll !== 0;
  return true;
}

/** SKB_TRUESIZE of a received packet: its buffer plus the sk_buff and shared-info overhead. */
function truesizeOf(skb: SkBuff): number {
  return skb.buf.length + SKB_OVERHEAD;
}

/**
 * __udp_queue_rcv_skb → __udp_enqueue_schedule_skb: queue for the reader (or hand a kernel
 * socket its datagram). Dropped with RcvbufErrors+InErrors when the receive queue already
 * holds more than sk_rcvbuf.
 */
function udpQueueRcv(sk: UdpSock, skb: SkBuff, d: Omit<UdpDatagram, 'truesize' | 'rcv'>): void {
  const ns = sk.ns;
  if (sk.onDatagram) {
    ns.mib.udp.InDatagrams++;
    sk.onDatagram(d.data, { saddr: d.saddr, sport: d.sport, daddr: d.daddr, ifindex: d.ifindex });
    return;
  }
  const size = truesizeOf(skb);
  if (sk.rmem > sk.rcvbuf) {
    ns.mib.udp.RcvbufErrors++;
    ns.mib.udp.InErrors++;
    sk.drops++;
    return;
  }
  sk.rmem += size;
  // udp_queue_rcv_one_skb's ipv4_pktinfo_prepare(sk, skb, true), then what the cmsgs read later.
  sk.recvQueue.push({ ...d, rcv: inetRcvInfo(sk, skb, true), truesize: size });
  sk.wake();
}

/** udp_rcv: validate, verify the checksum, deliver or answer port unreachable. */
export function udpRcv(ns: NetNs, skb: SkBuff): void {
  const mib = ns.mib.udp;
  if (skb.len < UDP_HLEN) {
    mib.InErrors++;
    return;
  }
  const b = skb.buf;
  const at = skb.data;
  const sport = (b[at]! << 8) | b[at + 1]!;
  const dport = (b[at + 2]! << 8) | b[at + 3]!;
  const ulen = (b[at + 4]! << 8) | b[at + 5]!;
  const check = (b[at + 6]! << 8) | b[at + 7]!;
  // udp_rcv's short_packet: a length field beyond the datagram or below the header.
  if (ulen > skb.len || ulen < UDP_HLEN) {
    mib.InErrors++;
    return;
  }
  skb.trim(ulen);
  skb.transportHeader = at;
  const saddr = skb.saddr;
  const daddr = skb.daddr;
  // udp4_csum_init + udp_lib_checksum_complete: 0 = the sender computed none.
  if (check !== 0) {
    const sum = csumFold(csumPartial(b, at, ulen, csumTcpUdpNofold(saddr, daddr, ulen, IPPROTO_UDP)));
    if (sum !== 0) {
      mib.InCsumErrors++;
      mib.InErrors++;
      return;
    }
  }
  const dif = skb.dev ? skb.dev.ifindex : 0;
  const nh = skb.networkHeader;
  const ttl = nh >= 0 ? b[nh + 8]! : 0;
  const tos = nh >= 0 ? b[nh + 1]! : 0;
  const payload = (): Uint8Array => b.slice(at + UDP_HLEN, at + ulen);
  const base = { saddr, sport, daddr, ifindex: dif, ttl, tos };
  const type = isMulticast(daddr) ? RTN_MULTICAST : daddr === 0xffffffff ? RTN_BROADCAST : inetAddrType(ns, daddr);
  if (type === RTN_BROADCAST || type === RTN_MULTICAST) {
    // __udp4_lib_mcast_deliver: a copy for every matching socket.
    const list = udpTable(ns).byPort.get(dport) ?? [];
    let n = 0;
    for (const sk of [...list]) {
      if (!isMcastSock(sk, saddr, sport, daddr, dif)) continue;
      udpQueueRcv(sk, skb, { ...base, data: payload() });
      n++;
    }
    if (n === 0) mib.IgnoredMulti++;
    return;
  }
  const sk = udp4LibLookup(ns, saddr, sport, daddr, dport, dif);
  if (sk) {
    udpQueueRcv(sk, skb, { ...base, data: payload() });
    return;
  }
  // No socket: count it and tell the sender (icmp_send rate-limits and never answers broadcasts).
  mib.NoPorts++;
  icmpSend(ns, skb, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, 0);
}

/** __udp4_lib_err: an ICMP error about a datagram we sent. */
export function udpErr(ns: NetNs, err: IcmpErr): void {
  if (err.payload.length < 4) return;
  const sport = (err.payload[0]! << 8) | err.payload[1]!;
  const dport = (err.payload[2]! << 8) | err.payload[3]!;
  // The lookup from the receiving side of our own datagram: local = err.saddr:sport.
  const sk = udp4LibLookup(ns, err.daddr, dport, err.saddr, sport, -1);
  if (!sk || sk.onDatagram) {
    ns.mib.icmp.InErrors++;
    return;
  }
  const e = icmpErrConvert(err.type, err.code, sk.pmtudisc);
  if (!e) return;
  inetIcmpError(sk, e, {
    errno: e.errno,
    type: err.type,
    code: err.code,
    info: err.info,
    offender: err.daddr,
    port: dport,
    payload: err.payload.slice(UDP_HLEN),
    tstampNs: ns.env.nowNs(),
  });
}

// ---------------------------------------------------------------------------------------
// Receiving (udp_recvmsg).

function udpRecvmsg(sock: Socket, task: Task, msg: RecvMsg): number | Promise<number> {
  // __skb_recv_udp (a pending error before queued data); InDatagrams counts what is taken.
  const sk = usk(sock);
  return inetDgramRecvmsg(
    sock,
    task,
    sk,
    msg,
    (d) => d.sport,
    () => sk.ns.mib.udp.InDatagrams++,
  );
}

// ---------------------------------------------------------------------------------------
// The rest of proto_ops.

function udpPoll(sock: Socket): number {
  const sk = usk(sock);
  return datagramPoll(sk, sk.recvQueue.length > 0);
}

/** udp_ioctl: SIOCOUTQ (the corked bytes waiting to be sent), SIOCINQ (the first datagram's payload length). */
function udpIoctl(sock: Socket, task: Task, cmd: number, arg: number): number {
  const sk = usk(sock);
  let v: number;
  if (cmd === SIOCOUTQ) v = sk.pending?.len ?? 0;
  else if (cmd === SIOCINQ) v = sk.recvQueue[0]?.data.length ?? 0;
  else return -E.ENOTTY;
  return putUser32(task.mm, arg, v) < 0 ? -E.EFAULT : 0;
}

/** udp_lib_close → udp_destroy_sock: leave the table, drop the queue. */
function udpRelease(sock: Socket): void {
  const sk = usk(sock);
  sk.pending = null;
  unhash(sk);
  sk.recvQueue.length = 0;
  sk.rmem = 0;
  sk.skState = TCP_CLOSE;
}

function udpSetsockopt(sock: Socket, task: Task, level: number, name: number, val: Uint8Array): number {
  const sk = usk(sock);
  if (level === SOL_IP) return ipSetsockopt(sk, task, name, val, false);
  if (level === SOL_UDP) {
    if (val.length < 4) return -E.EINVAL;
    const v = new DataView(val.buffer, val.byteOffset, 4).getInt32(0, true);
    if (name === UDP_CORK) {
      // udp_lib_setsockopt: clearing the cork sends what was collected.
      sk.cork = v !== 0;
      if (!sk.cork) udpPushPending(sk);
      return 0;
    }
    return -E.ENOPROTOOPT;
  }
  return -E.ENOPROTOOPT;
}

function udpGetsockopt(sock: Socket, _task: Task, level: number, name: number, len: number): Uint8Array | number {
  const sk = usk(sock);
  if (level === SOL_IP) {
    let mtu: number | null = null;
    if (name === 14 /* IP_MTU */ && sk.skState === TCP_ESTABLISHED) {
      const rt = inetRoute(sk, flowOf(sk, sk.daddr, 0, 0));
      mtu = typeof rt === 'number' ? null : rt.mtu;
    }
    return ipGetsockopt(sk, name, len, mtu);
  }
  if (level === SOL_UDP) {
    if (name === UDP_CORK) {
      const b = new Uint8Array(4);
      b[0] = sk.cork ? 1 : 0;
      return b;
    }
    return -E.ENOPROTOOPT;
  }
  return -E.ENOPROTOOPT;
}

function noSocketpair(): number {
  return -E.EOPNOTSUPP;
}

export const udpOps: ProtoOps = {
  family: AF_INET,
  release: udpRelease,
  bind: udpBind,
  connect: udpConnect,
  socketpair: noSocketpair,
  accept: () => -E.EOPNOTSUPP,
  getname: (sock, peer) => inetGetname(usk(sock), peer),
  poll: udpPoll,
  ioctl: udpIoctl,
  listen: () => -E.EOPNOTSUPP,
  shutdown: (sock, how) => inetShutdownDgram(usk(sock), how),
  setsockopt: udpSetsockopt,
  getsockopt: udpGetsockopt,
  sendmsg: udpSendmsg,
  recvmsg: udpRecvmsg,
};

/** udp_init_sock for a SOCK_DGRAM socket of AF_INET. */
export function udpCreateSocket(ns: NetNs, sock: Socket): number {
  const sk = new UdpSock(ns, sock, IPPROTO_UDP);
  sock.sk = sk;
  sock.ops = udpOps;
  return 0;
}

// ---------------------------------------------------------------------------------------
// The kernel API (the host's DHCP and DNS servers).

/**
 * A kernel UDP socket bound to addr:port (port 0 = ephemeral), SO_BROADCAST and SO_REUSEADDR
 * set; every datagram is handed to onDatagram as it arrives (sk_data_ready with the skb).
 */
export function udpKernelOpen(
  ns: NetNs,
  o: { addr: number; port: number; ifindex?: number; onDatagram(data: Uint8Array, info: UdpDatagramInfo): void },
): UdpKernelSock | number {
  udpInit();
  const sk = new UdpSock(ns, null, IPPROTO_UDP);
  sk.kBroadcast = true;
  sk.kReuse = true;
  sk.onDatagram = o.onDatagram;
  if (o.ifindex) sk.devIf = o.ifindex;
  const e = udpBindAddr(sk, o.addr >>> 0, o.port, true);
  if (e < 0) return e;
  return sk;
}

/**
 * Send one datagram from a kernel socket. With `oif`, the route is looked up on that device,
 * so 255.255.255.255 leaves it as an Ethernet broadcast (the DHCP server answers that way).
 */
export function udpKernelSend(
  us: UdpKernelSock,
  data: Uint8Array,
  daddr: number,
  dport: number,
  o: { oif?: number; saddr?: number } = {},
): number {
  if (!us.hashed) return -E.EBADF;
  return udpSendDatagram(us, data, daddr >>> 0, dport, { oif: o.oif, saddr: o.saddr });
}

/** Close a kernel socket. */
export function udpKernelClose(us: UdpKernelSock): void {
  unhash(us);
  us.onDatagram = null;
}

// ---------------------------------------------------------------------------------------

let registered = false;

/** udp_init / inet_init's inet_add_protocol(&udp_protocol, IPPROTO_UDP). Idempotent. */
export function udpInit(): void {
  if (registered) return;
  registered = true;
  inetAddProtocol(IPPROTO_UDP, { handler: udpRcv, errHandler: udpErr });
}
