/**
 * AF_PACKET (net/packet/af_packet.c): sockets that see and send whole link-layer frames.
 * SOCK_RAW gets frames from the link header on; SOCK_DGRAM ("cooked") gets them from the
 * network header, the link header described by the sockaddr_ll of recvfrom, and builds the
 * link header from the sockaddr_ll given to sendto.
 *
 * A socket with a protocol registers a packet_type (its "prot_hook") with devAddPack: ETH_P_ALL
 * taps every frame in and out, another EtherType only received frames of that type. Each frame
 * goes through the socket's classic BPF filter (core/filter.ts), is cut to the filter's
 * snap length and queued as long as the receive queue is under SO_RCVBUF; otherwise it is
 * dropped and counted (PACKET_STATISTICS). Sends go straight to devQueueXmit; the sending
 * socket's own tap does not see them (skb.sk = the socket, as skb_loop_sk checks).
 *
 * Opening a packet socket needs CAP_NET_RAW (root here). SOCK_PACKET (the obsolete
 * sockaddr_pkt interface) and the mmap rings (PACKET_RX_RING/TX_RING) are not provided.
 */
import * as E from '../../errno.js';
import type { Kernel } from '../../kernel.js';
import type { Task } from '../../sched/task.js';
import { putUser32 } from '../../mm/uaccess.js';
import { POLLERR, POLLIN, POLLOUT, POLLRDNORM, POLLWRBAND, POLLWRNORM } from '../../fs/select.js';
import type { NetNs, PacketType } from '../netns.js';
import { IFF_PROMISC, type NetDevice } from '../core/netdevice.js';
import { allocSkb, PACKET_LOOPBACK, PACKET_OUTGOING, type SkBuff } from '../core/skbuff.js';
import {
  devAddPack,
  devChangeFlags,
  devQueueXmit,
  devRemovePack,
  NET_XMIT_DROP,
  NETDEV_DOWN,
  NETDEV_UNREGISTER,
  NETDEV_UP,
  registerNetdeviceNotifier,
} from '../core/dev.js';
import { ETH_HLEN, ETH_P_ALL, ethHeader } from '../core/ethernet.js';
import { skRunFilter } from '../core/filter.js';
import { procNetRegister } from '../proc.js';
import {
  sockDeadline,
  sockNoWait,
  sockRegister,
  sockWaitFor,
  type ProtoOps,
  type RecvMsg,
  type SendMsg,
  type Socket,
} from '../socket.js';
import {
  AF_PACKET,
  MSG_DONTWAIT,
  MSG_PEEK,
  MSG_TRUNC,
  SIOCINQ,
  SIOCOUTQ,
  SOCK_DGRAM,
  SOCK_RAW,
  SO_PRIORITY,
} from '../uapi.js';

/** SOL_PACKET and its options (include/uapi/linux/if_packet.h). */
export const SOL_PACKET = 263;
export const PACKET_ADD_MEMBERSHIP = 1;
export const PACKET_DROP_MEMBERSHIP = 2;
export const PACKET_RX_RING = 5;
export const PACKET_STATISTICS = 6;
export const PACKET_AUXDATA = 8;
export const PACKET_ORIGDEV = 9;
export const PACKET_VERSION = 10;
export const PACKET_HDRLEN = 11;
export const PACKET_RESERVE = 12;
export const PACKET_TX_RING = 13;
export const PACKET_LOSS = 14;
export const PACKET_QDISC_BYPASS = 20;
export const PACKET_IGNORE_OUTGOING = 23;
export const PACKET_MR_MULTICAST = 0;
export const PACKET_MR_PROMISC = 1;
export const PACKET_MR_ALLMULTI = 2;
export const PACKET_MR_UNICAST = 3;
/** sizeof(struct sockaddr_ll) and offsetof(sll_addr). */
export const SOCKADDR_LL_LEN = 20;
const SLL_ADDR = 12;
/** MSG_ERRQUEUE (include/linux/socket.h). */
const MSG_ERRQUEUE = 0x2000;
/** sizeof(struct packet_mreq). */
const PACKET_MREQ_LEN = 16;

