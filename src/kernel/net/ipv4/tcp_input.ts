/**
 * Receiving segments on a socket that is not listening (net/ipv4/tcp_input.c):
 * tcp_rcv_state_process with the SYN_SENT part (tcp_rcv_synsent_state_process), the
 * acceptability tests of RFC 9293 §3.10.7.4 and RFC 5961 (tcp_validate_incoming), ACK
 * processing (tcp_ack: window update, RTT, congestion window, NewReno fast retransmit and
 * recovery per RFC 6582), the data path (tcp_data_queue, the out-of-order queue), FIN
 * (tcp_fin) and the ACK policy (__tcp_ack_snd_check, delayed ACKs).
 */
import * as E from '../../errno.js';
import { RCV_SHUTDOWN, SEND_SHUTDOWN } from '../uapi.js';
import { tcpCa } from './tcp_cong.js';
import {
  sndDataUna,
  sndQueueDrop,
  tcpCheckProbeTimer,
  tcpClearXmitTimer,
  tcpReceiveWindow,
  tcpResetXmitTimer,
  tcpRetransmitHead,
  tcpSendAck,
  tcpSendActiveReset,
  tcpSendDelayedAck,
  tcpSendSynackSk,
  tcpSpace,
  tcpWriteXmit,
  ICSK_TIME_RETRANS,
} from './tcp_output.js';
import {
  after,
  before,
  seqAdd,
  seqDiff,
  TCP_CLOSE,
  TCP_CLOSE_WAIT,
  TCP_CLOSING,
  TCP_ESTABLISHED,
  TCP_FIN_WAIT1,
  TCP_FIN_WAIT2,
  TCP_LAST_ACK,
  TCP_MAX_QUICKACKS,
  TCP_MAX_WSCALE,
  TCP_MIN_MSS,
  TCP_MSS_DEFAULT,
  TCP_RTO_MAX_NS,
  TCP_RTO_MIN_NS,
  TCP_SYN_RECV,
  TCP_SYN_SENT,
  TCP_TIMEWAIT_LEN_NS,
  TCP_TIME_WAIT,
  TCPHDR_ACK,
  TCPHDR_FIN,
  TCPHDR_RST,
  TCPHDR_SYN,
  type RxChunk,
  type TcpSeg,
  type TcpSock,
} from './tcp_sock.js';
import { tcpDone, tcpSetState, tcpStartKeepalive } from './tcp.js';
import { tcpTimeWait } from './tcp_minisocks.js';

/**
 * Autotuning stops at 1 MiB (Linux: tcp_rmem[2]): without SACK a window's worth of frames lost
 * at once to a full RX ring (1024 descriptors) or netdev backlog (1000) is recovered one hole
 * per RTT, so a window far beyond those queues costs more than it gains.
 */
const RCVBUF_AUTOTUNE_MAX = 1 << 20;

/** icsk_ca_state values. */
export const TCP_CA_OPEN = 0;
export const TCP_CA_DISORDER = 1;
export const TCP_CA_RECOVERY = 3;
export const TCP_CA_LOSS = 4;
/** sysctl_tcp_reordering: duplicate ACKs that mean a loss. */
const TCP_REORDERING = 3;

/** tcp_rtt_estimator + tcp_set_rto (RFC 6298 §2, with Linux's 200 ms floor on the variance term). */
export function tcpRttEstimator(sk: TcpSock, m: number): void {
  if (m <= 0) m = 1000;
  if (sk.srtt === 0) {
    sk.srtt = m;
    sk.rttvar = m / 2;
  } else {
    sk.rttvar = 0.75 * sk.rttvar + 0.25 * Math.abs(sk.srtt - m);
    sk.srtt = 0.875 * sk.srtt + 0.125 * m;
  }
  if (!sk.minRtt || m < sk.minRtt) sk.minRtt = m;
  sk.rto = Math.min(TCP_RTO_MAX_NS, sk.srtt + Math.max(4 * sk.rttvar, TCP_RTO_MIN_NS));
}

