/**
 * The small states around full connections (net/ipv4/tcp_minisocks.c, syncookies.c and the
 * listener half of tcp_input.c / tcp_ipv4.c):
 *   - request socks: a SYN on a listener (tcp_conn_request) leaves a RequestSock in the
 *     listener's SYN queue and sends a SYN-ACK, retransmitted by reqsk_timer_handler; the
 *     ACK (tcp_check_req) makes the child socket (tcp_v4_syn_recv_sock /
 *     tcp_create_openreq_child) and puts it on the accept queue.
 *   - SYN cookies: with the SYN queue full the SYN-ACK's sequence number carries the state
 *     instead (cookie_v4_init_sequence / cookie_v4_check), so a flood costs no memory.
 *   - TIME_WAIT: a small socket holding the 4-tuple for 2MSL (tcp_time_wait,
 *     tcp_timewait_state_process).
 */
import type { NetNs } from '../netns.js';
import { Timer } from '../core/timer.js';
import { hashinfo, inetHash, inetInheritPort, inetPutPort, inetUnhash } from './inet_hashtables.js';
import { ipRouteOutput } from './route.js';
import { tcpLocked } from './tcp_lock.js';
import { tcpDone, tcpSecureSeq, tcpSetState } from './tcp.js';
import { tcpInitTransfer, tcpRttEstimator } from './tcp_input.js';
import { tcpSelectWscale, tcpSendControl, tcpSendSynack, TCPHDR_ACK } from './tcp_output.js';
import {
  after,
  before,
  seqAdd,
  TCP_CLOSE,
  TCP_ESTABLISHED,
  TCP_LISTEN,
  TCP_MIN_MSS,
  TCP_MSS_DEFAULT,
  TCP_RTO_MAX_NS,
  TCP_TIME_WAIT,
  TCP_TIMEOUT_INIT_NS,
  TCPHDR_FIN,
  TCPHDR_RST,
  TCPHDR_SYN,
  TcpSock,
  type RequestSock,
  type TcpSeg,
} from './tcp_sock.js';

/**
 * net.ipv4.tcp_max_tw_buckets: Linux sizes it from memory (up to 262144); a guest has a few
 * hundred MiB and each TIME_WAIT here is a whole TcpSock, so the cap is lower.
 */
export const TCP_MAX_TW_BUCKETS = 16384;

/** The key of a request in its listener's SYN queue: the peer's address and port. */
export function reqKey(raddr: number, rport: number): number {
  return raddr * 65536 + rport;
}

/** reqsk_free: stop its SYN-ACK timer. */
export function reqskDestroy(ns: NetNs, r: RequestSock): void {
  ns.timers.del(r.timer);
}

/** inet_csk_reqsk_queue_drop. */
function reqskDrop(lis: TcpSock, r: RequestSock): void {
  lis.synQueue.delete(reqKey(r.raddr, r.rport));
  reqskDestroy(lis.ns, r);
}

/** reqsk_timer_handler: resend the SYN-ACK with backoff, give up after tcp_synack_retries. */
function reqskTimer(r: RequestSock): void {
  const lis = r.listener;
  const ns = lis.ns;
  if (lis.skState !== TCP_LISTEN || lis.synQueue.get(reqKey(r.raddr, r.rport)) !== r) return;
  r.numTimeout++;
  if (r.numTimeout > ns.sysctl.tcpSynackRetries) {
    reqskDrop(lis, r);
    return;
  }
  tcpSendSynack(ns, r);
  ns.mib.tcp.RetransSegs++;
  ns.mib.tcpExt.TCPSynRetrans++;
  const t = Math.min(TCP_TIMEOUT_INIT_NS * 2 ** r.numTimeout, TCP_RTO_MAX_NS);
  r.expiresNs = ns.env.nowNs() + t;
  ns.timers.mod(r.timer, r.expiresNs);
}

// ---------------------------------------------------------------------------------------
// SYN cookies (net/ipv4/syncookies.c).

/** msstab: the MSS values a cookie can carry (2 bits). */
const MSSTAB = [536, 1300, 1440, 1460];
/** MAX_SYNCOOKIE_AGE in minutes. */
const MAX_SYNCOOKIE_AGE = 2;
/** How long after a SYN-queue overflow ACKs are checked as cookies (TCP_SYNCOOKIE_VALID). */
const SYNCOOKIE_VALID_NS = 120e9;
const lastOverflow = new WeakMap<TcpSock, number>();

