/**
 * The socket system calls (net/socket.c: __sys_socket, __sys_bind, __sys_accept4,
 * ____sys_sendmsg, ____sys_recvmsg …) and the generic SOL_SOCKET options
 * (net/core/sock.c: sk_setsockopt, sk_getsockopt). Every family-specific step goes through
 * sock.ops; this file only moves arguments between user memory and the kernel.
 */
import * as E from '../errno.js';
import type { File } from '../fs/file.js';
import { IovIter } from '../fs/iov_iter.js';
import { importIovec } from '../fs/read_write.js';
import { MAX_RW_COUNT, O_CLOEXEC, O_NONBLOCK } from '../fs/uapi.js';
import { accessOk, copyFromUser, copyToUser, getUser32, putUser32, putUser64 } from '../mm/uaccess.js';
import type { Task } from '../sched/task.js';
import * as N from '../syscall/numbers.js';
import type { SyscallTable } from '../syscall/types.js';
import { putCmsg, scmDestroy, scmRecv, scmSend, type CmsgOut, type ScmCookie } from './scm.js';
import {
  sockAllocFile,
  sockCreate,
  sockFromFile,
  SO_TIMESTAMP_NEW,
  SO_TIMESTAMP_OLD,
  SO_TIMESTAMPNS_NEW,
  SO_TIMESTAMPNS_OLD,
  type RecvMsg,
  type SendMsg,
  type Socket,
} from './socket.js';
import * as U from './uapi.js';
import { SO_BINDTODEVICE, sockGetBindToDevice, sockSetBindToDevice } from './core/dev_ioctl.js';
import { skFilterGetsockopt, skFilterSetsockopt } from './core/filter.js';
// Registers AF_UNIX (af_unix_init runs when the module loads).
import './unix/af_unix.js';
// Registers AF_NETLINK with NETLINK_ROUTE (rtnetlink pulls in af_netlink) and AF_PACKET.
import './netlink/rtnetlink.js';
import './packet/af_packet.js';
// Registers AF_INET (inet_init: UDP, raw, ping, TCP).
import './ipv4/af_inet.js';

/** sockfd_lookup: -EBADF for no file, -ENOTSOCK for a file that is no socket. */
function sockfdLookup(task: Task, fd: number): Socket | number {
  const f = task.files.get(fd | 0);
  if (!f) return -E.EBADF;
  const s = sockFromFile(f);
  return s ?? -E.ENOTSOCK;
}

/** move_addr_to_kernel: 0..sizeof(sockaddr_storage) bytes of address. */
function moveAddrToKernel(task: Task, uaddr: number, ulen: number): Uint8Array | number {
  if (ulen < 0 || ulen > U.SOCKADDR_STORAGE) return -E.EINVAL;
  if (ulen === 0) return new Uint8Array(0);
  const b = copyFromUser(task.mm, uaddr, ulen);
  return typeof b === 'number' ? -E.EFAULT : b;
}

/**
 * move_addr_to_user: copy at most *ulen bytes and store the full length in *ulen (so the
 * caller can see the address was truncated).
 */
function moveAddrToUser(task: Task, kaddr: Uint8Array, uaddr: number, ulenp: number): number {
  const len = getUser32(task.mm, ulenp);
  if (len === null) return -E.EFAULT;
  const l = len | 0;
  if (l < 0) return -E.EINVAL;
  const n = Math.min(l, kaddr.length);
  if (n > 0 && copyToUser(task.mm, uaddr, kaddr.subarray(0, n)) < 0) return -E.EFAULT;
  return putUser32(task.mm, ulenp, kaddr.length) < 0 ? -E.EFAULT : 0;
}

/** Install a socket's file as a new fd (sock_map_fd). */
function sockMapFd(task: Task, sock: Socket, flags: number): number {
  const f = sockAllocFile(sock, flags);
  const fd = task.files.install(f, (flags & O_CLOEXEC) !== 0);
  if (fd < 0) f.put();
  return fd;
}

/** __sys_socket. */
export function sysSocket(task: Task, family: number, type: number, protocol: number): number {
  const t = type | 0;
  const flags = t & ~U.SOCK_TYPE_MASK;
  if (flags & ~(U.SOCK_CLOEXEC | U.SOCK_NONBLOCK)) return -E.EINVAL;
  const sock = sockCreate(task, family | 0, t & U.SOCK_TYPE_MASK, protocol | 0);
  if (typeof sock === 'number') return sock;
  return sockMapFd(task, sock, flags);
}

