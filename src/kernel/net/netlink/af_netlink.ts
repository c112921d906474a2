/**
 * AF_NETLINK (net/netlink/af_netlink.c): datagram sockets between user space and kernel
 * subsystems. A socket is named by a port id (nl_pid; the process's tgid when autobound) and
 * may join multicast groups; messages are batches of struct nlmsghdr records.
 *
 * Only protocols a kernel subsystem registered (netlinkKernelCreate; here NETLINK_ROUTE from
 * rtnetlink.ts) can be opened, as netlink_create refuses an unregistered protocol after
 * request_module fails. A message sent to port 0 is the kernel's: netlink_rcv_skb walks the
 * batch and hands each request to the subsystem; replies, acks and dumps are queued on the
 * sender. Dumps are resumed batch by batch as the reader drains its queue (netlink_dump from
 * netlink_recvmsg), so a dump never overruns the receive buffer. Notifications to groups
 * (netlink_broadcast) are dropped with ENOBUFS reported once (netlink_overrun) when a
 * listener's queue is over SO_RCVBUF.
 *
 * Port ids and group members are per network namespace (nl_table keyed by the net).
 */
import * as E from '../../errno.js';
import type { Kernel } from '../../kernel.js';
import type { Task } from '../../sched/task.js';
import { POLLERR, POLLIN, POLLOUT, POLLRDNORM, POLLWRBAND, POLLWRNORM } from '../../fs/select.js';
import type { NetNs } from '../netns.js';
import { procNetRegister } from '../proc.js';
import {
  sockDeadline,
  sockNoWait,
  sockRegister,
  sockWait,
  sockWaitFor,
  type ProtoOps,
  type RecvMsg,
  type SendMsg,
  type Socket,
} from '../socket.js';
import {
  AF_NETLINK,
  AF_UNSPEC,
  MSG_OOB,
  MSG_PEEK,
  MSG_TRUNC,
  SIOCINQ,
  SIOCOUTQ,
  SOCK_DGRAM,
  SOCK_RAW,
} from '../uapi.js';
import { putUser32 } from '../../mm/uaccess.js';
import { bpfRun, skFilterOf } from '../core/filter.js';
import { SkBuff } from '../core/skbuff.js';

// Protocols (include/uapi/linux/netlink.h).
export const NETLINK_ROUTE = 0;
export const NETLINK_USERSOCK = 2;
export const NETLINK_SOCK_DIAG = 4;
export const MAX_LINKS = 32;

// struct nlmsghdr and its flags.
export const NLMSG_HDRLEN = 16;
export const NLMSG_NOOP = 0x1;
export const NLMSG_ERROR = 0x2;
export const NLMSG_DONE = 0x3;
export const NLMSG_OVERRUN = 0x4;
/** Types below this are control messages the kernel acks without looking at. */
export const NLMSG_MIN_TYPE = 0x10;

export const NLM_F_REQUEST = 0x01;
export const NLM_F_MULTI = 0x02;
export const NLM_F_ACK = 0x04;
export const NLM_F_ECHO = 0x08;
export const NLM_F_DUMP_INTR = 0x10;
export const NLM_F_DUMP_FILTERED = 0x20;
// Modifiers to GET requests.
export const NLM_F_ROOT = 0x100;
export const NLM_F_MATCH = 0x200;
export const NLM_F_ATOMIC = 0x400;
export const NLM_F_DUMP = NLM_F_ROOT | NLM_F_MATCH;
// Modifiers to NEW requests.
export const NLM_F_REPLACE = 0x100;
export const NLM_F_EXCL = 0x200;
export const NLM_F_CREATE = 0x400;
export const NLM_F_APPEND = 0x800;
// Flags of an NLMSG_ERROR ack.
export const NLM_F_CAPPED = 0x100;
export const NLM_F_ACK_TLVS = 0x200;

// SOL_NETLINK options.
export const SOL_NETLINK = 270;
export const NETLINK_ADD_MEMBERSHIP = 1;
export const NETLINK_DROP_MEMBERSHIP = 2;
export const NETLINK_PKTINFO = 3;
export const NETLINK_BROADCAST_ERROR = 4;
export const NETLINK_NO_ENOBUFS = 5;
export const NETLINK_LISTEN_ALL_NSID = 8;
export const NETLINK_LIST_MEMBERSHIPS = 9;
export const NETLINK_CAP_ACK = 10;
export const NETLINK_EXT_ACK = 11;
export const NETLINK_GET_STRICT_CHK = 12;

// nlk->flags (NETLINK_F_*).
const NETLINK_F_RECV_PKTINFO = 0x2;
const NETLINK_F_BROADCAST_SEND_ERROR = 0x4;
const NETLINK_F_RECV_NO_ENOBUFS = 0x8;
const NETLINK_F_LISTEN_ALL_NSID = 0x10;
const NETLINK_F_CAP_ACK = 0x20;
const NETLINK_F_EXT_ACK = 0x40;
const NETLINK_F_STRICT_CHK = 0x80;

