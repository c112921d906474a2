/**
 * /proc/net files of the core and IPv4 (net/core/net-procfs.c dev_seq_show and
 * softnet_seq_show, net/ipv4/proc.c snmp_seq_show and netstat_seq_show, arp_seq_show,
 * fib_route_seq_show), in Linux's exact formats so busybox `ifconfig`, `netstat -s`,
 * `route`, `arp` and `ip` parse them. The formatters take a namespace (the host's stack
 * uses them too); `netProcfsInit` registers them under /proc/net for the guest kernel.
 */
import type { NetNs } from '../netns.js';
import { procNetRegister } from '../proc.js';
import { IP_MIB, IPEXT_MIB, TCP_MIB, TCPEXT_MIB, UDP_MIB } from './mib.js';
import { softnet } from './dev.js';
import { formatProcNetArp } from '../ipv4/arp.js';
import { formatProcNetRoute } from '../ipv4/fib.js';
import { ICMP_MIB_MAP } from '../ipv4/icmp.js';

/** /proc/net/dev (dev_seq_show + dev_seq_printf_stats), devices in ifindex order. */
export function formatProcNetDev(ns: NetNs): string {
  let out =
    'Inter-|   Receive                            |  Transmit\n' +
    ' face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n';
  const devs = [...ns.devices.values()].sort((a, b) => a.ifindex - b.ifindex);
  for (const d of devs) {
    const s = d.stats;
    const w = (v: number, n: number): string => String(v).padStart(n);
    out +=
      `${d.name.padStart(6)}: ${w(s.rxBytes, 7)} ${w(s.rxPackets, 7)} ${w(s.rxErrors, 4)} ${w(s.rxDropped + s.rxMissedErrors, 4)} ` +
      `${w(s.rxFifoErrors, 4)} ${w(s.rxLengthErrors + s.rxOverErrors + s.rxCrcErrors + s.rxFrameErrors, 5)} ` +
      `${w(s.rxCompressed, 10)} ${w(s.multicast, 9)} ${w(s.txBytes, 8)} ${w(s.txPackets, 7)} ${w(s.txErrors, 4)} ` +
      `${w(s.txDropped, 4)} ${w(s.txFifoErrors, 4)} ${w(s.collisions, 5)} ${w(s.txCarrierErrors + s.txAbortedErrors, 7)} ` +
      `${w(s.txCompressed, 10)}\n`;
  }
  return out;
}

/** How TCP reports its live CurrEstab (tcp sockets in ESTABLISHED or CLOSE_WAIT); TCP installs it. */
let tcpCurrEstab: ((ns: NetNs) => number) | null = null;
export function setTcpCurrEstabHook(fn: ((ns: NetNs) => number) | null): void {
  tcpCurrEstab = fn;
}

/** Tcp:'s constants (tcp_mib_init): RtoAlgorithm 1 (RFC 6298), RtoMin/RtoMax in ms, MaxConn -1 (dynamic). */
const TCP_CONSTANTS: Record<string, number> = { RtoAlgorithm: 1, RtoMin: 200, RtoMax: 120000, MaxConn: -1 };