/** __sys_socketpair. */
export function sysSocketpair(task: Task, family: number, type: number, protocol: number, usv: number): number {
  const t = type | 0;
  const flags = t & ~U.SOCK_TYPE_MASK;
  if (flags & ~(U.SOCK_CLOEXEC | U.SOCK_NONBLOCK)) return -E.EINVAL;
  const a = sockCreate(task, family | 0, t & U.SOCK_TYPE_MASK, protocol | 0);
  if (typeof a === 'number') return a;
  const b = sockCreate(task, family | 0, t & U.SOCK_TYPE_MASK, protocol | 0);
  if (typeof b === 'number') {
    a.ops.release(a);
    return b;
  }
  const e = a.ops.socketpair(a, b, task);
  if (e < 0) {
    a.ops.release(a);
    b.ops.release(b);
    return e;
  }
  const fa = sockAllocFile(a, flags);
  const fb = sockAllocFile(b, flags);
  const cloexec = (flags & O_CLOEXEC) !== 0;
  const fd0 = task.files.install(fa, cloexec);
  if (fd0 < 0) {
    fa.put();
    fb.put();
    return fd0;
  }
  const fd1 = task.files.install(fb, cloexec);
  if (fd1 < 0) {
    task.files.close(fd0);
    fb.put();
    return fd1;
  }
  if (putUser32(task.mm, usv, fd0) < 0 || putUser32(task.mm, usv + 4, fd1) < 0) {
    task.files.close(fd0);
    task.files.close(fd1);
    return -E.EFAULT;
  }
  return 0;
}

/** __sys_bind. */
export function sysBind(task: Task, fd: number, uaddr: number, addrlen: number): number {
  const sock = sockfdLookup(task, fd);
  if (typeof sock === 'number') return sock;
  const a = moveAddrToKernel(task, uaddr, addrlen | 0);
  if (typeof a === 'number') return a;
  return sock.ops.bind(sock, task, a);
}

/** __sys_listen. */
export function sysListen(task: Task, fd: number, backlog: number): number {
  const sock = sockfdLookup(task, fd);
  if (typeof sock === 'number') return sock;
  return sock.ops.listen(sock, task, backlog | 0);
}

/** __sys_connect. */
export function sysConnect(task: Task, fd: number, uaddr: number, addrlen: number): number | Promise<number> {
  const sock = sockfdLookup(task, fd);
  if (typeof sock === 'number') return sock;
  const a = moveAddrToKernel(task, uaddr, addrlen | 0);
  if (typeof a === 'number') return a;
  return sock.ops.connect(sock, task, a, sock.file ? sock.file.flags & O_NONBLOCK : 0);
}

/** __sys_accept4: the new socket gets a file only once the connection is taken. */
export function sysAccept4(
  task: Task,
  fd: number,
  uaddr: number,
  ulen: number,
  flags: number,
): number | Promise<number> {
  const fl = flags | 0;
  if (fl & ~(U.SOCK_CLOEXEC | U.SOCK_NONBLOCK)) return -E.EINVAL;
  const sock = sockfdLookup(task, fd);
  if (typeof sock === 'number') return sock;
  const finish = (ns: Socket | number): number => {
    if (typeof ns === 'number') return ns;
    if (uaddr) {
      const name = ns.ops.getname(ns, true);
      if (typeof name === 'number') {
        ns.ops.release(ns);
        return -E.ECONNABORTED;
      }
      const e = moveAddrToUser(task, name, uaddr, ulen);
      if (e < 0) {
        // The connection is lost to the caller, as Linux drops it when the copy-out fails.
        ns.ops.release(ns);
        return e;
      }
    }
    // The accepted socket's inode belongs to the acceptor (sock_alloc runs in __sys_accept4).
    if (ns.inode) {
      ns.inode.uid = task.cred.fsuid;
      ns.inode.gid = task.cred.fsgid;
    }
    return sockMapFd(task, ns, fl);
  };
  const r = sock.ops.accept(sock, task, sock.file ? sock.file.flags & O_NONBLOCK : 0);
  return r instanceof Promise ? r.then(finish) : finish(r);
}

export function sysAccept(task: Task, fd: number, uaddr: number, ulen: number): number | Promise<number> {
  return sysAccept4(task, fd, uaddr, ulen, 0);
}

function getname(task: Task, fd: number, uaddr: number, ulen: number, peer: boolean): number {
  const sock = sockfdLookup(task, fd);
  if (typeof sock === 'number') return sock;
  const a = sock.ops.getname(sock, peer);
  if (typeof a === 'number') return a;
  return moveAddrToUser(task, a, uaddr, ulen);
}

