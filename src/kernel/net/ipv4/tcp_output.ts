/**
 * Sending segments (net/ipv4/tcp_output.c): __tcp_transmit_skb builds the header into the
 * headroom of an skb whose payload is copied once from the send queue, tcp_write_xmit sends
 * what the congestion window, the peer's window and Nagle allow, tcp_select_window picks the
 * window we advertise, and the helpers send SYN, SYN-ACK, ACK, FIN, RST and probes.
 *
 * The send queue is the user's bytes in 64 KiB chunks ([sndUna, writeSeq) of sequence space):
 * a segment is cut from it at transmit time, so a retransmission after an RTO (BSD's snd_nxt
 * rewind) or a fast retransmit just copies the same range again.
 */
import { allocSkb, type SkBuff } from '../core/skbuff.js';
import { tcpUdpChecksum } from '../core/checksum.js';
import type { NetNs } from '../netns.js';
import { EMSGSIZE } from '../../errno.js';
import { ipSend } from './ip_output.js';
import { ipRouteOutput } from './route.js';
import {
  after,
  before,
  packetsInFlight,
  seqAdd,
  seqDiff,
  TCP_CLOSE_WAIT,
  TCP_CLOSING,
  TCP_ESTABLISHED,
  TCP_FIN_WAIT1,
  TCP_LAST_ACK,
  TCP_MIN_MSS,
  TCP_RTO_MAX_NS,
  TCPHDR_ACK,
  TCPHDR_FIN,
  TCPHDR_PSH,
  TCPHDR_RST,
  TCPHDR_SYN,
  TCPOPT_MSS,
  TCPOPT_NOP,
  TCPOPT_WINDOW,
  IPPROTO_TCP,
  type RequestSock,
  type TcpSock,
} from './tcp_sock.js';

/** Stride of the send-queue chunks: a byte at queue position p is in chunk p >>> 16. */
export const SND_CHUNK_SHIFT = 16;
export const SND_CHUNK = 1 << SND_CHUNK_SHIFT;

/** ICSK_TIME_RETRANS / ICSK_TIME_PROBE0 (the kind of rtxTimer that is pending). */
export const ICSK_TIME_RETRANS = 1;
export const ICSK_TIME_PROBE0 = 3;

/** A segment to build: everything __tcp_transmit_skb writes into the header. */
interface OutSeg {
  saddr: number;
  daddr: number;
  sport: number;
  dport: number;
  seq: number;
  ack: number;
  flags: number;
  window: number;
  opts: Uint8Array | null;
  tos: number;
  ttl: number;
  oif: number;
}

/**
 * __tcp_transmit_skb's header part: `skb` holds the payload at data; push the header with its
 * options, compute the checksum over header + payload with the pseudo header, and hand the
 * segment to IP. Counts OutSegs. Returns ipSend's result.
 */
export function tcpTransmit(ns: NetNs, skb: SkBuff, o: OutSeg): number {
  const optLen = o.opts ? o.opts.length : 0;
  const hlen = 20 + optLen;
  const h = skb.push(hlen);
  const b = skb.buf;
  b[h] = o.sport >>> 8;
  b[h + 1] = o.sport & 0xff;
  b[h + 2] = o.dport >>> 8;
  b[h + 3] = o.dport & 0xff;
  b[h + 4] = o.seq >>> 24;
  b[h + 5] = (o.seq >>> 16) & 0xff;
  b[h + 6] = (o.seq >>> 8) & 0xff;
  b[h + 7] = o.seq & 0xff;
  b[h + 8] = o.ack >>> 24;
  b[h + 9] = (o.ack >>> 16) & 0xff;
  b[h + 10] = (o.ack >>> 8) & 0xff;
  b[h + 11] = o.ack & 0xff;
  b[h + 12] = (hlen >> 2) << 4;
  b[h + 13] = o.flags;
  b[h + 14] = (o.window >>> 8) & 0xff;
  b[h + 15] = o.window & 0xff;
  b[h + 16] = 0;
  b[h + 17] = 0;
  b[h + 18] = 0;
  b[h + 19] = 0;
  if (o.opts) b.set(o.opts, h + 20);
  skb.transportHeader = h;
  const c = tcpUdpChecksum(b, h, skb.len, o.saddr, o.daddr, IPPROTO_TCP);
  b[h + 16] = c >>> 8;
  b[h + 17] = c & 0xff;
  skb.saddr = o.saddr;
  skb.daddr = o.daddr;
  skb.priority = o.tos;
  ns.mib.tcp.OutSegs++;
  if (o.flags & TCPHDR_RST) ns.mib.tcp.OutRsts++;
  // TCP does path MTU discovery: DF set (IP_PMTUDISC_WANT), segments sized by the MSS.
  return ipSend(ns, skb, {
    saddr: o.saddr,
    daddr: o.daddr,
    protocol: IPPROTO_TCP,
    ttl: o.ttl || undefined,
    tos: o.tos,
    oif: o.oif || undefined,
    df: true,
  });
}

