/**
 * struct net: one network namespace — its devices, IPv4 configuration (routes, neighbours,
 * sysctls), SNMP counters, timers and packet taps. The kernel has one (init_net, `kernel.net`);
 * the host runs one per network for its services (DHCP, DNS, port forwarding) on the same code.
 *
 * Protocols keep their socket tables in their own modules, keyed by the namespace (a WeakMap),
 * as Linux keeps them in per-net structures they register with register_pernet_subsys.
 */
import { TimerList } from './core/timer.js';
import { NetMib } from './core/mib.js';
import type { NetDevice } from './core/netdevice.js';
import type { SkBuff } from './core/skbuff.js';
import type { Fib } from './ipv4/fib.js';
import type { NeighTable } from './core/neighbour.js';

/** What a namespace needs from its surroundings (the guest kernel or the host). */
export interface NetEnv {
  /** CLOCK_MONOTONIC, ns. */
  nowNs(): number;
  /** CLOCK_REALTIME, ns. */
  realtimeNs(): number;
  /** 32 random bits (initial sequence numbers, ephemeral ports, ARP jitter). */
  random32(): number;
  /** printk(KERN_INFO) or the host's log. */
  log(msg: string): void;
}

/** struct packet_type: a receive handler for one EtherType (ptype_base) or every frame (ptype_all). */
export interface PacketType {
  /** ETH_P_* (host order); ETH_P_ALL (3) for a tap that sees every frame in and out. */
  type: number;
  /** Only frames of this device (null = any). */
  dev: NetDevice | null;
  /** Called with a clone the handler may keep (taps) or the skb itself (the protocol's handler). */
  func(skb: SkBuff, dev: NetDevice): void;
  /** Opaque identity of the owner (an AF_PACKET socket) so a tap does not see its own output. */
  owner?: unknown;
}

/** What changed, for rtnetlink listeners (RTM_NEWLINK/NEWADDR/NEWROUTE/NEWNEIGH and DEL*). */
export type NetEvent =
  | { kind: 'link'; op: 'new' | 'del'; dev: NetDevice }
  | { kind: 'addr'; op: 'new' | 'del'; dev: NetDevice; addr: import('./core/netdevice.js').InIfAddr }
  | { kind: 'route'; op: 'new' | 'del'; route: import('./ipv4/fib.js').FibRoute }
  | { kind: 'neigh'; op: 'new' | 'del'; neigh: import('./core/neighbour.js').Neighbour };

/** The IPv4 sysctls of a namespace (net.ipv4.*, net.core.*), with Linux's defaults. */
export class NetSysctl {
  /** net.ipv4.ip_forward (and conf.all.forwarding). */
  ipForward = 0;
  ipDefaultTtl = 64;
  ipLocalPortRange: [number, number] = [32768, 60999];
  /** net.ipv4.ipfrag_time (s) and ipfrag_high_thresh (bytes). */
  ipfragTime = 30;
  ipfragHighThresh = 4 * 1024 * 1024;
  icmpEchoIgnoreAll = 0;
  icmpEchoIgnoreBroadcasts = 1;
  /** net.ipv4.icmp_ratelimit (ms) for errors. */
  icmpRatelimit = 1000;
  /** net.core.somaxconn. */
  somaxconn = 4096;
  tcpMaxSynBacklog = 128;
  tcpSyncookies = 1;
  tcpTimestamps = 1;
  tcpWindowScaling = 1;
  tcpSack = 1;
  tcpSynRetries = 6;
  tcpSynackRetries = 5;
  tcpRetries1 = 3;
  tcpRetries2 = 15;
  tcpFinTimeout = 60;
  tcpKeepaliveTime = 7200;
  tcpKeepaliveIntvl = 75;
  tcpKeepaliveProbes = 9;
  tcpRmem: [number, number, number] = [4096, 131072, 6291456];
  tcpWmem: [number, number, number] = [4096, 16384, 4194304];
  /** net.ipv4.tcp_congestion_control. */
  tcpCongestionControl = 'reno';
  /** neigh.default.* (ms unless named otherwise). */
  neighBaseReachableMs = 30_000;
  neighRetransMs = 1_000;
  neighDelayFirstProbeMs = 5_000;
  neighGcStaleMs = 60_000;
  neighUcastSolicit = 3;
  neighMcastSolicit = 3;
  neighUnresQlenBytes = 212992;
  neighGcThresh3 = 1024;
}

export class NetNs {
  readonly timers: TimerList;
  readonly mib = new NetMib();
  readonly sysctl = new NetSysctl();
  /** Devices by ifindex, in registration order. */
  readonly devices = new Map<number, NetDevice>();
  /** dev_base's next ifindex (dev_new_index). */
  nextIfindex = 1;
  /** The loopback device, registered first (ifindex 1). Set by core/loopback.ts. */
  loopback: NetDevice | null = null;
  /** ptype_all (ETH_P_ALL taps) and ptype_base (per-EtherType handlers). */
  readonly ptypeAll: PacketType[] = [];
  readonly ptypeBase: PacketType[] = [];
  /** rtnetlink listeners: called after each change. */
  readonly listeners: Array<(ev: NetEvent) => void> = [];
  /** The IPv4 routing tables (set by ipv4/fib.ts fibNetInit). */
  fib!: Fib;
  /** The ARP neighbour table (set by ipv4/arp.ts arpNetInit). */
  arp!: NeighTable;
  /** IP identification counter (ip_idents). */
  ipId = 0;

  constructor(readonly env: NetEnv) {
    this.timers = new TimerList(() => env.nowNs());
    this.ipId = env.random32() & 0xffff;
  }

  devByName(name: string): NetDevice | null {
    for (const d of this.devices.values()) if (d.name === name) return d;
    return null;
  }

  devByIndex(ifindex: number): NetDevice | null {
    return this.devices.get(ifindex) ?? null;
  }

  /** rtnl_notify: tell every listener. */
  notify(ev: NetEvent): void {
    for (const l of this.listeners) l(ev);
  }
}