/** A queued frame with the address recvfrom reports (PACKET_SKB_CB(skb)->sa.ll). */
interface PacketSkb {
  data: Uint8Array;
  sll: Uint8Array;
  truesize: number;
}

/** struct packet_mclist entry (PACKET_ADD_MEMBERSHIP). */
interface McEntry {
  ifindex: number;
  type: number;
  addr: Uint8Array;
  count: number;
}

/** struct packet_sock. */
export class PacketSock {
  /** po->num: the EtherType (host order) this socket receives; 0 = none until bound with one. */
  num: number;
  /** Bound device (0 = all). */
  ifindex = 0;
  /** The registered prot_hook, while running. */
  hook: PacketType | null = null;
  readonly queue: PacketSkb[] = [];
  rmem = 0;
  /** po->stats: frames queued and dropped since the last PACKET_STATISTICS read. */
  statPackets = 0;
  statDrops = 0;
  auxdata = false;
  origdev = false;
  ignoreOutgoing = false;
  version = 0;
  reserve = 0;
  loss = 0;
  qdiscBypass = 0;
  readonly mclist: McEntry[] = [];
  readonly ino: number;

  constructor(
    readonly sock: Socket,
    readonly ns: NetNs,
    proto: number,
  ) {
    this.num = proto;
    this.ino = sock.inode!.ino;
  }
}

/** Live packet sockets per namespace (packet_sklist), for the notifier and /proc/net/packet. */
const socks = new WeakMap<NetNs, Set<PacketSock>>();
function sklist(ns: NetNs): Set<PacketSock> {
  let s = socks.get(ns);
  if (!s) socks.set(ns, (s = new Set()));
  return s;
}

function pskOf(sock: Socket): PacketSock {
  return sock.sk as PacketSock;
}

const ntohs = (v: number): number => ((v & 0xff) << 8) | ((v >>> 8) & 0xff);

/** skb->truesize of a queued frame. */
function truesizeOf(len: number): number {
  let head = ((len + 63) & ~63) + 320;
  for (const s of [512, 1024, 2048, 4096, 8192, 16384, 32768, 65536])
    if (head <= s) {
      head = s;
      break;
    }
  return head + 256;
}

// ---------------------------------------------------------------------------------------
// Receiving (packet_rcv).

/** dev_parse_header for Ethernet (eth_header_parse): the source address from the link header. */
function parseHeaderSource(skb: SkBuff, dev: NetDevice): Uint8Array {
  const halen = dev.addr.length;
  const mac = skb.macHeader;
  if (mac < 0 || mac + 12 > skb.buf.length) return new Uint8Array(halen);
  return skb.buf.slice(mac + 6, mac + 6 + halen);
}

/**
 * packet_rcv: the tap's handler. Positions the data for the socket type, runs the filter,
 * fills the sockaddr_ll and queues the frame (or counts the drop).
 */