/** A keyed 32-bit hash of the 4-tuple and `c` (cookie_hash: siphash in Linux). */
function cookieHash(
  ns: NetNs,
  saddr: number,
  daddr: number,
  sport: number,
  dport: number,
  c: number,
  which: number,
): number {
  const [k0, k1] = hashinfo(ns).secret;
  let h = (k0 ^ Math.imul(which + 1, 0x27d4eb2d)) | 0;
  for (const v of [saddr, daddr, ((sport << 16) | dport) >>> 0, c, k1]) {
    h = Math.imul(h ^ v, 0x9e3779b1);
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
  }
  return h >>> 0;
}

/** tcp_cookie_time: minutes. */
function cookieTime(ns: NetNs): number {
  return Math.floor(ns.env.nowNs() / 60e9) >>> 0;
}

/** __cookie_v4_init_sequence: hash + their ISN + (count << 24) + (hash2 + mss index) mod 2^24. */
function cookieInitSequence(ns: NetNs, seg: TcpSeg, mss: number): [number, number] {
  let idx = MSSTAB.length - 1;
  while (idx > 0 && mss < MSSTAB[idx]!) idx--;
  const count = cookieTime(ns);
  const h1 = cookieHash(ns, seg.saddr, seg.daddr, seg.sport, seg.dport, 0, 0);
  const h2 = cookieHash(ns, seg.saddr, seg.daddr, seg.sport, seg.dport, count, 1);
  const isn = (h1 + seg.seq + ((count << 24) >>> 0) + ((h2 + idx) & 0xffffff)) >>> 0;
  return [isn, MSSTAB[idx]!];
}

/** __cookie_v4_check: the MSS the cookie in this ACK carries, or 0 when it is not ours (or too old). */
function cookieCheck(ns: NetNs, seg: TcpSeg): number {
  const cookie = (seg.ack - 1) >>> 0;
  const sseq = (seg.seq - 1) >>> 0;
  const h1 = cookieHash(ns, seg.saddr, seg.daddr, seg.sport, seg.dport, 0, 0);
  const v = (cookie - h1 - sseq) >>> 0;
  const count = cookieTime(ns);
  const diff = (count - (v >>> 24)) & 0xff;
  if (diff >= MAX_SYNCOOKIE_AGE) return 0;
  const h2 = cookieHash(ns, seg.saddr, seg.daddr, seg.sport, seg.dport, (count - diff) >>> 0, 1);
  const idx = (v - h2) & 0xffffff;
  return idx < MSSTAB.length ? MSSTAB[idx]! : 0;
}

// ---------------------------------------------------------------------------------------
// Listener: SYN → request → child.

/** The MSS to advertise toward `raddr` (the route's MTU minus 40, capped by TCP_MAXSEG). */
function routeAdvMss(lis: TcpSock, laddr: number, raddr: number): number {
  const rt = ipRouteOutput(lis.ns, { daddr: raddr, saddr: laddr });
  const mtu = Math.min(typeof rt === 'number' ? 1500 : rt.mtu || 1500, 0xfff0);
  let m = mtu - 40;
  if (lis.userMss) m = Math.min(m, lis.userMss);
  return Math.max(TCP_MIN_MSS, m);
}

/** The window the SYN-ACK offers (tcp_select_initial_window, unscaled). */
function synackWindow(lis: TcpSock, advMss: number): number {
  return Math.min(65535, Math.max(lis.rcvbuf, advMss));
}

/**
 * tcp_conn_request: a SYN on a listener. The SYN queue is bounded by the backlog (then SYN
 * cookies when net.ipv4.tcp_syncookies allows, else the SYN is dropped); a full accept queue
 * drops it (ListenOverflows).
 */