/** tcp_sndbuf_expand: without SO_SNDBUF, room for two windows' worth of segments (up to tcp_wmem[2]). */
export function tcpSndbufExpand(sk: TcpSock): void {
  if (sk.sndbufLocked) return;
  const want = Math.min(sk.ns.sysctl.tcpWmem[2], 2 * Math.max(sk.cwnd, 10) * sk.mss * 2);
  if (want > sk.sndbuf) {
    sk.sndbuf = want;
    if (sk.sock) sk.sock.sndbuf = want;
  }
}

/**
 * tcp_rcv_rtt_measure: without timestamps the receiver times how long the peer takes to fill
 * the window it was offered (one sample per window).
 */
function tcpRcvRttMeasure(sk: TcpSock, now: number): void {
  if (sk.rcvRttTimeNs && !before(sk.rcvNxt, sk.rcvRttSeq)) {
    const m = now - sk.rcvRttTimeNs;
    if (m > 0) sk.rcvRttNs = sk.rcvRttNs ? 0.875 * sk.rcvRttNs + 0.125 * m : m;
    sk.rcvRttTimeNs = 0;
  }
  if (!sk.rcvRttTimeNs) {
    sk.rcvRttSeq = seqAdd(sk.rcvNxt, Math.max(sk.rcvWnd, sk.rcvMss));
    sk.rcvRttTimeNs = now;
  }
}

/**
 * tcp_rcv_space_adjust: receive-buffer autotuning. Once per receiver RTT, if the reader
 * consumed more than last time, let the buffer (and so the window) hold twice that plus some
 * slack, up to tcp_rmem[2]. Not for SO_RCVBUF sockets.
 */
export function tcpRcvSpaceAdjust(sk: TcpSock): void {
  if (sk.rcvbufLocked) return;
  const now = sk.ns.env.nowNs();
  if (!sk.rcvqTimeNs) {
    sk.rcvqTimeNs = now;
    sk.rcvqSeq = sk.copiedSeq;
    sk.rcvqSpace = Math.min(sk.rcvWnd, TCP_MAX_QUICKACKS * sk.advMss);
    return;
  }
  const rtt = sk.rcvRttNs || sk.srtt;
  if (!rtt || now - sk.rcvqTimeNs < rtt) return;
  const copied = seqDiff(sk.copiedSeq, sk.rcvqSeq);
  if (copied > sk.rcvqSpace) {
    sk.rcvqSpace = copied;
    const want = Math.min(sk.ns.sysctl.tcpRmem[2], RCVBUF_AUTOTUNE_MAX, 2 * copied + 16 * sk.advMss);
    if (want > sk.rcvbuf) {
      sk.rcvbuf = want;
      if (sk.sock) sk.sock.rcvbuf = want;
    }
  }
  sk.rcvqSeq = sk.copiedSeq;
  sk.rcvqTimeNs = now;
}

/** sk_stream_is_writeable: free space at least half of what is queued (sk_stream_min_wspace). */
export function tcpWritable(sk: TcpSock): boolean {
  return sk.sndbuf - sk.sndQueued >= sk.sndQueued >> 1 && sk.sndbuf > sk.sndQueued;
}

/** tcp_finish_connect / tcp_init_transfer: the connection is up. */
export function tcpInitTransfer(sk: TcpSock): void {
  sk.cwnd = 10;
  sk.cwndCnt = 0;
  sk.ssthresh = 0x7fffffff;
  sk.caState = TCP_CA_OPEN;
  sk.highSeq = sk.sndUna;
  // tcp_initialize_rcv_mss: a conservative guess until segments show the real size.
  sk.rcvMss = Math.max(TCP_MIN_MSS, Math.min(sk.advMss, sk.mss, sk.rcvWnd >> 1, TCP_MSS_DEFAULT));
  sk.quick = Math.min(TCP_MAX_QUICKACKS, Math.max(2, Math.floor(sk.rcvWnd / (2 * sk.rcvMss))));
  sk.lastRcvNs = sk.ns.env.nowNs();
  tcpSndbufExpand(sk);
  if (sk.keepOpen) tcpStartKeepalive(sk);
}

