/**
 * Raw IPv4 sockets (net/ipv4/raw.c): SOCK_RAW of one IP protocol. Every received packet of
 * that protocol is copied to each matching raw socket before the protocol itself sees it
 * (raw_local_deliver / raw_v4_input, hooked in with inetSetRawDeliver), IP header included,
 * as Linux raw sockets read them. Sending hands the caller's bytes to ipSend as the
 * transport payload, or with IP_HDRINCL (always for IPPROTO_RAW) takes the caller's IP header.
 *
 * busybox ping (as root) uses SOCK_RAW IPPROTO_ICMP: it sends echo requests with its own
 * ICMP header and checksum and reads replies with their IP header; ICMP_FILTER lets it
 * ignore the types it does not want.
 */
import * as E from '../../errno.js';
import { putUser32 } from '../../mm/uaccess.js';
import type { Task } from '../../sched/task.js';
import { allocSkb, type SkBuff } from '../core/skbuff.js';
import type { NetNs } from '../netns.js';
import { type ProtoOps, type RecvMsg, type SendMsg, type Socket } from '../socket.js';
import {
  AF_INET,
  AF_UNSPEC,
  MSG_DONTROUTE,
  MSG_OOB,
  SIOCINQ,
  SIOCOUTQ,
  SO_PRIORITY,
  TCP_CLOSE,
  TCP_ESTABLISHED,
} from '../uapi.js';
import { INADDR_ANY, isMulticast, parseSockaddrIn, readAddr } from './inet_addr.js';
import {
  datagramPoll,
  icmpErrConvert,
  ICMP_SOURCE_QUENCH,
  inetGetname,
  inetShutdownDgram,
  InetSock,
  inetRcvInfo,
  inetDgramRecvmsg,
  ipCmsgSend,
  ipcmInitSk,
  ipcTos,
  ipcTtl,
  ipGetsockopt,
  ipSetsockopt,
  IPPROTO_ICMP,
  type InetRcvInfo,
  IPPROTO_RAW,
  IP_PMTUDISC_DO,
  IP_PMTUDISC_PROBE,
  IP_PMTUDISC_WANT,
  RTN_BROADCAST,
  RTN_LOCAL,
  RTN_MULTICAST,
  SOL_IP,
  SOL_RAW,
} from './inet_sock.js';
import { ip4DatagramConnect, inetRoute } from './udp.js';
import { ipSend, ipSendHdrinc } from './ip_output.js';
import { icmpOutCount } from './icmp.js';
import { inetSetRawDeliver, inetSetRawErrDeliver, type IcmpErr } from './protocol.js';
import { inetAddrType } from './devinet.js';

/** ICMP_FILTER (include/uapi/linux/icmp.h), option of SOL_RAW. */
export const ICMP_FILTER = 1;
const SKB_OVERHEAD = 576;

interface RawPacket {
  /** The whole IP datagram, header included. */
  data: Uint8Array;
  saddr: number;
  ifindex: number;
  /** What the receive control messages need (ip_cmsg_recv, SO_TIMESTAMP). */
  rcv: InetRcvInfo;
  truesize: number;
}

/** struct raw_sock. */
export class RawSock extends InetSock {
  readonly recvQueue: RawPacket[] = [];
  /** struct icmp_filter: a bit per ICMP type < 32 that is not delivered. */
  filter = 0;
}

const tables = new WeakMap<NetNs, Set<RawSock>>();

function rawTable(ns: NetNs): Set<RawSock> {
  let t = tables.get(ns);
  if (!t) {
    t = new Set();
    tables.set(ns, t);
  }
  return t;
}

/** Every raw socket of a namespace, in protocol order (/proc/net/raw). */
export function rawSockets(ns: NetNs): RawSock[] {
  return [...rawTable(ns)].sort((a, b) => a.num - b.num);
}

function rsk(sock: Socket): RawSock {
  return sock.sk as RawSock;
}

/** raw_v4_match. */
function rawMatch(sk: RawSock, num: number, raddr: number, laddr: number, dif: number): boolean {
  return (
    sk.num === num &&
    !(sk.daddr && sk.daddr !== raddr) &&
    !(sk.rcvSaddr && sk.rcvSaddr !== laddr) &&
    !(sk.boundDevIf && sk.boundDevIf !== dif)
  );
}

/** icmp_filter: true when the socket does not want this ICMP type (a truncated header is filtered). */
function icmpFiltered(sk: RawSock, skb: SkBuff): boolean {
  if (skb.len < 1) return true;
  const type = skb.buf[skb.data]!;
  return type < 32 && ((sk.filter >>> type) & 1) !== 0;
}