export function tcpConnRequest(lis: TcpSock, seg: TcpSeg): void {
  const ns = lis.ns;
  const ext = ns.mib.tcpExt;
  const sc = ns.sysctl.tcpSyncookies;
  const qlen = lis.synQueue.size;
  let wantCookie = sc === 2;
  if (!wantCookie && qlen >= Math.max(1, lis.maxAckBacklog)) {
    if (sc) {
      wantCookie = true;
      ext.TCPReqQFullDoCookies++;
      lastOverflow.set(lis, ns.env.nowNs());
    } else {
      ext.TCPReqQFullDrop++;
      ext.ListenDrops++;
      return;
    }
  }
  // sk_acceptq_is_full.
  if (lis.acceptQueue.length > lis.maxAckBacklog) {
    ext.ListenOverflows++;
    ext.ListenDrops++;
    return;
  }
  const maxSyn = ns.sysctl.tcpMaxSynBacklog;
  if (!wantCookie && !sc && maxSyn - qlen < maxSyn >> 2) {
    ext.ListenDrops++;
    return;
  }
  const advMss = routeAdvMss(lis, seg.daddr, seg.saddr);
  const peerMss = seg.mss || TCP_MSS_DEFAULT;
  if (wantCookie) {
    // No state is kept: the SYN-ACK offers no window scaling (it could not be remembered without timestamps).
    const [isn, cmss] = cookieInitSequence(ns, seg, Math.min(advMss, peerMss));
    ext.SyncookiesSent++;
    lastOverflow.set(lis, ns.env.nowNs());
    const tmp: RequestSock = {
      listener: lis,
      laddr: seg.daddr,
      lport: seg.dport,
      raddr: seg.saddr,
      rport: seg.sport,
      iss: isn,
      irs: seg.seq,
      peerMss,
      advMss: cmss,
      sndWscale: 0,
      rcvWscale: 0,
      wscaleOk: false,
      peerWindow: seg.window,
      numTimeout: 0,
      timer: null as unknown as Timer,
      expiresNs: 0,
    };
    tcpSendSynack(ns, tmp);
    return;
  }
  const wscaleOk = seg.wscale >= 0 && ns.sysctl.tcpWindowScaling !== 0;
  const r: RequestSock = {
    listener: lis,
    laddr: seg.daddr,
    lport: seg.dport,
    raddr: seg.saddr,
    rport: seg.sport,
    iss: tcpSecureSeq(ns, seg.daddr, seg.saddr, seg.dport, seg.sport),
    irs: seg.seq,
    peerMss,
    advMss,
    sndWscale: wscaleOk ? Math.min(seg.wscale, 14) : 0,
    rcvWscale: wscaleOk ? tcpSelectWscale(ns, lis.rcvbuf) : 0,
    wscaleOk,
    peerWindow: seg.window,
    numTimeout: 0,
    timer: null as unknown as Timer,
    expiresNs: 0,
  };
  r.timer = new Timer(() => tcpLocked(() => reqskTimer(r)));
  lis.synQueue.set(reqKey(r.raddr, r.rport), r);
  tcpSendSynack(ns, r);
  r.expiresNs = ns.env.nowNs() + TCP_TIMEOUT_INIT_NS;
  (r as RequestSock & { sentNs: number }).sentNs = ns.env.nowNs();
  ns.timers.mod(r.timer, r.expiresNs);
}

/**
 * tcp_v4_syn_recv_sock + tcp_create_openreq_child: the child of an accepted handshake,
 * ESTABLISHED, hashed, on the accept queue. Null when the accept queue is full.
 */
