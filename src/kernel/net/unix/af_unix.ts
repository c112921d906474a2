/**
 * AF_UNIX (net/unix/af_unix.c): local sockets of type SOCK_STREAM, SOCK_DGRAM and
 * SOCK_SEQPACKET, named by a filesystem path (an S_IFSOCK inode made by bind through the
 * VFS mknod path) or by an abstract name (a leading NUL), or unnamed.
 *
 * Each socket's family state is a UnixSock (struct unix_sock). Data travels as UnixSkb
 * records queued on the receiver (sk_receive_queue); each counts against its sender's
 * sk_wmem_alloc until read, which is what blocks a writer whose peer does not read
 * (sock_alloc_send_pskb). A stream listener's pending connections are embryo sockets made by
 * unix_stream_connect, queued until accept takes them.
 */
import * as E from '../../errno.js';
import type { Kernel } from '../../kernel.js';
import type { Task } from '../../sched/task.js';
import { sendSignal } from '../../signal/signal.js';
import { SIGPIPE } from '../../signal/signum.js';
import { putUser32 } from '../../mm/uaccess.js';
import type { Inode } from '../../fs/inode.js';
import type { SuperBlock } from '../../fs/super.js';
import { inodePermission, lookupDentry, mayCreate, pathAt, userParentAt, LOOKUP_FOLLOW } from '../../fs/namei.js';
import { POLLERR, POLLHUP, POLLIN, POLLOUT, POLLRDHUP, POLLRDNORM, POLLWRBAND, POLLWRNORM } from '../../fs/select.js';
import { AT_FDCWD, MAY_WRITE, S_IFSOCK, S_ISSOCK } from '../../fs/uapi.js';
import { scmDestroy, type ScmCookie } from '../scm.js';
import { procNetRegister } from '../proc.js';
import {
  sockAlloc,
  sockDeadline,
  sockNoWait,
  sockRegister,
  sockWait,
  sockWaitFor,
  type ProtoOps,
  type RecvMsg,
  type SendMsg,
  type Socket,
  type Ucred,
} from '../socket.js';
import {
  AF_UNIX,
  MSG_EOR,
  MSG_NOSIGNAL,
  MSG_OOB,
  MSG_PEEK,
  MSG_TRUNC,
  MSG_WAITALL,
  RCV_SHUTDOWN,
  SEND_SHUTDOWN,
  SHUTDOWN_MASK,
  SHUT_RD,
  SHUT_RDWR,
  SIOCINQ,
  SIOCOUTQ,
  SOCK_DGRAM,
  SOCK_RAW,
  SOCK_SEQPACKET,
  SOCK_STREAM,
  SS_CONNECTED,
  SS_UNCONNECTED,
  TCP_CLOSE,
  TCP_ESTABLISHED,
  TCP_LISTEN,
} from '../uapi.js';

/** sizeof(struct sockaddr_un): sun_family + sun_path[108]. */
export const UNIX_ADDR_MAX = 110;
/** offsetof(struct sockaddr_un, sun_path). */
const SUN_PATH = 2;
/** net.unix.max_dgram_qlen default. */
const MAX_DGRAM_QLEN = 10;
/** SOMAXCONN (net.core.somaxconn default). */
const SOMAXCONN = 4096;

/** A queued message (struct sk_buff with its unix_skb_parms). */
interface UnixSkb {
  data: Uint8Array;
  /** Bytes of `data` already read (a stream skb is consumed piecewise). */
  off: number;
  /** The sending socket (skb->sk): its address is the message's source, its wmem is charged. */
  sender: UnixSock;
  truesize: number;
  scm: ScmCookie | null;
  /** SOCK_SEQPACKET record end (MSG_EOR). */
  eor: boolean;
}

/** struct unix_sock. */
export class UnixSock {
  /** The bound address as getsockname reports it (unix_address: len and bytes), or null. */
  addr: Uint8Array | null = null;
  /** A filesystem binding: the S_IFSOCK inode (path.dentry) to unbind nothing from on close. */
  boundInode: Inode | null = null;
  peer: UnixSock | null = null;
  skState = TCP_CLOSE;
  shutdown = 0;
  readonly recvQueue: UnixSkb[] = [];
  /** A listener's pending connections (embryos), oldest first. */
  readonly acceptQueue: UnixSock[] = [];
  maxAckBacklog = MAX_DGRAM_QLEN;
  /** sk_wmem_alloc: bytes this socket sent that their receiver has not read yet. */
  wmem = 0;
  dead = false;
  readonly ino: number;

  constructor(readonly sock: Socket) {
    this.ino = sock.inode!.ino;
  }

  get type(): number {
    return this.sock.type;
  }
}

/** Per-kernel name tables (unix_socket_table): abstract names and bound inodes. */
interface UnixTable {
  abstract: Map<string, UnixSock>;
  byInode: WeakMap<SuperBlock, Map<number, UnixSock>>;
  /** Every live AF_UNIX socket (for /proc/net/unix). */
  all: Set<UnixSock>;
  autobindNext: number;
}
const tables = new WeakMap<Kernel, UnixTable>();
function unixTable(kernel: Kernel): UnixTable {
  let t = tables.get(kernel);
  if (!t) {
    t = { abstract: new Map(), byInode: new WeakMap(), all: new Set(), autobindNext: 0 };
    tables.set(kernel, t);
  }
  return t;
}

/** Every live AF_UNIX socket of a kernel (for /proc/net/unix). */
export function unixSockets(kernel: Kernel): UnixSock[] {
  return [...unixTable(kernel).all];
}

