/**
 * TCP's socket-level operations (net/ipv4/tcp.c, inet_connection_sock.c, af_inet.c's stream
 * parts) as a kernel API without a Task: the host's port forwarding drives sockets through
 * these, and tcp_socket.ts builds the SOCK_STREAM proto_ops (blocking, poll, options) on top.
 *
 * Events reach the owner through the callbacks of TcpSock: onData (sk_data_ready: bytes to
 * read, a connection to accept, EOF), onWriteSpace (sk_write_space), onStateChange
 * (sk_state_change: connected, closed) and onError (sk_error_report).
 *
 * Every call here runs "under the socket lock" (tcp_lock.ts): frames that arrive meanwhile
 * (loopback delivers synchronously) are processed when the call completes, as release_sock
 * runs the backlog. So a callback may run before the API call that caused it returns (a
 * tcpWrite whose data is acknowledged at once calls onWriteSpace from inside tcpWrite):
 * callbacks must tolerate that (set a flag, or guard against re-entering a pump loop).
 * Data and connections that arrive before callbacks are set simply wait: check tcpRead /
 * tcpAcceptNext after setting them.
 */
import * as E from '../../errno.js';
import type { NetNs } from '../netns.js';
import { RCV_SHUTDOWN, SEND_SHUTDOWN, SHUTDOWN_MASK } from '../uapi.js';
import { isLoopback } from './inet_addr.js';
import {
  hashinfo,
  inetBindConflict,
  inetCskGetPort,
  inetHash,
  inetHashConnect,
  inetPutPort,
  inetUnhash,
} from './inet_hashtables.js';
import { inetAddrType } from './devinet.js';
import { ipRouteOutput } from './route.js';
import { tcpCleanupRbuf, tcpRcvSpaceAdjust } from './tcp_input.js';
import {
  sndQueueAppend,
  tcpClearXmitTimer,
  tcpPush,
  tcpResetXmitTimer,
  tcpSelectWscale,
  tcpSendActiveReset,
  tcpSendFin,
  tcpSendSyn,
  tcpWriteXmit,
} from './tcp_output.js';
import { reqskDestroy } from './tcp_minisocks.js';
import './tcp_timer.js';
import { tcpLocked } from './tcp_lock.js';
import './tcp_ipv4.js';
import {
  seqAdd,
  TCP_CLOSE,
  TCP_CLOSE_WAIT,
  TCP_CLOSING,
  TCP_ESTABLISHED,
  TCP_FIN_WAIT1,
  TCP_FIN_WAIT2,
  TCP_LAST_ACK,
  TCP_LISTEN,
  TCP_MIN_MSS,
  TCP_SYN_RECV,
  TCP_SYN_SENT,
  TCP_TIME_WAIT,
  TCP_TIMEOUT_INIT_NS,
  TcpSock,
} from './tcp_sock.js';

export { TcpSock };

// RTN_* (include/uapi/linux/rtnetlink.h), as inetAddrType and Rtable.type report them.
const RTN_LOCAL = 2;
const RTN_BROADCAST = 3;
const RTN_MULTICAST = 5;
/** IP_MAX_MTU (include/net/ip.h). */
export const IP_MAX_MTU = 0xfff0;

/** tcp_set_state: the counters and hashing that follow a state change. */
export function tcpSetState(sk: TcpSock, state: number): void {
  const old = sk.skState;
  const mib = sk.ns.mib.tcp;
  switch (state) {
    case TCP_ESTABLISHED:
      if (old !== TCP_ESTABLISHED) mib.CurrEstab++;
      break;
    case TCP_CLOSE_WAIT:
      if (old === TCP_SYN_RECV) mib.CurrEstab++;
      break;
    case TCP_CLOSE:
      if (old === TCP_CLOSE_WAIT || old === TCP_ESTABLISHED) mib.EstabResets++;
      inetUnhash(sk, old === TCP_LISTEN);
      if (!sk.userBound || sk.dead) inetPutPort(sk);
      if (old === TCP_ESTABLISHED || old === TCP_CLOSE_WAIT) mib.CurrEstab--;
      break;
    default:
      if (old === TCP_ESTABLISHED || old === TCP_CLOSE_WAIT) mib.CurrEstab--;
  }
  sk.skState = state;
  sk.onLingerWake?.();
}