/** sizeof(struct sockaddr_nl): family, pad, pid, groups. */
export const SOCKADDR_NL_LEN = 12;
/** NLMSG_GOODSIZE: SKB_WITH_OVERHEAD(PAGE_SIZE), the smallest dump batch. */
export const NLMSG_GOODSIZE = 4096 - 320;
/** A dump batch grows with the reader's buffer up to SKB_WITH_OVERHEAD(32768) (netlink_recvmsg's max_recvmsg_len). */
const NLMSG_MAX_DUMP = 32768 - 320;

/** NLMSG_ALIGN / NLA_ALIGN: 4 bytes. */
export const nlmsgAlign = (n: number): number => (n + 3) & ~3;

/** A queued message batch (struct sk_buff with its netlink_skb_parms). */
interface NlSkb {
  data: Uint8Array;
  /** NETLINK_CB(skb).portid: the sender's port (0 = the kernel). */
  portid: number;
  /** NETLINK_CB(skb).dst_group: the group it was multicast to (0 = unicast). */
  dstGroup: number;
  truesize: number;
}

/** struct netlink_callback reduced to what a dump needs: the messages still to send. */
interface NlDump {
  msgs: Uint8Array[];
  next: number;
}

/** struct netlink_sock. */
export class NetlinkSock {
  portid = 0;
  bound = false;
  /** Multicast groups joined (group numbers, 1-based). */
  readonly groups = new Set<number>();
  /** connect()ed destination. */
  dstPortid = 0;
  dstGroup = 0;
  flags = 0;
  /** NETLINK_S_CONGESTED: an overrun happened and the queue has not emptied since. */
  congested = false;
  readonly queue: NlSkb[] = [];
  /** sk_rmem_alloc. */
  rmem = 0;
  /** sk_drops. */
  drops = 0;
  /** cb_running: a dump in progress. */
  dump: NlDump | null = null;
  maxRecvmsgLen = 0;
  readonly ino: number;

  constructor(
    readonly sock: Socket,
    readonly ns: NetNs,
    readonly protocol: number,
  ) {
    this.ino = sock.inode!.ino;
  }

  /** Strict checking of requests (NETLINK_GET_STRICT_CHK). */
  get strict(): boolean {
    return (this.flags & NETLINK_F_STRICT_CHK) !== 0;
  }

  /** nl_groups as getsockname reports it: the first 32 groups as a bit mask. */
  get groupMask(): number {
    let m = 0;
    for (const g of this.groups) if (g <= 32) m |= 1 << (g - 1);
    return m >>> 0;
  }
}

/** One request a kernel subsystem gets from netlink_rcv_skb. */
export interface NlRequest {
  ns: NetNs;
  task: Task;
  /** The requesting socket (replies go to it). */
  nlk: NetlinkSock;
  type: number;
  flags: number;
  seq: number;
  pid: number;
  /** The whole message (header included), nlmsg_len bytes. */
  msg: Uint8Array;
}

/** Returned by a subsystem's rcvMsg when it started a dump: no ack (netlink_dump_start's -EINTR). */
export const NETLINK_DUMP_STARTED = 1;

/** struct netlink_kernel_cfg: what a subsystem gives netlink_kernel_create. */
export interface NetlinkKernelCfg {
  /** Number of multicast groups. */
  groups: number;
  /** NL_CFG_F_NONROOT_RECV: anyone may join groups. */
  nonrootRecv: boolean;
  /** Handle one request: 0 (ack if NLM_F_ACK), -errno (NLMSG_ERROR), or NETLINK_DUMP_STARTED. */
  rcvMsg(req: NlRequest): number;
  /** Called when the first socket of the namespace opens (to hook ns.listeners). */
  netInit?(ns: NetNs): void;
}

/** nl_table: registered kernel subsystems by protocol. */
const kernelCfgs = new Map<number, NetlinkKernelCfg>();

/** netlink_kernel_create. */
export function netlinkKernelCreate(protocol: number, cfg: NetlinkKernelCfg): void {
  kernelCfgs.set(protocol, cfg);
}

/** Per-namespace state: user sockets by protocol and port, and every live socket for /proc. */
interface NlNetTable {
  ports: Map<number, Map<number, NetlinkSock>>;
  all: Set<NetlinkSock>;
  /** netlink_autobind's rover for negative port ids. */
  rover: number;
  inited: Set<number>;
}
const netTables = new WeakMap<NetNs, NlNetTable>();
/** Namespaces with sockets per kernel, for /proc/net/netlink. */
function nlTable(ns: NetNs): NlNetTable {
  let t = netTables.get(ns);
  if (!t) {
    t = { ports: new Map(), all: new Set(), rover: -4096, inited: new Set() };
    netTables.set(ns, t);
  }
  return t;
}

function portsOf(t: NlNetTable, protocol: number): Map<number, NetlinkSock> {
  let m = t.ports.get(protocol);
  if (!m) {
    m = new Map();
    t.ports.set(protocol, m);
  }
  return m;
}

function nlkOf(sock: Socket): NetlinkSock {
  return sock.sk as NetlinkSock;
}

/** Root is CAP_NET_ADMIN (the kernel keeps no separate capability sets). */
export function netlinkCapable(task: Task): boolean {
  return task.cred.euid === 0;
}