function usk(sock: Socket): UnixSock {
  return sock.sk as UnixSock;
}

/**
 * The abstract-namespace key: Linux hashes abstract names together with the socket type
 * (unix_abstract_hash), so each type has its own abstract names.
 */
const abstractKey = (addr: Uint8Array, type: number): string =>
  `${type}:${Array.from(addr.subarray(SUN_PATH), (b) => b.toString(16)).join(',')}`;

/** kmalloc size classes (the slab caches an skb head comes from). */
function kmallocRound(n: number): number {
  for (const s of [32, 64, 96, 128, 192, 256, 512, 1024, 2048, 4096, 8192]) if (n <= s) return s;
  return Math.ceil(n / 4096) * 4096;
}

/**
 * skb->truesize of a message of `len` bytes as unix_*_sendmsg allocate it: a linear head up
 * to SKB_MAX_HEAD(0) from kmalloc (data + skb_shared_info), paged frags for the rest, plus
 * the struct sk_buff itself. This is what the sender's sndbuf is charged.
 */
function skbTruesize(len: number): number {
  const SHINFO = 320;
  const SKB = 256;
  const maxHead = 4096 - SHINFO;
  if (len <= maxHead) return kmallocRound(((len + 63) & ~63) + SHINFO) + SKB;
  return 4096 + SKB + Math.ceil((len - maxHead) / 4096) * 4096;
}

/** The sender's credentials as scm_send records them (scm_set_cred: tgid, uid, gid). */
function currentCred(task: Task): Ucred {
  return { pid: task.tgid, uid: task.cred.uid, gid: task.cred.gid };
}

/**
 * unix_maybe_add_creds: a message carries the sender's credentials only when someone may
 * want them — explicit SCM_CREDENTIALS, SO_PASSCRED on either end, or a receiver that is
 * still an embryo (no socket yet). Otherwise the receiver of SO_PASSCRED sees pid 0 and the
 * overflow ids.
 */
function msgCred(task: Task, explicit: Ucred | null, u: UnixSock, other: UnixSock): Ucred | null {
  if (explicit) return explicit;
  if (u.sock.passcred || other.sock.passcred || !other.sock.file) return currentCred(task);
  return null;
}

function sameCred(a: Ucred | null, b: Ucred | null): boolean {
  if (!a || !b) return a === b;
  return a.pid === b.pid && a.uid === b.uid && a.gid === b.gid;
}

/** Free a dequeued skb: uncharge its sender and wake its writers (sock_wfree). */
function skbFree(skb: UnixSkb): void {
  skb.sender.wmem -= skb.truesize;
  skb.sender.sock.wake();
}

/** unix_writable: not listening and under a quarter of sndbuf in flight. */
function unixWritable(u: UnixSock): boolean {
  return u.skState !== TCP_LISTEN && u.wmem * 4 <= u.sock.sndbuf;
}

/** unix_recvq_full: a dgram receiver (or a listener's backlog) is over its limit. */
function recvqFull(u: UnixSock): boolean {
  return (u.skState === TCP_LISTEN ? u.acceptQueue.length : u.recvQueue.length) > u.maxAckBacklog;
}

// ---------------------------------------------------------------------------------------
// Addresses.

/**
 * unix_validate_addr + unix_mkname_bsd: check a sockaddr_un and, for a path, cut it at the
 * first NUL. Returns the normalized address (what getsockname will report) or -EINVAL.
 */
function unixMkname(addr: Uint8Array): Uint8Array | number {
  if (addr.length < SUN_PATH || addr.length > UNIX_ADDR_MAX) return -E.EINVAL;
  if ((addr[0]! | (addr[1]! << 8)) !== AF_UNIX) return -E.EINVAL;
  if (addr.length === SUN_PATH || addr[SUN_PATH] === 0) return addr.slice();
  let end = SUN_PATH;
  while (end < addr.length && addr[end] !== 0) end++;
  // sizeof(sa_family_t) + strlen(path) + 1: the NUL is part of the reported length.
  const out = new Uint8Array(end + 1);
  out.set(addr.subarray(0, end));
  return out;
}

function pathOf(addr: Uint8Array): string {
  let s = '';
  for (let i = SUN_PATH; i < addr.length && addr[i] !== 0; i++) s += String.fromCharCode(addr[i]!);
  return s;
}

/** unix_find_other: the socket bound to `addr` (filesystem or abstract), or -errno. */
function unixFindOther(task: Task, addr: Uint8Array, type: number): UnixSock | number {
  const t = unixTable(task.kernel);
  let other: UnixSock | undefined;
  if (addr[SUN_PATH] === 0) {
    // unix_find_abstract: unknown names refuse the connection.
    other = t.abstract.get(abstractKey(addr, type));
    if (!other) return -E.ECONNREFUSED;
  } else {
    // unix_find_bsd: a path walk, write permission on the socket inode.
    const p = pathAt(task, AT_FDCWD, pathOf(addr), LOOKUP_FOLLOW);
    if (typeof p === 'number') return p;
    const inode = p.dentry.inode;
    const e = inodePermission(inode, MAY_WRITE, task.cred, task);
    if (e < 0) return e;
    if (!S_ISSOCK(inode.mode)) return -E.ECONNREFUSED;
    other = t.byInode.get(inode.sb)?.get(inode.ino);
    if (!other) return -E.ECONNREFUSED;
    // Linux keys on the inode itself (the bound socket pins it); here the number could have been
    // reused after an unlink, so a binding whose own inode is gone does not match a new one.
    if (other.boundInode && other.boundInode !== inode && other.boundInode.nlink === 0) return -E.ECONNREFUSED;
  }
  if (other.dead) return -E.ECONNREFUSED;
  if (other.type !== type) return -E.EPROTOTYPE;
  return other;
}