/** The SYN / SYN-ACK options: MSS, and window scale when we (and on a SYN-ACK, the peer) use it. */
function synOptions(mss: number, wscale: number): Uint8Array {
  const n = wscale >= 0 ? 8 : 4;
  const o = new Uint8Array(n);
  o[0] = TCPOPT_MSS;
  o[1] = 4;
  o[2] = mss >>> 8;
  o[3] = mss & 0xff;
  if (wscale >= 0) {
    o[4] = TCPOPT_NOP;
    o[5] = TCPOPT_WINDOW;
    o[6] = 3;
    o[7] = wscale;
  }
  return o;
}

/**
 * tcp_select_initial_window's scale: the smallest shift that lets the largest receive buffer
 * we may grow to (tcp_rmem[2]) be advertised.
 */
export function tcpSelectWscale(ns: NetNs, rcvbuf: number): number {
  if (!ns.sysctl.tcpWindowScaling) return 0;
  let space = Math.max(rcvbuf, ns.sysctl.tcpRmem[2]);
  let s = 0;
  while (space > 65535 && s < 14) {
    space >>>= 1;
    s++;
  }
  return s;
}

/** Free receive space (tcp_space): the buffer minus what is queued in order and out of order. */
export function tcpSpace(sk: TcpSock): number {
  return Math.max(0, sk.rcvbuf - sk.rcvQueued - sk.ofoBytes);
}

/** tcp_receive_window: what is left of the window we last advertised. */
export function tcpReceiveWindow(sk: TcpSock): number {
  const w = sk.rcvWnd + seqDiff(sk.rcvWup, sk.rcvNxt);
  return w < 0 ? 0 : w;
}

/**
 * __tcp_select_window: offer the free space, but no window smaller than an MSS (receiver
 * silly-window avoidance, RFC 9293 §3.8.6.2.2), rounded to the scale granularity.
 */
function selectWindowRaw(sk: TcpSock): number {
  const mss = Math.min(sk.rcvMss, sk.advMss);
  const full = Math.max(sk.rcvbuf, mss);
  let free = tcpSpace(sk);
  if (free < full >> 1 && free < mss) return 0;
  if (free > 65535 << sk.rcvWscale) free = 65535 << sk.rcvWscale;
  if (sk.rcvWscale) return free & ~((1 << sk.rcvWscale) - 1);
  let w = sk.rcvWnd;
  if (w <= free - mss || w > free) w = free - (free % mss);
  return w;
}

/** tcp_select_window: never shrink what we offered; remember it (rcv_wnd, rcv_wup). Returns the header field. */
export function tcpSelectWindow(sk: TcpSock): number {
  const old = sk.rcvWnd;
  const cur = tcpReceiveWindow(sk);
  let nw = selectWindowRaw(sk);
  if (nw < cur) nw = (cur + (1 << sk.rcvWscale) - 1) & ~((1 << sk.rcvWscale) - 1);
  sk.rcvWnd = nw;
  sk.rcvWup = sk.rcvNxt;
  const ext = sk.ns.mib.tcpExt;
  if (nw === 0) {
    if (old !== 0) ext.TCPToZeroWindowAdv++;
    else ext.TCPWantZeroWindowAdv++;
  } else if (old === 0) ext.TCPFromZeroWindowAdv++;
  return Math.min(65535, nw >>> sk.rcvWscale);
}

