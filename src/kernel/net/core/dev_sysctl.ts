/**
 * The /proc/sys/net tables (net/core/sysctl_net_core.c, net/ipv4/sysctl_net_ipv4.c,
 * devinet_sysctl for conf/{all,default}): each entry reads and writes a field of the
 * namespace's NetSysctl. procfs builds its /proc/sys/net directory from this list; this
 * module imports no part of the stack, so procfs can load it without loading the stack.
 */
import * as E from '../../errno.js';
import type { NetNs } from '../netns.js';
import type { NetSysctl } from '../netns.js';
import { SYSCTL_RMEM_DEFAULT, SYSCTL_RMEM_MAX, SYSCTL_WMEM_DEFAULT, SYSCTL_WMEM_MAX } from '../uapi.js';

export interface NetSysctlEntry {
  /** Path under /proc/sys/net (`ipv4/ip_forward`). */
  path: string;
  /** The value as the file shows it, without the final newline. */
  get(ns: NetNs): string;
  /** Parse and store a write (proc_dointvec*), 0 or -errno; absent = read-only (0444). */
  set?(ns: NetNs, text: string): number;
}

/** proc_dointvec's parse: whitespace-separated decimal integers, `n` of them at most. */
function parseInts(text: string, n: number): number[] | null {
  const parts = text.trim().split(/\s+/).filter(Boolean);
  if (parts.length === 0 || parts.length > n) return null;
  const v: number[] = [];
  for (const p of parts) {
    if (!/^[+-]?\d+$/.test(p)) return null;
    const x = Number(p);
    if (x < -2147483648 || x > 2147483647) return null;
    v.push(x);
  }
  return v;
}

type IntKey = { [K in keyof NetSysctl]: NetSysctl[K] extends number ? K : never }[keyof NetSysctl];
type VecKey = { [K in keyof NetSysctl]: NetSysctl[K] extends number[] ? K : never }[keyof NetSysctl];

/** An integer sysctl, optionally bounded (proc_dointvec_minmax: out of range is -EINVAL). */
function int(
  path: string,
  key: IntKey,
  min = -2147483648,
  max = 2147483647,
  after?: (ns: NetNs) => void,
): NetSysctlEntry {
  return {
    path,
    get: (ns) => String(ns.sysctl[key]),
    set: (ns, text) => {
      const v = parseInts(text, 1);
      if (!v || v[0]! < min || v[0]! > max) return -E.EINVAL;
      (ns.sysctl[key] as number) = v[0]!;
      after?.(ns);
      return 0;
    },
  };
}

/** A vector of integers shown tab-separated (tcp_rmem, ip_local_port_range). */
function vec(path: string, key: VecKey, check: (v: number[]) => boolean): NetSysctlEntry {
  return {
    path,
    get: (ns) => (ns.sysctl[key] as number[]).join('\t'),
    set: (ns, text) => {
      const cur = ns.sysctl[key] as number[];
      const v = parseInts(text, cur.length);
      if (!v || v.length !== cur.length || !check(v)) return -E.EINVAL;
      for (let i = 0; i < v.length; i++) cur[i] = v[i]!;
      return 0;
    },
  };
}

const ro = (path: string, get: (ns: NetNs) => string | number): NetSysctlEntry => ({
  path,
  get: (ns) => String(get(ns)),
});

/** devinet_sysctl_forward / inet_forward_change: "all" forwarding applies to every device. */
function forwardChange(ns: NetNs): void {
  const v = ns.sysctl.ipForward;
  for (const d of ns.devices.values()) if (d.ip4) d.ip4.forwarding = v;
}

/** The congestion control algorithms TCP offers (tcp_available_congestion_control). */
export let tcpAvailableCongestionControl = 'reno';
export function setTcpAvailableCongestionControl(names: string): void {
  tcpAvailableCongestionControl = names;
}