/** unix_autobind: a free abstract name of five hex digits. */
function unixAutobind(task: Task, u: UnixSock): number {
  if (u.addr) return 0;
  const t = unixTable(task.kernel);
  for (let i = 0; i < 0x100000; i++) {
    const n = (t.autobindNext++ + 1) & 0xfffff;
    const name = n.toString(16).padStart(5, '0');
    const a = new Uint8Array(SUN_PATH + 1 + 5);
    a[0] = AF_UNIX;
    for (let k = 0; k < 5; k++) a[SUN_PATH + 1 + k] = name.charCodeAt(k);
    const key = abstractKey(a, u.type);
    if (t.abstract.has(key)) continue;
    t.abstract.set(key, u);
    u.addr = a;
    return 0;
  }
  return -E.ENOSPC;
}

/** unix_bind_bsd: make the S_IFSOCK inode through the VFS (mknod), then hash the socket on it. */
function unixBindBsd(task: Task, u: UnixSock, addr: Uint8Array): number {
  const name = pathOf(addr);
  const r = userParentAt(task, AT_FDCWD, name);
  if (typeof r === 'number') return r;
  const res = r.res;
  if (res.lastType !== 'norm') return -E.EADDRINUSE;
  const existing = lookupDentry(res.parent.dentry, res.last, task);
  if (typeof existing === 'number') return existing;
  if (existing) return -E.EADDRINUSE;
  if (res.parent.mnt.readonly) return -E.EROFS;
  const dir = res.parent.dentry.inode;
  if (u.addr) return -E.EINVAL;
  let e = mayCreate(dir, task.cred, task);
  if (e < 0) return e;
  if (!dir.op.mknod) return -E.EPERM;
  // The mode is S_IFSOCK | (SOCK_INODE(sock)->i_mode & ~current_umask()).
  const made = dir.op.mknod(dir, res.last, S_IFSOCK | (0o777 & ~task.fs.umask), 0, task.cred);
  if (typeof made === 'number') return made === -E.EEXIST ? -E.EADDRINUSE : made;
  e = 0;
  const t = unixTable(task.kernel);
  let m = t.byInode.get(made.sb);
  if (!m) {
    m = new Map();
    t.byInode.set(made.sb, m);
  }
  m.set(made.ino, u);
  u.boundInode = made;
  u.addr = addr;
  return e;
}

function unixBind(sock: Socket, task: Task, uaddr: Uint8Array): number {
  const u = usk(sock);
  if (uaddr.length === SUN_PATH && uaddr.length >= 2 && (uaddr[0]! | (uaddr[1]! << 8)) === AF_UNIX)
    return u.addr ? -E.EINVAL : unixAutobind(task, u);
  const addr = unixMkname(uaddr);
  if (typeof addr === 'number') return addr;
  if (addr.length === SUN_PATH) return u.addr ? -E.EINVAL : unixAutobind(task, u);
  // A path that exists is EADDRINUSE even on a bound socket: unix_bind_bsd makes the node
  // before it looks at u->addr.
  if (addr[SUN_PATH] !== 0) return unixBindBsd(task, u, addr);
  if (u.addr) return -E.EINVAL;
  // unix_bind_abstract.
  const t = unixTable(task.kernel);
  const key = abstractKey(addr, u.type);
  if (t.abstract.has(key)) return -E.EADDRINUSE;
  t.abstract.set(key, u);
  u.addr = addr;
  return 0;
}

/** unix_getname: the own or the peer's address; an unbound socket is just sun_family. */
function unixGetname(sock: Socket, peer: boolean): Uint8Array | number {
  let u: UnixSock | null = usk(sock);
  if (peer) {
    // unix_peer_get: any peer, even one that has since closed, still has its name.
    u = u.peer;
    if (!u) return -E.ENOTCONN;
  }
  if (u.addr) return u.addr.slice();
  const a = new Uint8Array(SUN_PATH);
  a[0] = AF_UNIX;
  return a;
}

// ---------------------------------------------------------------------------------------
// Connection set-up.

function unixListen(sock: Socket, task: Task, backlog: number): number {
  const u = usk(sock);
  if (sock.type !== SOCK_STREAM && sock.type !== SOCK_SEQPACKET) return -E.EOPNOTSUPP;
  if (!u.addr) return -E.EINVAL;
  if (u.skState !== TCP_CLOSE && u.skState !== TCP_LISTEN) return -E.EINVAL;
  // __sys_listen clamps to somaxconn; a wider backlog wakes waiting connectors.
  const b = Math.min(backlog >>> 0, SOMAXCONN);
  if (b > u.maxAckBacklog) sock.wake();
  u.maxAckBacklog = b;
  u.skState = TCP_LISTEN;
  // init_peercred: connectors see the listener's credentials.
  sock.peerCred = currentCred(task);
  return 0;
}