/** skb->truesize of a batch: the kmalloc'ed head (data + skb_shared_info) and the sk_buff. */
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
// Binding.

/** netlink_insert: take `portid` in the namespace; -EADDRINUSE when it is someone else's. */
function netlinkInsert(nlk: NetlinkSock, portid: number): number {
  const t = nlTable(nlk.ns);
  const ports = portsOf(t, nlk.protocol);
  if (nlk.bound) return nlk.portid === portid ? 0 : -E.EBUSY;
  if (ports.has(portid)) return -E.EADDRINUSE;
  nlk.portid = portid;
  nlk.bound = true;
  ports.set(portid, nlk);
  return 0;
}

/**
 * netlink_autobind: the caller's tgid if free, else a negative id counting down from -4096
 * (the rover wraps to -4097 below INT_MIN, as Linux does).
 */
function netlinkAutobind(nlk: NetlinkSock, task: Task): number {
  const t = nlTable(nlk.ns);
  const ports = portsOf(t, nlk.protocol);
  let portid = task.tgid | 0;
  if (ports.has(portid)) {
    for (;;) {
      portid = t.rover--;
      if (t.rover < -0x80000000) t.rover = -4097;
      if (!ports.has(portid)) break;
    }
  }
  return netlinkInsert(nlk, portid);
}

function readNl(addr: Uint8Array): { family: number; pid: number; groups: number } {
  const dv = new DataView(addr.buffer, addr.byteOffset, addr.byteLength);
  return { family: dv.getUint16(0, true), pid: dv.getInt32(4, true), groups: dv.getUint32(8, true) };
}

/** Set the first 32 groups from a bit mask (netlink_update_subscriptions), keeping higher ones. */
function setGroupMask(nlk: NetlinkSock, mask: number): void {
  for (let g = 1; g <= 32; g++) {
    if (mask & (1 << (g - 1))) nlk.groups.add(g);
    else nlk.groups.delete(g);
  }
}

/** netlink_bind. */
function netlinkBind(sock: Socket, task: Task, addr: Uint8Array): number {
  const nlk = nlkOf(sock);
  if (addr.length < SOCKADDR_NL_LEN) return -E.EINVAL;
  const a = readNl(addr);
  if (a.family !== AF_NETLINK) return -E.EINVAL;
  const cfg = kernelCfgs.get(nlk.protocol);
  let groups = a.groups >>> 0;
  if (groups) {
    if (!(cfg?.nonrootRecv ?? false) && !netlinkCapable(task)) return -E.EPERM;
    // Groups beyond what the subsystem has are ignored (netlink_realloc_groups / ngroups mask).
    const n = cfg?.groups ?? 32;
    if (n < 32) groups &= (1 << n) - 1;
  }
  if (nlk.bound) {
    if (a.pid !== nlk.portid) return -E.EINVAL;
  } else {
    const e = a.pid ? netlinkInsert(nlk, a.pid) : netlinkAutobind(nlk, task);
    if (e < 0) return e;
  }
  if (!groups && nlk.groups.size === 0) return 0;
  setGroupMask(nlk, groups);
  return 0;
}

/** netlink_connect: a default destination; AF_UNSPEC forgets it. */
function netlinkConnect(sock: Socket, task: Task, addr: Uint8Array): number {
  const nlk = nlkOf(sock);
  if (addr.length < 2) return -E.EINVAL;
  const fam = addr[0]! | (addr[1]! << 8);
  if (fam === AF_UNSPEC) {
    nlk.dstPortid = 0;
    nlk.dstGroup = 0;
    sock.state = 1; // SS_UNCONNECTED
    return 0;
  }
  if (addr.length < SOCKADDR_NL_LEN) return -E.EINVAL;
  const a = readNl(addr);
  if (a.family !== AF_NETLINK) return -E.EINVAL;
  // Sending to a group needs NL_CFG_F_NONROOT_SEND, which rtnetlink does not give.
  if (a.groups && !netlinkCapable(task)) return -E.EPERM;
  if (!nlk.bound) {
    const e = netlinkAutobind(nlk, task);
    if (e < 0) return e;
  }
  nlk.dstPortid = a.pid;
  nlk.dstGroup = ffs(a.groups >>> 0);
  sock.state = 3; // SS_CONNECTED
  return 0;
}

function ffs(x: number): number {
  if (!x) return 0;
  return 32 - Math.clz32(x & -x);
}

function sockaddrNl(pid: number, groups: number): Uint8Array {
  const b = new Uint8Array(SOCKADDR_NL_LEN);
  const dv = new DataView(b.buffer);
  dv.setUint16(0, AF_NETLINK, true);
  dv.setInt32(4, pid | 0, true);
  dv.setUint32(8, groups >>> 0, true);
  return b;
}

/** netlink_getname: our port and groups, or the connected peer. */
function netlinkGetname(sock: Socket, peer: boolean): Uint8Array | number {
  const nlk = nlkOf(sock);
  if (peer) return sockaddrNl(nlk.dstPortid, nlk.dstGroup ? 1 << (nlk.dstGroup - 1) : 0);
  return sockaddrNl(nlk.portid, nlk.groupMask);
}

// ---------------------------------------------------------------------------------------
// Delivery.