export function sysGetsockname(task: Task, fd: number, uaddr: number, ulen: number): number {
  return getname(task, fd, uaddr, ulen, false);
}

export function sysGetpeername(task: Task, fd: number, uaddr: number, ulen: number): number {
  return getname(task, fd, uaddr, ulen, true);
}

/** sock_sendmsg with the file's O_NONBLOCK folded into MSG_DONTWAIT. */
function doSend(sock: Socket, task: Task, msg: SendMsg): number | Promise<number> {
  if (sock.file && sock.file.flags & O_NONBLOCK) msg.flags |= U.MSG_DONTWAIT;
  return sock.ops.sendmsg(sock, task, msg);
}

/**
 * import_ubuf for sendto/recvfrom: len is a size_t clamped to MAX_RW_COUNT; the buffer must lie
 * in user space (access_ok). The usable length, or -EFAULT.
 */
function importUbuf(buf: number, len: number): number {
  const n = Math.min(len < 0 ? MAX_RW_COUNT : len, MAX_RW_COUNT);
  return n > 0 && !accessOk(buf, n) ? -E.EFAULT : n;
}

/** __sys_sendto. */
export function sysSendto(
  task: Task,
  fd: number,
  buf: number,
  len: number,
  flags: number,
  uaddr: number,
  addrlen: number,
): number | Promise<number> {
  const sock = sockfdLookup(task, fd);
  if (typeof sock === 'number') return sock;
  const n = importUbuf(buf, len);
  if (n < 0) return n;
  let name: Uint8Array | null = null;
  if (uaddr) {
    const a = moveAddrToKernel(task, uaddr, addrlen | 0);
    if (typeof a === 'number') return a;
    name = a.length ? a : null;
  }
  const msg: SendMsg = { iter: IovIter.user(task.mm, buf, n), name, flags: flags | 0, scm: { fds: [], cred: null } };
  return doSend(sock, task, msg);
}

/** __sys_recvfrom. */
export function sysRecvfrom(
  task: Task,
  fd: number,
  buf: number,
  len: number,
  flags: number,
  uaddr: number,
  ulen: number,
): number | Promise<number> {
  const sock = sockfdLookup(task, fd);
  if (typeof sock === 'number') return sock;
  const n = importUbuf(buf, len);
  if (n < 0) return n;
  let fl = flags | 0;
  if (sock.file && sock.file.flags & O_NONBLOCK) fl |= U.MSG_DONTWAIT;
  const msg: RecvMsg = {
    iter: IovIter.user(task.mm, buf, n),
    flags: fl,
    wantName: uaddr !== 0,
    name: null,
    msgFlags: 0,
    scm: null,
  };
  const finish = (r: number): number => {
    scmDestroy(msg.scm);
    if (r >= 0 && uaddr) {
      const e = moveAddrToUser(task, msg.name ?? new Uint8Array(0), uaddr, ulen);
      if (e < 0) return e;
    }
    return r;
  };
  const r = sock.ops.recvmsg(sock, task, msg);
  return typeof r === 'number' ? finish(r) : r.then(finish);
}

// struct user_msghdr on 64-bit: name, namelen(+pad), iov, iovlen, control, controllen, flags.
const MH_NAME = 0;
const MH_NAMELEN = 8;
const MH_IOV = 16;
const MH_IOVLEN = 24;
const MH_CONTROL = 32;
const MH_CONTROLLEN = 40;
const MH_FLAGS = 48;
const MSGHDR_SIZE = 56;

interface UserMsghdr {
  name: number;
  namelen: number;
  iter: IovIter;
  control: number;
  controllen: number;
}

/** copy_msghdr_from_user + import_iovec. */
function copyMsghdrFromUser(task: Task, umsg: number): UserMsghdr | number {
  const raw = copyFromUser(task.mm, umsg, MSGHDR_SIZE);
  if (typeof raw === 'number') return -E.EFAULT;
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const big = (o: number): number => dv.getUint32(o, true) + dv.getInt32(o + 4, true) * 2 ** 32;
  const name = big(MH_NAME);
  let namelen = dv.getInt32(MH_NAMELEN, true);
  const iov = big(MH_IOV);
  const iovlen = big(MH_IOVLEN);
  const control = big(MH_CONTROL);
  const controllen = big(MH_CONTROLLEN);
  if (name === 0) namelen = 0;
  if (namelen < 0) return -E.EINVAL;
  if (namelen > U.SOCKADDR_STORAGE) namelen = U.SOCKADDR_STORAGE;
  if (iovlen < 0 || iovlen > U.UIO_MAXIOV) return -E.EMSGSIZE;
  const iter = importIovec(task, iov, iovlen);
  if (typeof iter === 'number') return iter;
  return { name, namelen, iter, control, controllen };
}