/** tcp_event_ack_sent: an ACK went out with this segment, so no delayed ACK is owed. */
function ackSent(sk: TcpSock): void {
  sk.ackPending = false;
  sk.rcvSegsSinceAck = 0;
  if (sk.quick > 0) sk.quick--;
  if (sk.delackTimer.pending) sk.ns.timers.del(sk.delackTimer);
}

function outSeg(sk: TcpSock, seq: number, flags: number): OutSeg {
  return {
    saddr: sk.laddr,
    daddr: sk.raddr,
    sport: sk.lport,
    dport: sk.rport,
    seq,
    ack: flags & TCPHDR_ACK ? sk.rcvNxt : 0,
    flags,
    window: 0,
    opts: null,
    tos: sk.tos,
    ttl: sk.ttl,
    oif: sk.oif,
  };
}

/** Copy `len` bytes of the send queue starting at sequence `seq` into `dst` at `off`. */
function sndCopy(sk: TcpSock, seq: number, len: number, dst: Uint8Array, off: number): void {
  let p = sk.sndHeadOff + seqDiff(seq, sndDataUna(sk));
  while (len > 0) {
    const c = sk.sndChunks[p >>> SND_CHUNK_SHIFT]!;
    const within = p & (SND_CHUNK - 1);
    const n = Math.min(len, SND_CHUNK - within);
    dst.set(c.subarray(within, within + n), off);
    off += n;
    p += n;
    len -= n;
  }
}

/** The sequence number of the first unacknowledged data byte (past the SYN). */
export function sndDataUna(sk: TcpSock): number {
  return sk.sndUna === sk.iss ? seqAdd(sk.iss, 1) : sk.sndUna;
}

/** Append user bytes to the send queue (tcp_sendmsg_locked's copy into the tail skb). */
export function sndQueueAppend(sk: TcpSock, data: Uint8Array): void {
  let src = 0;
  while (src < data.length) {
    const pos = sk.sndHeadOff + sk.sndQueued;
    const idx = pos >>> SND_CHUNK_SHIFT;
    const within = pos & (SND_CHUNK - 1);
    let c = sk.sndChunks[idx];
    const n = Math.min(data.length - src, SND_CHUNK - within);
    if (!c) {
      // Small writers get a small chunk (many idle connections stay cheap); bulk writers the whole stride.
      c = new Uint8Array(n >= 2048 || idx > 0 ? SND_CHUNK : 4096);
      sk.sndChunks[idx] = c;
    } else if (within + n > c.length) {
      let cap = c.length;
      while (cap < within + n) cap *= 2;
      const g = new Uint8Array(Math.min(SND_CHUNK, cap));
      g.set(c.subarray(0, within));
      c = g;
      sk.sndChunks[idx] = c;
    }
    c.set(data.subarray(src, src + n), within);
    src += n;
    sk.sndQueued += n;
  }
  sk.writeSeq = seqAdd(sk.writeSeq, data.length);
}

/** Drop `n` acknowledged bytes from the front of the send queue (tcp_clean_rtx_queue). */
export function sndQueueDrop(sk: TcpSock, n: number): void {
  if (n <= 0) return;
  sk.sndQueued -= n;
  sk.sndHeadOff += n;
  if (sk.sndQueued === 0) {
    // Empty: free the chunks; the next write starts a small one.
    sk.sndChunks.length = 0;
    sk.sndHeadOff = 0;
    return;
  }
  const drop = sk.sndHeadOff >>> SND_CHUNK_SHIFT;
  if (drop > 0) {
    sk.sndChunks.splice(0, drop);
    sk.sndHeadOff &= SND_CHUNK - 1;
  }
}

/** Can this state send data (tcp_write_xmit is only reached in these)? */
function canSendData(sk: TcpSock): boolean {
  const s = sk.skState;
  return (
    s === TCP_ESTABLISHED || s === TCP_CLOSE_WAIT || s === TCP_FIN_WAIT1 || s === TCP_CLOSING || s === TCP_LAST_ACK
  );
}

/**
 * Build and send the segment [seq, seq+len) of the send queue, with FIN when it ends there.
 * (tcp_transmit_skb for data.)
 */