/** netlink_overrun: report ENOBUFS once until the queue empties (unless NETLINK_NO_ENOBUFS); count the drop. */
function netlinkOverrun(nlk: NetlinkSock): void {
  if (!(nlk.flags & NETLINK_F_RECV_NO_ENOBUFS)) {
    if (!nlk.congested) {
      nlk.congested = true;
      nlk.sock.err = E.ENOBUFS;
      nlk.sock.wake();
    }
  }
  nlk.drops++;
}

/**
 * sk_filter on a delivery to a user socket: the socket's BPF program sees the batch (offsets
 * into the netlink messages, SKF_AD_NLATTR to find attributes); it may drop or trim it.
 */
function nlFilter(nlk: NetlinkSock, skb: NlSkb): boolean {
  const p = skFilterOf(nlk.sock);
  if (!p) return true;
  const r = bpfRun(p, new SkBuff(skb.data, 0, skb.data.length), {
    protocol: 0,
    pktType: 0,
    ifindex: 0,
    hatype: 0,
    random32: () => nlk.ns.env.random32(),
  });
  if (r === 0) return false;
  if (r < skb.data.length) skb.data = skb.data.subarray(0, r);
  return true;
}

function enqueue(nlk: NetlinkSock, skb: NlSkb): void {
  if (!nlFilter(nlk, skb)) return;
  nlk.queue.push(skb);
  nlk.rmem += skb.truesize;
  nlk.sock.wake();
}

/** Room for one more batch (netlink_attachskb / netlink_broadcast_deliver's test). */
function hasRoom(nlk: NetlinkSock): boolean {
  return nlk.rmem <= nlk.sock.rcvbuf && !nlk.congested;
}

function newSkb(data: Uint8Array, portid: number, dstGroup: number): NlSkb {
  return { data, portid, dstGroup, truesize: truesizeOf(data.length) };
}

/**
 * netlink_unicast from the kernel (a reply or an ack): never waits; a full queue drops the
 * message and overruns the socket. 0 or -EAGAIN.
 */
export function netlinkUnicastKernel(nlk: NetlinkSock, data: Uint8Array): number {
  if (!hasRoom(nlk)) {
    netlinkOverrun(nlk);
    return -E.EAGAIN;
  }
  enqueue(nlk, newSkb(data, 0, 0));
  return 0;
}

/**
 * netlink_broadcast: a copy to every member of `group` in the namespace except `excludePortid`
 * (the sender, for user multicasts). Returns how many got it.
 */
export function netlinkBroadcast(
  ns: NetNs,
  protocol: number,
  data: Uint8Array,
  group: number,
  fromPortid = 0,
  excludePortid = -1,
): number {
  const t = netTables.get(ns);
  if (!t) return 0;
  let n = 0;
  for (const nlk of t.all) {
    if (nlk.protocol !== protocol || !nlk.groups.has(group)) continue;
    if (excludePortid >= 0 && nlk.bound && nlk.portid === excludePortid) continue;
    if (!hasRoom(nlk)) {
      netlinkOverrun(nlk);
      continue;
    }
    enqueue(nlk, newSkb(data.slice(), fromPortid, group));
    n++;
  }
  return n;
}

/** netlink_has_listeners: is anyone in the namespace a member of the group (avoid building a message for nobody)? */
export function netlinkHasListeners(ns: NetNs, protocol: number, group: number): boolean {
  const t = netTables.get(ns);
  if (!t) return false;
  for (const nlk of t.all) if (nlk.protocol === protocol && nlk.groups.has(group)) return true;
  return false;
}

// ---------------------------------------------------------------------------------------
// Building messages (include/net/netlink.h: nlmsg_put, nla_put, nla_nest_start).

/** A message under construction: header, a fixed struct, then attributes, each 4-byte aligned. */
export class NlMsgBuilder {
  private buf = new Uint8Array(512);
  private dv = new DataView(this.buf.buffer);
  len = NLMSG_HDRLEN;

  constructor(type: number, flags: number, seq: number, pid: number) {
    this.dv.setUint16(4, type, true);
    this.dv.setUint16(6, flags, true);
    this.dv.setUint32(8, seq >>> 0, true);
    this.dv.setUint32(12, pid >>> 0, true);
  }