/** ____sys_sendmsg on a socket already looked up; `left` reports bytes not sent (for sendmmsg). */
function sendmsgSock(
  task: Task,
  sock: Socket,
  umsg: number,
  flags: number,
  left?: { n: number },
): number | Promise<number> {
  const m = copyMsghdrFromUser(task, umsg);
  if (typeof m === 'number') return m;
  let name: Uint8Array | null = null;
  if (m.namelen > 0) {
    const a = moveAddrToKernel(task, m.name, m.namelen);
    if (typeof a === 'number') return a;
    name = a;
  }
  if (m.controllen > 0x7fffffff) return -E.ENOBUFS;
  const scm: ScmCookie = { fds: [], cred: null };
  let control: Uint8Array | undefined;
  if (m.controllen > 0) {
    const ctl = copyFromUser(task.mm, m.control, m.controllen);
    if (typeof ctl === 'number') return -E.EFAULT;
    const e = scmSend(task, ctl, scm);
    if (e < 0) return e;
    // The family sees the whole control buffer too (udp_sendmsg's ip_cmsg_send walks msg_control).
    control = ctl;
  }
  const msg: SendMsg = { iter: m.iter, name, flags: flags | 0, scm, control };
  const r = doSend(sock, task, msg);
  if (!left) return r;
  const note = (n: number): number => {
    left.n = msg.iter.count;
    return n;
  };
  return typeof r === 'number' ? note(r) : r.then(note);
}

/** ____sys_sendmsg. */
export function sysSendmsg(task: Task, fd: number, umsg: number, flags: number): number | Promise<number> {
  const sock = sockfdLookup(task, fd);
  if (typeof sock === 'number') return sock;
  return sendmsgSock(task, sock, umsg, flags);
}

// struct mmsghdr: a user_msghdr and the unsigned int msg_len the call fills in (64 bytes with padding).
const MMSGHDR_SIZE = 64;
const MMSG_LEN = 56;

/**
 * __sys_sendmmsg: one sendmsg per entry, msg_len filled in, stopping at the first error or
 * short send; the count sent, or the error when nothing was.
 */
export function sysSendmmsg(
  task: Task,
  fd: number,
  umsg: number,
  vlen: number,
  flags: number,
): number | Promise<number> {
  const sock = sockfdLookup(task, fd);
  if (typeof sock === 'number') return sock;
  const n = Math.min(vlen >>> 0, U.UIO_MAXIOV);
  let datagrams = 0;
  const left = { n: 0 };
  const after = (r: number): number | null => {
    if (r < 0) return datagrams > 0 ? datagrams : r;
    if (putUser32(task.mm, umsg + datagrams * MMSGHDR_SIZE + MMSG_LEN, r) < 0)
      return datagrams > 0 ? datagrams : -E.EFAULT;
    datagrams++;
    if (left.n > 0 || datagrams >= n) return datagrams;
    return null;
  };
  const loop = (): number | Promise<number> => {
    while (datagrams < n) {
      const r = sendmsgSock(task, sock, umsg + datagrams * MMSGHDR_SIZE, flags, left);
      if (typeof r !== 'number') return r.then((v) => after(v) ?? loop());
      const done = after(r);
      if (done !== null) return done;
    }
    return datagrams;
  };
  return loop();
}

/** ____sys_recvmsg on a socket already looked up: data, then msg_name/namelen, the control messages, msg_controllen and msg_flags. */
function recvmsgSock(task: Task, sock: Socket, umsg: number, flags: number): number | Promise<number> {
  const m = copyMsghdrFromUser(task, umsg);
  if (typeof m === 'number') return m;
  let fl = flags | 0;
  if (sock.file && sock.file.flags & O_NONBLOCK) fl |= U.MSG_DONTWAIT;
  const msg: RecvMsg = { iter: m.iter, flags: fl, wantName: m.name !== 0, name: null, msgFlags: 0, scm: null };
  const finish = (r: number): number => {
    if (r < 0) {
      scmDestroy(msg.scm);
      return r;
    }
    // msg_flags starts as the caller's MSG_CMSG_CLOEXEC (____sys_recvmsg keeps it there).
    const out: CmsgOut = { task, ptr: m.control, len: m.controllen, flags: msg.msgFlags | (fl & U.MSG_CMSG_CLOEXEC) };
    // What the protocol put_cmsg'd while receiving (ip_cmsg_recv, sock_recv_timestamp,
    // ip_recv_error), in its order. Those callers ignore put_cmsg's -EFAULT, so do we.
    for (const c of msg.cmsgs ?? []) putCmsg(out, c.level, c.type, c.data);
    const e = scmRecv(out, msg.scm, sock.passcred, fl);
    if (e < 0) return e;
    if (m.name) {
      const ne = moveAddrToUser(task, msg.name ?? new Uint8Array(0), m.name, umsg + MH_NAMELEN);
      if (ne < 0) return ne;
    }
    if (putUser32(task.mm, umsg + MH_FLAGS, out.flags) < 0) return -E.EFAULT;
    if (putUser64(task.mm, umsg + MH_CONTROLLEN, out.ptr - m.control) < 0) return -E.EFAULT;
    return r;
  };
  const r = sock.ops.recvmsg(sock, task, msg);
  return typeof r === 'number' ? finish(r) : r.then(finish);
}

