/**
 * TCP timers (net/ipv4/tcp_timer.c), all on the namespace's TimerList:
 *   - the retransmit timer (tcp_retransmit_timer: RTO with exponential backoff, SYN retries,
 *     tcp_retries2 → ETIMEDOUT) which is also the zero-window probe timer (tcp_probe_timer);
 *   - the delayed-ACK timer (tcp_delack_timer);
 *   - sk_timer (tcp_keepalive_timer): keepalive probes, the orphaned FIN_WAIT2 timeout, and
 *     for a TIME_WAIT socket the end of 2MSL (tw_timer_handler).
 */
import * as E from '../../errno.js';
import { tcpAbort, tcpDone, keepaliveIntvlNs, keepaliveProbes, keepaliveTimeNs } from './tcp.js';
import { tcpCa } from './tcp_cong.js';
import { tcpLocked } from './tcp_lock.js';
import { TCP_CA_LOSS, TCP_CA_DISORDER } from './tcp_input.js';
import { inetTwskKill } from './tcp_minisocks.js';
import {
  ICSK_TIME_PROBE0,
  ICSK_TIME_RETRANS,
  tcpResetXmitTimer,
  tcpRetransmitHead,
  tcpSendAck,
  tcpSendActiveReset,
  tcpSendSyn,
  tcpSendSynackSk,
  tcpWriteXmit,
  tcpXmitProbe,
} from './tcp_output.js';
import {
  after,
  seqDiff,
  TCP_CLOSE,
  TCP_CLOSE_WAIT,
  TCP_ESTABLISHED,
  TCP_FIN_WAIT2,
  TCP_LISTEN,
  TCP_RTO_MAX_NS,
  TCP_SYN_RECV,
  TCP_SYN_SENT,
  TCP_TIME_WAIT,
  TcpSock,
} from './tcp_sock.js';

/** tcp_orphan_retries = 0 means 8 (tcp_orphan_retries()). */
const ORPHAN_RETRIES = 8;

/** tcp_write_err: give up with the soft error if one was seen, else ETIMEDOUT. */
function tcpWriteErr(sk: TcpSock): void {
  tcpAbort(sk, sk.errSoft || E.ETIMEDOUT);
}

/** tcp_write_timeout: have we retried too often? (Counted, where Linux converts to a time budget.) */
function tcpWriteTimeout(sk: TcpSock): boolean {
  const sc = sk.ns.sysctl;
  let retries: number;
  if (sk.skState === TCP_SYN_SENT || sk.skState === TCP_SYN_RECV) retries = sk.synCnt || sc.tcpSynRetries;
  else retries = sk.dead ? Math.min(ORPHAN_RETRIES, sc.tcpRetries2) : sc.tcpRetries2;
  if (sk.userTimeoutMs && sk.retransStampNs && sk.ns.env.nowNs() - sk.retransStampNs >= sk.userTimeoutMs * 1e6) {
    tcpWriteErr(sk);
    return true;
  }
  if (sk.retransmits >= retries) {
    if (sk.skState !== TCP_SYN_SENT && sk.skState !== TCP_SYN_RECV) sk.ns.mib.tcpExt.TCPAbortOnTimeout++;
    tcpWriteErr(sk);
    return true;
  }
  return false;
}

/** tcp_enter_loss: everything in flight is presumed lost; restart from one segment in slow start. */
function tcpEnterLoss(sk: TcpSock): void {
  if (
    sk.caState <= TCP_CA_DISORDER ||
    !after(sk.highSeq, sk.sndUna) ||
    (sk.caState === TCP_CA_LOSS && !sk.retransmits)
  ) {
    sk.priorCwnd = sk.cwnd;
    sk.ssthresh = tcpCa(sk).ssthresh(sk);
    tcpCa(sk).onLoss?.(sk);
  }
  sk.cwnd = 1;
  sk.cwndCnt = 0;
  sk.caState = TCP_CA_LOSS;
  sk.highSeq = sk.sndMax;
  sk.dupAcks = 0;
}

/** tcp_retransmit_timer. */
function tcpRetransmitTimer(sk: TcpSock): void {
  const ns = sk.ns;
  if (sk.sndUna === sk.sndMax && !(sk.skState === TCP_SYN_SENT || sk.skState === TCP_SYN_RECV)) return;
  if (tcpWriteTimeout(sk)) return;
  if (sk.skState === TCP_SYN_SENT || sk.skState === TCP_SYN_RECV) {
    if (sk.skState === TCP_SYN_SENT) tcpSendSyn(sk);
    else tcpSendSynackSk(sk);
    ns.mib.tcp.RetransSegs++;
    ns.mib.tcpExt.TCPSynRetrans++;
    ns.mib.tcpExt.TCPTimeouts++;
    sk.totalRetrans++;
    sk.rttStartNs = -1;
    sk.retransmits++;
    sk.backoff++;
    sk.rto = Math.min(sk.rto * 2, TCP_RTO_MAX_NS);
    tcpResetXmitTimer(sk, ICSK_TIME_RETRANS, sk.rto);
    return;
  }
  ns.mib.tcpExt.TCPTimeouts++;
  if (sk.caState === TCP_CA_LOSS) ns.mib.tcpExt.TCPLossFailures += sk.retransmits ? 0 : 1;
  else if (sk.caState === 3) ns.mib.tcpExt.TCPRenoFailures++;
  tcpEnterLoss(sk);
  // Go back to the first unacknowledged byte (the head goes out regardless of the peer's window).
  sk.sndNxt = sk.sndUna;
  const end = tcpRetransmitHead(sk);
  if (seqDiff(end, sk.sndNxt) > 0) sk.sndNxt = end;
  sk.retransmits++;
  sk.backoff++;
  sk.rto = Math.min(sk.rto * 2, TCP_RTO_MAX_NS);
  tcpResetXmitTimer(sk, ICSK_TIME_RETRANS, sk.rto);
}