  private room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const b = new Uint8Array(Math.max(this.buf.length * 2, this.len + n + 64));
    b.set(this.buf);
    this.buf = b;
    this.dv = new DataView(b.buffer);
  }

  /** Reserve `n` zeroed bytes (padded to 4) and return a DataView over them. */
  reserve(n: number): DataView {
    const a = nlmsgAlign(n);
    this.room(a);
    const at = this.len;
    this.buf.fill(0, at, at + a);
    this.len += a;
    return new DataView(this.buf.buffer, at, n);
  }

  /** nla_put. */
  attr(type: number, payload: Uint8Array): this {
    const total = 4 + payload.length;
    this.room(nlmsgAlign(total));
    const at = this.len;
    this.dv.setUint16(at, total, true);
    this.dv.setUint16(at + 2, type, true);
    this.buf.set(payload, at + 4);
    this.buf.fill(0, at + total, at + nlmsgAlign(total));
    this.len += nlmsgAlign(total);
    return this;
  }

  u8(type: number, v: number): this {
    return this.attr(type, Uint8Array.of(v & 0xff));
  }

  u16(type: number, v: number): this {
    const b = new Uint8Array(2);
    new DataView(b.buffer).setUint16(0, v, true);
    return this.attr(type, b);
  }

  u32(type: number, v: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, v >>> 0, true);
    return this.attr(type, b);
  }

  /** nla_put_in_addr: an IPv4 address (host-order u32) in network order. */
  inAddr(type: number, v: number): this {
    return this.attr(type, Uint8Array.of((v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff));
  }

  /** nla_put_string: with its NUL. */
  str(type: number, s: string): this {
    const enc = new TextEncoder().encode(s);
    const b = new Uint8Array(enc.length + 1);
    b.set(enc);
    return this.attr(type, b);
  }

  /** nla_nest_start: the offset to pass to nestEnd. */
  nestStart(type: number): number {
    this.room(4);
    const at = this.len;
    this.dv.setUint16(at + 2, type | 0x8000, true);
    this.len += 4;
    return at;
  }

  nestEnd(at: number): void {
    this.dv.setUint16(at, this.len - at, true);
  }

  /** nlmsg_end: the message with its length. */
  finish(): Uint8Array {
    this.dv.setUint32(0, this.len, true);
    return this.buf.slice(0, this.len);
  }
}

/** NLA_TYPE_MASK: without NLA_F_NESTED and NLA_F_NET_BYTEORDER. */
const NLA_TYPE_MASK = 0x3fff;

/**
 * nla_parse (non-strict): attributes from `off` to `end` by type (the last of a type wins).
 * Stops at a malformed attribute, as nla_parse_deprecated tolerates trailing bytes.
 */
export function nlaParse(msg: Uint8Array, off: number, end: number): Map<number, Uint8Array> {
  const out = new Map<number, Uint8Array>();
  const dv = new DataView(msg.buffer, msg.byteOffset, msg.byteLength);
  let at = off;
  while (at + 4 <= end) {
    const len = dv.getUint16(at, true);
    const type = dv.getUint16(at + 2, true) & NLA_TYPE_MASK;
    if (len < 4 || at + len > end) break;
    out.set(type, msg.subarray(at + 4, at + len));
    at += nlmsgAlign(len);
  }
  return out;
}

/** A message header field reader. */
export function nlmsgHeader(msg: Uint8Array): { len: number; type: number; flags: number; seq: number; pid: number } {
  const dv = new DataView(msg.buffer, msg.byteOffset, msg.byteLength);
  return {
    len: dv.getUint32(0, true),
    type: dv.getUint16(4, true),
    flags: dv.getUint16(6, true),
    seq: dv.getUint32(8, true),
    pid: dv.getUint32(12, true),
  };
}

/**
 * netlink_ack: NLMSG_ERROR with the errno (0 = ack) and the request's header; a failed
 * request's whole message is echoed unless NETLINK_CAP_ACK.
 */
export function netlinkAck(req: NlRequest, err: number): void {
  const nlk = req.nlk;
  const capped = err === 0 || (nlk.flags & NETLINK_F_CAP_ACK) !== 0;
  const echo = capped ? req.msg.subarray(0, NLMSG_HDRLEN) : req.msg;
  const m = new NlMsgBuilder(NLMSG_ERROR, capped ? NLM_F_CAPPED : 0, req.seq, nlk.portid);
  const dv = m.reserve(4 + echo.length);
  dv.setInt32(0, err, true);
  new Uint8Array(dv.buffer, dv.byteOffset + 4, echo.length).set(echo);
  netlinkUnicastKernel(nlk, m.finish());
}

/** nlmsg_unicast of a reply to the requester. */
export function netlinkReply(req: NlRequest, msg: Uint8Array): number {
  return netlinkUnicastKernel(req.nlk, msg);
}

/**
 * netlink_dump_start: the messages to send as a multi-part reply ending in NLMSG_DONE.
 * -EBUSY while another dump of this socket runs.
 */
export function netlinkDumpStart(req: NlRequest, msgs: Uint8Array[]): number {
  const nlk = req.nlk;
  if (nlk.dump) return -E.EBUSY;
  const done = new NlMsgBuilder(NLMSG_DONE, NLM_F_MULTI, req.seq, nlk.portid);
  done.reserve(4).setInt32(0, 0, true);
  msgs.push(done.finish());
  nlk.dump = { msgs, next: 0 };
  netlinkDump(nlk);
  return NETLINK_DUMP_STARTED;
}

/**
 * netlink_dump: one batch of the running dump (as many messages as fit the allocation), if
 * the reader has room; the dump ends with the batch that carries NLMSG_DONE.
 */