function tcpCreateChild(lis: TcpSock, r: RequestSock, seg: TcpSeg, rttNs: number): TcpSock | null {
  const ns = lis.ns;
  if (lis.acceptQueue.length > lis.maxAckBacklog) {
    ns.mib.tcpExt.ListenOverflows++;
    ns.mib.tcpExt.ListenDrops++;
    return null;
  }
  const c = new TcpSock(ns);
  c.uid = lis.uid;
  c.rcvbuf = lis.rcvbuf;
  c.sndbuf = lis.sndbuf;
  c.rcvbufLocked = lis.rcvbufLocked;
  c.sndbufLocked = lis.sndbufLocked;
  c.nodelay = lis.nodelay;
  c.keepOpen = lis.keepOpen;
  c.keepIdle = lis.keepIdle;
  c.keepIntvl = lis.keepIntvl;
  c.keepCnt = lis.keepCnt;
  c.linger = { ...lis.linger };
  c.linger2 = lis.linger2;
  c.userMss = lis.userMss;
  c.tos = lis.tos;
  c.ttl = lis.ttl;
  c.reuse = lis.reuse;
  c.congName = lis.congName;
  c.laddr = r.laddr;
  c.raddr = r.raddr;
  c.rport = r.rport;
  c.iss = r.iss;
  c.sndUna = seqAdd(r.iss, 1);
  c.sndNxt = c.sndUna;
  c.sndMax = c.sndUna;
  c.writeSeq = c.sndUna;
  c.highSeq = c.sndUna;
  c.irs = r.irs;
  c.rcvNxt = seqAdd(r.irs, 1);
  c.copiedSeq = c.rcvNxt;
  c.rcvWup = c.rcvNxt;
  c.wscaleOk = r.wscaleOk;
  c.sndWscale = r.sndWscale;
  c.rcvWscale = r.rcvWscale;
  c.rcvWnd = synackWindow(lis, r.advMss);
  c.sndWnd = seg.window << c.sndWscale;
  c.maxSndWnd = c.sndWnd;
  c.sndWl1 = seg.seq;
  c.sndWl2 = seg.ack;
  c.advMss = r.advMss;
  let mss = Math.min(r.peerMss, r.advMss);
  if (c.userMss) mss = Math.min(mss, c.userMss);
  c.mss = Math.max(TCP_MIN_MSS, mss);
  c.pmtu = r.advMss + 40;
  if (rttNs > 0) tcpRttEstimator(c, rttNs);
  inetInheritPort(c, r.lport);
  tcpSetState(c, TCP_ESTABLISHED);
  inetHash(c);
  ns.mib.tcp.PassiveOpens++;
  tcpInitTransfer(c);
  c.parent = lis;
  lis.acceptQueue.push(c);
  return c;
}

/**
 * tcp_check_req: a segment for a pending request. Returns the new child (the caller then
 * runs the segment through it), 'reset' when the ACK is wrong, or null (dropped / answered).
 */
export function tcpCheckReq(lis: TcpSock, r: RequestSock, seg: TcpSeg): TcpSock | 'reset' | null {
  const ns = lis.ns;
  if (seg.flags & TCPHDR_RST) {
    reqskDrop(lis, r);
    return null;
  }
  // A retransmitted SYN: the SYN-ACK got lost; send it again.
  if (seg.flags & TCPHDR_SYN && !(seg.flags & TCPHDR_ACK) && seg.seq === r.irs) {
    tcpSendSynack(ns, r);
    ns.mib.tcp.RetransSegs++;
    ns.mib.tcpExt.TCPSynRetrans++;
    return null;
  }
  if (seg.flags & TCPHDR_ACK && seg.ack !== seqAdd(r.iss, 1)) return 'reset';
  if (!(seg.flags & TCPHDR_ACK)) return null;
  const rcvNxt = seqAdd(r.irs, 1);
  const win = synackWindow(lis, r.advMss);
  if (before(seg.endSeq, rcvNxt) || after(seg.seq, seqAdd(rcvNxt, win))) {
    // Out of the window we offered: answer with an ACK (tcp_v4_reqsk_send_ack).
    tcpSendControl(ns, r.laddr, r.raddr, r.lport, r.rport, seqAdd(r.iss, 1), rcvNxt, TCPHDR_ACK, win);
    return null;
  }
  if (seg.flags & TCPHDR_SYN) return 'reset';
  const sent = (r as RequestSock & { sentNs?: number }).sentNs ?? 0;
  const rtt = r.numTimeout === 0 && sent ? ns.env.nowNs() - sent : 0;
  const child = tcpCreateChild(lis, r, seg, rtt);
  // A full accept queue keeps the request: the peer's retransmission may find room (tcp_abort_on_overflow = 0).
  if (!child) return null;
  reqskDrop(lis, r);
  return child;
}

/** cookie_v4_check: an ACK with no request might answer a cookie. Returns the child, or null. */
export function cookieV4Check(lis: TcpSock, seg: TcpSeg): TcpSock | null {
  const ns = lis.ns;
  if (!ns.sysctl.tcpSyncookies) return null;
  const last = lastOverflow.get(lis);
  if (last === undefined || ns.env.nowNs() - last > SYNCOOKIE_VALID_NS) return null;
  const mss = cookieCheck(ns, seg);
  if (!mss) {
    ns.mib.tcpExt.SyncookiesFailed++;
    return null;
  }
  ns.mib.tcpExt.SyncookiesRecv++;
  const r: RequestSock = {
    listener: lis,
    laddr: seg.daddr,
    lport: seg.dport,
    raddr: seg.saddr,
    rport: seg.sport,
    iss: (seg.ack - 1) >>> 0,
    irs: (seg.seq - 1) >>> 0,
    peerMss: mss,
    advMss: Math.max(mss, routeAdvMss(lis, seg.daddr, seg.saddr)),
    sndWscale: 0,
    rcvWscale: 0,
    wscaleOk: false,
    peerWindow: seg.window,
    numTimeout: 0,
    timer: null as unknown as Timer,
    expiresNs: 0,
  };
  // The SYN-ACK of a cookie offered min(65535, rcvbuf) with the cookie's MSS.
  r.advMss = mss;
  return tcpCreateChild(lis, r, seg, 0);
}

