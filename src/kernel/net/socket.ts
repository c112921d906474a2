/**
 * The socket layer (net/socket.c, net/core/sock.c): struct socket with its sockfs inode
 * (S_IFSOCK, `socket:[ino]`), the address-family registry (sock_register / net_families),
 * and the generic SOL_SOCKET options. Families plug in through NetProtoFamily.create, which
 * fills in `sock.ops` (struct proto_ops) and the family's private sock (`sock.sk`).
 *
 * Adding AF_INET later is `sockRegister({ family: AF_INET, create })` with a ProtoOps vtable:
 * the system calls in net/syscalls.ts only ever go through `sock.ops`.
 */
import * as E from '../errno.js';
import type { Kernel } from '../kernel.js';
import type { Task } from '../sched/task.js';
import { sleepOn, WaitQueue } from '../sched/wait.js';
import { Dentry } from '../fs/dcache.js';
import { File, FMODE_READ, FMODE_STREAM, FMODE_WRITE, type FileOperations, type Kiocb } from '../fs/file.js';
import { Inode } from '../fs/inode.js';
import type { IovIter } from '../fs/iov_iter.js';
import { Mount } from '../fs/mount.js';
import { getAnonDev, SuperBlock } from '../fs/super.js';
import { waitQueuePollAdd } from '../fs/select.js';
import { O_NONBLOCK, O_RDWR, S_IFSOCK } from '../fs/uapi.js';
import type { ScmCookie } from './scm.js';
import { devIoctl } from './core/dev_ioctl.js';
import {
  MSG_DONTWAIT,
  MSG_EOR,
  NPROTO,
  SOCK_SEQPACKET,
  SOL_SOCKET,
  SS_UNCONNECTED,
  SYSCTL_RMEM_DEFAULT,
  SYSCTL_WMEM_DEFAULT,
} from './uapi.js';

/** A message being sent (the kernel side of struct msghdr for sendmsg). */
export interface SendMsg {
  iter: IovIter;
  /** The destination address bytes (msg_name), or null. */
  name: Uint8Array | null;
  /** MSG_* flags; MSG_DONTWAIT is set when the file is O_NONBLOCK. */
  flags: number;
  /** Parsed control messages (scm_send): fds to pass, credentials. */
  scm: ScmCookie;
  /**
   * The raw msg_control bytes (already copied in and walked by scm_send), for a family that
   * parses its own levels as ip_cmsg_send does for SOL_IP. Absent for send/sendto/write.
   */
  control?: Uint8Array;
}

/** One control message a protocol built while receiving (the level/type/data it passes to put_cmsg). */
export interface RecvCmsg {
  level: number;
  type: number;
  data: Uint8Array;
}

/** A message being received (struct msghdr for recvmsg): the family fills name/flags/scm. */
export interface RecvMsg {
  iter: IovIter;
  flags: number;
  /** The caller asked for the source address (msg_name != NULL). */
  wantName: boolean;
  /** The source address the family reports (msg_name/msg_namelen); null = length 0. */
  name: Uint8Array | null;
  /** MSG_TRUNC / MSG_EOR … reported in msg_flags. */
  msgFlags: number;
  /** Received control data (fds, credentials) for scm_recv. */
  scm: ScmCookie | null;
  /**
   * Control messages the protocol put (ip_cmsg_recv, sock_recv_timestamp, ip_recv_error), in
   * the order Linux's put_cmsg calls write them; recvmsg copies them into msg_control.
   */
  cmsgs?: RecvCmsg[];
}

/** put_cmsg from inside a protocol's recvmsg: queue one control message for the system call to write. */
export function recvPutCmsg(msg: RecvMsg, level: number, type: number, data: Uint8Array): void {
  (msg.cmsgs ??= []).push({ level, type, data });
}

// SOL_SOCKET timestamp options (asm-generic/socket.h). riscv64 has a 64-bit time_t, so plain
// SO_TIMESTAMP/SO_TIMESTAMPNS are the _OLD numbers (SCM_TIMESTAMP = 29, SCM_TIMESTAMPNS = 35).
export const SO_TIMESTAMP_OLD = 29;
export const SO_TIMESTAMPNS_OLD = 35;
export const SO_TIMESTAMP_NEW = 63;
export const SO_TIMESTAMPNS_NEW = 64;