/** unix_stream_connect: queue an embryo on the listener and connect to it. */
function unixStreamConnect(sock: Socket, task: Task, uaddr: Uint8Array, flags: number): number | Promise<number> {
  const u = usk(sock);
  const addr = unixMkname(uaddr);
  if (typeof addr === 'number') return addr;
  if (addr.length === SUN_PATH) return -E.EINVAL;
  if (sock.passcred && !u.addr) {
    const e = unixAutobind(task, u);
    if (e < 0) return e;
  }
  const noWait = (flags & 0o4000) !== 0 || sock.sndNoWait;
  const deadline = sockDeadline(task, sock, true);
  const attempt = (): number | { wait: UnixSock } => {
    // The peer is looked up and checked before our own state (unix_stream_connect's order).
    const other = unixFindOther(task, addr, sock.type);
    if (typeof other === 'number') return other;
    if (other.skState !== TCP_LISTEN) return -E.ECONNREFUSED;
    if (recvqFull(other)) {
      if (noWait) return -E.EAGAIN;
      return { wait: other };
    }
    if (u.skState === TCP_ESTABLISHED) return -E.EISCONN;
    if (u.skState !== TCP_CLOSE) return -E.EINVAL;
    // The embryo: a socket of the listener's type whose address is the listener's.
    const ns = sockAlloc(task, AF_UNIX, sock.type, 0);
    const nu = unixCreate1(ns);
    nu.skState = TCP_ESTABLISHED;
    nu.addr = other.addr;
    nu.peer = u;
    ns.peerCred = currentCred(task);
    ns.state = SS_CONNECTED;
    // unix_sock_inherit_flags happens at accept; the embryo takes SO_PASSCRED now so that
    // credentials of data sent before accept are kept.
    ns.passcred = other.sock.passcred;
    u.peer = nu;
    u.skState = TCP_ESTABLISHED;
    sock.state = SS_CONNECTED;
    sock.peerCred = other.sock.peerCred ?? currentCred(task);
    other.acceptQueue.push(nu);
    other.sock.wake();
    sock.wake();
    return 0;
  };
  const r = attempt();
  if (typeof r === 'number') return r;
  return (async () => {
    let w: number | { wait: UnixSock } = r;
    while (typeof w !== 'number') {
      const e = await sockWait(task, sock, deadline, [w.wait.sock.wq]);
      if (e < 0) return e;
      w = attempt();
    }
    return w;
  })();
}

/**
 * unix_dgram_disconnected: dropping a peer loses what is queued; a peer that was connected
 * back to us learns it through ECONNRESET.
 */
function unixDgramDisconnected(u: UnixSock, other: UnixSock): void {
  if (u.recvQueue.length > 0) {
    purgeQueue(u);
    u.sock.wake();
    if (!other.dead && other.peer === u) {
      other.sock.err = E.ECONNRESET;
      other.sock.wake();
    }
  }
}

/** unix_dgram_connect: set (or with AF_UNSPEC clear) the default destination. */
function unixDgramConnect(sock: Socket, task: Task, uaddr: Uint8Array): number {
  const u = usk(sock);
  if (uaddr.length < SUN_PATH) return -E.EINVAL;
  if ((uaddr[0]! | (uaddr[1]! << 8)) === 0) {
    // AF_UNSPEC: disconnect.
    const old = u.peer;
    u.peer = null;
    if (old) unixDgramDisconnected(u, old);
    if (sock.type === SOCK_DGRAM) u.skState = TCP_CLOSE;
    sock.state = SS_UNCONNECTED;
    sock.wake();
    return 0;
  }
  const addr = unixMkname(uaddr);
  if (typeof addr === 'number') return addr;
  if (addr.length === SUN_PATH) return -E.EINVAL;
  if (sock.passcred && !u.addr) {
    const e = unixAutobind(task, u);
    if (e < 0) return e;
  }
  const other = unixFindOther(task, addr, sock.type);
  if (typeof other === 'number') return other;
  const old = u.peer;
  u.peer = other;
  u.skState = TCP_ESTABLISHED;
  if (old && old !== other) unixDgramDisconnected(u, old);
  sock.state = SS_CONNECTED;
  sock.wake();
  return 0;
}

function unixConnect(sock: Socket, task: Task, addr: Uint8Array, flags: number): number | Promise<number> {
  if (sock.type === SOCK_DGRAM) return unixDgramConnect(sock, task, addr);
  return unixStreamConnect(sock, task, addr, flags);
}

/** unix_socketpair: two sockets connected to each other, each with the creator's credentials. */
function unixSocketpair(a: Socket, b: Socket, task: Task): number {
  const ua = usk(a);
  const ub = usk(b);
  ua.peer = ub;
  ub.peer = ua;
  a.peerCred = currentCred(task);
  b.peerCred = currentCred(task);
  ua.skState = TCP_ESTABLISHED;
  ub.skState = TCP_ESTABLISHED;
  a.state = SS_CONNECTED;
  b.state = SS_CONNECTED;
  return 0;
}

/** unix_accept: take the oldest embryo (sleeping for one unless non-blocking). */
function unixAccept(sock: Socket, task: Task, flags: number): Socket | number | Promise<Socket | number> {
  const u = usk(sock);
  if (sock.type !== SOCK_STREAM && sock.type !== SOCK_SEQPACKET) return -E.EOPNOTSUPP;
  if (u.skState !== TCP_LISTEN) return -E.EINVAL;
  const take = (): Socket | null => {
    const nu = u.acceptQueue.shift();
    if (!nu) return null;
    // A slot in the backlog opened up: wake connectors waiting for one.
    sock.wake();
    // unix_sock_inherit_flags.
    nu.sock.passcred = sock.passcred;
    return nu.sock;
  };
  const s = take();
  if (s) return s;
  if ((flags & 0o4000) !== 0 || sock.rcvNoWait) return -E.EAGAIN;
  const deadline = sockDeadline(task, sock, false);
  return (async () => {
    for (;;) {
      const e = await sockWait(task, sock, deadline);
      if (e < 0) return e;
      if (u.skState !== TCP_LISTEN) return -E.EINVAL;
      const s2 = take();
      if (s2) return s2;
    }
  })();
}

