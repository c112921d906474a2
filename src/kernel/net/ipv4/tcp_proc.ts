/**
 * /proc/net/tcp (net/ipv4/tcp_ipv4.c tcp4_seq_show: get_tcp4_sock, get_openreq4,
 * get_timewait4_sock), byte for byte: addresses are the __be32 printed with %08X on a
 * little-endian host (127.0.0.1 is 0100007F), ports in host order, times in USER_HZ (100)
 * ticks, kernel pointers as zeros (%pK), every line padded to 149 columns (seq_pad).
 */
import type { Kernel } from '../../kernel.js';
import type { NetNs } from '../netns.js';
import { procNetRegister } from '../proc.js';
import { hashinfo } from './inet_hashtables.js';
import { ICSK_TIME_PROBE0, ICSK_TIME_RETRANS } from './tcp_output.js';
import { setTcpCurrEstabHook } from '../core/net-procfs.js';
import { TCP_CLOSE_WAIT, TCP_ESTABLISHED, TCP_LISTEN, TCP_SYN_RECV, TCP_TIME_WAIT, type TcpSock } from './tcp_sock.js';

/** TMPSZ - 1. */
const LINE = 149;
const PTR0 = '0000000000000000';

const hex = (v: number, w: number): string => (v >>> 0).toString(16).toUpperCase().padStart(w, '0');
/** A host-order address as the little-endian %08X of its network-order bytes. */
const addrHex = (a: number): string =>
  hex(((a & 0xff) << 24) | (((a >>> 8) & 0xff) << 16) | (((a >>> 16) & 0xff) << 8) | (a >>> 24), 8);
/** jiffies_delta_to_clock_t: ns to 1/100 s, never negative. */
const clockT = (ns: number): number => Math.max(0, Math.floor(ns / 1e7));
const pad = (s: string): string => s.padEnd(LINE) + '\n';

function sockLine(i: number, sk: TcpSock, now: number): string {
  let tr = 0;
  let when = 0;
  if (sk.rtxTimer.pending && sk.pending === ICSK_TIME_RETRANS) {
    tr = 1;
    when = sk.rtxTimer.expiresNs - now;
  } else if (sk.rtxTimer.pending && sk.pending === ICSK_TIME_PROBE0) {
    tr = 4;
    when = sk.rtxTimer.expiresNs - now;
  } else if (sk.keepTimer.pending) {
    tr = 2;
    when = sk.keepTimer.expiresNs - now;
  }
  const listen = sk.skState === TCP_LISTEN;
  const txq = listen ? 0 : ((sk.writeSeq - sk.sndUna) | 0) > 0 ? (sk.writeSeq - sk.sndUna) | 0 : 0;
  const rxq = listen ? sk.acceptQueue.length : Math.max(0, sk.rcvQueued);
  const ino = sk.sock?.inode?.ino ?? 0;
  const ssthresh = listen ? 0 : sk.ssthresh >= 0x7fffffff ? -1 : sk.ssthresh;
  return pad(
    `${String(i).padStart(4)}: ${addrHex(sk.laddr)}:${hex(sk.lport, 4)} ${addrHex(sk.raddr)}:${hex(sk.rport, 4)} ` +
      `${hex(sk.skState, 2)} ${hex(txq, 8)}:${hex(rxq, 8)} ${hex(tr, 2)}:${hex(clockT(when), 8)} ` +
      `${hex(sk.retransmits, 8)} ${String(sk.uid).padStart(5)} ${String(sk.probesOut).padStart(8)} ${ino} 1 ${PTR0} ` +
      `${clockT(sk.rto)} ${clockT(sk.ato)} ${(Math.min(sk.quick, 15) << 1) | (sk.pingpong ? 1 : 0)} ${sk.cwnd} ${ssthresh}`,
  );
}

function twLine(i: number, tw: TcpSock, now: number): string {
  const when = tw.keepTimer.pending ? tw.keepTimer.expiresNs - now : 0;
  return pad(
    `${String(i).padStart(4)}: ${addrHex(tw.laddr)}:${hex(tw.lport, 4)} ${addrHex(tw.raddr)}:${hex(tw.rport, 4)} ` +
      `${hex(TCP_TIME_WAIT, 2)} ${hex(0, 8)}:${hex(0, 8)} ${hex(3, 2)}:${hex(clockT(when), 8)} ${hex(0, 8)} ` +
      `${String(0).padStart(5)} ${String(0).padStart(8)} 0 3 ${PTR0}`,
  );
}

/** tcp4_seq_show for one namespace. */
export function tcpSeqShow(ns: NetNs | null): string {
  let out = pad('  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode');
  if (!ns) return out;
  const h = hashinfo(ns);
  const now = ns.env.nowNs();
  let i = 0;
  for (const list of h.listening.values()) {
    for (const lis of list) {
      out += sockLine(i++, lis, now);
      for (const r of lis.synQueue.values()) {
        out += pad(
          `${String(i++).padStart(4)}: ${addrHex(r.laddr)}:${hex(r.lport, 4)} ${addrHex(r.raddr)}:${hex(r.rport, 4)} ` +
            `${hex(TCP_SYN_RECV, 2)} ${hex(0, 8)}:${hex(0, 8)} ${hex(1, 2)}:${hex(clockT(r.expiresNs - now), 8)} ` +
            `${hex(r.numTimeout, 8)} ${String(lis.uid).padStart(5)} ${String(0).padStart(8)} 0 0 ${PTR0}`,
        );
      }
    }
  }
  for (const list of h.ehash.values()) {
    for (const sk of list) out += sk.skState === TCP_TIME_WAIT ? twLine(i++, sk, now) : sockLine(i++, sk, now);
  }
  return out;
}

procNetRegister('tcp', (k: Kernel) => tcpSeqShow(k.net));
// /proc/net/snmp's Tcp: CurrEstab counts the live sockets (ESTABLISHED or CLOSE_WAIT).
setTcpCurrEstabHook((ns) => {
  let n = 0;
  for (const list of hashinfo(ns).ehash.values())
    for (const sk of list) if (sk.skState === TCP_ESTABLISHED || sk.skState === TCP_CLOSE_WAIT) n++;
  return n;
});