function packetRcv(po: PacketSock, skb: SkBuff, dev: NetDevice): void {
  if (skb.pktType === PACKET_LOOPBACK) return;
  if (dev.ns !== po.ns) return;
  if (po.ignoreOutgoing && skb.pktType === PACKET_OUTGOING) return;
  const sock = po.sock;
  // The link header is present for Ethernet and loopback (dev_has_header).
  if (dev.hardHeaderLen > 0) {
    if (sock.type !== SOCK_DGRAM) {
      if (skb.macHeader >= 0 && skb.macHeader < skb.data) skb.push(skb.data - skb.macHeader);
    } else if (skb.pktType === PACKET_OUTGOING) {
      // Outgoing frames have the link header at data: a cooked socket starts at the network header.
      const net = skb.networkHeader >= 0 ? skb.networkHeader : skb.data + dev.hardHeaderLen;
      if (net > skb.data) skb.pull(Math.min(net - skb.data, skb.len));
    }
  }
  let snaplen = skb.len;
  const res = skRunFilter(sock, skb, {
    protocol: skb.protocol,
    pktType: skb.pktType,
    ifindex: dev.ifindex,
    hatype: dev.type,
    random32: () => po.ns.env.random32(),
  });
  if (res === 0) return; // drop_n_restore: filtered out, not a drop
  if (snaplen > res) snaplen = res;
  if (po.rmem >= sock.rcvbuf) {
    po.statDrops++;
    return;
  }
  const sll = new Uint8Array(SOCKADDR_LL_LEN);
  const dv = new DataView(sll.buffer);
  dv.setUint16(0, AF_PACKET, true);
  dv.setUint16(2, skb.protocol & 0xffff, false);
  dv.setInt32(4, dev.ifindex, true);
  dv.setUint16(8, dev.type, true);
  sll[10] = skb.pktType;
  if (dev.hardHeaderLen > 0) {
    const src = parseHeaderSource(skb, dev);
    sll[11] = src.length;
    sll.set(src.subarray(0, 8), SLL_ADDR);
  }
  const data = skb.buf.slice(skb.data, skb.data + snaplen);
  const q: PacketSkb = { data, sll, truesize: truesizeOf(data.length) };
  po.queue.push(q);
  po.rmem += q.truesize;
  po.statPackets++;
  sock.wake();
}

/** register_prot_hook: start receiving `po.num` frames of the bound device (or all). */
function registerHook(po: PacketSock): void {
  if (po.hook || !po.num) return;
  const dev = po.ifindex > 0 ? po.ns.devByIndex(po.ifindex) : null;
  if (po.ifindex > 0 && !dev) return;
  const pt: PacketType = {
    type: po.num,
    dev,
    func: (skb, d) => packetRcv(po, skb, d),
    owner: po,
  };
  po.hook = pt;
  devAddPack(po.ns, pt);
}

function unregisterHook(po: PacketSock): void {
  if (!po.hook) return;
  devRemovePack(po.ns, po.hook);
  po.hook = null;
}

/**
 * packet_notifier: a socket bound to a device stops with ENETDOWN when it goes down and
 * resumes when it comes up; an unregistered device leaves the socket bound to nothing (-1).
 */
registerNetdeviceNotifier((event, dev) => {
  const ns = dev.ns;
  if (!ns) return;
  const set = socks.get(ns);
  if (!set) return;
  for (const po of set) {
    if (po.ifindex !== dev.ifindex) continue;
    if (event === NETDEV_DOWN || event === NETDEV_UNREGISTER) {
      if (po.hook) {
        unregisterHook(po);
        po.sock.err = E.ENETDOWN;
        po.sock.wake();
      }
      if (event === NETDEV_UNREGISTER) po.ifindex = -1;
    } else if (event === NETDEV_UP) {
      if (po.num) registerHook(po);
    }
  }
});

// ---------------------------------------------------------------------------------------
// bind, getname.

/** packet_do_bind: a new protocol and/or device; the hook is re-registered for them. */
function packetDoBind(po: PacketSock, ifindex: number, proto: number): number {
  let dev: NetDevice | null = null;
  if (ifindex) {
    dev = po.ns.devByIndex(ifindex);
    if (!dev) return -E.ENODEV;
  }
  unregisterHook(po);
  po.num = proto;
  po.ifindex = dev ? dev.ifindex : 0;
  if (!proto) return 0;
  if (!dev || dev.isUp) registerHook(po);
  else {
    po.sock.err = E.ENETDOWN;
    po.sock.wake();
  }
  return 0;
}

/** packet_bind: a sockaddr_ll of at least 20 bytes; protocol 0 keeps the socket's. */
function packetBind(sock: Socket, _task: Task, addr: Uint8Array): number {
  const po = pskOf(sock);
  if (addr.length < SOCKADDR_LL_LEN) return -E.EINVAL;
  const dv = new DataView(addr.buffer, addr.byteOffset, addr.byteLength);
  if (dv.getUint16(0, true) !== AF_PACKET) return -E.EINVAL;
  const proto = dv.getUint16(2, false);
  return packetDoBind(po, dv.getInt32(4, true), proto || po.num);
}

