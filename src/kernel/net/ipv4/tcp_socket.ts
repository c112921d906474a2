/**
 * The SOCK_STREAM proto_ops of AF_INET (inet_stream_ops in net/ipv4/af_inet.c with tcp_prot's
 * sendmsg/recvmsg/poll/ioctl/setsockopt from net/ipv4/tcp.c), built on the kernel API of
 * tcp.ts: blocking and non-blocking connect/accept/send/recv through sockWait with
 * SO_RCVTIMEO/SO_SNDTIMEO, tcp_poll's mask, SIOCINQ/SIOCOUTQ, and the IPPROTO_TCP and basic
 * IPPROTO_IP options. af_inet.ts calls tcpCreateSocket for SOCK_STREAM.
 */
import * as E from '../../errno.js';
import type { Task } from '../../sched/task.js';
import { sendSignal } from '../../signal/signal.js';
import { SIGPIPE } from '../../signal/signum.js';
import { putUser32 } from '../../mm/uaccess.js';
import { POLLERR, POLLHUP, POLLIN, POLLOUT, POLLRDHUP, POLLRDNORM, POLLWRNORM } from '../../fs/select.js';
import {
  sockAlloc,
  sockDeadline,
  sockNoWait,
  sockWait,
  type ProtoOps,
  type RecvMsg,
  type SendMsg,
  type Socket,
} from '../socket.js';
import {
  AF_INET,
  AF_UNSPEC,
  MSG_NOSIGNAL,
  MSG_OOB,
  MSG_PEEK,
  MSG_WAITALL,
  RCV_SHUTDOWN,
  SEND_SHUTDOWN,
  SHUTDOWN_MASK,
  SIOCINQ,
  SIOCOUTQ,
  SO_KEEPALIVE,
  SO_LINGER,
  SO_RCVBUF,
  SO_RCVBUFFORCE,
  SO_REUSEADDR,
  SO_SNDBUF,
  SO_SNDBUFFORCE,
  SS_CONNECTED,
  SS_CONNECTING,
  SS_DISCONNECTING,
  SS_UNCONNECTED,
} from '../uapi.js';
import { makeSockaddrIn, parseSockaddrIn, SOCKADDR_IN_LEN } from './inet_addr.js';
import {
  tcpBind,
  tcpClose,
  tcpConnect,
  tcpDisconnect,
  tcpInq,
  tcpListen,
  tcpAcceptNext,
  tcpOutq,
  tcpReadEmpty,
  tcpRecvCopy,
  tcpSendCheck,
  tcpSetKeepalive,
  tcpShutdown,
  tcpStartKeepalive,
  tcpStreamClosing,
  tcpWspace,
} from './tcp.js';
import { tcpCaFind } from './tcp_cong.js';
import { tcpLocked } from './tcp_lock.js';
import { tcpCleanupRbuf, tcpWritable } from './tcp_input.js';
import { sndQueueAppend, tcpPush, tcpSendAck, tcpWriteXmit } from './tcp_output.js';
import {
  IPPROTO_TCP,
  TCP_CLOSE,
  TCP_CLOSE_WAIT,
  TCP_CONGESTION,
  TCP_CORK,
  TCP_DEFER_ACCEPT,
  TCP_ESTABLISHED,
  TCP_INFO,
  TCP_KEEPCNT,
  TCP_KEEPIDLE,
  TCP_KEEPINTVL,
  TCP_LINGER2,
  TCP_LISTEN,
  TCP_MAX_KEEPCNT,
  TCP_MAX_KEEPIDLE,
  TCP_MAX_KEEPINTVL,
  TCP_MAX_QUICKACKS,
  TCP_MAXSEG,
  TCP_MIN_MSS,
  TCP_MSS_DEFAULT,
  TCP_NODELAY,
  TCP_QUICKACK,
  TCP_SYN_RECV,
  TCP_SYN_SENT,
  TCP_SYNCNT,
  TCP_USER_TIMEOUT,
  TCP_WINDOW_CLAMP,
  TcpSock,
} from './tcp_sock.js';