/**
 * raw_local_deliver → raw_v4_input: a copy of the packet, IP header included, for every
 * matching raw socket. True when at least one took it (the protocol then does not answer
 * "protocol unreachable").
 */
export function rawDeliver(ns: NetNs, skb: SkBuff, protocol: number): boolean {
  const t = tables.get(ns);
  if (!t || t.size === 0) return false;
  const dif = skb.dev ? skb.dev.ifindex : 0;
  const start = skb.networkHeader >= 0 ? skb.networkHeader : skb.data;
  let delivered = false;
  for (const sk of t) {
    if (!rawMatch(sk, protocol, skb.saddr, skb.daddr, dif)) continue;
    delivered = true;
    if (protocol === IPPROTO_ICMP && icmpFiltered(sk, skb)) continue;
    // sock_queue_rcv_skb: full when the charged memory reaches sk_rcvbuf.
    const data = skb.buf.slice(start, skb.tail);
    const truesize = data.length + 128 + SKB_OVERHEAD;
    if (sk.rmem >= sk.rcvbuf) {
      sk.drops++;
      continue;
    }
    sk.rmem += truesize;
    // raw_rcv's ipv4_pktinfo_prepare(sk, skb, true), then what the cmsgs read later.
    sk.recvQueue.push({ data, saddr: skb.saddr, ifindex: dif, rcv: inetRcvInfo(sk, skb, true), truesize });
    sk.wake();
  }
  return delivered;
}

// ---------------------------------------------------------------------------------------

/** raw_bind: any local (or broadcast/multicast) address; the "port" stays the protocol. */
function rawBind(sock: Socket, _task: Task, uaddr: Uint8Array): number {
  const sk = rsk(sock);
  const a = parseSockaddrIn(uaddr);
  if (sk.skState !== TCP_CLOSE || !a) return -E.EINVAL;
  const type = inetAddrType(sk.ns, a.addr);
  if (!sk.freebind && a.addr !== INADDR_ANY && type !== RTN_LOCAL && type !== RTN_MULTICAST && type !== RTN_BROADCAST)
    return -E.EADDRNOTAVAIL;
  sk.rcvSaddr = a.addr;
  sk.saddr = type === RTN_MULTICAST || type === RTN_BROADCAST ? 0 : a.addr;
  return 0;
}

function rawConnect(sock: Socket, _task: Task, uaddr: Uint8Array): number {
  const sk = rsk(sock);
  if (uaddr.length < 2) return -E.EINVAL;
  if ((uaddr[0]! | (uaddr[1]! << 8)) === AF_UNSPEC) {
    // __udp_disconnect (raw's disconnect): the peer is forgotten; the protocol stays bound.
    sk.skState = TCP_CLOSE;
    sk.daddr = 0;
    sk.dport = 0;
    return 0;
  }
  return ip4DatagramConnect(sk, uaddr, () => 0);
}

/**
 * raw_sendmsg. Without IP_HDRINCL the bytes are the transport payload (an ICMP header and
 * data for ping). With it, the caller's IP header supplies protocol, TTL, TOS, DF and the
 * destination; a zero source is filled in (raw_send_hdrinc). Deviation: the header is
 * rebuilt by ipSend, so caller IP options and a caller-chosen IP id are not kept.
 */