/**
 * struct proto_ops: what a family does for each socket system call. Results are 0 / a
 * count / -errno, or a Promise of one when the caller must sleep.
 */
export interface ProtoOps {
  family: number;
  release(sock: Socket): void;
  bind(sock: Socket, task: Task, addr: Uint8Array): number;
  connect(sock: Socket, task: Task, addr: Uint8Array, flags: number): number | Promise<number>;
  socketpair(a: Socket, b: Socket, task: Task): number;
  /** The next connection as a new socket (without a file yet), or -errno; `flags` holds O_NONBLOCK. */
  accept(sock: Socket, task: Task, flags: number): Socket | number | Promise<Socket | number>;
  /** The local (peer=false) or remote address, or -errno. */
  getname(sock: Socket, peer: boolean): Uint8Array | number;
  poll(sock: Socket): number;
  ioctl(sock: Socket, task: Task, cmd: number, arg: number): number;
  listen(sock: Socket, task: Task, backlog: number): number;
  shutdown(sock: Socket, how: number): number;
  /** Options of levels other than SOL_SOCKET (null = -EOPNOTSUPP, as a missing ops->setsockopt). */
  setsockopt: ((sock: Socket, task: Task, level: number, name: number, val: Uint8Array) => number) | null;
  getsockopt: ((sock: Socket, task: Task, level: number, name: number, len: number) => Uint8Array | number) | null;
  sendmsg(sock: Socket, task: Task, msg: SendMsg): number | Promise<number>;
  recvmsg(sock: Socket, task: Task, msg: RecvMsg): number | Promise<number>;
  /**
   * Optional: a SOL_SOCKET option was stored on `sock` (SO_KEEPALIVE, SO_LINGER, SO_RCVBUF,
   * SO_SNDBUF, SO_REUSEADDR …) and the protocol must act on it (sk_setsockopt's calls into
   * tcp_set_keepalive and friends). Called after a successful sock_setsockopt.
   */
  solSocketChanged?(sock: Socket, name: number): void;
  /**
   * Optional, close(2) only: after `release` dropped the last reference, a Promise that ends when
   * the family's release would have stopped sleeping (tcp_close's sk_stream_wait_close under
   * SO_LINGER), or null when there is nothing to wait for. Never called at exit(2).
   */
  closeWait?(sock: Socket, task: Task): Promise<void> | null;
}

/** struct net_proto_family. */
export interface NetProtoFamily {
  family: number;
  /** Fill in sock.ops and sock.sk for `protocol` (sock.type already set), or -errno. */
  create(task: Task, sock: Socket, protocol: number, kern: boolean): number;
}

/** net_families[]: registered address families. */
const netFamilies: (NetProtoFamily | undefined)[] = new Array<NetProtoFamily | undefined>(NPROTO);

/** sock_register. -EEXIST when the family already has an owner. */
export function sockRegister(ops: NetProtoFamily): number {
  if (ops.family < 0 || ops.family >= NPROTO) return -E.ENOBUFS;
  if (netFamilies[ops.family]) return -E.EEXIST;
  netFamilies[ops.family] = ops;
  return 0;
}

/** sock_unregister. */
export function sockUnregister(family: number): void {
  netFamilies[family] = undefined;
}

export function netFamily(family: number): NetProtoFamily | undefined {
  return netFamilies[family];
}

/** Credentials as SO_PEERCRED and SCM_CREDENTIALS carry them (struct ucred). */
export interface Ucred {
  pid: number;
  uid: number;
  gid: number;
}

/**
 * struct socket together with the generic part of struct sock (sk_err, buffers, SOL_SOCKET
 * options, sk_wq). The family's own state hangs off `sk`.
 */
