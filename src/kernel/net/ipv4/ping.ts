/**
 * ICMP "ping" sockets (net/ipv4/ping.c): SOCK_DGRAM + IPPROTO_ICMP, for unprivileged echo.
 * Allowed only to members of net.ipv4.ping_group_range, whose default "1 0" is empty, so
 * creating one is -EACCES (ping_init_sock) and busybox ping, which tries SOCK_RAW first and
 * this on EPERM, reports that it must run as root — as on a stock Linux.
 *
 * When allowed: the socket's "port" is the echo identifier (ping_get_port); a send must be
 * an ICMP_ECHO with code 0 (ping_supported), the kernel writes the identifier and checksum;
 * echo replies with that identifier are queued without their IP header (ping_rcv, installed
 * in icmp_rcv with icmpSetPingHooks, as icmp_pointers[ICMP_ECHOREPLY] calls it).
 */
import * as E from '../../errno.js';
import { putUser32 } from '../../mm/uaccess.js';
import type { Task } from '../../sched/task.js';
import { allocSkb, type SkBuff } from '../core/skbuff.js';
import { csumFold, csumPartial } from '../core/checksum.js';
import type { NetNs } from '../netns.js';
import { type ProtoOps, type RecvMsg, type SendMsg, type Socket } from '../socket.js';
import { AF_INET, AF_UNSPEC, MSG_OOB, SIOCINQ, SIOCOUTQ, TCP_CLOSE, TCP_ESTABLISHED } from '../uapi.js';
import { INADDR_ANY, isMulticast, parseSockaddrIn } from './inet_addr.js';
import {
  datagramPoll,
  icmpErrConvert,
  inetIcmpError,
  ICMP_DEST_UNREACH,
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
  ICMP_ECHO,
  type InetRcvInfo,
  ICMP_ECHOREPLY,
  IPPROTO_ICMP,
  RTN_BROADCAST,
  RTN_LOCAL,
  RTN_MULTICAST,
  SOCK_BINDADDR_LOCK,
  SOCK_BINDPORT_LOCK,
  SOL_IP,
} from './inet_sock.js';
import { ip4DatagramConnect, inetRoute } from './udp.js';
import { ipSend } from './ip_output.js';
import { inetAddrType } from './devinet.js';
import { icmpOutCount, icmpSetPingHooks } from './icmp.js';
import type { IcmpErr } from './protocol.js';

const SKB_OVERHEAD = 576;

/** net.ipv4.ping_group_range per namespace ([low, high] gids; Linux's default "1 0" allows nobody). */
const groupRanges = new WeakMap<NetNs, [number, number]>();

export function pingGroupRange(ns: NetNs): [number, number] {
  return groupRanges.get(ns) ?? [1, 0];
}

/** Writing /proc/sys/net/ipv4/ping_group_range (ipv4_ping_group_range: low > high means "none"). */
export function setPingGroupRange(ns: NetNs, low: number, high: number): number {
  if (low < 0 || high < 0 || low > 0x7fffffff || high > 0x7fffffff) return -E.EINVAL;
  groupRanges.set(ns, [low, high]);
  return 0;
}

interface PingPacket {
  data: Uint8Array;
  saddr: number;
  /** What the receive control messages need (ip_cmsg_recv, SO_TIMESTAMP). */
  rcv: InetRcvInfo;
  truesize: number;
}

/** struct ping_sock-ish: an InetSock whose num is the echo identifier. */
export class PingSock extends InetSock {
  readonly recvQueue: PingPacket[] = [];
  hashed = false;
}

interface PingTable {
  byIdent: Map<number, PingSock[]>;
  next: number;
}

const tables = new WeakMap<NetNs, PingTable>();

function pingTable(ns: NetNs): PingTable {
  let t = tables.get(ns);
  if (!t) {
    t = { byIdent: new Map(), next: 1 };
    tables.set(ns, t);
  }
  return t;
}

function psk(sock: Socket): PingSock {
  return sock.sk as PingSock;
}

/** ping_get_port: take `ident`, or with 0 the next free one (a rotating counter from 1). */
function pingGetPort(sk: PingSock, ident: number): number {
  const t = pingTable(sk.ns);
  const clash = (id: number): boolean =>
    (t.byIdent.get(id) ?? []).some(
      (o) => o !== sk && !(o.reuse && sk.reuse) && (!o.rcvSaddr || !sk.rcvSaddr || o.rcvSaddr === sk.rcvSaddr),
    );
  let id = ident;
  if (id === 0) {
    let found = false;
    for (let i = 0; i < 0xffff; i++) {
      const c = t.next;
      t.next = t.next >= 0xffff ? 1 : t.next + 1;
      if (!clash(c)) {
        id = c;
        found = true;
        break;
      }
    }
    if (!found) return -E.EADDRINUSE;
  } else if (clash(id)) return -E.EADDRINUSE;
  sk.num = id;
  const list = t.byIdent.get(id) ?? [];
  list.unshift(sk);
  t.byIdent.set(id, list);
  sk.hashed = true;
  return 0;
}