/** /proc/net/snmp (snmp_seq_show): Ip:, Icmp:, IcmpMsg:, Tcp:, Udp:, UdpLite:, name lines then value lines. */
export function formatProcNetSnmp(ns: NetNs): string {
  const m = ns.mib;
  let out = `Ip: Forwarding DefaultTTL ${IP_MIB.join(' ')}\n`;
  out += `Ip: ${ns.sysctl.ipForward ? 1 : 2} ${ns.sysctl.ipDefaultTtl}`;
  for (const n of IP_MIB) out += ` ${m.ip[n]}`;
  // icmp_put: the per-type In/Out columns come from the IcmpMsg counters.
  out += '\nIcmp: InMsgs InErrors InCsumErrors';
  for (const [n] of ICMP_MIB_MAP) out += ` In${n}`;
  out += ' OutMsgs OutErrors OutRateLimitGlobal OutRateLimitHost';
  for (const [n] of ICMP_MIB_MAP) out += ` Out${n}`;
  out += `\nIcmp: ${m.icmp.InMsgs} ${m.icmp.InErrors} ${m.icmp.InCsumErrors}`;
  for (const [, t] of ICMP_MIB_MAP) out += ` ${m.icmpMsgIn[t]}`;
  out += ` ${m.icmp.OutMsgs} ${m.icmp.OutErrors} ${m.icmp.OutRateLimitGlobal} ${m.icmp.OutRateLimitHost}`;
  for (const [, t] of ICMP_MIB_MAP) out += ` ${m.icmpMsgOut[t]}`;
  out += icmpMsgLines(ns);
  out += `\nTcp: ${TCP_MIB.join(' ')}\nTcp:`;
  for (const n of TCP_MIB) {
    let v = TCP_CONSTANTS[n] ?? m.tcp[n];
    if (n === 'CurrEstab' && tcpCurrEstab) v = tcpCurrEstab(ns);
    out += ` ${v}`;
  }
  out += `\nUdp: ${UDP_MIB.join(' ')}\nUdp:`;
  for (const n of UDP_MIB) out += ` ${m.udp[n]}`;
  out += `\nUdpLite: ${UDP_MIB.join(' ')}\nUdpLite:`;
  for (const n of UDP_MIB) out += ` ${m.udpLite[n]}`;
  return `${out}\n`;
}

/** icmpmsg_put: the non-zero per-type counters, In types then Out types, 16 per pair of lines. */
function icmpMsgLines(ns: NetNs): string {
  const m = ns.mib;
  let out = '';
  let names: string[] = [];
  let vals: number[] = [];
  const flush = (): void => {
    if (names.length) out += `\nIcmpMsg: ${names.join(' ')}\nIcmpMsg: ${vals.join(' ')}`;
    names = [];
    vals = [];
  };
  for (let i = 0; i < 512; i++) {
    const v = i < 256 ? m.icmpMsgIn[i]! : m.icmpMsgOut[i - 256]!;
    if (v) {
      names.push(`${i < 256 ? 'In' : 'Out'}Type${i & 0xff}`);
      vals.push(v);
    }
    if (names.length === 16) flush();
  }
  flush();
  return out;
}

/** /proc/net/netstat (netstat_seq_show): TcpExt: and IpExt:. */
export function formatProcNetNetstat(ns: NetNs): string {
  const m = ns.mib;
  let out = `TcpExt: ${TCPEXT_MIB.join(' ')}\nTcpExt:`;
  for (const n of TCPEXT_MIB) out += ` ${m.tcpExt[n]}`;
  out += `\nIpExt: ${IPEXT_MIB.join(' ')}\nIpExt:`;
  for (const n of IPEXT_MIB) out += ` ${m.ipExt[n]}`;
  return `${out}\n`;
}

/** /proc/net/softnet_stat (softnet_seq_show): one line for the one CPU. */
export function formatProcNetSoftnet(): string {
  const h = (v: number): string => (v >>> 0).toString(16).padStart(8, '0');
  const sd = softnet;
  const qlen = sd.backlog.length - sd.backlogHead;
  return `${[sd.processed, sd.dropped, sd.timeSqueeze, 0, 0, 0, 0, 0, 0, 0, 0, qlen, 0].map(h).join(' ')}\n`;
}

let registered = false;
/** Register the files under /proc/net (proc_create_net_single in dev_proc_init, ip_proc_init, arp_proc_init, fib_proc_init). */
export function netProcfsInit(): void {
  if (registered) return;
  registered = true;
  const withNs =
    (f: (ns: NetNs) => string) =>
    (k: { net: NetNs | null }): string =>
      k.net ? f(k.net) : '';
  procNetRegister('dev', withNs(formatProcNetDev));
  procNetRegister('snmp', withNs(formatProcNetSnmp));
  procNetRegister('netstat', withNs(formatProcNetNetstat));
  procNetRegister('arp', withNs(formatProcNetArp));
  procNetRegister('route', withNs(formatProcNetRoute));
  procNetRegister('softnet_stat', () => formatProcNetSoftnet());
}