/** packet_getname: the bound device's sockaddr_ll, offsetof(sll_addr) + halen bytes. */
function packetGetname(sock: Socket, peer: boolean): Uint8Array | number {
  if (peer) return -E.EOPNOTSUPP;
  const po = pskOf(sock);
  const dev = po.ifindex > 0 ? po.ns.devByIndex(po.ifindex) : null;
  const halen = dev ? dev.addr.length : 0;
  const b = new Uint8Array(SLL_ADDR + halen);
  const dv = new DataView(b.buffer);
  dv.setUint16(0, AF_PACKET, true);
  dv.setUint16(2, po.num, false);
  dv.setInt32(4, po.ifindex, true);
  if (dev) {
    dv.setUint16(8, dev.type, true);
    b[11] = halen;
    b.set(dev.addr.subarray(0, halen), SLL_ADDR);
  }
  return b;
}

// ---------------------------------------------------------------------------------------
// sendmsg (packet_snd), recvmsg (packet_recvmsg).

/** net_xmit_errno: a queue drop is ENOBUFS; a congestion notice is success. */
function xmitErrno(r: number): number {
  if (r < 0) return r;
  return r === NET_XMIT_DROP ? -E.ENOBUFS : 0;
}

/** packet_snd. */
function packetSendmsg(sock: Socket, _task: Task, msg: SendMsg): number {
  const po = pskOf(sock);
  let dev: NetDevice | null;
  let proto: number;
  let daddr: Uint8Array | null = null;
  if (!msg.name) {
    dev = po.ifindex > 0 ? po.ns.devByIndex(po.ifindex) : null;
    proto = po.num;
  } else {
    const a = msg.name;
    if (a.length < SOCKADDR_LL_LEN) return -E.EINVAL;
    const dv = new DataView(a.buffer, a.byteOffset, a.byteLength);
    const halen = a[11]!;
    if (a.length < halen + SLL_ADDR) return -E.EINVAL;
    proto = dv.getUint16(2, false);
    dev = po.ns.devByIndex(dv.getInt32(4, true));
    if (sock.type === SOCK_DGRAM) {
      if (dev && a.length < dev.addr.length + SLL_ADDR) return -E.EINVAL;
      daddr = a.slice(SLL_ADDR, SLL_ADDR + Math.max(halen, dev ? dev.addr.length : 0));
    }
  }
  if (!dev) return -E.ENXIO;
  if (!dev.isUp) return -E.ENETDOWN;
  const len = msg.iter.count;
  const reserve = sock.type === SOCK_RAW ? dev.hardHeaderLen : 0;
  if (len > dev.mtu + reserve) return -E.EMSGSIZE;
  if (sock.type === SOCK_RAW && len < dev.hardHeaderLen) return -E.EINVAL;
  const got = msg.iter.copyFrom(len);
  if (typeof got === 'number') return got;
  const skb = allocSkb(len, dev.hardHeaderLen + 16);
  skb.buf.set(got, skb.put(len));
  if (sock.type === SOCK_DGRAM) {
    skb.networkHeader = skb.data;
    if (dev.hardHeaderLen > 0) ethHeader(skb, dev, proto, daddr);
  } else {
    skb.macHeader = skb.data;
    skb.networkHeader = skb.data + dev.hardHeaderLen;
    // packet_parse_headers: a raw frame sent without a protocol is whatever its header says.
    if ((!proto || proto === ETH_P_ALL) && dev.hardHeaderLen >= ETH_HLEN)
      proto = (skb.buf[skb.data + 12]! << 8) | skb.buf[skb.data + 13]!;
  }
  skb.protocol = proto;
  skb.dev = dev;
  skb.sk = po;
  skb.priority = sock.intOpts.get(SO_PRIORITY) ?? 0;
  skb.tstampNs = po.ns.env.nowNs();
  const e = xmitErrno(devQueueXmit(skb));
  return e < 0 ? e : len;
}