function pingUnhash(sk: PingSock): void {
  if (!sk.hashed) return;
  const t = pingTable(sk.ns);
  const list = t.byIdent.get(sk.num) ?? [];
  const i = list.indexOf(sk);
  if (i >= 0) list.splice(i, 1);
  if (!list.length) t.byIdent.delete(sk.num);
  sk.hashed = false;
  sk.num = 0;
}

function pingBind(sock: Socket, _task: Task, uaddr: Uint8Array): number {
  const sk = psk(sock);
  const a = parseSockaddrIn(uaddr);
  if (!a) return -E.EINVAL;
  if (a.family !== AF_INET && !(a.family === AF_UNSPEC && a.addr === INADDR_ANY)) return -E.EAFNOSUPPORT;
  const type = inetAddrType(sk.ns, a.addr);
  if (!sk.freebind && a.addr !== INADDR_ANY && type !== RTN_LOCAL && type !== RTN_MULTICAST && type !== RTN_BROADCAST)
    return -E.EADDRNOTAVAIL;
  if (sk.num || sk.skState !== TCP_CLOSE) return -E.EINVAL;
  sk.rcvSaddr = a.addr;
  sk.saddr = type === RTN_MULTICAST || type === RTN_BROADCAST ? 0 : a.addr;
  if (pingGetPort(sk, a.port) < 0) {
    sk.rcvSaddr = sk.saddr = 0;
    return -E.EADDRINUSE;
  }
  if (sk.rcvSaddr) sk.userLocks |= SOCK_BINDADDR_LOCK;
  if (a.port) sk.userLocks |= SOCK_BINDPORT_LOCK;
  return 0;
}

/** ping_v4_sendmsg: an ICMP_ECHO (code 0) whose identifier and checksum the kernel sets. */
function pingSendmsg(sock: Socket, _task: Task, msg: SendMsg): number {
  const sk = psk(sock);
  const len = msg.iter.count;
  if (len > 0xffff) return -E.EMSGSIZE;
  if (len < 8) return -E.EINVAL;
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
    if (a.family !== AF_INET) return -E.EAFNOSUPPORT;
    daddr = a.addr;
  } else {
    if (sk.skState !== TCP_ESTABLISHED) return -E.EDESTADDRREQ;
    daddr = sk.daddr;
  }
  const bytes = msg.iter.copyFrom(len);
  if (typeof bytes === 'number') return bytes;
  if (bytes[0] !== ICMP_ECHO || bytes[1] !== 0) return -E.EINVAL;
  if (!sk.num && pingGetPort(sk, 0) < 0) return -E.EAGAIN;
  let oif = ipc.oif;
  let saddr = ipc.addr;
  if (isMulticast(daddr)) {
    if (!oif) oif = sk.mcIf;
    if (!saddr) saddr = sk.mcAddr;
  }
  const tos = ipcTos(sk, ipc);
  const rt = inetRoute(sk, { daddr, saddr, oif, tos });
  if (typeof rt === 'number') return rt;
  if (rt.type === RTN_BROADCAST && !sk.broadcastOk) return -E.EACCES;
  const err = sk.takeErr();
  if (err) return -err;
  const src = saddr || rt.src;
  const skb = allocSkb(len);
  const at = skb.put(len);
  const b = skb.buf;
  b.set(bytes, at);
  b[at + 4] = sk.num >> 8;
  b[at + 5] = sk.num & 0xff;
  b[at + 2] = 0;
  b[at + 3] = 0;
  const c = csumFold(csumPartial(b, at, len));
  b[at + 2] = c >> 8;
  b[at + 3] = c & 0xff;
  skb.transportHeader = at;
  skb.saddr = src;
  skb.daddr = daddr;
  skb.sk = sk;
  const r = ipSend(sk.ns, skb, {
    saddr: src,
    daddr,
    protocol: IPPROTO_ICMP,
    ttl: ipcTtl(sk, ipc, isMulticast(daddr)),
    tos,
    oif: oif || undefined,
    rt,
  });
  if (r < 0) return r;
  // ip_push_pending_frames counts ICMP it sends (icmp_out_count).
  icmpOutCount(sk.ns, ICMP_ECHO);
  return len;
}

/**
 * ping_rcv: an echo reply for a ping socket (matched by identifier and, when bound or
 * connected, by address). skb.data is at the ICMP header. True when a socket took it.
 */
export function pingRcv(ns: NetNs, skb: SkBuff): boolean {
  const t = tables.get(ns);
  if (!t || skb.len < 8 || skb.buf[skb.data] !== ICMP_ECHOREPLY) return false;
  const ident = (skb.buf[skb.data + 4]! << 8) | skb.buf[skb.data + 5]!;
  const dif = skb.dev ? skb.dev.ifindex : 0;
  const sk = (t.byIdent.get(ident) ?? []).find(
    (s) =>
      (!s.rcvSaddr || s.rcvSaddr === skb.daddr) &&
      (!s.boundDevIf || s.boundDevIf === dif) &&
      (!s.daddr || s.daddr === skb.saddr),
  );
  if (!sk) return false;
  const data = skb.buf.slice(skb.data, skb.tail);
  const truesize = data.length + 128 + SKB_OVERHEAD;
  if (sk.rmem >= sk.rcvbuf) {
    sk.drops++;
    return true;
  }
  sk.rmem += truesize;
  // ping_queue_rcv_skb does not run ipv4_pktinfo_prepare (prepare = false).
  sk.recvQueue.push({ data, saddr: skb.saddr, rcv: inetRcvInfo(sk, skb, false), truesize });
  sk.wake();
  return true;
}

