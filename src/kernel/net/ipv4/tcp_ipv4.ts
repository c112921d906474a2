/**
 * TCP over IPv4 (net/ipv4/tcp_ipv4.c): tcp_v4_rcv (header and checksum checks, the socket
 * lookup, the listener's side of the handshake, TIME_WAIT), tcp_v4_send_reset for segments
 * that belong to no connection, tcp_v4_err for ICMP errors, and the registration with IP.
 */
import * as E from '../../errno.js';
import { IFF_LOOPBACK } from '../core/netdevice.js';
import type { SkBuff } from '../core/skbuff.js';
import { tcpUdpChecksum } from '../core/checksum.js';
import type { NetNs } from '../netns.js';
import { isMulticast, isLimitedBroadcast } from './inet_addr.js';
import { inetLookupEstablished, inetLookupListener } from './inet_hashtables.js';
import { inetAddProtocol, type IcmpErr } from './protocol.js';
import { tcpAbort } from './tcp.js';
import { tcpRcvStateProcess } from './tcp_input.js';
import { cookieV4Check, reqKey, tcpCheckReq, tcpConnRequest, tcpTimewaitStateProcess } from './tcp_minisocks.js';
import { tcpRetransmitHead, tcpSendControl } from './tcp_output.js';
import './tcp_proc.js';
import {
  after,
  before,
  IPPROTO_TCP,
  seqAdd,
  TCP_LISTEN,
  TCP_MIN_MSS,
  TCP_SYN_RECV,
  TCP_SYN_SENT,
  TCP_TIME_WAIT,
  TCPHDR_ACK,
  TCPHDR_FIN,
  TCPHDR_RST,
  TCPHDR_SYN,
  TCPOPT_EOL,
  TCPOPT_MSS,
  TCPOPT_NOP,
  TCPOPT_SACK_PERM,
  TCPOPT_TIMESTAMP,
  TCPOPT_WINDOW,
  type TcpSeg,
  type TcpSock,
} from './tcp_sock.js';

/** tcp_parse_options: MSS and window scale only matter on a SYN; timestamps are read but not used. */
function parseOptions(b: Uint8Array, off: number, end: number, seg: TcpSeg): void {
  while (off < end) {
    const kind = b[off]!;
    if (kind === TCPOPT_EOL) return;
    if (kind === TCPOPT_NOP) {
      off++;
      continue;
    }
    if (off + 1 >= end) return;
    const len = b[off + 1]!;
    if (len < 2 || off + len > end) return;
    switch (kind) {
      case TCPOPT_MSS:
        if (len === 4 && seg.flags & TCPHDR_SYN) {
          const m = (b[off + 2]! << 8) | b[off + 3]!;
          if (m) seg.mss = m;
        }
        break;
      case TCPOPT_WINDOW:
        if (len === 3 && seg.flags & TCPHDR_SYN) seg.wscale = Math.min(b[off + 2]!, 14);
        break;
      case TCPOPT_SACK_PERM:
        if (len === 2 && seg.flags & TCPHDR_SYN) seg.sackOk = true;
        break;
      case TCPOPT_TIMESTAMP:
        if (len === 10) {
          seg.hasTs = true;
          seg.tsVal = ((b[off + 2]! << 24) | (b[off + 3]! << 16) | (b[off + 4]! << 8) | b[off + 5]!) >>> 0;
          seg.tsEcr = ((b[off + 6]! << 24) | (b[off + 7]! << 16) | (b[off + 8]! << 8) | b[off + 9]!) >>> 0;
        }
        break;
    }
    off += len;
  }
}