/** Negotiated options of a SYN or SYN-ACK (tcp_parse_options + tcp_sync_mss). */
export function tcpApplySynOptions(sk: TcpSock, seg: TcpSeg): void {
  if (seg.wscale >= 0 && sk.ns.sysctl.tcpWindowScaling) {
    sk.wscaleOk = true;
    sk.sndWscale = Math.min(seg.wscale, TCP_MAX_WSCALE);
  } else {
    sk.wscaleOk = false;
    sk.sndWscale = 0;
    sk.rcvWscale = 0;
  }
  const peer = seg.mss || TCP_MSS_DEFAULT;
  let mss = Math.min(peer, sk.advMss);
  if (sk.userMss) mss = Math.min(mss, sk.userMss);
  sk.mss = Math.max(TCP_MIN_MSS, mss);
}

/** tcp_reset: the peer reset the connection. */
export function tcpReset(sk: TcpSock): void {
  const s = sk.skState;
  sk.err = s === TCP_SYN_SENT ? E.ECONNREFUSED : s === TCP_CLOSE_WAIT ? E.EPIPE : E.ECONNRESET;
  // EstabResets is counted by tcp_set_state(TCP_CLOSE).
  tcpDone(sk);
  sk.onError?.();
}

/** tcp_send_challenge_ack (RFC 5961): answer a suspicious RST or SYN with our ACK. */
function tcpSendChallengeAck(sk: TcpSock): void {
  sk.ns.mib.tcpExt.TCPChallengeACK++;
  tcpSendAck(sk);
}

/** tcp_sequence: does the segment overlap the window we offered? */
function tcpSequence(sk: TcpSock, seq: number, endSeq: number): boolean {
  return !before(endSeq, sk.rcvWup) && !after(seq, seqAdd(sk.rcvNxt, tcpReceiveWindow(sk)));
}

/** tcp_enter_recovery + tcp_fastretrans_alert's entry: the third duplicate ACK. */
function tcpEnterRecovery(sk: TcpSock): void {
  const ca = tcpCa(sk);
  sk.priorCwnd = sk.cwnd;
  sk.ssthresh = ca.ssthresh(sk);
  ca.onLoss?.(sk);
  sk.highSeq = sk.sndMax;
  sk.cwnd = sk.ssthresh + TCP_REORDERING;
  sk.cwndCnt = 0;
  sk.caState = TCP_CA_RECOVERY;
  const ext = sk.ns.mib.tcpExt;
  ext.TCPRenoRecovery++;
  ext.TCPFastRetrans++;
  tcpRetransmitHead(sk);
  tcpResetXmitTimer(sk);
}

/**
 * tcp_ack. Returns -1 for an ACK of data never sent (the caller answers and drops it), 0 for
 * an old or duplicate ACK, 1 when snd_una advanced.
 */