const O_NONBLOCK = 0o4000;
const IPPROTO_IP = 0;
const IP_TOS = 1;
const IP_TTL = 2;
/** MSG_MORE (include/linux/socket.h). */
const MSG_MORE = 0x8000;
/** MAX_TCP_WINDOW: the largest TCP_MAXSEG accepted. */
const MAX_TCP_WINDOW = 32767;
/** ip_unprivileged_port_start. */
const PROT_SOCK = 1024;
const TCP_CA_NAME_MAX = 16;
const TCPI_OPT_WSCALE = 4;
/** sizeof(struct tcp_info) as of Linux 6.x. */
export const TCP_INFO_LEN = 248;

function tsk(sock: Socket): TcpSock {
  return sock.sk as TcpSock;
}

/** sock_graft + the callbacks: every TCP event wakes the socket's wait queue (poll, epoll, sleepers). */
function attach(sock: Socket, sk: TcpSock, task: Task): void {
  sk.sock = sock;
  sock.sk = sk;
  sock.ops = tcpOps;
  sk.uid = task.cred.euid;
  const wake = (): void => sock.wake();
  sk.onData = wake;
  sk.onWriteSpace = wake;
  sk.onStateChange = wake;
  sk.onError = wake;
}

/** inet_create for SOCK_STREAM + tcp_v4_init_sock: buffers from tcp_rmem[1]/tcp_wmem[1]. */
export function tcpCreateSocket(task: Task, sock: Socket, protocol: number): number {
  if (protocol !== 0 && protocol !== IPPROTO_TCP) return -E.EPROTONOSUPPORT;
  const ns = task.kernel.net;
  if (!ns) return -E.EAFNOSUPPORT;
  const sk = new TcpSock(ns);
  attach(sock, sk, task);
  sock.rcvbuf = sk.rcvbuf;
  sock.sndbuf = sk.sndbuf;
  return 0;
}

function tcpRelease(sock: Socket): void {
  const sk = tsk(sock);
  if (!sk) return;
  sk.linger = { ...sock.linger };
  tcpClose(sk);
}

/**
 * The sleeping half of tcp_close: with SO_LINGER {1, N>0}, close(2) waits in sk_stream_wait_close
 * until the FIN is acknowledged (no longer FIN_WAIT1/CLOSING/LAST_ACK), N seconds pass, or a
 * signal arrives. Either way close(2) returns 0 and the connection goes on closing as an orphan
 * (Linux does not reset it on timeout). tcpClose already sent the FIN (and handled unread data
 * and linger 0 with a reset, leaving nothing to wait for), so this only waits. Linux's
 * tcp_shutdown never lingers, whatever socket(7) says; neither does tcpSockShutdown.
 */
function tcpCloseWait(sock: Socket, task: Task): Promise<void> | null {
  const sk = tsk(sock);
  if (!sk || !sock.linger.onoff || sock.linger.linger <= 0) return null;
  if (!tcpStreamClosing(sk)) return null;
  // sk_lingertime = linger * HZ (seconds).
  const deadline = task.kernel.clock.monotonicNs() + sock.linger.linger * 1e9;
  return (async () => {
    sk.onLingerWake = (): void => sock.wake();
    try {
      while (tcpStreamClosing(sk)) {
        // 0 = woken (check the state again); -EAGAIN = the linger time ran out; -EINTR = a signal.
        if ((await sockWait(task, sock, deadline)) !== 0) break;
      }
    } finally {
      sk.onLingerWake = null;
    }
  })();
}

/** inet_bind. */
function tcpSockBind(sock: Socket, task: Task, addr: Uint8Array): number {
  const sk = tsk(sock);
  if (addr.length < SOCKADDR_IN_LEN) return -E.EINVAL;
  const a = parseSockaddrIn(addr)!;
  if (a.family !== AF_INET) {
    // BSD compatibility: AF_UNSPEC with INADDR_ANY is accepted (inet_bind_sk).
    if (a.family !== AF_UNSPEC || a.addr !== 0) return -E.EAFNOSUPPORT;
  }
  if (a.port && a.port < PROT_SOCK && task.cred.euid !== 0) return -E.EACCES;
  sk.reuse = (sock.intOpts.get(SO_REUSEADDR) ?? 0) !== 0;
  return tcpBind(sk, a.addr, a.port, sk.reuse);
}