function netlinkDump(nlk: NetlinkSock): void {
  const d = nlk.dump;
  if (!d) return;
  if (nlk.rmem >= nlk.sock.rcvbuf) return;
  const alloc = Math.max(NLMSG_GOODSIZE, Math.min(nlk.maxRecvmsgLen, NLMSG_MAX_DUMP));
  let size = 0;
  let end = d.next;
  while (end < d.msgs.length && (end === d.next || size + d.msgs[end]!.length <= alloc)) {
    size += d.msgs[end]!.length;
    end++;
  }
  const b = new Uint8Array(size);
  let at = 0;
  for (let i = d.next; i < end; i++) {
    b.set(d.msgs[i]!, at);
    at += d.msgs[i]!.length;
  }
  d.next = end;
  if (d.next >= d.msgs.length) nlk.dump = null;
  enqueue(nlk, newSkb(b, 0, 0));
}

/**
 * netlink_rcv_skb: each request of a batch to the subsystem; acks for NLM_F_ACK or an
 * error; a truncated header ends the batch silently.
 */
function netlinkRcvSkb(cfg: NetlinkKernelCfg, nlk: NetlinkSock, task: Task, data: Uint8Array): void {
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let off = 0;
  while (data.length - off >= NLMSG_HDRLEN) {
    const len = dv.getUint32(off, true);
    if (len < NLMSG_HDRLEN || len > data.length - off) return;
    const msg = data.subarray(off, off + len);
    const h = nlmsgHeader(msg);
    const req: NlRequest = { ns: nlk.ns, task, nlk, type: h.type, flags: h.flags, seq: h.seq, pid: h.pid, msg };
    let err = 0;
    let skipAck = false;
    // Only requests are handled; control messages are acked unread.
    if (h.flags & NLM_F_REQUEST && h.type >= NLMSG_MIN_TYPE) {
      let r: number;
      try {
        r = cfg.rcvMsg(req);
      } catch (e) {
        // A bug in a handler must not escape into the system call.
        nlk.ns.env.log(`netlink: request type ${h.type} failed: ${e instanceof Error ? e.message : String(e)}`);
        r = -E.EINVAL;
      }
      if (r === NETLINK_DUMP_STARTED) skipAck = true;
      else err = r;
    }
    if (!skipAck && (h.flags & NLM_F_ACK || err)) netlinkAck(req, err);
    off += Math.min(nlmsgAlign(len), data.length - off);
  }
}

// ---------------------------------------------------------------------------------------
// sendmsg / recvmsg.

/** netlink_sendmsg. */
function netlinkSendmsg(sock: Socket, task: Task, msg: SendMsg): number | Promise<number> {
  const nlk = nlkOf(sock);
  if (msg.flags & MSG_OOB) return -E.EOPNOTSUPP;
  let dstPortid: number;
  let dstGroup: number;
  if (msg.name && msg.name.length > 0) {
    if (msg.name.length < SOCKADDR_NL_LEN) return -E.EINVAL;
    const a = readNl(msg.name);
    if (a.family !== AF_NETLINK) return -E.EINVAL;
    dstPortid = a.pid;
    dstGroup = ffs(a.groups >>> 0);
    if ((dstGroup || dstPortid) && !netlinkCapable(task)) return -E.EPERM;
  } else {
    dstPortid = nlk.dstPortid;
    dstGroup = nlk.dstGroup;
  }
  if (!nlk.bound) {
    const e = netlinkAutobind(nlk, task);
    if (e < 0) return e;
  }
  const len = msg.iter.count;
  if (len > sock.sndbuf - 32) return -E.EMSGSIZE;
  const got = msg.iter.copyFrom(len);
  if (typeof got === 'number') return got;
  const data = got.slice();
  if (dstGroup) netlinkBroadcast(nlk.ns, nlk.protocol, data, dstGroup, nlk.portid, nlk.portid);
  if (dstPortid === 0) {
    // netlink_unicast_kernel: the subsystem's input runs now, in the sender's context.
    const cfg = kernelCfgs.get(nlk.protocol);
    if (!cfg) return -E.ECONNREFUSED;
    netlinkRcvSkb(cfg, nlk, task, data);
    return len;
  }
  // To another user socket (netlink_unicast → netlink_attachskb, which may wait for room).
  const noWait = sockNoWait(sock, msg.flags, true);
  const deadline = sockDeadline(task, sock, true);
  const step = (): number | null => {
    const dst = portsOf(nlTable(nlk.ns), nlk.protocol).get(dstPortid);
    if (!dst) return -E.ECONNREFUSED;
    if (hasRoom(dst)) {
      enqueue(dst, newSkb(data, nlk.portid, 0));
      return len;
    }
    if (noWait) return -E.EAGAIN;
    return null;
  };
  const r = step();
  if (r !== null) return r;
  return (async () => {
    for (;;) {
      const dst = portsOf(nlTable(nlk.ns), nlk.protocol).get(dstPortid);
      const e = await sockWait(task, sock, deadline, dst ? [dst.sock.wq] : undefined);
      if (e < 0) return e;
      const r2 = step();
      if (r2 !== null) return r2;
    }
  })();
}

/** Dequeued: uncharge and, once empty, clear the congestion (netlink_rcv_wake). */
function skbFree(nlk: NetlinkSock, skb: NlSkb): void {
  nlk.rmem -= skb.truesize;
  if (nlk.queue.length === 0) nlk.congested = false;
  nlk.sock.wake();
}