export function tcpAck(sk: TcpSock, seg: TcpSeg): number {
  const ack = seg.ack;
  if (before(ack, sk.sndUna)) return 0;
  if (after(ack, sk.sndMax)) return -1;
  const now = sk.ns.env.nowNs();
  sk.lastAckRcvNs = now;
  // tcp_ack_update_window (RFC 9293 §3.10.7.4 SND.WL1/WL2), the window of a SYN is never scaled.
  const nwin = seg.flags & TCPHDR_SYN ? seg.window : seg.window << sk.sndWscale;
  let windowChanged = false;
  if (after(ack, sk.sndUna) || after(seg.seq, sk.sndWl1) || (seg.seq === sk.sndWl1 && nwin > sk.sndWnd)) {
    if (sk.sndWnd !== nwin) {
      windowChanged = true;
      sk.sndWnd = nwin;
      if (nwin > sk.maxSndWnd) sk.maxSndWnd = nwin;
    }
    sk.sndWl1 = seg.seq;
    sk.sndWl2 = ack;
  }
  const acked = seqDiff(ack, sk.sndUna);
  if (acked > 0) {
    // tcp_clean_rtx_queue: drop the acknowledged bytes (the FIN and SYN are not in the queue).
    const dataUna = sndDataUna(sk);
    const dataEnd = before(ack, sk.writeSeq) ? ack : sk.writeSeq;
    const dataAcked = Math.max(0, seqDiff(dataEnd, dataUna));
    sndQueueDrop(sk, dataAcked);
    sk.sndUna = ack;
    if (before(sk.sndNxt, ack)) sk.sndNxt = ack;
    sk.bytesAcked += dataAcked;
    if (sk.rttStartNs >= 0 && !before(ack, sk.rttSeq)) {
      tcpRttEstimator(sk, now - sk.rttStartNs);
      sk.rttStartNs = -1;
    }
    sk.retransmits = 0;
    sk.backoff = 0;
    sk.probesOut = 0;
    sk.retransStampNs = 0;
    const pkts = Math.max(1, Math.ceil(acked / sk.mss));
    const ca = tcpCa(sk);
    if (sk.caState === TCP_CA_RECOVERY) {
      if (!before(ack, sk.highSeq)) {
        // Full ACK: leave recovery with the window at ssthresh (RFC 6582 §3.2 step 3).
        sk.cwnd = Math.max(2, Math.min(sk.ssthresh, sk.cwnd));
        sk.caState = TCP_CA_OPEN;
        sk.dupAcks = 0;
      } else {
        // Partial ACK: the next hole is lost too; resend it and deflate by what was acked.
        tcpRetransmitHead(sk);
        sk.cwnd = Math.max(sk.cwnd - pkts + 1, 2);
      }
    } else {
      if (sk.caState === TCP_CA_LOSS && !before(ack, sk.highSeq)) sk.caState = TCP_CA_OPEN;
      if (sk.caState === TCP_CA_DISORDER) sk.caState = TCP_CA_OPEN;
      sk.dupAcks = 0;
      ca.congAvoid(sk, pkts, now);
    }
    tcpSndbufExpand(sk);
    if (sk.sndUna === sk.sndMax) {
      tcpClearXmitTimer(sk);
      tcpCheckProbeTimer(sk);
    } else tcpResetXmitTimer(sk, ICSK_TIME_RETRANS);
    if (dataAcked > 0 && sk.sndQueued < sk.sndbuf && tcpWritable(sk)) sk.onWriteSpace?.();
    return 1;
  }
  // A duplicate ACK: nothing new, no data, same window, while data is outstanding.
  if (
    seg.data.length === 0 &&
    !windowChanged &&
    !(seg.flags & (TCPHDR_SYN | TCPHDR_FIN)) &&
    sk.sndMax !== sk.sndUna &&
    ack === sk.sndUna
  ) {
    sk.dupAcks++;
    if (sk.caState === TCP_CA_RECOVERY) {
      // Each further duplicate means a segment left the network: inflate (RFC 6582 §3.2 step 4).
      sk.cwnd++;
    } else if (sk.caState !== TCP_CA_LOSS) {
      if (sk.dupAcks >= TCP_REORDERING && after(ack, sk.highSeq)) tcpEnterRecovery(sk);
      else if (sk.dupAcks >= TCP_REORDERING && sk.highSeq === sk.sndUna) tcpEnterRecovery(sk);
      else sk.caState = TCP_CA_DISORDER;
    }
  } else if (windowChanged && sk.sndUna === sk.sndMax) {
    tcpCheckProbeTimer(sk);
  }
  return 0;
}