function sendDataSeg(sk: TcpSock, seq: number, len: number, fin: boolean, push: boolean): number {
  const skb = allocSkb(len);
  if (len > 0) sndCopy(sk, seq, len, skb.buf, skb.put(len));
  let flags = TCPHDR_ACK;
  if (fin) flags |= TCPHDR_FIN;
  if (push && len > 0) flags |= TCPHDR_PSH;
  const o = outSeg(sk, seq, flags);
  o.window = tcpSelectWindow(sk);
  ackSent(sk);
  sk.segsOut++;
  const now = sk.ns.env.nowNs();
  if (len > 0) {
    sk.dataSegsOut++;
    sk.bytesSent += len;
    // tcp_event_data_sent: a reply within ato of the last data received means an interactive
    // exchange; delay our ACKs so they ride on the replies (pingpong mode).
    if (sk.lastDataRcvNs && now - sk.lastDataRcvNs < sk.ato) sk.pingpong = true;
  }
  sk.lastSndNs = now;
  const r = tcpTransmit(sk.ns, skb, o);
  if (r === -EMSGSIZE) tcpSyncMss(sk);
  return r;
}

/**
 * tcp_sync_mss after the route's MTU shrank under us (the segment was refused with
 * EMSGSIZE): take the new path MTU; the lost segment goes again, smaller, on the next
 * retransmission.
 */
function tcpSyncMss(sk: TcpSock): void {
  const rt = ipRouteOutput(sk.ns, { daddr: sk.raddr, saddr: sk.laddr, oif: sk.oif || undefined, tos: sk.tos });
  if (typeof rt === 'number') return;
  const mtu = Math.min(rt.mtu, 0xfff0);
  if (mtu < sk.pmtu) {
    sk.pmtu = mtu;
    sk.mss = Math.max(TCP_MIN_MSS, Math.min(sk.mss, mtu - 40));
  }
}

/** inet_csk_reset_xmit_timer(ICSK_TIME_RETRANS, rto). */
export function tcpResetXmitTimer(sk: TcpSock, what = ICSK_TIME_RETRANS, whenNs = sk.rto): void {
  sk.pending = what;
  sk.ns.timers.modIn(sk.rtxTimer, Math.min(whenNs, TCP_RTO_MAX_NS));
}

export function tcpClearXmitTimer(sk: TcpSock): void {
  sk.pending = 0;
  sk.ns.timers.del(sk.rtxTimer);
}

/** tcp_current_mss: the send MSS (no options on data segments). */
function currentMss(sk: TcpSock): number {
  return sk.mss;
}

/**
 * tcp_write_xmit: send new segments while the congestion window (tcp_cwnd_test), the peer's
 * window (tcp_snd_wnd_test) and Nagle/cork (tcp_nagle_test) allow. Returns whether anything
 * is still waiting (for the zero-window probe: tcp_check_probe_timer).
 */