/**
 * netlink_recvmsg: one batch; MSG_TRUNC when it did not fit (and, asked with MSG_TRUNC, its
 * full length). A pending error (ENOBUFS) comes first. A running dump continues once the
 * queue is at most half full.
 */
function netlinkRecvmsg(sock: Socket, task: Task, msg: RecvMsg): number | Promise<number> {
  const nlk = nlkOf(sock);
  if (msg.flags & MSG_OOB) return -E.EOPNOTSUPP;
  const noWait = sockNoWait(sock, msg.flags, false);
  const deadline = sockDeadline(task, sock, false);
  const len = msg.iter.count;
  const step = (): number | null => {
    if (sock.err) {
      const e = sock.err;
      sock.err = 0;
      return -e;
    }
    const skb = nlk.queue[0];
    if (!skb) {
      if (noWait) return -E.EAGAIN;
      return null;
    }
    const peek = (msg.flags & MSG_PEEK) !== 0;
    if (!peek) nlk.queue.shift();
    let copied = skb.data.length;
    if (len < copied) {
      msg.msgFlags |= MSG_TRUNC;
      copied = len;
    }
    const n = msg.iter.copyTo(skb.data.subarray(0, copied));
    if (msg.wantName)
      msg.name = sockaddrNl(skb.portid, skb.dstGroup && skb.dstGroup <= 32 ? 1 << (skb.dstGroup - 1) : 0);
    if (!peek) skbFree(nlk, skb);
    // The reader's buffer size sizes the next dump batches.
    nlk.maxRecvmsgLen = Math.min(Math.max(nlk.maxRecvmsgLen, len), NLMSG_MAX_DUMP);
    if (nlk.dump && nlk.rmem <= sock.rcvbuf / 2) netlinkDump(nlk);
    if (n < 0) return n;
    return msg.flags & MSG_TRUNC ? skb.data.length : n;
  };
  return sockWaitFor(task, sock, deadline, step);
}

/** netlink_poll: a running dump is continued first; then datagram_poll. */
function netlinkPoll(sock: Socket): number {
  const nlk = nlkOf(sock);
  if (nlk.dump && nlk.rmem <= sock.rcvbuf / 2) netlinkDump(nlk);
  let mask = POLLOUT | POLLWRNORM | POLLWRBAND;
  if (sock.err) mask |= POLLERR;
  if (nlk.queue.length > 0) mask |= POLLIN | POLLRDNORM;
  return mask;
}

function netlinkIoctl(sock: Socket, task: Task, cmd: number, arg: number): number {
  const nlk = nlkOf(sock);
  let v: number;
  // SIOCINQ on a datagram socket: the size of the next message (sk_ioctl → first skb's len).
  if (cmd === SIOCINQ) v = nlk.queue[0]?.data.length ?? 0;
  else if (cmd === SIOCOUTQ) v = 0;
  else return -E.ENOTTY;
  return putUser32(task.mm, arg, v) < 0 ? -E.EFAULT : 0;
}

// ---------------------------------------------------------------------------------------
// Options.

function intVal(val: Uint8Array): number | null {
  if (val.length < 4) return null;
  return new DataView(val.buffer, val.byteOffset, 4).getInt32(0, true);
}

const FLAG_OPTS: Record<number, number> = {
  [NETLINK_PKTINFO]: NETLINK_F_RECV_PKTINFO,
  [NETLINK_BROADCAST_ERROR]: NETLINK_F_BROADCAST_SEND_ERROR,
  [NETLINK_NO_ENOBUFS]: NETLINK_F_RECV_NO_ENOBUFS,
  [NETLINK_LISTEN_ALL_NSID]: NETLINK_F_LISTEN_ALL_NSID,
  [NETLINK_CAP_ACK]: NETLINK_F_CAP_ACK,
  [NETLINK_EXT_ACK]: NETLINK_F_EXT_ACK,
  [NETLINK_GET_STRICT_CHK]: NETLINK_F_STRICT_CHK,
};

/** netlink_setsockopt. */
function netlinkSetsockopt(sock: Socket, task: Task, level: number, name: number, val: Uint8Array): number {
  const nlk = nlkOf(sock);
  if (level !== SOL_NETLINK) return -E.ENOPROTOOPT;
  const v = intVal(val);
  if (name === NETLINK_ADD_MEMBERSHIP || name === NETLINK_DROP_MEMBERSHIP) {
    if (v === null) return -E.EINVAL;
    const cfg = kernelCfgs.get(nlk.protocol);
    if (!(cfg?.nonrootRecv ?? false) && !netlinkCapable(task)) return -E.EPERM;
    const g = v >>> 0;
    if (g === 0 || g > (cfg?.groups ?? 32)) return -E.EINVAL;
    if (!nlk.bound) {
      const e = netlinkAutobind(nlk, task);
      if (e < 0) return e;
    }
    if (name === NETLINK_ADD_MEMBERSHIP) nlk.groups.add(g);
    else nlk.groups.delete(g);
    return 0;
  }
  const bit = FLAG_OPTS[name];
  if (bit === undefined) return -E.ENOPROTOOPT;
  if (v === null) return -E.EINVAL;
  if (name === NETLINK_LISTEN_ALL_NSID && !netlinkCapable(task)) return -E.EPERM;
  if (v) nlk.flags |= bit;
  else nlk.flags &= ~bit;
  if (name === NETLINK_NO_ENOBUFS && v) {
    nlk.congested = false;
    sock.wake();
  }
  return 0;
}