/** inet_listen. */
function tcpSockListen(sock: Socket, _task: Task, backlog: number): number {
  const sk = tsk(sock);
  if (sock.state !== SS_UNCONNECTED) return -E.EINVAL;
  if (sk.skState !== TCP_CLOSE && sk.skState !== TCP_LISTEN) return -E.EINVAL;
  const e = tcpListen(sk, backlog | 0);
  if (e === 0) sock.wake();
  return e;
}

/** The connection attempt ended in CLOSE: report and reset (__inet_stream_connect's sock_error:). */
function connectError(sock: Socket, sk: TcpSock): number {
  const err = sk.err;
  sk.err = 0;
  sock.state = SS_UNCONNECTED;
  tcpDisconnect(sk);
  return err ? -err : -E.ECONNABORTED;
}

/** __inet_stream_connect. */
function tcpSockConnect(sock: Socket, task: Task, addr: Uint8Array, flags: number): number | Promise<number> {
  const sk = tsk(sock);
  if (addr.length < 2) return -E.EINVAL;
  const family = addr[0]! | (addr[1]! << 8);
  if (family === AF_UNSPEC) {
    tcpDisconnect(sk);
    sock.state = SS_UNCONNECTED;
    return 0;
  }
  let err: number;
  switch (sock.state) {
    case SS_CONNECTED:
      return -E.EISCONN;
    case SS_CONNECTING:
      err = -E.EALREADY;
      break;
    case SS_UNCONNECTED: {
      if (addr.length < SOCKADDR_IN_LEN) return -E.EINVAL;
      const a = parseSockaddrIn(addr)!;
      if (a.family !== AF_INET) return -E.EAFNOSUPPORT;
      if (sk.skState !== TCP_CLOSE) return -E.EISCONN;
      const e = tcpConnect(sk, a.addr, a.port);
      if (e < 0) return e;
      sock.state = SS_CONNECTING;
      err = -E.EINPROGRESS;
      break;
    }
    default:
      return -E.EINVAL;
  }
  const connecting = (): boolean => sk.skState === TCP_SYN_SENT || sk.skState === TCP_SYN_RECV;
  const finish = (): number => {
    if (sk.skState === TCP_CLOSE) return connectError(sock, sk);
    sock.state = SS_CONNECTED;
    return 0;
  };
  if (flags & O_NONBLOCK || sock.sndNoWait) {
    // Linux holds the socket lock across tcp_v4_connect, so even a handshake that loopback
    // completes at once is reported as EINPROGRESS; the next connect() then says 0.
    if (err === -E.EINPROGRESS || connecting()) return err;
    return finish();
  }
  if (!connecting()) return finish();
  const deadline = sockDeadline(task, sock, true);
  return (async () => {
    while (connecting()) {
      const e = await sockWait(task, sock, deadline);
      if (e === -E.EAGAIN) return -E.EINPROGRESS;
      if (e < 0) return e;
    }
    return finish();
  })();
}

/** inet_accept: the child gets a socket of its own (sock_graft), with the listener's SOL_SOCKET settings. */
function tcpSockAccept(sock: Socket, task: Task, flags: number): Socket | number | Promise<Socket | number> {
  const sk = tsk(sock);
  if (sk.skState !== TCP_LISTEN) return -E.EINVAL;
  const take = (): Socket | null => {
    const c = tcpAcceptNext(sk);
    if (!c) return null;
    const ns = sockAlloc(task, AF_INET, sock.type, sock.protocol);
    const err = c.err;
    attach(ns, c, task);
    ns.err = err;
    ns.state = SS_CONNECTED;
    ns.rcvbuf = c.rcvbuf;
    ns.sndbuf = c.sndbuf;
    ns.linger = { ...sock.linger };
    ns.rcvtimeoNs = sock.rcvtimeoNs;
    ns.sndtimeoNs = sock.sndtimeoNs;
    ns.rcvNoWait = sock.rcvNoWait;
    ns.sndNoWait = sock.sndNoWait;
    ns.rcvlowat = sock.rcvlowat;
    for (const [k, v] of sock.intOpts) ns.intOpts.set(k, v);
    return ns;
  };
  const s = take();
  if (s) return s;
  if (flags & O_NONBLOCK || sock.rcvNoWait) return -E.EAGAIN;
  const deadline = sockDeadline(task, sock, false);
  return (async () => {
    for (;;) {
      const e = await sockWait(task, sock, deadline);
      if (e < 0) return e;
      if (sk.skState !== TCP_LISTEN) return -E.EINVAL;
      const s2 = take();
      if (s2) return s2;
    }
  })();
}