// ---------------------------------------------------------------------------------------
// Teardown.

/** Drop every queued message (skb_queue_purge): their files are closed with them. */
function purgeQueue(u: UnixSock): void {
  for (const skb of u.recvQueue.splice(0)) {
    scmDestroy(skb.scm);
    skbFree(skb);
  }
}

/** unix_release_sock: hang up on the peer, free queued messages and pending embryos, unhash. */
function unixReleaseSock(u: UnixSock, embryo: boolean): void {
  const t = unixTable(u.sock.kernel);
  t.all.delete(u);
  u.dead = true;
  const wasListening = u.skState === TCP_LISTEN;
  u.skState = TCP_CLOSE;
  u.shutdown = SHUTDOWN_MASK;
  const pair = u.peer;
  if (pair) {
    if (u.type === SOCK_STREAM || u.type === SOCK_SEQPACKET) {
      if (u.recvQueue.length > 0 || embryo) pair.sock.err = E.ECONNRESET;
      pair.shutdown = SHUTDOWN_MASK;
      pair.sock.wake();
    }
    u.peer = null;
  }
  if (u.addr && u.addr[SUN_PATH] === 0 && u.addr.length > SUN_PATH) {
    const key = abstractKey(u.addr, u.type);
    if (t.abstract.get(key) === u) t.abstract.delete(key);
  }
  if (u.boundInode) {
    const m = t.byInode.get(u.boundInode.sb);
    if (m?.get(u.boundInode.ino) === u) m.delete(u.boundInode.ino);
  }
  purgeQueue(u);
  if (wasListening) for (const nu of u.acceptQueue.splice(0)) unixReleaseSock(nu, true);
  // Dgram senders blocked on this socket's queue must see it gone.
  u.sock.wake();
}

function unixRelease(sock: Socket): void {
  const u = sock.sk as UnixSock | null;
  if (!u || u.dead) return;
  unixReleaseSock(u, false);
}

/** unix_shutdown: mark this side, and the mirror half of a connected peer. */
function unixShutdown(sock: Socket, how: number): number {
  const u = usk(sock);
  if (how < SHUT_RD || how > SHUT_RDWR) return -E.EINVAL;
  const mode = how + 1;
  u.shutdown |= mode;
  sock.wake();
  const other = u.peer;
  if (other && (sock.type === SOCK_STREAM || sock.type === SOCK_SEQPACKET)) {
    let peerMode = 0;
    if (mode & RCV_SHUTDOWN) peerMode |= SEND_SHUTDOWN;
    if (mode & SEND_SHUTDOWN) peerMode |= RCV_SHUTDOWN;
    other.shutdown |= peerMode;
    other.sock.wake();
  }
  return 0;
}

// ---------------------------------------------------------------------------------------
// Sending.

/** EPIPE with SIGPIPE unless MSG_NOSIGNAL (the out_pipe path of unix_stream_sendmsg). */
function epipe(task: Task, flags: number, sent: number): number {
  if (sent > 0) return sent;
  if (!(flags & MSG_NOSIGNAL)) sendSignal(task, SIGPIPE, false);
  return -E.EPIPE;
}

/** unix_stream_sendmsg: split into skbs of at most sndbuf/2-64 bytes, each charged to us. */
function unixStreamSendmsg(sock: Socket, task: Task, msg: SendMsg): number | Promise<number> {
  const u = usk(sock);
  if (msg.name) {
    scmDestroy(msg.scm);
    return u.skState === TCP_ESTABLISHED ? -E.EISCONN : -E.EOPNOTSUPP;
  }
  const other = u.peer;
  if (!other) {
    scmDestroy(msg.scm);
    return -E.ENOTCONN;
  }
  if (u.shutdown & SEND_SHUTDOWN) {
    scmDestroy(msg.scm);
    return epipe(task, msg.flags, 0);
  }
  const noWait = sockNoWait(sock, msg.flags, true);
  const deadline = sockDeadline(task, sock, true);
  const cred = msgCred(task, msg.scm.cred, u, other);
  let scm: ScmCookie | null = msg.scm;
  let sent = 0;
  const total = msg.iter.count;
  const step = (): number | null => {
    for (;;) {
      if (other.dead || other.shutdown & RCV_SHUTDOWN || u.shutdown & SEND_SHUTDOWN) {
        scmDestroy(scm);
        return epipe(task, msg.flags, sent);
      }
      // Zero bytes send nothing at all, not even the files (the loop of unix_stream_sendmsg never runs).
      if (sent >= total) {
        scmDestroy(scm);
        return sent;
      }
      if (u.wmem >= sock.sndbuf) {
        if (noWait) {
          scmDestroy(scm);
          return sent > 0 ? sent : -E.EAGAIN;
        }
        return null;
      }
      const size = Math.min(total - sent, (sock.sndbuf >> 1) - 64, 3776 + 32768);
      const data = msg.iter.copyFrom(size);
      if (typeof data === 'number') {
        scmDestroy(scm);
        return sent > 0 ? sent : data;
      }
      if (data.length === 0 && size > 0) {
        scmDestroy(scm);
        return sent > 0 ? sent : -E.EFAULT;
      }
      const ts = skbTruesize(data.length);
      // The fds ride on the first skb only (unix_scm_to_skb, then scm is consumed).
      const skbScm: ScmCookie = { fds: scm ? scm.fds : [], cred };
      scm = null;
      other.recvQueue.push({ data: data.slice(), off: 0, sender: u, truesize: ts, scm: skbScm, eor: false });
      u.wmem += ts;
      sent += data.length;
      other.sock.wake();
    }
  };
  const r = step();
  if (r !== null) return r;
  return (async () => {
    for (;;) {
      const e = await sockWait(task, sock, deadline, [other.sock.wq]);
      if (e < 0) {
        scmDestroy(scm);
        return sent > 0 ? sent : e;
      }
      const r2 = step();
      if (r2 !== null) return r2;
    }
  })();
}