/** tcp_measure_rcv_mss: the largest segment the peer sends is our guess of its MSS. */
function tcpMeasureRcvMss(sk: TcpSock, len: number): void {
  if (len > sk.rcvMss) sk.rcvMss = Math.min(len, sk.advMss);
}

/** Queue in-order bytes for the reader. */
function queueRcv(sk: TcpSock, data: Uint8Array): void {
  if (data.length === 0) return;
  sk.rcvQueue.push(data);
  sk.rcvQueued += data.length;
  sk.rcvNxt = seqAdd(sk.rcvNxt, data.length);
  sk.bytesReceived += data.length;
}

/** tcp_ofo_queue: move what became in order out of the out-of-order queue. Returns whether a FIN came with it. */
function tcpOfoQueue(sk: TcpSock): boolean {
  let fin = false;
  while (sk.ofoQueue.length > 0) {
    const c = sk.ofoQueue[0]!;
    if (after(c.seq, sk.rcvNxt)) break;
    sk.ofoQueue.shift();
    sk.ofoBytes -= c.data.length;
    const end = seqAdd(c.seq, c.data.length);
    if (after(end, sk.rcvNxt)) queueRcv(sk, c.data.subarray(seqDiff(sk.rcvNxt, c.seq)));
    if (c.fin && end === sk.rcvNxt) {
      fin = true;
      break;
    }
  }
  return fin;
}

/** tcp_data_queue_ofo: insert into the sorted out-of-order queue, trimming overlaps. */
function tcpDataQueueOfo(sk: TcpSock, seq: number, data: Uint8Array, fin: boolean): void {
  sk.ns.mib.tcpExt.TCPOFOQueue++;
  const q = sk.ofoQueue;
  let end = seqAdd(seq, data.length);
  // Find the first entry that starts after us.
  let i = q.length;
  while (i > 0 && after(q[i - 1]!.seq, seq)) i--;
  // The predecessor may cover our start.
  if (i > 0) {
    const p = q[i - 1]!;
    const pend = seqAdd(p.seq, p.data.length);
    if (!before(pend, end) && !(fin && !p.fin && pend === end)) {
      sk.ns.mib.tcpExt.TCPOFOMerge++;
      return;
    }
    if (after(pend, seq)) {
      data = data.subarray(seqDiff(pend, seq));
      seq = pend;
    }
  }
  // Successors we cover entirely go; one we overlap cuts our tail.
  while (i < q.length) {
    const n = q[i]!;
    const nend = seqAdd(n.seq, n.data.length);
    if (!after(end, n.seq)) break;
    if (!before(end, nend)) {
      q.splice(i, 1);
      sk.ofoBytes -= n.data.length;
      fin = fin || n.fin;
      continue;
    }
    data = data.subarray(0, seqDiff(n.seq, seq));
    end = n.seq;
    fin = false;
    break;
  }
  const c: RxChunk = { seq, data, fin };
  q.splice(i, 0, c);
  sk.ofoBytes += data.length;
}

/** tcp_fin: the peer has no more to send. */
export function tcpFin(sk: TcpSock): void {
  sk.shutdown |= RCV_SHUTDOWN;
  sk.done = true;
  sk.finRcvd = true;
  switch (sk.skState) {
    case TCP_SYN_RECV:
    case TCP_ESTABLISHED:
      tcpSetState(sk, TCP_CLOSE_WAIT);
      break;
    case TCP_FIN_WAIT1:
      // Simultaneous close: our FIN is not acknowledged yet.
      tcpSetState(sk, TCP_CLOSING);
      break;
    case TCP_FIN_WAIT2:
      tcpSendAck(sk);
      tcpTimeWait(sk, TCP_TIMEWAIT_LEN_NS);
      break;
    default:
      break;
  }
  // Whatever was out of order beyond the FIN can never be used.
  sk.ofoQueue.length = 0;
  sk.ofoBytes = 0;
  if (!sk.dead) {
    sk.onStateChange?.();
    sk.onData?.();
  }
}