export class Socket {
  state = SS_UNCONNECTED;
  ops!: ProtoOps;
  sk: unknown = null;
  file: File | null = null;
  /** sk->sk_wq: everyone who sleeps on or polls this socket. */
  readonly wq = new WaitQueue();
  /** sk_err, returned and cleared by SO_ERROR. */
  err = 0;
  sndbuf = SYSCTL_WMEM_DEFAULT;
  rcvbuf = SYSCTL_RMEM_DEFAULT;
  /** SO_RCVTIMEO/SO_SNDTIMEO in ns; 0 = forever (MAX_SCHEDULE_TIMEOUT). */
  rcvtimeoNs = 0;
  sndtimeoNs = 0;
  /** A negative timeval was set: never wait (sock_set_timeout's timeo 0). */
  rcvNoWait = false;
  sndNoWait = false;
  passcred = false;
  linger: { onoff: number; linger: number } = { onoff: 0, linger: 0 };
  /** Plain boolean/int SOL_SOCKET options that only need storing (SO_REUSEADDR, SO_KEEPALIVE …). */
  readonly intOpts = new Map<number, number>();
  rcvlowat = 1;
  /**
   * SOCK_RCVTSTAMP / SOCK_RCVTSTAMPNS / SOCK_TSTAMP_NEW (sock_set_timestamp): which receive
   * timestamp cmsg __sock_recv_timestamp adds.
   */
  rcvTstamp = false;
  rcvTstampNs = false;
  tstampNew = false;
  /** sk_peer_cred / sk_peer_pid (SO_PEERCRED). */
  peerCred: Ucred | null = null;
  inode: Inode | null = null;

  constructor(
    readonly kernel: Kernel,
    readonly family: number,
    /** SOCK_* (a family may normalize it at create, as unix_create turns SOCK_RAW into SOCK_DGRAM). */
    public type: number,
    public protocol: number,
  ) {}

  /** Wake sleepers and pollers (sk_data_ready / sk_write_space / sk_state_change). */
  wake(): void {
    this.wq.wakeUp();
  }
}

/**
 * sock_recv_timestamp → __sock_recv_timestamp (software timestamps only): with SO_TIMESTAMP a
 * struct __kernel_old_timeval (SO_TIMESTAMP_OLD) or __kernel_sock_timeval (SO_TIMESTAMP_NEW),
 * with SO_TIMESTAMPNS a timespec; both are two 64-bit words on riscv64. `tstampNs` is the
 * skb's receive stamp, which the drivers take on the monotonic clock: it is moved to
 * CLOCK_REALTIME (skb->tstamp is ktime_get_real). A packet without a stamp gets "now", as
 * __net_timestamp does.
 */
export function sockRecvTimestamp(msg: RecvMsg, sock: Socket, tstampNs: number): void {
  if (!sock.rcvTstamp) return;
  const clock = sock.kernel.clock;
  const mono = tstampNs > 0 ? tstampNs : clock.monotonicNs();
  const real = Math.max(0, Math.floor(mono + (clock.realtimeNs() - clock.monotonicNs())));
  const sec = Math.floor(real / 1e9);
  const nsec = real - sec * 1e9;
  const b = new Uint8Array(16);
  const dv = new DataView(b.buffer);
  dv.setBigInt64(0, BigInt(sec), true);
  if (sock.rcvTstampNs) {
    dv.setBigInt64(8, BigInt(nsec), true);
    recvPutCmsg(msg, SOL_SOCKET, sock.tstampNew ? SO_TIMESTAMPNS_NEW : SO_TIMESTAMPNS_OLD, b);
  } else {
    dv.setBigInt64(8, BigInt(Math.floor(nsec / 1000)), true);
    recvPutCmsg(msg, SOL_SOCKET, sock.tstampNew ? SO_TIMESTAMP_NEW : SO_TIMESTAMP_OLD, b);
  }
}

/** The socket behind a file, or null (sock_from_file). */
export function sockFromFile(file: File): Socket | null {
  return file.private_ instanceof Socket ? file.private_ : null;
}

/** SOCKFS_MAGIC for statfs. */
const SOCKFS_MAGIC = 0x534f434b;
const sockMounts = new WeakMap<Kernel, Mount>();