/** ____sys_recvmsg. */
export function sysRecvmsg(task: Task, fd: number, umsg: number, flags: number): number | Promise<number> {
  const sock = sockfdLookup(task, fd);
  if (typeof sock === 'number') return sock;
  return recvmsgSock(task, sock, umsg, flags);
}

/** MSG_WAITFORONE: block for the first message of a recvmmsg only. */
const MSG_WAITFORONE = 0x10000;

/**
 * __sys_recvmmsg / do_recvmmsg: receive up to vlen messages. The timeout is checked only
 * between messages (as Linux does) and the time left is written back. An error after some
 * messages is kept as the socket's pending error (sk_err) unless it is EAGAIN.
 */
export function sysRecvmmsg(
  task: Task,
  fd: number,
  umsg: number,
  vlen: number,
  flags: number,
  utimeout: number,
): number | Promise<number> {
  let fl = flags | 0;
  let endNs = 0;
  if (utimeout) {
    const t = copyFromUser(task.mm, utimeout, 16);
    if (typeof t === 'number') return -E.EFAULT;
    const tv = new DataView(t.buffer, t.byteOffset, 16);
    const sec = tv.getUint32(0, true) + tv.getInt32(4, true) * 2 ** 32;
    const nsec = tv.getUint32(8, true) + tv.getInt32(12, true) * 2 ** 32;
    if (sec < 0 || nsec < 0 || nsec >= 1e9) return -E.EINVAL;
    endNs = task.kernel.clock.monotonicNs() + sec * 1e9 + nsec;
  }
  const sock = sockfdLookup(task, fd);
  if (typeof sock === 'number') return sock;
  if (sock.err) {
    const e = sock.err;
    sock.err = 0;
    return -e;
  }
  const n = Math.min(vlen >>> 0, U.UIO_MAXIOV);
  let datagrams = 0;
  let leftNs = 0;
  const end = (err: number): number => {
    let res: number;
    if (err === 0 || datagrams > 0) {
      if (err < 0 && err !== -E.EAGAIN) sock.err = -err;
      res = datagrams > 0 ? datagrams : err;
    } else res = err;
    if (utimeout && res > 0) {
      const b = new Uint8Array(16);
      const dv = new DataView(b.buffer);
      dv.setUint32(0, Math.floor(leftNs / 1e9) >>> 0, true);
      dv.setUint32(8, leftNs % 1e9, true);
      if (copyToUser(task.mm, utimeout, b) < 0) return -E.EFAULT;
    }
    return res;
  };
  const after = (r: number): number | null => {
    if (r < 0) return end(r);
    if (putUser32(task.mm, umsg + datagrams * MMSGHDR_SIZE + MMSG_LEN, r) < 0) return end(-E.EFAULT);
    datagrams++;
    if (fl & MSG_WAITFORONE) fl |= U.MSG_DONTWAIT;
    if (utimeout) {
      leftNs = Math.max(0, endNs - task.kernel.clock.monotonicNs());
      if (leftNs === 0) return end(0);
    }
    if (datagrams >= n) return end(0);
    return null;
  };
  const loop = (): number | Promise<number> => {
    while (datagrams < n) {
      const r = recvmsgSock(task, sock, umsg + datagrams * MMSGHDR_SIZE, fl & ~MSG_WAITFORONE);
      if (typeof r !== 'number') return r.then((v) => after(v) ?? loop());
      const done = after(r);
      if (done !== null) return done;
    }
    return end(0);
  };
  return loop();
}

/** __sys_shutdown. */
export function sysShutdown(task: Task, fd: number, how: number): number {
  const sock = sockfdLookup(task, fd);
  if (typeof sock === 'number') return sock;
  return sock.ops.shutdown(sock, how | 0);
}