/**
 * unix_dgram_sendmsg (SOCK_DGRAM, and SOCK_SEQPACKET through unix_seqpacket_sendmsg): one
 * message, one skb; the destination is msg_name or the connected peer.
 */
function unixDgramSendmsg(sock: Socket, task: Task, msg: SendMsg): number | Promise<number> {
  const u = usk(sock);
  const fail = (e: number): number => {
    scmDestroy(msg.scm);
    return e;
  };
  let addr: Uint8Array | null = null;
  if (sock.type === SOCK_SEQPACKET) {
    if (u.skState !== TCP_ESTABLISHED) return fail(-E.ENOTCONN);
    // unix_seqpacket_sendmsg ignores msg_name once connected (msg_namelen = 0).
  } else if (msg.name) {
    const a = unixMkname(msg.name);
    if (typeof a === 'number') return fail(a);
    if (a.length === SUN_PATH) return fail(-E.EINVAL);
    addr = a;
  } else if (!u.peer) {
    return fail(-E.ENOTCONN);
  }
  if (sock.passcred && !u.addr) {
    const e = unixAutobind(task, u);
    if (e < 0) return fail(e);
  }
  const len = msg.iter.count;
  if (len > sock.sndbuf - 32) return fail(-E.EMSGSIZE);
  // sock_alloc_send_pskb: a pending error, then SEND_SHUTDOWN (-EPIPE, and no SIGPIPE for
  // datagram sockets).
  if (sock.err) {
    const e = sock.err;
    sock.err = 0;
    return fail(-e);
  }
  if (u.shutdown & SEND_SHUTDOWN) return fail(-E.EPIPE);
  const data = msg.iter.copyFrom(len);
  if (typeof data === 'number') return fail(data);
  if (data.length < len) return fail(-E.EFAULT);
  const bytes = data.slice();
  const noWait = sockNoWait(sock, msg.flags, true);
  const deadline = sockDeadline(task, sock, true);
  const ts = skbTruesize(bytes.length);
  const step = (): number | { other: UnixSock | null } => {
    let other: UnixSock | null;
    if (addr) {
      const o = unixFindOther(task, addr, sock.type);
      if (typeof o === 'number') return fail(o);
      other = o;
    } else {
      other = u.peer;
      if (!other) return fail(sock.type === SOCK_SEQPACKET ? -E.ENOTCONN : -E.ENOTCONN);
    }
    if (other.dead) {
      // The peer went away: forget it (unix_dgram_disconnected) and refuse.
      if (sock.type === SOCK_SEQPACKET) return fail(-E.EPIPE);
      if (u.peer === other) {
        u.peer = null;
        u.skState = TCP_CLOSE;
        unixDgramDisconnected(u, other);
      }
      return fail(-E.ECONNREFUSED);
    }
    // A receiver connected elsewhere refuses us (unix_may_send).
    if (sock.type === SOCK_DGRAM && other.peer && other.peer !== u) return fail(-E.EPERM);
    if (other.shutdown & RCV_SHUTDOWN) return fail(-E.EPIPE);
    if (u.wmem >= sock.sndbuf) {
      if (noWait) return fail(-E.EAGAIN);
      return { other: null };
    }
    if (other.peer !== u && recvqFull(other)) {
      if (noWait) return fail(-E.EAGAIN);
      return { other };
    }
    other.recvQueue.push({
      data: bytes,
      off: 0,
      sender: u,
      truesize: ts,
      scm: { fds: msg.scm.fds, cred: msgCred(task, msg.scm.cred, u, other) },
      eor: (msg.flags & MSG_EOR) !== 0,
    });
    msg.scm.fds = [];
    u.wmem += ts;
    other.sock.wake();
    return bytes.length;
  };
  const r = step();
  if (typeof r === 'number') return r;
  return (async () => {
    let w: number | { other: UnixSock | null } = r;
    while (typeof w !== 'number') {
      const e = await sockWait(task, sock, deadline, w.other ? [w.other.sock.wq] : undefined);
      if (e < 0) return fail(e);
      w = step();
    }
    return w;
  })();
}

function unixSendmsg(sock: Socket, task: Task, msg: SendMsg): number | Promise<number> {
  // Out-of-band data: this kernel is built as one without CONFIG_AF_UNIX_OOB, so every type says EOPNOTSUPP.
  if (msg.flags & MSG_OOB) {
    scmDestroy(msg.scm);
    return -E.EOPNOTSUPP;
  }
  if (sock.type === SOCK_STREAM) return unixStreamSendmsg(sock, task, msg);
  return unixDgramSendmsg(sock, task, msg);
}