/** inet_getname. */
function tcpSockGetname(sock: Socket, peer: boolean): Uint8Array | number {
  const sk = tsk(sock);
  if (peer) {
    if (!sk.rport || sk.skState === TCP_CLOSE || sk.skState === TCP_SYN_SENT || sk.skState === TCP_LISTEN)
      return -E.ENOTCONN;
    return makeSockaddrIn(sk.raddr, sk.rport);
  }
  return makeSockaddrIn(sk.laddr, sk.lport);
}

/** tcp_poll. */
function tcpSockPoll(sock: Socket): number {
  const sk = tsk(sock);
  const state = sk.skState;
  if (state === TCP_LISTEN) return sk.acceptQueue.length > 0 ? POLLIN | POLLRDNORM : 0;
  let mask = 0;
  const shutdown = sk.shutdown;
  if (shutdown === SHUTDOWN_MASK || state === TCP_CLOSE) mask |= POLLHUP;
  if (shutdown & RCV_SHUTDOWN) mask |= POLLIN | POLLRDNORM | POLLRDHUP;
  if (state !== TCP_SYN_SENT && state !== TCP_SYN_RECV) {
    const target = Math.max(1, sock.rcvlowat);
    if (sk.rcvQueued >= target || (sk.rcvQueued > 0 && sk.done)) mask |= POLLIN | POLLRDNORM;
    if (!(shutdown & SEND_SHUTDOWN)) {
      if (tcpWritable(sk)) mask |= POLLOUT | POLLWRNORM;
    } else mask |= POLLOUT | POLLWRNORM;
  }
  if (sk.err) mask |= POLLERR;
  return mask;
}

/** tcp_ioctl: SIOCINQ / SIOCOUTQ (and SIOCOUTQNSPACE). */
function tcpSockIoctl(sock: Socket, task: Task, cmd: number, arg: number): number {
  const sk = tsk(sock);
  let v: number;
  switch (cmd) {
    case SIOCINQ:
      if (sk.skState === TCP_LISTEN) return -E.EINVAL;
      v = sk.skState === TCP_SYN_SENT || sk.skState === TCP_SYN_RECV ? 0 : tcpInq(sk);
      break;
    case SIOCOUTQ:
      if (sk.skState === TCP_LISTEN) return -E.EINVAL;
      v = sk.skState === TCP_SYN_SENT || sk.skState === TCP_SYN_RECV ? 0 : tcpOutq(sk);
      break;
    case 0x894b: // SIOCOUTQNSPACE: written but not yet sent
      if (sk.skState === TCP_LISTEN) return -E.EINVAL;
      v = Math.max(0, (sk.writeSeq - sk.sndNxt) | 0);
      break;
    default:
      return -E.ENOTTY;
  }
  return putUser32(task.mm, arg, v) < 0 ? -E.EFAULT : 0;
}

/** inet_shutdown. Never lingers: Linux's tcp_shutdown only sends the FIN (socket(7) says otherwise; the code wins). */
function tcpSockShutdown(sock: Socket, how: number): number {
  const sk = tsk(sock);
  if (how < 0 || how > 2) return -E.EINVAL;
  if (sock.state === SS_CONNECTING) {
    sock.state =
      sk.skState === TCP_SYN_SENT || sk.skState === TCP_SYN_RECV || sk.skState === TCP_CLOSE
        ? SS_DISCONNECTING
        : SS_CONNECTED;
  }
  const r = tcpShutdown(sk, how);
  if (sk.skState === TCP_CLOSE && sock.state === SS_DISCONNECTING) sock.state = SS_UNCONNECTED;
  sock.wake();
  return r;
}