/** sock_mnt: the internal sockfs, one per kernel. */
function sockMnt(kernel: Kernel): Mount {
  let m = sockMounts.get(kernel);
  if (!m) {
    const sb = new SuperBlock({ name: 'sockfs', fsFlags: 0 }, {}, getAnonDev(), {
      realtimeNs: () => kernel.clock.realtimeNs(),
    });
    sb.magic = SOCKFS_MAGIC;
    const rootInode = new Inode(sb, sb.allocIno(), 0o040700, {}, {});
    const root = new Dentry('socket:', null, rootInode, { dname: () => 'socket:' });
    sb.root = root;
    m = new Mount(sb, root, 'sockfs', null, null);
    sockMounts.set(kernel, m);
  }
  return m;
}

/**
 * sock_alloc: a new socket with its sockfs inode (S_IFSOCK | 0777, owned by the caller's
 * fsuid/fsgid).
 */
export function sockAlloc(task: Task, family: number, type: number, protocol: number): Socket {
  const sock = new Socket(task.kernel, family, type, protocol);
  const sb = sockMnt(task.kernel).sb;
  const inode = new Inode(sb, sb.allocIno(), S_IFSOCK | 0o777, {}, socketFileOps);
  inode.uid = task.cred.fsuid;
  inode.gid = task.cred.fsgid;
  inode.blocks = 0;
  inode.private_ = sock;
  sock.inode = inode;
  return sock;
}

/** __sock_create: check the arguments, allocate, let the family fill it in. */
export function sockCreate(task: Task, family: number, type: number, protocol: number, kern = false): Socket | number {
  if (family < 0 || family >= NPROTO) return -E.EAFNOSUPPORT;
  if (type < 0 || type >= 11) return -E.EINVAL;
  const pf = netFamilies[family];
  // Linux would try request_module("net-pf-%d") here; nothing is loadable, so the family is missing.
  if (!pf) return -E.EAFNOSUPPORT;
  const sock = sockAlloc(task, family, type, protocol);
  const e = pf.create(task, sock, protocol, kern);
  if (e < 0) return e;
  return sock;
}

/** sock_alloc_file: the File of a socket, named `socket:[ino]`, O_RDWR plus O_NONBLOCK from `flags`. */
export function sockAllocFile(sock: Socket, flags: number): File {
  const mnt = sockMnt(sock.kernel);
  const inode = sock.inode!;
  const name = `socket:[${inode.ino}]`;
  const dentry = new Dentry(name, null, inode, { dname: () => name });
  const f = new File(
    { mnt, dentry },
    inode,
    socketFileOps,
    O_RDWR | (flags & O_NONBLOCK),
    FMODE_READ | FMODE_WRITE | FMODE_STREAM,
  );
  f.private_ = sock;
  sock.file = f;
  return f;
}

/** The task that is in a read/write on a socket file (the VFS calls read_iter without it). */
function current(file: File): Task | null {
  const s = sockFromFile(file);
  return s ? s.kernel.current : null;
}

/** sock_read_iter: read(2)/readv(2) are recvmsg with no address and no control data. */
function sockReadIter(iocb: Kiocb, to: IovIter): number | Promise<number> {
  const sock = sockFromFile(iocb.file)!;
  const task = current(iocb.file);
  if (to.count === 0) return 0;
  if (!task) return -E.EAGAIN;
  const msg: RecvMsg = {
    iter: to,
    flags: iocb.flags & O_NONBLOCK ? MSG_DONTWAIT : 0,
    wantName: false,
    name: null,
    msgFlags: 0,
    scm: null,
  };
  const r = sock.ops.recvmsg(sock, task, msg);
  const drop = (n: number): number => {
    // Fds that arrived through read(2) have nowhere to go: they are closed (scm_destroy).
    if (msg.scm) for (const f of msg.scm.fds) f.put();
    return n;
  };
  return typeof r === 'number' ? drop(r) : r.then(drop);
}

/** sock_write_iter: write(2)/writev(2) are sendmsg (MSG_EOR on SOCK_SEQPACKET). */
function sockWriteIter(iocb: Kiocb, from: IovIter): number | Promise<number> {
  const sock = sockFromFile(iocb.file)!;
  const task = current(iocb.file);
  if (!task) return -E.EAGAIN;
  let flags = iocb.flags & O_NONBLOCK ? MSG_DONTWAIT : 0;
  if (sock.type === SOCK_SEQPACKET) flags |= MSG_EOR;
  const msg: SendMsg = { iter: from, name: null, flags, scm: { fds: [], cred: null } };
  return sock.ops.sendmsg(sock, task, msg);
}