export function tcpWriteXmit(sk: TcpSock, forcePush = false, probe = false): void {
  if (!canSendData(sk)) return;
  const mss = currentMss(sk);
  let sent = false;
  for (;;) {
    const unsent = seqDiff(sk.writeSeq, sk.sndNxt);
    const finNow = sk.finQueued && unsent <= 0 && sk.sndNxt === sk.finSeq;
    if (unsent <= 0 && !finNow) break;
    if (packetsInFlight(sk) >= sk.cwnd) break;
    let len = unsent > 0 ? Math.min(unsent, mss) : 0;
    const wndEnd = seqAdd(sk.sndUna, sk.sndWnd);
    const allowed = seqDiff(wndEnd, sk.sndNxt);
    if (len > allowed) {
      // Sender silly-window avoidance: a sliver of window is used only if it is at least half the largest window seen.
      // The zero-window probe (tcp_write_wakeup) does send what fits.
      if (allowed <= 0 || (!probe && allowed < mss && allowed < sk.maxSndWnd >> 1)) break;
      len = allowed;
    }
    const lastPiece = len === unsent;
    if (len < mss && len > 0 && !(lastPiece && sk.finQueued)) {
      // tcp_nagle_check: a partial segment waits while corked, or (Nagle) while data is in flight.
      if (sk.cork && !forcePush) break;
      if (!sk.nodelay && !forcePush && sk.sndNxt !== sk.sndUna) break;
    }
    const fin = sk.finQueued && seqAdd(sk.sndNxt, len) === sk.finSeq;
    const seq = sk.sndNxt;
    const retrans = before(seq, sk.sndMax);
    sendDataSeg(sk, seq, len, fin, lastPiece);
    if (retrans) {
      sk.ns.mib.tcp.RetransSegs++;
      sk.totalRetrans++;
      sk.bytesRetrans += len;
    } else if (len > 0) sk.ns.mib.tcpExt.TCPOrigDataSent++;
    sk.sndNxt = seqAdd(seq, len + (fin ? 1 : 0));
    if (after(sk.sndNxt, sk.sndMax)) {
      sk.sndMax = sk.sndNxt;
      // Time one segment per window (Karn: never one that is a retransmission).
      if (sk.rttStartNs < 0) {
        sk.rttSeq = sk.sndNxt;
        sk.rttStartNs = sk.ns.env.nowNs();
      }
    }
    sent = true;
    if (!sk.rtxTimer.pending || sk.pending !== ICSK_TIME_RETRANS) tcpResetXmitTimer(sk);
  }
  if (!sent) tcpCheckProbeTimer(sk);
}

/** tcp_check_probe_timer: data waits on a zero window with nothing in flight, so probe it. */
export function tcpCheckProbeTimer(sk: TcpSock): void {
  if (sk.sndNxt !== sk.sndUna || sk.rtxTimer.pending) return;
  const unsent = seqDiff(sk.writeSeq, sk.sndNxt) > 0 || (sk.finQueued && sk.sndNxt === sk.finSeq);
  if (!unsent) return;
  if (sk.sndWnd > 0 && sk.sndWnd >= Math.min(sk.mss, seqDiff(sk.writeSeq, sk.sndNxt))) return;
  sk.probesOut = 0;
  tcpResetXmitTimer(sk, ICSK_TIME_PROBE0, Math.min(sk.rto * 2 ** sk.backoff, TCP_RTO_MAX_NS));
}

/** __tcp_push_pending_frames. */
export function tcpPush(sk: TcpSock): void {
  tcpWriteXmit(sk, false);
}

/**
 * tcp_retransmit_skb for the head: resend the first unacknowledged segment (fast retransmit,
 * NewReno partial ACKs). Counts RetransSegs; clears the RTT sample (Karn).
 */
export function tcpRetransmitHead(sk: TcpSock): number {
  const mss = currentMss(sk);
  const seq = sndDataUna(sk);
  if (sk.sndUna === sk.iss) return seq;
  const dataEnd = sk.writeSeq;
  const avail = Math.max(0, seqDiff(before(sk.sndMax, dataEnd) ? sk.sndMax : dataEnd, seq));
  const len = Math.min(avail, mss);
  const fin = sk.finQueued && seqAdd(seq, len) === sk.finSeq && !before(sk.sndMax, seqAdd(sk.finSeq, 1));
  if (len === 0 && !fin) return seq;
  sendDataSeg(sk, seq, len, fin, true);
  sk.ns.mib.tcp.RetransSegs++;
  sk.totalRetrans++;
  sk.bytesRetrans += len;
  sk.rttStartNs = -1;
  if (!sk.retransStampNs) sk.retransStampNs = sk.ns.env.nowNs();
  return seqAdd(seq, len + (fin ? 1 : 0));
}

/** tcp_send_ack: a bare ACK with the current window. */
export function tcpSendAck(sk: TcpSock): void {
  const skb = allocSkb(0);
  const o = outSeg(sk, sk.sndNxt, TCPHDR_ACK);
  o.window = tcpSelectWindow(sk);
  ackSent(sk);
  sk.segsOut++;
  tcpTransmit(sk.ns, skb, o);
}

/**
 * tcp_xmit_probe_skb: an ACK with an old sequence number (snd_una - 1) that the peer must
 * answer with its current ACK and window (zero-window probes and keepalives).
 */