/** sk_stream_closing: our FIN is not acknowledged yet (what an SO_LINGER close waits for). */
export function tcpStreamClosing(sk: TcpSock): boolean {
  const st = sk.skState;
  return st === TCP_FIN_WAIT1 || st === TCP_CLOSING || st === TCP_LAST_ACK;
}

/** Stop every timer of a socket (tcp_clear_xmit_timers + the keepalive timer). */
export function tcpClearTimers(sk: TcpSock): void {
  tcpClearXmitTimer(sk);
  sk.ns.timers.del(sk.delackTimer);
  sk.ns.timers.del(sk.keepTimer);
  sk.ackPending = false;
}

/** tcp_done: the connection is over. Sleepers see it; an orphan is freed. */
export function tcpDone(sk: TcpSock): void {
  if (sk.skState === TCP_SYN_SENT || sk.skState === TCP_SYN_RECV) sk.ns.mib.tcp.AttemptFails++;
  tcpSetState(sk, TCP_CLOSE);
  tcpClearTimers(sk);
  sk.shutdown = SHUTDOWN_MASK;
  if (sk.dead) {
    inetPutPort(sk);
    sk.sndChunks.length = 0;
    sk.rcvQueue.length = 0;
    sk.ofoQueue.length = 0;
  } else {
    sk.onStateChange?.();
  }
}

/** tcp_write_err / abort with an error (ETIMEDOUT after retries, an ICMP hard error). */
export function tcpAbort(sk: TcpSock, err: number): void {
  sk.err = err;
  sk.onError?.();
  tcpDone(sk);
}

/** inet_csk_reset_keepalive_timer for the idle time (keepalive_time_when). */
export function tcpStartKeepalive(sk: TcpSock): void {
  if (sk.skState !== TCP_ESTABLISHED && sk.skState !== TCP_CLOSE_WAIT) return;
  sk.ns.timers.modIn(sk.keepTimer, keepaliveTimeNs(sk));
}

export function keepaliveTimeNs(sk: TcpSock): number {
  return (sk.keepIdle || sk.ns.sysctl.tcpKeepaliveTime) * 1e9;
}
export function keepaliveIntvlNs(sk: TcpSock): number {
  return (sk.keepIntvl || sk.ns.sysctl.tcpKeepaliveIntvl) * 1e9;
}
export function keepaliveProbes(sk: TcpSock): number {
  return sk.keepCnt || sk.ns.sysctl.tcpKeepaliveProbes;
}

/** tcp_set_keepalive (SO_KEEPALIVE). */
export function tcpSetKeepalive(sk: TcpSock, on: boolean): void {
  sk.keepOpen = on;
  if (on) tcpStartKeepalive(sk);
  else if (sk.skState === TCP_ESTABLISHED || sk.skState === TCP_CLOSE_WAIT) sk.ns.timers.del(sk.keepTimer);
}

// ---------------------------------------------------------------------------------------
// The kernel API.

/** A new TCP socket in CLOSE (sk_alloc + tcp_init_sock). */
export function tcpKernelSocket(ns: NetNs): TcpSock {
  return new TcpSock(ns);
}

/**
 * inet_bind's checks and inet_csk_get_port: `addr` must be one of ours (or 0, broadcast,
 * multicast); `port` 0 picks an ephemeral one. `reuse` is SO_REUSEADDR.
 */
export function tcpBind(sk: TcpSock, addr: number, port: number, reuse = sk.reuse): number {
  addr >>>= 0;
  if (addr !== 0) {
    const t = inetAddrType(sk.ns, addr);
    if (t !== RTN_LOCAL && t !== RTN_MULTICAST && t !== RTN_BROADCAST) return -E.EADDRNOTAVAIL;
  }
  if (sk.skState !== TCP_CLOSE || sk.bound) return -E.EINVAL;
  sk.reuse = reuse;
  const e = inetCskGetPort(sk, addr, port & 0xffff);
  if (e < 0) return e;
  sk.userBound = port !== 0;
  sk.addrBound = addr !== 0;
  return 0;
}