// ---------------------------------------------------------------------------------------
// Receiving.

function senderName(msg: RecvMsg, skb: UnixSkb): void {
  // unix_copy_addr: an unbound sender leaves msg_namelen 0.
  if (msg.wantName) msg.name = skb.sender.addr ? skb.sender.addr.slice() : null;
}

/** unix_dgram_recvmsg: one message; MSG_TRUNC when it did not fit (and with MSG_TRUNC in flags, its full length). */
function unixDgramRecvmsg(sock: Socket, task: Task, msg: RecvMsg): number | Promise<number> {
  const u = usk(sock);
  if (sock.type === SOCK_SEQPACKET && u.skState !== TCP_ESTABLISHED && u.recvQueue.length === 0) return -E.ENOTCONN;
  const noWait = sockNoWait(sock, msg.flags, false);
  const deadline = sockDeadline(task, sock, false);
  const step = (): number | null => {
    const skb = u.recvQueue[0];
    if (!skb) {
      if (sock.err) {
        const e = sock.err;
        sock.err = 0;
        return -e;
      }
      if (u.shutdown & RCV_SHUTDOWN) return 0;
      if (noWait) return -E.EAGAIN;
      return null;
    }
    const peek = (msg.flags & MSG_PEEK) !== 0;
    if (!peek) {
      u.recvQueue.shift();
      skbFree(skb);
    }
    senderName(msg, skb);
    const size = skb.data.length;
    const want = msg.iter.count;
    if (want < size) msg.msgFlags |= MSG_TRUNC;
    else if (sock.type === SOCK_SEQPACKET && skb.eor) msg.msgFlags |= MSG_EOR;
    const n = msg.iter.copyTo(skb.data.subarray(0, Math.min(want, size)));
    if (n < 0) {
      if (!peek) scmDestroy(skb.scm);
      return n;
    }
    if (peek) {
      // MSG_PEEK keeps the files with the message; the receiver gets duplicates (scm_fp_dup).
      msg.scm = skb.scm ? { fds: skb.scm.fds.map((f) => f.get()), cred: skb.scm.cred } : null;
    } else {
      msg.scm = skb.scm;
    }
    u.sock.wake();
    return msg.flags & MSG_TRUNC ? size : n;
  };
  return sockWaitFor(task, sock, deadline, step);
}

/**
 * unix_stream_read_generic: gather bytes across skbs up to the request (or, with
 * MSG_WAITALL, wait for all of it); stop after an skb that carried files so they arrive with
 * the bytes they were sent with.
 */
function unixStreamRecvmsg(sock: Socket, task: Task, msg: RecvMsg): number | Promise<number> {
  const u = usk(sock);
  if (u.skState !== TCP_ESTABLISHED) return -E.EINVAL;
  const noWait = sockNoWait(sock, msg.flags, false);
  const deadline = sockDeadline(task, sock, false);
  const peek = (msg.flags & MSG_PEEK) !== 0;
  const size = msg.iter.count;
  const target = msg.flags & MSG_WAITALL ? size : Math.min(size, sock.rcvlowat);
  let copied = 0;
  let gotScm = false;
  const step = (): number | null => {
    let skip = 0;
    let i = 0;
    for (;;) {
      const skb = u.recvQueue[peek ? i : 0];
      if (!skb) {
        if (copied >= target) return copied;
        if (sock.err) {
          const e = sock.err;
          sock.err = 0;
          return copied > 0 ? copied : -e;
        }
        if (u.shutdown & RCV_SHUTDOWN) return copied;
        if (noWait) return copied > 0 ? copied : -E.EAGAIN;
        if (peek && copied > 0) return copied;
        return null;
      }
      const check = sock.passcred;
      if (copied === 0) {
        senderName(msg, skb);
        if (!msg.scm) msg.scm = { fds: [], cred: skb.scm ? skb.scm.cred : null };
      } else if (check && !sameCred(msg.scm ? msg.scm.cred : null, skb.scm ? skb.scm.cred : null)) {
        // Never glue messages from different writers.
        return copied;
      }
      const avail = skb.data.length - skb.off - skip;
      const chunk = Math.min(avail, size - copied);
      const n = msg.iter.copyTo(skb.data.subarray(skb.off + skip, skb.off + skip + chunk));
      if (n < 0 || (n === 0 && chunk > 0)) return copied > 0 ? copied : -E.EFAULT;
      copied += n;
      if (skb.scm && skb.scm.fds.length > 0) {
        const fds = peek ? skb.scm.fds.map((f) => f.get()) : skb.scm.fds;
        if (!peek) skb.scm.fds = [];
        msg.scm!.fds.push(...fds);
        gotScm = true;
      }
      if (!peek) {
        skb.off += n;
        if (skb.off >= skb.data.length) {
          u.recvQueue.shift();
          skbFree(skb);
        }
      } else {
        i++;
        skip = 0;
      }
      if (gotScm) return copied;
      if (copied >= size) return copied;
    }
  };
  const r = step();
  if (r !== null) return r;
  return (async () => {
    for (;;) {
      const e = await sockWait(task, sock, deadline);
      if (e < 0) return copied > 0 ? copied : e;
      const r2 = step();
      if (r2 !== null) return r2;
    }
  })();
}