/** The frame is gone from the queue: uncharge it. */
function skbFree(po: PacketSock, q: PacketSkb): void {
  po.rmem -= q.truesize;
  po.sock.wake();
}

/**
 * packet_recvmsg: one frame; MSG_TRUNC when it did not fit (and, asked with MSG_TRUNC, its
 * full length); the sockaddr_ll is at least 20 bytes. A pending error (ENETDOWN) comes first.
 */
function packetRecvmsg(sock: Socket, task: Task, msg: RecvMsg): number | Promise<number> {
  const po = pskOf(sock);
  // Exactly the flags packet_recvmsg takes (MSG_CMSG_CLOEXEC and MSG_WAITALL are -EINVAL there too).
  if (msg.flags & ~(MSG_PEEK | MSG_DONTWAIT | MSG_TRUNC | MSG_ERRQUEUE)) return -E.EINVAL;
  if (msg.flags & MSG_ERRQUEUE) return -E.EAGAIN; // no error queue: nothing is ever time-stamped into it
  const noWait = sockNoWait(sock, msg.flags, false);
  const deadline = sockDeadline(task, sock, false);
  const step = (): number | null => {
    if (sock.err) {
      const e = sock.err;
      sock.err = 0;
      return -e;
    }
    const q = po.queue[0];
    if (!q) return noWait ? -E.EAGAIN : null;
    const peek = (msg.flags & MSG_PEEK) !== 0;
    if (!peek) po.queue.shift();
    let copied = q.data.length;
    if (copied > msg.iter.count) {
      copied = msg.iter.count;
      msg.msgFlags |= MSG_TRUNC;
    }
    const n = msg.iter.copyTo(q.data.subarray(0, copied));
    if (msg.wantName) msg.name = q.sll.slice(0, Math.max(SOCKADDR_LL_LEN, SLL_ADDR + q.sll[11]!));
    if (!peek) skbFree(po, q);
    if (n < 0) return n;
    return msg.flags & MSG_TRUNC ? q.data.length : n;
  };
  return sockWaitFor(task, sock, deadline, step);
}

/** datagram_poll. */
function packetPoll(sock: Socket): number {
  const po = pskOf(sock);
  let mask = POLLOUT | POLLWRNORM | POLLWRBAND;
  if (sock.err) mask |= POLLERR;
  if (po.queue.length > 0) mask |= POLLIN | POLLRDNORM;
  return mask;
}

/** packet_ioctl: SIOCINQ is the next frame's length; device ioctls are the socket layer's. */
function packetIoctl(sock: Socket, task: Task, cmd: number, arg: number): number {
  const po = pskOf(sock);
  let v: number;
  if (cmd === SIOCINQ) v = po.queue[0]?.data.length ?? 0;
  else if (cmd === SIOCOUTQ) v = 0;
  else return -E.ENOTTY;
  return putUser32(task.mm, arg, v) < 0 ? -E.EFAULT : 0;
}

// ---------------------------------------------------------------------------------------
// Options.

/** dev_set_promiscuity for PACKET_MR_PROMISC: the device is promiscuous while anyone asks. */
const promiscCount = new WeakMap<NetDevice, number>();
function devSetPromiscuity(dev: NetDevice, inc: number): void {
  const n = (promiscCount.get(dev) ?? 0) + inc;
  promiscCount.set(dev, Math.max(0, n));
  if (n > 0 && !(dev.flags & IFF_PROMISC)) devChangeFlags(dev, dev.flags | IFF_PROMISC);
  else if (n <= 0 && dev.flags & IFF_PROMISC) devChangeFlags(dev, dev.flags & ~IFF_PROMISC);
}