export const NET_SYSCTLS: NetSysctlEntry[] = [
  int('core/somaxconn', 'somaxconn', 0),
  ro('core/netdev_max_backlog', () => 1000),
  ro('core/netdev_budget', () => 300),
  ro('core/rmem_default', () => SYSCTL_RMEM_DEFAULT),
  ro('core/rmem_max', () => SYSCTL_RMEM_MAX),
  ro('core/wmem_default', () => SYSCTL_WMEM_DEFAULT),
  ro('core/wmem_max', () => SYSCTL_WMEM_MAX),
  int('ipv4/conf/all/forwarding', 'ipForward', -2147483648, 2147483647, forwardChange),
  int('ipv4/conf/default/forwarding', 'ipForward', -2147483648, 2147483647, forwardChange),
  int('ipv4/icmp_echo_ignore_all', 'icmpEchoIgnoreAll', 0, 1),
  int('ipv4/icmp_echo_ignore_broadcasts', 'icmpEchoIgnoreBroadcasts', 0, 1),
  int('ipv4/icmp_ratelimit', 'icmpRatelimit', 0),
  ro('ipv4/icmp_ratemask', () => 6168),
  int('ipv4/ip_default_ttl', 'ipDefaultTtl', 1, 255),
  int('ipv4/ip_forward', 'ipForward', -2147483648, 2147483647, forwardChange),
  vec('ipv4/ip_local_port_range', 'ipLocalPortRange', (v) => v[0]! >= 1 && v[1]! <= 65535 && v[0]! <= v[1]!),
  ro('ipv4/ip_no_pmtu_disc', () => 0),
  int('ipv4/ipfrag_high_thresh', 'ipfragHighThresh', 0),
  int('ipv4/ipfrag_time', 'ipfragTime', 0),
  int('ipv4/neigh/default/base_reachable_time_ms', 'neighBaseReachableMs', 1),
  int('ipv4/neigh/default/delay_first_probe_time', 'neighDelayFirstProbeMs', 0),
  int('ipv4/neigh/default/gc_thresh3', 'neighGcThresh3', 0),
  int('ipv4/neigh/default/mcast_solicit', 'neighMcastSolicit', 0),
  int('ipv4/neigh/default/retrans_time_ms', 'neighRetransMs', 1),
  int('ipv4/neigh/default/ucast_solicit', 'neighUcastSolicit', 0),
  int('ipv4/neigh/default/unres_qlen_bytes', 'neighUnresQlenBytes', 0),
  ro('ipv4/tcp_available_congestion_control', () => tcpAvailableCongestionControl),
  {
    path: 'ipv4/tcp_congestion_control',
    get: (ns) => ns.sysctl.tcpCongestionControl,
    set: (ns, text) => {
      const name = text.trim();
      if (!tcpAvailableCongestionControl.split(/\s+/).includes(name)) return -E.ENOENT;
      ns.sysctl.tcpCongestionControl = name;
      return 0;
    },
  },
  int('ipv4/tcp_fin_timeout', 'tcpFinTimeout', 0),
  int('ipv4/tcp_keepalive_intvl', 'tcpKeepaliveIntvl', 1, 32767),
  int('ipv4/tcp_keepalive_probes', 'tcpKeepaliveProbes', 1, 127),
  int('ipv4/tcp_keepalive_time', 'tcpKeepaliveTime', 1, 32767),
  int('ipv4/tcp_max_syn_backlog', 'tcpMaxSynBacklog', 0),
  int('ipv4/tcp_retries1', 'tcpRetries1', 0, 255),
  int('ipv4/tcp_retries2', 'tcpRetries2', 0),
  vec('ipv4/tcp_rmem', 'tcpRmem', (v) => v.every((x) => x > 0)),
  int('ipv4/tcp_sack', 'tcpSack', 0, 1),
  int('ipv4/tcp_syn_retries', 'tcpSynRetries', 1, 127),
  int('ipv4/tcp_synack_retries', 'tcpSynackRetries', 0),
  int('ipv4/tcp_syncookies', 'tcpSyncookies', 0, 2),
  int('ipv4/tcp_timestamps', 'tcpTimestamps', 0, 2),
  int('ipv4/tcp_window_scaling', 'tcpWindowScaling', 0, 1),
  vec('ipv4/tcp_wmem', 'tcpWmem', (v) => v.every((x) => x > 0)),
];