function rawSendmsg(sock: Socket, _task: Task, msg: SendMsg): number {
  const sk = rsk(sock);
  const ns = sk.ns;
  const len = msg.iter.count;
  if (len > 0xffff) return -E.EMSGSIZE;
  if (msg.flags & MSG_OOB) return -E.EOPNOTSUPP;
  // ipcm_init_sk + ip_cmsg_send: IP_PKTINFO / IP_TTL / IP_TOS of this send.
  const ipc = ipcmInitSk(sk);
  if (msg.control) {
    const ce = ipCmsgSend(msg.control, ipc);
    if (ce < 0) return ce;
  }
  let daddr: number;
  if (msg.name && msg.name.length) {
    const a = parseSockaddrIn(msg.name);
    if (!a) return -E.EINVAL;
    if (a.family !== AF_INET && a.family !== AF_UNSPEC) return -E.EAFNOSUPPORT;
    daddr = a.addr;
  } else {
    if (sk.skState !== TCP_ESTABLISHED) return -E.EDESTADDRREQ;
    daddr = sk.daddr;
  }
  let oif = ipc.oif;
  let saddr = ipc.addr;
  if (isMulticast(daddr)) {
    if (!oif) oif = sk.mcIf;
    if (!saddr) saddr = sk.mcAddr;
  }
  const tos = ipcTos(sk, ipc);
  const rt = inetRoute(sk, { daddr, saddr, oif, tos, onlink: (msg.flags & MSG_DONTROUTE) !== 0 });
  if (typeof rt === 'number') return rt;
  if (rt.type === RTN_BROADCAST && !sk.broadcastOk) return -E.EACCES;
  const e0 = sk.takeErr();
  if (e0) return -e0;
  const bytes = msg.iter.copyFrom(len);
  if (typeof bytes === 'number') return bytes;
  const dontRoute = (msg.flags & MSG_DONTROUTE) !== 0 || sk.dontRoute;
  const priority = sock.intOpts.get(SO_PRIORITY) ?? 0;
  const mtu = rt.mtu || 1500;
  if (sk.hdrincl) {
    // raw_send_hdrinc: the caller's header, completed (length, checksum, id, a zero source) by ipSendHdrinc.
    if (len < 20) return -E.EINVAL;
    if (len > mtu) return -E.EMSGSIZE;
    const skb = allocSkb(len);
    const at = skb.put(len);
    skb.buf.set(bytes, at);
    skb.networkHeader = at;
    skb.sk = sk;
    skb.priority = priority;
    if (!readAddr(bytes, 12) && saddr) {
      skb.buf[at + 12] = saddr >>> 24;
      skb.buf[at + 13] = (saddr >>> 16) & 0xff;
      skb.buf[at + 14] = (saddr >>> 8) & 0xff;
      skb.buf[at + 15] = saddr & 0xff;
    }
    const r = ipSendHdrinc(ns, skb, { oif: oif || undefined, dontRoute, rt });
    return r < 0 ? r : len;
  }
  if (len > 0xffff - 20) return -E.EMSGSIZE;
  const src = saddr || rt.src;
  const skb = allocSkb(len);
  const at = skb.put(len);
  skb.buf.set(bytes, at);
  skb.transportHeader = at;
  skb.saddr = src;
  skb.daddr = daddr;
  skb.sk = sk;
  skb.priority = priority;
  const pm = sk.pmtudisc;
  if ((pm === IP_PMTUDISC_DO || pm === IP_PMTUDISC_PROBE) && len + 20 > mtu) return -E.EMSGSIZE;
  const r = ipSend(ns, skb, {
    saddr: src,
    daddr,
    protocol: sk.num,
    ttl: ipcTtl(sk, ipc, isMulticast(daddr)),
    tos,
    df: pm === IP_PMTUDISC_DO || pm === IP_PMTUDISC_PROBE || (pm === IP_PMTUDISC_WANT && len + 20 <= mtu),
    oif: oif || undefined,
    rt,
    dontRoute,
  });
  if (r < 0) return r;
  // ip_push_pending_frames: ICMP sent through a raw socket is counted (icmp_out_count).
  if (sk.num === IPPROTO_ICMP && bytes.length > 0) icmpOutCount(ns, bytes[0]!);
  return len;
}

/** raw_recvmsg: one whole datagram with its IP header; the source as sockaddr_in with port 0. */
function rawRecvmsg(sock: Socket, task: Task, msg: RecvMsg): number | Promise<number> {
  return inetDgramRecvmsg(sock, task, rsk(sock), msg, () => 0);
}

function rawIoctl(sock: Socket, task: Task, cmd: number, arg: number): number {
  const sk = rsk(sock);
  let v: number;
  if (cmd === SIOCOUTQ) v = 0;
  else if (cmd === SIOCINQ) v = sk.recvQueue[0]?.data.length ?? 0;
  else return -E.ENOTTY;
  return putUser32(task.mm, arg, v) < 0 ? -E.EFAULT : 0;
}

function rawSetsockopt(sock: Socket, task: Task, level: number, name: number, val: Uint8Array): number {
  const sk = rsk(sock);
  if (level === SOL_IP) return ipSetsockopt(sk, task, name, val, true);
  if (level !== SOL_RAW) return -E.ENOPROTOOPT;
  // raw_seticmpfilter: only on ICMP sockets; at most sizeof(struct icmp_filter) bytes are taken.
  if (name !== ICMP_FILTER) return -E.ENOPROTOOPT;
  if (sk.num !== IPPROTO_ICMP) return -E.EOPNOTSUPP;
  const b = new Uint8Array(4);
  const cur = sk.filter >>> 0;
  b[0] = cur & 0xff;
  b[1] = (cur >>> 8) & 0xff;
  b[2] = (cur >>> 16) & 0xff;
  b[3] = cur >>> 24;
  b.set(val.subarray(0, 4));
  sk.filter = (b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24)) >>> 0;
  return 0;
}