function readInt(val: Uint8Array): number | null {
  if (val.length < 4) return null;
  return new DataView(val.buffer, val.byteOffset, 4).getInt32(0, true);
}

function intBytes(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setInt32(0, v, true);
  return b;
}

/** do_tcp_setsockopt and the IPPROTO_IP basics (do_ip_setsockopt: IP_TOS, IP_TTL). */
function tcpSockSetsockopt(sock: Socket, _task: Task, level: number, name: number, val: Uint8Array): number {
  const sk = tsk(sock);
  if (level === IPPROTO_IP) {
    const v = readInt(val);
    if (v === null) return -E.EINVAL;
    switch (name) {
      case IP_TOS:
        // Stream sockets keep their ECN bits (the stack owns them).
        sk.tos = (v & 0xfc) | (sk.tos & 3);
        return 0;
      case IP_TTL:
        if (v === -1) sk.ttl = 0;
        else if (v < 1 || v > 255) return -E.EINVAL;
        else sk.ttl = v;
        return 0;
      default:
        return -E.ENOPROTOOPT;
    }
  }
  if (level !== IPPROTO_TCP) return -E.ENOPROTOOPT;
  if (name === TCP_CONGESTION) {
    let end = val.indexOf(0);
    if (end < 0) end = val.length;
    const nm = new TextDecoder().decode(val.subarray(0, Math.min(end, TCP_CA_NAME_MAX - 1)));
    if (!tcpCaFind(nm)) return -E.ENOENT;
    sk.congName = nm;
    return 0;
  }
  const v = readInt(val);
  if (v === null) return -E.EINVAL;
  switch (name) {
    case TCP_NODELAY:
      sk.nodelay = v !== 0;
      if (sk.nodelay) tcpWriteXmit(sk, true);
      return 0;
    case TCP_MAXSEG:
      if (v && (v < TCP_MIN_MSS || v > MAX_TCP_WINDOW)) return -E.EINVAL;
      sk.userMss = v;
      return 0;
    case TCP_CORK:
      sk.cork = v !== 0;
      // Uncorking pushes what waited, partial segment included (__tcp_sock_set_cork).
      if (!sk.cork) tcpWriteXmit(sk, true);
      return 0;
    case TCP_KEEPIDLE:
      if (v < 1 || v > TCP_MAX_KEEPIDLE) return -E.EINVAL;
      sk.keepIdle = v;
      if (sk.keepOpen) tcpStartKeepalive(sk);
      return 0;
    case TCP_KEEPINTVL:
      if (v < 1 || v > TCP_MAX_KEEPINTVL) return -E.EINVAL;
      sk.keepIntvl = v;
      return 0;
    case TCP_KEEPCNT:
      if (v < 1 || v > TCP_MAX_KEEPCNT) return -E.EINVAL;
      sk.keepCnt = v;
      return 0;
    case TCP_SYNCNT:
      if (v < 1 || v > 127) return -E.EINVAL;
      sk.synCnt = v;
      return 0;
    case TCP_LINGER2:
      sk.linger2 = v < 0 ? -1 : v;
      return 0;
    case TCP_QUICKACK:
      if (v) {
        sk.pingpong = false;
        sk.quick = TCP_MAX_QUICKACKS;
        if (sk.ackPending && (sk.skState === TCP_ESTABLISHED || sk.skState === TCP_CLOSE_WAIT)) tcpSendAck(sk);
      } else sk.pingpong = true;
      return 0;
    case TCP_USER_TIMEOUT:
      if (v < 0) return -E.EINVAL;
      sk.userTimeoutMs = v;
      return 0;
    case TCP_WINDOW_CLAMP:
    case TCP_DEFER_ACCEPT:
      if (v < 0) return -E.EINVAL;
      return 0;
    default:
      return -E.ENOPROTOOPT;
  }
}