/** sock_close → __sock_release: the family drops its state; peers see the hang-up. */
function sockRelease(file: File): void {
  const sock = sockFromFile(file);
  if (!sock) return;
  sock.ops.release(sock);
  sock.file = null;
  sock.wake();
}

/** socket_file_ops. */
export const socketFileOps: FileOperations = {
  readIter: sockReadIter,
  writeIter: sockWriteIter,
  poll(file: File): number {
    const sock = sockFromFile(file);
    return sock ? sock.ops.poll(sock) : 0;
  },
  pollWait(file: File): Promise<void> {
    const sock = sockFromFile(file);
    if (!sock) return new Promise<void>(() => {});
    return new Promise<void>((resolve) => {
      const s = {
        wake(): void {
          sock.wq.remove(s);
          resolve();
        },
      };
      sock.wq.add(s);
    });
  },
  pollAdd(file: File, cb: (key?: number) => void): () => void {
    const sock = sockFromFile(file);
    if (!sock) return () => {};
    return waitQueuePollAdd([sock.wq], [0], cb);
  },
  release: sockRelease,
  // sock_close's tail: the family may hold close(2) (TCP's SO_LINGER); others return at once.
  closeWait(file: File, task: Task): Promise<void> | null {
    const sock = sockFromFile(file);
    return sock?.ops.closeWait?.(sock, task) ?? null;
  },
  ioctl(file: File, task: Task, cmd: number, arg: number): number {
    const sock = sockFromFile(file)!;
    // sock_do_ioctl's dev_ioctl: interface and route ioctls work on a socket of any family.
    const r = devIoctl(sock, task, cmd, arg);
    if (r !== null) return r;
    return sock.ops.ioctl(sock, task, cmd, arg);
  },
  llseek(): number {
    return -E.ESPIPE;
  },
};

/**
 * sk_wait_event with the socket's timeout: sleep on the socket's wait queue once.
 * Returns 0 when woken, -EAGAIN when the timeout ran out (sock_rcvtimeo / sock_sndtimeo),
 * -ERESTARTSYS / -EINTR on a signal (sock_intr_errno: a call with a timeout is not restarted).
 * `deadline` is the absolute monotonic ns the caller computed once (0 = none).
 */
export async function sockWait(task: Task, sock: Socket, deadline: number, queues?: WaitQueue[]): Promise<number> {
  const qs = queues ? [sock.wq, ...queues] : [sock.wq];
  const r = await sleepOn(task, qs, deadline ? { deadlineNs: deadline } : {});
  if (r === -E.ETIMEDOUT) return -E.EAGAIN;
  if (r === -E.ERESTARTSYS) return deadline ? -E.EINTR : -E.ERESTARTSYS;
  return r;
}

/**
 * The loop of a blocking socket call (sk_wait_event around a retry): `step` returns a result, or
 * null when it must wait; then sleep on the socket (with its timeout) and try again. A wait that
 * ends with an error (timeout, signal) is the result.
 */
export function sockWaitFor(
  task: Task,
  sock: Socket,
  deadline: number,
  step: () => number | null,
): number | Promise<number> {
  const r = step();
  if (r !== null) return r;
  return (async () => {
    for (;;) {
      const e = await sockWait(task, sock, deadline);
      if (e < 0) return e;
      const r2 = step();
      if (r2 !== null) return r2;
    }
  })();
}

/** The absolute deadline for a blocking send or receive (0 = none). */
export function sockDeadline(task: Task, sock: Socket, send: boolean): number {
  const t = send ? sock.sndtimeoNs : sock.rcvtimeoNs;
  return t ? task.kernel.clock.monotonicNs() + t : 0;
}

/** Would a blocking call wait at all (MSG_DONTWAIT, or a negative SO_*TIMEO)? */
export function sockNoWait(sock: Socket, flags: number, send: boolean): boolean {
  return (flags & MSG_DONTWAIT) !== 0 || (send ? sock.sndNoWait : sock.rcvNoWait);
}
