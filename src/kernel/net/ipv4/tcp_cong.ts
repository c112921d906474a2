/**
 * Congestion control (net/ipv4/tcp_cong.c: tcp_reno_cong_avoid, tcp_slow_start,
 * tcp_cong_avoid_ai, tcp_reno_ssthresh; net/ipv4/tcp_cubic.c for "cubic"). The window is
 * counted in packets, as Linux does. Loss recovery itself (NewReno, RFC 6582) is in
 * tcp_input.ts; this module only says how the window grows and how far it falls.
 */
import type { TcpSock } from './tcp_sock.js';
import { setTcpAvailableCongestionControl } from '../core/dev_sysctl.js';

export interface TcpCongestionOps {
  name: string;
  /** ssthresh after a loss (tcp_reno_ssthresh: half the window, at least 2). */
  ssthresh(sk: TcpSock): number;
  /** cong_avoid: `acked` packets were newly acknowledged while not in recovery. */
  congAvoid(sk: TcpSock, acked: number, nowNs: number): void;
  /** Called when loss is detected (cwnd_event CA_EVENT_LOSS and friends). */
  onLoss?(sk: TcpSock): void;
}

/** tcp_slow_start: grow by one per acked packet up to ssthresh; returns the acks left over. */
export function tcpSlowStart(sk: TcpSock, acked: number): number {
  const cwnd = Math.min(sk.cwnd + acked, sk.ssthresh);
  acked -= cwnd - sk.cwnd;
  sk.cwnd = cwnd;
  return acked;
}

/** tcp_cong_avoid_ai: one packet per window's worth of acks (`w` acks per increment). */
export function tcpCongAvoidAi(sk: TcpSock, w: number, acked: number): void {
  if (sk.cwndCnt >= w) {
    sk.cwndCnt = 0;
    sk.cwnd++;
  }
  sk.cwndCnt += acked;
  if (sk.cwndCnt >= w) {
    const delta = Math.floor(sk.cwndCnt / w);
    sk.cwndCnt -= delta * w;
    sk.cwnd += delta;
  }
}

/** The cap on cwnd (snd_cwnd_clamp) so it cannot run away while the application is the limit. */
const CWND_CLAMP = 65535;

export const tcpReno: TcpCongestionOps = {
  name: 'reno',
  ssthresh(sk) {
    return Math.max(sk.cwnd >> 1, 2);
  },
  congAvoid(sk, acked) {
    if (sk.cwnd < sk.ssthresh) {
      acked = tcpSlowStart(sk, acked);
      if (!acked) return;
    }
    tcpCongAvoidAi(sk, sk.cwnd, acked);
    if (sk.cwnd > CWND_CLAMP) sk.cwnd = CWND_CLAMP;
  },
};

/** CUBIC state per socket (struct bictcp), kept beside the socket. */
interface Cubic {
  lastMaxCwnd: number;
  epochStartNs: number;
  originPoint: number;
  k: number;
}
const cubicState = new WeakMap<TcpSock, Cubic>();
const BETA = 717 / 1024;
const C = 0.4;

function cubic(sk: TcpSock): Cubic {
  let c = cubicState.get(sk);
  if (!c) cubicState.set(sk, (c = { lastMaxCwnd: 0, epochStartNs: 0, originPoint: 0, k: 0 }));
  return c;
}

/** CUBIC (RFC 9438) as tcp_cubic.c computes it, without HyStart. */
export const tcpCubic: TcpCongestionOps = {
  name: 'cubic',
  ssthresh(sk) {
    const c = cubic(sk);
    c.epochStartNs = 0;
    // Fast convergence.
    c.lastMaxCwnd = sk.cwnd < c.lastMaxCwnd ? Math.floor((sk.cwnd * (1 + BETA)) / 2) : sk.cwnd;
    return Math.max(Math.floor(sk.cwnd * BETA), 2);
  },
  congAvoid(sk, acked, nowNs) {
    if (sk.cwnd < sk.ssthresh) {
      acked = tcpSlowStart(sk, acked);
      if (!acked) return;
    }
    const c = cubic(sk);
    if (!c.epochStartNs) {
      c.epochStartNs = nowNs;
      if (sk.cwnd < c.lastMaxCwnd) {
        c.k = Math.cbrt((c.lastMaxCwnd - sk.cwnd) / C);
        c.originPoint = c.lastMaxCwnd;
      } else {
        c.k = 0;
        c.originPoint = sk.cwnd;
      }
    }
    const t = (nowNs - c.epochStartNs + sk.srtt) / 1e9;
    const target = c.originPoint + C * (t - c.k) ** 3;
    // bictcp_update: cnt = acks needed per one packet of growth.
    let cnt = target > sk.cwnd ? sk.cwnd / (target - sk.cwnd) : 100 * sk.cwnd;
    // TCP friendliness: never slower than Reno would grow.
    if (cnt < 2) cnt = 2;
    tcpCongAvoidAi(sk, Math.max(2, Math.floor(cnt)), acked);
    if (sk.cwnd > CWND_CLAMP) sk.cwnd = CWND_CLAMP;
  },
  onLoss(sk) {
    cubic(sk).epochStartNs = 0;
  },
};

const registry = new Map<string, TcpCongestionOps>([
  ['reno', tcpReno],
  ['cubic', tcpCubic],
]);

/** tcp_ca_find. */
export function tcpCaFind(name: string): TcpCongestionOps | null {
  return registry.get(name) ?? null;
}

export function tcpCa(sk: TcpSock): TcpCongestionOps {
  return registry.get(sk.congName) ?? tcpReno;
}

// tcp_get_available_congestion_control: what /proc/sys/net/ipv4/tcp_available_congestion_control
// lists (and what tcp_congestion_control accepts) is the registry above.
setTcpAvailableCongestionControl([...registry.keys()].join(' '));