/**
 * tcp_data_queue: in-order data goes to the reader (and pulls the out-of-order queue after
 * it), old data is answered with an immediate duplicate ACK, future data waits in the
 * out-of-order queue. Returns whether an ACK must go out now.
 */
function tcpDataQueue(sk: TcpSock, seg: TcpSeg): boolean {
  let seq = seg.seq;
  let data = seg.data;
  const hasFin = (seg.flags & TCPHDR_FIN) !== 0;
  if (data.length === 0 && !hasFin) return false;
  const end = seqAdd(seq, data.length);
  if (data.length > 0) {
    sk.dataSegsIn++;
    sk.lastDataRcvNs = sk.ns.env.nowNs();
    tcpMeasureRcvMss(sk, data.length);
    tcpRcvRttMeasure(sk, sk.lastDataRcvNs);
  }
  // Entirely old: a retransmission we already have (D-SACK would go here).
  if (!after(seg.endSeq, sk.rcvNxt)) {
    sk.ns.mib.tcpExt.DelayedACKLost++;
    return true;
  }
  if (before(seq, sk.rcvNxt)) {
    data = data.subarray(seqDiff(sk.rcvNxt, seq));
    seq = sk.rcvNxt;
  }
  if (seq === sk.rcvNxt) {
    if (data.length > 0 && tcpReceiveWindow(sk) === 0) {
      sk.ns.mib.tcpExt.TCPZeroWindowDrop++;
      return true;
    }
    queueRcv(sk, data);
    let fin = hasFin && end === sk.rcvNxt;
    let hadOfo = false;
    if (sk.ofoQueue.length > 0) {
      hadOfo = true;
      if (tcpOfoQueue(sk)) fin = true;
    }
    if (fin) {
      sk.rcvNxt = seqAdd(sk.rcvNxt, 1);
      tcpFin(sk);
      return true;
    }
    if (data.length > 0 && !sk.dead) sk.onData?.();
    // Filling a hole, or holes still there: tell the sender at once.
    return hadOfo || sk.ofoQueue.length > 0;
  }
  // Out of order: keep it if it is inside the window.
  if (!before(seq, seqAdd(sk.rcvNxt, tcpReceiveWindow(sk)))) {
    sk.ns.mib.tcpExt.TCPOFODrop++;
    return true;
  }
  if (tcpSpace(sk) < data.length) {
    sk.ns.mib.tcpExt.OfoPruned++;
    return true;
  }
  tcpDataQueueOfo(sk, seq, data, hasFin);
  return true;
}

/** __tcp_ack_snd_check: ACK now (every second full segment, quickack mode, holes) or delay it. */
function tcpAckSndCheck(sk: TcpSock, now: boolean): void {
  if (!sk.ackPending && !now) return;
  if (now || seqDiff(sk.rcvNxt, sk.rcvWup) > sk.rcvMss || (sk.quick > 0 && !sk.pingpong) || sk.ofoQueue.length > 0) {
    tcpSendAck(sk);
    return;
  }
  tcpSendDelayedAck(sk);
}