// ---------------------------------------------------------------------------------------
// SOL_SOCKET options (sk_setsockopt / sk_getsockopt).

/** Options that are only stored and read back as booleans. */
const BOOL_OPTS = new Set([
  U.SO_REUSEADDR,
  U.SO_REUSEPORT,
  U.SO_KEEPALIVE,
  U.SO_BROADCAST,
  U.SO_DONTROUTE,
  U.SO_OOBINLINE,
]);

/** sock_set_timeout: a struct __kernel_old_timeval (16 bytes on 64-bit). */
function setTimeout_(sock: Socket, val: Uint8Array, send: boolean): number {
  if (val.length < 16) return -E.EINVAL;
  const dv = new DataView(val.buffer, val.byteOffset, val.byteLength);
  const sec = dv.getUint32(0, true) + dv.getInt32(4, true) * 2 ** 32;
  const usec = dv.getUint32(8, true) + dv.getInt32(12, true) * 2 ** 32;
  if (usec < 0 || usec >= 1000000) return -E.EDOM;
  let ns = 0;
  let noWait = false;
  if (sec < 0) noWait = true;
  else if (sec !== 0 || usec !== 0) ns = sec * 1e9 + usec * 1e3;
  if (send) {
    sock.sndtimeoNs = ns;
    sock.sndNoWait = noWait;
  } else {
    sock.rcvtimeoNs = ns;
    sock.rcvNoWait = noWait;
  }
  return 0;
}

/**
 * sock_set_timestamp: SO_TIMESTAMP{,NS}_{OLD,NEW}. On, it sets SOCK_RCVTSTAMP (and
 * SOCK_RCVTSTAMPNS for the NS forms, cleared for the others) and SOCK_TSTAMP_NEW for the NEW
 * forms; off clears both receive flags.
 */
function sockSetTimestamp(sock: Socket, name: number, on: boolean): void {
  if (on) {
    sock.tstampNew = name === SO_TIMESTAMP_NEW || name === SO_TIMESTAMPNS_NEW;
    sock.rcvTstampNs = name === SO_TIMESTAMPNS_OLD || name === SO_TIMESTAMPNS_NEW;
    sock.rcvTstamp = true;
  } else {
    sock.rcvTstamp = false;
    sock.rcvTstampNs = false;
  }
}

function sockSetsockopt(sock: Socket, task: Task, name: number, val: Uint8Array): number {
  if (name === U.SO_RCVTIMEO || name === U.SO_SNDTIMEO || name === U.SO_RCVTIMEO_NEW || name === U.SO_SNDTIMEO_NEW)
    return setTimeout_(sock, val, name === U.SO_SNDTIMEO || name === U.SO_SNDTIMEO_NEW);
  if (name === U.SO_LINGER) {
    if (val.length < 8) return -E.EINVAL;
    const dv = new DataView(val.buffer, val.byteOffset, 8);
    sock.linger = { onoff: dv.getInt32(0, true), linger: dv.getInt32(4, true) };
    return 0;
  }
  if (val.length < 4) return -E.EINVAL;
  const v = new DataView(val.buffer, val.byteOffset, 4).getInt32(0, true);
  const admin = task.cred.euid === 0;
  switch (name) {
    case U.SO_SNDBUF:
    case U.SO_SNDBUFFORCE: {
      if (name === U.SO_SNDBUFFORCE && !admin) return -E.EPERM;
      const x = name === U.SO_SNDBUF ? Math.min(v >>> 0, U.SYSCTL_WMEM_MAX) : v >>> 0;
      sock.sndbuf = Math.max(Math.min(x * 2, 0x7fffffff), U.SOCK_MIN_SNDBUF);
      sock.wake();
      return 0;
    }
    case U.SO_RCVBUF:
    case U.SO_RCVBUFFORCE: {
      if (name === U.SO_RCVBUFFORCE && !admin) return -E.EPERM;
      const x = name === U.SO_RCVBUF ? Math.min(v >>> 0, U.SYSCTL_RMEM_MAX) : v >>> 0;
      sock.rcvbuf = Math.max(Math.min(x * 2, 0x7fffffff), U.SOCK_MIN_RCVBUF);
      return 0;
    }
    case U.SO_PASSCRED:
      sock.passcred = v !== 0;
      return 0;
    case U.SO_RCVLOWAT:
      sock.rcvlowat = v < 0 ? 0x7fffffff : v || 1;
      return 0;
    case U.SO_PRIORITY:
      if ((v < 0 || v > 6) && !admin) return -E.EPERM;
      sock.intOpts.set(name, v);
      return 0;
    case U.SO_DEBUG:
      if (v && !admin) return -E.EACCES;
      sock.intOpts.set(name, v ? 1 : 0);
      return 0;
    case U.SO_SNDLOWAT:
      return -E.ENOPROTOOPT;
    case SO_TIMESTAMP_OLD:
    case SO_TIMESTAMPNS_OLD:
    case SO_TIMESTAMP_NEW:
    case SO_TIMESTAMPNS_NEW:
      sockSetTimestamp(sock, name, v !== 0);
      return 0;
    case U.SO_TYPE:
    case U.SO_ERROR:
    case U.SO_PEERCRED:
    case U.SO_ACCEPTCONN:
    case U.SO_PROTOCOL:
    case U.SO_DOMAIN:
      return -E.ENOPROTOOPT;
    default:
      if (BOOL_OPTS.has(name)) {
        sock.intOpts.set(name, v ? 1 : 0);
        return 0;
      }
      return -E.ENOPROTOOPT;
  }
}