export function tcpXmitProbe(sk: TcpSock): void {
  const skb = allocSkb(0);
  const o = outSeg(sk, seqAdd(sk.sndUna, -1), TCPHDR_ACK);
  o.window = tcpSelectWindow(sk);
  sk.segsOut++;
  tcpTransmit(sk.ns, skb, o);
}

/** tcp_send_delayed_ack: ACK within ato (40 ms at least), unless a timer is already due sooner. */
export function tcpSendDelayedAck(sk: TcpSock): void {
  sk.ackPending = true;
  if (sk.delackTimer.pending) return;
  sk.ns.timers.modIn(sk.delackTimer, sk.ato);
}

/** tcp_connect → tcp_transmit_skb of the SYN (also its retransmissions). */
export function tcpSendSyn(sk: TcpSock): void {
  const skb = allocSkb(0);
  const o = outSeg(sk, sk.iss, TCPHDR_SYN);
  o.window = Math.min(65535, tcpSpace(sk));
  o.opts = synOptions(sk.advMss, sk.ns.sysctl.tcpWindowScaling ? sk.rcvWscale : -1);
  sk.segsOut++;
  tcpTransmit(sk.ns, skb, o);
}

/** tcp_make_synack: the SYN-ACK of a request (or of a SYN cookie, with `wscale` -1). */
export function tcpSendSynack(ns: NetNs, r: RequestSock, tos = 0): number {
  const skb = allocSkb(0);
  const lis = r.listener;
  const window = Math.min(65535, Math.max(lis.rcvbuf, r.advMss));
  return tcpTransmit(ns, skb, {
    saddr: r.laddr,
    daddr: r.raddr,
    sport: r.lport,
    dport: r.rport,
    seq: r.iss,
    ack: seqAdd(r.irs, 1),
    flags: TCPHDR_SYN | TCPHDR_ACK,
    window,
    opts: synOptions(r.advMss, r.wscaleOk ? r.rcvWscale : -1),
    tos: tos || lis.tos,
    ttl: lis.ttl,
    oif: 0,
  });
}

/** tcp_send_synack for a simultaneous open (our own SYN, now with the peer's ACK). */
export function tcpSendSynackSk(sk: TcpSock): void {
  const skb = allocSkb(0);
  const o = outSeg(sk, sk.iss, TCPHDR_SYN | TCPHDR_ACK);
  o.window = Math.min(65535, tcpSpace(sk));
  o.opts = synOptions(sk.advMss, sk.wscaleOk ? sk.rcvWscale : -1);
  sk.segsOut++;
  tcpTransmit(sk.ns, skb, o);
}

/** tcp_send_fin: queue the FIN after the last byte and push it out (it may ride on the last data segment). */
export function tcpSendFin(sk: TcpSock): void {
  if (sk.finQueued) return;
  sk.finQueued = true;
  sk.finSeq = sk.writeSeq;
  tcpWriteXmit(sk, true);
  // The FIN always goes eventually: with a zero window the probe timer sends it; otherwise the rtx timer is armed.
  if (!sk.rtxTimer.pending) tcpCheckProbeTimer(sk);
}

/** tcp_send_active_reset: RST|ACK at snd_nxt (abort, close with unread data, SO_LINGER 0). */
export function tcpSendActiveReset(sk: TcpSock): void {
  const skb = allocSkb(0);
  const o = outSeg(sk, sk.sndNxt, TCPHDR_RST | TCPHDR_ACK);
  o.window = 0;
  sk.segsOut++;
  tcpTransmit(sk.ns, skb, o);
}

/** Build a bare control segment outside any socket (tcp_v4_send_reset / tcp_v4_send_ack). */
export function tcpSendControl(
  ns: NetNs,
  saddr: number,
  daddr: number,
  sport: number,
  dport: number,
  seq: number,
  ack: number,
  flags: number,
  window = 0,
): void {
  tcpTransmit(ns, allocSkb(0), {
    saddr,
    daddr,
    sport,
    dport,
    seq,
    ack,
    flags,
    window,
    opts: null,
    tos: 0,
    ttl: 0,
    oif: 0,
  });
}

export { TCPHDR_ACK, TCPHDR_RST, TCPHDR_SYN, TCPHDR_FIN };