function rawGetsockopt(sock: Socket, _task: Task, level: number, name: number, len: number): Uint8Array | number {
  const sk = rsk(sock);
  if (level === SOL_IP) {
    let mtu: number | null = null;
    if (name === 14 /* IP_MTU */ && sk.skState === TCP_ESTABLISHED) {
      const rt = inetRoute(sk, { daddr: sk.daddr, saddr: sk.saddr, oif: sk.boundDevIf, tos: sk.tos });
      mtu = typeof rt === 'number' ? null : rt.mtu;
    }
    return ipGetsockopt(sk, name, len, mtu);
  }
  if (level !== SOL_RAW) return -E.ENOPROTOOPT;
  if (name !== ICMP_FILTER) return -E.ENOPROTOOPT;
  if (sk.num !== IPPROTO_ICMP) return -E.EOPNOTSUPP;
  if (len < 0) return -E.EINVAL;
  const f = sk.filter >>> 0;
  return new Uint8Array([f & 0xff, (f >>> 8) & 0xff, (f >>> 16) & 0xff, f >>> 24]);
}

function rawRelease(sock: Socket): void {
  const sk = rsk(sock);
  rawTable(sk.ns).delete(sk);
  sk.recvQueue.length = 0;
  sk.rmem = 0;
}

export const rawOps: ProtoOps = {
  family: AF_INET,
  release: rawRelease,
  bind: rawBind,
  connect: rawConnect,
  socketpair: () => -E.EOPNOTSUPP,
  accept: () => -E.EOPNOTSUPP,
  getname: (sock, peer) => inetGetname(rsk(sock), peer),
  poll: (sock) => {
    const sk = rsk(sock);
    return datagramPoll(sk, sk.recvQueue.length > 0);
  },
  ioctl: rawIoctl,
  listen: () => -E.EOPNOTSUPP,
  shutdown: (sock, how) => inetShutdownDgram(rsk(sock), how),
  setsockopt: rawSetsockopt,
  getsockopt: rawGetsockopt,
  sendmsg: rawSendmsg,
  recvmsg: rawRecvmsg,
};

/** raw_init + inet_create's SOCK_RAW part: inet_num is the protocol; IPPROTO_RAW implies IP_HDRINCL. */
export function rawCreateSocket(ns: NetNs, sock: Socket, protocol: number): number {
  rawInit();
  const sk = new RawSock(ns, sock, protocol);
  sk.num = protocol;
  if (protocol === IPPROTO_RAW) sk.hdrincl = true;
  sock.sk = sk;
  sock.ops = rawOps;
  rawTable(ns).add(sk);
  return 0;
}

/**
 * raw_icmp_error → raw_err: an ICMP error about a packet a raw socket of that protocol sent.
 * Reported as sk_err when IP_RECVERR is on or the error is hard on a connected socket, and
 * queued for MSG_ERRQUEUE with IP_RECVERR.
 */
export function rawErr(ns: NetNs, err: IcmpErr): void {
  const t = tables.get(ns);
  if (!t) return;
  for (const sk of t) {
    // The offending packet is one we sent: its destination is the remote side, its source ours.
    if (!rawMatch(sk, err.protocol, err.daddr, err.saddr, sk.boundDevIf)) continue;
    if (!sk.recverr && sk.skState !== TCP_ESTABLISHED) continue;
    let e = icmpErrConvert(err.type, err.code, sk.pmtudisc);
    if (!e) {
      if (err.type === ICMP_SOURCE_QUENCH) continue;
      e = { errno: E.EHOSTUNREACH, fatal: false };
    }
    if (sk.recverr && sk.errQueue.length < 64)
      sk.errQueue.push({
        errno: e.errno,
        type: err.type,
        code: err.code,
        info: err.info,
        offender: err.daddr,
        port: 0,
        payload: err.payload.slice(),
        tstampNs: ns.env.nowNs(),
      });
    if (sk.recverr || e.fatal) {
      sk.err = e.errno;
      sk.wake();
    }
  }
}

let registered = false;

/** Hook raw delivery and raw ICMP errors into the IPv4 input path (once). */
export function rawInit(): void {
  if (registered) return;
  registered = true;
  inetSetRawDeliver(rawDeliver);
  inetSetRawErrDeliver(rawErr);
}