function unixRecvmsg(sock: Socket, task: Task, msg: RecvMsg): number | Promise<number> {
  if (msg.flags & MSG_OOB) return -E.EOPNOTSUPP;
  if (sock.type === SOCK_STREAM) return unixStreamRecvmsg(sock, task, msg);
  return unixDgramRecvmsg(sock, task, msg);
}

// ---------------------------------------------------------------------------------------
// poll and ioctl.

/** unix_poll (stream) and unix_dgram_poll (dgram, seqpacket). */
function unixPoll(sock: Socket): number {
  const u = usk(sock);
  let mask = 0;
  if (sock.err) mask |= POLLERR;
  if (u.shutdown === SHUTDOWN_MASK) mask |= POLLHUP;
  if (u.shutdown & RCV_SHUTDOWN) mask |= POLLRDHUP | POLLIN | POLLRDNORM;
  if (u.recvQueue.length > 0 || u.acceptQueue.length > 0) mask |= POLLIN | POLLRDNORM;
  if (sock.type === SOCK_STREAM) {
    if (u.skState === TCP_CLOSE) mask |= POLLHUP;
    if (unixWritable(u)) mask |= POLLOUT | POLLWRNORM | POLLWRBAND;
    return mask;
  }
  if (sock.type === SOCK_SEQPACKET) {
    if (u.skState === TCP_CLOSE) mask |= POLLHUP;
  }
  let writable = unixWritable(u);
  if (writable) {
    const other = u.peer;
    if (other && other.peer !== u && !other.dead && recvqFull(other)) writable = false;
  }
  if (writable) mask |= POLLOUT | POLLWRNORM | POLLWRBAND;
  return mask;
}

/** unix_inq_len: stream bytes queued, or the size of the next datagram. */
function unixInqLen(u: UnixSock): number {
  if (u.skState === TCP_LISTEN) return -E.EINVAL;
  if (u.type === SOCK_DGRAM) return u.recvQueue[0] ? u.recvQueue[0].data.length : 0;
  let n = 0;
  for (const s of u.recvQueue) n += s.data.length - s.off;
  return n;
}

function unixIoctl(sock: Socket, task: Task, cmd: number, arg: number): number {
  const u = usk(sock);
  let v: number;
  if (cmd === SIOCOUTQ) v = u.wmem;
  else if (cmd === SIOCINQ) v = unixInqLen(u);
  else return -E.ENOTTY;
  if (v < 0) return v;
  return putUser32(task.mm, arg, v) < 0 ? -E.EFAULT : 0;
}

// ---------------------------------------------------------------------------------------
// Creation and registration.

/** unix_create1: the family state of a new socket. */
function unixCreate1(sock: Socket): UnixSock {
  const u = new UnixSock(sock);
  sock.sk = u;
  sock.ops = unixOps;
  unixTable(sock.kernel).all.add(u);
  return u;
}

export const unixOps: ProtoOps = {
  family: AF_UNIX,
  release: unixRelease,
  bind: unixBind,
  connect: unixConnect,
  socketpair: unixSocketpair,
  accept: unixAccept,
  getname: unixGetname,
  poll: unixPoll,
  ioctl: unixIoctl,
  listen: unixListen,
  shutdown: unixShutdown,
  setsockopt: null,
  getsockopt: null,
  sendmsg: unixSendmsg,
  recvmsg: unixRecvmsg,
};

/** unix_create: SOCK_RAW is quietly a SOCK_DGRAM; other types are not supported. */
function unixCreate(_task: Task, sock: Socket, protocol: number): number {
  if (protocol && protocol !== AF_UNIX) return -E.EPROTONOSUPPORT;
  switch (sock.type) {
    case SOCK_STREAM:
    case SOCK_DGRAM:
    case SOCK_SEQPACKET:
      break;
    case SOCK_RAW:
      sock.type = SOCK_DGRAM;
      break;
    default:
      return -E.ESOCKTNOSUPPORT;
  }
  unixCreate1(sock);
  return 0;
}

/**
 * unix_seq_show (/proc/net/unix): one line per socket. Kernel pointers print as zeros
 * (%pK under kptr_restrict); Flags is __SO_ACCEPTCON for a listener; St the socket state;
 * abstract names start with '@', NULs in them shown as '@'.
 */
function unixSeqShow(k: Kernel): string {
  let out = 'Num       RefCount Protocol Flags    Type St Inode Path\n';
  const hex = (v: number, w: number): string => v.toString(16).toUpperCase().padStart(w, '0');
  for (const u of unixSockets(k)) {
    const listening = u.skState === TCP_LISTEN;
    const st = u.sock.file ? u.sock.state : u.skState === TCP_ESTABLISHED ? SS_CONNECTED : SS_UNCONNECTED;
    const ref = u.peer ? 3 : 2;
    out += `0000000000000000: ${hex(ref, 8)} ${hex(0, 8)} ${hex(listening ? 0x10000 : 0, 8)} ${hex(u.type, 4)} ${hex(st, 2)} ${String(u.ino).padStart(5)}`;
    if (u.addr && u.addr.length > SUN_PATH) {
      out += ' ';
      if (u.addr[SUN_PATH] === 0) {
        out += '@';
        for (let i = SUN_PATH + 1; i < u.addr.length; i++)
          out += u.addr[i] === 0 ? '@' : String.fromCharCode(u.addr[i]!);
      } else {
        out += pathOf(u.addr);
      }
    }
    out += '\n';
  }
  return out;
}

/** af_unix_init: register the family and its /proc/net file. */
sockRegister({ family: AF_UNIX, create: unixCreate });
procNetRegister('unix', unixSeqShow);