/** inet_listen / inet_csk_listen_start. The backlog is capped at net.core.somaxconn. */
export function tcpListen(sk: TcpSock, backlog: number): number {
  const somax = sk.ns.sysctl.somaxconn;
  const b = backlog >>> 0 > somax ? somax : backlog >>> 0;
  if (sk.skState === TCP_LISTEN) {
    sk.maxAckBacklog = b;
    return 0;
  }
  if (sk.skState !== TCP_CLOSE) return -E.EINVAL;
  if (!sk.bound) {
    const e = inetCskGetPort(sk, sk.laddr, 0);
    if (e < 0) return e;
  } else if (inetBindConflict(sk, sk.lport, sk.laddr, false)) return -E.EADDRINUSE;
  sk.maxAckBacklog = b;
  sk.acceptQueue = [];
  sk.synQueue = new Map();
  tcpSetState(sk, TCP_LISTEN);
  inetHash(sk);
  return 0;
}

/** inet_csk_accept's dequeue (reqsk_queue_remove): the oldest established child, or null. */
export function tcpAcceptNext(listener: TcpSock): TcpSock | null {
  const c = listener.acceptQueue.shift() ?? null;
  if (c) c.parent = null;
  return c;
}

/** The initial sequence number (secure_tcp_seq: a keyed hash plus a 4 µs clock, RFC 6528). */
export function tcpSecureSeq(ns: NetNs, saddr: number, daddr: number, sport: number, dport: number): number {
  const [k0, k1] = hashinfo(ns).secret;
  let h =
    Math.imul(saddr ^ k0, 0x9e3779b1) ^
    Math.imul(daddr ^ k1, 0x85ebca77) ^
    Math.imul((sport << 16) | dport, 0xc2b2ae3d);
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  h ^= h >>> 12;
  return (h + Math.floor(ns.env.nowNs() / 64)) >>> 0;
}

/**
 * tcp_v4_connect + tcp_connect: route, pick the source address and a port, send the SYN.
 * Returns 0 once the SYN is on its way (completion comes through onStateChange / onError),
 * or -errno.
 */
export function tcpConnect(sk: TcpSock, daddr: number, dport: number): number {
  return tcpLocked(() => tcpConnectLocked(sk, daddr, dport));
}

function tcpConnectLocked(sk: TcpSock, daddr: number, dport: number): number {
  daddr >>>= 0;
  if (sk.skState === TCP_SYN_SENT || sk.skState === TCP_SYN_RECV) return -E.EALREADY;
  if (sk.skState !== TCP_CLOSE) return -E.EISCONN;
  if (dport === 0) return -E.ECONNREFUSED;
  const ns = sk.ns;
  // Connecting to INADDR_ANY means this host (ip_route_connect's loopback fallback).
  if (daddr === 0) daddr = 0x7f000001;
  const rt = ipRouteOutput(ns, { daddr, saddr: sk.laddr || undefined, oif: sk.oif || undefined, tos: sk.tos });
  if (typeof rt === 'number') return rt;
  if (rt.type === RTN_BROADCAST || rt.type === RTN_MULTICAST) return -E.ENETUNREACH;
  if (!sk.laddr) sk.laddr = rt.src >>> 0;
  if (!sk.laddr && isLoopback(daddr)) sk.laddr = 0x7f000001;
  sk.raddr = daddr;
  sk.rport = dport & 0xffff;
  const e = inetHashConnect(sk);
  if (e < 0) {
    if (!sk.addrBound) sk.laddr = 0;
    sk.raddr = 0;
    sk.rport = 0;
    return e;
  }
  // ipv4_mtu caps a route's MTU at IP_MAX_MTU (0xFFF0): lo's 65536 would not fit tot_len.
  sk.pmtu = Math.min(rt.mtu || 1500, IP_MAX_MTU);
  let adv = sk.pmtu - 40;
  if (sk.userMss) adv = Math.min(adv, sk.userMss);
  sk.advMss = Math.max(TCP_MIN_MSS, adv);
  sk.mss = sk.advMss;
  sk.iss = tcpSecureSeq(ns, sk.laddr, sk.raddr, sk.lport, sk.rport);
  sk.sndUna = sk.iss;
  sk.sndNxt = seqAdd(sk.iss, 1);
  sk.sndMax = sk.sndNxt;
  sk.writeSeq = sk.sndNxt;
  sk.highSeq = sk.iss;
  sk.sndWnd = 0;
  sk.rcvWscale = tcpSelectWscale(ns, sk.rcvbuf);
  sk.rcvWnd = Math.min(65535, sk.rcvbuf);
  sk.rto = TCP_TIMEOUT_INIT_NS;
  sk.retransmits = 0;
  sk.backoff = 0;
  sk.err = 0;
  sk.done = false;
  sk.shutdown = 0;
  sk.finQueued = false;
  sk.finRcvd = false;
  sk.active = true;
  tcpSetState(sk, TCP_SYN_SENT);
  ns.mib.tcp.ActiveOpens++;
  sk.rttStartNs = ns.env.nowNs();
  sk.rttSeq = sk.sndNxt;
  tcpSendSyn(sk);
  tcpResetXmitTimer(sk);
  return 0;
}