/** struct tcp_info (include/uapi/linux/tcp.h), filled as tcp_get_info does. */
export function tcpGetInfo(sk: TcpSock): Uint8Array {
  const b = new Uint8Array(TCP_INFO_LEN);
  const dv = new DataView(b.buffer);
  const now = sk.ns.env.nowNs();
  const u32 = (off: number, v: number): void =>
    dv.setUint32(off, Math.max(0, Math.min(0xffffffff, Math.floor(v))) >>> 0, true);
  const u64 = (off: number, v: number): void => {
    v = Math.max(0, Math.floor(v));
    dv.setUint32(off, v % 2 ** 32, true);
    dv.setUint32(off + 4, Math.floor(v / 2 ** 32), true);
  };
  const ms = (t: number): number => (t ? (now - t) / 1e6 : 0);
  const listen = sk.skState === TCP_LISTEN;
  b[0] = sk.skState;
  b[1] = sk.caState;
  b[2] = sk.retransmits;
  b[3] = sk.probesOut;
  b[4] = sk.backoff;
  b[5] = sk.wscaleOk ? TCPI_OPT_WSCALE : 0;
  b[6] = (sk.sndWscale & 0xf) | ((sk.rcvWscale & 0xf) << 4);
  u32(8, sk.rto / 1e3);
  u32(12, sk.ato / 1e3);
  u32(16, sk.mss);
  u32(20, sk.rcvMss);
  const out = ((sk.sndMax - sk.sndUna) | 0) > 0 ? Math.ceil(((sk.sndMax - sk.sndUna) | 0) / sk.mss) : 0;
  u32(24, listen ? sk.acceptQueue.length : out);
  u32(28, listen ? sk.maxAckBacklog : 0);
  u32(44, ms(sk.lastSndNs));
  u32(52, ms(sk.lastDataRcvNs));
  u32(56, ms(sk.lastAckRcvNs));
  u32(60, sk.pmtu);
  u32(64, sk.rcvbuf);
  u32(68, sk.srtt / 1e3);
  u32(72, sk.rttvar / 1e3);
  u32(76, sk.ssthresh >= 0x7fffffff ? 0x7fffffff : sk.ssthresh);
  u32(80, sk.cwnd);
  u32(84, sk.advMss);
  u32(88, 3);
  u32(96, sk.rcvbuf);
  u32(100, sk.totalRetrans);
  u64(104, 0xffffffff);
  u64(112, 0xffffffff);
  u64(120, sk.bytesAcked);
  u64(128, sk.bytesReceived);
  u32(136, sk.segsOut);
  u32(140, sk.segsIn);
  u32(144, Math.max(0, (sk.writeSeq - sk.sndNxt) | 0));
  u32(148, sk.minRtt ? sk.minRtt / 1e3 : 0xffffffff);
  u32(152, sk.dataSegsIn);
  u32(156, sk.dataSegsOut);
  u32(192, sk.dataSegsOut);
  u64(200, sk.bytesSent);
  u64(208, sk.bytesRetrans);
  u32(228, sk.sndWnd);
  u32(232, sk.rcvWnd);
  return b;
}

function tcpSockGetsockopt(sock: Socket, _task: Task, level: number, name: number, _len: number): Uint8Array | number {
  const sk = tsk(sock);
  const ns = sk.ns;
  if (level === IPPROTO_IP) {
    switch (name) {
      case IP_TOS:
        return intBytes(sk.tos);
      case IP_TTL:
        return intBytes(sk.ttl || ns.sysctl.ipDefaultTtl);
      default:
        return -E.ENOPROTOOPT;
    }
  }
  if (level !== IPPROTO_TCP) return -E.ENOPROTOOPT;
  switch (name) {
    case TCP_NODELAY:
      return intBytes(sk.nodelay ? 1 : 0);
    case TCP_MAXSEG: {
      const connected = sk.skState !== TCP_CLOSE && sk.skState !== TCP_LISTEN;
      return intBytes(connected ? sk.mss : sk.userMss || TCP_MSS_DEFAULT);
    }
    case TCP_CORK:
      return intBytes(sk.cork ? 1 : 0);
    case TCP_KEEPIDLE:
      return intBytes(sk.keepIdle || ns.sysctl.tcpKeepaliveTime);
    case TCP_KEEPINTVL:
      return intBytes(sk.keepIntvl || ns.sysctl.tcpKeepaliveIntvl);
    case TCP_KEEPCNT:
      return intBytes(sk.keepCnt || ns.sysctl.tcpKeepaliveProbes);
    case TCP_SYNCNT:
      return intBytes(sk.synCnt || ns.sysctl.tcpSynRetries);
    case TCP_LINGER2:
      return intBytes(sk.linger2 < 0 ? -1 : sk.linger2 || ns.sysctl.tcpFinTimeout);
    case TCP_QUICKACK:
      return intBytes(sk.quick > 0 && !sk.pingpong ? 1 : 0);
    case TCP_USER_TIMEOUT:
      return intBytes(sk.userTimeoutMs);
    case TCP_WINDOW_CLAMP:
      return intBytes(sk.rcvbuf);
    case TCP_DEFER_ACCEPT:
      return intBytes(0);
    case TCP_CONGESTION: {
      const b = new Uint8Array(TCP_CA_NAME_MAX);
      b.set(new TextEncoder().encode(sk.congName));
      return b;
    }
    case TCP_INFO:
      return tcpGetInfo(sk);
    default:
      return -E.ENOPROTOOPT;
  }
}