/** __sys_setsockopt. */
export function sysSetsockopt(
  task: Task,
  fd: number,
  level: number,
  name: number,
  uval: number,
  optlen: number,
): number {
  const sock = sockfdLookup(task, fd);
  if (typeof sock === 'number') return sock;
  const len = optlen | 0;
  if (len < 0) return -E.EINVAL;
  const val = copyFromUser(task.mm, uval, Math.min(len, 4096));
  if ((level | 0) === U.SOL_SOCKET) {
    // The size checks come before the copy in sk_setsockopt (too short is -EINVAL, not -EFAULT).
    const n = name | 0;
    // SO_BINDTODEVICE takes a name of any length up to IFNAMSIZ (0 unbinds): no size check.
    if (n === SO_BINDTODEVICE) {
      if (typeof val === 'number') return -E.EFAULT;
      return sockSetBindToDevice(sock, task, val.subarray(0, Math.min(len, 15)));
    }
    const need = n === U.SO_RCVTIMEO || n === U.SO_SNDTIMEO ? 16 : n === U.SO_LINGER ? 8 : 4;
    if (len < need) return -E.EINVAL;
    if (typeof val === 'number') return -E.EFAULT;
    // SO_ATTACH_FILTER / SO_DETACH_FILTER / SO_LOCK_FILTER (sk_attach_filter and friends).
    const f = skFilterSetsockopt(sock, task, n, val);
    if (f !== null) return f;
    const r = sockSetsockopt(sock, task, n, val);
    if (r === 0) sock.ops.solSocketChanged?.(sock, n);
    return r;
  }
  if (!sock.ops.setsockopt) return -E.EOPNOTSUPP;
  if (typeof val === 'number') return -E.EFAULT;
  return sock.ops.setsockopt(sock, task, level | 0, name | 0, val);
}

function intBytes(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setInt32(0, v, true);
  return b;
}

function sockGetsockopt(sock: Socket, name: number): Uint8Array | number {
  switch (name) {
    case U.SO_TYPE:
      return intBytes(sock.type);
    case U.SO_PROTOCOL:
      return intBytes(sock.protocol);
    case U.SO_DOMAIN:
      return intBytes(sock.family);
    case U.SO_ERROR: {
      const e = sock.err;
      sock.err = 0;
      return intBytes(e);
    }
    case U.SO_SNDBUF:
      return intBytes(sock.sndbuf);
    case U.SO_RCVBUF:
      return intBytes(sock.rcvbuf);
    case U.SO_PASSCRED:
      return intBytes(sock.passcred ? 1 : 0);
    case U.SO_ACCEPTCONN:
      return intBytes(isListening(sock) ? 1 : 0);
    case U.SO_RCVLOWAT:
      return intBytes(sock.rcvlowat);
    case U.SO_SNDLOWAT:
      return intBytes(1);
    case U.SO_PRIORITY:
    case U.SO_DEBUG:
      return intBytes(sock.intOpts.get(name) ?? 0);
    // sk_getsockopt: each form reads as set only when it is the one in effect.
    case SO_TIMESTAMP_OLD:
      return intBytes(sock.rcvTstamp && !sock.tstampNew && !sock.rcvTstampNs ? 1 : 0);
    case SO_TIMESTAMPNS_OLD:
      return intBytes(sock.rcvTstampNs && !sock.tstampNew ? 1 : 0);
    case SO_TIMESTAMP_NEW:
      return intBytes(sock.rcvTstamp && sock.tstampNew && !sock.rcvTstampNs ? 1 : 0);
    case SO_TIMESTAMPNS_NEW:
      return intBytes(sock.rcvTstampNs && sock.tstampNew ? 1 : 0);
    case U.SO_LINGER: {
      const b = new Uint8Array(8);
      const dv = new DataView(b.buffer);
      dv.setInt32(0, sock.linger.onoff, true);
      dv.setInt32(4, sock.linger.linger, true);
      return b;
    }
    case U.SO_RCVTIMEO:
    case U.SO_SNDTIMEO: {
      const send = name === U.SO_SNDTIMEO;
      const ns = send ? sock.sndtimeoNs : sock.rcvtimeoNs;
      const b = new Uint8Array(16);
      const dv = new DataView(b.buffer);
      const us = Math.round(ns / 1e3);
      dv.setUint32(0, Math.floor(us / 1e6) >>> 0, true);
      dv.setUint32(8, us % 1e6, true);
      return b;
    }
    case U.SO_PEERCRED: {
      const b = new Uint8Array(12);
      const dv = new DataView(b.buffer);
      const c = sock.peerCred;
      dv.setInt32(0, c ? c.pid : 0, true);
      dv.setInt32(4, c ? c.uid : -1, true);
      dv.setInt32(8, c ? c.gid : -1, true);
      return b;
    }
    default:
      if (BOOL_OPTS.has(name)) return intBytes(sock.intOpts.get(name) ?? 0);
      return -E.ENOPROTOOPT;
  }
}