/** Free space of the send buffer (sk_stream_wspace). */
export function tcpWspace(sk: TcpSock): number {
  return sk.sndbuf - sk.sndQueued;
}

/**
 * tcp_sendmsg_locked without the waiting: queue as much of `bytes` as the send buffer takes
 * and push. Returns the bytes queued, -EAGAIN when the buffer is full, or the error
 * (a pending sk_err, -EPIPE after shutdown or when not connected).
 */
export function tcpWrite(sk: TcpSock, bytes: Uint8Array): number {
  return tcpLocked(() => tcpWriteLocked(sk, bytes));
}

function tcpWriteLocked(sk: TcpSock, bytes: Uint8Array): number {
  const st = tcpSendCheck(sk);
  if (st < 0) return st;
  if (bytes.length === 0) return 0;
  const space = tcpWspace(sk);
  if (space <= 0) return -E.EAGAIN;
  const n = Math.min(space, bytes.length);
  sndQueueAppend(sk, n === bytes.length ? bytes : bytes.subarray(0, n));
  tcpPush(sk);
  return n;
}

/**
 * Can we send now? 0 yes, 1 not yet (connecting), or -errno (sk_stream_wait_connect's and
 * tcp_sendmsg's checks: a pending error first, then SEND_SHUTDOWN → EPIPE).
 */
export function tcpSendCheck(sk: TcpSock): number {
  const err = sk.err;
  if (err) {
    sk.err = 0;
    return -err;
  }
  if (sk.shutdown & SEND_SHUTDOWN) return -E.EPIPE;
  const s = sk.skState;
  if (s === TCP_ESTABLISHED || s === TCP_CLOSE_WAIT) return 0;
  if (s === TCP_SYN_SENT || s === TCP_SYN_RECV) return 1;
  return -E.EPIPE;
}

/**
 * Copy up to `max` received bytes through `sink` (which returns how many it took, or -errno),
 * consuming them unless `peek`. Returns the bytes copied or the sink's error when none were.
 */
export function tcpRecvCopy(sk: TcpSock, max: number, peek: boolean, sink: (b: Uint8Array) => number): number {
  return tcpLocked(() => tcpRecvCopyLocked(sk, max, peek, sink));
}

function tcpRecvCopyLocked(sk: TcpSock, max: number, peek: boolean, sink: (b: Uint8Array) => number): number {
  let copied = 0;
  let idx = 0;
  let off = sk.rcvHeadOff;
  const q = sk.rcvQueue;
  while (copied < max && idx < q.length) {
    const c = q[idx]!;
    const n = Math.min(c.length - off, max - copied);
    const r = sink(c.subarray(off, off + n));
    if (r < 0) {
      if (copied === 0) return r;
      break;
    }
    copied += r;
    off += r;
    if (off >= c.length) {
      idx++;
      off = 0;
    }
    if (r < n) break;
  }
  if (!peek && copied > 0) {
    if (idx > 0) q.splice(0, idx);
    sk.rcvHeadOff = off;
    sk.rcvQueued -= copied;
    sk.copiedSeq = seqAdd(sk.copiedSeq, copied);
    tcpRcvSpaceAdjust(sk);
    tcpCleanupRbuf(sk, copied);
  }
  return copied;
}

/**
 * What a read finds when the queue is empty: 0 at EOF, -errno for a pending error (consumed)
 * or -ENOTCONN, -EAGAIN when more may come.
 */
export function tcpReadEmpty(sk: TcpSock): number {
  // tcp_recvmsg_locked's order: SOCK_DONE (a FIN arrived), the error, shutdown, CLOSE.
  if (sk.done) return 0;
  const err = sk.err;
  if (err) {
    sk.err = 0;
    return -err;
  }
  if (sk.shutdown & RCV_SHUTDOWN) return 0;
  if (sk.skState === TCP_LISTEN) return -E.ENOTCONN;
  if (sk.skState === TCP_CLOSE) return -E.ENOTCONN;
  return -E.EAGAIN;
}