/** tcp_v4_send_reset: answer a segment that has no connection (never a RST, never to broadcast/multicast). */
export function tcpV4SendReset(ns: NetNs, seg: TcpSeg): void {
  if (seg.flags & TCPHDR_RST) return;
  if (isMulticast(seg.daddr) || isLimitedBroadcast(seg.daddr) || isMulticast(seg.saddr)) return;
  if (seg.flags & TCPHDR_ACK) {
    tcpSendControl(ns, seg.daddr, seg.saddr, seg.dport, seg.sport, seg.ack, 0, TCPHDR_RST);
  } else {
    const ack = seqAdd(seg.seq, seg.data.length + (seg.flags & TCPHDR_SYN ? 1 : 0) + (seg.flags & TCPHDR_FIN ? 1 : 0));
    tcpSendControl(ns, seg.daddr, seg.saddr, seg.dport, seg.sport, 0, ack, TCPHDR_RST | TCPHDR_ACK);
  }
}

/** The listener's part of tcp_rcv_state_process (and tcp_v4_rcv's request-sock path). */
function tcpListenRcv(lis: TcpSock, seg: TcpSeg): void {
  const ns = lis.ns;
  const r = lis.synQueue.get(reqKey(seg.saddr, seg.sport));
  if (r && r.laddr === seg.daddr) {
    const child = tcpCheckReq(lis, r, seg);
    if (child === 'reset') {
      tcpV4SendReset(ns, seg);
      return;
    }
    if (child) {
      lis.onData?.();
      if (tcpRcvStateProcess(child, seg)) tcpV4SendReset(ns, seg);
    }
    return;
  }
  if (seg.flags & TCPHDR_RST) return;
  if (seg.flags & TCPHDR_ACK) {
    if (!(seg.flags & TCPHDR_SYN)) {
      const child = cookieV4Check(lis, seg);
      if (child) {
        lis.onData?.();
        if (tcpRcvStateProcess(child, seg)) tcpV4SendReset(ns, seg);
        return;
      }
    }
    // An ACK for a connection we do not have (RFC 9293 §3.10.7.2).
    tcpV4SendReset(ns, seg);
    return;
  }
  if (seg.flags & TCPHDR_SYN) {
    if (seg.flags & TCPHDR_FIN) return;
    tcpConnRequest(lis, seg);
  }
}

/**
 * tcp_v4_rcv: the IP layer's handler for protocol 6. skb.data is at the TCP header and
 * saddr/daddr are set.
 */
export function tcpV4Rcv(ns: NetNs, skb: SkBuff): void {
  const mib = ns.mib.tcp;
  mib.InSegs++;
  const b = skb.buf;
  const h = skb.data;
  const len = skb.len;
  if (len < 20) {
    mib.InErrs++;
    return;
  }
  const doff = (b[h + 12]! >> 4) * 4;
  if (doff < 20 || doff > len) {
    mib.InErrs++;
    return;
  }
  // tcp_v4_checksum_init: loopback hands over CHECKSUM_UNNECESSARY packets.
  const lo = skb.dev !== null && (skb.dev.flags & IFF_LOOPBACK) !== 0;
  if (!lo && tcpUdpChecksum(b, h, len, skb.saddr, skb.daddr, IPPROTO_TCP) !== 0) {
    mib.InCsumErrors++;
    mib.InErrs++;
    return;
  }
  const flags = b[h + 13]!;
  const dlen = len - doff;
  const seq = ((b[h + 4]! << 24) | (b[h + 5]! << 16) | (b[h + 6]! << 8) | b[h + 7]!) >>> 0;
  const seg: TcpSeg = {
    saddr: skb.saddr >>> 0,
    daddr: skb.daddr >>> 0,
    sport: (b[h]! << 8) | b[h + 1]!,
    dport: (b[h + 2]! << 8) | b[h + 3]!,
    seq,
    endSeq: seqAdd(seq, dlen + (flags & TCPHDR_SYN ? 1 : 0) + (flags & TCPHDR_FIN ? 1 : 0)),
    ack: ((b[h + 8]! << 24) | (b[h + 9]! << 16) | (b[h + 10]! << 8) | b[h + 11]!) >>> 0,
    flags,
    window: (b[h + 14]! << 8) | b[h + 15]!,
    data: b.subarray(h + doff, h + len),
    mss: 0,
    wscale: -1,
    sackOk: false,
    tsVal: 0,
    tsEcr: 0,
    hasTs: false,
  };
  if (doff > 20) parseOptions(b, h + 20, h + doff, seg);
  skb.transportHeader = h;
  let sk = inetLookupEstablished(ns, seg.saddr, seg.sport, seg.daddr, seg.dport);
  if (sk && sk.skState === TCP_TIME_WAIT) {
    if (tcpTimewaitStateProcess(sk, seg) !== 'syn') return;
    sk = null;
  }
  if (!sk) {
    const lis = inetLookupListener(ns, seg.daddr, seg.dport);
    if (lis) {
      tcpListenRcv(lis, seg);
      return;
    }
    // no_tcp_socket.
    tcpV4SendReset(ns, seg);
    return;
  }
  if (tcpRcvStateProcess(sk, seg)) tcpV4SendReset(ns, seg);
}