/** tcp_rcv_synsent_state_process: the answer to our SYN. Returns whether to send a RST for the segment. */
function tcpRcvSynsent(sk: TcpSock, seg: TcpSeg): boolean {
  if (seg.flags & TCPHDR_ACK) {
    if (!after(seg.ack, sk.iss) || after(seg.ack, sk.sndMax)) return !(seg.flags & TCPHDR_RST);
  }
  if (seg.flags & TCPHDR_RST) {
    if (seg.flags & TCPHDR_ACK) tcpReset(sk);
    return false;
  }
  if (!(seg.flags & TCPHDR_SYN)) return false;
  sk.irs = seg.seq;
  sk.rcvNxt = seqAdd(seg.seq, 1);
  sk.copiedSeq = sk.rcvNxt;
  sk.rcvWup = sk.rcvNxt;
  tcpApplySynOptions(sk, seg);
  if (seg.flags & TCPHDR_ACK) {
    const now = sk.ns.env.nowNs();
    if (sk.retransmits === 0 && sk.rttStartNs >= 0) tcpRttEstimator(sk, now - sk.rttStartNs);
    sk.rttStartNs = -1;
    sk.sndUna = seg.ack;
    sk.sndWnd = seg.window;
    sk.maxSndWnd = seg.window;
    sk.sndWl1 = seg.seq;
    sk.sndWl2 = seg.ack;
    sk.retransmits = 0;
    sk.backoff = 0;
    tcpClearXmitTimer(sk);
    tcpSetState(sk, TCP_ESTABLISHED);
    tcpInitTransfer(sk);
    sk.onStateChange?.();
    sk.onWriteSpace?.();
    if (seg.data.length > 0 || seg.flags & TCPHDR_FIN) {
      const s2: TcpSeg = { ...seg, seq: seqAdd(seg.seq, 1), flags: seg.flags & ~TCPHDR_SYN };
      tcpDataQueue(sk, s2);
    }
    tcpSendAck(sk);
    tcpWriteXmit(sk);
    return false;
  }
  // Simultaneous open (RFC 9293 §3.5, figure 8): SYN_RECV and a SYN-ACK of our own.
  sk.sndWnd = seg.window;
  sk.maxSndWnd = seg.window;
  sk.sndWl1 = seg.seq;
  tcpSetState(sk, TCP_SYN_RECV);
  tcpSendSynackSk(sk);
  return false;
}

/**
 * tcp_rcv_state_process for every state but LISTEN (and TIME_WAIT, see tcp_minisocks.ts).
 * Returns true when the caller must answer the segment with a RST (tcp_v4_do_rcv's reset:).
 */