/** tcp_recvmsg for the kernel: up to `max` bytes (a copy), 0 at EOF, or -errno (-EAGAIN: nothing yet). */
export function tcpRead(sk: TcpSock, max: number, peek = false): Uint8Array | number {
  if (sk.rcvQueued > 0 && max > 0) {
    const out = new Uint8Array(Math.min(max, sk.rcvQueued));
    let at = 0;
    tcpRecvCopy(sk, out.length, peek, (b) => {
      out.set(b, at);
      at += b.length;
      return b.length;
    });
    return out;
  }
  if (max === 0) return new Uint8Array(0);
  return tcpReadEmpty(sk);
}

/** Bytes waiting to be read (SIOCINQ: rcv_nxt - copied_seq, less a FIN). */
export function tcpInq(sk: TcpSock): number {
  return sk.rcvQueued;
}

/** Bytes not yet acknowledged (SIOCOUTQ: write_seq - snd_una, without SYN/FIN). */
export function tcpOutq(sk: TcpSock): number {
  return sk.sndQueued;
}

/**
 * tcp_close_state: the state after a close or SHUT_WR, and whether a FIN goes out
 * (the new_state[] table of tcp.c).
 */
function tcpCloseState(sk: TcpSock): boolean {
  const next: Record<number, [number, boolean]> = {
    [TCP_CLOSE]: [TCP_CLOSE, false],
    [TCP_ESTABLISHED]: [TCP_FIN_WAIT1, true],
    [TCP_SYN_SENT]: [TCP_CLOSE, false],
    [TCP_SYN_RECV]: [TCP_FIN_WAIT1, true],
    [TCP_FIN_WAIT1]: [TCP_FIN_WAIT1, false],
    [TCP_FIN_WAIT2]: [TCP_FIN_WAIT2, false],
    [TCP_TIME_WAIT]: [TCP_CLOSE, false],
    [TCP_CLOSE_WAIT]: [TCP_LAST_ACK, true],
    [TCP_LAST_ACK]: [TCP_LAST_ACK, false],
    [TCP_LISTEN]: [TCP_CLOSE, false],
    [TCP_CLOSING]: [TCP_CLOSING, false],
  };
  const [ns, fin] = next[sk.skState] ?? [TCP_CLOSE, false];
  if (ns === TCP_CLOSE) tcpDone(sk);
  else tcpSetState(sk, ns);
  return fin;
}

/** inet_csk_listen_stop: unaccepted children are reset, pending requests dropped. */
function tcpListenStop(sk: TcpSock): void {
  for (const r of sk.synQueue.values()) reqskDestroy(sk.ns, r);
  sk.synQueue.clear();
  const q = sk.acceptQueue;
  sk.acceptQueue = [];
  for (const c of q) {
    c.parent = null;
    c.dead = true;
    tcpDisconnect(c);
  }
}

/**
 * tcp_disconnect: drop the connection at once (RST when the peer thinks it is connected) and
 * leave the socket reusable in CLOSE (connect(AF_UNSPEC), SO_LINGER 0, shutdown in SYN_SENT).
 */
export function tcpDisconnect(sk: TcpSock): void {
  tcpLocked(() => tcpDisconnectLocked(sk));
}

function tcpDisconnectLocked(sk: TcpSock): void {
  const old = sk.skState;
  if (old === TCP_LISTEN) {
    tcpListenStop(sk);
  } else if (
    old === TCP_ESTABLISHED ||
    old === TCP_CLOSE_WAIT ||
    old === TCP_FIN_WAIT1 ||
    old === TCP_FIN_WAIT2 ||
    old === TCP_SYN_RECV ||
    old === TCP_CLOSING ||
    old === TCP_LAST_ACK
  ) {
    tcpSendActiveReset(sk);
    sk.err = E.ECONNRESET;
  } else if (old === TCP_SYN_SENT) {
    sk.err = E.ECONNRESET;
  }
  const wasDead = sk.dead;
  // tcp_done without the orphan's freeing, then the queues go (tcp_disconnect's purge).
  tcpSetState(sk, TCP_CLOSE);
  tcpClearTimers(sk);
  sk.rcvQueue = [];
  sk.rcvHeadOff = 0;
  sk.rcvQueued = 0;
  sk.ofoQueue = [];
  sk.ofoBytes = 0;
  sk.sndChunks = [];
  sk.sndHeadOff = 0;
  sk.sndQueued = 0;
  sk.finQueued = false;
  sk.finRcvd = false;
  sk.shutdown = 0;
  sk.done = false;
  if (!sk.addrBound) sk.laddr = 0;
  sk.raddr = 0;
  sk.rport = 0;
  sk.srtt = 0;
  sk.rttvar = 0;
  sk.rto = TCP_TIMEOUT_INIT_NS;
  if (wasDead) inetPutPort(sk);
  else sk.onStateChange?.();
}