/** packet_mc_add / packet_mc_drop. */
function packetMc(po: PacketSock, val: Uint8Array, add: boolean): number {
  if (val.length < PACKET_MREQ_LEN) return -E.EINVAL;
  const dv = new DataView(val.buffer, val.byteOffset, val.byteLength);
  const ifindex = dv.getInt32(0, true);
  const type = dv.getUint16(4, true);
  const alen = dv.getUint16(6, true);
  const dev = po.ns.devByIndex(ifindex);
  if (!dev) return add ? -E.ENODEV : -E.EADDRNOTAVAIL;
  if (alen > dev.addr.length || alen > 8) return -E.EINVAL;
  const addr = val.slice(8, 8 + alen);
  const same = (m: McEntry): boolean =>
    m.ifindex === ifindex && m.type === type && m.addr.length === alen && m.addr.every((b, i) => b === addr[i]);
  const i = po.mclist.findIndex(same);
  if (add) {
    if (type > PACKET_MR_UNICAST) return -E.EINVAL;
    if (i >= 0) {
      po.mclist[i]!.count++;
      return 0;
    }
    po.mclist.push({ ifindex, type, addr, count: 1 });
    // Multicast and unicast address lists: this NIC takes every frame its switch port gives it, so
    // only promiscuity changes the device.
    if (type === PACKET_MR_PROMISC) devSetPromiscuity(dev, 1);
    return 0;
  }
  if (i < 0) return -E.EADDRNOTAVAIL;
  const m = po.mclist[i]!;
  if (--m.count === 0) {
    po.mclist.splice(i, 1);
    if (m.type === PACKET_MR_PROMISC) devSetPromiscuity(dev, -1);
  }
  return 0;
}

function intVal(val: Uint8Array): number | null {
  if (val.length < 4) return null;
  return new DataView(val.buffer, val.byteOffset, 4).getInt32(0, true);
}

/** packet_setsockopt. */
function packetSetsockopt(sock: Socket, _task: Task, level: number, name: number, val: Uint8Array): number {
  const po = pskOf(sock);
  if (level !== SOL_PACKET) return -E.ENOPROTOOPT;
  switch (name) {
    case PACKET_ADD_MEMBERSHIP:
    case PACKET_DROP_MEMBERSHIP:
      return packetMc(po, val, name === PACKET_ADD_MEMBERSHIP);
    case PACKET_RX_RING:
    case PACKET_TX_RING:
      // The mmap()ed rings are not provided; recvmsg/sendmsg are.
      return -E.EOPNOTSUPP;
    default:
      break;
  }
  const v = intVal(val);
  if (v === null) return -E.EINVAL;
  switch (name) {
    case PACKET_AUXDATA:
      po.auxdata = v !== 0;
      return 0;
    case PACKET_ORIGDEV:
      po.origdev = v !== 0;
      return 0;
    case PACKET_VERSION:
      if (v < 0 || v > 2) return -E.EINVAL; // TPACKET_V1..V3
      po.version = v;
      return 0;
    case PACKET_RESERVE:
      if (v < 0 || v > 0x7fffffff - 4096) return -E.EINVAL;
      po.reserve = v;
      return 0;
    case PACKET_LOSS:
      po.loss = v ? 1 : 0;
      return 0;
    case PACKET_QDISC_BYPASS:
      po.qdiscBypass = v ? 1 : 0;
      return 0;
    case PACKET_IGNORE_OUTGOING:
      if (v < 0 || v > 1) return -E.EINVAL;
      po.ignoreOutgoing = v === 1;
      return 0;
    default:
      return -E.ENOPROTOOPT;
  }
}