/** sk_stream_error: EPIPE raises SIGPIPE unless MSG_NOSIGNAL. */
function streamError(task: Task, flags: number, err: number): number {
  if (err === -E.EPIPE && !(flags & MSG_NOSIGNAL)) sendSignal(task, SIGPIPE, false);
  return err;
}

/**
 * tcp_sendmsg: copy into the send queue as space allows, pushing as it goes; wait for the
 * connection (sk_stream_wait_connect) and for space (sk_stream_wait_memory) unless
 * non-blocking. A partial send returns what was queued.
 */
function tcpSockSendmsg(sock: Socket, task: Task, msg: SendMsg): number | Promise<number> {
  const sk = tsk(sock);
  if (msg.flags & MSG_OOB) return -E.EOPNOTSUPP;
  const noWait = sockNoWait(sock, msg.flags, true);
  const deadline = sockDeadline(task, sock, true);
  const total = msg.iter.count;
  let sent = 0;
  const step = (): number | null => {
    for (;;) {
      const c = tcpSendCheck(sk);
      if (c < 0) return sent > 0 ? sent : streamError(task, msg.flags, c);
      if (c === 1) {
        if (noWait) return sent > 0 ? sent : -E.EAGAIN;
        return null;
      }
      if (sent >= total) {
        // MSG_MORE: more is coming, so a partial segment waits as if corked (tcp_push's TCP_NAGLE_CORK).
        if (msg.flags & MSG_MORE && !sk.cork) {
          sk.cork = true;
          tcpPush(sk);
          sk.cork = false;
        } else tcpPush(sk);
        return sent;
      }
      const space = tcpWspace(sk);
      if (space <= 0) {
        tcpPush(sk);
        if (noWait) return sent > 0 ? sent : -E.EAGAIN;
        return null;
      }
      const n = Math.min(space, total - sent);
      const data = msg.iter.copyFrom(n);
      if (typeof data === 'number') return sent > 0 ? sent : data;
      if (data.length === 0) return sent > 0 ? sent : -E.EFAULT;
      sndQueueAppend(sk, data);
      sent += data.length;
      if (sent < total) tcpWriteXmit(sk);
    }
  };
  const r = tcpLocked(step);
  if (r !== null) return r;
  return (async () => {
    for (;;) {
      const e = await sockWait(task, sock, deadline);
      if (e < 0) return sent > 0 ? sent : e;
      const r2 = tcpLocked(step);
      if (r2 !== null) return r2;
    }
  })();
}

/**
 * tcp_recvmsg: copy what is queued; wait for at least SO_RCVLOWAT bytes (all of them with
 * MSG_WAITALL) unless non-blocking; 0 at EOF; MSG_PEEK leaves the bytes queued.
 */