/** icmp_err_convert for ICMP_DEST_UNREACH codes: [errno, fatal]. */
const UNREACH_ERR: Array<[number, boolean]> = [
  [E.ENETUNREACH, false],
  [E.EHOSTUNREACH, false],
  [E.ENOPROTOOPT, true],
  [E.ECONNREFUSED, true],
  [E.EMSGSIZE, false],
  [E.EOPNOTSUPP, false],
  [E.ENETUNREACH, true],
  [E.EHOSTDOWN, true],
  [E.ENONET, true],
  [E.ENETUNREACH, true],
  [E.EHOSTUNREACH, true],
  [E.ENETUNREACH, false],
  [E.EHOSTUNREACH, false],
  [E.EHOSTUNREACH, true],
  [E.EHOSTUNREACH, true],
  [E.EHOSTUNREACH, true],
];

/**
 * tcp_v4_err: an ICMP error about a segment we sent. Fragmentation needed lowers the MSS and
 * resends; an unreachable during the handshake ends it; later it is a soft error that
 * ETIMEDOUT will report.
 */
export function tcpV4Err(ns: NetNs, err: IcmpErr): void {
  const p = err.payload;
  if (p.length < 8) return;
  const sport = (p[0]! << 8) | p[1]!;
  const dport = (p[2]! << 8) | p[3]!;
  const seq = ((p[4]! << 24) | (p[5]! << 16) | (p[6]! << 8) | p[7]!) >>> 0;
  const sk = inetLookupEstablished(ns, err.daddr >>> 0, dport, err.saddr >>> 0, sport);
  if (!sk || sk.skState === TCP_TIME_WAIT || sk.skState === TCP_LISTEN) return;
  // The quoted sequence must be one we have outstanding.
  if (sk.skState !== TCP_SYN_SENT && (before(seq, sk.sndUna) || after(seq, sk.sndMax))) {
    ns.mib.tcpExt.OutOfWindowIcmps++;
    return;
  }
  let e: number;
  switch (err.type) {
    case 3: {
      if (err.code === 4) {
        // tcp_v4_mtu_reduced: the path is narrower; resend what was too big.
        const mtu = err.info >>> 0;
        if (mtu && mtu < sk.pmtu && mtu >= 68) {
          sk.pmtu = mtu;
          const mss = Math.max(TCP_MIN_MSS, mtu - 40);
          if (mss < sk.mss) {
            sk.mss = mss;
            if (sk.sndUna !== sk.sndMax) tcpRetransmitHead(sk);
          }
        }
        return;
      }
      const ent = UNREACH_ERR[err.code];
      if (!ent) return;
      e = ent[0];
      break;
    }
    case 11:
      e = E.EHOSTUNREACH;
      break;
    case 12:
      e = E.EPROTO;
      break;
    default:
      return;
  }
  if (sk.skState === TCP_SYN_SENT || sk.skState === TCP_SYN_RECV) {
    tcpAbort(sk, e);
    return;
  }
  sk.errSoft = e;
}

inetAddProtocol(IPPROTO_TCP, { handler: tcpV4Rcv, errHandler: tcpV4Err });