/** A listening socket is what SO_ACCEPTCONN reports (sk_state == TCP_LISTEN). */
function isListening(sock: Socket): boolean {
  const sk = sock.sk as { skState?: number } | null;
  return sk?.skState === U.TCP_LISTEN;
}

/** __sys_getsockopt: the value, truncated to *optlen, and the length actually written. */
export function sysGetsockopt(task: Task, fd: number, level: number, name: number, uval: number, ulen: number): number {
  const sock = sockfdLookup(task, fd);
  if (typeof sock === 'number') return sock;
  const len = getUser32(task.mm, ulen);
  if (len === null) return -E.EFAULT;
  const l = len | 0;
  if (l < 0) return -E.EINVAL;
  let v: Uint8Array | number;
  if ((level | 0) === U.SOL_SOCKET) {
    if ((name | 0) === SO_BINDTODEVICE) v = sockGetBindToDevice(sock, task, l);
    else v = skFilterGetsockopt(sock, name | 0) ?? sockGetsockopt(sock, name | 0);
  } else if (!sock.ops.getsockopt) return -E.EOPNOTSUPP;
  else v = sock.ops.getsockopt(sock, task, level | 0, name | 0, l);
  if (typeof v === 'number') return v;
  // Timeouts are not truncated: a short buffer is -EINVAL (sock_get_timeout's size check).
  if ((name === U.SO_RCVTIMEO || name === U.SO_SNDTIMEO) && l < 16 && (level | 0) === U.SOL_SOCKET) return -E.EINVAL;
  const n = Math.min(l, v.length);
  if (n > 0 && copyToUser(task.mm, uval, v.subarray(0, n)) < 0) return -E.EFAULT;
  return putUser32(task.mm, ulen, n) < 0 ? -E.EFAULT : 0;
}

/** Used by the procfs and by tests: the socket behind a file, or null. */
export function socketOfFile(f: File): Socket | null {
  return sockFromFile(f);
}

/** The socket part of sys_call_table (net/socket.c). Merged by kernel/syscall/table.ts. */
export const netSyscalls: SyscallTable = {
  [N.SYS_socket]: sysSocket,
  [N.SYS_socketpair]: sysSocketpair,
  [N.SYS_bind]: sysBind,
  [N.SYS_listen]: sysListen,
  [N.SYS_accept]: sysAccept,
  [N.SYS_accept4]: sysAccept4,
  [N.SYS_connect]: sysConnect,
  [N.SYS_getsockname]: sysGetsockname,
  [N.SYS_getpeername]: sysGetpeername,
  [N.SYS_sendto]: sysSendto,
  [N.SYS_recvfrom]: sysRecvfrom,
  [N.SYS_setsockopt]: sysSetsockopt,
  [N.SYS_getsockopt]: sysGetsockopt,
  [N.SYS_shutdown]: sysShutdown,
  [N.SYS_sendmsg]: sysSendmsg,
  [N.SYS_recvmsg]: sysRecvmsg,
  [N.SYS_sendmmsg]: sysSendmmsg,
  [N.SYS_recvmmsg]: sysRecvmmsg,
};