/** netlink_getsockopt: the flag options as ints; NETLINK_LIST_MEMBERSHIPS as a u32 bit array. */
function netlinkGetsockopt(sock: Socket, _task: Task, level: number, name: number, len: number): Uint8Array | number {
  const nlk = nlkOf(sock);
  if (level !== SOL_NETLINK) return -E.ENOPROTOOPT;
  if (name === NETLINK_LIST_MEMBERSHIPS) {
    const cfg = kernelCfgs.get(nlk.protocol);
    const words = Math.ceil((cfg?.groups ?? 32) / 32);
    const b = new Uint8Array(words * 4);
    const dv = new DataView(b.buffer);
    for (const g of nlk.groups) {
      const w = (g - 1) >> 5;
      if (w < words) dv.setUint32(w * 4, dv.getUint32(w * 4, true) | (1 << ((g - 1) & 31)), true);
    }
    // The caller learns the full size through optlen even when its buffer is shorter.
    return b;
  }
  const bit = FLAG_OPTS[name];
  if (bit === undefined || name === NETLINK_ADD_MEMBERSHIP || name === NETLINK_DROP_MEMBERSHIP) return -E.ENOPROTOOPT;
  if (len < 4) return -E.EINVAL;
  const b = new Uint8Array(4);
  new DataView(b.buffer).setInt32(0, nlk.flags & bit ? 1 : 0, true);
  return b;
}

// ---------------------------------------------------------------------------------------
// Creation, release, registration.

/** netlink_release: leave the port table and the groups; a running dump ends. */
function netlinkRelease(sock: Socket): void {
  const nlk = sock.sk as NetlinkSock | null;
  if (!nlk) return;
  const t = nlTable(nlk.ns);
  if (nlk.bound) {
    const ports = portsOf(t, nlk.protocol);
    if (ports.get(nlk.portid) === nlk) ports.delete(nlk.portid);
  }
  t.all.delete(nlk);
  nlk.groups.clear();
  nlk.queue.length = 0;
  nlk.rmem = 0;
  nlk.dump = null;
  sock.sk = null;
}

function notSupported(): number {
  return -E.EOPNOTSUPP;
}

export const netlinkOps: ProtoOps = {
  family: AF_NETLINK,
  release: netlinkRelease,
  bind: netlinkBind,
  connect: (sock, task, addr) => netlinkConnect(sock, task, addr),
  socketpair: notSupported,
  accept: notSupported,
  getname: netlinkGetname,
  poll: netlinkPoll,
  ioctl: netlinkIoctl,
  listen: notSupported,
  shutdown: notSupported,
  setsockopt: netlinkSetsockopt,
  getsockopt: netlinkGetsockopt,
  sendmsg: netlinkSendmsg,
  recvmsg: netlinkRecvmsg,
};

/** netlink_create: SOCK_RAW or SOCK_DGRAM of a registered protocol. */
function netlinkCreate(task: Task, sock: Socket, protocol: number): number {
  if (sock.type !== SOCK_RAW && sock.type !== SOCK_DGRAM) return -E.ESOCKTNOSUPPORT;
  if (protocol < 0 || protocol >= MAX_LINKS) return -E.EPROTONOSUPPORT;
  const cfg = kernelCfgs.get(protocol);
  const ns = task.kernel.net;
  if (!cfg || !ns) return -E.EPROTONOSUPPORT;
  const t = nlTable(ns);
  if (!t.inited.has(protocol)) {
    t.inited.add(protocol);
    cfg.netInit?.(ns);
  }
  const nlk = new NetlinkSock(sock, ns, protocol);
  sock.sk = nlk;
  sock.ops = netlinkOps;
  t.all.add(nlk);
  return 0;
}

/**
 * netlink_seq_show (/proc/net/netlink): one line per user socket. Kernel pointers print as
 * zeros (%pK under kptr_restrict). The subsystems' own kernel sockets have no Socket here
 * and are not listed.
 */
function netlinkSeqShow(k: Kernel): string {
  let out = 'sk               Eth Pid        Groups   Rmem     Wmem     Dump  Locks    Drops    Inode\n';
  const ns = k.net;
  const t = ns ? netTables.get(ns) : undefined;
  if (!t) return out;
  const l = (v: number | string, w: number): string => String(v).padEnd(w);
  for (const nlk of t.all) {
    const groups = nlk.groupMask.toString(16).padStart(8, '0');
    out += `0000000000000000 ${l(nlk.protocol, 3)} ${l(nlk.portid >>> 0, 10)} ${groups} ${l(nlk.rmem, 8)} ${l(0, 8)} ${l(nlk.dump ? 1 : 0, 5)} ${l(2, 8)} ${l(nlk.drops, 8)} ${l(nlk.ino, 8)}\n`;
  }
  return out;
}

sockRegister({ family: AF_NETLINK, create: netlinkCreate });
procNetRegister('netlink', netlinkSeqShow);