/** tcp_probe_timer + tcp_send_probe0: poke a zero window until it opens (or tcp_retries2 probes go unanswered). */
function tcpProbeTimer(sk: TcpSock): void {
  const ns = sk.ns;
  const waiting = seqDiff(sk.writeSeq, sk.sndNxt) > 0 || (sk.finQueued && sk.sndNxt === sk.finSeq);
  if (sk.sndNxt !== sk.sndUna || !waiting) {
    sk.probesOut = 0;
    sk.backoff = 0;
    return;
  }
  const max = sk.dead ? Math.min(ORPHAN_RETRIES, ns.sysctl.tcpRetries2) : ns.sysctl.tcpRetries2;
  if (sk.probesOut >= max) {
    tcpWriteErr(sk);
    return;
  }
  if (sk.sndWnd > 0) {
    // tcp_write_wakeup: whatever fits in the (small) window goes out as the probe.
    tcpWriteXmit(sk, true, true);
    if (sk.sndNxt !== sk.sndUna) return;
  }
  tcpXmitProbe(sk);
  ns.mib.tcpExt.TCPWinProbe++;
  sk.probesOut++;
  if (sk.backoff < 16) sk.backoff++;
  tcpResetXmitTimer(sk, ICSK_TIME_PROBE0, Math.min(sk.rto * 2 ** sk.backoff, TCP_RTO_MAX_NS));
}

function rtxHandler(sk: TcpSock): void {
  const s = sk.skState;
  if (s === TCP_CLOSE || s === TCP_LISTEN || s === TCP_TIME_WAIT) return;
  const what = sk.pending;
  sk.pending = 0;
  if (what === ICSK_TIME_PROBE0) tcpProbeTimer(sk);
  else tcpRetransmitTimer(sk);
}

/** tcp_delack_timer: the ACK we held back is due. */
function delackHandler(sk: TcpSock): void {
  const s = sk.skState;
  if (s === TCP_CLOSE || s === TCP_LISTEN || s === TCP_TIME_WAIT || !sk.ackPending) return;
  // The delayed ACK found no reply to ride on: leave pingpong mode.
  sk.pingpong = false;
  sk.ns.mib.tcpExt.DelayedACKs++;
  tcpSendAck(sk);
}

/** tcp_keepalive_timer (and the TIME_WAIT and FIN_WAIT2 timeouts that share sk_timer). */
function keepHandler(sk: TcpSock): void {
  const ns = sk.ns;
  const s = sk.skState;
  if (s === TCP_TIME_WAIT) {
    inetTwskKill(sk, true);
    return;
  }
  if (s === TCP_LISTEN || s === TCP_CLOSE) return;
  if (s === TCP_FIN_WAIT2 && sk.dead) {
    tcpSendActiveReset(sk);
    tcpDone(sk);
    return;
  }
  if (!sk.keepOpen || s === TCP_SYN_SENT) return;
  if (s !== TCP_ESTABLISHED && s !== TCP_CLOSE_WAIT && s !== TCP_FIN_WAIT2) return;
  const keepTime = keepaliveTimeNs(sk);
  let next = keepTime;
  // Data in flight or waiting: the retransmit timer is watching the peer, not us.
  if (sk.sndMax === sk.sndUna && sk.sndQueued === 0) {
    const elapsed = ns.env.nowNs() - sk.lastRcvNs;
    if (elapsed >= keepTime) {
      if (sk.probesOut >= keepaliveProbes(sk)) {
        tcpSendActiveReset(sk);
        tcpWriteErr(sk);
        return;
      }
      tcpXmitProbe(sk);
      ns.mib.tcpExt.TCPKeepAlive++;
      sk.probesOut++;
      next = keepaliveIntvlNs(sk);
    } else next = keepTime - elapsed;
  }
  ns.timers.modIn(sk.keepTimer, next);
}

// Timers run like softirq handlers on a locked socket: nothing received is processed inside them.
TcpSock.handlers = {
  rtx: (sk) => tcpLocked(() => rtxHandler(sk)),
  delack: (sk) => tcpLocked(() => delackHandler(sk)),
  keep: (sk) => tcpLocked(() => keepHandler(sk)),
};