/** ping_recvmsg: the ICMP message without its IP header; the source with port 0. */
function pingRecvmsg(sock: Socket, task: Task, msg: RecvMsg): number | Promise<number> {
  // ping_recvmsg (ip_recv_error for MSG_ERRQUEUE; sock_recv_timestamp, then ip_cmsg_recv).
  return inetDgramRecvmsg(sock, task, psk(sock), msg, () => 0);
}

export const pingOps: ProtoOps = {
  family: AF_INET,
  release(sock) {
    const sk = psk(sock);
    pingUnhash(sk);
    sk.recvQueue.length = 0;
    sk.rmem = 0;
  },
  bind: pingBind,
  connect(sock, _task, uaddr) {
    const sk = psk(sock);
    if (uaddr.length < 2) return -E.EINVAL;
    if ((uaddr[0]! | (uaddr[1]! << 8)) === AF_UNSPEC) {
      sk.skState = TCP_CLOSE;
      sk.daddr = 0;
      sk.dport = 0;
      return 0;
    }
    return ip4DatagramConnect(sk, uaddr, () => pingGetPort(sk, 0));
  },
  socketpair: () => -E.EOPNOTSUPP,
  accept: () => -E.EOPNOTSUPP,
  getname: (sock, peer) => inetGetname(psk(sock), peer),
  poll(sock) {
    const sk = psk(sock);
    return datagramPoll(sk, sk.recvQueue.length > 0);
  },
  ioctl(sock, task, cmd, arg) {
    const sk = psk(sock);
    let v: number;
    if (cmd === SIOCOUTQ) v = 0;
    else if (cmd === SIOCINQ) v = sk.recvQueue[0]?.data.length ?? 0;
    else return -E.ENOTTY;
    return putUser32(task.mm, arg, v) < 0 ? -E.EFAULT : 0;
  },
  listen: () => -E.EOPNOTSUPP,
  shutdown: (sock, how) => inetShutdownDgram(psk(sock), how),
  setsockopt(sock, task, level, name, val) {
    if (level === SOL_IP) return ipSetsockopt(psk(sock), task, name, val, false);
    return -E.ENOPROTOOPT;
  },
  getsockopt(sock, _task, level, name, len) {
    if (level === SOL_IP) return ipGetsockopt(psk(sock), name, len, null);
    return -E.ENOPROTOOPT;
  },
  sendmsg: pingSendmsg,
  recvmsg: pingRecvmsg,
};

/** ping_init_sock: the caller's egid or a supplementary group must lie in ping_group_range. */
export function pingCreateSocket(task: Task, ns: NetNs, sock: Socket): number {
  const [low, high] = pingGroupRange(ns);
  const c = task.cred;
  const ok = [c.egid, ...c.groups].some((g) => g >= low && g <= high);
  if (!ok) return -E.EACCES;
  const sk = new PingSock(ns, sock, IPPROTO_ICMP);
  sock.sk = sk;
  sock.ops = pingOps;
  return 0;
}

/** ping_err: an ICMP error about one of our echo requests (matched by its identifier). */
export function pingErr(ns: NetNs, err: IcmpErr): void {
  const t = tables.get(ns);
  if (!t || err.payload.length < 8 || err.payload[0] !== ICMP_ECHO) return;
  const ident = (err.payload[4]! << 8) | err.payload[5]!;
  const sk = (t.byIdent.get(ident) ?? []).find(
    (s) => (!s.rcvSaddr || s.rcvSaddr === err.saddr) && (!s.daddr || s.daddr === err.daddr),
  );
  if (!sk) return;
  let e = icmpErrConvert(err.type, err.code, sk.pmtudisc);
  if (!e) {
    if (err.type === ICMP_DEST_UNREACH) return; // FRAG_NEEDED with IP_PMTUDISC_DONT
    // Source quench and redirects: "not a real error but ping wants to see it".
    e = { errno: E.EREMOTEIO, fatal: false };
  }
  inetIcmpError(sk, e, {
    errno: e.errno,
    type: err.type,
    code: err.code,
    info: err.info,
    offender: err.daddr,
    port: 0,
    payload: err.payload.slice(),
    tstampNs: ns.env.nowNs(),
  });
}

let registered = false;

/** ping_init: echo replies and errors about echo requests reach ping sockets from icmp_rcv. */
export function pingInit(): void {
  if (registered) return;
  registered = true;
  icmpSetPingHooks({ rcv: pingRcv, err: pingErr });
}