/** packet_getsockopt: PACKET_STATISTICS reads and clears the counters (tp_packets includes drops). */
function packetGetsockopt(sock: Socket, _task: Task, level: number, name: number, len: number): Uint8Array | number {
  const po = pskOf(sock);
  if (level !== SOL_PACKET) return -E.ENOPROTOOPT;
  if (len < 0) return -E.EINVAL;
  const int = (v: number): Uint8Array => {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setInt32(0, v, true);
    return b;
  };
  switch (name) {
    case PACKET_STATISTICS: {
      const b = new Uint8Array(8);
      const dv = new DataView(b.buffer);
      dv.setUint32(0, (po.statPackets + po.statDrops) >>> 0, true);
      dv.setUint32(4, po.statDrops >>> 0, true);
      po.statPackets = 0;
      po.statDrops = 0;
      return b;
    }
    case PACKET_AUXDATA:
      return int(po.auxdata ? 1 : 0);
    case PACKET_ORIGDEV:
      return int(po.origdev ? 1 : 0);
    case PACKET_VERSION:
      return int(po.version);
    case PACKET_RESERVE:
      return int(po.reserve);
    case PACKET_LOSS:
      return int(po.loss);
    case PACKET_QDISC_BYPASS:
      return int(po.qdiscBypass);
    case PACKET_IGNORE_OUTGOING:
      return int(po.ignoreOutgoing ? 1 : 0);
    default:
      return -E.ENOPROTOOPT;
  }
}

// ---------------------------------------------------------------------------------------
// Creation and release.

/** packet_release: the hook goes, memberships are dropped, the queue is freed. */
function packetRelease(sock: Socket): void {
  const po = sock.sk as PacketSock | null;
  if (!po) return;
  unregisterHook(po);
  for (const m of po.mclist) {
    const dev = po.ns.devByIndex(m.ifindex);
    if (dev && m.type === PACKET_MR_PROMISC) devSetPromiscuity(dev, -m.count);
  }
  po.mclist.length = 0;
  po.queue.length = 0;
  po.rmem = 0;
  sklist(po.ns).delete(po);
  sock.sk = null;
}

function notSupported(): number {
  return -E.EOPNOTSUPP;
}

export const packetOps: ProtoOps = {
  family: AF_PACKET,
  release: packetRelease,
  bind: packetBind,
  connect: notSupported,
  socketpair: notSupported,
  accept: notSupported,
  getname: packetGetname,
  poll: packetPoll,
  ioctl: packetIoctl,
  listen: notSupported,
  shutdown: notSupported,
  setsockopt: packetSetsockopt,
  getsockopt: packetGetsockopt,
  sendmsg: packetSendmsg,
  recvmsg: packetRecvmsg,
};

/**
 * packet_create: CAP_NET_RAW first, then the type; `protocol` is the EtherType in network
 * byte order (htons(ETH_P_ALL)); a nonzero one starts receiving at once on every device.
 */
function packetCreate(task: Task, sock: Socket, protocol: number): number {
  if (task.cred.euid !== 0) return -E.EPERM;
  if (sock.type !== SOCK_RAW && sock.type !== SOCK_DGRAM) return -E.ESOCKTNOSUPPORT;
  const ns = task.kernel.net;
  if (!ns) return -E.EAFNOSUPPORT;
  const po = new PacketSock(sock, ns, ntohs(protocol & 0xffff));
  sock.sk = po;
  sock.ops = packetOps;
  sklist(ns).add(po);
  if (po.num) registerHook(po);
  return 0;
}

/**
 * packet_seq_show (/proc/net/packet): kernel pointers as zeros (%pK), Proto in host order
 * hex, R whether the hook is registered, User the socket owner's uid.
 */
function packetSeqShow(k: Kernel): string {
  let out = 'sk               RefCnt Type Proto  Iface R Rmem   User   Inode\n';
  const ns = k.net;
  const set = ns ? socks.get(ns) : undefined;
  if (!set) return out;
  const l = (v: number | string, w: number): string => String(v).padEnd(w);
  for (const po of set) {
    const proto = po.num.toString(16).padStart(4, '0');
    const uid = po.sock.inode?.uid ?? 0;
    out += `0000000000000000 ${l(3, 6)} ${l(po.sock.type, 4)} ${proto}   ${l(po.ifindex, 5)} ${po.hook ? 1 : 0} ${l(po.rmem, 6)} ${l(uid, 6)} ${l(po.ino, 6)}\n`;
  }
  return out;
}

sockRegister({ family: AF_PACKET, create: packetCreate });
procNetRegister('packet', packetSeqShow);