// ---------------------------------------------------------------------------------------
// TIME_WAIT.

/**
 * tcp_time_wait: replace the connection by a TIME_WAIT socket that holds the 4-tuple and the
 * port for `timeoNs`, answering retransmitted FINs; the original goes to CLOSE (tcp_done).
 */
export function tcpTimeWait(sk: TcpSock, timeoNs: number): void {
  const ns = sk.ns;
  const h = hashinfo(ns);
  if (h.twCount >= TCP_MAX_TW_BUCKETS) {
    // tcp_max_tw_buckets: past the limit the connection just closes (TCPTimeWaitOverflow).
    ns.mib.tcpExt.TCPTimeWaitOverflow++;
    tcpDone(sk);
    return;
  }
  h.twCount++;
  const tw = new TcpSock(ns);
  tw.laddr = sk.laddr;
  tw.lport = sk.lport;
  tw.raddr = sk.raddr;
  tw.rport = sk.rport;
  tw.rcvNxt = sk.rcvNxt;
  tw.sndNxt = sk.sndNxt;
  tw.rcvWnd = sk.rcvWnd;
  tw.rcvWscale = sk.rcvWscale;
  tw.reuse = sk.reuse;
  tw.userBound = sk.userBound;
  tw.uid = sk.uid;
  tw.skState = TCP_TIME_WAIT;
  tw.dead = true;
  // inet_twsk_hashdance: the tw takes the connection's place in ehash and a share of its port.
  inetUnhash(sk);
  inetInheritPort(tw, sk.lport);
  inetHash(tw);
  ns.timers.modIn(tw.keepTimer, timeoNs);
  tcpDone(sk);
}

/** inet_twsk_kill / tw_timer_handler: the TIME_WAIT is over. */
export function inetTwskKill(tw: TcpSock, expired: boolean): void {
  if (expired) tw.ns.mib.tcpExt.TW++;
  tw.ns.timers.del(tw.keepTimer);
  if (tw.skState === TCP_TIME_WAIT) hashinfo(tw.ns).twCount--;
  inetUnhash(tw);
  inetPutPort(tw);
  tw.skState = TCP_CLOSE;
}

/**
 * tcp_timewait_state_process: 'syn' when a new SYN may reuse the 4-tuple (its sequence is
 * beyond the old connection's), otherwise the segment is handled here (answered or dropped).
 */
export function tcpTimewaitStateProcess(tw: TcpSock, seg: TcpSeg): 'syn' | null {
  const ns = tw.ns;
  if (seg.flags & TCPHDR_RST) {
    // RFC 1337 says ignore it; Linux (tcp_rfc1337 = 0) lets it end the TIME_WAIT.
    inetTwskKill(tw, false);
    return null;
  }
  if (seg.flags & TCPHDR_SYN && !(seg.flags & TCPHDR_ACK) && after(seg.seq, tw.rcvNxt)) {
    inetTwskKill(tw, false);
    return 'syn';
  }
  if (seg.flags & TCPHDR_FIN || seg.data.length > 0 || seg.seq !== tw.rcvNxt || seg.flags & TCPHDR_SYN) {
    // A retransmitted FIN: our last ACK was lost. Say it again and stay another 2MSL.
    if (seg.flags & TCPHDR_FIN) ns.timers.modIn(tw.keepTimer, 60e9);
    tcpSendControl(
      ns,
      tw.laddr,
      tw.raddr,
      tw.lport,
      tw.rport,
      tw.sndNxt,
      tw.rcvNxt,
      TCPHDR_ACK,
      Math.min(65535, tw.rcvWnd >>> tw.rcvWscale),
    );
  }
  return null;
}

export { TCPHDR_FIN };