export function tcpRcvStateProcess(sk: TcpSock, seg: TcpSeg): boolean {
  const now = sk.ns.env.nowNs();
  sk.segsIn++;
  if (sk.skState === TCP_CLOSE) return !(seg.flags & TCPHDR_RST);
  if (sk.skState === TCP_SYN_SENT) return tcpRcvSynsent(sk, seg);
  sk.lastRcvNs = now;
  // Any answer from the peer ends keepalive and window probing's count (tcp_ack: icsk_probes_out = 0).
  sk.probesOut = 0;
  sk.errSoft = 0;
  // 1. Sequence number acceptable?
  if (!tcpSequence(sk, seg.seq, seg.endSeq)) {
    // tcp_send_dupack: tell the peer where we are (it may be probing a zero window).
    if (!(seg.flags & TCPHDR_RST)) tcpSendAck(sk);
    return false;
  }
  // 2. RST (RFC 5961 §3.2: exactly rcv_nxt resets, anything else in the window is challenged).
  if (seg.flags & TCPHDR_RST) {
    if (seg.seq === sk.rcvNxt) tcpReset(sk);
    else tcpSendChallengeAck(sk);
    return false;
  }
  // 4. A SYN in a synchronized state (RFC 5961 §4).
  if (seg.flags & TCPHDR_SYN && sk.skState !== TCP_SYN_RECV) {
    sk.ns.mib.tcpExt.TCPSYNChallenge++;
    tcpSendChallengeAck(sk);
    return false;
  }
  if (!(seg.flags & TCPHDR_ACK)) return false;
  // 5. ACK.
  if (sk.skState === TCP_SYN_RECV) {
    if (!after(seg.ack, sk.sndUna) || after(seg.ack, sk.sndMax)) return true;
    tcpSetState(sk, TCP_ESTABLISHED);
    sk.sndUna = seg.ack;
    sk.sndWnd = seg.window << sk.sndWscale;
    sk.maxSndWnd = sk.sndWnd;
    sk.sndWl1 = seg.seq;
    tcpClearXmitTimer(sk);
    tcpInitTransfer(sk);
    sk.onStateChange?.();
    sk.onWriteSpace?.();
  }
  const r = tcpAck(sk, seg);
  if (r < 0) {
    tcpSendChallengeAck(sk);
    return false;
  }
  const finAcked = sk.finQueued && after(sk.sndUna, sk.finSeq);
  switch (sk.skState) {
    case TCP_FIN_WAIT1:
      if (finAcked) {
        tcpSetState(sk, TCP_FIN_WAIT2);
        sk.shutdown |= SEND_SHUTDOWN;
        if (!sk.dead) sk.onStateChange?.();
        else {
          // An orphan waits tcp_fin_timeout for the peer's FIN (tcp_rcv_state_process → tcp_time_wait/keepalive timer).
          const tmo = (sk.linger2 > 0 ? sk.linger2 : sk.ns.sysctl.tcpFinTimeout) * 1e9;
          sk.ns.timers.modIn(sk.keepTimer, tmo);
        }
      }
      break;
    case TCP_CLOSING:
      if (finAcked) {
        tcpTimeWait(sk, TCP_TIMEWAIT_LEN_NS);
        return false;
      }
      break;
    case TCP_LAST_ACK:
      if (finAcked) {
        tcpDone(sk);
        return false;
      }
      break;
  }
  // 7. Segment text.
  let ackNow = false;
  switch (sk.skState) {
    case TCP_CLOSE_WAIT:
    case TCP_CLOSING:
    case TCP_LAST_ACK:
      // Data after the peer's FIN is nonsense; just keep acknowledging.
      if (!before(seg.seq, sk.rcvNxt)) break;
      break;
    case TCP_FIN_WAIT1:
    case TCP_FIN_WAIT2:
      // Nobody will read: data now resets the connection (RFC 9293 §3.10.7.4 text, Linux's TCPAbortOnData).
      if (sk.shutdown & RCV_SHUTDOWN && seg.data.length > 0 && after(seqAdd(seg.seq, seg.data.length), sk.rcvNxt)) {
        sk.ns.mib.tcpExt.TCPAbortOnData++;
        tcpSendActiveReset(sk);
        tcpReset(sk);
        return false;
      }
      ackNow = tcpDataQueue(sk, seg);
      break;
    case TCP_ESTABLISHED:
      ackNow = tcpDataQueue(sk, seg);
      break;
  }
  if (sk.skState === TCP_CLOSE || sk.skState === TCP_TIME_WAIT) return false;
  // tcp_data_snd_check: the ACK may have opened the windows.
  tcpWriteXmit(sk);
  if (seg.data.length > 0 || seg.flags & TCPHDR_FIN) {
    sk.ackPending = true;
    if (seg.data.length >= sk.rcvMss) sk.rcvSegsSinceAck++;
  }
  tcpAckSndCheck(sk, ackNow);
  return false;
}

/** tcp_cleanup_rbuf: after a read, owe an ACK now if the window opened a lot (or one was pending and due). */
export function tcpCleanupRbuf(sk: TcpSock, copied: number): void {
  if (sk.skState === TCP_CLOSE || sk.skState === TCP_SYN_SENT) return;
  let timeToAck = false;
  if (sk.ackPending && seqDiff(sk.rcvNxt, sk.rcvWup) > sk.rcvMss) timeToAck = true;
  if (copied > 0 && !timeToAck && !(sk.shutdown & RCV_SHUTDOWN)) {
    const now = tcpReceiveWindow(sk);
    if (2 * now <= sk.rcvbuf) {
      const free = tcpSpace(sk);
      const mss = Math.min(sk.rcvMss, sk.advMss);
      if (free >= mss && free >= 2 * now) timeToAck = true;
    }
  }
  if (timeToAck) tcpSendAck(sk);
}