function tcpSockRecvmsg(sock: Socket, task: Task, msg: RecvMsg): number | Promise<number> {
  const sk = tsk(sock);
  if (msg.flags & MSG_OOB) return -E.EINVAL;
  if (sk.skState === TCP_LISTEN) return -E.ENOTCONN;
  const noWait = sockNoWait(sock, msg.flags, false);
  const deadline = sockDeadline(task, sock, false);
  const peek = (msg.flags & MSG_PEEK) !== 0;
  const len = msg.iter.count;
  const target = msg.flags & MSG_WAITALL && !peek ? len : Math.min(len, Math.max(1, sock.rcvlowat));
  let copied = 0;
  if (msg.wantName) msg.name = null;
  const step = (): number | null => {
    for (;;) {
      if (copied >= len) return copied;
      if (sk.rcvQueued > 0 && !(peek && copied > 0)) {
        const n = tcpRecvCopy(sk, len - copied, peek, (b) => msg.iter.copyTo(b));
        if (n < 0) return copied > 0 ? copied : n;
        if (n === 0) return copied > 0 ? copied : -E.EFAULT;
        copied += n;
        if (peek) return copied;
        continue;
      }
      if (copied >= target) return copied;
      if (copied > 0) {
        if (sk.err || sk.skState === TCP_CLOSE || sk.shutdown & RCV_SHUTDOWN || noWait) return copied;
      } else {
        const e = tcpReadEmpty(sk);
        if (e !== -E.EAGAIN) return e;
        if (noWait) return -E.EAGAIN;
      }
      return null;
    }
  };
  const r = step();
  if (r !== null) return r;
  return (async () => {
    for (;;) {
      const e = await sockWait(task, sock, deadline);
      if (e < 0) {
        if (copied > 0) tcpCleanupRbuf(sk, 0);
        return copied > 0 ? copied : e;
      }
      const r2 = step();
      if (r2 !== null) return r2;
    }
  })();
}

/** SOL_SOCKET options TCP must act on (sk_setsockopt's calls into the protocol). */
function tcpSolSocketChanged(sock: Socket, name: number): void {
  tcpLocked(() => solSocketChanged(sock, name));
}

function solSocketChanged(sock: Socket, name: number): void {
  const sk = tsk(sock);
  switch (name) {
    case SO_KEEPALIVE:
      tcpSetKeepalive(sk, (sock.intOpts.get(SO_KEEPALIVE) ?? 0) !== 0);
      break;
    case SO_REUSEADDR:
      sk.reuse = (sock.intOpts.get(SO_REUSEADDR) ?? 0) !== 0;
      break;
    case SO_LINGER:
      sk.linger = { ...sock.linger };
      break;
    case SO_RCVBUF:
    case SO_RCVBUFFORCE:
      sk.rcvbuf = sock.rcvbuf;
      sk.rcvbufLocked = true;
      // A bigger buffer may open the window (tcp_rcv_space_adjust's effect).
      tcpCleanupRbuf(sk, 1);
      break;
    case SO_SNDBUF:
    case SO_SNDBUFFORCE:
      sk.sndbuf = sock.sndbuf;
      sk.sndbufLocked = true;
      sock.wake();
      break;
  }
}

/** do_tcp_setsockopt under the socket lock (TCP_NODELAY, TCP_CORK, TCP_QUICKACK may transmit). */
function tcpSockSetsockoptLocked(sock: Socket, task: Task, level: number, name: number, val: Uint8Array): number {
  return tcpLocked(() => tcpSockSetsockopt(sock, task, level, name, val));
}

export const tcpOps: ProtoOps = {
  family: AF_INET,
  release: tcpRelease,
  closeWait: tcpCloseWait,
  bind: tcpSockBind,
  connect: tcpSockConnect,
  socketpair: () => -E.EOPNOTSUPP,
  accept: tcpSockAccept,
  getname: tcpSockGetname,
  poll: tcpSockPoll,
  ioctl: tcpSockIoctl,
  listen: tcpSockListen,
  shutdown: tcpSockShutdown,
  setsockopt: tcpSockSetsockoptLocked,
  getsockopt: tcpSockGetsockopt,
  sendmsg: tcpSockSendmsg,
  recvmsg: tcpSockRecvmsg,
  solSocketChanged: tcpSolSocketChanged,
};

export { SS_CONNECTED };