/**
 * inet_shutdown + tcp_shutdown. `how` is SHUT_RD (0), SHUT_WR (1) or SHUT_RDWR (2).
 */
export function tcpShutdown(sk: TcpSock, how: number): number {
  return tcpLocked(() => tcpShutdownLocked(sk, how));
}

function tcpShutdownLocked(sk: TcpSock, how: number): number {
  if (how < 0 || how > 2) return -E.EINVAL;
  const mask = how + 1;
  const s = sk.skState;
  let err = 0;
  switch (s) {
    case TCP_CLOSE:
      // Not connected; the bits are still set so pollers see POLLHUP (inet_shutdown's "hack").
      err = -E.ENOTCONN;
      sk.shutdown |= mask;
      break;
    case TCP_LISTEN:
      if (!(mask & RCV_SHUTDOWN)) break;
      tcpDisconnect(sk);
      break;
    case TCP_SYN_SENT:
      tcpDisconnect(sk);
      break;
    default:
      sk.shutdown |= mask;
      if (mask & SEND_SHUTDOWN && (s === TCP_ESTABLISHED || s === TCP_SYN_RECV || s === TCP_CLOSE_WAIT)) {
        if (tcpCloseState(sk)) tcpSendFin(sk);
      }
  }
  sk.onStateChange?.();
  return err;
}

/**
 * tcp_close: the owner lets go. A listener stops; unread data or SO_LINGER with a zero
 * timeout aborts with a RST; otherwise a FIN follows the queued data and the socket lives on
 * as an orphan until the exchange finishes (FIN_WAIT2 for at most tcp_fin_timeout, then
 * TIME_WAIT).
 */
export function tcpClose(sk: TcpSock): void {
  tcpLocked(() => tcpCloseLocked(sk));
}

function tcpCloseLocked(sk: TcpSock): void {
  const ns = sk.ns;
  sk.onData = sk.onWriteSpace = sk.onStateChange = sk.onError = null;
  if (sk.sock) {
    // The error and identity stay with the TcpSock from now on.
    const e = sk.sock.err;
    sk.sock = null;
    sk.err = e;
  }
  sk.dead = true;
  sk.shutdown = SHUTDOWN_MASK;
  if (sk.skState === TCP_LISTEN) {
    tcpSetState(sk, TCP_CLOSE);
    tcpListenStop(sk);
    inetPutPort(sk);
    return;
  }
  if (sk.skState === TCP_CLOSE) {
    inetPutPort(sk);
    return;
  }
  const unread = sk.rcvQueued;
  sk.rcvQueue = [];
  sk.rcvQueued = 0;
  sk.rcvHeadOff = 0;
  if (unread > 0) {
    // RFC 2525 §2.17: closing with unread data is an abort.
    ns.mib.tcpExt.TCPAbortOnClose++;
    tcpSetState(sk, TCP_CLOSE);
    tcpSendActiveReset(sk);
    tcpDone(sk);
    return;
  }
  if (sk.linger.onoff && sk.linger.linger === 0) {
    ns.mib.tcpExt.TCPAbortOnData++;
    tcpDisconnect(sk);
    return;
  }
  if (tcpCloseState(sk)) tcpSendFin(sk);
  if (sk.skState === TCP_FIN_WAIT2) {
    const tmo = (sk.linger2 > 0 ? sk.linger2 : ns.sysctl.tcpFinTimeout) * 1e9;
    ns.timers.modIn(sk.keepTimer, tmo);
  }
}

export { tcpWriteXmit };
